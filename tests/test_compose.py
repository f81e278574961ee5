from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from conftest import NOW

from digest.issue.compose import (
    Plan,
    compose,
    dedupe,
    deduplicated,
    summary_budget,
    titles_match,
)
from digest.models import Entry, Summary
from digest.net.urls import canonical_url


def entry(
    title: str, link: str = "", days_ago: float = 1, feed: str = "F", text: str = "t", **kw: object
) -> Entry:
    return Entry(
        id=kw.pop("id", title),  # type: ignore[arg-type]
        feed=feed,
        title=title,
        link=link,
        published=NOW - timedelta(days=days_ago),
        content_text=text,
        **kw,  # type: ignore[arg-type]
    )


def plan(**overrides: object) -> Plan:
    base = Plan("T", NOW - timedelta(days=7), NOW, 30, {}, ["A", "B"])
    return replace(base, **overrides)  # type: ignore[arg-type]


def no_summary(_: Entry) -> Summary:
    return Summary(())


def test_canonical_url_drops_tracking_and_cosmetics() -> None:
    assert canonical_url(
        "http://www.Example.org/a/?utm_source=rss&id=3&fbclid=x#top"
    ) == canonical_url("https://example.org/a?id=3")
    assert canonical_url("https://example.org/a?id=3") != canonical_url(
        "https://example.org/a?id=4"
    )


def test_cross_feed_duplicates_by_url_guid_and_title_with_text_keep_the_newest() -> None:
    story = entry(
        "Council approves new tram line", "https://news.example/tram", feed="A", text="short"
    )
    cross_post = entry(
        "Council Approves New Tram Line!",
        "https://news.example/tram?utm_medium=feed",
        feed="B",
        text="a much longer body",
        id="other",
        days_ago=0.5,
    )
    same_guid = entry(
        "Different headline entirely", "https://b.example/x", feed="B", guid="g1", id="g"
    )
    same_guid_twin = entry("Another wording", "https://c.example/y", feed="A", guid="g1", id="h")
    retold = entry(
        "Council approves new tram line.", "https://other.example/tram2", feed="C", id="r",
        text="A much longer body!",
    )  # fmt: skip
    same_title_other_story = entry(
        "Council approves new tram line.", "https://else.example/t", feed="C", id="s", text="x"
    )
    distinct = entry("Council rejects new bus lane", "https://news.example/bus", id="d")
    result = deduplicated(
        [story, cross_post, same_guid, same_guid_twin, retold, same_title_other_story, distinct]
    )
    assert [e.id for e in result.entries] == ["other", "g", "s", "d"]
    assert result.elsewhere == {"A": 2, "C": 1}
    assert not result.repeats


def test_distinct_posts_of_one_feed_are_never_merged_by_link_or_title() -> None:
    anchors = [
        entry("", f"https://blog.example/2017/06/26.html#a{n}", id=f"a{n}", text=f"Post {n}.")
        for n in range(3)
    ]
    same_page = [
        entry(f"Release {n}", "https://project.example/news.html", id=f"r{n}") for n in range(3)
    ]
    up = [entry("Support System - Up", "https://status.example/", id=f"u{n}") for n in range(2)]
    days = [
        entry(f"Game of the Year: Day {d} Deliberations", f"https://pod.example/{d}", id=d)
        for d in ("One", "Two", "Three")
    ]
    everything = [*anchors, *same_page, *up, *days]
    assert dedupe(everything) == everything


def test_the_same_id_twice_in_a_feed_is_one_post_the_newest_kept() -> None:
    old = entry("Episode 12", "https://pod.example/12", days_ago=3, id="e12", text="Old notes.")
    new = entry("Episode 12 (fixed)", "https://pod.example/12", days_ago=1, id="e12", text="New.")
    other = entry("Episode 13", "https://pod.example/13", id="e13")
    result = deduplicated([old, other, new])
    assert result.entries == [new, other]
    assert result.repeats == {"F": 1}
    assert not result.elsewhere


def test_short_titles_need_to_match_exactly() -> None:
    assert not titles_match("Week 45 links", "Week 46 links")
    assert titles_match("Weekly links", "weekly links!")


def test_window_caps_and_sections_in_feed_order() -> None:
    entries = [
        entry("old", days_ago=8, feed="A"),
        entry("future", days_ago=-2, feed="A"),
        *[entry(f"a{i}", days_ago=i / 10, feed="A", section="Alpha") for i in range(5)],
        *[entry(f"b{i}", days_ago=i / 10 + 0.05, feed="B") for i in range(5)],
    ]
    digest = compose(entries, [], plan(max_entries=6, per_feed={"A": 2}), no_summary)
    assert [s.title for s in digest.sections] == ["Alpha", "B"]
    assert [i.entry.title for i in digest.sections[0].items] == ["a0", "a1"]
    assert [i.entry.title for i in digest.sections[1].items] == ["b0", "b1", "b2", "b3"]
    assert digest.skipped == 4


def test_reading_time_counts_the_words() -> None:
    digest = compose([entry("long", text="word " * 1150)], [], plan(), no_summary)
    assert digest.items[0].reading_minutes == 5


def test_a_feed_that_floods_cannot_crowd_out_the_others() -> None:
    flood = [entry(f"flood {i}", days_ago=0.01 * i, feed="A") for i in range(50)]
    quiet = [entry(f"quiet {i}", days_ago=2 + i, feed="B") for i in range(3)]
    digest = compose([*flood, *quiet], [], plan(max_entries=10, group_by_section=False), no_summary)
    titles = [i.entry.title for i in digest.items]
    assert titles == [f"flood {i}" for i in range(7)] + ["quiet 0", "quiet 1", "quiet 2"]
    assert digest.skipped == 43


def test_summary_budget_shares_a_five_minute_read_among_the_stories() -> None:
    thirty = [entry(f"A headline of exactly seven words {i}") for i in range(30)]
    budget = summary_budget(thirty)
    assert budget == (5 * 230 - 30 * 7) // 30  # 31 words of summary each
    assert 30 * (budget + 7) <= 5 * 230
    assert summary_budget(thirty[:3]) > 300  # a short digest: whole summaries
    assert summary_budget([]) >= 1
