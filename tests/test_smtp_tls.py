"""Sending over TLS to a real aiosmtpd server whose certificate comes from a throwaway CA
(trustme): STARTTLS, TLS from the first byte, and the refusals a user must see in one line."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner
from conftest import FeedServer
from send_helpers import outbox_counts, sending_config, serve_stories, wall_clock
from smtp_server import SmtpServer, start_server

from digest.cli.main import main

PEOPLE = ["a@example.test", "b@example.test"]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def trusting(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client trusts the test CA, as it would trust a public one (the default store)."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))


@pytest.fixture
def starttls_server(ca: trustme.CA) -> Iterator[SmtpServer]:
    controller, server = start_server(password="s3cret", tls=server_context(ca))
    yield server
    controller.stop()


@pytest.fixture
def implicit_tls_server(ca: trustme.CA) -> Iterator[SmtpServer]:
    controller, server = start_server(tls=server_context(ca), implicit_tls=True)
    yield server
    controller.stop()


def send(config: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["send", "-c", str(config)], catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def outbox(tmp_path: Path) -> dict[str, int]:
    return outbox_counts(tmp_path / "state.sqlite3")


@pytest.mark.usefixtures("trusting")
def test_starttls_then_login_delivers_encrypted(
    feed_server: FeedServer,
    starttls_server: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = serve_stories(feed_server, [1], wall_clock(), timedelta(hours=2))
    login = {"security": "starttls", "username": "digest", "password_env": "DIGEST_TEST_PW"}
    config = sending_config(tmp_path, url, starttls_server, PEOPLE, smtp=login)
    monkeypatch.setenv("DIGEST_TEST_PW", "s3cret")
    code, out = send(config)
    assert code == 0, out
    received = starttls_server.handler.received
    assert sorted(r for m in received for r in m.rcpt_tos) == PEOPLE
    assert all(m.tls for m in received)


@pytest.mark.usefixtures("trusting")
def test_tls_from_the_first_byte(
    feed_server: FeedServer, implicit_tls_server: SmtpServer, tmp_path: Path
) -> None:
    url = serve_stories(feed_server, [1], wall_clock(), timedelta(hours=2))
    config = sending_config(tmp_path, url, implicit_tls_server, PEOPLE, smtp={"security": "ssl"})
    code, out = send(config)
    assert code == 0, out
    assert [m.tls for m in implicit_tls_server.handler.received] == [True, True]


@pytest.mark.parametrize(
    ("server", "security", "says"),
    [
        ("starttls_server", "starttls", "its TLS certificate is not trusted"),
        ("smtp_server", "starttls", "does not offer STARTTLS"),
        ("smtp_server", "ssl", "TLS failed"),
    ],
    ids=["untrusted certificate", "no STARTTLS", "TLS to a plain port"],
)
def test_tls_that_cannot_work_stops_the_send_in_one_line(
    feed_server: FeedServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    server: str,
    security: str,
    says: str,
) -> None:
    """Not a flaky network: every recipient would meet the same refusal, so the batch stops
    at the first connection instead of retrying each recipient, and all stay pending."""
    smtp: SmtpServer = request.getfixturevalue(server)
    url = serve_stories(feed_server, [1], wall_clock(), timedelta(hours=2))
    config = sending_config(tmp_path, url, smtp, PEOPLE, smtp={"security": security})
    code, out = send(config)
    assert code == 4, out
    assert says in out and "Traceback" not in out
    assert smtp.handler.sessions <= 1  # one connection; no EHLO at all on the TLS port
    assert smtp.handler.count() == 0
    assert outbox(tmp_path) == {"pending": 2}
