"""Article text and metadata from a web page (trafilatura, cleaned by named rules, with
readability-lxml as a second opinion). Plain text of an HTML fragment is digest/text/htmltext.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import lxml.html
import trafilatura
import trafilatura.settings
from lxml import etree
from readability import Document as ReadabilityDocument
from trafilatura.utils import decode_file, load_html

from digest.errors import ExtractError
from digest.models import Article
from digest.text.furniture import (
    cut_after_article_end,
    drop_truncated_tail,
    is_paywall_prompt,
    is_widget_line,
    opens_with_call_to_action,
)
from digest.text.htmltext import collect_text, html_to_text, join_blocks

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
# readability runs only when the page's prose blocks (this many words or more, mostly not
# link text) hold this many times our word count: under the length it must reach to win.
SECOND_OPINION_PROSE_RATIO = 1.25
MIN_PROSE_WORDS = 8
# A paragraph ending in a call to action is a promo up to this many words.
MAX_PROMO_WORDS = 60
MIN_PROMO_CALL_WORDS = 3
# An image's alt text this long, repeated as a paragraph, is the image's caption.
MIN_CAPTION_WORDS = 4
# Two or more sibling <article>s inside an <article> are other stories' cards.
MIN_STORY_CARDS = 2

# htmldate (via trafilatura): the first-published date, with its time when the page gives one.
_DATE_SEARCH = {
    "original_date": True,
    "extensive_search": True,
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
}

_TOKEN = re.compile(r"\w+")
# Han and kana: Chinese and Japanese are written without spaces between words.
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_INLINE_TAGS = frozenset(
    "a abbr b big cite code em font i mark q small span strong sub sup time u".split()  # noqa: SIM905
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“‘'(]?[A-Z])")
_NOT_FREE = re.compile(r'"isAccessibleForFree"\s*:\s*"?false"?', re.I)
# A sentence's end: closing punctuation, then any closing quotes or brackets.
_ENDS_SENTENCE = re.compile(r"[.!?。！？][\"'”’»)\]」』）]*$")


@dataclass(frozen=True, slots=True)
class PageSignals:
    """What the paragraph rules know of the page besides the paragraphs themselves."""

    title: str
    anchors: frozenset[str]  # the texts of the page's links, long enough to be headlines
    image_alts: frozenset[str] = frozenset()  # the alt texts of its images, caption-long


TreeRule = Callable[[lxml.html.HtmlElement], None]
ParagraphRule = Callable[[list[str], PageSignals], list[str]]


def _drop_story_cards(tree: lxml.html.HtmlElement) -> None:
    """Other stories' cards inside the story: two or more sibling <article>s within an
    <article> ("you may like" grids, in-article teasers); text extractors read them as body."""
    cards = [
        article
        for article in tree.iter("article")
        if (parent := article.getparent()) is not None
        and next(article.iterancestors("article"), None) is not None
        and sum(1 for _ in parent.iterchildren("article")) >= MIN_STORY_CARDS
    ]
    for card in cards:
        card.drop_tree()


def _space_cjk_inline_boundaries(tree: lxml.html.HtmlElement) -> None:
    """Where Chinese or Japanese text runs into a link or other inline element, put a space:
    with no spaces between words, the element boundary is the only word boundary there is."""
    if not _CJK.search(tree.xpath("string(//body)")):
        return
    for element in tree.iter(*_INLINE_TAGS):
        parent = element.getparent()
        if parent is None:
            continue
        previous = element.getprevious()
        before = (previous.tail if previous is not None else parent.text) or ""
        inner = element.text or ""
        if _joins_cjk(before, inner):
            element.text = " " + inner
        last = (element[-1].tail if len(element) else element.text) or ""
        after = element.tail or ""
        if _joins_cjk(last, after):
            element.tail = " " + after


def _joins_cjk(left: str, right: str) -> bool:
    return bool(
        left
        and right
        and not left[-1].isspace()
        and not right[0].isspace()
        and (_CJK.match(left[-1]) or _CJK.match(right[0]))
    )


def _drop_repeated_title(paragraphs: list[str], page: PageSignals) -> list[str]:
    return [
        text
        for index, text in enumerate(paragraphs)
        if not (index < TITLE_SEARCH_DEPTH and _repeats_title(text, page.title))
    ]


def _drop_link_lists(paragraphs: list[str], page: PageSignals) -> list[str]:
    return [text for text in paragraphs if _link_share(text, page.anchors) < MAX_LINK_SHARE]


def _cut_after_end(paragraphs: list[str], page: PageSignals) -> list[str]:
    # No headline-run test: extracted list items and subheadings are title-case too.
    return cut_after_article_end(paragraphs, headline_runs=False)


def _drop_widget_lines(paragraphs: list[str], page: PageSignals) -> list[str]:
    return [text for text in paragraphs if not is_widget_line(text)]


def _drop_alt_captions(paragraphs: list[str], page: PageSignals) -> list[str]:
    """A paragraph that is an image's alt text again: the caption under a picture, set in a
    plain <span> or <p> that extractors, unlike a <figcaption>, take for body text."""
    return [text for text in paragraphs if text not in page.image_alts]


def _drop_promos(paragraphs: list[str], page: PageSignals) -> list[str]:
    return [text for text in paragraphs if not _is_promo(text)]


def _is_promo(text: str) -> bool:
    """A short paragraph that ends in a call to action ("... Sign up for the free daily
    newsletter."): a pitch for the site's newsletter, magazine or app, not the story."""
    sentences = _SENTENCE_END.split(text)
    return (
        len(sentences) > 1
        and len(text.split()) <= MAX_PROMO_WORDS
        and len(sentences[-1].split()) >= MIN_PROMO_CALL_WORDS
        and (is_widget_line(sentences[-1]) or opens_with_call_to_action(sentences[-1]))
    )


def _drop_truncated_tail(paragraphs: list[str], page: PageSignals) -> list[str]:
    return drop_truncated_tail(paragraphs)


# The rules by name, in the order they run; benchmarks/extraction.py measures each one's
# contribution by running without it.
TREE_RULES: dict[str, TreeRule] = {
    "story cards": _drop_story_cards,
    "CJK inline spacing": _space_cjk_inline_boundaries,
}
PARAGRAPH_RULES: dict[str, ParagraphRule] = {
    "repeated headline": _drop_repeated_title,
    "link-list paragraphs": _drop_link_lists,
    "after-article zone": _cut_after_end,
    "widget lines": _drop_widget_lines,
    "image captions": _drop_alt_captions,
    "promo paragraphs": _drop_promos,
    "truncated last paragraph": _drop_truncated_tail,
}
SECOND_OPINION = "readability second opinion"
RULES: tuple[str, ...] = (*TREE_RULES, *PARAGRAPH_RULES, SECOND_OPINION)


def extract_article(html: str | bytes, url: str | None = None) -> Article:
    """The article's own text and metadata; ExtractError when the page has no article.

    trafilatura (precision-favoring, no comments) finds the article in the page, after
    other stories' cards are cut from it; its paragraphs are then cleaned of what it lets
    through on news pages: a repeat of the headline, paragraphs that are mostly link text
    (related-article lists, "Read more: <link>"), widget lines (calls to action, credits,
    a paywall prompt and what follows it), captions that repeat an image's alt text, and
    short promo paragraphs that end in a call to action. When our text holds much less than
    the page's prose paragraphs, trafilatura may have stopped early: readability-lxml runs
    as a second opinion, and its text, cleaned the same way, is used when it contains ours
    and is much longer.
    """
    return extract_with_rules(html, url, frozenset(RULES))


def extract_with_rules(html: str | bytes, url: str | None, rules: frozenset[str]) -> Article:
    """`extract_article` with only the named `RULES` (for measuring what each one does)."""
    where = url or "page"
    if not html or not html.strip():
        raise ExtractError(f"{where}: empty page")
    tree = load_html(html)
    if tree is None:
        raise ExtractError(f"{where}: could not parse the HTML")
    anchors = _anchor_texts(tree)
    image_alts = _image_alts(tree)
    paywalled = _declares_paywall(tree)
    page_prose_words = _page_prose_words(tree, anchors)
    for name, tree_rule in TREE_RULES.items():
        if name in rules:
            tree_rule(tree)
    document = _trafilatura_document(tree, url)  # it prunes the tree it is given
    assert not isinstance(document, dict)  # as_dict=False: a Document or None
    title = (document.title or "") if document else ""
    page = PageSignals(title=title, anchors=anchors, image_alts=image_alts)
    paragraphs = _clean(_body_paragraphs(document.body), page, rules) if document else []
    if SECOND_OPINION in rules and _may_have_stopped_early(paragraphs, page_prose_words):
        # Decoded here: readability would otherwise run chardet over the bytes (slow).
        second = _readability_paragraphs(html if isinstance(html, str) else decode_file(html))
        fallback = _clean(second, page, rules)
        if _prefer_fallback(paragraphs, fallback):
            paragraphs = fallback
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


def _clean(paragraphs: list[str], page: PageSignals, rules: frozenset[str]) -> list[str]:
    for name, rule in PARAGRAPH_RULES.items():
        if name in rules:
            paragraphs = rule(paragraphs, page)
    return paragraphs


def _page_prose_words(tree: lxml.html.HtmlElement, anchors: frozenset[str]) -> int:
    """Words in the page's text blocks that read as prose: long enough, mostly not links."""
    parts: list[str] = []
    collect_text(tree, parts)
    blocks = (text.split() for text in join_blocks("".join(parts)).split("\n\n"))
    return sum(
        len(words)
        for words in blocks
        if len(words) >= MIN_PROSE_WORDS and _link_share(" ".join(words), anchors) < 0.5
    )


def _may_have_stopped_early(ours: list[str], page_prose_words: int) -> bool:
    """Worth a second opinion: no text, or the page holds well more prose than we found."""
    return not ours or page_prose_words >= SECOND_OPINION_PROSE_RATIO * _word_count(ours)


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


def _image_alts(tree: lxml.html.HtmlElement) -> frozenset[str]:
    texts = (_squash(image.get("alt") or "") for image in tree.iter("img"))
    return frozenset(text for text in texts if len(text.split()) >= MIN_CAPTION_WORDS)


def _link_share(text: str, anchors: frozenset[str]) -> float:
    """How much of a paragraph is the text of the page's links."""
    linked = sum(len(anchor) for anchor in anchors if anchor in text)
    return min(1.0, linked / max(1, len(text)))


def _repeats_title(text: str, title: str) -> bool:
    """The headline again at the top of the body: the digest shows the title on its own."""
    words = _TOKEN.findall(text.lower())
    title_words = set(_TOKEN.findall(title.lower()))
    if not words or not title_words or _ENDS_SENTENCE.search(text.rstrip()):
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
