"""Write the rendered digest to files, atomically: a reader never sees half a digest;
and send messages over SMTP."""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from enum import StrEnum

from digest.errors import DeliveryError

# SMTP (issue 5) ------------------------------------------------------------------------------
#
# One connection per batch, opened on the first message and re-opened after a drop; closed
# (QUIT, else a hard close) whatever happens. Each recipient gets their own transaction.
# A 4xx reply or a dropped connection is retried with doubling delays; a 5xx reply is final
# for that recipient. When the tries run out on a temporary failure the recipient is
# `deferred`: the outbox keeps it pending for the next run.


class SendStatus(StrEnum):
    SENT = "sent"
    FAILED = "failed"  # permanent: the server refused this recipient or message (5xx)
    DEFERRED = "deferred"  # temporary failures outlasted the tries; try again next run


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls | ssl | none
    sender: str  # envelope and From address
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    attempts: int = 4
    retry_delay: float = 2.0

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]


@dataclass(frozen=True, slots=True)
class SendResult:
    recipient: str
    status: SendStatus
    attempts: int
    reply: str = ""  # the server's last reply (or the connection error), for the summary


class ServerRefused(DeliveryError):
    """The server refused the session (login, TLS, greeting): no message can go, so the batch
    stops and its recipients stay pending."""


Connector = Callable[[SmtpSettings], smtplib.SMTP]


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    """Open, greet, secure and log in, as the settings say."""
    if settings.security == "ssl":
        context = ssl.create_default_context()
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        client.ehlo()
        if settings.security == "starttls":
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if settings.username:
            client.login(settings.username, settings.password or "")
    except BaseException:
        _close(client)
        raise
    return client


class SmtpBatch:
    """Send one message per recipient over one reused connection. Use as a context manager."""

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

    def __enter__(self) -> SmtpBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            _close(self.client)
            self.client = None

    def send(self, recipient: str, message: EmailMessage) -> SendResult:
        """Deliver to one recipient, retrying temporary failures. Raises ServerRefused only."""
        reply = ""
        for attempt in range(1, self.settings.attempts + 1):
            if attempt > 1:
                self.sleep(self.settings.retry_delay * 2 ** (attempt - 2))
            outcome, reply = self._try_once(recipient, message)
            if outcome is not None:
                return SendResult(recipient, outcome, attempt, reply)
        return SendResult(recipient, SendStatus.DEFERRED, self.settings.attempts, reply)

    def _try_once(self, recipient: str, message: EmailMessage) -> tuple[SendStatus | None, str]:
        """(final status, reply), or (None, reply) when worth another try."""
        try:
            client = self._connected()
            envelope_to = parseaddr(recipient)[1] or recipient
            client.sendmail(self.settings.sender_address, [envelope_to], message.as_bytes())
            return SendStatus.SENT, "250 accepted"
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return _by_code(code, _reply(code, text))
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            return _by_code(exc.smtp_code, _reply(exc.smtp_code, exc.smtp_error))
        except (smtplib.SMTPException, OSError) as exc:  # dropped, refused, timed out, TLS
            self.close()
            where = f"{self.settings.host}:{self.settings.port}"
            return None, f"connection to {where}: {exc or type(exc).__name__}"

    def _connected(self) -> smtplib.SMTP:
        """The open connection, else a new one. A 5xx while connecting (login refused, TLS
        refused, 554 greeting) concerns every recipient alike: the batch stops, rows stay
        pending."""
        if self.client is None:
            try:
                self.client = self.connector(self.settings)
            except (smtplib.SMTPException, ssl.SSLError) as exc:
                refusal = _refusal(exc, f"SMTP server {self.settings.host}:{self.settings.port}")
                if refusal is None:
                    raise
                raise refusal from None
        return self.client


def _refusal(exc: Exception, where: str) -> ServerRefused | None:
    """What fails while connecting for every recipient and every retry alike (a 5xx, an
    untrusted certificate, TLS that cannot be set up), as one line; None for the rest."""
    if isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600:
        return ServerRefused(f"{where} refused us: {_reply(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ServerRefused(f"{where}: its TLS certificate is not trusted ({exc.verify_message})")
    if isinstance(exc, ssl.SSLError):
        return ServerRefused(f"{where}: TLS failed ({exc.reason or exc}); check smtp.security")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return ServerRefused(
            f"{where} does not offer STARTTLS (security: ssl if it speaks TLS from the start)"
        )
    return None


def _by_code(code: int, reply: str) -> tuple[SendStatus | None, str]:
    return (SendStatus.FAILED, reply) if 500 <= code < 600 else (None, reply)


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(message.split())}"


def _close(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()
