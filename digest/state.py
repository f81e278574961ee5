"""SQLite state: feeds' HTTP validators and last bodies, entries seen; issues and their outbox
(digest/sending/outbox.py reads and writes those); subscribers and letters
(digest/sending/subscribers.py).

One file, WAL mode, every write in a transaction, so a crash mid-run leaves the database as it
was before that write. The schema version lives in `PRAGMA user_version`; later versions add
tables with new steps in MIGRATIONS.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digest.errors import DigestError
from digest.models import Article

MIGRATIONS: list[str] = [
    """
    CREATE TABLE feeds (
        url TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        body BLOB,                -- the last good response, re-parsed on 304 Not Modified
        status TEXT,
        error TEXT,
        checked_at TEXT
    );
    CREATE TABLE entries (
        id TEXT PRIMARY KEY,
        feed TEXT NOT NULL,
        link TEXT NOT NULL,
        title TEXT NOT NULL,
        first_seen TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE pages (          -- article pages fetched for teaser entries
        url TEXT PRIMARY KEY,
        article TEXT,             -- the extracted Article as JSON; NULL when it failed
        failure TEXT,
        fetched_at TEXT NOT NULL
    );
    """,
    # 3 (issue 5): issues, their entries, and the outbox: one row per issue and recipient.
    """
    CREATE TABLE issues (
        number INTEGER PRIMARY KEY,
        period_start TEXT NOT NULL,
        period_end TEXT NOT NULL,
        subject TEXT NOT NULL,
        html TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at TEXT NOT NULL,
        sent_at TEXT,                 -- set when no outbox row is pending any more
        claimed_by TEXT,              -- host:pid:token of the process sending it
        claim_expires TEXT
    );
    CREATE TABLE issue_entries (
        entry_id TEXT PRIMARY KEY,    -- an entry goes out in one issue only
        issue INTEGER NOT NULL REFERENCES issues(number),
        link TEXT NOT NULL,
        position INTEGER NOT NULL
    );
    CREATE TABLE outbox (
        issue INTEGER NOT NULL REFERENCES issues(number),
        recipient TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',   -- pending | sent | failed
        attempts INTEGER NOT NULL DEFAULT 0,
        reply TEXT,                   -- the server's last reply
        message_id TEXT,
        sent_at TEXT,
        PRIMARY KEY (issue, recipient)
    );
    CREATE INDEX outbox_pending ON outbox (status, issue);
    """,
    # 4 (issues 9, 10): a feed's health beyond its last status: when it last worked, where a
    # permanent redirect (301/308) moved it, and whether the server said it is gone (410).
    """
    ALTER TABLE feeds ADD COLUMN last_success TEXT;
    ALTER TABLE feeds ADD COLUMN moved_to TEXT;   -- fetched instead of the configured URL
    ALTER TABLE feeds ADD COLUMN moved_at TEXT;
    ALTER TABLE feeds ADD COLUMN retired_at TEXT; -- 410 Gone: not fetched any more
    ALTER TABLE feeds ADD COLUMN retired_reason TEXT;
    """,
    # 5 (issue 10): a 429 or 503 with Retry-After: not fetched again before then.
    """
    ALTER TABLE feeds ADD COLUMN retry_at TEXT;
    """,
    # 6 (issue 12): a feed's parsed entries instead of its body, so that a 304 (or the same
    # bytes again) costs no parsing; the entries' texts apart, loaded only for the chosen few.
    """
    ALTER TABLE feeds ADD COLUMN body_hash TEXT;
    ALTER TABLE feeds ADD COLUMN parsed_version INTEGER;
    ALTER TABLE feeds ADD COLUMN entries_meta TEXT;   -- JSON: the entries without their text
    ALTER TABLE feeds ADD COLUMN parse_notice TEXT;
    UPDATE feeds SET body = NULL;
    CREATE TABLE entry_texts (
        feed_url TEXT NOT NULL,
        id TEXT NOT NULL,
        text BLOB NOT NULL,       -- zlib-compressed UTF-8
        PRIMARY KEY (feed_url, id)
    );
    CREATE INDEX entry_texts_id ON entry_texts (id);
    """,
    # 7 (issue 12): the server said the feed stays fresh until then (Cache-Control max-age).
    """
    ALTER TABLE feeds ADD COLUMN fresh_until TEXT;
    """,
    # 8 (issue 19): this database's random install id (in Message-IDs); since when a row is
    # owed (a deferral ends after smtp.give_up_after); bounces and the suppression list.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    ALTER TABLE outbox ADD COLUMN owed_since TEXT;  -- NULL: since the issue was created
    CREATE TABLE bounces (
        address TEXT NOT NULL,        -- lower case
        kind TEXT NOT NULL,           -- permanent | temporary
        issue INTEGER,                -- the issue it answers, when the bounce says
        detail TEXT NOT NULL,
        received_at TEXT NOT NULL,
        source TEXT NOT NULL,         -- dsn | smtp (refused at RCPT during a send)
        message TEXT                  -- sha256 of the bounce read: read twice, counted once
    );
    CREATE INDEX bounces_address ON bounces (address, received_at);
    CREATE INDEX bounces_message ON bounces (message);
    CREATE TABLE suppressed (
        address TEXT PRIMARY KEY,     -- lower case
        reason TEXT NOT NULL,
        since TEXT NOT NULL
    );
    CREATE TABLE lifted (             -- a person took the address off the list: bounces
        address TEXT PRIMARY KEY,     -- before then no longer count towards a row
        since TEXT NOT NULL
    );
    """,
    # 9 (issue 20): the subscriber list (digest/sending/subscribers.py owns these tables), the
    # history of each subscriber's status, one-off letters (confirmations) owed, and the
    # editions of an issue (one per distinct choice of sections) with each row's edition.
    # Suppression is not a status here: it is the `suppressed` table, joined when read.
    """
    CREATE TABLE subscribers (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL,              -- as given (domain normalised), the address mailed
        email_key TEXT NOT NULL UNIQUE,   -- lower case: how addresses compare
        name TEXT NOT NULL DEFAULT '',    -- display name, for the To header
        status TEXT NOT NULL,             -- pending | active | paused | unsubscribed
        via TEXT NOT NULL,                -- how it got there: form, import, config, one-click...
        status_at TEXT NOT NULL,
        sections TEXT,                    -- JSON list of section titles; NULL: every section
        created_at TEXT NOT NULL,
        created_via TEXT NOT NULL,
        confirmed_at TEXT                 -- when the double opt-in was completed
    );
    CREATE TABLE subscriber_events (      -- every change of status, once: the consent record
        subscriber INTEGER NOT NULL REFERENCES subscribers(id),
        status TEXT NOT NULL,
        via TEXT NOT NULL,
        at TEXT NOT NULL
    );
    -- No index on status or on the events: an unsubscribe writes two table pages, not four;
    -- what reads them (a send's list, `digest subscribers`) scans once per run.
    CREATE TABLE letters (                -- one-off mail owed (a confirmation), sent once
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,               -- confirm | subscribed (already on the list)
        subscriber INTEGER NOT NULL REFERENCES subscribers(id),
        recipient TEXT NOT NULL,          -- lower case
        status TEXT NOT NULL DEFAULT 'pending',   -- pending | sent | failed | skipped
        attempts INTEGER NOT NULL DEFAULT 0,
        reply TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        claimed_by TEXT,
        claim_expires TEXT
    );
    CREATE INDEX letters_pending ON letters (status, id);
    CREATE INDEX letters_recipient ON letters (recipient, created_at);
    CREATE TABLE editions (               -- an issue rendered for one choice of sections
        issue INTEGER NOT NULL REFERENCES issues(number),
        sections TEXT NOT NULL,           -- the choice, as subscribers.sections spells it
        subject TEXT NOT NULL,
        html TEXT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (issue, sections)
    );
    ALTER TABLE outbox ADD COLUMN edition TEXT;   -- NULL: the whole issue
    """,
]


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


