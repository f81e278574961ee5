"""Teaser entries -> the article's full text, fetched from its page.

A feed that carries only "The study, published today… Read more" gives nothing to summarize.
For such entries (per feed `fulltext: auto | always | never`) the page is fetched politely
(robots.txt, one request at a time per host with a delay), the article extracted, and its text
used only when it is clearly the same article and longer. Results are cached in the state
database by URL, so a re-run does not download the page again.
"""

from __future__ import annotations

import logging
import re
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from digest.errors import ExtractError
from digest.models import Article, Entry
from digest.net.http import DownloadError, HttpOptions, Refused, download
from digest.state import CachedPage, State
from digest.text.plural import count
from digest.text.sanitize import safe_image_url

log = logging.getLogger(__name__)

TEASER_MAX_WORDS = 120  # fewer words than this is a teaser, whatever it ends with
MUCH_SHORTER = 0.3  # a third of the feed's typical length is a teaser too
# Ends in an ellipsis or a "Read more" link text: the feed cut the article short.
READ_MORE = re.compile(
    r"(\.\.\.|…|\[…\]|\[\.\.\.\]"
    r"|\b(read more|continue reading|read the (full|rest of the) (story|article|post)|more ?[»→>])"
    r"\W*)\s*$",
    re.I,
)
TEASER_WORDS_FOUND = 0.7  # share of the teaser's words the page must contain
LONGER_BY = 1.3  # the page's text must be this much longer than the teaser
_WORD = re.compile(r"\w{3,}")


@dataclass(frozen=True, slots=True)
class PagePolicy:
    robots_txt: bool = True
    delay_seconds: float = 1.0
    max_pages: int = 60
    retry_failed_after_hours: float = 24.0
    max_seconds: float = 60.0  # for all pages of a run; the rest wait for the next run


def complete(
    entries: Sequence[Entry],
    modes: Mapping[str, str],
    state: State,
    client: httpx.Client,
    http: HttpOptions,
    policy: PagePolicy,
    now: datetime,
    offline: bool = False,
) -> list[Entry]:
    """`entries` with teasers replaced by their pages' text where that text is the article.
    `offline` (the preview's rebuilds) uses cached pages only: no network, no state written."""
    typical = _typical_words(entries)
    wanted = [e for e in entries if e.link and _wants_page(e, modes.get(e.feed, "auto"), typical)]
    if offline:
        return [_merge(entry, _cached_article(entry.link, state)) for entry in entries]
    pages = _fetch_pages(wanted[: policy.max_pages], state, client, http, policy, now)
    return [_merge(entry, pages.get(entry.link)) for entry in entries]


def looks_like_teaser(text: str, feed_typical_words: float | None = None) -> bool:
    words = len(text.split())
    if words < TEASER_MAX_WORDS or READ_MORE.search(text):
        return True
    return feed_typical_words is not None and words < MUCH_SHORTER * feed_typical_words


def _wants_page(entry: Entry, mode: str, typical: dict[str, float]) -> bool:
    if mode == "never":
        return False
    return mode == "always" or looks_like_teaser(entry.content_text, typical.get(entry.feed))


def _typical_words(entries: Sequence[Entry]) -> dict[str, float]:
    by_feed: dict[str, list[int]] = defaultdict(list)
    for entry in entries:
        by_feed[entry.feed].append(len(entry.content_text.split()))
    return {feed: statistics.median(counts) for feed, counts in by_feed.items() if len(counts) >= 3}


def accept(teaser: str, page: Article) -> str:
    """Why the page's text is not the article, or "" when it is."""
    if page.paywalled:
        return "the page is behind a paywall"
    teaser_words = _WORD.findall(_drop_read_more(teaser).lower())
    page_words = page.text.split()
    if len(page_words) < max(LONGER_BY * len(teaser.split()), 60):
        return f"the page's text ({count(len(page_words), 'word')}) is not longer than the feed's"
    found = set(_WORD.findall(page.text.lower()))
    share = sum(w in found for w in teaser_words) / len(teaser_words) if teaser_words else 1.0
    if share < TEASER_WORDS_FOUND:
        return f"the page's text holds only {share:.0%} of the teaser's words"
    return ""


def _drop_read_more(text: str) -> str:
    return READ_MORE.sub("", text.strip())


def _merge(entry: Entry, page: Article | None) -> Entry:
    if page is None:
        return entry
    if reason := accept(entry.content_text, page):
        log.info("fulltext: %s: kept the feed's text: %s", entry.link, reason)
        return entry
    return replace(
        entry,
        content_text=page.text,
        title=entry.title if entry.title != "(untitled)" else page.title or entry.title,
        author=entry.author or page.author,
        image=entry.image or safe_image_url(page.image) or None,
        published=entry.published if entry.dated or page.date is None else page.date,
        dated=entry.dated or page.date is not None,
    )


