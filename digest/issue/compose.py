"""Entries -> a Digest: window, dedupe, caps, summaries, sections. Pure: `now` is passed in.
The window itself is digest/feeds/window.py; canonical URLs are digest/net/urls.py."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from difflib import SequenceMatcher

from digest.feeds.window import in_window
from digest.models import Digest, Entry, FeedReport, Item, Section, Summary
from digest.net.urls import canonical_url
from digest.text.fingerprint import opening
from digest.text.reading import reading_words

WORDS_PER_MINUTE = 230
DIGEST_MINUTES = 5  # unless summary_words says otherwise, a whole digest reads in this long
NEAR_IDENTICAL_TITLES = 0.92


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
    repeats: Counter[str] = field(default_factory=Counter)  # per feed: see Deduped
    elsewhere: Counter[str] = field(default_factory=Counter)


def select(entries: Iterable[Entry], plan: Plan) -> Selection:
    """The entries that go in: in the window, one per story, within the caps, newest first."""
    unique = deduplicated(e for e in entries if in_window(e.published, plan.since, plan.now))
    chosen = _apply_caps(unique.entries, plan)
    skipped = len(unique.entries) - len(chosen)
    return Selection(tuple(chosen), skipped, unique.repeats, unique.elsewhere)


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
        feeds=tuple(_with_repeats(r, selection) for r in reports),
        skipped=selection.skipped,
        language=plan.language,
    )


def _with_repeats(report: FeedReport, selection: Selection) -> FeedReport:
    repeats, elsewhere = selection.repeats[report.name], selection.elsewhere[report.name]
    if not (repeats or elsewhere):
        return report
    return replace(report, repeats=repeats, elsewhere=elsewhere)


def dedupe(entries: Iterable[Entry]) -> list[Entry]:
    """One entry per story (see `deduplicated`)."""
    return deduplicated(entries).entries


@dataclass(frozen=True, slots=True)
class Deduped:
    entries: list[Entry]
    repeats: Counter[str]  # feed -> entries it gave more than once (same id)
    elsewhere: Counter[str]  # feed -> its entries shown as another feed's entry


def deduplicated(entries: Iterable[Entry]) -> Deduped:
    """One entry per story. Within one feed, two entries are one post only when the feed says
    so: the same id (the same GUID, or the same link, title and text; see
    digest/feeds/parse.py). Across feeds, the same article is also the same canonical URL, or
    a near-identical title over the same opening words. Of repeats the newest is kept (the
    fullest, when they are as new), in the position of the first.

    Each entry's keys are worked out once, and candidates come from indexes (id, URL, title
    ends), so this stays near-linear: comparing every pair took seconds at a few thousand
    entries."""
    kept: list[_Story] = []
    feeds: list[set[str]] = []  # the feeds each kept story was seen in
    index: dict[tuple[str, str], list[int]] = {}
    repeats: Counter[str] = Counter()
    elsewhere: Counter[str] = Counter()
    for entry in entries:
        story = _Story.of(entry)
        twin = _first_twin(story, index, kept, feeds)
        if twin is None:
            twin = len(kept)
            kept.append(story)
            feeds.append({entry.feed})
        else:
            shown = kept[twin].entry
            newer = _newer(entry, shown)
            if entry.feed in feeds[twin]:  # only an id joins a story its feed is already in
                repeats[entry.feed] += 1
            else:
                elsewhere[shown.feed if newer else entry.feed] += 1
            if newer:
                kept[twin] = story
            feeds[twin].add(entry.feed)
        for key in (*story.ids, *story.across, *story.near):
            positions = index.setdefault(key, [])
            if not positions or positions[-1] != twin:
                positions.append(twin)
    return Deduped([story.entry for story in kept], repeats, elsewhere)


def _first_twin(
    story: _Story,
    index: dict[tuple[str, str], list[int]],
    kept: list[_Story],
    feeds: list[set[str]],
) -> int | None:
    """The first kept story this one repeats. A shared id is a repeat by itself; a shared
    URL or title over the same opening only across feeds; a shared title end only makes a
    candidate for the near-identical test."""
    feed = story.entry.feed
    found = [index[key][0] for key in story.ids if key in index]
    for key in story.across:
        found += [p for p in index.get(key, ()) if feed not in feeds[p]][:1]
    first = min(found, default=None)
    for key in story.near:
        for position in index.get(key, ()):
            if first is not None and position >= first:
                break
            if feed not in feeds[position] and story.repeats_across(kept[position]):
                first = position
                break
    return first


def _newer(entry: Entry, than: Entry) -> bool:
    """The newer version; as new, the fuller one."""
    if entry.published != than.published:
        return entry.published > than.published
    return _size(entry) > _size(than)


def _size(entry: Entry) -> int:
    """The text's length, also when the text is not loaded (see gather.hydrate)."""
    return max(entry.text_chars, len(entry.content_text))


