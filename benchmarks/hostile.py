"""A build over ~100 hostile and broken feeds beside 2 good ones: time, memory, and what got
through, ours beside a naive reader in the same run.

    PYTHONPATH=. python benchmarks/hostile.py [--copies 2] [--naive-limit 120]

Serves every case of tests/hostile_corpus.py (`--copies` times each) from a loopback server
that misbehaves on purpose, plus two good feeds, and an "internal" service on another port
that the SSRF cases redirect to. Then, each in its own process:

- `digest build` on a config listing all of them (default http settings), and
- a naive reader: `feedparser.parse(url)` for every feed, 8 at a time (what a hand-rolled
  script does), killed after `--naive-limit` seconds.

Prints wall time, peak RSS of that process, whether both good feeds' entries came through,
how many feeds were named as failed, whether the internal service was reached, and
tracebacks printed. Budget (issue 10): ours under 60 s and 300 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import hostile_corpus as corpus  # noqa: E402
import hostile_server as hs  # noqa: E402


@dataclass(frozen=True)
class Run:
    name: str
    seconds: float
    peak_mb: float
    finished: bool
    good_entries: int  # of the 6 entries the two good feeds carry
    named_failed: int
    internal_hits: int
    tracebacks: int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2, help="copies of each hostile case")
    parser.add_argument("--naive-limit", type=float, default=120.0)
    args = parser.parse_args()

    internal, stop_internal = hs.start_hostile_server()
    internal.add("/secret", hs.respond("SECRET", content_type="text/plain"))
    internal.add("/latest/meta-data/", hs.respond("SECRET", content_type="text/plain"))
    hostile, stop_hostile = hs.start_hostile_server()
    urls = corpus.install(hostile, internal.port, copies=args.copies)
    good = {
        "Good Alpha": hostile.add("/good/alpha.xml", hs.respond(corpus.good_feed("Alpha"))),
        "Good Beta": hostile.add("/good/beta.xml", hs.respond(corpus.good_feed("Beta"))),
    }
    feeds = [{"name": f"Bad {name}", "url": url} for name, url in urls.items()]
    feeds[len(feeds) // 2 : len(feeds) // 2] = [{"name": n, "url": u} for n, u in good.items()]
    print(f"{len(urls)} hostile feeds ({len(corpus.CASES)} cases x {args.copies}) + 2 good\n")

    with tempfile.TemporaryDirectory() as folder:
        runs = [
            _ours(Path(folder), feeds, internal),
            _naive(Path(folder), feeds, internal, args.naive_limit),
        ]
    stop_hostile()
    stop_internal()
    _table(runs)


def _ours(folder: Path, feeds: list[dict[str, str]], internal: hs.HostileServer) -> Run:
    config = folder / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "title": "Hostile",
                "feeds": feeds,
                "output_dir": str(folder / "out"),
                "state_db": str(folder / "state.sqlite3"),
                "max_entries": 500,
            },
            sort_keys=False,
        )
    )
    command = [sys.executable, "-m", "digest", "build", "-c", str(config)]
    internal.hits.clear()
    seconds, peak, finished, _, err = _measure(command, limit=600)
    text_path = folder / "out" / "digest.txt"
    text = text_path.read_text() if text_path.exists() else ""
    return Run(
        "digest build",
        seconds,
        peak,
        finished,
        _good_entries(text),
        sum(1 for line in err.splitlines() if line.startswith("  failed: ")),
        sum(internal.hits.values()),
        err.count("Traceback"),
    )


NAIVE = textwrap.dedent(
    """
    import sys, json, feedparser
    from concurrent.futures import ThreadPoolExecutor
    feeds = json.loads(sys.stdin.read())
    def read(feed):
        try:
            parsed = feedparser.parse(feed["url"])
            return [e.get("title", "") for e in parsed.entries]
        except Exception as exc:
            print("Traceback-like failure:", feed["name"], type(exc).__name__, file=sys.stderr)
            return []
    with ThreadPoolExecutor(8) as pool:
        for titles in pool.map(read, feeds):
            for title in titles:
                print(title)
    """
)


def _naive(
    folder: Path, feeds: list[dict[str, str]], internal: hs.HostileServer, limit: float
) -> Run:
    import json

    internal.hits.clear()
    command = [sys.executable, "-c", NAIVE]
    seconds, peak, finished, out, err = _measure(command, limit, json.dumps(feeds))
    return Run(
        "naive feedparser.parse(url), 8 threads",
        seconds,
        peak,
        finished,
        _good_entries(out),
        0,
        sum(internal.hits.values()),
        err.count("Traceback"),
    )


def _measure(
    command: list[str], limit: float, stdin: str = ""
) -> tuple[float, float, bool, str, str]:
    """Run `command`; wall seconds, peak RSS in MB, finished within `limit`, stdout, stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=out, stderr=err, text=True, env=env
        )
        assert process.stdin is not None
        process.stdin.write(stdin)
        process.stdin.close()
        finished = True
        deadline = started + limit
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                finished = False
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return seconds, usage.ru_maxrss / 1024, finished, out.read(), err.read()


def _good_entries(text: str) -> int:
    return sum(f"{name} story {n}" in text for name in ("Alpha", "Beta") for n in range(3))


def _table(runs: list[Run]) -> None:
    print(
        "| reader | wall s | peak RSS MB | finished | good entries (of 6) | feeds named failed "
        "| internal service reached | tracebacks |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for run in runs:
        finished = "yes" if run.finished else "no (killed)"
        print(
            f"| {run.name} | {run.seconds:.1f} | {run.peak_mb:.0f} | {finished} | "
            f"{run.good_entries} | {run.named_failed} | {run.internal_hits} | {run.tracebacks} |"
        )


if __name__ == "__main__":
    main()
