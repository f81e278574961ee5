"""Feeds -> entries. HTTP (conditional GET) and local files go through one path; the
documents are parsed by digest/feedparse.py.

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

import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import re
import signal
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from digest.errors import FeedError
from digest.feedparse import PARSER_VERSION, UNDATED, Parsed, parse_feed
from digest.http import DownloadError, HttpOptions, download, make_client
from digest.models import Entry, FeedReport, FeedSource, FeedStatus
from digest.state import FeedCache, FeedRecord, State
from digest.timings import Timings

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 24 * 3600.0  # a Retry-After of 73 years is not honoured for 73 years
# A feed the server calls fresh (Cache-Control max-age) is not asked again for that long, up
# to this: a static host's max-age of a day must not hide a new post for a day.
MAX_FRESH_SECONDS = 3600.0
PARSE_SECONDS = 30.0  # one feed's parse; longer is a hostile document, failed
WORKERS_FROM = 16  # feeds: with fewer, every body is parsed in this process
STATE_BATCH = 100  # feeds' state written per transaction


@dataclass(frozen=True, slots=True)
class Validators:
    """What makes a fetch conditional, from the last good parse."""

    etag: str | None
    last_modified: str | None
    body_hash: str | None


@dataclass(frozen=True, slots=True)
class Fetched:
    """A feed's bytes, or why there are none: `body` is None when `error` is set, and for a
    304 or a feed asked to wait (status NOT_MODIFIED: the cached parse stands)."""

    source: FeedSource
    status: FeedStatus
    body: bytes | None = None
    final_url: str = ""
    etag: str | None = None
    last_modified: str | None = None
    error: str = ""
    charset: str | None = None  # from the Content-Type header
    http_status: int | None = None  # of a failed request
    retry_after: float | None = None  # seconds a 429/503 asked us to wait
    moved_to: str | None = None  # a permanent redirect seen in this fetch
    notice: str = ""
    fresh_seconds: float | None = None  # how long the server says this stays fresh
    asked: bool = True  # False: answered from the cache without a request


@dataclass(frozen=True, slots=True)
class Job:
    index: int  # the feed's place in the config
    source: FeedSource
    record: FeedRecord | None
    validators: Validators | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One feed fetched and parsed; small enough to send back from a worker process (the
    body is not in it, the texts are compressed)."""

    index: int
    fetched: Fetched  # without its body
    report: FeedReport | None  # None when the cached parse stands (made from the cache)
    cache: FeedCache | None = None  # a new parse to store
    texts: tuple[tuple[str, bytes], ...] = ()  # (entry id, compressed text) of the new parse
    parse_seconds: float = 0.0


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
            result = _internal_error(source, exc), []
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
        return outcome.report, _light_entries(outcome.cache.entries_meta, source)
    if outcome.report is not None:  # failed
        return outcome.report, []
    fetched = outcome.fetched
    if stored is None:  # a 304 with nothing cached: the next run fetches unconditionally
        reason = "the server says not modified, but nothing is cached; fetched in full next run"
        return FeedReport(source.name, source.url, FeedStatus.FAILED, 0, reason), []
    entries = _light_entries(stored.entries_meta, source)
    notice = "; ".join(part for part in (fetched.notice, stored.notice) if part)
    return FeedReport(source.name, source.url, fetched.status, len(entries), notice=notice), entries


def _record(pending: list[Outcome], jobs: list[Job], state: State, now: datetime) -> None:
    """What the fetches said, written in one transaction; `pending` is emptied."""
    with state.transaction():
        for outcome in pending:
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
        fetched = _read_file(source, options)
        parsed, report = _parse_fetched(fetched, now)
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
    entries = _light_entries(cache.entries_meta, source)
    return FeedReport(source.name, source.url, status, len(entries), notice=cache.notice), entries


