"""News lede or scene-setting? And if the second, which sentence states the point.

A news story opens with what happened: who did what, with the headline's words, a name, a
figure, a reporting or result verb. Features, reviews and opinion pieces often open with an
anecdote, background, a question, a quotation or a line addressed to the reader, and state
their point a few sentences later, often after a turn ("But now...", "That changed
when..."): journalists call that sentence the nut graf. A blurb made of the scene-setting
opening reads well and says nothing; one made of the nut graf says what the article is about.

`judge_lede` looks at the opening and at the sentences after it. The opening is judged
scene-setting only when it shows a scene-setting trait, shares little with the headline,
and a later sentence states the point clearly better (`_MARGIN`): a news lede stays first,
and so does any opening when no sentence after it is better. The headline is matched by
the first letters of its words (two for Hangul, whose words carry their particles), without
the function words of the languages digest knows, so the test works in any language with
spaces; the traits that need English words (a line to the reader, the first person, a
background sentence, an anecdote) are asked of English text only, and in any language an
opening that shares nothing with the headline gives way to a sentence that states it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from digest.text.language import FUNCTION_WORDS
from digest.text.segment import Sentence
from digest.text.standalone import (
    Names,
    demonstrative_noun,
    leans_back,
    opens_with_dangling_reference,
    opens_with_speaker_label,
)
from digest.text.words import content_words


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


NUT_SEARCH = 10  # the nut graf comes within this many sentences of the opening
_NUT_PARAGRAPHS = 5  # ... and within this many paragraphs of it
_TITLE_NEWS = 0.5  # an opening with this share of the headline's words is news
_LEANS = "leans on something before it"
_BACKGROUND_TITLE = 0.25  # one with less, no name, figure or reporting verb is background
_MARGIN = 0.9  # how much more pointed than the opening the nut graf must be
_MIN_POINT = 1.0  # and how pointed it must be at least
_NUT_TITLE = 0.2  # and it must share this much with the headline: it is about the story
_NUT_WORDS = (10, 50)  # a nut graf's length in words
_LONG_NUT = 35  # words: a longer nut graf is a mouthful for a blurb
_MIN_TITLE_WORDS = 2  # a one-word title ("Newsletter") says nothing about the story
_PREFIX = 6  # letters that stand for a word when matching the headline ("hibernat-")
_HANGUL_PREFIX = 2  # syllables: a Korean word carries its particles ("이유리의", "이유리는")
_SHORT_HOOK = 6  # words: an opening this short, without a figure, is a hook ("X is burning.")
# Little words of the other languages digest knows: no headline word in any of them.
_FOREIGN_FUNCTION_WORDS = frozenset().union(
    *(words for language, words in FUNCTION_WORDS.items() if language != "en")
)

# Words only the opening of a piece for the reader uses, outside quotation marks.
_READER = _wordset("you your you're you’re you've you’ve yourself imagine")  # lower case
_FIRST_PERSON = _wordset("I I'm I’m I've I’ve my My me Me we We our Our us Us")
_TOKEN_STRIP = "\"'“”‘’«»()[]{}.,;:!?…—–-*"
_QUOTED = re.compile(r"[\"“”][^\"“”]*[\"“”]|‘[^‘’]*’")
_QUOTE_OPENER = frozenset('"“‘«„')
# A reporting or result verb: what a news sentence has and a scene rarely does. Looked up
# word by word (a pattern of sixty alternatives costs more than the rest of the lede test).
_REPORTING_WORDS = _wordset(
    """said says say told tells suggests suggested argues argued considered considering expects
    expected estimates estimated predicts predicted announced announces announcing reported
    reports revealed reveals confirmed confirms found finds showed shows shown published
    publishes launched launches released releases unveiled unveils introduced introduces
    created creates discovered discovers won wins beat lost died killed arrested arrests
    charged charges sentenced convicted pleaded accused accuses dropped approved approves
    rejected rejects agreed signed signs voted elected resigned resigns sued ruled banned
    warned warns urged urges blamed blames admitted denied claimed claims investigating
    investigated investigates scored defeated drew clinched secured sealed edged"""
)
_REPORTING_PHRASES = ("according to", "plans to", "plan to", "set to", "became the", "become the")
_PERFECT = re.compile(r"\bha(?:s|ve|d) (?:been|[a-z]+ed)\b")
_LOWER_WORD = re.compile(r"[a-z]+")
_DATELINE = re.compile(
    r"^(?:[A-Z][A-Z .,'-]{2,40}\s)?(?:\([A-Z][\w.& ]{0,24}\)\s*)?[—–-]\s|^\(\w+\)"
)
_FIGURE = re.compile(r"\d")
_NAME = re.compile(r"(?<= )[A-Z]")  # a capital after the first word: a name, mostly
# The turn from the scene to the point.
_TURN = re.compile(
    r"""^[\"“‘]?(?:
        but\s(?:now|today|this|last|on|in\s(?:\d|january|february|march|april|may|june|july|
        august|september|october|november|december))|now,?\s|today,?\s|this\s(?:week|month|year),?\s|
        that\s(?:changed|is\schanging|all\schanged|may\sbe\sabout\sto\schange|was\sbefore)|
        until\s(?:now|recently)|not\sanymore|no\slonger|enter\s|in\ssearch\sof|the\sresult
    )""",
    re.I | re.X,
)
# A story told from a moment in time: "Three years ago, over breakfast, ...", "One morning
# in May", "Last summer", "When I was", "It was a cold night".
_ANECDOTE = re.compile(
    r"^(?:(?:\w+|a few|many) (?:years|months|weeks|days|decades) ago\b|(?:one|that|last|early"
    r"|late) (?:morning|afternoon|evening|night|day|summer|winter|spring|autumn|fall)\b|when i "
    r"(?:was|first)\b|it was (?:a|the|late|early|just)\b|once upon)",
    re.I,
)
_FIGURE_TOKEN = re.compile(r"\d[\d.,:/%-]*\d|\d")
# What a scene, a setup or a forecast says instead of what happened: "was supposed to be a
# limited agreement", "for years", "forecasters warn", "is likely to"; and the relative days
# a weekly digest cannot use ("launches tomorrow"). Looked up, not matched with patterns:
# a pattern of alternatives tries each at every letter.
_SETUP = (
    "supposed to",
    "meant to",
    "used to be",
    "for years",
    "for decades",
    "has long been",
    "no secret",
    "forecaster",
    "is likely to",
    "are likely to",
    "is expected to",
    "are expected to",
)
_RELATIVE_DAY = _wordset("tomorrow tonight yesterday")
# When a news lede says it happened: a weekday or a month.
_WHEN = re.compile(
    r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b|\b(?:January|February|March|April|May|June"
    r"|July|August|September|October|November|December)\b"
)
_YEAR = re.compile(r"(?:19|20)\d\d")


@dataclass(frozen=True, slots=True)
class Lede:
    """Where the article's point is stated, and why."""

    opening: int  # the article's opening sentence
    point: int  # the sentence that states the point: the opening for a news lede
    scene: tuple[str, ...] = ()  # why the opening was judged scene-setting (empty: news)
    nut: tuple[str, ...] = ()  # why `point` was taken instead

    @property
    def scene_setting(self) -> bool:
        return self.point != self.opening


