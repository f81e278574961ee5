"""Sending issues: the next issue drafted from the feeds, created in the outbox (outbox.py),
rendered once (message.py) and delivered (deliver.py, smtp.py) under a claim; test sends,
resends and dry runs; the run summary."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx

from digest.config.settings import Settings, SmtpConfig
from digest.errors import ConfigError
from digest.issue.archive import archive_sent, issue_url
from digest.issue.pipeline import Built, build_digest
from digest.models import FeedReport, Issue
from digest.sending.deliver import Wire, deliver
from digest.sending.links import links_for
from digest.sending.message import (
    DkimKey,
    Letterhead,
    Reader,
    default_list_id,
    render_issue,
    subject_line,
    write_eml,
)
from digest.sending.outbox import (
    LEASE,
    Draft,
    Owed,
    claim_rows,
    create_issue,
    editions,
    finish,
    free_dead_claims,
    get_issue,
    held_elsewhere,
    last_issue,
    new_owner,
    pending_editions,
    record,
    record_ahead,
    release,
    renew,
    reopen,
    sent_entry_check,
    settle,
    unfinished_issues,
    unheld,
)
from digest.sending.recipients import (
    as_edition,
    editions_for,
    listed,
    readers_for,
    rows_for,
    still_wanted,
    the_list,
    why_not_on_list,
)
from digest.sending.smtp import (
    Connector,
    Handover,
    SendResult,
    SendStatus,
    ServerRefused,
    SmtpSettings,
    connect,
)
from digest.sending.suppress import Bounce, key, record_bounce, suppressions
from digest.state import State

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SendReport:
    """What one `send` did to one issue, for the run summary; `earlier` holds what the same
    run did to older issues that still owed someone."""

    issue: Issue | None
    results: tuple[SendResult, ...] = ()
    note: str = ""  # why nothing (or not everything) was sent
    pending: tuple[str, ...] = ()  # recipients left for the next run
    error: str = ""  # the server refused the session: exit 4 after the summary
    test: bool = False
    settled: tuple[tuple[str, str, str], ...] = ()  # (recipient, failed|skipped, why), unsent
    earlier: tuple[SendReport, ...] = ()

    def all(self) -> tuple[SendReport, ...]:
        return (*self.earlier, self)


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
    allowed: frozenset[str] | None = None  # besides the list, who may still be sent (--to)


# settings -> the pieces mail and deliver need -------------------------------------------------


def letterhead(settings: Settings, state: State | None = None) -> Letterhead:
    smtp = _smtp_config(settings)
    dkim = settings.dkim
    return Letterhead(
        sender=smtp.sender,
        unsubscribe_mailto=settings.unsubscribe.mailto,
        unsubscribe_url=settings.unsubscribe.url,
        list_id=settings.list_id or default_list_id(settings.title, smtp.sender),
        feedback_id=settings.feedback_id,
        return_path=settings.bounces.return_path or "",
        verp=settings.bounces.verp,
        dkim=DkimKey(dkim.domain, dkim.selector, dkim.private_key) if dkim else None,
        install_id=state.install_id() if state is not None else "local",
    )


def smtp_settings(settings: Settings) -> SmtpSettings:
    smtp = _smtp_config(settings)
    return SmtpSettings(
        host=smtp.host,
        port=smtp.port,
        security=smtp.security,
        username=smtp.username,
        password=smtp.password(),
        timeout=smtp.timeout,
        attempts=smtp.attempts,
        retry_delay=smtp.retry_delay,
    )


def wire(settings: Settings, sending: Sending) -> Wire:
    smtp = _smtp_config(settings)
    return Wire(
        smtp_settings(settings),
        connections=smtp.connections,
        max_per_second=smtp.max_per_second,
        connector=sending.connector,
        stop=sending.stop,
        **({"sleep": sending.sleep} if sending.sleep else {}),
    )


def _smtp_config(settings: Settings) -> SmtpConfig:
    if settings.smtp is None:
        raise ConfigError("smtp: not configured (add an smtp: mapping with host, port, from)")
    return settings.smtp


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
        web_url=issue_url(settings.web_archive_url, number),  # issue 6: its page in the archive
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
    """Send issue `issue` to its pending rows, a claimed chunk at a time, beside any other
    sender doing the same (outbox.py). Rows of readers no longer on the list, or suppressed,
    are skipped, also when that changed during the run (each reader is looked up again just
    before their message); a row deferred past smtp.give_up_after fails. Stops between two
    messages when `sending.stop` is set; what is left stays pending."""
    owner = new_owner()
    run = _Run(settings, state, issue, owner, sending)
    free_dead_claims(state, issue.number, sending.clock())
    state.relax_durability()
    note = error = ""
    heartbeat = Heartbeat(state, issue.number, owner, sending.clock)
    try:
        note = _deliver_editions(run)
    except ServerRefused as exc:
        error = str(exc)
    finally:
        heartbeat.stop()
        release(state, issue.number, owner)
        finish(state, issue.number, sending.clock())
    now = sending.clock()
    left = tuple(unheld(state, issue.number, owner, now))
    if elsewhere := held_elsewhere(state, issue.number, owner, now):
        note = _join(note, _others(elsewhere))
    report = SendReport(get_issue(state, issue.number), tuple(run.results), note, left, error)
    return replace(report, settled=tuple(run.settled))


def _others(elsewhere: dict[str, int]) -> str:
    shown = ", ".join(
        f"{holder.rpartition(':')[0]} ({count:,})" for holder, count in elsewhere.items()
    )
    return f"the rest is being sent by another process: {shown}"


class _Run:
    """One sender's share of an issue: the rows it claims, the reader each is, the marks.
    Every database call goes through `lock`: the connections' threads share `state`."""

    def __init__(
        self, settings: Settings, state: State, issue: Issue, owner: str, sending: Sending
    ) -> None:
        self.settings, self.state, self.issue, self.owner = settings, state, issue, owner
        self.sending = sending
        self.lock = threading.Lock()
        self.results: list[SendResult] = []
        self.settled: list[tuple[str, str, str]] = []
        now = sending.clock()
        self.listed = {s.email.lower() for s in the_list(settings, state, now)}
        self.allowed = sending.allowed or frozenset()
        self.links = links_for(settings, state)
        self.give_up = _smtp_config(settings).give_up
        self.handed: set[str] = set()  # marked sent before their final dot, not yet answered
        self.counted: dict[str, int] = {}  # tries already added to a row by its handovers

    def readers(self, edition: str) -> Iterator[Reader]:
        """The readers of `edition` this sender claims, chunk after chunk until none is
        left unclaimed; each looked up again just before their message."""
        while not self.sending.stop.is_set():
            with self.lock:
                now = self.sending.clock()
                rows = claim_rows(self.state, self.issue.number, edition, self.owner, now)
                if not rows and not free_dead_claims(self.state, self.issue.number, now):
                    return  # nothing left unclaimed, and nobody on this host died holding rows
                kept = self._settle(rows)
                readers = readers_for(self.state, self.links, [row.recipient for row in kept])
            for reader in readers:
                with self.lock:
                    why = still_wanted(
                        self.state, reader.email, reader.email.lower() in self.listed
                    )
                    if why:
                        self._close([(reader.address, "skipped", why)])
                        continue
                yield reader

    def _settle(self, rows: list[Owed]) -> list[Owed]:
        """Close the claimed rows that must not be sent: the reader left the list (issue 19:
        they still got the issue an earlier failed run owed them), the address is suppressed,
        or the deferral outlasted smtp.give_up_after. The others are returned."""
        if not rows:
            return rows
        now = self.sending.clock()
        blocked = {s.address: s.reason for s in suppressions(self.state)}
        left = why_not_on_list(self.state, [key(row.recipient) for row in rows])
        closed: list[tuple[str, str, str]] = []
        kept: list[Owed] = []
        for row in rows:
            address = key(row.recipient)
            if address in blocked:
                closed.append((row.recipient, "skipped", f"suppressed: {blocked[address]}"))
            elif address not in self.listed and address not in self.allowed:
                closed.append(
                    (row.recipient, "skipped", left.get(address, "no longer in recipients"))
                )
            elif now - (row.since or self.issue.created_at) > self.give_up:
                closed.append((row.recipient, "failed", _gave_up(self.settings, row)))
            else:
                kept.append(row)
        self._close(closed)
        return kept

    def _close(self, rows: list[tuple[str, str, str]]) -> None:
        if rows:
            settle(self.state, self.issue.number, rows)
            self.settled += rows

    def handover(self, recipient: str) -> Handover:
        return _Handed(self, recipient)

    def mark_handed(self, recipient: str) -> Callable[[], None]:
        """Marks a row sent just before its final dot (smtp.Handover): the mark is sent and
        the returned function, called once the dot is sent, reads its answer. The lock is
        held from one to the other: nothing else may run on the connection meanwhile."""
        self.lock.acquire()
        try:
            now = self.sending.clock()
            mark = SendResult(recipient, SendStatus.SENT, 1)  # one more try, counted now
            answer = record_ahead(self.state, self.issue.number, mark, now)
        except BaseException:
            self.lock.release()
            raise

        def confirm() -> None:
            try:
                answer()
                self.handed.add(recipient)
                self.counted[recipient] = self.counted.get(recipient, 0) + 1
            finally:
                self.lock.release()

        return confirm

    def take_back(self, recipient: str) -> None:
        """The server refused the message after its dot, or the connection dropped before
        its answer: pending again (the retry, or the result, marks it next)."""
        with self.lock:
            self.handed.discard(recipient)
            back = SendResult(recipient, SendStatus.DEFERRED, 0, "no answer yet")
            record(self.state, self.issue.number, back, self.sending.clock())

    def mark(self, result: SendResult) -> None:
        """Marks each row with the server's answer (a sent one already is, since its
        handover), before the connection's next command. A 5xx to RCPT TO is a permanent
        bounce. Several connections answer at once: under the lock."""
        with self.lock:
            now = self.sending.clock()
            self.results.append(result)
            counted = self.counted.pop(result.recipient, 0)  # tries the handovers counted
            if result.status is SendStatus.SENT and result.recipient in self.handed:
                self.handed.discard(result.recipient)
                return
            uncounted = replace(result, attempts=max(0, result.attempts - counted))
            record(self.state, self.issue.number, uncounted, now)
            if result.refused_at_rcpt:
                bounce = Bounce(result.recipient, True, result.reply, self.issue.number, "smtp")
                record_bounce(self.state, bounce, self.settings.bounces.suppress_after, now)


