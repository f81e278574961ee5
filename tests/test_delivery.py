"""Delivery a real list can trust (issue 19), checked on the RAW BYTES a real aiosmtpd server
received: headers as a mail client reads them, not as Python's parser decodes them back.
Each defect of the issue has its test here: long List-Unsubscribe values (1), {email} with a
display name (2), Message-IDs across installs (3), one endless 451 holding back every later
issue (4), a 530 at MAIL FROM (5), a 421 and a server without AUTH (6), a reader removed from
the list (7)."""

from __future__ import annotations

import re
import sqlite3  # an old state file, made as the digest of its day made it
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from click.testing import CliRunner
from conftest import NOW, FeedServer, rows
from fault_server import FaultHandler, start_fault_server
from send_helpers import addresses, sending_config, serve_stories
from smtp_server import SmtpServer

from digest.cli.main import main
from digest.config.load import load_settings
from digest.sending.outbox import list_issues
from digest.sending.send import Sending, send_to_list
from digest.sending.smtp import SendStatus
from digest.state import VERSION, State
from digest.state.schema import SQLITE_HISTORY


@pytest.fixture
def faulty() -> Iterator[SmtpServer]:
    controller, server, _ = start_fault_server()
    yield server
    controller.stop()


def handler_of(server: SmtpServer) -> FaultHandler:
    assert isinstance(server.handler, FaultHandler)
    return server.handler


def sending(moment=NOW, sleeps: list[float] | None = None) -> Sending:  # type: ignore[no-untyped-def]
    return Sending(clock=lambda: moment, sleep=(sleeps if sleeps is not None else []).append)


