"""Feeds -> entries: every feed fetched (fetch.py) and parsed (workers.py, parse.py), what
happened recorded in the state database, the config's filters applied.

A parse is kept in the state database (the entries as JSON, their texts compressed apart),
so a feed that answers 304 Not Modified, or sends the same bytes again, costs no parsing.
Entries leave gather without their texts: `hydrate` loads them for the few a digest shows.
Downloads run in threads; with many feeds, the bodies are parsed in worker processes as they
arrive (both cores, the network overlapping the parsing). The state database is written from
the calling thread only.

Per-feed isolation: a feed that fails, in any way, our own bugs and a parse that takes too
long included, becomes a FeedReport with the reason and a hint; the rest go on.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import httpx

from digest.config.settings import Settings
from digest.feeds.fetch import Validators, fetch_guarded, internal_error, read_file
from digest.feeds.filters import apply_filters, filter_sets, rules_for
from digest.feeds.parse import PARSER_VERSION, UNDATED
from digest.feeds.workers import (
    Job,
    Outcome,
    Parsers,
    light_entries,
    needs_parse,
    outcome_of,
    parse_fetched,
)
from digest.models import Entry, FeedReport, FeedSource, FeedStatus, FilterDrop
from digest.net.http import HttpOptions, make_client
from digest.state import FeedCache, FeedRecord, State
from digest.text.plural import count
from digest.timings import Timings

log = logging.getLogger(__name__)

# A feed the server calls fresh (Cache-Control max-age) is not asked again for that long, up
# to this: a static host's max-age of a day must not hide a new post for a day.
MAX_FRESH_SECONDS = 3600.0
WORKERS_FROM = 16  # feeds: with fewer, every body is parsed in this process
STATE_BATCH = 100  # feeds' state written per transaction


@dataclass(frozen=True, slots=True)
class Gathered:
    entries: tuple[Entry, ...]  # without their texts: see `hydrate`
    reports: tuple[FeedReport, ...]


def gather(
    sources: list[FeedSource],
    state: State,
    options: HttpOptions,
    now: datetime,
    client: httpx.Client | None = None,
    on_feed: Callable[[FeedReport], None] | None = None,
    offline: bool = False,
    timings: Timings | None = None,
) -> Gathered:
    """Fetch and parse every feed, concurrently, and record what happened in state.

    `offline` uses what the last run stored instead (local files are read again) and writes
    nothing to state: the preview rebuilds this way on every saved edit. A `client` given by
    the caller keeps everything in this process."""
    if offline:
        return gather_cached(sources, state, options, now, on_feed)
    records = state.feed_records()
    caches = state.feed_caches(PARSER_VERSION)
    jobs = [
        _job(index, s, records.get(s.url), caches.get(s.url)) for index, s in enumerate(sources)
    ]
    outcomes = _outcomes(jobs, client, options, now, timings)
    results: list[tuple[FeedReport, list[Entry]]] = [None] * len(jobs)  # type: ignore[list-item]
    pending: list[Outcome] = []
    for outcome in outcomes:
        source = jobs[outcome.index].source
        try:
            result = _result(outcome, source, caches.get(source.url))
        except Exception as exc:  # a cache row we cannot read (or our bug): this feed only
            log.debug("feed %r: internal error", source.name, exc_info=True)
            result = internal_error(source, exc), []
        results[outcome.index] = result
        pending.append(outcome)
        if len(pending) >= STATE_BATCH:
            _record(pending, jobs, state, now)
        if on_feed:
            on_feed(result[0])
    _record(pending, jobs, state, now)
    entries = [entry for _, feed_entries in results for entry in feed_entries]
    return Gathered(tuple(_date_undated(entries, state, now)), tuple(r for r, _ in results))


def _job(index: int, source: FeedSource, record: FeedRecord | None, cache: FeedCache | None) -> Job:
    validators = Validators(cache.etag, cache.last_modified, cache.body_hash) if cache else None
    return Job(index, source, record, validators)


def _result(
    outcome: Outcome, source: FeedSource, stored: FeedCache | None
) -> tuple[FeedReport, list[Entry]]:
    """The feed's report and its entries (without texts), from the new parse or the cache."""
    if outcome.cache is not None:
        assert outcome.report is not None
        return outcome.report, light_entries(outcome.cache.entries_meta, source)
    if outcome.report is not None:  # failed
        return outcome.report, []
    fetched = outcome.fetched
    if stored is None:  # a 304 with nothing cached: the next run fetches unconditionally
        reason = "the server says not modified, but nothing is cached; fetched in full next run"
        return FeedReport(source.name, source.url, FeedStatus.FAILED, 0, reason), []
    entries = light_entries(stored.entries_meta, source)
    notice = "; ".join(part for part in (fetched.notice, stored.notice) if part)
    return FeedReport(source.name, source.url, fetched.status, len(entries), notice=notice), entries


