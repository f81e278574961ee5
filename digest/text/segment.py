"""Rule-based paragraph and sentence splitting.

One precompiled regex finds every candidate sentence end (terminal punctuation, optional
closing quotes or brackets, whitespace, then something that can open a sentence); a few
cheap rules then reject the candidates that are abbreviations, initials or acronyms.
Decimals, money, URLs and e-mail addresses never match, because their dots are not
followed by whitespace. CJK full stops end a sentence without any whitespace.

With a language (`segment(text, "de")`) the rules know its abbreviations ("bzw.", "Sig.",
"bl.a."), and, where ordinals are written with a full stop (German, the Nordic languages,
Finnish, Czech, Polish), that "des 20. Jahrhunderts" goes on. In any language a quotation
that a sentence goes on after (« Prêts. Vraiment », a-t-il dit) is not split, and a short
line without a full stop that the next line continues in lower case is one sentence with it.
benchmarks/segmentation.py measures the rules against pysbd and sentencex.
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

_CLOSERS = "\"'”’»“)]}"
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
_CLOSE = rf"(?: ?»)?[{re.escape(_CLOSERS)}]*"  # French sets a space before »
_THEN_OPENING = rf" (?=(?:« )?[{re.escape(_OPENERS)}]*[^\W_a-zß-ÿа-я])"
_CANDIDATE_END = re.compile(
    rf"[.!?…。！？](?:(?<=[.!?…])[.!?…]*{_CLOSE}{_THEN_OPENING}"
    rf"|(?<=[。！？])[。！？]*[{re.escape(_CLOSERS)}」』]* ?)"
)
# The same pattern for the common paragraph whose only terminal mark is the full stop. It
# opens with a literal, which the engine finds with a tight scan several times faster than
# testing each character against a class.
_PERIOD_END = re.compile(rf"\.[.]*{_CLOSE}{_THEN_OPENING}")
# Quotation marks that open and the marks that close them: a sentence end inside an open
# quotation is no end when the sentence goes on after it (a comma, a lower-case word).
_QUOTES = {"«": "»", "“": "”", "„": "“", "‚": "‘", "「": "」", "『": "』"}
_GOES_ON = re.compile(r"\s?[,;:]|\s[a-zß-ÿа-я]")
# Who said it, in brackets after the quotation: “It works.” (Clemens) — the quote's own.
_ATTRIBUTION = re.compile(r"\([^()]{1,40}\)\)?(?:[.,;]|\s+[—–-]\s|\s*$)")
_OTHER_MARKS = "!?…。！？"
_TERMINAL = re.compile(r"[.!?…。！？:;][\"'”’»)\]]*\s*$")
_SHORT_LINE_WORDS = 8
_INITIAL = re.compile(r"^[(\[\"'“‘]*[A-Z]$")
_DOTTED_ACRONYM = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")
# A dateline's agency tag: "(AP) —", "(Reuters) -".
_AGENCY_TAG = re.compile(r"\([A-Z][\w.& ]{0,24}\) [—–-]")
# A single capital and "!" is a name ("E! News"), not the end of a sentence.
_BRAND_MARK = re.compile(r"(?:^|(?<= ))[A-HJ-Z]!")
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


class Rules(NamedTuple):
    """What one language changes in the splitting."""

    never_final: frozenset[str]  # abbreviations, lower case, without their final stop
    openers: frozenset[str]  # words that open a sentence after an abbreviation or ordinal
    ordinal_dots: bool = False  # "am 3. Oktober": a number's full stop is an ordinal's


# Abbreviations of each language that (almost) never end a sentence; the English ones hold
# for every language (names of titles and months are borrowed widely). Dotted forms ("bl.a")
# are written as they appear before their last stop.
_MONTHS = "jan feb mar apr jun jul aug sep sept oct okt nov dec dez"
_LANGUAGE_ABBREVIATIONS = {
    "de": f"""{_MONTHS} bzw ca dipl evtl ggf inkl insb jh jhd kap lt max min mind mio mrd nr
        od sog str tel urspr vgl zzgl zt abs abt allg bzgl bspw eigtl einschl erg gegr gem
        hrsg hl hr fr frl z.b d.h u.a u.ä s.u s.o o.ä bzw z.t i.d.r m.e""",
    "fr": f"""{_MONTHS} janv févr avr juil déc m mm mme mmes mlle mlles pr me st ste av env
        cf chap éd ex fig p pp vol no t art""",
    "es": f"""{_MONTHS} ene abr ago dic sr sres sra srta dr dra d dña ud uds pág págs núm
        aprox art avda cía ej fig lic prof tel vol""",
    "it": f"""{_MONTHS} gen mag giu lug ago set ott dic sig sigg dott prof avv ing geom rag pag
        pagg n nn ecc es fig tel vol cap art sec""",
    "pt": f"""{_MONTHS} fev abr mai ago set out dez sr sra srta dra prof pág págs núm art av
        aprox tel vol""",
    "nl": f"""{_MONTHS} mrt mei dhr mevr mr drs ir ing prof bijv blz ca nr enz vgl jl art st
        mw o.a e.d m.b.t d.w.z""",
    "sv": f"""{_MONTHS} maj ca nr kl dvs osv resp jfr ang avd tel bl.a t.ex m.fl s.k t.o.m
        m.m""",
    "da": f"""{_MONTHS} maj ca nr kl dvs osv fx evt hhv iflg inkl jf mv pga tlf ang avd bl.a
        f.eks m.fl""",
    "nb": f"""{_MONTHS} mai des ca nr kl dvs osv evt hhv iflg inkl jf mv pga tlf ang avd bl.a
        f.eks m.fl""",
    "fi": f"""{_MONTHS} esim ns mm ks vrt jne tms nk n""",
    "pl": f"""{_MONTHS} np ok tj tzn ul nr godz r w wg dr prof mgr inż""",
    "cs": f"""{_MONTHS} např tj tzv resp atd apod č str ul""",
    "ru": f"""{_MONTHS} т.е т.к т.д т.п г гг ул д им др см стр""",
}
# Words that open a sentence after an ordinal's number: "Sie stieg auf 20. Das ist viel."
_LANGUAGE_OPENERS = {
    "de": """der die das den dem des ein eine einen einem er sie es wir ich ihr man dies diese
        dieser dieses doch aber auch und dann da nun so wie was wer wenn als in im am an auf
        aus bei mit nach seit von vor zu zum zur für nicht kein keine bis heute damit dabei
        daher deshalb trotzdem außerdem jetzt hier dort""",
    "da": """den det de der en et han hun vi jeg du man men og så da nu i på til for med
        efter som hvis når ikke""",
    "nb": """den det de der en et han hun vi jeg du man men og så da nå i på til for med
        etter som hvis når ikke""",
    "fi": """se ne hän he me minä tämä nyt myös mutta ja kun jos""",
    "pl": """to w na i ale jak gdy też już on ona oni my""",
    "cs": """to ten ta je v na a ale když také už on ona oni my""",
}
_ORDINAL_DOTS = frozenset({"de", "da", "nb", "fi", "pl", "cs"})
_DEFAULT_RULES = Rules(_NEVER_FINAL, _SENTENCE_OPENERS)
RULES = {
    language: Rules(
        _NEVER_FINAL | _wordset(words),
        _SENTENCE_OPENERS | _wordset(_LANGUAGE_OPENERS.get(language, "")),
        language in _ORDINAL_DOTS,
    )
    for language, words in _LANGUAGE_ABBREVIATIONS.items()
}


def rules_for(language: str) -> Rules:
    return RULES.get(language, _DEFAULT_RULES)


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
    lines = part.splitlines()
    for index, line in enumerate(lines):
        words = line.split()
        current.extend(words)
        if (
            words
            and len(words) < _SHORT_LINE_WORDS
            and not _TERMINAL.search(line)
            and not _continued(lines, index)
        ):
            blocks.append(current)
            current = []
    blocks.append(current)
    return blocks


def _continued(lines: list[str], index: int) -> bool:
    """The next line goes on with this one's sentence: it opens in lower case (a line
    break inside a sentence), after a line that does not end in a colon."""
    after = lines[index + 1].lstrip() if index + 1 < len(lines) else ""
    return bool(after) and after[0].islower() and not lines[index].rstrip().endswith(":")


def split_sentences(text: str, language: str = "") -> list[str]:
    """Sentences of `text`; paragraph breaks always end a sentence."""
    rules = rules_for(language)
    return [s for p in split_paragraphs(text) for s in _split_paragraph(p, rules)]


def segment(text: str, language: str = "") -> list[Sentence]:
    """Sentences of `text` with their article and paragraph positions. `language` (ISO
    639-1) adds its abbreviations and ordinals to the rules."""
    rules = rules_for(language)
    sentences: list[Sentence] = []
    for p_index, paragraph in enumerate(split_paragraphs(text)):
        split = _split_paragraph(paragraph, rules)
        fields = zip(split, count(len(sentences)), repeat(p_index), count())
        sentences.extend(map(_new_sentence, fields))
    return sentences


def _split_paragraph(paragraph: str, rules: Rules = _DEFAULT_RULES) -> list[str]:
    sentences: list[str] = []
    start = 0
    has_other_marks = any(map(paragraph.__contains__, _OTHER_MARKS))
    quoted: bool | None = None  # whether the paragraph holds a quotation: asked at an end
    for match in (_CANDIDATE_END if has_other_marks else _PERIOD_END).finditer(paragraph):
        first, end = match.span()
        if paragraph[first] in _CJK_MARKS:
            stop = end - 1 if paragraph[end - 1] == " " else end  # without the space after
        elif (
            end - first == 2
            and paragraph[first] == "."
            and not _period_ends(paragraph, first, start, rules)
        ):
            continue  # a lone period right before the space: maybe an abbreviation
        elif paragraph[first] == "!" and _BRAND_MARK.match(paragraph, max(0, first - 1)):
            continue  # "E! News": the mark is part of a name
        else:
            stop = end - 1  # "!", "?", "...", or a period inside a closing quote/bracket
        if quoted is None:
            quoted = any(map(paragraph.__contains__, _QUOTES))
        if quoted and _inside_quotation(paragraph, start, end):
            continue
        if paragraph.startswith("(", end) and _ATTRIBUTION.match(paragraph, end):
            continue
        sentences.append(paragraph[start:stop])
        start = end
    if start < len(paragraph):
        sentences.append(paragraph[start:])
    return sentences


def _inside_quotation(paragraph: str, start: int, end: int) -> bool:
    """The candidate end is inside a quotation opened in this sentence, and the sentence
    goes on after the quotation closes: « Nous sommes prêts. Vraiment », a dit le maire."""
    for opening, closing in _QUOTES.items():
        opened = paragraph.rfind(opening, start, end)
        if opened < 0 or paragraph.find(closing, opened + 1, end - 1) >= 0:
            continue  # no quotation open here
        closed = paragraph.find(closing, end)
        if closed >= 0 and _GOES_ON.match(paragraph, closed + 1):
            return True
    return False


def _period_ends(paragraph: str, period: int, start: int, rules: Rules = _DEFAULT_RULES) -> bool:
    """Reject a period that really ends an abbreviation, an initial or an acronym, a
    dateline ("ST. JOSEPH, Mich. (AP) —"), a day number ("Am 12. September") or, in a
    language that writes them so, an ordinal ("des 20. Jahrhunderts")."""
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
    if rules.ordinal_dots and len(token) < 4 and token.isdigit():
        return _next_word(paragraph, period + 2) in rules.openers
    word = token.lstrip(_OPENERS).lower()
    # The length and "." tests are necessary for the regexes to match: most tokens skip them.
    if word in rules.never_final or (len(word) == 1 and _INITIAL.match(token)):
        return False
    if word in _MAYBE_FINAL or ("." in word and _DOTTED_ACRONYM.match(word)):
        return _next_word(paragraph, period + 2) in rules.openers
    return True


def _next_word(paragraph: str, position: int) -> str:
    found = _NEXT_WORD.match(paragraph, position)
    return found.group(1).lower() if found else ""
