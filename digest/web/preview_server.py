"""The preview's HTTP side: a threaded server on 127.0.0.1 that answers only its own routes,
only to a loopback Host, with a Content-Security-Policy on every page (feed content cannot
run script even here) and Server-Sent Events that reload the page after each rebuild."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

from digest.errors import DigestError
from digest.web.health import health_of
from digest.web.preview import Previewer, preview_headers

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0
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


def page_environment() -> jinja2.Environment:
    """The preview's own pages (digest/web/templates), autoescaped. Only the overview
    carries script: the reload listener, allowed by a per-response nonce."""
    folder = Path(__file__).parent / "templates"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


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

    def do_HEAD(self) -> None:
        """As GET without the body (_send leaves it out); the event stream has no HEAD."""
        if urlsplit(self.path).path == "/events":
            self._send(405, "text/plain; charset=utf-8", b"GET only\n", TEXT_CSP)
            return
        self.do_GET()

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
        if snapshot.notice:  # nothing new: say so, not an empty issue
            self._send_page("nothing_new.html", 200)
            return
        self._send(200, "text/html; charset=utf-8", snapshot.html.encode("utf-8"), EMAIL_CSP)

    def _text(self) -> None:
        snapshot = self.server.previewer.snapshot
        if snapshot.built is None:
            self._send_page("failure.html", 500)
            return
        if snapshot.notice:  # nothing new: say so, not an empty issue
            self._send_page("nothing_new.html", 200)
            return
        self._send(200, "text/plain; charset=utf-8", snapshot.text.encode("utf-8"), TEXT_CSP)

    def _headers(self) -> None:
        snapshot = self.server.previewer.snapshot
        if snapshot.built is None:
            self._send_page("failure.html", 500)
            return
        if snapshot.notice:  # nothing new: say so, not an empty issue
            self._send_page("nothing_new.html", 200)
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
