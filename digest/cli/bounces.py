"""`digest bounces` (read delivery status notifications and suppress what bounced) and
`digest suppressed` (the suppression list: show it, lift an address, add one by hand)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from digest.cli.common import config_option, reports_errors
from digest.config.load import default_config_path, load_settings
from digest.sending.bounces import read_source, record_bounces
from digest.sending.suppress import lift, suppress, suppressions
from digest.state import State


@click.command()
@config_option
@click.argument("source", default="-")
@click.option("--verbose", "-v", is_flag=True, help="Name each message that is not a bounce.")
@reports_errors
def bounces(config_path: Path | None, source: str, verbose: bool) -> None:
    """Read bounces from SOURCE (a Maildir folder, an mbox file, or - for standard input,
    where an MTA can pipe them) and suppress the addresses that failed: at once for a
    permanent failure, after bounces.suppress_after temporary ones in a row."""
    settings = load_settings(config_path or default_config_path())
    return_path = settings.bounces.return_path or (settings.smtp.sender if settings.smtp else "")
    limits = (return_path, settings.bounces.verp, settings.bounces.suppress_after)
    with State.open(settings.database) as state:
        run = record_bounces(
            state, read_source(source, sys.stdin.buffer), limits, datetime.now(UTC)
        )
    click.echo(
        f"{run.messages:,} {'message' if run.messages == 1 else 'messages'} read: "
        f"{run.recorded:,} failed addresses recorded, "
        f"{len(run.suppressed):,} newly suppressed, {len(run.unrecognised):,} not bounces, "
        f"{run.repeated:,} read before"
    )
    for address in run.suppressed:
        click.echo(f"  suppressed: {address}")
    if verbose:
        for line in run.unrecognised:
            click.echo(f"  skipped: {line}")


@click.group(invoke_without_command=True)
@config_option
@click.pass_context
@reports_errors
def suppressed(ctx: click.Context, config_path: Path | None) -> None:
    """The addresses no issue goes to (they bounced, or were added by hand)."""
    ctx.obj = config_path
    if ctx.invoked_subcommand is not None:
        return
    settings = load_settings(config_path or default_config_path())
    with State.open(settings.database) as state:
        rows = suppressions(state)
    if not rows:
        click.echo("no address is suppressed")
    for row in rows:
        click.echo(f"{row.address}  since {row.since:%Y-%m-%d %H:%M}  {row.reason}")


@suppressed.command("remove")
@config_option
@click.argument("addresses", nargs=-1, required=True)
@click.pass_context
@reports_errors
def remove(ctx: click.Context, config_path: Path | None, addresses: tuple[str, ...]) -> None:
    """Lift the suppression of ADDRESSES: they get the next issue again."""
    settings = load_settings(config_path or ctx.obj or default_config_path())
    with State.open(settings.database) as state:
        lifted = lift(state, addresses, datetime.now(UTC))
    for address in addresses:
        done = address.strip().lower() in lifted
        click.echo(f"{'lifted' if done else 'was not suppressed'}: {address}")


@suppressed.command("add")
@config_option
@click.argument("addresses", nargs=-1, required=True)
@click.option("--reason", default="added by hand", help="Why (shown in the list).")
@click.pass_context
@reports_errors
def add(
    ctx: click.Context, config_path: Path | None, addresses: tuple[str, ...], reason: str
) -> None:
    """Suppress ADDRESSES by hand: no issue goes to them until removed."""
    settings = load_settings(config_path or ctx.obj or default_config_path())
    with State.open(settings.database) as state:
        added = suppress(state, addresses, reason, datetime.now(UTC))
    for address in addresses:
        done = address.strip().lower() in added
        click.echo(f"{'suppressed' if done else 'already suppressed'}: {address}")
