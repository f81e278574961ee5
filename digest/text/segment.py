"""Rule-based paragraph and sentence splitting.

One precompiled regex finds every candidate sentence end (terminal punctuation, optional
closing quotes or brackets, whitespace, then something that can open a sentence); a few
cheap rules then reject the candidates that are abbreviations, initials or acronyms.
Decimals, money, URLs and e-mail addresses never match, because their dots are not
followed by whitespace. CJK full stops end a sentence without any whitespace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from itertools import count, repeat
from typing import NamedTuple


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")

_CLOSERS = "\"'”’»)]}"
# A sentence is whole when it ends in one of these, before any closing quotes or brackets.
SENTENCE_FINAL = frozenset(".!?…。！？")
QUOTE_CLOSERS = "\"'”’»)]"
_OPENERS = "\"'“‘«([{¿¡"
_CJK_MARKS = "。！？"
# A candidate end: a run of terminal marks, optional closing quotes or brackets, a space, then
# an opener or a capital / digit (`[^\W_a-zß-ÿа-я]`: a word character that is not a lowercase
# letter); or a CJK end, which needs no space (its optional space is part of the match). The
# pattern opens with a plain character class, so the regex engine scans for a terminal mark
# in C instead of trying a match at every position; the lookbehinds pick the branch.
_CLOSE = rf"[{re.escape(_CLOSERS)}]*"
_THEN_OPENING = rf" (?=[{re.escape(_OPENERS)}]*[^\W_a-zß-ÿа-я])"
_CANDIDATE_END = re.compile(
    rf"[.!?…。！？](?:(?<=[.!?…])[.!?…]*{_CLOSE}{_THEN_OPENING}"
    rf"|(?<=[。！？])[。！？]*[{re.escape(_CLOSERS)}」』]* ?)"
)
# The same pattern for the common paragraph whose only terminal mark is the full stop. It
# opens with a literal, which the engine finds with a tight scan several times faster than
# testing each character against a class.
_PERIOD_END = re.compile(rf"\.[.]*{_CLOSE}{_THEN_OPENING}")
_OTHER_MARKS = "!?…。！？"
_TERMINAL = re.compile(r"[.!?…。！？:;][\"'”’»)\]]*\s*$")
_SHORT_LINE_WORDS = 8
_INITIAL = re.compile(r"^[(\[\"'“‘]*[A-Z]$")
_DOTTED_ACRONYM = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")
# A dateline's agency tag: "(AP) —", "(Reuters) -".
_AGENCY_TAG = re.compile(r"\([A-Z][\w.& ]{0,24}\) [—–-]")
_NEXT_WORD = re.compile(r"[" + re.escape(_OPENERS) + r"]*(\w+)")

# Abbreviations that (almost) never end a sentence: titles, months, Latin forms, "No." etc.
_NEVER_FINAL = _wordset(
    """mr mrs ms dr prof sr jr st mt ft gen sen rep gov lt col capt cmdr sgt adm maj rev hon
    messrs mme mlle jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e cf vs viz al
    approx nos fig figs vol vols pp ch dept est ca v"""
)
# Abbreviations that end a sentence only when a typical sentence opener follows.
_MAYBE_FINAL = _wordset("inc ltd co corp plc bros llc etc jnr snr no")
_LONGEST_ABBREVIATION = 7  # characters, with an opening bracket or quote
_SENTENCE_OPENERS = _wordset(
    """the a an he she it they we i you this that these those there his her its their our
    but and so yet however meanwhile in on at for if when while after before as
    mr mrs ms dr"""
)


class Sentence(NamedTuple):
    """One sentence with its place in the article.

    Immutable like the project's frozen dataclasses, but a NamedTuple: about twenty are
    built per article, and a frozen dataclass's __init__ costs three times as much.
    """

    text: str
    number: int  # position among all sentences of the article
    paragraph: int  # index of its paragraph
    position_in_paragraph: int  # 0 for a paragraph's first sentence


# Sentence(...) runs the NamedTuple's generated Python __new__; tuple.__new__ makes the same
# object in C, without the per-sentence Python call.
_new_sentence: Callable[[tuple[str, int, int, int]], Sentence] = partial(tuple.__new__, Sentence)


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines, each with its inner whitespace collapsed."""
    paragraphs: list[str] = []
    for part in _PARAGRAPH_BREAK.split(text):
        if _is_collapsed(part):
            paragraphs.append(part)  # most paragraphs: nothing to collapse, nothing to copy
        elif "\n" in part:
            paragraphs.extend(" ".join(words) for words in _split_short_lines(part) if words)
        elif words := part.split():
            paragraphs.append(" ".join(words))
    return paragraphs


