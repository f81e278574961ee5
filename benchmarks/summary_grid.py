"""Can one weighting meet both summary yardsticks? A grid over the weights that trade them.

    PYTHONPATH=. python benchmarks/summary_grid.py [--limit N]

The standfirsts (article-deks, K = 2) reward the lede and its second sentence; the BBC
reference extracts (K = 3) reward central, long sentences. Issue 11 asks for deks R-1 at
least LEAD-2 + 2 points and BBC R-1 >= 57 with sentence precision >= 84 %, the deks first
when both cannot be had. This runs `digest.summarize.summarize` under every weighting of
the grid below (the other weights as in `WEIGHTS`) and prints, from one run:

* the best BBC figures among the weightings that meet the deks target on both halves;
* the best deks figure among the weightings that meet the BBC target;
* the Pareto front (no other weighting is better on both deks R-1 and BBC R-1).

ROUGE is rouge-score's (stemmed tokens, F1), counted here from tokens computed once per
sentence so that a weighting costs a second, not a minute; `--check` compares it with
rouge-score's own scorer on the default weights. Needs the `bench` extra and the data
(see benchmarks/summaries.py).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from dev_data import Article, data_dir_or_say_so, half_of, load
from rouge_score import rouge_scorer, tokenizers
from summaries import f1, in_reference, reference_key

from digest.text import summarize as summarizer
from digest.text.segment import split_sentences

GRID: dict[str, tuple[float, ...]] = {
    "lead": (0.0, 1.0, 2.0, 3.0),
    "split_lede": (0.0, 1.0, 2.0),
    "lede_paragraph": (0.0, 2.0),
    "centrality": (0.5, 1.0, 2.0, 3.0),
    "early": (0.0, 0.8),
    "length": (0.0, 0.5),
}
DEKS_MARGIN = 2.0  # R-1 points over LEAD-2
BBC_TARGET = (57.0, 84.0)  # R-1, sentence precision %


@dataclass(frozen=True, slots=True)
class Scores:
    deks_a: float
    deks_b: float
    deks_all: float
    bbc_r1: float
    bbc_precision: float


class Rouge:
    """R-1 F1 of a summary against a reference, from rouge-score's tokenizer (stemmed)."""

    def __init__(self) -> None:
        self.tokenizer = tokenizers.DefaultTokenizer(use_stemmer=True)
        self.cache: dict[str, list[str]] = {}

    def tokens(self, text: str) -> list[str]:
        if text not in self.cache:
            self.cache[text] = self.tokenizer.tokenize(text)
        return self.cache[text]

    def r1(self, reference: str, sentences: Sequence[str]) -> float:
        got = Counter(t for s in sentences for t in self.tokens(s))
        return 100 * f1(got, Counter(self.tokens(reference)))


def score(deks: Sequence[Article], bbc: Sequence[Article], rouge: Rouge) -> Scores:
    by_half: dict[str, list[float]] = {"a": [], "b": []}
    for article in deks:
        summary = summarizer.summarize(article.text, article.title, 2).sentences
        by_half[half_of(article.id)].append(rouge.r1(article.summary, summary))
    r1s: list[float] = []
    hits = picked = 0
    for article in bbc:
        summary = summarizer.summarize(article.text, article.title, 3).sentences
        r1s.append(rouge.r1(article.summary, summary))
        key = reference_key(article.summary)
        hits += sum(in_reference(s, key) for s in summary)
        picked += len(summary)
    every = by_half["a"] + by_half["b"]
    return Scores(
        deks_a=_mean(by_half["a"]),
        deks_b=_mean(by_half["b"]),
        deks_all=_mean(every),
        bbc_r1=_mean(r1s),
        bbc_precision=100 * hits / picked if picked else 0.0,
    )


def lead2(deks: Sequence[Article], rouge: Rouge) -> dict[str, float]:
    by_half: dict[str, list[float]] = {"a": [], "b": []}
    for article in deks:
        by_half[half_of(article.id)].append(rouge.r1(article.summary, _first(article.text, 2)))
    every = by_half["a"] + by_half["b"]
    return {"a": _mean(by_half["a"]), "b": _mean(by_half["b"]), "all": _mean(every)}


def _first(text: str, k: int) -> list[str]:
    return split_sentences(text)[:k]


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def check(deks: Sequence[Article], rouge: Rouge) -> float:
    """The largest difference between our R-1 and rouge-score's, over the deks summaries."""
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    worst = 0.0
    for article in deks:
        summary = summarizer.summarize(article.text, article.title, 2).sentences
        theirs = 100 * scorer.score(article.summary, "\n".join(summary))["rouge1"].fmeasure
        worst = max(worst, abs(theirs - rouge.r1(article.summary, summary)))
    return worst


