"""An issue -> one email message per reader, rendered once. Pure: no clock, no network, no
database.

`render_issue` does the work once per issue: the headers every reader shares (folded and
RFC 2047-encoded by the stdlib's SMTP policy), the multipart/alternative skeleton (plain text
first, HTML last: clients show the last part they can) and both bodies quoted-printable (no
encoded line over 76 characters). `IssueMail.for_reader` then writes only what differs per
reader, as bytes: To, Message-ID, List-Unsubscribe (RFC 2369, with RFC 8058's one-click
List-Unsubscribe-Post for an https link) and the unsubscribe line of each part; and signs the
result with DKIM when a key is set.

Headers that carry a URL are written here, not by the email package: its folding RFC
2047-encodes a long List-Unsubscribe value (`=?utf-8?q?=3Chttps...`), which no mail client
can use. Each link stays whole in its angle brackets; the value folds between them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from email import message_from_bytes, policy, quoprimime
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
CRLF = b"\r\n"
QP_LINE = 76
# The headers a DKIM signature covers, when the message has them (issue 19).
SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Feedback-ID",
    "MIME-Version",
    "Content-Type",
)


@dataclass(frozen=True, slots=True)
class DkimKey:
    """What signs a message: the domain (d=), the selector (s=) and the PEM private key,
    read once from its file."""

    domain: str
    selector: str
    private_key: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Reader:
    """One recipient and what differs for them. `unsubscribe_url` is their own one-click link
    when the subscriber store gives one (a signed token); unset, the configured
    `unsubscribe.url` is filled in with their address."""

    address: str  # as listed: "Name <a@example.org>" or "a@example.org"
    unsubscribe_url: str | None = None
    preferences_url: str | None = None  # their page to choose sections, pause or leave
    email: str = field(init=False)  # the bare address, as in the SMTP envelope

    def __post_init__(self) -> None:
        plain = "<" not in self.address and " " not in self.address.strip()
        bare = self.address.strip() if plain else parseaddr(self.address)[1]
        object.__setattr__(self, "email", bare or self.address.strip())


@dataclass(frozen=True, slots=True)
class Letterhead:
    """What every message of a list shares: who sends it, how to leave the list, the list's
    identity, where bounces go, and the key that signs."""

    sender: str  # "Name <address>" or "address"
    unsubscribe_mailto: str | None = None
    unsubscribe_url: str | None = None  # may hold {email}: the bare address, URL-encoded
    list_id: str = ""  # the List-Id value, "Title <id.example.org>"; empty: no header
    feedback_id: str = ""  # the Feedback-ID value ({number}: the issue's); empty: none
    return_path: str = ""  # envelope sender (bounces go there); empty: the From address
    verp: bool = False  # one envelope sender per reader: bounces+ana=example.org@...
    dkim: DkimKey | None = None
    install_id: str = "local"  # the state database's random id (Message-IDs)

    def mailto(self) -> str:
        address = self.unsubscribe_mailto or parseaddr(self.sender)[1]
        return f"mailto:{address}?subject=unsubscribe"

    def web_link(self, reader: Reader) -> str | None:
        if reader.unsubscribe_url:
            return reader.unsubscribe_url
        if not self.unsubscribe_url:
            return None
        return self.unsubscribe_url.replace("{email}", quote(reader.email, safe=""))

    def envelope_sender(self, reader: Reader) -> str:
        """MAIL FROM for this reader: the return path, VERP-encoded when asked (RFC 5321
        allows `=` in a local part; the bounce names the reader even if its body does not)."""
        return _verp(self.return_path or parseaddr(self.sender)[1], reader, self.verp)


def _verp(base: str, reader: Reader, verp: bool) -> str:
    if not verp:
        return base
    local, _, domain = base.rpartition("@")
    return f"{local}+{reader.email.replace('@', '=')}@{domain}"


def default_list_id(title: str, sender: str) -> str:
    """List-Id (RFC 2919) from the digest's title and the sender's domain:
    'The Weekly Digest <the-weekly-digest.example.org>'."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-") or "digest"
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    phrase = title.replace("\\", "").replace('"', "")
    return f"{phrase} <{slug[:60]}.{domain}>"


def verp_reader(envelope_to: str, return_path: str) -> str | None:
    """The reader a VERP address names (bounces+ana=example.org@host -> ana@example.org);
    None when it is not one of ours."""
    base_local, _, base_domain = return_path.rpartition("@")
    local, _, domain = envelope_to.strip().strip("<>").rpartition("@")
    prefix = f"{base_local}+"
    if domain.lower() != base_domain.lower() or not local.lower().startswith(prefix.lower()):
        return None
    user, _, reader_domain = local[len(prefix) :].rpartition("=")
    return f"{user}@{reader_domain}" if user and reader_domain else None


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


