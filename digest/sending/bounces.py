"""`digest bounces`: delivery status notifications read from a Maildir, an mbox file or
standard input (an MTA pipes one message, or an mbox stream), and recorded (suppress.py).

The failed addresses and whether each failure is permanent come from flufl.bounce, GNU
Mailman's bounce detectors: RFC 3464 DSNs first, then the formats of MTAs that do not follow
it (Exim, Postfix's older reports, qmail, Microsoft Exchange, Yahoo, AOL and more), each
tested on real bounces. With VERP the envelope address the bounce came back to names the
reader even when the bounce's body does not. The issue a bounce answers comes from the
returned headers (our Message-ID or X-Digest-Issue), when the bounce includes them.

A message read twice (the same Maildir run again) is counted once: each is recorded with the
hash of its bytes.
"""

from __future__ import annotations

import hashlib
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path
from typing import BinaryIO

from flufl.bounce import all_failures

from digest.errors import ConfigError
from digest.sending.message import verp_reader
from digest.sending.suppress import Bounce, key, record_bounce
from digest.state import State

ISSUE_MARK = re.compile(rb"(?:X-Digest-Issue:[ \t]*(\d+)|<digest-issue-(\d+)-)", re.I)
STATUS = re.compile(rb"^Status:[ \t]*([245]\.\d{1,3}\.\d{1,3})", re.I | re.M)
ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")


@dataclass(frozen=True, slots=True)
class ReadBounce:
    """What one message says: who failed, for good or for now, on which issue."""

    permanent: frozenset[str]
    temporary: frozenset[str]
    issue: int | None
    detail: str


@dataclass
class BounceRun:
    """What `digest bounces` did, for its summary."""

    messages: int = 0
    recorded: int = 0  # (message, address) pairs stored
    repeated: int = 0  # messages read before
    unrecognised: list[str] = field(default_factory=list)  # not a bounce we can read
    suppressed: list[str] = field(default_factory=list)  # addresses this run suppressed


def read_source(source: str, stdin: BinaryIO) -> Iterator[tuple[str, bytes]]:
    """(label, raw bytes) of each message in a Maildir, an mbox file, or stdin ('-')."""
    if source == "-":
        data = stdin.read()
        if data.startswith(b"From "):  # an mbox stream
            yield from _mbox_messages(data)
        else:
            yield "stdin", data
        return
    path = Path(source)
    if path.is_dir():
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise ConfigError(f"{path}: a folder, but not a Maildir (no cur/ or new/ in it)")
        box = mailbox.Maildir(path, factory=None, create=False)
        for name in sorted(box.keys()):
            with box.get_file(name) as handle:
                yield f"{path.name}/{name}", handle.read()
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    yield from _mbox_messages(data) if data.startswith(b"From ") else [(path.name, data)]


def _mbox_messages(data: bytes) -> Iterator[tuple[str, bytes]]:
    chunks = re.split(rb"(?:^|\n)From [^\n]*\n", data)
    for number, chunk in enumerate((c for c in chunks if c.strip()), start=1):
        yield f"mbox message {number}", re.sub(rb"(?m)^>(>*From )", rb"\1", chunk)


def read_bounce(raw: bytes, return_path: str = "", verp: bool = False) -> ReadBounce | None:
    """The failures one message reports; None when it is not a bounce."""
    message: Message = BytesParser(policy=compat32).parsebytes(raw)
    temporary, permanent = all_failures(message)
    found_permanent = {_address(a) for a in permanent}
    found_temporary = {_address(a) for a in temporary} - found_permanent
    reader = _verp_reader(message, return_path) if verp and return_path else None
    if reader and (found_permanent or found_temporary):
        # the envelope names the reader; the body may name a forwarding address instead
        (found_permanent if found_permanent else found_temporary).add(key(reader))
    if not found_permanent and not found_temporary:
        return None
    mark = ISSUE_MARK.search(raw)
    issue = int(mark[1] or mark[2]) if mark else None
    status = STATUS.search(raw)
    detail = status[1].decode("ascii") if status else ("5.0.0" if found_permanent else "4.0.0")
    subject = " ".join(str(message.get("Subject", "")).split())[:120]
    return ReadBounce(
        frozenset(found_permanent),
        frozenset(found_temporary),
        issue,
        f"{detail} {subject}".strip(),
    )


def _address(found: bytes | str) -> str:
    text = found.decode("utf-8", "replace") if isinstance(found, bytes) else found
    return key(text)


def _verp_reader(message: Message, return_path: str) -> str | None:
    for header in ENVELOPE_HEADERS:
        for value in message.get_all(header, []):
            reader = verp_reader(str(value), return_path)
            if reader:
                return reader
    return None


def record_bounces(
    state: State,
    messages: Iterator[tuple[str, bytes]],
    limits: tuple[str, bool, int],
    now: datetime,
) -> BounceRun:
    """Read and record every message; `limits` is (return path, VERP on, temporary failures
    in a row that suppress)."""
    return_path, verp, suppress_after = limits
    run = BounceRun()
    for label, raw in messages:
        run.messages += 1
        digest = hashlib.sha256(raw).hexdigest()
        if state.execute("SELECT 1 FROM bounces WHERE message = :m", {"m": digest}).fetchone():
            run.repeated += 1
            continue
        found = read_bounce(raw, return_path, verp)
        if found is None:
            run.unrecognised.append(f"{label}: {_subject(raw)}")
            continue
        for address, permanent in [
            *((a, True) for a in sorted(found.permanent)),
            *((a, False) for a in sorted(found.temporary)),
        ]:
            bounce = Bounce(address, permanent, found.detail, found.issue, "dsn")
            if record_bounce(state, bounce, suppress_after, now, message=digest):
                run.suppressed.append(address)
            run.recorded += 1
    return run


def _subject(raw: bytes) -> str:
    subject = message_from_bytes(raw).get("Subject", "(no subject)")
    return f"not a bounce we can read (subject: {' '.join(str(subject).split())[:80]!r})"