@dataclass(frozen=True, slots=True)
class Headline:
    """What the headline says, as the sentences are matched against it."""

    words: frozenset[str] = frozenset()  # its words' first letters (`headline`)
    figures: frozenset[str] = frozenset()  # its figures: "112-107", "300", "2020"

    def share(self, stems: Sequence[str]) -> float:
        """The share of the headline's words a sentence with these content stems holds."""
        if not self.words:
            return 0.0
        return len(self.words.intersection(_prefixes(stems))) / len(self.words)

    def names(self, noun: str) -> bool:
        """Whether the headline has the word `noun` ("bar" for "this bar")."""
        return bool(noun) and not self.words.isdisjoint(map(_prefix, content_words(noun)))

    def new_words(self, stems: Sequence[str], told: Sequence[Sequence[str]]) -> int:
        """How many of the headline's words a sentence holds that the sentences `told` do not."""
        held = self.words.intersection(_prefixes(stems))
        for other in told:
            held = held.difference(_prefixes(other))
        return len(held)


def headline(title: str, title_stems: frozenset[str]) -> Headline:
    """The headline's words, cut to their first letters so that "hibernating" meets
    "hibernation" (none for a title of one word, which names a column, not the story), and
    its figures."""
    words = frozenset(_prefixes(title_stems.difference(_FOREIGN_FUNCTION_WORDS)))
    figures = frozenset(
        figure for figure in _FIGURE_TOKEN.findall(title) if not _YEAR.fullmatch(figure)
    )
    return Headline(words if len(words) >= _MIN_TITLE_WORDS else frozenset(), figures)


def _prefix(stem: str) -> str:
    """The stem without -ed or -ing, cut to its first letters: "warned" meets "warns"."""
    if "\uac00" <= stem[0] <= "\ud7a3":
        return stem[:_HANGUL_PREFIX]
    if len(stem) > 5 and stem.endswith("ed"):
        stem = stem[:-2]
    elif len(stem) > 6 and stem.endswith("ing"):
        stem = stem[:-3]
    return stem[:_PREFIX]


