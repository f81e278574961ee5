"""Picking a summary's sentences from their scores: greedy, with a redundancy penalty.

Only sentences fit for a blurb are candidates (`Article.flaws`: whole, punctuated, with a
verb, no row, link, hashtag or call to action), unless the article has none; a question only
as the opening or right after it; after the first pick, nothing under five words. A sentence that
cannot stand alone (`digest.text.standalone`) comes with the sentence it leans on, as one
pick worth the pair's mean, or not at all. With a word budget the picks are kept in the
order they were made while they fit and follow from the blurb (`Picker.follows`): a blurb
opens with its first pick, and a later sentence either goes on from the one before it or
tells more of the headline's story, never a teaser question, a transcript's line, a repeat
or a non sequitur ("US range is yet to be tested."). A blurb left under half its budget
goes on with the sentence after its last one, so a four-word opening does not make a
four-word blurb; when that sentence will not do, with the finding a few sentences on (a
setup, "X has investigated how...", says what was asked, its finding what was found).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

from digest.text.article import Article
from digest.text.lede import nut_candidate, reports
from digest.text.segment import QUOTE_CLOSERS
from digest.text.standalone import demonstrative_noun, leans_back, opens_with_speaker_label

NEAR_DUPLICATE = 0.8  # share of words already said that makes a sentence a repeat
SHORT_BLURB = 0.5  # a blurb under this share of its word budget goes on with the next sentence
MIN_ADDED = 5  # words: a shorter sentence after the first is a quip ("Wait, what?"), not news
QUIP_CHARACTERS = 25  # ... when it is this short in characters too
TELLING_WORDS = 3  # ... and has fewer content words than this (and no figure)
# A later sentence that does not go on from the one before it in a blurb must hold this
# share of the headline's words, some the blurb does not have yet, and repeat less than
# this share of a sentence in it.
FOLLOWING_HEADLINE = 0.25
FOLLOWING_REPEAT = 0.5
FINDING_SEARCH = 10  # sentences after a short blurb's last one where its finding is looked for


def redundancy(words: frozenset[str], chosen: Sequence[frozenset[str]]) -> float:
    """Largest share of this sentence's words already said by one chosen sentence."""
    if not words or not chosen:
        return 0.0
    return max(map(len, map(words.intersection, chosen))) / len(words)


def pick(
    totals: Sequence[float],
    art: Article,
    k: int,
    words: int | None = None,
    redundancy_weight: float = -0.5,
) -> tuple[tuple[int, ...], dict[int, float], dict[int, str]]:
    """Greedy choice with a redundancy penalty; a dangling opener brings its antecedent.
    With `words`, the picks are kept in the order they were made while they fit in that
    many words (the first always: a long lede is still the lede); none is cut."""
    picker = Picker(totals, art, redundancy_weight, words)
    while len(picker.chosen) < k and picker.room >= 1:
        best = picker.best_candidate(room=k - len(picker.chosen))
        if best is None and not picker.chosen and not picker.allow_flawed:
            picker.allow_flawed = True  # nothing clean in the whole text: take what there is
            continue
        if best is None:
            break
        picker.take(best)
    if words is None:
        return tuple(sorted(picker.chosen)), picker.penalties, picker.notes
    picker.go_on(words, k)
    return tuple(sorted(picker.kept)), picker.penalties, picker.notes


