"""`digest preview`: build the next issue and serve it on 127.0.0.1, rebuilding on every save.

The first build fetches the feeds like a real run; rebuilds after an edit to config.yaml, a
template or the stylesheet re-parse the feed bodies that fetch stored (no network, no state
written) unless the reader asks for a fresh fetch. Nothing here sends mail or records an issue
as sent. The server answers only its own routes, only to a loopback Host, and every page
carries a Content-Security-Policy: feed content cannot run script even in the preview.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

from digest.archive import issue_url
from digest.config import Settings, load_settings
from digest.errors import ConfigError, DigestError
from digest.issues import issue_from, last_issue, letterhead, sent_entry_check
from digest.mail import Issue, build_message
from digest.models import FilterDrop, Fitting, Rendered
from digest.pipeline import Built, build_digest
from digest.render import GMAIL_CLIP_BYTES, TemplateFault, builtin_templates
from digest.state import State

log = logging.getLogger(__name__)

POLL_SECONDS = 0.3
SETTLE_SECONDS = 0.15  # an editor's save can be several writes: let them land
KEEPALIVE_SECONDS = 15.0
WATCHED_SUFFIXES = (".html", ".txt", ".css")
# The email: inline styles and https images only; nothing runs, nothing is fetched else.
EMAIL_CSP = (
    "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
TEXT_CSP = "default-src 'none'; frame-ancestors 'self'"


def page_csp(nonce: str) -> str:
    """Preview pages: the reload script (by nonce) and the email frames, nothing else."""
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; "
        "img-src https: data:; frame-src 'self'; connect-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'self'"
    )


@dataclass(frozen=True, slots=True)
class Failure:
    """A build that failed, as the error page shows it: the one-line message and, when it
    names a file and line, the lines around it."""

    message: str
    path: str = ""
    line: int | None = None
    snippet: tuple[tuple[int, str], ...] = ()

    @classmethod
    def of(cls, exc: DigestError) -> Failure:
        path, line = _location(exc)
        return cls(str(exc), path, line, _snippet(path, line))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One build as served: the digest, or why there is none."""

    version: int
    built_at: str
    source: str  # "feeds fetched" or "cached feed bodies"
    built: Built | None = None
    failure: Failure | None = None
    settings: Settings | None = None
    message: EmailMessage | None = None  # the next issue's message, when smtp: is configured
    message_note: str = ""
    notice: str = ""  # nothing new since the last issue: what `digest send` would do now

    @property
    def html(self) -> str:
        """The HTML part as the reader gets it (with the sender's unsubscribe line)."""
        return self._part("html") if self.message else self._rendered().html

    @property
    def text(self) -> str:
        return self._part("plain") if self.message else self._rendered().text

    def _rendered(self) -> Rendered:
        assert self.built is not None
        return self.built.rendered

    def _part(self, subtype: str) -> str:
        assert self.message is not None
        body = self.message.get_body((subtype,))
        assert body is not None
        return str(body.get_content())


@dataclass(frozen=True, slots=True)
class FeedHealth:
    name: str
    url: str
    status: str
    error: str
    entries: int
    taken: int
    hint: str = ""
    notice: str = ""
    filtered: tuple[FilterDrop, ...] = ()  # the include / exclude rules and what each dropped

    @property
    def skipped(self) -> int:
        """Out of the window, sent before, or over a cap (the filters' drops are apart)."""
        dropped = sum(drop.dropped for drop in self.filtered)
        return max(0, self.entries - dropped - self.taken)

    @property
    def css(self) -> str:
        return {"ok": "ok", "not modified": "ok"}.get(self.status, "bad")


@dataclass(frozen=True, slots=True)
class Health:
    html_bytes: int
    text_bytes: int
    full: int
    brief: int
    more: int
    taken: int
    capped: int
    feeds: tuple[FeedHealth, ...]
    clip_bytes: int = GMAIL_CLIP_BYTES

    @property
    def clipped(self) -> bool:
        return self.html_bytes > self.clip_bytes


