"""Feeds -> entries. HTTP (conditional GET) and local files go through one path; feedparser
parses RSS 0.9x/1.0/2.0 and Atom from bytes (defused first: digest/defuse.py); JSON Feed
1.0/1.1 is parsed here.

Per-feed isolation: a feed that fails, in any way, our own bugs included, becomes a
FeedReport with the reason and a hint; the rest go on. Every field a feed gives is capped in
length and sanitized before it leaves this module.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import logging
import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import httpx

from digest.defuse import MAX_ENTRIES, decode, defuse
from digest.errors import FeedError
from digest.extract import html_to_text
from digest.http import DownloadError, HttpOptions, download, make_client
from digest.models import Entry, FeedReport, FeedSource, FeedStatus
from digest.sanitize import clean_html, plain_text, safe_image_url, safe_url, tame_long_words
from digest.state import CachedFeed, FeedRecord, State

log = logging.getLogger(__name__)

JSON_FEED_VERSION_PREFIX = "https://jsonfeed.org/version/"
# Longest field kept, in characters, before and after cleaning. A title is a line, not a page.
MAX_TITLE = 300
MAX_AUTHOR = 200
MAX_URL = 2048
MAX_CONTENT = 400_000  # HTML of one entry; a long article is ~50 KB
FUTURE_SLACK = timedelta(days=1)  # a date further ahead than this is a wrong clock: undated
MAX_RETRY_AFTER = 24 * 3600.0  # a Retry-After of 73 years is not honoured for 73 years
_DEFUSED_TYPE = "application/xml; charset=utf-8"  # what defuse() hands feedparser


@dataclass(frozen=True, slots=True)
class Fetched:
    """A feed's bytes, or why there are none. `body` is None only when `error` is set."""

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


@dataclass(frozen=True, slots=True)
class Gathered:
    entries: tuple[Entry, ...]
    reports: tuple[FeedReport, ...]


def gather(
    sources: list[FeedSource],
    state: State,
    options: HttpOptions,
    now: datetime,
    client: httpx.Client | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
    offline: bool = False,
) -> Gathered:
    """Fetch every feed concurrently, parse, normalise. State is written from this thread only.

    `offline` re-parses what the last run fetched instead (local files are read again) and
    writes nothing to state: the preview rebuilds this way on every saved edit.
    """
    if offline:
        return gather_cached(sources, state, options, now, on_feed)
    owned = client is None
    http = client or make_client(options)
    try:
        with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
            cached = {s.url: state.cached_feed(s.url) for s in sources}
            records = state.feed_records()

            def fetch_one(source: FeedSource) -> Fetched:
                return _fetch_guarded(
                    source, http, options, cached[source.url], records.get(source.url), now
                )

            entries: list[Entry] = []
            reports: list[FeedReport] = []
            for fetched in pool.map(fetch_one, sources):
                report, feed_entries = _absorb(fetched, state, now)
                entries.extend(feed_entries)
                reports.append(report)
                if on_feed:
                    on_feed(report)
    finally:
        if owned:
            http.close()
    return Gathered(tuple(_date_undated(entries, state, now)), tuple(reports))


def _absorb(fetched: Fetched, state: State, now: datetime) -> tuple[FeedReport, list[Entry]]:
    """Parse one fetch result and record it in state; failures become a report, not a raise."""
    report, entries = _parse(fetched, now)
    url = fetched.source.url
    if fetched.http_status == 410:
        state.retire_feed(url, report.error, now)
    if fetched.retry_after is not None:
        state.defer_feed(url, now + timedelta(seconds=fetched.retry_after))
    if fetched.moved_to:
        state.record_move(url, fetched.moved_to, now)
    if report.failed:
        state.record_feed_status(url, FeedStatus.FAILED, report.error, now)
    elif fetched.status is FeedStatus.OK and fetched.body is not None:
        state.save_feed_response(url, fetched.etag, fetched.last_modified, fetched.body, now)
    else:
        state.record_feed_status(url, fetched.status, "", now)
    return report, entries


