"""Entries -> a Digest: window, dedupe, caps, summaries, sections. Pure: `now` is passed in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from digest.models import Digest, Entry, FeedReport, Item, Section, Summary

WORDS_PER_MINUTE = 230
DIGEST_MINUTES = 5  # unless summary_words says otherwise, a whole digest reads in this long
# Query parameters that track the reader, not the page: dropped before comparing links.
TRACKING_PARAMETERS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|ref|ref_src|_hsenc|_hsmi|"
    r"mkt_tok|yclid|cmpid|ncid|sr_share|share)$",
    re.I,
)
NEAR_IDENTICAL_TITLES = 0.92
FUTURE_TOLERANCE = timedelta(hours=1)  # an entry dated a little ahead (a skewed clock) counts


@dataclass(frozen=True, slots=True)
class Plan:
    """What to put in one digest: the rules, read from Settings by the pipeline."""

    title: str
    since: datetime
    now: datetime
    max_entries: int
    per_feed: dict[str, int]  # feed name -> cap
    feed_order: Sequence[str]  # feed names in config order
    group_by_section: bool = True
    language: str = "en"
    generated_at: datetime | None = None  # when the digest is made; default: `now`


def compose(
    entries: Iterable[Entry],
    reports: Sequence[FeedReport],
    plan: Plan,
    summarize: Callable[[Entry], Summary],
) -> Digest:
    return assemble(select(entries, plan), reports, plan, summarize)


@dataclass(frozen=True, slots=True)
class Selection:
    chosen: tuple[Entry, ...]
    skipped: int  # in the window and unique, but over a cap


def select(entries: Iterable[Entry], plan: Plan) -> Selection:
    """The entries that go in: in the window, one per story, within the caps, newest first."""
    unique = dedupe(e for e in entries if in_window(e.published, plan.since, plan.now))
    chosen = _apply_caps(unique, plan)
    return Selection(tuple(chosen), len(unique) - len(chosen))


def assemble(
    selection: Selection,
    reports: Sequence[FeedReport],
    plan: Plan,
    summarize: Callable[[Entry], Summary],
) -> Digest:
    """Summaries, reading times and sections around the chosen entries."""
    items = [Item(e, summarize(e), reading_minutes(e.content_text)) for e in selection.chosen]
    return Digest(
        title=plan.title,
        generated_at=plan.generated_at or plan.now,
        period_start=plan.since,
        period_end=plan.now,
        sections=_sections(items, plan),
        feeds=tuple(reports),
        skipped=selection.skipped,
        language=plan.language,
    )


def in_window(published: datetime, since: datetime, end: datetime) -> bool:
    return since <= published <= end + FUTURE_TOLERANCE


def window_end(entries: Iterable[Entry], now: datetime, anchor: str) -> datetime:
    """Where the window ends. `now`; or, anchored at the newest entry, that entry's date (never
    after now): feeds that have gone quiet still give their last stories, with their own dates,
    and a feed set that is busy gives the same window as `now`."""
    if anchor != "newest":
        return now
    dates = [e.published for e in entries if e.published <= now + FUTURE_TOLERANCE]
    return min(max(dates, default=now), now)


def dedupe(entries: Iterable[Entry]) -> list[Entry]:
    """One entry per story: same id (GUID), same canonical URL, or a near-identical title.
    Of duplicates the one with the most text is kept, in the position of the first.

    Candidates come from indexes (id, GUID, URL, title ends), so this stays near-linear in
    the number of entries: comparing every pair took seconds at a few thousand entries."""
    kept: list[Entry] = []
    index = _StoryIndex()
    for entry in entries:
        keys = _story_keys(entry)
        twin = index.first_match(entry, keys, kept)
        if twin is None:
            twin = len(kept)
            kept.append(entry)
        elif len(entry.content_text) > len(kept[twin].content_text):
            kept[twin] = entry
        index.add(keys, twin)
    return kept


_TITLE_END = 10  # near-identical titles share their first or their last characters


def _story_keys(entry: Entry) -> list[tuple[str, str]]:
    keys = [("id", entry.id)]
    if entry.guid:
        keys.append(("guid", entry.guid))
    if entry.link:
        keys.append(("url", canonical_url(entry.link)))
    title = _title_key(entry.title)
    if title:
        keys += [("head", title[:_TITLE_END]), ("tail", title[-_TITLE_END:])]
    return keys


class _StoryIndex:
    def __init__(self) -> None:
        self._positions: dict[tuple[str, str], list[int]] = {}

    def add(self, keys: list[tuple[str, str]], position: int) -> None:
        for key in keys:
            positions = self._positions.setdefault(key, [])
            if position not in positions:
                positions.append(position)

    def first_match(
        self, entry: Entry, keys: list[tuple[str, str]], kept: list[Entry]
    ) -> int | None:
        candidates = sorted({p for key in keys for p in self._positions.get(key, ())})
        return next((p for p in candidates if same_story(kept[p], entry)), None)


def same_story(a: Entry, b: Entry) -> bool:
    if a.id == b.id or (a.guid and a.guid == b.guid):
        return True
    if a.link and b.link and canonical_url(a.link) == canonical_url(b.link):
        return True
    return titles_match(a.title, b.title)


def canonical_url(url: str) -> str:
    """Scheme, `www.`, fragment, tracking parameters and trailing slash do not make a new page."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not TRACKING_PARAMETERS.match(k)
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", host, path, urlencode(query), ""))


