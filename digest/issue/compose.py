"""Entries -> a Digest: window, dedupe, caps, summaries, sections. Pure: `now` is passed in.
The window itself is digest/feeds/window.py; canonical URLs are digest/net/urls.py."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from difflib import SequenceMatcher

from digest.feeds.window import in_window
from digest.models import Digest, Entry, FeedReport, Item, Section, Summary
from digest.net.urls import canonical_url

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


def dedupe(entries: Iterable[Entry]) -> list[Entry]:
    """One entry per story: same id (GUID), same canonical URL, or a near-identical title.
    Of duplicates the one with the most text is kept, in the position of the first.

    Each entry's keys are worked out once, and candidates come from indexes (id, GUID, URL,
    title ends), so this stays near-linear: comparing every pair took seconds at a few
    thousand entries."""
    kept: list[_Story] = []
    index: dict[tuple[str, str], list[int]] = {}
    for entry in entries:
        story = _Story.of(entry)
        twin = _first_twin(story, index, kept)
        if twin is None:
            twin = len(kept)
            kept.append(story)
        elif _size(entry) > _size(kept[twin].entry):
            kept[twin] = story
        for key in (*story.exact, *story.near):
            positions = index.setdefault(key, [])
            if not positions or positions[-1] != twin:
                positions.append(twin)
    return [story.entry for story in kept]


def _first_twin(
    story: _Story, index: dict[tuple[str, str], list[int]], kept: list[_Story]
) -> int | None:
    """The first kept story this one repeats. A shared id, GUID, URL or title is a repeat by
    itself; a shared title end only makes a candidate for the near-identical test."""
    exact = min((index[key][0] for key in story.exact if key in index), default=None)
    near = sorted({p for key in story.near for p in index.get(key, ())})
    for position in near:
        if exact is not None and position >= exact:
            break
        if kept[position].title.matches(story.title):
            return position
    return exact


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
    exact: tuple[tuple[str, str], ...]  # keys that make two entries one story
    near: tuple[tuple[str, str], ...]  # keys of stories whose titles may be near-identical

    @classmethod
    def of(cls, entry: Entry) -> _Story:
        title = _Title.of(entry.title)
        exact = [("id", entry.id)]
        if entry.guid:
            exact.append(("guid", entry.guid))
        if entry.link:
            exact.append(("url", canonical_url(entry.link)))
        near: tuple[tuple[str, str], ...] = ()
        if title.key:
            exact.append(("title", title.key))
            near = (("head", title.key[:_TITLE_END]), ("tail", title.key[-_TITLE_END:]))
        return cls(entry, title, tuple(exact), near)

    def same(self, other: _Story) -> bool:
        mine = set(self.exact)
        return any(key in mine for key in other.exact) or self.title.matches(other.title)


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
    words = DIGEST_MINUTES * WORDS_PER_MINUTE - sum(len(e.title.split()) for e in entries)
    return max(1, words // max(1, len(entries)))


def reading_minutes(text: str) -> int:
    return max(1, round(len(text.split()) / WORDS_PER_MINUTE))
