"""Plain-text page furniture removal (paywall prompts, player times, share widgets, promos).

Placeholder interface, filled in by the extraction work (issue 4).
"""

from __future__ import annotations


def strip_furniture(text: str) -> str:
    """Return `text` (paragraphs separated by blank lines) without page furniture."""
    return text
