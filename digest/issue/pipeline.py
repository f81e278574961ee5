"""The job, top to bottom: gather -> compose (with summaries) -> render. Files are written by the
caller (build, send, preview), which decides what the output is for."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import httpx

from digest.config.settings import Settings
from digest.errors import NothingToBuild
from digest.feeds import fulltext
from digest.feeds.fulltext import PagePolicy
from digest.feeds.gather import Gathered, filtered, gather, hydrate
from digest.feeds.window import window
from digest.issue.compose import Plan, assemble, select, summary_budget
from digest.issue.render import render
from digest.models import Digest, Entry, FeedReport, FeedStatus, Rendered, Summary
from digest.net.http import client_for
from digest.state import State
from digest.text.feed_furniture import post_text
from digest.text.language import guess_language
from digest.text.plural import count
from digest.text.summarize import summarize
from digest.timings import Timings, measured


@dataclass(frozen=True, slots=True)
class Built:
    digest: Digest
    rendered: Rendered

    @property
    def failed(self) -> tuple[FeedReport, ...]:
        return tuple(r for r in self.digest.feeds if r.status is FeedStatus.FAILED)


def build_digest(
    settings: Settings,
    state: State,
    now: datetime,
    since: datetime | None = None,
    client: httpx.Client | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
    already_sent: Callable[[Entry], bool] | None = None,
    allow_empty: bool = False,
    offline: bool = False,
    web_url: str | None = None,
    timings: Timings | None = None,
) -> Built:
    """Gather every feed, keep what falls in the window, summarize, render. Entries for which
    `already_sent` is true are left out before the caps (they went out in an earlier issue).
    `offline` builds from the feed bodies the last run stored, without network (the preview).
    `web_url` is the issue's page in the archive (default: the archive's own URL)."""
    sources = settings.feed_sources()
    options = settings.http.options()
    gathered = gather(
        sources, state, options, now, client, on_feed, offline=offline, timings=timings
    )
    if all(r.failed for r in gathered.reports):
        raise NothingToBuild(_every_feed_failed(gathered.reports), gathered.reports)
    gathered = filtered(gathered, settings, state)
    start, end = window(settings, gathered.entries, now, since)
    plan = Plan(
        title=settings.title,
        since=start,
        now=end,
        max_entries=settings.max_entries,
        per_feed={f.name: f.max_entries for f in settings.feeds if f.max_entries},
        feed_order=[f.name for f in settings.feeds],
        group_by_section=settings.group_by == "section",
        language=settings.language,
        generated_at=now,
    )
    entries = gathered.entries
    if already_sent is not None:  # sent in an earlier issue: left out before the caps
        entries = tuple(entry for entry in entries if not already_sent(entry))
    with measured(timings, "compose"):
        selection = select(entries, plan)
    chosen = hydrate(selection.chosen, state)  # the texts of the chosen entries only
    if any(feed.fulltext != "never" for feed in settings.feeds):
        with measured(timings, "extract"):
            chosen = _with_full_text(chosen, settings, state, now, client, offline)
    with measured(timings, "summarize"):
        selection = replace(selection, chosen=tuple(without_furniture(chosen)))
        summarizer = _summarizer(settings, selection.chosen)
        digest = assemble(selection, gathered.reports, plan, summarizer)
    if not digest.items and not allow_empty:
        raise NothingToBuild(_empty_reason(gathered, plan, since is not None))
    link = settings.web_archive_url if web_url is None else web_url
    with measured(timings, "render"):
        rendered = render(digest, settings.templates_path, settings.zone, link)
    return Built(digest, rendered)


def _with_full_text(
    entries: list[Entry],
    settings: Settings,
    state: State,
    now: datetime,
    client: httpx.Client | None,
    offline: bool = False,
) -> list[Entry]:
    """Teasers swapped for their pages' article text (see fulltext.py)."""
    http = settings.http.options()
    modes = {feed.name: feed.fulltext for feed in settings.feeds}
    policy = PagePolicy(**settings.article_pages.model_dump())
    with client_for(client, http) as pages_client:
        return fulltext.complete(
            entries, modes, state, pages_client, http, policy, now, offline=offline
        )


def _summarizer(settings: Settings, entries: Sequence[Entry]) -> Callable[[Entry], Summary]:
    """Summaries of `summary_sentences` sentences in `summary_words` words; unset, the words
    are the digest's share of a five-minute read (compose.summary_budget)."""
    words = settings.summary_words or summary_budget(entries)

    def summarize_entry(entry: Entry) -> Summary:
        language = entry.language or guess_language(entry.content_text)
        return summarize(
            entry.content_text, entry.title, settings.summary_sentences, words, language
        )

    return summarize_entry


def without_furniture(entries: Iterable[Entry]) -> list[Entry]:
    """The article's own text only: summaries and reading times must not count feed or page
    furniture."""
    return [replace(e, content_text=post_text(e.content_text, e.title)) for e in entries]


def _every_feed_failed(reports: tuple[FeedReport, ...]) -> str:
    if len(reports) == 1:
        return f"every feed failed ({reports[0].name}: {reports[0].error})"
    return f"every feed failed ({len(reports)} feeds, each named above)"


def _empty_reason(gathered: Gathered, plan: Plan, after_last_issue: bool) -> str:
    entries = gathered.entries
    dropped = sum(report.dropped for report in gathered.reports)
    if not entries and dropped:
        return f"the include / exclude filters dropped all {count(dropped, 'entry', 'entries')}"
    if not entries:
        return "the feeds have no entries"
    newest = max(entries, key=lambda e: e.published)
    found = (
        f"no entry published since {plan.since:%Y-%m-%d %H:%M %Z} "
        f"(newest: {newest.published:%Y-%m-%d} in {newest.feed!r})"
    )
    if after_last_issue:  # `since` is where the last issue ended: simply nothing new yet
        return f"{found}: nothing new since the last issue"
    return f"{found}; widen window_days or build --as-of {newest.published:%Y-%m-%d}"
