"""The include / exclude pattern language, as config.yaml writes it: a word or phrase, matched
as whole words (`sponsored`, `C++`, `climate change`), or a regular expression between
slashes (`/\\bAI\\b/`), in any case. The config validates patterns with it; the feeds'
filters (digest/feeds/filters.py) match with it."""

from __future__ import annotations

import re


def compile_pattern(written: str) -> re.Pattern[str]:
    """The pattern as written in the config. Raises ValueError naming what is wrong."""
    text = written.strip()
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        try:
            return re.compile(text[1:-1], re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None
    words = text.split()
    if not words:
        raise ValueError("empty filter pattern")
    phrase = r"\s+".join(re.escape(word) for word in words)
    return re.compile(rf"(?<!\w){phrase}(?!\w)", re.IGNORECASE)


def check_pattern(written: str) -> str:
    """Config validator: the pattern compiles."""
    compile_pattern(written)
    return written
