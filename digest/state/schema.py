"""The schema: every table, as SQLAlchemy Core declares it, and how a database reaches it.

`TABLES` is the schema at `VERSION`. A new database, on either engine, is made from it in one
transaction; its version is the one row of `schema_version`. A database at an older version
is brought up by the steps after its version, each in one transaction with the version it
reaches, so a failure leaves it as it was. Two processes opening a new or old database at once
take turns (the schema lock); the second finds the work done. A database whose version is
newer than `VERSION` is refused: this digest does not know its tables.

Versions 1 to 9 are history: they were written for SQLite alone, kept its version in `PRAGMA
user_version` and ran as the scripts in `SQLITE_HISTORY` (kept verbatim, so a file made by any
older digest upgrades in place). Step 10 (issue 22) moves such a file onto this schema: the
tables whose shape changed are rebuilt (outbox, bounces and subscriber_events get an id to
order by, outbox rows their claims, issues lose the claim that rows now hold; the others are
rebuilt too, so that an upgraded file and a new one have exactly one schema), the new tables
are made, and the scheduler's missed run moves out of APScheduler's job table. Steps after 10
are written once, for both engines, in STEPS.

Why not Alembic: ten steps of which nine are one engine's history, no models to
autogenerate from, and the upgrade must run inside `State.open` with our lock and our errors;
a list of functions and a version row does that in a page.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    inspect,
)
from sqlalchemy.schema import CreateTable

from digest.state.engine import Dialect, StateError, Target

VERSION = 10
metadata = MetaData()


feeds = Table(
    "feeds",
    metadata,
    Column("url", Text, primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("body", LargeBinary),  # unused since 6 (entries are kept parsed); NULL
    Column("status", Text),
    Column("error", Text),
    Column("checked_at", Text),
    Column("last_success", Text),
    Column("moved_to", Text),  # a permanent redirect's target, fetched instead
    Column("moved_at", Text),
    Column("retired_at", Text),  # 410 Gone: not fetched any more
    Column("retired_reason", Text),
    Column("retry_at", Text),  # a 429/503 with Retry-After: not before then
    Column("body_hash", Text),
    Column("parsed_version", Integer),
    Column("entries_meta", Text),  # JSON: the entries without their text
    Column("parse_notice", Text),
    Column("fresh_until", Text),  # Cache-Control max-age
)
entries = Table(
    "entries",
    metadata,
    Column("id", Text, primary_key=True),
    Column("feed", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("first_seen", Text, nullable=False),
)
pages = Table(  # article pages fetched for teaser entries
    "pages",
    metadata,
    Column("url", Text, primary_key=True),
    Column("article", Text),  # the extracted Article as JSON; NULL when it failed
    Column("failure", Text),
    Column("fetched_at", Text, nullable=False),
)
issues = Table(
    "issues",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("period_start", Text, nullable=False),
    Column("period_end", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("sent_at", Text),  # set when no outbox row is pending any more
)
issue_entries = Table(
    "issue_entries",
    metadata,
    Column("entry_id", Text, primary_key=True),  # an entry goes out in one issue only
    Column("issue", Integer, ForeignKey("issues.number"), nullable=False),
    Column("link", Text, nullable=False),
    Column("position", Integer, nullable=False),
)
outbox = Table(  # one row per issue and reader: what is owed, and who is sending it
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),  # the order readers are sent in
    Column("issue", Integer, ForeignKey("issues.number"), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),  # pending|sent|failed|skipped
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("reply", Text),  # the server's last reply
    Column("message_id", Text),
    Column("sent_at", Text),
    Column("owed_since", Text),  # NULL: since the issue was created
    Column("edition", Text),  # the reader's sections; NULL: the whole issue
    Column("claimed_by", Text),  # host:pid:token of the sender holding the row
    Column("claim_expires", Text),  # its lease: after this, anyone may take the row
    UniqueConstraint("issue", "recipient", name="outbox_issue_recipient"),
    Index("outbox_pending", "status", "issue", "id"),
)
entry_texts = Table(
    "entry_texts",
    metadata,
    Column("feed_url", Text, primary_key=True),
    Column("id", Text, primary_key=True),
    Column("text", LargeBinary, nullable=False),  # zlib-compressed UTF-8
    Index("entry_texts_id", "id"),
)
meta = Table(  # the install id, the link secret: random values made once
    "meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)
bounces = Table(
    "bounces",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("address", Text, nullable=False),  # lower case
    Column("kind", Text, nullable=False),  # permanent | temporary
    Column("issue", Integer),  # the issue it answers, when the bounce says
    Column("detail", Text, nullable=False),
    Column("received_at", Text, nullable=False),
    Column("source", Text, nullable=False),  # dsn | smtp (refused at RCPT during a send)
    Column("message", Text),  # sha256 of the bounce read: read twice, counted once
    Index("bounces_address", "address", "received_at"),
    Index("bounces_message", "message"),
)
suppressed = Table(
    "suppressed",
    metadata,
    Column("address", Text, primary_key=True),  # lower case
    Column("reason", Text, nullable=False),
    Column("since", Text, nullable=False),
)
lifted = Table(  # a person took the address off the suppression list: earlier bounces void
    "lifted",
    metadata,
    Column("address", Text, primary_key=True),
    Column("since", Text, nullable=False),
)
subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", Text, nullable=False),  # as given (domain normalised), the address mailed
    Column("email_key", Text, nullable=False, unique=True),  # lower case: how addresses compare
    Column("name", Text, nullable=False, server_default=""),  # display name, for To
    Column("status", Text, nullable=False),  # pending | active | paused | unsubscribed
    Column("via", Text, nullable=False),  # form, import, config, one-click, page...
    Column("status_at", Text, nullable=False),
    Column("sections", Text),  # JSON list of section titles; NULL: every section
    Column("created_at", Text, nullable=False),
    Column("created_via", Text, nullable=False),
    Column("confirmed_at", Text),  # when the double opt-in was completed
)
# No index on status or on the events: an unsubscribe writes two table pages, not four; what
# reads them (a send's list, `digest subscribers`) scans once per run.
subscriber_events = Table(  # every change of status, once: the consent record
    "subscriber_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subscriber", Integer, ForeignKey("subscribers.id"), nullable=False),
    Column("status", Text, nullable=False),
    Column("via", Text, nullable=False),
    Column("at", Text, nullable=False),
)
letters = Table(  # one-off mail owed (a confirmation), sent once
    "letters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", Text, nullable=False),  # confirm | subscribed (already on the list)
    Column("subscriber", Integer, ForeignKey("subscribers.id"), nullable=False),
    Column("recipient", Text, nullable=False),  # lower case
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("reply", Text),
    Column("created_at", Text, nullable=False),
    Column("sent_at", Text),
    Column("claimed_by", Text),
    Column("claim_expires", Text),
    Index("letters_pending", "status", "id"),
    Index("letters_recipient", "recipient", "created_at"),
)
editions = Table(  # an issue rendered for one choice of sections
    "editions",
    metadata,
    Column("issue", Integer, ForeignKey("issues.number"), primary_key=True),
    Column("sections", Text, primary_key=True),  # the choice, as subscribers.sections
    Column("subject", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("text", Text, nullable=False),
)
schedule = Table(  # when each scheduled job is next due: a run missed while down is known
    "schedule",
    metadata,
    Column("job", Text, primary_key=True),
    Column("next_due", Text),
)
schedule_runs = Table(  # each run of a job, fired once by whichever scheduler came first
    "schedule_runs",
    metadata,
    Column("job", Text, primary_key=True),
    Column("due", Text, primary_key=True),
    Column("fired_by", Text, nullable=False),
    Column("fired_at", Text, nullable=False),
)
client_hits = Table(  # subscribe requests per client address, shared by every server
    "client_hits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client", Text, nullable=False),
    Column("at", Text, nullable=False),
    Index("client_hits_client", "client", "at"),
)
schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))


SQLITE_HISTORY: list[str] = [
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


Step = Callable[[Connection, Dialect], None]
STEPS: dict[int, Step] = {}  # the version a step reaches -> the step (after 10: both engines)
SCHEMA_LOCK = "digest schema"


def version_of(conn: Connection) -> int | None:
    """The schema version; 0 for an empty database; None for one that holds tables of ours
    but no version (not a digest database, or one another program made)."""
    names = set(inspect(conn).get_table_names())
    if schema_version.name in names:
        found = conn.execute(schema_version.select()).scalar()
        return int(found) if found is not None else None
    if conn.dialect.name == "sqlite":  # versions 1-9 kept their number in the file's header
        legacy = int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
        if legacy:
            return legacy
    return 0 if not names & set(metadata.tables) else None


def upgrade(conn: Connection, dialect: Dialect, place: Target) -> tuple[int, int]:
    """Bring the database to VERSION; (the version found, VERSION). Raises StateError for a
    newer schema or for tables that are not a digest database's."""
    found = _checked(version_of(conn), place)
    if found == VERSION:
        return found, found
    if 0 < found < len(SQLITE_HISTORY):
        _sqlite_history(conn, found)
    if found <= len(SQLITE_HISTORY) and found:
        _to_ten(conn, dialect, place)
    while (now := _checked(version_of(conn), place)) < VERSION:
        _one_step(conn, dialect, place, now)
    return found, VERSION