def _is_collapsed(part: str) -> bool:
    """True when `part` is already `" ".join(part.split())` and not empty. The only
    whitespace `isprintable` lets through is the plain space, so single spaces between
    words are all that is left to check."""
    return part.isprintable() and "  " not in part and part[:1] != " " != part[-1:] != ""


def _split_short_lines(part: str) -> list[list[str]]:
    """A short line without final punctuation (a heading, a byline, a widget label) stands
    alone; other lines are a hard-wrapped paragraph and are joined."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in part.splitlines():
        words = line.split()
        current.extend(words)
        if words and len(words) < _SHORT_LINE_WORDS and not _TERMINAL.search(line):
            blocks.append(current)
            current = []
    blocks.append(current)
    return blocks


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`; paragraph breaks always end a sentence."""
    return [s for paragraph in split_paragraphs(text) for s in _split_paragraph(paragraph)]


def segment(text: str) -> list[Sentence]:
    """Sentences of `text` with their article and paragraph positions."""
    sentences: list[Sentence] = []
    for p_index, paragraph in enumerate(split_paragraphs(text)):
        fields = zip(_split_paragraph(paragraph), count(len(sentences)), repeat(p_index), count())
        sentences.extend(map(_new_sentence, fields))
    return sentences


def _split_paragraph(paragraph: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    has_other_marks = any(map(paragraph.__contains__, _OTHER_MARKS))
    for match in (_CANDIDATE_END if has_other_marks else _PERIOD_END).finditer(paragraph):
        first, end = match.span()
        if paragraph[first] in _CJK_MARKS:
            stop = end - 1 if paragraph[end - 1] == " " else end  # without the space after
        elif (
            end - first == 2
            and paragraph[first] == "."
            and not _period_ends(paragraph, first, start)
        ):
            continue  # a lone period right before the space: maybe an abbreviation
        else:
            stop = end - 1  # "!", "?", "...", or a period inside a closing quote/bracket
        sentences.append(paragraph[start:stop])
        start = end
    if start < len(paragraph):
        sentences.append(paragraph[start:])
    return sentences


def _period_ends(paragraph: str, period: int, start: int) -> bool:
    """Reject a period that really ends an abbreviation, an initial or an acronym, a
    dateline ("ST. JOSEPH, Mich. (AP) —") or a day number ("Am 12. September")."""
    # Paragraphs hold single spaces only, so the token starts after the last space.
    token_start = paragraph.rfind(" ", 0, period) + 1
    token = paragraph[token_start:period]
    if not token:
        return True
    if paragraph[period + 2] == "(" and _AGENCY_TAG.match(paragraph, period + 2):
        return False  # the place of a dateline, then the news agency
    if len(token) > _LONGEST_ABBREVIATION and "." not in token:
        return True  # a plain long word: the common case, decided without lookups
    if len(token) < 3 and token.isdigit() and paragraph.count(" ", start, token_start) < 2:
        return False  # "Am 12." opening a sentence is a date, not a sentence
    word = token.lstrip(_OPENERS).lower()
    # The length and "." tests are necessary for the regexes to match: most tokens skip them.
    if word in _NEVER_FINAL or (len(word) == 1 and _INITIAL.match(token)):
        return False
    if word in _MAYBE_FINAL or ("." in word and _DOTTED_ACRONYM.match(word)):
        return _next_word(paragraph, period + 2) in _SENTENCE_OPENERS
    return True


def _next_word(paragraph: str, position: int) -> str:
    found = _NEXT_WORD.match(paragraph, position)
    return found.group(1).lower() if found else ""