@dataclass(frozen=True, slots=True)
class _Handed:
    """One reader's smtp.Handover: the run marks the row around the final dot."""

    run: _Run
    recipient: str

    def before_dot(self) -> Callable[[], None]:
        return self.run.mark_handed(self.recipient)  # each handover counts one try

    def not_taken(self) -> None:
        self.run.take_back(self.recipient)


class Heartbeat:
    """Renews a sender's claims every third of their lease, from a thread with a connection of
    its own, so they run out only when the process is gone (or cannot reach the database),
    however long one message takes."""

    def __init__(self, state: State, number: int, owner: str, clock: Clock) -> None:
        self.where, self.number, self.owner, self.clock = state.place, number, owner, clock
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="claims", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        beat = LEASE.total_seconds() / 3
        state: State | None = None
        try:
            while not self.stopping.wait(beat):
                state = state or State.open(self.where)
                renew(state, self.number, self.owner, self.clock())
        except Exception as exc:  # the marks go on; the lease may lapse: say so once
            log.warning("claims of issue %d not renewed: %s", self.number, exc)
        finally:
            if state is not None:
                state.close()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=30)


def _deliver_editions(run: _Run) -> str:
    """Each edition's readers (the editions with pending rows, in queue order), the edition
    rendered into a message once."""
    settings, state, issue, sending = run.settings, run.state, run.issue, run.sending
    head = letterhead(settings, state)
    stored = editions(state, issue.number)
    for choice in pending_editions(state, issue.number):
        mail = render_issue(as_edition(issue, stored.get(choice)), head, sending.clock())
        note = deliver(mail, run.readers(choice), wire(settings, sending), run.mark, run.handover)
        if note:
            return note
    return ""


