"""`digest extract`: a page's article text, for users and for measurement."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

import click

from digest.errors import DigestError, ExtractError
from digest.models import Article
from digest.net.http import DownloadError, HttpOptions, download, make_client
from digest.text.extract import extract_article

MAX_REDIRECTS = 5
MAX_PAGE_BYTES = 5 * 1024 * 1024


@click.command("extract")
@click.argument("source", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the metadata and text as JSON.")
@click.option(
    "--jsonl",
    is_flag=True,
    help='Read {"id", "url", "html"} JSON lines on stdin; print {"id", "text"} lines.',
)
def extract(source: str | None, as_json: bool, jsonl: bool) -> None:
    """Print the article text of SOURCE, a URL or an HTML file."""
    if jsonl:
        if source:
            raise click.UsageError("--jsonl reads stdin and takes no SOURCE")
        extract_jsonl(sys.stdin, sys.stdout)
        return
    if not source:
        raise click.UsageError("give a URL or an HTML file, or --jsonl")
    try:
        html, url = load_source(source)
        article = extract_article(html, url)
    except DigestError as error:
        click.echo(f"digest: {error}", err=True)
        sys.exit(error.exit_code)
    click.echo(json.dumps(article_json(article), ensure_ascii=False) if as_json else article.text)


def load_source(source: str) -> tuple[bytes, str | None]:
    """The page's bytes and its URL (None for a local file)."""
    if source.startswith(("http://", "https://")):
        return fetch_page(source), source
    path = Path(source)
    try:
        return path.read_bytes(), None
    except OSError as error:
        raise ExtractError(f"{source}: cannot read file: {error.strerror or error}") from error


def fetch_page(url: str) -> bytes:
    """GET a page through the feeds' HTTP path: timeouts, redirect cap and size cap."""
    options = HttpOptions(max_bytes=MAX_PAGE_BYTES, max_redirects=MAX_REDIRECTS)
    try:
        with make_client(options) as client:
            return download(client, url, options, trusted=url).body  # the user typed it
    except DownloadError as error:
        raise ExtractError(f"{url}: {error}") from None


def extract_jsonl(lines: TextIO, out: TextIO) -> None:
    """One {"id", "text"} line per input line, in order; a bad page gives an empty text."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        page_id, text = _extract_record(line, number)
        out.write(json.dumps({"id": page_id, "text": text}, ensure_ascii=False) + "\n")
        out.flush()


def _extract_record(line: str, number: int) -> tuple[Any, str]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        _warn(f"line {number}: not JSON: {error.msg}")
        return None, ""
    if not isinstance(record, dict):
        _warn(f"line {number}: not a JSON object")
        return None, ""
    page_id = record.get("id")
    html, url = record.get("html"), record.get("url")
    if not isinstance(html, str) or not html.strip():
        _warn(f"line {number} (id {page_id!r}): no html")
        return page_id, ""
    try:
        return page_id, extract_article(html, url if isinstance(url, str) else None).text
    except ExtractError as error:
        _warn(f"line {number} (id {page_id!r}): {error}")
    except Exception as error:  # one broken page must not stop the batch
        _warn(f"line {number} (id {page_id!r}): {type(error).__name__}: {error}")
    return page_id, ""


def _warn(message: str) -> None:
    click.echo(f"digest extract: {message}", err=True)


def article_json(article: Article) -> dict[str, Any]:
    record = asdict(article)
    record["date"] = article.date.isoformat() if article.date else None
    return record
