"""Include / exclude filters on entries. Pure: entries and patterns in, entries and counts out.

A pattern is a word or phrase, matched as whole words (`sponsored`, `C++`, `climate change`),
or a regular expression between slashes (`/\\bAI\\b/`). Both match the entry's title and text,
in any case. The filters for all feeds apply first, then the feed's own; at each level an
entry is dropped when an `include` list is set and it matches none of it, or when it matches
an `exclude` pattern. Each drop is counted against the rule that made it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from digest.config.patterns import compile_pattern
from digest.config.settings import Settings
from digest.models import Entry

ALL_FEEDS = "all feeds"
MATCHED_CHARACTERS = 200_000  # a pattern never scans more of one entry than this


@dataclass(frozen=True, slots=True)
class FilterSet:
    """The include and exclude patterns of one level: all feeds, or one feed."""

    scope: str  # ALL_FEEDS or the feed's name
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    compiled: dict[str, re.Pattern[str]] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        for pattern in (*self.include, *self.exclude):
            self.compiled[pattern] = compile_pattern(pattern)

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def rules(self) -> list[str]:
        """The rules this level adds, as shown in counts: one include list, each exclude."""
        rules = [self._include_rule()] if self.include else []
        return rules + [self._exclude_rule(pattern) for pattern in self.exclude]

    def dropping_rule(self, text: str) -> str | None:
        """The rule that drops an entry with this text, or None when it stays."""
        if self.include and not any(self.compiled[p].search(text) for p in self.include):
            return self._include_rule()
        for pattern in self.exclude:
            if self.compiled[pattern].search(text):
                return self._exclude_rule(pattern)
        return None

    def _include_rule(self) -> str:
        return f"include {', '.join(self.include)}{self._where}"

    def _exclude_rule(self, pattern: str) -> str:
        return f"exclude {pattern}{self._where}"

    @property
    def _where(self) -> str:
        return " (all feeds)" if self.scope == ALL_FEEDS else ""


@dataclass(frozen=True, slots=True)
class Filtered:
    kept: tuple[Entry, ...]
    dropped: dict[str, dict[str, int]]  # feed name -> rule -> entries it dropped


def apply_filters(
    entries: Iterable[Entry], everywhere: FilterSet, per_feed: dict[str, FilterSet]
) -> Filtered:
    """The entries every applicable filter keeps, and per feed how many each rule dropped."""
    kept: list[Entry] = []
    dropped: dict[str, dict[str, int]] = {}
    for entry in entries:
        rule = _dropping_rule(entry, _levels(everywhere, per_feed.get(entry.feed)))
        if rule is None:
            kept.append(entry)
        else:
            counts = dropped.setdefault(entry.feed, {})
            counts[rule] = counts.get(rule, 0) + 1
    return Filtered(tuple(kept), dropped)


def rules_for(everywhere: FilterSet, own: FilterSet | None) -> list[str]:
    """Every rule that applies to one feed, in the order they are checked."""
    return _rules(_levels(everywhere, own))


def _levels(everywhere: FilterSet, own: FilterSet | None) -> list[FilterSet]:
    return [level for level in (everywhere, own) if level]


def _rules(levels: Sequence[FilterSet]) -> list[str]:
    return [rule for level in levels for rule in level.rules()]


def _dropping_rule(entry: Entry, levels: Sequence[FilterSet]) -> str | None:
    if not levels:
        return None
    text = f"{entry.title}\n{entry.content_text}"[:MATCHED_CHARACTERS]
    for level in levels:
        if (rule := level.dropping_rule(text)) is not None:
            return rule
    return None


def filter_sets(settings: Settings) -> tuple[FilterSet, dict[str, FilterSet]]:
    """The config's filters for all feeds, and each feed's own."""
    everywhere = FilterSet(ALL_FEEDS, tuple(settings.include), tuple(settings.exclude))
    own = {f.name: FilterSet(f.name, tuple(f.include), tuple(f.exclude)) for f in settings.feeds}
    return everywhere, own
