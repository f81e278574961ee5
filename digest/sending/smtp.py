"""SMTP delivery: one message per reader over a reused connection, with retries.

A connection is opened on the first message and re-opened after a drop; it is closed (QUIT,
else a hard close) whatever happens. Each reader gets their own transaction: MAIL FROM, RCPT
TO, DATA, each answer read before the next command (no server we test against offers
PIPELINING). What an answer means depends on where it comes:

- at connect, greeting, STARTTLS or login, a 5xx or a TLS failure concerns every reader alike:
  `ServerRefused` stops the batch and everyone stays pending;
- at MAIL FROM, a 5xx (530 authentication required, 550 sender rejected) is the same;
- at RCPT TO, a 5xx fails that reader for good (`refused_at_rcpt`: the address is bad, and
  the outbox suppresses it); at DATA, a 5xx fails that one message;
- a 4xx anywhere, or a dropped connection, is retried with doubling delays. A 421 means the
  server is closing: the connection is dropped at once, so the retry opens a new one (one
  attempt, not two). A reused connection found dead before its first reply costs no attempt.

When the tries run out on a temporary failure the reader is `deferred` and the outbox keeps
the row pending for the next run. The message bytes are sent as built: dot-stuffed here with
one bytes.replace (smtplib's data() runs a regular expression over every message).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from digest.errors import DeliveryError


class SendStatus(StrEnum):
    SENT = "sent"
    FAILED = "failed"  # permanent: the server refused this reader or message (5xx)
    DEFERRED = "deferred"  # temporary failures outlasted the tries; try again next run


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls | ssl | none
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    attempts: int = 4
    retry_delay: float = 2.0


@dataclass(frozen=True, slots=True)
class SendResult:
    recipient: str
    status: SendStatus
    attempts: int
    reply: str = ""  # the server's last reply (or the connection error), for the summary
    refused_at_rcpt: bool = False  # a 5xx to RCPT TO: the address itself is refused


class ServerRefused(DeliveryError):
    """The server refused the session (login, TLS, greeting, the sender): no message can go,
    so the batch stops and its readers stay pending."""


Connector = Callable[[SmtpSettings], smtplib.SMTP]


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    """Open, greet, secure and log in, as the settings say. Raises ServerRefused for what
    would fail again for every reader."""
    where = f"SMTP server {settings.host}:{settings.port}"
    if settings.security == "ssl":
        context = ssl.create_default_context()
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        if client.sock is not None:  # the final dot goes alone: Nagle would hold it back
            client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client.ehlo()
        if settings.security == "starttls":
            if not client.has_extn("starttls"):
                raise ServerRefused(
                    f"{where} does not offer STARTTLS (security: ssl if it speaks TLS from the"
                    " start)"
                )
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if settings.username:
            if not client.has_extn("auth"):
                raise ServerRefused(
                    f"{where} offers no login (AUTH); remove smtp.username, or check"
                    " smtp.security: some servers offer AUTH only after STARTTLS"
                )
            client.login(settings.username, settings.password or "")
    except BaseException:
        _close(client)
        raise
    return client


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: str  # MAIL FROM (the return path)
    recipient: str  # RCPT TO, the bare address


class Handover(Protocol):
    """What the caller does around one message's final dot. A server keeps a message once it
    has read the dot, even when the client dies before the answer, and drops one whose dot
    never came. So the caller marks the message sent in `before_dot`, with the body already
    on the wire, and returns what reads the mark's answer: the dot is sent in between. A
    database runs a statement it has read even when its client has died since, so a kill
    -9 after both went leaves the message sent and marked, and one before both neither;
    only a kill between the two sends (a few microseconds) loses the message. `not_taken`
    runs when the server then refuses the message or the connection drops before its
    answer: the mark is taken back and the message retried."""

    def before_dot(self) -> Callable[[], None]: ...

    def not_taken(self) -> None: ...


class _Outcome(Exception):
    """A reply that ends this try: `status` None means try again."""

    def __init__(self, status: SendStatus | None, reply: str, at_rcpt: bool = False) -> None:
        super().__init__(reply)
        self.status, self.reply, self.at_rcpt = status, reply, at_rcpt


class SmtpBatch:
    """Send one message per reader over one reused connection. Use as a context manager."""

    def __init__(
        self,
        settings: SmtpSettings,
        connector: Connector = connect,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.connector = connector
        self.sleep = sleep
        self.client: smtplib.SMTP | None = None
        self.where = f"{settings.host}:{settings.port}"

    def __enter__(self) -> SmtpBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            _close(self.client)
            self.client = None

    def _abandon(self) -> None:
        """Close without QUIT: the server drops a message whose final dot it never read."""
        if self.client is not None:
            self.client.close()
            self.client = None

    def send(
        self,
        label: str,
        envelope: Envelope,
        data: bytes,
        while_mail: Callable[[], None] | None = None,
        while_data: Callable[[], None] | None = None,
        handover: Handover | None = None,
    ) -> SendResult:
        """Deliver `data` (CRLF line ends) to one reader, retrying temporary failures.
        `while_mail` runs once MAIL FROM is on its way, before its answer is read (the caller
        marks the message before); `while_data` while the server reads the message (the
        caller fills in the next one); `handover` around the final dot. Each may run once
        per try. Raises ServerRefused only."""
        reply = ""
        wire = _dot_stuffed(data)
        for attempt in range(1, self.settings.attempts + 1):
            if attempt > 1:
                self.sleep(self.settings.retry_delay * 2 ** (attempt - 2))
            try:
                self._transaction(envelope, wire, while_mail, while_data, handover)
                return SendResult(label, SendStatus.SENT, attempt, "250 accepted")
            except _Outcome as outcome:
                if outcome.status is not None:
                    return SendResult(
                        label, outcome.status, attempt, outcome.reply, outcome.at_rcpt
                    )
                reply = outcome.reply
        return SendResult(label, SendStatus.DEFERRED, self.settings.attempts, reply)

    def _transaction(
        self,
        envelope: Envelope,
        wire: bytes,
        while_mail: Callable[[], None] | None = None,
        while_data: Callable[[], None] | None = None,
        handover: Handover | None = None,
    ) -> None:
        client, (code, text) = self._mail_from(envelope.sender, while_mail)
        if code != 250:
            self._answer_to_mail(client, code, text, envelope.sender)
        code, text = self._guarded(lambda: _command(client, "rcpt", f"TO:<{envelope.recipient}>"))
        if code not in (250, 251):
            self._refused(client, code, text, at_rcpt=True)
        handed: list[bool] = []

        def before_dot() -> Callable[[], None] | None:
            if handover is None:
                return None
            confirm = handover.before_dot()
            handed.append(True)
            return confirm

        try:
            code, text = self._guarded(lambda: _data(client, wire, while_data, before_dot))
        except _Outcome:  # the connection dropped: whatever the server kept, it is retried
            if handed and handover is not None:
                handover.not_taken()
            raise
        except BaseException:  # our own side failed mid-DATA: QUIT would be read as text
            self._abandon()
            raise
        if code != 250:
            if handed and handover is not None:
                handover.not_taken()
            self._refused(client, code, text)

    def _mail_from(
        self, sender: str, meanwhile: Callable[[], None] | None = None
    ) -> tuple[smtplib.SMTP, tuple[int, bytes]]:
        reused = self.client is not None
        client = self._connected()
        try:
            return client, _command(client, "mail", f"FROM:<{sender}>", meanwhile)
        except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
            if not reused:
                raise self._dropped(exc) from None
            self.close()  # an idle connection the server closed: a new one costs no attempt
        except (smtplib.SMTPException, OSError) as exc:
            raise self._dropped(exc) from None
        client = self._connected()
        return client, self._guarded(
            lambda: _command(client, "mail", f"FROM:<{sender}>", meanwhile)
        )

    def _guarded(self, command: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
        try:
            return command()
        except (smtplib.SMTPException, OSError) as exc:
            raise self._dropped(exc) from None

    def _dropped(self, exc: BaseException) -> _Outcome:
        self.close()
        return _Outcome(None, f"connection to {self.where}: {exc or type(exc).__name__}")

    def _answer_to_mail(self, client: smtplib.SMTP, code: int, text: bytes, sender: str) -> None:
        """A refused MAIL FROM is about the session or the sender, never the reader: a 5xx
        stops the batch with everyone pending (after the fix, a re-run sends to them all)."""
        reply = _reply(code, text)
        if 500 <= code < 600:
            hint = ""
            if code == 530:
                hint = " (the server wants a login: set smtp.username and smtp.password_env)"
            raise ServerRefused(
                f"SMTP server {self.where} refused the sender {sender}: {reply}{hint}"
            )
        self._refused(client, code, text)

    def _refused(self, client: smtplib.SMTP, code: int, text: bytes, at_rcpt: bool = False) -> None:
        reply = _reply(code, text)
        if code == 421 or not 400 <= code < 600:  # closing, or nonsense: a new connection
            self.close()
            raise _Outcome(None, reply)
        try:
            client.rset()
        except (smtplib.SMTPException, OSError):
            self.close()
        if code >= 500:
            raise _Outcome(SendStatus.FAILED, reply, at_rcpt)
        raise _Outcome(None, reply)

    def _connected(self) -> smtplib.SMTP:
        """The open connection, else a new one. What fails while connecting for every reader
        alike (a 5xx greeting or login, TLS) stops the batch: ServerRefused."""
        if self.client is None:
            try:
                self.client = self.connector(self.settings)
            except ServerRefused:
                raise
            except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
                refusal = _refusal(exc, f"SMTP server {self.where}")
                if refusal is None:
                    raise self._dropped(exc) from None
                raise refusal from None
        return self.client


def _command(
    client: smtplib.SMTP, name: str, argument: str, meanwhile: Callable[[], None] | None = None
) -> tuple[int, bytes]:
    """MAIL or RCPT with an address checked already (smtplib's mail() and rcpt() parse it
    again with email.utils.parseaddr: a third of the client's time at 10,000 readers);
    `meanwhile` runs while the server answers."""
    client.putcmd(name, argument)
    if meanwhile is not None:
        meanwhile()
    return client.getreply()


def _data(
    client: smtplib.SMTP,
    wire: bytes,
    meanwhile: Callable[[], None] | None = None,
    before_dot: Callable[[], Callable[[], None] | None] | None = None,
) -> tuple[int, bytes]:
    """DATA with bytes already dot-stuffed and CRLF-terminated; `meanwhile`, then
    `before_dot`, run while the server reads them; what `before_dot` returns runs once the
    final dot is sent, before the answer is read."""
    client.putcmd("data")
    code, text = client.getreply()
    if code != 354:
        return code, text
    client.send(wire)
    if meanwhile is not None:
        meanwhile()
    confirm = before_dot() if before_dot is not None else None
    try:
        client.send(b".\r\n")
    finally:
        if confirm is not None:
            confirm()
    return client.getreply()


def _dot_stuffed(data: bytes) -> bytes:
    """RFC 5321 4.5.2: a line that starts with a dot gets another; and a final CRLF."""
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    return stuffed if stuffed.endswith(b"\r\n") else stuffed + b"\r\n"


def _refusal(exc: Exception, where: str) -> ServerRefused | None:
    """What fails while connecting for every reader and every retry alike (a 5xx, an
    untrusted certificate, TLS that cannot be set up), as one line; None for the rest."""
    if isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600:
        return ServerRefused(f"{where} refused us: {_reply(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ServerRefused(f"{where}: its TLS certificate is not trusted ({exc.verify_message})")
    if isinstance(exc, ssl.SSLError):
        return ServerRefused(f"{where}: TLS failed ({exc.reason or exc}); check smtp.security")
    return None


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(message.split())}"


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
