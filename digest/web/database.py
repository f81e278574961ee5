"""The state database as the public pages use it (public.py): writes committed in groups,
and nothing that waits (for a lock, or for a database server's answer) on the event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError

from digest.state import State, Target
from digest.state.engine import is_busy, target

T = TypeVar("T")


Queued = tuple[Callable[[State], Any], "asyncio.Future[Any]"]  # an action and its answer
Outcome = tuple[bool, Any]  # (done, its value) or (failed, its exception)


class Database:
    """The state database for the pages. Writes are queued and committed together: all that
    arrive while the loop is busy go in one transaction, so under load a commit serves many
    one-clicks instead of one (group commit); if one of them fails, the batch is undone and
    each is done again alone.

    On SQLite a statement is a function call: reads run right on the event loop (WAL: a read
    never waits) and so do the batches, on a connection that never waits for a lock; when
    another writer holds it (a send, a second server) the batch goes to a thread of its own,
    which waits as long as it takes. Handing every action to a thread instead cost more than
    the action: the thread waited for the GIL while the loop rendered pages. On PostgreSQL a
    statement is a round trip: reads and batches run on the database's threads, never on
    the loop (a batch on the writing thread, reads on another, so a read never queues behind
    a commit)."""

    def __init__(self, where: str | Path | Target) -> None:
        self.place = target(where)
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="database")
        self.reader = ThreadPoolExecutor(1, thread_name_prefix="database-reads")
        self.states: dict[str, State] = {}  # one connection per thread (and the loop's)
        self.queue: list[Queued] = []
        self.checkpointed = time.monotonic()
        self.local = self.place.is_sqlite

    def _state(self, which: str) -> State:
        state = self.states.get(which)
        if state is None:
            state = self.states[which] = State.open(self.place)
            if which == "loop":
                state.dialect.never_wait(state.conn)
        return state

    async def read(self, work: Callable[[State], T]) -> T:
        if self.local:
            return work(self._state("loop"))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.reader, lambda: work(self._state("reads")))

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
        if not self.local:
            self._on_the_thread(batch)
            return
        state = self._state("loop")
        try:
            state.begin()
        except DBAPIError as exc:
            if not is_busy(exc):
                raise
            self._on_the_thread(batch)  # another writer: wait for it on the thread
            return
        try:
            results = [(done, work(state)) for work, done in batch]
            state.commit()
        except Exception:  # one action failed: undo them all, and do each on its own
            state.rollback()
            for work, done in batch:
                self._alone(work, done)
            return
        for done, value in results:
            if not done.cancelled():
                done.set_result(value)
        if time.monotonic() - self.checkpointed > CHECKPOINT_SECONDS:
            self.checkpointed = time.monotonic()
            loop = asyncio.get_running_loop()
            loop.run_in_executor(self.executor, self._checkpoint)

    def _checkpoint(self) -> None:
        state = self._state("writes")
        state.dialect.checkpoint(state.conn)

    def _on_the_thread(self, batch: list[Queued]) -> None:
        """The batch in one transaction on the thread (which waits for locks), each action
        alone after it if the batch failed; the answers go back to the loop."""
        loop = asyncio.get_running_loop()
        works = [work for work, _ in batch]
        outcomes = loop.run_in_executor(self.executor, self._batch, works)

        def answer(finished: asyncio.Future[list[Outcome]]) -> None:
            failure = finished.exception()
            for index, (_, done) in enumerate(batch):
                if done.cancelled():
                    continue
                if failure is not None:
                    done.set_exception(failure)
                    continue
                ok, value = finished.result()[index]
                if ok:
                    done.set_result(value)
                else:
                    done.set_exception(value)

        outcomes.add_done_callback(answer)

    def _batch(self, works: list[Callable[[State], Any]]) -> list[Outcome]:
        state = self._state("writes")
        try:
            with state.transaction():
                return [(True, work(state)) for work in works]
        except Exception as exc:
            if len(works) == 1:
                return [(False, exc)]
        return [_alone_on(state, work) for work in works]

    def _alone(self, work: Callable[[State], Any], done: asyncio.Future[Any]) -> None:
        """One action in a transaction of its own on the loop (after its batch failed)."""
        state = self._state("loop")
        try:
            with state.transaction():
                value = work(state)
        except DBAPIError as exc:
            if is_busy(exc):  # another writer: on the thread
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
        def closing(which: str) -> None:
            state = self.states.pop(which, None)
            if state is not None:
                state.close()

        self.executor.submit(closing, "writes").result()
        self.reader.submit(closing, "reads").result()
        self.executor.shutdown()
        self.reader.shutdown()
        closing("loop")


def _alone_on(state: State, work: Callable[[State], Any]) -> Outcome:
    """`work` in a transaction of its own (on the thread, which waits for locks)."""
    try:
        with state.transaction():
            return True, work(state)
    except Exception as exc:
        return False, exc


CHECKPOINT_SECONDS = 2.0  # at most this long between two checkpoints of the WAL while writing
