"""A build over N feeds of 20 entries each, against the cost of reading and parsing them.

    PYTHONPATH=. python benchmarks/scale.py [--feeds 100 500 2000] [--latency 0.005]

For each N: generates N feeds (RSS 2.0 and Atom 1.0 in turn) of 20 entries with the text of
../shared/data/bbc-summaries articles, a tenth of them teaser-only with article pages, and
serves them from a real HTTP server on 127.0.0.1 in its own process (ETag / Last-Modified /
gzip honoured, `--latency` seconds added to each request). Then, one after another:

- floor (a): every feed body downloaded with digest's HTTP client and concurrency, nothing else;
- floor (b): `feedparser.parse` of every body, one after another, in one process;
- build 1: `digest build --timings` on a fresh state database;
- build 2: the same again, nothing changed on the server.

Prints, per N, wall and CPU time, peak RSS (the build's whole process tree, sampled), the
build's own per-stage times, and each row's ratio to floor (b). Targets (issue 12): build 1
<= 1.0x floor (b) at N = 500 and 2,000; build 2 <= 0.1x build 1; peak RSS <= 400 MB at
2,000; build 1 grows at most 4.4x from N = 500 to 2,000. `--max-age 600` has the server
send Cache-Control too, as many feed hosts do: a re-run then asks the server nothing.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import multiprocessing
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ENTRIES_PER_FEED = 20
STAGES = ("fetch", "parse", "extract", "summarize", "compose", "render")
SERVER_NOTE = ""


# the site ------------------------------------------------------------------------------------


def bbc_articles() -> list[dict[str, str]]:
    for base in (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"):
        path = base / "bbc-summaries" / "dev.jsonl"
        if path.is_file():
            with path.open(encoding="utf-8") as lines:
                return [json.loads(line) for line in lines]
    sys.exit("benchmarks/scale.py: ../shared/data/bbc-summaries/dev.jsonl not found")


def site(count: int, now: datetime) -> dict[str, tuple[bytes, str]]:
    """path -> (body, content type): `count` feeds and the teaser feeds' article pages."""
    articles = bbc_articles()
    files: dict[str, tuple[bytes, str]] = {}
    for feed in range(count):
        teaser = feed % 10 == 9
        entries = []
        for number in range(ENTRIES_PER_FEED):
            article = articles[(feed * ENTRIES_PER_FEED + number) % len(articles)]
            page = f"/pages/{feed}/{number}.html"
            paragraphs = [p for p in article["text"].split("\n\n") if p.strip()]
            if teaser:
                files[page] = (_page(article["title"], paragraphs), "text/html; charset=utf-8")
                body = f"<p>{html.escape(paragraphs[0][:160])}… Read more</p>"
            else:
                body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
            published = now - timedelta(hours=8 * number, minutes=feed % 480)
            entries.append((article["title"], page, body, published))
        atom = feed % 2 == 1
        document = _atom(feed, entries) if atom else _rss(feed, entries)
        kind = "application/atom+xml" if atom else "application/rss+xml"
        files[f"/feeds/{feed}.xml"] = (document.encode("utf-8"), kind)
    return files


def _rss(feed: int, entries: list[tuple[str, str, str, datetime]]) -> str:
    items = "".join(
        f"<item><title>{html.escape(title)}</title><link>BASE{page}</link>"
        f"<guid>BASE{page}</guid><pubDate>{format_datetime(when)}</pubDate>"
        f"<description>{html.escape(body)}</description></item>"
        for title, page, body, when in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title><link>BASE/</link><description>d</description>"
        f"{items}</channel></rss>"
    )


def _atom(feed: int, entries: list[tuple[str, str, str, datetime]]) -> str:
    items = "".join(
        f'<entry><title>{html.escape(title)}</title><link href="BASE{page}"/>'
        f"<id>BASE{page}</id><updated>{when.isoformat()}</updated>"
        f'<content type="html">{html.escape(body)}</content></entry>'
        for title, page, body, when in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Feed {feed}</title><id>BASE/feeds/{feed}</id>"
        f"<updated>{datetime.now(UTC).isoformat()}</updated>{items}</feed>"
    )


