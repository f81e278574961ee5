"""The subscriber list: the store. Every SQL statement on subscribers, their history and the
letters owed to them is in this module (issue 22 moves the store to SQLAlchemy Core).

A subscriber is one address with a status: `pending` (asked, not confirmed), `active`,
`paused` (keeps the place, gets no issue) or `unsubscribed`. A bounce does not change it:
suppression is the `suppressed` table (suppress.py), the same fact seen from the list, and a
suppressed subscriber reads as status `suppressed` here. Each change of status is stored once
in `subscriber_events` with when and how it came (form, import, config, command, one-click,
preferences): the record of consent. Addresses in `recipients:` are subscribers too
(`created_via = 'config'`), kept in step with the file by `sync_config`.

The rules that drive the store (double opt-in, rate limits) are signup.py; composing and
sending the letters, letters.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr

from email_validator import EmailNotValidError, validate_email

from digest.errors import DigestError
from digest.state import State

STATUSES = ("pending", "active", "paused", "unsubscribed", "suppressed")
ALL_SECTIONS = ""  # the edition of a reader who takes every section (outbox.edition NULL)


class AddressError(DigestError):
    """Not an address we can mail: the message says which and why."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Address:
    email: str  # as given, with the domain normalised: the address mailed
    name: str = ""  # the display name, when one was given ("Carol <carol@...>")

    @property
    def key(self) -> str:
        return self.email.lower()

    @property
    def header(self) -> str:
        """As the To header and the outbox write it."""
        return f"{self.name} <{self.email}>" if self.name else self.email


