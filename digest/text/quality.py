"""Is a sentence fit to stand in a blurb? The flaws an editor would strike.

A blurb holds whole, clean sentences only: never one without terminal punctuation or cut
short ("…", "[...]"), one without a verb (a label, a heading, "Content, not so much."), a
table or ticker row, a price, spec or contact line ("RRP: £23.99 More info: www..."), a
timestamp, hashtags, a sponsorship note or a call to action. `flaws` names what it finds;
the summarizer leaves a flawed sentence out whenever a clean one is there to take.

The verb test knows English only (`is_english`); for other languages only the shape tests
apply (punctuation, rows, contact lines, links).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from digest.text.furniture import is_widget_line, opens_with_call_to_action
from digest.text.segment import QUOTE_CLOSERS, SENTENCE_FINAL


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SHORT_WORDS = 15  # longer sentences have a verb: only short ones are checked for one
_WIDGET_WORDS = 8  # page widgets are shorter than this (the furniture test is slow)
_TAIL = 40  # characters at the end where a cut or a "read more" shows
_ROW_SHARE = 0.3  # share of tokens holding digits that makes a table or ticker row
_ROW_DIGITS = 3
_ENGLISH_SHARE = 0.12  # share of English function words that makes a text English
_ENGLISH_SAMPLE = 60  # words read to tell

_TOKEN_STRIP = "\"'“”‘’«»()[]{}.,;:!?…—–-*"
_FUNCTION_WORDS = _wordset(
    """the a an of to in and is are was were for on that with as by at it this from be have
    has had not but or his her their its they he she we you our will would which who"""
)
# Finite verbs and auxiliaries common enough to tell a clause from a label; any word ending
# in -ed or -ing, or a contraction (n't, 're, 've, 'll, 'm, 'd) counts too.
_VERBS = _wordset(
    """is are was were be been being am isn aren wasn weren has have had hasn haven hadn do
    does did don doesn didn will would can could shall should may might must won wouldn
    couldn shouldn can't cannot say says said tell tells told make makes made get gets got go
    goes went gone come comes came take takes took see sees saw know knows knew think thinks
    thought give gives gave find finds found want wants need needs seem seems become becomes
    became let lets put puts keep keeps kept begin begins began show shows hear hears run
    runs ran hold holds held bring brings brought write writes wrote sit sits sat stand
    stands stood lose loses lost pay pays paid meet meets met include includes lead leads led
    mean means meant leave leaves left feel feels felt set sets win wins won buy buys bought
    send sends sent build builds built spend spends spent grow grows grew fall falls fell cut
    cuts rise rises rose hit hits read reads beat beats sell sells sold try tries tell look
    looks like likes love loves work works play plays move moves live lives believe believes
    happen happens call calls ask asks use uses wait waits stay stays remain remains add adds
    offer offers launch launches turn turns start starts help helps allow allows expect
    expects plan plans face faces hope hopes aim aims claim claims warn warns urge urges cost
    costs broke fought caught taught sought chose drove flew threw ate drank spoke rang sang
    hung shot struck swore tore wore woke slept fled dealt"""
)
_SUBJECTS = _wordset("i you he she it we they who which that")
_VERBLESS_LOWERCASE = 4  # a verbless line this short in small words is a label, not a clause
# Words a verb does not follow: after these, a word in -s is a plural noun.
_NOT_BEFORE_VERBS = _wordset(
    """the a an of to in on for with and or by at from his her their its our your my some many
    more most these those all two three four five several other new"""
)
_VERB_EXCEPTIONS = _wordset(
    """thing things nothing something anything everything morning mornings evening evenings
    during king kings ring rings spring wing wings sibling siblings ceiling building
    buildings wedding weddings bedding heading headings ping red bed need speed seed feed
    hundred indeed shed sacred naked wicked bred breed greed weed deed"""
)
_CONTRACTION = re.compile(r"\w(?:n['’]t|['’](?:re|ve|ll|m|d))\b", re.I)
_DIGITS = re.compile(r"\d")
_FIGURES = re.compile(r"\d+")
_ASCII_FIGURES = re.compile(r"[0-9]+")  # the same for ASCII text, twice as fast
_PHONE_DIGITS = 8  # digits a phone number has at least
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_LINK = re.compile(
    r"https?://|www\.|\b[\w.-]+@[\w-]+\.\w|pic\.twitter\.com|\b\w+\.(?:com|org|net)/"
)
# "Att: 50,430 Ref: S Dunn": two short labels, one of them before a figure, make a spec line.
_LABEL = re.compile(r"(?:^|\s)[A-Z][\w’']*(?:\s[\w’']+)?:\s(?=([£$€\d]|www)?)")
_PRICE_OR_CONTACT = re.compile(
    r"\b(?:RRP|MSRP|tel|phone|fax|e-?mail|price|prices from|more info|tickets|opening hours)\s*:",
    re.I,
)
_PHONE = re.compile(r"(?:\+|\b)\d{2,4}[ ()./-]{1,2}\d{3,4}[ ./-]\d{3,4}\b")
_TIME = re.compile(r"\b\d{1,2}(?::\d{2})?\s?(?:[ap]\.?m\.?|GMT|UTC|BST|[ECMP][SD]T)(?!\w)", re.I)
_DATE_OR_TIME = re.compile(
    r"\b\d{1,2}:\d{2}\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*\.? \d{1,2}\b", re.I
)
_TIMESTAMP_WORDS = 8
_LETTERS = re.compile(r"[^\W\d_]{2,}")
_DATE_WORDS = _wordset(
    """updated published posted modified last at on am pm gmt utc bst est edt cst cdt pst pdt
    jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june
    july august september october november december monday tuesday wednesday thursday friday
    saturday sunday"""
)
_HASHTAG = re.compile(r"(?:^|\s)#[^\W\d_][\w]*")
_TRAILING_HASHTAG = re.compile(r"#[^\W\d_]\w*\W*$")
# "This post is sponsored by", "Sponsored by", "Detta inlägg är sponsrat av": a note about
# the piece itself, not news about a sponsorship deal.
_SPONSORED = re.compile(
    r"""^(?:sponsored|brought\sto\syou\sby|in\spartnership\swith|paid\s(?:partnership|post))\b
    | \b(?:this|today['’]s)\s(?:post|article|episode|video|story|newsletter|issue|podcast|
      show|content)\b.{0,30}\b(?:sponsor\w*|brought\sto\syou|supported\sby|in\spartnership)
    | \baffiliate\slinks?\b | \bpaid\s(?:partnership|promotion)\b
    | \b(?:inlägg|innlegg|indlæg|artikel|beitrag|artículo|artigo|article|billet)\b.{0,20}
      \b(?:sponsrat|sponset|sponsoreret|gesponsert|patrocinad[oa]|sponsorisé)""",
    re.I | re.X,
)
_SPONSOR_WORDS = 20
# A call to action at the end of a line: "Continue reading →", "Read more »", "Leia mais".
_TRAILING_CALL = re.compile(
    r"""(?:continue\sreading|keep\sreading|read\s(?:more|on|the\sfull\s\w+)|continue\slendo|
    leia\smais|weiterlesen|lire\sla\ssuite|seguir\sleyendo|leer\smás|continua\sa\sleggere|
    lees\sverder|(?:more|mehr)\s?(?:…|\.\.\.))\W*$""",
    re.I | re.X,
)
_ARROWS = frozenset("→»›▶")
_CALL_HINTS = (
    "read",
    "lendo",
    "mais",
    "weiter",
    "suite",
    "leyendo",
    "más",
    "legg",
    "verder",
    "more",
    "mehr",
)
_SPONSOR_HINTS: tuple[str, ...] = ("sponsor", "sponsrat", "sponset", "gesponsert", "patrocin")
_SPONSOR_HINTS += ("brought to you", "partnership", "affiliate", "paid p")
_CUT_ENDS = ("...", "…", "[…]", "[...]", "(…)", "(...)", "�", "... .", "… ")


def is_english(texts: Sequence[str]) -> bool:
    """Enough English function words among the first words of the text."""
    tokens: list[str] = []
    for text in texts:
        tokens.extend(text.lower().split())
        if len(tokens) >= _ENGLISH_SAMPLE:
            break
    if not tokens:
        return False
    hits = sum(map(_FUNCTION_WORDS.__contains__, tokens))
    return hits >= _ENGLISH_SHARE * len(tokens)


def flaws(text: str, english: Callable[[], bool]) -> tuple[str, ...]:
    """What keeps `text` out of a blurb; empty when it is a clean sentence.

    Each test runs only when a cheap look says it might fire (a digit, a colon, a '#', a
    short sentence): most sentences are plain prose, and the picker asks about several an
    article. `english` says whether the text is English, asked only for a short sentence."""
    found: list[str] = []
    end = text.rstrip(QUOTE_CLOSERS)
    n_words = text.count(" ") + 1  # segments hold single spaces
    final = end[-1:] in SENTENCE_FINAL
    # A "read more" link ends a short line, or one without a full stop.
    if end.endswith(_CUT_ENDS) or (
        (not final or n_words <= _SHORT_WORDS) and _trailing_call(end[-_TAIL:].lower())
    ):
        found.append("cut off or a 'read more' link")
    elif not final:
        found.append("no terminal punctuation")
    figures = (_ASCII_FIGURES if text.isascii() else _FIGURES).findall(text)
    if not found and n_words > _SPONSOR_WORDS and _plain(text, figures):
        # A long whole sentence without a row's figures, a phone number, a link, hashtag or
        # label: plain prose, unless it opens with a call to action (most sentences end here).
        return ("a call to action or page widget",) if opens_with_call_to_action(text) else ()
    digits = bool(figures)
    if len(figures) >= _ROW_DIGITS and _is_row(text.split()):
        found.append("a table or ticker row")
    if _is_link_or_contact(text, sum(map(len, figures)) >= _PHONE_DIGITS):
        found.append("a link, price, spec or contact line")
    if "#" in text and (len(_HASHTAG.findall(text)) > 1 or _TRAILING_HASHTAG.search(text)):
        found.append("hashtags")
    if n_words <= _SPONSOR_WORDS and _is_sponsor_note(text):
        found.append("a sponsorship note")
    widget = n_words <= _WIDGET_WORDS and is_widget_line(text)
    if widget or opens_with_call_to_action(text):
        found.append("a call to action or page widget")
    if digits and n_words <= _TIMESTAMP_WORDS and _is_timestamp(text):
        found.append("a timestamp")
    elif n_words <= _SHORT_WORDS and english() and _verbless(text, text.split()):
        found.append("no verb")
    return tuple(found)


def _is_timestamp(text: str) -> bool:
    """A time or date and hardly a word besides: "10 p.m.", "Updated Nov. 19, 10:32 GMT"."""
    if not (_TIME.search(text) or _DATE_OR_TIME.search(text)):
        return False
    words = [w for w in _LETTERS.findall(text.lower()) if w not in _DATE_WORDS]
    return len(words) <= 1


def _is_sponsor_note(text: str) -> bool:
    return _mentions(text.lower(), _SPONSOR_HINTS) and bool(_SPONSORED.search(text))


def _mentions(lower: str, hints: tuple[str, ...]) -> bool:
    """A cheap look before a slow pattern: does the lower-cased text hold any of `hints`?"""
    return any(hint in lower for hint in hints)


def _trailing_call(tail: str) -> bool:
    """The lower-cased end of a line: an arrow or "read more" in some language."""
    return tail.rstrip()[-1:] in _ARROWS or (
        _mentions(tail, _CALL_HINTS) and bool(_TRAILING_CALL.search(tail))
    )


def _plain(text: str, figures: Sequence[str]) -> bool:
    """Too few figures for a row or a phone number, and nothing a link or a label holds."""
    if len(figures) >= _ROW_DIGITS or sum(map(len, figures)) >= _PHONE_DIGITS:
        return False
    return not _may_hold_a_label(text)


def _may_hold_a_label(text: str) -> bool:
    """What links, hashtags, addresses and labels hold (written out: a pattern or a loop
    over them costs more)."""
    return "/" in text or ":" in text or "#" in text or "@" in text or "www." in text


def _may_hold_a_link(text: str) -> bool:
    """Links and addresses hold one of these (written out: a loop over them costs more)."""
    return "/" in text or "@" in text or "www." in text or ".co" in text or ".org" in text


def _is_link_or_contact(text: str, phone_digits: bool) -> bool:
    if _may_hold_a_link(text) and _LINK.search(text):
        return True
    if phone_digits and _PHONE.search(text):
        return True
    colons = text.count(":")  # "RRP: £23.99", "Att: 50,430 Ref: S Dunn"
    return (colons > 1 or (colons == 1 and phone_digits)) and _is_spec_line(text)


def _is_row(tokens: Sequence[str]) -> bool:
    """More figures than lowercase words: a row of a table, a score line, a ticker. (Han
    and kana run without spaces, so their sentences are never counted as rows.)"""
    figures = sum(1 for t in tokens if _DIGITS.search(t))
    if figures < _ROW_DIGITS or figures < _ROW_SHARE * len(tokens):
        return False
    words = sum(1 for t in tokens if t.strip(_TOKEN_STRIP).isalpha() and t[0].islower())
    return words < figures and not _CJK.search("".join(tokens))


def _is_spec_line(text: str) -> bool:
    if _PRICE_OR_CONTACT.search(text):
        return True
    labels = _LABEL.findall(text)  # each: what follows the label when it is a figure or link
    return len(labels) >= 2 and any(labels)


def _verbless(text: str, tokens: Sequence[str]) -> bool:
    """No verb we know and at most a few lowercase words: a label, a list or an aside. (A
    clause whose verb the list misses, "It combines...", has more small words than that.)"""
    if _CONTRACTION.search(text):
        return False
    lowercase = 0
    after_subject = after_noun = False
    for token in tokens:
        word = token.strip(_TOKEN_STRIP)
        lower = word.lower()
        if lower in _VERBS or (after_subject and word.islower()):
            return False
        if len(lower) > 4 and lower.endswith(("ed", "ing")) and lower not in _VERB_EXCEPTIONS:
            return False
        if after_noun and word.islower() and lower.endswith("s") and not lower.endswith("ss"):
            return False  # "the mindset matters", "prices vary" are clauses
        after_subject = lower in _SUBJECTS
        after_noun = word.isalpha() and lower not in _NOT_BEFORE_VERBS
        lowercase += word.islower()
    return lowercase < _VERBLESS_LOWERCASE
