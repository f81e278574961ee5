"""`digest serve` under load: RFC 8058 one-click unsubscribes and page views beside a bare
endpoint on the same server stack, in the same run.

    PYTHONPATH=. python benchmarks/serve.py [--seconds 10] [--connections 32] [--rounds 2]

`digest serve` runs in its own process (one uvicorn worker: the Starlette app, its security
headers and body limit, as in production) on the bundled config, its state database holding
--readers subscribers. The load comes from Debian's `wrk` (C, its own process; `apt-get
install wrk`), one thread with --connections keep-alive connections, for --seconds a run:

- bare: GET /healthz, "ok" through the same app and middleware (the stack's ceiling);
- subscribe page: GET /subscribe (the form: a template, a CSRF token and its cookie);
- unsubscribe page: GET /u/TOKEN (a signed token read, the reader looked up, a page);
- one-click: POST /u/TOKEN with `List-Unsubscribe=One-Click`, as a mailbox provider sends it,
  every request a different reader (the token checked, the status changed and the change
  recorded in one transaction, a page).

The runs are interleaved over --rounds and the best of each kept (the machine is shared).
After the one-click runs the database is read back: every 2xx answer must be a reader marked
unsubscribed with exactly one recorded change, and nobody else touched. The machine has 2
cores: the server takes one, wrk the other. Target (issue 20): one-click >= 0.5x bare.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]

# wrk's script: each request takes the next path of this thread's slice of the token list;
# done() prints one JSON line (requests, errors, latency percentiles, paths generated).
LUA = r"""
-- One thread. Each request takes the next path of the list (every one-click a different
-- reader); done() prints one JSON line.
local threads = {}
local paths = {}
local method, body, headers = "GET", nil, {}
generated = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  method = os.getenv("METHOD")
  if method == "POST" then
    body = "List-Unsubscribe=One-Click"
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
end

function request()
  generated = generated + 1
  return wrk.format(method, paths[((generated - 1) % #paths) + 1], headers, body)
end

function done(summary, latency, requests)
  local sent = 0
  for _, thread in ipairs(threads) do sent = sent + thread:get("generated") end
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p99_us": %d, "generated": %d}\n',
    summary.requests, summary.duration / 1e6, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), sent))
end
"""


@dataclass
class Run:
    name: str
    requests: int
    seconds: float
    errors: int
    non_2xx: int
    p50_ms: float
    p99_ms: float
    generated: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_site(folder: Path, port: int, readers: int) -> list[str]:
    """The bundled config and samples in `folder`, served on `port`, with `readers`
    subscribers; returns each reader's one-click path, in subscriber order."""
    shutil.copytree(ROOT / "samples", folder / "samples")
    document = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    document["public_url"] = f"http://127.0.0.1:{port}/"
    document["serve"] = {**document["serve"], "port": port}
    document["smtp"]["port"] = free_port()  # nothing is mailed: no letter is asked for
    document["recipients"] = []
    (folder / "config.yaml").write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    sys.path.insert(0, str(ROOT))
    from digest.config.load import load_settings
    from digest.sending.links import links_for
    from digest.sending.signup import add
    from digest.sending.subscribers import parse_address
    from digest.state import State

    settings = load_settings(folder / "config.yaml")
    now = datetime.now(UTC)
    with State.open(settings.database) as state:
        add(
            state,
            ((parse_address(f"r{n}@example.test"), None) for n in range(readers)),
            "import",
            now,
        )
        links = links_for(settings, state)
        assert links is not None
        ids = [row[0] for row in state.execute("SELECT id FROM subscribers ORDER BY id")]
    return [links.unsubscribe(i).removeprefix(links.public_url.rstrip("/")) for i in ids]


def start_server(folder: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "digest", "serve", "-c", str(folder / "config.yaml")],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "serve.log", "wb"),  # noqa: SIM115 (the child keeps it)
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).text == "ok":
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"digest serve did not start: {(folder / 'serve.log').read_text()}")


