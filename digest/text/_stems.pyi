"""Types of the C extension built from _stems.c (see digest.text.words.article_words)."""

from collections.abc import Iterable, Mapping, Sequence

def configure(
    stop_words: Iterable[str], strip: str, symbols: str, number_chars: str, /
) -> None: ...
def article_words(
    texts: Sequence[str], stem_cache: Mapping[str, str], /
) -> tuple[list[list[str]], list[int], list[int], list[int], list[int]]: ...
