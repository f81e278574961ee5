"""The state database itself (issue 22): a file made by an older digest upgrades in place to
the schema a new database gets; a schema newer than the code, an unreachable server, wrong
credentials and a missing database are one line each naming the URL (password masked) with
the README's exit code, and nothing half-written; `digest db copy` moves a SQLite state into
PostgreSQL, verified; a second engine's tests run against a real throwaway cluster."""

from __future__ import annotations

import signal
import sqlite3  # an old state file, made as the digest of its day made it
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import new_database, run_cli, state_at, write_config
from pg_server import Throwaway
from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import IntegrityError

from digest.state import VERSION, State
from digest.state.engine import connect, target
from digest.state.schema import SQLITE_HISTORY

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def old_state_file(path: Path) -> None:
    """A state file of version 9, as digest left it before issue 22, with a row in every
    table whose shape changed and APScheduler's job table."""
    with sqlite3.connect(path) as conn:
        for version, script in enumerate(SQLITE_HISTORY, start=1):
            conn.executescript(f"{script}; PRAGMA user_version = {version};")
        stamp = NOW.isoformat()
        conn.execute(
            "INSERT INTO issues VALUES (1, ?, ?, 'Old', '<p>x</p>', 'x', ?, NULL, 'host:1:x', ?)",
            (stamp, stamp, stamp, stamp),
        )
        conn.executemany(
            "INSERT INTO outbox (issue, recipient, status, owed_since) VALUES (1, ?, ?, ?)",
            [("b@example.test", "sent", stamp), ("a@example.test", "pending", stamp)],
        )
        conn.execute(
            "INSERT INTO subscribers (email, email_key, status, via, status_at, created_at,"
            " created_via) VALUES ('a@example.test', 'a@example.test', 'active', 'import', ?,"
            " ?, 'import')",
            (stamp, stamp),
        )
        conn.executemany(
            "INSERT INTO subscriber_events VALUES (1, ?, 'import', ?)",
            [("pending", stamp), ("active", stamp)],
        )
        conn.execute(
            "INSERT INTO bounces VALUES ('c@example.test', 'temporary', 1, '4.2.2', ?, 'dsn',"
            " NULL)",
            (stamp,),
        )
        conn.execute(
            "CREATE TABLE apscheduler_jobs (id VARCHAR(191) NOT NULL PRIMARY KEY,"
            " next_run_time FLOAT, job_state BLOB NOT NULL)"
        )
        conn.execute(
            "INSERT INTO apscheduler_jobs VALUES ('digest-send', ?, x'00')", (NOW.timestamp(),)
        )


def shape(path: Path) -> dict[str, Any]:
    """Each table's columns (name, type, nullable, default), key, unique sets and indexes."""
    inspector = inspect(create_engine(f"sqlite:///{path}"))
    return {
        table: (
            [
                (c["name"], str(c["type"]), c["nullable"], c["default"])
                for c in inspector.get_columns(table)
            ],
            inspector.get_pk_constraint(table)["constrained_columns"],
            sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
            sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(table)),
            sorted(
                (tuple(f["constrained_columns"]), f["referred_table"])
                for f in inspector.get_foreign_keys(table)
            ),
        )
        for table in sorted(inspector.get_table_names())
    }


