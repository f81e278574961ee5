"""`digest schedule`: an APScheduler 3 scheduler in the foreground that sends the next issue.

The job lives in the state database (SQLAlchemyJobStore, table `apscheduler_jobs`), so the
scheduler remembers when it should have run: a run missed while the machine slept or the
scheduler was down happens on start, once (coalesce), if it is not older than
`schedule.misfire_grace_seconds`. The job is a textual reference plus the config path, so the
store can pickle it. A second scheduler on the same database may fire too: the outbox's claim
in the database lets only one of them send an issue.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digest.config.cron import cron_trigger
from digest.state import State

JOB_ID = "digest-send"
JOB_FUNCTION = "digest.sending.schedule:run_scheduled_send"
RETRY_JOB_ID = "digest-retry"
RETRY_FUNCTION = "digest.sending.schedule:run_scheduled_retry"
JOBS_TABLE = "apscheduler_jobs"

# Set by SIGINT/SIGTERM; the send loop checks it between two messages.
STOP = threading.Event()

log = logging.getLogger(__name__)
Echo = Callable[[str], None]


def run_scheduled_send(config_path: str) -> None:
    """The job: send the next issue (or finish an unfinished one). Never raises: a failed run
    is reported and the scheduler goes on to the next one."""
    from digest.sending.send import send_to_list

    _run(config_path, send_to_list)


def run_scheduled_retry(config_path: str) -> None:
    """The retry job: recipients left pending (4xx to the end, server down) get the issue
    they are owed; silent when nobody is owed anything."""
    from digest.sending.send import resume_unfinished

    _run(config_path, resume_unfinished)


def _run(config_path: str, action: Callable[..., Any]) -> None:
    from digest.config.load import load_settings
    from digest.errors import DigestError
    from digest.feeds.gather import feed_lines
    from digest.sending.send import Sending
    from digest.sending.summary import report_lines

    try:
        settings = load_settings(config_path)
        sending = Sending(stop=STOP)
        with State.open(settings.state_path) as state:
            report = action(settings, state, sending)
    except DigestError as exc:
        _echo(f"scheduled send failed: {exc}")
        return
    except Exception as exc:  # one line, and the scheduler lives on to the next run
        log.debug("scheduled send failed", exc_info=True)
        _echo(f"scheduled send failed unexpectedly: {type(exc).__name__}: {exc}")
        return
    for line in report_lines(report) if report is not None else []:
        _echo(line)
    for line in feed_lines(sending.feeds):
        _echo(line.strip())


def _echo(line: str) -> None:
    print(f"digest: {line}", flush=True)


class GatedScheduler(BackgroundScheduler):  # type: ignore[misc]  # APScheduler 3 is untyped
    """A BackgroundScheduler whose shutdown waits for the loop to finish handing due jobs to
    the executor, and after which the loop hands over nothing. APScheduler's own lets the
    loop thread submit a due job to an executor shutdown() just closed: a stop (SIGINT)
    while a run is due printed "RuntimeError: cannot schedule new futures after shutdown"
    with its traceback. The job is not lost: it stays due in the job store for the next
    start."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._gate = threading.Lock()
        self._closing = False
        super().__init__(*args, **kwargs)

    def _process_jobs(self) -> float | None:
        with self._gate:
            if self._closing:
                return None
            wait: float | None = super()._process_jobs()
            return wait

    def shutdown(self, wait: bool = True) -> None:
        with self._gate:
            self._closing = True
        super().shutdown(wait)


def make_scheduler(
    settings: Any,
    config_path: Path,
    scheduler_class: type[BaseScheduler] = GatedScheduler,
    trigger: BaseTrigger | None = None,
    now: datetime | None = None,
    retry_trigger: BaseTrigger | None = None,
) -> BaseScheduler:
    """A scheduler with the send job in the state database. A missed run recorded there is
    kept (re-adding the job would otherwise recompute it from now and drop it)."""
    from sqlalchemy import create_engine

    # The state database is made (WAL mode, migrations) before the job store touches the file:
    # switching a file to WAL later fails at once while the job store holds a connection.
    State.open(settings.state_path).close()
    engine = create_engine(f"sqlite:///{settings.state_path}", connect_args={"timeout": 30})
    scheduler = scheduler_class(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)},
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.schedule.misfire_grace_seconds,
        },
        timezone=settings.zone,
    )
    trigger = trigger or cron_trigger(settings.schedule.cron, settings.zone)
    missed = missed_run(settings.state_path, now or datetime.now(UTC))
    scheduler.add_job(
        JOB_FUNCTION,
        trigger,
        args=[str(Path(config_path).resolve())],
        id=JOB_ID,
        name="send the next issue",
        replace_existing=True,
        **({"next_run_time": missed} if missed else {}),
    )
    scheduler.add_job(
        RETRY_FUNCTION,
        retry_trigger or IntervalTrigger(minutes=settings.schedule.retry_minutes),
        args=[str(Path(config_path).resolve())],
        id=RETRY_JOB_ID,
        name="retry recipients left pending",
        replace_existing=True,
    )
    return scheduler