def probe(source: FeedSource, client: httpx.Client, options: HttpOptions) -> FeedReport:
    """Fetch and parse one feed as a build would, touching no state (`digest check`)."""
    now = datetime.now(UTC)
    job = Job(0, source, None, None)
    outcome = _digest(job, _fetch_guarded(source, client, options, None, None, now), now)
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
            _Parsers(parallel=len(jobs) >= WORKERS_FROM) as parsers,
        ):
            downloads = {
                fetchers.submit(
                    _fetch_guarded, job.source, http, options, job.validators, job.record, now
                ): job
                for job in jobs
            }
            for download_done in as_completed(downloads):
                job = downloads[download_done]
                fetched = download_done.result()
                if parsers.parallel and _needs_parse(job, fetched):
                    parsers.submit(job, fetched, now)
                else:
                    outcome = _digest(job, fetched, now)
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


def _needs_parse(job: Job, fetched: Fetched) -> bool:
    if fetched.body is None:
        return False
    return job.validators is None or job.validators.body_hash != _hash(fetched.body)


class _Parsers:
    """Worker processes for parsing, started when the first body needs one (spawned, not
    forked: this process runs threads). A worker that dies (out of memory, killed) fails the
    feed it was parsing, not the build."""

    def __init__(self, parallel: bool) -> None:
        self.parallel = parallel and (os.cpu_count() or 1) > 1
        self._pool: ProcessPoolExecutor | None = None
        self._running: dict[Future[Outcome], tuple[Job, Fetched]] = {}

    def __enter__(self) -> _Parsers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, job: Job, fetched: Fetched, now: datetime) -> None:
        if self._pool is None:
            workers = min(os.cpu_count() or 1, 4)
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        self._running[self._pool.submit(_digest, job, fetched, now)] = (job, fetched)

    def finished(self) -> list[Outcome]:
        done = [future for future in self._running if future.done()]
        return [self._outcome(future) for future in done]

    def rest(self) -> Iterator[Outcome]:
        for future in as_completed(list(self._running)):
            yield self._outcome(future)

    def _outcome(self, future: Future[Outcome]) -> Outcome:
        job, fetched = self._running.pop(future)
        try:
            return future.result()
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            reason = f"internal error: the process parsing it stopped ({type(exc).__name__})"
            light = replace(fetched, body=None)
            return Outcome(job.index, light, _report_failed(job.source, reason))


# one feed: its fetch parsed into an outcome ----------------------------------------------


class ParseTooLong(BaseException):
    """Raised into a parse that ran past PARSE_SECONDS. A BaseException, so that the broad
    `except Exception` inside feedparser cannot swallow it."""


def _digest(job: Job, fetched: Fetched, now: datetime) -> Outcome:
    """The fetch result parsed (unless the cached parse stands), as an outcome. Never raises."""
    source = fetched.source
    light = replace(fetched, body=None)
    if fetched.status is FeedStatus.FAILED or fetched.body is None:
        if fetched.status is FeedStatus.FAILED:
            report = _report_failed(source, fetched.error, fetched.http_status)
            return Outcome(job.index, light, report)
        return Outcome(job.index, light, None)  # 304, or asked to wait: the cache stands
    body_hash = _hash(fetched.body)
    if job.validators is not None and job.validators.body_hash == body_hash:
        return Outcome(job.index, light, None)  # the same bytes again
    started = time.perf_counter()
    parsed, report = _parse_fetched(fetched, now)
    seconds = time.perf_counter() - started
    if parsed is None:
        return Outcome(job.index, light, report, parse_seconds=seconds)
    cache = FeedCache(
        fetched.etag, fetched.last_modified, body_hash, _meta(parsed.entries), parsed.notice
    )
    texts = tuple(
        (entry.id, zlib.compress(entry.content_text.encode("utf-8"), 1)) for entry in parsed.entries
    )
    return Outcome(job.index, light, report, cache, texts, seconds)


def _hash(body: bytes) -> str:
    return hashlib.sha1(body, usedforsecurity=False).hexdigest()


