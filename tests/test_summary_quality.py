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

from digest.segment import split_sentences
from digest.summarize import opens_with_dangling_reference, summarize

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


def _measure(name: str, k: int) -> Scores:
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
    r1 = r2 = 0.0
    n = hits = picked = dangling = 0
    for record in _records(name):
        chosen = summarize(record["text"], record["title"], k).sentences
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


@pytest.mark.slow
def test_bbc_summaries_k3_floor() -> None:
    scores = _measure("bbc-summaries", 3)
    assert scores.rouge1 >= 53.0, scores
    assert scores.rouge2 >= 48.0, scores
    assert scores.precision >= 79.0, scores
    assert scores.dangling <= 3.0, scores


@pytest.mark.slow
def test_article_deks_k2_floor() -> None:
    scores = _measure("article-deks", 2)
    assert scores.rouge1 >= 37.5, scores
    assert scores.rouge2 >= 28.0, scores
    assert scores.dangling <= 3.0, scores
