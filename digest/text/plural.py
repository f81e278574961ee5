"""Counts in messages, with the noun's number right: "1 feed", "2 feeds", "1,000 entries"."""

from __future__ import annotations


def count(number: int, word: str, plural: str = "") -> str:
    """`number` and `word`, in the plural (`plural`, or `word` + "s") unless it is one."""
    return f"{number:,} {word if number == 1 else plural or word + 's'}"
