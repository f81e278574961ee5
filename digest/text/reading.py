"""How long a text takes to read, in any script, as a number of English words.

A digest's budget is reading time: words at 230 a minute. Scripts written without spaces
cannot be counted in words, so their characters are weighed by how fast they are read:
255 Chinese characters and 357 Japanese characters a minute against 228 English words
(Trauzettel-Klosinski et al., "Standardized assessment of reading performance: the new
International Reading Speed Texts IReST", 2012); Thai, Lao, Khmer and Burmese, alphabets
written without spaces, about as fast as English letters (six characters a word, the
space included). Korean writes spaces and is counted in words. Pure.
"""

from __future__ import annotations

import re

ENGLISH_WORDS_A_MINUTE = 228
HAN_A_MINUTE = 255  # Chinese characters
JAPANESE_A_MINUTE = 357  # kanji and kana together
LETTERS_A_WORD = 6  # Southeast Asian alphabets without spaces
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_KANA = "\u3040-\u30ff\u31f0-\u31ff"
_SPACELESS_ALPHABETS = "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
WIDE = re.compile(f"[{_HAN}{_KANA}{_SPACELESS_ALPHABETS}]")
_HAN_OR_KANA = re.compile(f"[{_HAN}{_KANA}]")
_KANA_CHARACTER = re.compile(f"[{_KANA}]")
_ALPHABET = re.compile(f"[{_SPACELESS_ALPHABETS}]")
_WORD = re.compile(r"\w")
# A clause ends here in Chinese and Japanese: where a sentence too long for the budget may
# be cut.
CLAUSE_MARKS = "，、；：,;"


def reading_words(text: str) -> float:
    """`text`'s reading time as a number of English words."""
    if text.isascii() or not WIDE.search(text):
        return float(len(text.split()))
    wide = len(_HAN_OR_KANA.findall(text))
    rate = JAPANESE_A_MINUTE if _KANA_CHARACTER.search(text) else HAN_A_MINUTE
    letters = len(_ALPHABET.findall(text))
    spaced = sum(1 for token in WIDE.sub(" ", text).split() if _WORD.search(token))
    return spaced + wide * ENGLISH_WORDS_A_MINUTE / rate + letters / LETTERS_A_WORD


def is_wide(text: str) -> bool:
    """Written (partly) in a script without spaces, measured in characters."""
    return not text.isascii() and bool(WIDE.search(text))


def cut_to_reading(sentence: str, words: float) -> str:
    """A sentence in a script without spaces, longer than `words`, cut after its last clause
    that fits, with an ellipsis; as it is when no clause ends in time (or it fits)."""
    if reading_words(sentence) <= words:
        return sentence
    best = ""
    for at, character in enumerate(sentence):
        if character in CLAUSE_MARKS and at > 0:
            head = sentence[:at]
            if reading_words(head) > words:
                break
            best = head
    return best + "…" if best else sentence
