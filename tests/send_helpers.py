"""Builders for the sending tests: a feed of stories on the loopback server and a config that
mails them to the test SMTP server."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from conftest import REPO, FeedServer, article_html, rows, rss, rss_item, write_config
from smtp_server import SmtpServer


def story(number: int, published: datetime, topic: str = "") -> str:
    return rss_item(
        f"Story {number}: {topic or 'the harbour'} update",
        f"https://news.example/story-{number}",
        article_html(3, topic or f"pier {number}"),
        date=format_datetime(published),
    )


def wall_clock() -> datetime:
    """The real time: what the CLI reads when a test runs it without a moved clock. Stories for
    CLI runs are dated from it, so the tests do not age out of the window (they did: every
    CLI send test failed ten days after the fixed NOW)."""
    return datetime.now(UTC)


def serve_stories(
    feed_server: FeedServer, numbers: range | list[int], now: datetime, age: timedelta
) -> str:
    """Stories published `age` before `now`, one hour apart."""
    items = [story(n, now - age - timedelta(hours=i)) for i, n in enumerate(numbers)]
    return feed_server.serve("/news.xml", rss(*items))


def sending_config(
    folder: Path,
    feed_url: str,
    server: SmtpServer,
    recipients: list[str],
    **settings: object,
) -> Path:
    smtp_settings = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "from": "Zoë Digest <digest@example.test>",
        "timeout": 10,
        "attempts": 4,
        "retry_delay": 0.01,
        **settings.pop("smtp", {}),  # type: ignore[dict-item]
    }
    return write_config(
        folder,
        [{"name": "News", "url": feed_url}],
        smtp=smtp_settings,
        recipients=recipients,
        **settings,
    )


def addresses(count: int) -> list[str]:
    return [f"reader{n:02d}@example.test" for n in range(count)]


def digest_send(config: Path) -> subprocess.Popen[str]:
    """`digest send` in a process of its own (so a test can kill -9 it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "digest", "send", "-c", str(config)],
        cwd=config.parent,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def outbox_counts(path: Path) -> dict[str, int]:
    counted = rows(path, "SELECT status, COUNT(*) FROM outbox GROUP BY status")
    return {str(status): int(count) for status, count in counted}  # type: ignore[call-overload]
