"""Extractive summaries by explicit, weighted rules.

Every rule is a small function from a sentence (and the article's statistics) to a number,
usually in [0, 1]; `WEIGHTS` is the one table that says how much each rule counts. A
sentence's score is the weighted sum. Sentences are then picked greedily, each pick
penalised by its overlap with those already chosen (`redundancy`), and printed in document
order. A sentence that opens with a dangling reference is only used together with the
sentence before it, or, when the reference is a mere connective ("But", "However,"),
rewritten without it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from digest.models import Summary
from digest.segment import Sentence, segment

# The one table of weights. Positive rules reward, negative weights penalise.
WEIGHTS: dict[str, float] = {
    "lead": 2.0,  # the article's first sentence: what happened
    "early": 0.6,  # decays with the sentence's position in the article
    "paragraph_start": 0.3,  # a paragraph's first sentence carries its topic
    "title_overlap": 0.8,
    "centrality": 1.5,  # shares many words with the rest of the article
    "keyword_density": 0.5,
    "numbers": 0.2,
    "named_things": 0.3,
    "length": 0.6,  # too short or too long is penalised (rule returns <= 0)
    "quote": -0.3,
    "question": -1.0,
    "aside": -0.8,
    "fragment": -3.0,  # no terminal punctuation: a heading, caption or page furniture
    "redundancy": -2.0,  # applied while picking: overlap with sentences already chosen
}


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORD = re.compile(r"\w+")
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'’-]*")
_NUMBER = re.compile(r"\d")
_TERMINAL = re.compile(r"[.!?…。！？][\"'”’»)\]]*$")
_QUOTE_OPEN = re.compile(r"^[\"“‘«]|^'(?=\w)")
_ASIDE = re.compile(r"^[(\[]|[:;]$|^(?:Note|Update|Correction|Editor'?s note)\b", re.IGNORECASE)

_CONNECTIVES = (
    "and|but|or|so|yet|however|also|still|meanwhile|moreover|furthermore|nevertheless|"
    "nonetheless|instead|indeed|besides|then|thus|therefore|hence|additionally|similarly|"
    "likewise|otherwise|again|now"
)
_REFERENCES = "he|she|it|they|this|that|these|those|his|her|its|their|them|such|both"
_DANGLING_CONNECTIVE = re.compile(r"^[\"“‘]?(?:" + _CONNECTIVES + r")\b(?:\s*,)?\s*", re.IGNORECASE)
_DANGLING_REFERENCE = re.compile(r"^[\"“‘]?(?:" + _REFERENCES + r")\b(?!')", re.IGNORECASE)

_STOPWORDS = _wordset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours out over own same she should so some such than that the their theirs them
    then there these they this those through to too under until up very was we were what when
    where which while who whom why will with would you your yours said says say told s t
    one two new year years last first people would could may might must shall also mr mrs
    ms dr"""
)


@dataclass(frozen=True, slots=True)
class ScoredSentence:
    """A sentence with its score by rule, for `--explain`."""

    sentence: Sentence
    scores: dict[str, float]  # rule name -> weighted contribution

    @property
    def total(self) -> float:
        return sum(self.scores.values())


@dataclass(frozen=True, slots=True)
class Explanation:
    """Every sentence's scores, the chosen indices and the summary they make."""

    scored: tuple[ScoredSentence, ...]
    chosen: tuple[int, ...]  # sentence indices, in document order
    summary: Summary
    notes: dict[int, str]  # sentence index -> why it was added or rewritten


@dataclass(frozen=True, slots=True)
class _Article:
    """What the rules need to know about the whole article."""

    sentences: tuple[Sentence, ...]
    words: tuple[frozenset[str], ...]  # content stems of each sentence
    lengths: tuple[int, ...]  # word count of each sentence
    title_words: frozenset[str]
    doc_freq: Counter[str]  # stem -> number of sentences it occurs in
    keywords: frozenset[str]
    max_centrality: float


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A crude suffix stripper: enough to match 'profit' with 'profits'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def content_words(text: str) -> frozenset[str]:
    """Lower-cased, stemmed words of `text` without stop words."""
    return frozenset(
        _stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and len(w) > 1
    )


