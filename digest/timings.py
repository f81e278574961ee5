"""Seconds spent per pipeline stage in one build, for `digest build --timings`.

Stages run in threads (fetching) and worker processes (parsing): `add` is thread-safe.
"fetch" is the wall time of gathering less the parsing done in this process; "parse" is the
time spent parsing, summed over this process and the workers, which parse while the
downloads go on: fetch + parse can be more than the wall time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

STAGES = ("fetch", "parse", "extract", "summarize", "compose", "render")


class Timings:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)

    def lines(self) -> list[str]:
        return [f"  {stage:<10} {seconds:7.2f} s" for stage, seconds in self.seconds.items()]


@contextmanager
def measured(timings: Timings | None, stage: str) -> Iterator[None]:
    """`timings.stage(stage)`, or nothing when no one is measuring."""
    if timings is None:
        yield
        return
    with timings.stage(stage):
        yield
