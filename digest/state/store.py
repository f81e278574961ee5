"""The state: feeds' validators and parsed entries, entries seen, article pages; and the
connection every part's SQL runs on (issues and their outbox in digest/sending/outbox.py,
subscribers and letters in digest/sending/subscribers.py, and so on).

`State.open(where)` takes a SQLite file (a Path) or a database URL (see engine.py), brings its
schema up to date (schema.py) and holds one connection. A statement outside `transaction()` is
its own transaction; inside, every statement commits together or not at all, so a crash
mid-run leaves the database as it was before that write. SQL is written with named
parameters (`:name`) in the dialect both engines share; a list value expands (`IN :ids`).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Unpack

from sqlalchemy import (
    Connection,
    CursorResult,
    Executable,
    Integer,
    String,
    TextClause,
    bindparam,
    text,
)
from sqlalchemy.exc import DBAPIError

from digest.models import Article
from digest.state.engine import Params, Target, connect, connect_error, dialect_of, target
from digest.state.schema import VERSION, upgrade

Result = CursorResult[Unpack[tuple[Any, ...]]]  # rows of any width  # noqa: UP044


@dataclass(frozen=True, slots=True)
class FeedCache:
    """What the last good fetch of a feed left: its validators, the hash of its bytes, and
    its entries (JSON, without their texts) as the parser of that version made them."""

    etag: str | None
    last_modified: str | None
    body_hash: str | None
    entries_meta: str
    notice: str = ""


@dataclass(frozen=True, slots=True)
class FeedRecord:
    """What the state database knows of one configured feed URL."""

    url: str
    status: str | None = None  # ok | not modified | failed (FeedStatus values)
    error: str | None = None
    checked_at: datetime | None = None
    last_success: datetime | None = None
    moved_to: str | None = None  # a permanent redirect's target, fetched from now on
    moved_at: datetime | None = None
    retired_at: datetime | None = None  # the server answered 410 Gone
    retired_reason: str | None = None
    retry_at: datetime | None = None  # a 429/503 asked us to wait until then
    fresh_until: datetime | None = None  # the server said it would not change before then


@dataclass(frozen=True, slots=True)
class CachedPage:
    url: str
    article: Article | None
    failure: str
    fetched_at: datetime


def _done() -> None:
    """A write already made: nothing to read."""


class State:
    """The state database. Open with `State.open(path or URL)`; use as a context manager."""

    def __init__(self, conn: Connection, place: Target, found: int = VERSION) -> None:
        self.conn = conn
        self.place = place
        self.dialect = dialect_of(place)
        self.depth = 0  # transactions entered (an inner one joins the outer)
        self.found = found  # the schema version it had when opened (0: it was empty)
        self.named_by_driver = place.is_sqlite

    @classmethod
    def open(cls, where: str | Path | Target) -> State:
        place = target(where)
        conn = connect(place)
        try:
            found, _ = upgrade(conn, dialect_of(place), place)
        except DBAPIError as exc:
            conn.close()
            raise connect_error(place, exc) from None
        except BaseException:
            conn.close()
            raise
        return cls(conn, place, found)

    @property
    def path(self) -> Path | None:
        """The SQLite file (None on PostgreSQL)."""
        return self.place.path

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # running SQL ---------------------------------------------------------------------------

    def execute(
        self, statement: str | Executable, params: Params | Sequence[Params] | None = None
    ) -> Result:
        """One statement (a list of parameter sets: executemany). A string is SQL with :name
        parameters; a list or tuple value expands into IN (...)."""
        many = isinstance(params, Sequence)
        if many and not params:
            raise ValueError("executemany with no rows: call it only with some")
        if isinstance(statement, str):
            first = params[0] if isinstance(params, Sequence) and params else params
            assert first is None or isinstance(first, Mapping)
            given = (first or {}).items()
            lists = tuple(sorted((k, _is_ints(v)) for k, v in given if isinstance(v, list | tuple)))
            if not lists and self.named_by_driver:
                # SQLite's driver reads :name itself: no statement to compile or look up in
                # the cache (half the cost of a one-click's UPDATE on `digest serve`).
                return self.conn.exec_driver_sql(statement, params or {})
            statement = _text(statement, lists)
        return self.conn.execute(statement, params)

    def write(self, sql: str, params: Params) -> int:
        """One write of the public server's hot path (a one-click's UPDATE and INSERT): the
        rows it changed. On SQLite straight on the driver's connection, in the same
        transaction (about 15 us, against 35 through SQLAlchemy's driver call and 60 through
        a compiled statement); its errors are raised as SQLAlchemy's, like every other."""
        if not self.named_by_driver:
            return int(self.execute(sql, params).rowcount)
        driver = self.conn.connection.driver_connection
        assert driver is not None
        try:
            return int(driver.execute(sql, params).rowcount)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc

    def write_ahead(self, sql: str, params: Params) -> Callable[[], None]:
        """One write (outside a transaction) sent now, and what reads its answer. On SQLite it
        is done when this returns; on PostgreSQL it is on its way, and the caller may do one
        quick thing (send a message's final dot) before reading the answer, which it must do
        before anything else runs on this state. A server runs a statement it has read even
        when its client has died since, so a kill after this call leaves the write made."""
        if self.dialect.local:
            self.write(sql, params)
            return _done
        return self.dialect.write_ahead(self.conn, sql, params)

    def rows_in(self, query: str, name: str, values: Iterable[Any]) -> Iterator[Sequence[Any]]:
        """The rows of `query`, whose `:name` is a list, for every value in `values`: a few
        hundred a statement (engines cap the parameters of one)."""
        listed = list(values)
        for start in range(0, len(listed), 500):
            yield from self.execute(query, {name: listed[start : start + 500]})

    def executemany(self, statement: str | Executable, rows: Iterable[Params]) -> None:
        """The statement once per row, in one round trip where the driver can; none: nothing."""
        listed = list(rows)
        if listed:
            self.execute(statement, listed)

    @property
    def in_transaction(self) -> bool:
        return self.depth > 0

    @contextmanager
    def transaction(self) -> Iterator[State]:
        """BEGIN ... COMMIT; rolled back on any error. Inside another transaction it joins
        that one (a batch of writes commits once)."""
        if self.depth:
            self.depth += 1
            try:
                yield self
            finally:
                self.depth -= 1
            return
        self.begin()
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def begin(self) -> None:
        """Start a transaction (the engine's way: engine.py); `transaction()` is the usual way."""
        self.dialect.begin(self.conn)
        self.depth = 1

    def commit(self) -> None:
        self.depth = 0
        try:
            self.conn.exec_driver_sql("COMMIT")
        except DBAPIError:
            self.rollback()
            raise

    def rollback(self) -> None:
        self.depth = 0
        with suppress(
            DBAPIError
        ):  # the connection is gone: the error that brought us here says why
            self.conn.exec_driver_sql("ROLLBACK")

    def lock(self, name: str) -> None:
        """Inside a transaction: others taking the same name wait until it ends (engine.py)."""
        assert self.depth, "lock() is taken inside a transaction"
        self.dialect.lock(self.conn, name)

    def relax_durability(self) -> None:
        """This connection's commits need not wait for the disk (a sender's marks)."""
        self.dialect.relax_durability(self.conn)

    def install_id(self) -> str:
        """This database's random id, made on first use and kept: Message-IDs carry it, so
        two installs (or two lists) sending issue 1 to one reader never share an id."""
        return self.kept_random("install_id", 6)

    def kept_random(self, key: str, size: int) -> str:
        """A random hex value of `size` bytes made on first use and kept in `meta` (two
        processes asking at once get the same one)."""
        query = "SELECT value FROM meta WHERE key = :key"
        row = self.execute(query, {"key": key}).fetchone()
        if row is None:
            with self.transaction() as tx:
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (:key, :value) ON CONFLICT DO NOTHING",
                    {"key": key, "value": secrets.token_hex(size)},
                )
                row = tx.execute(query, {"key": key}).fetchone()
        assert row is not None
        return str(row[0])

    # feeds -------------------------------------------------------------------------------

    def feed_caches(self, version: int) -> dict[str, FeedCache]:
        """Every feed's cache that the parser of `version` made (older ones are redone)."""
        rows = self.execute(
            "SELECT url, etag, last_modified, body_hash, entries_meta, parse_notice FROM feeds"
            " WHERE parsed_version = :version AND entries_meta IS NOT NULL",
            {"version": version},
        )
        return {row[0]: FeedCache(row[1], row[2], row[3], row[4], row[5] or "") for row in rows}

    def save_parsed_feed(
        self,
        url: str,
        cache: FeedCache,
        version: int,
        texts: Iterable[tuple[str, bytes]],
        now: datetime,
    ) -> None:
        """A good fetch: validators, the entries, and their texts (id, compressed text)."""
        with self.transaction() as tx:
            tx.execute(
                """INSERT INTO feeds (url, etag, last_modified, body_hash, parsed_version,
                     entries_meta, parse_notice, status, error, checked_at, last_success)
                   VALUES (:url, :etag, :last_modified, :body_hash, :version, :meta, :notice,
                     'ok', NULL, :now, :now)
                   ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,
                     last_modified = excluded.last_modified, body_hash = excluded.body_hash,
                     parsed_version = excluded.parsed_version,
                     entries_meta = excluded.entries_meta, parse_notice = excluded.parse_notice,
                     body = NULL, status = 'ok', error = NULL,
                     checked_at = excluded.checked_at, last_success = excluded.checked_at""",
                {
                    "url": url,
                    "etag": cache.etag,
                    "last_modified": cache.last_modified,
                    "body_hash": cache.body_hash,
                    "version": version,
                    "meta": cache.entries_meta,
                    "notice": cache.notice or None,
                    "now": now.isoformat(),
                },
            )
            tx.execute("DELETE FROM entry_texts WHERE feed_url = :url", {"url": url})
            # in one order, so two processes saving one feed at once never deadlock
            kept = dict(texts)
            tx.executemany(
                "INSERT INTO entry_texts (feed_url, id, text) VALUES (:url, :id, :text)"
                " ON CONFLICT (feed_url, id) DO UPDATE SET text = excluded.text",
                ({"url": url, "id": key, "text": kept[key]} for key in sorted(kept)),
            )

    def entry_texts(self, ids: list[str]) -> dict[str, bytes]:
        """The stored (compressed) text of each id; of an id in several feeds, the longest."""
        found: dict[str, bytes] = {}
        query = "SELECT id, text FROM entry_texts WHERE id IN :ids"
        for entry_id, stored in self.rows_in(query, "ids", ids):
            if len(stored) > len(found.get(entry_id, b"")):
                found[entry_id] = bytes(stored)
        return found

    def record_feed_status(self, url: str, status: str, error: str, now: datetime) -> None:
        """A fetch's outcome; any status but 'failed' also counts as the feed working."""
        success = now.isoformat() if status != "failed" else None
        self.execute(
            """INSERT INTO feeds (url, status, error, checked_at, last_success)
               VALUES (:url, :status, :error, :now, :success)
               ON CONFLICT (url) DO UPDATE SET status = excluded.status,
                 error = excluded.error, checked_at = excluded.checked_at,
                 last_success = COALESCE(excluded.last_success, feeds.last_success)""",
            {
                "url": url,
                "status": status,
                "error": error or None,
                "now": now.isoformat(),
                "success": success,
            },
        )

    def record_move(self, url: str, moved_to: str, now: datetime) -> None:
        """A permanent redirect: later fetches of `url` go to `moved_to`."""
        self.execute(
            """INSERT INTO feeds (url, moved_to, moved_at) VALUES (:url, :to, :now)
               ON CONFLICT (url) DO UPDATE SET moved_to = excluded.moved_to,
                 moved_at = excluded.moved_at""",
            {"url": url, "to": moved_to, "now": now.isoformat()},
        )

    def retire_feed(self, url: str, reason: str, now: datetime) -> None:
        """The server said the feed is gone for good (410): it is not fetched again."""
        self.execute(
            """INSERT INTO feeds (url, retired_at, retired_reason) VALUES (:url, :now, :why)
               ON CONFLICT (url) DO UPDATE SET retired_at = excluded.retired_at,
                 retired_reason = excluded.retired_reason""",
            {"url": url, "now": now.isoformat(), "why": reason},
        )

    def defer_feed(self, url: str, until: datetime) -> None:
        """The server asked us to come back later (Retry-After): no fetch before `until`."""
        self.execute(
            """INSERT INTO feeds (url, retry_at) VALUES (:url, :until)
               ON CONFLICT (url) DO UPDATE SET retry_at = excluded.retry_at""",
            {"url": url, "until": until.isoformat()},
        )

    def keep_fresh(self, url: str, until: datetime | None) -> None:
        """No fetch before `until` (None: fetch next time), as the server's caching allows."""
        self.execute(
            "UPDATE feeds SET fresh_until = :until WHERE url = :url",
            {"until": until.isoformat() if until else None, "url": url},
        )

    def forget_feed(self, url: str) -> None:
        """Drop what is known of a feed URL (its cache, move and retirement): a fresh start."""
        with self.transaction() as tx:
            tx.execute("DELETE FROM feeds WHERE url = :url", {"url": url})
            tx.execute("DELETE FROM entry_texts WHERE feed_url = :url", {"url": url})

    def feed_records(self) -> dict[str, FeedRecord]:
        rows = self.execute(
            "SELECT url, status, error, checked_at, last_success, moved_to, moved_at,"
            " retired_at, retired_reason, retry_at, fresh_until FROM feeds"
        )
        return {row[0]: _feed_record(tuple(row)) for row in rows}

    # entries -----------------------------------------------------------------------------

    def remember_entries(self, entries: Iterable[tuple[str, str, str, str]], now: datetime) -> None:
        """Record (id, feed, link, title) rows not seen before, first seen `now` (in one
        order, so two processes recording at once never deadlock)."""
        seen = now.isoformat()
        rows = sorted({row[0]: row for row in entries}.values())
        self.executemany(
            "INSERT INTO entries (id, feed, link, title, first_seen)"
            " VALUES (:id, :feed, :link, :title, :seen) ON CONFLICT DO NOTHING",
            (
                {"id": i, "feed": f, "link": link, "title": t, "seen": seen}
                for i, f, link, t in rows
            ),
        )

    def first_seen(self, ids: list[str]) -> dict[str, datetime]:
        query = "SELECT id, first_seen FROM entries WHERE id IN :ids"
        return {i: datetime.fromisoformat(seen) for i, seen in self.rows_in(query, "ids", ids)}

    # article pages --------------------------------------------------------------------------

    def cached_page(self, url: str) -> CachedPage | None:
        row = self.execute(
            "SELECT article, failure, fetched_at FROM pages WHERE url = :url", {"url": url}
        ).fetchone()
        if row is None:
            return None
        article = _article_from_json(row[0]) if row[0] else None
        return CachedPage(url, article, row[1] or "", datetime.fromisoformat(row[2]))

    def save_page(self, url: str, article: Article | None, failure: str, now: datetime) -> None:
        stored = _article_to_json(article) if article is not None else None
        self.execute(
            "INSERT INTO pages (url, article, failure, fetched_at)"
            " VALUES (:url, :article, :failure, :now)"
            " ON CONFLICT (url) DO UPDATE SET article = excluded.article,"
            " failure = excluded.failure, fetched_at = excluded.fetched_at",
            {"url": url, "article": stored, "failure": failure or None, "now": now.isoformat()},
        )