def _date_undated(entries: list[Entry], state: State, now: datetime) -> Iterable[Entry]:
    """Entries without a date get the time digest first saw them, so they age like others."""
    first_seen = state.remember_entries(((e.id, e.feed, e.link, e.title) for e in entries), now)
    for entry in entries:
        if entry.published is _UNDATED:
            yield replace(entry, published=first_seen.get(entry.id, now), dated=False)
        else:
            yield entry


def gather_cached(
    sources: list[FeedSource],
    state: State,
    options: HttpOptions,
    now: datetime,
    on_feed: Callable[[FeedReport], None] | None = None,
) -> Gathered:
    """Entries from the bodies the last fetch stored, without network and without writing state.

    A feed whose last fetch failed stays failed (with that reason), as it would in a real run
    that failed the same way; one never fetched is failed with a hint.
    """
    statuses = state.feed_statuses()
    entries: list[Entry] = []
    reports: list[FeedReport] = []
    for source in sources:
        report, feed_entries = _parse(_from_cache(source, state, options, statuses), now)
        entries.extend(feed_entries)
        reports.append(report)
        if on_feed:
            on_feed(report)
    first_seen = state.first_seen([e.id for e in entries])
    dated = [
        replace(e, published=first_seen.get(e.id, now), dated=False)
        if e.published is _UNDATED
        else e
        for e in entries
    ]
    return Gathered(tuple(dated), tuple(reports))


def _from_cache(
    source: FeedSource,
    state: State,
    options: HttpOptions,
    statuses: dict[str, tuple[str, str | None, str]],
) -> Fetched:
    if not source.url.startswith(("http://", "https://")):
        return _read_file(source, options)
    status, error, _ = statuses.get(source.url, (None, None, ""))
    if status == FeedStatus.FAILED:
        return _failed(source, error or "failed on the last fetch")
    cached = state.cached_feed(source.url)
    if cached is None or cached.body is None:
        return _failed(source, "not fetched yet (fetch the feeds once to fill the cache)")
    recorded = FeedStatus.NOT_MODIFIED if status == FeedStatus.NOT_MODIFIED else FeedStatus.OK
    return Fetched(source, recorded, cached.body, source.url)


def _parse(fetched: Fetched, now: datetime) -> tuple[FeedReport, list[Entry]]:
    """Entries of one fetch result, or a failed report naming why. Never raises: a bug of
    ours on one feed's content fails that feed, not the build."""
    source = fetched.source
    try:
        if fetched.body is None:
            raise FeedError(source.name, fetched.error)
        base_url = fetched.final_url or source.url
        parsed = parse_feed(fetched.body, source, base_url, fetched.charset, now)
    except FeedError as exc:
        hint = hint_for(exc.reason, fetched.http_status, source)
        return FeedReport(source.name, source.url, FeedStatus.FAILED, 0, exc.reason, hint), []
    except Exception as exc:  # our bug, on this feed's content: the other feeds go on
        log.debug("feed %r: internal error", source.name, exc_info=True)
        return _internal_error(source, exc), []
    notice = "; ".join(part for part in (fetched.notice, parsed.notice) if part)
    report = FeedReport(source.name, source.url, fetched.status, len(parsed.entries), notice=notice)
    return report, parsed.entries


def probe(source: FeedSource, client: httpx.Client, options: HttpOptions) -> FeedReport:
    """Fetch and parse one feed as a build would, touching no state (`digest check`)."""
    now = datetime.now(UTC)
    return _parse(_fetch_guarded(source, client, options, None, None, now), now)[0]


def _internal_error(source: FeedSource, exc: BaseException) -> FeedReport:
    reason = f"internal error while reading it: {type(exc).__name__}: {exc}"[:300]
    hint = "a bug in digest: run with --verbose for the traceback and report it"
    return FeedReport(source.name, source.url, FeedStatus.FAILED, 0, reason, hint)


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