def test_a_state_file_of_version_9_upgrades_in_place_to_the_schema_of_a_new_one(
    tmp_path: Path,
) -> None:
    old = tmp_path / "old.sqlite3"
    old_state_file(old)
    with State.open(old) as state:
        assert state.found == 9
        assert state.execute("SELECT version FROM schema_version").one() == (VERSION,)
        # rows kept, numbered in the order they were written
        assert state.execute("SELECT id, recipient, status FROM outbox ORDER BY id").all() == [
            (1, "b@example.test", "sent"),
            (2, "a@example.test", "pending"),
        ]
        assert state.execute("SELECT id, status FROM subscriber_events").all() == [
            (1, "pending"),
            (2, "active"),
        ]
        assert state.execute("SELECT id, address FROM bounces").all() == [(1, "c@example.test")]
        due = state.execute("SELECT next_due FROM schedule WHERE job = 'digest-send'").one()
        assert datetime.fromisoformat(due[0]) == NOW  # the missed run, carried over
    with State.open(tmp_path / "new.sqlite3"):
        pass
    assert shape(old) == shape(tmp_path / "new.sqlite3")
    with sqlite3.connect(old) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_an_old_file_upgrades_once_when_many_processes_open_it_at_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    old = tmp_path / "old.sqlite3"
    old_state_file(old)
    script = "import sys; from digest.state import State; State.open(sys.argv[1]).close()"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, f"sqlite:///{old}"], stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    errors = [process.communicate(timeout=60)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, errors
    with State.open(old) as state:
        assert state.execute("SELECT COUNT(*) FROM outbox").one() == (2,)


def test_a_schema_newer_than_the_code_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "A", "url": "https://a.example/f"}])
    with State.open(state_at(tmp_path / "state.sqlite3")) as state:
        state.execute("UPDATE schema_version SET version = :v", {"v": VERSION + 1})
    code, out, err = run_cli("db", "-c", str(config))
    assert code == 2 and out == ""
    assert err.startswith("digest: error: state database ")
    assert f"its schema is version {VERSION + 1}, newer than this digest knows ({VERSION})" in err
    assert len(err.splitlines()) == 1
    for command in (["send", "--dry-run"], ["subscribers", "add", "a@example.test"], ["build"]):
        code, _, err = run_cli(*command, "-c", str(config))
        assert code == 2 and "newer than this digest knows" in err, command
    assert not (tmp_path / "out").exists()  # nothing written: not the output, not the state
    with connect(target(state_at(tmp_path / "state.sqlite3"))) as conn:  # not upgraded
        assert conn.exec_driver_sql("SELECT version FROM schema_version").all() == [(VERSION + 1,)]
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM subscribers").all() == [(0,)]


def _config_with(tmp_path: Path, url: str) -> Path:
    config = write_config(tmp_path, [{"name": "A", "url": "https://a.example/f"}])
    document = yaml.safe_load(config.read_text())
    document["database_url"] = url
    config.write_text(yaml.safe_dump(document))
    return config


@pytest.mark.parametrize(
    ("make_url", "code", "says"),
    [
        (lambda pg: f"postgresql://digest:s3cret@127.0.0.1:{pg.port}/nosuch", 2, "does not exist"),
        (lambda pg: pg.url("postgres", "reader:wrong"), 2, "refused the credentials"),
        (lambda pg: "postgresql://digest:s3cret@127.0.0.1:9/x", 4, "cannot connect"),
    ],
    ids=["missing database", "wrong password", "unreachable"],
)
def test_a_database_that_cannot_be_used_is_one_line_naming_it_password_masked(
    postgres: Throwaway, tmp_path: Path, make_url: Any, code: int, says: str
) -> None:
    postgres.sql("DO $$ BEGIN CREATE ROLE reader LOGIN PASSWORD 'right';"
                 " EXCEPTION WHEN duplicate_object THEN NULL; END $$")  # fmt: skip
    url = make_url(postgres)
    config = _config_with(tmp_path, url)
    for command in (["db"], ["send", "--dry-run"], ["subscribers"], ["build"]):
        found, _, err = run_cli(*command, "-c", str(config))
        assert found == code, (command, err)
        assert says in err and len(err.splitlines()) == 1
        assert "s3cret" not in err and "wrong" not in err.replace("wrong password", "")
        assert "***@127.0.0.1" in err or "digest@127.0.0.1" in err
    assert not (tmp_path / "out").exists()  # nothing written anywhere


def test_a_url_of_another_database_is_a_config_error(tmp_path: Path) -> None:
    config = _config_with(tmp_path, "mysql://u:p@db/x")
    code, _, err = run_cli("db", "-c", str(config))
    assert code == 2 and "database_url: sqlite:///path or postgresql://" in err
    assert "u:p" not in err


