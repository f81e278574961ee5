"""Article text and metadata from a web page, and plain text from a feed entry's HTML."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import lxml.html
import trafilatura
import trafilatura.settings
from lxml import etree
from readability import Document as ReadabilityDocument
from trafilatura.utils import decode_file, load_html

from digest.errors import ExtractError
from digest.furniture import is_paywall_prompt, strip_widgets

# A paragraph whose text is mostly the page's link texts is a related-links list or a
# "Read more: <headline>" line. Anchors shorter than this are inline links in prose.
MAX_LINK_SHARE = 0.6
MIN_ANCHOR_CHARS = 12
# The headline repeated as the first or second paragraph: mostly title words, no full stop.
TITLE_SEARCH_DEPTH = 2
TITLE_WORD_SHARE = 0.8
# readability's text replaces ours when at least this much longer and holding this share of
# our 4-word shingles; with no text of ours, when it has this many words.
FALLBACK_LENGTH_RATIO = 1.5
FALLBACK_MIN_OVERLAP = 0.9
MIN_FALLBACK_WORDS = 50

# htmldate (via trafilatura): the first-published date, with its time when the page gives one.
_DATE_SEARCH = {
    "original_date": True,
    "extensive_search": True,
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
}

_TOKEN = re.compile(r"\w+")
_NOT_FREE = re.compile(r'"isAccessibleForFree"\s*:\s*"?false"?', re.I)

# Elements whose text is never article prose.
_DROPPED_TAGS = frozenset(
    "script style noscript template svg math figure figcaption iframe object embed "  # noqa: SIM905
    "button select textarea form nav aside head title".split()
)
_BLOCK_TAGS = frozenset(
    "p div section article header footer main blockquote pre h1 h2 h3 h4 h5 h6 ul ol dl "  # noqa: SIM905
    "li dd dt table thead tbody tfoot tr caption hr address details summary "
    "center body html".split()
)
# Placeholders while walking the tree: a block boundary and a <br>.
_BLOCK_MARK = "\x00"
_BREAK_MARK = "\x01"
_UTF8_PARSER = lxml.html.HTMLParser(encoding="utf-8")
_BREAK_RUN = re.compile(f"{_BREAK_MARK}(?:\\s*{_BREAK_MARK})+")


@dataclass(frozen=True, slots=True)
class Article:
    """An article page's own text (paragraphs separated by blank lines) and metadata."""

    text: str
    url: str | None = None
    title: str = ""
    author: str = ""
    date: datetime | None = None  # first published; tz-aware (UTC when the page gives no zone)
    image: str | None = None
    sitename: str = ""
    description: str = ""
    language: str = ""
    paywalled: bool = False  # the page declares or shows a paywall: the text may be a teaser


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: one paragraph per block, blank lines between them."""
    if not html or not html.strip():
        return ""
    try:
        # Bytes, because lxml refuses a str that carries an XML encoding declaration.
        root = lxml.html.fromstring(html.encode("utf-8"), parser=_UTF8_PARSER)
    except etree.ParserError:  # nothing but comments or whitespace
        return ""
    parts: list[str] = []
    _collect_text(root, parts)
    return _join_blocks("".join(parts))


def _collect_text(element: lxml.html.HtmlElement, parts: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    # Comments and processing instructions carry no text, but their tails do.
    if tag and tag.lower() not in _DROPPED_TAGS:
        tag = tag.lower()
        if tag == "br":
            parts.append(_BREAK_MARK)
        block = tag in _BLOCK_TAGS
        if block:
            parts.append(_BLOCK_MARK)
        if element.text:
            parts.append(element.text)
        for child in element:
            _collect_text(child, parts)
        if block:
            parts.append(_BLOCK_MARK)
        elif tag in ("td", "th"):
            parts.append(" ")
    if element.tail:
        parts.append(element.tail)


def _join_blocks(raw: str) -> str:
    """Blocks and double <br>s become paragraphs; a single <br> stays a line break."""
    paragraphs: list[str] = []
    for block in _BREAK_RUN.sub(_BLOCK_MARK, raw).split(_BLOCK_MARK):
        lines = [" ".join(line.split()) for line in block.split(_BREAK_MARK)]
        paragraph = "\n".join(line for line in lines if line)
        if paragraph:
            paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


def extract_article(html: str | bytes, url: str | None = None) -> Article:
    """The article's own text and metadata; ExtractError when the page has no article.

    trafilatura (precision-favoring, no comments) finds the article; its paragraphs are then
    cleaned of what it lets through on news pages: a repeat of the headline, paragraphs that
    are mostly link text (related-article lists, "Read more: <link>"), and widget lines
    (calls to action, credits, a paywall prompt and what follows it). readability-lxml runs
    as a second opinion: when its text, cleaned the same way, contains ours and is much
    longer, trafilatura stopped early and readability's text is used.
    """
    where = url or "page"
    if not html or not html.strip():
        raise ExtractError(f"{where}: empty page")
    tree = load_html(html)
    if tree is None:
        raise ExtractError(f"{where}: could not parse the HTML")
    anchors = _anchor_texts(tree)
    paywalled = _declares_paywall(tree)
    # Decoded once here: readability would otherwise run chardet over the bytes (slow).
    second_opinion = _readability_paragraphs(html if isinstance(html, str) else decode_file(html))
    document = _trafilatura_document(tree, url)  # last: it prunes the tree it is given
    assert not isinstance(document, dict)  # as_dict=False: a Document or None
    title = (document.title or "") if document is not None else ""
    ours = _clean(_body_paragraphs(document.body), anchors, title) if document else []
    fallback = _clean(second_opinion, anchors, title)
    paragraphs = fallback if _prefer_fallback(ours, fallback) else ours
    if not paragraphs:
        raise ExtractError(f"{where}: no article text found")
    return _article(document, "\n\n".join(paragraphs), url, paywalled)


def _trafilatura_document(
    tree: lxml.html.HtmlElement, url: str | None
) -> trafilatura.settings.Document | None:
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        favor_precision=True,
        include_comments=False,
        with_metadata=True,
        date_extraction_params=_DATE_SEARCH,
    )
    return document if isinstance(document, trafilatura.settings.Document) else None


def _article(
    document: trafilatura.settings.Document | None, text: str, url: str | None, paywalled: bool
) -> Article:
    if document is None:
        return Article(text=text, url=url, paywalled=paywalled)
    return Article(
        text=text,
        url=url or document.url or None,
        title=document.title or "",
        author=document.author or "",
        date=_parse_date(document.date),
        image=document.image or None,
        sitename=document.sitename or "",
        description=document.description or "",
        language=document.language or "",
        paywalled=paywalled or _has_paywall_prompt(document.text or ""),
    )


def _clean(paragraphs: list[str], anchors: frozenset[str], title: str) -> list[str]:
    kept = [
        text
        for index, text in enumerate(paragraphs)
        if not (index < TITLE_SEARCH_DEPTH and _repeats_title(text, title))
        and _link_share(text, anchors) < MAX_LINK_SHARE
    ]
    return strip_widgets(kept, headline_runs=False)


def _prefer_fallback(ours: list[str], fallback: list[str]) -> bool:
    """The second extractor wins only when it holds our text and much more."""
    if not ours:
        return _word_count(fallback) >= MIN_FALLBACK_WORDS
    our_shingles = _shingle_set(ours)
    if not our_shingles or _char_count(fallback) < FALLBACK_LENGTH_RATIO * _char_count(ours):
        return False
    shared = len(our_shingles & _shingle_set(fallback))
    return shared / len(our_shingles) >= FALLBACK_MIN_OVERLAP


def _body_paragraphs(body: etree._Element | None) -> list[str]:
    """Paragraph texts of trafilatura's output tree: one per block, list item or table row."""
    if body is None:
        return []
    paragraphs: list[str] = []
    for block in body:
        paragraphs.extend(_block_texts(block))
    return [text for text in paragraphs if text]