# fetching ------------------------------------------------------------------------------------


def _fetch_guarded(
    source: FeedSource,
    client: httpx.Client,
    options: HttpOptions,
    cached: CachedFeed | None,
    record: FeedRecord | None,
    now: datetime,
) -> Fetched:
    """`fetch`, with any failure of ours turned into that feed's failure (runs in a thread)."""
    try:
        return fetch(source, client, options, cached, record, now)
    except Exception as exc:
        log.debug("feed %r: internal error while fetching", source.name, exc_info=True)
        return _failed(source, _internal_error(source, exc).error)


def fetch(
    source: FeedSource,
    client: httpx.Client,
    options: HttpOptions,
    cached: CachedFeed | None = None,
    record: FeedRecord | None = None,
    now: datetime | None = None,
) -> Fetched:
    """Bytes of one feed: a local file, or an HTTP GET made conditional by the cached
    validators. A feed that moved permanently is fetched from where it went; one that is gone
    (410) is not fetched; one that asked us to wait (Retry-After) is re-read from the cache."""
    if not source.url.startswith(("http://", "https://")):
        return _read_file(source, options)
    now = now or datetime.now(UTC)
    body = cached.body if cached is not None else None
    if record is not None and (skipped := _not_fetched(source, record, body, now)):
        return skipped
    url = record.moved_to if record is not None and record.moved_to else source.url
    validators = cached if cached is not None and body is not None else None
    try:
        got = download(
            client,
            url,
            options,
            validators.etag if validators else None,
            validators.last_modified if validators else None,
            trusted=source.url,
        )
    except DownloadError as exc:
        wait = None if exc.retry_after is None else min(exc.retry_after, MAX_RETRY_AFTER)
        failed = _failed(source, _fetch_reason(exc, wait))
        return replace(failed, http_status=exc.status, retry_after=wait)
    moved = got.moved_to if got.moved_to and got.moved_to != url else None
    notice = _moved_notice(moved or (url if url != source.url else None), fresh=moved is not None)
    if got.status == 304:
        return Fetched(source, FeedStatus.NOT_MODIFIED, body, url, moved_to=moved, notice=notice)
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
    )


def _not_fetched(
    source: FeedSource, record: FeedRecord, body: bytes | None, now: datetime
) -> Fetched | None:
    """A feed that is gone (410) is not asked again; one that asked us to wait is re-read
    from the cache until then."""
    if record.retired_at is not None:
        when = f"{record.retired_at:%Y-%m-%d}"
        return _failed(source, f"retired: the server said it is gone (410) on {when}")
    if record.retry_at is None or now >= record.retry_at:
        return None
    wait = f"not fetched: the server asked us to wait until {record.retry_at:%Y-%m-%d %H:%M} UTC"
    if body is None:
        return _failed(source, wait)
    return Fetched(source, FeedStatus.NOT_MODIFIED, body, source.url, notice=wait)


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


def _read_file(source: FeedSource, options: HttpOptions) -> Fetched:
    path = Path(source.url)
    try:
        if path.stat().st_size > options.max_bytes:
            return _failed(source, f"file larger than {options.max_bytes:,} bytes")
        return Fetched(source, FeedStatus.OK, path.read_bytes(), path.as_uri())
    except OSError as exc:
        return _failed(source, f"cannot read {path}: {exc.strerror}")


def _failed(source: FeedSource, reason: str) -> Fetched:
    return Fetched(source, FeedStatus.FAILED, error=reason)


@dataclass(frozen=True, slots=True)
class Parsed:
    entries: list[Entry]
    notice: str = ""  # what was repaired or cut on the way


# parsing -------------------------------------------------------------------------------------

# Sentinel for "the feed gave no date"; replaced by the first-seen time in `_date_undated`.
_UNDATED = datetime.min.replace(tzinfo=UTC)


