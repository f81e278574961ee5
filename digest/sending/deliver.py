"""Putting one issue on the wire: readers over `smtp.connections` connections (one thread
each, one SmtpBatch each), at most `smtp.max_per_second` messages a second across them.

Each message is filled in from the issue rendered once (message.py) and reported to
`on_result` as soon as the server answered, in the thread that sent it: the caller marks the
row then, so a crash loses at most the marks of the messages in flight. The run stops early,
between two messages, when `stop` is set, when the server refuses the session (every thread
stops; ServerRefused is raised once all have), or when it cannot be reached at all.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from digest.sending.message import IssueMail, Reader
from digest.sending.smtp import (
    Connector,
    Envelope,
    SendResult,
    SendStatus,
    ServerRefused,
    SmtpBatch,
    SmtpSettings,
    connect,
)

UNREACHABLE = "the SMTP server is unreachable"


@dataclass
class Wire:
    """How to send: the server, the connections, the pace, and the edges tests replace."""

    smtp: SmtpSettings
    connections: int = 1
    max_per_second: float = 0.0  # 0: as fast as the server takes them
    connector: Connector = connect
    sleep: Callable[[float], None] = time.sleep
    stop: threading.Event = field(default_factory=threading.Event)


class Pace:
    """At most `rate` messages a second across all threads (0: no limit): each message takes
    the next free slot and waits for it."""

    def __init__(self, rate: float, sleep: Callable[[float], None]) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.sleep = sleep
        self.next_slot = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        if slot > now:
            self.sleep(slot - now)


def deliver(
    mail: IssueMail,
    readers: Iterable[Reader],
    wire: Wire,
    on_result: Callable[[SendResult], None],
) -> str:
    """Send `mail` to each reader. Returns why it stopped early ("" when it did not)."""
    work = _Queue(mail, iter(readers))
    pace = Pace(wire.max_per_second, wire.sleep)
    threads = [
        threading.Thread(target=_work, args=(work, wire, pace, on_result), name=f"smtp-{n}")
        for n in range(max(1, wire.connections) - 1)
    ]
    for thread in threads:
        thread.start()
    try:
        _work(work, wire, pace, on_result)  # this thread is the first connection
    finally:
        for thread in threads:
            thread.join()
        work.close()
    if work.refusal is not None:
        raise work.refusal
    if work.failure is not None:
        raise work.failure
    return work.why


Prepared = tuple[Reader, Envelope, bytes]


class _Queue:
    """The readers left, each message filled in ahead by a thread of its own while the
    connections wait on the server (a few messages ahead, so memory stays flat), and why the
    connections stopped."""

    AHEAD = 16

    def __init__(self, mail: IssueMail, readers: Iterator[Reader]) -> None:
        self.mail = mail
        self.readers = readers
        self.ready: queue.Queue[Prepared | None] = queue.Queue(maxsize=self.AHEAD)
        self.lock = threading.Lock()
        self.why = ""
        self.refusal: ServerRefused | None = None
        self.failure: Exception | None = None  # filling in failed (a DKIM signature)
        self.closed = threading.Event()
        self.filler = threading.Thread(target=self._fill, name="fill-in", daemon=True)
        self.filler.start()

    def _fill(self) -> None:
        try:
            for reader in self.readers:
                data = self.mail.for_reader(reader)
                item = (reader, Envelope(self.mail.envelope_sender(reader), reader.email), data)
                while not self.closed.is_set():
                    try:
                        self.ready.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self.closed.is_set():
                    return
        except Exception as exc:  # handed to the caller once the connections stop
            self.failure = exc
        self.ready.put(None)

    def take(self, stop: threading.Event) -> Prepared | None:
        with self.lock:
            if self.why or self.refusal is not None:
                return None
            if stop.is_set():
                self.why = "stopped on request"
                return None
            item = self.ready.get()
            if item is None:
                self.ready.put(None)  # the end, for the other connections too
            return item

    def halt(self, why: str = "", refusal: ServerRefused | None = None) -> None:
        with self.lock:
            self.why = self.why or why
            self.refusal = self.refusal or refusal

    def close(self) -> None:
        self.closed.set()
        while self.filler.is_alive():
            try:
                self.ready.get(timeout=0.05)
            except queue.Empty:
                continue


def _work(
    work: _Queue,
    wire: Wire,
    pace: Pace,
    on_result: Callable[[SendResult], None],
) -> None:
    with SmtpBatch(wire.smtp, wire.connector, wire.sleep) as batch:
        while (item := work.take(wire.stop)) is not None:
            reader, envelope, data = item
            pace.wait()
            try:
                result = batch.send(reader.address, envelope, data)
            except ServerRefused as refusal:
                work.halt(refusal=refusal)
                return
            on_result(result)
            if result.status is SendStatus.DEFERRED and result.reply.startswith("connection"):
                work.halt(UNREACHABLE)
                return
