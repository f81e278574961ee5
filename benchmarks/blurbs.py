"""What an editor would strike in a blurb, counted: ours and LEAD at 45 words, per half.

    PYTHONPATH=. python benchmarks/blurbs.py [--half a|b|all] [--show N]

For every article of the standfirst set (article-deks, the pages the blind judges read) and
of the BBC set, the blurb at 45 words (`digest summarize --words 45 -k 3`) and LEAD's (the
leading sentences that fit in 45 words, the first always), and per half (`half_of`, the
stable hash benchmarks/summaries.py splits by; the rules were tuned on half a):

* ledes judged scene-setting: the share of articles whose opening the summarizer judged
  scene-setting, or unfit for a blurb (`digest.text.lede`; the same for both blurbs);
* nut graf in blurb: the share of blurbs holding the sentence taken instead (the nut graf);
  scene-setting, no nut graf: the share holding the scene-setting opening without it;
* no final punctuation, no verb, clutter: shares of the blurbs' sentences with that flaw
  (`digest.text.quality`; clutter is a table or ticker row, a link, price, spec or contact
  line, hashtags, a sponsorship note, a call to action or widget, a timestamp, a cut);
* dangling: the share of blurbs with a reference the reader cannot resolve: an opening
  "He", "This", "But" (the summary table's "dangling opener"), a later sentence that leans
  on one left out ("The singer said", "They"), or a surname given in full only elsewhere.

`--show N` prints N blurbs of each half that changed anything counted here, ours beside
LEAD, for reading. Needs the data (see benchmarks/summaries.py), not the bench extra.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dev_data import BLURB_WORDS as BUDGET
from dev_data import Article, data_dir_or_say_so, half_of, load

from digest.text.article import Article as Analysed
from digest.text.article import analyse
from digest.text.quality import flaws
from digest.text.segment import segment
from digest.text.standalone import leans_back, opens_with_dangling_reference
from digest.text.summarize import explain_article

_FORM = ("no terminal punctuation", "no verb")


@dataclass(frozen=True, slots=True)
class Blurb:
    indices: tuple[int, ...]  # the article's sentences, in order
    texts: tuple[str, ...]  # as the blurb shows them


@dataclass(frozen=True, slots=True)
class Counts:
    """One method's blurbs over one set of articles."""

    articles: int = 0
    sentences: int = 0
    judged: int = 0  # ledes judged scene-setting
    nut_graf: int = 0  # blurbs holding the nut graf taken instead
    scene_only: int = 0  # blurbs holding a scene-setting lede and not the nut graf
    no_final: int = 0
    no_verb: int = 0
    clutter: int = 0
    dangling: int = 0

    def add(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(_fields(self), _fields(other), strict=True)))


def _fields(counts: Counts) -> tuple[int, ...]:
    return tuple(getattr(counts, name) for name in Counts.__slots__)


def ours(art: Analysed) -> Blurb:
    explanation = explain_article(art, 3, BUDGET)
    return Blurb(explanation.chosen, explanation.summary.sentences)


def lead(art: Analysed) -> Blurb:
    """The leading sentences that fit in the budget (the first always)."""
    chosen: list[int] = []
    used = 0
    for i, length in enumerate(art.lengths[:3]):
        if chosen and used + length > BUDGET:
            break
        chosen.append(i)
        used += length
    return Blurb(tuple(chosen), tuple(art.texts[i] for i in chosen))


def count(art: Analysed, blurb: Blurb) -> Counts:
    found = [flaws(text, lambda: art.english) for text in blurb.texts]
    lede = art.lede
    return Counts(
        articles=1,
        sentences=len(blurb.texts),
        judged=lede.scene_setting,
        nut_graf=lede.scene_setting and lede.point in blurb.indices,
        scene_only=lede.scene_setting and lede.point not in blurb.indices,
        no_final=sum("no terminal punctuation" in f for f in found),
        no_verb=sum("no verb" in f for f in found),
        clutter=sum(any(flaw not in _FORM for flaw in f) for f in found),
        dangling=bool(dangling_references(art, blurb)),
    )


def dangling_references(art: Analysed, blurb: Blurb) -> list[str]:
    """What in the blurb points at something the reader never saw."""
    found: list[str] = []
    told: list[int] = []
    for position, (i, text) in enumerate(zip(blurb.indices, blurb.texts, strict=True)):
        if position == 0 and opens_with_dangling_reference(text):
            found.append(f"opens with a dangling reference: {text[:40]}")
        elif position and i - 1 not in told and leans_back(text):
            found.append(f"leans on a sentence left out: {text[:40]}")
        found += [f"unexplained surname {ref.surname}" for ref in art.names.unexplained(i, told)]
        told.append(i)
    return found


def measure(articles: Sequence[Article], show: int = 0) -> dict[str, tuple[Counts, Counts]]:
    """Per half: (ours, LEAD). With `show`, print that many blurbs of each half where ours
    differs from LEAD's."""
    totals: dict[str, tuple[Counts, Counts]] = {}
    shown: dict[str, int] = {}
    for article in articles:
        art = analyse(segment(article.text), article.title)
        if not art.sentences:
            continue
        half = half_of(article.id)
        mine, theirs = ours(art), lead(art)
        if shown.get(half, 0) < show and mine.texts != theirs.texts:
            shown[half] = shown.get(half, 0) + 1
            print(f"[{half}] {article.title}\n  ours: {' '.join(mine.texts)}")
            print(f"  LEAD: {' '.join(theirs.texts)}\n")
        old_mine, old_theirs = totals.get(half, (Counts(), Counts()))
        totals[half] = (old_mine.add(count(art, mine)), old_theirs.add(count(art, theirs)))
    return totals


def table(title: str, totals: dict[str, tuple[Counts, Counts]]) -> str:
    lines = [
        f"### {title}: blurbs at {BUDGET} words",
        "",
        "| half | blurb | articles | ledes judged scene-setting % | nut graf in blurb % | "
        "scene-setting, no nut graf % | no final punctuation % | no verb % | clutter % | "
        "dangling references % |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for half in sorted(totals):
        for name, c in zip(("ours", "LEAD"), totals[half], strict=True):
            per_article = 100 / max(1, c.articles)
            per_sentence = 100 / max(1, c.sentences)
            lines.append(
                f"| {half} | {name} | {c.articles} | {c.judged * per_article:.1f} "
                f"| {c.nut_graf * per_article:.1f} | {c.scene_only * per_article:.1f} "
                f"| {c.no_final * per_sentence:.1f} "
                f"| {c.no_verb * per_sentence:.1f} | {c.clutter * per_sentence:.1f} "
                f"| {c.dangling * per_article:.1f} |"
            )
    return "\n".join(lines)


def report(data: Path, name: str, half: str, show: int = 0) -> str:
    articles = load(data / name / "dev.jsonl", None, half)
    return table(f"{name}/dev.jsonl", measure(articles, show))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("a", "b", "all"), default="all")
    parser.add_argument("--show", type=int, default=0, help="print N differing blurbs a half")
    args = parser.parse_args(argv)
    data = data_dir_or_say_so()
    if data is None:
        return 2
    for name in ("article-deks", "bbc-summaries"):
        print(report(data, name, args.half, args.show), end="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
