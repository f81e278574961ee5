"""A chosen sentence as a blurb shows it: the story, without what only the page needed.

Dropped wherever the sentence stands: a dateline ("WASHINGTON (AP) —", "[엔터미디어=기자]",
"(서울=연합뉴스)"), a site credited before the story ("Example.com — "), a footnote marker
("(1)."), a section's label run into the sentence ("Summary Studies show..."). When the
sentence before it is not in the blurb: a leading connective ("But",
"However,", "Mas") and the turn from a scene it no longer follows ("Now ESA has...", "In
search of answers, a team..."). In a blurb with a word budget: the capitals glossing a name
the blurb does not use again ("The New York State Attorney General (NYAG) is..."), and in a
sentence longer than the budget on its own (the first pick is kept whole: a long lede is
still the lede) what a reader can do without: bracketed asides, a pair of dashes, the
description after a name ("Ascom, a global provider of ..., announced"), a "which" clause
set off by commas. Each rewrite is noted, for `digest summarize --explain`. Extractive
still: words are only taken away.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from digest.text.standalone import without_connective
from digest.text.words import content_words

# "WASHINGTON (AP) — ", "ST. JOSEPH, Mich. (AP) — ", "(Reuters) — ", "(CNN) ", "LONDON — ":
# where and from whom the story was filed; a blurb starts with the story.
_DATELINE = re.compile(
    r"^(?:[A-Z][A-Z.'’ -]{1,30}(?:,\s[A-Z][\w.]*(?:\s[A-Z][\w.]*){0,2})?\s)?"
    r"(?:\([A-Z][\w.&' ]{0,24}\)\s*(?:[—–-]+\s+)?|[—–-]+\s+)(?=[\"“‘]?[A-Z0-9])"
)
_DATELINE_PLACE = re.compile(r"^[A-Z][A-Z.'’ -]{1,30}(?:,|\s[—–-]|\s\()")
# The dateline of Korean and Chinese news: the outlet and the reporter in brackets,
# "[엔터미디어=정덕현의 이슈공감] ", "(서울=연합뉴스) ", "【新华社】".
_BRACKETED_CREDIT = re.compile(
    r"^(?:[\[(][^\[\]()=]{1,30}=[^\[\]()]{1,40}[\])]|【[^【】]{1,40}】)\s*"
)
# A site credited before the story: "PanARMENIAN.Net - ", "Example.com — ".
_SOURCE = re.compile(r"^[A-Za-z][\w-]*(?:\.[A-Za-z]{2,6}){1,2}\s[—–-]+\s+(?=[\"“‘]?[A-Z0-9])")
# A footnote or reference marker before the full stop: "... in the United States (1)."
_FOOTNOTE = re.compile(r"\s?(?:\(\d{1,3}\)|\[\d{1,3}\])(?=[.!?][\"'”’)]*$)")
# The capitals that gloss a name: "Binge eating disorder (BED)", "Intensive Care Units
# (ICUs)".
_GLOSS = re.compile(r" \(([A-Z][A-Z0-9&]{1,7})s?\)")
# The turn from a scene to the point, when the scene is not in the blurb: "Now ESA has",
# "Today, the", "In search of answers, a team" (not "Now that ...", a clause of its own).
_TURN = re.compile(r"^(?:Now,? (?!that\b)|Today, |In search of [\w ’'-]{1,30}, )(?=[\"“‘]?\w)")
# A section's label run into its first sentence: "Summary Studies show that..." (the page's
# line break lost). Told from a name by the label's opening other sentences of the article
# too, before other words each time.
_GLUED_LABEL = re.compile(r"[A-Z][a-z]{2,15} (?=[A-Z][a-z])")
_LABEL_REPEATS = 2  # a label opens more sentences than this, before as many other words
# What a long sentence can do without.
_ASIDE = re.compile(r" \([^()]{1,150}\)(?=[\s,.;:!?”’\"])")
_DASHED = re.compile(r" [—–] [^—–]{1,120} [—–](?= )")
_APPOSITIVE = re.compile(
    r"^((?:[A-Z][\w’'&.-]*)(?: [A-Z][\w’'&.-]*){0,3}), (?:a|an|the) [^,;()]{3,100}, (?=[a-z])"
)
_WHICH = re.compile(r", which [^,;()]{3,200}, (?=([a-z]+))")
_REPORTING = frozenset(("said", "says", "told", "according"))


def shown(
    text: str, alone: bool, budget: int | None, others: Sequence[str], article: Sequence[str]
) -> tuple[str, str]:
    """The sentence `text` as the blurb shows it, and a note of what was dropped ("" if
    nothing). `alone`: the sentence before it is not in the blurb; `budget`: the blurb's
    words, if it has a budget; `others`: the blurb's other sentences; `article`: all the
    article's sentences."""
    dropped: list[str] = []
    text = _without_credit(text, dropped)
    if (label := _GLUED_LABEL.match(text)) and _repeated_label(label.group(), article):
        text = text[label.end() :]
        dropped.append(f"the section label '{label.group().strip()}'")
    if (text[-2:-1] == ")" or text[-2:-1] == "]") and (footnote := _FOOTNOTE.search(text)):
        text = text[: footnote.start()] + text[footnote.end() :]
        dropped.append("a footnote marker")
    if alone:
        rewritten = without_connective(text)
        if rewritten != text:
            text = rewritten
            dropped.append("the leading connective")
        if turn := _TURN.match(text):
            text = text[turn.end() :]
            text = text[0].upper() + text[1:]
            dropped.append("the turn from the scene before it")
    if budget is None:
        return text, ", ".join(dropped)
    if " (" in text:
        text = _without_glosses(text, others, dropped)
    if text.count(" ") >= budget:
        text = _shortened(text, budget, dropped)
    return text, ", ".join(dropped)


