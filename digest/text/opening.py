"""Where an article starts: the first sentence that is not a heading, kicker, byline, dateline,
photo credit, or a heading's caption or teaser paragraph. LEAD would take such page furniture
for the lede; the summarizer's lede rules start here instead."""

from __future__ import annotations

from collections.abc import Sequence

from digest.text.furniture import is_widget_line
from digest.text.segment import QUOTE_CLOSERS, SENTENCE_FINAL, Sentence

_OPENING_SEARCH = 5  # the opening is one of the first sentences, or the very first
_HEADING_WORDS = 12  # shorter than this without final punctuation: a heading, not a lede
_DATE_WORDS = 3  # this short, with more to come in its paragraph: a split dateline or date
# Bylines, datelines and credits are short; the furniture test is slow, so longer sentences
# skip it (and text from a feed has been through strip_furniture already).
_CREDIT_WORDS = 15
_CAPTION_REPEAT = 0.5  # share of a heading's words that the paragraph after it repeats


def opening(sents: Sequence[Sentence], lengths: Sequence[int], content: Sequence[list[str]]) -> int:
    """Index of the first sentence that starts the article itself (0 when none of the first
    few does). Headings, kickers, bylines, datelines and captions come before it: page
    furniture that LEAD would take for the lede. A paragraph that repeats the words of a
    heading just before it is that heading's caption or teaser (a video, a gallery)."""
    heading: frozenset[str] = frozenset()
    caption_paragraph = -1
    first_prose: int | None = None  # the answer if everything turns out to be captions
    for i in range(min(len(sents), _OPENING_SEARCH)):
        sentence = sents[i]
        if _is_heading(sentence.text, lengths[i]):
            heading = frozenset(content[i])
        elif _is_preamble(i, sents, lengths[i]):
            continue
        elif sentence.paragraph == caption_paragraph or _is_caption(sentence, content[i], heading):
            caption_paragraph = sentence.paragraph
            first_prose = i if first_prose is None else first_prose
        else:
            return i
    return first_prose or 0


def _is_caption(sentence: Sentence, stems: list[str], heading: frozenset[str]) -> bool:
    """A paragraph that opens by repeating most of the heading above it describes it."""
    if not heading or sentence.position_in_paragraph:
        return False
    return len(heading.intersection(stems)) >= _CAPTION_REPEAT * len(heading)


def _is_heading(text: str, n_words: int) -> bool:
    """No final punctuation and short, or ending in a colon: a heading, a kicker, a label."""
    if text.rstrip(QUOTE_CLOSERS)[-1:] in SENTENCE_FINAL:
        return False
    return n_words < _HEADING_WORDS or text[-1] == ":"  # a long one lost its full stop


def _is_preamble(i: int, sents: Sequence[Sentence], n_words: int) -> bool:
    """A split dateline or date ("ST. JOSEPH, Mich." before "(AP) —"), a byline or a credit.
    (A first sentence that opens like a dangling reference is not skipped: "This holiday
    season", "It is unlikely that" open real ledes as often as a lost opening does.)"""
    if n_words <= _DATE_WORDS and i + 1 < len(sents):
        return sents[i + 1].paragraph == sents[i].paragraph
    return n_words <= _CREDIT_WORDS and is_widget_line(sents[i].text)