def message_id(issue_number: int, reader: Reader, letterhead: Letterhead, variant: str = "") -> str:
    """Unique across installs and lists (the install's random id), stable per issue and
    reader, so a retried or resumed send repeats the same id and a receiver that
    deduplicates by Message-ID drops the copy. A test send passes `variant` so it never shares
    an id with the real issue (Gmail would silently drop the real one). The reader's part is
    keyed by the install id: the id does not reveal the address."""
    domain = parseaddr(letterhead.sender)[1].rpartition("@")[2] or "localhost"
    return _message_id(issue_number, reader, letterhead.install_id, domain, variant)


def _message_id(number: int, reader: Reader, install_id: str, domain: str, variant: str) -> str:
    key = install_id.encode("utf-8")
    reader_part = hmac.new(key, reader.email.lower().encode("utf-8"), hashlib.sha256)
    middle = f"{variant}-" if variant else ""
    return f"<digest-issue-{number}-{middle}{reader_part.hexdigest()[:16]}.{install_id}@{domain}>"


# the issue rendered once ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IssueMail:
    """An issue's message with the reader's parts left open. Fill in with `for_reader`."""

    number: int
    letterhead: Letterhead
    variant: str
    shared_headers: bytes  # Subject, From, Date, List-Id, ... (folded, CRLF-terminated)
    mime_headers: bytes  # MIME-Version and Content-Type, then the blank line
    text_open: bytes  # boundary, part headers, the plain text before its unsubscribe line
    html_open: bytes  # the text part's end, the HTML part up to its unsubscribe paragraph
    html_close: bytes  # the rest of the HTML, and the closing boundary
    mailto: str  # the letterhead's, worked out once (parseaddr is slow at 10,000 readers)
    domain: str  # of the Message-IDs
    return_path: str  # the envelope sender before VERP

    def message_id(self, reader: Reader) -> str:
        install = self.letterhead.install_id
        return _message_id(self.number, reader, install, self.domain, self.variant)

    def envelope_sender(self, reader: Reader) -> str:
        return _verp(self.return_path, reader, self.letterhead.verp)

    def for_reader(self, reader: Reader) -> bytes:
        """The whole message for one reader (CRLF line ends, as sent)."""
        web = self.letterhead.web_link(reader)
        links = [self.mailto, *([web] if web else [])]
        head = [
            _to_header(reader),
            b"Message-ID: " + self.message_id(reader).encode("ascii") + CRLF,
            _list_unsubscribe(links),
        ]
        if web and web.startswith("https://"):
            head.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
        message = b"".join(
            [
                self.shared_headers,
                *head,
                self.mime_headers,
                self.text_open,
                _qp(_text_footer(links[-1], reader.preferences_url)),
                self.html_open,
                _qp(_html_footer(links[-1], reader.preferences_url) + "\n"),
                self.html_close,
            ]
        )
        return signed(message, self.letterhead.dkim)


def render_issue(
    issue: Issue, letterhead: Letterhead, date: datetime, variant: str = ""
) -> IssueMail:
    """Everything of the issue's message that no reader changes, encoded once."""
    shared = EmailMessage(policy=MAIL_POLICY)
    shared["From"] = _address(letterhead.sender)
    shared["Subject"] = issue.subject
    shared["Date"] = format_datetime(date)
    if letterhead.list_id:
        shared["List-Id"] = letterhead.list_id
    if letterhead.feedback_id:
        shared["Feedback-ID"] = letterhead.feedback_id.replace("{number}", str(issue.number))
    shared["X-Digest-Issue"] = str(issue.number)
    text_body = _qp(f"{issue.text.rstrip()}\n\n--\n")
    html_head, html_tail = _split_before_body_end(issue.html)
    html_open = _qp(html_head + "\n")
    html_close = _qp(html_tail) if html_tail else b""
    boundary = _boundary(text_body, html_open, html_close)
    part = b'Content-Type: text/%s; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable'
    dash = b"--" + boundary
    return IssueMail(
        number=issue.number,
        letterhead=letterhead,
        variant=variant,
        shared_headers=shared.as_bytes(policy=MAIL_POLICY).removesuffix(CRLF),
        mime_headers=b'MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="'
        + boundary
        + b'"\r\n\r\n',
        text_open=dash + CRLF + part % b"plain" + CRLF + CRLF + text_body,
        html_open=dash + CRLF + part % b"html" + CRLF + CRLF + html_open,
        html_close=html_close
        + (CRLF if html_close and not html_close.endswith(CRLF) else b"")
        + dash
        + b"--\r\n",
        mailto=letterhead.mailto(),
        domain=parseaddr(letterhead.sender)[1].rpartition("@")[2] or "localhost",
        return_path=letterhead.return_path or parseaddr(letterhead.sender)[1],
    )


def build_message(
    issue: Issue, reader: Reader | str, letterhead: Letterhead, date: datetime, variant: str = ""
) -> EmailMessage:
    """One reader's message as an EmailMessage (the preview, .eml files): the same bytes a
    send puts on the wire, parsed."""
    reader = Reader(reader) if isinstance(reader, str) else reader
    raw = render_issue(issue, letterhead, date, variant).for_reader(reader)
    return message_from_bytes(raw, policy=MAIL_POLICY)