def _page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title></head><body><header><nav><a href='/'>Home</a></nav></header><main>"
        f"<article><h1>{html.escape(title)}</h1>{body}</article></main>"
        "<footer>© The Site</footer></body></html>"
    ).encode()


def serve(
    files: dict[str, tuple[bytes, str]],
    latency: float,
    ready: multiprocessing.Queue,
    max_age: int = 0,
) -> None:
    """The server process: every file with an ETag, Last-Modified and gzip (and, with
    `max_age`, Cache-Control: max-age)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    prepared = {}
    for path, (body, kind) in files.items():
        data = body.replace(b"BASE", base.encode())
        tag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        prepared[path] = (data, gzip.compress(data, 5), kind, tag)
    modified = "Tue, 01 Dec 2026 10:00:00 GMT"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            time.sleep(latency)
            found = prepared.get(self.path)
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data, zipped, kind, tag = found
            if self.headers.get("If-None-Match") == tag:
                self.send_response(304)
                self.send_header("ETag", tag)
                self._freshness()
                self.end_headers()
                return
            body = zipped if "gzip" in self.headers.get("Accept-Encoding", "") else data
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", tag)
            self.send_header("Last-Modified", modified)
            if body is zipped:
                self.send_header("Content-Encoding", "gzip")
            self._freshness()
            self.end_headers()
            self.wfile.write(body)

        def _freshness(self) -> None:
            if max_age:
                self.send_header("Cache-Control", f"max-age={max_age}")

        def log_message(self, *args: object) -> None:
            pass

    httpd.RequestHandlerClass = Handler
    httpd.daemon_threads = True
    ready.put(base)
    httpd.serve_forever()


# measuring -----------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    wall: float
    cpu: float
    peak_mb: float
    stages: dict[str, float] = field(default_factory=dict)
    note: str = ""


def floor_download(urls: list[str]) -> tuple[Row, list[bytes]]:
    from digest.net.http import HttpOptions, download, make_client

    options = HttpOptions()
    started, cpu = time.monotonic(), time.process_time()
    with make_client(options) as client, ThreadPoolExecutor(options.concurrency) as pool:
        bodies = list(pool.map(lambda url: download(client, url, options, trusted=url).body, urls))
    row = Row("floor (a): download every body", time.monotonic() - started,
              time.process_time() - cpu, 0)  # fmt: skip
    return row, bodies


def floor_parse(bodies: list[bytes]) -> Row:
    import feedparser

    started, cpu = time.monotonic(), time.process_time()
    for body in bodies:
        feedparser.parse(body)
    return Row("floor (b): feedparser.parse of every body", time.monotonic() - started,
               time.process_time() - cpu, 0)  # fmt: skip


def build(config: Path, name: str) -> Row:
    """`digest build --timings` in its own process; peak RSS of its whole process tree."""
    command = [sys.executable, "-m", "digest", "build", "-c", str(config), "--timings"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampled = run_sampled(command)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if sampled.returncode != 0:
        sys.exit(f"{name} failed ({sampled.returncode}):\n{sampled.out}\n{sampled.err}")
    first_line = sampled.out.strip().splitlines()[0][:60]
    return Row(name, sampled.wall, cpu, sampled.peak_mb, _stages(sampled.err), first_line)


@dataclass
class Sampled:
    wall: float
    peak_mb: float  # of the whole process tree, sampled every 50 ms
    out: str
    err: str
    returncode: int


def run_sampled(command: list[str]) -> Sampled:
    """Run `command` with the repository on PYTHONPATH; its wall time and peak RSS."""
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    peak = [0.0]
    sampler = threading.Thread(target=sample_rss, args=(process, peak), daemon=True)
    sampler.start()
    out, err = process.communicate()
    wall = time.monotonic() - started
    sampler.join()
    return Sampled(wall, peak[0], out, err, process.returncode)


def _stages(err: str) -> dict[str, float]:
    found = re.findall(r"^\s+(\w+)\s+([\d.]+) s", err, re.M)
    return {stage: float(seconds) for stage, seconds in found if stage in STAGES}


def sample_rss(process: subprocess.Popen[str], peak: list[float]) -> None:
    while process.poll() is None:
        peak[0] = max(peak[0], tree_rss_mb(process.pid))
        time.sleep(0.05)


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending += [int(child) for child in children]
        except (OSError, AttributeError):
            continue
    return total / 1024


# running -------------------------------------------------------------------------------------


def run(count: int, latency: float, max_age: int = 0) -> list[Row]:
    now = datetime.now(UTC)
    files = site(count, now)
    ready: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.get_context("fork").Process(
        target=serve, args=(files, latency, ready, max_age), daemon=True
    )
    server.start()
    base = ready.get(timeout=60)
    del files
    try:
        urls = [f"{base}/feeds/{n}.xml" for n in range(count)]
        download_row, bodies = floor_download(urls)
        parse_row = floor_parse(bodies)
        del bodies
        with tempfile.TemporaryDirectory() as folder:
            config = _config(Path(folder), urls, base)
            first = build(config, "digest build (fresh state)")
            second = build(config, "digest build again (nothing changed)")
    finally:
        server.kill()
    return [download_row, parse_row, first, second]


def _config(folder: Path, urls: list[str], base: str) -> Path:
    path = folder / "config.yaml"
    document = {
        "title": "Scale",
        "feeds": [{"name": f"Feed {n}", "url": url} for n, url in enumerate(urls)],
        "max_entries": 60,
        "output_dir": str(folder / "out"),
        "state_db": str(folder / "state.sqlite3"),
        "timezone": "UTC",
        "http": {"allow_private_origins": [base]},  # the teasers' pages are on loopback
        "article_pages": {"delay_seconds": 0},  # one local host: no politeness pause
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def print_table(count: int, rows: list[Row]) -> None:
    floor = rows[1].wall
    print(f"\n### N = {count:,} feeds x {ENTRIES_PER_FEED} entries{SERVER_NOTE}\n")
    header = ["run", "wall s", "CPU s", "peak RSS MB", "x floor (b)", *STAGES]
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---:|" * (len(header) - 1))
    for row in rows:
        stages = [f"{row.stages[s]:.2f}" if s in row.stages else "" for s in STAGES]
        peak = f"{row.peak_mb:.0f}" if row.peak_mb else ""
        cells = [row.name, f"{row.wall:.2f}", f"{row.cpu:.2f}", peak, f"{row.wall / floor:.2f}"]
        print("| " + " | ".join(cells + stages) + " |")
    print(f"\nbuild 2 / build 1 = {rows[3].wall / rows[2].wall:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, nargs="+", default=[100, 500, 2000])
    parser.add_argument("--latency", type=float, default=0.005, help="seconds per request")
    parser.add_argument(
        "--max-age",
        type=int,
        default=0,
        help="the server also sends Cache-Control: max-age=N (default: it does not)",
    )
    args = parser.parse_args()
    global SERVER_NOTE
    if args.max_age:
        SERVER_NOTE = f", server sends Cache-Control: max-age={args.max_age}"
    first_builds: dict[int, float] = {}
    for count in args.feeds:
        rows = run(count, args.latency, args.max_age)
        print_table(count, rows)
        first_builds[count] = rows[2].wall
    if 500 in first_builds and 2000 in first_builds:
        print(f"\nbuild 1 from N = 500 to 2,000: {first_builds[2000] / first_builds[500]:.2f}x")


if __name__ == "__main__":
    main()
