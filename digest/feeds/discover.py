"""A web page -> the feeds it announces, and what kind of feed a document is.

Sites name their feeds in the page head: `<link rel="alternate" type="application/rss+xml"
href="...">` (Atom: application/atom+xml; JSON Feed: application/feed+json, older sites
application/json). Pure: bytes in, links out; fetching is the caller's (digest/feeds/registry.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import feedparser
from feedparser.api import SUPPORTED_VERSIONS

from digest.errors import FeedError
from digest.feeds.defuse import decode, defuse

FEED_TYPES = {
    "application/rss+xml": "RSS",
    "application/rdf+xml": "RSS",
    "application/atom+xml": "Atom",
    "application/feed+json": "JSON Feed",
    "application/json": "JSON Feed",
}
HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True, slots=True)
class FeedLink:
    url: str
    kind: str  # RSS | Atom | JSON Feed
    title: str = ""

    def describe(self) -> str:
        named = f"«{self.title}» " if self.title else ""
        return f"{named}({self.kind}) {self.url}"


def feed_links(page: bytes, page_url: str) -> list[FeedLink]:
    """The feeds a page links with rel="alternate", in page order, each URL once, made
    absolute against the page (or its <base href>). Only http(s) links count."""
    parser = _LinkParser()
    parser.feed(decode(page)[0])
    parser.close()
    base = urljoin(page_url, parser.base) if parser.base else page_url
    links: list[FeedLink] = []
    seen: set[str] = set()
    for href, kind, title in parser.found:
        url = urljoin(base, href.strip())
        if urlsplit(url).scheme in ("http", "https") and url not in seen:
            seen.add(url)
            links.append(FeedLink(url, kind, " ".join(title.split())))
    return links


def looks_like_html(body: bytes, content_type: str) -> bool:
    if any(kind in content_type.lower() for kind in HTML_TYPES):
        return True
    head = body.lstrip()[:512].lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<head" in head


def feed_facts(body: bytes) -> tuple[str, str]:
    """(kind, title) of a feed document: "RSS 2.0" / "Atom 1.0" / "JSON Feed 1.1", and the
    feed's own title ("" when it has none)."""
    if body.lstrip()[:1] == b"{":
        try:
            document = json.loads(body)
        except ValueError:
            return "JSON Feed", ""
        version = str(document.get("version", "")).rstrip("/").rsplit("/", 1)[-1]
        return f"JSON Feed {version}".strip(), " ".join(str(document.get("title", "")).split())
    try:
        defused = defuse(body, "feed")  # no DTD, no entities: as digest/feeds/gather.py parses it
    except FeedError:
        return "feed", ""
    parsed = feedparser.parse(defused.body, sanitize_html=False, resolve_relative_uris=False)
    kind = SUPPORTED_VERSIONS.get(parsed.get("version") or "", "")
    return kind or "feed", " ".join(str(parsed.feed.get("title", "")).split())


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str]] = []  # (href, kind, title)
        self.base = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "base" and not self.base:
            self.base = values.get("href", "")
        if tag != "link" or not values.get("href"):
            return
        rel = values.get("rel", "").lower().split()
        kind = FEED_TYPES.get(values.get("type", "").split(";")[0].strip().lower())
        if "alternate" in rel and kind:
            self.found.append((values["href"], kind, values.get("title", "")))

    handle_startendtag = handle_starttag
