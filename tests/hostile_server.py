"""A real HTTP server on 127.0.0.1 that misbehaves on purpose, one behaviour per path.

http.server cannot hang mid-header, dribble, reset a connection or send a body that is
already gzip-compressed, so this one writes raw bytes on the socket. Used by
tests/test_hostile.py and benchmarks/hostile.py.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import socketserver
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

Behaviour = Callable[["Exchange"], None]


@dataclass
class Exchange:
    """One request: what was asked, and the socket to answer on."""

    method: str
    path: str
    headers: dict[str, str]
    sock: socket.socket
    stopping: threading.Event

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)


@dataclass
class HostileServer:
    base: str
    port: int
    routes: dict[str, Behaviour] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    stopping: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, behaviour: Behaviour) -> str:
        self.routes[path] = behaviour
        return self.url(path)


def start_hostile_server() -> tuple[HostileServer, Callable[[], None]]:
    """Start a server on a free loopback port; returns it and a function that stops it."""
    holder: list[HostileServer] = []

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            server = holder[0]
            self.request.settimeout(10)
            try:
                exchange = _read_request(self.request, server.stopping)
            except (OSError, ValueError):
                return
            server.hits[exchange.path] += 1
            behaviour = server.routes.get(exchange.path, not_found)
            with contextlib.suppress(OSError):  # the client gave up: the point of most routes
                behaviour(exchange)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 128

    tcp = Server(("127.0.0.1", 0), Handler)
    port = tcp.server_address[1]
    server = HostileServer(f"http://127.0.0.1:{port}", port)
    holder.append(server)
    thread = threading.Thread(target=tcp.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.stopping.set()
        tcp.shutdown()
        tcp.server_close()

    return server, stop


def _read_request(sock: socket.socket, stopping: threading.Event) -> Exchange:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ValueError("closed before the headers")
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    method, path, _ = head[0].split(" ", 2)
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Exchange(method, path, headers, sock, stopping)


# behaviours ----------------------------------------------------------------------------------


def response_head(status: int, headers: dict[str, str], reason: str = "") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason or _REASONS.get(status, 'Whatever')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(
    body: bytes | str,
    status: int = 200,
    content_type: str = "application/rss+xml",
    headers: dict[str, str] | None = None,
    length: bool = True,
) -> Behaviour:
    data = body.encode("utf-8") if isinstance(body, str) else body

    def behave(exchange: Exchange) -> None:
        fields = {"Content-Type": content_type, **(headers or {})}
        if length:
            fields["Content-Length"] = str(len(data))
        exchange.send(response_head(status, fields) + data)

    return behave


def stream(
    chunks: Callable[[], Iterable[bytes]], headers: dict[str, str] | None = None
) -> Behaviour:
    """A 200 whose body is written chunk by chunk, with no Content-Length."""

    def behave(exchange: Exchange) -> None:
        fields = {"Content-Type": "application/rss+xml", **(headers or {})}
        exchange.send(response_head(200, fields))
        for chunk in chunks():
            if exchange.stopping.is_set():
                return
            exchange.send(chunk)

    return behave


def gzip_bomb(decompressed_bytes: int) -> Behaviour:
    """A body that is small on the wire and `decompressed_bytes` of zeros once gunzipped."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(decompressed_bytes >> 20)]
    parts.append(compressor.flush())
    body = b"".join(parts)
    return respond(body, headers={"Content-Encoding": "gzip"})


def gzipped(body: str) -> Behaviour:
    return respond(gzip.compress(body.encode("utf-8")), headers={"Content-Encoding": "gzip"})


def hang(exchange: Exchange) -> None:
    """Accept, read the request, never answer."""
    exchange.stopping.wait(120)


def dribble(body: bytes, interval: float, in_headers: bool = False) -> Behaviour:
    """A byte every `interval` seconds: of the body, or of the headers themselves."""

    def behave(exchange: Exchange) -> None:
        head = response_head(200, {"Content-Type": "application/rss+xml"})
        data = head + body if in_headers else body
        if not in_headers:
            exchange.send(head)
        for index in range(len(data)):
            if exchange.stopping.wait(interval):
                return
            exchange.send(data[index : index + 1])

    return behave


def reset(exchange: Exchange) -> None:
    """Close with a TCP RST instead of an answer."""
    exchange.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    exchange.sock.close()


def redirect(location: str, status: int = 302) -> Behaviour:
    return respond(b"", status=status, content_type="text/plain", headers={"Location": location})


def status(code: int, headers: dict[str, str] | None = None) -> Behaviour:
    return respond(f"error {code}", status=code, content_type="text/html", headers=headers)


def sequence(*behaviours: Behaviour) -> Behaviour:
    """Each request gets the next behaviour; the last one repeats."""
    count = [0]

    def behave(exchange: Exchange) -> None:
        index = min(count[0], len(behaviours) - 1)
        count[0] += 1
        behaviours[index](exchange)

    return behave


def not_found(exchange: Exchange) -> None:
    status(404)(exchange)


def slow_then(delay: float, behaviour: Behaviour) -> Behaviour:
    def behave(exchange: Exchange) -> None:
        time.sleep(delay)
        behaviour(exchange)

    return behave


_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
