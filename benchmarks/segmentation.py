"""Our sentence splitter against pysbd: boundary agreement and speed.

    PYTHONPATH=. python benchmarks/segmentation.py [--limit N]

Both splitters get the same paragraphs (a paragraph break always ends a sentence), so the
comparison is about boundaries inside paragraphs. Boundaries are compared as counts of
non-space characters before each sentence end, which ignores whitespace differences.
Needs pysbd (the `bench` extra) and the data (see benchmarks/summaries.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pysbd
from dev_data import data_dir_or_say_so  # this script's folder is on sys.path

from digest.text.segment import split_paragraphs, split_sentences

Splitter = Callable[[str], list[str]]


def boundaries(sentences: Sequence[str]) -> set[int]:
    """Non-space characters before each sentence end, the last one excepted."""
    ends: set[int] = set()
    position = 0
    for sentence in sentences[:-1]:
        position += len("".join(sentence.split()))
        ends.add(position)
    return ends


def split_all(splitter: Splitter, paragraphs: list[list[str]]) -> tuple[list[list[str]], float]:
    started = time.perf_counter()
    result = [[s for p in article for s in splitter(p)] for article in paragraphs]
    return result, time.perf_counter() - started


def compare(path: Path, limit: int | None) -> str:
    with path.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines][:limit]
    paragraphs = [split_paragraphs(t) for t in texts]
    pysbd_splitter = pysbd.Segmenter(language="en", clean=False)
    ours, ours_seconds = split_all(split_sentences, paragraphs)
    theirs, theirs_seconds = split_all(pysbd_splitter.segment, paragraphs)
    agreed = ours_only = theirs_only = identical = 0
    for a, b in zip(ours, theirs, strict=True):
        a_ends, b_ends = boundaries(a), boundaries(b)
        agreed += len(a_ends & b_ends)
        ours_only += len(a_ends - b_ends)
        theirs_only += len(b_ends - a_ends)
        identical += a_ends == b_ends
    precision = agreed / (agreed + ours_only) if agreed + ours_only else 1.0
    recall = agreed / (agreed + theirs_only) if agreed + theirs_only else 1.0
    n = len(texts)
    return "\n".join(
        [
            f"### {path.parent.name}/{path.name}: {n} articles",
            "",
            "| splitter | sentences | articles/s |",
            "|---|---:|---:|",
            f"| ours | {sum(map(len, ours))} | {n / ours_seconds:,.0f} |",
            f"| pysbd | {sum(map(len, theirs))} | {n / theirs_seconds:,.0f} |",
            "",
            f"Boundary agreement with pysbd: precision {100 * precision:.1f} %, "
            f"recall {100 * recall:.1f} %; identical splits in {100 * identical / n:.1f} % "
            f"of articles; ours is {theirs_seconds / ours_seconds:.0f}x faster.",
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    args = parser.parse_args(argv)
    data = data_dir_or_say_so()
    if data is None:
        return 2
    for name in ("bbc-summaries", "article-deks"):
        print(compare(data / name / "dev.jsonl", args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
