"""Feed furniture: what feeds put around a post's own text, cut before summarizing.

Page furniture (digest/text/furniture.py) is what a web page wraps an article in; feeds add
their own: "Read more" and "Continue reading" links in many languages, "[…]", "The post …
appeared first on …", bare URLs and lines that are only a label and a link (tracking and
affiliate links among them), a podcast's "Sponsored by:" list, style sheets pasted as text,
and sentences run together where markup separated them ("April.Previously"). Each rule is a
general shape, never one site's wording. Sentences that sell (a sponsor read's promo code, a
Patreon plea) go too, unless the post is nothing else (a deals blog). Sentences that are
code, equations or tables are the summarizer's to skip (`unfit_sentences`). Pure: text in,
text out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from digest.text.furniture import is_widget_line, strip_furniture, strip_widgets
from digest.text.segment import split_sentences
from digest.text.words import CODE_SYMBOLS, NUMBER, ArticleWords, article_words

# "Read more" and its kin, in the languages feeds are written in, as the end of a paragraph
# (with an arrow, a bracket or an ellipsis around it), and "Continue reading <title> →".
_READ_MORE_WORDS = (
    r"read\s+more|read\s+the\s+(?:rest|full\s+(?:story|article|post))|keep\s+reading"
    r"|continue\s+reading(?:\s+[^.!?\n]{0,120}?)?|weiterlesen|mehr\s+lesen|(?:lire|voir)\s+la\s+suite"
    r"|lire\s+plus|leer\s+m[aá]s|seguir\s+leyendo|leia\s+mais|continuar\s+lendo"
    r"|leggi\s+(?:tutto|di\s+pi[uù]|il\s+resto)|continua\s+a\s+leggere|lees\s+(?:meer|verder)"
    r"|verder\s+lezen|l[äa]s\s+(?:mer|hela)|les\s+(?:mer|videre)|l[æa]s\s+(?:mere|videre)"
    r"|lue\s+lis[äa][äa]|czytaj\s+dalej|[čc][ií]st\s+d[áa]l|[čc]t[ěe]te\s+d[áa]le|pokra[čc]ov[áa]n[ií]"
    r"|olvass\s+tov[áa]bb|citește\s+mai\s+mult|daha\s+fazla|devam[ıi]n[ıi]\s+oku"
    r"|читать\s+(?:далее|дальше|полностью)|подробнее|читати\s+далі|детальніше"
    r"|続きを読む|もっと読む|阅读全文|閱讀全文|查看全文|阅读更多|더\s*보기|전체\s*보기"
)
# Words that are link text only with a bracket or an arrow: "[more]", "la suite »".
_MARKED_WORDS = r"more|la\s+suite|mehr|m[aá]s|meer|mer|mere"
_ARROW = r"(?:»|›|→|⟶|>>|\.{3}|…)"
_READ_MORE = re.compile(
    r"(?:\s*(?:[\[(«<]\s*)?(?:" + _READ_MORE_WORDS + r")\s*" + _ARROW + r"?\s*[\])»>]?"
    r"|\s*[\[(]\s*(?:" + _MARKED_WORDS + r")\s*" + _ARROW + r"?\s*[\])]"
    r"|\s+(?:" + _MARKED_WORDS + r")\s*" + _ARROW + r"|\s+[»›→]"
    r")\s*$",
    re.I,
)
READ_MORE_TAIL = 30  # characters at a line's end where a read-more marker shows itself
_READ_MORE_HINT = re.compile(
    r"(?:read|more|reading|lesen|suite|más|mais|leggi|leggere|lees|lezen|läs|les|læs|lue|czytaj"
    r"|tutto|più|resto|st\b|dále|pokra|tovább|citește|fazla|oku|далее|дальше|полностью|подробнее|далі|детальніше"
    r"|続き|読む|全文|更多|보기|…\]|\.\.\.\]|→|»|›)\W*$",
    re.I,
)
_ELIDED = re.compile(r"\s*[\[(](?:…|\.\.\.)[\])]$")
_APPEARED_FIRST = re.compile(
    r"^(?:the\s+post|this\s+(?:post|article|entry))\s.{1,400}?\s(?:appeared|was\s+published)"
    r"\s+first\s+(?:on|in|at)\s.{1,200}$|^\S.{0,300}\sappeared\s+first\s+on\s+\S.{0,150}$",
    re.I,
)
_URL = re.compile(
    r"(?:\bhttps?://|\bwww\.)[^\s<>\"'»”]+|\b(?:[a-z0-9-]+\.)+[a-z]{2,6}/[^\s<>\"'»”]*", re.I
)
_WORD = re.compile(r"[^\W\d_]{2,}")
_MARK = "URLMARK"  # stands for a URL while sentences are split: a capital, so it can open one
POINTER_WORDS = 8  # a sentence of fewer words than this around a URL only points at it
# A URL with the word that points at it: the pair goes, what it followed stays.
_POINTER = re.compile(
    r"\b(?:see|see also|more|more at|more info|details|via|source|link|here|read it|at|on"
    r"|siehe|mehr|voir|plus|ver|más|vedi|zie|se)\s*:?\s*"
    r"(?:\bhttps?://|\bwww\.)[^\s<>\"'»”]+",
    re.I,
)
# Left-overs of a removed URL: "(see )", "at .", "here: ." and spaces before punctuation.
_EMPTY_BRACKETS = re.compile(r"[(\[]\s*[)\]]")
_DANGLING = re.compile(r"\s*(?:[:\-–—]|\b(?:at|on|via|here|see))\s*(?=[.!?,;]|$)", re.I)
_SPACE_BEFORE_MARK = re.compile(r"\s+(?=[.!?,;:](?:\s|$))")
# A sponsor section: its heading, and the list under it, to the next heading or the end.
_SPONSOR_HEADING = re.compile(
    r"^(?:(?:this\s+(?:episode|show|podcast|week'?s?\s+\w+)\s+(?:is|was)\s+)?"
    r"(?:sponsored|supported|brought\s+to\s+you|made\s+possible)\s+by|(?:our\s+|today'?s\s+)?"
    r"sponsors?|thanks\s+to\s+(?:our|this\s+week'?s)\s+sponsors?|gesponsert\s+von|sponsoris[ée]\s+par"
    r"|patrocinado\s+por|sponsorizzato\s+da)\b[^.!?]{0,60}[:.]?$",
    re.I,
)
_HEADING = re.compile(r"^[^.!?]{1,60}:$")
# Two-letter words that often open a sentence, in the languages we segment: after a full
# word and a mark they begin a sentence the feed ran into the one before, where two other
# letters ("Mail.Ru") more likely end a name.
_OPENERS = "On|In|It|He|We|As|At|By|If|So|No|An|To|My|Or|Il|Le|La|Lo|Un|En|Es|El|Er|Ik|Je|Tu|Ma"
# Sentences run together where markup separated them, or the feed lost the space; not a
# name in code (`strings.Builder`, java.util.List): no backtick, bracket, slash or further
# dot in the word after it.
_RUN_TOGETHER = re.compile(
    r"[.!?:;](?<=[a-zà-ÿа-яё]{2}[.!?:;])(?=[A-ZÀ-ÞА-ЯЁ][a-zà-ÿа-яё]{2,}(?:[\s,;:!?)]|\.(?:\s|$)|$))"
    # A two-letter word that opens sentences, after a full word ("Sri Lanka.On 26 February")
    rf"|[.!?](?<=[a-zà-ÿа-яё]{{3}}[.!?])(?=(?:{_OPENERS})\s)"
)
# The same with a comma or a closing bracket ("Apt,Full size", "Paid)Laundry"), and an
# opening bracket after a full stop ("Area.(Water"): a feed's own missing spaces.
_RUN_TOGETHER_LIST = re.compile(
    r"(?<=[a-zà-ÿа-яё]{2}),(?=[A-ZÀ-ÞА-ЯЁ][a-zà-ÿа-яё]{2,})"
    r"|(?<=[a-zà-ÿа-яё]\))(?=[A-ZÀ-ÞА-ЯЁ][a-zà-ÿа-яё]{2,})"
    r"|(?<=[a-zà-ÿа-яё]{2}\.)(?=\([A-ZÀ-ÞА-ЯЁ])"
)
# Two-letter words that end sentences ("at 10.30 am.Senior"); any other two letters before the
# mark are more likely a name's part: "io.Reader", "Mail.Ru".
_SHORT_ENDINGS = frozenset(
    [
        "am",
        "pm",
        "us",
        "it",
        "is",
        "be",
        "do",
        "go",
        "no",
        "so",
        "up",
        "me",
        "he",
        "we",
        "on",
        "in",
        "at",
        "to",
        "of",
        "by",
        "or",
        "an",
        "as",
        "if",
        "my",
        "ok",
        "tv",
        "uk",
        "eu",
    ]
)
# `code` in Markdown, and an IRC line's speaker ("<nick> hi"): shown as plain text.
_INLINE_CODE = re.compile(r"`([^`\n]{1,80})`")
_IRC_SPEAKER = re.compile(r"^<([\w.\-|^\[\]]{1,30})> ")
# A style sheet pasted as text: selectors, then a block of property: value pairs.
_CSS_BODY = re.compile(r"\{[^{}]*?[\w-]+\s*:[^{}]*\}")
_SELECTOR_TAIL = re.compile(r"[@.#]?[\w\-\[\]=\"':>*,.# ]+$")


def strip_feed_furniture(text: str, promotions: bool = False) -> str:
    """`text` (paragraphs separated by blank lines, lines within them by a line break) without
    feed furniture, and without sentences that sell unless `promotions`; what is left keeps
    its paragraphs."""
    paragraphs: list[str] = []
    in_sponsors = False
    for paragraph in text.split("\n\n"):
        lines: list[str] = []
        for line in paragraph.split("\n"):
            if _SPONSOR_HEADING.match(line.strip()):
                in_sponsors = True
                continue
            if in_sponsors and not _HEADING.match(line.strip()):
                continue
            in_sponsors = False
            cleaned = _clean_line(line)
            if cleaned and not promotions and _may_promote(cleaned.lower()):
                cleaned = " ".join(s for s in split_sentences(cleaned) if not is_promotion(s))
            if cleaned:
                lines.append(cleaned)
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def post_text(text: str, title: str = "") -> str:
    """The text a feed entry's summary is made of: feed furniture cut, then page furniture.
    When page furniture's rules leave nothing (a short post of unpunctuated lines, a list),
    the post is what it is: only the feed furniture goes, and a text cut short loses the
    sentence it stops in. A text that opens by repeating the title (a commit message, a
    status update) starts after it."""
    own = strip_feed_furniture(without_title(text, title))
    article = strip_furniture(own)
    if article.strip():
        return article
    if not own.strip():  # nothing but offers: a deals post is all offers, and they are the post
        own = strip_feed_furniture(text, promotions=True)
    # Widget lines still go ("Comments", "Share"): a post of link furniture has no text.
    return "\n\n".join(strip_widgets([p for p in own.split("\n\n") if p.strip()]))


# Where a repeated title ends: the text's end, a line break, a list's bullet, or a mark or a
# new sentence's capital ("The bridge opened to traffic" only opens with the title's words).
_TITLE_END = r"[.!?:;,—–-]*(?=$|\n|\s+[-*•]\s|[\s.!?:;—–-]+[^\W\d_](?<=[^\W\d_a-zß-ÿа-я]))"


def without_title(text: str, title: str) -> str:
    """`text` without the title it opens with (the headline again, often with no full stop
    before the text runs on), when more text follows it."""
    head = " ".join(title.split()).rstrip(".!?:;,—–- ").casefold()
    if len(head) < 12:
        return text
    body = text.lstrip()
    words = head.split()
    # the title in any case; what follows it in its own case (a capital opens a sentence)
    prefix = re.match("(?i:" + r"\s*".join(map(re.escape, words)) + ")" + _TITLE_END, body)
    if prefix is None:
        return text
    rest = body[prefix.end() :].lstrip(" .!?:;,—–-\n\t")
    return rest if len(_WORD.findall(rest)) >= 3 else text


def _clean_line(line: str) -> str:
    line = line.strip()
    if not line or (("appeared" in line or "published" in line) and _APPEARED_FIRST.match(line)):
        return ""
    if "{" in line and ":" in line:
        line = _without_css(line)
    if ("/" in line or "www." in line) and _URL.search(line):
        line = _POINTER.sub(" ", line)  # "See https://…", "More at www.…"
        marked = _URL.sub(f" {_MARK} ", line)
        without = " ".join(marked.replace(_MARK, " ").split())
        if len(_WORD.findall(without)) < 3 or is_widget_line(without):
            return ""  # a label and its link: "Follow us on Twitter: https://…"
        # A sentence around a URL points at it ("See example.com/privacy for details."):
        # without the URL it is a fragment, so it goes. When every sentence holds one, only
        # the URLs go, unless what is left is a short pointer too.
        kept = [s for s in split_sentences(marked) if _MARK not in s]
        if kept:
            line = " ".join(kept)
        else:
            line = _tidy(without)
            if len(_WORD.findall(line)) < POINTER_WORDS:
                return ""
    line = without_read_more(line)
    line = _RUN_TOGETHER_LIST.sub(_space_in_list, _RUN_TOGETHER.sub(_space_after, line))
    return _as_prose(line)


def _space_after(mark: re.Match[str]) -> str:
    """A space after the mark, unless it is inside `code`, a dotted name (java.util.List) or
    a name after two letters that end no sentence (io.Reader)."""
    text, at = mark.string, mark.start()
    word = text[max(text.rfind(" ", 0, at), text.rfind("\n", 0, at)) + 1 : at]
    if "." in word or text.count("`", 0, at) % 2 == 1:
        return mark.group(0)
    if len(word) == 2 and word.lower() not in _SHORT_ENDINGS:
        return mark.group(0)
    return mark.group(0) + " "


def _space_in_list(mark: re.Match[str]) -> str:
    """A space where a feed left none between a comma or bracket and the next word."""
    text, at = mark.string, mark.start()
    return mark.group(0) if text.count("`", 0, at) % 2 == 1 else mark.group(0) + " "


def _as_prose(line: str) -> str:
    """Markdown's `code` spans and an IRC speaker's <nick> as a reader would write them."""
    if "`" in line:
        line = _INLINE_CODE.sub(r"“\1”", line)
    if line.startswith("<"):
        line = _IRC_SPEAKER.sub(r"\1: ", line)
    return line


def _tidy(text: str) -> str:
    text = _EMPTY_BRACKETS.sub("", text)
    text = _DANGLING.sub("", text)
    text = _SPACE_BEFORE_MARK.sub("", text)
    return " ".join(text.split())


def without_read_more(line: str) -> str:
    """The line without a trailing "Read more" link text (and its arrow or brackets)."""
    if not _READ_MORE_HINT.search(line, max(0, len(line) - READ_MORE_TAIL)):
        return line
    previous = None
    while previous != line:  # "… [Read more] »": more than one marker
        previous = line
        tail = max(0, len(line) - 2 * READ_MORE_TAIL - 120)  # the longest marker fits
        if found := _READ_MORE.search(line, tail):
            line = line[: found.start()].rstrip()
    return _ELIDED.sub("…", line)  # "[…]": the feed cut the text here


def _without_css(line: str) -> str:
    """A style sheet's rules cut from the line: each `{ property: value }` block and the
    selectors before it."""
    parts: list[str] = []
    last = 0
    for rule in _CSS_BODY.finditer(line):
        before = line[last : rule.start()]
        selector = _SELECTOR_TAIL.search(before, max(0, len(before) - 120))
        parts.append(before[: selector.start()] if selector else before)
        last = rule.end()
    parts.append(line[last:])
    return " ".join(" ".join(parts).split())


# Sentences the summarizer skips ---------------------------------------------------------------

# A sponsor read or a plea: a code for a discount, money off, a free trial, "sponsored by",
# Patreon, merch, "sign up for".
_PROMOTION = re.compile(
    r"\b(?:(?:use|with|enter|apply)\s+(?:the\s+)?(?:promo(?:tion(?:al)?)?\s+|coupon\s+|discount\s+"
    r"|offer\s+|voucher\s+)?code\b|(?:promo(?:tion(?:al)?)?|coupon|discount|offer|voucher)\s+code"
    r"|\d+\s?%\s+off\b|[$£€]\s?\d+(?:[.,]\d+)?\s+(?:off|credit|toward)\b|(?:free\s+for\s+\d+\s+days"
    r"|free\s+trial|free\s+shipping)|(?:sponsored|brought\s+to\s+you|supported)\s+by\b"
    r"|(?:our|today'?s|this\s+(?:week|episode)'?s?)\s+sponsors?\b|patreon|ko-?fi\b|buy\s+me\s+a\s+coffee"
    r"|become\s+a\s+(?:patron|member|supporter|subscriber)\b|merch(?:andise)?\s+(?:store|shop)\b"
    r"|(?:sign\s+up|subscribe)\s+(?:for|to|now|today|here|at|on)\b|support\s+(?:us|the\s+show"
    r"|this\s+(?:show|podcast|channel|blog))\b|appeared\s+first\s+on|rabattcode|gutscheincode"
    r"|code\s+promo|c[oó]digo\s+(?:de\s+)?(?:descuento|promocional)|codice\s+sconto|kortingscode)",
    re.I,
)


def is_promotion(sentence: str) -> bool:
    """A sentence that sells or asks: a sponsor read, a promo code, a plea for support."""
    return has_promotion(sentence)


# A promotion holds one of these (in lower case): a text without any cannot match
# _PROMOTION. Every branch opens with a literal character, so the engine skips to those:
# a tenth of the time of trying _PROMOTION at every character.
_PROMOTION_HINT = re.compile(
    r"code|% off|free (?:for|trial|shipping)|sponsor|brought to you|supported by|patreon|ko-?fi"
    r"|kofi|buy me a coffee|become a |merch|sign up|subscribe|support (?:us|the show|this)"
    r"|appeared first|código|codigo"
)
_MONEY_OFF = re.compile(r"[$£€] ?\d[\d.,]* (?:off|credit|toward)")


def _may_promote(lower: str) -> bool:
    return bool(_PROMOTION_HINT.search(lower) or _MONEY_OFF.search(lower))


def has_promotion(text: str) -> bool:
    return _may_promote(text.lower()) and bool(_PROMOTION.search(text))


# What prose does not write: a call "name(", operators, a statement's end, a TeX command.
# Every branch opens with a literal character, so the engine skips to those characters.
_CODE_SIGN = re.compile(
    r"\((?<=\w\()|\)\s*[{;]|;\s*$|==|!=|<=|>=|=>|->|::|&&|\|\||\+\+|\+=|\\[a-zA-Z]{2,}"
    r"|\.(?<=\w\.)\w+\(|\$\$"
)
_TAG = re.compile(r"</?[a-zA-Z][\w:-]*(?:\s[^<>]{0,80})?/?>")
# A chat log's speaker: "<nick> what he said" opens the line; it is not markup.
_SPEAKER = re.compile(r"^<[\w.\-|^\[\]`]{1,30}> ")
_TABLE_WORDS = 6  # a row this long, half of it numbers, is a table's
_CODE_SYMBOLS = 3  # fewer symbols than this, and no tag: prose


def unfit_sentences(sentences: Sequence[str], counts: ArticleWords | None = None) -> frozenset[int]:
    """The sentences a summary must not use: code, equations and tables. `counts`: the
    sentences' word counts (digest.text.words), when the caller has them: only a sentence
    with enough symbols or numbers, or a "<", is looked at closer."""
    counts = counts or article_words(sentences)
    suspects: list[int] = []
    if max(counts.numbers, default=0) * 2 >= _TABLE_WORDS:
        rows = zip(counts.numbers, counts.lengths, strict=True)
        suspects += [i for i, (nums, words) in enumerate(rows) if nums * 2 >= words >= _TABLE_WORDS]
    most = max(counts.symbols, default=0)
    if most >= _CODE_SYMBOLS:
        suspects += [i for i, symbols in enumerate(counts.symbols) if symbols >= _CODE_SYMBOLS]
    if most >= 2 and "<" in " ".join(sentences):  # a tag has "<" and ">"
        suspects += [i for i, text in enumerate(sentences) if "<" in text]
    return frozenset(
        i
        for i in suspects
        if _code_or_table(sentences[i], counts.lengths[i], counts.numbers[i], counts.symbols[i])
    )


def looks_like_code(sentence: str) -> bool:
    """Code, an equation or a table row, not prose: markup, signs of code (calls, operators,
    statement ends) among many symbols, or mostly numbers."""
    tokens = sentence.split()
    numbers = sum(1 for t in tokens if NUMBER.match(t))
    symbols = sum(map(sentence.count, CODE_SYMBOLS))
    return _code_or_table(sentence, len(tokens), numbers, symbols)


def _code_or_table(sentence: str, words: int, numbers: int, symbols: int) -> bool:
    """`looks_like_code`, given the sentence's words, numbers and symbols."""
    if words >= _TABLE_WORDS and numbers * 2 >= words:
        return True  # a table row: numbers with a few labels
    if "<" in sentence and (tag := _TAG.search(sentence)) and not _SPEAKER.match(sentence):
        return tag is not None  # markup quoted in a sentence is about code
    if symbols < _CODE_SYMBOLS:
        return False
    signs = len(_CODE_SIGN.findall(sentence))
    return signs >= 3 or (signs >= 1 and symbols / len(sentence) > 0.06)
