"""Whether two entries tell the same story: their texts' openings, normalised. A feed that
gives a teaser and one that gives the whole article agree on the first words; punctuation,
case and markup left-overs do not count. Pure."""

from __future__ import annotations

import hashlib
import re

OPENING_WORDS = 12  # words compared: enough to tell stories apart, few enough for a teaser
# Scripts written without spaces are compared by characters, two to a word.
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]{1,2}|[^\W_]+")


def opening(text: str) -> str:
    """A short digest of the text's first words ("" for no text)."""
    words = _TOKEN.findall(text[: OPENING_WORDS * 40].casefold())[:OPENING_WORDS]
    if not words:
        return ""
    return hashlib.blake2b(" ".join(words).encode("utf-8"), digest_size=8).hexdigest()


def text_digest(text: str) -> str:
    """A digest of the whole text, for telling apart posts that share a title and a link."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()