def _gave_up(settings: Settings, row: Owed) -> str:
    last = row.reply or "never reached"
    return f"still deferred after {_smtp_config(settings).give_up_after}; last reply: {last}"


def send_to_list(
    settings: Settings, state: State, sending: Sending, recipients: list[str] | None = None
) -> SendReport:
    """The scheduled job and `digest send`: send what older issues still owe, then create the
    next issue and send it to every recipient (the list, or `recipients` when they include
    the whole list), each their edition. Issues are independent: one reader's endless 451 on
    an older issue does not hold the next one back from anybody."""
    smtp_settings(settings)  # fail on a missing smtp: or password before building anything
    rows = rows_for(state, listed(settings, state, sending.clock()), recipients)
    sending.allowed = frozenset(key(r) for r, _ in rows) | (sending.allowed or frozenset())
    earlier = tuple(_resume(settings, state, owed, sending) for owed in unfinished_issues(state))
    if earlier and (any(report.error for report in earlier) or sending.stop.is_set()):
        return replace(earlier[-1], earlier=earlier[:-1])
    for _ in range(3):  # a draft goes stale only if another process created an issue meanwhile
        draft = draft_issue(settings, state, sending.clock(), sending)
        if draft is None:
            break
        made = editions_for(settings, draft.issue, draft.built, rows)
        issue = create_issue(state, draft, rows, made)
        if issue is None:  # another sender created it a moment ago: send it with them
            made_since = [owed for owed in unfinished_issues(state) if owed.number > draft.after]
            earlier += tuple(_joined(settings, state, owed, sending) for owed in made_since)
            continue
        archived = archive_sent(settings, issue, draft.built)  # issue 6: links resolve
        report = deliver_issue(settings, state, issue, sending)
        return replace(report, note=_join(report.note, archived), earlier=earlier)
    else:
        note = "other processes keep creating issues; try again"
        return SendReport(None, note=note, earlier=earlier)
    if earlier:
        return replace(earlier[-1], earlier=earlier[:-1])
    return SendReport(None, note=_nothing_new(state))


