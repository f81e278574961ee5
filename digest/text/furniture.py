"""Plain-text page furniture removal (paywall prompts, player times, share widgets, promos).

Feeds and scrapers often hand us an article's text with the page around it still attached:
audio-player times, "Share" buttons, bylines, photo credits glued to the first paragraph,
a paywall prompt, then related-issue and sponsored-product promos. The rules below are
general shapes of furniture, not strings from any one site:

* line rules cut a single line that is not article prose (player times, calls to action,
  bylines and reading times, photo captions and credits, short lines without sentence
  structure);
* an end-of-article rule cuts everything after the article once, after substantial
  prose, a paywall prompt, an end-of-article section heading ("Related ...", "Meet the
  author", "Comments") or a run of headline-like lines appears;
* a truncated last paragraph ("... said Jane ...") is cut because a summary of half a
  sentence misleads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from digest.text.segment import split_sentences

# Prose seen before an end-of-article marker counts as "the article" only past this many words;
# a paywall prompt above the first paragraphs is an inline widget, not the end.
MIN_ARTICLE_WORDS = 40
# A line this short (in words) without closing punctuation is a label, a heading or a button.
SHORT_LINE_WORDS = 8
# A title-case line without closing punctuation is a headline or promo up to this many words.
HEADLINE_MAX_WORDS = 30
# After a "Related ..." heading or a headline run, promo blurbs may hold some prose, but
# less than this share of the article's; more means the heading was the article's own.
AFTER_ARTICLE_PROSE = 0.5
# This many consecutive headline-like lines after the article are a promo/related list.
HEADLINE_RUN = 3

_TERMINAL = re.compile(r"[.!?…:;。！？]['\"’”)\]」』）]*$|['\"’”」』]$")
_TIMESTAMP = re.compile(r"^\d{1,2}(?::\d{2}){1,2}(?:\s*/\s*\d{1,2}(?::\d{2}){1,2})?$")
_READING_TIME = re.compile(r"\b\d+\s*(?:min(?:ute)?s?)\.?\s+(?:read|listen|watch)\b", re.I)
# "By Jane Doe", "Written byJane Doe": a capitalised name right after "by".
_BYLINE = re.compile(
    r"^(?:\|\s*)?(?:(?i:written|words|reporting|posted|story|text|photos?)\s*)?(?i:by)\s*"
    r"[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*\s*(?:[,|–—-]|$)"
)
_DATELINE = re.compile(
    r"^(?:published|updated|posted|last (?:updated|modified))\b[^.!?]{0,60}$", re.I
)
# Imperatives and prompts that only a page widget says; anchored so prose that merely
# mentions "share prices" or "registered voters" is safe.
_CALL_TO_ACTION = re.compile(
    r"""^(?:
        subscribe\s(?:to|now|today|for|and)\b | sign\s?(?:up|in)\b | log\s?(?:in|out)\b
      | register\s(?:for|now|to|here|today)\b | listen\s(?:to|with|now|again|on)\b
      | read\s(?:more|next|the\sfull|this)\b | continue\sreading\b | keep\sreading\b
      | become\sa\b | already\sa\b | already\shave\san\saccount\b
      | follow\s(?:us|our|me)\b | download\s(?:the|our)\b | get\s(?:the|our)\s\w+\s?app\b
      | click\s(?:here|to)\b | tap\s(?:here|to)\b | share\s(?:this|on|via)\b
      | join\s(?:us|our|now|the\sconversation|today)\b | don'?t\smiss\b | save\sto\b
      | support\s(?:our|us)\b | want\s(?:more\s(?:stories|news|like)|to\sread)\b
      | interested\sin\sreading\b | (?:like|enjoy(?:ed)?)\sthis\s(?:article|story|post)\b
      | we\suse\scookies\b | this\s(?:site|website)\suses\scookies\b
      | accept\s(?:all\s)?cookies\b | manage\s(?:cookies|preferences)\b
      | enter\syour\semail\b | skip\s(?:to|ad)\b | view\s(?:this|comments|gallery|all)\b
      | see\s(?:all|more)\b | copy\slink\b | back\sto\stop\b
    )""",
    re.I | re.X,
)
# The words `_CALL_TO_ACTION` can open with.
_CALL_FIRST = """subscribe sign signup signin log login logout register listen read continue keep
    become already follow download get click tap share join don't dont save support want
    interested like enjoy enjoyed we this accept manage enter skip view see copy back"""
_CALL_FIRST_WORDS = frozenset(_CALL_FIRST.split())
# Button and label words: furniture when they are (nearly) the whole line.
_WIDGET_LABEL = re.compile(
    r"""^(?:share|print|email|e-mail|tweet|save|comments?|\d+\s+comments?|\d+\s+shares?
      | advertisement|sponsored|promoted|ad|listen|subscribe|register|login|log\sin|sign\sin
      | menu|search|close|next|previous|more|watch|play|pause|loading)\b""",
    re.I | re.X,
)
WIDGET_LABEL_MAX_WORDS = 3
# A prompt anywhere in a short line: "You've read 3 of 5 free articles", "to continue reading".
_PAYWALL = re.compile(
    r"""(?:
        reading\smore\? | to\scontinue\sreading | to\skeep\sreading | to\sread\sthe\s(?:full|rest)
      | subscribers?\sonly | for\ssubscribers | members?\sonly | free\sarticles?
      | become\sa\s(?:member|subscriber) | already\sa\s(?:member|subscriber)
      | subscribe\s(?:now|today|to\s(?:read|continue|unlock)) | unlock\s(?:this|full|unlimited)
      | start\syour\s(?:free\s)?trial | full\saccess\sto | register\sfor\sfree
    )""",
    re.I | re.X,
)
# Signup boxes sit mid-article too, so unlike a paywall they cut only their own line.
_SIGNUP = re.compile(r"(?:to|in)\syour\sinbox|sign\sup\s(?:for|to)\s|newsletter", re.I)
# Wire-service and newsroom credit lines at an article's foot.
_CONTRIBUTORS = re.compile(
    r"""^\(?(?:additional\s)?(?:reporting|writing|editing|compiled|research)(?:\sby\b|:)
      | ^contributing(?:\swriters?|\sreporters?)?:
      | \bcontributed\s(?:to\s)?(?:this|the)\s(?:report|story|article)
      | ^(?:have|got)\sa\s(?:news\s)?tip\b
      | ^reach\s(?:the\s)?(?:reporters?|writers?|authors?|\w+\s\w+)\s(?:at|on|via)\b
      | ^email\s(?:the\s)?(?:reporters?|writers?|authors?|\w+\s\w+)\sat\b
      | ^follow\s(?:\w+\s){1,4}on\s(?:twitter|facebook|instagram|x)\b
      | ^originally\spublished\s(?:on|in|at)\b
    """,
    re.I | re.X,
)
# Section headings that open the page's after-article zone.
_END_HEADING = re.compile(
    r"""^(?:
        related(?:\s(?:topics?|articles?|stories|posts?|content|coverage|reading|links|news))?
      | more\s(?:from|on|in|stories|news|like\sthis|to\sexplore|articles?)\b.*
      | you\s(?:may|might)\s(?:also\s)?(?:like|enjoy|be\sinterested\sin)
      | recommended(?:\s(?:for\syou|reading|stories|articles?))?
      | read\snext | what\sto\sread\snext | most\s(?:popular|read|viewed|shared)
      | trending(?:\snow)? | latest(?:\s(?:news|stories|articles?))? | top\sstories
      | (?:meet|about)\sthe\s(?:authors?|writers?|reporters?)
      | comments? | \d+\scomments? | leave\sa\s(?:comment|reply) | join\sthe\sdiscussion
      | tags? | topics? | filed\sunder | sponsored(?:\scontent)? | partner\scontent
      | products? | from\sour\spartners | around\sthe\sweb | popular\s(?:now|stories)
    )\s*:?$""",
    re.I | re.X,
)
_CREDIT_MARKER = re.compile(
    r"(?:photo(?:graph)?|image|picture|illustration|video)?\s*(?:credit|courtesy)s?\s*:\s*"
    r"|(?:photo(?:graph)?|image|picture|illustration)\s*:\s*",
    re.I,
)
_CREDIT_TAIL = re.compile(
    r"(?:\((?:photo|image|picture|credit|pictured|source)\b[^()]{0,60}\)"
    r"|\b(?:getty\simages|shutterstock|reuters|ap\sphoto|afp|alamy|istock)\b[^.]{0,20}"
    r"|©\s*[^.]{2,60})$",
    re.I,
)
# A caption's credit run straight into the next paragraph: "Credit: Jane DoeNew text ...".
_GLUE = re.compile(r"(?<=[a-z.)])(?=[A-Z][a-z])")
_TRUNCATED = re.compile(r"(?:\.\.\.|…|\[…\]|\[\.\.\.\])\s*$")
# Han and kana run without spaces: every two characters count as one word there.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(f"[{_CJK}]{{1,2}}|[^\\W\\d_{_CJK}][^\\W{_CJK}]*(?:['’-][^\\W{_CJK}]+)*")
# Words a headline leaves lowercase ("Made with", "on the").
_SMALL_WORDS = frozenset(
    "a an and as at but by for from in into of on or the to vs via with".split()  # noqa: SIM905
)


def strip_furniture(text: str) -> str:
    """Return the article's own paragraphs from `text`, separated by blank lines."""
    lines = [_unglue_credit(line) for line in _paragraphs(text)]
    kept = cut_after_article_end(lines)
    kept = [line for line in kept if line and not is_furniture_line(line)]
    return "\n\n".join(drop_truncated_tail(kept))


def strip_widgets(paragraphs: Sequence[str], *, headline_runs: bool = True) -> list[str]:
    """The conservative rule set, for text an HTML extractor already reduced to the article:
    widget lines, the end-of-article cutoff and a truncated last paragraph, but no cut of
    short unpunctuated lines (list items, table rows)."""
    kept = cut_after_article_end(paragraphs, headline_runs=headline_runs)
    return drop_truncated_tail([line for line in kept if not is_widget_line(line)])


def drop_truncated_tail(lines: Sequence[str]) -> list[str]:
    """Without the sentence the text stops in ("... said Jane ..."): a last paragraph cut short
    keeps its whole sentences (a teaser's opening is still the story's opening); one with
    none goes, unless it is all there is."""
    kept = list(lines)
    while kept and _TRUNCATED.search(kept[-1]):
        sentences = split_sentences(kept[-1])
        if len(sentences) > 1:
            kept[-1] = " ".join(sentences[:-1])
            break
        if len(kept) == 1:
            break  # nothing else: the fragment, with its ellipsis, is the text
        kept.pop()
    return kept


@lru_cache(maxsize=8192)  # the end-of-article scan and the line filter ask about each line
def is_furniture_line(line: str) -> bool:
    """True when one line is page furniture rather than article prose."""
    return is_widget_line(line) or not _has_sentence_shape(line, _words(line))


@lru_cache(maxsize=8192)
def _words(line: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(line))


def is_widget_line(line: str) -> bool:
    """True for a line only a page widget writes: the rules safe on any page's text.

    Unlike `is_furniture_line` it keeps short lines without sentence structure, which in
    text extracted from HTML are often list items and table rows of the article itself.
    """
    words = _words(line)
    if not words or _TIMESTAMP.match(line):
        return True
    lower = line.lower()
    if len(words) <= 12 and "min" in lower and _READING_TIME.search(line):
        return True
    if len(words) <= 12 and (_BYLINE.match(line) or _DATELINE.match(line)):
        return True
    # A full stop makes "Share prices fell." a sentence, not a button.
    if len(words) <= WIDGET_LABEL_MAX_WORDS and _WIDGET_LABEL.match(line) and line[-1] != ".":
        return True
    if len(words) <= 15 and (
        _CALL_TO_ACTION.match(line)
        or (_may_be_paywall(lower) and _PAYWALL.search(line))
        or (_may_be_signup(lower) and _SIGNUP.search(line))
    ):
        return True
    if len(words) <= 40 and _may_credit_contributors(lower) and _CONTRIBUTORS.search(line):
        return True
    return _is_caption(line, words)


# Words one of the patterns below needs: a line with none of them cannot match it, and
# looking for a few substrings costs far less than trying a long alternation at every
# character of every line.
_PAYWALL_WORDS = ("read", "subscri", "member", "free", "unlock", "trial", "access", "regist")
_SIGNUP_WORDS = ("inbox", "sign", "newsletter")
_CONTRIBUTOR_WORDS = (
    "report", "writ", "edit", "compiled", "research", "contribut", "tip", "reach", "email",
    "follow", "originally",
)  # fmt: skip
_CREDIT_WORDS = ("getty", "shutterstock", "reuters", "ap photo", "afp", "alamy", "istock", "©")


def _may_be_paywall(lower: str) -> bool:
    return any(word in lower for word in _PAYWALL_WORDS)


def _may_be_signup(lower: str) -> bool:
    return any(word in lower for word in _SIGNUP_WORDS)


def _may_credit_contributors(lower: str) -> bool:
    return any(word in lower for word in _CONTRIBUTOR_WORDS)


def _credit_tail(line: str) -> bool:
    """_CREDIT_TAIL, where it can match: a bracket at the end, a picture agency, or ©."""
    if line.endswith(")") or any(word in line.lower() for word in _CREDIT_WORDS):
        return bool(_CREDIT_TAIL.search(line))
    return False


def opens_with_call_to_action(line: str) -> bool:
    """True when a line starts with an imperative only a page widget says ("Sign up for",
    "Click here", "Follow us"), however long it runs on. (Its first word is looked up
    first: the pattern's thirty alternatives cost more than most lines need.)"""
    first = line[: line.find(" ")].lower() if " " in line else line.lower()
    return first in _CALL_FIRST_WORDS and bool(_CALL_TO_ACTION.match(line))


def _paragraphs(text: str) -> list[str]:
    """Split on newlines, re-joining lines that a hard wrap split mid-sentence."""
    out: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = " ".join(raw.split())
        if not line:
            out.append("")
            continue
        if out and out[-1] and _continues(out[-1], line):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return [line for line in out if line]


def _continues(previous: str, line: str) -> bool:
    """A wrapped line: the previous one stops mid-sentence and this one starts lowercase. A
    short line counts only after a comma (a verse or quotation broken at `<br>`): one
    without it is more likely a heading or a label."""
    if previous.endswith(",") and line[0].islower():
        return True
    return (
        len(previous) >= 40
        and not _TERMINAL.search(previous)
        and (line[0].islower() or previous.endswith((",", "-", "–", "—")))
    )


def _unglue_credit(line: str) -> str:
    """Cut a caption and its credit that a scraper ran into the next paragraph."""
    marker = _CREDIT_MARKER.search(line) if ":" in line else None  # every marker has a colon
    if marker is None:
        return line
    tail = line[marker.end() :]
    first = _GLUE.search(tail, 0, 80)
    if first is None:
        return line
    # Within the glued token ("McDonaldThe") the last capital starts the prose.
    token_end = len(tail) if (space := tail.find(" ", first.start())) < 0 else space
    glue_at = [m.start() for m in _GLUE.finditer(tail, first.start(), token_end)][-1]
    credit, rest = tail[:glue_at], tail[glue_at:]
    if len(_WORD.findall(credit)) <= 6 and len(_WORD.findall(rest)) >= 5:
        return rest
    return line


def _is_caption(line: str, words: Sequence[str]) -> bool:
    """A photo caption: it ends in, or is, a credit."""
    if len(words) > 40:
        return False
    marker = _CREDIT_MARKER.search(line) if ":" in line else None
    if marker is not None and len(_WORD.findall(line[marker.end() :])) <= 6:
        return True
    return _credit_tail(line)


def _has_sentence_shape(line: str, words: Sequence[str]) -> bool:
    """Prose ends in closing punctuation; long unpunctuated lines pass unless headline-cased."""
    if _TERMINAL.search(line):
        return len(words) >= 3
    if len(words) < SHORT_LINE_WORDS:
        return False
    return not _is_headline(words)


def _is_headline(words: Sequence[str]) -> bool:
    """Most content words capitalised, no closing punctuation: a headline or a product name."""
    if len(words) > HEADLINE_MAX_WORDS:
        return False
    content = [w for w in words if w.lower() not in _SMALL_WORDS]
    if not content:
        return False
    capitalised = sum(1 for w in content if w[0].isupper())
    return capitalised / len(content) >= 0.75


def _is_headline_like(line: str) -> bool:
    words = _words(line)
    return bool(words) and not _TERMINAL.search(line) and _is_headline(words)


def is_paywall_prompt(line: str) -> bool:
    """A short line asking the reader to pay, subscribe or register to read on."""
    return len(_words(line)) <= 20 and _may_be_paywall(line.lower()) and bool(_PAYWALL.search(line))


def _is_end_heading(line: str) -> bool:
    return len(_words(line)) <= 6 and bool(_END_HEADING.match(line))


def cut_after_article_end(lines: Sequence[str], *, headline_runs: bool = True) -> list[str]:
    """Keep lines up to the first end-of-article signal that follows substantial prose.

    A paywall prompt always ends the article. A section heading or a run of headlines ends
    it only when little prose follows: articles have subheadings and title-case lists too.
    """
    prose_words = 0
    for index, line in enumerate(lines):
        if prose_words >= MIN_ARTICLE_WORDS:
            if is_paywall_prompt(line):
                return list(lines[:index])
            zone_starts = _is_end_heading(line) or (
                headline_runs and _headline_run_starts(lines, index)
            )
            if zone_starts and _prose_words(lines[index:]) <= prose_words * AFTER_ARTICLE_PROSE:
                return list(lines[:index])
        if not is_furniture_line(line):
            prose_words += len(_words(line))
    return list(lines)


def _prose_words(lines: Sequence[str]) -> int:
    return sum(len(_words(line)) for line in lines if not is_furniture_line(line))


def _headline_run_starts(lines: Sequence[str], index: int) -> bool:
    window = lines[index : index + HEADLINE_RUN]
    return len(window) == HEADLINE_RUN and all(_is_headline_like(line) for line in window)
