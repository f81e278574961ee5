"""Measuring article extraction: the shared evaluation data and the benchmark's metric.

The metric is the one of Scrapinghub's article-extraction-benchmark (`evaluate.py`):
tokens are `\\w+` runs (case kept); a text becomes the multiset of its 4-token shingles
(a text shorter than 4 tokens is one shorter shingle); per page
TP = sum of min(true count, predicted count), FP and FN the surpluses on either side, all
three divided by their sum so every page weighs the same. Precision is the mean over pages
with TP + FP > 0 (a page with nothing extracted does not count against precision, only
against recall), recall the mean over pages with TP + FN > 0, and F1 the harmonic mean of
those two means.

Rules are tuned on half A of the dev pages and reported on half B (`dev_half`), so a rule
that only fits the pages it was written for shows up as a gap between the halves.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import statistics
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

SHINGLE_SIZE = 4
_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class ShingleMatch:
    """One page's normalised true-positive, false-positive and false-negative shares."""

    tp: float
    fp: float
    fn: float


@dataclass(frozen=True, slots=True)
class Scores:
    f1: float
    precision: float
    recall: float


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    url: str
    html: bytes
    true_body: str


def shingles(text: str, size: int = SHINGLE_SIZE) -> Counter[tuple[str, ...]]:
    tokens = _TOKEN.findall(text or "")
    count = max(1, len(tokens) - size + 1)
    return Counter(shingle for i in range(count) if (shingle := tuple(tokens[i : i + size])))


def shingle_match(true: str, predicted: str) -> ShingleMatch:
    true_counts, predicted_counts = shingles(true), shingles(predicted)
    tp = sum((true_counts & predicted_counts).values())
    fp = sum((predicted_counts - true_counts).values())
    fn = sum((true_counts - predicted_counts).values())
    total = tp + fp + fn
    if total == 0:
        return ShingleMatch(0.0, 0.0, 0.0)
    return ShingleMatch(tp / total, fp / total, fn / total)


def _precision(m: ShingleMatch) -> float:
    return 1.0 if m.fp == m.fn == 0 else m.tp / (m.tp + m.fp)


def _recall(m: ShingleMatch) -> float:
    return 1.0 if m.fp == m.fn == 0 else m.tp / (m.tp + m.fn)


def aggregate(matches: list[ShingleMatch]) -> Scores:
    precision = statistics.mean([_precision(m) for m in matches if m.tp + m.fp > 0] or [0.0])
    recall = statistics.mean([_recall(m) for m in matches if m.tp + m.fn > 0] or [0.0])
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return Scores(f1=f1, precision=precision, recall=recall)


def score(truth: Mapping[str, str], predicted: Mapping[str, str]) -> Scores:
    """Score predicted article bodies against true ones, both keyed by page id."""
    return aggregate([shingle_match(truth[key], predicted.get(key, "")) for key in truth])


def dev_half(page_id: str) -> str:
    """Half "A" (rules are tuned on it) or "B" (held out): the top bit of the id's MD5, so
    the split is the same on every machine and a new page falls into a half by itself."""
    digest = hashlib.md5(page_id.encode("utf-8"), usedforsecurity=False).digest()
    return "A" if digest[0] < 128 else "B"


def text_language(text: str) -> str:
    """The ISO 639-1 code of a text's language, by py3langid (a test and bench extra)."""
    import py3langid  # imported here: only measurement needs it

    language: str = py3langid.classify(text)[0]
    return language


def find_shared_data(start: Path | None = None) -> Path | None:
    """`$DIGEST_DATA`, else `shared/data` beside the repo or one level further up."""
    if env := os.environ.get("DIGEST_DATA"):
        path = Path(env)
        return path if path.is_dir() else None
    root = start or Path(__file__).resolve().parent.parent
    for candidate in (root.parent / "shared" / "data", root.parent.parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return None


def article_pages(data_dir: Path) -> Iterator[Page]:
    """The article-pages set: raw served HTML and the true body of each page."""
    folder = data_dir / "article-pages"
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    for page_id, record in sorted(truth.items()):
        html = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
        yield Page(page_id, record["url"], html, record.get("articleBody", ""))
