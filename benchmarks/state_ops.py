"""The state's hot paths, one operation at a time: what SQLAlchemy Core costs over the
stdlib's sqlite3, and what PostgreSQL costs over SQLite.

    PYTHONPATH=. python benchmarks/state_ops.py [--rounds 3000]

Each operation, --rounds times, on a fresh database, as the code ran it before issue 22 (the
stdlib's sqlite3, the same SQL, `?` parameters, BEGIN IMMEDIATE ... COMMIT) and as it runs now
(digest.state: SQLAlchemy Core, on SQLite and on a throwaway PostgreSQL cluster with fsync on):

- mark sent: a sender's mark after each message (outbox.record: one UPDATE; before, inside a
  transaction of its own);
- one-click: an unsubscribe (signup.unsubscribe: the status changed where it differs and the
  change recorded, one transaction);
- feed cache: a feed's parse saved (20 entries' texts) and every feed's cache read back.

The best of three passes is kept (a shared machine). Microseconds per operation.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pg_server import Throwaway  # noqa: E402

from digest.sending.outbox import record  # noqa: E402
from digest.sending.signup import unsubscribe  # noqa: E402
from digest.sending.smtp import SendResult, SendStatus  # noqa: E402
from digest.state import FeedCache, State  # noqa: E402

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TEXTS = [(f"entry-{n}", zlib.compress(b"A sentence of the story. " * 40)) for n in range(20)]


def seeded(state: State, rounds: int) -> None:
    """An issue with `rounds` readers, as many subscribers, a feed."""
    stamp = NOW.isoformat()
    with state.transaction() as tx:
        tx.execute(
            "INSERT INTO issues (number, period_start, period_end, subject, html, text,"
            " created_at) VALUES (1, :s, :s, 'S', 'h', 't', :s)",
            {"s": stamp},
        )
        tx.executemany(
            "INSERT INTO outbox (issue, recipient) VALUES (1, :r)",
            [{"r": f"r{n}@example.test"} for n in range(rounds)],
        )
        tx.executemany(
            "INSERT INTO subscribers (email, email_key, status, via, status_at, created_at,"
            " created_via) VALUES (:e, :e, 'active', 'import', :s, :s, 'import')",
            [{"e": f"r{n}@example.test", "s": stamp} for n in range(rounds)],
        )


def timed(operation: Callable[[int], None], rounds: int) -> float:
    started = time.perf_counter()
    for n in range(rounds):
        operation(n)
    return (time.perf_counter() - started) / rounds * 1e6


def before(path: Path, rounds: int) -> dict[str, float]:
    """The stdlib's sqlite3, as the code ran it before (same pragmas, same SQL)."""
    with State.open(path) as state:
        seeded(state, rounds)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    stamp = NOW.isoformat()

    def transaction(*statements: tuple[str, tuple[object, ...]]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        for sql, args in statements:
            conn.execute(sql, args)
        conn.execute("COMMIT")

    def mark(n: int) -> None:
        transaction(
            (
                "UPDATE outbox SET status = ?, attempts = attempts + ?, reply = ?, sent_at = ?"
                " WHERE issue = ? AND recipient = ?",
                ("sent", 1, None, stamp, 1, f"r{n}@example.test"),
            )
        )

    def click(n: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        changed = conn.execute(
            "UPDATE subscribers SET status = ?, via = ?, status_at = ? WHERE id = ?"
            " AND status <> ?",
            ("unsubscribed", "one-click", stamp, n + 1, "unsubscribed"),
        ).rowcount
        if changed:
            conn.execute(
                "INSERT INTO subscriber_events (subscriber, status, via, at) VALUES (?, ?, ?, ?)",
                (n + 1, "unsubscribed", "one-click", stamp),
            )
        conn.execute("COMMIT")

    def cache(n: int) -> None:
        url = f"https://feed.example/{n % 50}"
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO feeds (url, etag, body_hash, parsed_version, entries_meta, status,"
            " checked_at) VALUES (?, 'e', 'h', 3, '[]', 'ok', ?) ON CONFLICT(url) DO UPDATE"
            " SET etag = excluded.etag, entries_meta = excluded.entries_meta",
            (url, stamp),
        )
        conn.execute("DELETE FROM entry_texts WHERE feed_url = ?", (url,))
        conn.executemany(
            "INSERT OR REPLACE INTO entry_texts (feed_url, id, text) VALUES (?, ?, ?)",
            [(url, key, text) for key, text in TEXTS],
        )
        conn.execute("COMMIT")
        if n % 50 == 49:
            conn.execute(
                "SELECT url, etag, last_modified, body_hash, entries_meta, parse_notice FROM"
                " feeds WHERE parsed_version = ? AND entries_meta IS NOT NULL",
                (3,),
            ).fetchall()

    figures = {
        "mark sent": timed(mark, rounds),
        "one-click": timed(click, rounds),
        "feed cache": timed(cache, rounds),
    }
    conn.close()
    return figures


def now(where: str | Path, rounds: int) -> dict[str, float]:
    with State.open(where) as state:
        seeded(state, rounds)
        state.relax_durability()  # as a sender's connection is
        result = SendResult("", SendStatus.SENT, 1)

        def mark(n: int) -> None:
            record(state, 1, SendResult(f"r{n}@example.test", result.status, 1), NOW)

        def click(n: int) -> None:
            unsubscribe(state, n + 1, "one-click", NOW)

        def cache(n: int) -> None:
            meta = FeedCache("e", None, "h", "[]")
            state.save_parsed_feed(f"https://feed.example/{n % 50}", meta, 3, TEXTS, NOW)
            if n % 50 == 49:
                state.feed_caches(3)

        return {
            "mark sent": timed(mark, rounds),
            "one-click": timed(click, rounds),
            "feed cache": timed(cache, rounds),
        }


def best(run: Callable[[], dict[str, float]]) -> dict[str, float]:
    passes = [run() for _ in range(3)]
    return {key: min(p[key] for p in passes) for key in passes[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="digest-state-ops-"))
    counter = iter(range(1_000_000))
    with Throwaway(durable=True) as pg:
        columns = {
            "sqlite3 (before)": best(lambda: before(folder / f"a{next(counter)}.db", args.rounds)),
            "SQLAlchemy Core, SQLite": best(
                lambda: now(folder / f"b{next(counter)}.db", args.rounds)
            ),
            "SQLAlchemy Core, PostgreSQL": best(
                lambda: now(pg.create(f"ops{next(counter)}"), args.rounds)
            ),
        }
    names = list(columns)
    print("| operation | " + " | ".join(f"{name} µs" for name in names) + " | Core / sqlite3 |")
    print("|---|" + "---:|" * (len(names) + 1))
    for operation in columns[names[0]]:
        values = [columns[name][operation] for name in names]
        ratio = values[1] / values[0]
        cells = " | ".join(f"{value:,.0f}" for value in values)
        print(f"| {operation} | {cells} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
