"""The bytes of one feed: a local file, or an HTTP GET made conditional by the cached parse's
validators; moves (301/308), retirement (410) and Retry-After as the state database recorded
them. A failed fetch is a Fetched with the reason; `hint_for` says what the user can do.
Runs in gather's download threads."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx

from digest.models import FeedReport, FeedSource, FeedStatus
from digest.net.http import DownloadError, HttpOptions, download
from digest.state import FeedRecord

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 24 * 3600.0  # a Retry-After of 73 years is not honoured for 73 years


@dataclass(frozen=True, slots=True)
class Validators:
    """What makes a fetch conditional, from the last good parse."""

    etag: str | None
    last_modified: str | None
    body_hash: str | None


@dataclass(frozen=True, slots=True)
class Fetched:
    """A feed's bytes, or why there are none: `body` is None when `error` is set, and for a
    304 or a feed asked to wait (status NOT_MODIFIED: the cached parse stands)."""

    source: FeedSource
    status: FeedStatus
    body: bytes | None = None
    final_url: str = ""
    etag: str | None = None
    last_modified: str | None = None
    error: str = ""
    charset: str | None = None  # from the Content-Type header
    http_status: int | None = None  # of a failed request
    retry_after: float | None = None  # seconds a 429/503 asked us to wait
    moved_to: str | None = None  # a permanent redirect seen in this fetch
    notice: str = ""
    fresh_seconds: float | None = None  # how long the server says this stays fresh
    asked: bool = True  # False: answered from the cache without a request


def hint_for(reason: str, status: int | None, source: FeedSource) -> str:
    """What the user can do about a failed feed, in a few words."""
    if reason.startswith("retired"):
        return f"remove it from the config (digest feeds remove {source.name!r})"
    if status in (401, 403):
        return "the server refuses us: the feed may need a login, or blocks feed readers"
    if status in (429, 503):
        return "the server asks us to slow down; the next run tries again"
    if status is not None and status >= 500:
        return "the server is failing; the next run tries again"
    if status is not None and status >= 400:
        return "check the URL; `digest feeds add <site>` finds the feed a site links to"
    if "web page" in reason or "not an RSS" in reason:
        return "`digest feeds add <page URL>` finds the feed the page links to"
    if reason.startswith("timed out"):
        return "slow or unreachable server; raise http.total_timeout if it is only slow"
    if "larger than" in reason:
        return "raise http.max_bytes if this feed is really that large"
    if "redirect" in reason:
        return "the site's redirects are broken; tell its owner or use the final URL"
    if reason.startswith(("network error", "cannot resolve")):
        return "check the host name and your connection; the next run tries again"
    return ""


def report_failed(source: FeedSource, reason: str, status: int | None = None) -> FeedReport:
    hint = hint_for(reason, status, source)
    return FeedReport(source.name, source.url, FeedStatus.FAILED, 0, reason, hint)


def internal_error(source: FeedSource, exc: BaseException) -> FeedReport:
    reason = f"internal error while reading it: {type(exc).__name__}: {exc}"[:300]
    hint = "a bug in digest: run with --verbose for the traceback and report it"
    return FeedReport(source.name, source.url, FeedStatus.FAILED, 0, reason, hint)


def fetch_guarded(
    source: FeedSource,
    client: httpx.Client,
    options: HttpOptions,
    cached: Validators | None,
    record: FeedRecord | None,
    now: datetime,
) -> Fetched:
    """`fetch`, with any failure of ours turned into that feed's failure (runs in a thread)."""
    try:
        return fetch(source, client, options, cached, record, now)
    except Exception as exc:
        log.debug("feed %r: internal error while fetching", source.name, exc_info=True)
        return _failed(source, internal_error(source, exc).error)


def fetch(
    source: FeedSource,
    client: httpx.Client,
    options: HttpOptions,
    cached: Validators | None = None,
    record: FeedRecord | None = None,
    now: datetime | None = None,
) -> Fetched:
    """Bytes of one feed: a local file, or an HTTP GET made conditional by the validators of
    the cached parse. A feed that moved permanently is fetched from where it went; one that
    is gone (410) is not fetched; one that asked us to wait (Retry-After) stays as cached."""
    if not source.url.startswith(("http://", "https://")):
        return read_file(source, options)
    now = now or datetime.now(UTC)
    if record is not None and (skipped := _not_fetched(source, record, cached is not None, now)):
        return skipped
    url = record.moved_to if record is not None and record.moved_to else source.url
    try:
        got = download(
            client,
            url,
            options,
            cached.etag if cached else None,
            cached.last_modified if cached else None,
            trusted=source.url,
        )
    except DownloadError as exc:
        wait = None if exc.retry_after is None else min(exc.retry_after, MAX_RETRY_AFTER)
        failed = _failed(source, _fetch_reason(exc, wait))
        return replace(failed, http_status=exc.status, retry_after=wait)
    moved = got.moved_to if got.moved_to and got.moved_to != url else None
    notice = _moved_notice(moved or (url if url != source.url else None), fresh=moved is not None)
    if got.status == 304:
        return Fetched(
            source,
            FeedStatus.NOT_MODIFIED,
            None,
            url,
            moved_to=moved,
            notice=notice,
            fresh_seconds=got.fresh_seconds,
        )
    return Fetched(
        source,
        FeedStatus.OK,
        got.body,
        got.url,
        got.etag,
        got.last_modified,
        charset=_charset(got.content_type),
        moved_to=moved,
        notice=notice,
        fresh_seconds=got.fresh_seconds,
    )


def _not_fetched(
    source: FeedSource, record: FeedRecord, cached: bool, now: datetime
) -> Fetched | None:
    """A feed that is gone (410) is not asked again; one that asked us to wait keeps its
    cached entries until then."""
    if record.retired_at is not None:
        when = f"{record.retired_at:%Y-%m-%d}"
        return _failed(source, f"retired: the server said it is gone (410) on {when}")
    if cached and record.fresh_until is not None and now < record.fresh_until:
        return Fetched(source, FeedStatus.NOT_MODIFIED, None, source.url, asked=False)
    if record.retry_at is None or now >= record.retry_at:
        return None
    wait = f"not fetched: the server asked us to wait until {record.retry_at:%Y-%m-%d %H:%M} UTC"
    if not cached:
        return _failed(source, wait)
    return Fetched(source, FeedStatus.NOT_MODIFIED, None, source.url, notice=wait)


def _fetch_reason(exc: DownloadError, wait: float | None) -> str:
    if exc.status == 410:
        return "retired: the server says it is gone (HTTP 410 Gone); not fetched again"
    if wait is not None:
        return f"{exc} (the server asks us to wait; not fetched for {_duration(wait)})"
    return str(exc)


def _moved_notice(url: str | None, fresh: bool) -> str:
    if url is None:
        return ""
    if fresh:
        return f"moved permanently to {url}: fetched from there from now on; update the config"
    return f"fetched from {url}, where it moved permanently; update the config"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _charset(content_type: str) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.I)
    return match.group(1) if match else None


def read_file(source: FeedSource, options: HttpOptions) -> Fetched:
    path = Path(source.url)
    try:
        if path.stat().st_size > options.max_bytes:
            return _failed(source, f"file larger than {options.max_bytes:,} bytes")
        return Fetched(source, FeedStatus.OK, path.read_bytes(), path.as_uri())
    except OSError as exc:
        return _failed(source, f"cannot read {path}: {exc.strerror}")


def _failed(source: FeedSource, reason: str) -> Fetched:
    return Fetched(source, FeedStatus.FAILED, error=reason)
