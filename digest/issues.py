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
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from digest.archive import archive_sent, issue_url
from digest.compose import canonical_url
from digest.config import Settings, SmtpConfig
from digest.deliver import (
    Connector,
    SendResult,
    SendStatus,
    ServerRefused,
    SmtpBatch,
    SmtpSettings,
    connect,
    write_eml,
)
from digest.errors import ConfigError
from digest.mail import Issue, Letterhead, build_message, subject_line
from digest.models import Entry, FeedReport
from digest.pipeline import Built, build_digest
from digest.state import State

CLAIM_LEASE = timedelta(minutes=15)  # renewed after every message; outlives one slow message

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


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


@dataclass(frozen=True, slots=True)
class SendReport:
    """What one `send` did: for the run summary."""

    issue: Issue | None
    results: tuple[SendResult, ...] = ()
    note: str = ""  # why nothing (or not everything) was sent
    pending: tuple[str, ...] = ()  # recipients left for the next run
    error: str = ""  # the server refused the session: exit 4 after the summary
    test: bool = False


@dataclass
class Sending:
    """The edges a send needs: the clock, SMTP, a pause, and a stop flag checked between
    messages (SIGTERM in the scheduler)."""

    clock: Clock = utc_now
    connector: Connector = connect
    sleep: Callable[[float], None] | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    client: httpx.Client | None = None
    feeds: list[FeedReport] = field(default_factory=list)  # what each feed did, for the summary


# settings -> the pieces mail and deliver need -------------------------------------------------


def letterhead(settings: Settings) -> Letterhead:
    smtp = _smtp_config(settings)
    return Letterhead(
        sender=smtp.sender,
        unsubscribe_mailto=settings.unsubscribe.mailto,
        unsubscribe_url=settings.unsubscribe.url,
    )


def smtp_settings(settings: Settings) -> SmtpSettings:
    smtp = _smtp_config(settings)
    return SmtpSettings(
        host=smtp.host,
        port=smtp.port,
        security=smtp.security,
        sender=smtp.sender,
        username=smtp.username,
        password=smtp.password(),
        timeout=smtp.timeout,
        attempts=smtp.attempts,
        retry_delay=smtp.retry_delay,
    )


def _smtp_config(settings: Settings) -> SmtpConfig:
    if settings.smtp is None:
        raise ConfigError("smtp: not configured (add an smtp: mapping with host, port, from)")
    return settings.smtp


def _recipients(settings: Settings) -> list[str]:
    if not settings.recipients:
        raise ConfigError("recipients: the list is empty (add addresses, or use --to)")
    return list(settings.recipients)


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
    """True for an entry that went out in an issue: same id, or same page by canonical URL."""
    ids: set[str] = set()
    links: set[str] = set()
    for entry_id, link in state.conn.execute("SELECT entry_id, link FROM issue_entries"):
        ids.add(entry_id)
        if link:
            links.add(link)
    return lambda e: e.id in ids or bool(e.link and canonical_url(e.link) in links)


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


def draft_issue(settings: Settings, state: State, now: datetime, sending: Sending) -> Draft | None:
    """The next issue as it would be now: entries not yet sent, since the last issue ended.
    None when there is nothing new (and send_when_empty is off). Writes nothing."""
    last = last_issue(state)
    number = (last.number if last else 0) + 1
    built = build_digest(
        settings,
        state,
        now,
        since=last.period_end if last else None,  # None: the last window_days
        client=sending.client,
        on_feed=sending.feeds.append,
        already_sent=sent_entry_check(state),
        allow_empty=True,  # nothing new is not an error here: the caller says so
        web_url=issue_url(settings.archive_url, number),  # issue 6: its page in the archive
    )
    if not built.digest.items and not settings.send_when_empty:
        return None
    issue = issue_from(settings, built, number, now)
    return Draft(issue, built, last.number if last else 0)


