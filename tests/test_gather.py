from __future__ import annotations

import json
from pathlib import Path

from conftest import NOW, FeedServer, rss, rss_item, state_at

from digest.feeds.gather import gather
from digest.feeds.parse import parse_feed
from digest.models import FeedSource, FeedStatus
from digest.net.http import HttpOptions
from digest.state import State

FAST = HttpOptions(connect_timeout=1, read_timeout=0.5, max_bytes=200_000, max_redirects=2)


def _gather(state: State, *sources: FeedSource, options: HttpOptions = FAST):  # type: ignore[no-untyped-def]
    return gather(list(sources), state, options, NOW)


def test_second_run_sends_etag_and_reuses_entries_on_304(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    url = feed_server.serve(
        "/feed.xml", rss(rss_item("A story", "https://example.org/a")), etag='"v1"'
    )
    source = FeedSource("Example", url)
    with State.open(state_at(tmp_path / "state.sqlite3")) as state:
        first = _gather(state, source)
    with State.open(
        state_at(tmp_path / "state.sqlite3")
    ) as state:  # a new run: validators from disk
        second = _gather(state, source)
    assert first.reports[0].status is FeedStatus.OK
    assert second.reports[0].status is FeedStatus.NOT_MODIFIED
    assert feed_server.hits("/feed.xml")[1]["if-none-match"] == '"v1"'
    assert [e.title for e in second.entries] == ["A story"]
    assert second.entries == first.entries


def test_broken_feeds_are_reported_by_name_and_the_rest_go_on(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    good = feed_server.serve("/good.xml", rss(rss_item("Fine", "https://example.org/fine")))
    html = feed_server.serve(
        "/html", "<html><body><p>a web page</p></body></html>", content_type="text/html"
    )
    gone = feed_server.url("/missing.xml")
    slow = feed_server.serve("/slow.xml", rss(), delay=2.0)
    huge = feed_server.serve(
        "/huge.xml", rss(*[rss_item(f"T{i}", f"https://e.org/{i}", "x" * 5000) for i in range(60)])
    )
    with State.open(state_at(tmp_path / "s.sqlite3")) as state:
        result = _gather(
            state,
            FeedSource("Good", good),
            FeedSource("Page", html),
            FeedSource("Gone", gone),
            FeedSource("Slow", slow),
            FeedSource("Huge", huge),
        )
    reasons = {r.name: (r.status, r.error) for r in result.reports}
    assert reasons["Good"] == (FeedStatus.OK, "")
    assert reasons["Page"][1] == "a web page (HTML), not an RSS, Atom or JSON feed"
    assert reasons["Gone"][1] == "HTTP 404 Not Found"
    assert reasons["Slow"][1].startswith("timed out")
    assert reasons["Huge"][1] == "decompressed response larger than 200,000 bytes"
    assert [e.title for e in result.entries] == ["Fine"]


def test_server_trickling_bytes_hits_the_whole_response_deadline(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    items = [rss_item(f"Story {i}", f"https://e.org/{i}") for i in range(20)]
    url = feed_server.serve("/trickle.xml", rss(*items), trickle=0.05)
    options = HttpOptions(read_timeout=0.5, total_timeout=0.6)
    with State.open(state_at(tmp_path / "s.sqlite3")) as state:
        result = gather([FeedSource("Trickle", url)], state, options, NOW)
    assert result.reports[0].error == "timed out: no complete answer within 0.6 s"


def test_redirect_cap(feed_server: FeedServer, tmp_path: Path) -> None:
    for hop in range(4):
        feed_server.serve(f"/r{hop}", "", status=302, headers={"Location": f"/r{hop + 1}"})
    with State.open(state_at(tmp_path / "s.sqlite3")) as state:
        result = _gather(state, FeedSource("Loop", feed_server.url("/r0")))
    last = feed_server.url("/r3")
    assert result.reports[0].error == f"more than 2 redirects (the last to {last})"


def test_gzip_and_user_agent(feed_server: FeedServer, tmp_path: Path) -> None:
    url = feed_server.serve("/f.xml", rss(rss_item("Zipped", "https://example.org/z")))
    options = HttpOptions(user_agent="digest-test/1")
    with State.open(state_at(tmp_path / "s.sqlite3")) as state:
        result = gather([FeedSource("Z", url)], state, options, NOW)
    request = feed_server.hits("/f.xml")[0]
    assert "gzip" in request["accept-encoding"] and request["user-agent"] == "digest-test/1"
    assert result.entries[0].title == "Zipped"


def test_json_feed_is_normalised_like_the_others() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "home_page_url": "https://json.example/",
        "items": [
            {
                "id": "1",
                "url": "/posts/one",
                "title": "One &amp; only",
                "content_html": '<p>Hello <a href="/about">there</a>.</p><img src="pic.png">',
                "date_published": "2026-11-20T10:00:00+01:00",
                "authors": [{"name": "Ada"}],
                "image": "https://json.example/one.jpg",
            },
            {"id": "2", "url": "https://json.example/two", "content_text": "First.\n\nSecond."},
        ],
    }
    entries = parse_feed(
        json.dumps(document).encode(),
        FeedSource("J", "https://json.example/feed.json"),
        "https://json.example/feed.json",
    )
    one, two = entries.entries
    assert one.link == "https://json.example/posts/one"
    assert one.title == "One & only"
    assert one.published.isoformat() == "2026-11-20T10:00:00+01:00"
    assert one.author == "Ada" and one.image == "https://json.example/one.jpg"
    assert 'href="https://json.example/about"' in one.content_html
    assert 'src="https://json.example/posts/pic.png"' in one.content_html
    assert two.content_text == "First.\n\nSecond."
    assert two.title == "First. Second."


def test_rss1_and_atom_parse(tmp_path: Path) -> None:
    rdf = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://r.example/"><title>R</title><link>https://r.example/</link><description>d</description></channel>
<item rdf:about="https://r.example/1"><title>RDF item</title><link>https://r.example/1</link>
<dc:date>2026-11-21T08:00:00Z</dc:date><description>Text.</description></item></rdf:RDF>"""
    atom = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>A</title><id>urn:a</id><updated>2026-11-22T00:00:00Z</updated>
<entry><title type="html">Atom &lt;b&gt;entry&lt;/b&gt;</title><id>urn:a:1</id><link href="/1"/>
<published>2026-11-22T00:00:00Z</published><updated>2026-11-22T00:00:00Z</updated>
<author><name>Bo</name></author>
<content type="html">&lt;p&gt;Body.&lt;/p&gt;</content></entry></feed>"""
    rdf_entry = parse_feed(rdf, FeedSource("R", "x"), "https://r.example/feed").entries[0]
    atom_entry = parse_feed(atom, FeedSource("A", "x"), "https://a.example/feed.atom").entries[0]
    assert (rdf_entry.title, rdf_entry.published.day) == ("RDF item", 21)
    assert (atom_entry.title, atom_entry.link, atom_entry.author) == (
        "Atom entry",
        "https://a.example/1",
        "Bo",
    )
    assert atom_entry.content_text == "Body."


def test_undated_entries_keep_their_first_seen_time(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    item = "<item><title>No date</title><link>https://e.org/nd</link></item>"
    url = feed_server.serve("/nd.xml", rss(item))
    with State.open(state_at(tmp_path / "s.sqlite3")) as state:
        first = gather([FeedSource("N", url)], state, FAST, NOW)
        later = gather([FeedSource("N", url)], state, FAST, NOW.replace(day=28))
    assert first.entries[0].published == NOW == later.entries[0].published


def test_local_file_goes_through_the_same_path(tmp_path: Path) -> None:
    path = tmp_path / "local.xml"
    path.write_text(rss(rss_item("From disk", "https://example.org/disk")))
    with State.open(state_at(tmp_path / "s.sqlite3")) as state:
        result = _gather(
            state, FeedSource("Disk", str(path)), FeedSource("Nope", str(tmp_path / "no.xml"))
        )
    assert [e.title for e in result.entries] == ["From disk"]
    assert result.reports[1].error.startswith("cannot read")
