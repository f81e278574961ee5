"""Feed HTML is hostile until it passes here: an allow-list sanitizer (nh3), links made absolute.

Nothing that leaves this module can run script: no <script>, <style>, <form>, <iframe>,
<svg>, no on* attributes, no style attributes (CSS from feeds never reaches the output), and
only http(s)/mailto URLs, resolved against the entry's address. Images on internal addresses
(127.0.0.1, 10.x, localhost) are dropped: the reader's mail client would fetch them.

nh3's cost grows with the square of nesting depth, so HTML nested deeper than MAX_DEPTH is
reduced to its text first (no real article nests that deep; a hostile one can nest 50,000).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import nh3

from digest.net.addresses import is_internal_host

# Block elements stay (without attributes) so that their boundaries still separate words
# once the text is taken out: "<div>April.</div><div>Previously</div>" is two blocks.
ALLOWED_TAGS = {
    "a", "abbr", "address", "article", "b", "blockquote", "br", "caption", "center", "cite",
    "code", "dd", "del", "details", "div", "dl", "dt", "em", "figcaption", "figure", "footer",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "i", "img", "ins", "kbd", "li", "main",
    "mark", "ol", "p", "pre", "q", "s", "section", "small", "span", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "time": {"datetime"},
    "abbr": {"title"},
}
URL_SCHEMES = {"http", "https", "mailto"}
_ABSOLUTE = re.compile(r"(?:https?|mailto):", re.I)  # nothing to resolve
MAX_DEPTH = 100  # deeper HTML is reduced to text before sanitizing
_TAGS_BEFORE_DEPTH_CHECK = 2 * MAX_DEPTH  # fewer tags than this cannot nest too deep
LONG_WORD = 200  # a run of this many characters without a space is not a word
_VOID = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
})  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][\w:-]*)[^>]*?(/?)>")
_ANY_TAG = re.compile(r"<[^>]*>")
_ANY_LONG_RUN = re.compile(r"\S{" + str(LONG_WORD + 1) + "}")  # a quick look before _RUN
# Runs of letters with no space, except scripts written without spaces (CJK, Thai, ...).
_RUN = re.compile(
    r"[^\s\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3000-\u9fff\uac00-\ud7af\uf900-\ufaff"
    r"\uff00-\uffef]{" + str(LONG_WORD + 1) + ",}"
)


def clean_html(fragment: str, base_url: str = "") -> str:
    """Sanitize a feed's HTML fragment and resolve its relative links against `base_url`."""
    if fragment.count("<") > _TAGS_BEFORE_DEPTH_CHECK and nesting_depth(fragment) > MAX_DEPTH:
        fragment = _ANY_TAG.sub(" ", fragment)  # its text survives, its structure does not
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        url_relative="pass_through",  # the filter below makes every URL it keeps absolute
        attribute_filter=_url_filter(base_url if _is_web(base_url) else ""),
    )


def _url_filter(base_url: str) -> Callable[[str, str, str], str | None]:
    """nh3 calls this for each allowed attribute: URLs made absolute against `base_url`, kept
    only when http(s)/mailto, and an image only when not on an internal address."""

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if attribute not in ("href", "src"):
            return value
        url = safe_image_url(value, base_url) if tag == "img" else safe_url(value, base_url)
        return url or None

    return keep


def nesting_depth(fragment: str, stop_at: int = MAX_DEPTH + 1) -> int:
    """How deep elements nest (void elements do not count); stops counting at `stop_at`."""
    depth = deepest = 0
    for match in _TAG.finditer(fragment):
        closing, name, self_closing = match.groups()
        if self_closing or name.lower() in _VOID:
            continue
        if closing:
            depth = max(0, depth - 1)
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest >= stop_at:
                break
    return deepest


def safe_url(url: str | None, base_url: str = "") -> str:
    """`url` made absolute, if it is http(s) or mailto; otherwise the empty string."""
    if not url:
        return ""
    url = url.strip()
    absolute = urljoin(base_url, url) if base_url and not _ABSOLUTE.match(url) else url
    scheme = urlsplit(absolute).scheme.lower()
    return absolute if scheme in URL_SCHEMES else ""


def safe_image_url(url: str | None, base_url: str = "") -> str:
    """An image URL a reader's mail client may fetch: web, and not an internal address."""
    absolute = safe_url(url, base_url)
    if not absolute or is_internal_host(urlsplit(absolute).hostname or ""):
        return ""
    return absolute


def plain_text(fragment: str) -> str:
    """Text of an inline fragment such as a title: tags dropped, entities decoded (markup
    escaped once more than it should be too), invisible characters dropped, spaces folded."""
    if "<" not in fragment and "&" not in fragment:  # most titles: nothing to strip
        return " ".join(visible(fragment).split())
    text = html.unescape(nh3.clean(fragment, tags=set(), strip_comments=True))
    if looks_escaped(text):
        text = html.unescape(nh3.clean(text, tags=set(), strip_comments=True))
    return " ".join(visible(text).split())


# Markup left in text after one round of unescaping and sanitizing: the feed escaped it twice
# (an Atom 0.3 `mode="escaped"` XHTML body, a CMS that escapes its own HTML). A closing tag or
# a tag with its attributes, of the elements article HTML is made of; "the <p> element" in a
# sentence is neither.
_ESCAPED_MARKUP = re.compile(
    r"</(?:p|div|body|html|span|a|b|i|em|strong|li|ul|ol|h[1-6]|table|tr|td|th|blockquote|pre"
    r"|code|font|section|article|figure|br|style|script)\s*>"
    r"|<(?:body|html|p|div|span|a|img|table|font)\s"
    r"[^<>]{0,400}>|<br\s*/?>",
    re.I,
)
# An entity left in text: it was escaped twice ("&amp;#160;").
_LEFTOVER_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def looks_escaped(text: str) -> bool:
    """True when text still holds markup or entities: it was escaped twice."""
    return bool(_ESCAPED_MARKUP.search(text) or _LEFTOVER_ENTITY.search(text))


def has_escaped_markup(text: str) -> bool:
    return bool(_ESCAPED_MARKUP.search(text))


def without_leftover_entities(text: str) -> str:
    return html.unescape(text) if _LEFTOVER_ENTITY.search(text) else text


# Characters that must not reach a reader: C0 and C1 controls other than tab and line breaks,
# DEL, bidi embeddings, overrides and isolates (U+202A-202E, U+2066-2069: "gnp.exe" shown for
# an .exe), zero-width spaces, stray byte-order marks, and U+FFFD where a feed had bad bytes.
_INVISIBLE_CODES = [
    *range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0),
    *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200B, 0xFEFF, 0xFFFD,
]  # fmt: skip
_INVISIBLE = re.compile("[" + "".join(re.escape(chr(c)) for c in _INVISIBLE_CODES) + "]")


def visible(text: str) -> str:
    """`text` without control, bidi-override and other invisible characters."""
    return _INVISIBLE.sub("", text) if _INVISIBLE.search(text) else text


def tame_long_words(text: str) -> str:
    """A "word" of more than LONG_WORD characters (a hostile 1 MB token, a pasted blob) cut
    short, so it cannot widen the email or fill the summary."""
    if len(text) <= LONG_WORD or not _ANY_LONG_RUN.search(text):
        return text
    return _RUN.sub(lambda match: match.group(0)[:80] + "…", text)


def _is_web(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ("http", "https")