def issue_from(settings: Settings, built: Built, number: int, now: datetime) -> Issue:
    """A built digest as issue `number` (not stored)."""
    digest = built.digest
    subject = subject_line(
        settings.subject,
        settings.title,
        (len(digest.items), number),
        (digest.period_start, digest.period_end),
        settings.zone,
    )
    return Issue(
        number=number,
        period_start=digest.period_start,
        period_end=digest.period_end,
        entry_ids=tuple(item.entry.id for item in digest.items),
        subject=subject,
        html=built.rendered.html,
        text=built.rendered.text,
        created_at=now,
    )


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


def _pending(state: State, number: int) -> list[str]:
    rows = state.conn.execute(
        "SELECT recipient FROM outbox WHERE issue = ? AND status = 'pending' ORDER BY rowid",
        (number,),
    )
    return [recipient for (recipient,) in rows]


# sending ------------------------------------------------------------------------------------


def deliver_issue(settings: Settings, state: State, issue: Issue, sending: Sending) -> SendReport:
    """Send issue `issue` to its pending rows, under a claim. Stops between two messages when
    `sending.stop` is set; what is left stays pending for the next run."""
    owner = new_owner()
    holder = claim(state, issue.number, owner, sending.clock())
    if holder is not None:
        return SendReport(issue, note=f"issue {issue.number} is being sent by {holder}")
    results: list[SendResult] = []
    note = error = ""
    try:
        head, smtp = letterhead(settings), smtp_settings(settings)
        with SmtpBatch(
            smtp, sending.connector, *([sending.sleep] if sending.sleep else [])
        ) as batch:
            for recipient in _pending(state, issue.number):
                if sending.stop.is_set():
                    note = "stopped on request"
                    break
                message = build_message(issue, recipient, head, sending.clock())
                result = batch.send(recipient, message)
                record(state, issue.number, owner, result, message["Message-ID"], sending.clock())
                results.append(result)
                if result.status is SendStatus.DEFERRED and result.reply.startswith("connection"):
                    note = "the SMTP server is unreachable"
                    break
    except ServerRefused as exc:
        error = str(exc)
    finally:
        release(state, issue.number, owner)
    left = tuple(_pending(state, issue.number))
    return SendReport(get_issue(state, issue.number), tuple(results), note, left, error)


def send_to_list(
    settings: Settings, state: State, sending: Sending, recipients: list[str] | None = None
) -> SendReport:
    """The scheduled job and `digest send`: finish an unfinished issue if there is one, else
    create the next issue and send it to every recipient (the list, or `recipients` when they
    include the whole list)."""
    recipients = recipients or _recipients(settings)
    smtp_settings(settings)  # fail on a missing smtp: or password before building anything
    for _ in range(3):  # a draft goes stale only if another process created an issue meanwhile
        owed = unfinished_issue(state)
        if owed is not None:
            archived = archive_sent(settings, owed)  # issue 6: in case a crash came first
            report = deliver_issue(settings, state, owed, sending)
            resumed = (
                f"resumed issue {owed.number}, unfinished since {owed.created_at:%Y-%m-%d %H:%M}"
            )
            return replace(report, note=_join(resumed, report.note, archived))
        draft = draft_issue(settings, state, sending.clock(), sending)
        if draft is None:
            return SendReport(None, note=_nothing_new(state))
        issue = create_issue(state, draft, recipients)
        if issue is not None:
            archived = archive_sent(settings, issue, draft.built)  # issue 6: links resolve
            report = deliver_issue(settings, state, issue, sending)
            return replace(report, note=_join(report.note, archived)) if archived else report
    return SendReport(None, note="other processes keep creating issues; try again")


def resume_unfinished(settings: Settings, state: State, sending: Sending) -> SendReport | None:
    """Send what an unfinished issue still owes; None when nothing is owed."""
    owed = unfinished_issue(state)
    return None if owed is None else deliver_issue(settings, state, owed, sending)