_PREFIXES: dict[str, str] = {}  # stem -> its first letters (`_prefix`), as met
_PREFIXES_LIMIT = 200_000


def _prefixes(stems: Collection[str]) -> set[str]:
    """The stems' first letters: a plain dict finds the stems met before (one with
    `__missing__` costs more per lookup); the others are cut and kept."""
    try:
        return set(map(_PREFIXES.__getitem__, stems))
    except KeyError:
        if len(_PREFIXES) > _PREFIXES_LIMIT:
            _PREFIXES.clear()
        _PREFIXES.update((stem, _prefix(stem)) for stem in stems if stem not in _PREFIXES)
        return set(map(_PREFIXES.__getitem__, stems))


@dataclass(frozen=True, slots=True)
class _Traits:
    title_share: float
    reporting: bool
    figure: bool
    headline_figure: bool
    names: int
    dateline: bool
    turn: bool

    @property
    def point(self) -> float:
        """How plainly the sentence states news: the headline's words count most, then its
        figures (the score, the price). (Names tell news from a scene, in `scene_traits`; a
        nut graf needs none.)"""
        return (
            2.0 * self.title_share
            + 0.6 * self.reporting
            + 0.3 * self.figure
            + 0.5 * self.headline_figure
            + 0.5 * self.dateline
            + 0.6 * self.turn
        )

    def reasons(self) -> tuple[str, ...]:
        found = [f"{self.title_share:.0%} of the headline's words"] if self.title_share else []
        found += ["a reporting or result verb"] if self.reporting else []
        found += ["the headline's figure"] if self.headline_figure else []
        found += ["a figure"] if self.figure and not self.headline_figure else []
        found += [f"{self.names} name{'s' if self.names > 1 else ''}"] if self.names else []
        found += ["the turn from scene to point"] if self.turn else []
        return tuple(found)


def _traits(text: str, stems: Sequence[str], title: Headline) -> _Traits:
    figure = bool(_FIGURE.search(text))
    return _Traits(
        title_share=title.share(stems),
        reporting=reports(text),
        figure=figure,
        headline_figure=figure
        and bool(title.figures)
        and not title.figures.isdisjoint(_FIGURE_TOKEN.findall(text)),
        names=len(_NAME.findall(text)),
        dateline=bool(_DATELINE.match(text)),
        turn=bool(_TURN.match(text)),
    )


def reports(text: str) -> bool:
    """A reporting or result verb, a perfect ("has been", "have launched") or a phrase."""
    lower = text.lower()
    if not _REPORTING_WORDS.isdisjoint(_LOWER_WORD.findall(lower)):
        return True
    if any(phrase in lower for phrase in _REPORTING_PHRASES):
        return True
    return ("has " in lower or "have " in lower or "had " in lower) and bool(_PERFECT.search(lower))


def scene_traits(
    text: str, title_share: float, english: Callable[[], bool], title: Headline
) -> tuple[str, ...]:
    """What makes an opening read as scene-setting rather than news. In any language: a
    quotation, a question, a speaker's line, a sentence that leans on one before it, none
    of the headline's figures (the score, the price) and no day or report either (a
    feature's opening), and (outside English, where `_english_traits` say more) nothing of
    the headline. The English traits are asked first, and `english` only when one of them
    is found."""
    found: list[str] = []
    if title.figures and not (_FIGURE.search(text) or _WHEN.search(text) or reports(text)):
        found.append("none of the headline's figures")
    if text[:1] in _QUOTE_OPENER:
        found.append("opens with a quotation")
    if text.rstrip("\"'”’)»").endswith("?"):
        found.append("a question")
    if opens_with_speaker_label(text):
        found.append("a speaker's line")
    if opens_with_dangling_reference(text):
        found.append(_LEANS)
    english_only = _english_traits(text, title_share)
    if english_only or not title_share:
        if english():
            found += english_only
        elif not title_share:
            found.append("nothing of the headline")
    return tuple(found)