def write_eml(message: EmailMessage | bytes, path: Path) -> Path:
    """The message as a .eml file (what would go over the wire), written atomically."""
    data = message if isinstance(message, bytes) else message.as_bytes()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
    except OSError as exc:
        raise DeliveryError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


# pieces -------------------------------------------------------------------------------------


def _qp(text: str) -> bytes:
    """UTF-8 text as quoted-printable with CRLF line ends; text ending in a newline encodes to
    bytes ending in CRLF, so pieces encoded apart join into one valid body."""
    latin = text.encode("utf-8").decode("latin-1")
    return quoprimime.body_encode(latin, maxlinelen=QP_LINE, eol="\r\n").encode("ascii")


def _boundary(*bodies: bytes) -> bytes:
    """'=_' cannot occur in quoted-printable text, so the boundary never clashes with it."""
    while True:
        boundary = f"==_digest_{secrets.token_hex(12)}".encode("ascii")
        if not any(boundary in body for body in bodies):
            return boundary


def _address(value: str) -> Address:
    """An Address object, so the SMTP policy encodes a non-ASCII display name (RFC 2047)."""
    name, address = parseaddr(value)
    user, _, domain = address.rpartition("@")
    return Address(display_name=name, username=user, domain=domain)


def _to_header(reader: Reader) -> bytes:
    if reader.address.strip() == reader.email and reader.email.isascii():
        return b"To: " + reader.email.encode("ascii") + CRLF
    header = EmailMessage(policy=MAIL_POLICY)
    header["To"] = _address(reader.address)
    return header.as_bytes(policy=MAIL_POLICY).removesuffix(CRLF)


def _list_unsubscribe(links: list[str]) -> bytes:
    """Each link whole in angle brackets; a long value folds after a comma, never inside a
    link (RFC 2369 section 2)."""
    bracketed = [f"<{_ascii_url(link)}>" for link in links]
    line = "List-Unsubscribe: " + ", ".join(bracketed)
    if len(line) > 78:
        line = "List-Unsubscribe: " + ",\r\n ".join(bracketed)
    return line.encode("ascii") + CRLF


def _ascii_url(link: str) -> str:
    """A URL fit for a header: anything outside printable ASCII, and <, >, percent-encoded."""
    return re.sub(r"[^\x21-\x7e]|[<>]", lambda m: quote(m.group(), safe=""), link)


def _text_footer(link: str, preferences: str | None = None) -> str:
    target = link.removeprefix("mailto:").split("?")[0] if link.startswith("mailto:") else link
    how = f"email {target} with the subject 'unsubscribe'" if link.startswith("mailto:") else target
    choose = f"Choose your sections or pause: {preferences}\n" if preferences else ""
    return f"{choose}To unsubscribe: {how}\n"


FOOTER_STYLE = "font-family:Arial,sans-serif;font-size:12px;color:#666666;text-align:center;"


def _html_footer(link: str, preferences: str | None = None) -> str:
    choose = (
        f'<a href="{escape(preferences)}" style="color:#666666;">Choose your sections</a> or '
        if preferences
        else ""
    )
    leave = "unsubscribe" if preferences else "Unsubscribe"
    return (
        f'<p class="unsubscribe" style="{FOOTER_STYLE}">{choose}'
        f'<a href="{escape(link)}" style="color:#666666;">{leave}</a> from this digest.</p>'
    )


def _split_before_body_end(html: str) -> tuple[str, str]:
    closing = list(re.finditer(r"</body\s*>", html, re.I))
    if not closing:
        return html, ""
    at = closing[-1].start()
    return html[:at], html[at:]


def signed(message: bytes, key: DkimKey | None) -> bytes:
    """The message with its DKIM-Signature header first, when there is a key."""
    return _dkim_sign(message, key) + message if key is not None else message


def _dkim_sign(message: bytes, key: DkimKey) -> bytes:
    """The DKIM-Signature header line for `message` (dkimpy; relaxed/relaxed, rsa-sha256)."""
    import dkim

    present = {line.split(b":", 1)[0].lower() for line in _header_lines(message)}
    headers = [name.encode("ascii") for name in SIGNED_HEADERS if name.lower().encode() in present]
    try:
        return bytes(
            dkim.sign(
                message,
                key.selector.encode("ascii"),
                key.domain.encode("ascii"),
                key.private_key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=headers,
            )
        )
    except dkim.DKIMException as exc:
        raise DeliveryError(f"DKIM signing failed: {exc}") from None


def _header_lines(message: bytes) -> list[bytes]:
    head = message.split(b"\r\n\r\n", 1)[0]
    return [line for line in head.split(CRLF) if line and line[:1] not in (b" ", b"\t")]