class StateError(DigestError):
    pass


class State:
    """The state database. Open with `State.open(path)`; use as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path) -> State:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            _switch_to_wal(conn)
            conn.execute("PRAGMA busy_timeout=30000")
            # WAL with NORMAL: a commit survives the process dying (kill -9), only not a power
            # cut; without an fsync per commit, marking each message sent costs microseconds.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            _migrate(conn)
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"state database {path}: {exc} (move it aside to start afresh)"
            ) from None
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any error. Inside another transaction
        it joins that one (a batch of writes commits once)."""
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def install_id(self) -> str:
        """This database's random id, made on first use and kept: Message-IDs carry it, so
        two installs (or two lists) sending issue 1 to one reader never share an id."""
        return self.kept_random("install_id", 6)

    def kept_random(self, key: str, size: int) -> str:
        """A random hex value of `size` bytes made on first use and kept in `meta` (two
        processes asking at once get the same one)."""
        query = "SELECT value FROM meta WHERE key = ?"
        row = self.conn.execute(query, (key,)).fetchone()
        if row is None:
            with self.transaction() as conn:
                conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                    (key, secrets.token_hex(size)),
                )
                row = conn.execute(query, (key,)).fetchone()
        return str(row[0])

    # feeds -------------------------------------------------------------------------------

    def feed_caches(self, version: int) -> dict[str, FeedCache]:
        """Every feed's cache that the parser of `version` made (older ones are redone)."""
        rows = self.conn.execute(
            "SELECT url, etag, last_modified, body_hash, entries_meta, parse_notice FROM feeds"
            " WHERE parsed_version = ? AND entries_meta IS NOT NULL",
            (version,),
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
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO feeds (url, etag, last_modified, body_hash, parsed_version,
                     entries_meta, parse_notice, status, error, checked_at, last_success)
                   VALUES (?, ?, ?, ?, ?, ?, ?, 'ok', NULL, ?, ?)
                   ON CONFLICT(url) DO UPDATE SET etag = excluded.etag,
                     last_modified = excluded.last_modified, body_hash = excluded.body_hash,
                     parsed_version = excluded.parsed_version,
                     entries_meta = excluded.entries_meta, parse_notice = excluded.parse_notice,
                     body = NULL, status = 'ok', error = NULL,
                     checked_at = excluded.checked_at, last_success = excluded.checked_at""",
                (
                    url,
                    cache.etag,
                    cache.last_modified,
                    cache.body_hash,
                    version,
                    cache.entries_meta,
                    cache.notice or None,
                    now.isoformat(),
                    now.isoformat(),
                ),
            )
            conn.execute("DELETE FROM entry_texts WHERE feed_url = ?", (url,))
            conn.executemany(
                "INSERT OR REPLACE INTO entry_texts (feed_url, id, text) VALUES (?, ?, ?)",
                ((url, entry_id, text) for entry_id, text in texts),
            )

    def entry_texts(self, ids: list[str]) -> dict[str, bytes]:
        """The stored (compressed) text of each id; of an id in several feeds, the longest."""
        found: dict[str, bytes] = {}
        for start in range(0, len(ids), 500):  # stay under SQLite's variable limit
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT id, text FROM entry_texts WHERE id IN ({marks})"
            for entry_id, text in self.conn.execute(query, chunk):
                if len(text) > len(found.get(entry_id, b"")):
                    found[entry_id] = text
        return found

    def record_feed_status(self, url: str, status: str, error: str, now: datetime) -> None:
        """A fetch's outcome; any status but 'failed' also counts as the feed working."""
        success = now.isoformat() if status != "failed" else None
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO feeds (url, status, error, checked_at, last_success)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT(url) DO UPDATE SET status = excluded.status,
                     error = excluded.error, checked_at = excluded.checked_at,
                     last_success = COALESCE(excluded.last_success, last_success)""",
                (url, status, error or None, now.isoformat(), success),
            )

    def record_move(self, url: str, moved_to: str, now: datetime) -> None:
        """A permanent redirect: later fetches of `url` go to `moved_to`."""
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO feeds (url, moved_to, moved_at) VALUES (?, ?, ?)
                   ON CONFLICT(url) DO UPDATE SET moved_to = excluded.moved_to,
                     moved_at = excluded.moved_at""",
                (url, moved_to, now.isoformat()),
            )

    def retire_feed(self, url: str, reason: str, now: datetime) -> None:
        """The server said the feed is gone for good (410): it is not fetched again."""
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO feeds (url, retired_at, retired_reason) VALUES (?, ?, ?)
                   ON CONFLICT(url) DO UPDATE SET retired_at = excluded.retired_at,
                     retired_reason = excluded.retired_reason""",
                (url, now.isoformat(), reason),
            )

    def defer_feed(self, url: str, until: datetime) -> None:
        """The server asked us to come back later (Retry-After): no fetch before `until`."""
        with self.transaction() as conn:
            conn.execute(
                """INSERT INTO feeds (url, retry_at) VALUES (?, ?)
                   ON CONFLICT(url) DO UPDATE SET retry_at = excluded.retry_at""",
                (url, until.isoformat()),
            )

    def keep_fresh(self, url: str, until: datetime | None) -> None:
        """No fetch before `until` (None: fetch next time), as the server's caching allows."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE feeds SET fresh_until = ? WHERE url = ?",
                (until.isoformat() if until else None, url),
            )

    def forget_feed(self, url: str) -> None:
        """Drop what is known of a feed URL (its cache, move and retirement): a fresh start."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM feeds WHERE url = ?", (url,))
            conn.execute("DELETE FROM entry_texts WHERE feed_url = ?", (url,))

    def feed_records(self) -> dict[str, FeedRecord]:
        rows = self.conn.execute(
            "SELECT url, status, error, checked_at, last_success, moved_to, moved_at,"
            " retired_at, retired_reason, retry_at, fresh_until FROM feeds"
        )
        return {row[0]: _feed_record(row) for row in rows}

    # entries -----------------------------------------------------------------------------

    def remember_entries(self, entries: Iterable[tuple[str, str, str, str]], now: datetime) -> None:
        """Record (id, feed, link, title) rows not seen before, first seen `now`."""
        seen = now.isoformat()
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO entries (id, feed, link, title, first_seen)"
                " VALUES (?, ?, ?, ?, ?)",
                ((*row, seen) for row in entries),
            )

    def first_seen(self, ids: list[str]) -> dict[str, datetime]:
        found: dict[str, datetime] = {}
        for start in range(0, len(ids), 500):  # stay under SQLite's variable limit
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for entry_id, seen in self.conn.execute(
                f"SELECT id, first_seen FROM entries WHERE id IN ({marks})", chunk
            ):
                found[entry_id] = datetime.fromisoformat(seen)
        return found

    # article pages --------------------------------------------------------------------------

    def cached_page(self, url: str) -> CachedPage | None:
        row = self.conn.execute(
            "SELECT article, failure, fetched_at FROM pages WHERE url = ?", (url,)
        ).fetchone()
        if row is None:
            return None
        article = _article_from_json(row[0]) if row[0] else None
        return CachedPage(url, article, row[1] or "", datetime.fromisoformat(row[2]))

    def save_page(self, url: str, article: Article | None, failure: str, now: datetime) -> None:
        stored = _article_to_json(article) if article is not None else None
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO pages (url, article, failure, fetched_at)"
                " VALUES (?, ?, ?, ?)",
                (url, stored, failure or None, now.isoformat()),
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


def _switch_to_wal(conn: sqlite3.Connection, patience: float = 30.0) -> None:
    """WAL mode, waiting for other processes that are opening the same new file. SQLite does
    not call the busy handler for this switch (it fails at once with "database is locked"
    while another connection holds a lock), so the wait is done here."""
    give_up = time.monotonic() + patience
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > give_up:
                raise
            time.sleep(0.02)


def _migrate(conn: sqlite3.Connection) -> None:
    """Apply the missing steps, one transaction each. Two processes opening a new database at
    once (two schedulers) both read the old version; the second one's step then fails on a
    table the first created, and it re-reads the version and goes on from there."""
    while (version := _version(conn)) < len(MIGRATIONS):
        script = MIGRATIONS[version]
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE; {script}; PRAGMA user_version = {version + 1}; COMMIT;"
            )
        except sqlite3.OperationalError:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if _version(conn) == version:  # nobody else migrated: a real failure
                raise


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def utcnow() -> datetime:
    return datetime.now(UTC)