def _record(pending: list[Outcome], jobs: list[Job], state: State, now: datetime) -> None:
    """What the fetches said, written in one transaction; `pending` is emptied. In the order
    of the feeds' URLs, not of the fetches' ending: processes gathering the same feeds at once
    on PostgreSQL then lock their rows in one order, and none deadlocks another."""
    with state.transaction():
        for outcome in sorted(pending, key=lambda done: jobs[done.index].source.url):
            _write(outcome, jobs[outcome.index].source.url, state, now)
    pending.clear()


def _write(outcome: Outcome, url: str, state: State, now: datetime) -> None:
    fetched = outcome.fetched
    if fetched.http_status == 410:
        state.retire_feed(url, fetched.error, now)
    if fetched.retry_after is not None:
        state.defer_feed(url, now + timedelta(seconds=fetched.retry_after))
    if fetched.moved_to:
        state.record_move(url, fetched.moved_to, now)
    if outcome.cache is not None:
        state.save_parsed_feed(url, outcome.cache, PARSER_VERSION, outcome.texts, now)
    elif outcome.report is not None:
        state.record_feed_status(url, FeedStatus.FAILED, outcome.report.error, now)
    elif fetched.asked:
        state.record_feed_status(url, fetched.status, "", now)
    if fetched.asked and (outcome.report is None or outcome.cache is not None):  # it answered
        fresh = fetched.fresh_seconds
        until = now + timedelta(seconds=min(fresh, MAX_FRESH_SECONDS)) if fresh else None
        state.keep_fresh(url, until)


def _date_undated(entries: list[Entry], state: State, now: datetime) -> Iterable[Entry]:
    """Entries without a date get the time digest first saw them, so they age like others."""
    state.remember_entries(((e.id, e.feed, e.link, e.title) for e in entries), now)
    first_seen = state.first_seen([e.id for e in entries if e.published is UNDATED])
    for entry in entries:
        if entry.published is UNDATED:
            yield replace(entry, published=first_seen.get(entry.id, now), dated=False)
        else:
            yield entry


def hydrate(entries: Iterable[Entry], state: State) -> list[Entry]:
    """`entries` with their texts loaded from the state database (where gather left them)."""
    entries = list(entries)
    wanted = [e.id for e in entries if not e.content_text and e.text_chars]
    texts = state.entry_texts(wanted) if wanted else {}
    return [
        replace(e, content_text=zlib.decompress(texts[e.id]).decode("utf-8"))
        if e.id in texts and not e.content_text
        else e
        for e in entries
    ]


def gather_cached(
    sources: list[FeedSource],
    state: State,
    options: HttpOptions,
    now: datetime,
    on_feed: Callable[[FeedReport], None] | None = None,
) -> Gathered:
    """Entries as the last fetch left them, without network and without writing state.

    A feed whose last fetch failed stays failed (with that reason), as it would in a real run
    that failed the same way; one never fetched is failed with a hint. Local files are read
    and parsed again (their entries come with their texts)."""
    records = state.feed_records()
    caches = state.feed_caches(PARSER_VERSION)
    entries: list[Entry] = []
    reports: list[FeedReport] = []
    for source in sources:
        report, feed_entries = _from_cache(source, records.get(source.url), caches, options, now)
        entries.extend(feed_entries)
        reports.append(report)
        if on_feed:
            on_feed(report)
    first_seen = state.first_seen([e.id for e in entries if e.published is UNDATED])
    dated = [
        replace(e, published=first_seen.get(e.id, now), dated=False)
        if e.published is UNDATED
        else e
        for e in entries
    ]
    return Gathered(tuple(dated), tuple(reports))


def _from_cache(
    source: FeedSource,
    record: FeedRecord | None,
    caches: dict[str, FeedCache],
    options: HttpOptions,
    now: datetime,
) -> tuple[FeedReport, list[Entry]]:
    if not source.url.startswith(("http://", "https://")):
        fetched = read_file(source, options)
        parsed, report = parse_fetched(fetched, now)
        return report, parsed.entries if parsed else []
    if record is not None and record.status == FeedStatus.FAILED:
        reason = record.error or "failed on the last fetch"
        return FeedReport(source.name, source.url, FeedStatus.FAILED, 0, reason), []
    cache = caches.get(source.url)
    if cache is None:
        reason = "not fetched yet (fetch the feeds once to fill the cache)"
        return FeedReport(source.name, source.url, FeedStatus.FAILED, 0, reason), []
    status = (
        FeedStatus.NOT_MODIFIED if record and record.status == "not modified" else FeedStatus.OK
    )
    entries = light_entries(cache.entries_meta, source)
    return FeedReport(source.name, source.url, status, len(entries), notice=cache.notice), entries


