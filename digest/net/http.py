"""The one HTTP path for feeds and article pages. Errors come back as one-line reasons.

What a request may cost is bounded, whatever the server does:
- a total deadline, enforced on every socket read and write, so a server that dribbles a byte
  a second (which resets a per-read timeout forever) is cut off too;
- a size cap on the *decompressed* body, decompressing in bounded steps (a gzip bomb stops at
  the cap, not at the bomb's size);
- redirects followed by hand: each hop is checked, loops are named, and a chain of permanent
  redirects (301/308) is reported so the caller can move the feed.

Requests we did not ask for are refused: a URL that came from content (a redirect's target,
an article link, a robots.txt beside one) may not reach a loopback, private, link-local,
multicast or otherwise non-public address unless its origin is in
`http.allow_private_origins`. The address checked is the address connected to (the
transport resolves the name once, checks every address, and connects to the checked one),
so a DNS name that resolves to 127.0.0.1, a decimal or octal IPv4 spelling and an
IPv4-mapped IPv6 address are all caught. A URL the user wrote (a feed in the config, a URL on
the command line) is `trusted`: it may reach its own origin wherever that is.
"""

from __future__ import annotations

import contextvars
import re
import socket
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpcore
import httpx

from digest.net.addresses import non_public_kind

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
# A Retry-After up to this long is waited out once within the request's deadline.
SHORT_RETRY_SECONDS = 5.0
CHUNK_BYTES = 64 * 1024

Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True, slots=True)
class HttpOptions:
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 30.0
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    concurrency: int = 8
    user_agent: str = "digest/0.1"
    allow_private_origins: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Download:
    """A response read in full: `body` is empty for 304 Not Modified. `moved_to` is set when
    every redirect on the way was permanent (301/308): the resource lives there now."""

    status: int
    body: bytes
    url: str
    etag: str | None
    last_modified: str | None
    content_type: str
    moved_to: str | None = None
    fresh_seconds: float | None = None  # Cache-Control max-age / Expires


