"""Shared fixtures: a real HTTP server on 127.0.0.1 serving feeds, and small builders; the
state database on the engine of this run.

The suite runs twice (`make test`): on SQLite, then with DIGEST_TEST_DATABASE=postgresql on a
throwaway PostgreSQL cluster (tests/pg_server.py) started once for the session. A test names
the state it keeps by a SQLite path (`tmp_path / "state.sqlite3"`); `state_at(path)` is that
file, or in the PostgreSQL run a database of its own made for that path, and `write_config`
points the config there (database_url). `rows(path, sql)` reads it on either engine.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from extraction_eval import find_shared_data
from pg_server import Throwaway, binaries
from smtp_server import SmtpServer, start_server

REPO = Path(__file__).resolve().parent.parent
ENGINE = os.environ.get("DIGEST_TEST_DATABASE", "sqlite")  # sqlite | postgresql
ON_POSTGRES = ENGINE == "postgresql"


# the state database ---------------------------------------------------------------------------

_cluster: Throwaway | None = None
_databases: dict[Path, str] = {}
_numbers = itertools.count(1)


def cluster() -> Throwaway:
    """The session's PostgreSQL cluster, started on first use, stopped when the session ends."""
    global _cluster
    if _cluster is None:
        if binaries() is None:
            pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
        _cluster = Throwaway().start()
        _cluster.create(TESTS)
    return _cluster


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _cluster is not None:
        _cluster.stop()