_TITLE_END = 10  # near-identical titles share their first or their last characters
_NUMBERS = re.compile(r"\d+")
_PUNCTUATION = re.compile(r"[^\w\s]")


@dataclass(frozen=True, slots=True)
class _Title:
    key: str  # case-folded, punctuation gone, spaces folded
    numbers: tuple[str, ...]

    @classmethod
    def of(cls, title: str) -> _Title:
        key = " ".join(_PUNCTUATION.sub(" ", title.casefold()).split())
        return cls(key, tuple(_NUMBERS.findall(key)))

    def matches(self, other: _Title) -> bool:
        if self.key == other.key:
            return bool(self.key)
        if self.numbers != other.numbers:  # "Week 45" is not "Week 46"
            return False
        if len(self.key) < 12 or len(other.key) < 12:  # "Update": too short to judge
            return False
        matcher = SequenceMatcher(None, self.key, other.key)
        return (  # the quick ratios are upper bounds: most pairs stop there
            matcher.real_quick_ratio() >= NEAR_IDENTICAL_TITLES
            and matcher.quick_ratio() >= NEAR_IDENTICAL_TITLES
            and matcher.ratio() >= NEAR_IDENTICAL_TITLES
        )


@dataclass(frozen=True, slots=True)
class _Story:
    entry: Entry
    title: _Title
    opening: str  # the text's opening words, digested ("" without text)
    ids: tuple[tuple[str, str], ...]  # keys that make two entries one story, in any feeds
    across: tuple[tuple[str, str], ...]  # keys that do so for entries of two feeds
    near: tuple[tuple[str, str], ...]  # keys of stories whose titles may be near-identical

    @classmethod
    def of(cls, entry: Entry) -> _Story:
        title = _Title.of(entry.title)
        text = entry.opening or (opening(entry.content_text) if entry.content_text else "")
        across = [("url", canonical_url(entry.link))] if entry.link else []
        near: tuple[tuple[str, str], ...] = ()
        if title.key:
            across.append(("title", f"{title.key}\n{text}"))
            near = (("head", title.key[:_TITLE_END]), ("tail", title.key[-_TITLE_END:]))
        ids = (("id", entry.id), ("guid", entry.guid)) if entry.guid else (("id", entry.id),)
        return cls(entry, title, text, ids, tuple(across), near)

    def repeats_across(self, other: _Story) -> bool:
        """The same story told by another feed: near-identical title, same opening."""
        return self.opening == other.opening and self.title.matches(other.title)

    def same(self, other: _Story) -> bool:
        if self.entry.id == other.entry.id:
            return True
        if self.entry.feed == other.entry.feed:
            return False
        mine = set(self.across)
        return any(key in mine for key in other.across) or self.repeats_across(other)


def same_story(a: Entry, b: Entry) -> bool:
    return _Story.of(a).same(_Story.of(b))


def titles_match(a: str, b: str) -> bool:
    return _Title.of(a).matches(_Title.of(b))


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


def only_sections(digest: Digest, titles: Iterable[str]) -> Digest:
    """The digest as a reader who chose these sections gets it: their stories only, in the
    same order (a section is a feed's `section`, else its name, as `_sections` groups)."""
    wanted = set(titles)
    sections = [
        Section(s.title, tuple(i for i in s.items if (i.entry.section or i.entry.feed) in wanted))
        for s in digest.sections
    ]
    return replace(digest, sections=tuple(s for s in sections if s.items), skipped=0)


def summary_budget(entries: Sequence[Entry]) -> int:
    """Words per summary for the entries' titles and summaries to read in DIGEST_MINUTES."""
    titles = sum(reading_words(e.title) for e in entries)
    words = int(DIGEST_MINUTES * WORDS_PER_MINUTE - titles)
    return max(1, words // max(1, len(entries)))


def reading_minutes(text: str) -> int:
    """Minutes to read `text`, in any script (digest/text/reading.py)."""
    return max(1, round(reading_words(text) / WORDS_PER_MINUTE))
