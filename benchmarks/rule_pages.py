"""Per-rule, per-page effect of the extraction rules on shared/data/article-pages.

Run from the repo root:  PYTHONPATH=. python benchmarks/rule_pages.py [--data DIR] [--min 0.001]

benchmarks/extraction.py gives each rule's effect on a group's mean; this gives where the
effect comes from. For each rule in `digest.extract.RULES`, and for each line rule of
`digest.text.furniture` that extraction reaches (switched off by making its pattern match
nothing), it prints the pages whose F1 moves by at least `--min` without the rule: the
page's half, site, and F1 / precision / recall with the rule minus without it (positive:
the rule helps there), and the rule's summed effect per half. A rule whose whole effect is
one or two pages, or that helps one half and hurts the other, is suspect. A last table says
on which pages the readability second opinion ran and on which its text was used.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch
from urllib.parse import urlsplit

from extraction_eval import Page, article_pages, dev_half, find_shared_data, shingle_match

import digest.text.extract as extract
import digest.text.furniture as furniture
from digest.errors import ExtractError

NEVER = re.compile(r"(?!)")
# The line rules of digest/text/furniture.py that extraction reaches, by the pattern that is
# each one's whole test.
LINE_RULES: dict[str, tuple[str, ...]] = {
    "line: player timestamp": ("_TIMESTAMP",),
    "line: reading time": ("_READING_TIME",),
    "line: byline / dateline": ("_BYLINE", "_DATELINE"),
    "line: widget label": ("_WIDGET_LABEL",),
    "line: call to action": ("_CALL_TO_ACTION",),
    "line: paywall prompt": ("_PAYWALL",),
    "line: signup / newsletter": ("_SIGNUP",),
    "line: contributor credits": ("_CONTRIBUTORS",),
    "line: photo caption / credit": ("_CREDIT_MARKER", "_CREDIT_TAIL"),
    "end: end-of-article heading": ("_END_HEADING",),
    "tail: truncated last line": ("_TRUNCATED",),
}


@dataclass(frozen=True, slots=True)
class PageScore:
    f1: float
    precision: float
    recall: float


def page_score(true: str, predicted: str) -> PageScore:
    m = shingle_match(true, predicted)
    if m.fp == m.fn == 0:
        return PageScore(1.0, 1.0, 1.0) if m.tp else PageScore(0.0, 0.0, 0.0)
    p = m.tp / (m.tp + m.fp) if m.tp + m.fp else 0.0
    r = m.tp / (m.tp + m.fn) if m.tp + m.fn else 0.0
    return PageScore(0.0 if p + r == 0 else 2 * p * r / (p + r), p, r)


def run(pages: list[Page], rules: frozenset[str]) -> dict[str, PageScore]:
    scores = {}
    for page in pages:
        try:
            text = extract.extract_with_rules(page.html, page.url, rules).text
        except ExtractError:
            text = ""
        scores[page.id] = page_score(page.true_body, text)
    return scores


@contextmanager
def line_rule_off(names: tuple[str, ...]) -> Iterator[None]:
    """digest.text.furniture with the named patterns matching nothing."""
    with ExitStack() as stack:
        for name in names:
            stack.enter_context(patch.object(furniture, name, NEVER))
        yield


def report(
    name: str,
    pages: list[Page],
    full: dict[str, PageScore],
    without: dict[str, PageScore],
    minimum: float,
) -> str:
    lines = []
    totals = {"A": 0.0, "B": 0.0}
    touched = {"A": 0, "B": 0}
    for page in pages:
        kept, lost = full[page.id], without[page.id]
        delta = kept.f1 - lost.f1
        half = dev_half(page.id)
        totals[half] += delta
        if abs(delta) >= minimum:
            touched[half] += 1
            lines.append(
                f"    {half} {page.id[:10]} {urlsplit(page.url).netloc:32.32} "
                f"ΔF1 {delta:+.4f}  ΔP {kept.precision - lost.precision:+.4f}  "
                f"ΔR {kept.recall - lost.recall:+.4f}"
            )
    count = {half: sum(1 for p in pages if dev_half(p.id) == half) for half in "AB"}
    head = (
        f"{name}: mean page ΔF1 A {totals['A'] / count['A']:+.4f} ({touched['A']} pages), "
        f"B {totals['B'] / count['B']:+.4f} ({touched['B']} pages)"
    )
    return "\n".join([head, *lines])


def second_opinion_pages(pages: list[Page]) -> str:
    """Pages where readability ran, and where its text replaced ours."""
    ran: list[str] = []
    used: list[str] = []
    gate, prefer = extract._may_have_stopped_early, extract._prefer_fallback
    for page in pages:

        def logged_gate(ours: list[str], prose: int, page_id: str = page.id) -> bool:
            verdict = gate(ours, prose)
            if verdict:
                ran.append(page_id)
            return verdict

        def logged_prefer(ours: list[str], fallback: list[str], page_id: str = page.id) -> bool:
            verdict = prefer(ours, fallback)
            if verdict:
                used.append(page_id)
            return verdict

        with (
            patch.object(extract, "_may_have_stopped_early", logged_gate),
            patch.object(extract, "_prefer_fallback", logged_prefer),
            suppress(ExtractError),
        ):
            extract.extract_article(page.html, page.url)
    hosts = {page.id: urlsplit(page.url).netloc for page in pages}
    lines = [f"readability ran on {len(ran)} pages, its text used on {len(used)}:"]
    lines += [
        f"    {dev_half(pid)} {pid[:10]} {hosts[pid]:32.32} {'used' if pid in used else 'ran'}"
        for pid in ran
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="shared data folder (default: located)")
    parser.add_argument("--min", type=float, default=0.001, help="smallest page ΔF1 listed")
    args = parser.parse_args(argv)
    data = args.data or find_shared_data()
    if data is None or not (data / "article-pages").is_dir():
        print("article-pages data not found: set DIGEST_DATA or pass --data", file=sys.stderr)
        return 2
    logging.disable(logging.WARNING)
    pages = list(article_pages(data))
    every = frozenset(extract.RULES)
    full = run(pages, every)
    for rule in extract.RULES:
        print(report(rule, pages, full, run(pages, every - {rule}), args.min))
    for name, patterns in LINE_RULES.items():
        with line_rule_off(patterns):
            without = run(pages, every)
        print(report(name, pages, full, without, args.min))
    print(second_opinion_pages(pages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
