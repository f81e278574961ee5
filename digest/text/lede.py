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
and so does any opening when no sentence after it is better.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from digest.text.segment import Sentence
from digest.text.standalone import Names, leans_back, opens_with_dangling_reference


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
_SUFFIXES = ("ed", "ing")

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
class _Traits:
    title_share: float
    reporting: bool
    figure: bool
    names: int
    dateline: bool
    turn: bool

    @property
    def point(self) -> float:
        """How plainly the sentence states news: the headline's words count most. (Names
        tell news from a scene, in `scene_traits`; a nut graf needs none.)"""
        return (
            2.0 * self.title_share
            + 0.6 * self.reporting
            + 0.3 * self.figure
            + 0.5 * self.dateline
            + 0.6 * self.turn
        )

    def reasons(self) -> tuple[str, ...]:
        found = [f"{self.title_share:.0%} of the headline's words"] if self.title_share else []
        found += ["a reporting or result verb"] if self.reporting else []
        found += ["a figure"] if self.figure else []
        found += [f"{self.names} name{'s' if self.names > 1 else ''}"] if self.names else []
        found += ["the turn from scene to point"] if self.turn else []
        return tuple(found)


def headline_words(title_stems: frozenset[str]) -> frozenset[str]:
    """The headline's content stems cut to their first letters, so that "hibernating" meets
    "hibernation" (none for a title of one word, which names a column, not the story)."""
    prefixes = frozenset(map(_prefix, title_stems))
    return prefixes if len(prefixes) >= _MIN_TITLE_WORDS else frozenset()


def _prefix(stem: str) -> str:
    """The stem without -ed or -ing, cut to its first letters: "warned" meets "warns"."""
    if len(stem) > 5 and stem.endswith("ed"):
        stem = stem[:-2]
    elif len(stem) > 6 and stem.endswith("ing"):
        stem = stem[:-3]
    return stem[:_PREFIX]


def _title_share(stems: Sequence[str], title: frozenset[str]) -> float:
    """The share of the headline's words the sentence holds. (Most stems need no -ed or
    -ing taken off: their first letters are looked up as they are, the others cut.)"""
    if not title:
        return 0.0
    held = {stem[:_PREFIX] for stem in stems}
    held.update(_prefix(stem) for stem in stems if stem.endswith(_SUFFIXES))
    return len(title.intersection(held)) / len(title)


def _traits(text: str, stems: Sequence[str], title: frozenset[str]) -> _Traits:
    share = _title_share(stems, title)
    return _Traits(
        title_share=share,
        reporting=_reports(text),
        figure=bool(_FIGURE.search(text)),
        names=len(_NAME.findall(text)),
        dateline=bool(_DATELINE.match(text)),
        turn=bool(_TURN.match(text)),
    )


def _reports(text: str) -> bool:
    """A reporting or result verb, a perfect ("has been", "have launched") or a phrase."""
    lower = text.lower()
    if not _REPORTING_WORDS.isdisjoint(_LOWER_WORD.findall(lower)):
        return True
    return any(phrase in lower for phrase in _REPORTING_PHRASES) or bool(_PERFECT.search(lower))


def scene_traits(text: str, title_share: float) -> tuple[str, ...]:
    """What makes an opening read as scene-setting rather than news (the slower tests only
    when the cheaper ones leave it open)."""
    unquoted = _QUOTED.sub("", text) if '"' in text or "“" in text or "‘" in text else text
    found: list[str] = []
    if text[:1] in _QUOTE_OPENER:
        found.append("opens with a quotation")
    if text.rstrip("\"'”’)").endswith("?"):
        found.append("a question")
    words = {word.strip(_TOKEN_STRIP) for word in unquoted.split()}
    if not _READER.isdisjoint(word.lower() for word in words) or "picture this" in text.lower():
        found.append("addresses the reader")
    if not _FIRST_PERSON.isdisjoint(words):
        found.append("in the first person")
    if opens_with_dangling_reference(text):
        found.append(_LEANS)
    if title_share < _BACKGROUND_TITLE and not (
        _FIGURE.search(text) or _NAME.search(text) or _reports(text)
    ):
        found.append("no name, figure or reporting verb, little of the headline: background")
    return tuple(found)


def _nut_candidate(text: str, n_words: int) -> bool:
    """A sentence that could state the point on its own: a statement of fair length, not a
    quotation, a question, a line to the reader or one that leans on the one before it."""
    if not _NUT_WORDS[0] <= n_words <= _NUT_WORDS[1] or text[:1] in _QUOTE_OPENER:
        return False
    if text.rstrip("\"'”’)")[-1:] not in ".!" or leans_back(text):
        return False
    words = {word.strip(_TOKEN_STRIP) for word in _QUOTED.sub("", text).split()}
    return _READER.isdisjoint(word.lower() for word in words) and _FIRST_PERSON.isdisjoint(words)


def judge_lede(
    sents: Sequence[Sentence],
    lengths: Sequence[int],
    stems: Sequence[Sequence[str]],
    start: int,
    title_stems: frozenset[str],
    clean: Callable[[int], bool],
    names: Names,
    english: Callable[[], bool],
) -> Lede:
    """The opening `start`, or the nut graf when the opening only sets the scene. `stems`
    are each sentence's content stems (`digest.text.words`), `clean` says whether a sentence
    is fit for a blurb, `names` finds surnames given in full before, `english` whether the
    text is English: the scene-setting traits are English ones, so other languages keep
    their opening."""
    if not sents:
        return Lede(0, 0)
    if not clean(start):  # a link, a call to action, a row: the lede is the next clean one
        after = next((i for i in range(start + 1, len(sents)) if clean(i)), start)
        return Lede(start, after, ("not fit for a blurb",), ("the first clean sentence after it",))
    headline = headline_words(title_stems)
    share = _title_share(stems[start], headline)
    if not headline or share >= _TITLE_NEWS:
        return Lede(start, start)
    scene = scene_traits(sents[start].text, share)
    if not scene or not english():
        return Lede(start, start)
    opening = _traits(sents[start].text, stems[start], headline)
    best: tuple[float, int, _Traits] | None = None
    last_paragraph = sents[start].paragraph + _NUT_PARAGRAPHS
    for i in range(start + 1, min(len(sents), start + 1 + NUT_SEARCH)):
        sentence = sents[i]
        if sentence.paragraph > last_paragraph:
            break
        if not _nut_candidate(sentence.text, lengths[i]) or not clean(i) or names.references(i):
            continue
        traits = _traits(sentence.text, stems[i], headline)
        if traits.title_share < _NUT_TITLE:
            continue
        preference = (
            traits.point
            + 0.2 * (sentence.position_in_paragraph == 0)  # the nut graf after the anecdote
            - 0.1 * (i - start)  # of two as good, the first
            - 0.3 * (lengths[i] > _LONG_NUT)  # of two as good, the one easier to read
        )
        if best is None or preference > best[0]:
            best = (preference, i, traits)
    # An opening that leans on something before it cannot open a blurb at all: a sentence
    # as pointed that stands alone replaces it.
    margin = 0.0 if _LEANS in scene else _MARGIN
    if best is None or not _MIN_POINT <= best[2].point >= opening.point + margin:
        return Lede(start, start)
    return Lede(start, best[1], scene, best[2].reasons())
