"""Feed documents -> entries: RSS 0.9x/1.0/2.0 and Atom through feedparser (after
digest/feeds/defuse.py made the bytes safe), JSON Feed 1.0/1.1 here. Pure: bytes in, entries out.

Every field is capped in length and cleaned (titles to plain text, content through the nh3
allow-list, URLs to http(s)/mailto made absolute) before it leaves this module.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser

from digest.errors import FeedError
from digest.feeds.defuse import MAX_ENTRIES, decode, defuse
from digest.models import Entry, FeedSource
from digest.text.fingerprint import opening, text_digest
from digest.text.htmltext import sanitized_html_to_text
from digest.text.language import primary
from digest.text.plural import count
from digest.text.sanitize import (
    clean_html,
    has_escaped_markup,
    plain_text,
    safe_image_url,
    safe_url,
    tame_long_words,
    visible,
    without_leftover_entities,
)

# JSON Feed 1.0 and 1.1; some feeds write the version URL with http.
JSON_FEED_VERSION = re.compile(r"https?://jsonfeed\.org/version/", re.I)
# Longest field kept, in characters, before and after cleaning. A title is a line, not a page.
MAX_TITLE = 300
MAX_AUTHOR = 200
MAX_URL = 2048
MAX_CONTENT = 400_000  # HTML of one entry; a long article is ~50 KB
FUTURE_SLACK = timedelta(days=1)  # a date further ahead than this is a wrong clock: undated
_DEFUSED_TYPE = "application/xml; charset=utf-8"  # what defuse() hands feedparser


@dataclass(frozen=True, slots=True)
class Parsed:
    entries: list[Entry]
    notice: str = ""  # what was repaired or cut on the way


# parsing -------------------------------------------------------------------------------------

# Bump when what parse_feed makes of the same bytes changes: cached parses are then redone.
PARSER_VERSION = 3
# Sentinel for "the feed gave no date"; gather replaces it with the time it first saw it.
UNDATED = datetime.min.replace(tzinfo=UTC)


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
        # No content-location: feedparser would resolve every URL in the feed against it, at
        # a third of its time; the links we keep are resolved in _url().
        response_headers={"content-type": _DEFUSED_TYPE},
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
    language = _text(parsed.feed.get("language"))
    entries = [_from_feedparser(item, source, base_url, now, language) for item in parsed.entries]
    notes = list(defused.changes)
    if problem is not None:
        notes.insert(0, f"malformed, read anyway ({detail or type(problem).__name__})")
    return _finished(entries, source, notes)


def _finished(entries: list[Entry | None], source: FeedSource, notes: list[str]) -> Parsed:
    """The feed's entries, empty ones skipped and counted, each with an id of its own."""
    kept = [entry for entry in entries if entry is not None]
    if empty := len(entries) - len(kept):
        notes.append(f"skipped {count(empty, 'entry', 'entries')} with no title, link or text")
    return Parsed(distinct_ids(kept, source.url), "; ".join(notes))


def _from_feedparser(
    item: Any, source: FeedSource, base_url: str, now: datetime, language: str = ""
) -> Entry | None:
    link = _url(item.get("link"), base_url)
    details = [*item.get("content", []), item.get("summary_detail"), item.get("title_detail")]
    declared = [_text(d.get("language")) for d in details if isinstance(d, dict)]
    return _entry(
        source,
        guid=_guid(item.get("id")),
        link=link,
        title=_text(item.get("title")),
        published=_struct_date(item.get("published_parsed") or item.get("updated_parsed")),
        author=_text(item.get("author")),
        content=_best_content(item),
        base_url=link or base_url,
        image=_feedparser_image(item, link or base_url),
        now=now,
        language=next((d for d in declared if d), language),
    )


def _struct_date(struct: Any) -> datetime:
    try:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC) if struct else UNDATED
    except (OverflowError, OSError, ValueError, TypeError):  # year 99999, garbage
        return UNDATED


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
    if not JSON_FEED_VERSION.match(_text(version)):
        raise FeedError(source.name, "JSON but not a JSON Feed (no jsonfeed.org version)")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedError(source.name, "JSON Feed without an items list")
    feed_url = _url(document.get("home_page_url"), base_url) or base_url
    language = _text(document.get("language"))
    entries = [
        _from_json_item(i, source, feed_url, now, language)
        for i in items[:MAX_ENTRIES]
        if isinstance(i, dict)
    ]
    cut = f"kept the first {MAX_ENTRIES:,} of {len(items):,} entries"
    return _finished(entries, source, [cut] if len(items) > MAX_ENTRIES else [])


