"""Feed bytes from strangers -> a document feedparser can parse safely and quickly.

feedparser trusts what it is given: it keeps "safe" entity declarations from the DTD and
expands them (a long entity used many times is a quadratic blow-up), it parses 100,000
entries if a feed has them, and it guesses encodings its own way. Before it sees a byte:

- the text is decoded once (BOM, then valid UTF-8 or UTF-8 with a few bad bytes, then the
  HTTP charset, then the XML declaration, then windows-1252) and handed on as UTF-8 with a
  matching declaration;
- characters XML 1.0 forbids (NUL, other C0 controls, U+FFFE/U+FFFF) are dropped;
- everything before the root element goes: DOCTYPE, internal subset, entity declarations
  (billion laughs, quadratic expansion, external entities such as file:///etc/passwd);
- named entities the DTD would have defined are written as characters (`&nbsp;` -> U+00A0)
  or, when unknown, as text (`&lol9;` -> "&lol9;"), so the strict parser still runs;
- a feed with more than `max_entries` entries is cut after that many.

The result names what was changed, so a report can say "kept the first 1,000 entries".
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from html.entities import html5

from digest.errors import FeedError

MAX_ENTRIES = 1000
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# UTF-16/32 without a BOM, told apart by how "<?" is laid out (XML 1.0, appendix F).
_BOMLESS = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Named entities other than XML's own five (which need no DTD and are left alone).
_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot|apos);)([A-Za-z_][\w.-]{0,60});")
_ENTRY_START = re.compile(r"<(?:[\w.-]+:)?(?:item|entry)[\s/>]")
_TAG = re.compile(r"<(/?)([\w.:-]+)[^<>]*?(/?)>")
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")


@dataclass(frozen=True, slots=True)
class Defused:
    body: bytes  # UTF-8, with an XML declaration saying so
    encoding: str  # what the bytes were decoded as
    root: str  # the root element's name, lower-cased ("rss", "feed", "rdf:rdf", "html")
    changes: tuple[str, ...] = field(default=())


def defuse(
    body: bytes, feed: str, charset: str | None = None, max_entries: int = MAX_ENTRIES
) -> Defused:
    """The feed document made safe to parse. Raises FeedError when it is not XML at all."""
    text, encoding = decode(body, charset)
    changes: list[str] = []
    if _FORBIDDEN.search(text):
        text = _FORBIDDEN.sub("", text)
        changes.append("dropped control characters")
    start, had_dtd = _root_start(text, feed)
    if had_dtd:
        changes.append("ignored its DTD")
    match = _ROOT.match(text, start)
    if match is None:
        raise FeedError(feed, "not XML: no root element (not an RSS, Atom or JSON feed)")
    document = _named_entities(text[start:])
    document, cut = _at_most(document, max_entries)
    if cut:
        changes.append(f"kept the first {max_entries:,} of {cut:,} entries")
    head = '<?xml version="1.0" encoding="utf-8"?>\n'
    data = (head + document).encode("utf-8", "surrogatepass")
    return Defused(data, encoding, match.group(1).lower(), tuple(changes))


def decode(body: bytes, charset: str | None = None) -> tuple[str, str]:
    """The document's text and the encoding it was read as."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, "replace"), name
    for pattern, name in _BOMLESS:
        if body.startswith(pattern):
            return body.decode(name, "replace"), name
    try:
        return body.decode("utf-8"), "utf-8"  # valid UTF-8 is UTF-8, whatever the label says
    except UnicodeDecodeError:
        pass
    if mostly_utf8(body):  # a few bad bytes (a character cut in two) in a UTF-8 document
        return body.decode("utf-8", "replace"), "utf-8"
    declared = _DECLARED.match(body[:512])
    labels = [charset, declared.group(1).decode("ascii") if declared else None]
    for label in labels:
        codec = _codec(label)
        if codec is None:
            continue
        try:
            return body.decode(codec), codec
        except UnicodeDecodeError:
            continue
    return body.decode("windows-1252", "replace"), "windows-1252"


