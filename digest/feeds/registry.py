"""The configured feeds, managed: list them with their health, add one (from its URL or from a
web page that links it), remove one, import and export OPML, and probe them all (`check`).

Every edit goes through digest/config/edit.py: comments and order kept, validated before it
is written, all or nothing. Listing and checking never fetch into or write the state
database: the listing reads what the last run stored, `check` uses no state at all.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap

from digest.config.edit import Document, editing, load_document
from digest.config.load import load_settings
from digest.config.patterns import compile_pattern
from digest.config.settings import FeedConfig, Settings
from digest.errors import ConfigError, FeedError
from digest.feeds.discover import FeedLink, feed_facts, feed_links, looks_like_html
from digest.feeds.gather import filtered, gather_cached, probe
from digest.feeds.opml import OpmlFeed, parse_opml, to_opml
from digest.feeds.parse import parse_feed
from digest.feeds.window import in_window, window
from digest.models import FeedReport, FeedSource, FilterDrop
from digest.net.http import DownloadError, HttpOptions, client_for, download
from digest.net.urls import canonical_url
from digest.state import FeedRecord, State
from digest.text.plural import count

# listing ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedRow:
    name: str
    section: str | None
    url: str  # as the config writes it
    record: FeedRecord | None  # what the state database knows (None: never fetched)
    in_window: int | None  # entries in the window after the filters; None: none to count
    filtered: tuple[FilterDrop, ...] = ()
    problem: str = ""  # why there is nothing to count


@dataclass(frozen=True, slots=True)
class Listing:
    rows: tuple[FeedRow, ...]
    start: datetime
    end: datetime


def list_feeds(settings: Settings, now: datetime) -> Listing:
    """Every feed with its last status, last success, move or retirement, and the entries of
    its last fetched body (local files: read now) that fall in the window, filters applied."""
    sources = settings.feed_sources()
    with _reading(settings) as state:
        records = state.feed_records()
        gathered = filtered(gather_cached(sources, state, _options(settings), now), settings, state)
    start, end = window(settings, gathered.entries, now)
    counts = Counter(e.feed for e in gathered.entries if in_window(e.published, start, end))
    rows = []
    for feed, source, report in zip(settings.feeds, sources, gathered.reports, strict=True):
        failed = report.status == "failed"
        rows.append(
            FeedRow(
                name=feed.name,
                section=feed.section,
                url=feed.url,
                record=records.get(source.url),
                in_window=None if failed else counts.get(feed.name, 0),
                filtered=report.filtered,
                problem=report.error if failed else "",
            )
        )
    return Listing(tuple(rows), start, end)


@contextmanager
def _reading(settings: Settings) -> Iterator[State]:
    """The state database if there is one; else an empty one in memory (no file is made)."""
    state = State.open(Path(":memory:") if _no_state(settings) else settings.database)
    try:
        yield state
    finally:
        state.close()


# adding ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Found:
    """A feed found for a URL: the feed itself, or one a web page links."""

    url: str  # what goes in the config
    kind: str  # "RSS 2.0", "Atom 1.0", "JSON Feed 1.1"
    title: str
    entries: int
    page: str | None = None  # the web page it was found on
    picked: FeedLink | None = None
    others: tuple[FeedLink, ...] = ()  # the page's other feeds, not picked


@dataclass(frozen=True, slots=True)
class Added:
    name: str
    section: str | None
    found: Found
    forgotten: FeedRecord | None = None  # a retirement or move of this URL, now cleared


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the user asked `feeds add` for besides the URL."""

    name: str | None = None
    section: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def add_feed(config: Path, url: str, wanted: Wanted, client: httpx.Client | None = None) -> Added:
    """Find the feed behind `url` and add it to the config. ConfigError (nothing written)
    when it is no feed and no page linking one, already configured, or the options are bad."""
    settings = load_settings(config)  # a config that does not load is not edited
    for option, patterns in (("--include", wanted.include), ("--exclude", wanted.exclude)):
        _check_patterns(option, patterns)
    url = url.strip()
    given = url if urlsplit(url).scheme in ("http", "https") else str(Path(url).resolve())
    _refuse_duplicate(load_document(config), settings, given)  # before anything is fetched
    found = find_feed(url, settings, client)
    with editing(config) as document:
        _refuse_duplicate(document, settings, found.url)
        name = wanted.name or _unique_name(found.title or _host(found.url), document)
        _refuse_taken_name(document, name)
        entry = _entry(name, found.url, wanted.section, wanted.include, wanted.exclude)
        document.append_feed(entry)
    source = FeedSource(name, _source_url(settings, found.url))
    return Added(name, wanted.section, found, _forget(settings, source.url))


