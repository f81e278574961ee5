"""`digest schedule`: an APScheduler 3 scheduler in the foreground that sends the next issue.

Any number of schedulers (`digest schedule`, `digest serve --schedule`, on any machines) may
share one database, and each run is fired by exactly one of them: the job is handed the time
it was due, and runs only if its row in `schedule_runs` (job, due) was not there yet; the
others find it there and do nothing. The jobs live in each process's memory (APScheduler's own
documentation warns that its job stores may not be shared); what must outlive a process is in
the database: `schedule.next_due`, when the send job is next due, written as each scheduler
starts, fires and stops. A run missed while every scheduler was down happens on the next start,
once (coalesce), if it is not older than `schedule.misfire_grace_seconds`.

The retry job (readers a run left pending) is not fired once: two retries at once share the
rows between them (outbox.py's claims), so nobody gets a message twice.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from types import FrameType, SimpleNamespace
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_SHUTDOWN,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from digest.config.cron import cron_trigger
from digest.sending.outbox import new_owner
from digest.state import State

JOB_ID = "digest-send"
JOB_FUNCTION = "digest.sending.schedule:run_scheduled_send"
RETRY_JOB_ID = "digest-retry"
RETRY_FUNCTION = "digest.sending.schedule:run_scheduled_retry"

# Set by SIGINT/SIGTERM; the send loop checks it between two messages.
STOP = threading.Event()

log = logging.getLogger(__name__)
Echo = Callable[[str], None]


def run_scheduled_send(
    config_path: str, due: datetime | None = None, next_due: datetime | None = None
) -> None:
    """The job: send the next issue (or finish an unfinished one), if no other scheduler has
    fired the run due then. Never raises: a failed run is reported and the scheduler goes on
    to the next one."""
    from digest.sending.send import send_to_list

    _run(config_path, send_to_list, (due, next_due))


def run_scheduled_retry(config_path: str, **_: object) -> None:
    """The retry job: recipients left pending (4xx to the end, server down) get the issue
    they are owed; silent when nobody is owed anything."""
    from digest.sending.send import resume_unfinished

    _run(config_path, resume_unfinished)


def fire_once(state: State, job: str, due: datetime, next_due: datetime | None) -> bool:
    """Record that this process fires `job`'s run due at `due`; False when another one has.
    The job's next due time moves on with it (never back)."""
    now = datetime.now(UTC).isoformat()
    with state.transaction() as tx:
        fired = tx.execute(
            "INSERT INTO schedule_runs (job, due, fired_by, fired_at)"
            " VALUES (:job, :due, :me, :now) ON CONFLICT DO NOTHING",
            {"job": job, "due": _stamp(due), "me": new_owner(), "now": now},
        ).rowcount
        if next_due is not None:
            _store_next_due(tx, job, next_due, only_later=True)
    return bool(fired)


def _store_next_due(state: State, job: str, due: datetime, only_later: bool = False) -> None:
    later = " WHERE schedule.next_due IS NULL OR schedule.next_due < excluded.next_due"
    state.execute(
        "INSERT INTO schedule (job, next_due) VALUES (:job, :due)"
        " ON CONFLICT (job) DO UPDATE SET next_due = excluded.next_due"
        + (later if only_later else ""),
        {"job": job, "due": _stamp(due)},
    )


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _run(
    config_path: str,
    action: Callable[..., Any],
    run: tuple[datetime | None, datetime | None] = (None, None),
) -> None:
    from digest.config.load import load_settings
    from digest.errors import DigestError
    from digest.feeds.gather import feed_lines
    from digest.sending.send import Sending
    from digest.sending.summary import report_lines

    try:
        settings = load_settings(config_path)
        sending = Sending(stop=STOP)
        with State.open(settings.database) as state:
            due, next_due = run
            if due is not None and not fire_once(state, JOB_ID, due, next_due):
                log.info("the run due %s was fired by another scheduler", due)
                return
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


class DueExecutor(ThreadPoolExecutor):  # type: ignore[misc]  # APScheduler 3 is untyped
    """Hands the send job the time its run was due (the last of the run times, coalesced) and
    the one after, so that of several schedulers firing that run only the first runs it."""

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        if job.id != JOB_ID:
            super()._do_submit_job(job, run_times)
            return
        due = run_times[-1]
        following = job.trigger.get_next_fire_time(due, due)
        view = SimpleNamespace(
            id=job.id,
            _jobstore_alias=job._jobstore_alias,
            func=job.func,
            args=job.args,
            kwargs={**job.kwargs, "due": due, "next_due": following},
            misfire_grace_time=job.misfire_grace_time,
            name=job.name,
        )
        super()._do_submit_job(view, run_times)


def make_scheduler(
    settings: Any,
    config_path: Path,
    scheduler_class: type[BaseScheduler] = GatedScheduler,
    trigger: BaseTrigger | None = None,
    now: datetime | None = None,
    retry_trigger: BaseTrigger | None = None,
) -> BaseScheduler:
    """A scheduler with the send and retry jobs. A run missed while every scheduler was down
    (`schedule.next_due` in the past) is due at once."""
    scheduler = scheduler_class(
        executors={"default": DueExecutor(1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.schedule.misfire_grace_seconds,
        },
        timezone=settings.zone,
    )
    trigger = trigger or cron_trigger(settings.schedule.cron, settings.zone)
    missed = missed_run(settings.database, now or datetime.now(UTC))
    job = scheduler.add_job(
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
    first = missed or trigger.get_next_fire_time(None, now or datetime.now(UTC))
    if first is not None:
        with State.open(settings.database) as state:
            _store_next_due(state, JOB_ID, first)
    scheduler.add_listener(lambda event: _remember(settings, job), EVENT_SCHEDULER_SHUTDOWN)
    return scheduler


def _remember(settings: Any, job: Job) -> None:
    """As a scheduler stops: when the send job is next due, a run it did not hand over
    included (a stop while the run was due), so that the next start fires it."""
    if job.next_run_time is None:
        return
    try:
        with State.open(settings.database) as state:
            _store_next_due(state, JOB_ID, job.next_run_time)
    except Exception as exc:  # a stop never fails on it; the next start computes anew
        log.warning("could not store the next run: %s", exc)


def stored_next_run(where: str | Path) -> datetime | None:
    """When the send job is next due, as the database holds it (None: never scheduled)."""
    with State.open(where) as state:
        row = state.execute(
            "SELECT next_due FROM schedule WHERE job = :job", {"job": JOB_ID}
        ).fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


def missed_run(where: str | Path, now: datetime) -> datetime | None:
    stored = stored_next_run(where)
    return stored if stored is not None and stored <= now else None


def next_runs(settings: Any, count: int = 5, now: datetime | None = None) -> list[datetime]:
    """The next `count` run times: a missed run first (it happens on start), then the cron's."""
    now = now or datetime.now(UTC)
    trigger = cron_trigger(settings.schedule.cron, settings.zone)
    runs: list[datetime] = []
    missed = missed_run(settings.database, now)
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
    missed = missed_run(settings.database, datetime.now(UTC))
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