def parse_address(text: str) -> Address:
    """An address as a person typed it, checked by email-validator (syntax only: no DNS, so
    a test or an offline machine decides the same; the reserved `.test` domain is allowed,
    for trying it out against a local server). Raises AddressError naming the reason."""
    raw = text.strip()
    name, bare = parseaddr(raw) if "<" in raw else ("", raw)
    if not bare or len(raw) > 320 or any(c in raw for c in "\r\n\0"):
        raise AddressError(f"{_shown(raw)}: not an email address")
    try:
        valid = validate_email(bare, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise AddressError(f"{_shown(raw)}: {str(exc).rstrip('.')}") from None
    return Address(valid.normalized, name.strip())


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    email: str
    name: str
    status: str  # one of STATUSES
    via: str  # how the status was reached
    status_at: datetime
    sections: tuple[str, ...] | None  # None: every section
    created_at: datetime
    created_via: str
    confirmed_at: datetime | None = None
    suppressed_reason: str = ""

    @property
    def address(self) -> Address:
        return Address(self.email, self.name)

    @property
    def edition(self) -> str:
        """Which edition of an issue this reader gets: ALL_SECTIONS, or their choice."""
        return sections_key(self.sections)


def sections_key(sections: Sequence[str] | None) -> str:
    """A choice of sections as stored: JSON of the sorted titles; ALL_SECTIONS for None."""
    return ALL_SECTIONS if sections is None else json.dumps(sorted(set(sections)))


def sections_of(key: str | None) -> tuple[str, ...] | None:
    return None if not key else tuple(json.loads(key))


# reading ------------------------------------------------------------------------------------

_SELECT = (
    "SELECT s.id, s.email, s.name, s.status, s.via, s.status_at, s.sections, s.created_at,"
    " s.created_via, s.confirmed_at, x.since, x.reason"
    " FROM subscribers s LEFT JOIN suppressed x ON x.address = s.email_key"
)


def _subscriber(row: Sequence[object]) -> Subscriber:
    (id_, email, name, status, via, at, sections, created, created_via, confirmed) = row[:10]
    since, reason = row[10], row[11]
    if since is not None:  # a bounce suppressed it: that fact wins while it lasts
        status, via, at = "suppressed", "bounce", since
    return Subscriber(
        id=int(str(id_)),
        email=str(email),
        name=str(name),
        status=str(status),
        via=str(via),
        status_at=datetime.fromisoformat(str(at)),
        sections=sections_of(str(sections) if sections is not None else None),
        created_at=datetime.fromisoformat(str(created)),
        created_via=str(created_via),
        confirmed_at=datetime.fromisoformat(str(confirmed)) if confirmed else None,
        suppressed_reason=str(reason or ""),
    )


def get(state: State, subscriber: int) -> Subscriber | None:
    row = state.conn.execute(f"{_SELECT} WHERE s.id = ?", (subscriber,)).fetchone()
    return _subscriber(row) if row else None


def find(state: State, address: str) -> Subscriber | None:
    key = (parseaddr(address)[1] or address).strip().lower()
    row = state.conn.execute(f"{_SELECT} WHERE s.email_key = ?", (key,)).fetchone()
    return _subscriber(row) if row else None


def everyone(state: State, status: str | None = None) -> list[Subscriber]:
    """Every subscriber in the order they came (only those of `status` when given)."""
    rows = [_subscriber(row) for row in state.conn.execute(f"{_SELECT} ORDER BY s.id")]
    return [s for s in rows if status is None or s.status == status]


def readers(state: State) -> list[Subscriber]:
    """Who gets the next issue: active and not suppressed."""
    rows = state.conn.execute(f"{_SELECT} WHERE s.status = 'active' ORDER BY s.id")
    return [s for s in map(_subscriber, rows) if s.status == "active"]


def by_keys(state: State, keys: Iterable[str]) -> dict[str, Subscriber]:
    """The subscribers of these lower-case addresses, by address."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, Subscriber] = {}
    for start in range(0, len(wanted), 500):  # stay under the variable limit
        chunk = wanted[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in state.conn.execute(f"{_SELECT} WHERE s.email_key IN ({marks})", chunk):
            subscriber = _subscriber(row)
            found[subscriber.email.lower()] = subscriber
    return found


def counts(state: State) -> dict[str, int]:
    """Subscribers by status (suppressed ones counted as suppressed)."""
    tally = dict.fromkeys(STATUSES, 0)
    for subscriber in everyone(state):
        tally[subscriber.status] += 1
    return tally


def history(state: State, subscriber: int) -> list[tuple[str, str, datetime]]:
    """(status, via, when) of every change, oldest first."""
    rows = state.conn.execute(
        "SELECT status, via, at FROM subscriber_events WHERE subscriber = ? ORDER BY at, rowid",
        (subscriber,),
    )
    return [(status, via, datetime.fromisoformat(at)) for status, via, at in rows]


# writing ------------------------------------------------------------------------------------


def insert(
    conn: sqlite3.Connection,
    address: Address,
    status: str,
    via: str,
    now: datetime,
    sections: Sequence[str] | None = None,
) -> int:
    """A new subscriber (inside the caller's transaction); returns its id."""
    stamp = now.isoformat()
    (subscriber,) = conn.execute(
        "INSERT INTO subscribers (email, email_key, name, status, via, status_at, sections,"
        " created_at, created_via, confirmed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " RETURNING id",
        (
            address.email,
            address.key,
            address.name,
            status,
            via,
            stamp,
            _stored_sections(sections),
            stamp,
            via,
            None,
        ),
    ).fetchone()
    _event(conn, int(subscriber), status, via, stamp)
    return int(subscriber)


def change_status(
    conn: sqlite3.Connection, subscriber: int, status: str, via: str, now: datetime
) -> bool:
    """Set the status (inside the caller's transaction). True when it changed: a repeat (a
    second one-click for the same reader) writes nothing, so each change is recorded once."""
    stamp = now.isoformat()
    changed = conn.execute(
        "UPDATE subscribers SET status = ?, via = ?, status_at = ? WHERE id = ? AND status <> ?",
        (status, via, stamp, subscriber, status),
    ).rowcount
    if changed:
        _event(conn, subscriber, status, via, stamp)
    return bool(changed)


def mark_confirmed(conn: sqlite3.Connection, subscriber: int, now: datetime) -> None:
    """The double opt-in completed (its time is the proof of consent)."""
    conn.execute(
        "UPDATE subscribers SET confirmed_at = ? WHERE id = ?", (now.isoformat(), subscriber)
    )


def change_sections(
    conn: sqlite3.Connection, subscriber: int, sections: Sequence[str] | None
) -> None:
    conn.execute(
        "UPDATE subscribers SET sections = ? WHERE id = ?",
        (_stored_sections(sections), subscriber),
    )


def change_name(conn: sqlite3.Connection, subscriber: int, name: str) -> None:
    conn.execute("UPDATE subscribers SET name = ? WHERE id = ?", (name, subscriber))


def status_row(conn: sqlite3.Connection, subscriber: int) -> tuple[str, str, str] | None:
    """(status, via, status_at) as stored, read inside a transaction."""
    row = conn.execute(
        "SELECT status, via, status_at FROM subscribers WHERE id = ?", (subscriber,)
    ).fetchone()
    return (str(row[0]), str(row[1]), str(row[2])) if row else None


def key_row(conn: sqlite3.Connection, key: str) -> tuple[int, str, str] | None:
    """(id, status, created_via) of an address, read inside a transaction."""
    row = conn.execute(
        "SELECT id, status, created_via FROM subscribers WHERE email_key = ?", (key,)
    ).fetchone()
    return (int(row[0]), str(row[1]), str(row[2])) if row else None


def config_rows(conn: sqlite3.Connection) -> list[tuple[int, str, str, str]]:
    """(id, email_key, status, via) of every subscriber the config made."""
    rows = conn.execute(
        "SELECT id, email_key, status, via FROM subscribers WHERE created_via = 'config'"
    )
    return [(int(i), str(k), str(s), str(v)) for i, k, s, v in rows]


def is_suppressed(conn: sqlite3.Connection, key: str) -> bool:
    row = conn.execute("SELECT 1 FROM suppressed WHERE address = ?", (key,)).fetchone()
    return row is not None


def _stored_sections(sections: Sequence[str] | None) -> str | None:
    return sections_key(sections) or None


def _event(conn: sqlite3.Connection, subscriber: int, status: str, via: str, at: str) -> None:
    conn.execute(
        "INSERT INTO subscriber_events (subscriber, status, via, at) VALUES (?, ?, ?, ?)",
        (subscriber, status, via, at),
    )


# letters ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Letter:
    id: int
    kind: str  # confirm | subscribed
    subscriber: int
    recipient: str
    attempts: int
    created_at: datetime


def queue_letter(
    conn: sqlite3.Connection, kind: str, subscriber: int, recipient: str, now: datetime
) -> int:
    (letter,) = conn.execute(
        "INSERT INTO letters (kind, subscriber, recipient, created_at) VALUES (?, ?, ?, ?)"
        " RETURNING id",
        (kind, subscriber, recipient.lower(), now.isoformat()),
    ).fetchone()
    return int(letter)


def letters_since(conn: sqlite3.Connection, recipient: str, since: datetime) -> int:
    """Letters queued for this address since then, sent or not (the rate limit counts them)."""
    (count,) = conn.execute(
        "SELECT COUNT(*) FROM letters WHERE recipient = ? AND created_at > ?",
        (recipient.lower(), since.isoformat()),
    ).fetchone()
    return int(count)


def claim_letters(
    state: State, owner: str, now: datetime, lease: timedelta, limit: int = 50
) -> list[Letter]:
    """Take up to `limit` pending letters no live process holds; each is then sent by the
    owner alone (several `digest serve` processes share one database)."""
    with state.transaction() as conn:
        rows = conn.execute(
            "SELECT id, kind, subscriber, recipient, attempts, created_at FROM letters"
            " WHERE status = 'pending' AND (claim_expires IS NULL OR claim_expires < ?)"
            " ORDER BY id LIMIT ?",
            (now.isoformat(), limit),
        ).fetchall()
        conn.executemany(
            "UPDATE letters SET claimed_by = ?, claim_expires = ? WHERE id = ?",
            [(owner, (now + lease).isoformat(), row[0]) for row in rows],
        )
    return [
        Letter(int(i), k, int(s), r, int(a), datetime.fromisoformat(c)) for i, k, s, r, a, c in rows
    ]


def mark_letter(
    state: State, letter: int, status: str, attempts: int, reply: str, now: datetime
) -> None:
    """Record the server's answer: `sent` and `failed` are final; `pending` is tried again
    after the claim lapses."""
    with state.transaction() as conn:
        conn.execute(
            "UPDATE letters SET status = ?, attempts = attempts + ?, reply = ?, sent_at = ?,"
            " claimed_by = NULL, claim_expires = CASE WHEN ? = 'pending' THEN claim_expires"
            " ELSE NULL END WHERE id = ?",
            (
                status,
                attempts,
                None if status == "sent" else reply,
                now.isoformat() if status == "sent" else None,
                status,
                letter,
            ),
        )


def letter_counts(state: State) -> dict[str, int]:
    rows = state.conn.execute("SELECT status, COUNT(*) FROM letters GROUP BY status")
    return {str(status): int(count) for status, count in rows}
