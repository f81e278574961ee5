"""include / exclude filters: words and /regular expressions/ on title and text, for all feeds
and per feed, each rule's drops counted and shown in the preview's health panel."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from conftest import NOW, FeedServer, article_html, rss, rss_item, write_config

from digest.config.load import load_settings
from digest.config.patterns import compile_pattern
from digest.errors import ConfigError
from digest.feeds.filters import ALL_FEEDS, FilterSet, apply_filters
from digest.models import Entry
from digest.web.preview_server import start_preview


def entry(title: str, text: str = "", feed: str = "A") -> Entry:
    return Entry(id=title, feed=feed, title=title, link="", published=NOW, content_text=text)


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("sponsored", "A SPONSORED post", True),
        ("sponsored", "unsponsored thoughts", False),  # whole words only
        ("C++", "Why C++ still wins", True),  # a word is literal: no regex meaning
        ("C++", "Why C still wins", False),
        ("climate change", "on climate\n  change today", True),  # any whitespace between
        ("/\\bAI\\b/", "the ai act", True),
        ("/\\bAI\\b/", "a fair deal", False),
        ("/^deal(s)? of the day/", "Deals of the day: socks", True),
    ],
)
def test_words_match_whole_and_regular_expressions_as_written(
    pattern: str, text: str, matches: bool
) -> None:
    assert bool(compile_pattern(pattern).search(text)) is matches


def test_invalid_patterns_say_why() -> None:
    with pytest.raises(ValueError, match="invalid regular expression: missing \\)"):
        compile_pattern("/(oops/")
    with pytest.raises(ValueError, match="empty filter pattern"):
        compile_pattern("   ")


def test_all_feeds_first_then_the_feeds_own_each_drop_counted_once() -> None:
    everywhere = FilterSet(ALL_FEEDS, exclude=("sponsored",))
    own = {"A": FilterSet("A", include=("python", "/rust(lang)?/"), exclude=("beta",))}
    entries = [
        entry("Python 3.15 released"),
        entry("Sponsored: Python hosting"),  # dropped by the global exclude, counted there only
        entry("Rustlang news", "beta builds"),  # matches the include, then the feed's exclude
        entry("Go news"),  # matches no include
        entry("Go news", feed="B"),  # B has only the global filter
    ]
    result = apply_filters(entries, everywhere, own)
    assert [(e.feed, e.title) for e in result.kept] == [
        ("A", "Python 3.15 released"),
        ("B", "Go news"),
    ]
    assert result.dropped == {
        "A": {
            "exclude sponsored (all feeds)": 1,
            "exclude beta": 1,
            "include python, /rust(lang)?/": 1,
        }
    }


def test_an_invalid_regex_in_the_config_names_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "feeds:\n  - name: A\n    url: https://a.example/f\n    exclude:\n      - ok\n"
        "      - /[unclosed/\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}:6: feeds[0].exclude[1]: invalid regular expression: unterminated character set "
        "at position 0 (got '/[unclosed/')"
    )


def test_the_health_panel_shows_each_filter_and_what_it_dropped(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    items = [
        rss_item(title, f"https://news.example/{n}", article_html(), date=_date(n))
        for n, title in enumerate(
            ["Harbour reopens", "Sponsored: ferry deals", "Pier opens", "Podcast: the pier"]
        )
    ]
    url = feed_server.serve("/news.xml", rss(*items))
    config = write_config(
        tmp_path,
        [{"name": "News", "url": url, "fulltext": "never", "exclude": ["/^podcast/"]}],
        exclude=["sponsored"],
    )
    server = start_preview(config, lambda: NOW)
    try:
        page = httpx.get(server.url).text
        email = httpx.get(server.url + "email").text
    finally:
        server.stop()
    assert "Harbour reopens" in email and "Pier opens" in email
    assert "ferry deals" not in email and "Podcast" not in email
    assert (
        '<td>4</td><td>2</td><td>0</td>\n      <td class="filters">exclude sponsored (all feeds): 1'
        "<br>exclude /^podcast/: 1</td>"
    ) in page


def _date(hours_ago: int) -> str:
    return (NOW - timedelta(hours=hours_ago + 1)).strftime("%a, %d %b %Y %H:%M:%S +0000")