def _parse_fetched(fetched: Fetched, now: datetime) -> tuple[Parsed | None, FeedReport]:
    """Entries of one fetched body, or a failed report naming why. Never raises: a bug of
    ours on one feed's content fails that feed, not the build."""
    source = fetched.source
    if fetched.body is None:
        return None, _report_failed(source, fetched.error or "no document", fetched.http_status)
    try:
        with _time_limit(PARSE_SECONDS):
            parsed = parse_feed(
                fetched.body, source, fetched.final_url or source.url, fetched.charset, now
            )
    except FeedError as exc:
        return None, _report_failed(source, exc.reason, fetched.http_status)
    except ParseTooLong:
        return None, _report_failed(source, f"parsing took longer than {PARSE_SECONDS:g} s")
    except Exception as exc:  # our bug, on this feed's content: the other feeds go on
        log.debug("feed %r: internal error", source.name, exc_info=True)
        return None, _internal_error(source, exc)
    notice = "; ".join(part for part in (fetched.notice, parsed.notice) if part)
    report = FeedReport(source.name, source.url, fetched.status, len(parsed.entries), notice=notice)
    return parsed, report


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after `seconds` (a timer signal: main thread only; elsewhere the
    block runs unlimited, as signals cannot reach other threads)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise ParseTooLong

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _report_failed(source: FeedSource, reason: str, status: int | None = None) -> FeedReport:
    hint = hint_for(reason, status, source)
    return FeedReport(source.name, source.url, FeedStatus.FAILED, 0, reason, hint)


def _internal_error(source: FeedSource, exc: BaseException) -> FeedReport:
    reason = f"internal error while reading it: {type(exc).__name__}: {exc}"[:300]
    hint = "a bug in digest: run with --verbose for the traceback and report it"
    return FeedReport(source.name, source.url, FeedStatus.FAILED, 0, reason, hint)


# the cached form of a feed's entries -------------------------------------------------------


