"""Putting one issue on the wire: readers over `smtp.connections` connections (one thread
each, one SmtpBatch each), at most `smtp.max_per_second` messages a second across them.

Each message is filled in from the issue rendered once (message.py) and reported to
`on_result` as soon as the server answered, in the thread that sent it: the caller marks the
row then, so a crash loses at most the marks of the messages in flight. The run stops early,
between two messages, when `stop` is set, when the server refuses the session (every thread
stops; ServerRefused is raised once all have), or when it cannot be reached at all.
"""

from __future__ import annotations

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
    queue = _Queue(iter(readers))
    pace = Pace(wire.max_per_second, wire.sleep)
    count = max(1, wire.connections)
    if count == 1:
        _work(mail, queue, wire, pace, on_result)
    else:
        threads = [
            threading.Thread(
                target=_work, args=(mail, queue, wire, pace, on_result), name=f"smtp-{n}"
            )
            for n in range(count)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if queue.refusal is not None:
        raise queue.refusal
    return queue.why


class _Queue:
    """The readers left, shared by the threads, and why they stopped."""

    def __init__(self, readers: Iterator[Reader]) -> None:
        self.readers = readers
        self.lock = threading.Lock()
        self.why = ""
        self.refusal: ServerRefused | None = None

    def take(self, stop: threading.Event) -> Reader | None:
        with self.lock:
            if self.why or self.refusal is not None:
                return None
            if stop.is_set():
                self.why = "stopped on request"
                return None
            return next(self.readers, None)

    def halt(self, why: str = "", refusal: ServerRefused | None = None) -> None:
        with self.lock:
            self.why = self.why or why
            self.refusal = self.refusal or refusal


def _work(
    mail: IssueMail,
    queue: _Queue,
    wire: Wire,
    pace: Pace,
    on_result: Callable[[SendResult], None],
) -> None:
    letterhead = mail.letterhead
    with SmtpBatch(wire.smtp, wire.connector, wire.sleep) as batch:
        while (reader := queue.take(wire.stop)) is not None:
            data = mail.for_reader(reader)
            envelope = Envelope(letterhead.envelope_sender(reader), reader.email)
            pace.wait()
            try:
                result = batch.send(reader.address, envelope, data)
            except ServerRefused as refusal:
                queue.halt(refusal=refusal)
                return
            on_result(result)
            if result.status is SendStatus.DEFERRED and result.reply.startswith("connection"):
                queue.halt(UNREACHABLE)
                return
