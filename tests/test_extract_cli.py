"""`digest extract` against a real HTTP server on loopback, on files, and in --jsonl mode."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli.extract import MAX_PAGE_BYTES, extract
from digest.net.http import HttpOptions

ARTICLE_PARAGRAPHS = [
    "The library board voted on Monday to keep the branch on Mill Lane open on Saturdays, "
    "reversing a decision taken in the spring after a petition gathered four thousand names.",
    "Opening hours on weekdays will be shortened by an hour to pay for the change, and the "
    "board said it would review visitor numbers again at the end of next year.",
    "Volunteers from the Friends of Mill Lane Library have offered to run the children's "
    "reading sessions, which had been among the first services to be cut.",
    "The chair of the board said the vote showed how much the branch mattered to families "
    "who live too far from the central library to visit it regularly.",
]
PAGE = (
    "<html><head><title>Library keeps Saturday opening | Valley News</title>"
    '<meta property="og:title" content="Library keeps Saturday opening">'
    '<meta name="author" content="Owen Price">'
    '<meta property="article:published_time" content="2024-05-06T10:00:00Z">'
    "</head><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav><article>"
    "<h1>Library keeps Saturday opening</h1>"
    + "".join(f"<p>{text}</p>" for text in ARTICLE_PARAGRAPHS)
    + "<p>Sign up for our newsletter</p></article>"
    "<footer>© Valley News</footer></body></html>"
).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    user_agents: list[str] = []  # noqa: RUF012 - shared record of what the server saw

    def do_GET(self) -> None:
        self.user_agents.append(self.headers.get("User-Agent", ""))
        if self.path == "/article":
            self._send(200, PAGE)
        elif self.path.startswith("/hop/"):
            left = int(self.path.rsplit("/", 1)[1])
            self.send_response(302)
            self.send_header("Location", "/article" if left == 0 else f"/hop/{left - 1}")
            self.end_headers()
        elif self.path == "/huge":
            self._send(200, b"<p>" + b"x" * (MAX_PAGE_BYTES + 1) + b"</p>", chunked=True)
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes, chunked: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if not chunked:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # The client may hang up once it hits the size cap.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    _Handler.user_agents = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_url_prints_the_article_text(server: str) -> None:
    result = CliRunner().invoke(extract, [f"{server}/article"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip().split("\n\n") == ARTICLE_PARAGRAPHS
    assert _Handler.user_agents == [HttpOptions().user_agent]


def test_json_gives_metadata(server: str) -> None:
    result = CliRunner().invoke(extract, [f"{server}/article", "--json"])
    record = json.loads(result.stdout)
    assert record["title"] == "Library keeps Saturday opening"
    assert record["author"] == "Owen Price"
    assert record["date"] == "2024-05-06T10:00:00+00:00"
    assert record["url"] == f"{server}/article"
    assert record["text"].startswith(ARTICLE_PARAGRAPHS[0])


def test_five_redirects_are_followed(server: str) -> None:
    result = CliRunner().invoke(extract, [f"{server}/hop/4"])
    assert result.exit_code == 0, result.stderr
    assert len(_Handler.user_agents) == 6


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/hop/5", "more than 5 redirects"),
        ("/missing", "HTTP 404 Not Found"),
        ("/huge", "response larger than 5,242,880 bytes"),
    ],
)
def test_fetch_errors_are_one_line_and_exit_3(server: str, path: str, message: str) -> None:
    result = CliRunner().invoke(extract, [f"{server}{path}"])
    assert result.exit_code == 3  # a failed input (README: exit codes), not "unexpected error"
    assert result.stdout == ""
    assert result.stderr.startswith(f"digest: {server}{path}: {message}")
    assert result.stderr.count("\n") == 1


def test_unreachable_host_is_one_line() -> None:
    # A port nothing listens on: bind one, close it, and ask it.
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = httpd.server_address[1]
    httpd.server_close()
    result = CliRunner().invoke(extract, [f"http://127.0.0.1:{port}/"])
    assert result.exit_code == 3
    assert result.stderr.startswith(f"digest: http://127.0.0.1:{port}/: network error: ")
    assert result.stderr.count("\n") == 1


def test_file_source(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(PAGE)
    result = CliRunner().invoke(extract, [str(page)])
    assert result.exit_code == 0
    assert result.stdout.startswith(ARTICLE_PARAGRAPHS[0])


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(extract, [str(tmp_path / "nope.html")])
    assert result.exit_code == 3
    assert "cannot read file" in result.stderr
    assert "Traceback" not in result.stderr


def test_jsonl_keeps_order_and_survives_bad_pages() -> None:
    lines = [
        json.dumps({"id": "good", "url": "https://example.org/f", "html": PAGE.decode()}),
        "{not json",
        json.dumps({"id": 7, "url": "https://example.org/empty", "html": ""}),
        "",
        json.dumps({"id": "nav", "url": "https://example.org/nav", "html": "<nav>x</nav>"}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "again", "html": PAGE.decode()}),
    ]
    result = CliRunner().invoke(extract, ["--jsonl"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ["good", None, 7, "nav", None, "again"]
    assert [bool(r["text"]) for r in records] == [True, False, False, False, False, True]
    assert records[0]["text"].split("\n\n") == ARTICLE_PARAGRAPHS
    assert len(result.stderr.strip().splitlines()) == 4


def test_no_source_is_a_usage_error() -> None:
    result = CliRunner().invoke(extract, [])
    assert result.exit_code == 2
