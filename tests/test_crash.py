"""kill -9 in the middle of a send to 50 recipients, then re-run: each gets exactly one copy."""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import FeedServer
from send_helpers import addresses, digest_send, outbox_counts, sending_config, serve_stories
from smtp_server import SmtpServer

RECIPIENTS = 50
KILL_AFTER = 15  # messages received before the kill
MAIL_DELAY = 0.05  # seconds the server takes to answer MAIL FROM: a send takes a while


def test_kill_9_mid_send_then_rerun_delivers_exactly_one_copy_each(
    feed_server: FeedServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    url = serve_stories(feed_server, [1, 2, 3], now, timedelta(hours=3))
    people = addresses(RECIPIENTS)
    config = sending_config(tmp_path, url, smtp_server, people)
    smtp_server.handler.mail_delay = MAIL_DELAY

    first = digest_send(config)
    started = smtp_server.handler.wait_for(KILL_AFTER, timeout=60)
    time.sleep(MAIL_DELAY / 2)  # land inside a transaction, as a crash would
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=10)  # reap it (a zombie still looks alive) and close its pipes
    assert started and first.returncode == -signal.SIGKILL
    before = smtp_server.handler.count()
    marked = outbox_counts(tmp_path / "state.sqlite3")
    assert KILL_AFTER <= before < RECIPIENTS, "the kill must land in the middle of the send"
    assert marked.get("sent", 0) == before  # every accepted message was marked before the kill
    assert marked.get("pending", 0) == RECIPIENTS - before

    second = digest_send(config)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "resumed issue 1" in out
    assert f"{RECIPIENTS - before} sent" in out

    copies = Counter(r for message in smtp_server.handler.received for r in message.rcpt_tos)
    duplicates = {address: n for address, n in copies.items() if n > 1}
    print(
        f"\ncrash test: {before} received before kill -9, "
        f"{smtp_server.handler.count() - before} after the re-run, "
        f"{len(copies)} distinct recipients, {len(duplicates)} duplicates"
    )
    assert duplicates == {}
    assert sorted(copies) == sorted(people)
    assert outbox_counts(tmp_path / "state.sqlite3") == {"sent": RECIPIENTS}
    ids = {m.message["Message-ID"] for m in smtp_server.handler.received}
    assert len(ids) == RECIPIENTS  # one stable id per recipient