def send_test(
    settings: Settings, state: State, addresses: list[str], sending: Sending
) -> SendReport:
    """The next issue as it would be now, to these addresses only. Stores nothing: the entries
    stay unsent, and the Message-ID differs from the real issue's."""
    draft = draft_issue(settings, state, sending.clock(), sending)
    if draft is None:
        return SendReport(None, note=_nothing_new(state), test=True)
    head, smtp = letterhead(settings), smtp_settings(settings)
    variant = f"test{int(sending.clock().timestamp())}"
    results: list[SendResult] = []
    error = ""
    try:
        with SmtpBatch(
            smtp, sending.connector, *([sending.sleep] if sending.sleep else [])
        ) as batch:
            for address in addresses:
                message = build_message(draft.issue, address, head, sending.clock(), variant)
                results.append(batch.send(address, message))
    except ServerRefused as exc:
        error = str(exc)
    return SendReport(draft.issue, tuple(results), error=error, test=True)


def resend(
    settings: Settings, state: State, number: int, addresses: list[str] | None, sending: Sending
) -> SendReport:
    """Owe issue `number` again to `addresses` (default: the list) and send what is owed.
    Whoever already got it is skipped: resend is for failures and new readers."""
    issue = get_issue(state, number)
    if issue is None:
        raise ConfigError(f"--resend {number}: no such issue (see `digest issues`)")
    already = reopen(state, number, addresses or _recipients(settings))
    report = deliver_issue(settings, state, issue, sending)
    if already:
        skipped = f"already sent to {', '.join(already)}: not sent again"
        return replace(report, note=_join(report.note, skipped))
    return report


def dry_run(
    settings: Settings,
    state: State,
    addresses: list[str] | None,
    number: int | None,
    folder: Path,
    sending: Sending,
) -> tuple[Issue | None, list[Path]]:
    """Write the .eml files a send would deliver; send and store nothing."""
    if number is not None:
        issue = get_issue(state, number)
        if issue is None:
            raise ConfigError(f"--resend {number}: no such issue (see `digest issues`)")
    else:
        draft = draft_issue(settings, state, sending.clock(), sending)
        if draft is None:
            return None, []
        issue = draft.issue
    head = letterhead(settings)
    target = folder / f"issue-{issue.number}"
    paths = [
        write_eml(
            build_message(issue, address, head, sending.clock()),
            target / f"{_file_name(address)}.eml",
        )
        for address in addresses or _recipients(settings)
    ]
    return issue, paths


def is_whole_list(settings: Settings, addresses: list[str]) -> bool:
    wanted = {a.lower() for a in addresses}
    return bool(settings.recipients) and wanted >= {a.lower() for a in settings.recipients}


def _file_name(address: str) -> str:
    return "".join(c if c.isalnum() or c in "@._-+" else "_" for c in address)


def _nothing_new(state: State) -> str:
    last = last_issue(state)
    if last is None:
        return "nothing new to send: no entry in the window"
    ended = f"{last.period_end:%Y-%m-%d %H:%M} UTC"
    return f"nothing new since issue {last.number} ({ended}): nothing sent"


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def report_lines(report: SendReport) -> list[str]:
    """The run summary: who got it, who did not and why, what is left for the next run."""
    lines: list[str] = []
    if report.issue is not None:
        kind = "test send of the next issue" if report.test else f"issue {report.issue.number}"
        by_status = {
            status: [r for r in report.results if r.status is status] for status in SendStatus
        }
        counts = ", ".join(f"{len(by_status[s])} {s}" for s in SendStatus if by_status[s])
        lines.append(f"{kind} «{report.issue.subject}»: {counts or 'no message sent this run'}")
        if by_status[SendStatus.SENT]:
            lines.append("  sent to: " + ", ".join(r.recipient for r in by_status[SendStatus.SENT]))
        for result in by_status[SendStatus.FAILED]:
            lines.append(f"  failed: {result.recipient}: {result.reply}")
        for result in by_status[SendStatus.DEFERRED]:
            lines.append(f"  deferred: {result.recipient}: {result.reply}")
    if report.pending:
        lines.append(
            f"  left for the next run: {len(report.pending)} ({', '.join(report.pending)})"
        )
    if report.note:
        lines.append(report.note if report.issue is None else f"  note: {report.note}")
    if report.error:
        lines.append(f"  error: {report.error}")
    return lines
