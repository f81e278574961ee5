"""`digest feeds` and `digest check` through the CLI: feeds and pages on a real HTTP server on
127.0.0.1, config.yaml edited in place with its comments, and every refused edit leaving the
file byte for byte as it was."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import REPO, FeedServer, rss, rss_item
from conftest import run_cli as run

from digest.config.load import load_settings
from digest.state import State

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
ATOM = (REPO / "samples" / "tech.atom").read_text(encoding="utf-8")


@pytest.fixture
def config(bundled_config: Path) -> Path:
    return bundled_config


def page(*links: str, title: str = "A site") -> str:
    return (
        f"<!doctype html><html><head><title>{title}</title>{''.join(links)}</head>"
        "<body><p>Welcome.</p></body></html>"
    )


def link(href: str, kind: str = "application/rss+xml", title: str = "") -> str:
    return f'<link rel="alternate" type="{kind}" title="{title}" href="{href}">'


def unchanged(path: Path, before: bytes) -> bool:
    return path.read_bytes() == before


# add ---------------------------------------------------------------------------------------


def test_add_a_page_discovers_its_first_feed_says_which_and_keeps_the_comments(
    feed_server: FeedServer, config: Path
) -> None:
    feed_server.serve("/atom.xml", ATOM, content_type="application/atom+xml")
    feed_server.serve("/comments.rss", rss(rss_item("A comment", "https://x.example/c")))
    site = feed_server.serve(
        "/blog/",
        page(link("/atom.xml", "application/atom+xml", "Posts"), link("../comments.rss")),
        content_type="text/html; charset=utf-8",
    )
    before = config.read_text()
    code, out, err = run("feeds", "add", site, "-c", str(config), "--section", "Technology")
    assert code == 0, err
    assert out.splitlines() == [
        f"{site} is a web page linking 2 feeds:",
        f"  picked «Posts» (Atom) {feed_server.url('/atom.xml')}",
        f"  not    (RSS) {feed_server.url('/comments.rss')}",
        # the feed's own title, numbered: the bundled config has a feed of that name
        f"added «Signal & Noise (2)» to {config}, section 'Technology': "
        f"{feed_server.url('/atom.xml')} (Atom 1.0, 7 entries)",
    ]
    after = config.read_text()
    added = (
        f"  - name: Signal & Noise (2)\n    url: {feed_server.url('/atom.xml')}\n"
        "    section: Technology\n"
    )
    # exactly the new feed, after the last one; every comment where it was
    assert after == before.replace(
        "    section: Culture\n\n", f"    section: Culture\n{added}\n", 1
    )


def test_a_taken_title_gets_a_number_and_a_taken_name_is_refused(
    feed_server: FeedServer, config: Path
) -> None:
    url = feed_server.serve(
        "/lab.rss", rss(rss_item("One", "https://lab.example/1"), title="Lab Notes")
    )
    code, out, _ = run("feeds", "add", url, "-c", str(config))
    assert code == 0 and "added «Lab Notes (2)»" in out
    before = config.read_bytes()
    other = feed_server.serve("/other.rss", rss(rss_item("Two", "https://lab.example/2")))
    code, out, err = run("feeds", "add", other, "--name", "lab notes", "-c", str(config))
    assert code == 2 and out == ""
    assert re.fullmatch(
        r"digest: error: .*config\.yaml:\d+: a feed is already named 'Lab Notes'; "
        r"choose another with --name\n",
        err,
    )
    assert unchanged(config, before)


def test_a_page_whose_first_feed_is_broken_gives_the_next_one(
    feed_server: FeedServer, config: Path
) -> None:
    feed_server.serve("/good.rss", rss(rss_item("Story", "https://s.example/1"), title="Good"))
    site = feed_server.serve(
        "/", page(link("/missing.xml"), link("/good.rss")), content_type="text/html"
    )
    code, out, _ = run("feeds", "add", site, "-c", str(config))
    assert code == 0
    assert f"  picked (RSS) {feed_server.url('/good.rss')}" in out
    assert load_settings(config).feeds[-1].url == feed_server.url("/good.rss")


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (page(), "text/html", 'a web page that links no feed (no <link rel="alternate">'),
        ('{"hello": "world"}', "application/json", "not a feed (JSON but not a JSON Feed"),
        ("just text", "text/plain", "not a feed (not XML: no root element"),
    ],
)
def test_a_url_that_is_no_feed_and_no_page_linking_one_is_one_line_exit_2(
    feed_server: FeedServer, config: Path, body: str, content_type: str, reason: str
) -> None:
    url = feed_server.serve("/thing", body, content_type=content_type)
    before = config.read_bytes()
    code, out, err = run("feeds", "add", url, "-c", str(config))
    assert code == 2 and out == ""
    assert err.startswith(f"digest: error: {url}: {reason}") and err.count("\n") == 1
    assert unchanged(config, before)


def test_an_unreachable_url_is_exit_2(feed_server: FeedServer, config: Path) -> None:
    before = config.read_bytes()
    code, _, err = run("feeds", "add", feed_server.url("/nothing"), "-c", str(config))
    assert code == 2 and err.endswith(": HTTP 404 Not Found\n")
    assert unchanged(config, before)


def test_a_duplicate_feed_is_refused_naming_the_line_it_repeats(
    feed_server: FeedServer, config: Path
) -> None:
    url = feed_server.serve("/feed.xml", rss(rss_item("Story", "https://s.example/1")))
    assert run("feeds", "add", url, "--name", "First", "-c", str(config))[0] == 0
    before = config.read_bytes()
    line = next(n for n, text in enumerate(before.decode().splitlines(), 1) if "First" in text)
    # the same feed by another spelling (trailing slash, tracking parameter) is still a duplicate
    code, out, err = run("feeds", "add", url + "?utm_source=x", "-c", str(config))
    assert code == 2 and out == ""
    assert err == (
        f"digest: error: {config}:{line}: {url}?utm_source=x is already a feed, as 'First'; "
        "nothing changed\n"
    )
    assert unchanged(config, before)


def test_an_invalid_pattern_is_exit_2_and_changes_nothing(
    feed_server: FeedServer, config: Path
) -> None:
    url = feed_server.serve("/feed.xml", rss(rss_item("Story", "https://s.example/1")))
    before = config.read_bytes()
    code, _, err = run("feeds", "add", url, "--exclude", "/(sponsored/", "-c", str(config))
    assert code == 2
    assert err == (
        "digest: error: --exclude '/(sponsored/': invalid regular expression: "
        "missing ), unterminated subpattern at position 0\n"
    )
    assert unchanged(config, before)
    code, _, _ = run("feeds", "add", url, "--exclude", "/sponsor(ed)?/", "-c", str(config))
    assert code == 0 and load_settings(config).feeds[-1].exclude == ["/sponsor(ed)?/"]


def test_adding_a_retired_url_again_clears_its_retirement(
    feed_server: FeedServer, config: Path
) -> None:
    url = feed_server.serve("/back.xml", rss(rss_item("Story", "https://s.example/1")))
    settings = load_settings(config)
    with State.open(settings.database) as state:
        state.retire_feed(url, "410 Gone", NOW)
    code, out, _ = run("feeds", "add", url, "-c", str(config))
    assert code == 0
    assert "  note: it had been retired on 2026-12-04 (410 Gone); that is cleared" in out
    with State.open(settings.database) as state:
        assert url not in state.feed_records()


def test_a_broken_config_is_not_edited(feed_server: FeedServer, config: Path) -> None:
    config.write_text(config.read_text().replace("window_days: 7", "window_dayz: 7"))
    before = config.read_bytes()
    url = feed_server.serve("/feed.xml", rss(rss_item("Story", "https://s.example/1")))
    code, _, err = run("feeds", "add", url, "-c", str(config))
    assert code == 2 and "window_dayz: unknown key" in err
    assert unchanged(config, before)


# remove ------------------------------------------------------------------------------------


def test_remove_by_name_or_url_keeps_the_comments_around_it(config: Path) -> None:
    before = config.read_text()
    code, out, _ = run("feeds", "remove", "the long read", "-c", str(config))
    assert code == 0 and out.startswith("removed «The Long Read» (samples/culture.json) from")
    removed = "  - name: The Long Read\n    url: samples/culture.json\n    section: Culture\n"
    assert config.read_text() == before.replace(removed, "")
    code, _, _ = run("feeds", "remove", "samples/science.rss", "-c", str(config))
    assert code == 0 and [f.name for f in load_settings(config).feeds] == ["Signal & Noise"]
    assert "# Entries published in the last N days go in the digest.\nwindow_days" in (
        config.read_text()
    )


def test_remove_refuses_an_unknown_feed_and_the_last_one(config: Path) -> None:
    before = config.read_bytes()
    code, _, err = run("feeds", "remove", "Nope", "-c", str(config))
    assert code == 2 and err.endswith("no feed is named 'Nope' or has that URL\n")
    run("feeds", "remove", "Lab Notes", "-c", str(config))
    run("feeds", "remove", "The Long Read", "-c", str(config))
    before = config.read_bytes()
    code, _, err = run("feeds", "remove", "Signal & Noise", "-c", str(config))
    assert code == 2 and "is the only feed; add another before removing it" in err
    assert unchanged(config, before)


# list ----------------------------------------------------------------------------------------


def test_list_shows_status_success_window_moves_retirements_and_filters(
    feed_server: FeedServer, config: Path
) -> None:
    """A real 301 and a real 410 from the loopback server, recorded by a build's fetch."""
    text = config.read_text().replace("exclude: []", "exclude: [Vestmark]")
    config.write_text(text)
    feed_server.serve("/new.xml", rss(rss_item("Moved story", "https://s.example/m")))
    moved = feed_server.serve("/old.xml", "", status=301, headers={"Location": "/new.xml"})
    assert run("feeds", "add", moved, "--name", "Moved", "-c", str(config))[0] == 0
    gone = feed_server.serve("/gone.xml", "", status=410)
    config.write_text(_append_feed(config.read_text(), "Gone", gone))
    assert run("build", "-c", str(config))[0] == 0
    code, out, _ = run("feeds", "-c", str(config))
    assert code == 0, out
    lines = out.splitlines()
    assert re.fullmatch(
        r"5 feeds; the window: 2026-11-17 09:30 – 2026-11-24 09:30 Europe/London \(7 days up to "
        r"the newest entry\)",
        lines[0],
    )
    assert re.fullmatch(r"NAME +SECTION +LAST STATUS +LAST SUCCESS +IN WINDOW +URL", lines[1])
    assert re.fullmatch(
        r"Lab Notes +Science +ok +\d{4}-\d\d-\d\d \d\d:\d\d +7 +samples/science\.rss", lines[2]
    )
    assert "    filter exclude Vestmark (all feeds): dropped 0" not in lines  # only where it bit
    tech = next(line for line in lines if line.startswith("Signal & Noise"))
    assert re.search(r" 6 +samples/tech\.atom$", tech)  # 7 in the window, 1 names Vestmark
    assert "    filter exclude Vestmark (all feeds): dropped 1" in lines
    assert re.search(rf"^Moved +— +ok +\d{{4}}-.* +{re.escape(moved)}$", out, re.M)
    target = re.escape(feed_server.url("/new.xml"))
    assert re.search(
        rf"^    redirected \(301/308\) on [\d-]+ [\d:]+: fetched from {target}$", out, re.M
    )
    assert re.search(rf"^Gone +— +retired +never +— +{re.escape(gone)}$", out, re.M)
    assert re.search(
        r"^    retired \(410\) on [\d-]+ [\d:]+: .*410.*\(to try it again: ", out, re.M
    )
    assert lines[-1] == "filters for all feeds: exclude Vestmark (all feeds): dropped 1"