def find_feed(url: str, settings: Settings, client: httpx.Client | None = None) -> Found:
    """The feed at `url`, or the first readable feed the page at `url` links."""
    if urlsplit(url).scheme not in ("http", "https"):
        return _local_feed(url, settings)
    options = _options(settings)
    with client_for(client, options) as http:
        body, final_url, content_type = _get(http, url, options, trusted=url)
        problem, found = _as_feed(body, url, final_url)
        if found is not None:
            return found
        if not looks_like_html(body, content_type):
            raise ConfigError(f"{url}: not a feed ({problem}) and not a web page")
        links = feed_links(body, final_url)
        if not links:
            raise ConfigError(
                f'{url}: a web page that links no feed (no <link rel="alternate"> of type '
                "RSS, Atom or JSON Feed); give the feed's own URL"
            )
        return _first_readable(http, url, links, options)


def _first_readable(
    http: httpx.Client, page: str, links: list[FeedLink], options: HttpOptions
) -> Found:
    failures: list[str] = []
    for link in links:
        try:
            # a link from the page: it may reach a private address only on the page's origin
            body, final_url, _ = _get(http, link.url, options, trusted=page)
        except ConfigError as exc:
            failures.append(str(exc))
            continue
        problem, found = _as_feed(body, link.url, final_url)
        if found is not None:
            others = tuple(other for other in links if other is not link)
            title = found.title or link.title
            return replace(found, title=title, page=page, picked=link, others=others)
        failures.append(f"{link.url}: {problem}")
    raise ConfigError(
        f"{page}: the page links {count(len(links), 'feed')}, none readable: " + "; ".join(failures)
    )


def _as_feed(body: bytes, url: str, final_url: str) -> tuple[str, Found | None]:
    """(why it is not a feed, None) or ("", the feed)."""
    try:
        parsed = parse_feed(body, FeedSource(url, url), final_url)
    except FeedError as exc:
        return exc.reason, None
    kind, title = feed_facts(body)
    return "", Found(url, kind, title, len(parsed.entries))


def _local_feed(path_text: str, settings: Settings) -> Found:
    path = Path(path_text).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"{path_text}: neither an http(s) URL nor a file")
    options = _options(settings)
    if path.stat().st_size > options.max_bytes:
        raise ConfigError(f"{path_text}: larger than {options.max_bytes:,} bytes")
    problem, found = _as_feed(path.read_bytes(), str(path), path.as_uri())
    if found is None:
        raise ConfigError(f"{path_text}: not a feed ({problem})")
    written = os.path.relpath(path, settings.base_dir)
    stored = written if not written.startswith("..") else str(path)
    return Found(stored, found.kind, found.title, found.entries)


def _get(
    http: httpx.Client, url: str, options: HttpOptions, trusted: str
) -> tuple[bytes, str, str]:
    """GET `url`; `trusted` is the URL the user typed (see digest/net/http.py)."""
    try:
        got = download(http, url, options, trusted=trusted)
    except DownloadError as exc:
        raise ConfigError(f"{url}: {exc}") from None
    return got.body, got.url, got.content_type


def _check_patterns(option: str, patterns: Sequence[str]) -> None:
    for pattern in patterns:
        try:
            compile_pattern(pattern)
        except ValueError as exc:
            raise ConfigError(f"{option} {pattern!r}: {exc}") from None


def _entry(
    name: str,
    url: str,
    section: str | None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    extras: dict[str, Any] | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "url": url}
    if section:
        entry["section"] = section
    entry.update(extras or {})
    if include:
        entry["include"] = list(include)
    if exclude:
        entry["exclude"] = list(exclude)
    return entry


def _forget(settings: Settings, url: str) -> FeedRecord | None:
    """A fresh start for a URL added again: its retirement (410) or move is forgotten."""
    if _no_state(settings):
        return None
    with State.open(settings.database) as state:
        record = state.feed_records().get(url)
        if record is not None:
            state.forget_feed(url)
    return record if record and (record.retired_at or record.moved_to) else None


def _no_state(settings: Settings) -> bool:
    """No state kept yet: the SQLite file does not exist (a database URL always exists)."""
    return settings.database_url is None and not settings.state_path.exists()


# duplicates and names -------------------------------------------------------------------------


def _configured(document: Document) -> list[tuple[int, str, str]]:
    """(line, name, url) of each feed in the document."""
    rows = []
    for item in document.feeds():
        if isinstance(item, CommentedMap):
            line = item.lc.line + 1 if item.lc.line is not None else 0  # 0: added in this edit
            rows.append((line, str(item.get("name", "")), str(item.get("url", ""))))
    return rows


def _refuse_duplicate(document: Document, settings: Settings, url: str) -> None:
    for line, name, configured in _configured(document):
        if same_feed(settings, configured, url):
            raise ConfigError(
                f"{document.path}:{line}: {url} is already a feed, as {name!r}; nothing changed"
            )


def _refuse_taken_name(document: Document, name: str) -> None:
    for line, existing, _ in _configured(document):
        if existing.casefold() == name.casefold():
            raise ConfigError(
                f"{document.path}:{line}: a feed is already named {existing!r}; "
                "choose another with --name"
            )


