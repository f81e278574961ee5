"""The sending commands: `digest send`, `digest schedule`, `digest issues`, and `build --eml`.

Exit codes as in digest/cli/main.py; for `send`: 0 when every recipient got the issue (or there
was nothing new, or another process is sending it), 4 when someone did not (failed, or left
pending for the next run) or the server refused the session, 3 when every feed failed.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import click

from digest.cli.common import config_option, reports_errors
from digest.config.load import default_config_path, load_settings
from digest.config.settings import Settings
from digest.errors import ConfigError, DeliveryError
from digest.feeds.gather import feed_lines
from digest.issue.pipeline import Built
from digest.sending.message import build_message, write_eml
from digest.sending.outbox import last_issue, list_issues
from digest.sending.send import (
    Sending,
    SendReport,
    dry_run,
    is_whole_list,
    issue_from,
    letterhead,
    resend,
    send_test,
    send_to_list,
    smtp_settings,
)
from digest.sending.smtp import SendStatus
from digest.sending.summary import report_lines
from digest.state import State
from digest.text.plural import count

PREVIEW_RECIPIENT = "reader@example.invalid"


@click.command()
@config_option
@click.option("--to", "addresses", multiple=True, help="Send only to this address (repeatable).")
@click.option("--dry-run", is_flag=True, help="Write the .eml files; send nothing.")
@click.option("--resend", "resend_number", type=int, help="Send issue N again to who lacks it.")
@click.option("--verbose", "-v", is_flag=True, help="List who got it, and who did not and why.")
@reports_errors
def send(
    config_path: Path | None,
    addresses: tuple[str, ...],
    dry_run: bool,
    resend_number: int | None,
    verbose: bool,
) -> None:
    """Build the next issue and mail it to the list (or only to --to addresses: a test send,
    which leaves the entries unsent)."""
    settings = load_settings(config_path or default_config_path())
    to = [_checked_address(address) for address in addresses]
    with State.open(settings.database) as state:
        if dry_run:
            _dry_run(settings, state, to, resend_number)
            return
        sending = Sending()
        report = _send(settings, state, to, resend_number, sending)
    for line in report_lines(report, verbose=verbose):
        click.echo(line)
    for line in feed_lines(sending.feeds):
        click.echo(line, err=True)
    _exit_for(report)


def _send(
    settings: Settings, state: State, to: list[str], resend_number: int | None, sending: Sending
) -> SendReport:
    if resend_number is not None:
        return resend(settings, state, resend_number, to or None, sending)
    if to and not is_whole_list(settings, state, to):
        return send_test(settings, state, to, sending)
    return send_to_list(settings, state, sending, to or None)


def _dry_run(settings: Settings, state: State, to: list[str], number: int | None) -> None:
    folder = settings.output_path / "eml"
    issue, paths = dry_run(settings, state, to or None, number, folder, Sending())
    if issue is None:
        click.echo("nothing new since the last issue: no message to write")
        return
    click.echo(f"dry run: issue {issue.number} «{issue.subject}», nothing sent")
    for path in paths:
        click.echo(f"  wrote {path}")


def _exit_for(report: SendReport) -> None:
    for one in report.all():
        missed = [r for r in one.results if r.status is not SendStatus.SENT]
        if one.error or missed or one.pending:
            sys.exit(DeliveryError.exit_code)


def _checked_address(value: str) -> str:
    from digest.config.settings import check_address

    try:
        return check_address(value)
    except ValueError as exc:
        raise ConfigError(f"--to: {exc}") from None


@click.command()
@config_option
@click.option("--list", "show_list", is_flag=True, help="Show the next runs and exit.")
@reports_errors
def schedule(config_path: Path | None, show_list: bool) -> None:
    """Run the scheduler in the foreground: send each issue on time (Ctrl-C to stop)."""
    from digest.sending.schedule import next_runs, run_forever

    path = config_path or default_config_path()
    settings = load_settings(path)
    if show_list:
        click.echo(f"schedule: {settings.schedule.cron} ({settings.timezone})")
        for moment in next_runs(settings):
            click.echo(f"  {moment:%a %Y-%m-%d %H:%M %Z}")
        return
    smtp_settings(settings)  # a missing smtp: or password fails now, not at the first run
    run_forever(settings, path, click.echo)


@click.command()
@config_option
@click.argument("number", type=int, required=False)
@reports_errors
def issues(config_path: Path | None, number: int | None) -> None:
    """List past issues and their delivery counts; with NUMBER, every reader of that issue,
    their status and the server's last reply."""
    settings = load_settings(config_path or default_config_path())
    with State.open(settings.database) as state:
        past = list_issues(state, rows_of=number)
    if number is not None:
        past = [status for status in past if status.issue.number == number]
        if not past:
            raise ConfigError(f"issue {number}: no such issue (see `digest issues`)")
    if not past:
        click.echo("no issue yet")
    for status in past:
        issue = status.issue
        counts = ", ".join(
            f"{name} {status.count(name):,}" for name in ("sent", "failed", "pending", "skipped")
        )
        when = f"{issue.sent_at:%Y-%m-%d %H:%M}" if issue.sent_at else "not finished"
        stories = count(len(issue.entry_ids), "story", "stories")
        click.echo(
            f"#{issue.number}  {issue.created_at:%Y-%m-%d}  {stories}  "
            f"{counts}  ({when})  {issue.subject}"
        )
        if number is not None:
            for delivery in status.deliveries:
                reply = f": {delivery.reply}" if delivery.reply else ""
                click.echo(f"    {delivery.status}: {delivery.recipient}{reply}")


# build --eml ----------------------------------------------------------------------------------


def preview_eml(settings: Settings, state: State, built: Built, now: datetime) -> EmailMessage:
    """The built digest as the next issue's message to the first recipient. Stores nothing."""
    last = last_issue(state)
    issue = issue_from(settings, built, (last.number if last else 0) + 1, now)
    recipient = settings.recipients[0] if settings.recipients else PREVIEW_RECIPIENT
    return build_message(issue, recipient, letterhead(settings, state), datetime.now(UTC))


def write_preview(message: EmailMessage, folder: Path) -> Path:
    return write_eml(message, folder / "digest.eml")
