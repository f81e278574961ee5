"""Teaser feeds on a loopback server: pages fetched, extracted, verified, cached, robots.txt."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import FeedServer, rss, rss_item, write_config

from digest.config.load import load_settings
from digest.feeds.fulltext import looks_like_teaser
from digest.issue.pipeline import build_digest
from digest.models import Item
from digest.state import State

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
PAYWALLED_PAGE = """<!DOCTYPE html><html><head><title>Budget row deepens</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "Budget row deepens", "isAccessibleForFree": false}</script></head><body>
<article><h1>Budget row deepens</h1><p>Ministers clashed again on Tuesday over the spending plan,
which the finance committee will vote on next week.</p>
<div class="paywall"><p>Subscribe to continue reading. Already a subscriber? Sign in.</p></div>
</article></body></html>"""


def real_page(data_dir: Path, index: int) -> tuple[bytes, str]:
    """One page of the evaluation set as served, and its true article text."""
    truth = json.loads((data_dir / "article-pages" / "ground-truth.json").read_text())
    page_id = sorted(truth)[index]
    html = gzip.decompress(
        (data_dir / "article-pages" / "html" / f"{page_id}.html.gz").read_bytes()
    )
    return html, truth[page_id]["articleBody"]


def teaser_of(body: str, words: int = 35) -> str:
    return " ".join(body.split()[:words]) + "… Read more"


@pytest.fixture
def teaser_site(feed_server: FeedServer, data_dir: Path, tmp_path: Path) -> Path:
    """A teaser feed whose entries link to real pages, a paywalled page and a disallowed one."""
    items = []
    for number in (0, 1):
        html, body = real_page(data_dir, number)
        link = feed_server.serve(f"/story/{number}", html, content_type="text/html; charset=utf-8")
        items.append(rss_item(f"Story {number}", link, f"<p>{teaser_of(body)}</p>"))
    paywalled = feed_server.serve("/story/paid", PAYWALLED_PAGE, content_type="text/html")
    items.append(
        rss_item("Budget row deepens", paywalled, "<p>Ministers clashed again… Read more</p>")
    )
    private = feed_server.serve(
        "/private/secret", "<html><body><p>no</p></body></html>", content_type="text/html"
    )
    items.append(rss_item("Private story", private, "<p>Members only story… Read more</p>"))
    feed_server.serve(
        "/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain"
    )
    feed = feed_server.serve("/teasers.xml", rss(*items))
    config = write_config(
        tmp_path,
        [{"name": "Teasers", "url": feed}],
        article_pages={"delay_seconds": 0},
        http={"allow_private_origins": [feed_server.base]},  # the pages are on loopback too
    )
    return config


def _build(config: Path) -> dict[str, str]:
    return {item.entry.title: item.entry.content_text for item in _items(config)}


def _items(config: Path) -> tuple[Item, ...]:
    settings = load_settings(config)
    with State.open(settings.database) as state:
        return build_digest(settings, state, NOW).digest.items


def test_summaries_come_from_the_full_articles(teaser_site: Path) -> None:
    for item in _items(teaser_site):
        if item.entry.title.startswith("Story"):
            assert len(item.summary.sentences) == 3
            assert "Read more" not in item.summary.text and "…" not in item.summary.text


def test_teasers_are_replaced_by_their_pages_text(teaser_site: Path, data_dir: Path) -> None:
    texts = _build(teaser_site)
    for number in (0, 1):
        _, body = real_page(data_dir, number)
        text = texts[f"Story {number}"]
        assert len(text.split()) > 3 * 35
        last_words = " ".join(body.split()[-8:])
        assert " ".join(body.split()[40:48]) in " ".join(text.split()), "text past the teaser"
        assert last_words[:20] in " ".join(text.split()) or len(text) > 0.8 * len(body)


def test_paywalled_page_is_rejected_and_the_teaser_kept(
    teaser_site: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="digest.feeds.fulltext"):
        text = _build(teaser_site)["Budget row deepens"]
    assert "finance committee" not in text  # the page's text was not taken
    assert "/story/paid: kept the feed's text: the page is behind a paywall" in caplog.text


def test_robots_txt_disallow_is_honoured(teaser_site: Path, feed_server: FeedServer) -> None:
    texts = _build(teaser_site)
    assert "no" not in texts["Private story"].split()
    assert feed_server.hits("/private/secret") == []
    assert len(feed_server.hits("/robots.txt")) == 1


def test_second_run_requests_no_page(teaser_site: Path, feed_server: FeedServer) -> None:
    first = _build(teaser_site)
    pages_after_first = [p for p, _ in feed_server.requests if p.startswith("/story/")]
    second = _build(teaser_site)
    pages_after_second = [p for p, _ in feed_server.requests if p.startswith("/story/")]
    assert first == second
    assert len(pages_after_first) == 3 and pages_after_second == pages_after_first


def test_fulltext_never_fetches_nothing(teaser_site: Path, feed_server: FeedServer) -> None:
    text = teaser_site.read_text().replace("name: Teasers", "name: Teasers\n  fulltext: never")
    teaser_site.write_text(text)
    _build(teaser_site)
    assert not [p for p, _ in feed_server.requests if p != "/teasers.xml"]


@pytest.mark.parametrize(
    ("text", "teaser"),
    [
        ("Short text.", True),
        ("word " * 200 + "and it goes on…", True),
        ("word " * 200 + "Continue reading", True),
        ("word " * 200 + "with much more.", False),
        ("word " * 200 + ".", False),
    ],
)
def test_looks_like_teaser(text: str, teaser: bool) -> None:
    assert looks_like_teaser(text) is teaser


def test_much_shorter_than_the_feed_is_a_teaser() -> None:
    assert looks_like_teaser("word " * 150, feed_typical_words=900)
    assert not looks_like_teaser("word " * 150, feed_typical_words=300)


def test_an_undated_teaser_takes_its_pages_date(
    feed_server: FeedServer, data_dir: Path, tmp_path: Path
) -> None:
    from digest.text.extract import extract_article

    html, body = real_page(data_dir, 0)
    page_date = extract_article(html).date
    assert page_date is not None
    link = feed_server.serve("/story/dated", html, content_type="text/html; charset=utf-8")
    teaser = teaser_of(body)
    item = (
        f"<item><title>Undated</title><link>{link}</link><description>{teaser}</description></item>"
    )
    feed = feed_server.serve("/undated.xml", rss(item))
    config = write_config(
        tmp_path,
        [{"name": "U", "url": feed}],
        article_pages={"delay_seconds": 0},
        http={"allow_private_origins": [feed_server.base]},
    )
    (entry,) = [i.entry for i in _items(config)]
    assert entry.published == page_date and entry.dated
