"""The fault-injecting server (tests/fault_server.py) against real `digest send` processes:
550s, endless 451s, 421s, drops at RCPT and mid-DATA, a message taken and never confirmed,
two sends at once over several connections, and kill -9 at several points of a send over four
connections (and while the server answers a message it kept) followed by a re-run. Nothing is
lost; the only copies twice are those the server took without saying so; each repeat carries
the same Message-ID."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import FeedServer
from fault_server import FaultHandler, start_fault_server
from send_helpers import addresses, digest_send, outbox_counts, sending_config, serve_stories
from smtp_server import SmtpServer


@pytest.fixture
def faulty() -> Iterator[tuple[SmtpServer, FaultHandler]]:
    controller, server, handler = start_fault_server()
    yield server, handler
    controller.stop()


def copies_and_ids(handler: FaultHandler) -> tuple[Counter[str], dict[str, set[str]]]:
    copies: Counter[str] = Counter()
    ids: dict[str, set[str]] = {}
    for message in handler.received:
        for rcpt in message.rcpt_tos:
            copies[rcpt] += 1
            ids.setdefault(rcpt, set()).add(str(message.message["Message-ID"]))
    return copies, ids


@pytest.mark.slow
def test_every_fault_at_once_two_senders_nothing_lost_and_only_unconfirmed_copies_repeat(
    feed_server: FeedServer, faulty: tuple[SmtpServer, FaultHandler], tmp_path: Path
) -> None:
    server, handler = faulty
    url = serve_stories(feed_server, [1, 2], datetime.now(UTC), timedelta(hours=2))
    people = addresses(60)
    config = sending_config(tmp_path, url, server, people, smtp={"attempts": 3, "connections": 2})
    handler.permanent.add(people[0])  # 550 at RCPT
    handler.temporary.update({people[1]: -1, people[2]: -1})  # 451 forever (for now)
    handler.drop_in_data[people[3]] = 1
    handler.closing_at_rcpt[people[4]] = 1
    handler.silent_accept[people[5]] = 1  # taken, never confirmed
    handler.drop_once.add(people[6])
    handler.mail_delay = 0.005

    both = [digest_send(config), digest_send(config)]  # two sends at once
    for process in both:
        process.communicate(timeout=120)
    assert outbox_counts(tmp_path / "state.sqlite3") == {"sent": 57, "failed": 1, "pending": 2}
    handler.temporary.clear()
    last = digest_send(config)
    out, err = last.communicate(timeout=60)
    assert last.returncode == 0, out + err

    copies, ids = copies_and_ids(handler)
    lost = [p for p in people[1:] if copies[p] == 0]
    repeated = {p: n for p, n in copies.items() if n > 1}
    print(
        f"\nfaults: {handler.count()} messages for {len(copies)} readers, lost {len(lost)}, "
        f"repeated {sum(n - 1 for n in repeated.values())} "
        f"(server took without saying so: {sum(handler.taken_silently.values())})"
    )
    assert lost == [] and copies[people[0]] == 0
    assert repeated == {people[5]: 2} and handler.taken_silently == Counter({people[5]: 1})
    assert all(len(ids[p]) == 1 for p in copies)  # a repeat has the same Message-ID
    assert outbox_counts(tmp_path / "state.sqlite3") == {"sent": 59, "failed": 1}


@pytest.mark.slow
def test_kill_9_at_several_points_over_four_connections_then_a_rerun(
    feed_server: FeedServer, faulty: tuple[SmtpServer, FaultHandler], tmp_path: Path
) -> None:
    server, handler = faulty
    url = serve_stories(feed_server, [1, 2, 3], datetime.now(UTC), timedelta(hours=3))
    people = addresses(80)
    config = sending_config(tmp_path, url, server, people, smtp={"connections": 4})
    handler.mail_delay = 0.02
    chance = random.Random(19)
    kills = 0
    for _ in range(3):
        process = digest_send(config)
        target = handler.count() + chance.randint(5, 15)
        handler.wait_for(target, timeout=60)
        time.sleep(chance.random() * 0.02)  # anywhere in a transaction
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
        kills += 1
        if handler.count() >= len(people):
            break
    final = digest_send(config)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, out + err

    copies, ids = copies_and_ids(handler)
    repeats = sum(n - 1 for n in copies.values())
    print(f"\nkill -9 x{kills} over 4 connections: {len(copies)} readers, {repeats} repeated")
    assert sorted(copies) == sorted(people)  # nobody lost
    assert repeats == 0  # each row was marked before its final dot (smtp.Handover)
    assert all(len(ids[p]) == 1 for p in copies)
    assert outbox_counts(tmp_path / "state.sqlite3") == {"sent": len(people)}


def test_a_kill_while_the_server_answers_a_message_it_kept_repeats_nothing(
    feed_server: FeedServer, faulty: tuple[SmtpServer, FaultHandler], tmp_path: Path
) -> None:
    """A server keeps a message once it has read the final dot, and may answer it later
    (here half a second later). The sender marks the row just before that dot, so a kill
    -9 while the answer is on its way leaves the row sent, and the re-run does not send it
    again (before, the row was marked after the answer: this message came twice)."""
    server, handler = faulty
    url = serve_stories(feed_server, [1, 2], datetime.now(UTC), timedelta(hours=2))
    people = addresses(20)
    config = sending_config(tmp_path, url, server, people)
    handler.data_delay = 0.5
    process = digest_send(config)
    assert handler.wait_for(3, timeout=60)  # the third is kept, its 250 not sent yet
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)
    assert handler.count() == 3
    handler.data_delay = 0.0
    final = digest_send(config)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, out + err

    copies, _ = copies_and_ids(handler)
    assert copies == Counter({person: 1 for person in people})
    assert outbox_counts(tmp_path / "state.sqlite3") == {"sent": len(people)}
