"""Score article extractors on shared/data/article-pages with the benchmark's own metric.

Run from the repo root:  PYTHONPATH=. python benchmarks/extraction.py [--data DIR] [--no-ablation]

Extractors: ours (`digest.extract.extract_article`), trafilatura with default settings
(`trafilatura.extract(html)`), trafilatura as the benchmark's own runner calls it
(`include_comments=False`), and readability-lxml (`Document(html).summary(html_partial=True)`
turned into text with `digest.extract.html_to_text`). The metric (F1, precision, recall over 4-word
shingles, averaged per page as in Scrapinghub's article-extraction-benchmark `evaluate.py`)
is described in `benchmarks/extraction_eval.py`.

The pages are scored in groups: half A of the dev pages (our rules are tuned on it), half B
(held out: the figure that counts), the pages whose true text is not English (all, and
those in half B), and the English ones. Pages per second are over all pages. The ablation
table then runs ours without each of its rules in turn: a rule's contribution is what the
scores lose without it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import trafilatura
from extraction_eval import (
    Page,
    Scores,
    article_pages,
    dev_half,
    find_shared_data,
    score,
    text_language,
)
from readability import Document

from digest.errors import ExtractError
from digest.text.extract import RULES, extract_article, extract_with_rules, html_to_text

Extractor = Callable[[Page], str]


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    page_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    predicted: dict[str, str]
    pages_per_second: float
    failures: int


def ours(page: Page) -> str:
    try:
        return extract_article(page.html, page.url).text
    except ExtractError:
        return ""


def ours_with(rules: frozenset[str]) -> Extractor:
    def extract(page: Page) -> str:
        try:
            return extract_with_rules(page.html, page.url, rules).text
        except ExtractError:
            return ""

    return extract


# The baselines get the page as the benchmark's runners do: text decoded as UTF-8.
def trafilatura_defaults(page: Page) -> str:
    return trafilatura.extract(page.html.decode("utf-8", "replace")) or ""


def trafilatura_no_comments(page: Page) -> str:
    """What the benchmark's own runner calls (`include_comments=False`), for reference."""
    html = page.html.decode("utf-8", "replace")
    return trafilatura.extract(html, include_comments=False) or ""


def readability_lxml(page: Page) -> str:
    # The benchmark's runner: summary(html_partial=True) to text (html_text there, ours here).
    summary = Document(page.html.decode("utf-8", "replace")).summary(html_partial=True)
    return html_to_text(summary)


EXTRACTORS: dict[str, Extractor] = {
    "digest (ours)": ours,
    "trafilatura (defaults)": trafilatura_defaults,
    "trafilatura (include_comments=False)": trafilatura_no_comments,
    "readability-lxml": readability_lxml,
}
BASELINE = "trafilatura (defaults)"


def groups(pages: list[Page]) -> list[Group]:
    language = {page.id: text_language(page.true_body) for page in pages}

    def group(name: str, keep: Callable[[Page], bool]) -> Group:
        return Group(name, frozenset(page.id for page in pages if keep(page)))

    return [
        group("half A (tuned on)", lambda page: dev_half(page.id) == "A"),
        group("half B (held out)", lambda page: dev_half(page.id) == "B"),
        group("non-English", lambda page: language[page.id] != "en"),
        group(
            "non-English in B",
            lambda page: language[page.id] != "en" and dev_half(page.id) == "B",
        ),
        group("English", lambda page: language[page.id] == "en"),
    ]


def run(name: str, extractor: Extractor, pages: list[Page]) -> Result:
    predicted: dict[str, str] = {}
    failures = 0
    started = time.perf_counter()
    for page in pages:
        try:
            predicted[page.id] = extractor(page)
        except Exception as error:  # a crash on one page scores as an empty extraction
            print(f"{name}: {page.id}: {error}", file=sys.stderr)
            predicted[page.id] = ""
            failures += 1
    elapsed = time.perf_counter() - started
    return Result(name, predicted, len(pages) / elapsed, failures)


def group_scores(result: Result, group: Group, truth: dict[str, str]) -> Scores:
    return score({key: truth[key] for key in group.page_ids}, result.predicted)


def table(results: list[Result], by: list[Group], truth: dict[str, str]) -> str:
    header = " | ".join(f"{g.name} ({len(g.page_ids)}): F1 / P / R" for g in by)
    lines = [f"| extractor | {header} | pages/s |", "|---" + "|---:" * (len(by) + 1) + "|"]
    for result in results:
        cells = []
        for group in by:
            s = group_scores(result, group, truth)
            cells.append(f"{s.f1:.3f} / {s.precision:.3f} / {s.recall:.3f}")
        lines.append(f"| {result.name} | {' | '.join(cells)} | {result.pages_per_second:.1f} |")
    return "\n".join(lines)


def margins(results: list[Result], by: list[Group], truth: dict[str, str]) -> str:
    ours_result, baseline = results[0], next(r for r in results if r.name == BASELINE)
    parts = []
    for group in by:
        gain = group_scores(ours_result, group, truth).f1 - group_scores(baseline, group, truth).f1
        parts.append(f"{group.name} {gain:+.3f}")
    return f"F1 of ours minus {BASELINE}: " + ", ".join(parts)


def ablation(pages: list[Page], by: list[Group], truth: dict[str, str]) -> str:
    """Each rule's contribution: the scores with every rule minus the scores without it."""
    every = frozenset(RULES)
    full = run("all rules", ours_with(every), pages)
    header = " | ".join(f"{g.name}: ΔF1 / ΔP / ΔR" for g in by)
    lines = [f"| rule | {header} |", "|---" + "|---:" * len(by) + "|"]
    variants = [(rule, every - {rule}) for rule in RULES]
    variants.append(("all of them (vs trafilatura alone)", frozenset()))
    for rule, rules in variants:
        without = run(f"without {rule}", ours_with(rules), pages)
        cells = []
        for group in by:
            kept, lost = group_scores(full, group, truth), group_scores(without, group, truth)
            cells.append(
                f"{kept.f1 - lost.f1:+.4f} / {kept.precision - lost.precision:+.4f} "
                f"/ {kept.recall - lost.recall:+.4f}"
            )
        lines.append(f"| {rule} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="shared data folder (default: located)")
    parser.add_argument("--no-ablation", action="store_true", help="skip the rule ablation")
    args = parser.parse_args(argv)
    data = args.data or find_shared_data()
    if data is None or not (data / "article-pages").is_dir():
        print("article-pages data not found: set DIGEST_DATA or pass --data", file=sys.stderr)
        return 2
    # trafilatura and readability log every odd page at WARNING; the table is the output.
    logging.disable(logging.WARNING)
    pages = list(article_pages(data))
    truth = {page.id: page.true_body for page in pages}
    by = groups(pages)
    results = [run(name, extractor, pages) for name, extractor in EXTRACTORS.items()]
    print(f"{len(pages)} pages from {data / 'article-pages'}\n")
    print(table(results, by, truth))
    print(f"\n{margins(results, by, truth)}")
    if not args.no_ablation:
        print("\nRule ablation (ours with every rule, minus ours without the rule):\n")
        print(ablation(pages, by, truth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
