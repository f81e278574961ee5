"""Defect detectors for blurbs read from a digest's text part (benchmarks/realfeeds.py).

Written apart from digest's cleaning code on purpose, and importing none of it: a cleaner
measured with its own rules would always look clean. Each detector looks for what a reader
would call junk in a two-sentence summary; where a pattern could also be prose it asks for
more than one sign. `ftfy` (a mojibake fixer nobody here wrote) judges the encoding.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import ftfy
from ftfy.badness import is_bad

Check = Callable[[str], bool]

_TAG = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]{0,200})?/?>|<!--|<!\[CDATA\[|\]\]>")
_ENTITY = re.compile(r"&(?:#\d{2,7}|#[xX][0-9A-Fa-f]{2,6}|[A-Za-z]{2,10});")
_CSS = re.compile(
    r"[\w\-.#:\]\)]\s*\{[^{}]{0,300}:[^{}]{0,300}\}"
    r"|\b(?:font-(?:family|size|weight)|margin(?:-\w+)?|padding(?:-\w+)?|background(?:-color)?"
    r"|text-(?:align|decoration)|line-height|border(?:-\w+)?|display|width|height|color)"
    r"\s*:\s*[^;:]{1,40};"
    r"|@media\b|@font-face\b|!important\b",
    re.I,
)
# Code, equations and tables: each sign alone can be prose, so two are needed (or one strong).
_CODE_STRONG = re.compile(
    r"\\(?:frac|sum|int|sqrt|alpha|beta|lambda|mathbb|mathrm|begin|end|left|right)\b"
    r"|\$\$|\\\(|\\\[|#include\b|\bdef \w+\(|\bfunction\s*\w*\s*\(|=>\s*\{|\bimport \w+(?:\.\w+)+"
    r"|\bconsole\.log\b|\bprintf\(|\bSystem\.out\b|^\s*\$ \w+|^\s*sudo \w+|\bnpm (?:install|run)\b"
    r"|\bpip install\b|\bgit (?:clone|commit|push)\b|</?\w+>|\w+\s*\(\s*\)\s*[;{]"
)
_CODE_SIGNS = (
    re.compile(r"[;{}]\s*$|[{}]"),
    re.compile(r"\w\(\w*(?:,\s*\w+)*\)"),
    re.compile(r"==|!=|<=|>=|&&|\|\||->|::|\+=|\+\+"),
    re.compile(r"\b(?:var|const|void|null|None|elif|def|fn|func|lambda|println|printf)\b"),
    re.compile(r"\w+\.\w+\(\)|\w+_\w+\s*="),
    re.compile(r"`[^`]+`"),
    re.compile(r"(?:\b[a-z]\s*[=+\-*/^]\s*){2,}"),  # x = y + z: an equation
    re.compile(r"(?:\|[^|]*){3,}\||(?:\b\d[\d.,%]*\s+){6,}"),  # a table row
)
_READ_MORE = re.compile(
    r"\b(?:read more|read the (?:rest|full (?:story|article|post))|continue reading|keep reading"
    r"|more\s*(?:»|›|→|>>)|weiterlesen|mehr lesen|lire la suite|la suite|leer más|seguir leyendo"
    r"|leia mais|continuar lendo|leggi tutto|continua a leggere|lees meer|verder lezen|läs mer"
    r"|les mer|læs mere|lue lisää|czytaj dalej|číst dále|čtěte dále|pokračovat|tovább"
    r"|читать далее|подробнее|читати далі|детальніше|devamı|devamını oku)\b"
    r"|続きを読む|阅读全文|閱讀全文|查看全文|더 보기|더보기"
    r"|\[(?:…|\.\.\.|more|read more)\]|\((?:more|more…|more\.\.\.)\)|\s(?:»|›|→)\s*$"
    r"|\bappeared first on\b|\bThe post .{3,200} appeared\b",
    re.I,
)
_URL = re.compile(
    r"\bhttps?://|\bwww\.[a-z0-9-]+\.|\b[a-z0-9-]{2,}\.(?:com|org|net|io|co|ly|me|fm|tv|gl|gd)/\S",
    re.I,
)
_TRACKING = re.compile(
    r"[?&](?:utm_\w+|ref|ref_src|source|fbclid|gclid|mc_cid|mc_eid|aff(?:iliate)?_?id|tag)="
    r"|\b(?:bit\.ly|amzn\.to|goo\.gl|tinyurl\.com|ow\.ly|t\.co|buff\.ly|lnkd\.in|fb\.me|geni\.us"
    r"|shareasale|awin1|linksynergy|clickbank|redirect\.viglink|go\.skimresources)\b"
    r"|\baffiliate links?\b",
    re.I,
)
_SPONSOR = re.compile(
    r"\b(?:promo(?:tion(?:al)?)? code|discount code|coupon(?: code)?|use (?:the )?code"
    r"|with (?:the )?code|offer code|\d+\s?% off|[$£€]\s?\d+(?:\.\d\d)? off|free trial"
    r"|sponsored by|brought to you by"
    r"|today'?s sponsor|our sponsors?"
    r"|this (?:episode|show|podcast|video) is (?:sponsored|supported)"
    r"|thanks? to (?:our )?(?:sponsor|\w+ for sponsoring)|patreon"
    r"|become a (?:patron|member|supporter)"
    r"|support (?:us|the show|this (?:podcast|show|blog|channel))|buy me a coffee|ko-fi"
    r"|sign up (?:for|to|now|today|here)|subscribe (?:to (?:our|the|my)|now|today|here|for free)"
    r"|join (?:our|the) (?:newsletter|mailing list|discord)|our newsletter|(?:our|the) merch\b"
    r"|merch (?:store|shop)|shop (?:our|the) store|get \d+% off|limited time offer)\b",
    re.I,
)
# Words run together where markup separated them: "April.Previously", "said:The", "end)Next".
_RUN_TOGETHER = re.compile(r"[a-zà-ÿа-я]{2,}[.!?;:,)\]][A-ZÀ-ÞА-Я][a-zà-ÿа-я]{2,}")
_TOKEN_WITH_PATH = re.compile(r"\S*[/@]\S*|\S*\.(?:js|py|io|net|com|org)\b\S*")
_WIDE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f]")


def markup(blurb: str) -> bool:
    return bool(_TAG.search(blurb))


def entities(blurb: str) -> bool:
    return bool(_ENTITY.search(blurb))


def css(blurb: str) -> bool:
    return bool(_CSS.search(blurb))


def code(blurb: str) -> bool:
    if _CODE_STRONG.search(blurb):
        return True
    return sum(1 for sign in _CODE_SIGNS if sign.search(blurb)) >= 2


def read_more(blurb: str) -> bool:
    return bool(_READ_MORE.search(blurb))


def urls(blurb: str) -> bool:
    return bool(_URL.search(blurb))


def tracking(blurb: str) -> bool:
    return bool(_TRACKING.search(blurb))


def sponsor(blurb: str) -> bool:
    return bool(_SPONSOR.search(blurb))


def mojibake(blurb: str) -> bool:
    """Text decoded with the wrong charset (ftfy's judgement), or characters lost to it."""
    return "\ufffd" in blurb or is_bad(blurb) or ftfy.fix_encoding(blurb) != blurb


def run_together(blurb: str) -> bool:
    return bool(_RUN_TOGETHER.search(_TOKEN_WITH_PATH.sub(" ", blurb)))


def controls(blurb: str) -> bool:
    """Control, bidi-override and other invisible format characters (a soft hyphen and the
    zero-width joiners of some scripts aside)."""
    return any(
        unicodedata.category(c) in ("Cc", "Cf") and c not in "\n\t\u00ad\u200c\u200d" for c in blurb
    )


JUNK: dict[str, Check] = {
    "markup": markup,
    "entities": entities,
    "CSS": css,
    "code": code,
    "read-more": read_more,
    "URLs": urls,
    "tracking": tracking,
    "sponsor reads": sponsor,
    "mojibake": mojibake,
    "run-together": run_together,
    "controls": controls,
}


def junk_classes(blurb: str) -> list[str]:
    return [name for name, check in JUNK.items() if check(blurb)]


def wide_characters(text: str) -> int:
    """Characters of scripts written without spaces (Han, kana, Thai)."""
    return len(_WIDE.findall(text))


def is_wide(text: str) -> bool:
    """Mostly written without spaces: more such characters than other letters."""
    wide = wide_characters(text)
    letters = sum(1 for c in text if c.isalpha())
    return wide > 0 and wide * 2 > letters
