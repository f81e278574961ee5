"""Summary quality and speed: ours beside LEAD-K and sumy's TextRank, LexRank and Reduction.

    PYTHONPATH=. python benchmarks/summaries.py [--half a|b|all] [--limit N] [--oracle]

Every method gets the same sentences (our segmenter; sumy is handed a tokenizer object
built on it, since NLTK's punkt data is not available). Prints one markdown table per data
set: ROUGE-1/2/Lsum F1 (rouge-score, with stemming), sentence precision where the reference
is extractive, the share of summaries opening with a dangling reference, and articles per
second (ours includes segmentation; the others run on pre-split text). Ours and LEAD also
run under a budget of 45 words (whole sentences that fit, at most K; LEAD: the leading
sentences that fit; both take a first sentence longer than the budget whole). Then, per
data set and half, what an editor would strike in those 45-word blurbs, ours beside LEAD
(benchmarks/blurbs.py: scene-setting ledes and the nut grafs taken instead, sentences
without final punctuation or a verb, clutter, dangling references).

`--half a` or `--half b` keeps one half of each data set, split by a stable hash of the
article id (`dev_data.half_of`): rules are tuned on half a and checked on half b.
Needs the `bench` extra (rouge-score, sumy). Data: $DIGEST_DATA or a `shared/data` folder
beside the repository (see `dev_data.find_data_dir`).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import blurbs
from dev_data import BLURB_WORDS, Article, data_dir_or_say_so, load
from rouge_score import rouge_scorer, tokenizers
from sumy.models.dom import ObjectDocumentModel, Paragraph
from sumy.models.dom import Sentence as SumySentence
from sumy.nlp.stemmers import Stemmer
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.reduction import ReductionSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer
from sumy.utils import get_stop_words

from digest.text.segment import Sentence, segment, split_sentences
from digest.text.summarize import explain_sentences, opens_with_dangling_reference, summarize

BUDGET = BLURB_WORDS  # words, for the fixed-length rows
_WORDS = re.compile(r"\w+")
_NOT_ALNUM = re.compile(r"\W+")


@dataclass(frozen=True, slots=True)
class Row:
    method: str
    rouge1: float
    rouge2: float
    rouge_lsum: float
    precision: float | None
    dangling: float
    per_second: float


class SegmenterTokenizer:
    """What sumy asks of a tokenizer, built on our segmenter instead of NLTK punkt."""

    language = "english"

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(split_sentences(paragraph))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(_WORDS.findall(sentence))


Method = Callable[[Article, list[Sentence], int], list[str]]


def ours(article: Article, _sentences: list[Sentence], k: int) -> list[str]:
    # Segments the raw text itself, so the timing includes segmentation.
    return list(summarize(article.text, article.title, k).sentences)


def ours_presplit(article: Article, sentences: list[Sentence], k: int) -> list[str]:
    return list(explain_sentences(sentences, article.title, k).summary.sentences)


def ours_in_words(article: Article, _sentences: list[Sentence], k: int) -> list[str]:
    return list(summarize(article.text, article.title, k, words=BUDGET).sentences)


def lead(article: Article, sentences: list[Sentence], k: int) -> list[str]:
    return [s.text for s in sentences[:k]]


def lead_in_words(article: Article, sentences: list[Sentence], k: int) -> list[str]:
    """The leading sentences while they fit in BUDGET words (the first one always)."""
    chosen: list[str] = []
    used = 0
    for sentence in sentences[:k]:
        length = len(sentence.text.split())
        if chosen and used + length > BUDGET:
            break
        chosen.append(sentence.text)
        used += length
    return chosen


def sumy_method(summarizer_class: type) -> Method:
    summarizer = summarizer_class(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    tokenizer = SegmenterTokenizer()

    def run(article: Article, sentences: list[Sentence], k: int) -> list[str]:
        document = _sumy_document(sentences, tokenizer)
        return [str(s) for s in summarizer(document, k)]

    return run


def _sumy_document(sentences: list[Sentence], tokenizer: SegmenterTokenizer) -> object:
    paragraphs: dict[int, list[SumySentence]] = {}
    for s in sentences:
        paragraphs.setdefault(s.paragraph, []).append(SumySentence(s.text, tokenizer))
    return ObjectDocumentModel([Paragraph(p) for p in paragraphs.values()])


class Oracle:
    """Greedy ROUGE oracle: adds the sentence that most raises R-1 + R-2 F1, up to k times.

    Uses rouge-score's own tokenizer (with stemming) once per sentence and counts n-grams
    itself, since calling the scorer for every candidate would take minutes."""

    def __init__(self) -> None:
        self.tokenizer = tokenizers.DefaultTokenizer(use_stemmer=True)

    def __call__(self, article: Article, sentences: list[Sentence], k: int) -> list[str]:
        reference = self.tokenizer.tokenize(article.summary)
        ref_grams = (Counter(reference), Counter(pairwise(reference)))
        tokens = [self.tokenizer.tokenize(s.text) for s in sentences]
        chosen: list[int] = []
        best_total = 0.0
        for _ in range(k):
            candidates = [i for i in range(len(sentences)) if i not in chosen]
            scored = [(self._gain(sorted([*chosen, i]), tokens, ref_grams), i) for i in candidates]
            if not scored or max(scored)[0] <= best_total:
                break
            best_total, best = max(scored)
            chosen.append(best)
        return [sentences[i].text for i in sorted(chosen)]

    @staticmethod
    def _gain(
        chosen: list[int], tokens: list[list[str]], ref: tuple[Counter[str], Counter[object]]
    ) -> float:
        words = [t for i in chosen for t in tokens[i]]
        grams = (Counter(words), Counter(pairwise(words)))
        return sum(
            f1(candidate, reference) for candidate, reference in zip(grams, ref, strict=True)
        )


def f1(candidate: Counter[object], reference: Counter[object]) -> float:
    overlap = sum((candidate & reference).values())
    if not overlap:
        return 0.0
    precision = overlap / sum(candidate.values())
    recall = overlap / sum(reference.values())
    return 2 * precision * recall / (precision + recall)


def reference_key(summary: str) -> str:
    """The reference as one lower-case run of word characters, to find sentences in."""
    return _NOT_ALNUM.sub("", summary.lower())


def in_reference(sentence: str, reference_key: str) -> bool:
    key = _NOT_ALNUM.sub("", sentence.lower())
    return bool(key) and key in reference_key


def run_methods(
    methods: Sequence[tuple[str, Method]],
    articles: Sequence[Article],
    split: Sequence[list[Sentence]],
    k: int,
    chunk: int = 50,
) -> tuple[list[list[list[str]]], list[float]]:
    """Every method on every article, taking turns by chunks of articles: a change in the
    machine's load (other jobs share its cores) hits all methods alike, while each chunk
    is long enough for a method to run with warm caches, as it would in a batch."""
    outputs: list[list[list[str]]] = [[] for _ in methods]
    seconds = [0.0] * len(methods)
    for start in range(0, len(articles), chunk):
        pairs = list(
            zip(articles[start : start + chunk], split[start : start + chunk], strict=True)
        )
        for m, (_, method) in enumerate(methods):
            started = time.perf_counter()
            outputs[m].extend([method(article, sentences, k) for article, sentences in pairs])
            seconds[m] += time.perf_counter() - started
    return outputs, seconds


def evaluate(
    name: str,
    outputs: Sequence[list[str]],
    seconds: float,
    articles: Sequence[Article],
    scorer: rouge_scorer.RougeScorer,
    extractive: bool,
) -> Row:
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeLsum": 0.0}
    hits = picked = dangling = 0
    for article, output in zip(articles, outputs, strict=True):
        reference = "\n".join(split_sentences(article.summary))
        scores = scorer.score(reference, "\n".join(output))
        for key in totals:
            totals[key] += scores[key].fmeasure
        key = reference_key(article.summary)
        hits += sum(in_reference(s, key) for s in output)
        picked += len(output)
        dangling += bool(output) and opens_with_dangling_reference(output[0])
    n = len(articles)
    return Row(
        method=name,
        rouge1=100 * totals["rouge1"] / n,
        rouge2=100 * totals["rouge2"] / n,
        rouge_lsum=100 * totals["rougeLsum"] / n,
        precision=100 * hits / picked if extractive and picked else None,
        dangling=100 * dangling / n,
        per_second=n / seconds if seconds else float("inf"),
    )


def table(title: str, rows: Iterable[Row]) -> str:
    lines = [
        f"### {title}",
        "",
        "| method | R-1 | R-2 | R-Lsum | sent. precision % | dangling opener % | articles/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        precision = f"{r.precision:.1f}" if r.precision is not None else "n/a"
        lines.append(
            f"| {r.method} | {r.rouge1:.1f} | {r.rouge2:.1f} | {r.rouge_lsum:.1f} | {precision} "
            f"| {r.dangling:.1f} | {r.per_second:,.0f} |"
        )
    return "\n".join(lines)


def run_data_set(
    title: str, path: Path, k: int, extractive: bool, limit: int | None, oracle: bool, half: str
) -> str:
    articles = load(path, limit, half)
    split = [segment(a.text) for a in articles]
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    methods: list[tuple[str, Method]] = [
        ("ours (incl. segmentation)", ours),
        (f"LEAD-{k}", lead),
        ("sumy TextRank", sumy_method(TextRankSummarizer)),
        ("sumy LexRank", sumy_method(LexRankSummarizer)),
        ("sumy Reduction", sumy_method(ReductionSummarizer)),
        (f"ours, {BUDGET} words", ours_in_words),
        (f"LEAD, {BUDGET} words", lead_in_words),
    ]
    if oracle:
        methods.append(("greedy ROUGE oracle (ceiling)", Oracle()))
    outputs, seconds = run_methods(methods, articles, split, k)
    rows = [
        evaluate(name, out, sec, articles, scorer, extractive)
        for (name, _), out, sec in zip(methods, outputs, seconds, strict=True)
    ]
    ours_row, textrank_row = rows[0], rows[2]
    speedup = ours_row.per_second / textrank_row.per_second
    part = "" if half == "all" else f", half {half}"
    heading = f"{title}{part}, K = {k}, {len(articles)} articles"
    return table(heading, rows) + f"\n\nSpeed: ours / TextRank = {speedup:.1f}x\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    parser.add_argument("--oracle", action="store_true", help="add the greedy ROUGE oracle")
    parser.add_argument(
        "--half", choices=("a", "b", "all"), default="all", help="one half of each data set"
    )
    args = parser.parse_args(argv)
    data = data_dir_or_say_so()
    if data is None:
        return 2
    started = time.perf_counter()
    print(
        run_data_set(
            "bbc-summaries/dev.jsonl",
            data / "bbc-summaries" / "dev.jsonl",
            3,
            True,
            args.limit,
            args.oracle,
            args.half,
        )
    )
    print(
        run_data_set(
            "article-deks/dev.jsonl",
            data / "article-deks" / "dev.jsonl",
            2,
            False,
            args.limit,
            args.oracle,
            args.half,
        )
    )
    for name in ("bbc-summaries", "article-deks"):
        print(blurbs.report(data, name, args.half), end="\n\n")
    print(f"Total run time: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
