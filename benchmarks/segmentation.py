"""Our sentence splitter against pysbd and sentencex: boundaries on real multilingual text
judged by hand, agreement on English news, and speed.

    PYTHONPATH=. python benchmarks/segmentation.py [--limit N]

1. Real feeds in German, French, Swedish/Norwegian, Russian, Czech and Polish (the
   tuned-on half A of ../shared/data/real-feeds): every paragraph is split by the three
   splitters, each in the paragraph's language (the feed's, or digest's guess); 100 of the
   boundaries they disagree on (a seeded random sample of 382) were judged by hand, and
   `segmentation_gold.jsonl` keeps each judgement by feed, paragraph digest and position (no
   text is copied). Each splitter is scored on those: right when it splits where there is
   a boundary and not where there is none.
2. English news (bbc-summaries, article-deks): agreement of the three, and articles a second.

pysbd has no Swedish, Norwegian or Czech and is given Danish and Slovak for them. Needs
pysbd and sentencex (the `bench` extra) and the data (see benchmarks/summaries.py).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pysbd
import sentencex
from dev_data import data_dir_or_say_so  # this script's folder is on sys.path
from extraction_eval import dev_half

from digest.feeds.parse import parse_feed
from digest.models import FeedSource
from digest.text.language import guess_language
from digest.text.segment import split_paragraphs, split_sentences

Splitter = Callable[[str, str], list[str]]
GOLD = Path(__file__).with_name("segmentation_gold.jsonl")
PYSBD_LANGUAGES = {"sv": "da", "nb": "da", "cs": "sk"}  # pysbd's nearest


def ours(text: str, language: str) -> list[str]:
    return split_sentences(text, language)


_PYSBD: dict[str, pysbd.Segmenter] = {}


def with_pysbd(text: str, language: str) -> list[str]:
    code = PYSBD_LANGUAGES.get(language, language or "en")
    if code not in _PYSBD:
        _PYSBD[code] = pysbd.Segmenter(language=code, clean=False)
    return list(_PYSBD[code].segment(text))


def with_sentencex(text: str, language: str) -> list[str]:
    return list(sentencex.segment(language or "en", text))


SPLITTERS: dict[str, Splitter] = {"ours": ours, "pysbd": with_pysbd, "sentencex": with_sentencex}


def boundaries(sentences: Sequence[str]) -> set[int]:
    """Non-space characters before each sentence end, the last one excepted."""
    ends: set[int] = set()
    position = 0
    for sentence in sentences[:-1]:
        position += len("".join(sentence.split()))
        ends.add(position)
    return ends


def paragraph_key(paragraph: str) -> str:
    return hashlib.sha1(paragraph.encode("utf-8"), usedforsecurity=False).hexdigest()[:12]


def feed_paragraphs(folder: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(feed id, paragraph digest) -> (paragraph, language), for the feeds of half A."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    with (folder / "PROVENANCE.tsv").open(encoding="utf-8") as table:
        rows = [r for r in csv.DictReader(table, delimiter="\t") if dev_half(r["id"]) == "A"]
    for row in rows:
        source = FeedSource(row["id"], "http://127.0.0.1/feed")
        entries = parse_feed((folder / row["file"]).read_bytes(), source, source.url).entries
        for entry in entries:
            language = entry.language or guess_language(entry.content_text)
            for paragraph in split_paragraphs(entry.content_text):
                found[(row["id"], paragraph_key(paragraph))] = (paragraph, language)
    return found


def judged(folder: Path) -> str:
    gold = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()]
    paragraphs = feed_paragraphs(folder)
    present = [g for g in gold if (g["feed"], g["paragraph"]) in paragraphs]
    right: Counter[str] = Counter()
    by_language: Counter[tuple[str, str]] = Counter()
    languages: Counter[str] = Counter()
    for item in present:
        paragraph, language = paragraphs[(item["feed"], item["paragraph"])]
        languages[language] += 1
        for name, splitter in SPLITTERS.items():
            splits = item["at"] in boundaries(splitter(paragraph, language))
            if splits == item["boundary"]:
                right[name] += 1
                by_language[(name, language)] += 1
    shown = sorted(languages, key=lambda code: -languages[code])
    lines = [
        f"### Real feeds, half A: {len(present)} of {len(gold)} disputed boundaries judged by "
        f"hand ({sum(g['boundary'] for g in present)} true)",
        "",
        "| splitter | right | " + " | ".join(f"{c} ({languages[c]})" for c in shown) + " |",
        "|---|---:|" + "---:|" * len(shown),
    ]
    for name in SPLITTERS:
        cells = [str(by_language[(name, code)]) for code in shown]
        lines.append(f"| {name} | {right[name]} | " + " | ".join(cells) + " |")
    return "\n".join([*lines, ""])


def split_all(splitter: Splitter, texts: list[list[str]]) -> tuple[list[list[str]], float]:
    started = time.perf_counter()
    result = [[s for p in article for s in splitter(p, "en")] for article in texts]
    return result, time.perf_counter() - started


def english(path: Path, limit: int | None) -> str:
    with path.open(encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines][:limit]
    paragraphs = [split_paragraphs(t) for t in texts]
    runs = {name: split_all(splitter, paragraphs) for name, splitter in SPLITTERS.items()}
    mine = runs["ours"][0]
    n = len(texts)
    lines = [
        f"### {path.parent.name}/{path.name}: {n} articles",
        "",
        "| splitter | sentences | boundaries shared with ours | identical articles | articles/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (split, seconds) in runs.items():
        shared = total = identical = 0
        for a, b in zip(mine, split, strict=True):
            a_ends, b_ends = boundaries(a), boundaries(b)
            shared += len(a_ends & b_ends)
            total += len(a_ends | b_ends)
            identical += a_ends == b_ends
        lines.append(
            f"| {name} | {sum(map(len, split))} | {100 * shared / max(total, 1):.1f} % "
            f"| {100 * identical / n:.1f} % | {n / seconds:,.0f} |"
        )
    return "\n".join([*lines, ""])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    args = parser.parse_args(argv)
    data = data_dir_or_say_so()
    if data is None:
        return 2
    print(judged(data / "real-feeds"))
    for name in ("bbc-summaries", "article-deks"):
        print(english(data / name / "dev.jsonl", args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
