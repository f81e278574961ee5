"""OPML 2.0 in and out: the subscription list every feed reader imports and exports.

An OPML file is hostile input like a feed: it is parsed with defusedxml, which refuses entity
declarations (no "billion laughs"), external entities and external DTDs, and never touches
the network. Nested outlines become sections (the nearest folder names the section); a feed
outline is one with an `xmlUrl`. digest's own per-feed settings travel in attributes of its
namespace, so an export imported again loses nothing; other readers ignore them.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from digest.errors import ConfigError

DIGEST_NS = "https://github.com/digest-newsletter/digest/opml"
MAX_OPML_BYTES = 10_000_000
# digest's feed settings <-> their attribute names in DIGEST_NS
EXTRA_ATTRIBUTES = {
    "max_entries": "maxEntries",
    "fulltext": "fulltext",
    "include": "include",
    "exclude": "exclude",
}


class OpmlError(ConfigError):
    """The file is not OPML digest can read (exit 2, like any bad input to an edit)."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    name: str
    url: str
    section: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # max_entries, fulltext, include, ...


def parse_opml(data: bytes, source: str) -> list[OpmlFeed]:
    """The feed outlines of an OPML document, in document order. OpmlError names the file,
    the line when there is one, and what is wrong."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"{source}: larger than {MAX_OPML_BYTES:,} bytes; not read")
    try:
        root = SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True)
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        where = f"{source}:{line}" if line else source
        reason = str(exc).split(":")[0]
        raise OpmlError(f"{where}: not valid OPML: malformed XML ({reason})") from None
    except DefusedXmlException as exc:
        raise OpmlError(f"{source}: refused: {_defused_reason(exc)}") from None
    if _local(root.tag) != "opml":
        raise OpmlError(f"{source}: not OPML (the root element is <{_local(root.tag)}>)")
    body = next((child for child in root if _local(child.tag) == "body"), None)
    if body is None:
        raise OpmlError(f"{source}: not valid OPML: no <body> element")
    feeds = list(_feeds(body, None))
    if not feeds:
        raise OpmlError(f"{source}: no feeds in it (no <outline> with an xmlUrl)")
    return feeds


def _defused_reason(exc: DefusedXmlException) -> str:
    name = type(exc).__name__
    if name == "EntitiesForbidden":
        return "the file declares XML entities (never expanded)"
    if name == "ExternalReferenceForbidden":
        return "the file refers to an external entity or DTD (never fetched)"
    return f"unsafe XML ({name})"


def _feeds(parent: ET.Element, section: str | None) -> Iterator[OpmlFeed]:
    for outline in parent:
        if _local(outline.tag) != "outline":
            continue
        label = (outline.get("title") or outline.get("text") or "").strip()
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if url:
            yield OpmlFeed(
                name=label or urlsplit(url).hostname or url,
                url=url,
                section=section or _category(outline),
                extras=_extras(outline),
            )
        yield from _feeds(outline, section if url else label or section)


def _category(outline: ET.Element) -> str | None:
    """A flat export's folder: the `category` attribute ("/Tech/Linux,News" -> "Linux")."""
    first = (outline.get("category") or "").split(",")[0].strip().strip("/")
    return first.rsplit("/", 1)[-1].strip() or None


def _extras(outline: ET.Element) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    for key, attribute in EXTRA_ATTRIBUTES.items():
        value = outline.get(f"{{{DIGEST_NS}}}{attribute}")
        if value is None:
            continue
        if key == "max_entries":
            extras[key] = int(value) if value.isdigit() else value
        elif key in ("include", "exclude"):
            extras[key] = _json_list(value)
        else:
            extras[key] = value
    return extras


def _json_list(value: str) -> list[str] | str:
    try:
        parsed = json.loads(value)
    except ValueError:
        return value  # left for the config's validation to name
    return [str(item) for item in parsed] if isinstance(parsed, list) else value


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def to_opml(title: str, feeds: Iterable[OpmlFeed], created: datetime) -> str:
    """OPML 2.0: feeds without a section at the top level, the others in one folder per
    section, each in the order it first appears."""
    ET.register_namespace("digest", DIGEST_NS)
    root = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(created)
    ET.SubElement(head, "docs").text = "https://opml.org/spec2.opml"
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.section:
            if feed.section not in folders:
                folders[feed.section] = ET.SubElement(
                    body, "outline", {"text": feed.section, "title": feed.section}
                )
            parent = folders[feed.section]
        ET.SubElement(parent, "outline", _feed_attributes(feed))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _feed_attributes(feed: OpmlFeed) -> dict[str, str]:
    attributes = {"type": "rss", "text": feed.name, "title": feed.name, "xmlUrl": feed.url}
    for key, attribute in EXTRA_ATTRIBUTES.items():
        value = feed.extras.get(key)
        if value is None or value == [] or (key == "fulltext" and value == "auto"):
            continue  # unset, or the default
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)
        attributes[f"{{{DIGEST_NS}}}{attribute}"] = text
    return attributes
