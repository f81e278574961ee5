"""Issues and their outbox: what was sent, to whom, and what is still owed.

Sending an issue to the list is two steps with a commit between them:

1. *Create*: build the digest of everything not yet sent since the last issue, render it, and
   in ONE transaction store the issue, its entries and one `pending` outbox row per recipient.
   From that commit on the issue's entries count as sent: the outbox owes the issue to every
   row until each is `sent` or `failed` (a 5xx), so the next issue starts where this one ended
   and never repeats an entry.
2. *Deliver*: claim the issue (a lease in the database, so a second process cannot send it
   too), then send each pending row and mark it `sent` right after the server accepts it.
   A crash loses at most the mark of the message in flight; a re-run sends only what is
   still pending.

`digest build`, `preview`, test sends (`send --to` a part of the list) and `--dry-run` read
this store but never write it.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from digest.issue.pipeline import Built
from digest.models import Entry, Issue
from digest.net.urls import canonical_url
from digest.sending.smtp import SendResult, SendStatus
from digest.state import State

CLAIM_LEASE = timedelta(minutes=15)  # renewed after every message; outlives one slow message


@dataclass(frozen=True, slots=True)
class Delivery:
    recipient: str
    status: str  # pending | sent | failed
    attempts: int
    reply: str | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssueStatus:
    issue: Issue
    deliveries: tuple[Delivery, ...]

    def count(self, status: str) -> int:
        return sum(1 for d in self.deliveries if d.status == status)


# the store ----------------------------------------------------------------------------------


def last_issue(state: State) -> Issue | None:
    row = state.conn.execute(f"{_ISSUE_SELECT} ORDER BY number DESC LIMIT 1").fetchone()
    return _issue(state, row) if row else None


def get_issue(state: State, number: int) -> Issue | None:
    row = state.conn.execute(f"{_ISSUE_SELECT} WHERE number = ?", (number,)).fetchone()
    return _issue(state, row) if row else None


def unfinished_issue(state: State) -> Issue | None:
    """The oldest issue some recipient is still owed."""
    row = state.conn.execute(
        f"{_ISSUE_SELECT} WHERE number IN (SELECT issue FROM outbox WHERE status = 'pending')"
        " ORDER BY number LIMIT 1"
    ).fetchone()
    return _issue(state, row) if row else None


def list_issues(state: State) -> list[IssueStatus]:
    rows = state.conn.execute(f"{_ISSUE_SELECT} ORDER BY number").fetchall()
    return [IssueStatus(_issue(state, row), deliveries(state, row[0])) for row in rows]


def deliveries(state: State, number: int) -> tuple[Delivery, ...]:
    rows = state.conn.execute(
        "SELECT recipient, status, attempts, reply, sent_at FROM outbox WHERE issue = ?"
        " ORDER BY rowid",
        (number,),
    )
    return tuple(Delivery(r, s, a, reply, _when(at)) for r, s, a, reply, at in rows)


def sent_entry_check(state: State) -> Callable[[Entry], bool]:
    """True for an entry that went out in an issue: the same id, or the same page by canonical
    URL from another feed (or from the same feed under the same title: a feed that links every
    post to one page, or to anchors of one page, has distinct posts there)."""
    ids: set[str] = set()
    links: dict[str, list[tuple[str | None, str | None]]] = {}
    rows = state.conn.execute(
        "SELECT i.entry_id, i.link, e.feed, e.title FROM issue_entries i"
        " LEFT JOIN entries e ON e.id = i.entry_id"
    )
    for entry_id, link, feed, title in rows:
        ids.add(entry_id)
        if link:
            links.setdefault(link, []).append((feed, title))

    def sent(entry: Entry) -> bool:
        if entry.id in ids:
            return True
        if not entry.link:
            return False
        return any(
            feed != entry.feed or title == entry.title
            for feed, title in links.get(canonical_url(entry.link), ())
        )

    return sent


_ISSUE_SELECT = (
    "SELECT number, period_start, period_end, subject, html, text, created_at, sent_at FROM issues"
)


def _issue(state: State, row: tuple[object, ...]) -> Issue:
    number = int(row[0])  # type: ignore[call-overload]
    entry_ids = tuple(
        entry_id
        for (entry_id,) in state.conn.execute(
            "SELECT entry_id FROM issue_entries WHERE issue = ? ORDER BY position", (number,)
        )
    )
    return Issue(
        number=number,
        period_start=datetime.fromisoformat(str(row[1])),
        period_end=datetime.fromisoformat(str(row[2])),
        entry_ids=entry_ids,
        subject=str(row[3]),
        html=str(row[4]),
        text=str(row[5]),
        created_at=datetime.fromisoformat(str(row[6])),
        sent_at=_when(row[7]),
    )


def _when(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


# drafting and creating ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Draft:
    issue: Issue  # numbered as the next issue; not stored
    built: Built
    after: int  # the number of the last issue when this draft was made (0: none)


def create_issue(state: State, draft: Draft, recipients: Iterable[str]) -> Issue | None:
    """Store the issue, its entries and its outbox in one transaction. None when another
    process created an issue since the draft was made (the draft is then stale)."""
    issue = draft.issue
    links = {item.entry.id: item.entry.link for item in draft.built.digest.items}
    with state.transaction() as conn:
        (latest,) = conn.execute("SELECT COALESCE(MAX(number), 0) FROM issues").fetchone()
        if latest != draft.after:
            return None
        conn.execute(
            "INSERT INTO issues (number, period_start, period_end, subject, html, text,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                issue.number,
                issue.period_start.isoformat(),
                issue.period_end.isoformat(),
                issue.subject,
                issue.html,
                issue.text,
                issue.created_at.isoformat(),
            ),
        )
        conn.executemany(
            "INSERT INTO issue_entries (entry_id, issue, link, position) VALUES (?, ?, ?, ?)",
            [
                (entry_id, issue.number, _canonical(links[entry_id]), position)
                for position, entry_id in enumerate(issue.entry_ids)
            ],
        )
        _add_rows(conn, issue.number, recipients)
    return issue


def _canonical(link: str) -> str:
    return canonical_url(link) if link else ""


def _add_rows(conn: object, number: int, recipients: Iterable[str]) -> None:
    conn.executemany(  # type: ignore[attr-defined]
        "INSERT OR IGNORE INTO outbox (issue, recipient) VALUES (?, ?)",
        [(number, recipient) for recipient in recipients],
    )


def reopen(state: State, number: int, recipients: Iterable[str]) -> list[str]:
    """Owe issue `number` again to these recipients: add missing rows, turn `failed` rows back
    to `pending`. Rows already `sent` stay sent (never twice); they are returned."""
    wanted = list(recipients)
    with state.transaction() as conn:
        _add_rows(conn, number, wanted)
        marks = ",".join("?" * len(wanted))
        conn.execute(
            f"UPDATE outbox SET status = 'pending', attempts = 0 WHERE issue = ?"
            f" AND status = 'failed' AND recipient IN ({marks})",
            (number, *wanted),
        )
        conn.execute(
            "UPDATE issues SET sent_at = NULL WHERE number = ? AND EXISTS"
            " (SELECT 1 FROM outbox WHERE issue = ? AND status = 'pending')",
            (number, number),
        )
        already = conn.execute(
            f"SELECT recipient FROM outbox WHERE issue = ? AND status = 'sent'"
            f" AND recipient IN ({marks})",
            (number, *wanted),
        ).fetchall()
    return [recipient for (recipient,) in already]


# claiming -----------------------------------------------------------------------------------


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(state: State, number: int, owner: str, now: datetime) -> str | None:
    """Take the right to send issue `number`. None when taken; else who holds it. A claim
    whose lease ran out, or whose process on this host is gone (kill -9), can be taken over."""
    with state.transaction() as conn:
        holder, expires = conn.execute(
            "SELECT claimed_by, claim_expires FROM issues WHERE number = ?", (number,)
        ).fetchone()
        if holder and holder != owner and not _claim_is_dead(holder, expires, now):
            return str(holder)
        conn.execute(
            "UPDATE issues SET claimed_by = ?, claim_expires = ? WHERE number = ?",
            (owner, (now + CLAIM_LEASE).isoformat(), number),
        )
    return None


def release(state: State, number: int, owner: str) -> None:
    with state.transaction() as conn:
        conn.execute(
            "UPDATE issues SET claimed_by = NULL, claim_expires = NULL"
            " WHERE number = ? AND claimed_by = ?",
            (number, owner),
        )


def _claim_is_dead(holder: str, expires: str | None, now: datetime) -> bool:
    if expires is None or datetime.fromisoformat(expires) < now:
        return True
    host, _, rest = holder.partition(":")
    pid = int(rest.partition(":")[0] or 0)
    return host == socket.gethostname() and pid != os.getpid() and not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def record(
    state: State, number: int, owner: str, result: SendResult, message_id: str, now: datetime
) -> None:
    """Mark one row right after the server answered, and renew the lease."""
    status = {SendStatus.SENT: "sent", SendStatus.FAILED: "failed"}.get(result.status, "pending")
    with state.transaction() as conn:
        conn.execute(
            "UPDATE outbox SET status = ?, attempts = attempts + ?, reply = ?, sent_at = ?,"
            " message_id = ? WHERE issue = ? AND recipient = ?",
            (
                status,
                result.attempts,
                result.reply,
                now.isoformat() if status == "sent" else None,
                message_id,
                number,
                result.recipient,
            ),
        )
        conn.execute(
            "UPDATE issues SET claim_expires = ? WHERE number = ? AND claimed_by = ?",
            ((now + CLAIM_LEASE).isoformat(), number, owner),
        )
        (left,) = conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE issue = ? AND status = 'pending'", (number,)
        ).fetchone()
        if not left:
            conn.execute(
                "UPDATE issues SET sent_at = ? WHERE number = ?", (now.isoformat(), number)
            )


def pending(state: State, number: int) -> list[str]:
    rows = state.conn.execute(
        "SELECT recipient FROM outbox WHERE issue = ? AND status = 'pending' ORDER BY rowid",
        (number,),
    )
    return [recipient for (recipient,) in rows]