def same_feed(settings: Settings, a: str, b: str) -> bool:
    """Two configured URLs name the same feed: the same page by canonical URL, or one file."""
    web = [urlsplit(u).scheme in ("http", "https") for u in (a, b)]
    if all(web):
        return canonical_url(a) == canonical_url(b)
    if any(web):
        return False
    return settings.path(Path(a)) == settings.path(Path(b))


def _unique_name(wanted: str, document: Document, extra: set[str] | None = None) -> str:
    taken = {name.casefold() for _, name, _ in _configured(document)} | (extra or set())
    name, number = wanted, 2
    while name.casefold() in taken:
        name, number = f"{wanted} ({number})", number + 1
    return name


def _host(url: str) -> str:
    return urlsplit(url).hostname or Path(url).stem or url


def _source_url(settings: Settings, url: str) -> str:
    web = urlsplit(url).scheme in ("http", "https")
    return url if web else str(settings.path(Path(url)))


# removing -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Removed:
    name: str
    url: str
    line: int


def remove_feed(config: Path, target: str) -> Removed:
    """Remove the feed named `target` (any case) or at the URL or path `target`."""
    settings = load_settings(config)
    with editing(config) as document:
        rows = _configured(document)
        matches = [
            index
            for index, (_, name, url) in enumerate(rows)
            if name.casefold() == target.strip().casefold() or same_feed(settings, url, target)
        ]
        if not matches:
            raise ConfigError(f"{config}: no feed is named {target!r} or has that URL")
        if len(matches) > 1:
            names = ", ".join(repr(rows[i][1]) for i in matches)
            raise ConfigError(f"{config}: {target!r} matches {names}; give the feed's URL")
        line, name, url = rows[matches[0]]
        if len(rows) == 1:
            raise ConfigError(
                f"{config}:{line}: {name!r} is the only feed; add another before removing it"
            )
        document.remove_feed(matches[0])
    return Removed(name, url, line)


# OPML ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Imported:
    added: tuple[OpmlFeed, ...]
    duplicates: tuple[tuple[OpmlFeed, str], ...]  # (the outline, the feed it repeats)
    unusable: tuple[tuple[OpmlFeed, str], ...] = field(default=())  # (the outline, why)

    @property
    def sections(self) -> list[str]:
        return list(dict.fromkeys(f.section for f in self.added if f.section))


def import_opml(config: Path, opml: Path) -> Imported:
    """Add every feed of an OPML file that is not configured yet (nor repeated in the file).
    Outlines digest cannot use are skipped with the reason; the rest go in as one edit."""
    settings = load_settings(config)
    try:
        data = opml.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{opml}: cannot read: {exc.strerror}") from None
    outlines = parse_opml(data, str(opml))
    added: list[OpmlFeed] = []
    duplicates: list[tuple[OpmlFeed, str]] = []
    unusable: list[tuple[OpmlFeed, str]] = []
    with editing(config) as document:
        known = [(name, url) for _, name, url in _configured(document)]
        for outline in outlines:
            repeated = next((n for n, u in known if same_feed(settings, u, outline.url)), None)
            if repeated is not None:
                duplicates.append((outline, repeated))
                continue
            name = _unique_name(outline.name, document)
            entry = _entry(name, outline.url, outline.section, extras=outline.extras)
            problem = _unusable(settings, entry)
            if problem:
                unusable.append((outline, problem))
                continue
            document.append_feed(entry)
            known.append((name, outline.url))
            added.append(OpmlFeed(name, outline.url, outline.section, outline.extras))
    return Imported(tuple(added), tuple(duplicates), tuple(unusable))


def _unusable(settings: Settings, entry: dict[str, Any]) -> str:
    """Why a feed from an OPML file cannot go in the config ("" when it can)."""
    url = entry["url"]
    web = urlsplit(url).scheme in ("http", "https")
    if not web and ("://" in url or not settings.path(Path(url)).is_file()):
        return "not an http(s) URL or a file beside the config"
    try:
        FeedConfig.model_validate(entry)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        return f"{key}: {error['msg'].removeprefix('Value error, ')}"
    return ""


def export_opml(settings: Settings, now: datetime) -> str:
    feeds = [
        OpmlFeed(
            feed.name,
            feed.url,
            feed.section,
            {
                "max_entries": feed.max_entries,
                "fulltext": feed.fulltext,
                "include": list(feed.include),
                "exclude": list(feed.exclude),
            },
        )
        for feed in settings.feeds
    ]
    return to_opml(settings.title, feeds, now)


# check --------------------------------------------------------------------------------------


def check_feeds(settings: Settings, client: httpx.Client | None = None) -> list[FeedReport]:
    """Every feed fetched and parsed now, concurrently, in config order; no state is read or
    written and nothing is built."""
    options = _options(settings)
    sources = settings.feed_sources()
    with client_for(client, options) as http, ThreadPoolExecutor(options.concurrency) as pool:
        return list(pool.map(lambda source: probe(source, http, options), sources))


def _options(settings: Settings) -> HttpOptions:
    return settings.http.options()
