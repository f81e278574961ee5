"""Frozen records that flow between the pipeline stages.

gather -> Entry;  summarize -> Summary;  compose -> Section / Digest;  render -> Rendered;
send -> Issue. Nothing past gather sees a feedparser dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class FeedSource:
    """One configured feed, as gather needs it."""

    name: str
    url: str  # http(s) URL or an absolute local path
    section: str | None = None
    max_entries: int | None = None
    fulltext: str = "auto"  # auto | always | never


@dataclass(frozen=True, slots=True)
class Entry:
    """One article from one feed, normalised. `content_html` is already sanitized."""

    id: str  # stable across runs: derived from the feed's GUID, else its link
    feed: str  # the feed's configured name
    title: str
    link: str  # absolute URL ("" when the feed gives none)
    published: datetime  # tz-aware; the fetch time when the feed gives none
    author: str = ""
    content_html: str = ""
    content_text: str = ""
    image: str | None = None
    guid: str = ""
    section: str | None = None
    dated: bool = True  # False: the feed gave no date; `published` is when digest first saw it
    # Characters of the article text, also while the text itself is not loaded: gather hands
    # on entries without their text (kept in the state database) until one is chosen.
    text_chars: int = 0
    # The text's opening words, normalised (digest/text/fingerprint.py): two feeds' entries
    # with near-identical titles are one story only when these agree too.
    opening: str = ""
    language: str = ""  # ISO 639-1, as the feed declares it ("" when it does not)


class FeedStatus(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not modified"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class FilterDrop:
    """One include / exclude rule that applies to a feed, and how many of its entries it
    dropped (digest/feeds/filters.py)."""

    rule: str
    dropped: int
    for_all_feeds: bool = False  # a top-level rule, not the feed's own


@dataclass(frozen=True, slots=True)
class FeedReport:
    """What happened to one feed in a run, for the run summary and the health panel."""

    name: str
    url: str
    status: FeedStatus
    entries: int = 0
    error: str = ""  # why it failed
    hint: str = ""  # what the user can do about it
    notice: str = ""  # worth saying though it worked: moved, cut short, repaired
    filtered: tuple[
        FilterDrop, ...
    ] = ()  # every include / exclude rule that applies, and its drops
    repeats: int = 0  # entries the feed gave twice (same id), shown once: the newest
    elsewhere: int = 0  # entries shown once, as the same story from another feed

    @property
    def failed(self) -> bool:
        return self.status is FeedStatus.FAILED

    @property
    def dropped(self) -> int:
        return sum(drop.dropped for drop in self.filtered)


_ENDS_A_SENTENCE = tuple(".!?…。！？:;\"'”’»)]")


@dataclass(frozen=True, slots=True)
class Summary:
    sentences: tuple[str, ...]

    @property
    def text(self) -> str:
        """The sentences in a row; one without a final mark (a list item, a heading) is set
        off from the next by a middle dot, so the two do not read as one sentence."""
        parts = [
            s if i == len(self.sentences) - 1 or s.endswith(_ENDS_A_SENTENCE) else s + " ·"
            for i, s in enumerate(self.sentences)
        ]
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Item:
    """An entry as it appears in a digest: with its summary and reading time."""

    entry: Entry
    summary: Summary
    reading_minutes: int


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    title: str
    generated_at: datetime
    period_start: datetime
    period_end: datetime
    sections: tuple[Section, ...]
    feeds: tuple[FeedReport, ...] = ()
    skipped: int = 0  # entries in the window left out by the caps
    language: str = "en"

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)


@dataclass(frozen=True, slots=True)
class Fitting:
    """How the HTML part fitted the size budget: items in full, as title-only lines, and
    left to the "N more stories" link (the text part always has them all)."""

    full: int
    brief: int = 0
    more: int = 0


@dataclass(frozen=True, slots=True)
class Rendered:
    html: str
    text: str
    preheader: str = ""
    fitting: Fitting | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """An article page's own text (paragraphs separated by blank lines) and metadata."""

    text: str
    url: str | None = None
    title: str = ""
    author: str = ""
    date: datetime | None = None  # first published; tz-aware (UTC when the page gives no zone)
    image: str | None = None
    sitename: str = ""
    description: str = ""
    language: str = ""
    paywalled: bool = False  # the page declares or shows a paywall: the text may be a teaser


@dataclass(frozen=True, slots=True)
class Issue:
    """One issue of the digest, as stored in the state database."""

    number: int
    period_start: datetime
    period_end: datetime
    entry_ids: tuple[str, ...]
    subject: str
    html: str
    text: str
    created_at: datetime
    sent_at: datetime | None = None