def _repeated_label(label: str, article: Sequence[str]) -> bool:
    """`label` opens other sentences too, each time before a different capitalised word
    (a name opens them before the same one: "Taylor Swift said", "Taylor Swift sang")."""
    opened = [sentence for sentence in article if sentence.startswith(label)]
    if len(opened) <= _LABEL_REPEATS or not content_words(label):
        return False  # "The", "When": words that open sentences, not labels
    after = {s[len(label) :].split(" ", 1)[0] for s in opened if _GLUED_LABEL.match(s)}
    return len(after) > _LABEL_REPEATS


def _without_credit(text: str, dropped: list[str]) -> str:
    if (dateline := _DATELINE.match(text)) and (text[0] == "(" or _DATELINE_PLACE.match(text)):
        dropped.append("the dateline")
        return text[dateline.end() :]
    if text[0] in "[(【" and (credit := _BRACKETED_CREDIT.match(text)) and credit.end() < len(text):
        dropped.append("the dateline")
        return text[credit.end() :]
    if source := _SOURCE.match(text):
        dropped.append("the source credit")
        return text[source.end() :]
    return text


def _without_glosses(text: str, others: Sequence[str], dropped: list[str]) -> str:
    """Drop "(NYAG)" after the name it abbreviates, unless the blurb uses it again."""
    for gloss in reversed(list(_GLOSS.finditer(text))):
        short = gloss.group(1)
        rest = text[gloss.end() :]
        if short in rest or any(short in other for other in others):
            continue
        text = text[: gloss.start()] + rest
        dropped.append(f"the gloss ({gloss.group(1)})")
    return text


def _shortened(text: str, budget: int, dropped: list[str]) -> str:
    """A sentence over the budget without its asides, one kind at a time, until it fits."""
    for name, pattern, kept in (
        ("bracketed asides", _ASIDE, ""),
        ("the aside between dashes", _DASHED, ""),
        ("the description after a name", _APPOSITIVE, r"\1 "),
        ("the 'which' clause", _WHICH, _after_which),
    ):
        shorter = pattern.sub(kept, text)
        if shorter != text:
            text = shorter
            dropped.append(name)
            if text.count(" ") < budget:
                break
    return text


def _after_which(match: re.Match[str]) -> str:
    """A "which" clause's place: a comma before "said" ("..., said Amnesty"), else a space."""
    return ", " if match.group(1) in _REPORTING else " "
