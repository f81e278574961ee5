"""The subscriber list on a real SQLite file: its rules (double opt-in, limits, one-click,
preferences, recipients: kept in step), signed tokens, the CSV import and export, editions
rendered once per distinct choice of sections, letters sent once, the migration in place, and
`digest subscribers`."""

from __future__ import annotations

import sqlite3  # an old state file, made as the digest of its day made it
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ON_POSTGRES, run_cli, state_at
from serve_helpers import SECTIONS, html_part, serve_config
from smtp_server import SmtpServer
from sqlalchemy.exc import IntegrityError

from digest.config.load import load_settings
from digest.sending import recipients as recipients_module
from digest.sending import signup
from digest.sending.letters import deliver_letters
from digest.sending.links import links_for
from digest.sending.roster import parse_csv
from digest.sending.send import Sending, letterhead, send_to_list, smtp_settings
from digest.sending.subscribers import (
    AddressError,
    counts,
    everyone,
    find,
    history,
    parse_address,
    readers,
)
from digest.sending.suppress import suppress
from digest.sending.tokens import Signer
from digest.state import VERSION, State
from digest.state.schema import SQLITE_HISTORY

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def state(tmp_path: Path) -> State:
    return State.open(state_at(tmp_path / "state.sqlite3"))


def address_of(text: str) -> signup.Address:
    return parse_address(text)


# addresses and tokens --------------------------------------------------------------------------


def test_addresses_are_checked_and_normalised_without_dns() -> None:
    assert parse_address("Carol Smith <Carol.Smith@Example.TEST>").header == (
        "Carol Smith <Carol.Smith@example.test>"
    )
    assert parse_address("  ana@example.org ").key == "ana@example.org"
    for bad, reason in [
        ("nobody", "An email address must have an @-sign"),
        ("a@localhost", "should have a period"),
        ("a@b.invalid", "special-use or reserved name"),
        ("x\r\nBcc: y@example.org", "not an email address"),
    ]:
        with pytest.raises(AddressError, match=reason):
            parse_address(bad)


