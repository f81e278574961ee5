"""`digest summarize`: summaries for users (plain text) and for measurement (JSON lines)."""

from __future__ import annotations

import json
import re
import sys
from typing import TextIO

import click

from digest.text.furniture import strip_furniture
from digest.text.language import guess_language
from digest.text.lede import Lede
from digest.text.segment import split_paragraphs
from digest.text.summarize import Explanation
from digest.text.summarize import explain as explain_text
from digest.text.summarize import summarize as summarize_text

_HEADING_MAX_WORDS = 20
_TERMINAL = re.compile(r"[.!?…。！？][\"'”’)\]]*$")


@click.command("summarize")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-", required=False)
@click.option(
    "--sentences",
    "-k",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="How many sentences the summary has.",
)
@click.option(
    "--words",
    "-w",
    type=click.IntRange(min=1),
    default=None,
    help="Fill at most N words with whole sentences (never cut), at most --sentences of them.",
)
@click.option(
    "--title",
    default=None,
    help="The article's title (plain text only). Default: the text's first line when it "
    "reads as a heading (short, no final punctuation); that line is then not summarized.",
)
@click.option(
    "--jsonl",
    is_flag=True,
    help='Read JSON lines {"id", "title", "text"} and print {"id", "sentences"} lines, one per '
    "input line, in order (blank lines are skipped). A bad line gets an empty list and a "
    "message on stderr; the run goes on.",
)
@click.option(
    "--clean/--no-clean",
    default=None,
    help="Strip page furniture (paywall prompts, share widgets, promos) before summarizing. "
    "Default: --clean for plain text, --no-clean for --jsonl, so a measurement sees the "
    "text exactly as given.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Plain text only: print every sentence's score by rule ('*' marks the chosen ones), "
    "why a sentence was left out or rewritten, and whether the opening was judged news or "
    "scene-setting (and which sentence was taken instead).",
)
def summarize(
    file: TextIO, sentences: int, words: int | None, title: str | None, jsonl: bool,
    clean: bool | None, explain: bool,
) -> None:  # fmt: skip
    """Summarize FILE (plain text, paragraphs separated by blank lines; stdin by default)."""
    if jsonl:
        if explain:
            raise click.UsageError("--explain works on plain text, not with --jsonl")
        _summarize_jsonl(file, sentences, words, clean=bool(clean))
        return
    text = file.read()
    if title is None:  # before cleaning: the furniture rules drop a heading line too
        title, text = _split_heading(text)
    if clean is not False:
        text = strip_furniture(text)
    language = guess_language(text)  # as the digest does for a feed that does not say
    if explain:
        click.echo(format_explanation(explain_text(text, title, sentences, words, language)))
        return
    for sentence in summarize_text(text, title, sentences, words, language).sentences:
        click.echo(sentence)


def _split_heading(text: str) -> tuple[str, str]:
    """Take the first paragraph as the title when it reads as a heading."""
    paragraphs = split_paragraphs(text)
    if len(paragraphs) > 1:
        first = paragraphs[0]
        if len(first.split()) <= _HEADING_MAX_WORDS and not _TERMINAL.search(first):
            return first, "\n\n".join(paragraphs[1:])
    return "", text


def _summarize_jsonl(stream: TextIO, k: int, words: int | None, *, clean: bool) -> None:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        doc_id, sentences = _summarize_line(line, number, k, words, clean=clean)
        click.echo(json.dumps({"id": doc_id, "sentences": sentences}, ensure_ascii=False))


def _summarize_line(
    line: str, number: int, k: int, words: int | None, *, clean: bool
) -> tuple[object, list[str]]:
    """One JSON line to (id, sentences); any problem gives an empty list and a stderr note."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        _warn(number, f"not JSON ({error.msg})")
        return None, []
    if not isinstance(record, dict):
        _warn(number, "not a JSON object")
        return None, []
    doc_id, text, title = record.get("id"), record.get("text"), record.get("title") or ""
    if not isinstance(text, str) or not isinstance(title, str):
        _warn(number, f"id {doc_id!r}: 'text' and 'title' must be strings")
        return doc_id, []
    if clean:
        text = strip_furniture(text)
    language = guess_language(text)  # as the digest does for a feed that does not say
    return doc_id, list(summarize_text(text, title, k, words, language).sentences)


def _warn(number: int, message: str) -> None:
    print(f"digest summarize: line {number}: {message}", file=sys.stderr)


def format_explanation(explanation: Explanation) -> str:
    """A table: one row per sentence, one column per rule (weighted), the total, the text."""
    names = [*explanation.scores, "redundancy"]
    header = "   #  " + " ".join(f"{name[:6]:>6}" for name in names) + "   total  sentence"
    rows = [header]
    for sentence in explanation.sentences:
        i = sentence.number
        values = [column[i] for column in explanation.scores.values()]
        values.append(explanation.redundancy.get(i, 0.0))
        cells = " ".join(f"{v:6.2f}" if v else f"{'.':>6}" for v in values)
        mark = "*" if i in explanation.chosen else " "
        text = sentence.text if len(sentence.text) <= 60 else sentence.text[:57] + "..."
        rows.append(f"{mark}{i:3d}  {cells}  {explanation.total(i):6.2f}  {text}")
    rows += ["", "Rows marked * are chosen. Columns, weighted (digest.summarize.WEIGHTS): "]
    rows[-1] += ", ".join(names)
    rows += ["redundancy is the penalty a sentence had when it was picked."]
    rows += [f"Sentence {i}: {note}" for i, note in sorted(explanation.notes.items())]
    rows += ["", describe_lede(explanation.lede)]
    rows += ["", "Summary:", *explanation.summary.sentences]
    return "\n".join(rows)


def describe_lede(lede: Lede) -> str:
    """Why the lede rule counts from the sentence it does."""
    if not lede.scene_setting:
        return f"Lede: sentence {lede.opening}, a news lede: the lede rules count from it."
    return (
        f"Lede: sentence {lede.opening} only sets the scene ({'; '.join(lede.scene)}); "
        f"sentence {lede.point} states the point ({', '.join(lede.nut)}): "
        "the lede rules count from it instead."
    )
