"""Score article extractors on shared/data/article-pages with the benchmark's own metric.

Run from the repo root:  PYTHONPATH=. python benchmarks/extraction.py [--data DIR]

Extractors: ours (`digest.extract.extract_article`), trafilatura with default settings
(`trafilatura.extract(html)`), trafilatura as the benchmark's own runner calls it
(`include_comments=False`), and readability-lxml (`Document(html).summary(html_partial=True)`
turned into text with `digest.extract.html_to_text`). The metric (F1, precision, recall over 4-word
shingles, averaged per page as in Scrapinghub's article-extraction-benchmark `evaluate.py`)
is described in `digest/extraction_eval.py`. Prints a markdown table with pages per second.
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
from readability import Document

from digest.errors import ExtractError
from digest.extract import extract_article, html_to_text
from digest.extraction_eval import Page, Scores, article_pages, find_shared_data, score

Extractor = Callable[[Page], str]


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    scores: Scores
    pages_per_second: float
    failures: int


def ours(page: Page) -> str:
    try:
        return extract_article(page.html, page.url).text
    except ExtractError:
        return ""


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
    truth = {page.id: page.true_body for page in pages}
    return Result(name, score(truth, predicted), len(pages) / elapsed, failures)


def table(results: list[Result]) -> str:
    lines = [
        "| extractor | F1 | precision | recall | pages/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        s = r.scores
        lines.append(
            f"| {r.name} | {s.f1:.3f} | {s.precision:.3f} | {s.recall:.3f} "
            f"| {r.pages_per_second:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="shared data folder (default: located)")
    args = parser.parse_args(argv)
    data = args.data or find_shared_data()
    if data is None or not (data / "article-pages").is_dir():
        print("article-pages data not found: set DIGEST_DATA or pass --data", file=sys.stderr)
        return 2
    # trafilatura and readability log every odd page at WARNING; the table is the output.
    logging.disable(logging.WARNING)
    pages = list(article_pages(data))
    results = [run(name, extractor, pages) for name, extractor in EXTRACTORS.items()]
    print(f"{len(pages)} pages from {data / 'article-pages'}\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