def test_tokens_name_their_reader_and_nothing_else_reads_as_theirs() -> None:
    signer = Signer(b"k" * 32, "list-1")
    token = signer.manage_token(42)
    assert signer.read_manage(token) == 42 and "@" not in token
    assert Signer(b"k" * 32, "list-2").read_manage(token) is None  # another list
    assert Signer(b"j" * 32, "list-1").read_manage(token) is None  # another secret
    assert signer.read_manage("43" + token[2:]) is None  # another reader's number
    assert signer.read_manage(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert signer.read_confirm(token) is None  # a manage token does not confirm
    confirm = signer.confirm_token(42, 1_900_000_000)
    assert signer.read_confirm(confirm) == (42, 1_900_000_000)
    assert signer.read_manage(confirm) is None
    later = confirm.replace("1900000000", "1999999999")  # a longer life, forged
    assert signer.read_confirm(later) is None
    for junk in ["", ".", "..", "x.y", "1.2.3.4", "١٢.abc", "9" * 30 + ".x"]:
        assert signer.read_manage(junk) is None and signer.read_confirm(junk) is None


# the rules -------------------------------------------------------------------------------------


def test_double_opt_in_one_letter_an_hour_and_nothing_for_the_suppressed(state: State) -> None:
    ana = address_of("ana@example.test")
    asked = signup.request_subscription(state, ana, ["Science"], NOW)
    assert asked is signup.Asked.CONFIRM
    again = signup.request_subscription(state, ana, None, NOW + timedelta(minutes=30))
    assert again is signup.Asked.RATE_LIMITED
    later = signup.request_subscription(state, ana, None, NOW + timedelta(minutes=61))
    assert later is signup.Asked.CONFIRM  # a pending request may ask again after the hour
    subscriber = find(state, "ana@example.test")
    assert subscriber is not None and subscriber.status == "pending"
    assert subscriber.sections is None  # the newer request's choice: every section
    assert readers(state) == []  # pending gets nothing

    assert signup.confirm(state, subscriber.id, int(NOW.timestamp()) - 1, NOW) is (
        signup.Confirmed.EXPIRED
    )
    expires = int((NOW + timedelta(hours=48)).timestamp())
    assert signup.confirm(state, subscriber.id, expires, NOW) is signup.Confirmed.DONE
    assert signup.confirm(state, subscriber.id, expires, NOW) is signup.Confirmed.ALREADY
    assert [s.email for s in readers(state)] == ["ana@example.test"]
    active = signup.request_subscription(state, ana, ["Culture"], NOW + timedelta(hours=3))
    assert active is signup.Asked.ALREADY
    kept = find(state, "ana@example.test")
    assert kept is not None and kept.status == "active" and kept.sections is None

    suppress(state, ["gone@example.test"], "bounced", NOW)
    gone = signup.request_subscription(state, address_of("gone@example.test"), None, NOW)
    assert gone is signup.Asked.SUPPRESSED and find(state, "gone@example.test") is None
    kinds = state.execute("SELECT kind FROM letters ORDER BY id").fetchall()
    assert kinds == [("confirm",), ("confirm",), ("subscribed",)]


def test_each_change_of_status_is_recorded_once_with_how_it_came(state: State) -> None:
    signup.add(state, [(address_of("ana@example.test"), None)], "import", NOW)
    (ana,) = everyone(state)
    assert signup.unsubscribe(state, ana.id, "one-click", NOW) is True
    assert signup.unsubscribe(state, ana.id, "one-click", NOW + timedelta(seconds=1)) is False
    assert signup.unsubscribe(state, 999, "one-click", NOW) is None
    back = signup.set_preferences(state, ana.id, signup.Choice(("Science",), True), NOW)
    assert back is not None and back.status == "active" and back.sections == ("Science",)
    paused = signup.set_preferences(state, ana.id, signup.Choice(None, False), NOW)
    assert paused is not None and paused.status == "paused" and paused.sections is None
    assert [(status, via) for status, via, _ in history(state, ana.id)] == [
        ("active", "import"),
        ("unsubscribed", "one-click"),
        ("active", "preferences"),
        ("paused", "preferences"),
    ]
    refused = signup.add(state, [(address_of("ana@example.test"), None)], "command", NOW)
    assert refused.refused == ["ana@example.test"]  # her own pause stands...
    signup.unsubscribe(state, ana.id, "one-click", NOW)
    refused = signup.add(state, [(address_of("ana@example.test"), None)], "command", NOW)
    assert refused.refused == ["ana@example.test"]  # ...and so does her leaving...
    forced = signup.add(state, [(address_of("ana@example.test"), None)], "command", NOW, True)
    assert forced.added == ["ana@example.test"]  # ...unless a person overrides it


def test_recipients_in_the_config_are_subscribers_kept_in_step(state: State) -> None:
    signup.sync_config(state, ["Carol <carol@example.test>", "dan@example.test"], NOW)
    assert [(s.address.header, s.via) for s in readers(state)] == [
        ("Carol <carol@example.test>", "config"),
        ("dan@example.test", "config"),
    ]
    carol = find(state, "carol@example.test")
    assert carol is not None
    signup.unsubscribe(state, carol.id, "one-click", NOW)
    signup.sync_config(state, ["carol@example.test"], NOW)  # dan left the file
    assert readers(state) == []  # carol's own choice wins over the file; dan is out
    dan = find(state, "dan@example.test")
    assert dan is not None and (dan.status, dan.via) == ("unsubscribed", "config")
    signup.sync_config(state, ["carol@example.test", "dan@example.test"], NOW)
    assert [s.email for s in readers(state)] == ["dan@example.test"]  # dan is back
    suppress(state, ["dan@example.test"], "permanent failure: 550", NOW)
    dan = find(state, "dan@example.test")
    assert dan is not None and (dan.status, dan.via) == ("suppressed", "bounce")
    assert readers(state) == [] and counts(state)["suppressed"] == 1


@pytest.mark.skipif(ON_POSTGRES, reason="a SQLite trigger plays the failing write")
def test_a_change_of_status_is_all_or_nothing(state: State) -> None:
    signup.add(state, [(address_of("ana@example.test"), None)], "import", NOW)
    state.execute(  # the second write of the change fails: the first is undone too
        "CREATE TRIGGER fail BEFORE INSERT ON subscriber_events"
        " WHEN NEW.status = 'unsubscribed' BEGIN SELECT RAISE(ABORT, 'disk'); END"
    )
    with pytest.raises(IntegrityError):
        signup.unsubscribe(state, 1, "one-click", NOW)
    ana = find(state, "ana@example.test")
    assert ana is not None and ana.status == "active"  # the update rolled back with the event
    assert len(history(state, 1)) == 1


# CSV -------------------------------------------------------------------------------------------


def test_csv_import_names_each_bad_row_by_its_line_and_keeps_the_good_ones() -> None:
    text = (
        "email,sections\n"
        "ana@example.test,Science;culture\n"
        "bad@,Science\n"
        "\n"
        "bob@example.test\n"
        "carol@example.test,Gardening\n"
        "ANA@example.test\n"
        '"dan@example.test","Technology"\n'
    )
    read = parse_csv(text, "list.csv", SECTIONS)
    assert [(a.email, s) for a, s in read.rows] == [
        ("ana@example.test", ("Science", "Culture")),
        ("bob@example.test", None),
        ("dan@example.test", ("Technology",)),
    ]
    assert read.problems == [
        "list.csv:3: 'bad@': There must be something after the @-sign",
        "list.csv:6: no section 'Gardening' (the sections: Science, Technology, Culture)",
        "list.csv:7: ANA@example.test is on an earlier line",
    ]


def test_subscribers_commands_list_add_remove_import_and_export(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    config = str(serve_config(tmp_path, smtp_server, 8080, recipients=["reader@example.test"]))
    code, out, _ = run_cli("subscribers", "-c", config)
    assert code == 0 and out.splitlines()[0] == (
        "1 subscriber: 0 pending, 1 active, 0 paused, 0 unsubscribed, 0 suppressed"
    )
    assert out.splitlines()[1].startswith("reader@example.test  active since ")
    assert out.splitlines()[1].endswith(" via config  all sections")
    code, out, _ = run_cli(
        "subscribers", "add", "-c", config, "ana@example.test", "--sections", "science,Culture"
    )
    assert (code, out) == (0, "added: ana@example.test\n")
    code, _, err = run_cli("subscribers", "add", "-c", config, "x@y", "--sections", "Sport")
    assert code == 2 and err.startswith("digest: error: ")
    (tmp_path / "list.csv").write_text("bob@example.test\nnope\nana@example.test\n")
    code, out, err = run_cli("subscribers", "import", "-c", config, str(tmp_path / "list.csv"))
    assert code == 2
    where = tmp_path / "list.csv"
    assert err == f"digest: error: {where}:2: 'nope': An email address must have an @-sign\n"
    assert out.startswith(f"{tmp_path / 'list.csv'}: 1 added, 1 already on the list, 0 ")
    code, out, _ = run_cli("subscribers", "remove", "-c", config, "bob@example.test")
    assert (code, out) == (0, "unsubscribed: bob@example.test\n")
    code, out, _ = run_cli("subscribers", "export", "-c", config)
    lines = out.splitlines()
    assert lines[0] == "email,sections,name,status,since,via,confirmed"
    assert lines[1].startswith("reader@example.test,,,active,")
    assert lines[2].startswith("ana@example.test,Culture;Science,,active,")
    assert lines[3].startswith("bob@example.test,,,unsubscribed,") and ",command," in lines[3]
    code, out, _ = run_cli("subscribers", "--status", "unsubscribed", "-c", config)
    assert out.splitlines()[1:] == [out.splitlines()[1]] and "bob@" in out.splitlines()[1]


# editions --------------------------------------------------------------------------------------


def test_an_issue_is_rendered_once_per_distinct_choice_and_each_reader_gets_theirs(
    tmp_path: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = serve_config(tmp_path, smtp_server, 8080)
    settings = load_settings(config)
    choices = {
        "s1@example.test": ("Science",),
        "s2@example.test": ("Science",),
        "s3@example.test": ("Science",),
        "tc1@example.test": ("Technology", "Culture"),
        "tc2@example.test": ("Culture", "Technology"),  # the same choice, in another order
        "all1@example.test": None,
        "all2@example.test": tuple(SECTIONS),  # every section, ticked one by one
    }
    renders: list[int] = []
    real_render = recipients_module.render
    monkeypatch.setattr(
        recipients_module,
        "render",
        lambda digest, *a, **k: renders.append(len(digest.items)) or real_render(digest, *a, **k),
    )
    with State.open(settings.database) as state:
        for email, sections in choices.items():
            signup.add(state, [(address_of(email), sections)], "import", NOW)
        report = send_to_list(settings, state, Sending(sleep=lambda _: None))
        stored = state.execute("SELECT sections FROM editions ORDER BY sections").fetchall()
    assert len(report.results) == 7 and all(r.status == "sent" for r in report.results)
    # Science, and Technology + Culture, once each; every section is the whole issue's own
    (whole,) = smtp_server.handler.to("all1@example.test")
    assert len(renders) == 2 and sum(renders) == html_part(whole.message).count('"item-title"')
    assert stored == [
        ('["Culture", "Science", "Technology"]',),
        ('["Culture", "Technology"]',),
        ('["Science"]',),
    ]

    def sections_of(email: str) -> list[str]:
        (received,) = smtp_server.handler.to(email)
        html = html_part(received.message)
        return [s for s in SECTIONS if f'id="{s.lower()}"' in html]

    assert sections_of("s2@example.test") == ["Science"]
    assert sections_of("tc2@example.test") == ["Technology", "Culture"]
    assert sections_of("all1@example.test") == sections_of("all2@example.test") == SECTIONS


def test_a_reader_whose_sections_have_no_story_gets_nothing_this_time(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    config = serve_config(tmp_path, smtp_server, 8080)
    settings = load_settings(config)
    with State.open(settings.database) as state:
        signup.add(state, [(address_of("ana@example.test"), ("Gone section",))], "import", NOW)
        signup.add(state, [(address_of("bob@example.test"), None)], "import", NOW)
        send_to_list(settings, state, Sending(sleep=lambda _: None))
        rows = state.execute("SELECT recipient, status, reply FROM outbox").fetchall()
    assert rows == [
        ("ana@example.test", "skipped", "none of their sections has a story in this issue"),
        ("bob@example.test", "sent", None),
    ]
    assert smtp_server.handler.to("ana@example.test") == []


# letters ---------------------------------------------------------------------------------------


def test_two_postmen_at_once_send_each_letter_once(tmp_path: Path, smtp_server: SmtpServer) -> None:
    settings = load_settings(serve_config(tmp_path, smtp_server, 8080))
    with State.open(settings.database) as state:
        for number in range(20):
            signup.request_subscription(state, address_of(f"r{number}@example.test"), None, NOW)
        links = links_for(settings, state)
        head = letterhead(settings, state)
    assert links is not None

    def postman() -> None:
        with State.open(settings.database) as own:
            deliver_letters(settings, own, head, links, smtp_settings(settings), lambda: NOW)

    threads = [threading.Thread(target=postman) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    received = sorted(r.rcpt_tos[0] for r in smtp_server.handler.received)
    assert received == sorted(f"r{n}@example.test" for n in range(20))
    with State.open(settings.database) as state:
        assert state.execute("SELECT DISTINCT status FROM letters").fetchall() == [("sent",)]


# the migration ---------------------------------------------------------------------------------


def test_a_database_from_before_issue_20_upgrades_in_place(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    settings = load_settings(serve_config(tmp_path, smtp_server, 8080))
    settings = settings.model_copy(update={"database_url": None})  # a file, on either run
    with sqlite3.connect(settings.state_path) as conn:
        for version, script in enumerate(SQLITE_HISTORY[:8], start=1):
            conn.executescript(f"{script}; PRAGMA user_version = {version};")
        conn.execute(
            "INSERT INTO issues (number, period_start, period_end, subject, html, text,"
            " created_at) VALUES (1, '2026-11-18T00:00:00+00:00', '2026-11-25T00:00:00+00:00',"
            " 'Old issue', '<html><body><p>x</p></body></html>', 'x', ?)",
            (NOW.isoformat(),),
        )
        conn.execute(
            "INSERT INTO outbox (issue, recipient, owed_since) VALUES (1, 'a@example.test', ?)",
            (NOW.isoformat(),),
        )
    with State.open(settings.database) as state:
        assert state.execute("SELECT version FROM schema_version").one() == (VERSION,)
        row = state.execute("SELECT recipient, status, edition FROM outbox").fetchone()
        assert row == ("a@example.test", "pending", None)  # the whole issue, as before
        signup.add(state, [(address_of("a@example.test"), None)], "import", NOW)
        report = send_to_list(settings, state, Sending(sleep=lambda _: None))
    assert report.issue is not None and report.issue.number == 1  # resumed; nothing newer
    assert [r.status for r in report.results] == ["sent"]
    (old,) = smtp_server.handler.to("a@example.test")
    assert old.message["Subject"] == "Old issue" and "/u/" in str(old.message["List-Unsubscribe"])
