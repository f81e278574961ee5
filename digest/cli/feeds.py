"""`digest feeds` (list, add, remove, import, export) and `digest check`.

Exit codes as in digest/cli/main.py: 2 for bad input (a malformed OPML file, a URL that is no feed
and no page linking one, a feed already configured, an invalid pattern; the config file is
then left as it was). `check` exits 0 only when the config is valid and every feed is fine,
2 when the config is not, 3 when a feed failed.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from digest.cli.common import config_option, reports_errors
from digest.config.load import default_config_path, load_settings
from digest.config.settings import Settings
from digest.errors import ConfigError, NothingToBuild
from digest.feeds.registry import (
    Added,
    FeedRow,
    Imported,
    Listing,
    Wanted,
    add_feed,
    check_feeds,
    export_opml,
    import_opml,
    list_feeds,
    remove_feed,
)
from digest.files import write_atomically
from digest.models import FeedStatus
from digest.state import FeedRecord
from digest.text.plural import count as plural


def _config(ctx: click.Context, own: Path | None) -> Path:
    """The subcommand's --config, else the group's, else the default."""
    return own or ctx.obj.get("config") or default_config_path()


@click.group("feeds", invoke_without_command=True)
@config_option
@click.pass_context
@reports_errors
def feeds(ctx: click.Context, config_path: Path | None) -> None:
    """List the feeds: section, URL, last status and success, entries in the window, moves,
    retirements and filters. The subcommands edit config.yaml, its comments kept."""
    ctx.ensure_object(dict)["config"] = config_path
    if ctx.invoked_subcommand is not None:
        return
    settings = load_settings(_config(ctx, None))
    for line in listing_lines(list_feeds(settings, datetime.now(UTC)), settings):
        click.echo(line)


@feeds.command("add")
@click.argument("url")
@click.option("--name", help="Name shown as the source (default: the feed's title).")
@click.option("--section", help="Section heading to group under (default: the name).")
@click.option("--include", multiple=True, help="Keep only entries matching this (repeatable).")
@click.option("--exclude", multiple=True, help="Drop entries matching this (repeatable).")
@config_option
@click.pass_context
@reports_errors
def add(
    ctx: click.Context,
    url: str,
    name: str | None,
    section: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    config_path: Path | None,
) -> None:
    """Add the feed at URL, or the feed a web page at URL links (<link rel="alternate">)."""
    path = _config(ctx, config_path)
    added = add_feed(path, url, Wanted(name, section, include, exclude))
    for line in added_lines(added, path):
        click.echo(line)


@feeds.command("remove")
@click.argument("feed")
@config_option
@click.pass_context
@reports_errors
def remove(ctx: click.Context, feed: str, config_path: Path | None) -> None:
    """Remove a feed, by its name or its URL."""
    path = _config(ctx, config_path)
    removed = remove_feed(path, feed)
    click.echo(f"removed «{removed.name}» ({removed.url}) from {path}, line {removed.line}")


@feeds.command("import")
@click.argument("opml", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@click.pass_context
@reports_errors
def import_(ctx: click.Context, opml: Path, config_path: Path | None) -> None:
    """Add the feeds of an OPML file (folders become sections; duplicates are skipped)."""
    path = _config(ctx, config_path)
    for line in imported_lines(import_opml(path, opml), opml, path):
        click.echo(line)


@feeds.command("export")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write."
)
@config_option
@click.pass_context
@reports_errors
def export(ctx: click.Context, output: Path | None, config_path: Path | None) -> None:
    """Write the feeds as OPML 2.0 (to stdout by default), sections as folders."""
    settings = load_settings(_config(ctx, config_path))
    document = export_opml(settings, datetime.now(UTC))
    if output is None:
        click.echo(document, nl=False)
        return
    try:
        write_atomically(output, document)
    except OSError as exc:
        raise ConfigError(f"{output}: cannot write: {exc.strerror or exc}") from None
    click.echo(f"wrote {output}: {plural(len(settings.feeds), 'feed')}", err=True)


@click.command("check")
@config_option
@reports_errors
def check(config_path: Path | None) -> None:
    """Validate the config and fetch every feed once, without building or touching state. One
    line per feed; exit 0 only when every one is fine."""
    path = config_path or default_config_path()
    settings = load_settings(path)
    click.echo(f"{path}: valid, {plural(len(settings.feeds), 'feed')}")
    reports = check_feeds(settings)
    width = max(len(r.name) for r in reports)
    for report, feed in zip(reports, settings.feeds, strict=True):
        if report.status is FeedStatus.FAILED:
            click.echo(f"failed  {report.name:<{width}}  {report.error}  ({feed.url})")
        else:
            click.echo(f"ok      {report.name:<{width}}  {_entries(report.entries)}  ({feed.url})")
    failed = sum(1 for r in reports if r.status is FeedStatus.FAILED)
    click.echo(f"{len(reports) - failed} ok, {failed} failed")
    if failed:
        sys.exit(NothingToBuild.exit_code)


# output ---------------------------------------------------------------------------------------


def listing_lines(listing: Listing, settings: Settings) -> list[str]:
    zone = settings.zone
    days = f"{settings.window_days:g} day" + ("" if settings.window_days == 1 else "s")
    anchor = "up to the newest entry" if settings.window_anchor == "newest" else "up to now"
    span = f"{_when(listing.start, zone)} – {_when(listing.end, zone)}"
    feeds = plural(len(listing.rows), "feed")
    lines = [f"{feeds}; the window: {span} {settings.timezone} ({days} {anchor})"]
    header = ("NAME", "SECTION", "LAST STATUS", "LAST SUCCESS", "IN WINDOW", "URL")
    cells = [header] + [_cells(row, settings) for row in listing.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header) - 1)]
    for number, row in enumerate(cells):
        padded = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*padded, row[-1]]))
        if number:
            lines += [f"    {note}" for note in _notes(listing.rows[number - 1], settings)]
    shared: dict[str, int] = {}
    for feed_row in listing.rows:
        for drop in feed_row.filtered:
            if drop.for_all_feeds:
                shared[drop.rule] = shared.get(drop.rule, 0) + drop.dropped
    if shared:
        totals = "; ".join(f"{rule}: dropped {count}" for rule, count in shared.items())
        lines.append(f"filters for all feeds: {totals}")
    return lines


def _cells(row: FeedRow, settings: Settings) -> tuple[str, ...]:
    record = row.record or FeedRecord(row.url)
    success = _when(record.last_success, settings.zone) if record.last_success else "never"
    count = "—" if row.in_window is None else str(row.in_window)
    status = "retired" if record.retired_at else (record.status or "not fetched yet")
    return (row.name, row.section or "—", status, success, count, row.url)


def _notes(row: FeedRow, settings: Settings) -> list[str]:
    record = row.record or FeedRecord(row.url)
    zone = settings.zone
    notes = []
    if record.moved_to:
        moved = _when(record.moved_at, zone) if record.moved_at else "?"
        notes.append(f"redirected (301/308) on {moved}: fetched from {record.moved_to}")
    if record.retired_at:
        reason = record.retired_reason or "410 Gone"
        notes.append(
            f"retired (410) on {_when(record.retired_at, zone)}: {reason} (to try it again: "
            "`digest feeds remove` it, then `digest feeds add` it)"
        )
    if (
        record.status == FeedStatus.FAILED
        and record.error
        and record.error != record.retired_reason
    ):
        notes.append(f"last error: {record.error}")
    elif row.problem and not record.retired_at:
        notes.append(f"no entries to count: {row.problem}")
    for drop in row.filtered:  # the feed's own rules always; the shared ones when they bit
        if drop.dropped or not drop.for_all_feeds:
            notes.append(f"filter {drop.rule}: dropped {drop.dropped}")
    return notes


def _entries(number: int) -> str:
    return plural(number, "entry", "entries")


def _when(moment: datetime | None, zone: object) -> str:
    if moment is None:
        return "?"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")  # type: ignore[arg-type]


def added_lines(added: Added, config: Path) -> list[str]:
    found = added.found
    lines = []
    if found.page and found.picked:
        count = len(found.others) + 1
        lines.append(f"{found.page} is a web page linking {plural(count, 'feed')}:")
        lines.append(f"  picked {found.picked.describe()}")
        lines += [f"  not    {other.describe()}" for other in found.others]
    where = f", section {added.section!r}" if added.section else ""
    lines.append(
        f"added «{added.name}» to {config}{where}: {found.url} ({found.kind}, "
        f"{_entries(found.entries)})"
    )
    if added.forgotten is not None:
        lines.append(f"  note: {_forgotten(added.forgotten)}; it will be fetched again")
    return lines


def _forgotten(record: FeedRecord) -> str:
    if record.retired_at:
        return f"it had been retired on {record.retired_at:%Y-%m-%d} (410 Gone); that is cleared"
    return f"its redirect to {record.moved_to} is forgotten"


def imported_lines(imported: Imported, opml: Path, config: Path) -> list[str]:
    total = len(imported.added) + len(imported.duplicates) + len(imported.unusable)
    sections = imported.sections
    if imported.added:
        shown = (
            f", in {plural(len(sections), 'section')} ({', '.join(sections)})" if sections else ""
        )
        lines = [
            f"imported {len(imported.added)} of {plural(total, 'feed')} from {opml} into {config}"
            f"{shown}"
        ]
    else:
        lines = [f"nothing imported from {opml}: {config} is unchanged"]
    if imported.duplicates:
        lines.append(f"skipped {plural(len(imported.duplicates), 'duplicate')}:")
        lines += [
            f"  «{feed.name}» {feed.url}: already configured as {existing!r}"
            for feed, existing in imported.duplicates
        ]
    if imported.unusable:
        lines.append(f"skipped {len(imported.unusable)} unusable:")
        lines += [f"  «{feed.name}» {feed.url}: {why}" for feed, why in imported.unusable]
    if imported.added:
        lines.append("run `digest check` to fetch each new feed once")
    return lines