# fetching ------------------------------------------------------------------------------------


def _cached_article(url: str, state: State) -> Article | None:
    cached = state.cached_page(url) if url else None
    return cached.article if cached is not None else None


def _fetch_pages(
    entries: Sequence[Entry],
    state: State,
    client: httpx.Client,
    http: HttpOptions,
    policy: PagePolicy,
    now: datetime,
) -> dict[str, Article]:
    """Pages by URL: from the cache, else fetched one host at a time, hosts in parallel."""
    pages: dict[str, Article] = {}
    to_fetch: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        cached = state.cached_page(entry.link)
        if cached is not None and _fresh(cached, policy, now):
            if cached.article is not None:
                pages[entry.link] = cached.article
            continue
        to_fetch[_host(entry.link)].append(entry.link)
    robots = _Robots(client, http, enabled=policy.robots_txt)
    fetch_host = _host_fetcher(client, http, policy, robots)
    with ThreadPoolExecutor(max_workers=http.concurrency) as pool:
        for results in pool.map(fetch_host, to_fetch.values()):
            for url, article, failure in results:
                state.save_page(url, article, failure, now)
                if article is not None:
                    pages[url] = article
    return pages


def _fresh(cached: CachedPage, policy: PagePolicy, now: datetime) -> bool:
    """A page once extracted stays; a failure is retried after a while."""
    if cached.article is not None:
        return True
    return (now - cached.fetched_at).total_seconds() < policy.retry_failed_after_hours * 3600


FetchResult = tuple[str, Article | None, str]


def _host_fetcher(
    client: httpx.Client, http: HttpOptions, policy: PagePolicy, robots: _Robots
) -> Callable[[list[str]], list[FetchResult]]:
    """One host's pages in turn, politely. A host that does not answer (timeout, reset,
    refused) is not asked for its other pages this run, and no host goes on past the run's
    `max_seconds`: pages left over keep their teasers and are tried on the next run."""
    give_up_at = time.monotonic() + policy.max_seconds

    def fetch_host(urls: list[str]) -> list[FetchResult]:
        results: list[FetchResult] = []
        asked = False
        for url in urls:
            if time.monotonic() > give_up_at:
                break  # not recorded: the next run tries these pages
            if not robots.allowed(url):
                log.info("fulltext: %s: robots.txt disallows it", url)
                results.append((url, None, "disallowed by robots.txt"))
                continue
            if asked:
                time.sleep(policy.delay_seconds)  # polite: one request at a time per host
            asked = True
            result, unreachable = _fetch_page(url, client, http)
            results.append(result)
            if unreachable:
                break
        return results

    return fetch_host


def _fetch_page(url: str, client: httpx.Client, http: HttpOptions) -> tuple[FetchResult, bool]:
    """The page's article, or why not; and whether the host itself failed to answer."""
    from digest.text.extract import extract_article  # trafilatura: loaded when a page is fetched

    try:
        page = download(client, url, http)
        article = extract_article(page.body, page.url)
    except DownloadError as exc:
        log.warning("fulltext: %s: %s", url, exc)
        return (url, None, str(exc)), exc.status is None and not isinstance(exc, Refused)
    except ExtractError as exc:
        log.warning("fulltext: %s: %s", url, exc)
        return (url, None, str(exc)), False
    except Exception as exc:  # our bug on this page's content: this page only
        log.warning("fulltext: %s: internal error: %s: %s", url, type(exc).__name__, exc)
        return (url, None, f"internal error: {type(exc).__name__}"), False
    return (url, article, ""), False


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class _Robots:
    """robots.txt per host, fetched once a run. RFC 9309: 4xx means no rules; 5xx or no
    answer means assume everything is disallowed."""

    def __init__(self, client: httpx.Client, http: HttpOptions, enabled: bool) -> None:
        self._client, self._http, self._enabled = client, http, enabled
        self._parsers: dict[str, RobotFileParser | None] = {}
        self._lock = threading.Lock()

    def allowed(self, url: str) -> bool:
        if not self._enabled:
            return True
        host = _host(url)
        with self._lock:
            if host not in self._parsers:
                self._parsers[host] = self._load(host)
        parser = self._parsers[host]
        return parser is not None and parser.can_fetch(self._http.user_agent, url)

    def _load(self, host: str) -> RobotFileParser | None:
        parser = RobotFileParser(f"{host}/robots.txt")
        try:
            got = download(self._client, f"{host}/robots.txt", self._http)
        except DownloadError as exc:
            if str(exc).startswith("HTTP 4"):
                parser.parse([])
                return parser
            return None
        parser.parse(got.body.decode("utf-8", "replace").splitlines())
        return parser