def _feed_record(row: tuple[Any, ...]) -> FeedRecord:
    url, status, error, checked, success, moved_to, moved_at, retired, reason, retry_at, fresh = row
    return FeedRecord(
        url,
        status,
        error,
        _when(checked),
        _when(success),
        moved_to,
        _when(moved_at),
        _when(retired),
        reason,
        _when(retry_at),
        _when(fresh),
    )


def _when(stored: str | None) -> datetime | None:
    return datetime.fromisoformat(stored) if stored else None


def _article_to_json(article: Article) -> str:
    fields = asdict(article)
    fields["date"] = article.date.isoformat() if article.date else None
    return json.dumps(fields)


def _article_from_json(stored: str) -> Article:
    fields = json.loads(stored)
    fields["date"] = datetime.fromisoformat(fields["date"]) if fields.get("date") else None
    return Article(**fields)


def utcnow() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=512)
def _text(sql: str, lists: tuple[tuple[str, bool], ...]) -> TextClause:
    """The statement parsed once (SQLAlchemy then reuses its compiled form). A list parameter
    expands into IN (...), typed (an empty list must still compare as text, or as integers)."""
    clause = text(sql)
    if not lists:
        return clause
    typed = (
        bindparam(name, expanding=True, type_=Integer() if ints else String())
        for name, ints in lists
    )
    return clause.bindparams(*typed)


def _is_ints(values: Sequence[Any]) -> bool:
    return bool(values) and all(isinstance(value, int) for value in values)