def health_of(snapshot: Snapshot) -> Health:
    """Each feed's status, entries taken and skipped; the email's size against Gmail's clip."""
    assert snapshot.built is not None
    digest, rendered = snapshot.built.digest, snapshot.built.rendered
    taken: dict[str, int] = {}
    for item in digest.items:
        taken[item.entry.feed] = taken.get(item.entry.feed, 0) + 1
    feeds = tuple(
        FeedHealth(
            r.name,
            _as_written(r.url, snapshot),
            str(r.status),
            r.error,
            r.entries,
            taken.get(r.name, 0),
            r.hint,
            r.notice,
            r.filtered,
        )
        for r in digest.feeds
    )
    count = len(digest.items)
    fitting = rendered.fitting or Fitting(count)
    return Health(
        html_bytes=len(snapshot.html.encode("utf-8")),
        text_bytes=len(snapshot.text.encode("utf-8")),
        full=fitting.full,
        brief=fitting.brief,
        more=fitting.more,
        taken=count,
        capped=digest.skipped,
        feeds=feeds,
    )


def _as_written(url: str, snapshot: Snapshot) -> str:
    """A local feed as the config names it (relative to its folder), a URL as it is."""
    if snapshot.settings is None or not url.startswith("/"):
        return url
    try:
        return str(Path(url).relative_to(snapshot.settings.base_dir))
    except ValueError:
        return url


class Previewer:
    """Builds the digest on demand and keeps the latest build; readers wait on `changed`."""

    def __init__(self, config_path: Path, clock: Callable[[], datetime]) -> None:
        self.config_path = config_path
        self.clock = clock
        self._build_lock = threading.Lock()
        self.changed = threading.Condition()
        self.snapshot = Snapshot(0, "", "not built yet")
        self.stopping = False
        self._theme: Path | None = None  # the last good config's theme folder, kept on errors

    def build(self, fetch: bool) -> Snapshot:
        """Build once: `fetch` gathers over the network, else from the cached feed bodies."""
        with self._build_lock:
            source = "feeds fetched" if fetch else "cached feed bodies"
            settings: Settings | None = None
            try:
                settings = load_settings(self.config_path)
                self._theme = settings.templates_path
                with State.open(settings.state_path) as state:
                    outcome: dict[str, Any] = next_issue(settings, state, self.clock(), fetch)
            except DigestError as exc:
                outcome = {"failure": Failure.of(exc)}
            except Exception as exc:  # a bug must not stop the preview: show it, keep watching
                log.exception("preview build failed")
                outcome = {"failure": Failure(f"unexpected error: {type(exc).__name__}: {exc}")}
            stamp = datetime.now(UTC).astimezone().strftime("%H:%M:%S")
            with self.changed:
                version = self.snapshot.version + 1
                self.snapshot = Snapshot(version, stamp, source, settings=settings, **outcome)
                self.changed.notify_all()
            return self.snapshot

    def wait_for_version(self, seen: int, timeout: float) -> int:
        with self.changed:
            self.changed.wait_for(
                lambda: self.snapshot.version != seen or self.stopping, timeout=timeout
            )
            return self.snapshot.version

    def stop(self) -> None:
        with self.changed:
            self.stopping = True
            self.changed.notify_all()

    def watched(self) -> dict[Path, float]:
        """config.yaml and every template and stylesheet the build could read, with mtimes."""
        folders = [builtin_templates()]
        if self._theme is not None:
            folders.insert(0, self._theme)
        files = [self.config_path]
        for folder in folders:
            if folder.is_dir():
                files += [p for p in folder.iterdir() if p.suffix in WATCHED_SUFFIXES]
        return {path: _mtime(path) for path in files}

    def watch(self, stop: threading.Event, seen: dict[Path, float]) -> None:
        """Poll the watched files; rebuild from cached bodies when any differs from `seen`."""
        while not stop.wait(POLL_SECONDS):
            now = self.watched()
            if now == seen:
                continue
            time.sleep(SETTLE_SECONDS)
            # taken before the build, so a save made while it runs triggers the next one
            settled = self.watched()
            changed = sorted(str(p) for p in set(now) | set(seen) if now.get(p) != seen.get(p))
            log.info("changed: %s; rebuilding", ", ".join(changed))
            self.build(fetch=False)
            seen = settled


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime_ns / 1e9
    except OSError:
        return -1.0


_FILE_LINE = re.compile(r"([^\s:]+):(\d+):")  # "config.yaml:4: key: reason"


def _location(exc: DigestError) -> tuple[str, int | None]:
    """The file and line a template or config error names. Only those two: other messages
    can quote feed servers, and a file named there is nobody's business to show."""
    if isinstance(exc, TemplateFault):
        return exc.path, exc.line
    found = _FILE_LINE.match(str(exc)) if isinstance(exc, ConfigError) else None
    return (found.group(1), int(found.group(2))) if found else ("", None)


