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
2. *Deliver*: claim pending rows a chunk at a time (each row held by one sender under a lease,
   `FOR UPDATE SKIP LOCKED` on PostgreSQL, SQLite's one writer on SQLite), send each and mark
   it `sent` right after the server accepts it. Any number of senders share a batch: each
   takes the chunks nobody holds. A sender's claims are renewed while it lives; one that died
   loses them when their lease runs out (at once when its process on this host is gone), and
   the next sender takes them over. A crash loses at most the mark of the message in flight;
   a re-run sends only what is still pending.

`digest build`, `preview`, test sends (`send --to` a part of the list) and `--dry-run` read
this store but never write it.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, select

from digest.issue.pipeline import Built
from digest.models import Entry, Issue
from digest.net.urls import canonical_url
from digest.sending.smtp import SendResult, SendStatus
from digest.sending.suppress import key, suppressed_keys
from digest.state import State
from digest.state.schema import outbox

LEASE = timedelta(seconds=60)  # a claim's life; renewed every LEASE / 3 while its sender lives
CHUNK = 100  # rows claimed at once: a fraction of a second of sending


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
    row = state.execute(f"{_ISSUE_SELECT} ORDER BY number DESC LIMIT 1").fetchone()
    return _issue(state, row) if row else None


def get_issue(state: State, number: int) -> Issue | None:
    row = state.execute(f"{_ISSUE_SELECT} WHERE number = :n", {"n": number}).fetchone()
    return _issue(state, row) if row else None


def unfinished_issues(state: State) -> list[Issue]:
    """Every issue some reader is still owed, oldest first."""
    rows = state.execute(
        f"{_ISSUE_SELECT} WHERE number IN (SELECT issue FROM outbox WHERE status = 'pending')"
        " ORDER BY number"
    ).fetchall()
    return [_issue(state, row) for row in rows]


def list_issues(state: State, rows_of: int | None = None) -> list[IssueStatus]:
    """Every issue with its counts; the rows of issue `rows_of` too."""
    counts: dict[int, dict[str, int]] = {}
    for number, status, count in state.execute(
        "SELECT issue, status, COUNT(*) FROM outbox GROUP BY issue, status"
    ):
        counts.setdefault(number, {})[status] = count
    issues = [_issue(state, row) for row in state.execute(f"{_ISSUE_SELECT} ORDER BY number")]
    return [
        IssueStatus(
            issue,
            counts.get(issue.number, {}),
            deliveries(state, issue.number) if issue.number == rows_of else (),
        )
        for issue in issues
    ]


def deliveries(state: State, number: int) -> tuple[Delivery, ...]:
    rows = state.execute(
        "SELECT recipient, status, attempts, reply, sent_at FROM outbox WHERE issue = :n"
        " ORDER BY id",
        {"n": number},
    )
    return tuple(Delivery(r, s, a, reply, _when(at)) for r, s, a, reply, at in rows)


def sent_entry_check(state: State) -> Callable[[Entry], bool]:
    """True for an entry that went out in an issue: the same id, or the same page by canonical
    URL from another feed (or from the same feed under the same title: a feed that links every
    post to one page, or to anchors of one page, has distinct posts there)."""
    ids: set[str] = set()
    links: dict[str, list[tuple[str | None, str | None]]] = {}
    rows = state.execute(
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


def _issue(state: State, row: Sequence[object]) -> Issue:
    number = int(row[0])  # type: ignore[call-overload]
    entry_ids = tuple(
        entry_id
        for (entry_id,) in state.execute(
            "SELECT entry_id FROM issue_entries WHERE issue = :n ORDER BY position", {"n": number}
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
    with state.transaction() as tx:
        tx.lock("issues")  # one creator at a time: the second finds its draft stale
        (latest,) = tx.execute("SELECT COALESCE(MAX(number), 0) FROM issues").one()
        if latest != draft.after:
            return None
        tx.execute(
            "INSERT INTO issues (number, period_start, period_end, subject, html, text,"
            " created_at) VALUES (:n, :start, :end, :subject, :html, :text, :created)",
            {
                "n": issue.number,
                "start": issue.period_start.isoformat(),
                "end": issue.period_end.isoformat(),
                "subject": issue.subject,
                "html": issue.html,
                "text": issue.text,
                "created": issue.created_at.isoformat(),
            },
        )
        tx.executemany(
            "INSERT INTO issue_entries (entry_id, issue, link, position)"
            " VALUES (:id, :n, :link, :position)",
            [
                {"id": entry_id, "n": issue.number, "link": _canonical(links[entry_id]),
                 "position": position}
                for position, entry_id in enumerate(issue.entry_ids)
            ],
        )  # fmt: skip
        tx.executemany(
            "INSERT INTO editions (issue, sections, subject, html, text)"
            " VALUES (:n, :sections, :subject, :html, :text)",
            [
                {"n": issue.number, "sections": e.sections, "subject": e.subject,
                 "html": e.html, "text": e.text}
                for e in by_key.values()
            ],
        )  # fmt: skip
        rows = [(r, "") if isinstance(r, str) else r for r in recipients]
        allowed = set(_not_suppressed(tx, [address for address, _ in rows]))
        kept = [(a, e) for a, e in rows if a in allowed]
        _add_rows(tx, issue.number, kept, issue.created_at)
        empty = [a for a, e in kept if e in by_key and not by_key[e].stories]
        tx.executemany(
            "UPDATE outbox SET status = 'skipped', reply = :why WHERE issue = :n"
            " AND recipient = :r",
            [{"why": NO_NEWS, "n": issue.number, "r": address} for address in empty],
        )
    return issue


def editions(state: State, number: int) -> dict[str, Edition]:
    """The stored editions of issue `number`, by their sections key."""
    rows = state.execute(
        "SELECT sections, subject, html, text FROM editions WHERE issue = :n", {"n": number}
    )
    return {key: Edition(key, subject, html, text, -1) for key, subject, html, text in rows}


def _canonical(link: str) -> str:
    return canonical_url(link) if link else ""


def _not_suppressed(state: State, recipients: Iterable[str]) -> list[str]:
    blocked = suppressed_keys(state)
    return [r for r in recipients if key(r) not in blocked]


def _add_rows(state: State, number: int, rows: list[tuple[str, str]], now: datetime) -> None:
    """(recipient, edition) rows, in this order; edition "" (NULL) is the whole issue."""
    state.executemany(
        "INSERT INTO outbox (issue, recipient, owed_since, edition)"
        " VALUES (:n, :r, :since, :edition) ON CONFLICT DO NOTHING",
        [
            {"n": number, "r": recipient, "since": now.isoformat(), "edition": edition or None}
            for recipient, edition in rows
        ],
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
    with state.transaction() as tx:
        _add_rows(tx, number, [(recipient, "") for recipient in wanted], now)
        tx.execute(
            "UPDATE outbox SET status = 'pending', attempts = 0, owed_since = :now,"
            " claimed_by = NULL, claim_expires = NULL WHERE issue = :n"
            " AND status IN ('failed', 'skipped') AND recipient IN :wanted",
            {"now": now.isoformat(), "n": number, "wanted": wanted},
        )
        tx.execute(
            "UPDATE issues SET sent_at = NULL WHERE number = :n AND EXISTS"
            " (SELECT 1 FROM outbox WHERE issue = :n AND status = 'pending')",
            {"n": number},
        )
        already = tx.execute(
            "SELECT recipient FROM outbox WHERE issue = :n AND status = 'sent'"
            " AND recipient IN :wanted ORDER BY id",
            {"n": number, "wanted": wanted},
        ).fetchall()
    return Reopened([recipient for (recipient,) in already], blocked)


# claiming -----------------------------------------------------------------------------------


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class Owed:
    """A pending row: who, since when, what the server last said, and which edition."""

    recipient: str
    since: datetime | None
    reply: str | None
    edition: str = ""  # the sections key; "" the whole issue


_CLAIMABLE = (
    select(outbox.c.id, outbox.c.recipient, outbox.c.owed_since, outbox.c.reply, outbox.c.edition)
    .where(
        outbox.c.issue == bindparam("n"),
        outbox.c.status == "pending",
        func.coalesce(outbox.c.edition, "") == bindparam("edition"),
        or_(outbox.c.claim_expires.is_(None), outbox.c.claim_expires < bindparam("now")),
    )
    .order_by(outbox.c.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)  # PostgreSQL: rows another claimer is taking are passed
)


def claim_rows(
    state: State, number: int, edition: str, owner: str, now: datetime, limit: int = CHUNK
) -> list[Owed]:
    """Take up to `limit` pending rows of issue `number`'s edition that nobody holds (or
    whose holder's lease ran out), in the order they were queued. They are `owner`'s until
    marked, released, or the lease runs out."""
    stamp = now.isoformat()
    with state.transaction() as tx:
        rows = tx.execute(_CLAIMABLE, {"n": number, "edition": edition, "now": stamp,
                                       "limit": limit}).fetchall()  # fmt: skip
        if rows:
            tx.execute(
                "UPDATE outbox SET claimed_by = :owner, claim_expires = :until WHERE id IN :ids",
                {"owner": owner, "until": (now + LEASE).isoformat(), "ids": [r[0] for r in rows]},
            )
    return [Owed(r, _when(since), reply, edition or "") for _, r, since, reply, edition in rows]


def free_dead_claims(state: State, number: int, now: datetime) -> list[str]:
    """Release the rows held by processes on this host that are gone (kill -9): the next
    claim takes them at once, not after their lease. Returns the owners released."""
    holders = state.execute(
        "SELECT DISTINCT claimed_by FROM outbox WHERE issue = :n AND status = 'pending'"
        " AND claimed_by IS NOT NULL AND claim_expires >= :now",
        {"n": number, "now": now.isoformat()},
    ).fetchall()
    dead = [str(holder) for (holder,) in holders if _died_here(str(holder))]
    if dead:
        state.execute(
            "UPDATE outbox SET claimed_by = NULL, claim_expires = NULL WHERE issue = :n"
            " AND status = 'pending' AND claimed_by IN :dead",
            {"n": number, "dead": dead},
        )
    return dead


def renew(state: State, number: int, owner: str, now: datetime) -> None:
    """Extend the lease of every row `owner` still holds."""
    state.execute(
        "UPDATE outbox SET claim_expires = :until WHERE issue = :n AND claimed_by = :owner"
        " AND status = 'pending'",
        {"until": (now + LEASE).isoformat(), "n": number, "owner": owner},
    )


def release(state: State, number: int, owner: str) -> None:
    """Give back the rows `owner` holds and did not finish (deferred, or stopped)."""
    state.execute(
        "UPDATE outbox SET claimed_by = NULL, claim_expires = NULL WHERE issue = :n"
        " AND claimed_by = :owner AND status = 'pending'",
        {"n": number, "owner": owner},
    )


def held_elsewhere(state: State, number: int, owner: str, now: datetime) -> dict[str, int]:
    """Pending rows other live senders hold, by sender."""
    rows = state.execute(
        "SELECT claimed_by, COUNT(*) FROM outbox WHERE issue = :n AND status = 'pending'"
        " AND claimed_by IS NOT NULL AND claimed_by <> :owner AND claim_expires >= :now"
        " GROUP BY claimed_by",
        {"n": number, "owner": owner, "now": now.isoformat()},
    )
    return {str(holder): int(count) for holder, count in rows}


def unheld(state: State, number: int, owner: str, now: datetime) -> list[str]:
    """Pending rows of issue `number` that no other live sender holds: left for a later run."""
    rows = state.execute(
        "SELECT recipient FROM outbox WHERE issue = :n AND status = 'pending' AND NOT"
        " (claimed_by IS NOT NULL AND claimed_by <> :owner AND claim_expires >= :now)"
        " ORDER BY id",
        {"n": number, "owner": owner, "now": now.isoformat()},
    )
    return [str(recipient) for (recipient,) in rows]


def _died_here(holder: str) -> bool:
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


# marking ------------------------------------------------------------------------------------

_MARK = (
    "UPDATE outbox SET status = :status, attempts = attempts + :attempts, reply = :reply,"
    " sent_at = :sent_at WHERE issue = :n AND recipient = :r"
)


def record(state: State, number: int, result: SendResult, now: datetime) -> None:
    """Mark one row with the server's answer (one statement: its own transaction), adding
    `result.attempts` to its tries. A deferred row stays pending and held by its sender until
    the run releases it."""
    state.execute(_MARK, _marked(number, result, now))


def record_ahead(
    state: State, number: int, result: SendResult, now: datetime
) -> Callable[[], None]:
    """`record`, sent ahead (State.write_ahead): the returned function reads the answer."""
    return state.write_ahead(_MARK, _marked(number, result, now))


def _marked(number: int, result: SendResult, now: datetime) -> dict[str, object]:
    status = {SendStatus.SENT: "sent", SendStatus.FAILED: "failed"}.get(result.status, "pending")
    sent = status == "sent"
    return {
        "status": status,
        "attempts": result.attempts,
        "reply": None if sent else result.reply,  # 10,000 x "250 accepted" saved
        "sent_at": now.isoformat() if sent else None,
        "n": number,
        "r": result.recipient,
    }


def settle(state: State, number: int, rows: list[tuple[str, str, str]]) -> None:
    """Close rows without sending: (recipient, status, why), status failed or skipped."""
    state.executemany(
        "UPDATE outbox SET status = :status, reply = :why WHERE issue = :n AND recipient = :r"
        " AND status = 'pending'",
        [{"status": s, "why": why, "n": number, "r": r} for r, s, why in rows],
    )


def finish(state: State, number: int, now: datetime) -> None:
    """Stamp the issue done when no row is pending any more."""
    state.execute(
        "UPDATE issues SET sent_at = :now WHERE number = :n AND sent_at IS NULL AND NOT EXISTS"
        " (SELECT 1 FROM outbox WHERE issue = :n AND status = 'pending')",
        {"now": now.isoformat(), "n": number},
    )


def pending_rows(state: State, number: int) -> list[Owed]:
    rows = state.execute(
        "SELECT recipient, owed_since, reply, edition FROM outbox WHERE issue = :n"
        " AND status = 'pending' ORDER BY id",
        {"n": number},
    )
    return [Owed(r, _when(since), reply, edition or "") for r, since, reply, edition in rows]


def pending(state: State, number: int) -> list[str]:
    return [row.recipient for row in pending_rows(state, number)]


def pending_editions(state: State, number: int) -> list[str]:
    """The editions some pending row of issue `number` is owed, in queue order."""
    rows = state.execute(
        "SELECT COALESCE(edition, ''), MIN(id) FROM outbox WHERE issue = :n"
        " AND status = 'pending' GROUP BY COALESCE(edition, '') ORDER BY MIN(id)",
        {"n": number},
    )
    return [str(edition) for edition, _ in rows]
