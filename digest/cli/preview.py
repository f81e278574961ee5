"""`digest preview`: serve the next issue on 127.0.0.1 and rebuild it on every save."""

from __future__ import annotations

import threading
import webbrowser
from datetime import UTC, datetime
from pathlib import Path

import click

from digest.cli.common import config_option, end_of_day, reports_errors
from digest.config.load import default_config_path, load_settings
from digest.web.preview_server import start_preview


@click.command("preview")
@config_option
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port (default: a free one)."
)
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a web browser.")
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M"]),
    help="Preview the digest as it would have been on this date (end of that day).",
)
@click.option(
    "--cached",
    is_flag=True,
    help="Start from the feed bodies the last run fetched: no network at all.",
)
@reports_errors
def preview(
    config_path: Path | None, port: int, open_browser: bool, as_of: datetime | None, cached: bool
) -> None:
    """Serve the next issue on 127.0.0.1: the email, its text part, a 375 px view, the headers
    and a health panel. Rebuilds and reloads when config.yaml, a template or the stylesheet
    changes (from the cached feed bodies; a button fetches the feeds again). Sends nothing."""
    path = config_path or default_config_path()
    settings = load_settings(path)  # a missing or broken config is an error now, not a page
    fixed = end_of_day(as_of, settings.zone) if as_of else None
    server = start_preview(path, lambda: fixed or datetime.now(UTC), port, fetch=not cached)
    click.echo(f"preview: {server.url}  (Ctrl-C to stop)")
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
    stop = threading.Event()
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        click.echo("preview: stopped")
    finally:
        server.stop()
