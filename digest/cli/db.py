"""`digest db`: the state database itself: where it is and its schema version, an upgrade
made ahead of the processes that would otherwise make it on first use, and a copy into
another database (SQLite to PostgreSQL), verified."""

from __future__ import annotations

from pathlib import Path

import click

from digest.cli.common import config_option, reports_errors
from digest.config.load import default_config_path, load_settings
from digest.state import VERSION, State, mask
from digest.state.copy import copy_state, open_source


@click.group(invoke_without_command=True)
@config_option
@click.pass_context
@reports_errors
def db(ctx: click.Context, config_path: Path | None) -> None:
    """The state database: where it is and its schema version."""
    ctx.obj = config_path
    if ctx.invoked_subcommand is not None:
        return
    settings = load_settings(config_path or default_config_path())
    with State.open(settings.database) as state:
        click.echo(f"state database {state.place.shown} ({state.dialect.name}), {_version(state)}")


def _version(state: State) -> str:
    if state.found == VERSION:
        return f"schema version {VERSION}"
    if state.found == 0:
        return f"schema version {VERSION} (set up now: it was empty)"
    return f"schema version {VERSION} (upgraded now from {state.found})"


@db.command()
@config_option
@click.pass_context
@reports_errors
def upgrade(ctx: click.Context, config_path: Path | None) -> None:
    """Bring the schema to this digest's version (every command does it on first use too)."""
    settings = load_settings(config_path or ctx.obj or default_config_path())
    with State.open(settings.database) as state:
        click.echo(f"state database {state.place.shown}: {_version(state)}")


@db.command()
@config_option
@click.option("--to", "to", required=True, help="The database to copy into (empty; a URL).")
@click.pass_context
@reports_errors
def copy(ctx: click.Context, config_path: Path | None, to: str) -> None:
    """Copy every row of the state database into an empty one, verified before it commits."""
    settings = load_settings(config_path or ctx.obj or default_config_path())
    with open_source(settings.database) as source, State.open(to) as target:
        done = copy_state(source, target)
        for table, count in done.tables:
            click.echo(f"  {table}: {count:,}")
        click.echo(
            f"copied {done.rows:,} rows of {len(done.tables)} tables from {source.place.shown} "
            f"to {target.place.shown}, every row read back and matched"
        )
    click.echo(f"to use it: database_url: {mask(to)}  (its password in PGPASSWORD or ~/.pgpass)")