def parse_feed(
    body: bytes,
    source: FeedSource,
    base_url: str,
    charset: str | None = None,
    now: datetime | None = None,
) -> Parsed:
    """Entries of one feed document. Raises FeedError when it is not a feed at all. `now`
    tells a date in the future (a wrong clock) from a fresh one."""
    now = now or datetime.now(UTC)
    if not body.strip():
        raise FeedError(source.name, "empty response (no feed document)")
    if body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        return _parse_json_feed(body, source, base_url, now)
    defused = defuse(body, source.name, charset)
    if defused.root == "html":
        raise FeedError(source.name, "a web page (HTML), not an RSS, Atom or JSON feed")
    # feedparser's own sanitizer and URL resolver are off: nh3 does both, on an allow-list,
    # and they are the slowest part of feedparser.
    parsed = feedparser.parse(
        defused.body,
        response_headers={"content-location": base_url, "content-type": _DEFUSED_TYPE},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    version = parsed.get("version") or ""
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    detail = str(problem).splitlines()[0][:120] if problem and str(problem) else ""
    if not parsed.entries and (problem or not version):
        # Survivable bozo errors (a bad entity, a mismatched tag) still give entries; a
        # document that yields none was not a feed or is broken beyond recovery.
        kind = "malformed feed" if version else "not an RSS, Atom or JSON feed"
        raise FeedError(source.name, f"{kind} ({detail})" if detail else kind)
    entries = [_from_feedparser(item, source, base_url, now) for item in parsed.entries]
    notes = list(defused.changes)
    if problem is not None:
        notes.insert(0, f"malformed, read anyway ({detail or type(problem).__name__})")
    return Parsed(entries, "; ".join(notes))


def _from_feedparser(item: Any, source: FeedSource, base_url: str, now: datetime) -> Entry:
    link = _url(item.get("link"), base_url)
    return _entry(
        source,
        guid=_json_id(item.get("id")),
        link=link,
        title=_text(item.get("title")),
        published=_struct_date(item.get("published_parsed") or item.get("updated_parsed")),
        author=_text(item.get("author")),
        content=_best_content(item),
        base_url=link or base_url,
        image=_feedparser_image(item, link or base_url),
        now=now,
    )


def _struct_date(struct: Any) -> datetime:
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC) if struct else _UNDATED
    except (OverflowError, OSError, ValueError, TypeError):  # year 99999, garbage
        return _UNDATED


def _best_content(item: Any) -> str:
    """The fullest body a feed gives: content:encoded / atom:content over the summary."""
    bodies = [_text(c.get("value")) for c in item.get("content", []) if isinstance(c, dict)]
    bodies.append(_text(item.get("summary")))
    return max(bodies, key=len)


def _text(value: object) -> str:
    """A field's value when it is text; anything else (a list, a dict, None) is no text."""
    return value if isinstance(value, str) else ""


def _image_url(value: object, base_url: str) -> str:
    url = _url(value, base_url)
    return safe_image_url(url) if url else ""


def _url(value: object, base_url: str) -> str:
    """An http(s)/mailto URL of sane length, made absolute; otherwise ""."""
    text = _text(value).strip()
    return safe_url(text, base_url) if 0 < len(text) <= MAX_URL else ""


def _feedparser_image(item: Any, base_url: str) -> str | None:
    candidates = [m.get("url") for m in item.get("media_thumbnail", [])]
    candidates += [
        m.get("url")
        for m in item.get("media_content", [])
        if m.get("medium") == "image" or str(m.get("type", "")).startswith("image/")
    ]
    candidates += [
        link.get("href")
        for link in item.get("links", [])
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/")
    ]
    for candidate in candidates:
        if url := _image_url(candidate, base_url):
            return url
    return None


