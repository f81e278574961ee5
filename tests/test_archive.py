"""The archive of sent issues: web pages, index and Atom feed, and the email's links into it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import lxml.html
import pytest
from conftest import NOW, FeedServer
from send_helpers import sending_config, serve_stories
from smtp_server import SmtpServer
from test_email_quality import long_digest

from digest.config.load import load_settings
from digest.errors import DeliveryError
from digest.issue.archive import (
    Archive,
    ArchivedIssue,
    archive_issue,
    issue_url,
    read_manifest,
    web_edition,
)
from digest.issue.render import HTML_BUDGET_BYTES, render
from digest.sending.send import Sending, SendReport, send_to_list
from digest.state import State

SITE = "https://news.example.org/digest/"


def local_file(folder: Path, url: str) -> Path:
    """Where a URL under SITE lives in the archive folder."""
    assert url.startswith(SITE), url
    return folder / urlsplit(url).path.removeprefix(urlsplit(SITE).path)


def test_email_links_resolve_to_the_issue_page_with_every_story(tmp_path: Path) -> None:
    digest = long_digest(60, sentences=6)
    archive = Archive(tmp_path / "archive", SITE, "Budget")
    email = render(digest, web_url=issue_url(SITE, 7))
    assert email.fitting is not None and email.fitting.brief > 0  # the email was shortened
    archive_issue(
        archive, ArchivedIssue(7, NOW, "Budget — 25 Nov 2026"), web_edition(digest, archive)
    )

    links = {a.get("href") for a in lxml.html.document_fromstring(email.html).iter("a")}
    web_links = {link for link in links if link.startswith(SITE)}
    assert web_links == {f"{SITE}issues/7.html"}  # "view in browser" (and more, if any)
    page = local_file(archive.folder, f"{SITE}issues/7.html").read_text()
    titles = re.findall(r'class="item-title"[^>]*><a [^>]*>(Story \d+):', page)
    assert len(titles) == 60 and 'class="brief"' not in page  # every story in full
    assert "View this issue in your browser" not in page  # no link to itself
    assert len(page.encode()) > HTML_BUDGET_BYTES  # the web edition has no budget


def test_index_and_feed_list_issues_newest_first_and_link_to_their_pages(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "archive", SITE, "The Weekly Digest")
    for number in (1, 2, 3):
        digest = long_digest(number)
        issue = ArchivedIssue(
            number, NOW + timedelta(days=7 * number), f"Issue {number}", f"{number} stories"
        )
        archive_issue(archive, issue, web_edition(digest, archive))

    index = lxml.html.document_fromstring((archive.folder / "index.html").read_text())
    hrefs = [a.get("href") for a in index.cssselect("ol.issues a")]
    assert hrefs == ["issues/3.html", "issues/2.html", "issues/1.html"]
    for href in hrefs:
        assert (archive.folder / href).is_file()
    alternate = index.cssselect('link[rel="alternate"]')[0]
    assert (
        alternate.get("type") == "application/atom+xml"
        and (archive.folder / alternate.get("href")).is_file()
    )

    feed = feedparser.parse((archive.folder / "feed.xml").read_bytes())
    assert feed.version == "atom10" and not feed.bozo
    assert feed.feed.title == "The Weekly Digest"
    assert [e.title for e in feed.entries] == ["Issue 3", "Issue 2", "Issue 1"]
    assert [e.link for e in feed.entries] == [f"{SITE}issues/{n}.html" for n in (3, 2, 1)]
    assert feed.entries[0].summary == "3 stories"
    assert len({e.id for e in feed.entries}) == 3


def test_archiving_an_issue_again_replaces_it(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "archive", SITE)
    archive_issue(archive, ArchivedIssue(1, NOW, "First try"), "<p>one</p>")
    archive_issue(archive, ArchivedIssue(1, NOW, "Resent"), "<p>two</p>")
    assert [(i.number, i.title) for i in read_manifest(archive.folder)] == [(1, "Resent")]
    assert (archive.folder / "issues" / "1.html").read_text() == "<p>two</p>"
    assert len(feedparser.parse((archive.folder / "feed.xml").read_bytes()).entries) == 1


def test_titles_are_escaped_in_index_and_feed(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "archive", "", 'Mine "quoted" & <b>bold</b>')
    title = 'Issue <script>alert(1)</script> & "friends"'
    archive_issue(archive, ArchivedIssue(4, NOW, title), "<p>x</p>")
    index = (archive.folder / "index.html").read_text()
    assert "<script>" not in index and "&lt;script&gt;" in index
    feed = feedparser.parse((archive.folder / "feed.xml").read_bytes())
    assert not feed.bozo and feed.entries[0].title == title
    assert feed.entries[0].link.endswith("issues/4.html")  # relative without a site URL


def test_a_damaged_archive_list_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "issues.json").write_text("[{not json")
    with pytest.raises(DeliveryError, match=r"issues\.json: unreadable archive list"):
        archive_issue(Archive(folder, SITE), ArchivedIssue(1, NOW, "One"), "<p>x</p>")


def test_archive_url_must_be_absolute_and_gets_a_trailing_slash(tmp_path: Path) -> None:
    from conftest import write_config

    from digest.errors import ConfigError

    feed = [{"name": "G", "url": str(Path(__file__).parent / "feeds" / "golden.rss")}]
    good = load_settings(write_config(tmp_path, feed, archive_url="https://x.example/d"))
    assert good.archive_url == "https://x.example/d/"
    assert good.archive_path == (tmp_path / "archive").resolve()
    with pytest.raises(ConfigError, match=r":\d+: archive_url: must be an absolute https:// URL"):
        load_settings(write_config(tmp_path, feed, archive_url="archive/"))


# wired into sending (issue 5) ----------------------------------------------------------------


def send_now(config: Path, moment: datetime) -> SendReport:
    settings = load_settings(config)
    with State.open(settings.database) as state:
        return send_to_list(settings, state, Sending(clock=lambda: moment, sleep=lambda _: None))


def test_each_sent_issue_is_archived_and_its_email_links_resolve(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1, 2], NOW, timedelta(hours=3))
    config = sending_config(tmp_path, url, smtp_server, ["ana@example.test"], archive_url=SITE)
    first = send_now(config, NOW)
    assert first.issue is not None and first.issue.number == 1 and "archived" not in first.note

    serve_stories(feed_server, [3], NOW + timedelta(days=7), timedelta(hours=3))
    second = send_now(config, NOW + timedelta(days=7))
    assert second.issue is not None and second.issue.number == 2

    folder = tmp_path / "archive"
    for number, received in enumerate(smtp_server.handler.received, start=1):
        html = received.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        links = {a.get("href") for a in lxml.html.document_fromstring(html).iter("a")}
        web = {link for link in links if link.startswith(SITE)}
        assert web == {f"{SITE}issues/{number}.html"}
        page = local_file(folder, f"{SITE}issues/{number}.html").read_text()
        assert f"Story {3 if number == 2 else 1}: " in page
    feed = feedparser.parse((folder / "feed.xml").read_bytes())
    assert [e.title for e in feed.entries] == [second.issue.subject, first.issue.subject]
    assert [i.number for i in read_manifest(folder)] == [2, 1]


def test_an_archive_that_cannot_be_written_does_not_stop_the_send(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(hours=3))
    (tmp_path / "blocked").write_text("a file where the archive folder should be")
    config = sending_config(tmp_path, url, smtp_server, ["ana@example.test"], archive_dir="blocked")
    report = send_now(config, NOW)
    assert len(smtp_server.handler.received) == 1
    assert re.search(r"not archived: cannot write the archive in .*blocked", report.note)