def _english_traits(text: str, title_share: float) -> list[str]:
    """Scene-setting traits told by English words (the slower tests only when the cheaper
    ones leave it open)."""
    unquoted = _QUOTED.sub("", text) if '"' in text or "“" in text or "‘" in text else text
    found: list[str] = []
    words = {word.strip(_TOKEN_STRIP) for word in unquoted.split()}
    if not _READER.isdisjoint(word.lower() for word in words) or "picture this" in text.lower():
        found.append("addresses the reader")
    if not _FIRST_PERSON.isdisjoint(words):
        found.append("in the first person")
    if _ANECDOTE.match(text):
        found.append("an anecdote")
    if text.startswith("Welcome to "):
        found.append("addresses the reader")
    lower = text.lower()
    if any(phrase in lower for phrase in _SETUP):
        found.append("a setup or a forecast, not what happened")
    if not _RELATIVE_DAY.isdisjoint(_LOWER_WORD.findall(lower)):
        found.append("a relative day ('today'), which a weekly digest cannot use")
    if title_share >= _BACKGROUND_TITLE or _FIGURE.search(text):
        return found
    if text.count(" ") < _SHORT_HOOK and not reports(text):
        found.append("a short hook")
    elif not (_NAME.search(text) or reports(text)):
        found.append("no name, figure or reporting verb, little of the headline: background")
    return found


def nut_candidate(text: str, n_words: int, english: bool, title: Headline) -> bool:
    """A sentence that could state the point on its own: a statement of fair length, not a
    quotation, a question, a speaker's line, a line to the reader or one that leans on the
    one before it (unless the headline names what it points at: "this bar")."""
    if not _NUT_WORDS[0] <= n_words <= _NUT_WORDS[1] or text[:1] in _QUOTE_OPENER:
        return False
    if text.rstrip("\"'”’)»")[-1:] not in ".!":
        return False
    if leans_back(text) and not title.names(demonstrative_noun(text)):
        return False
    if opens_with_speaker_label(text):
        return False
    if not english:
        return True
    words = {word.strip(_TOKEN_STRIP) for word in _QUOTED.sub("", text).split()}
    return _READER.isdisjoint(word.lower() for word in words) and _FIRST_PERSON.isdisjoint(words)


def judge_lede(
    sents: Sequence[Sentence],
    lengths: Sequence[int],
    stems: Sequence[Sequence[str]],
    start: int,
    title: Headline,
    clean: Callable[[int], bool],
    names: Names,
    english: Callable[[], bool],
) -> Lede:
    """The opening `start`, or the nut graf when the opening only sets the scene. `stems`
    are each sentence's content stems (`digest.text.words`), `title` what the headline says,
    `clean` says whether a sentence is fit for a blurb, `names` finds surnames given in full
    before, `english` whether the text is English (some scene-setting traits are English)."""
    if not sents:
        return Lede(0, 0)
    if not clean(start):  # a link, a call to action, a row: the lede is the next clean one
        after = next((i for i in range(start + 1, len(sents)) if clean(i)), start)
        return Lede(start, after, ("not fit for a blurb",), ("the first clean sentence after it",))
    share = title.share(stems[start])
    if not title.words or share >= _TITLE_NEWS:
        return Lede(start, start)
    scene = scene_traits(sents[start].text, share, english, title)
    if not scene:
        return Lede(start, start)
    found = _nut_graf(sents, lengths, stems, start, title, clean, names, english())
    opening = _traits(sents[start].text, stems[start], title)
    # An opening that leans on something before it cannot open a blurb at all: a sentence
    # as pointed that stands alone replaces it.
    margin = 0.0 if _LEANS in scene else _MARGIN
    if found is None or not _MIN_POINT <= found[1].point >= opening.point + margin:
        return Lede(start, start)
    return Lede(start, found[0], scene, found[1].reasons())


def _nut_graf(
    sents: Sequence[Sentence],
    lengths: Sequence[int],
    stems: Sequence[Sequence[str]],
    start: int,
    title: Headline,
    clean: Callable[[int], bool],
    names: Names,
    english: bool,
) -> tuple[int, _Traits] | None:
    """The sentence after the opening that states the point best, and its traits. (The
    slow tests, fit for a blurb and no surname left unexplained, are asked only of a
    sentence that would be the best so far.)"""
    best: tuple[float, int, _Traits] | None = None
    last_paragraph = sents[start].paragraph + _NUT_PARAGRAPHS
    for i in range(start + 1, min(len(sents), start + 1 + NUT_SEARCH)):
        sentence = sents[i]
        if sentence.paragraph > last_paragraph:
            break
        if title.share(stems[i]) < _NUT_TITLE:
            continue
        if not nut_candidate(sentence.text, lengths[i], english, title):
            continue
        traits = _traits(sentence.text, stems[i], title)
        preference = (
            traits.point
            + 0.2 * (sentence.position_in_paragraph == 0)  # the nut graf after the anecdote
            - 0.1 * (i - start)  # of two as good, the first
            - 0.3 * (lengths[i] > _LONG_NUT)  # of two as good, the one easier to read
        )
        if best is not None and preference <= best[0]:
            continue
        if clean(i) and not names.references(i):
            best = (preference, i, traits)
    return None if best is None else (best[1], best[2])
