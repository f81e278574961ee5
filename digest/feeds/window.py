"""The period a digest covers: `window_days` up to its end, which is now or, with
`window_anchor: newest`, the newest entry the feeds have. Pure: `now` is passed in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from digest.config.settings import Settings
from digest.models import Entry

FUTURE_TOLERANCE = timedelta(hours=1)  # an entry dated a little ahead (a skewed clock) counts


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


def window(
    settings: Settings, entries: Iterable[Entry], now: datetime, since: datetime | None = None
) -> tuple[datetime, datetime]:
    """The period a digest covers: `window_days` up to its end (now, or the newest entry with
    `window_anchor: newest`), or from `since` (where the last issue ended) to its end."""
    end = window_end(entries, now, settings.window_anchor)
    if since is not None:
        return since, max(end, since)
    return end - timedelta(days=settings.window_days), end
