"""Many at once, nothing twice (issue 22): several real `digest send` and `digest serve`
processes on one state database, on the engine of this run (SQLite in the first run of the
suite, PostgreSQL in the second): senders that join one batch, one killed with SIGKILL and
its rows taken over, an unsubscribe on one server seen by the senders at once, two servers
sharing the letters and the per-client limit. What the SMTP server received is counted."""

from __future__ import annotations

import re
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from conftest import FeedServer, database_setting, rows
from send_helpers import (
    addresses,
    digest_send,
    outbox_counts,
    sending_config,
    serve_stories,
)
from serve_helpers import (
    csrf_of,
    free_port,
    link_in,
    serve_config,
    serving,
    status_of,
    text_part,
    wait_for_mail,
)
from smtp_server import SmtpServer, start_server

from digest.config.load import load_settings
from digest.sending.links import links_for
from digest.sending.signup import add
from digest.sending.subscribers import find, parse_address
from digest.state import State

READERS = 120
MAIL_DELAY = 0.03  # each MAIL FROM waits this long: a batch lasts a few seconds


def copies_of(smtp_server: SmtpServer) -> Counter[str]:
    return Counter(r for message in smtp_server.handler.received for r in message.rcpt_tos)


def test_a_second_send_joins_the_running_batch_and_each_reader_gets_one_copy(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1, 2], datetime.now(UTC), timedelta(hours=2))
    people = addresses(READERS)
    config = sending_config(tmp_path, url, smtp_server, people)
    smtp_server.handler.mail_delay = MAIL_DELAY
    first = digest_send(config)
    assert smtp_server.handler.wait_for(5, timeout=60)  # the issue exists and is going out
    second = digest_send(config)
    out_first, err_first = first.communicate(timeout=120)
    out_second, err_second = second.communicate(timeout=120)
    assert (first.returncode, second.returncode) == (0, 0), (err_first, err_second)
    assert "resumed issue 1" in out_second  # it found the batch running and sent with it
    sent = [_sent_count(out_first), _sent_count(out_second)]
    assert all(count > 0 for count in sent) and sum(sent) == READERS, (out_first, out_second)
    assert copies_of(smtp_server) == Counter(people)  # one copy each
    assert outbox_counts(tmp_path / "state.sqlite3") == {"sent": READERS}


def _sent_count(out: str) -> int:
    found = re.search(r"»: ([\d,]+) sent", out)
    return int(found.group(1).replace(",", "")) if found else 0


