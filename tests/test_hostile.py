"""Hostile and broken feeds (issue 10): every one named, none able to stall, crash, leak or
inject. Each case of tests/hostile_corpus.py is served by a real loopback server that
misbehaves on purpose (tests/hostile_server.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import hostile_corpus as corpus
import hostile_server as hs
import lxml.html
import pytest
from click.testing import CliRunner
from conftest import run_cli, state_at, write_config

from digest.cli.main import main
from digest.feeds import parse as feedparse_module
from digest.feeds.gather import Gathered, gather, hydrate
from digest.feeds.parse import parse_feed
from digest.models import Entry, FeedReport, FeedSource, FeedStatus
from digest.net.http import HttpOptions, download, make_client
from digest.state import State

NOW = datetime.now(UTC)
QUICK = HttpOptions(connect_timeout=2, read_timeout=1.0, total_timeout=1.5)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[hs.HostileServer, hs.HostileServer, dict[str, str]]]:
    """The hostile server with every case, and an 'internal' service on another loopback
    port that nothing may reach by redirect."""
    internal, stop_internal = hs.start_hostile_server()
    internal.add("/secret", hs.respond("SECRET", content_type="text/plain"))
    hostile, stop_hostile = hs.start_hostile_server()
    urls = corpus.install(hostile, internal.port)
    yield hostile, internal, urls
    stop_hostile()
    stop_internal()


def gather_one(tmp_path: Path, url: str, options: HttpOptions = QUICK, **kw: object) -> Gathered:
    """One feed gathered, its entries with their texts loaded (as the pipeline does)."""
    with State.open(state_at(tmp_path / "state.sqlite3")) as state:
        result = gather([FeedSource("Case", url)], state, options, NOW, **kw)  # type: ignore[arg-type]
        return replace(result, entries=tuple(hydrate(result.entries, state)))


def sanitized(document: str, url: str) -> list[Entry]:
    """Entries as the parser makes them, with their sanitized HTML (gather keeps only text)."""
    return parse_feed(document.encode("utf-8"), FeedSource("Case", url), url).entries


def report_of(tmp_path: Path, url: str, options: HttpOptions = QUICK) -> tuple[FeedReport, list]:
    result = gather_one(tmp_path, url, options)
    return result.reports[0], list(result.entries)


# 1. malformed feeds -----------------------------------------------------------------------

FAILS = {
    "not-xml": "not XML: no root element",
    "html-error-page": "a web page (HTML), not an RSS, Atom or JSON feed",
    "no-version": "not an RSS, Atom or JSON feed",
    "empty-body": "empty response",
    "json-malformed": "malformed JSON: Expecting value",
    "json-deep": "malformed JSON: nested too deeply",
}


@pytest.mark.parametrize("name", sorted(FAILS))
def test_fatal_problems_fail_that_feed_with_its_reason(servers, tmp_path: Path, name: str) -> None:
    report, entries = report_of(tmp_path, servers[2][name])
    assert report.status is FeedStatus.FAILED and entries == []
    assert report.error.startswith(FAILS[name]), report.error


KEPT_TITLES = {
    "truncated": ["T0", "T1", "T2"],
    "wrong-encoding": ["Café crème"],
    "latin1-label-utf8": ["Zoë’s naïve café"],
    "utf16-bom": ["Unicode ✓"],
    "utf8-bom": ["Bommed"],
    "undefined-entities": ["Café au lait &bogus;"],  # &nbsp; became a space
    "control-chars": ["Null and bell"],
    "wrong-content-type": ["Octet story 0", "Octet story 1", "Octet story 2"],
    "json-odd-types": ["Odd types survive."],
    "duplicate-guids": ["First copy", "Second copy"],
}


@pytest.mark.parametrize("name", sorted(KEPT_TITLES))
def test_survivable_problems_keep_the_entries(servers, tmp_path: Path, name: str) -> None:
    report, entries = report_of(tmp_path, servers[2][name])
    assert report.status is FeedStatus.OK, report.error
    assert [e.title for e in entries] == KEPT_TITLES[name]


def test_a_truncated_feed_says_it_was_repaired(servers, tmp_path: Path) -> None:
    report, _ = report_of(tmp_path, servers[2]["truncated"])
    assert report.notice.startswith("malformed, read anyway (")


def test_control_characters_never_reach_the_entry(servers, tmp_path: Path) -> None:
    report, (entry,) = report_of(tmp_path, servers[2]["control-chars"])
    assert "dropped control characters" in report.notice
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", entry.title + entry.content_text)


def test_bidi_overrides_del_and_c1_controls_never_reach_the_digest(
    feed_server, tmp_path: Path
) -> None:
    """XML allows them, so the parser keeps them: U+202E shows "Invoice‮gnp.exe" as an
    innocent .png, DEL and C1 controls garble text (issue 18)."""
    hidden = "\u202e\u202a\u2066\u2069\x7f\x85\x9b\u200b\ufeff"
    title = "Invoice\u202egnp.exe from \x7fthe office"
    body = "<p>Open\u2066 the\x7f attachment\x85 now\u202e. It is\u200b safe&#x202E;.</p>"
    url = feed_server.serve(
        "/bidi.xml", corpus.rss(corpus.item(title, "https://e.example/b", body))
    )
    config = write_config(tmp_path, [{"name": "Bidi", "url": url}])
    code, _, err = run_cli("build", "-c", str(config))
    assert code == 0, err
    for part in ("digest.txt", "digest.html"):
        output = (tmp_path / "out" / part).read_text(encoding="utf-8")
        assert not any(c in output for c in hidden), part
    text = (tmp_path / "out" / "digest.txt").read_text(encoding="utf-8")
    assert (
        "Invoicegnp.exe from the office" in text
        and "Open the attachment… now. It is safe." in text  # feedparser reads U+0085 as cp1252
    )


def test_missing_titles_links_and_dates_are_filled_or_left_empty(servers, tmp_path: Path) -> None:
    _, entries = report_of(tmp_path, servers[2]["missing-fields"])
    untitled, no_link, no_date = entries
    assert untitled.title == "The body gives the title when the feed does not."
    assert no_link.link == "" and no_link.title == "No link"
    assert not no_date.dated and no_date.published <= datetime.now(UTC)


def test_unparseable_and_far_future_dates_count_as_undated(servers, tmp_path: Path) -> None:
    _, entries = report_of(tmp_path, servers[2]["bad-dates"])
    assert [e.title for e in entries] == ["Garbage date", "Far future", "Year 99999"]
    assert all(not e.dated and e.published <= datetime.now(UTC) for e in entries)


def test_duplicate_guids_make_one_story(servers, tmp_path: Path) -> None:
    _, entries = report_of(tmp_path, servers[2]["duplicate-guids"])
    assert len({e.id for e in entries}) == 1  # compose keeps one of them


def test_relative_links_are_resolved_against_the_feed(servers, tmp_path: Path) -> None:
    hostile = servers[0]
    _, (entry,) = report_of(tmp_path, servers[2]["relative-links"])
    assert entry.link == hostile.url("/posts/relative")
    (entry,) = sanitized(corpus.RELATIVE_LINKS, servers[2]["relative-links"])
    assert f'href="{hostile.url("/about")}"' in entry.content_html
    # An image on the feed's own loopback host is internal: a mail client must not fetch it.
    assert "<img" in entry.content_html and "src=" not in entry.content_html


# 2. resource attacks -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["billion-laughs", "xxe"])
def test_entities_from_a_dtd_are_never_expanded(servers, tmp_path: Path, name: str) -> None:
    report, (entry,) = report_of(tmp_path, servers[2][name])
    assert "ignored its DTD" in report.notice
    assert entry.title in ("&lol9;", "&xxe;")  # the reference stays text: nothing expanded
    assert "root:" not in entry.title + entry.content_text


def test_a_quadratic_entity_is_not_expanded(servers, tmp_path: Path) -> None:
    _, entries = report_of(tmp_path, servers[2]["quadratic-entity"])
    assert len(entries) == 60
    assert max(len(e.content_text) for e in entries) < 1000  # 30 x 4 KB if expanded


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("gzip-bomb", "decompressed response larger than 10,000,000 bytes"),
        ("50mb-declared", "response larger than 10,000,000 bytes (52,428,805)"),
        ("50mb-streamed", "response larger than 10,000,000 bytes"),
    ],
)
def test_size_is_capped_after_decompression(
    servers, tmp_path: Path, name: str, reason: str
) -> None:
    report, _ = report_of(tmp_path, servers[2][name], HttpOptions(total_timeout=10))
    assert report.error == reason


def test_100000_entries_are_cut_to_the_first_thousand(servers, tmp_path: Path) -> None:
    report, entries = report_of(tmp_path, servers[2]["100k-entries"])
    assert len(entries) == 1000 and entries[0].title == "N0"
    assert report.notice == "kept the first 1,000 of 100,000 entries"


def test_deep_nesting_is_flattened_before_sanitizing(servers, tmp_path: Path) -> None:
    _, (entry,) = report_of(tmp_path, servers[2]["nested-content"])
    assert entry.content_text == "deep text"
    assert (
        "<div" not in sanitized(corpus.NESTED_CONTENT, servers[2]["nested-content"])[0].content_html
    )
    report, _ = report_of(tmp_path, servers[2]["nested-xml"])
    assert report.status is FeedStatus.OK


def test_a_megabyte_word_is_cut_short(servers, tmp_path: Path) -> None:
    _, (entry,) = report_of(tmp_path, servers[2]["long-word"])
    assert len(entry.title) <= 300
    assert max(len(word) for word in entry.content_text.split()) <= 201
    assert len(entry.content_text) < 1000


# 3. hostile servers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("hang", "timed out: no data for 1 s"),
        ("dribble-body", "timed out: no complete answer within 1.5 s"),
        ("dribble-headers", "timed out: no complete answer within 1.5 s"),
        ("reset", "network error: the server reset the connection"),
        ("not-found", "HTTP 404 Not Found"),
        ("forbidden", "HTTP 403 Forbidden"),
        ("server-error", "HTTP 500 Internal Server Error"),
    ],
)
def test_misbehaving_servers_fail_that_feed(
    servers, tmp_path: Path, name: str, reason: str
) -> None:
    report, _ = report_of(tmp_path, servers[2][name])
    assert report.error == reason
    assert report.hint  # every one says what to do


def test_redirect_loops_and_long_chains_are_named(servers, tmp_path: Path) -> None:
    loop, _ = report_of(tmp_path, servers[2]["redirect-loop"])
    assert (
        loop.error
        == f"redirect loop ({servers[2]['redirect-loop']} -> {servers[2]['redirect-loop']})"
    )
    chain, _ = report_of(tmp_path, servers[2]["redirect-chain"])
    assert chain.error == f"more than 5 redirects (the last to {servers[0].url('/chain/6')})"


def test_a_dribbling_server_is_cut_off_at_the_total_deadline_not_the_read_timeout(
    tmp_path: Path,
) -> None:
    server, stop = hs.start_hostile_server()
    try:
        url = server.add("/drip", hs.dribble(corpus.good_feed("Drip").encode(), 0.1))
        options = HttpOptions(read_timeout=5, total_timeout=0.8)
        started = datetime.now(UTC)
        report, _ = report_of(tmp_path, url, options)
        assert report.error == "timed out: no complete answer within 0.8 s"
        assert datetime.now(UTC) - started < timedelta(seconds=4)  # not the 5 s read timeout
    finally:
        stop()


def test_retry_after_defers_the_feed_and_the_next_run_reads_the_cache(tmp_path: Path) -> None:
    server, stop = hs.start_hostile_server()
    try:
        url = server.add(
            "/busy",
            hs.sequence(
                hs.respond(corpus.good_feed("Busy")),
                hs.status(429, {"Retry-After": "7200"}),
            ),
        )
        first = gather_one(tmp_path, url)
        assert first.reports[0].status is FeedStatus.OK
        second = gather_one(tmp_path, url)
        assert second.reports[0].error.startswith("HTTP 429 Too Many Requests (the server asks")
        assert "not fetched for 2.0 h" in second.reports[0].error
        third = gather_one(tmp_path, url)
        assert server.hits["/busy"] == 2  # the third run did not ask again
        assert third.reports[0].status is FeedStatus.NOT_MODIFIED
        assert third.reports[0].notice.startswith("not fetched: the server asked us to wait")
        assert [e.title for e in third.entries] == [e.title for e in first.entries]
    finally:
        stop()


def test_a_short_retry_after_is_waited_out_once(tmp_path: Path) -> None:
    server, stop = hs.start_hostile_server()
    try:
        url = server.add(
            "/blip",
            hs.sequence(hs.status(503, {"Retry-After": "0"}), hs.respond(corpus.good_feed("Blip"))),
        )
        report, entries = report_of(tmp_path, url)
        assert report.status is FeedStatus.OK and len(entries) == 3
        assert server.hits["/blip"] == 2
    finally:
        stop()


@pytest.mark.parametrize("code", [301, 308])
def test_a_permanent_redirect_moves_the_feed_and_says_so(tmp_path: Path, code: int) -> None:
    server, stop = hs.start_hostile_server()
    try:
        old = server.add("/old.xml", hs.redirect("/new.xml", code))
        new = server.add("/new.xml", hs.respond(corpus.good_feed("Moved")))
        first = gather_one(tmp_path, old).reports[0]
        assert first.status is FeedStatus.OK
        assert (
            first.notice
            == f"moved permanently to {new}: fetched from there from now on; update the config"
        )
        with State.open(state_at(tmp_path / "state.sqlite3")) as state:
            assert state.feed_records()[old].moved_to == new
        second = gather_one(tmp_path, old).reports[0]
        assert server.hits["/old.xml"] == 1 and server.hits["/new.xml"] == 2
        assert second.notice.startswith(f"fetched from {new}, where it moved permanently")
    finally:
        stop()


def test_a_temporary_redirect_moves_nothing(tmp_path: Path) -> None:
    server, stop = hs.start_hostile_server()
    try:
        old = server.add("/t.xml", hs.redirect("/elsewhere.xml", 302))
        server.add("/elsewhere.xml", hs.respond(corpus.good_feed("Temp")))
        assert gather_one(tmp_path, old).reports[0].notice == ""
        with State.open(state_at(tmp_path / "state.sqlite3")) as state:
            assert state.feed_records()[old].moved_to is None
    finally:
        stop()


def test_410_gone_retires_the_feed(servers, tmp_path: Path) -> None:
    url = servers[2]["gone"]
    first, _ = report_of(tmp_path, url)
    assert first.error == "retired: the server says it is gone (HTTP 410 Gone); not fetched again"
    assert first.hint == "remove it from the config (digest feeds remove 'Case')"
    hits = servers[0].hits["/gone"]
    second, _ = report_of(tmp_path, url)
    assert servers[0].hits["/gone"] == hits  # not asked again
    assert second.error.startswith("retired: the server said it is gone (410) on ")


# 4. requests we did not ask for ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("to-localhost", "refused to fetch localhost (127.0.0.1): a loopback address"),
        ("to-decimal-ip", "refused to fetch 2130706433 (127.0.0.1): a loopback address"),
        ("to-mapped-ipv6", "refused to fetch ::ffff:127.0.0.1: a loopback address"),
        ("to-metadata", "refused to fetch 169.254.169.254: a link-local address"),
        ("to-octal-ip", "network error: a redirect to an invalid URL"),
    ],
)
def test_redirects_from_a_listed_feed_never_reach_internal_addresses(
    servers, tmp_path: Path, name: str, reason: str
) -> None:
    report, _ = report_of(tmp_path, servers[2][name])
    assert report.error.startswith(reason), report.error
    assert servers[1].hits["/secret"] == 0


def test_an_allow_listed_origin_may_be_reached(servers, tmp_path: Path) -> None:
    internal = servers[1]
    options = HttpOptions(allow_private_origins=(f"http://localhost:{internal.port}",))
    with make_client(options) as client:
        got = download(
            client, servers[2]["to-localhost"], options, trusted=servers[2]["to-localhost"]
        )
    assert got.body == b"SECRET"
    internal.hits.clear()


def test_a_redirect_within_the_listed_feeds_own_origin_is_followed(tmp_path: Path) -> None:
    server, stop = hs.start_hostile_server()
    try:
        start = server.add("/a", hs.redirect("/b"))
        server.add("/b", hs.respond(corpus.good_feed("Same")))
        report, entries = report_of(tmp_path, start)
        assert report.status is FeedStatus.OK and len(entries) == 3
    finally:
        stop()


def test_a_name_that_resolves_to_a_private_address_is_refused(tmp_path: Path) -> None:
    """The resolver is the one seam here: no DNS server runs in the tests."""
    server, stop = hs.start_hostile_server()
    try:
        start = server.add("/r", hs.redirect(f"http://intranet.example:{server.port}/x"))
        server.add("/x", hs.respond(corpus.good_feed("Intranet")))
        names = {"intranet.example": ["10.0.0.7"], "127.0.0.1": ["127.0.0.1"]}
        client = make_client(QUICK, resolver=lambda host, port: names[host])
        result = gather_one(tmp_path, start, client=client)
        assert result.reports[0].error.startswith(
            "refused to fetch intranet.example (10.0.0.7): a private address"
        )
        assert server.hits["/x"] == 0
    finally:
        stop()


def test_the_address_checked_is_the_address_connected_to(tmp_path: Path) -> None:
    """DNS rebinding: public when checked, 127.0.0.1 when connecting. The transport resolves
    again at connect time and refuses."""
    server, stop = hs.start_hostile_server()
    try:
        start = server.add("/r", hs.redirect(f"http://rebind.example:{server.port}/x"))
        server.add("/x", hs.respond("SECRET"))
        answers = iter([["93.184.216.34"], ["127.0.0.1"]])

        def rebinding(host: str, port: int) -> list[str]:
            return ["127.0.0.1"] if host == "127.0.0.1" else next(answers)

        client = make_client(QUICK, resolver=rebinding)
        report = gather_one(tmp_path, start, client=client).reports[0]
        assert report.error.startswith("refused to fetch rebind.example (127.0.0.1)")
        assert server.hits["/x"] == 0
    finally:
        stop()


def test_article_pages_on_internal_addresses_are_not_fetched(tmp_path: Path) -> None:
    server, stop = hs.start_hostile_server()
    try:
        page = server.add(
            "/page", hs.respond("<html><body><p>secret</p></body></html>", content_type="text/html")
        )
        feed = corpus.rss(corpus.item("Teaser", page, "<p>Short teaser… Read more</p>"))
        url = server.add("/teasers.xml", hs.respond(feed))
        config = write_config(
            tmp_path, [{"name": "T", "url": url}], article_pages={"delay_seconds": 0}
        )
        result = CliRunner().invoke(main, ["build", "-c", str(config)])
        assert result.exit_code == 0, result.output
        assert server.hits["/page"] == 0 and server.hits["/robots.txt"] == 0
    finally:
        stop()


@pytest.mark.parametrize(
    ("file", "template", "said"),
    [
        ("style.css", "@import url({url});\nbody {{ color: #111; }}\n", "a CSS @import"),
        ("digest.html", '<link rel="stylesheet" href="{url}">', "an external stylesheet"),
    ],
)
def test_a_theme_cannot_make_the_build_fetch_a_stylesheet(
    tmp_path: Path, file: str, template: str, said: str
) -> None:
    from digest.issue.render import builtin_templates

    server, stop = hs.start_hostile_server()
    try:
        feed = server.add("/f.xml", hs.respond(corpus.good_feed("Style")))
        theme = tmp_path / "theme"
        theme.mkdir()
        addition = template.format(url=server.url("/x.css"))
        if file == "digest.html":
            html = (builtin_templates() / "digest.html").read_text()
            addition = html.replace("</head>", addition + "</head>", 1)
        (theme / file).write_text(addition)
        config = write_config(tmp_path, [{"name": "S", "url": feed}], templates=str(theme))
        result = CliRunner().invoke(main, ["build", "-c", str(config)])
        assert result.exit_code == 3
        assert f"puts {said} in the email" in result.stderr
        assert server.hits["/x.css"] == 0
    finally:
        stop()


# 5. injection -----------------------------------------------------------------------------


def test_nothing_from_a_feed_can_run_script_in_the_email(servers, tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"name": "Evil", "url": servers[2]["injection"]}])
    result = CliRunner().invoke(main, ["build", "-c", str(config)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "digest.html").read_text()
    text = (tmp_path / "out" / "digest.txt").read_text()
    tree = lxml.html.fromstring(page)
    assert not tree.xpath("//script | //svg | //form | //input | //iframe | //animate | //link")
    assert len(tree.xpath("//style")) <= 1  # ours (the @media rules), none from the feed
    assert "background: red" not in page and "color: red" not in page
    for element in tree.iter():
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (element.tag, name)
            if name in ("href", "src", "action"):
                assert value.startswith(("https://", "http://", "mailto:")), value
    assert "javascript" not in page.lower() and "alert(" not in page
    assert "127.0.0.1:9" not in page  # an internal tracking pixel is dropped
    # Template syntax in content is text: shown, never evaluated.
    assert "{{ 7 * 7 }}" in text and "{% for x in y %}" in text and "49" not in text
    assert "{{ 6 * 7 }} Title" in text and "42" not in text


# 6. and 7. the report, and the digest is always written -------------------------------------


def test_a_build_over_every_hostile_feed_still_delivers_the_good_ones(
    servers, tmp_path: Path
) -> None:
    good = hs.start_hostile_server()
    server, stop = good
    try:
        feeds: list[dict[str, object]] = [
            {"name": f"Bad {name}", "url": url, "max_entries": 2}
            for name, url in servers[2].items()
        ]
        feeds.insert(
            3,
            {"name": "Good A", "url": server.add("/a.xml", hs.respond(corpus.good_feed("Alpha")))},
        )
        feeds.append(
            {"name": "Good B", "url": server.add("/b.xml", hs.respond(corpus.good_feed("Beta")))}
        )
        config = write_config(
            tmp_path,
            feeds,
            http={"read_timeout": 1, "total_timeout": 1.5, "concurrency": 16},
            max_entries=200,
        )
        result = CliRunner().invoke(main, ["build", "-c", str(config)])
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
        text = (tmp_path / "out" / "digest.txt").read_text()  # the HTML may fold late stories
        for n in range(3):
            assert f"Alpha story {n}" in text and f"Beta story {n}" in text
        failed = [line for line in result.stderr.splitlines() if line.startswith("  failed: ")]
        named = {line.split(":")[1].strip() for line in failed}
        expected = {f"Bad {n}" for n in FAILS} | {"Bad hang", "Bad gone", "Bad to-metadata"}
        assert expected <= named
        assert all(len(line.split(": ", 2)) == 3 for line in failed)  # name: reason; hint
    finally:
        stop()


def test_a_bug_of_ours_on_one_feed_fails_that_feed_only(
    servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = feedparse_module._entry

    def buggy(source: FeedSource, **fields: object) -> object:
        if source.name == "Trips":
            raise ZeroDivisionError("an edge case we did not think of")
        return original(source, **fields)  # type: ignore[arg-type]

    monkeypatch.setattr(feedparse_module, "_entry", buggy)
    server, stop = hs.start_hostile_server()
    try:
        trips = server.add("/trips.xml", hs.respond(corpus.good_feed("Trips")))
        fine = server.add("/fine.xml", hs.respond(corpus.good_feed("Fine")))
        config = write_config(
            tmp_path, [{"name": "Trips", "url": trips}, {"name": "Fine", "url": fine}]
        )
        result = CliRunner().invoke(main, ["build", "-c", str(config)])
        assert result.exit_code == 0, result.output
        assert (
            "  failed: Trips: internal error while reading it: ZeroDivisionError: an edge case "
            "we did not think of; a bug in digest: run with --verbose for the traceback"
        ) in result.stderr
        assert "Fine story 0" in (tmp_path / "out" / "digest.html").read_text()
    finally:
        stop()


def test_an_unexpected_error_is_one_line_unless_verbose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digest.cli import main as cli

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "build_digest", broken)
    config = write_config(tmp_path, [{"name": "X", "url": "https://example.org/feed"}])
    quiet = CliRunner().invoke(main, ["build", "-c", str(config)])
    assert quiet.exit_code == 1
    assert quiet.stderr == (
        "digest: error: unexpected RuntimeError: boom "
        "(a bug in digest; run again with --verbose for the traceback)\n"
    )
    loud = CliRunner().invoke(main, ["--verbose", "build", "-c", str(config)])
    assert isinstance(loud.exception, RuntimeError)


def test_a_feed_the_server_calls_fresh_is_not_asked_again_until_then(tmp_path: Path) -> None:
    server, stop = hs.start_hostile_server()
    try:
        url = server.add(
            "/fresh.xml",
            hs.respond(corpus.good_feed("Fresh"), headers={"Cache-Control": "public, max-age=600"}),
        )
        sources = [FeedSource("Case", url)]
        with State.open(state_at(tmp_path / "state.sqlite3")) as state:
            first = gather(sources, state, QUICK, NOW)
            soon = gather(sources, state, QUICK, NOW + timedelta(minutes=9))
            assert server.hits["/fresh.xml"] == 1  # fresh for 10 minutes: not asked
            assert soon.reports[0].status is FeedStatus.NOT_MODIFIED
            assert [e.title for e in soon.entries] == [e.title for e in first.entries]
            gather(sources, state, QUICK, NOW + timedelta(minutes=11))
            assert server.hits["/fresh.xml"] == 2
    finally:
        stop()


def test_a_long_max_age_is_honoured_for_an_hour_at_most(tmp_path: Path) -> None:
    server, stop = hs.start_hostile_server()
    try:
        url = server.add(
            "/static.xml",
            hs.respond(corpus.good_feed("Static"), headers={"Cache-Control": "max-age=86400"}),
        )
        sources = [FeedSource("Case", url)]
        with State.open(state_at(tmp_path / "state.sqlite3")) as state:
            gather(sources, state, QUICK, NOW)
            gather(sources, state, QUICK, NOW + timedelta(minutes=59))
            assert server.hits["/static.xml"] == 1
            gather(sources, state, QUICK, NOW + timedelta(minutes=61))
            assert server.hits["/static.xml"] == 2
    finally:
        stop()


def test_a_parse_that_runs_too_long_fails_that_feed_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever pathology feedparser meets next, a parse is interrupted after PARSE_SECONDS."""
    from digest.feeds import workers as parse_module

    real_parse = parse_module.parse_feed

    def stuck(body: bytes, source: FeedSource, *args: object) -> object:
        if source.name == "Stuck":
            while True:  # pure Python, as feedparser is: the timer signal interrupts it
                pass
        return real_parse(body, source, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(parse_module, "parse_feed", stuck)
    monkeypatch.setattr(parse_module, "PARSE_SECONDS", 0.3)
    server, stop = hs.start_hostile_server()
    try:
        sources = [
            FeedSource("Stuck", server.add("/stuck.xml", hs.respond(corpus.good_feed("Stuck")))),
            FeedSource("Fine", server.add("/fine.xml", hs.respond(corpus.good_feed("Fine")))),
        ]
        with State.open(state_at(tmp_path / "state.sqlite3")) as state:
            result = gather(sources, state, QUICK, NOW)
        stuck_report, fine = result.reports
        assert stuck_report.error == "parsing took longer than 0.3 s"
        assert fine.status is FeedStatus.OK and fine.entries == 3
    finally:
        stop()
