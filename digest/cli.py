"""The `digest` command. Each command parses its options, calls one library function and prints;
a DigestError becomes one line on stderr and a deliberate exit code:

  0  done (a digest was built, even if some feeds failed: they are named in the summary)
  1  unexpected error
  2  bad configuration or usage
  3  nothing to build (every feed failed, or no entry in the window), or a template error
  4  output could not be written or delivered (for `send`: a recipient did not get the issue,
     failed or left pending for the next run, or the SMTP server refused the session)

`send` also exits 0 when there is nothing new since the last issue, or when another process
is sending the issue; it says so. The sending commands live in digest/send_cli.py.
"""

from __future__ import annotations

import logging
import sys
import time as time_module
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, time
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from digest.config import Settings, default_config_path, load_settings, starter_config
from digest.deliver import write_files
from digest.errors import DigestError, NothingToBuild
from digest.models import FeedReport, FeedStatus
from digest.pipeline import Built, build_digest
from digest.state import State
from digest.timings import Timings

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(command: F) -> F:
    """Turn a DigestError into one line on stderr and its exit code; never a traceback."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DigestError as exc:
            if isinstance(exc, NothingToBuild) and len(exc.reports) > 1:
                reports = [r for r in exc.reports if isinstance(r, FeedReport)]
                click.echo("\n".join(feed_lines(reports)), err=True)
            click.echo(f"digest: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("digest: interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # a bug of ours: one line, the traceback only when asked
            if _verbose():
                raise
            click.echo(
                f"digest: error: unexpected {type(exc).__name__}: {exc} "
                "(a bug in digest; run again with --verbose for the traceback)",
                err=True,
            )
            sys.exit(1)

    return run  # type: ignore[return-value]


def _verbose() -> bool:
    context = click.get_current_context(silent=True)
    return bool(context and context.find_root().params.get("verbose"))


config_option = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Config file (default: $DIGEST_CONFIG or ./config.yaml).",
)


@click.group()
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
    now = _as_of(as_of, settings) if as_of else datetime.now(UTC)
    stopwatch = Timings() if timings else None
    started = time_module.perf_counter()
    with State.open(settings.state_path) as state:
        built = build_digest(settings, state, now, on_feed=_progress(), timings=stopwatch)
        message = _sending_commands().preview_eml(settings, state, built, now) if eml else None
    written = write_files(built.rendered, out or settings.output_path)
    where = f"{written.html}, {written.text}"
    if message is not None:
        where += f", {_sending_commands().write_preview(message, out or settings.output_path)}"
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


def _as_of(day: datetime, settings: Settings) -> datetime:
    """A date means the end of that day in the configured zone."""
    if day.time() == time(0, 0):
        day = datetime.combine(day.date(), time(23, 59, 59))
    return day.replace(tzinfo=settings.zone)


def _summary_line(built: Built, where: str) -> str:
    feeds = built.digest.feeds
    ok = sum(1 for r in feeds if r.status is not FeedStatus.FAILED)
    return (
        f"{len(built.digest.items)} entries from {ok} feeds ok, {len(feeds) - ok} failed -> {where}"
    )


def feed_lines(reports: Iterable[FeedReport]) -> list[str]:
    """The run summary's feed lines: each failed feed (name: reason; hint), then notices."""
    lines = [
        f"  failed: {r.name}: {r.error}" + (f"; {r.hint}" if r.hint else "")
        for r in reports
        if r.failed
    ]
    lines += [f"  note: {r.name}: {r.notice}" for r in reports if r.notice and not r.failed]
    return lines


def _progress() -> Callable[[FeedReport], None] | None:
    """One line per feed on a terminal; silent when stderr is a pipe or a file."""
    if not sys.stderr.isatty():
        return None

    def show(report: FeedReport) -> None:
        mark = "x" if report.status is FeedStatus.FAILED else "ok"
        detail = report.error or f"{report.entries} entries, {report.status}"
        click.echo(f"  [{mark}] {report.name}: {detail}", err=True)

    return show


def _register_stage_commands() -> None:
    """Commands that live beside the stage they drive."""
    from digest.extract_cli import extract
    from digest.summarize_cli import summarize

    main.add_command(summarize)
    main.add_command(extract)
    sending = _sending_commands()
    for command in (sending.send, sending.schedule, sending.issues):
        main.add_command(command)

    from digest.preview_cli import preview  # issue 6

    main.add_command(preview)

    from digest.feeds_cli import check, feeds  # issue 9

    main.add_command(feeds)
    main.add_command(check)


def _sending_commands() -> Any:
    """send, schedule, issues and build --eml (digest/send_cli.py)."""
    from digest import send_cli

    return send_cli


_register_stage_commands()