def opens_with_dangling_reference(sentence: str) -> bool:
    """True when `sentence` leans on the one before it ("But ...", "He said ...")."""
    return bool(_DANGLING_CONNECTIVE.match(sentence) or _DANGLING_REFERENCE.match(sentence))


# --- The rules. Each takes the sentence index and the article; returns a raw value. ---


def lead(i: int, art: _Article) -> float:
    return 1.0 if i == 0 else 0.0


def early(i: int, art: _Article) -> float:
    return 1.0 / (1.0 + i)


def paragraph_start(i: int, art: _Article) -> float:
    return 1.0 if art.sentences[i].position_in_paragraph == 0 else 0.0


def title_overlap(i: int, art: _Article) -> float:
    if not art.title_words:
        return 0.0
    return len(art.words[i] & art.title_words) / len(art.title_words)


def centrality(i: int, art: _Article) -> float:
    """How many other sentences share this sentence's words (length-damped)."""
    if art.max_centrality == 0:
        return 0.0
    return _raw_centrality(art.words[i], art.doc_freq) / art.max_centrality


def keyword_density(i: int, art: _Article) -> float:
    words = art.words[i]
    return len(words & art.keywords) / len(words) if words else 0.0


def numbers(i: int, art: _Article) -> float:
    return 1.0 if _NUMBER.search(art.sentences[i].text) else 0.0


def named_things(i: int, art: _Article) -> float:
    names = len(_CAPITALISED.findall(art.sentences[i].text))
    return min(names, 4) / 4.0


def length(i: int, art: _Article) -> float:
    """0 for 12-45 words, falling towards -1 outside that band."""
    n = art.lengths[i]
    if n < 12:
        return -(12 - n) / 12.0
    if n > 45:
        return -min(1.0, (n - 45) / 45.0)
    return 0.0


def quote(i: int, art: _Article) -> float:
    return 1.0 if _QUOTE_OPEN.match(art.sentences[i].text) else 0.0


def question(i: int, art: _Article) -> float:
    return 1.0 if art.sentences[i].text.rstrip("\"'”’)").endswith("?") else 0.0


def aside(i: int, art: _Article) -> float:
    return 1.0 if _ASIDE.search(art.sentences[i].text) else 0.0


def fragment(i: int, art: _Article) -> float:
    return 0.0 if _TERMINAL.search(art.sentences[i].text) else 1.0


RULES: dict[str, Callable[[int, _Article], float]] = {
    "lead": lead,
    "early": early,
    "paragraph_start": paragraph_start,
    "title_overlap": title_overlap,
    "centrality": centrality,
    "keyword_density": keyword_density,
    "numbers": numbers,
    "named_things": named_things,
    "length": length,
    "quote": quote,
    "question": question,
    "aside": aside,
    "fragment": fragment,
}


def redundancy(words: frozenset[str], chosen: Sequence[frozenset[str]]) -> float:
    """Largest share of this sentence's words already said by a chosen sentence."""
    if not words or not chosen:
        return 0.0
    return max(len(words & other) for other in chosen) / len(words)


# --- Putting it together. ---


def summarize(text: str, title: str = "", sentences: int = 3) -> Summary:
    """The `sentences` best sentences of `text`, in document order."""
    return explain(text, title, sentences).summary


def explain(text: str, title: str = "", sentences: int = 3) -> Explanation:
    """Score every sentence by every rule, pick the summary, and say why."""
    return explain_sentences(segment(text), title, sentences)