def test_a_sender_killed_mid_batch_has_its_rows_taken_over_and_nobody_gets_two(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """The doomed sender talks to an SMTP server of its own and is killed where a crash
    used to repeat a message: after that server kept a message, before its answer came
    back. Each row is marked just before its final dot (smtp.Handover), so the
    survivor takes over the rest and nobody gets two."""
    url = serve_stories(feed_server, [1, 2], datetime.now(UTC), timedelta(hours=2))
    people = addresses(READERS)
    controller, doomed_server = start_server()
    try:
        (tmp_path / "doomed").mkdir()
        shared = {"state_db": str(tmp_path / "state.sqlite3")}
        shared.update(database_setting(tmp_path / "state.sqlite3"))
        doomed_config = sending_config(tmp_path / "doomed", url, doomed_server, people, **shared)
        config = sending_config(tmp_path, url, smtp_server, people)
        for server in (doomed_server, smtp_server):
            server.handler.mail_delay = MAIL_DELAY
        doomed = digest_send(doomed_config)
        assert doomed_server.handler.wait_for(5, timeout=60)
        survivor = digest_send(config)
        assert smtp_server.handler.wait_for(5, timeout=60)  # both are sending
        assert doomed_server.handler.wait_for(20, timeout=60)
        doomed_server.handler.data_delay = 1.0  # the next message kept, its 250 a second off
        before = doomed_server.handler.count()
        assert doomed_server.handler.wait_for(before + 1, timeout=60)
        doomed.send_signal(signal.SIGKILL)
        doomed.communicate(timeout=10)
        _, err = survivor.communicate(timeout=120)
        assert survivor.returncode == 0, err
        received = copies_of(doomed_server) + copies_of(smtp_server)
        killed_at = doomed_server.handler.count()
    finally:
        controller.stop()
    print(f"\nkilled after {killed_at} messages; {sum(received.values())} received in all")
    assert killed_at < READERS  # killed mid-batch, its claimed rows left to take over
    assert received == Counter(people)  # nobody lost, nobody twice
    assert outbox_counts(tmp_path / "state.sqlite3") == {"sent": READERS}
    ids = {
        m.message["Message-ID"] for s in (doomed_server, smtp_server) for m in s.handler.received
    }
    assert len(ids) == READERS


def test_an_unsubscribe_on_a_server_is_seen_by_a_running_sender_before_its_next_message(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    port = free_port()
    config = serve_config(tmp_path, smtp_server, port)
    settings = load_settings(config)
    people = addresses(80)
    with State.open(settings.database) as state:
        add(state, [(parse_address(p), None) for p in people], "import", datetime.now(UTC))
        links = links_for(settings, state)
        leaving = {p: find(state, p).id for p in people[-20:]}  # type: ignore[union-attr]
    assert links is not None
    smtp_server.handler.mail_delay = 0.05
    with serving(config, port):
        sender = digest_send(config)
        assert smtp_server.handler.wait_for(10, timeout=60)
        for number in reversed(leaving.values()):  # not reached yet: each leaves by one click
            answer = httpx.post(
                links.unsubscribe(number),
                content=b"List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert answer.status_code == 200
        assert smtp_server.handler.count() < len(people) - len(leaving)  # before it got there
    _, err = sender.communicate(timeout=120)
    assert sender.returncode == 0, err
    got = copies_of(smtp_server)
    assert not set(got) & set(leaving)  # none of them got the issue they had just left
    assert set(got) == set(people) - set(leaving)
    skipped = rows(
        tmp_path / "state.sqlite3",
        "SELECT COUNT(*) FROM outbox WHERE status = 'skipped' AND reply = :why",
        why="unsubscribed (one-click)",
    )
    assert skipped == [(len(leaving),)]


def test_two_servers_on_one_database_share_the_letters_and_the_per_client_limit(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    one, two = free_port(), free_port()
    first = serve_config(tmp_path, smtp_server, one, serve={"subscribes_per_hour": 4})
    (tmp_path / "two").mkdir()
    second = serve_config(tmp_path / "two", smtp_server, two, serve={"subscribes_per_hour": 4})
    second.write_text(_same_database(second.read_text(), first))
    with serving(first, one) as a, serving(second, two) as b, httpx.Client() as client:
        for served, address in [(a, "ana@example.test"), (b, "bo@example.test")]:
            page = client.get(served.url("subscribe"))
            answer = client.post(
                served.url("subscribe"),
                data={"email": address, "csrf": csrf_of(page.text)},
            )
            assert answer.status_code == 200
        letters = [wait_for_mail(smtp_server, a) for a in ("ana@example.test", "bo@example.test")]
        assert [len(found) for found in letters] == [1, 1]  # each letter sent once, by one
        confirm = link_in(text_part(letters[0][0].message), "confirm/")  # on a's link...
        confirm_on_b = confirm.replace(f":{one}/", f":{two}/")  # ...pressed on b
        page = client.get(confirm_on_b)
        done = client.post(confirm_on_b, data={"csrf": csrf_of(page.text)})
        assert done.status_code == 200
        assert status_of(tmp_path / "state.sqlite3", "ana@example.test") == "active"
        # 4 an hour from this client across both servers: 2 made above, 2 more, then refused
        codes = []
        for served in (a, b, a):
            page = client.get(served.url("subscribe"))
            codes.append(
                client.post(
                    served.url("subscribe"),
                    data={"email": f"x{len(codes)}@example.test", "csrf": csrf_of(page.text)},
                ).status_code
            )
        assert codes == [200, 200, 429]
    time.sleep(0.5)  # a letter sent twice would have arrived by now
    assert len(smtp_server.handler.to("ana@example.test")) == 1


def _same_database(document: str, first: Path) -> str:
    """The second server's config, pointed at the first's state database."""
    import yaml

    settings = yaml.safe_load(first.read_text())
    mine = yaml.safe_load(document)
    mine["state_db"] = settings["state_db"]
    if "database_url" in settings:
        mine["database_url"] = settings["database_url"]
    return str(yaml.safe_dump(mine, sort_keys=False, allow_unicode=True))