def probe(source: FeedSource, client: httpx.Client, options: HttpOptions) -> FeedReport:
    """Fetch and parse one feed as a build would, touching no state (`digest check`)."""
    now = datetime.now(UTC)
    job = Job(0, source, None, None)
    outcome = outcome_of(job, fetch_guarded(source, client, options, None, None, now), now)
    return _result(outcome, source, None)[0]


# running the jobs: downloads in threads, parsing here or in worker processes -------------


def _outcomes(
    jobs: list[Job],
    client: httpx.Client | None,
    options: HttpOptions,
    now: datetime,
    timings: Timings | None,
) -> Iterator[Outcome]:
    """Every job's outcome, as each is ready. Downloads run in threads; a body that needs
    parsing is parsed in a worker process when there are many feeds (both cores, parsing
    overlapping the downloads still running), else here. A re-run where nothing changed
    parses nothing and starts no process."""
    owned = client is None
    http = client or make_client(options)
    started = time.perf_counter()
    parse_seconds = inline_seconds = 0.0
    try:
        with (
            ThreadPoolExecutor(max_workers=options.concurrency) as fetchers,
            Parsers(parallel=len(jobs) >= WORKERS_FROM) as parsers,
        ):
            downloads = {
                fetchers.submit(
                    fetch_guarded, job.source, http, options, job.validators, job.record, now
                ): job
                for job in jobs
            }
            for download_done in as_completed(downloads):
                job = downloads[download_done]
                fetched = download_done.result()
                if parsers.parallel and needs_parse(job, fetched):
                    parsers.submit(job, fetched, now)
                else:
                    outcome = outcome_of(job, fetched, now)
                    parse_seconds += outcome.parse_seconds
                    inline_seconds += outcome.parse_seconds
                    yield outcome
                for outcome in parsers.finished():
                    parse_seconds += outcome.parse_seconds
                    yield outcome
            for outcome in parsers.rest():
                parse_seconds += outcome.parse_seconds
                yield outcome
    finally:
        if owned:
            http.close()
    if timings is not None:  # fetch: the wall time of gathering, less parsing done here
        timings.add("parse", parse_seconds)
        timings.add("fetch", max(0.0, time.perf_counter() - started - inline_seconds))


def filtered(gathered: Gathered, settings: Settings, state: State) -> Gathered:
    """The entries the include / exclude filters keep; each feed's report says what every rule
    that applies to it dropped (0 included). Filters match the text too: with filters, the
    entries' texts are loaded first."""
    everywhere, own = filter_sets(settings)
    entries = gathered.entries
    if everywhere or any(own.values()):
        entries = tuple(hydrate(entries, state))
    result = apply_filters(entries, everywhere, own)
    reports = []
    for report in gathered.reports:
        counts = result.dropped.get(report.name, {})
        rules = rules_for(everywhere, own.get(report.name))
        shared = set(everywhere.rules())
        drops = tuple(FilterDrop(r, counts.get(r, 0), r in shared) for r in rules)
        reports.append(replace(report, filtered=drops))
    return Gathered(result.kept, tuple(reports))


def feed_lines(reports: Iterable[FeedReport]) -> list[str]:
    """The run summary's feed lines: each failed feed (name: reason; hint), then notices."""
    lines = [
        f"  failed: {r.name}: {r.error}" + (f"; {r.hint}" if r.hint else "")
        for r in reports
        if r.failed
    ]
    for report in reports:
        note = "; ".join(part for part in (report.notice, _merged(report)) if part)
        if note and not report.failed:
            lines.append(f"  note: {report.name}: {note}")
    return lines


def _merged(report: FeedReport) -> str:
    """What de-duplication did to the feed's entries (digest/issue/compose.py)."""
    parts = []
    if report.repeats:
        parts.append(f"{count(report.repeats, 'entry', 'entries')} given twice, shown once")
    if report.elsewhere:
        stories = count(report.elsewhere, "story", "stories")
        parts.append(f"{stories} shown once, from another feed")
    return "; ".join(parts)