class Picker:
    """Greedy selection state. Candidates are visited by an upper bound on their value (the
    redundancy penalty only lowers it), so each round stops after a few sentences."""

    def __init__(
        self,
        totals: Sequence[float],
        art: Article,
        redundancy_weight: float,
        words: int | None = None,
    ) -> None:
        self.totals = totals
        self.art = art
        self.weight = redundancy_weight
        self.allow_flawed = False
        self.chosen: list[int] = []  # the picks, in the order made
        # With a word budget: the picks kept in the blurb so far, and the words left.
        self.kept: list[int] = []
        self.room = math.inf if words is None else float(words)
        self.penalties: dict[int, float] = {}
        self.notes: dict[int, str] = {}
        self._leaning: dict[int, bool] = {}
        self.bounds = _upper_bounds(totals)
        self.order = sorted(range(len(totals)), key=self.bounds.__getitem__, reverse=True)

    def leaning(self, i: int) -> bool:
        """Opens with a pronoun, demonstrative, connective or epithet (not the opening), unless
        the headline names what a demonstrative points at ("this bar" under a headline
        about an oxygen bar)."""
        if i not in self._leaning:
            text = self.art.texts[i]
            self._leaning[i] = (
                i > self.art.start
                and leans_back(text)
                and not self.art.headline.names(demonstrative_noun(text))
            )
        return self._leaning[i]

    def needs(self, i: int, told: Sequence[int]) -> int | None:
        """The sentence before `i` when `i` leans on it and it is not among `told`."""
        return i - 1 if i - 1 not in told and self.leaning(i) else None

    def unexplained(self, i: int, told: Sequence[int]) -> bool:
        """A surname in `i` whose full name only a sentence not among `told` gives."""
        return i > self.art.start and bool(self.art.names.unexplained(i, told))

    def usable(self, i: int) -> bool:
        """Fit for a blurb; code, tables and promotions never are, even with nothing else."""
        if i in self.art.unfit:
            return False
        return self.allow_flawed or not self.art.flaws(i)

    def quip(self, i: int) -> bool:
        """Too short to add news after the first sentence: "Wait, what?", "Sigh.", "Well,
        sort of." A short sentence that still tells something ("Cars queued for hours.",
        "It carries 300 people.") is news: three content words, or a figure. (Han and kana
        have no spaces: their length in characters counts too.)"""
        text = self.art.texts[i]
        if self.art.lengths[i] >= MIN_ADDED or len(text) >= QUIP_CHARACTERS:
            return False
        if text.rstrip(QUOTE_CLOSERS).endswith(("?", "!")):
            return True
        return len(self.art.content[i]) < TELLING_WORDS and not any(map(str.isdigit, text))

    def stray_question(self, i: int, told: Sequence[int]) -> bool:
        """A question belongs with what comes before it: only the opening, or the sentence
        right after a chosen opening, may be one ("Stadia launches today. Is it...?")."""
        start = self.art.start
        if i == start or (i - 1 == start and start in told):
            return False
        return self.art.texts[i].rstrip(QUOTE_CLOSERS).endswith("?")

    def aside(self, i: int) -> bool:
        """A teaser question or a transcript's line ("Eugênio: ..."): never after a blurb's
        first sentence."""
        text = self.art.texts[i]
        return text.rstrip(QUOTE_CLOSERS).endswith("?") or opens_with_speaker_label(text)

    def follows(self, pick: Sequence[int], kept: Sequence[int]) -> bool:
        """Whether a later pick reads on from the blurb `kept`: it is the sentence after the
        blurb's last one, or it comes after the blurb's first and tells more of the
        headline's story (its words, some of them new to the blurb) without repeating a
        sentence already in it. A sentence before the first pick (the scene before a nut
        graf) never follows."""
        first, art = pick[0], self.art
        if first == max(kept) + 1:
            return True
        if first < min(kept):
            return False
        stems = art.content[pick[-1]]
        if art.headline.share(stems) < FOLLOWING_HEADLINE:
            return False
        if not art.headline.new_words(stems, [art.content[i] for i in kept]):
            return False
        return redundancy(art.words(pick[-1]), [art.words(i) for i in kept]) < FOLLOWING_REPEAT

    def best_candidate(self, room: int) -> tuple[int, float] | None:
        """The best sentence (or pair) to pick next. Flaws and surnames are checked on the
        winner only (the tests are slow and rarely fail): a flawed one, or one whose surname
        would stand unexplained, is passed over and the round run again without it."""
        passed_over: set[int] = set()
        while (best := self._best(room, passed_over)) is not None:
            need = self.needs(best[0], self.chosen)
            told = self.chosen if need is None else [*self.chosen, need]
            if self.kept and self._length(best[0], need) > self.room:
                return best  # it will not be kept: the slow tests can tell nothing more
            if self.usable(best[0]) and not self.unexplained(best[0], told):
                return best
            passed_over.add(best[0])
        return None

    def _length(self, index: int, need: int | None) -> float:
        read = self.art.reading
        return read(index) if need is None else read(index) + read(need)

    def _best(self, room: int, passed_over: set[int]) -> tuple[int, float] | None:
        chosen, totals, bounds, words = self.chosen, self.totals, self.bounds, self.art.words
        chosen_words = [words(c) for c in chosen]
        weight = self.weight
        best: tuple[float, int, float] | None = None
        for i in self.order:
            if best is not None and bounds[i] <= best[0]:
                break
            if i in chosen or i in passed_over or i in self.art.unfit:
                continue
            overlap = redundancy(words(i), chosen_words)
            if overlap >= NEAR_DUPLICATE:
                continue  # says nothing a chosen sentence has not said
            value = totals[i] + weight * overlap
            if best is not None and value <= best[0]:
                paired = (value + totals[i - 1]) / 2 if i > 0 and i - 1 not in chosen else value
                if paired <= best[0]:
                    continue  # cannot win alone or as a pair: spare the tests below
            if self.stray_question(i, chosen) or (chosen and self.quip(i)):
                continue
            need = self.needs(i, chosen)
            if need is not None:
                if room < 2 or not self.usable(need):
                    continue
                value = (value + totals[need]) / 2  # the pair competes as one pick
            if best is None or value > best[0]:
                best = (value, i, weight * overlap)
        return None if best is None else (best[1], best[2])

    def take(self, best: tuple[int, float]) -> None:
        index, penalty = best
        self.penalties[index] = penalty
        need = self.needs(index, self.chosen)
        if need is not None:
            self.chosen.append(need)
            self.notes[need] = f"added as the antecedent of sentence {index}"
        self.chosen.append(index)
        if self.room < math.inf:
            self._keep((index,) if need is None else (need, index))

    def _keep(self, pick: tuple[int, ...]) -> None:
        """With a word budget, the pick joins the blurb if it fits in the words left and
        follows from it (the first always). One that does not is left out, not replaced by
        a weaker sentence, and a sentence that leans on a left-out one goes too."""
        length = sum(map(self.art.reading, pick))
        if self.kept:
            told = [*self.kept, *pick[:-1]]
            leaning = self.needs(pick[-1], told) is not None
            if length > self.room or leaning or self.unexplained(pick[-1], told):
                return
            if self.aside(pick[-1]) or not self.follows(pick, self.kept):
                self.notes[pick[-1]] = "left out: it does not follow from the blurb"
                return
        self.kept.extend(pick)
        self.room -= length

    def go_on(self, words: int, k: int) -> None:
        """A blurb under half its budget goes on with the sentence after its last one, or,
        when that one cannot be taken, with the finding a little further on."""
        while len(self.kept) < k and words - self.room < SHORT_BLURB * words:
            after = self._continuation(self.kept, self.room)
            if after is not None:
                self.notes[after] = "added: the blurb was short, and this sentence goes on from it"
            elif self.kept and (after := self._finding(self.kept, self.room)) is not None:
                self.notes[after] = "added: the blurb was short; this sentence tells its finding"
            else:
                break
            self.kept.append(after)
            self.room -= self.art.reading(after)

    def _finding(self, kept: Sequence[int], room: float) -> int | None:
        """The first sentence soon after a short blurb that tells what its setup announces
        ("ESA has investigated how..." / "The study found the mass could be cut by a
        third..."): a result or reporting verb or a figure, with a headline word the blurb
        does not have yet, no repeat of it, fit to stand alone in the words left."""
        art, last = self.art, max(kept)
        told = [art.content[i] for i in kept]
        for i in range(last + 1, min(len(art.texts), last + 1 + FINDING_SEARCH)):
            if (
                i in art.unfit
                or art.reading(i) > room
                or not art.headline.new_words(art.content[i], told)
            ):
                continue
            text = art.texts[i]
            if not (reports(text) or any(map(str.isdigit, text))):
                continue
            if not nut_candidate(text, art.lengths[i], art.english, art.headline):
                continue  # a quotation, a line to the reader, the writer's aside
            if redundancy(art.words(i), [art.words(j) for j in kept]) >= FOLLOWING_REPEAT:
                continue
            if not self.usable(i) or self.aside(i) or self.quip(i) or self.leaning(i):
                continue
            if not self.unexplained(i, kept):
                return i
        return None

    def _continuation(self, kept: Sequence[int], room: float) -> int | None:
        """The sentence right after the last kept one, when it fits and may be taken."""
        art = self.art
        after = max(kept) + 1 if kept else art.start
        if after >= len(art.texts) or after in kept or art.reading(after) > room:
            return None
        if not self.usable(after) or self.aside(after):
            return None
        if self.quip(after):
            return None
        if self.needs(after, kept) is not None or self.unexplained(after, kept):
            return None
        return after


def _upper_bounds(totals: Sequence[float]) -> list[float]:
    """What each sentence can be worth at best: its total, or its mean with the sentence
    before it, when it has to come as a pair (`max` written out: the call is slow)."""
    pairs = [p if (p := (t + before) / 2) > t else t for before, t in pairwise(totals)]
    return list(totals[:1]) + pairs
