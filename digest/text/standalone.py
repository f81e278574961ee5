"""Can a sentence stand alone, out of its article? What it leans on when it cannot.

A blurb is read without the article, so a picked sentence must not point at something the
reader never saw: a pronoun or demonstrative opener ("He said", "This is"), a bare
connective ("But", "However,"), an epithet standing for someone named before ("The singer",
"The 34-year-old"), or a surname whose full name came earlier ("Taylor" after "Martin
Taylor"). The summarizer takes such a sentence with what it refers to, or leaves it out;
a leading connective is dropped when the sentence before is not in the summary.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CONNECTIVES = (
    "and|but|or|so|yet|however|also|still|meanwhile|moreover|furthermore|nevertheless|"
    "nonetheless|instead|indeed|besides|then|thus|therefore|hence|additionally|similarly|"
    "likewise|otherwise|again|finally|lastly|secondly|thirdly|for example|for instance|"
    "in addition|in fact|after all|of course|in short|in other words|as a result|in response|"
    "amid all this|amid this|despite this|because of this|to that end|even so|on top of that"
)
_REFERENCES = "he|she|it|they|his|her|its|their|them|such|both"
_DEMONSTRATIVES = "this|that|these|those"
# "This week", "that morning": a demonstrative before a time word points at the calendar,
# not at a sentence before it.
_DEICTIC_TIMES = (
    "week|weekend|month|year|morning|afternoon|evening|night|season|spring|summer|autumn|"
    "fall|winter|time|day|days|weeks|months|years"
)
# Connectives and pronouns that open a sentence leaning on the one before, in the other
# languages digest knows (lower case; words that are also names or articles, such as
# German "das" or Spanish "Ella", are left out): Korean, Russian, Portuguese, Italian,
# Spanish, French, German, Dutch.
_FOREIGN_CONNECTIVES = _wordset(
    """하지만 그러나 그런데 그래서 그리고 다만 또한 또 더구나 게다가 물론 따라서 그러므로 결국 반면
    한편 но однако а и также поэтому зато впрочем mas porém contudo entretanto também além
    então ma però tuttavia inoltre quindi pero además también mais cependant pourtant
    toutefois donc e y aber doch jedoch außerdem deshalb trotzdem maar echter daarom"""
)
_FOREIGN_REFERENCES = _wordset(
    """그는 그녀는 그건 그것은 그게 이는 이것은 이런 이러한 그런 그러한 그 он она они оно это этот
    эта эти ele eles elas isso isto esse essa lui loro questo questa quello quella él ellos
    esto eso elle ils elles cela er dies diese dieser hij zij"""
)
_FOREIGN_LEANING = _FOREIGN_CONNECTIVES | _FOREIGN_REFERENCES
# A speaker's label opening a line of a transcript or an interview: "Eugênio: Estamos...",
# "Anna Smith: We..." (one or two capitalised words; all capitals is a dateline or a
# letter's salutation, "WASHINGTON:", "DEAR ABBY:").
_SPEAKER_LABEL = re.compile(r"^[^\W\d_][^\s:,.;!?]{1,24}(?: [^\W\d_][^\s:,.;!?]{1,24})?: \S")
# A phrase that sets the time or the source before the subject: "According to reports, this
# bar is...", "On Monday, he said" lean on what came before as much as "This bar is".
_LEADING_PHRASE = re.compile(
    r"^(?:According to [^,]{1,40}|(?:In|On|At|By|Last|Earlier|Later|Since|Until)\b[^,]{0,30}), "
)
_DEMONSTRATIVE_NOUN = re.compile(r"^[\"“‘]?(?:this|these|that|those) ([\w’'-]+)", re.I)
_PHRASE_OPENERS = frozenset(("according", "in", "on", "at", "by", "last", "earlier", "later"))
# The first words of the patterns below: a sentence opening with any other word is decided
# without them.
_OPENERS = frozenset(
    word.split()[0] for word in f"{_CONNECTIVES}|{_REFERENCES}|{_DEMONSTRATIVES}".split("|")
)
# The connective must be followed by a comma or a space: "So-called" is not "So".
_LEADING_CONNECTIVE = re.compile(r"^([\"“‘]?)(?:" + _CONNECTIVES + r")(?:,\s*|\s+)", re.IGNORECASE)
_LEADING_REFERENCE = re.compile(
    rf"^[\"“‘]?(?:(?:{_REFERENCES})\b(?!['’])|(?:{_DEMONSTRATIVES})\b(?!['’])"
    rf"(?!\s+(?:\w+\s+)?(?:{_DEICTIC_TIMES})\b))",
    re.IGNORECASE,
)
# Nouns a report uses for someone or something it has named before ("the singer", "the
# row"), when no name follows them.
_EPITHETS = (
    "singer|star|actor|actress|rapper|musician|band|player|striker|midfielder|defender|"
    "goalkeeper|winger|manager|coach|boss|minister|chancellor|senator|lawmaker|politician|"
    "leader|company|firm|group|club|team|side|couple|pair|duo|trio|row|move|decision|deal|"
    "incident|victim|suspect|comedian|presenter|host|billionaire|tycoon|mogul|businessman|"
    "businesswoman|veteran|legend|champion|author|writer|director|filmmaker|producer|artist|"
    "model|spokesman|spokeswoman|spokesperson|official|father|mother|son|daughter|"
    "teenager|man|woman|boy|girl|pop star|\\d+-year-old"
)
# The epithet must be the subject: a verb or a relative clause follows ("The singer said",
# "The company, which"), not a noun it qualifies ("The group stage") or a name ("The singer
# Adele").
_SUBJECT_GOES_ON = (
    r"(?:\s(?:has|have|had|is|was|are|were|will|would|could|can|may|might|must|did|does|met|"
    r"made|took|got|won|lost|left|went|came|told|said|[a-z]+ed|[a-z]+[^s\W]s)\b|,\s(?:which|who)\b)"
)
_EPITHET_OPENER = re.compile(
    rf"^[\"“‘]?The\s(?:[\w-]+\s){{0,2}}?(?:{_EPITHETS})(?:s)?(?={_SUBJECT_GOES_ON})"
)
# A capitalised word ("Taylor", "McDonald", "Street-Porter"); a first name and a surname
# make a full name ("Martin Taylor", "Liu Xiaming").
_NAME_WORD = r"[A-Z][a-z]+(?:[A-Z][a-z]+)?(?:-[A-Z][a-z]+)?"
# No \b in front: a pattern that opens with a character class is scanned for in C (twice as
# fast); a match inside a word ("iPhone") is skipped by hand.
_CAPITALISED = re.compile(rf"{_NAME_WORD}\b")
# One not followed by another ("Taylor said", not "Rod" of "Rod Eddington"): a surname alone.
_LONE_CAPITALISED = re.compile(rf"{_NAME_WORD}\b(?! [A-Z])")
_NAME_WORD_ALONE = re.compile(_NAME_WORD)
_TITLES = frozenset(("Mr", "Mrs", "Ms", "Miss", "Dr", "Prof", "Sir", "Dame", "Lord", "Lady"))
# Capitalised words that open or join a sequence without being a first name.
_NOT_FIRST_NAMES = _wordset(
    """The A An In On At As If But And Or When After Before Since While Mr Mrs Ms Miss Dr
    Sir Lord Lady Prof Rep Sen Gov President Prime Minister Chancellor Secretary Judge
    Captain General Chief Former Then Now So Yet For From With By To Of This That These
    Those It He She They We I His Her Their Our Its Monday Tuesday Wednesday Thursday Friday
    Saturday Sunday January February March April May June July August September October
    November December Last Next According Meanwhile However North South East West New"""
)


def _first_word(text: str) -> str:
    """The first word, lower case, without an opening quotation mark or a comma."""
    end = text.find(" ", 0, 40)
    return text[: end if end > 0 else 40].lstrip('"“‘').rstrip(",").lower()


def opens_with_dangling_reference(sentence: str) -> bool:
    """True when `sentence` leans on the one before it ("But ...", "He said ...")."""
    first = _first_word(sentence)
    if first not in _OPENERS:
        return first in _FOREIGN_LEANING  # most sentences: decided without the patterns
    return bool(_LEADING_CONNECTIVE.match(sentence) or _LEADING_REFERENCE.match(sentence))


def leans_back(text: str) -> bool:
    """A pronoun, demonstrative or epithet opener, once any connective is dropped: the
    sentence needs the one before it."""
    first = _first_word(text)
    if first == "the":
        return bool(_EPITHET_OPENER.match(text))
    if first in _PHRASE_OPENERS and (phrase := _LEADING_PHRASE.match(text)):
        return bool(_LEADING_REFERENCE.match(text[phrase.end() :]))
    if first not in _OPENERS:
        if first in _FOREIGN_CONNECTIVES:
            return _first_word(_drop_first_word(text)) in _FOREIGN_REFERENCES
        return first in _FOREIGN_REFERENCES
    bare = _drop_connective(text)
    return bool(_LEADING_REFERENCE.match(bare) or _EPITHET_OPENER.match(bare))


def demonstrative_noun(text: str) -> str:
    """The noun a leading demonstrative points with ("this bar" in "According to reports,
    this bar is..."), or "": when the headline names it, the reader knows which."""
    if (phrase := _LEADING_PHRASE.match(text)) is not None:
        text = text[phrase.end() :]
    match = _DEMONSTRATIVE_NOUN.match(text)
    return match.group(1) if match else ""


def opens_with_speaker_label(text: str) -> bool:
    """A line of a transcript: a name and a colon, then what they said."""
    match = _SPEAKER_LABEL.match(text)
    if match is None:
        return False
    label = text[: match.end() - 3]
    return not label.isupper() and not any(word[0].islower() for word in label.split())


def without_connective(text: str) -> str:
    """`text` without a leading "But", "However," or "For example," (or "Mas", "하지만")."""
    first = _first_word(text)
    if first in _OPENERS:
        return _drop_connective(text)
    return _drop_first_word(text) if first in _FOREIGN_CONNECTIVES else text


def _drop_first_word(text: str) -> str:
    """`text` from its second word, capitalised: a foreign connective dropped."""
    rest = text.split(" ", 1)[1] if " " in text else ""
    if not rest:
        return text
    quote = text[0] if text[0] in '"“‘«' else ""
    return quote + rest[0].upper() + rest[1:]


def _drop_connective(text: str) -> str:
    match = _LEADING_CONNECTIVE.match(text)
    if not match or match.end() >= len(text):
        return text
    rest = text[match.end() :]
    return match.group(1) + rest[0].upper() + rest[1:]


class Names:
    """Surnames that stand alone in a sentence, and the earlier sentence that gave their
    full name ("Taylor" in sentence 6, "Martin Taylor" in sentence 2)."""

    def __init__(self, texts: Sequence[str], title: str) -> None:
        self.texts = texts
        self._title = title
        self._title_words: frozenset[str] | None = None  # made when first asked for
        self._references: dict[int, tuple[Reference, ...]] = {}
        # surname -> (sentences read, its introduction among them)
        self._first: dict[str, tuple[int, tuple[int, str] | None]] = {}

    @property
    def title(self) -> frozenset[str]:
        """The title's capitalised words, lower-cased."""
        if self._title_words is None:
            found = _CAPITALISED.findall(self._title) if self._title else []
            self._title_words = frozenset(word.lower() for word in found)
        return self._title_words

    def references(self, index: int) -> tuple[Reference, ...]:
        """Surnames in sentence `index` whose full name only an earlier sentence gives (and
        the title does not)."""
        if index in self._references:
            return self._references[index]
        text = self.texts[index]
        found: list[Reference] = []
        title = self.title
        for match in _LONE_CAPITALISED.finditer(text) if index else ():
            word = match.group()
            if word in _NOT_FIRST_NAMES:
                continue
            at, end = match.span()
            if at and (text[at - 1].isalnum() or text[at - 1] in "-'’"):
                continue  # inside a word
            if text[end : end + 1] == " " and text[end + 1 : end + 2].isupper():
                continue  # a first name ("Rod" of "Rod Eddington"), not a surname alone
            if _inside_a_name(text, at) or word.lower() in title:
                continue  # "Australian Open" is not "Open" from "French Open"
            intro = self._introduction(word, index)
            if intro is not None and intro[1] not in text:
                found.append(Reference(word, *intro))
        self._references[index] = refs = tuple(found)
        return refs

    def _introduction(self, surname: str, before: int) -> tuple[int, str] | None:
        """The first sentence before `before` that gives `surname` after a first name. The
        sentences are read once per surname, as far as asked (the picks come early)."""
        read, found = self._first.get(surname, (0, None))
        if found is None and read < before:
            found = self._first_full(surname, read, before)
            self._first[surname] = (before, found)
        return found if found is not None and found[0] < before else None

    def _first_full(self, surname: str, start: int, stop: int) -> tuple[int, str] | None:
        """The first sentence from `start` to `stop` that gives `surname` after a first name,
        and the full name."""
        needle = " " + surname
        for i in range(start, min(stop, len(self.texts))):
            text = self.texts[i]
            at = text.find(needle)
            while at > 0:
                end = at + len(needle)
                if end == len(text) or not (text[end].isalnum() or text[end] in "-'’"):
                    first = text[text.rfind(" ", 0, at) + 1 : at]
                    if _NAME_WORD_ALONE.fullmatch(first) and first not in _NOT_FIRST_NAMES:
                        return i, f"{first} {surname}"
                at = text.find(needle, end)
        return None

    def unexplained(self, index: int, told: Sequence[int]) -> list[Reference]:
        """The references of sentence `index` that the sentences `told` do not explain."""
        return [
            ref
            for ref in self.references(index)
            if ref.sentence not in told and not any(ref.full in self.texts[t] for t in told)
        ]


class Reference(NamedTuple):
    """A surname standing alone, and where its full name was given."""

    surname: str
    sentence: int
    full: str


def _inside_a_name(text: str, at: int) -> bool:
    """The word at `at` follows a capitalised word other than a title ("Mr", "Dr")."""
    if at < 2 or text[at - 1] != " ":
        return False  # the sentence's first word, or after a quotation mark
    previous = text[text.rfind(" ", 0, at - 1) + 1 : at - 1].rstrip(".")
    return previous[:1].isupper() and previous not in _TITLES
