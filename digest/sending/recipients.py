"""Who an issue goes to, and what each of them gets (issue 20).

The list is `recipients:` (kept in step as subscribers, signup.sync_config) and everyone who
subscribed: active and not suppressed. Each reader gets the edition of their sections: an
issue is rendered once per distinct choice among its readers (`editions_for`), never once per
reader, and their own signed links to leave (RFC 8058 one-click) and to their preferences
(`readers_for`), filled in per reader as bytes like the rest (message.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from digest.config.settings import Settings
from digest.errors import ConfigError
from digest.issue.archive import issue_url
from digest.issue.compose import only_sections
from digest.issue.pipeline import Built
from digest.issue.render import render
from digest.models import Issue
from digest.sending.links import Links
from digest.sending.message import Reader, subject_line
from digest.sending.outbox import Edition, Recipient
from digest.sending.signup import sync_config
from digest.sending.subscribers import Subscriber, by_keys, readers, sections_of
from digest.sending.suppress import key
from digest.state import State

NOBODY = (
    "nobody is on the list: add addresses to recipients:, `digest subscribers add` them, or "
    "let readers subscribe (`digest serve`); or send a test with --to"
)


def the_list(settings: Settings, state: State, now: datetime) -> list[Subscriber]:
    """Who the next issue goes to, in the order they came."""
    sync_config(state, settings.recipients, now)
    return readers(state)


def listed(settings: Settings, state: State, now: datetime) -> list[Subscriber]:
    """The list; ConfigError when nobody is on it."""
    found = the_list(settings, state, now)
    if not found:
        raise ConfigError(NOBODY)
    return found


def rows_for(
    state: State, subscribers: list[Subscriber], addresses: list[str] | None
) -> list[tuple[str, str]]:
    """(address, edition) outbox rows: for the list, or for `addresses` (each subscriber's
    own edition; an address not on the list gets the whole issue)."""
    if addresses is None:
        return [(s.address.header, s.edition) for s in subscribers]
    known = by_keys(state, map(key, addresses))
    return [(a, known[key(a)].edition if key(a) in known else "") for a in addresses]


def editions_for(
    settings: Settings, issue: Issue, built: Built, rows: Iterable[Recipient]
) -> list[Edition]:
    """The issue rendered once for each distinct choice of sections among `rows` (the whole
    issue is the issue itself). A choice with no story this time is an empty edition."""
    wanted = {row[1] for row in rows if not isinstance(row, str) and row[1]}
    web = issue_url(settings.web_archive_url, issue.number)
    made: list[Edition] = []
    for choice in sorted(wanted):
        part = only_sections(built.digest, sections_of(choice) or ())
        count = len(part.items)
        if count == len(built.digest.items):  # every story is in their sections
            made.append(Edition(choice, issue.subject, issue.html, issue.text, count))
            continue
        if not count:
            made.append(Edition(choice, "", "", "", 0))
            continue
        rendered = render(part, settings.templates_path, settings.zone, web)
        subject = subject_line(
            settings.subject,
            settings.title,
            (count, issue.number),
            (part.period_start, part.period_end),
            settings.zone,
        )
        made.append(Edition(choice, subject, rendered.html, rendered.text, count))
    return made


def as_edition(issue: Issue, edition: Edition | None) -> Issue:
    """The issue as one edition's readers get it (the whole issue when there is none)."""
    if edition is None or not edition.html:
        return issue
    return replace(issue, subject=edition.subject, html=edition.html, text=edition.text)


def readers_for(state: State, links: Links | None, addresses: list[str]) -> list[Reader]:
    """Each address as a Reader with their own signed links, when there is a public side and
    the address is a subscriber; else the configured unsubscribe link applies."""
    if links is None:
        return [Reader(address) for address in addresses]
    known = by_keys(state, map(key, addresses))
    made: list[Reader] = []
    for address in addresses:
        subscriber = known.get(key(address))
        if subscriber is None:
            made.append(Reader(address))
        else:
            own = (links.unsubscribe(subscriber.id), links.preferences(subscriber.id))
            made.append(Reader(address, *own))
    return made


def why_not_on_list(state: State, addresses: Iterable[str]) -> dict[str, str]:
    """For addresses that are not on the list: why (unsubscribed by one-click, paused...)."""
    known = by_keys(state, addresses)
    reasons: dict[str, str] = {}
    for address, subscriber in known.items():
        gone = subscriber.status in ("unsubscribed", "paused", "pending")
        if gone and subscriber.via != "config":
            reasons[address] = f"{subscriber.status} ({subscriber.via})"
    return reasons


_NOW = (
    "SELECT (SELECT status FROM subscribers WHERE email_key = :k),"
    " (SELECT via FROM subscribers WHERE email_key = :k),"
    " (SELECT reason FROM suppressed WHERE address = :k)"
)


def still_wanted(state: State, email: str, listed: bool) -> str:
    """Why `email` must not be sent its message now ("" when it may): suppressed since, or,
    for a reader who was on the list when the run began (`listed`), no longer active (an
    unsubscribe another server recorded a moment ago). One short read per message."""
    status, via, suppressed = state.execute(_NOW, {"k": email.lower()}).one()
    if suppressed is not None:
        return f"suppressed: {suppressed}"
    if listed and status is not None and status != "active":
        return f"{status} ({via})"
    return ""