# Bytes of a UTF-8 multi-byte character: a lead byte and its continuation bytes.
_UTF8_CHARACTER = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
MOSTLY = 0.9  # share of the non-ASCII bytes in valid UTF-8 characters


def mostly_utf8(body: bytes) -> bool:
    """UTF-8 with a few bad bytes: nearly every non-ASCII byte is part of a valid UTF-8
    character. Text in a legacy charset almost never is (é in Latin-1 is one lone byte)."""
    high = len(_HIGH_BYTE.findall(body))
    if not high:
        return False
    in_characters = sum(len(m) for m in _UTF8_CHARACTER.findall(body))
    return in_characters >= MOSTLY * high


def _codec(label: str | None) -> str | None:
    """A usable codec for a charset label; not the UTF-16/32 family, which a document
    readable as ASCII (we are past the BOM checks) cannot be in."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip()).name
    except LookupError:
        return None
    return None if name.startswith(("utf-16", "utf-32", "utf-8")) else name


def _root_start(text: str, feed: str) -> tuple[int, bool]:
    """Where the root element starts, skipping the prolog: declarations, processing
    instructions, comments and the DOCTYPE with its internal subset. And whether there
    was a DOCTYPE."""
    at, had_dtd, size = 0, False, len(text)
    while True:
        while at < size and text[at].isspace():
            at += 1
        if text.startswith("<?", at):
            at = _after(text, "?>", at, feed, "processing instruction")
        elif text.startswith("<!--", at):
            at = _after(text, "-->", at, feed, "comment")
        elif text[at : at + 9].upper() == "<!DOCTYPE":
            at, had_dtd = _doctype_end(text, at, feed), True
        else:
            return at, had_dtd


def _after(text: str, end: str, at: int, feed: str, what: str) -> int:
    found = text.find(end, at)
    if found < 0:
        raise FeedError(feed, f"malformed feed: an unterminated {what} before the root element")
    return found + len(end)


def _doctype_end(text: str, at: int, feed: str) -> int:
    """The index after a DOCTYPE declaration, its internal subset, quoted strings and
    comments inside it included."""
    quote, depth, index, size = "", 0, at + 9, len(text)
    while index < size:
        char = text[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif text.startswith("<!--", index):
            index = _after(text, "-->", index, feed, "comment") - 1
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == ">" and depth <= 0:
            return index + 1
        index += 1
    raise FeedError(feed, "malformed feed: an unterminated DOCTYPE")


def _named_entities(document: str) -> str:
    """HTML's named entities as characters; unknown ones as literal text."""
    if "&" not in document:
        return document

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        character = html5.get(name + ";")
        if character is None:
            return f"&amp;{name};"
        return "".join(f"&#{ord(c)};" for c in character)

    return _ENTITY.sub(replace, document)


def _at_most(document: str, limit: int) -> tuple[str, int]:
    """The document cut after `limit` entries and closed again, and how many it had (0 when
    it was not cut)."""
    rough = sum(document.count(tag) for tag in ("<item", "<entry", ":item", ":entry"))
    if rough <= limit:  # counting is cheap; most feeds stop here
        return document, 0
    starts = [match.start() for match in _ENTRY_START.finditer(document)]
    if len(starts) <= limit:
        return document, 0
    cut = starts[limit]
    open_tags = _open_elements(document[: starts[0]])
    closing = "".join(f"</{name}>" for name in reversed(open_tags))
    return document[:cut] + closing, len(starts)


def _open_elements(head: str) -> list[str]:
    """The elements still open at the end of `head` (the part before the first entry)."""
    stack: list[str] = []
    for match in _TAG.finditer(head):
        closing, name, empty = match.groups()
        if empty or name.startswith(("!", "?")):
            continue
        if not closing:
            stack.append(name)
        elif name in stack:
            del stack[len(stack) - 1 - stack[::-1].index(name) :]
    return stack