def _snippet(path: str, line: int | None, around: int = 3) -> tuple[tuple[int, str], ...]:
    if not path or line is None:
        return ()
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ()
    start = max(1, line - around)
    return tuple((n, lines[n - 1]) for n in range(start, min(len(lines), line + around) + 1))


def page_environment() -> jinja2.Environment:
    """The preview's own pages (digest/preview_templates), autoescaped. Only the overview
    carries script: the reload listener, allowed by a per-response nonce."""
    folder = Path(__file__).parent / "preview_templates"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


# message headers -------------------------------------------------------------------------------


def next_issue(settings: Settings, state: State, now: datetime, fetch: bool) -> dict[str, Any]:
    """The next issue as `digest send` would make it now: what is new since the last issue,
    nothing already sent, numbered next; and its message when the sender is configured.
    Reads the issue store, never writes it."""
    last = last_issue(state)
    number = (last.number if last else 0) + 1
    built = build_digest(
        settings,
        state,
        now,
        since=last.period_end if last else None,
        already_sent=sent_entry_check(state),
        allow_empty=settings.send_when_empty or last is not None,
        offline=not fetch,
        web_url=issue_url(settings.archive_url, number),
    )
    if last is not None and not built.digest.items and not settings.send_when_empty:
        # nothing failed: say what `digest send` would do, and show the feeds' health
        return {"built": built, "notice": _nothing_new(settings, last)}
    try:
        sender = letterhead(settings)
    except ConfigError as exc:
        note = f"{exc}. Without it these are the headers the build decides."
        return {"built": built, "message_note": note}
    recipient = settings.recipients[0] if settings.recipients else PREVIEW_RECIPIENT
    message = build_message(issue_from(settings, built, number, now), recipient, sender, now)
    note = f"As sent to {recipient}; each recipient gets their own To and Message-ID."
    return {"built": built, "message": message, "message_note": note}


PREVIEW_RECIPIENT = "reader@example.invalid"


def _nothing_new(settings: Settings, last: Issue) -> str:
    ended = last.period_end.astimezone(settings.zone)
    return (
        f"Nothing new since issue {last.number} (it covered up to {ended:%Y-%m-%d %H:%M %Z}): "
        "`digest send` sends nothing now. New entries go in the next issue."
    )


def preview_headers(snapshot: Snapshot) -> tuple[list[tuple[str, str]], list[tuple[str, int]]]:
    """The next issue's headers and parts: from its message when there is one."""
    if snapshot.message is not None:
        headers = [(name, str(value)) for name, value in snapshot.message.items()]
        parts = [
            (f"{part.get_content_type()}; {part.get('Content-Transfer-Encoding', '')}", _size(part))
            for part in snapshot.message.walk()
            if not part.is_multipart()
        ]
        return headers, parts
    built, settings = snapshot.built, snapshot.settings
    assert built is not None and settings is not None
    digest = built.digest
    day = digest.period_end.astimezone(settings.zone)
    headers = [
        ("Subject", f"{digest.title} — {day.day} {day:%B %Y}"),
        ("MIME-Version", "1.0"),
        ("Content-Type", "multipart/alternative (text/plain, then text/html)"),
    ]
    parts = [
        ("text/plain; charset=utf-8", len(built.rendered.text.encode("utf-8"))),
        ("text/html; charset=utf-8", len(built.rendered.html.encode("utf-8"))),
    ]
    return headers, parts


def _size(part: EmailMessage) -> int:
    return len(str(part.get_content()).encode("utf-8"))


