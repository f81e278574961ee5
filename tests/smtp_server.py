"""A real SMTP server (aiosmtpd) on 127.0.0.1 that records what it receives and can be told to
fail chosen recipients: temporarily (451, a number of times), permanently (550), or by
dropping the connection once."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes  # as it came over the wire (after the DATA dot-unstuffing)
    tls: bool = False  # the session was encrypted (STARTTLS or TLS from the start)

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


@dataclass
class RecordingHandler:
    temporary: dict[str, int] = field(default_factory=dict)  # address -> 451s left to give
    permanent: set[str] = field(default_factory=set)  # addresses refused with 550
    drop_once: set[str] = field(default_factory=set)  # close the connection at RCPT, once
    mail_delay: float = 0.0  # seconds to wait before answering MAIL FROM
    data_delay: float = 0.0  # seconds between keeping a message and answering its final dot
    received: list[Received] = field(default_factory=list)
    sessions: int = 0  # connections opened
    mail_commands: int = 0  # MAIL FROM commands seen (counted before mail_delay)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        with self.lock:
            self.mail_commands += 1
        if self.mail_delay:
            await asyncio.sleep(self.mail_delay)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.drop_once:
            self.drop_once.discard(address)
            server.transport.close()
            return "421 4.4.2 closing"
        if address in self.permanent:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if self.temporary.get(address, 0) > 0:
            self.temporary[address] -= 1
            return "451 4.7.1 Please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(
                Received(
                    envelope.mail_from,
                    tuple(envelope.rcpt_tos),
                    envelope.original_content,
                    tls=server.transport.get_extra_info("ssl_object") is not None,
                )
            )
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        return "250 2.0.0 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.rcpt_tos]

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until `count` messages have been accepted."""
        return _wait_until(lambda: self.count() >= count, timeout)

    def wait_for_mail_command(self, timeout: float = 10.0) -> bool:
        """Wait until a client has begun a message (MAIL FROM)."""
        return _wait_until(lambda: self.mail_commands > 0, timeout)


def _wait_until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler


def start_server(
    password: str | None = None,
    tls: ssl.SSLContext | None = None,
    implicit_tls: bool = False,
) -> tuple[Controller, SmtpServer]:
    """With `password`, the server wants AUTH (user "digest"). With a `tls` server context it
    offers STARTTLS and requires it before MAIL, or, with `implicit_tls`, speaks TLS from the
    first byte (port 465 style)."""
    handler = RecordingHandler()
    port = _free_port()
    options: dict[str, Any] = {}
    if password is not None:
        options |= {
            "authenticator": _password_check(password),
            "auth_required": True,
            "auth_require_tls": tls is not None,
        }
    if tls is not None and implicit_tls:
        options["ssl_context"] = tls
    elif tls is not None:
        options |= {"tls_context": tls, "require_starttls": True}
    controller = Controller(handler, hostname="127.0.0.1", port=port, decode_data=False, **options)
    controller.start()
    return controller, SmtpServer("127.0.0.1", port, handler)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _password_check(password: str) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"digest",
            password.encode(),
        )
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd replies 535

    return check