def stored_next_run(state_path: Path) -> datetime | None:
    """The job's next run time as the job store holds it (None: no job stored yet)."""
    try:
        with sqlite3.connect(state_path, timeout=30) as conn:
            row = conn.execute(
                f"SELECT next_run_time FROM {JOBS_TABLE} WHERE id = ?", (JOB_ID,)
            ).fetchone()
    except sqlite3.OperationalError:  # no table yet: the scheduler never ran
        return None
    return datetime.fromtimestamp(row[0], UTC) if row and row[0] is not None else None


def missed_run(state_path: Path, now: datetime) -> datetime | None:
    stored = stored_next_run(state_path)
    return stored if stored is not None and stored <= now else None


def next_runs(settings: Any, count: int = 5, now: datetime | None = None) -> list[datetime]:
    """The next `count` run times: a missed run first (it happens on start), then the cron's."""
    now = now or datetime.now(UTC)
    trigger = cron_trigger(settings.schedule.cron, settings.zone)
    runs: list[datetime] = []
    missed = missed_run(settings.state_path, now)
    if missed is not None:
        runs.append(missed.astimezone(settings.zone))
    moment = trigger.get_next_fire_time(None, now)
    while moment is not None and len(runs) < count:
        runs.append(moment)
        moment = trigger.get_next_fire_time(moment, moment)
    return runs


def run_forever(settings: Any, config_path: Path, echo: Echo = _echo) -> None:
    """Run the scheduler in the foreground until SIGINT/SIGTERM, then let a send in progress
    finish its current message; the rest of that issue stays pending for the next start."""
    STOP.clear()
    asked_to_stop = threading.Event()
    scheduler = make_scheduler(settings, config_path)
    scheduler.add_listener(
        lambda event: _after_run(scheduler, event, echo),
        EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED,
    )
    missed = missed_run(settings.state_path, datetime.now(UTC))
    if missed is not None:
        echo(f"a run due {_show(missed, settings.zone)} was missed: running it now")
    else:
        echo(f"next run: {_show(next_runs(settings, 1)[0], settings.zone)}")

    # The handler only sets a flag. Raising from it instead would land wherever the main
    # thread happens to be, and APScheduler's loop swallows exceptions there: the signal is
    # lost. So the scheduler runs in its own thread and the main thread just waits.
    def on_signal(signum: int, frame: FrameType | None) -> None:
        asked_to_stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        scheduler.start()
        while not asked_to_stop.wait(timeout=1):
            pass
        for sig in previous:  # a second signal forces the exit (the message in flight may
            signal.signal(sig, _exit_now)  # then go again at the next start)
        STOP.set()
        echo("stopping: a send in progress finishes its current message (again to force)")
        scheduler.shutdown(wait=True)
        echo("stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _exit_now(signum: int, frame: FrameType | None) -> None:
    os._exit(128 + signum)


def _after_run(scheduler: BaseScheduler, event: JobEvent, echo: Echo) -> None:
    if STOP.is_set() or scheduler.state == STATE_STOPPED or event.job_id != JOB_ID:
        return  # shutdown holds the job store lock while it waits for this thread: no get_job
    if event.code == EVENT_JOB_MISSED:
        echo(f"a run due {event.scheduled_run_time} was missed by more than the grace time")
    job = scheduler.get_job(JOB_ID)
    if job is not None and job.next_run_time is not None:
        echo(f"next run: {_show(job.next_run_time, job.next_run_time.tzinfo)}")


def _show(moment: datetime, zone: tzinfo | None) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a %Y-%m-%d %H:%M:%S %Z}"
