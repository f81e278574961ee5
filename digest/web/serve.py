"""`digest serve`: the public pages (public.py) under uvicorn, the postman that sends the
letters they queue, and with `--schedule` the weekly scheduler, in one process.

The socket is bound here, before uvicorn starts, so a port in use is one line, not a log. A
SIGTERM or Ctrl-C stops accepting, lets requests in flight finish, then stops the postman
(after the letter in hand) and the scheduler (a send in progress finishes its current
message; the rest stays owed). Forwarded headers (X-Forwarded-For, -Proto) are believed only
from `serve.trusted_proxies`.
"""

from __future__ import annotations

import errno
import gc
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
from apscheduler.schedulers.base import BaseScheduler

from digest.config.settings import Settings
from digest.errors import ConfigError, DigestError
from digest.sending.letters import CLAIM, deliver_letters
from digest.sending.links import Links, links_for
from digest.sending.message import Letterhead
from digest.sending.send import letterhead, smtp_settings
from digest.sending.smtp import Connector, connect
from digest.state import State
from digest.web.public import make_app, site_for

log = logging.getLogger(__name__)
Echo = Callable[[str], None]
POLL_SECONDS = 5.0  # letters queued by another process are found this soon


class ServeError(DigestError):
    exit_code = 2


@dataclass(frozen=True, slots=True)
class Where:
    host: str
    port: int
    public_url: str  # as readers reach it


def where(settings: Settings, host: str | None, port: int | None) -> Where:
    """The address to listen on and the public URL. Without public_url only loopback is
    allowed: the pages' links would point at an address nobody else can reach."""
    host = host or settings.serve.host
    port = settings.serve.port if port is None else port
    if settings.public_url:
        return Where(host, port, settings.public_url)
    if not _loopback(host):
        raise ConfigError(
            f"public_url: not set, and {host} is not loopback: set public_url to the https:// "
            "address readers reach (the links in every email start there)"
        )
    shown = f"[{host}]" if ":" in host else host
    return Where(host, port, f"http://{shown}:{port}/")


def _elsewhere_on_loopback(place: Where) -> bool:
    """A loopback public_url on another port than the one listened on: no proxy in between
    can be meant (a local try with --port), so the links would lead nowhere."""
    parts = urlsplit(place.public_url)
    local = parts.scheme == "http" and _loopback(parts.hostname or "")
    return local and (parts.port or 80) != place.port


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, or a one-line error (a port in use, an address not ours)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that
    # say they are TCP. Without it each answer's body waited for the client's delayed ACK:
    # 40 ms a request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        hint = ""
        if exc.errno == errno.EADDRINUSE:
            hint = ": the port is in use (another `digest serve`?); choose one with --port"
        elif exc.errno == errno.EACCES:
            hint = ": not allowed (ports under 1024 need root; use a reverse proxy)"
        reason = hint or f": {exc.strerror or exc}"
        raise ServeError(f"cannot listen on {host}:{port}{reason}") from None
    sock.set_inheritable(True)
    return sock


class Postman:
    """Sends the letters the pages queue: woken at once by this process, and every
    POLL_SECONDS for letters other processes queued or that wait for a retry."""

    def __init__(
        self,
        settings: Settings,
        links: Links,
        clock: Callable[[], datetime],
        connector: Connector = connect,
    ) -> None:
        self.settings, self.links, self.clock, self.connector = settings, links, clock, connector
        self.smtp = smtp_settings(settings)
        self.event = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="postman", daemon=True)

    def wake(self) -> None:
        self.event.set()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.event.set()
        self.thread.join(timeout=60)

    def _run(self) -> None:
        with State.open(self.settings.database) as state:
            head = letterhead(self.settings, state)
            while not self.stopping.is_set():
                self.event.wait(POLL_SECONDS)
                self.event.clear()
                self._round(state, head)

    def _round(self, state: State, head: Letterhead) -> None:
        try:
            run = deliver_letters(
                self.settings, state, head, self.links, self.smtp, self.clock, self.connector
            )
        except Exception as exc:  # one line; the next round tries again
            log.error("letters: %s: %s", type(exc).__name__, exc)
            return
        if run.error:
            log.error("letters: %s", run.error)
        if run.deferred:
            minutes = CLAIM.total_seconds() / 60
            log.warning(
                "letters: %d waiting (%s); tried again in %g minutes",
                run.deferred,
                run.last_reply,
                minutes,
            )
        for failure in run.failures:
            log.warning("letter failed: %s", failure)


class _Server(uvicorn.Server):
    """uvicorn's server, minus re-raising the signal once it has stopped: the caller still
    has the postman and the scheduler to stop, and exits 0 after a clean stop."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(
    settings: Settings,
    config_path: Path,
    host: str | None = None,
    port: int | None = None,
    schedule: bool = False,
    echo: Echo = print,
) -> None:
    """Run until SIGTERM or Ctrl-C."""
    place = where(settings, host, port)
    smtp_settings(settings)  # no smtp: (or its password) is an error now, not at a letter
    with State.open(settings.database) as state:
        links = links_for(settings, state, place.public_url)
    assert links is not None
    sock = bind(place.host, place.port)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    postman = Postman(settings, links, clock)
    site = site_for(settings, links, clock, postman.wake)
    trusted = settings.serve.trusted_proxies
    config = uvicorn.Config(
        make_app(site),
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or [],
        timeout_graceful_shutdown=10,
        lifespan="off",
    )
    scheduler = _scheduler(settings, config_path) if schedule else None
    postman.start()
    gc.freeze()  # what is loaded by now lives as long as the server: no collection rescans it
    echo(f"serving {place.public_url} on {place.host}:{place.port} (Ctrl-C or SIGTERM stops)")
    if _elsewhere_on_loopback(place):
        echo(f"  note: public_url is {place.public_url}: the links in mail lead there, not here")
    if scheduler is not None:
        echo(f"and sending each issue on schedule: {settings.schedule.cron} ({settings.timezone})")
    try:
        _Server(config).run(sockets=[sock])
    finally:
        echo("stopping: letters and sends in progress finish their current message")
        postman.stop()
        if scheduler is not None:
            from digest.sending.schedule import STOP

            STOP.set()
            scheduler.shutdown(wait=True)
        site.close()
        sock.close()
        echo("stopped")


def _scheduler(settings: Settings, config_path: Path) -> BaseScheduler:
    from digest.sending.schedule import STOP, make_scheduler

    STOP.clear()
    scheduler = make_scheduler(settings, config_path)
    scheduler.start()
    return scheduler
