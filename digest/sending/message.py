"""An issue -> one email message per recipient. Pure: no clock, no network, no database.

multipart/alternative with the plain text first and the HTML last (clients show the last part
they can), quoted-printable bodies (no encoded line over 76 characters), headers encoded by
the stdlib's SMTP policy, List-Unsubscribe (RFC 2369) and one-click unsubscribe (RFC 8058).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from html import escape
from pathlib import Path
from urllib.parse import quote

from digest.errors import DeliveryError
from digest.files import write_atomically
from digest.models import Issue

# The SMTP policy (CRLF, RFC 2047 headers) with 76-character lines: RFC 2045's limit for
# quoted-printable bodies (the default 78 is the header limit, and would let body lines pass it).
MAIL_POLICY = policy.SMTP.clone(max_line_length=76)


@dataclass(frozen=True, slots=True)
class Letterhead:
    """What every message of a list shares: who sends it and how to leave the list."""

    sender: str  # "Name <address>" or "address"
    unsubscribe_mailto: str | None = None
    unsubscribe_url: str | None = None  # may hold {email}, replaced per recipient

    def mailto(self) -> str:
        address = self.unsubscribe_mailto or parseaddr(self.sender)[1]
        return f"mailto:{address}?subject=unsubscribe"


def subject_line(
    template: str,
    title: str,
    counts: tuple[int, int],
    period: tuple[datetime, datetime],
    zone: tzinfo,
) -> str:
    """The subject from its template; `counts` is (stories, issue number); dates in `zone`."""
    n, number = counts
    local_start, local_end = (moment.astimezone(zone) for moment in period)
    return template.format(
        title=title,
        date=f"{local_end.day} {local_end:%b %Y}",
        n=n,
        stories=f"{n} {'story' if n == 1 else 'stories'}",
        number=number,
        start=f"{local_start.day} {local_start:%b}",
        end=f"{local_end.day} {local_end:%b}",
    )


def message_id(issue_number: int, recipient: str, sender: str, variant: str = "") -> str:
    """Stable per issue and recipient, so a resumed send repeats the same id (and receivers that
    deduplicate by Message-ID drop a copy). A test send passes `variant` so it never shares an
    id with the real issue (Gmail would silently drop the real one)."""
    digest = hashlib.sha256(recipient.strip().lower().encode("utf-8")).hexdigest()[:12]
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    middle = f"{variant}-" if variant else ""
    return f"<digest-issue-{issue_number}-{middle}{digest}@{domain}>"


def build_message(
    issue: Issue, recipient: str, letterhead: Letterhead, date: datetime, variant: str = ""
) -> EmailMessage:
    """The message for one recipient: only their address in To."""
    links = _unsubscribe_links(letterhead, recipient)
    message = EmailMessage(policy=MAIL_POLICY)
    message["Subject"] = issue.subject
    message["From"] = _address(letterhead.sender)
    message["To"] = _address(recipient)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id(issue.number, recipient, letterhead.sender, variant)
    message["List-Unsubscribe"] = ", ".join(f"<{link}>" for link in links)
    if any(link.startswith("https://") for link in links):
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["X-Digest-Issue"] = str(issue.number)
    message.set_content(_text_with_footer(issue.text, links[-1]), cte="quoted-printable")
    message.add_alternative(
        _html_with_footer(issue.html, links[-1]), subtype="html", cte="quoted-printable"
    )
    return message


def _address(value: str) -> Address:
    """An Address object, so the SMTP policy encodes a non-ASCII display name (RFC 2047)."""
    name, address = parseaddr(value)
    user, _, domain = address.rpartition("@")
    return Address(display_name=name, username=user, domain=domain)


def _unsubscribe_links(letterhead: Letterhead, recipient: str) -> list[str]:
    """mailto first, the web link last: the visible footer shows the last one."""
    links = [letterhead.mailto()]
    if letterhead.unsubscribe_url:
        links.append(letterhead.unsubscribe_url.replace("{email}", quote(recipient, safe="")))
    return links


def _text_with_footer(text: str, link: str) -> str:
    target = link.removeprefix("mailto:").split("?")[0] if link.startswith("mailto:") else link
    how = f"email {target} with the subject 'unsubscribe'" if link.startswith("mailto:") else target
    return f"{text.rstrip()}\n\n--\nTo unsubscribe: {how}\n"


FOOTER_STYLE = "font-family:Arial,sans-serif;font-size:12px;color:#666666;text-align:center;"


def _html_with_footer(html: str, link: str) -> str:
    footer = (
        f'<p class="unsubscribe" style="{FOOTER_STYLE}">'
        f'<a href="{escape(link)}" style="color:#666666;">Unsubscribe</a> from this digest.</p>'
    )
    closing = list(re.finditer(r"</body\s*>", html, re.I))
    if not closing:
        return html + footer
    at = closing[-1].start()
    return html[:at] + footer + html[at:]


def write_eml(message: EmailMessage, path: Path) -> Path:
    """The message as a .eml file (what would go over the wire), written atomically."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, message.as_bytes())
    except OSError as exc:
        raise DeliveryError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path