def test_list_before_any_run_creates_no_state(config: Path) -> None:
    code, out, _ = run("feeds", "-c", str(config))
    assert code == 0 and "never" in out
    assert not (config.parent / "digest.sqlite3").exists()


# check ---------------------------------------------------------------------------------------


def test_check_probes_every_feed_one_line_each_without_state(
    feed_server: FeedServer, config: Path
) -> None:
    good = feed_server.serve("/good.xml", rss(rss_item("Story", "https://s.example/1")))
    feed_server.serve("/broken.xml", "<rss><channel><title>x</channel", content_type="text/xml")
    for name, url in (("Good", good), ("Broken", feed_server.url("/broken.xml"))):
        assert run("feeds", "add", url, "--name", name, "-c", str(config))[0] in (0, 2)
    code, out, _ = run("check", "-c", str(config))
    assert code == 0  # the broken feed was refused by `add`: every configured feed is fine
    assert out.splitlines()[-1] == "4 ok, 0 failed"
    config.write_text(_append_feed(config.read_text(), "Later broken", feed_server.url("/x.xml")))
    code, out, _ = run("check", "-c", str(config))
    assert code == 3
    lines = out.splitlines()
    assert lines[0] == f"{config}: valid, 5 feeds"
    assert re.fullmatch(r"ok +Lab Notes +7 entries +\(samples/science\.rss\)", lines[1])
    assert re.fullmatch(
        rf"failed +Later broken +HTTP 404 Not Found +\({re.escape(feed_server.url('/x.xml'))}\)",
        lines[5],
    )
    assert lines[-1] == "4 ok, 1 failed"
    assert not (config.parent / "digest.sqlite3").exists()  # no state read or written


def test_check_names_an_invalid_config_with_exit_2(config: Path) -> None:
    config.write_text(config.read_text().replace("exclude: []", 'exclude: ["/(/"]'))
    code, out, err = run("check", "-c", str(config))
    line = next(n for n, t in enumerate(config.read_text().splitlines(), 1) if "exclude: [" in t)
    assert code == 2 and out == ""
    assert err == (
        f"digest: error: {config}:{line}: exclude[0]: invalid regular expression: missing ), "
        "unterminated subpattern at position 0 (got '/(/')\n"
    )


def _append_feed(text: str, name: str, url: str) -> str:
    """A feed added by hand at the end of the list (as a user would edit the file)."""
    marker = "\n# Entries published in the last N days"
    return text.replace(marker, f"  - name: {name}\n    url: {url}\n{marker}", 1)
