"""One-off letters: the confirmation a subscribe request is owed, or the note that the address
is on the list already. Queued in the state database by signup.py in the same transaction as
the request, sent by `digest serve` within seconds (its postman thread calls `deliver_letters`).

Sending follows the outbox's discipline: letters are claimed (a lease, so several serve
processes never send one twice), sent over SMTP with smtp.py's retries and answers, and
marked as soon as the server answered. A letter is composed when it is sent, its links signed
then; its Message-ID is fixed by its row, so a repeat after a crash is one a receiver drops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from html import escape

from digest.config.settings import Settings
from digest.sending.links import Links
from digest.sending.message import MAIL_POLICY, Letterhead, Reader, signed
from digest.sending.outbox import new_owner
from digest.sending.smtp import (
    Connector,
    Envelope,
    SendStatus,
    ServerRefused,
    SmtpBatch,
    SmtpSettings,
    connect,
)
from digest.sending.subscribers import Letter, claim_letters, get, mark_letter
from digest.state import State

CLAIM = timedelta(minutes=2)  # a letter whose sender died is taken over after this
GIVE_UP = timedelta(days=1)  # a letter still deferred this long after it was asked for fails


@dataclass
class LetterRun:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    error: str = ""  # the server refused the session: every letter stays pending
    failures: list[str] = field(default_factory=list)
    last_reply: str = ""  # of a deferred letter: why it waits


def letter_message(
    letter: Letter, email: str, settings: Settings, head: Letterhead, links: Links, now: datetime
) -> bytes:
    """Subject, plain text and a small HTML part for one letter to `email`."""
    title = settings.title
    asked = f"Someone, we hope you, asked to subscribe {email} to {title}."
    if letter.kind == "confirm":
        link = links.confirm(letter.subscriber, letter.created_at)
        hours = round(links.confirm_lifetime.total_seconds() / 3600)
        subject = f"Confirm your subscription to {title}"
        before = [asked]
        action = "To confirm, open this link and press the button on the page:"
        after = [
            f"The link works for {hours} hours. If it was not you, ignore this message: "
            "you will not hear from us again."
        ]
        button = "Confirm my subscription"
    else:
        link = links.preferences(letter.subscriber)
        subject = f"You are subscribed to {title}"
        before = [asked, "This address is on the list already: nothing changed."]
        action = "To choose your sections, pause or unsubscribe:"
        after = []
        button = "Your preferences"
    text = "\n\n".join([*before, f"{action}\n{link}", *after]) + "\n"
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = head.sender
    message["To"] = email
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    domain = parseaddr(head.sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<digest-letter-{letter.id}.{head.install_id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to it
    message.set_content(text)
    message.add_alternative(_html(before, after, link, button), subtype="html")
    return signed(message.as_bytes(policy=MAIL_POLICY), head.dkim)


def _html(before: list[str], after: list[str], link: str, button: str) -> str:
    def paragraphs(lines: list[str]) -> str:
        return "".join(f"<p>{escape(line)}</p>\n" for line in lines)

    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="font-family:Arial,sans-serif;font-size:16px;line-height:1.5;color:#1f2328;">'
        f"{paragraphs(before)}"
        f'<p><a href="{escape(link)}" style="display:inline-block;padding:10px 18px;'
        'background:#0b5cad;color:#ffffff;text-decoration:none;border-radius:4px;">'
        f"{escape(button)}</a></p>\n{paragraphs(after)}"
        f'<p style="font-size:13px;color:#57606a;">Or open: {escape(link)}</p>'
        "</body></html>\n"
    )


def deliver_letters(
    settings: Settings,
    state: State,
    head: Letterhead,
    links: Links,
    smtp: SmtpSettings,
    clock: Callable[[], datetime],
    connector: Connector = connect,
) -> LetterRun:
    """Send every letter owed that no other process holds; mark each as the server answers."""
    run = LetterRun()
    owner = new_owner()
    letters = claim_letters(state, owner, clock(), CLAIM)
    if not letters:
        return run
    try:
        with SmtpBatch(smtp, connector) as batch:
            for letter in letters:
                _send_one(letter, settings, state, head, links, batch, clock, run)
    except ServerRefused as exc:
        run.error = str(exc)
    return run


def _send_one(
    letter: Letter,
    settings: Settings,
    state: State,
    head: Letterhead,
    links: Links,
    batch: SmtpBatch,
    clock: Callable[[], datetime],
    run: LetterRun,
) -> None:
    now = clock()
    subscriber = get(state, letter.subscriber)
    why = _not_owed(letter, subscriber.status if subscriber else None)
    if why or subscriber is None:
        mark_letter(state, letter.id, "skipped", 0, why, now)
        return
    data = letter_message(letter, subscriber.email, settings, head, links, now)
    envelope = Envelope(head.envelope_sender(Reader(subscriber.email)), subscriber.email)
    result = batch.send(subscriber.email, envelope, data)
    now = clock()
    if result.status is SendStatus.SENT:
        mark_letter(state, letter.id, "sent", result.attempts, result.reply, now)
        run.sent += 1
    elif result.status is SendStatus.FAILED or now - letter.created_at > GIVE_UP:
        mark_letter(state, letter.id, "failed", result.attempts, result.reply, now)
        run.failed += 1
        run.failures.append(f"{subscriber.email}: {result.reply}")
    else:
        mark_letter(state, letter.id, "pending", result.attempts, result.reply, now)
        run.deferred += 1
        run.last_reply = result.reply


def _not_owed(letter: Letter, status: str | None) -> str:
    """Why a letter is no longer worth sending ("" when it is)."""
    if status is None:
        return "no such subscriber"
    if status == "suppressed":
        return "the address is suppressed"
    if letter.kind == "confirm" and status != "pending":
        return f"no longer pending ({status})"
    return ""