def test_db_copy_moves_a_sqlite_state_to_postgresql_verified(
    postgres: Throwaway, tmp_path: Path
) -> None:
    from digest.sending import signup
    from digest.sending.subscribers import find, parse_address

    old = tmp_path / "state.sqlite3"
    old_state_file(old)
    config = write_config(tmp_path, [{"name": "A", "url": "https://a.example/f"}])
    document = yaml.safe_load(config.read_text())
    document.pop("database_url", None)
    document["state_db"] = str(old)
    config.write_text(yaml.safe_dump(document))
    target = new_database()
    code, out, err = run_cli("db", "copy", "--to", target, "-c", str(config))
    assert code == 0, err
    assert "  outbox: 2\n" in out and "every row read back and matched" in out
    with State.open(old) as source, State.open(target) as copied:
        for table in ("issues", "outbox", "subscribers", "subscriber_events", "bounces", "meta"):
            query = f"SELECT * FROM {table} ORDER BY 1"
            assert copied.execute(query).all() == source.execute(query).all(), table
        # new rows are numbered after the copied ones
        signup.add(copied, [(parse_address("new@example.test"), None)], "import", NOW)
        found = find(copied, "new@example.test")
        assert found is not None and found.id == 2
    code, _, err = run_cli("db", "copy", "--to", target, "-c", str(config))
    assert code == 2 and "not empty" in err  # a second copy is refused, nothing added
    with State.open(target) as copied:
        assert copied.execute("SELECT COUNT(*) FROM outbox").one() == (2,)


def test_two_schedulers_fire_a_run_once_through_the_ledger(tmp_path: Path) -> None:
    from digest.sending.schedule import JOB_ID, fire_once

    where = state_at(tmp_path / "state.sqlite3")
    with State.open(where) as one, State.open(where) as two:
        assert fire_once(one, JOB_ID, NOW, None) is True
        assert fire_once(two, JOB_ID, NOW, None) is False  # the same run: not again
        assert fire_once(two, JOB_ID, NOW.replace(hour=10), None) is True  # the next one


def test_db_copy_from_a_state_file_that_is_not_there_is_refused_and_writes_nothing(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, [{"name": "A", "url": "https://a.example/f"}])
    document = yaml.safe_load(config.read_text())
    document.pop("database_url", None)
    document["state_db"] = str(tmp_path / "typo.sqlite3")
    config.write_text(yaml.safe_dump(document))
    into = tmp_path / "into.sqlite3"
    code, out, err = run_cli("db", "copy", "--to", f"sqlite:///{into}", "-c", str(config))
    assert (code, out) == (2, "")
    missing = tmp_path / "typo.sqlite3"
    assert err == f"digest: error: state database {missing}: no such file; nothing to copy\n"
    assert not (tmp_path / "typo.sqlite3").exists() and not into.exists()


_KILLED_AFTER_SENDING = """
import os, signal, sys
from pathlib import Path
from digest.state import State
where = sys.argv[1]
state = State.open(where if "://" in where else Path(where))  # a URL, or the SQLite file
made = {"value": "made", "key": "probe"}
state.write_ahead("UPDATE meta SET value = :value WHERE key = :key", made)
os.kill(os.getpid(), signal.SIGKILL)  # before the answer is read
"""


def test_a_write_sent_ahead_is_made_even_when_its_process_dies_before_the_answer(
    tmp_path: Path,
) -> None:
    """What a sender's mark before the final dot relies on (smtp.Handover): once
    State.write_ahead returned, a kill -9 cannot undo the write, on either engine."""
    where = state_at(tmp_path / "state.sqlite3")
    with State.open(where) as state:
        state.execute("INSERT INTO meta (key, value) VALUES ('probe', 'not yet')")
    died = subprocess.run(
        [sys.executable, "-c", _KILLED_AFTER_SENDING, str(where)], capture_output=True, text=True
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    with State.open(where) as state:
        found = state.execute("SELECT value FROM meta WHERE key = 'probe'").scalar_one()
    assert found == "made"


def test_a_write_sent_ahead_that_fails_raises_and_leaves_the_connection_usable(
    tmp_path: Path,
) -> None:
    with State.open(state_at(tmp_path / "state.sqlite3")) as state:
        state.execute("INSERT INTO meta (key, value) VALUES ('a', '1'), ('b', '2')")
        clash = {"to": "a", "key": "b"}
        with pytest.raises(IntegrityError, match="meta"):  # SQLite raises at once, PG on reading
            state.write_ahead("UPDATE meta SET key = :to WHERE key = :key", clash)()
        state.write_ahead(
            "UPDATE meta SET value = :value WHERE key = :key", {"value": "3", "key": "a"}
        )()
        values = state.execute("SELECT key, value FROM meta WHERE key IN ('a', 'b') ORDER BY key")
        assert [tuple(row) for row in values] == [("a", "3"), ("b", "2")]
