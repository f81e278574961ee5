"""The bundled config.yaml works on any day after its samples' snapshot (18-24 Nov 2026): every
command, offline, without flags, with the clock a year ahead (time-machine moves it for this
process), and the stories keep their own dates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import time_machine
from conftest import FeedServer, article_html, rss, rss_item, write_config
from conftest import run_cli as run
from smtp_server import SmtpServer

from digest.web.preview_server import start_preview

A_YEAR_AHEAD = datetime(2027, 12, 4, 9, 30, tzinfo=UTC)
SAMPLE_STORY = "Mouse Eggs Made with Stem Cells"


@pytest.fixture
def bundled(bundled_config: Path, smtp_server: SmtpServer) -> Path:
    """config.yaml and samples/ as shipped, with only the SMTP server moved to the test one."""
    text = bundled_config.read_text(encoding="utf-8")
    shipped = "  host: localhost\n  port: 1025\n"
    assert shipped in text
    moved = f"  host: {smtp_server.host}\n  port: {smtp_server.port}\n"
    bundled_config.write_text(text.replace(shipped, moved), encoding="utf-8")
    return bundled_config


@pytest.fixture
def a_year_ahead() -> Iterator[None]:
    with time_machine.travel(A_YEAR_AHEAD, tick=True):
        assert datetime.now(UTC).year == 2027
        yield


def test_every_command_works_on_the_bundled_config_a_year_later(
    bundled: Path, smtp_server: SmtpServer, a_year_ahead: None
) -> None:
    config = str(bundled)
    code, out, err = run("build", "-c", config)
    assert code == 0, err
    assert re.fullmatch(r"18 entries from 3 feeds ok, 0 failed -> .*digest\.txt\n", out)
    text = (bundled.parent / "out" / "digest.txt").read_text()
    assert "Tue 17 Nov – Tue 24 Nov 2026 · 18 stories" in text  # their week, last year
    html = (bundled.parent / "out" / "digest.html").read_text()
    assert SAMPLE_STORY in html and "Built Saturday 4 December 2027" in html  # no date faked

    server = start_preview(bundled, lambda: datetime.now(UTC))  # as `digest preview` does
    try:
        overview = httpx.get(server.url)
        email = httpx.get(server.url + "email")
    finally:
        server.stop()
    assert overview.status_code == 200 and email.status_code == 200
    assert SAMPLE_STORY in email.text
    assert "Tue 17 Nov – Tue 24 Nov" in email.text

    code, out, err = run("send", "-c", config, "--dry-run")
    assert code == 0, err
    assert out.startswith("dry run: issue 1 «The Weekly Digest — week of 24 Nov 2026, 18 stories»")
    assert (bundled.parent / "out" / "eml" / "issue-1" / "reader@example.test.eml").is_file()

    code, out, err = run("send", "-c", config, "--to", "me@example.test")
    assert code == 0, err
    assert out.startswith("test send of the next issue «The Weekly Digest — week of 24 Nov 2026")
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [("me@example.test",)]

    code, out, err = run("send", "-c", config)
    assert code == 0, err
    assert out.startswith("issue 1 «The Weekly Digest — week of 24 Nov 2026, 18 stories»: 1 sent")
    (mail,) = smtp_server.handler.to("reader@example.test")
    assert SAMPLE_STORY in mail.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "2027" in str(mail.message["Date"])

    # the same stories are never sent again, however long the feeds stay quiet
    code, out, _ = run("send", "-c", config)
    assert code == 0 and out.startswith("nothing new since issue 1 (2026-11-24")
    with time_machine.travel(A_YEAR_AHEAD + timedelta(days=30), tick=True):
        code, out, _ = run("send", "-c", config)
    assert code == 0 and out.startswith("nothing new since issue 1")
    assert smtp_server.handler.count() == 2

    code, out, err = run("build", "-c", config)  # build never counts as sent: it still works
    assert code == 0, err

    server = start_preview(bundled, lambda: datetime.now(UTC))  # says so, and shows the health
    try:
        overview = httpx.get(server.url)
        pages = {path: httpx.get(server.url + path) for path in ("email", "text", "headers")}
        heads = {path: httpx.head(server.url + path).status_code for path in ("", "email")}
    finally:
        server.stop()
    for page in pages.values():  # issue 20: not an empty issue ("0 stories from 0 sources")
        assert page.status_code == 200 and "Nothing new since issue 1" in page.text
        assert "0 stories" not in page.text and "Subject" not in page.text
    assert heads == {"": 200, "email": 200}  # not 501
    assert overview.status_code == 200 and "The build failed" not in overview.text
    assert "Nothing new since issue 1 (it covered up to 2026-11-24 09:30 GMT): `digest send`" in (
        overview.text.replace("&#96;", "`")
    )
    assert "Lab Notes" in overview.text  # the health panel


def test_newest_anchor_sends_what_is_new_once_the_feed_moves_on(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path, a_year_ahead: None
) -> None:
    """A quiet feed gives its last week; when it publishes again, the next issue carries only
    the new story, from where the last issue ended."""
    quiet_since = A_YEAR_AHEAD - timedelta(days=40)
    old = [_story(n, quiet_since - timedelta(days=n)) for n in range(3)]
    url = feed_server.serve("/news.xml", rss(*old))
    config = write_config(
        tmp_path,
        [{"name": "News", "url": url, "fulltext": "never"}],
        window_anchor="newest",
        smtp={
            "host": smtp_server.host,
            "port": smtp_server.port,
            "security": "none",
            "from": "d@example.test",
        },
        recipients=["r@example.test"],
    )
    code, out, _ = run("send", "-c", str(config))
    assert code == 0 and "3 stories" in out
    fresh = _story(9, datetime.now(UTC) - timedelta(hours=1))
    feed_server.serve("/news.xml", rss(fresh, *old))
    code, out, _ = run("send", "-c", str(config))
    assert code == 0 and "issue 2" in out and "1 story" in out
    second = smtp_server.handler.to("r@example.test")[-1].message
    body = second.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Story 9" in body and "Story 0" not in body


def test_default_anchor_keeps_the_clear_message_for_quiet_feeds(
    feed_server: FeedServer, tmp_path: Path, a_year_ahead: None
) -> None:
    url = feed_server.serve("/news.xml", rss(_story(1, A_YEAR_AHEAD - timedelta(days=40))))
    config = write_config(tmp_path, [{"name": "News", "url": url}])
    code, _, err = run("build", "-c", str(config))
    assert code == 3
    assert re.search(r"no entry published since 2027-11-27 .*widen window_days or build", err)


def _story(number: int, published: datetime) -> str:
    from email.utils import format_datetime

    return rss_item(
        f"Story {number}: the pier",
        f"https://news.example/{number}",
        article_html(3, f"pier {number}"),
        date=format_datetime(published),
    )
