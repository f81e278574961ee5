"""Issues and their outbox: what was sent, to whom, and what is still owed.

Sending an issue to the list is two steps with a commit between them:

1. *Create*: build the digest of everything not yet sent since the last issue, render it, and
   in ONE transaction store the issue, its entries and one `pending` outbox row per recipient.
   From that commit on the issue's entries count as sent: the outbox owes the issue to every
   row until each is `sent`, `failed` (a 5xx, or deferred past smtp.give_up_after) or
   `skipped` (the reader left the list, or their address was suppressed), so the next issue
   starts where this one ended and never repeats an entry. Suppressed addresses get no row.
   Issues are independent: a reader still pending on an older issue does not hold back the
   next one for anybody.
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
import sqlite3
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from digest.issue.pipeline import Built
from digest.models import Entry, Issue
from digest.net.urls import canonical_url
from digest.sending.smtp import SendResult, SendStatus
from digest.sending.suppress import key, suppressed_keys
from digest.state import State

CLAIM_LEASE = timedelta(minutes=15)  # renewed after every message; outlives one slow message


@dataclass(frozen=True, slots=True)
class Delivery:
    recipient: str
    status: str  # pending | sent | failed | skipped
    attempts: int
    reply: str | None
    sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssueStatus:
    issue: Issue
    counts: dict[str, int]  # outbox rows by status
    deliveries: tuple[Delivery, ...] = ()  # loaded when asked for

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)


# the store ----------------------------------------------------------------------------------


def last_issue(state: State) -> Issue | None:
    row = state.conn.execute(f"{_ISSUE_SELECT} ORDER BY number DESC LIMIT 1").fetchone()
    return _issue(state, row) if row else None


def get_issue(state: State, number: int) -> Issue | None:
    row = state.conn.execute(f"{_ISSUE_SELECT} WHERE number = ?", (number,)).fetchone()
    return _issue(state, row) if row else None


def unfinished_issues(state: State) -> list[Issue]:
    """Every issue some reader is still owed, oldest first."""
    rows = state.conn.execute(
        f"{_ISSUE_SELECT} WHERE number IN (SELECT issue FROM outbox WHERE status = 'pending')"
        " ORDER BY number"
    ).fetchall()
    return [_issue(state, row) for row in rows]


def list_issues(state: State, rows_of: int | None = None) -> list[IssueStatus]:
    """Every issue with its counts; the rows of issue `rows_of` too."""
    counts: dict[int, dict[str, int]] = {}
    for number, status, count in state.conn.execute(
        "SELECT issue, status, COUNT(*) FROM outbox GROUP BY issue, status"
    ):
        counts.setdefault(number, {})[status] = count
    issues = [_issue(state, row) for row in state.conn.execute(f"{_ISSUE_SELECT} ORDER BY number")]
    return [
        IssueStatus(
            issue,
            counts.get(issue.number, {}),
            deliveries(state, issue.number) if issue.number == rows_of else (),
        )
        for issue in issues
    ]


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


@dataclass(frozen=True, slots=True)
class Edition:
    """The issue as rendered for one choice of sections (issue 20): rendered once per distinct
    choice among the readers, not once per reader."""

    sections: str  # subscribers.sections_key of the choice
    subject: str
    html: str
    text: str
    stories: int  # 0: none of the chosen sections has news this time; nothing is sent


Recipient = str | tuple[str, str]  # the address, or (address, edition: its sections key)
NO_NEWS = "none of their sections has a story in this issue"


def create_issue(
    state: State,
    draft: Draft,
    recipients: Iterable[Recipient],
    editions: Iterable[Edition] = (),
) -> Issue | None:
    """Store the issue, its editions, its entries and its outbox in one transaction (no row
    for a suppressed address; a reader whose edition has no story is `skipped`). None when
    another process created an issue since the draft was made (the draft is then stale)."""
    issue = draft.issue
    by_key = {edition.sections: edition for edition in editions}
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
        conn.executemany(
            "INSERT INTO editions (issue, sections, subject, html, text) VALUES (?, ?, ?, ?, ?)",
            [(issue.number, e.sections, e.subject, e.html, e.text) for e in by_key.values()],
        )
        rows = [(r, "") if isinstance(r, str) else r for r in recipients]
        allowed = set(_not_suppressed(state, [address for address, _ in rows]))
        kept = [(a, e) for a, e in rows if a in allowed]
        _add_rows(conn, issue.number, kept, issue.created_at)
        empty = [a for a, e in kept if e in by_key and not by_key[e].stories]
        conn.executemany(
            "UPDATE outbox SET status = 'skipped', reply = ? WHERE issue = ? AND recipient = ?",
            [(NO_NEWS, issue.number, address) for address in empty],
        )
    return issue


def editions(state: State, number: int) -> dict[str, Edition]:
    """The stored editions of issue `number`, by their sections key."""
    rows = state.conn.execute(
        "SELECT sections, subject, html, text FROM editions WHERE issue = ?", (number,)
    )
    return {key: Edition(key, subject, html, text, -1) for key, subject, html, text in rows}


def _canonical(link: str) -> str:
    return canonical_url(link) if link else ""


def _not_suppressed(state: State, recipients: Iterable[str]) -> list[str]:
    blocked = suppressed_keys(state)
    return [r for r in recipients if key(r) not in blocked]


def _add_rows(
    conn: sqlite3.Connection, number: int, rows: list[tuple[str, str]], now: datetime
) -> None:
    """(recipient, edition) rows; edition "" (NULL) is the whole issue."""
    conn.executemany(
        "INSERT OR IGNORE INTO outbox (issue, recipient, owed_since, edition) VALUES (?, ?, ?, ?)",
        [(number, recipient, now.isoformat(), edition or None) for recipient, edition in rows],
    )


@dataclass(frozen=True, slots=True)
class Reopened:
    already_sent: list[str]  # never sent twice
    suppressed: list[str]  # never queued while suppressed


def reopen(state: State, number: int, recipients: Iterable[str], now: datetime) -> Reopened:
    """Owe issue `number` again to these recipients: add missing rows, turn `failed` and
    `skipped` rows back to `pending`. Rows already `sent` stay sent, and suppressed addresses
    get nothing; both are returned."""
    asked = list(recipients)
    wanted = _not_suppressed(state, asked)
    blocked = [r for r in asked if r not in wanted]
    with state.transaction() as conn:
        _add_rows(conn, number, [(recipient, "") for recipient in wanted], now)
        marks = ",".join("?" * len(wanted))
        conn.execute(
            f"UPDATE outbox SET status = 'pending', attempts = 0, owed_since = ? WHERE issue = ?"
            f" AND status IN ('failed', 'skipped') AND recipient IN ({marks})",
            (now.isoformat(), number, *wanted),
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
    return Reopened([recipient for (recipient,) in already], blocked)


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
    state: State, number: int, owner: str, result: SendResult, now: datetime, renew: bool = True
) -> None:
    """Mark one row right after the server answered; renew the lease when `renew`."""
    status = {SendStatus.SENT: "sent", SendStatus.FAILED: "failed"}.get(result.status, "pending")
    with state.transaction() as conn:
        conn.execute(
            "UPDATE outbox SET status = ?, attempts = attempts + ?, reply = ?, sent_at = ?"
            " WHERE issue = ? AND recipient = ?",
            (
                status,
                result.attempts,
                None if status == "sent" else result.reply,  # 10,000 x "250 accepted" saved
                now.isoformat() if status == "sent" else None,
                number,
                result.recipient,
            ),
        )
        if renew:
            conn.execute(
                "UPDATE issues SET claim_expires = ? WHERE number = ? AND claimed_by = ?",
                ((now + CLAIM_LEASE).isoformat(), number, owner),
            )


def settle(state: State, number: int, rows: list[tuple[str, str, str]]) -> None:
    """Close rows without sending: (recipient, status, why), status failed or skipped."""
    with state.transaction() as conn:
        conn.executemany(
            "UPDATE outbox SET status = ?, reply = ? WHERE issue = ? AND recipient = ?"
            " AND status = 'pending'",
            [(status, why, number, recipient) for recipient, status, why in rows],
        )


def finish(state: State, number: int, now: datetime) -> None:
    """Stamp the issue done when no row is pending any more."""
    with state.transaction() as conn:
        conn.execute(
            "UPDATE issues SET sent_at = ? WHERE number = ? AND sent_at IS NULL AND NOT EXISTS"
            " (SELECT 1 FROM outbox WHERE issue = ? AND status = 'pending')",
            (now.isoformat(), number, number),
        )


@dataclass(frozen=True, slots=True)
class Owed:
    """A pending row: who, since when, what the server last said, and which edition."""

    recipient: str
    since: datetime | None
    reply: str | None
    edition: str = ""  # the sections key; "" the whole issue


def pending_rows(state: State, number: int) -> list[Owed]:
    rows = state.conn.execute(
        "SELECT recipient, owed_since, reply, edition FROM outbox WHERE issue = ?"
        " AND status = 'pending' ORDER BY rowid",
        (number,),
    )
    return [Owed(r, _when(since), reply, edition or "") for r, since, reply, edition in rows]


def pending(state: State, number: int) -> list[str]:
    return [row.recipient for row in pending_rows(state, number)]