Row = tuple[dict[str, float], Scores]


def pareto(rows: Sequence[Row]) -> list[Row]:
    """The rows that no other row beats on deks R-1 and BBC R-1 at once."""

    def beaten(s: Scores) -> bool:
        return any(
            o.deks_all >= s.deks_all
            and o.bbc_r1 >= s.bbc_r1
            and (o.deks_all > s.deks_all or o.bbc_r1 > s.bbc_r1)
            for _, o in rows
        )

    return sorted((row for row in rows if not beaten(row[1])), key=lambda row: row[1].deks_all)


def line(weights: dict[str, float] | str, s: Scores) -> str:
    shown = (
        weights
        if isinstance(weights, str)
        else ", ".join(f"{name} {value:g}" for name, value in weights.items())
    )
    return (
        f"| {shown} | {s.deks_a:.1f} | {s.deks_b:.1f} | {s.deks_all:.1f} "
        f"| {s.bbc_r1:.1f} | {s.bbc_precision:.1f} |"
    )


HEADER = (
    "| weights | deks R-1 half a | deks R-1 half b | deks R-1 all | BBC R-1 | BBC precision % |\n"
    "|---|---:|---:|---:|---:|---:|"
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N BBC articles")
    parser.add_argument("--check", action="store_true", help="compare R-1 with rouge-score's")
    args = parser.parse_args(argv)
    data = data_dir_or_say_so()
    if data is None:
        return 2
    started = time.perf_counter()
    deks = load(data / "article-deks" / "dev.jsonl", None)
    bbc = load(data / "bbc-summaries" / "dev.jsonl", args.limit)
    rouge = Rouge()
    if args.check:
        print(f"largest R-1 difference from rouge-score: {check(deks, rouge):.6f}")
    baseline = lead2(deks, rouge)
    defaults = dict(summarizer.WEIGHTS)
    rows: list[Row] = []
    try:
        for values in itertools.product(*GRID.values()):
            weights = dict(zip(GRID, values, strict=True))
            summarizer.WEIGHTS.update(weights)
            rows.append((weights, score(deks, bbc, rouge)))
    finally:
        summarizer.WEIGHTS.clear()
        summarizer.WEIGHTS.update(defaults)
    today = score(deks, bbc, rouge)

    def deks_met(s: Scores) -> bool:
        return s.deks_a >= baseline["a"] + DEKS_MARGIN and s.deks_b >= baseline["b"] + DEKS_MARGIN

    def bbc_met(s: Scores) -> bool:
        return s.bbc_r1 >= BBC_TARGET[0] and s.bbc_precision >= BBC_TARGET[1]

    meets_deks = [row for row in rows if deks_met(row[1])]
    meets_bbc = [row for row in rows if bbc_met(row[1])]
    both = sum(deks_met(s) and bbc_met(s) for _, s in rows)
    print(f"### {len(rows)} weightings ({', '.join(GRID)}); BBC: {len(bbc)} articles\n")
    print(
        f"LEAD-2 deks R-1: half a {baseline['a']:.1f}, half b {baseline['b']:.1f}, "
        f"all {baseline['all']:.1f}\n"
    )
    print(HEADER)
    print(line("today's WEIGHTS", today))
    best = max(meets_deks, key=lambda row: (row[1].bbc_r1, row[1].bbc_precision), default=None)
    if best:
        print(line(*best) + " ← best BBC where deks >= LEAD-2 + 2 on both halves")
    steady = max(
        rows, key=lambda row: min(row[1].deks_a - baseline["a"], row[1].deks_b - baseline["b"])
    )
    print(line(*steady) + " ← best deks margin over LEAD-2 on the worse half")
    top = max(meets_bbc, key=lambda row: row[1].deks_all, default=None)
    if top:
        print(line(*top) + " ← best deks where BBC >= 57 / 84 %")
    print(
        f"\n{len(meets_deks)} weightings meet the deks target on both halves, "
        f"{len(meets_bbc)} the BBC target, {both} both. The BBC target's weightings have lead "
        f"{sorted({w['lead'] for w, _ in meets_bbc})}."
    )
    whole = [s for _, s in rows if s.deks_all >= baseline["all"] + DEKS_MARGIN]
    if whole:
        print(
            f"{len(whole)} weightings are at LEAD-2 + 2 on the whole deks set; their best BBC "
            f"R-1 is {max(s.bbc_r1 for s in whole):.1f}, their best precision "
            f"{max(s.bbc_precision for s in whole):.1f} %.\n"
        )
    print("Pareto front (deks R-1 all against BBC R-1):\n")
    print(HEADER)
    for weights, s in pareto(rows):
        print(line(weights, s))
    print(f"\nTotal run time: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