def send_now(config: Path, moment=NOW):  # type: ignore[no-untyped-def]
    settings = load_settings(config)
    with State.open(settings.database) as state:
        return send_to_list(settings, state, sending(moment))


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def raw_header(raw: bytes, name: str) -> bytes:
    """A header's value as sent: continuation lines joined, nothing decoded."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    unfolded = re.sub(rb"\r\n[ \t]", b" ", head)
    for line in unfolded.split(b"\r\n"):
        if line.lower().startswith(name.lower().encode() + b":"):
            return line.split(b":", 1)[1].strip()
    raise AssertionError(f"no {name} header")


# 1, 2: List-Unsubscribe ------------------------------------------------------------------------


def long_address(length: int) -> str:
    domain = "news.example.test"
    return "r" * (length - len(domain) - 1) + "@" + domain


def test_list_unsubscribe_holds_the_bare_url_in_angle_brackets_for_any_address_length(
    feed_server: FeedServer, faulty: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    bare = [long_address(n) for n in (20, 40, 60, 74, 90, 120, 200)]
    people = [*bare[:-1], f"Carol Smith <{bare[-1]}>"]
    template = "https://news.example.org/unsubscribe?email={email}"
    config = sending_config(
        tmp_path, url, faulty, people, unsubscribe={"mailto": "leave@example.test", "url": template}
    )
    report = send_now(config)
    assert [r.status for r in report.results] == [SendStatus.SENT] * len(people)
    for address, received in zip(bare, handler_of(faulty).received, strict=True):
        value = raw_header(received.data, "List-Unsubscribe")
        link = template.replace("{email}", quote(address, safe=""))
        assert value == f"<mailto:leave@example.test?subject=unsubscribe>, <{link}>".encode()
        assert b"=?" not in value  # never RFC 2047-encoded
        assert raw_header(received.data, "List-Unsubscribe-Post") == b"List-Unsubscribe=One-Click"
        assert max(len(line) for line in received.data.split(b"\r\n")) <= 998
        body = received.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f"To unsubscribe: {link}" in body  # {email} is the bare address, not the name
    assert b"Carol" not in raw_header(handler_of(faulty).received[-1].data, "List-Unsubscribe")


# 3: Message-IDs ---------------------------------------------------------------------------------


def test_message_ids_differ_across_installs_and_repeat_on_a_retry(
    feed_server: FeedServer, faulty: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    ids = []
    for name in ("one", "two"):  # two installs (or two lists) sending issue 1 to one reader
        folder = tmp_path / name
        folder.mkdir()
        send_now(sending_config(folder, url, faulty, ["ana@example.test"]))
        ids.append(raw_header(handler_of(faulty).received[-1].data, "Message-ID"))
    assert ids[0] != ids[1] and all(i.startswith(b"<digest-issue-1-") for i in ids)

    handler_of(faulty).silent_accept["bo@example.test"] = 1  # kept, and never said so
    folder = tmp_path / "three"
    folder.mkdir()
    send_now(sending_config(folder, url, faulty, ["bo@example.test"]))
    copies = handler_of(faulty).to("bo@example.test")
    assert len(copies) == 2  # the retry sent it again: the receiver can tell by its id
    assert raw_header(copies[0].data, "Message-ID") == raw_header(copies[1].data, "Message-ID")


# 4: independent issues --------------------------------------------------------------------------


def test_an_endless_451_for_one_reader_does_not_hold_back_the_next_issue(
    feed_server: FeedServer, faulty: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    config = sending_config(
        tmp_path, url, faulty, ["a@example.test", "slow@example.test"], smtp={"attempts": 2}
    )
    handler_of(faulty).temporary["slow@example.test"] = -1  # 451 forever
    first = send_now(config)
    assert first.pending == ("slow@example.test",)
    serve_stories(feed_server, [2], NOW + timedelta(days=7), timedelta(days=1))
    second = send_now(config, NOW + timedelta(days=7))
    assert second.issue is not None and second.issue.number == 2
    assert [e.issue.number for e in second.earlier if e.issue] == [1]  # resumed, still owed
    assert len(handler_of(faulty).to("a@example.test")) == 2  # a got issue 2 regardless
    subjects = [m.message["X-Digest-Issue"] for m in handler_of(faulty).to("a@example.test")]
    assert subjects == ["1", "2"]


# 5: 530 at MAIL FROM ----------------------------------------------------------------------------


def test_a_530_at_mail_from_leaves_everyone_pending_and_the_fixed_server_gets_it_to_all(
    feed_server: FeedServer, faulty: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    people = addresses(3)
    config = sending_config(tmp_path, url, faulty, people)
    handler_of(faulty).mail_reply = "530 5.7.0 Authentication required"
    report = send_now(config)
    assert report.error.startswith(f"SMTP server 127.0.0.1:{faulty.port} refused the sender")
    assert "530 5.7.0 Authentication required" in report.error and "smtp.username" in report.error
    assert report.pending == tuple(people) and report.results == ()
    handler_of(faulty).mail_reply = None  # credentials fixed
    again = send_now(config)
    assert "resumed issue 1" in again.note
    assert [len(handler_of(faulty).to(p)) for p in people] == [1, 1, 1]


# 6: 421 and AUTH --------------------------------------------------------------------------------


def test_a_421_costs_one_attempt_not_two(
    feed_server: FeedServer, faulty: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    people = addresses(10)
    config = sending_config(tmp_path, url, faulty, people, smtp={"attempts": 2})
    handler_of(faulty).closing_at_rcpt.update({p: 1 for p in people[:8]})
    report = send_now(config)
    assert [r.status for r in report.results] == [SendStatus.SENT] * 10, report.results
    assert [r.attempts for r in report.results] == [2] * 8 + [1] * 2
    assert not any("connect() first" in r.reply for r in report.results)
    assert Counter(r for m in handler_of(faulty).received for r in m.rcpt_tos) == Counter(people)


def test_a_server_offering_no_login_is_named_as_such(
    monkeypatch: pytest.MonkeyPatch, feed_server: FeedServer, faulty: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    login = {"username": "digest", "password_env": "DIGEST_TEST_PW"}
    config = sending_config(tmp_path, url, faulty, ["a@example.test"], smtp=login)
    monkeypatch.setenv("DIGEST_TEST_PW", "pw")
    report = send_now(config)
    assert (
        "offers no login (AUTH)" in report.error and "does not offer STARTTLS" not in report.error
    )
    assert report.pending == ("a@example.test",)


# 7: a reader who left ---------------------------------------------------------------------------


def test_a_reader_removed_from_the_list_does_not_get_what_a_failed_run_owed_them(
    feed_server: FeedServer, faulty: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    config = sending_config(
        tmp_path, url, faulty, ["a@example.test", "left@example.test"], smtp={"attempts": 1}
    )
    handler_of(faulty).temporary["left@example.test"] = 1
    assert send_now(config).pending == ("left@example.test",)
    document = yaml.safe_load(config.read_text())
    document["recipients"] = ["a@example.test"]  # they unsubscribed meanwhile
    config.write_text(yaml.safe_dump(document))
    report = send_now(config)
    assert handler_of(faulty).to("left@example.test") == []
    assert report.settled == (("left@example.test", "skipped", "no longer in recipients"),)
    code, out = run("issues", "1", "-c", str(config))
    assert code == 0 and "sent 1, failed 0, pending 0, skipped 1" in out
    assert "    skipped: left@example.test: no longer in recipients" in out


# a deferral has an end ------------------------------------------------------------------------


def test_a_reader_deferred_past_give_up_after_is_failed_with_the_last_reply(
    feed_server: FeedServer, faulty: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    config = sending_config(
        tmp_path,
        url,
        faulty,
        ["a@example.test", "stuck@example.test"],
        smtp={"attempts": 1, "give_up_after": "3d"},
    )
    handler_of(faulty).temporary["stuck@example.test"] = -1
    send_now(config)
    assert send_now(config, NOW + timedelta(days=2)).pending == ("stuck@example.test",)
    report = send_now(config, NOW + timedelta(days=3, minutes=1))
    assert report.pending == ()
    assert report.settled == (
        (
            "stuck@example.test",
            "failed",
            "still deferred after 3d; last reply: 451 4.7.1 Please try again later",
        ),
    )
    settings = load_settings(config)
    with State.open(settings.database) as state:
        assert list_issues(state)[0].issue.sent_at is not None  # nobody owed: done


# List-Id, Feedback-ID, Return-Path ---------------------------------------------------------------


def test_list_id_feedback_id_and_a_verp_return_path_on_the_wire(
    feed_server: FeedServer, faulty: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    config = sending_config(tmp_path, url, faulty, ["ana@example.test"])
    send_now(config)
    default = handler_of(faulty).received[-1]
    assert raw_header(default.data, "List-Id") == b"Test Digest <test-digest.example.test>"
    assert default.mail_from == "digest@example.test"
    with pytest.raises(AssertionError, match="no Feedback-ID"):
        raw_header(default.data, "Feedback-ID")

    folder = tmp_path / "custom"
    folder.mkdir()
    config = sending_config(
        folder,
        url,
        faulty,
        ["ana@example.test"],
        list_id="Harbour News <harbour.news.example.org>",
        feedback_id="{number}:digest:harbour:example.org",
        bounces={"return_path": "bounces@example.org", "verp": True},
    )
    send_now(config)
    custom = handler_of(faulty).received[-1]
    assert raw_header(custom.data, "List-Id") == b"Harbour News <harbour.news.example.org>"
    assert raw_header(custom.data, "Feedback-ID") == b"1:digest:harbour:example.org"
    assert custom.mail_from == "bounces+ana=example.test@example.org"


# connections and pace -------------------------------------------------------------------------


def test_four_connections_deliver_each_message_once(
    feed_server: FeedServer, faulty: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    people = addresses(40)
    config = sending_config(tmp_path, url, faulty, people, smtp={"connections": 4})
    # a server that takes a while per message, so that one connection cannot drain the queue
    # before the other three have connected, however busy the machine is
    handler_of(faulty).mail_delay = 0.05
    report = send_now(config)
    assert len(report.results) == 40 and handler_of(faulty).sessions == 4
    assert Counter(r for m in handler_of(faulty).received for r in m.rcpt_tos) == Counter(people)
    counted = rows(
        tmp_path / "state.sqlite3", "SELECT status, COUNT(*) FROM outbox GROUP BY status"
    )
    assert counted == [("sent", 40)]


def test_max_per_second_spaces_the_messages(
    feed_server: FeedServer, faulty: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    config = sending_config(
        tmp_path, url, faulty, addresses(10), smtp={"max_per_second": 20, "connections": 2}
    )
    settings = load_settings(config)
    waits: list[float] = []
    with State.open(settings.database) as state:
        send_to_list(settings, state, sending(sleeps=waits))
    # ten slots 50 ms apart; the sleep is recorded, not slept, so each wait is the whole gap
    assert 9 * 0.05 * 0.8 <= max(waits) <= 9 * 0.05 * 1.05
    assert len(waits) >= 9


# the summary ----------------------------------------------------------------------------------


def test_the_run_summary_counts_and_names_nobody_unless_asked(
    feed_server: FeedServer, faulty: SmtpServer, tmp_path: Path
) -> None:
    from send_helpers import wall_clock

    url = serve_stories(feed_server, [1], wall_clock(), timedelta(hours=2))
    people = [f"reader{n:03d}@example.test" for n in range(120)]
    config = sending_config(tmp_path, url, faulty, people)
    handler_of(faulty).permanent.add("reader007@example.test")
    code, out = run("send", "-c", str(config))
    assert code == 4
    lines = out.splitlines()
    assert lines[0].endswith("»: 119 sent, 1 failed")
    assert lines[1] == "  who and why: digest issues 1 (or send --verbose)"
    assert "@" not in out
    code, out = run("issues", "1", "-c", str(config))
    assert "    failed: reader007@example.test: 550 5.1.1" in out


# migrations -----------------------------------------------------------------------------------


def test_a_database_from_before_issue_19_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        for version, script in enumerate(SQLITE_HISTORY[:7], start=1):
            conn.executescript(f"{script}; PRAGMA user_version = {version};")
        conn.execute(
            "INSERT INTO issues (number, period_start, period_end, subject, html, text,"
            " created_at) VALUES (1, '2026-11-18T00:00:00+00:00', '2026-11-25T00:00:00+00:00',"
            " 'S', '<p>x</p>', 'x', '2026-11-25T09:00:00+00:00')"
        )
        conn.execute("INSERT INTO outbox (issue, recipient) VALUES (1, 'a@example.test')")
    with State.open(path) as state:
        assert state.execute("SELECT version FROM schema_version").one() == (VERSION,)
        row = state.execute("SELECT recipient, status, owed_since FROM outbox").one()
        assert row == ("a@example.test", "pending", None)  # owed since the issue was made
        first = state.install_id()
    with State.open(path) as state:
        assert state.install_id() == first and re.fullmatch(r"[0-9a-f]{12}", first)
