"""One feed's fetch made into an outcome: its body parsed (digest/feeds/parse.py) under a time
limit, the entries stored in their cached form (JSON without texts, texts compressed apart).
With many feeds the parsing runs in worker processes, as the downloads finish; a worker that
dies fails the feed it was parsing, not the build."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import signal
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from digest.errors import FeedError
from digest.feeds.fetch import Fetched, Validators, internal_error, report_failed
from digest.feeds.parse import UNDATED, Parsed, parse_feed
from digest.models import Entry, FeedReport, FeedSource, FeedStatus
from digest.state import FeedCache, FeedRecord

log = logging.getLogger(__name__)

PARSE_SECONDS = 30.0  # one feed's parse; longer is a hostile document, failed


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


def needs_parse(job: Job, fetched: Fetched) -> bool:
    if fetched.body is None:
        return False
    return job.validators is None or job.validators.body_hash != _hash(fetched.body)


class Parsers:
    """Worker processes for parsing, started when the first body needs one (spawned, not
    forked: this process runs threads). A worker that dies (out of memory, killed) fails the
    feed it was parsing, not the build."""

    def __init__(self, parallel: bool) -> None:
        self.parallel = parallel and (os.cpu_count() or 1) > 1
        self._pool: ProcessPoolExecutor | None = None
        self._running: dict[Future[Outcome], tuple[Job, Fetched]] = {}

    def __enter__(self) -> Parsers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, job: Job, fetched: Fetched, now: datetime) -> None:
        if self._pool is None:
            workers = min(os.cpu_count() or 1, 4)
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        self._running[self._pool.submit(outcome_of, job, fetched, now)] = (job, fetched)

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
            return Outcome(job.index, light, report_failed(job.source, reason))


# one feed: its fetch parsed into an outcome ----------------------------------------------


class ParseTooLong(BaseException):
    """Raised into a parse that ran past PARSE_SECONDS. A BaseException, so that the broad
    `except Exception` inside feedparser cannot swallow it."""


def outcome_of(job: Job, fetched: Fetched, now: datetime) -> Outcome:
    """The fetch result parsed (unless the cached parse stands), as an outcome. Never raises."""
    source = fetched.source
    light = replace(fetched, body=None)
    if fetched.status is FeedStatus.FAILED or fetched.body is None:
        if fetched.status is FeedStatus.FAILED:
            report = report_failed(source, fetched.error, fetched.http_status)
            return Outcome(job.index, light, report)
        return Outcome(job.index, light, None)  # 304, or asked to wait: the cache stands
    body_hash = _hash(fetched.body)
    if job.validators is not None and job.validators.body_hash == body_hash:
        return Outcome(job.index, light, None)  # the same bytes again
    started = time.perf_counter()
    parsed, report = parse_fetched(fetched, now)
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


def parse_fetched(fetched: Fetched, now: datetime) -> tuple[Parsed | None, FeedReport]:
    """Entries of one fetched body, or a failed report naming why. Never raises: a bug of
    ours on one feed's content fails that feed, not the build."""
    source = fetched.source
    if fetched.body is None:
        return None, report_failed(source, fetched.error or "no document", fetched.http_status)
    try:
        with _time_limit(PARSE_SECONDS):
            parsed = parse_feed(
                fetched.body, source, fetched.final_url or source.url, fetched.charset, now
            )
    except FeedError as exc:
        return None, report_failed(source, exc.reason, fetched.http_status)
    except ParseTooLong:
        return None, report_failed(source, f"parsing took longer than {PARSE_SECONDS:g} s")
    except Exception as exc:  # our bug, on this feed's content: the other feeds go on
        log.debug("feed %r: internal error", source.name, exc_info=True)
        return None, internal_error(source, exc)
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
                "opening": e.opening,
                "language": e.language,
            }
            for e in entries
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def light_entries(meta: str, source: FeedSource) -> list[Entry]:
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
            opening=item.get("opening", ""),
            language=item.get("language", ""),
        )
        for item in json.loads(meta)
    ]