def explain_sentences(
    sents: Sequence[Sentence], title: str = "", sentences: int = 3
) -> Explanation:
    """As `explain`, on sentences already split (the benchmark feeds all methods the same)."""
    art = _analyse(sents, title)
    scored = tuple(_score(i, art) for i in range(len(sents)))
    chosen, notes = _pick(scored, art, sentences)
    texts = tuple(_final_text(i, chosen, notes, art) for i in chosen)
    return Explanation(scored, chosen, Summary(texts), notes)


def _analyse(sents: Sequence[Sentence], title: str) -> _Article:
    words = tuple(content_words(s.text) for s in sents)
    doc_freq: Counter[str] = Counter()
    for w in words:
        doc_freq.update(w)
    keywords = frozenset(w for w, n in doc_freq.most_common(10) if n > 1)
    max_centrality = max((_raw_centrality(w, doc_freq) for w in words), default=0.0)
    return _Article(
        sentences=tuple(sents),
        words=words,
        lengths=tuple(len(s.text.split()) for s in sents),
        title_words=content_words(title),
        doc_freq=doc_freq,
        keywords=keywords,
        max_centrality=max_centrality,
    )


def _raw_centrality(words: frozenset[str], doc_freq: Counter[str]) -> float:
    shared = sum(doc_freq[w] for w in words) - len(words)
    return shared / math.log(len(words) + 2)


def _score(i: int, art: _Article) -> ScoredSentence:
    scores = {name: WEIGHTS[name] * rule(i, art) for name, rule in RULES.items()}
    return ScoredSentence(art.sentences[i], scores)


def _pick(
    scored: Sequence[ScoredSentence], art: _Article, k: int
) -> tuple[tuple[int, ...], dict[int, str]]:
    """Greedy choice with a redundancy penalty; dangling openers need their antecedent."""
    chosen: list[int] = []
    notes: dict[int, str] = {}
    while len(chosen) < k:
        best = _best_candidate(scored, art, chosen, k - len(chosen))
        if best is None:
            break
        index, penalty = best
        if penalty:
            notes[index] = f"redundancy {penalty:+.2f}"
        needs_antecedent = _needs_antecedent(index, chosen, art)
        if needs_antecedent:
            chosen.append(index - 1)
            notes[index - 1] = f"added as the antecedent of sentence {index}"
        chosen.append(index)
    return tuple(sorted(chosen)), notes


def _best_candidate(
    scored: Sequence[ScoredSentence], art: _Article, chosen: list[int], room: int
) -> tuple[int, float] | None:
    chosen_words = [art.words[c] for c in chosen]
    best: tuple[float, int, float] | None = None
    for i, item in enumerate(scored):
        if i in chosen:
            continue
        if _needs_antecedent(i, chosen, art) and (room < 2 or i - 1 in chosen):
            continue
        penalty = WEIGHTS["redundancy"] * redundancy(art.words[i], chosen_words)
        value = item.total + penalty
        if _needs_antecedent(i, chosen, art):
            value = (value + scored[i - 1].total) / 2  # the pair competes as one pick
        if best is None or value > best[0]:
            best = (value, i, penalty)
    return None if best is None else (best[1], best[2])


def _needs_antecedent(i: int, chosen: Sequence[int], art: _Article) -> bool:
    """A sentence opening with a pronoun or demonstrative needs the sentence before it."""
    if i == 0 or i - 1 in chosen:
        return False
    text = _without_connective(art.sentences[i].text)
    return opens_with_dangling_reference(text)


def _without_connective(text: str) -> str:
    match = _DANGLING_CONNECTIVE.match(text)
    if not match or match.end() >= len(text):
        return text
    rest = text[match.end() :]
    return rest[0].upper() + rest[1:]


def _final_text(i: int, chosen: Sequence[int], notes: dict[int, str], art: _Article) -> str:
    """Drop a leading connective whose antecedent is not in the summary."""
    text = art.sentences[i].text
    if i - 1 in chosen:
        return text
    rewritten = _without_connective(text)
    if rewritten != text:
        notes[i] = (notes.get(i, "") + "; " if i in notes else "") + "dropped the connective"
    return rewritten
