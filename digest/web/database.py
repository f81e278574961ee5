"""The state database as the public pages use it (public.py): reads on the event loop, writes
committed in groups, and anything that must wait for a lock waited for on a thread."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from digest.state import State

T = TypeVar("T")


Queued = tuple[Callable[[State], Any], "asyncio.Future[Any]"]  # an action and its answer


class Database:
    """The state database for the pages. Reads run right on the event loop (WAL: a read never
    waits). Writes are queued and committed together: all that arrive while the loop is busy
    go in one transaction, so under load a commit serves many one-clicks instead of one
    (group commit); if one of them fails, the batch is undone and each is done again alone.
    The loop's connection never waits for a lock: when another writer holds it (a send, a
    second server) the batch goes to a thread of its own, which waits as long as it takes;
    the loop never does. Handing every action to a thread instead cost more than the action:
    the thread waited for the GIL while the loop rendered pages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="database")
        self.waiting: State | None = None  # the thread's connection, made on that thread
        self.inline: State | None = None
        self.queue: list[Queued] = []
        self.checkpointed = time.monotonic()

    def _loop_state(self) -> State:
        if self.inline is None:
            self.inline = State.open(self.path)
            self.inline.conn.execute("PRAGMA busy_timeout = 0")
            self.inline.conn.execute("PRAGMA wal_autocheckpoint = 0")  # see _checkpoint
        return self.inline

    def _on_thread(self, work: Callable[[State], T]) -> T:
        if self.waiting is None:
            self.waiting = State.open(self.path)
        return work(self.waiting)

    async def read(self, work: Callable[[State], T]) -> T:
        return work(self._loop_state())

    async def write(self, work: Callable[[State], T]) -> T:
        """`work` inside a transaction, committed when this method returns."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self.queue.append((work, done))
        if len(self.queue) == 1:
            loop.call_soon(self._flush)
        return await done

    def _flush(self) -> None:
        batch, self.queue = self.queue, []
        conn = self._loop_state().conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # another writer: wait for it on the thread
            self._on_the_thread(batch)
            return
        try:
            results = [(done, work(self._loop_state())) for work, done in batch]
            conn.execute("COMMIT")
        except Exception:  # one action failed: undo them all, and do each on its own
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for work, done in batch:
                self._alone(work, done)
            return
        for done, value in results:
            if not done.cancelled():
                done.set_result(value)
        if time.monotonic() - self.checkpointed > CHECKPOINT_SECONDS:
            self.checkpointed = time.monotonic()
            asyncio.get_running_loop().run_in_executor(self.executor, self._on_thread, _checkpoint)

    def _on_the_thread(self, batch: list[Queued]) -> None:
        loop = asyncio.get_running_loop()
        for work, done in batch:
            _settle(done, loop.run_in_executor(self.executor, self._on_thread, _alone_on(work)))

    def _alone(self, work: Callable[[State], Any], done: asyncio.Future[Any]) -> None:
        """One action in a transaction of its own (after its batch failed)."""
        state = self._loop_state()
        try:
            with state.transaction():
                value = work(state)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):  # another writer: on the thread
                self._on_the_thread([(work, done)])
            elif not done.cancelled():
                done.set_exception(exc)
            return
        except Exception as exc:
            if not done.cancelled():
                done.set_exception(exc)
            return
        if not done.cancelled():
            done.set_result(value)

    def close(self) -> None:
        def closing() -> None:
            if self.waiting is not None:
                self.waiting.close()

        self.executor.submit(closing).result()
        self.executor.shutdown()
        if self.inline is not None:
            self.inline.close()


def _alone_on(work: Callable[[State], T]) -> Callable[[State], T]:
    """`work` in a transaction of its own, on the thread (which waits for locks)."""

    def run(state: State) -> T:
        with state.transaction():
            return work(state)

    return run


def _settle(done: asyncio.Future[Any], source: asyncio.Future[Any]) -> None:
    """`done` gets what `source` ends with."""

    def copy(finished: asyncio.Future[Any]) -> None:
        if done.cancelled():
            return
        if finished.exception() is not None:
            done.set_exception(finished.exception())  # type: ignore[arg-type]
        else:
            done.set_result(finished.result())

    source.add_done_callback(copy)


CHECKPOINT_SECONDS = 2.0  # at most this long between two checkpoints of the WAL while writing


def _checkpoint(state: State) -> None:
    """Fold the WAL into the database file, on the thread: the fsync it costs would stall
    the loop (SQLite's automatic checkpoint runs in the commit that crosses 1,000 pages)."""
    state.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
