"""`digest serve`: the public pages (subscribe, confirm, one-click unsubscribe, preferences,
the archive) under uvicorn, mailing confirmations at once; `--schedule` also sends each
issue on schedule. Exit codes: 0 after a clean stop (SIGTERM, Ctrl-C), 2 for a bad config or
a port that cannot be had."""

from __future__ import annotations

from pathlib import Path

import click

from digest.cli.common import config_option, reports_errors
from digest.config.load import default_config_path, load_settings


@click.command("serve")
@config_option
@click.option("--host", help="Address to listen on (default: serve.host, 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Port to listen on (default: serve.port, 8080)."
)
@click.option("--schedule", is_flag=True, help="Also send each issue on schedule.")
@reports_errors
def serve(config_path: Path | None, host: str | None, port: int | None, schedule: bool) -> None:
    """Serve the subscribe pages, one-click unsubscribes, preferences and the archive."""
    from digest.web.serve import serve as run

    path = config_path or default_config_path()
    run(load_settings(path), path, host, port, schedule, click.echo)
