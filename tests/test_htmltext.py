"""The fast text of sanitized HTML is the same text the lxml walk gives (gather uses the fast
one on every entry, html_to_text stays the reference)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import hostile_corpus as corpus
import pytest

from digest.text.htmltext import html_to_text, sanitized_html_to_text
from digest.text.sanitize import clean_html

SMALL = [
    "<p>One <b>bold</b> line.</p><p>Two &amp; three &lt;tags&gt;.</p>",
    "<table><tr><td>a</td><td>b</td></tr></table>x<br>y<br><br>z",
    "<figure><figure>in</figure>out<figcaption>cap</figcaption></figure>after",
    "<ul><li>first</li><li>second<br>line</li></ul><h2>Heading</h2>Tail text",
    corpus.INJECTION_BODY,
    "<div>" * 300 + "deep" + "</div>" * 300,
]


@pytest.mark.parametrize("fragment", SMALL)
def test_same_text_on_tricky_fragments(fragment: str) -> None:
    cleaned = clean_html(fragment, "https://example.org/")
    assert sanitized_html_to_text(cleaned) == html_to_text(cleaned)


def test_same_text_on_every_real_page_and_article(data_dir: Path) -> None:
    documents = [
        gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        for path in sorted((data_dir / "article-pages" / "html").glob("*.gz"))
    ]
    with (data_dir / "bbc-summaries" / "dev.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            text = json.loads(line)["text"]
            documents.append("".join(f"<p>{p}</p>" for p in text.split("\n\n")))
    for document in documents:
        cleaned = clean_html(document, "https://example.org/")
        assert sanitized_html_to_text(cleaned) == html_to_text(cleaned)