class DownloadError(Exception):
    """Why a URL gave no usable response, as a short reason ("HTTP 404 Not Found").
    `status` is the HTTP status when there was one; `retry_after` the seconds a 429 or 503
    asked us to wait."""

    def __init__(
        self, reason: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after


class Refused(DownloadError):
    """The URL would reach an address we do not fetch from content (or cannot resolve)."""


# The request in progress on this thread: when it must be done, and whether it may connect
# to non-public addresses. Set by `download`, read by the transport below.
_deadline: contextvars.ContextVar[float] = contextvars.ContextVar("deadline", default=0.0)
_may_reach_private: contextvars.ContextVar[bool] = contextvars.ContextVar("private", default=True)


class GuardedClient(httpx.Client):
    """An httpx client whose connections go through the deadline and address checks."""

    def __init__(self, options: HttpOptions, resolver: Resolver | None = None) -> None:
        self.resolver = resolver or system_resolver
        transport = httpx.HTTPTransport()
        if not isinstance(getattr(transport, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("this httpx version's transport cannot be guarded")
        # httpx has no parameter for httpcore's network backend: its pool is swapped for one
        # that connects through ours (the check above fails loudly if httpx changes).
        transport._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=options.concurrency * 2,
            network_backend=_GuardedBackend(self.resolver),
        )
        super().__init__(
            transport=transport,
            timeout=httpx.Timeout(options.read_timeout, connect=options.connect_timeout),
            follow_redirects=False,  # followed by hand, each hop checked
            trust_env=False,  # no proxy from the environment: it would bypass the checks
            headers={"User-Agent": options.user_agent, "Accept-Encoding": "gzip, deflate"},
        )


def make_client(options: HttpOptions, resolver: Resolver | None = None) -> GuardedClient:
    return GuardedClient(options, resolver)


def download(
    client: httpx.Client,
    url: str,
    options: HttpOptions,
    etag: str | None = None,
    last_modified: str | None = None,
    *,
    trusted: str | None = None,
) -> Download:
    """GET `url`, conditional on the validators given. Raises DownloadError with the reason.

    `trusted` is a URL the user wrote (a configured feed): its origin may be reached even
    when it is private. Everything else must be public or allow-listed."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + options.total_timeout
    token = _deadline.set(deadline)
    try:
        try:
            return _follow(client, url, headers, options, trusted)
        except DownloadError as exc:
            wait = exc.retry_after
            if wait is None or wait > SHORT_RETRY_SECONDS or time.monotonic() + wait > deadline:
                raise
            time.sleep(wait)  # a short "come back in 2 s": once, within the same deadline
            return _follow(client, url, headers, options, trusted)
    except httpx.TimeoutException as exc:
        raise DownloadError(_timeout_reason(exc, deadline, options)) from None
    except httpx.InvalidURL as exc:
        raise DownloadError(f"invalid URL: {exc}") from None
    except httpx.HTTPError as exc:
        raise DownloadError(f"network error: {_network_reason(exc)}") from None
    finally:
        _deadline.reset(token)


def _follow(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    options: HttpOptions,
    trusted: str | None,
) -> Download:
    resolver: Resolver = getattr(client, "resolver", system_resolver)
    chain = [url]
    permanent = True
    current = url
    for _ in range(options.max_redirects + 1):
        allowed = may_reach_private(current, trusted, options.allow_private_origins)
        if not allowed:
            public_address(_host_port(current), resolver)  # raises Refused
        token = _may_reach_private.set(allowed)
        try:
            with client.stream("GET", current, headers=headers) as response:
                target = _redirect_target(response, current)
                if target is None:
                    moved = current if permanent and current != url else None
                    return _read(response, options.max_bytes, moved)
        finally:
            _may_reach_private.reset(token)
        permanent = permanent and response.status_code in PERMANENT_REDIRECTS
        if target in chain:
            loop = [*chain[chain.index(target) :], target]
            raise DownloadError(f"redirect loop ({_shown(loop)})")
        chain.append(target)
        current = target
    redirects = "redirect" if options.max_redirects == 1 else "redirects"
    raise DownloadError(f"more than {options.max_redirects} {redirects} (the last to {current})")


def _shown(chain: list[str], most: int = 4) -> str:
    hops = chain if len(chain) <= most else [*chain[: most - 1], "…", chain[-1]]
    return " -> ".join(hops)


def _redirect_target(response: httpx.Response, current: str) -> str | None:
    if response.status_code not in REDIRECT_STATUSES:
        return None
    location = response.headers.get("Location", "").strip()
    if not location:
        raise DownloadError(f"HTTP {response.status_code} redirect without a Location")
    target = str(httpx.URL(current).join(location))
    if httpx.URL(target).scheme not in ("http", "https"):
        raise DownloadError(f"redirect to a non-web URL ({location[:80]})")
    return target


def _read(response: httpx.Response, max_bytes: int, moved_to: str | None) -> Download:
    status = response.status_code
    if status >= 400:
        raise DownloadError(
            f"HTTP {status} {response.reason_phrase or 'error'}",
            status,
            _retry_after(response) if status in (429, 503) else None,
        )
    body = b"" if status == 304 else _body(response, max_bytes)
    return Download(
        status=status,
        body=body,
        url=str(response.url),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        content_type=response.headers.get("Content-Type", ""),
        moved_to=moved_to,
        fresh_seconds=fresh_seconds(response.headers),
    )


def fresh_seconds(headers: httpx.Headers) -> float | None:
    """How long the server says the response stays fresh (RFC 9111: Cache-Control max-age,
    else Expires against Date), or None when it says nothing or forbids reuse."""
    control = headers.get("Cache-Control", "").lower()
    if "no-store" in control or "no-cache" in control:
        return None
    if match := _MAX_AGE.search(control):
        return float(match.group(1))
    expires, date = headers.get("Expires"), headers.get("Date")
    if not expires:
        return None
    try:
        until = parsedate_to_datetime(expires).timestamp()
        since = parsedate_to_datetime(date).timestamp() if date else time.time()
    except (TypeError, ValueError, IndexError):
        return None  # "Expires: 0" and other garbage mean: already stale
    return max(0.0, until - since)


_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)")


def _body(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise DownloadError(f"response larger than {max_bytes:,} bytes ({int(declared):,})")
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    body = bytearray()
    for piece in _decoded(response.iter_raw(CHUNK_BYTES), encoding, max_bytes):
        body += piece
        if len(body) > max_bytes:
            what = "decompressed response" if encoding != "identity" else "response"
            raise DownloadError(f"{what} larger than {max_bytes:,} bytes")
    return bytes(body)


def _decoded(raw: Iterable[bytes], encoding: str, max_bytes: int) -> Iterator[bytes]:
    """The body decompressed in steps of at most `max_bytes + 1` bytes of output."""
    if encoding in ("identity", ""):
        yield from raw
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise DownloadError(f"unsupported Content-Encoding {encoding!r}")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, auto-detected
    first = True
    for chunk in raw:
        if first and encoding == "deflate" and chunk[:1] and chunk[0] & 0x0F != 8:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # "deflate" sent without its header
        first = False
        data = chunk
        while data:
            try:
                out = inflater.decompress(data, max_bytes + 1)
            except zlib.error as exc:
                raise DownloadError(f"corrupt {encoding} body ({exc})") from None
            yield out
            data = inflater.unconsumed_tail
            if inflater.eof:
                return


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date), if it has one."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _timeout_reason(exc: httpx.TimeoutException, deadline: float, options: HttpOptions) -> str:
    if time.monotonic() >= deadline - 0.05:
        return f"timed out: no complete answer within {options.total_timeout:g} s"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out connecting ({options.connect_timeout:g} s)"
    return f"timed out: no data for {options.read_timeout:g} s"


def _network_reason(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    if "Invalid URL in location header" in text:
        return "a redirect to an invalid URL"
    if "Connection reset" in text or "ECONNRESET" in text:
        return "the server reset the connection"
    if "Server disconnected" in text or "RemoteProtocolError" in type(exc).__name__:
        return f"the server broke off the response ({text})"
    return text


# what may be reached -------------------------------------------------------------------------


def origin(url: str) -> str:
    """scheme://host:port, lower-cased, with the default port written out."""
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    host = parsed.host.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    return f"{parsed.scheme}://{host}:{port}"


def may_reach_private(url: str, trusted: str | None, allowed_origins: Iterable[str]) -> bool:
    """A URL may reach a non-public address when its origin is the trusted URL's (the user
    wrote it) or is allow-listed."""
    try:
        here = origin(url)
    except httpx.InvalidURL:
        return False
    if trusted is not None and here == origin(trusted):
        return True
    return here in {origin(allowed) for allowed in allowed_origins}


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, as the system resolver answers (inet_aton
    spellings such as 2130706433 or 0177.0.0.1 included)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def public_address(host_port: tuple[str, int], resolver: Resolver) -> str:
    """The address to connect to for a URL from content: every address the host resolves to
    must be public. Raises Refused naming the address and the way out."""
    host, port = host_port
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise Refused(f"cannot resolve {host} ({_resolver_reason(exc)})") from None
    if not addresses:
        raise Refused(f"cannot resolve {host}")
    for address in addresses:
        if kind := non_public_kind(address):
            shown = host if host == address else f"{host} ({address})"
            raise Refused(
                f"refused to fetch {shown}: a {kind} address, and the URL came from content, "
                "not from you; list its origin in http.allow_private_origins to allow it"
            )
    return addresses[0]


def _resolver_reason(exc: Exception) -> str:
    return str(exc.args[1]) if isinstance(exc, socket.gaierror) and len(exc.args) > 1 else str(exc)


def _host_port(url: str) -> tuple[str, int]:
    parsed = httpx.URL(url)
    return parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)


# the transport: deadline on every socket operation, addresses checked at connect -------------


def _bounded(timeout: float | None) -> float | None:
    """The per-operation timeout, cut to what is left of the request's deadline."""
    deadline = _deadline.get()
    if not deadline:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        secured = self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout))
        return _DeadlineStream(secured)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        target = host if _may_reach_private.get() else public_address((host, port), self._resolver)
        stream = self._inner.connect_tcp(
            target, port, _bounded(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise Refused("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@contextmanager
def client_for(client: httpx.Client | None, http: HttpOptions) -> Iterator[httpx.Client]:
    if client is not None:
        yield client
        return
    with make_client(http) as owned:
        yield owned
