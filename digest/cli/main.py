"""The `digest` command. Each command parses its options, calls one library function and prints;
a DigestError becomes one line on stderr and a deliberate exit code:

  0  done (a digest was built, even if some feeds failed: they are named in the summary)
  1  unexpected error
  2  bad configuration or usage
  3  nothing to build (every feed failed, or no entry in the window), or a template error
  4  output could not be written or delivered (for `send`: a recipient did not get the issue,
     failed or left pending for the next run, or the SMTP server refused the session)

`send` also exits 0 when there is nothing new since the last issue, or when another process
is sending the issue; it says so. The sending commands live in digest/cli/send.py.
"""

from __future__ import annotations

import importlib
import logging
import sys
import time as time_module
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from digest.cli.common import config_option, end_of_day, reports_errors
from digest.config.load import default_config_path, load_settings
from digest.config.starter import starter_config
from digest.errors import DigestError
from digest.feeds.gather import feed_lines
from digest.files import write_files
from digest.issue.pipeline import Built, build_digest
from digest.models import FeedReport, FeedStatus
from digest.state import State
from digest.text.plural import count
from digest.timings import Timings

# Commands that live beside the stage they drive, imported only when run, so `digest build`
# does not load the scheduler, the preview server or the SMTP code.
LAZY_COMMANDS = {
    "summarize": "digest.cli.summarize:summarize",
    "extract": "digest.cli.extract:extract",
    "send": "digest.cli.send:send",
    "schedule": "digest.cli.send:schedule",
    "issues": "digest.cli.send:issues",
    "bounces": "digest.cli.bounces:bounces",
    "suppressed": "digest.cli.bounces:suppressed",
    "preview": "digest.cli.preview:preview",
    "serve": "digest.cli.serve:serve",
    "subscribers": "digest.cli.subscribers:subscribers",
    "feeds": "digest.cli.feeds:feeds",
    "check": "digest.cli.feeds:check",
    "db": "digest.cli.db:db",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS:
            module, attribute = LAZY_COMMANDS[name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, name)


@click.group(cls=_LazyGroup)
@click.option("--verbose", "-v", is_flag=True, help="Log each step to stderr.")
@click.version_option(package_name="digest")
def main(verbose: bool) -> None:
    """Build a newsletter digest from RSS, Atom and JSON feeds."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="digest: %(levelname)s: %(message)s",
    )


@main.command()
@config_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
    help="Build the digest as it would have been on this date (end of that day).",
)
@click.option("--eml", is_flag=True, help="Also write digest.eml, the email message.")
@click.option("--timings", is_flag=True, help="Print the time each stage took (to stderr).")
@reports_errors
def build(
    config_path: Path | None, out: Path | None, as_of: datetime | None, eml: bool, timings: bool
) -> None:
    """Gather the feeds and write digest.html and digest.txt."""
    settings = load_settings(config_path or default_config_path())
    now = end_of_day(as_of, settings.zone) if as_of else datetime.now(UTC)
    if eml:
        from digest.cli import (
            send as send_cli,  # the mail modules, only when a message is asked for
        )
    stopwatch = Timings() if timings else None
    started = time_module.perf_counter()
    with State.open(settings.database) as state:
        built = build_digest(settings, state, now, on_feed=_progress(), timings=stopwatch)
        message = send_cli.preview_eml(settings, state, built, now) if eml else None
    written = write_files(built.rendered, out or settings.output_path)
    where = f"{written.html}, {written.text}"
    if message is not None:
        where += f", {send_cli.write_preview(message, out or settings.output_path)}"
    click.echo(_summary_line(built, where))
    for line in feed_lines(built.digest.feeds):
        click.echo(line, err=True)
    if stopwatch is not None:
        total = time_module.perf_counter() - started
        click.echo(
            "\n".join(["timings:", *stopwatch.lines(), f"  {'total':<10} {total:7.2f} s"]), err=True
        )


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="config.yaml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@reports_errors
def init(path: Path, force: bool) -> None:
    """Write a starter config file, every key commented."""
    if path.exists() and not force:
        raise DigestError(f"{path} exists; pass --force to overwrite it")
    path.write_text(starter_config(), encoding="utf-8")
    click.echo(f"wrote {path}: add your feeds under `feeds:`, then run `digest build -c {path}`")


def _summary_line(built: Built, where: str) -> str:
    feeds = built.digest.feeds
    ok = sum(1 for r in feeds if r.status is not FeedStatus.FAILED)
    return (
        f"{count(len(built.digest.items), 'entry', 'entries')} from {count(ok, 'feed')} ok, "
        f"{len(feeds) - ok} failed -> {where}"
    )


def _progress() -> Callable[[FeedReport], None] | None:
    """One line per feed on a terminal; silent when stderr is a pipe or a file."""
    if not sys.stderr.isatty():
        return None

    def show(report: FeedReport) -> None:
        mark = "x" if report.status is FeedStatus.FAILED else "ok"
        detail = report.error or f"{count(report.entries, 'entry', 'entries')}, {report.status}"
        click.echo(f"  [{mark}] {report.name}: {detail}", err=True)

    return show
