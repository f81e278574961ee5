"""Sending issues: the next issue drafted from the feeds, created in the outbox (outbox.py),
and delivered over SMTP (smtp.py) one message per recipient (message.py), under a claim; test
sends, resends and dry runs; the run summary."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx

from digest.config.settings import Settings, SmtpConfig
from digest.errors import ConfigError
from digest.issue.archive import archive_sent, issue_url
from digest.issue.pipeline import Built, build_digest
from digest.models import FeedReport, Issue
from digest.sending.message import Letterhead, build_message, subject_line, write_eml
from digest.sending.outbox import (
    Draft,
    claim,
    create_issue,
    get_issue,
    last_issue,
    new_owner,
    pending,
    record,
    release,
    reopen,
    sent_entry_check,
    unfinished_issue,
)
from digest.sending.smtp import (
    Connector,
    SendResult,
    SendStatus,
    ServerRefused,
    SmtpBatch,
    SmtpSettings,
    connect,
)
from digest.state import State

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


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
            for recipient in pending(state, issue.number):
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
    left = tuple(pending(state, issue.number))
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
