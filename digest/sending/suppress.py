"""The suppression list: addresses that bounced are never queued again until a person lifts
them (`digest suppressed remove ADDRESS`).

A bounce is recorded per address (lower case). A permanent one (a 5.x.x DSN, or a 5xx to RCPT
TO during a send) suppresses at once. Temporary ones (4.x.x: mailbox full, greylisting that
outlasted the remote MTA's retries) suppress after `limit` in a row: on consecutive issues
sent to the address when the DSN says which issue it answers (an issue that went out without
a bounce breaks the row), else counted one per day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr

from digest.state import State


@dataclass(frozen=True, slots=True)
class Bounce:
    address: str
    permanent: bool
    detail: str  # the status and diagnostic, or the server's reply
    issue: int | None = None  # the issue it answers, when known
    source: str = "dsn"  # dsn | smtp


@dataclass(frozen=True, slots=True)
class Suppression:
    address: str
    reason: str
    since: datetime


def key(address: str) -> str:
    """The form addresses are compared in: bare, lower case."""
    return (parseaddr(address)[1] or address).strip().lower()


def record_bounce(
    state: State, bounce: Bounce, limit: int, now: datetime, message: str | None = None
) -> bool:
    """Store the bounce (`message`: the hash of the bounce read); suppress the address when
    it is permanent or the `limit`th temporary one in a row. True when this suppressed it."""
    address = key(bounce.address)
    with state.transaction() as tx:
        tx.execute(
            "INSERT INTO bounces (address, kind, issue, detail, received_at, source, message)"
            " VALUES (:address, :kind, :issue, :detail, :at, :source, :message)",
            {
                "address": address,
                "kind": "permanent" if bounce.permanent else "temporary",
                "issue": bounce.issue,
                "detail": bounce.detail,
                "at": now.isoformat(),
                "source": bounce.source,
                "message": message,
            },
        )
        if is_suppressed(tx, address):
            return False
        if bounce.permanent:
            reason = f"permanent failure: {bounce.detail}"
        else:
            streak = _temporary_streak(tx, address)
            if streak < limit:
                return False
            reason = f"{streak} temporary failures in a row, the last: {bounce.detail}"
        tx.execute(
            "INSERT INTO suppressed (address, reason, since) VALUES (:address, :reason, :at)"
            " ON CONFLICT DO NOTHING",
            {"address": address, "reason": reason, "at": now.isoformat()},
        )
    return True


def _temporary_streak(state: State, address: str) -> int:
    """Temporary bounces in a row since the last permanent one (or the last lift): one step
    per issue while the bounces name their issue, where an issue sent to the address without
    a bounce ends the row; one step per day for bounces that name none."""
    rows = state.execute(
        "SELECT kind, issue, substr(received_at, 1, 10) FROM bounces WHERE address = :address"
        " AND received_at > COALESCE((SELECT since FROM lifted WHERE address = :address), '')"
        " ORDER BY received_at DESC, id DESC",
        {"address": address},
    ).fetchall()
    issues: set[int] = set()
    days: set[str] = set()
    for kind, issue, day in rows:
        if kind == "permanent":
            break
        if issue is None:
            days.add(day)
        else:
            issues.add(int(issue))
    return _issues_in_a_row(state, address, issues) + len(days)


def _issues_in_a_row(state: State, address: str, bounced: set[int]) -> int:
    if not bounced:
        return 0
    sent = {
        int(number)
        for (number,) in state.execute(
            "SELECT issue FROM outbox WHERE status = 'sent' AND issue <= :last"
            " AND (lower(recipient) = :address OR lower(recipient) LIKE :named)",
            {"last": max(bounced), "address": address, "named": f"%<{address}>"},
        )
    }
    streak = 0
    for number in sorted(sent | bounced, reverse=True):
        if number not in bounced:
            break
        streak += 1
    return streak


def is_suppressed(state: State, address: str) -> bool:
    row = state.execute(
        "SELECT 1 FROM suppressed WHERE address = :address", {"address": key(address)}
    ).fetchone()
    return row is not None


def suppressed_keys(state: State) -> set[str]:
    return {address for (address,) in state.execute("SELECT address FROM suppressed")}


def suppressions(state: State) -> list[Suppression]:
    rows = state.execute("SELECT address, reason, since FROM suppressed ORDER BY since, address")
    return [Suppression(a, r, datetime.fromisoformat(s)) for a, r, s in rows]


def lift(state: State, addresses: Iterable[str], now: datetime) -> list[str]:
    """Take addresses off the list (a person decided); their earlier bounces no longer count
    towards a row. Returns those that were on it."""
    lifted: list[str] = []
    with state.transaction() as tx:
        for address in map(key, addresses):
            gone = tx.execute(
                "DELETE FROM suppressed WHERE address = :address", {"address": address}
            ).rowcount
            if gone:
                lifted.append(address)
            tx.execute(
                "INSERT INTO lifted (address, since) VALUES (:address, :at)"
                " ON CONFLICT (address) DO UPDATE SET since = excluded.since",
                {"address": address, "at": now.isoformat()},
            )
    return lifted


def suppress(state: State, addresses: Iterable[str], reason: str, now: datetime) -> list[str]:
    """Put addresses on the list by hand. Returns those that were not on it yet."""
    added: list[str] = []
    with state.transaction() as tx:
        for address in map(key, addresses):
            if tx.execute(
                "INSERT INTO suppressed (address, reason, since) VALUES (:address, :reason, :at)"
                " ON CONFLICT DO NOTHING",
                {"address": address, "reason": reason, "at": now.isoformat()},
            ).rowcount:
                added.append(address)
    return added