def _checked(found: int | None, place: Target) -> int:
    if found is None:
        raise StateError(
            f"state database {place.shown}: it holds tables named as digest's but no schema "
            "version: not a digest database (use an empty database)",
            2,
        )
    if found > VERSION:
        raise StateError(
            f"state database {place.shown}: its schema is version {found}, newer than this "
            f"digest knows ({VERSION}): a newer digest wrote it; upgrade digest to use it",
            2,
        )
    return found


def _one_step(conn: Connection, dialect: Dialect, place: Target, found: int) -> None:
    """From an empty database to VERSION, or one step after 10, in one transaction."""
    dialect.begin(conn)
    try:
        dialect.lock(conn, SCHEMA_LOCK)
        now = _checked(version_of(conn), place)  # another process may have done it meanwhile
        if now == 0:
            metadata.create_all(conn)
            conn.execute(schema_version.insert().values(version=VERSION))
        elif now < VERSION:
            STEPS[now + 1](conn, dialect)
            conn.execute(schema_version.update().values(version=now + 1))
    except BaseException:
        conn.exec_driver_sql("ROLLBACK")
        raise
    conn.exec_driver_sql("COMMIT")


def _sqlite_history(conn: Connection, found: int) -> None:
    """Versions up to 9 as older digests made them: each script with its user_version, in one
    transaction. Two processes upgrading one file at once: the second's step fails on a table
    the first made; it reads the version again and goes on from there."""
    raw: sqlite3.Connection = conn.connection.dbapi_connection  # type: ignore[assignment]
    version = found
    while version < len(SQLITE_HISTORY):
        script = SQLITE_HISTORY[version]
        try:
            raw.executescript(
                f"BEGIN IMMEDIATE; {script}; PRAGMA user_version = {version + 1}; COMMIT;"
            )
        except sqlite3.OperationalError:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            if _user_version(raw) == version:  # nobody else moved it on: a real failure
                raise
        version = _user_version(raw)


