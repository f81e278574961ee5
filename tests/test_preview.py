"""`digest preview` over real HTTP on loopback: its pages, its limits, its rebuilds."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from conftest import REPO, FeedServer, article_html, rows, rss, rss_item, write_config
from send_helpers import sending_config, serve_stories
from smtp_server import SmtpServer

from digest.web.preview_server import EMAIL_CSP, PreviewServer, start_preview

AS_OF = datetime(2026, 11, 25, 23, 59, 59, tzinfo=UTC)
FEEDS = REPO / "tests" / "feeds"


def golden_config(folder: Path, **settings: object) -> Path:
    theme = folder / "theme"
    theme.mkdir(exist_ok=True)
    shutil.copy(REPO / "templates" / "digest.html", theme / "digest.html")
    return write_config(
        folder,
        [
            {"name": "Golden Wire", "url": str(FEEDS / "golden.rss"), "section": "News"},
            {"name": "Golden Notes", "url": str(FEEDS / "golden.json")},
        ],
        title="The Golden Digest",
        templates=str(theme),
        **settings,
    )


@pytest.fixture
def serve() -> Iterator[Callable[[Path], PreviewServer]]:
    servers: list[PreviewServer] = []

    def start(config: Path) -> PreviewServer:
        server = start_preview(config, lambda: AS_OF)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def wait_for_build(server: PreviewServer, after: int, seconds: float = 10) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        version = server.previewer.snapshot.version
        if version > after:
            return version
        time.sleep(0.05)
    raise AssertionError(f"no rebuild within {seconds} s")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))
    # make the change visible even on a file system with coarse timestamps
    stamp = time.time() + 1
    os.utime(path, (stamp, stamp))


def test_pages_show_the_email_text_headers_and_health(
    serve: Callable[[Path], PreviewServer], tmp_path: Path
) -> None:
    server = serve(golden_config(tmp_path))
    built = server.previewer.snapshot.built
    assert built is not None
    overview = httpx.get(server.url)
    assert overview.status_code == 200
    assert 'iframe class="full"' in overview.text and 'iframe class="narrow"' in overview.text
    assert re.search(r"<td>Golden Wire<br>.*?</td>\s*<td class=\"ok\">ok</td>", overview.text, re.S)
    size = len(built.rendered.html.encode())
    assert f"{size:,} bytes" in overview.text and "of Gmail's 102 KB clip" in overview.text

    email = httpx.get(server.url + "email")
    assert email.text == built.rendered.html  # exactly the inlined email, nothing injected
    assert email.headers["content-security-policy"] == EMAIL_CSP
    assert "script-src" not in EMAIL_CSP and "default-src 'none'" in EMAIL_CSP

    text = httpx.get(server.url + "text")
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    assert text.text == built.rendered.text

    headers = httpx.get(server.url + "headers").text
    assert "<th>Subject</th><td><code>The Golden Digest — 25 November 2026</code>" in headers
    assert "text/html; charset=utf-8</th><td>" in headers

    health = httpx.get(server.url + "health").text
    assert 'id="feeds"' in health and "Golden Notes" in health


def test_script_only_by_nonce_on_the_overview(
    serve: Callable[[Path], PreviewServer], tmp_path: Path
) -> None:
    server = serve(golden_config(tmp_path))
    first, second = httpx.get(server.url), httpx.get(server.url)
    nonces = []
    for response in (first, second):
        policy = response.headers["content-security-policy"]
        nonce = re.search(r"script-src 'nonce-([^']+)'", policy)
        assert nonce and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        assert f'<script nonce="{nonce.group(1)}">' in response.text
        nonces.append(nonce.group(1))
    assert nonces[0] != nonces[1]


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "/config.yaml",
        "/../config.yaml",
        "/email/../config.yaml",
        "/theme/",
        "/static/x.css",
        "/favicon.ico",
    ],
)
def test_serves_nothing_but_its_own_pages(
    serve: Callable[[Path], PreviewServer], tmp_path: Path, path: str
) -> None:
    server = serve(golden_config(tmp_path))
    with socket.create_connection(("127.0.0.1", server.server_address[1])) as raw:
        port = server.server_address[1]
        raw.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        response = b""
        while chunk := raw.recv(65536):
            response += chunk
    assert response.startswith(b"HTTP/1.1 404"), response[:60]
    assert b"feeds:" not in response and b"root:" not in response


def test_listens_on_loopback_and_refuses_foreign_hosts_and_origins(
    serve: Callable[[Path], PreviewServer], tmp_path: Path
) -> None:
    server = serve(golden_config(tmp_path))
    assert server.server_address[0] == "127.0.0.1"
    rebound = httpx.get(server.url, headers={"Host": "attacker.example"})
    assert rebound.status_code == 421
    version = server.previewer.snapshot.version
    forged = httpx.post(server.url + "refetch", headers={"Origin": "https://attacker.example"})
    assert forged.status_code == 403 and server.previewer.snapshot.version == version


def test_template_edit_rebuilds_and_a_broken_template_is_a_page_with_file_and_line(
    serve: Callable[[Path], PreviewServer], tmp_path: Path
) -> None:
    config = golden_config(tmp_path)
    template = tmp_path / "theme" / "digest.html"
    server = serve(config)
    version = server.previewer.snapshot.version

    edit(
        template,
        '<h1 class="title">{{ digest.title }}</h1>',
        '<h1 class="title">{{ digest.title }} (edited)</h1>',
    )
    version = wait_for_build(server, version)
    assert "The Golden Digest (edited)</h1>" in httpx.get(server.url + "email").text

    edit(
        template,
        '{%- for section in sections %}\n<tr><td class="section">',
        '{%- for section in sections %\n<tr><td class="section">',
    )
    version = wait_for_build(server, version)
    broken = "{%- for section in sections %"
    broken_line = template.read_text().splitlines().index(broken) + 1
    page = httpx.get(server.url)
    assert page.status_code == 500
    assert "The build failed" in page.text
    reported = re.search(rf"<p>{re.escape(str(template))}, line (\d+):</p>", page.text)
    assert reported and int(reported.group(1)) in (broken_line, broken_line + 1)  # jinja's pick
    assert re.search(rf"<span[^>]*>\s*{broken_line}  {re.escape(broken)}</span>", page.text)
    assert f'class="here">{int(reported.group(1)):4d}  ' in page.text
    assert httpx.get(server.url + "email").status_code == 500

    edit(template, "{%- for section in sections %\n", "{%- for section in sections %}\n")
    wait_for_build(server, version)
    assert httpx.get(server.url + "email").status_code == 200


def test_a_broken_config_is_shown_with_its_line_and_recovers(
    serve: Callable[[Path], PreviewServer], tmp_path: Path
) -> None:
    config = golden_config(tmp_path)
    server = serve(config)
    version = server.previewer.snapshot.version
    edit(config, "title: The Golden Digest", "title: The Golden Digest\nwindow_dayz: 3")
    version = wait_for_build(server, version)
    page = httpx.get(server.url).text
    assert "unknown key &#39;window_dayz&#39; (did you mean &#39;window_days&#39;?)" in page
    assert "window_dayz: 3</span>" in page  # the snippet marks the culprit line
    edit(config, "\nwindow_dayz: 3", "")
    wait_for_build(server, version)
    assert httpx.get(server.url + "email").status_code == 200


def state_dump(path: Path) -> list[tuple[str, list[tuple[object, ...]]]]:
    from digest.state.schema import metadata

    return [
        (t.name, rows(path, f"SELECT * FROM {t.name} ORDER BY 1")) for t in metadata.sorted_tables
    ]


def test_rebuilds_reuse_cached_feeds_without_network_or_state_writes_until_asked(
    serve: Callable[[Path], PreviewServer], feed_server: FeedServer, tmp_path: Path
) -> None:
    good = feed_server.serve(
        "/good.xml", rss(rss_item("Harbour reopens", "https://news.example/h", article_html()))
    )
    old = feed_server.serve(
        "/old.xml",
        rss(
            rss_item(
                "Last week's news",
                "https://news.example/old",
                article_html(),
                date="Mon, 02 Nov 2026 09:00:00 +0000",
            ),
            rss_item("Fresh news", "https://news.example/fresh", article_html(topic="the pier")),
        ),
    )
    gone = feed_server.url("/gone.xml")
    config = write_config(
        tmp_path,
        [
            {"name": "Good", "url": good, "fulltext": "never"},
            {"name": "Old", "url": old, "fulltext": "never"},
            {"name": "Gone", "url": gone, "fulltext": "never"},
        ],
    )
    server = serve(config)
    assert len(feed_server.hits("/good.xml")) == 1
    health = httpx.get(server.url).text
    assert re.search(
        r"Gone<br>.*?<td class=\"bad\">failed: HTTP 404 Not Found<br>"
        r"<span class=\"muted\">check the URL; `digest feeds add &lt;site&gt;` finds",
        health,
        re.S,
    )
    row = re.search(r"Old<br>.*?</tr>", health, re.S)
    assert row and "<td>2</td><td>1</td><td>1</td>" in row.group(0)  # in feed, taken, skipped

    before = state_dump(tmp_path / "state.sqlite3")
    version = server.previewer.snapshot.version
    edit(config, "title: Test Digest", "title: Retitled Digest")
    version = wait_for_build(server, version)
    assert "Retitled Digest" in httpx.get(server.url + "email").text
    assert "Harbour reopens" in httpx.get(server.url + "email").text
    assert len(feed_server.hits("/good.xml")) == 1  # no fetch for an edit
    assert state_dump(tmp_path / "state.sqlite3") == before  # nothing written, nothing "sent"
    assert "cached feed bodies" in httpx.get(server.url).text

    answer = httpx.post(server.url + "refetch", headers={"Origin": server.url.rstrip("/")})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert len(feed_server.hits("/good.xml")) == 2
    assert server.previewer.snapshot.version == version + 1


def test_events_announce_each_new_build(
    serve: Callable[[Path], PreviewServer], tmp_path: Path
) -> None:
    config = golden_config(tmp_path)
    server = serve(config)
    version = server.previewer.snapshot.version
    with httpx.stream("GET", server.url + "events", timeout=10) as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        lines = events.iter_lines()
        assert next(lines) == "retry: 500"
        assert next(lines) == f"data: {version}"
        edit(config, "title: The Golden Digest", "title: Another Title")
        data = (line for line in lines if line.startswith("data:"))
        assert next(data) == f"data: {version + 1}"


def test_cli_prints_the_url_opens_a_browser_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    config = golden_config(tmp_path)
    opened = tmp_path / "opened.txt"
    fake_browser = tmp_path / "browser.py"  # $BROWSER is how webbrowser picks the browser
    fake_browser.write_text(f"import sys\nopen({str(opened)!r}, 'w').write(sys.argv[1])\n")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "digest",
            "preview",
            "-c",
            str(config),
            "--as-of",
            "2026-11-25",
            "--open",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PYTHONPATH": str(REPO),
            "BROWSER": f"{sys.executable} {fake_browser} %s",
        },
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.fullmatch(r"preview: (http://127\.0\.0\.1:\d+/)  \(Ctrl-C to stop\)\n", line)
        assert found, line
        page = httpx.get(found.group(1) + "email")
        assert page.status_code == 200 and "Tidal turbines light a whole island" in page.text
        deadline = time.monotonic() + 10
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert opened.read_text() == found.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert out.strip().endswith("preview: stopped")


def test_cli_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = golden_config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "digest",
                "preview",
                "-c",
                str(config),
                "--port",
                str(port),
                "--as-of",
                "2026-11-25",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    assert done.returncode == 2
    assert (
        done.stderr == f"digest: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )


def test_cached_start_makes_no_request_and_says_which_feeds_were_never_fetched(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    remote = feed_server.serve(
        "/remote.xml", rss(rss_item("Remote story", "https://news.example/r"))
    )
    config = write_config(
        tmp_path,
        [
            {"name": "Remote", "url": remote, "fulltext": "never"},
            {"name": "Golden Wire", "url": str(FEEDS / "golden.rss"), "fulltext": "never"},
        ],
    )
    server = start_preview(config, lambda: AS_OF, fetch=False)
    try:
        page = httpx.get(server.url).text
        assert feed_server.requests == []
        assert re.search(r"Remote<br>.*?<td class=\"bad\">failed: not fetched yet", page, re.S)
        assert "Tidal turbines light a whole island" in httpx.get(server.url + "email").text
    finally:
        server.stop()


def issue_rows(path: Path) -> list[tuple[object, ...]]:
    issues = rows(path, "SELECT number, subject FROM issues ORDER BY number")
    return [*issues, *rows(path, "SELECT * FROM outbox ORDER BY id")]


def test_after_an_issue_the_preview_shows_the_next_one_with_its_real_headers(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    from datetime import timedelta

    from digest.config.load import load_settings
    from digest.sending.send import Sending, send_to_list
    from digest.state import State

    url = serve_stories(feed_server, [1, 2], AS_OF, timedelta(hours=3))
    config = sending_config(
        tmp_path, url, smtp_server, ["ana@example.test"], archive_url="https://d.example/a/"
    )
    settings = load_settings(config)
    with State.open(settings.database) as state:
        send_to_list(settings, state, Sending(clock=lambda: AS_OF, sleep=lambda _: None))
    later = AS_OF + timedelta(days=7)
    serve_stories(feed_server, [3], later, timedelta(hours=3))
    before = issue_rows(settings.state_path)

    server = start_preview(config, lambda: later)
    try:
        email = httpx.get(server.url + "email").text
        assert "Story 3: " in email and "Story 1: " not in email  # only what is new
        assert 'href="https://d.example/a/issues/2.html"' in email  # its page-to-be
        assert "Unsubscribe</a> from this digest." in email  # as the reader gets it
        headers = httpx.get(server.url + "headers").text
        assert re.search(r"<th>From</th><td><code>Zo.* &lt;digest@example.test&gt;</code>", headers)
        assert "<th>To</th><td><code>ana@example.test</code>" in headers
        assert re.search(r"<th>Message-ID</th><td><code>&lt;digest-issue-2-", headers)
        assert "<th>List-Unsubscribe</th>" in headers
        assert "text/html; quoted-printable" in headers
        httpx.post(server.url + "refetch")
    finally:
        server.stop()
    assert issue_rows(settings.state_path) == before  # the preview sent and recorded nothing
    assert len(smtp_server.handler.received) == 1
    assert not (tmp_path / "archive" / "issues" / "2.html").exists()


def test_a_stylesheet_edit_rebuilds_with_the_new_rule_inlined(
    serve: Callable[[Path], PreviewServer], tmp_path: Path
) -> None:
    config = golden_config(tmp_path)
    stylesheet = tmp_path / "theme" / "style.css"
    shutil.copy(REPO / "templates" / "style.css", stylesheet)
    server = serve(config)
    version = server.previewer.snapshot.version
    edit(
        stylesheet,
        ".summary { margin: 0; font-size: 16px;",
        ".summary { margin: 0; font-size: 17px;",
    )
    wait_for_build(server, version)
    email = httpx.get(server.url + "email").text
    assert re.search(r'class="summary" style="[^"]*font-size:17px', email)
