"""Past one machine: several `digest send` and `digest serve` processes on one PostgreSQL
database, beside the single-process SQLite send and plain smtplib loops in the same run.

    PYTHONPATH=. python benchmarks/cluster.py [--size 10000] [--repeat 3] [--seconds 10]

A throwaway PostgreSQL cluster (tests/pg_server.py: Debian's server, fsync on, as a real one)
and, per row, a fresh aiosmtpd sink in its own process (tests/fault_server.py: it counts
messages, repeats per reader and repeats of one Message-ID, and keeps nothing).

Sending, --size readers, one message each (the bundled samples' issue), each sender process
with one SMTP connection:

- smtplib x1, x2, x4: `sendmail` of one reader's message as digest builds it, in a loop over
  1, 2 or 4 connections (threads), the readers split between them: the floor for as many
  connections;
- digest SQLite x1: one `digest send` on the state file, as before issue 22;
- digest PostgreSQL, 1, 2 and 4 processes: `digest send` started that many times at once on
  one database: the first creates the issue, the others join its batch (rows claimed a chunk
  at a time, FOR UPDATE SKIP LOCKED);
- the same with 2 processes, one killed with SIGKILL once a third of the readers are marked
  sent: the survivor takes its rows over (at once: the dead process was on this host; on
  another machine, when its 60 s lease runs out); and again with a new process started in
  the killed one's place at once, as a supervisor (systemd's Restart=) would.

The sending rows run --repeat rounds, each round every row in turn, a floor just before the
digest rows it is compared with: other work on the machine moves every figure between rounds,
so each ratio is taken within one round and the table shows the median and the range.
Messages/s is counted at the sink from its first message to its last (every build before the
first message does not count; the processes' wall time is shown apart). Duplicates are
readers who got more than one message; "same id" how many of those repeats carried a
Message-ID the reader had already had (a mailbox drops them). Peak RSS is each sender
process's own (wait4).

One-click: the bundled site with --readers subscribers in one PostgreSQL database, one
`digest serve` against two (each its own process and port), loaded by Debian's wrk (one
thread; one wrk per server when there are two, the connections split between them) for
--seconds: GET /healthz (the stack's ceiling) and POST /u/TOKEN (RFC 8058, every request a
different reader). Afterwards the database is read back: every 2xx answered is one recorded
unsubscribe.

The machine has 2 cores, and everything shares them: the sink, PostgreSQL, the senders (and
in part two the servers and wrk). The sink alone takes most of a core: it is the bottleneck
of every sending row, the floor's as much as ours.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import yaml
from send import Sink, baseline, make_config, one_message
from serve import LUA, free_port, make_site, start_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from pg_server import Throwaway  # noqa: E402 (tests/ holds the throwaway cluster)


@dataclass
class Row:
    name: str
    connections: int
    sink: dict[str, float]
    wall: float
    rss_mb: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def rate(self) -> float:
        span = self.sink["last_at"] - self.sink["first_at"]
        return (self.sink["messages"] - 1) / span if span > 0 else 0.0


def floor(size: int, connections: int, data: bytes) -> Row:
    got = baseline(size, connections, data)
    return Row(f"smtplib x{connections}", connections, got.sink, got.wall)


def sqlite_send(size: int, folder: Path) -> Row:
    from send import digest

    got = digest(size, 1, folder)
    return Row("digest SQLite, 1 process", 1, got.sink, got.wall, [got.rss_mb])


def postgres_send(
    pg: Throwaway,
    size: int,
    processes: int,
    folder: Path,
    kill_at: float = 0.0,
    restart: bool = False,
) -> Row:
    """`processes` senders at once on a new database; with `kill_at`, the first is killed
    with SIGKILL once that share of the readers is marked sent, and with `restart` a new
    one started in its place at once (as systemd's Restart= would)."""
    sink = Sink()
    name = f"send_{processes}_{'kill' if kill_at else 'all'}_{int(time.time())}"
    url = pg.create(name)
    config = make_config(folder, sink.port, size, 1)
    document = yaml.safe_load(config.read_text())
    document["database_url"] = url
    config.write_text(yaml.safe_dump(document, allow_unicode=True))
    started = time.perf_counter()
    senders = [_sender(config, folder) for _ in range(processes)]
    killed = ""
    if kill_at:
        killed = _kill_when(senders[0], url, int(size * kill_at))
        if restart:
            senders.append(_sender(config, folder))
    usage = {}
    for process in senders:
        _, status, rusage = os.wait4(process.pid, 0)
        usage[process.pid] = (os.waitstatus_to_exitcode(status), rusage.ru_maxrss / 1024)
    wall = time.perf_counter() - started
    report = sink.stop()
    marked = _counts(url)
    for process in senders:
        code = usage[process.pid][0]
        if code not in (0, -signal.SIGKILL):
            assert process.stderr is not None
            raise SystemExit(f"digest send exited {code}: {process.stderr.read().decode()}")
    if marked != {"sent": size}:
        raise SystemExit(f"the outbox is not all sent: {marked}")
    rss = [usage[p.pid][1] for p in senders]
    label = f"digest PostgreSQL, {processes} process{'es' if processes > 1 else ''}"
    if kill_at:
        label += ", one killed mid-batch" + (" and started again" if restart else "")
    return Row(label, processes, report, wall, rss, killed)


def _sender(config: Path, folder: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "digest", "send", "-c", str(config)],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _kill_when(victim: subprocess.Popen[bytes], url: str, marked: int) -> str:
    while True:
        if victim.poll() is not None:
            return "(it had finished before the kill)"
        if _counts(url).get("sent", 0) >= marked:
            victim.send_signal(signal.SIGKILL)
            return f"killed at {_counts(url).get('sent', 0):,} marked sent"
        time.sleep(0.05)


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            rows = conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
        except psycopg.errors.UndefinedTable:  # the first sender has not set the schema up yet
            return {}
    return {str(status): int(count) for status, count in rows}


def send_table(rounds: list[list[Row]], size: int) -> str:
    """One line per sender: the median round's messages/s and the range over the rounds;
    each round's ratio to the smtplib loop over as many connections run just before it in
    that round (the median of those, and their range); duplicates summed over every round."""
    lines = [
        f"| sender ({size:,} readers) | connections | messages/s (median) | range"
        " | vs smtplib, same connections (median) | range | received | duplicates | same id"
        " | wall s | peak RSS MB per process |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for index, first in enumerate(rounds[0]):
        runs = [each[index] for each in rounds]
        ratios = sorted(_ratio(each, each[index]) for each in rounds)
        rates = sorted(run.rate for run in runs)
        median = sorted(runs, key=lambda run: run.rate)[len(runs) // 2]
        received = sorted({int(run.sink["messages"]) for run in runs})
        rss = " / ".join(f"{value:.0f}" for value in median.rss_mb)
        lines.append(
            f"| {first.name} | {first.connections} | {median.rate:,.0f}"
            f" | {rates[0]:,.0f}-{rates[-1]:,.0f}"
            f" | {ratios[len(ratios) // 2]:.2f}x | {ratios[0]:.2f}-{ratios[-1]:.2f}"
            f" | {' / '.join(f'{n:,}' for n in received)} x{len(runs)}"
            f" | {sum(int(run.sink['duplicates']) for run in runs)}"
            f" | {sum(int(run.sink.get('same_id', 0)) for run in runs)}"
            f" | {median.wall:.1f} | {rss} |"
        )
    return "\n".join(lines)


def _ratio(round_rows: list[Row], row: Row) -> float:
    floor = next(r for r in round_rows if r.name == f"smtplib x{row.connections}")
    return row.rate / floor.rate if floor.rate else 0.0


# one-click ----------------------------------------------------------------------------------


@dataclass
class Load:
    name: str
    servers: int
    requests: int
    non_2xx: int
    errors: int
    seconds: float
    p99_ms: float
    generated: int  # requests wrk made, the readers whose tokens were sent

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def one_click_site(pg: Throwaway, folder: Path, readers: int) -> tuple[str, list[Path], list[str]]:
    """The bundled site with `readers` subscribers (made in SQLite, then `digest db copy` to
    PostgreSQL), and two configs on one database, each its own port."""
    port = free_port()
    paths = make_site(folder, port, readers)
    url = pg.create(f"serve_{int(time.time())}")
    copied = subprocess.run(
        [sys.executable, "-m", "digest", "db", "copy", "--to", url, "-c", "config.yaml"],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
    )
    if copied.returncode:
        raise SystemExit(f"digest db copy failed: {copied.stderr}")
    configs = []
    for number in (1, 2):
        place = folder / f"server{number}"
        place.mkdir()
        shutil.copytree(folder / "samples", place / "samples")
        document = yaml.safe_load((folder / "config.yaml").read_text())
        port = free_port()
        document["database_url"] = url
        document["public_url"] = f"http://127.0.0.1:{port}/"
        document["serve"] = {**document["serve"], "port": port}
        (place / "config.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        configs.append(place)
    return url, configs, paths


def wrk_at(port: int, paths: list[str], method: str, seconds: int, connections: int,
           folder: Path) -> dict[str, float]:  # fmt: skip
    listing = folder / f"paths-{port}.txt"
    listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
    script = folder / "load.lua"
    script.write_text(LUA, encoding="utf-8")
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s",
         str(script), f"http://127.0.0.1:{port}{paths[0]}"],
        env={**os.environ, "PATHS": str(listing), "METHOD": method},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return dict(json.loads(next(line for line in out.splitlines() if line.startswith("{"))))


def load(name: str, ports: list[int], paths: list[list[str]], method: str, seconds: int,
         connections: int, folder: Path) -> Load:  # fmt: skip
    """One wrk per server at once, the connections split between them; summed."""
    results: list[dict[str, float]] = [{} for _ in ports]

    def run(index: int) -> None:
        share = connections // len(ports)
        results[index] = wrk_at(ports[index], paths[index], method, seconds, share, folder)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(ports))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(
        name,
        len(ports),
        int(sum(r["requests"] for r in results)),
        int(sum(r["status"] for r in results)),
        int(sum(r["connect"] + r["read"] + r["write"] + r["timeout"] for r in results)),
        max(r["seconds"] for r in results),
        max(r["p99_us"] for r in results) / 1000,
        int(sum(r["generated"] for r in results)),
    )


def one_click(pg: Throwaway, folder: Path, readers: int, seconds: int) -> tuple[str, str]:
    url, places, paths = one_click_site(pg, folder, readers)
    servers = []
    ports = []
    for place in places:
        port = yaml.safe_load((place / "config.yaml").read_text())["serve"]["port"]
        servers.append(start_server(place, port))
        ports.append(port)
    loads: list[Load] = []
    used = 0
    try:
        for count in (1, 2):
            on = ports[:count]
            loads.append(load(f"bare: GET /healthz, {count} server{'s' * (count > 1)}", on,
                              [["/healthz"]] * count, "GET", seconds, 32, folder))  # fmt: skip
            slices = []
            for _ in on:  # disjoint readers per server: every one-click a different reader
                slices.append(paths[used : used + readers // 4])
                used += readers // 4
            click = load(f"one-click: POST /u/TOKEN, {count} server{'s' * (count > 1)}", on,
                         slices, "POST", seconds, 32, folder)  # fmt: skip
            if click.generated > sum(len(piece) for piece in slices):
                raise SystemExit("more one-clicks than readers: raise --readers")
            loads.append(click)
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    with psycopg.connect(url, autocommit=True) as conn:
        recorded = conn.execute(
            "SELECT COUNT(*) FROM subscribers WHERE status = 'unsubscribed'"
        ).fetchone()[0]
        twice = conn.execute(
            "SELECT COUNT(*) FROM (SELECT subscriber FROM subscriber_events"
            " WHERE status = 'unsubscribed' GROUP BY subscriber HAVING COUNT(*) > 1) t"
        ).fetchone()[0]
    clicks = [run for run in loads if run.name.startswith("one-click")]
    answered = sum(run.requests - run.non_2xx for run in clicks)
    lines = [
        "| endpoint | servers | requests/s | vs one server | p99 ms | requests | errors"
        " | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    alone = {run.name.split(",")[0]: run.rate for run in loads if run.servers == 1}
    for run in loads:
        kind = run.name.split(",")[0]
        lines.append(
            f"| {kind} | {run.servers} | {run.rate:,.0f} | {run.rate / alone[kind]:.2f}x"
            f" | {run.p99_ms:.1f} | {run.requests:,} | {run.errors} | {run.non_2xx} |"
        )
    verdict = (
        f"unsubscribes: {answered:,} answered 2xx, {recorded:,} recorded "
        f"({recorded - answered:,} in flight when a run stopped), {twice} recorded twice"
    )
    return "\n".join(lines), verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--readers", type=int, default=80_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every sending row")
    parser.add_argument("--skip-serve", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="digest-cluster-bench-"))
    with Throwaway(durable=True) as pg:
        data = one_message(folder)
        print(f"message: {len(data):,} bytes", file=sys.stderr)
        plan = [
            lambda: floor(args.size, 1, data),
            lambda: sqlite_send(args.size, folder),
            lambda: postgres_send(pg, args.size, 1, folder),
            lambda: floor(args.size, 2, data),
            lambda: postgres_send(pg, args.size, 2, folder),
            lambda: postgres_send(pg, args.size, 2, folder, kill_at=1 / 3),
            lambda: postgres_send(pg, args.size, 2, folder, kill_at=1 / 3, restart=True),
            lambda: floor(args.size, 4, data),
            lambda: postgres_send(pg, args.size, 4, folder),
        ]
        rounds: list[list[Row]] = []
        for number in range(1, args.repeat + 1):
            print(f"round {number} of {args.repeat}", file=sys.stderr)
            rounds.append([])
            for step in plan:
                row = step()
                print(f"  {row.name}: {row.rate:,.0f} msg/s {row.note}", file=sys.stderr)
                rounds[-1].append(row)
        print(send_table(rounds, args.size))
        print()
        for number, each in enumerate(rounds, start=1):
            print(
                f"round {number}: "
                + ", ".join(f"{row.name} {row.rate:,.0f}/s" for row in each)
                + "".join(f"; {row.note}" for row in each if row.note)
            )
        if not args.skip_serve:
            serve_folder = folder / "serve"
            serve_folder.mkdir()
            table, verdict = one_click(pg, serve_folder, args.readers, args.seconds)
            print(f"\n{table}\n\n{verdict}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
