"""Feeds -> entries. HTTP (conditional GET) and local files go through one path; feedparser
parses RSS 0.9x/1.0/2.0 and Atom from bytes; JSON Feed 1.0/1.1 is parsed here.

Per-feed isolation: a feed that fails becomes a FeedReport with the reason; the rest go on.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import httpx

from digest.errors import FeedError
from digest.extract import html_to_text
from digest.http import DownloadError, HttpOptions, download, make_client
from digest.models import Entry, FeedReport, FeedSource, FeedStatus
from digest.sanitize import clean_html, plain_text, safe_url
from digest.state import State

JSON_FEED_VERSION_PREFIX = "https://jsonfeed.org/version/"


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
            fetches = pool.map(lambda s: fetch(s, http, options, cached[s.url]), sources)
            entries: list[Entry] = []
            reports: list[FeedReport] = []
            for fetched in fetches:
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
    report, entries = _parse(fetched)
    url = fetched.source.url
    if report.status is FeedStatus.FAILED:
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
        report, feed_entries = _parse(_from_cache(source, state, options, statuses))
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


def _parse(fetched: Fetched) -> tuple[FeedReport, list[Entry]]:
    """Entries of one fetch result, or a failed report naming why."""
    source = fetched.source
    try:
        if fetched.body is None:
            raise FeedError(source.name, fetched.error)
        entries = parse_feed(fetched.body, source, fetched.final_url or source.url)
    except FeedError as exc:
        return FeedReport(source.name, source.url, FeedStatus.FAILED, 0, exc.reason), []
    return FeedReport(source.name, source.url, fetched.status, len(entries)), entries


def probe(source: FeedSource, client: httpx.Client, options: HttpOptions) -> FeedReport:
    """One feed fetched and parsed as a run would, without state (`digest check`)."""
    report, _ = _parse(fetch(source, client, options))
    return report


# fetching ------------------------------------------------------------------------------------


def fetch(
    source: FeedSource, client: httpx.Client, options: HttpOptions, cached: Any = None
) -> Fetched:
    """Bytes of one feed: a local file, or an HTTP GET made conditional by the cached validators."""
    if not source.url.startswith(("http://", "https://")):
        return _read_file(source, options)
    usable = cached is not None and cached.body is not None
    try:
        got = download(
            client,
            source.url,
            options,
            cached.etag if usable else None,
            cached.last_modified if usable else None,
        )
    except DownloadError as exc:
        return _failed(source, str(exc))
    if got.status == 304:
        return Fetched(source, FeedStatus.NOT_MODIFIED, cached.body, source.url)
    return Fetched(source, FeedStatus.OK, got.body, got.url, got.etag, got.last_modified)


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


# parsing -------------------------------------------------------------------------------------

# Sentinel for "the feed gave no date"; replaced by the first-seen time in `_date_undated`.
_UNDATED = datetime.min.replace(tzinfo=UTC)


def parse_feed(body: bytes, source: FeedSource, base_url: str) -> list[Entry]:
    """Entries of one feed document. Raises FeedError when it is not a feed at all."""
    if body.lstrip()[:1] == b"{":
        return _parse_json_feed(body, source, base_url)
    parsed = feedparser.parse(body, response_headers={"content-location": base_url})
    if not parsed.entries and (parsed.bozo or not parsed.version):
        # Survivable bozo errors (a bad entity, a wrong declared encoding) still give entries;
        # a document that yields none was not a feed or is broken beyond recovery.
        problem = parsed.get("bozo_exception")
        detail = f" ({str(problem).splitlines()[0]})" if problem else ""
        kind = "malformed feed" if parsed.version else "not an RSS, Atom or JSON feed"
        raise FeedError(source.name, f"{kind}{detail}")
    return [_from_feedparser(item, source, base_url) for item in parsed.entries]


def _from_feedparser(item: Any, source: FeedSource, base_url: str) -> Entry:
    link = safe_url(item.get("link"), base_url)
    content = _best_content(item)
    content_html = clean_html(content, link or base_url)
    struct = item.get("published_parsed") or item.get("updated_parsed")
    published = datetime.fromtimestamp(calendar.timegm(struct), UTC) if struct else _UNDATED
    return _entry(
        source,
        guid=str(item.get("id") or ""),
        link=link,
        title=plain_text(item.get("title", "")),
        published=published,
        author=plain_text(item.get("author", "")),
        content_html=content_html,
        image=_feedparser_image(item, link or base_url),
    )


def _best_content(item: Any) -> str:
    """The fullest body a feed gives: content:encoded / atom:content over the summary."""
    bodies = [c.get("value", "") for c in item.get("content", [])]
    bodies.append(item.get("summary", ""))
    return str(max(bodies, key=len))


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
        if url := safe_url(candidate, base_url):
            return url
    return None


def _parse_json_feed(body: bytes, source: FeedSource, base_url: str) -> list[Entry]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(source.name, f"malformed JSON: {exc}") from None
    version = document.get("version", "") if isinstance(document, dict) else ""
    if not str(version).startswith(JSON_FEED_VERSION_PREFIX):
        raise FeedError(source.name, "JSON but not a JSON Feed (no jsonfeed.org version)")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedError(source.name, "JSON Feed without an items list")
    feed_url = safe_url(document.get("home_page_url"), base_url) or base_url
    return [_from_json_item(i, source, feed_url) for i in items if isinstance(i, dict)]


def _from_json_item(item: dict[str, Any], source: FeedSource, base_url: str) -> Entry:
    link = safe_url(item.get("url") or item.get("external_url"), base_url)
    if isinstance(item.get("content_html"), str):
        content = item["content_html"]
    else:
        content = _paragraphs_as_html(str(item.get("content_text") or item.get("summary") or ""))
    authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
    names = [a.get("name", "") for a in authors if isinstance(a, dict)]
    return _entry(
        source,
        guid=str(item.get("id") or ""),
        link=link,
        title=plain_text(str(item.get("title") or "")),
        published=_iso_date(item.get("date_published") or item.get("date_modified")),
        author=plain_text(", ".join(n for n in names if n)),
        content_html=clean_html(content, link or base_url),
        image=safe_url(item.get("image") or item.get("banner_image"), base_url) or None,
    )


def _paragraphs_as_html(text: str) -> str:
    blocks = (b.strip() for b in text.replace("\r\n", "\n").split("\n\n"))
    return "".join(f"<p>{html.escape(b)}</p>" for b in blocks if b)


def _iso_date(value: object) -> datetime:
    if not isinstance(value, str):
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
    content_html: str,
    image: str | None,
) -> Entry:
    text = html_to_text(content_html)
    return Entry(
        id=entry_id(source.url, guid, link, title),
        feed=source.name,
        title=title or _first_words(text) or "(untitled)",
        link=link,
        published=published,
        author=author,
        content_html=content_html,
        content_text=text,
        image=image,
        guid=guid,
        section=source.section,
    )


def entry_id(feed_url: str, guid: str, link: str, title: str) -> str:
    """Stable across runs. A GUID or link identifies an entry across feeds too (same id)."""
    key = guid or link or f"{feed_url}\n{title}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _first_words(text: str, count: int = 10) -> str:
    words = text.split()
    return " ".join(words[:count]) + ("…" if len(words) > count else "")
