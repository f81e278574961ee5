"""The scheduler: a real APScheduler with its job store in the state database, triggers a
second away, a restart that catches up a missed run, two schedulers on one database, and
`digest schedule` stopped by SIGTERM in the middle of a send."""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from click.testing import CliRunner
from conftest import REPO, FeedServer, rows
from send_helpers import addresses, outbox_counts, sending_config, serve_stories
from smtp_server import SmtpServer

from digest.cli.main import main
from digest.config.load import load_settings
from digest.sending.schedule import JOB_ID, make_scheduler, missed_run, next_runs
from digest.state.schema import SQLITE_HISTORY


def soon(seconds: float) -> datetime:
    """A whole second at least `seconds` from now (cron fires on whole seconds)."""
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.replace(microsecond=0) + timedelta(seconds=1)


def at(moment: datetime) -> CronTrigger:
    """Fires once a day at this second: after it passes, the next fire is a day away."""
    return CronTrigger(hour=moment.hour, minute=moment.minute, second=moment.second, timezone=UTC)


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def test_scheduler_sends_on_time(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    serve_stories(feed_server, [1], datetime.now(UTC), timedelta(hours=2))
    config = sending_config(tmp_path, feed_server.url("/news.xml"), smtp_server, addresses(2))
    settings = load_settings(config)
    due = soon(1)
    scheduler = make_scheduler(settings, config, BackgroundScheduler, trigger=at(due))
    scheduler.start()
    try:
        assert smtp_server.handler.wait_for(2, timeout=8)
        arrived = datetime.now(UTC)
        next_time = scheduler.get_job(JOB_ID).next_run_time
    finally:
        scheduler.shutdown(wait=True)
    assert due <= arrived < due + timedelta(seconds=5)
    assert next_time == due + timedelta(days=1)


def test_restart_catches_up_a_run_missed_while_down(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    serve_stories(feed_server, [1], datetime.now(UTC), timedelta(hours=2))
    config = sending_config(tmp_path, feed_server.url("/news.xml"), smtp_server, addresses(1))
    settings = load_settings(config)
    due = soon(1)
    first = make_scheduler(settings, config, BackgroundScheduler, trigger=at(due))
    first.start()
    first.shutdown(wait=True)  # "the machine went to sleep" before the run was due
    sleep_until(due + timedelta(seconds=1))
    assert smtp_server.handler.count() == 0
    assert missed_run(settings.database, datetime.now(UTC)) == due
    assert next_runs(settings, 2)[0] == due  # `schedule --list` shows the run still owed

    again = make_scheduler(settings, config, BackgroundScheduler, trigger=at(due))
    again.start()
    try:
        assert smtp_server.handler.wait_for(1, timeout=8)
        next_time = again.get_job(JOB_ID).next_run_time
    finally:
        again.shutdown(wait=True)
    assert smtp_server.handler.count() == 1
    assert next_time == due + timedelta(days=1)


def test_a_run_missed_under_apschedulers_job_store_still_happens_after_the_upgrade(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """A state file of version 9 kept the send job in APScheduler's table (pickled, as
    `digest.schedule:run_scheduled_send` before digest/sending/ existed): the run it missed
    while down still happens, once, after the upgrade to the ledger moved it over."""
    serve_stories(feed_server, [1], datetime.now(UTC), timedelta(hours=2))
    config = sending_config(tmp_path, feed_server.url("/news.xml"), smtp_server, addresses(1))
    settings = load_settings(config)
    due = soon(1)
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # as digest 9 left it
        for version, script in enumerate(SQLITE_HISTORY, start=1):
            conn.executescript(f"{script}; PRAGMA user_version = {version};")
        conn.execute(
            "CREATE TABLE apscheduler_jobs (id VARCHAR(191) NOT NULL PRIMARY KEY,"
            " next_run_time FLOAT, job_state BLOB NOT NULL)"
        )
        job = {"func": "digest.schedule:run_scheduled_send", "id": JOB_ID}
        conn.execute(
            "INSERT INTO apscheduler_jobs VALUES (?, ?, ?)",
            (JOB_ID, due.timestamp(), pickle.dumps(job, pickle.HIGHEST_PROTOCOL)),
        )
    settings = settings.model_copy(update={"database_url": None, "state_db": path})
    sleep_until(due + timedelta(seconds=1))
    assert missed_run(settings.database, datetime.now(UTC)) == due
    with sqlite3.connect(path) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "apscheduler_jobs" not in tables and "schedule_runs" in tables

    again = make_scheduler(settings, config, BackgroundScheduler, trigger=at(due))
    again.start()
    try:
        assert smtp_server.handler.wait_for(1, timeout=8)
        job = again.get_job(JOB_ID)
    finally:
        again.shutdown(wait=True)
    assert job.func_ref == "digest.sending.schedule:run_scheduled_send"
    assert smtp_server.handler.count() == 1


def test_two_schedulers_on_one_database_send_one_issue_once(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    serve_stories(feed_server, [1, 2], datetime.now(UTC), timedelta(hours=2))
    people = addresses(5)
    config = sending_config(tmp_path, feed_server.url("/news.xml"), smtp_server, people)
    smtp_server.handler.mail_delay = 0.2  # the send overlaps the other scheduler's runs
    settings = load_settings(config)
    every_second = CronTrigger(second="*", timezone=UTC)
    runs: Counter[str] = Counter()
    lock = threading.Lock()
    schedulers = []
    for name in ("one", "two"):
        scheduler = make_scheduler(settings, config, BackgroundScheduler, trigger=every_second)

        def count(event: object, name: str = name) -> None:
            with lock:
                runs[name] += 1

        scheduler.add_listener(count, EVENT_JOB_EXECUTED)
        schedulers.append(scheduler)
    for scheduler in schedulers:
        scheduler.start()
    try:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and (min(runs["one"], runs["two"]) < 2):
            time.sleep(0.1)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)
    assert runs["one"] >= 2 and runs["two"] >= 2  # both really ran the job, more than once
    copies = Counter(r for message in smtp_server.handler.received for r in message.rcpt_tos)
    assert copies == Counter(people)  # one copy each
    assert rows(tmp_path / "state.sqlite3", "SELECT COUNT(*) FROM issues") == [(1,)]


def test_schedule_list_shows_the_next_mondays(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "feeds:\n  - {name: A, url: 'https://a.example/f'}\n"
        f"state_db: {tmp_path / 's.sqlite3'}\ntimezone: Europe/Paris\n"
    )
    result = CliRunner().invoke(main, ["schedule", "--list", "-c", str(config)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "schedule: 0 7 * * mon (Europe/Paris)"
    assert len(lines) == 6 and all(line.startswith("  Mon ") for line in lines[1:])
    assert all(" 07:00 CE" in line for line in lines[1:])


def every_second_config(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path, people: list[str]
) -> Path:
    serve_stories(feed_server, [1], datetime.now(UTC), timedelta(hours=2))
    return sending_config(
        tmp_path,
        feed_server.url("/news.xml"),
        smtp_server,
        people,
        schedule={"cron": "* * * * * *"},  # every second
    )


@pytest.fixture
def schedulers() -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    """Starts `digest schedule` processes; any still running at the end are killed."""
    processes: list[subprocess.Popen[str]] = []

    def start(config: Path) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "digest", "schedule", "-c", str(config)],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:  # a failed assertion must not leave a scheduler running
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_sigterm_mid_send_finishes_the_message_and_the_rest_resume_on_restart(
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
    schedulers: Callable[[Path], subprocess.Popen[str]],
) -> None:
    people = addresses(6)
    config = every_second_config(feed_server, smtp_server, tmp_path, people)
    smtp_server.handler.mail_delay = 0.3
    _stop_and_resume(lambda: schedulers(config), smtp_server, people, tmp_path)


def test_a_second_sigterm_forces_the_exit_and_the_message_in_flight_stays_pending(
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
    schedulers: Callable[[Path], subprocess.Popen[str]],
) -> None:
    people = addresses(3)
    config = every_second_config(feed_server, smtp_server, tmp_path, people)
    smtp_server.handler.mail_delay = 30  # the first message hangs at MAIL FROM
    process = schedulers(config)
    assert smtp_server.handler.wait_for_mail_command(timeout=30)
    process.send_signal(signal.SIGTERM)
    time.sleep(1)
    assert process.poll() is None  # the first signal waits for the message in flight
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=10)
    assert process.returncode == 128 + signal.SIGTERM
    assert "stopping" in out and "stopped" not in out
    assert outbox_counts(tmp_path / "state.sqlite3") == {
        "pending": len(people)
    }  # nothing marked sent that the server did not take


def _stop_and_resume(
    schedule: Callable[[], subprocess.Popen[str]],
    smtp_server: SmtpServer,
    people: list[str],
    tmp_path: Path,
) -> None:
    first = schedule()
    started = smtp_server.handler.wait_for(2, timeout=30)
    first.send_signal(signal.SIGTERM)
    out, err = first.communicate(timeout=20)
    assert started and first.returncode == 0, err
    assert "next run: " in out
    assert out.rstrip().endswith("stopped")
    stopped_at = smtp_server.handler.count()
    counted = outbox_counts(tmp_path / "state.sqlite3")
    assert 2 <= stopped_at < len(people)
    assert counted == {"sent": stopped_at, "pending": len(people) - stopped_at}  # none half-done

    second = schedule()
    finished = smtp_server.handler.wait_for(len(people), timeout=30)
    time.sleep(0.5)  # give a wrong second copy the chance to arrive
    second.send_signal(signal.SIGTERM)
    out, err = second.communicate(timeout=20)
    assert finished and second.returncode == 0, err
    assert "resumed issue 1" in out
    copies = Counter(r for message in smtp_server.handler.received for r in message.rcpt_tos)
    assert copies == Counter(people)


def test_the_retry_job_sends_what_a_run_left_pending(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    from apscheduler.triggers.interval import IntervalTrigger

    from digest.sending.send import Sending, send_to_list
    from digest.state import State

    serve_stories(feed_server, [1], datetime.now(UTC), timedelta(hours=2))
    people = ["a@example.test", "busy@example.test"]
    config = sending_config(
        tmp_path, feed_server.url("/news.xml"), smtp_server, people, smtp={"attempts": 1}
    )
    settings = load_settings(config)
    smtp_server.handler.temporary["busy@example.test"] = 1
    with State.open(settings.database) as state:
        report = send_to_list(settings, state, Sending())
    assert report.pending == ("busy@example.test",)

    far_away = at(soon(3600))
    scheduler = make_scheduler(
        settings, config, BackgroundScheduler, far_away, retry_trigger=IntervalTrigger(seconds=1)
    )
    scheduler.start()
    try:
        assert smtp_server.handler.wait_for(2, timeout=8)
        time.sleep(1.5)  # another retry run finds nothing owed and sends nothing
    finally:
        scheduler.shutdown(wait=True)
    assert Counter(r for m in smtp_server.handler.received for r in m.rcpt_tos) == Counter(people)


def test_a_stop_while_a_run_is_due_hands_nothing_to_the_closed_executor(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The race behind "cannot schedule new futures after shutdown" on SIGINT: the loop
    thread wakes for a due run just as shutdown() closes the executor. Played here in that
    order: the due run is handed to nobody, nothing is logged, the run stays due."""
    import logging

    config = tmp_path / "config.yaml"
    config.write_text(
        f"feeds:\n  - {{name: A, url: 'https://a.example/f'}}\nstate_db: {tmp_path / 's.sqlite3'}\n"
    )
    settings = load_settings(config)
    scheduler = make_scheduler(settings, config, trigger=at(soon(3600)))
    scheduler.start(paused=True)
    due = datetime.now(UTC) - timedelta(seconds=1)
    scheduler.modify_job(JOB_ID, next_run_time=due)
    scheduler.shutdown(wait=True)
    with caplog.at_level(logging.DEBUG, logger="apscheduler"):
        scheduler._process_jobs()  # what the loop thread does when it wakes now
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert missed_run(settings.database, datetime.now(UTC)) is not None  # still owed


def test_sigint_while_runs_are_due_stops_without_a_traceback(
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
    schedulers: Callable[[Path], subprocess.Popen[str]],
) -> None:
    config = every_second_config(feed_server, smtp_server, tmp_path, addresses(1))
    for delay in (0.1, 0.5, 0.9):  # a run is due every second: land near one
        process = schedulers(config)
        assert process.stdout is not None and process.stdout.readline()  # the signal handler is in
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
        assert process.returncode == 0, err
        assert "Traceback" not in err and "cannot schedule" not in err, err
        assert out.rstrip().endswith("stopped")