# HTTP -----------------------------------------------------------------------------------------


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, previewer: Previewer, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), PreviewHandler)
        self.previewer = previewer
        self.pages = page_environment()
        self._stop_watching = threading.Event()
        self._workers: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def start(self) -> None:
        """Serve and watch in background threads (the CLI and the tests both use this)."""
        seen = self.previewer.watched()  # now, so an edit made once this returns is caught
        watch = lambda: self.previewer.watch(self._stop_watching, seen)  # noqa: E731
        for target in (self.serve_forever, watch):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._workers.append(thread)

    def stop(self) -> None:
        self._stop_watching.set()
        self.previewer.stop()
        self.shutdown()
        self.server_close()
        for thread in self._workers:
            thread.join(timeout=5)

    def allowed_hosts(self) -> set[str]:
        port = self.server_address[1]
        return {f"127.0.0.1:{port}", f"localhost:{port}"}


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    server_version = "digest-preview"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if not self._trusted():
            return
        path = urlsplit(self.path).path
        routes: dict[str, Callable[[], None]] = {
            "/": lambda: self._page("overview.html", 500),
            "/health": lambda: self._page("health.html", 500),
            "/email": self._email,
            "/text": self._text,
            "/headers": self._headers,
            "/events": self._events,
        }
        handler = routes.get(path)
        if handler is None:
            self._send_page("not_found.html", 404)
        else:
            handler()

    def do_POST(self) -> None:
        if not self._trusted() or not self._same_origin():
            return
        if urlsplit(self.path).path != "/refetch":
            self._send_page("not_found.html", 404)
            return
        self.server.previewer.build(fetch=True)
        self.send_response(303)
        self.send_header("Location", "/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # checks ------------------------------------------------------------------------------

    def _trusted(self) -> bool:
        """Loopback Host only: a page on another site cannot reach us by DNS rebinding."""
        if self.headers.get("Host", "") in self.server.allowed_hosts():
            return True
        self._send(421, "text/plain; charset=utf-8", b"unexpected Host header\n", TEXT_CSP)
        return False

    def _same_origin(self) -> bool:
        origin = self.headers.get("Origin")
        if origin is None or urlsplit(origin).netloc in self.server.allowed_hosts():
            return True
        self._send(403, "text/plain; charset=utf-8", b"cross-origin request refused\n", TEXT_CSP)
        return False

    # routes ------------------------------------------------------------------------------

    def _email(self) -> None:
        snapshot = self.server.previewer.snapshot
        if snapshot.built is None:
            self._send_page("failure.html", 500)
            return
        self._send(200, "text/html; charset=utf-8", snapshot.html.encode("utf-8"), EMAIL_CSP)

    def _text(self) -> None:
        snapshot = self.server.previewer.snapshot
        if snapshot.built is None:
            self._send_page("failure.html", 500)
            return
        self._send(200, "text/plain; charset=utf-8", snapshot.text.encode("utf-8"), TEXT_CSP)

    def _headers(self) -> None:
        snapshot = self.server.previewer.snapshot
        if snapshot.built is None:
            self._send_page("failure.html", 500)
            return
        headers, parts = preview_headers(snapshot)
        note = snapshot.message_note
        self._send_page("headers.html", 200, headers=headers, note=note, parts=parts)

    def _page(self, name: str, failed_status: int) -> None:
        snapshot = self.server.previewer.snapshot
        self._send_page(name, failed_status if snapshot.failure else 200)

    def _events(self) -> None:
        """Server-Sent Events: the current build number now, and each new one as it lands."""
        previewer = self.server.previewer
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.close_connection = True
        seen = previewer.snapshot.version
        try:
            self.wfile.write(f"retry: 500\ndata: {seen}\n\n".encode())
            self.wfile.flush()
            while not previewer.stopping:
                version = previewer.wait_for_version(seen, KEEPALIVE_SECONDS)
                message = f"data: {version}\n\n" if version != seen else ": keepalive\n\n"
                self.wfile.write(message.encode())
                self.wfile.flush()
                seen = version
        except (BrokenPipeError, ConnectionResetError):
            return

    # responses -----------------------------------------------------------------------------

    def _send_page(self, name: str, status: int, **extra: Any) -> None:
        snapshot = self.server.previewer.snapshot
        nonce = secrets.token_urlsafe(16)
        health = health_of(snapshot) if snapshot.built else None
        body = (
            self.server.pages.get_template(name)
            .render(
                snapshot=snapshot, failure=snapshot.failure, health=health, nonce=nonce, **extra
            )
            .encode("utf-8")
        )
        self._send(status, "text/html; charset=utf-8", body, page_csp(nonce))

    def _send(self, status: int, content_type: str, body: bytes, csp: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def start_preview(
    config_path: Path, clock: Callable[[], datetime], port: int = 0, fetch: bool = True
) -> PreviewServer:
    """Build once (fetching the feeds unless `fetch` is False), then serve and watch."""
    previewer = Previewer(config_path, clock)
    previewer.build(fetch=fetch)
    try:
        server = PreviewServer(previewer, port)
    except OSError as exc:
        raise PreviewError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    server.start()
    return server


class PreviewError(DigestError):
    exit_code = 2
