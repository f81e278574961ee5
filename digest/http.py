"""The one HTTP path for feeds and article pages: timeouts, a redirect cap, a size cap, gzip,
a clear User-Agent and conditional GET. Errors come back as one-line reasons."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx


@dataclass(frozen=True, slots=True)
class HttpOptions:
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    concurrency: int = 8
    user_agent: str = "digest/0.1"


@dataclass(frozen=True, slots=True)
class Download:
    """A response read in full: `body` is empty for 304 Not Modified."""

    status: int
    body: bytes
    url: str
    etag: str | None
    last_modified: str | None
    content_type: str


class DownloadError(Exception):
    """Why a URL gave no usable response, as a short reason ("HTTP 404 Not Found")."""


def make_client(options: HttpOptions) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(options.read_timeout, connect=options.connect_timeout),
        follow_redirects=True,
        max_redirects=options.max_redirects,
        headers={"User-Agent": options.user_agent, "Accept-Encoding": "gzip, deflate"},
        limits=httpx.Limits(max_connections=options.concurrency * 2),
    )


def download(
    client: httpx.Client,
    url: str,
    options: HttpOptions,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Download:
    """GET `url`, conditional on the validators given. Raises DownloadError with the reason."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        deadline = time.monotonic() + options.total_timeout
        return _read(client, url, headers, options.max_bytes, deadline)
    except httpx.TooManyRedirects:
        raise DownloadError(f"more than {client.max_redirects} redirects") from None
    except httpx.TimeoutException as exc:
        kind = type(exc).__name__.removesuffix("Timeout").lower()
        raise DownloadError(f"timed out ({kind})") from None
    except httpx.HTTPError as exc:
        raise DownloadError(f"network error: {exc or type(exc).__name__}") from None


def _read(
    client: httpx.Client, url: str, headers: dict[str, str], max_bytes: int, deadline: float
) -> Download:
    with client.stream("GET", url, headers=headers) as response:
        if response.status_code >= 400:
            raise DownloadError(f"HTTP {response.status_code} {response.reason_phrase or 'error'}")
        body = bytearray()
        if response.status_code != 304:
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise DownloadError(f"response larger than {max_bytes:,} bytes")
                if time.monotonic() > deadline:  # a server trickling bytes resets read timeouts
                    raise DownloadError("timed out (whole response took too long)")
        return Download(
            status=response.status_code,
            body=bytes(body),
            url=str(response.url),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            content_type=response.headers.get("Content-Type", ""),
        )