def _joined(settings: Settings, state: State, owed: Issue, sending: Sending) -> SendReport:
    report = deliver_issue(settings, state, owed, sending)
    joined = f"joined issue {owed.number}, which another process created a moment ago"
    return replace(report, note=_join(joined, report.note))


def _resume(settings: Settings, state: State, owed: Issue, sending: Sending) -> SendReport:
    archived = archive_sent(settings, owed)  # issue 6: in case a crash came first
    report = deliver_issue(settings, state, owed, sending)
    resumed = f"resumed issue {owed.number}, unfinished since {owed.created_at:%Y-%m-%d %H:%M}"
    return replace(report, note=_join(resumed, report.note, archived))


def resume_unfinished(settings: Settings, state: State, sending: Sending) -> SendReport | None:
    """Send what unfinished issues still owe; None when nothing is owed."""
    reports = tuple(
        deliver_issue(settings, state, owed, sending) for owed in unfinished_issues(state)
    )
    return replace(reports[-1], earlier=reports[:-1]) if reports else None


def send_test(
    settings: Settings, state: State, addresses: list[str], sending: Sending
) -> SendReport:
    """The next issue as it would be now, to these addresses only. Stores nothing: the entries
    stay unsent, and the Message-ID differs from the real issue's."""
    draft = draft_issue(settings, state, sending.clock(), sending)
    if draft is None:
        return SendReport(None, note=_nothing_new(state), test=True)
    variant = f"test{int(sending.clock().timestamp())}"
    mail = render_issue(draft.issue, letterhead(settings, state), sending.clock(), variant)
    readers = readers_for(state, links_for(settings, state), addresses)
    results: list[SendResult] = []
    error = ""
    try:
        deliver(mail, readers, wire(settings, sending), results.append)
    except ServerRefused as exc:
        error = str(exc)
    return SendReport(draft.issue, tuple(results), error=error, test=True)


def resend(
    settings: Settings, state: State, number: int, addresses: list[str] | None, sending: Sending
) -> SendReport:
    """Owe issue `number` again to `addresses` (default: the list) and send what is owed.
    Whoever already got it is skipped: resend is for failures and new readers; so is a
    suppressed address (lift it first: `digest suppressed remove`)."""
    issue = get_issue(state, number)
    if issue is None:
        raise ConfigError(f"--resend {number}: no such issue (see `digest issues`)")
    wanted = addresses or [s.address.header for s in listed(settings, state, sending.clock())]
    sending.allowed = frozenset(key(a) for a in wanted) | (sending.allowed or frozenset())
    reopened = reopen(state, number, wanted, sending.clock())
    report = deliver_issue(settings, state, issue, sending)
    notes = [report.note]
    if reopened.already_sent:
        notes.append(f"already sent to {', '.join(reopened.already_sent)}: not sent again")
    if reopened.suppressed:
        notes.append(f"suppressed, not sent: {', '.join(reopened.suppressed)}")
    return replace(report, note=_join(*notes))


def dry_run(
    settings: Settings,
    state: State,
    addresses: list[str] | None,
    number: int | None,
    folder: Path,
    sending: Sending,
) -> tuple[Issue | None, list[Path]]:
    """Write the .eml files a send would deliver, each reader's edition with their links;
    send and store nothing."""
    rows = rows_for(state, listed(settings, state, sending.clock()), addresses)
    if number is not None:
        issue = get_issue(state, number)
        if issue is None:
            raise ConfigError(f"--resend {number}: no such issue (see `digest issues`)")
        made = editions(state, number)
    else:
        draft = draft_issue(settings, state, sending.clock(), sending)
        if draft is None:
            return None, []
        issue = draft.issue
        made = {e.sections: e for e in editions_for(settings, issue, draft.built, rows)}
    head, links = letterhead(settings, state), links_for(settings, state)
    target = folder / f"issue-{issue.number}"
    paths: list[Path] = []
    for address, choice in rows:
        edition = made.get(choice)
        if edition is not None and edition.stories == 0:
            continue  # nothing in their sections: they get nothing
        mail = render_issue(as_edition(issue, edition), head, sending.clock())
        (reader,) = readers_for(state, links, [address])
        paths.append(write_eml(mail.for_reader(reader), target / f"{_file_name(address)}.eml"))
    return issue, paths


def is_whole_list(settings: Settings, state: State, addresses: list[str]) -> bool:
    wanted = {key(a) for a in addresses}
    everyone = {s.email.lower() for s in the_list(settings, state, utc_now())}
    return bool(everyone) and wanted >= everyone


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
