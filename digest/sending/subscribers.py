"""The subscriber list: the store. Every SQL statement on subscribers, their history and the
letters owed to them is in this module.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import bindparam, or_, select

from digest.errors import DigestError
from digest.state import State
from digest.state.schema import letters

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
    row = state.execute(f"{_SELECT} WHERE s.id = :id", {"id": subscriber}).fetchone()
    return _subscriber(row) if row else None


def find(state: State, address: str) -> Subscriber | None:
    key = (parseaddr(address)[1] or address).strip().lower()
    row = state.execute(f"{_SELECT} WHERE s.email_key = :key", {"key": key}).fetchone()
    return _subscriber(row) if row else None


def everyone(state: State, status: str | None = None) -> list[Subscriber]:
    """Every subscriber in the order they came (only those of `status` when given)."""
    rows = [_subscriber(row) for row in state.execute(f"{_SELECT} ORDER BY s.id")]
    return [s for s in rows if status is None or s.status == status]


def readers(state: State) -> list[Subscriber]:
    """Who gets the next issue: active and not suppressed."""
    rows = state.execute(f"{_SELECT} WHERE s.status = 'active' ORDER BY s.id")
    return [s for s in map(_subscriber, rows) if s.status == "active"]


def by_keys(state: State, keys: Iterable[str]) -> dict[str, Subscriber]:
    """The subscribers of these lower-case addresses, by address."""
    query = f"{_SELECT} WHERE s.email_key IN :keys"
    found = map(_subscriber, state.rows_in(query, "keys", dict.fromkeys(keys)))
    return {subscriber.email.lower(): subscriber for subscriber in found}


def counts(state: State) -> dict[str, int]:
    """Subscribers by status (suppressed ones counted as suppressed)."""
    tally = dict.fromkeys(STATUSES, 0)
    for subscriber in everyone(state):
        tally[subscriber.status] += 1
    return tally


def history(state: State, subscriber: int) -> list[tuple[str, str, datetime]]:
    """(status, via, when) of every change, oldest first."""
    rows = state.execute(
        "SELECT status, via, at FROM subscriber_events WHERE subscriber = :id ORDER BY at, id",
        {"id": subscriber},
    )
    return [(status, via, datetime.fromisoformat(at)) for status, via, at in rows]


# writing: each inside the caller's transaction ---------------------------------------------------


def insert(
    state: State,
    address: Address,
    status: str,
    via: str,
    now: datetime,
    sections: Sequence[str] | None = None,
) -> int:
    """A new subscriber; returns its id."""
    stamp = now.isoformat()
    subscriber = state.execute(
        "INSERT INTO subscribers (email, email_key, name, status, via, status_at, sections,"
        " created_at, created_via, confirmed_at) VALUES (:email, :key, :name, :status, :via,"
        " :at, :sections, :at, :via, NULL) RETURNING id",
        {
            "email": address.email,
            "key": address.key,
            "name": address.name,
            "status": status,
            "via": via,
            "at": stamp,
            "sections": _stored_sections(sections),
        },
    ).scalar_one()
    _event(state, int(subscriber), status, via, stamp)
    return int(subscriber)


def change_status(state: State, subscriber: int, status: str, via: str, now: datetime) -> bool:
    """Set the status. True when it changed: a repeat (a second one-click for the same
    reader, from this server or another) writes nothing, so each change is recorded once."""
    stamp = now.isoformat()
    changed = state.write(
        "UPDATE subscribers SET status = :status, via = :via, status_at = :at"
        " WHERE id = :id AND status <> :status",
        {"status": status, "via": via, "at": stamp, "id": subscriber},
    )
    if changed:
        _event(state, subscriber, status, via, stamp)
    return bool(changed)


def mark_confirmed(state: State, subscriber: int, now: datetime) -> None:
    """The double opt-in completed (its time is the proof of consent)."""
    state.execute(
        "UPDATE subscribers SET confirmed_at = :at WHERE id = :id",
        {"at": now.isoformat(), "id": subscriber},
    )


def change_sections(state: State, subscriber: int, sections: Sequence[str] | None) -> None:
    state.execute(
        "UPDATE subscribers SET sections = :sections WHERE id = :id",
        {"sections": _stored_sections(sections), "id": subscriber},
    )


def change_name(state: State, subscriber: int, name: str) -> None:
    state.execute(
        "UPDATE subscribers SET name = :name WHERE id = :id", {"name": name, "id": subscriber}
    )


def status_row(state: State, subscriber: int) -> tuple[str, str, str] | None:
    """(status, via, status_at) as stored."""
    row = state.execute(
        "SELECT status, via, status_at FROM subscribers WHERE id = :id", {"id": subscriber}
    ).fetchone()
    return (str(row[0]), str(row[1]), str(row[2])) if row else None


def key_row(state: State, key: str) -> tuple[int, str, str] | None:
    """(id, status, created_via) of an address."""
    row = state.execute(
        "SELECT id, status, created_via FROM subscribers WHERE email_key = :key", {"key": key}
    ).fetchone()
    return (int(row[0]), str(row[1]), str(row[2])) if row else None


def key_rows(state: State, keys: Iterable[str]) -> dict[str, tuple[int, str, str]]:
    """key_row of many addresses, a few hundred a statement: {key: (id, status, created_via)}."""
    query = "SELECT email_key, id, status, created_via FROM subscribers WHERE email_key IN :keys"
    rows = state.rows_in(query, "keys", dict.fromkeys(keys))
    return {str(k): (int(i), str(s), str(v)) for k, i, s, v in rows}


def insert_many(
    state: State, addresses: Sequence[Address], status: str, via: str, now: datetime
) -> None:
    """New subscribers in bulk (the config's, an import): the rows, then their first events."""
    if not addresses:
        return
    stamp = now.isoformat()
    state.executemany(
        "INSERT INTO subscribers (email, email_key, name, status, via, status_at, sections,"
        " created_at, created_via, confirmed_at) VALUES (:email, :key, :name, :status, :via,"
        " :at, NULL, :at, :via, NULL)",
        [
            {"email": a.email, "key": a.key, "name": a.name, "status": status, "via": via,
             "at": stamp}
            for a in addresses
        ],
    )  # fmt: skip
    made = key_rows(state, (a.key for a in addresses))
    state.executemany(
        "INSERT INTO subscriber_events (subscriber, status, via, at)"
        " VALUES (:id, :status, :via, :at)",
        [{"id": made[a.key][0], "status": status, "via": via, "at": stamp} for a in addresses],
    )


def config_rows(state: State) -> list[tuple[int, str, str, str]]:
    """(id, email_key, status, via) of every subscriber the config made."""
    rows = state.execute(
        "SELECT id, email_key, status, via FROM subscribers WHERE created_via = 'config'"
        " ORDER BY id"
    )
    return [(int(i), str(k), str(s), str(v)) for i, k, s, v in rows]


def is_suppressed(state: State, key: str) -> bool:
    row = state.execute("SELECT 1 FROM suppressed WHERE address = :key", {"key": key}).fetchone()
    return row is not None


def _stored_sections(sections: Sequence[str] | None) -> str | None:
    return sections_key(sections) or None


def _event(state: State, subscriber: int, status: str, via: str, at: str) -> None:
    state.write(
        "INSERT INTO subscriber_events (subscriber, status, via, at)"
        " VALUES (:id, :status, :via, :at)",
        {"id": subscriber, "status": status, "via": via, "at": at},
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


def queue_letter(state: State, kind: str, subscriber: int, recipient: str, now: datetime) -> int:
    letter = state.execute(
        "INSERT INTO letters (kind, subscriber, recipient, created_at)"
        " VALUES (:kind, :id, :recipient, :at) RETURNING id",
        {"kind": kind, "id": subscriber, "recipient": recipient.lower(), "at": now.isoformat()},
    ).scalar_one()
    return int(letter)


def letters_since(state: State, recipient: str, since: datetime) -> int:
    """Letters queued for this address since then, sent or not (the rate limit counts them)."""
    count = state.execute(
        "SELECT COUNT(*) FROM letters WHERE recipient = :recipient AND created_at > :since",
        {"recipient": recipient.lower(), "since": since.isoformat()},
    ).scalar_one()
    return int(count)


_CLAIMABLE = (
    select(
        letters.c.id,
        letters.c.kind,
        letters.c.subscriber,
        letters.c.recipient,
        letters.c.attempts,
        letters.c.created_at,
    )
    .where(
        letters.c.status == "pending",
        or_(letters.c.claim_expires.is_(None), letters.c.claim_expires < bindparam("now")),
    )
    .order_by(letters.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)  # PostgreSQL: two servers never take the same letter
)


def claim_letters(
    state: State, owner: str, now: datetime, lease: timedelta, limit: int = 50
) -> list[Letter]:
    """Take up to `limit` pending letters no live process holds; each is then sent by the
    owner alone (several `digest serve` processes share one database)."""
    with state.transaction() as tx:
        rows = tx.execute(_CLAIMABLE, {"now": now.isoformat(), "limit": limit}).fetchall()
        if rows:
            tx.execute(
                "UPDATE letters SET claimed_by = :owner, claim_expires = :until WHERE id IN :ids",
                {"owner": owner, "until": (now + lease).isoformat(), "ids": [r[0] for r in rows]},
            )
    return [
        Letter(int(i), k, int(s), r, int(a), datetime.fromisoformat(c)) for i, k, s, r, a, c in rows
    ]


def mark_letter(
    state: State, letter: int, status: str, attempts: int, reply: str, now: datetime
) -> None:
    """Record the server's answer: `sent` and `failed` are final; `pending` is tried again
    after the claim lapses."""
    final = status != "pending"
    state.execute(
        "UPDATE letters SET status = :status, attempts = attempts + :attempts, reply = :reply,"
        " sent_at = :sent_at, claimed_by = NULL"
        + (", claim_expires = NULL" if final else "")
        + " WHERE id = :id",
        {
            "status": status,
            "attempts": attempts,
            "reply": None if status == "sent" else reply,
            "sent_at": now.isoformat() if status == "sent" else None,
            "id": letter,
        },
    )


def letter_counts(state: State) -> dict[str, int]:
    rows = state.execute("SELECT status, COUNT(*) FROM letters GROUP BY status")
    return {str(status): int(count) for status, count in rows}