def _meta(entries: list[Entry]) -> str:
    """The entries as JSON, without their texts (stored apart) and without what the config
    decides (feed name, section), which is applied when they are read back."""
    return json.dumps(
        [
            {
                "id": e.id,
                "title": e.title,
                "link": e.link,
                "published": None if e.published is UNDATED else e.published.isoformat(),
                "author": e.author,
                "image": e.image,
                "guid": e.guid,
                "chars": e.text_chars,
            }
            for e in entries
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _light_entries(meta: str, source: FeedSource) -> list[Entry]:
    return [
        Entry(
            id=item["id"],
            feed=source.name,
            title=item["title"],
            link=item["link"],
            published=datetime.fromisoformat(item["published"]) if item["published"] else UNDATED,
            author=item["author"],
            image=item["image"],
            guid=item["guid"],
            section=source.section,
            text_chars=item["chars"],
        )
        for item in json.loads(meta)
    ]


def hint_for(reason: str, status: int | None, source: FeedSource) -> str:
    """What the user can do about a failed feed, in a few words."""
    if reason.startswith("retired"):
        return f"remove it from the config (digest feeds remove {source.name!r})"
    if status in (401, 403):
        return "the server refuses us: the feed may need a login, or blocks feed readers"
    if status in (429, 503):
        return "the server asks us to slow down; the next run tries again"
    if status is not None and status >= 500:
        return "the server is failing; the next run tries again"
    if status is not None and status >= 400:
        return "check the URL; `digest feeds add <site>` finds the feed a site links to"
    if "web page" in reason or "not an RSS" in reason:
        return "`digest feeds add <page URL>` finds the feed the page links to"
    if reason.startswith("timed out"):
        return "slow or unreachable server; raise http.total_timeout if it is only slow"
    if "larger than" in reason:
        return "raise http.max_bytes if this feed is really that large"
    if "redirect" in reason:
        return "the site's redirects are broken; tell its owner or use the final URL"
    if reason.startswith(("network error", "cannot resolve")):
        return "check the host name and your connection; the next run tries again"
    return ""


# fetching ------------------------------------------------------------------------------------


def _fetch_guarded(
    source: FeedSource,
    client: httpx.Client,
    options: HttpOptions,
    cached: Validators | None,
    record: FeedRecord | None,
    now: datetime,
) -> Fetched:
    """`fetch`, with any failure of ours turned into that feed's failure (runs in a thread)."""
    try:
        return fetch(source, client, options, cached, record, now)
    except Exception as exc:
        log.debug("feed %r: internal error while fetching", source.name, exc_info=True)
        return _failed(source, _internal_error(source, exc).error)


def fetch(
    source: FeedSource,
    client: httpx.Client,
    options: HttpOptions,
    cached: Validators | None = None,
    record: FeedRecord | None = None,
    now: datetime | None = None,
) -> Fetched:
    """Bytes of one feed: a local file, or an HTTP GET made conditional by the validators of
    the cached parse. A feed that moved permanently is fetched from where it went; one that
    is gone (410) is not fetched; one that asked us to wait (Retry-After) stays as cached."""
    if not source.url.startswith(("http://", "https://")):
        return _read_file(source, options)
    now = now or datetime.now(UTC)
    if record is not None and (skipped := _not_fetched(source, record, cached is not None, now)):
        return skipped
    url = record.moved_to if record is not None and record.moved_to else source.url
    try:
        got = download(
            client,
            url,
            options,
            cached.etag if cached else None,
            cached.last_modified if cached else None,
            trusted=source.url,
        )
    except DownloadError as exc:
        wait = None if exc.retry_after is None else min(exc.retry_after, MAX_RETRY_AFTER)
        failed = _failed(source, _fetch_reason(exc, wait))
        return replace(failed, http_status=exc.status, retry_after=wait)
    moved = got.moved_to if got.moved_to and got.moved_to != url else None
    notice = _moved_notice(moved or (url if url != source.url else None), fresh=moved is not None)
    if got.status == 304:
        return Fetched(
            source,
            FeedStatus.NOT_MODIFIED,
            None,
            url,
            moved_to=moved,
            notice=notice,
            fresh_seconds=got.fresh_seconds,
        )
    return Fetched(
        source,
        FeedStatus.OK,
        got.body,
        got.url,
        got.etag,
        got.last_modified,
        charset=_charset(got.content_type),
        moved_to=moved,
        notice=notice,
        fresh_seconds=got.fresh_seconds,
    )


def _not_fetched(
    source: FeedSource, record: FeedRecord, cached: bool, now: datetime
) -> Fetched | None:
    """A feed that is gone (410) is not asked again; one that asked us to wait keeps its
    cached entries until then."""
    if record.retired_at is not None:
        when = f"{record.retired_at:%Y-%m-%d}"
        return _failed(source, f"retired: the server said it is gone (410) on {when}")
    if cached and record.fresh_until is not None and now < record.fresh_until:
        return Fetched(source, FeedStatus.NOT_MODIFIED, None, source.url, asked=False)
    if record.retry_at is None or now >= record.retry_at:
        return None
    wait = f"not fetched: the server asked us to wait until {record.retry_at:%Y-%m-%d %H:%M} UTC"
    if not cached:
        return _failed(source, wait)
    return Fetched(source, FeedStatus.NOT_MODIFIED, None, source.url, notice=wait)


def _fetch_reason(exc: DownloadError, wait: float | None) -> str:
    if exc.status == 410:
        return "retired: the server says it is gone (HTTP 410 Gone); not fetched again"
    if wait is not None:
        return f"{exc} (the server asks us to wait; not fetched for {_duration(wait)})"
    return str(exc)


def _moved_notice(url: str | None, fresh: bool) -> str:
    if url is None:
        return ""
    if fresh:
        return f"moved permanently to {url}: fetched from there from now on; update the config"
    return f"fetched from {url}, where it moved permanently; update the config"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _charset(content_type: str) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type, re.I)
    return match.group(1) if match else None


def _read_file(source: FeedSource, options: HttpOptions) -> Fetched:
    path = Path(source.url)
    try:
        if path.stat().st_size > options.max_bytes:
            return _failed(source, f"file larger than {options.max_bytes:,} bytes")
        return Fetched(source, FeedStatus.OK, path.read_bytes(), path.as_uri())
    except OSError as exc:
        return _failed(source, f"cannot read {path}: {exc.strerror}")


def _failed(source: FeedSource, reason: str) -> Fetched:
    return Fetched(source, FeedStatus.FAILED, error=reason)