def titles_match(a: str, b: str) -> bool:
    left, right = _title_key(a), _title_key(b)
    if re.findall(r"\d+", left) != re.findall(r"\d+", right):  # "Week 45" is not "Week 46"
        return False
    if len(left) < 12 or len(right) < 12:  # "Update", "Weekly links": too short to judge
        return left == right and bool(left)
    return SequenceMatcher(None, left, right).ratio() >= NEAR_IDENTICAL_TITLES


def _title_key(title: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", title.casefold()).split())


def _apply_caps(entries: list[Entry], plan: Plan) -> list[Entry]:
    """Newest first, but in rounds: every feed's newest entry, then every feed's second
    newest, and so on, until the digest is full. One feed that floods (a thousand entries
    at once, or undated ones that all look new on a first run) cannot crowd out the rest."""
    by_feed: dict[str, list[Entry]] = {}
    for entry in sorted(entries, key=lambda e: e.published, reverse=True):
        by_feed.setdefault(entry.feed, []).append(entry)
    for feed, queue in by_feed.items():
        cap = plan.per_feed.get(feed)
        if cap is not None:
            del queue[cap:]
    chosen: list[Entry] = []
    depth = 0
    while len(chosen) < plan.max_entries:
        layer = [queue[depth] for queue in by_feed.values() if depth < len(queue)]
        if not layer:
            break
        layer.sort(key=lambda e: e.published, reverse=True)
        chosen += layer[: plan.max_entries - len(chosen)]
        depth += 1
    return sorted(chosen, key=lambda e: e.published, reverse=True)


def _sections(items: list[Item], plan: Plan) -> tuple[Section, ...]:
    if not plan.group_by_section:
        return (Section("", tuple(items)),) if items else ()
    order = {name: index for index, name in enumerate(plan.feed_order)}
    groups: dict[str, list[Item]] = {}
    first_feed: dict[str, int] = {}
    for item in items:
        title = item.entry.section or item.entry.feed
        groups.setdefault(title, []).append(item)
        rank = order.get(item.entry.feed, len(order))
        first_feed[title] = min(first_feed.get(title, rank), rank)
    ordered = sorted(groups, key=lambda title: first_feed[title])
    return tuple(Section(title, tuple(groups[title])) for title in ordered)


def summary_budget(entries: Sequence[Entry]) -> int:
    """Words per summary for the entries' titles and summaries to read in DIGEST_MINUTES."""
    words = DIGEST_MINUTES * WORDS_PER_MINUTE - sum(len(e.title.split()) for e in entries)
    return max(1, words // max(1, len(entries)))


def reading_minutes(text: str) -> int:
    return max(1, round(len(text.split()) / WORDS_PER_MINUTE))
