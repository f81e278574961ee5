"""The C stems (digest/text/_stems.c) against their Python reference (`article_words_py`).

The summarizer counts each sentence's content stems; the C module computes them without
a dictionary lookup per token. Both must give the same stems and word counts for any
text, so the summaries do not depend on whether a C compiler was there at install."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from digest.text import article, summarize
from digest.text.segment import segment
from digest.text.words import HAVE_C_STEMS, article_words_c, article_words_py

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

needs_c = pytest.mark.skipif(not HAVE_C_STEMS, reason="digest/text/_stems.c was not built")


@pytest.mark.skipif(
    os.environ.get("DIGEST_PURE_PYTHON") == "1", reason="DIGEST_PURE_PYTHON=1: no C expected"
)
def test_the_c_stems_are_built() -> None:
    # `pip install` builds them with the machine's C compiler (hatch_build.py); without
    # one digest still works, but slower: this says so instead of passing quietly.
    assert HAVE_C_STEMS


@needs_c
@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "The companies' profits rose; the bus, the boss and the basis did not.",
        "Ties, lies and dies: cities' SERIES of studies.",
        "Jones's dog's bone — it's the U.S. e-mails (1990s) £75m 47.3% don't",
        "Bank’s “quoted” «words» … and—dashes – here’s",
        "Café naïve Ärzte übernehmen Schäden; Σίσυφος ΟΔΟΣ",
        "北京 的 天气 很好。東京も晴れ",
        "tab\tseparated\xa0nbsp\u2009thin\x1cfile-separator\u3000ideographic",
        "a I x 7 ab 's 'S ' \" () ... -- **",
        "x" * 64 + " " + "y" * 65 + "s " + "Z" * 200,
        "https://example.com/some/long/path?query=1&other=2#fragment-with-words.html",
    ],
)
def test_c_and_python_stems_agree_on_tricky_text(text: str) -> None:
    assert article_words_c([text]) == article_words_py([text])


@needs_c
def test_c_and_python_stems_agree_on_generated_text() -> None:
    rng = random.Random(11)
    pieces = [
        *"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        *"\"'“”‘’«»()[]{}.,;:!?…—–-*&/%$£€",
        "s", "'s", "’s", "ies", "ss", "us", "is", "é", "Σ", "ß", "İ", "中",
        " ", " ", " ", "  ", "\t", "\n", "\xa0", "\u2009", "\x1c",
    ]  # fmt: skip
    texts = ["".join(rng.choices(pieces, k=rng.randint(0, 60))) for _ in range(5000)]
    assert article_words_c(texts) == article_words_py(texts)


def _dev_texts() -> list[str]:
    texts: list[str] = []
    for name in ("bbc-summaries", "article-deks"):
        with (DATA / name / "dev.jsonl").open(encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                texts += [row["text"], row["title"], row["summary"]]
    truth = json.loads((DATA / "article-pages" / "ground-truth.json").read_text("utf-8"))
    texts += [page["articleBody"] for page in truth.values()]
    return texts


@needs_c
@pytest.mark.skipif(not DATA.is_dir(), reason="needs ../shared/data")
def test_c_and_python_stems_agree_on_every_dev_text() -> None:
    for text in _dev_texts():
        sentences = [s.text for s in segment(text)] + text.splitlines()
        assert article_words_c(sentences) == article_words_py(sentences), text[:80]


@needs_c
@pytest.mark.skipif(not DATA.is_dir(), reason="needs ../shared/data")
def test_summaries_are_the_same_without_the_c_stems(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (DATA / "seed-article" / "000_329753098a3bb7ac.txt").read_text("utf-8")
    with_c = summarize.explain(text, "Stem cells made into mouse eggs", 3)
    monkeypatch.setattr(article, "article_words", article_words_py)
    without = summarize.explain(text, "Stem cells made into mouse eggs", 3)
    assert with_c.chosen == without.chosen
    assert with_c.scores == without.scores
    assert with_c.summary == without.summary
