"""Where the state lives: a database URL made into an SQLAlchemy engine, and every difference
between the two engines we run on, in this one module.

`sqlite:///path` (the default: the file `state_db` names) or `postgresql://user@host/db`
(`database_url:`; driven by psycopg 3: libpq underneath, so PGPASSWORD, ~/.pgpass, service
files and sslmode work as in psql, and statements run often are prepared on the server by
itself). The code above writes SQL both engines read alike (`INSERT ... ON CONFLICT`,
`RETURNING`, SQLAlchemy Core's `with_for_update(skip_locked=True)`, which SQLite drops); what
cannot be written alike is a method of `Dialect`:

- **transactions**: SQLite takes the write lock when a transaction starts (BEGIN IMMEDIATE:
  one writer at a time, so a transaction that reads and then writes never has to be retried);
  PostgreSQL begins plainly (READ COMMITTED), and a transaction that must not interleave with
  another on the same thing takes a named lock (`pg_advisory_xact_lock`, released at commit).
- **connection settings**: SQLite: WAL, NORMAL sync (a commit survives the process dying, not
  a power cut), a 30 s busy wait, foreign keys on. PostgreSQL: a connect timeout; a sender's
  marks commit without waiting for the disk (`synchronous_commit = off`: the same promise as
  SQLite's NORMAL, a commit survives any digest process dying).
- **after rows are copied in with their ids**: PostgreSQL's sequences are moved past them.
- **being local**: a SQLite statement is a function call; a PostgreSQL one a round trip, which
  the public server's event loop must not wait for.

Every connection is opened when a State opens and closed when it closes (no pool): a process
holds one or two, a fork inherits none, and a test run leaves none behind.
"""

from __future__ import annotations

import hashlib
import re
import select
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.pool import NullPool, StaticPool

from digest.errors import DigestError

SQLITE_SCHEMES = ("sqlite",)
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
Params = Mapping[str, Any]
CONNECT_TIMEOUT = 10  # seconds to reach a PostgreSQL server before saying it is unreachable


class StateError(DigestError):
    """The state database cannot be opened or used: the message names it (password masked)
    and why. Exit 2 when the fix is in the settings (credentials, a database that does not
    exist, a schema newer than this digest), 4 when it could not be reached or written."""

    def __init__(self, message: str, exit_code: int = 4) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class Target:
    """A state database: the URL SQLAlchemy opens, and how it is shown (password masked)."""

    url: str
    shown: str
    path: Path | None = None  # the SQLite file; None for PostgreSQL and for :memory:

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


def target(where: str | Path | Target) -> Target:
    """A Path is a SQLite file (":memory:" none at all); a string is a database URL."""
    if isinstance(where, Target):
        return where
    if isinstance(where, Path):
        if str(where) == ":memory:":
            return Target("sqlite://", ":memory:")
        return Target(f"sqlite:///{where}", str(where), where)
    try:
        url = make_url(where)
    except ArgumentError:
        raise StateError(f"database_url {mask(where)}: not a database URL", 2) from None
    shown = url.render_as_string(hide_password=True)
    if url.drivername in SQLITE_SCHEMES:
        path = Path(url.database) if url.database and url.database != ":memory:" else None
        return Target(url.render_as_string(hide_password=False), shown, path)
    if url.drivername in POSTGRES_SCHEMES:
        driven = url.set(drivername="postgresql+psycopg")
        return Target(driven.render_as_string(hide_password=False), shown)
    raise StateError(
        f"database_url {shown}: digest keeps its state in SQLite (sqlite:///path) or "
        "PostgreSQL (postgresql://user@host/database), not "
        f"{url.drivername.partition('+')[0]}",
        2,
    )


