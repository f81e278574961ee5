"""Feed HTML is hostile until it passes here: an allow-list sanitizer (nh3), links made absolute.

Nothing that leaves this module can run script: no <script>, <style>, <form>, <iframe>, no
on* attributes, no style attributes, and only http(s)/mailto URLs.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
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
_URL_ATTRIBUTE = re.compile(r'\b(href|src)="([^"]*)"')


def clean_html(fragment: str, base_url: str = "") -> str:
    """Sanitize a feed's HTML fragment and resolve its relative links against `base_url`."""
    cleaned = nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return _absolutize(cleaned, base_url) if base_url else cleaned


def _absolutize(fragment: str, base_url: str) -> str:
    def resolve(match: re.Match[str]) -> str:
        url = safe_url(urljoin(base_url, html.unescape(match.group(2))))
        return f'{match.group(1)}="{html.escape(url)}"'

    return _URL_ATTRIBUTE.sub(resolve, fragment)


def safe_url(url: str | None, base_url: str = "") -> str:
    """`url` made absolute, if it is http(s) or mailto; otherwise the empty string."""
    if not url:
        return ""
    absolute = urljoin(base_url, url.strip()) if base_url else url.strip()
    scheme = urlsplit(absolute).scheme.lower()
    return absolute if scheme in URL_SCHEMES else ""


def plain_text(fragment: str) -> str:
    """Text of an inline fragment such as a title: tags dropped, entities decoded, spaces folded."""
    stripped = nh3.clean(fragment, tags=set(), strip_comments=True)
    return " ".join(html.unescape(stripped).split())