# Words by which a test module shows it may reach the state (the conservative side: a module
# that names none of them cannot, and runs once, in the SQLite run).
STATE_WORDS = re.compile(
    r"state|State|write_config|sending_config|serve_config|bundled_config|run_cli|"
    r"digest_send|make_scheduler|serving\(|\bmain\b"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL run leaves out the modules that never reach the state database (the
    summaries' and extraction's quality floors, text rules, the preview in Chromium)."""
    if not ON_POSTGRES:
        return
    kept, dropped = [], []
    for item in items:
        (kept if _reaches_state(item.path) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@functools.cache
def _reaches_state(path: Path) -> bool:
    return bool(STATE_WORDS.search(path.read_text(encoding="utf-8")))


@pytest.fixture
def postgres() -> Throwaway:
    """The PostgreSQL cluster, in either run (tests of what only PostgreSQL does)."""
    return cluster()


TESTS = "digest_tests"  # one database; each test's state is a schema of its own in it


def new_database() -> str:
    """A fresh, empty PostgreSQL state database for one test: a schema of its own (a whole
    database copies 7 MB of catalogs; a schema costs its tables), first on the search path
    of every connection to the URL returned."""
    name = f"t{next(_numbers)}"
    cluster().sql(f'CREATE SCHEMA "{name}"', TESTS)
    return f"{cluster().url(TESTS)}?options=-csearch_path%3D{name}"


def state_at(path: Path) -> str | Path:
    """Where a test keeps the state it names by `path`: the SQLite file, or in the PostgreSQL
    run the database made for that path."""
    if not ON_POSTGRES:
        return path
    if path not in _databases:
        _databases[path] = new_database()
    return _databases[path]


def rows(path: Path, query: str, **params: object) -> list[tuple[object, ...]]:
    """The rows of `query` (named :parameters) in the state `path` names, on either engine."""
    from digest.state import State

    with State.open(state_at(path)) as state:
        return [tuple(row) for row in state.execute(query, params)]


def shared_data() -> Path | None:
    """../shared/data beside the repo (or $DIGEST_DATA), if it is there."""
    return find_shared_data(REPO)


@pytest.fixture
def data_dir() -> Path:
    found = shared_data()
    if found is None:
        pytest.skip("../shared/data is not beside the repository")
    return found


@pytest.fixture
def seed_text(data_dir: Path) -> str:
    return (data_dir / "seed-article" / "000_329753098a3bb7ac.txt").read_text(encoding="utf-8")


@dataclass
class Route:
    body: bytes
    content_type: str = "application/rss+xml"
    status: int = 200
    etag: str | None = None
    delay: float = 0.0
    trickle: float = 0.0  # seconds between 16-byte chunks of the body
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FeedServer:
    """A real HTTP server on loopback. Routes are set per test; every request is logged."""

    base: str
    routes: dict[str, Route]
    requests: list[tuple[str, dict[str, str]]]

    def url(self, path: str) -> str:
        return self.base + path

    def serve(self, path: str, body: bytes | str, **options: object) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(data, **options)  # type: ignore[arg-type]
        return self.url(path)

    def hits(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if p == path]


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            route = server.routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
                return
            if route.delay:
                time.sleep(route.delay)
            if route.etag and self.headers.get("If-None-Match") == route.etag:
                self.send_response(304)
                self.end_headers()
                return
            body = route.body
            gzipped = "gzip" in self.headers.get("Accept-Encoding", "") and route.status == 200
            if gzipped:
                body = gzip.compress(body)
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(body)))
            if gzipped:
                self.send_header("Content-Encoding", "gzip")
            if route.etag:
                self.send_header("ETag", route.etag)
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not route.trickle:
                self.wfile.write(body)
                return
            for start in range(0, len(body), 16):
                self.wfile.write(body[start : start + 16])
                self.wfile.flush()
                time.sleep(route.trickle)

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

    return Handler


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer("", {}, [])
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


# builders -----------------------------------------------------------------------------------

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def rss(*items: str, title: str = "Test Feed") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{title}</title><link>https://example.org/</link>"
        f"<description>test</description>{''.join(items)}</channel></rss>"
    )


def rss_item(
    title: str,
    link: str,
    body: str = "<p>Body text of the story. It has two sentences.</p>",
    date: str = "Tue, 24 Nov 2026 09:30:00 +0000",
    guid: str | None = None,
) -> str:
    from xml.sax.saxutils import escape

    return (
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<guid>{escape(guid or link)}</guid><pubDate>{date}</pubDate>"
        f"<description>{escape(body)}</description></item>"
    )


def article_html(sentences: int = 6, topic: str = "the harbour") -> str:
    """A plausible multi-paragraph story body."""
    paragraphs = [
        f"<p>Engineers finished repairs on {topic} on Monday after a storm damaged it in March. "
        f"The work cost $4.2m and took 31 weeks.</p>"
    ]
    for number in range(1, sentences):
        paragraphs.append(
            f"<p>Officials said phase {number} of the plan for {topic} went as expected. "
            f"Residents will see {number * 3} more ferries each day from next month.</p>"
        )
    return "".join(paragraphs)


def run_cli(*args: str) -> tuple[int, str, str]:
    """`digest ARGS` in this process: (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from digest.cli.main import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def bundled_config(tmp_path: Path) -> Path:
    """The bundled config.yaml and samples/, copied as they ship: comments and all."""
    import shutil

    shutil.copytree(REPO / "samples", tmp_path / "samples")
    path = tmp_path / "config.yaml"
    shutil.copy(REPO / "config.yaml", path)
    return path


def write_config(folder: Path, feeds: list[dict[str, object]], **settings: object) -> Path:
    import yaml

    document = {
        "title": "Test Digest",
        "feeds": feeds,
        "output_dir": str(folder / "out"),
        "state_db": str(folder / "state.sqlite3"),
        **database_setting(folder / "state.sqlite3"),
        "timezone": "UTC",
        **settings,
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def database_setting(path: Path) -> dict[str, str]:
    """The config's database_url for the state `path` names: none on SQLite (state_db is it)."""
    where = state_at(path)
    return {"database_url": where} if isinstance(where, str) else {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--regen-golden", action="store_true", help="Rewrite tests/golden/* from current output."
    )


@pytest.fixture
def regen_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--regen-golden"))


# SMTP (issue 5) -----------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real aiosmtpd server on 127.0.0.1 recording every message (see tests/smtp_server.py)."""
    controller, server = start_server()
    yield server
    controller.stop()


# Chromium (the preview's and the public pages' browser tests) ---------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One browser for the module; playwright gives every launch a fresh temporary profile."""
    from chromium import CHROMIUM, CHROMIUM_ARGS, needs_chromium
    from playwright.sync_api import sync_playwright

    needs_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()
