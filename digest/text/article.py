"""What the summarizer's rules and picker need to know about an article, computed once:
its sentences, their words and stems, where it opens, where it states its point (the news
lede, or the nut graf after a scene-setting one), whether it is English, the names it
introduces, and each sentence's flaws as a blurb sentence (asked for lazily: only the
picker's candidates need them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from digest.text.feed_furniture import unfit_sentences
from digest.text.lede import Headline, Lede, headline, judge_lede
from digest.text.opening import opening
from digest.text.quality import flaws, is_english
from digest.text.reading import reading_words
from digest.text.segment import Sentence
from digest.text.standalone import Names
from digest.text.words import article_words, content_words


@dataclass(frozen=True, slots=True)
class Article:
    """What the rules need to know about the article, computed once."""

    sentences: tuple[Sentence, ...]
    texts: tuple[str, ...]  # each sentence's text: cheaper to reach than Sentence.text
    lengths: tuple[int, ...]  # each sentence's number of words
    content: tuple[list[str], ...]  # each sentence's distinct content stems
    title_words: frozenset[str]
    headline: Headline  # the headline's words (first letters) and figures, for matching
    shared: tuple[int, ...]  # each sentence's sum over its stems of the sentences holding them
    start: int  # the opening sentence: the first that is not a heading, byline or dateline
    lede: Lede  # where the point is stated: `start`, or the nut graf after a scene-setting one
    names: Names
    unfit: frozenset[int] = frozenset()  # code, tables, promotions: never picked
    # Sentence -> its content stems as a set, made when first asked for: only the picker's
    # candidates need one, and a set per sentence would cost more than the rules.
    _word_sets: dict[int, frozenset[str]] = field(default_factory=dict, repr=False)
    _flaws: dict[int, tuple[str, ...]] = field(default_factory=dict, repr=False)
    _english: list[bool] = field(default_factory=list, repr=False)  # told once asked

    @property
    def english(self) -> bool:
        """Whether the text is English (the verb test knows English only)."""
        if not self._english:
            self._english.append(is_english(self.texts))
        return self._english[0]

    def reading(self, index: int) -> float:
        """The sentence's length against a word budget: its reading time in words
        (digest/text/reading.py), its number of words except in scripts written without
        spaces. Asked of the picks only: most articles have no such script to look for."""
        text = self.texts[index]
        return self.lengths[index] if text.isascii() else reading_words(text)

    @property
    def point(self) -> int:
        return self.lede.point

    def words(self, index: int) -> frozenset[str]:
        """The sentence's content stems as a set."""
        sets = self._word_sets
        if index not in sets:
            sets[index] = frozenset(self.content[index])
        return sets[index]

    def flaws(self, index: int) -> tuple[str, ...]:
        """Why the sentence is not fit for a blurb (`digest.text.quality`); empty if it is."""
        found = self._flaws
        if index not in found:
            found[index] = flaws(self.texts[index], lambda: self.english)
        return found[index]


def analyse(sents: Sequence[Sentence], title: str) -> Article:
    texts = tuple([s.text for s in sents])
    words = article_words(texts)
    content = tuple(words.stems)
    start = opening(sents, words.lengths, content)
    names = Names(texts, title)
    found: dict[int, tuple[str, ...]] = {}
    english: list[bool] = []

    def is_english_text() -> bool:
        if not english:
            english.append(is_english(texts))
        return english[0]

    def clean(index: int) -> bool:
        if index not in found:
            found[index] = flaws(texts[index], is_english_text)
        return not found[index]

    title_words = content_words(title)
    said = headline(title, title_words)
    lede = judge_lede(sents, words.lengths, content, start, said, clean, names, is_english_text)
    return Article(
        tuple(sents),
        texts,
        tuple(words.lengths),
        content,
        title_words,
        said,
        tuple(words.shared),
        start,
        lede,
        names,
        unfit_sentences(texts, words),
        _flaws=found,
        _english=english,
    )