def wrk(
    name: str, port: int, paths: list[str], method: str, seconds: int, connections: int,
    folder: Path,
) -> Run:  # fmt: skip
    listing = folder / "paths.txt"
    listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
    script = folder / "load.lua"
    script.write_text(LUA, encoding="utf-8")
    env = {**os.environ, "PATHS": str(listing), "METHOD": method}
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{paths[0]}",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(text for text in out.splitlines() if text.startswith("{"))
    figures = json.loads(line)
    errors = sum(figures[key] for key in ("connect", "read", "write", "timeout"))
    return Run(
        name,
        figures["requests"],
        figures["seconds"],
        errors,
        figures["status"],
        figures["p50_us"] / 1000,
        figures["p99_us"] / 1000,
        figures["generated"],
    )


@dataclass
class Check:
    answered: int  # one-click 2xx answers
    recorded: int  # readers marked unsubscribed
    twice: int  # readers with more than one recorded unsubscribe
    outside: int  # readers unsubscribed whose token was never sent
    generated: int


def check(state_path: Path, runs: list[tuple[Run, int]]) -> Check:
    """`runs`: each one-click run and the index of its first token."""
    with sqlite3.connect(state_path) as conn:
        unsubscribed = {
            row[0]
            for row in conn.execute("SELECT id FROM subscribers WHERE status = 'unsubscribed'")
        }
        twice = conn.execute(
            "SELECT COUNT(*) FROM (SELECT subscriber FROM subscriber_events"
            " WHERE status = 'unsubscribed' GROUP BY subscriber HAVING COUNT(*) > 1)"
        ).fetchone()[0]
    sent: set[int] = set()
    for run, first in runs:
        sent.update(range(first + 1, first + run.generated + 1))  # ids start at 1
    answered = sum(run.requests - run.non_2xx for run, _ in runs)
    return Check(answered, len(unsubscribed), twice, len(unsubscribed - sent), len(sent))


def table(best: dict[str, Run], bare: Run) -> str:
    lines = [
        "| endpoint | requests/s | vs bare | p50 ms | p99 ms | requests | errors | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in best.values():
        lines.append(
            f"| {run.name} | {run.rate:,.0f} | {run.rate / bare.rate:.2f}x | {run.p50_ms:.1f} "
            f"| {run.p99_ms:.1f} | {run.requests:,} | {run.errors} | {run.non_2xx} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--readers", type=int, default=0, help="default: enough for every run")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("benchmarks/serve.py needs wrk: apt-get install wrk")
    readers = args.readers or 8_000 * args.seconds * args.rounds
    folder = Path(tempfile.mkdtemp(prefix="digest-serve-bench-"))
    port = free_port()
    started = time.monotonic()
    one_click = make_site(folder, port, readers)
    print(f"{readers:,} readers made in {time.monotonic() - started:.1f} s", file=sys.stderr)
    server = start_server(folder, port)
    best: dict[str, Run] = {}
    clicks: list[tuple[Run, int]] = []
    used = 0
    try:
        for _ in range(args.rounds):
            plan = [
                ("bare: GET /healthz", ["/healthz"], "GET"),
                ("subscribe page: GET /subscribe", ["/subscribe"], "GET"),
                ("unsubscribe page: GET /u/TOKEN", one_click[:1000], "GET"),
                ("one-click: POST /u/TOKEN", one_click[used:], "POST"),
            ]
            for name, paths, method in plan:
                run = wrk(name, port, paths, method, args.seconds, args.connections, folder)
                if method == "POST":
                    if run.generated > len(paths):
                        raise SystemExit("more one-clicks than readers: raise --readers")
                    clicks.append((run, used))
                    used += run.generated
                if name not in best or run.rate > best[name].rate:
                    best[name] = run
                print(f"  {name}: {run.rate:,.0f}/s", file=sys.stderr)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    verdict = check(folder / "digest.sqlite3", clicks)
    bare = best["bare: GET /healthz"]
    print(table(best, bare))
    ratio = best["one-click: POST /u/TOKEN"].rate / bare.rate
    print(
        f"\none-click vs bare: {ratio:.2f}x (target >= 0.5x: "
        f"{'met' if ratio >= 0.5 else 'NOT met'})"
        f"\nunsubscribes: {verdict.answered:,} answered 2xx, {verdict.recorded:,} recorded "
        f"({verdict.recorded - verdict.answered:,} were in flight when a run stopped), "
        f"{verdict.twice} recorded twice, {verdict.outside} readers touched that no request "
        f"named, of {verdict.generated:,} requests sent"
    )
    lost = verdict.recorded < verdict.answered or verdict.twice or verdict.outside
    print(f"every unsubscribe recorded exactly once: {'no' if lost else 'yes'}")
    shutil.rmtree(folder, ignore_errors=True)
    if lost:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
