"""`digest subscribers`: the list (counts, then one row per subscriber), and `add`, `remove`,
`import FILE.csv`, `export`. Addresses in `recipients:` are on it (via config). Exit codes: 0
done; 2 a bad address, section or CSV row (the good rows are imported all the same)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import click

from digest.cli.common import config_option, reports_errors
from digest.config.load import default_config_path, load_settings
from digest.config.settings import Settings
from digest.errors import ConfigError
from digest.sending import signup
from digest.sending.roster import read_csv, write_csv
from digest.sending.subscribers import STATUSES, Subscriber, counts, everyone, parse_address
from digest.state import State


def _settings(ctx: click.Context, config_path: Path | None) -> Settings:
    return load_settings(config_path or ctx.obj or default_config_path())


def _synced(settings: Settings) -> State:
    """The state database with recipients: on the list as they are in the file."""
    state = State.open(settings.database)
    signup.sync_config(state, settings.recipients, datetime.now(UTC))
    return state


@click.group(invoke_without_command=True)
@config_option
@click.option("--status", type=click.Choice(STATUSES), help="Only subscribers with this status.")
@click.pass_context
@reports_errors
def subscribers(ctx: click.Context, config_path: Path | None, status: str | None) -> None:
    """The subscriber list: counts by status, then every subscriber."""
    ctx.obj = config_path
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings(ctx, config_path)
    with _synced(settings) as state:
        tally = counts(state)
        rows = everyone(state, status)
    total = sum(tally.values())
    click.echo(
        f"{total:,} {'subscriber' if total == 1 else 'subscribers'}: "
        + ", ".join(f"{tally[name]:,} {name}" for name in STATUSES)
    )
    for row in rows:
        click.echo(_row(row))


def _row(s: Subscriber) -> str:
    sections = "all sections" if s.sections is None else "sections: " + ", ".join(s.sections)
    why = f" ({s.suppressed_reason})" if s.suppressed_reason else ""
    since = f"{s.status} since {s.status_at:%Y-%m-%d %H:%M} via {s.via}{why}"
    return f"{s.address.header}  {since}  {sections}"


def _sections_option(settings: Settings, value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    known = {section.lower(): section for section in settings.section_titles()}
    wanted = [part.strip() for part in value.split(",") if part.strip()]
    for part in wanted:
        if part.lower() not in known:
            raise ConfigError(
                f"--sections: no section {part!r} (the sections: {', '.join(known.values())})"
            )
    return tuple(dict.fromkeys(known[part.lower()] for part in wanted))


@subscribers.command("add")
@config_option
@click.argument("addresses", nargs=-1, required=True)
@click.option("--sections", help="Only these sections, comma-separated (default: all).")
@click.option("--force", is_flag=True, help="Also make active readers who left or paused.")
@click.pass_context
@reports_errors
def add(
    ctx: click.Context,
    config_path: Path | None,
    addresses: tuple[str, ...],
    sections: str | None,
    force: bool,
) -> None:
    """Put ADDRESSES on the list, active at once (you vouch for their consent)."""
    settings = _settings(ctx, config_path)
    chosen = _sections_option(settings, sections)
    parsed = [(parse_address(text), chosen) for text in addresses]
    with _synced(settings) as state:
        done = signup.add(state, parsed, "command", datetime.now(UTC), force)
    _report_added(done)


def _report_added(done: signup.Added) -> None:
    for email in done.added:
        click.echo(f"added: {email}")
    for email in done.already:
        click.echo(f"already on the list: {email}")
    for email in done.refused:
        click.echo(f"not added: {email} left or paused by their own choice (--force overrides)")


@subscribers.command("remove")
@config_option
@click.argument("addresses", nargs=-1, required=True)
@click.pass_context
@reports_errors
def remove(ctx: click.Context, config_path: Path | None, addresses: tuple[str, ...]) -> None:
    """Unsubscribe ADDRESSES (they stay in the list's history)."""
    settings = _settings(ctx, config_path)
    parsed = [parse_address(text) for text in addresses]
    with _synced(settings) as state:
        removed, absent = signup.remove(state, parsed, datetime.now(UTC))
    for email in removed:
        click.echo(f"unsubscribed: {email}")
    for email in absent:
        click.echo(f"was not on the list: {email}")
    in_file = {text.lower() for text in settings.recipients}
    for email in removed:
        if email.lower() in in_file:
            click.echo(f"  note: {email} is in recipients: too; take it out of the file")


@subscribers.command("import")
@config_option
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Also make active readers who left or paused.")
@click.pass_context
@reports_errors
def import_(ctx: click.Context, config_path: Path | None, path: Path, force: bool) -> None:
    """Add the addresses of a CSV file: an address a row, its sections (a;b) optional."""
    settings = _settings(ctx, config_path)
    read = read_csv(path, settings.section_titles())
    for problem in read.problems:
        click.echo(f"digest: error: {problem}", err=True)
    with _synced(settings) as state:
        done = signup.add(state, read.rows, "import", datetime.now(UTC), force)
    click.echo(
        f"{path}: {len(done.added):,} added, {len(done.already):,} already on the list, "
        f"{len(done.refused):,} left or paused by their own choice (not added), "
        f"{len(read.problems):,} bad {'row' if len(read.problems) == 1 else 'rows'}"
    )
    _report_refused(done.refused)
    if read.problems:
        sys.exit(ConfigError.exit_code)


def _report_refused(refused: Sequence[str]) -> None:
    for email in refused[:20]:
        click.echo(f"  not added: {email} (--force to add them anyway)")
    if len(refused) > 20:
        click.echo(f"  ... and {len(refused) - 20:,} more")


@subscribers.command("export")
@config_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File.")
@click.pass_context
@reports_errors
def export(ctx: click.Context, config_path: Path | None, output: Path | None) -> None:
    """Every subscriber as CSV (email, sections, name, status, since, via, confirmed)."""
    settings = _settings(ctx, config_path)
    with _synced(settings) as state:
        text = write_csv(everyone(state))
    if output is None:
        click.echo(text, nl=False)
    else:
        from digest.files import write_atomically

        write_atomically(output, text)
        click.echo(f"wrote {output}")