def _from_json_item(
    item: dict[str, Any], source: FeedSource, base_url: str, now: datetime, language: str = ""
) -> Entry | None:
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
        guid=_guid(item.get("id")),
        link=link,
        title=_text(item.get("title")),
        published=_iso_date(item.get("date_published") or item.get("date_modified")),
        author=", ".join(n for n in names if n),
        content=content,
        base_url=link or base_url,
        image=_image_url(item.get("image") or item.get("banner_image"), base_url) or None,
        now=now,
        language=_text(item.get("language")) or language,
    )


def _guid(value: object) -> str:
    """An entry id as text, capped (JSON Feeds sometimes write numbers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(value)[:MAX_URL]


def _paragraphs_as_html(text: str) -> str:
    blocks = (b.strip() for b in text.replace("\r\n", "\n").split("\n\n"))
    return "".join(f"<p>{html.escape(b)}</p>" for b in blocks if b)


def _iso_date(value: object) -> datetime:
    if not isinstance(value, str) or len(value) > 64:
        return UNDATED
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return UNDATED
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
    language: str = "",
) -> Entry | None:
    """One entry, every field capped and cleaned: what leaves gather is safe to render. None
    for an entry with nothing to show: no title, no link, no text."""
    content_html, text = _content(content[:MAX_CONTENT], base_url)
    title = _capped(tame_long_words(plain_text(title[: MAX_TITLE * 4])), MAX_TITLE)
    if not (title or link or text.strip()):
        return None
    if published is not UNDATED and published > now + FUTURE_SLACK:
        published = UNDATED  # a wrong clock: it would sit on top of every digest till then
    return Entry(
        id=entry_id(source.url, guid, link, title),
        feed=source.name,
        title=title or _first_words(text) or "(untitled)",
        link=link,
        published=published,
        author=_capped(plain_text(author[: MAX_AUTHOR * 4]), MAX_AUTHOR),
        content_html=content_html,
        content_text=text,
        text_chars=len(text),
        image=image,
        guid=guid,
        section=source.section,
        opening=opening(text),
        language=primary(language[:35]),
    )


def _content(content: str, base_url: str) -> tuple[str, str]:
    """The content sanitized, and its text. Markup the feed escaped twice is decoded and
    sanitized once more (it would show as `<p>` tags and `&#160;` entities)."""
    content_html = clean_html(visible(content), base_url)
    text = sanitized_html_to_text(content_html)
    for _ in range(2):
        if not has_escaped_markup(text):
            break
        content_html = clean_html(text, base_url)
        text = sanitized_html_to_text(content_html)
    return content_html, tame_long_words(visible(without_leftover_entities(text)))


def _capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def entry_id(feed_url: str, guid: str, link: str, title: str, text: str = "") -> str:
    """Stable across runs. A GUID or link identifies an entry across feeds too (same id).
    `text` (a digest of it) tells apart posts of one feed that share their link."""
    key = guid or link or f"{feed_url}\n{title}"
    if text and not guid:
        key = f"{key}\n{title}\n{text}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def distinct_ids(entries: list[Entry], feed_url: str) -> list[Entry]:
    """Entries without a GUID that share their link (or, without a link, their title) are
    distinct posts unless their title and text agree too (a podcast feed whose every episode
    links to the show's page, a daily page with one anchor per post): each gets an id of its
    own, from its link, title and text. The same GUID twice is the feed saying the entries are
    one post: those keep their one id."""
    groups: defaultdict[str, list[int]] = defaultdict(list)
    for index, entry in enumerate(entries):
        if not entry.guid:
            groups[entry.id].append(index)
    shared = [indexes for indexes in groups.values() if len(indexes) > 1]
    if not shared:
        return entries
    entries = list(entries)
    for indexes in shared:
        for index in indexes:
            e = entries[index]
            text = text_digest(e.content_text)
            entries[index] = replace(e, id=entry_id(feed_url, "", e.link, e.title, text))
    return entries


def _first_words(text: str, limit: int = 10) -> str:
    words = text.split()
    return " ".join(words[:limit]) + ("…" if len(words) > limit else "")