def mask(url: str) -> str:
    """The URL as it may be shown: its password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1] if "@" in url else url


class Dialect:
    """What differs between the engines, said once (see the module's docstring)."""

    name = "sqlite"
    local = True  # statements are function calls, not round trips

    def begin(self, conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    def lock(self, conn: Connection, name: str) -> None:
        """Inside a transaction: no other transaction holding the same name runs at once.
        SQLite: BEGIN IMMEDIATE holds the one write lock already."""

    def relax_durability(self, conn: Connection) -> None:
        """Commits need not wait for the disk (SQLite: WAL with NORMAL sync already)."""

    def after_copy(self, conn: Connection, table: str, id_column: str) -> None:
        """Rows were copied in with their ids; new ones must be numbered after them."""

    def never_wait(self, conn: Connection) -> None:
        """A connection on an event loop: a lock held elsewhere fails at once instead of
        waiting (the caller waits for it on a thread), and the WAL is not folded into the
        database inside a commit (`checkpoint` does it, off the loop)."""
        conn.exec_driver_sql("PRAGMA busy_timeout = 0")
        conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")

    def checkpoint(self, conn: Connection) -> None:
        """Fold SQLite's WAL into the database file (its fsync would stall an event loop)."""
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def write_ahead(self, conn: Connection, sql: str, params: Params) -> Callable[[], None]:
        """Not used: a local statement is done when it returns (State.write_ahead)."""
        raise NotImplementedError


class Postgres(Dialect):
    name = "postgresql"
    local = False

    def begin(self, conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    def lock(self, conn: Connection, name: str) -> None:
        key = int.from_bytes(
            hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
        )
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%(key)s)", {"key": key})

    def relax_durability(self, conn: Connection) -> None:
        conn.exec_driver_sql("SET synchronous_commit = off")

    def never_wait(self, conn: Connection) -> None:
        """Not used: every statement is a round trip, so none runs on an event loop."""

    def checkpoint(self, conn: Connection) -> None:
        """The server does its own."""

    def write_ahead(self, conn: Connection, sql: str, params: Params) -> Callable[[], None]:
        """Send one statement (`:name` parameters) on the driver's libpq connection without
        waiting (State.write_ahead); the returned function waits for its answer, off the
        GIL, and raises its error as SQLAlchemy's. The connection is in autocommit: the
        statement is its own transaction."""
        import psycopg  # here: a SQLite install never loads libpq

        text, names = _numbered(sql)
        values = [None if params[name] is None else str(params[name]).encode() for name in names]
        driver = conn.connection.driver_connection
        assert isinstance(driver, psycopg.Connection)
        pgconn = driver.pgconn
        pgconn.send_query_params(text, values)

        def answer() -> None:
            while True:
                pgconn.consume_input()
                if not pgconn.is_busy():
                    break
                select.select([pgconn.socket], [], [])
            first, result = None, pgconn.get_result()
            while result is not None:  # every result is read, or the connection stays busy
                first = first or result
                result = pgconn.get_result()
            if first is None or first.status != psycopg.pq.ExecStatus.COMMAND_OK:
                failure = (
                    psycopg.errors.error_from_result(first, encoding=driver.info.encoding)
                    if first is not None
                    else psycopg.OperationalError(pgconn.get_error_message())
                )
                raise DBAPIError.instance(sql, params, failure, psycopg.Error)

        return answer

    def after_copy(self, conn: Connection, table: str, id_column: str) -> None:
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{id_column}'),"
            f" COALESCE((SELECT MAX({id_column}) FROM {table}), 0) + 1, false)"
        )


@lru_cache(maxsize=64)
def _numbered(sql: str) -> tuple[bytes, tuple[str, ...]]:
    """`:name` parameters as libpq's $1, $2 ... and the names in their order."""
    names: list[str] = []

    def number(found: re.Match[str]) -> str:
        names.append(found.group(1))
        return f"${len(names)}"

    return _NAMED.sub(number, sql).encode(), tuple(names)


_NAMED = re.compile(r"(?<![:\w]):(\w+)")


def dialect_of(place: Target) -> Dialect:
    return Dialect() if place.is_sqlite else Postgres()


@lru_cache(maxsize=64)
def engine_for(url: str) -> Engine:
    """One engine per URL and process. AUTOCOMMIT: a statement outside `transaction()` is its
    own transaction (one round trip), and `transaction()` says BEGIN and COMMIT itself."""
    if url.startswith("sqlite"):
        memory = url == "sqlite://"
        engine = create_engine(
            url,
            isolation_level="AUTOCOMMIT",
            poolclass=StaticPool if memory else NullPool,
            connect_args={"timeout": 30, "check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_settings)
        return engine
    return create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": CONNECT_TIMEOUT, "application_name": "digest"},
    )


def _sqlite_settings(dbapi_connection: sqlite3.Connection, record: Any) -> None:
    _switch_to_wal(dbapi_connection)
    dbapi_connection.execute("PRAGMA busy_timeout=30000")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    dbapi_connection.execute("PRAGMA foreign_keys=ON")


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


def connect(place: Target) -> Connection:
    """A connection, or a StateError saying in one line why there is none."""
    if place.path is not None:
        place.path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return engine_for(place.url).connect()
    except ModuleNotFoundError as exc:
        raise StateError(
            f"state database {place.shown}: PostgreSQL needs psycopg ({exc}); install "
            "digest with its postgres extra: pip install 'digest[postgres]'",
            2,
        ) from None
    except DBAPIError as exc:
        raise connect_error(place, exc) from None


def connect_error(place: Target, exc: DBAPIError) -> StateError:
    """The driver's complaint as one line with its cause and exit code."""
    text = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    where = f"state database {place.shown}"
    if place.is_sqlite:
        return StateError(f"{where}: {text} (move it aside to start afresh)", 4)
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return StateError(
            f"{where}: the server refused the credentials ({_tail(text)}); check the user, "
            "and the password in PGPASSWORD or ~/.pgpass",
            2,
        )
    if "does not exist" in lowered and "database" in lowered:
        return StateError(
            f"{where}: {_tail(text)}; create it first (createdb, or CREATE DATABASE)", 2
        )
    if "role" in lowered and "does not exist" in lowered:
        return StateError(f"{where}: {_tail(text)}; create the user or fix the URL", 2)
    return StateError(f"{where}: cannot connect: {_tail(text)}", 4)


def _tail(text: str) -> str:
    """libpq's message without its 'connection to server at ... failed:' preamble."""
    return text.rsplit("failed: ", 1)[-1].strip().removeprefix("FATAL:").strip() or text


def is_busy(exc: BaseException) -> bool:
    """SQLite's 'database is locked' (another writer holds the lock)."""
    orig = getattr(exc, "orig", exc)
    text = str(orig)
    return isinstance(orig, sqlite3.OperationalError) and ("locked" in text or "busy" in text)
