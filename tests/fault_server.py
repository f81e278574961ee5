"""A fault-injecting SMTP server (aiosmtpd) on 127.0.0.1, for the delivery tests and
benchmarks/send.py. Besides what RecordingHandler does (451 n times, 550, a drop at RCPT), it
can, per address and a number of times (-1: forever):

- refuse MAIL FROM with a fixed reply (530 authentication required),
- answer RCPT with 421 and close the connection, as a server shutting down does,
- drop the connection after the whole message, without keeping it (a drop mid-DATA as the
  client sees it),
- keep the message and drop the connection before answering ("took it and never said so":
  the one case where a client cannot avoid sending it again).

Run as a script it is the benchmark's sink in its own process: `python fault_server.py PORT`
prints "ready" once listening and, on SIGTERM, one JSON line of what it received.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from smtp_server import Received, RecordingHandler, SmtpServer, _free_port


def _take(faults: dict[str, int], address: str) -> bool:
    """Use up one fault for `address` (a count below 0 never runs out)."""
    left = faults.get(address, 0)
    if left == 0:
        return False
    if left > 0:
        faults[address] = left - 1
    return True


@dataclass
class FaultHandler(RecordingHandler):
    mail_reply: str | None = None  # e.g. "530 5.7.0 Authentication required"
    closing_at_rcpt: dict[str, int] = field(default_factory=dict)  # 421, then close
    drop_in_data: dict[str, int] = field(default_factory=dict)  # close, message not kept
    silent_accept: dict[str, int] = field(default_factory=dict)  # keep it, close, no reply
    taken_silently: Counter[str] = field(default_factory=Counter)  # what silent_accept kept
    keep_data: bool = True  # the benchmark's sink counts bytes and keeps nothing
    bytes_received: int = 0
    message_ids: Counter[tuple[str, bytes]] = field(default_factory=Counter)  # (to, its id)
    first_at: float = 0.0  # when the first and the last message were accepted (time.time)
    last_at: float = 0.0

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.mail_reply is not None:
            return self.mail_reply
        return await super().handle_MAIL(server, session, envelope, address, options)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if _take(self.closing_at_rcpt, address):
            asyncio.get_running_loop().call_later(0.01, server.transport.close)
            return "421 4.3.2 Service shutting down, try again later"
        if self.temporary.get(address, 0) < 0:  # endless 451
            return "451 4.7.1 Please try again later"
        return await super().handle_RCPT(server, session, envelope, address, options)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        address = envelope.rcpt_tos[0] if envelope.rcpt_tos else ""
        if _take(self.drop_in_data, address):
            server.transport.abort()
            return "451 never sent"
        if _take(self.silent_accept, address):
            await super().handle_DATA(server, session, envelope)
            with self.lock:
                self.taken_silently[address] += 1
            server.transport.abort()
            return "250 never sent"
        if not self.keep_data:
            data = Received(envelope.mail_from, tuple(envelope.rcpt_tos), b"")
            message_id = _message_id(envelope.original_content)
            with self.lock:
                self.received.append(data)
                for recipient in envelope.rcpt_tos:
                    self.message_ids[(recipient, message_id)] += 1
                self.bytes_received += len(envelope.original_content)
                self.last_at = time.time()
                self.first_at = self.first_at or self.last_at
            return "250 2.0.0 Message accepted for delivery"
        return await super().handle_DATA(server, session, envelope)


def _message_id(content: bytes) -> bytes:
    """The Message-ID header's value, found in the headers without parsing the message."""
    head = content[: content.find(b"\r\n\r\n") + 2 or 8192]
    start = head.lower().find(b"\nmessage-id:")
    if start < 0:
        return b""
    end = head.find(b"\r\n", start + 1)
    return head[start + 12 : end].strip()


def start_fault_server() -> tuple[Controller, SmtpServer, FaultHandler]:
    handler = FaultHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(), decode_data=False)
    controller.start()
    return controller, SmtpServer("127.0.0.1", controller.port, handler), handler


def _serve(port: int) -> None:
    """The benchmark's sink: count messages and bytes, keep nothing, report on SIGTERM."""
    handler = FaultHandler(keep_data=False)
    controller = Controller(handler, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("ready", flush=True)
    done.wait()
    controller.stop()
    copies = Counter(r for m in handler.received for r in m.rcpt_tos)
    report = {
        "messages": len(handler.received),
        "bytes": handler.bytes_received,
        "recipients": len(copies),
        "duplicates": sum(n - 1 for n in copies.values()),
        # of those, copies with a Message-ID the reader had already got: a mailbox drops them
        "same_id": sum(n - 1 for n in handler.message_ids.values()),
        "sessions": handler.sessions,
        "first_at": handler.first_at,
        "last_at": handler.last_at,
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
