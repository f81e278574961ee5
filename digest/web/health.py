"""The preview's health panel: each feed's status, the entries it had, took and skipped, what
each include / exclude rule dropped, and the email's size against Gmail's clip."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from digest.issue.render import GMAIL_CLIP_BYTES
from digest.models import FilterDrop, Fitting
from digest.web.preview import Snapshot


@dataclass(frozen=True, slots=True)
class FeedHealth:
    name: str
    url: str
    status: str
    error: str
    entries: int
    taken: int
    hint: str = ""
    notice: str = ""
    filtered: tuple[FilterDrop, ...] = ()  # the include / exclude rules and what each dropped

    @property
    def skipped(self) -> int:
        """Out of the window, sent before, or over a cap (the filters' drops are apart)."""
        dropped = sum(drop.dropped for drop in self.filtered)
        return max(0, self.entries - dropped - self.taken)

    @property
    def css(self) -> str:
        return {"ok": "ok", "not modified": "ok"}.get(self.status, "bad")


@dataclass(frozen=True, slots=True)
class Health:
    html_bytes: int
    text_bytes: int
    full: int
    brief: int
    more: int
    taken: int
    capped: int
    feeds: tuple[FeedHealth, ...]
    clip_bytes: int = GMAIL_CLIP_BYTES

    @property
    def clipped(self) -> bool:
        return self.html_bytes > self.clip_bytes


def health_of(snapshot: Snapshot) -> Health:
    """Each feed's status, entries taken and skipped; the email's size against Gmail's clip."""
    assert snapshot.built is not None
    digest, rendered = snapshot.built.digest, snapshot.built.rendered
    taken: dict[str, int] = {}
    for item in digest.items:
        taken[item.entry.feed] = taken.get(item.entry.feed, 0) + 1
    feeds = tuple(
        FeedHealth(
            r.name,
            _as_written(r.url, snapshot),
            str(r.status),
            r.error,
            r.entries,
            taken.get(r.name, 0),
            r.hint,
            r.notice,
            r.filtered,
        )
        for r in digest.feeds
    )
    count = len(digest.items)
    fitting = rendered.fitting or Fitting(count)
    return Health(
        html_bytes=len(snapshot.html.encode("utf-8")),
        text_bytes=len(snapshot.text.encode("utf-8")),
        full=fitting.full,
        brief=fitting.brief,
        more=fitting.more,
        taken=count,
        capped=digest.skipped,
        feeds=feeds,
    )


def _as_written(url: str, snapshot: Snapshot) -> str:
    """A local feed as the config names it (relative to its folder), a URL as it is."""
    if snapshot.settings is None or not url.startswith("/"):
        return url
    try:
        return str(Path(url).relative_to(snapshot.settings.base_dir))
    except ValueError:
        return url
