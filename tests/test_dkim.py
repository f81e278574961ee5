"""DKIM: messages signed with dkimpy as received by a real SMTP server verify with dkimpy's
verifier against the public key (served by a DNS lookup function of our own: no DNS server
runs here); a change to a signed header breaks the signature; a missing or bad key is one
config error line."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from pathlib import Path

import dkim
import pytest
from conftest import NOW, FeedServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from send_helpers import sending_config, serve_stories
from smtp_server import SmtpServer

from digest.config.load import load_settings
from digest.errors import ConfigError
from digest.sending.send import Sending, send_to_list
from digest.state import State


@pytest.fixture(scope="module")
def key_pair() -> tuple[bytes, bytes]:
    """(PEM private key, the DKIM TXT record publishing its public half)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def dns(records: dict[bytes, bytes]):  # type: ignore[no-untyped-def]
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return records.get(name)

    return lookup


def test_signed_messages_verify_and_cover_the_list_headers(
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
    key_pair: tuple[bytes, bytes],
) -> None:
    pem, record = key_pair
    (tmp_path / "dkim.pem").write_bytes(pem)
    url = serve_stories(feed_server, [1, 2], NOW, timedelta(days=1))
    config = sending_config(
        tmp_path,
        url,
        smtp_server,
        ["ana@example.test", "Björn Long-Name <bjorn.with.a.long.address@example.test>"],
        unsubscribe={"url": "https://news.example.test/u?email={email}"},
        dkim={"domain": "example.test", "selector": "news2026", "private_key_file": "dkim.pem"},
    )
    settings = load_settings(config)
    with State.open(settings.database) as state:
        send_to_list(settings, state, Sending(clock=lambda: NOW, sleep=lambda _: None))
    lookup = dns({b"news2026._domainkey.example.test.": record})
    for received in smtp_server.handler.received:
        raw = received.data
        assert raw.startswith(b"DKIM-Signature: ")
        assert dkim.verify(raw, dnsfunc=lookup)
        fields = dict(dkim.util.parse_tag_value(dkim.DKIM(raw).headers[0][1]))  # type: ignore[attr-defined]
        signed = set(re.split(rb"\s*:\s*", fields[b"h"]))
        assert signed >= {
            b"from", b"subject", b"date", b"message-id", b"list-id",
            b"list-unsubscribe", b"list-unsubscribe-post",
        }  # fmt: skip
        assert fields[b"d"] == b"example.test" and fields[b"s"] == b"news2026"
        tampered = raw.replace(b"u?email=", b"u?email=x", 1)
        assert not dkim.verify(tampered, dnsfunc=lookup)
    wrong = dns({b"news2026._domainkey.example.test.": b"v=DKIM1; k=rsa; p=" + b"A" * 40})
    assert not dkim.verify(smtp_server.handler.received[0].data, dnsfunc=wrong)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, r"cannot read .*missing\.pem: No such file"),
        (b"not a key at all\n", r".*bad\.pem is not a PEM RSA private key"),
    ],
)
def test_a_missing_or_bad_key_is_one_config_error_line(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    from conftest import write_config

    name = "missing.pem" if content is None else "bad.pem"
    if content is not None:
        (tmp_path / name).write_bytes(content)
    config = write_config(
        tmp_path,
        [{"name": "A", "url": "https://a.example/f"}],
        dkim={"domain": "example.test", "selector": "s1", "private_key_file": name},
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert "\n" not in message
    assert re.match(rf".*config\.yaml:\d+: dkim\.private_key_file: {reason}", message), message
