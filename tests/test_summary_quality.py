"""Quality floors for the summarizer on the dev data (a little under what it reaches).

The full comparison with LEAD-K and the sumy methods is benchmarks/summaries.py; this only
guards against regressions. Skips when the data or rouge-score is missing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from digest.text.segment import split_sentences
from digest.text.summarize import opens_with_dangling_reference, summarize

rouge_scorer = pytest.importorskip("rouge_score.rouge_scorer", reason="needs rouge-score")

_NOT_ALNUM = re.compile(r"\W+")


def _data_dir() -> Path | None:
    if env := os.environ.get("DIGEST_DATA"):
        return Path(env)
    root = Path(__file__).resolve().parents[1]
    for candidate in (root.parent / "shared" / "data", root.parent.parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return None


def _records(name: str) -> Iterator[dict[str, str]]:
    data = _data_dir()
    path = data / name / "dev.jsonl" if data else None
    if path is None or not path.is_file():
        pytest.skip(f"{name}/dev.jsonl not found: set DIGEST_DATA or put shared/data beside repo")
    with path.open(encoding="utf-8") as lines:
        yield from (json.loads(line) for line in lines)


@dataclass(frozen=True, slots=True)
class Scores:
    rouge1: float
    rouge2: float
    precision: float  # share of chosen sentences found in the reference
    dangling: float  # share of summaries opening with a dangling reference


def _measure(name: str, k: int, words: int | None = None) -> Scores:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
    r1 = r2 = 0.0
    n = hits = picked = dangling = 0
    for record in _records(name):
        chosen = summarize(record["text"], record["title"], k, words).sentences
        reference = "\n".join(split_sentences(record["summary"]))
        scores = scorer.score(reference, "\n".join(chosen))
        r1 += scores["rouge1"].fmeasure
        r2 += scores["rouge2"].fmeasure
        key = _NOT_ALNUM.sub("", record["summary"].lower())
        hits += sum(_NOT_ALNUM.sub("", s.lower()) in key for s in chosen)
        picked += len(chosen)
        dangling += bool(chosen) and opens_with_dangling_reference(chosen[0])
        n += 1
    return Scores(100 * r1 / n, 100 * r2 / n, 100 * hits / max(1, picked), 100 * dangling / n)


# The standfirsts are the primary yardstick (issue 11); BBC is the guard that central facts
# are still found. The lede rules that win on the standfirsts cost BBC points (the figures
# and the grid are in the README), so the BBC floors sit under today's lower figures. Since
# issue 21 the blind judges' blurb targets come first (tests/test_blurb_quality.py): the nut
# graf, clean sentences and stand-alone rules cost ROUGE on a few pages, and the floors sit
# under today's figures, above the guards (BBC R-1 48, deks R-1 LEAD-2 - 2 = 36.9).
@pytest.mark.slow
def test_bbc_summaries_k3_floor() -> None:
    scores = _measure("bbc-summaries", 3)
    assert scores.rouge1 >= 50.5, scores  # 51.0 today (LEAD-3: 44.6)
    assert scores.rouge2 >= 44.0, scores
    assert scores.precision >= 72.0, scores
    assert scores.dangling <= 1.5, scores


@pytest.mark.slow
def test_article_deks_k2_floor() -> None:
    scores = _measure("article-deks", 2)
    assert scores.rouge1 >= 40.0, scores  # 40.4 today (LEAD-2: 38.9)
    assert scores.rouge2 >= 30.5, scores
    assert scores.dangling <= 1.5, scores


@pytest.mark.slow
def test_article_deks_45_words_floor() -> None:
    scores = _measure("article-deks", 2, words=45)
    assert scores.rouge1 >= 44.8, scores  # 45.5 today (LEAD at 45 words: 42.3)
    assert scores.rouge2 >= 34.5, scores
    assert scores.dangling <= 1.5, scores
