"""Putting one issue on the wire: readers over `smtp.connections` connections (one thread
each, one SmtpBatch each), at most `smtp.max_per_second` messages a second across them.

Each message is filled in from the issue rendered once (message.py) by the connection that
sends it, while the server is still reading the message before (the wire never waits for
the filling), and reported to `on_result` once the server answered, in the thread that sent
it. With `handover`, the caller marks each message sent just before its final dot (see
smtp.Handover), so a kill -9 repeats no message.

The run stops early, between two messages, when `stop` is set, when the server refuses the
session (every thread stops; ServerRefused is raised once all have), or when it
cannot be reached at all.
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
    Handover,
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
    handover: Callable[[str], Handover] | None = None,
) -> str:
    """Send `mail` to each reader; `handover(address)`, when given, is what the caller does
    around that reader's final dot. Returns why it stopped early ("" when it did not)."""
    work = _Work(mail, iter(readers))
    pace = Pace(wire.max_per_second, wire.sleep)
    threads = [
        threading.Thread(
            target=_connection, args=(work, wire, pace, on_result, handover), name=f"smtp-{n}"
        )
        for n in range(max(1, wire.connections) - 1)
    ]
    for thread in threads:
        thread.start()
    try:
        _connection(work, wire, pace, on_result, handover)  # this thread is the first
    finally:
        for thread in threads:
            thread.join()
    if work.refusal is not None:
        raise work.refusal
    if work.failure is not None:
        raise work.failure
    return work.why


@dataclass(frozen=True, slots=True)
class Prepared:
    """One reader's message, filled in and ready for the wire."""

    reader: Reader
    envelope: Envelope
    data: bytes


class _Work:
    """The readers left, shared by the connections, and why they stopped. Each message is
    filled in by the connection that sends it, while the server is still reading the one
    before it (so the filling costs the wire nothing, and no thread waits on another)."""

    def __init__(self, mail: IssueMail, readers: Iterator[Reader]) -> None:
        self.mail = mail
        self.readers = readers
        self.lock = threading.Lock()
        self.why = ""
        self.refusal: ServerRefused | None = None
        self.failure: Exception | None = None  # filling in failed (a DKIM signature)

    def next(self, stop: threading.Event) -> Prepared | None:
        """The next reader's message; None when there is none, or the run must stop."""
        with self.lock:
            if self.why or self.refusal is not None or self.failure is not None:
                return None
            if stop.is_set():
                self.why = "stopped on request"
                return None
            reader = next(self.readers, None)
        if reader is None:
            return None
        try:
            data = self.mail.for_reader(reader)
        except Exception as exc:
            self.fail(exc)
            return None
        return Prepared(reader, Envelope(self.mail.envelope_sender(reader), reader.email), data)

    def fail(self, exc: Exception) -> None:
        """Filling in or marking failed (a DKIM signature, the database): every connection
        stops, and the caller gets the exception once they have."""
        with self.lock:
            self.failure = self.failure or exc

    def halt(self, why: str = "", refusal: ServerRefused | None = None) -> None:
        with self.lock:
            self.why = self.why or why
            self.refusal = self.refusal or refusal


def _connection(
    work: _Work,
    wire: Wire,
    pace: Pace,
    on_result: Callable[[SendResult], None],
    handover: Callable[[str], Handover] | None = None,
) -> None:
    """One connection's loop. The wire never waits for our own work: the next message is
    filled in, and the current one handed over, while the server reads the current one; a
    result is reported while the server answers the next MAIL FROM (or at once, when
    nothing follows)."""
    ahead: list[Prepared] = []
    answered: list[SendResult] = []  # answered by the server, not yet reported

    def fill_next() -> None:
        if not ahead and (following := work.next(wire.stop)) is not None:
            ahead.append(following)

    def report() -> None:
        while answered:
            on_result(answered.pop())

    try:
        with SmtpBatch(wire.smtp, wire.connector, wire.sleep) as batch:
            fill_next()
            while ahead:
                item = ahead.pop()
                pace.wait()
                try:
                    address = item.reader.address
                    around_dot = handover(address) if handover is not None else None
                    result = batch.send(
                        address, item.envelope, item.data, report, fill_next, around_dot
                    )
                except ServerRefused as refusal:
                    work.halt(refusal=refusal)
                    return
                report()  # its MAIL FROM never went (no connection): mark the one before now
                answered.append(result)
                if result.status is SendStatus.DEFERRED and result.reply.startswith("connection"):
                    work.halt(UNREACHABLE)
                    return
                fill_next()  # the message never reached DATA (a refused reader): fill in now
        report()
    except Exception as exc:  # a mark could not be written (the database): stop, say why
        work.fail(exc)
    finally:
        try:
            report()  # what was answered before a refusal or a failure is marked still
        except Exception as exc:
            work.fail(exc)
