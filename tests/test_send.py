"""Issues, messages and the outbox, against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import NOW, ON_POSTGRES, FeedServer, rows, rss
from send_helpers import addresses, sending_config, serve_stories, story, wall_clock
from smtp_server import SmtpServer
from sqlalchemy.exc import IntegrityError

from digest.cli.main import main
from digest.config.load import load_settings
from digest.sending.outbox import LEASE, claim_rows, create_issue, last_issue, list_issues
from digest.sending.send import (
    Sending,
    deliver_issue,
    draft_issue,
    resend,
    send_test,
    send_to_list,
)
from digest.sending.smtp import SendStatus
from digest.sending.summary import report_lines
from digest.state import VERSION, State


def clock_at(moment):  # type: ignore[no-untyped-def]
    return lambda: moment


def sending(moment=NOW, delays: list[float] | None = None) -> Sending:  # type: ignore[no-untyped-def]
    record = delays if delays is not None else []
    return Sending(clock=clock_at(moment), sleep=record.append)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def encoded_lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n") if b"\r\n" in raw else raw.split(b"\n")


# the message ---------------------------------------------------------------------------------


def test_each_recipient_gets_one_correct_multipart_message(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1, 2], NOW, timedelta(days=1))
    config = sending_config(
        tmp_path,
        url,
        smtp_server,
        ["ana@example.test", "Bj\u00f6rn <bjorn@example.test>"],
        title="Zoë's Wöchentlich",
        unsubscribe={"mailto": "leave@example.test", "url": "https://example.test/u?e={email}"},
    )
    settings = load_settings(config)
    with State.open(settings.database) as state:
        report = send_to_list(settings, state, sending())
    assert [r.status for r in report.results] == [SendStatus.SENT, SendStatus.SENT]
    assert smtp_server.handler.sessions == 1  # one connection for the batch
    received = smtp_server.handler.received
    assert [r.rcpt_tos for r in received] == [("ana@example.test",), ("bjorn@example.test",)]

    raw = received[0].data
    message = received[0].message
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in parts)
    assert max(len(line) for line in encoded_lines(raw)) <= 76
    assert message["Subject"] == "Zoë's Wöchentlich — week of 25 Nov 2026, 2 stories"
    assert b"Subject: =?utf-8?" in raw  # encoded on the wire, decoded above
    assert message["From"].addresses[0].display_name == "Zoë Digest"
    assert message["To"] == "ana@example.test"
    assert message["MIME-Version"] == "1.0"
    assert message["Date"].datetime == NOW
    assert re.fullmatch(
        r"<digest-issue-1-[0-9a-f]{16}\.[0-9a-f]{12}@example\.test>", message["Message-ID"]
    )
    assert received[1].message["Message-ID"] != message["Message-ID"]
    assert received[1].message["To"].addresses[0].display_name == "Björn"
    assert message["List-Unsubscribe"] == (
        "<mailto:leave@example.test?subject=unsubscribe>, <https://example.test/u?e=ana%40example.test>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = parts[0].get_content(), parts[1].get_content()
    assert "Story 1: the harbour update" in text and "Story 2: the harbour update" in html
    assert "To unsubscribe: https://example.test/u?e=ana%40example.test" in text
    assert '<a href="https://example.test/u?e=ana%40example.test"' in html
    assert html.index("Unsubscribe</a>") < html.index("</body>")


def test_mailto_only_unsubscribe_has_no_one_click_header(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    config = sending_config(tmp_path, url, smtp_server, ["ana@example.test"])
    settings = load_settings(config)
    with State.open(settings.database) as state:
        send_to_list(settings, state, sending())
    message = smtp_server.handler.received[0].message
    assert message["List-Unsubscribe"] == "<mailto:digest@example.test?subject=unsubscribe>"
    assert message["List-Unsubscribe-Post"] is None
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "email digest@example.test with the subject 'unsubscribe'" in text


# failures ------------------------------------------------------------------------------------


def test_temporary_failures_retry_with_backoff_and_permanent_ones_are_recorded(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    people = ["ok@example.test", "busy@example.test", "gone@example.test"]
    config = sending_config(tmp_path, url, smtp_server, people, smtp={"retry_delay": 0.5})
    smtp_server.handler.temporary["busy@example.test"] = 2
    smtp_server.handler.permanent.add("gone@example.test")
    settings = load_settings(config)
    delays: list[float] = []
    with State.open(settings.database) as state:
        report = send_to_list(settings, state, sending(delays=delays))
        status = list_issues(state, rows_of=1)[0]
    assert [(r.recipient, r.status, r.attempts) for r in report.results] == [
        ("ok@example.test", SendStatus.SENT, 1),
        ("busy@example.test", SendStatus.SENT, 3),
        ("gone@example.test", SendStatus.FAILED, 1),
    ]
    assert delays == [0.5, 1.0]  # doubling
    assert len(smtp_server.handler.to("busy@example.test")) == 1
    assert smtp_server.handler.to("gone@example.test") == []
    assert smtp_server.handler.sessions == 1  # the connection survived the refusals
    gone = next(d for d in status.deliveries if d.recipient == "gone@example.test")
    assert gone.status == "failed" and gone.reply is not None
    assert gone.reply.startswith("550 5.1.1 <gone@example.test>: Recipient address rejected")
    assert status.issue.sent_at is not None  # nothing pending: the issue is done
    assert report_lines(report)[1:] == ["  who and why: digest issues 1 (or send --verbose)"]
    lines = report_lines(report, verbose=True)
    assert "  sent to: ok@example.test, busy@example.test" in lines
    assert any(line.startswith("  failed: gone@example.test: 550 5.1.1") for line in lines)


def test_a_dropped_connection_is_retried_on_a_new_one(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    people = ["a@example.test", "b@example.test"]
    config = sending_config(tmp_path, url, smtp_server, people)
    smtp_server.handler.drop_once.add("a@example.test")
    settings = load_settings(config)
    with State.open(settings.database) as state:
        report = send_to_list(settings, state, sending())
    assert [r.status for r in report.results] == [SendStatus.SENT, SendStatus.SENT]
    assert report.results[0].attempts == 2
    assert smtp_server.handler.sessions == 2
    assert [len(smtp_server.handler.to(p)) for p in people] == [1, 1]


@pytest.mark.skipif(ON_POSTGRES, reason="a SQLite trigger plays the failing write")
def test_a_mark_that_cannot_be_written_before_the_final_dot_sends_no_message(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """The row is marked before the final dot; when that write fails the dot never goes,
    the server drops the message, and the connection is closed at once (a QUIT sent in
    the middle of DATA would be read as message text, and its answer waited for)."""
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    people = ["a@example.test", "b@example.test", "c@example.test"]
    config = sending_config(tmp_path, url, smtp_server, people, smtp={"timeout": 20})
    settings = load_settings(config)
    with State.open(settings.database) as state:
        state.execute(
            "CREATE TRIGGER full BEFORE UPDATE ON outbox WHEN NEW.status = 'sent'"
            " AND NEW.recipient = 'b@example.test' BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
        started = time.monotonic()
        with pytest.raises(IntegrityError, match="disk full"):
            send_to_list(settings, state, sending())
        assert time.monotonic() - started < 10  # not the 20 s of a QUIT read as text
        assert [len(smtp_server.handler.to(p)) for p in people] == [1, 0, 0]
        state.execute("DROP TRIGGER full")
        report = send_to_list(settings, state, sending())
    assert [r.recipient for r in report.results] == people[1:]
    assert [len(smtp_server.handler.to(p)) for p in people] == [1, 1, 1]


def test_deferred_recipient_stays_pending_and_the_next_run_sends_only_to_them(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], wall_clock(), timedelta(days=1))
    people = ["a@example.test", "slow@example.test", "c@example.test"]
    config = sending_config(tmp_path, url, smtp_server, people, smtp={"attempts": 2})
    smtp_server.handler.temporary["slow@example.test"] = 5
    code, out, _ = run("send", "-c", str(config), "--verbose")
    assert code == 4
    assert "deferred: slow@example.test: 451 4.7.1 Please try again later" in out
    assert "left for the next run: 1 (slow@example.test)" in out
    smtp_server.handler.temporary.clear()
    code, out, _ = run("send", "-c", str(config), "-v")
    assert code == 0, out
    assert "resumed issue 1" in out and "sent to: slow@example.test" in out
    assert [len(smtp_server.handler.to(p)) for p in people] == [1, 1, 1]
    code, out, _ = run("issues", "-c", str(config))
    assert code == 0 and "#1 " in out and "sent 3, failed 0, pending 0, skipped 0" in out


def test_unreachable_server_leaves_everyone_pending_with_exit_4(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], wall_clock(), timedelta(days=1))
    config = sending_config(
        tmp_path, url, smtp_server, addresses(3), smtp={"port": 9, "attempts": 2}
    )
    code, out, _ = run("send", "-c", str(config), "--verbose")
    assert code == 4
    assert "deferred: reader00@example.test: connection to 127.0.0.1:9:" in out
    assert "left for the next run: 3" in out and "unreachable" in out


# issues: what counts as sent -----------------------------------------------------------------


def test_next_issue_has_only_new_entries_and_catches_up_missed_weeks(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1, 2], NOW, timedelta(days=1))
    config = sending_config(tmp_path, url, smtp_server, ["a@example.test"])
    settings = load_settings(config)
    with State.open(settings.database) as state:
        first = send_to_list(settings, state, sending()).issue
    assert first is not None and len(first.entry_ids) == 2

    # `build` and a dry run change nothing; three weeks pass with one story a week
    later = NOW + timedelta(weeks=3)
    weekly = [story(1, NOW - timedelta(days=1)), story(2, NOW - timedelta(days=1))]
    weekly += [story(10 + week, NOW + timedelta(weeks=week, hours=1)) for week in range(3)]
    feed_server.serve("/news.xml", rss(*weekly))
    # as of `later`: the CLI's clock is the real one, and these stories are dated from NOW
    assert run("build", "-c", str(config), "--as-of", f"{later:%Y-%m-%dT%H:%M}")[0] == 0
    with State.open(settings.database) as state:
        second = send_to_list(settings, state, sending(later)).issue
        assert last_issue(state) == second
    assert second is not None and second.number == 2
    assert second.period_start == first.period_end  # from where the last issue ended
    assert len(second.entry_ids) == 3  # weeks 0, 1 and 2: nothing dropped, nothing repeated
    assert not set(second.entry_ids) & set(first.entry_ids)
    text = smtp_server.handler.received[1].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Story 10" in text and "Story 12" in text and "Story 1:" not in text


def test_the_same_story_under_a_new_id_is_not_sent_again(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(hours=1))
    config = sending_config(tmp_path, url, smtp_server, ["a@example.test"])
    settings = load_settings(config)
    with State.open(settings.database) as state:
        send_to_list(settings, state, sending())
        # re-published a minute "later" with a new GUID and a tracking parameter
        item = story(1, NOW + timedelta(minutes=5)).replace(
            "<guid>https://news.example/story-1</guid>", "<guid>new-guid-1</guid>"
        )
        item = item.replace(
            "<link>https://news.example/story-1</link>",
            "<link>https://news.example/story-1?utm_source=x</link>",
        )
        feed_server.serve("/news.xml", rss(item))
        report = send_to_list(settings, state, sending(NOW + timedelta(hours=1)))
    assert report.issue is None and report.note.startswith("nothing new since issue 1")
    assert smtp_server.handler.count() == 1


def test_nothing_new_sends_nothing_unless_configured(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], wall_clock(), timedelta(days=1))
    config = sending_config(tmp_path, url, smtp_server, ["a@example.test"])
    assert run("send", "-c", str(config))[0] == 0
    code, out, _ = run("send", "-c", str(config))
    assert code == 0 and out.startswith("nothing new since issue 1 (") and "nothing sent" in out
    assert smtp_server.handler.count() == 1

    eager = sending_config(tmp_path, url, smtp_server, ["a@example.test"], send_when_empty=True)
    code, out, _ = run("send", "-c", str(eager))
    assert code == 0 and "issue 2" in out and "0 stories" in out
    assert smtp_server.handler.count() == 2


def test_a_test_send_leaves_the_entries_for_the_real_issue(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1, 2], NOW, timedelta(days=1))
    config = sending_config(tmp_path, url, smtp_server, ["a@example.test", "b@example.test"])
    settings = load_settings(config)
    with State.open(settings.database) as state:
        test = send_test(settings, state, ["a@example.test"], sending())
        assert last_issue(state) is None
        real = send_to_list(settings, state, sending())
    assert test.test and [r.status for r in test.results] == [SendStatus.SENT]
    assert real.issue is not None and len(real.issue.entry_ids) == 2
    first, second = smtp_server.handler.to("a@example.test")
    assert first.message["Subject"] == second.message["Subject"]
    # a receiver that drops repeated Message-IDs must not drop the real issue
    assert first.message["Message-ID"] != second.message["Message-ID"]


def test_cli_send_to_one_address_delivers_and_marks_nothing(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], wall_clock(), timedelta(hours=2))
    config = sending_config(tmp_path, url, smtp_server, ["a@example.test", "b@example.test"])
    code, out, _ = run("send", "-c", str(config), "--to", "you@example.test")
    assert code == 0, out
    assert out.startswith("test send of the next issue «Test Digest — week of")
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [("you@example.test",)]
    code, out, _ = run("issues", "-c", str(config))
    assert out == "no issue yet\n"
    code, _, err = run("send", "-c", str(config), "--to", "not-an-address")
    assert code == 2 and "--to: not an email address: 'not-an-address'" in err


def test_send_to_the_whole_list_by_hand_is_a_real_issue(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], wall_clock(), timedelta(hours=2))
    config = sending_config(tmp_path, url, smtp_server, ["a@example.test"])
    code, out, _ = run("send", "-c", str(config), "--to", "A@example.test")
    assert code == 0 and out.startswith("issue 1 «")


def test_dry_run_writes_eml_files_and_sends_nothing(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], wall_clock(), timedelta(hours=2))
    config = sending_config(tmp_path, url, smtp_server, ["a@example.test", "b@example.test"])
    code, out, _ = run("send", "-c", str(config), "--dry-run")
    assert code == 0 and "nothing sent" in out
    files = sorted((tmp_path / "out" / "eml" / "issue-1").glob("*.eml"))
    assert [f.name for f in files] == ["a@example.test.eml", "b@example.test.eml"]
    message = message_from_bytes(files[1].read_bytes(), policy=policy.default)
    assert message["To"] == "b@example.test" and message.is_multipart()
    assert smtp_server.handler.count() == 0
    assert run("issues", "-c", str(config))[1] == "no issue yet\n"


def test_build_eml_writes_the_message_and_marks_nothing(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    config = sending_config(tmp_path, url, smtp_server, ["a@example.test"])
    code, out, _ = run("build", "-c", str(config), "--as-of", "2026-11-25", "--eml")
    assert code == 0 and out.rstrip().endswith("digest.eml")
    raw = (tmp_path / "out" / "digest.eml").read_bytes()
    message: EmailMessage = message_from_bytes(raw, policy=policy.default)  # type: ignore[assignment]
    assert message["To"] == "a@example.test"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert max(len(line) for line in encoded_lines(raw)) <= 76
    assert run("issues", "-c", str(config))[1] == "no issue yet\n"


def test_resend_reaches_a_failed_recipient_and_never_repeats_a_delivered_one(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], wall_clock(), timedelta(days=1))
    config = sending_config(tmp_path, url, smtp_server, ["a@example.test", "full@example.test"])
    smtp_server.handler.permanent.add("full@example.test")
    assert run("send", "-c", str(config))[0] == 4
    smtp_server.handler.permanent.clear()
    settings = load_settings(config)
    with State.open(settings.database) as state:  # a 550 at RCPT suppressed the address
        refused = resend(settings, state, 1, ["full@example.test"], sending())
    assert refused.results == () and "suppressed, not sent: full@example.test" in refused.note
    assert run("suppressed", "remove", "full@example.test", "-c", str(config))[1] == (
        "lifted: full@example.test\n"
    )
    with State.open(settings.database) as state:
        report = resend(settings, state, 1, None, sending())
    assert [r.recipient for r in report.results] == ["full@example.test"]
    assert "already sent to a@example.test: not sent again" in report.note
    assert [len(smtp_server.handler.to(p)) for p in settings.recipients] == [1, 1]
    code, _, err = run("send", "-c", str(config), "--resend", "7")
    assert code == 2 and "--resend 7: no such issue" in err


# the claim ------------------------------------------------------------------------------------


def test_rows_claimed_by_a_live_process_are_left_to_it_until_its_lease_runs_out(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    people = ["a@example.test", "b@example.test", "c@example.test"]
    config = sending_config(tmp_path, url, smtp_server, people)
    settings = load_settings(config)
    with State.open(settings.database) as state:
        draft = draft_issue(settings, state, NOW, sending())
        assert draft is not None
        issue = create_issue(state, draft, settings.recipients)
        assert issue is not None
        assert create_issue(state, draft, settings.recipients) is None  # stale draft: refused
        held = claim_rows(state, 1, "", "elsewhere:1:live", NOW, limit=2)  # another host
        assert [row.recipient for row in held] == people[:2]
        report = deliver_issue(settings, state, issue, sending())
        assert [r.recipient for r in report.results] == ["c@example.test"]  # joins the batch
        assert report.pending == ()  # what is left is the other sender's
        assert report.note == "the rest is being sent by another process: elsewhere:1 (2)"
        # its lease runs out (it died on another machine): the rows are taken over
        later = deliver_issue(settings, state, issue, sending(NOW + LEASE + timedelta(seconds=1)))
    assert [r.recipient for r in later.results] == people[:2]
    assert sorted(r.rcpt_tos[0] for r in smtp_server.handler.received) == people


def test_a_claim_by_a_dead_process_on_this_host_is_taken_over(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    import socket

    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    config = sending_config(tmp_path, url, smtp_server, ["a@example.test"])
    settings = load_settings(config)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    with State.open(settings.database) as state:
        draft = draft_issue(settings, state, NOW, sending())
        assert draft is not None and create_issue(state, draft, settings.recipients)
        dead_owner = f"{socket.gethostname()}:{dead.stdout.strip()}:x"
        assert len(claim_rows(state, 1, "", dead_owner, NOW)) == 1
        report = send_to_list(settings, state, sending())
    assert [r.status for r in report.results] == [SendStatus.SENT]


# config ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"recipients": ["a@example.test", "nobody"]},
            r"recipients\[1\]: not an email address: 'nobody'",
        ),
        (
            {"recipients": ["a@example.test", "A@example.test"]},
            r"recipients: 'A@example.test' is listed twice",
        ),
        ({"schedule": {"cron": "0 7 * *"}}, r"schedule\.cron: bad cron expression '0 7 \* \*'"),
        ({"subject": "{title} {week}"}, r"subject: bad placeholder 'week' in the subject"),
        ({"unsubscribe": {"url": "ftp://x.test/u"}}, r"unsubscribe\.url: must be an http\(s\) URL"),
        (
            {"smtp": {"host": "h", "from": "x@y.test", "sender": "z@y.test"}},
            r"smtp\.sender: unknown key",
        ),
        ({"smtp": {"host": "h", "from": "x@y.test", "security": "tls"}}, r"smtp\.security: "),
    ],
)
def test_bad_sending_settings_are_one_line_errors(
    tmp_path: Path, extra: dict[str, object], message: str
) -> None:
    from conftest import write_config

    from digest.errors import ConfigError

    config = write_config(tmp_path, [{"name": "A", "url": "https://a.example/f"}], **extra)
    with pytest.raises(ConfigError, match=message):
        load_settings(config)


def test_password_comes_from_the_environment_only(
    monkeypatch: pytest.MonkeyPatch,
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    config = sending_config(
        tmp_path, url, smtp_server, ["a@example.test"], smtp={"password_env": "DIGEST_TEST_PW"}
    )
    monkeypatch.delenv("DIGEST_TEST_PW", raising=False)
    code, _, err = run("send", "-c", str(config))
    assert code == 2 and "environment variable DIGEST_TEST_PW is not set" in err
    assert smtp_server.handler.count() == 0
    assert rows(tmp_path / "state.sqlite3", "SELECT COUNT(*) FROM issues") == [(0,)]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_login_with_the_password_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, feed_server: FeedServer, tmp_path: Path
) -> None:
    from smtp_server import start_server

    controller, server = start_server(password="s3cret")
    try:
        url = serve_stories(feed_server, [1], wall_clock(), timedelta(hours=2))
        login = {"username": "digest", "password_env": "DIGEST_TEST_PW"}
        config = sending_config(tmp_path, url, server, ["a@example.test"], smtp=login)
        monkeypatch.setenv("DIGEST_TEST_PW", "wrong")
        code, out, _ = run("send", "-c", str(config), "--verbose")
        assert code == 4 and "error: SMTP server 127.0.0.1:" in out and "refused us: 535" in out
        assert "left for the next run: 1 (a@example.test)" in out
        assert server.handler.count() == 0
        monkeypatch.setenv("DIGEST_TEST_PW", "s3cret")
        code, out, _ = run("send", "-c", str(config), "--verbose")
        assert code == 0 and "resumed issue 1" in out and "sent to: a@example.test" in out
        assert server.handler.count() == 1
    finally:
        controller.stop()


def test_many_processes_opening_a_new_state_database_at_once_all_succeed(tmp_path: Path) -> None:
    """Two schedulers starting together both find the database new: both must open it."""
    script = (
        "import sys; from pathlib import Path; from digest.state import State; "
        "State.open(Path(sys.argv[1])).close()"
    )
    env = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path / "new.sqlite3")],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    errors = [process.communicate(timeout=60)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * 6, errors
    assert rows(tmp_path / "new.sqlite3", "SELECT version FROM schema_version") == [(VERSION,)]


def test_default_subject_counts_one_story_and_many() -> None:
    from datetime import UTC, datetime

    from digest.config.settings import Settings
    from digest.sending.message import subject_line

    template = Settings.model_fields["subject"].default
    period = (datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))
    one = subject_line(template, "Digest", (1, 1), period, UTC)
    many = subject_line(template, "Digest", (5, 2), period, UTC)
    assert (one, many) == (
        "Digest — week of 25 Nov 2026, 1 story",
        "Digest — week of 25 Nov 2026, 5 stories",
    )


def test_a_send_names_each_feed_that_failed(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    import yaml

    url = serve_stories(feed_server, [1], wall_clock(), timedelta(hours=2))
    config = sending_config(tmp_path, url, smtp_server, ["a@example.test"])
    document = yaml.safe_load(config.read_text())
    document["feeds"].append({"name": "Gone", "url": feed_server.url("/gone.xml")})
    config.write_text(yaml.safe_dump(document, sort_keys=False))
    code, out, err = run("send", "-c", str(config))
    assert code == 0, out
    assert "  failed: Gone: HTTP 404 Not Found; check the URL" in err
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [("a@example.test",)]


def test_a_new_post_on_the_page_of_a_sent_one_still_goes_out(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """A feed whose posts are anchors of one page (no GUIDs): the page's link was sent, but
    a new post there, under its own title, is new (issue 18)."""
    day = "https://blog.example/2026/11/24.html"

    def post(anchor: str, title: str, published: datetime) -> str:
        return (
            f"<item><title>{title}</title><link>{day}#{anchor}</link>"
            f"<pubDate>{format_datetime(published)}</pubDate>"
            f"<description>{title}. A short post of the day.</description></item>"
        )

    first = post("a1", "Morning note", NOW - timedelta(hours=3))
    url = feed_server.serve("/news.xml", rss(first))
    config = sending_config(tmp_path, url, smtp_server, ["a@example.test"])
    settings = load_settings(config)
    with State.open(settings.database) as state:
        send_to_list(settings, state, sending())
        second = post("a2", "Evening note", NOW + timedelta(minutes=30))
        feed_server.serve("/news.xml", rss(second, first))
        report = send_to_list(settings, state, sending(NOW + timedelta(hours=1)))
    assert report.issue is not None and len(report.issue.entry_ids) == 1
    text = smtp_server.handler.received[1].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Evening note" in text and "Morning note" not in text