def _parse_json_feed(body: bytes, source: FeedSource, base_url: str, now: datetime) -> Parsed:
    text, _ = decode(body)  # UTF-8 (RFC 8259); a BOM or UTF-16 tolerated
    try:
        document = json.loads(text)
    except RecursionError:
        raise FeedError(source.name, "malformed JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and numbers too long to convert
        raise FeedError(source.name, f"malformed JSON: {str(exc)[:120]}") from None
    version = document.get("version", "") if isinstance(document, dict) else ""
    if not _text(version).startswith(JSON_FEED_VERSION_PREFIX):
        raise FeedError(source.name, "JSON but not a JSON Feed (no jsonfeed.org version)")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedError(source.name, "JSON Feed without an items list")
    feed_url = _url(document.get("home_page_url"), base_url) or base_url
    entries = [
        _from_json_item(i, source, feed_url, now)
        for i in items[:MAX_ENTRIES]
        if isinstance(i, dict)
    ]
    cut = f"kept the first {MAX_ENTRIES:,} of {len(items):,} entries"
    return Parsed(entries, cut if len(items) > MAX_ENTRIES else "")


def _from_json_item(
    item: dict[str, Any], source: FeedSource, base_url: str, now: datetime
) -> Entry:
    link = _url(item.get("url") or item.get("external_url"), base_url)
    if isinstance(item.get("content_html"), str):
        content = item["content_html"]
    else:
        text = _text(item.get("content_text")) or _text(item.get("summary"))
        content = _paragraphs_as_html(text[:MAX_CONTENT])
    authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
    names = (
        [_text(a.get("name")) for a in authors if isinstance(a, dict)]
        if isinstance(authors, list)
        else []
    )
    return _entry(
        source,
        guid=_json_id(item.get("id")),
        link=link,
        title=_text(item.get("title")),
        published=_iso_date(item.get("date_published") or item.get("date_modified")),
        author=", ".join(n for n in names if n),
        content=content,
        base_url=link or base_url,
        image=_image_url(item.get("image") or item.get("banner_image"), base_url) or None,
        now=now,
    )


def _json_id(value: object) -> str:
    """JSON Feed ids are strings; some feeds write numbers."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(value)[:MAX_URL]


def _paragraphs_as_html(text: str) -> str:
    blocks = (b.strip() for b in text.replace("\r\n", "\n").split("\n\n"))
    return "".join(f"<p>{html.escape(b)}</p>" for b in blocks if b)


def _iso_date(value: object) -> datetime:
    if not isinstance(value, str) or len(value) > 64:
        return _UNDATED
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return _UNDATED
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _entry(
    source: FeedSource,
    *,
    guid: str,
    link: str,
    title: str,
    published: datetime,
    author: str,
    content: str,
    base_url: str,
    image: str | None,
    now: datetime,
) -> Entry:
    """One entry, every field capped and cleaned: what leaves gather is safe to render."""
    content_html = clean_html(content[:MAX_CONTENT], base_url)
    text = tame_long_words(html_to_text(content_html))
    title = _capped(tame_long_words(plain_text(title[: MAX_TITLE * 4])), MAX_TITLE)
    if published is not _UNDATED and published > now + FUTURE_SLACK:
        published = _UNDATED  # a wrong clock: it would sit on top of every digest till then
    return Entry(
        id=entry_id(source.url, guid, link, title),
        feed=source.name,
        title=title or _first_words(text) or "(untitled)",
        link=link,
        published=published,
        author=_capped(plain_text(author[: MAX_AUTHOR * 4]), MAX_AUTHOR),
        content_html=content_html,
        content_text=text,
        image=image,
        guid=guid,
        section=source.section,
    )


def _capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def entry_id(feed_url: str, guid: str, link: str, title: str) -> str:
    """Stable across runs. A GUID or link identifies an entry across feeds too (same id)."""
    key = guid or link or f"{feed_url}\n{title}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _first_words(text: str, count: int = 10) -> str:
    words = text.split()
    return " ".join(words[:count]) + ("…" if len(words) > count else "")
