"""What every command shares: the --config option, errors as one line with a deliberate exit
code, the run summary's feed lines, and what a --as-of date means. The command modules
(main.py and the other modules of digest/cli) import this; nothing here imports them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime, time, tzinfo
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from digest.errors import DigestError, NothingToBuild
from digest.feeds.gather import feed_lines
from digest.models import FeedReport

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Config file (default: $DIGEST_CONFIG or ./config.yaml).",
)


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
        except BrokenPipeError:  # `digest feeds | head`: the reader left; nothing to say
            sys.stderr.close()
            sys.exit(141)
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


def end_of_day(day: datetime, zone: tzinfo) -> datetime:
    """A --as-of date means the end of that day in the configured zone."""
    if day.time() == time(0, 0):
        day = datetime.combine(day.date(), time(23, 59, 59))
    return day.replace(tzinfo=zone)