def _user_version(raw: sqlite3.Connection) -> int:
    return int(raw.execute("PRAGMA user_version").fetchone()[0])


NEW_IN_TEN = ("schedule", "schedule_runs", "client_hits", "schema_version")


def _to_ten(conn: Connection, dialect: Dialect, place: Target) -> None:
    """Step 10 on a SQLite file of version 9: every table rebuilt as TABLES declares it, so an
    upgraded file and a new one have one schema (SQLite's own recipe: a new table, the rows
    copied, the old one dropped, the new one renamed; foreign keys off meanwhile and checked
    before the commit), the new tables made, the scheduler's next run carried over from
    APScheduler's table."""
    raw: sqlite3.Connection = conn.connection.dbapi_connection  # type: ignore[assignment]
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        dialect.begin(conn)
        try:
            if schema_version.name not in inspect(conn).get_table_names():
                for table in metadata.sorted_tables:
                    if table.name not in NEW_IN_TEN:
                        _rebuild(conn, table)
                metadata.create_all(conn, [metadata.tables[name] for name in NEW_IN_TEN])
                _carry_scheduler(conn)
                conn.execute(schema_version.insert().values(version=10))
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise StateError(
                        f"state database {place.shown}: rows referring to rows that do not "
                        f"exist ({len(broken)}, in {broken[0][0]}); nothing was changed"
                    )
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _rebuild(conn: Connection, table: Table) -> None:
    old = {column["name"] for column in inspect(conn).get_columns(table.name)}
    made = str(CreateTable(table).compile(dialect=conn.dialect)).strip()
    conn.exec_driver_sql(
        made.replace(f"CREATE TABLE {table.name} ", f"CREATE TABLE {table.name}__new ", 1)
    )
    kept = [c.name for c in table.columns if c.name in old]
    into, source = list(kept), list(kept)
    if "id" in table.columns and "id" not in old:  # numbered in the order they were written
        into.append("id")
        source.append("rowid")
    conn.exec_driver_sql(
        f"INSERT INTO {table.name}__new ({', '.join(into)})"
        f" SELECT {', '.join(source)} FROM {table.name} ORDER BY rowid"
    )
    for found in inspect(conn).get_indexes(table.name):
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {found['name']}")
    conn.exec_driver_sql(f"DROP TABLE {table.name}")
    conn.exec_driver_sql(f"ALTER TABLE {table.name}__new RENAME TO {table.name}")
    for index in table.indexes:
        index.create(conn)


def _carry_scheduler(conn: Connection) -> None:
    """APScheduler's job table held the send job's next run; `schedule` holds it now."""
    if "apscheduler_jobs" not in inspect(conn).get_table_names():
        return
    row = conn.exec_driver_sql(
        "SELECT next_run_time FROM apscheduler_jobs WHERE id = 'digest-send'"
    ).fetchone()
    if row is not None and row[0] is not None:
        due = datetime.fromtimestamp(float(row[0]), UTC).isoformat()
        conn.execute(schedule.insert().values(job="digest-send", next_due=due))
    conn.exec_driver_sql("DROP TABLE apscheduler_jobs")
