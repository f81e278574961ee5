"""Bounces and the suppression list: real bounces from flufl.bounce's own test data, bounces
written from the documented formats of Postfix, Exim, Gmail and Microsoft (tests/data/
bounces/README.md), read from a Maildir, an mbox file and standard input; a permanent failure
suppresses at once, temporary ones after N in a row; a suppressed address gets no issue until
a person lifts it."""

from __future__ import annotations

import mailbox
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import NOW, FeedServer, rows, state_at
from send_helpers import sending_config, serve_stories
from smtp_server import SmtpServer

from digest.cli.main import main
from digest.config.load import load_settings
from digest.sending.bounces import read_bounce
from digest.sending.send import Sending, send_to_list
from digest.sending.suppress import Bounce, record_bounce, suppressions
from digest.state import State

DATA = Path(__file__).parent / "data" / "bounces"
RETURN_PATH = "bounces@example.org"


@pytest.mark.parametrize(
    ("name", "address", "permanent"),
    [  # the library's own expectations (its tests/test_detectors.py)
        ("dsn_01.txt", "userx@example.com", True),
        ("dsn_05.txt", "userx@example.cz", False),  # Action: delayed
        ("dsn_10.txt", "anne.person@dom.ain", True),
        ("postfix_01.txt", "xxxxx@local.ie", True),
        ("exim_01.txt", "userx@its.example.nl", True),
        ("microsoft_01.txt", "userx@example.com", True),
        ("qmail_01.txt", "userx@example.de", True),
        ("simple_01.txt", "bbbsss@example.com", True),
    ],
)
def test_real_bounces_from_the_library_are_read(name: str, address: str, permanent: bool) -> None:
    found = read_bounce((DATA / "flufl" / name).read_bytes())
    assert found is not None
    assert (found.permanent, found.temporary) == (
        (frozenset({address}), frozenset()) if permanent else (frozenset(), frozenset({address}))
    )


@pytest.mark.parametrize(
    ("name", "permanent", "temporary", "issue", "status"),
    [
        ("postfix_failed.eml", {"ana@example.test"}, set(), 3, "5.1.1"),
        ("postfix_delayed.eml", set(), {"full@example.test"}, 3, "4.2.2"),
        ("exim_failed.eml", {"ben@example.net"}, set(), 4, "5.0.0"),
        ("gmail_failed.eml", {"cara@gmail.com"}, set(), 5, "5.1.1"),
        # forwarded: the DSN names the target, the VERP return path names our reader
        (
            "microsoft_failed.eml",
            {"dan.archive@contoso.com", "dan@contoso.com"},
            set(),
            6,
            "5.1.10",
        ),
    ],
)
def test_bounces_of_common_mtas_name_the_reader_the_kind_and_the_issue(
    name: str, permanent: set[str], temporary: set[str], issue: int, status: str
) -> None:
    found = read_bounce((DATA / "mta" / name).read_bytes(), RETURN_PATH, verp=True)
    assert found is not None
    assert (set(found.permanent), set(found.temporary), found.issue) == (
        permanent,
        temporary,
        issue,
    )
    assert found.detail.startswith(status + " ")


