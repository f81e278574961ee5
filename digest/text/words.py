"""The words of an article as the summarizer counts them: lower-cased crude stems without stop
words, each sentence's distinct stems and word count, and how widely its stems are shared;
and, from the same scan, what tells code and tables from prose: each sentence's symbols and
its tokens that are numbers (feed_furniture.looks_like_code looks closer at the few that have
enough). The counting runs in C (_stems.c, compiled at install when a compiler is there) and
falls back to the Python reference here, which gives the same counts."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from itertools import chain
from typing import NamedTuple

_STRIP = "\"'“”‘’«»()[]{}.,;:!?…—–-*"
# Characters code is full of and prose is not; a number is an optional sign, then digits and
# these (a table's cells: "1,204", "47.3%", "$5", "3x").
CODE_SYMBOLS = "{}[]();=<>$\\|`^_#*~"
NUMBER_CHARS = ".,:/%$€£×x"
NUMBER = re.compile(rf"^[-+]?[\d{re.escape(NUMBER_CHARS)}]+$")


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS = _wordset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours out over own same she should so some such than that the their theirs them
    then there these they this those through to too under until up very was we were what when
    where which while who whom why will with would you your yours said says say told s t
    one two new year years last first people may might must shall mr mrs ms dr"""
)


class _StemCache(dict[str, str]):
    """Raw token -> lower-cased crude stem, or "" for stop words and punctuation.

    Tokens repeat across articles, so one dict lookup replaces a regex and string work.
    """

    _LIMIT = 500_000

    def __missing__(self, token: str) -> str:
        if len(self) > self._LIMIT:
            self.clear()
        word = token.strip(_STRIP).lower()
        if word.endswith(("'s", "’s")):
            word = word[:-2]
        stem = "" if len(word) < 2 or word in _STOPWORDS else _stem(word)
        # A token that is its own stem keeps one string for key and value, so a lookup that
        # finds the key has the value in the same cache line (the cache is large and, in a
        # batch, mostly cold). Interning all stems was tried: its table is colder still.
        if stem == token:
            stem = token
        self[token] = stem
        return stem


def _stem(word: str) -> str:
    """A crude suffix stripper: enough to match 'profit' with 'profits'."""
    if word[-1:] != "s":
        return word  # most words: decided without the tests below
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


_STEMS = _StemCache()


def content_words(text: str) -> frozenset[str]:
    """Stemmed, lower-cased words of `text` without stop words."""
    return frozenset(article_words([text]).stems[0])


class ArticleWords(NamedTuple):
    """The word counts the rules need, from one pass over an article's sentences."""

    stems: list[list[str]]  # each sentence's distinct content stems, in order of occurrence
    lengths: list[int]  # each sentence's number of words
    shared: list[int]  # each sentence's sum over its stems of the sentences that hold them
    symbols: list[int]  # each sentence's characters among CODE_SYMBOLS
    numbers: list[int]  # each sentence's tokens that are numbers (NUMBER)


def article_words_py(texts: Sequence[str]) -> ArticleWords:
    """The reference for digest/text/_stems.c: one `_STEMS` lookup per token."""
    stem = _STEMS.__getitem__
    split = [text.split() for text in texts]
    stems = [list(dict.fromkeys(filter(None, map(stem, tokens)))) for tokens in split]
    holding = Counter(chain.from_iterable(stems)).__getitem__
    return ArticleWords(
        stems,
        list(map(len, split)),
        [sum(map(holding, s)) for s in stems],
        [sum(map(text.count, CODE_SYMBOLS)) for text in texts],
        [sum(1 for token in tokens if NUMBER.match(token)) for tokens in split],
    )


def article_words_c(texts: Sequence[str]) -> ArticleWords:
    """The same in C: plain ASCII tokens never touch the stem cache, which is too large to
    stay in the CPU's caches between articles; other tokens are looked up in it."""
    return ArticleWords._make(_stems.article_words(texts, _STEMS))


try:  # built from digest/text/_stems.c at install when a C compiler is there (hatch_build.py)
    from digest.text import _stems
except ImportError:  # nothing could be compiled: the Python stems, the same output
    HAVE_C_STEMS = False
else:
    HAVE_C_STEMS = True
    _stems.configure(_STOPWORDS, _STRIP, CODE_SYMBOLS, NUMBER_CHARS)

article_words = article_words_c if HAVE_C_STEMS else article_words_py