def _block_texts(block: etree._Element) -> list[str]:
    if block.tag == "list":
        texts: list[str] = []
        for item in block.iterchildren("item"):
            texts.append(_squash(_own_text(item)))
            for nested in item.iterchildren("list"):
                texts.extend(_block_texts(nested))
        return texts
    if block.tag == "table":
        return [_squash(" ".join(row.itertext())) for row in block.iter("row")]
    return [_squash(" ".join(block.itertext()))]


def _own_text(item: etree._Element) -> str:
    """A list item's text without its nested lists (those become their own paragraphs)."""
    parts = [item.text or ""]
    for child in item:
        if child.tag != "list":
            parts.extend(child.itertext())
        parts.append(child.tail or "")
    return " ".join(parts)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _anchor_texts(tree: lxml.html.HtmlElement) -> frozenset[str]:
    texts = (_squash(anchor.text_content()) for anchor in tree.iter("a"))
    return frozenset(text for text in texts if len(text) >= MIN_ANCHOR_CHARS)


def _link_share(text: str, anchors: frozenset[str]) -> float:
    """How much of a paragraph is the text of the page's links."""
    linked = sum(len(anchor) for anchor in anchors if anchor in text)
    return min(1.0, linked / max(1, len(text)))


def _repeats_title(text: str, title: str) -> bool:
    """The headline again at the top of the body (the data's article bodies never have it)."""
    words = _TOKEN.findall(text.lower())
    title_words = set(_TOKEN.findall(title.lower()))
    if not words or not title_words or text.rstrip().endswith((".", "!", "?")):
        return False
    return sum(word in title_words for word in words) / len(words) >= TITLE_WORD_SHARE


def _readability_paragraphs(html: str) -> list[str]:
    try:
        summary = ReadabilityDocument(html).summary(html_partial=True)
    except (
        Exception
    ):  # readability raises bare Exceptions on odd pages; it is only a second opinion
        return []
    return [text for text in html_to_text(summary).split("\n\n") if text]


def _declares_paywall(tree: lxml.html.HtmlElement) -> bool:
    """schema.org's isAccessibleForFree=false, the standard paywall declaration."""
    return any(
        (script.get("type") or "").lower() == "application/ld+json"
        and _NOT_FREE.search(script.text or "")
        for script in tree.iter("script")
    )


def _has_paywall_prompt(text: str) -> bool:
    return any(is_paywall_prompt(line) for line in text.splitlines())


def _shingle_set(paragraphs: list[str]) -> set[tuple[str, ...]]:
    tokens = _TOKEN.findall(" ".join(paragraphs))
    return {tuple(tokens[i : i + 4]) for i in range(max(0, len(tokens) - 3))}


def _char_count(paragraphs: list[str]) -> int:
    return sum(len(text) for text in paragraphs)


def _word_count(paragraphs: list[str]) -> int:
    return sum(len(text.split()) for text in paragraphs)


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