def test_a_message_that_is_not_a_bounce_is_not_read_as_one() -> None:
    reply = (
        b"From: ana@example.test\r\nTo: digest@example.org\r\nSubject: Re: hi\r\n\r\nThanks!\r\n"
    )
    assert read_bounce(reply, RETURN_PATH, verp=True) is None


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def test_digest_bounces_reads_a_maildir_an_mbox_and_stdin_and_counts_each_once(
    tmp_path: Path,
) -> None:
    from conftest import write_config

    config = write_config(
        tmp_path,
        [{"name": "A", "url": "https://a.example/f"}],
        bounces={"return_path": RETURN_PATH, "verp": True},
    )
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for name in ("postfix_failed.eml", "exim_failed.eml"):
        maildir.add((DATA / "mta" / name).read_bytes())
    maildir.add(b"From: a@b.test\r\nSubject: out of office\r\n\r\nAway.\r\n")
    code, out = run("bounces", str(tmp_path / "Maildir"), "-c", str(config))
    assert code == 0, out
    assert out.splitlines()[0] == (
        "3 messages read: 2 failed addresses recorded, 2 newly suppressed, 1 not bounces,"
        " 0 read before"
    )
    code, out = run("bounces", str(tmp_path / "Maildir"), "-c", str(config))
    assert "0 failed addresses recorded" in out and "2 read before" in out  # counted once

    box = mailbox.mbox(tmp_path / "bounces.mbox")
    box.add((DATA / "mta" / "gmail_failed.eml").read_bytes())
    box.add((DATA / "flufl" / "dsn_05.txt").read_bytes())
    box.close()
    code, out = run("bounces", str(tmp_path / "bounces.mbox"), "-c", str(config))
    assert out.startswith("2 messages read: 2 failed addresses recorded, 1 newly suppressed")

    code, out = run(
        "bounces", "-c", str(config), stdin=(DATA / "mta" / "microsoft_failed.eml").read_bytes()
    )
    assert out.startswith("1 message read: 2 failed addresses recorded, 2 newly suppressed")
    code, out = run("suppressed", "-c", str(config))
    listed = [line.split()[0] for line in out.splitlines()]
    assert sorted(listed) == sorted(
        ["ana@example.test", "ben@example.net", "cara@gmail.com", "dan@contoso.com",
         "dan.archive@contoso.com"]
    )  # fmt: skip
    assert "permanent failure: 5.1.1 Undelivered Mail Returned to Sender" in out


def test_temporary_bounces_suppress_after_n_in_a_row_and_an_issue_without_one_breaks_it(
    tmp_path: Path,
) -> None:
    state = State.open(state_at(tmp_path / "s.sqlite3"))
    with state.transaction() as conn:
        for number in range(1, 7):
            conn.execute(
                "INSERT INTO issues (number, period_start, period_end, subject, html, text,"
                " created_at) VALUES (:n, '', '', 'S', '', '', '')",
                {"n": number},
            )
        for number in range(1, 6):
            conn.execute(
                "INSERT INTO outbox (issue, recipient, status) VALUES (:n, 'Full <full@x.test>',"
                " 'sent')",
                {"n": number},
            )

    def temporary(issue: int, when: int) -> bool:
        bounce = Bounce("full@x.test", False, "4.2.2 mailbox full", issue)
        return record_bounce(state, bounce, 3, NOW + timedelta(days=when))

    assert [temporary(1, 0), temporary(2, 7)] == [False, False]
    assert temporary(4, 21) is False  # issue 3 went out without a bounce: the row starts again
    assert temporary(5, 28) is False  # 4, 5: two in a row
    state.execute("INSERT INTO outbox (issue, recipient, status) VALUES (6, 'full@x.test', 'sent')")
    assert temporary(6, 35) is True  # 4, 5, 6: three in a row
    assert suppressions(state)[0].reason.startswith("3 temporary failures in a row")
    state.close()


def test_a_suppressed_address_gets_no_issue_until_lifted(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], NOW, timedelta(days=1))
    people = ["a@example.test", "gone@example.test"]
    config = sending_config(tmp_path, url, smtp_server, people)
    smtp_server.handler.permanent.add("gone@example.test")  # 550 at RCPT: suppressed at once
    settings = load_settings(config)
    with State.open(settings.database) as state:
        send_to_list(settings, state, Sending(clock=lambda: NOW, sleep=lambda _: None))
    smtp_server.handler.permanent.clear()
    _, out = run("suppressed", "-c", str(config))
    assert out.startswith("gone@example.test  since ") and "550 5.1.1" in out
    serve_stories(feed_server, [2], NOW + timedelta(days=7), timedelta(days=1))
    with State.open(settings.database) as state:
        send_to_list(settings, state, Sending(clock=lambda: NOW + timedelta(days=7)))
    queued = rows(tmp_path / "state.sqlite3", "SELECT issue, recipient FROM outbox ORDER BY id")
    assert queued == [(1, "a@example.test"), (1, "gone@example.test"), (2, "a@example.test")]
    assert run("suppressed", "remove", "GONE@example.test", "-c", str(config))[1] == (
        "lifted: GONE@example.test\n"
    )
    serve_stories(feed_server, [3], NOW + timedelta(days=14), timedelta(days=1))
    with State.open(settings.database) as state:
        report = send_to_list(settings, state, Sending(clock=lambda: NOW + timedelta(days=14)))
    assert [r.recipient for r in report.results] == people
    assert len(smtp_server.handler.to("gone@example.test")) == 1
