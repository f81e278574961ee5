"""The archive: every sent issue as a static web page, an index of them all and an Atom feed.

    archive/
      issues/12.html    the issue's web edition: the same templates, every story in full
      index.html        every issue, newest first (templates/archive_index.html)
      feed.xml          Atom 1.0 feed of the newest issues
      issues.json       the list the index and the feed are written from

The email links here ("view in browser", "N more stories"), so the page of an issue is
written when the issue is sent. `issues.json` keeps the archive self-contained: rewriting the
index and the feed needs no database. Every file is written atomically.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from urllib.parse import urljoin
from xml.sax.saxutils import escape

import jinja2

from digest.config.settings import Settings
from digest.errors import DeliveryError, DigestError, RenderError
from digest.files import write_atomically
from digest.issue.pipeline import Built
from digest.issue.render import make_environment, render
from digest.models import Digest, Issue

log = logging.getLogger(__name__)

INDEX_TEMPLATE = "archive_index.html"
MANIFEST = "issues.json"
FEED = "feed.xml"
FEED_ISSUES = 20  # newest issues in the Atom feed; the index lists them all


@dataclass(frozen=True, slots=True)
class ArchivedIssue:
    """One sent issue, as the archive lists it."""

    number: int
    date: datetime  # when it was sent (tz-aware)
    title: str  # the subject line
    summary: str = ""  # the preheader: the issue's stories in one line

    @property
    def path(self) -> str:
        return issue_path(self.number)


@dataclass(frozen=True, slots=True)
class Archive:
    """Where the archive lives and how the web sees it."""

    folder: Path
    site_url: str = ""  # public URL of `folder`, ending in "/"; "" keeps links relative
    title: str = "The Weekly Digest"
    theme: Path | None = None
    zone: tzinfo | None = None

    def url(self, path: str) -> str:
        return urljoin(self.site_url, path) if self.site_url else path


def archive_for(settings: Settings) -> Archive:
    return Archive(
        settings.archive_path,
        settings.web_archive_url,
        settings.title,
        settings.templates_path,
        settings.zone,
    )


def archive_sent(settings: Settings, issue: Issue, built: Built | None = None) -> str:
    """Put a stored issue in the archive before it goes out, so its links resolve when it
    arrives. With the build at hand the page is the full web edition; without it (an issue
    resumed after a crash) the stored email is the page, if the page is missing. A failure
    is returned as a note for the run summary: the archive never stops a send."""
    archive = archive_for(settings)
    preheader = built.rendered.preheader if built else ""
    record = ArchivedIssue(issue.number, issue.created_at, issue.subject, preheader)
    try:
        if built is not None:
            archive_issue(archive, record, web_edition(built.digest, archive))
        elif not (archive.folder / record.path).exists():
            archive_issue(archive, record, issue.html)
    except DigestError as exc:
        log.warning("issue %s not archived: %s", issue.number, exc)
        return f"not archived: {exc}"
    return ""


def issue_path(number: int) -> str:
    return f"issues/{number}.html"


def issue_url(site_url: str, number: int) -> str:
    """The web edition of issue `number`: the email's "view in browser" link points here."""
    return urljoin(site_url, issue_path(number)) if site_url else ""


def web_edition(digest: Digest, archive: Archive) -> str:
    """The issue's page: the email's own templates, with no size budget (every story in full)
    and no "view in browser" link to itself."""
    zone = archive.zone or digest.generated_at.tzinfo
    assert zone is not None
    return render(digest, archive.theme, zone, web_url="", budget=None).html


def archive_issue(archive: Archive, issue: ArchivedIssue, page_html: str) -> Path:
    """Write one sent issue's page, then the index and the feed with it. Re-archiving a number
    replaces its page and its entry (a resend never lists an issue twice)."""
    page = archive.folder / issue.path
    try:
        page.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(page, page_html)
        issues = [i for i in read_manifest(archive.folder) if i.number != issue.number]
        issues = sorted([*issues, issue], key=lambda i: i.number, reverse=True)
        write_atomically(archive.folder / MANIFEST, _manifest_json(issues))
        write_atomically(archive.folder / "index.html", index_html(archive, issues))
        write_atomically(archive.folder / FEED, atom_feed(archive, issues))
    except OSError as exc:
        raise DeliveryError(f"cannot write the archive in {archive.folder}: {exc}") from None
    return page


def read_manifest(folder: Path) -> list[ArchivedIssue]:
    path = folder / MANIFEST
    if not path.exists():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [
            ArchivedIssue(
                number=int(row["number"]),
                date=datetime.fromisoformat(row["date"]),
                title=str(row["title"]),
                summary=str(row.get("summary", "")),
            )
            for row in rows
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DeliveryError(f"{path}: unreadable archive list ({exc}); fix or remove it") from None


def _manifest_json(issues: Sequence[ArchivedIssue]) -> str:
    rows = [{**asdict(i), "date": i.date.isoformat()} for i in issues]
    return json.dumps(rows, ensure_ascii=False, indent=1) + "\n"


def index_html(archive: Archive, issues: Sequence[ArchivedIssue]) -> str:
    """The list of every issue, from the theme's archive_index.html."""
    env = make_environment(archive.theme, archive.zone or UTC)
    try:
        template = env.get_template(INDEX_TEMPLATE)
        return template.render(archive=archive, issues=issues, feed=FEED)
    except jinja2.TemplateError as exc:
        raise RenderError(f"template {INDEX_TEMPLATE}: {exc}") from None


def atom_feed(archive: Archive, issues: Sequence[ArchivedIssue]) -> str:
    """Atom 1.0 (RFC 4287): the newest issues, each linking to its page."""
    newest = list(issues)[:FEED_ISSUES]
    updated = max((i.date for i in newest), default=None)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"  <title>{escape(archive.title)}</title>",
        f"  <id>{_feed_id(archive)}</id>",
        f'  <link rel="self" type="application/atom+xml" href="{_attr(archive.url(FEED))}"/>',
        f'  <link rel="alternate" type="text/html" href="{_attr(archive.url("index.html"))}"/>',
        f"  <updated>{(updated or datetime.fromtimestamp(0, UTC)).isoformat()}</updated>",
        f"  <author><name>{escape(archive.title)}</name></author>",
    ]
    for issue in newest:
        lines += [
            "  <entry>",
            f"    <title>{escape(issue.title)}</title>",
            f"    <id>{_issue_id(archive, issue)}</id>",
            f'    <link rel="alternate" href="{_attr(archive.url(issue.path))}"/>',
            f"    <updated>{issue.date.isoformat()}</updated>",
            f"    <published>{issue.date.isoformat()}</published>",
            f"    <summary>{escape(issue.summary or issue.title)}</summary>",
            "  </entry>",
        ]
    lines.append("</feed>")
    return "\n".join(lines) + "\n"


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def _feed_id(archive: Archive) -> str:
    """Stable: from the site URL when there is one, else from the title."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, archive.site_url or archive.title)}"


def _issue_id(archive: Archive, issue: ArchivedIssue) -> str:
    key = f"{archive.site_url or archive.title}#issue-{issue.number}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}"
