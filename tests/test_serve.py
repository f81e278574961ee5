"""`digest serve` over real HTTP: the command in its own process on loopback (uvicorn), mail to a
real aiosmtpd server, the state a real SQLite file. The list's whole life: subscribe, the
confirmation letter (once, within seconds), confirm, an issue of only the reader's sections,
the one-click unsubscribe as a mailbox provider makes it; and everything that must fail."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from conftest import state_at
from serve_helpers import (
    SECTIONS,
    Served,
    csrf_of,
    free_port,
    html_part,
    link_in,
    rows,
    serve_config,
    start_serve,
    status_of,
    text_part,
    wait_for_mail,
)
from smtp_server import SmtpServer

from digest.config.load import load_settings
from digest.sending.links import Links, links_for
from digest.sending.send import Sending, send_to_list
from digest.sending.signup import add
from digest.sending.subscribers import parse_address
from digest.state import State

PUBLIC = "https://news.example.test/"
ONE_CLICK = b"List-Unsubscribe=One-Click"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def behind_proxy(tmp_path: Path, smtp_server: SmtpServer, port: int) -> Iterator[Served]:
    """Readers reach https://news.example.test/; a proxy on this machine passes it on."""
    config = serve_config(
        tmp_path, smtp_server, port, PUBLIC, serve={"trusted_proxies": ["127.0.0.1"]}
    )
    served = start_serve(config, port)
    yield served
    served.stop()


@pytest.fixture
def local(tmp_path: Path, smtp_server: SmtpServer, port: int) -> Iterator[Served]:
    """Served on its own loopback URL, as `digest serve` on the bundled config."""
    served = start_serve(serve_config(tmp_path, smtp_server, port), port)
    yield served
    served.stop()


def on_loopback(served: Served, public_link: str) -> str:
    """What the proxy does: the public URL's path, asked of the server behind it."""
    return served.base + public_link.removeprefix(PUBLIC)


def form_page(client: httpx.Client, url: str) -> tuple[str, str]:
    """(the page's CSRF field, its cookie): read by hand, as the cookie is Secure under an
    https public URL and this client talks plain http to the server behind the proxy."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    cookie = re.search(r"digest_csrf=([^;]+)", page.headers.get("set-cookie", ""))
    assert cookie, page.headers
    return csrf_of(page.text), cookie.group(1)


def links_of(tmp_path: Path) -> Links:
    settings = load_settings(tmp_path / "config.yaml")
    with State.open(settings.database) as state:
        links = links_for(settings, state)
    assert links is not None
    return links


def send_issue(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "config.yaml")
    with State.open(settings.database) as state:
        send_to_list(settings, state, Sending(sleep=lambda _: None))


def on_the_list(tmp_path: Path, *addresses: str, sections: tuple[str, ...] | None = None) -> None:
    """Readers added by hand (`digest subscribers add`)."""
    with State.open(state_at(tmp_path / "state.sqlite3")) as state:
        wanted = [(parse_address(address), sections) for address in addresses]
        add(state, wanted, "command", datetime.now(UTC))


def section_titles(message: EmailMessage) -> list[str]:
    return re.findall(r'<h2 class="section-title"[^>]*>([^<]+)</h2>', html_part(message))


def subscribe_and_confirm(
    client: httpx.Client, behind_proxy: Served, smtp_server: SmtpServer, state_path: Path
) -> None:
    csrf, cookie = form_page(client, behind_proxy.url("subscribe"))
    asked = time.monotonic()
    answer = client.post(
        behind_proxy.url("subscribe"),
        data={
            "email": "Ana@Example.test",
            "choosing": "sections",
            "sections": ["Science", "Culture"],
            "csrf": csrf,
        },
        headers={"Cookie": f"digest_csrf={cookie}", "X-Forwarded-Proto": "https"},
    )
    assert answer.status_code == 200 and 'id="sent"' in answer.text
    assert status_of(state_path, "ana@example.test") == "pending"

    (letter,) = wait_for_mail(smtp_server, "Ana@example.test")
    assert time.monotonic() - asked < 5, "the confirmation letter took over 5 s"
    message = letter.message
    assert message["Subject"] == "Confirm your subscription to The Weekly Digest"
    assert message["Auto-Submitted"] == "auto-generated"
    confirm = link_in(text_part(message), "confirm/")
    assert confirm.startswith(PUBLIC + "confirm/") and "example" not in confirm.split("/")[-1]
    assert confirm in html_part(message)

    for _ in range(3):  # a link scanner follows the link: it changes nothing
        assert client.get(on_loopback(behind_proxy, confirm)).status_code == 200
    assert status_of(state_path, "ana@example.test") == "pending"
    csrf, cookie = form_page(client, on_loopback(behind_proxy, confirm))
    refused = client.post(on_loopback(behind_proxy, confirm), data={"csrf": "forged"})
    assert refused.status_code == 403 and status_of(state_path, "ana@example.test") == "pending"
    done = client.post(
        on_loopback(behind_proxy, confirm),
        data={"csrf": csrf},
        headers={"Cookie": f"digest_csrf={cookie}"},
    )
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert status_of(state_path, "ana@example.test") == "active"
    time.sleep(0.5)
    assert len(smtp_server.handler.to("Ana@example.test")) == 1  # the letter went once


def test_subscribe_confirm_get_only_your_sections_and_leave_with_one_click(
    behind_proxy: Served, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    state_path = tmp_path / "state.sqlite3"
    with httpx.Client(timeout=10) as client:
        subscribe_and_confirm(client, behind_proxy, smtp_server, state_path)
    on_the_list(tmp_path, "all@example.test")
    send_issue(tmp_path)
    (issue,) = wait_for_mail(smtp_server, "Ana@example.test", 2)[1:]
    mail = issue.message
    assert section_titles(mail) == ["Science", "Culture"]  # only theirs, in the digest's order
    theirs = html_part(mail).count('class="item-title"')
    (everything,) = wait_for_mail(smtp_server, "all@example.test")
    assert 0 < theirs < html_part(everything.message).count('class="item-title"')
    assert mail["Subject"].endswith(f", {theirs} stories")  # their count, not the issue's
    assert section_titles(everything.message) == SECTIONS
    raw = issue.data.decode("ascii")
    unsubscribe = re.search(r"List-Unsubscribe: <mailto:[^>]+>,\r\n <(https://[^>]+)>", raw)
    assert unsubscribe, raw[:1500]
    link = unsubscribe.group(1)
    assert link.startswith(PUBLIC + "u/") and "ana" not in link.lower()
    assert "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert link in text_part(mail) and PUBLIC + "p/" in text_part(mail)
    assert "all@example.test" not in issue.data.decode("ascii")  # nobody else's data

    # the mailbox provider's POST: no cookie, the exact body, nothing else
    left = httpx.post(on_loopback(behind_proxy, link), content=ONE_CLICK, headers=FORM)
    assert left.status_code == 200  # a provider shows nobody the answer: a line of text
    assert left.text == "Unsubscribed: no more issues of The Weekly Digest.\n"
    assert "set-cookie" not in left.headers and "location" not in left.headers
    assert status_of(state_path, "ana@example.test") == "unsubscribed"
    again = httpx.post(on_loopback(behind_proxy, link), content=ONE_CLICK, headers=FORM)
    assert again.status_code == 200
    events = rows(
        state_path,
        "SELECT e.status, e.via FROM subscriber_events e JOIN subscribers s"
        " ON s.id = e.subscriber WHERE s.email_key = 'ana@example.test' ORDER BY e.id",
    )
    assert events == [("pending", "form"), ("active", "form"), ("unsubscribed", "one-click")]


def test_the_form_answers_alike_whoever_asks_and_mails_an_address_once_an_hour(
    local: Served, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    on_the_list(tmp_path, "old@example.test")
    state_path = tmp_path / "state.sqlite3"
    with httpx.Client(timeout=10) as client:

        def ask(email: str, **extra: str) -> str:
            csrf = csrf_of(client.get(local.url("subscribe")).text)
            answer = client.post(
                local.url("subscribe"), data={"email": email, "csrf": csrf, **extra}
            )
            assert answer.status_code == 200, answer.text
            return re.sub(r'value="[^"]+"', "", answer.text).replace(email, "ADDRESS")

        new, again, old = ask("new@example.test"), ask("new@example.test"), ask("old@example.test")
        assert new == again == old  # the page never tells who is on the list
        robot = ask("robot@example.test", website="http://spam.example")  # the honeypot
        assert robot == new
    assert len(wait_for_mail(smtp_server, "old@example.test")) == 1
    assert len(wait_for_mail(smtp_server, "new@example.test")) == 1
    time.sleep(1)  # the second request queued nothing: within the hour
    assert len(smtp_server.handler.to("new@example.test")) == 1
    (already,) = smtp_server.handler.to("old@example.test")
    assert already.message["Subject"] == "You are subscribed to The Weekly Digest"
    assert "/p/" in text_part(already.message)
    assert smtp_server.handler.to("robot@example.test") == []
    assert status_of(state_path, "robot@example.test") == "absent"
    assert status_of(state_path, "old@example.test") == "active"  # a stranger changed nothing


def test_one_client_is_held_to_its_hourly_subscribes(
    tmp_path: Path, smtp_server: SmtpServer, port: int
) -> None:
    config = serve_config(tmp_path, smtp_server, port, serve={"subscribes_per_hour": 3})
    served = start_serve(config, port)
    try:
        with httpx.Client(timeout=10) as client:
            codes = []
            for number in range(5):
                csrf = csrf_of(client.get(served.url("subscribe")).text)
                data = {"email": f"r{number}@example.test", "csrf": csrf}
                codes.append(client.post(served.url("subscribe"), data=data))
        assert [answer.status_code for answer in codes] == [200, 200, 200, 429, 429]
        assert int(codes[3].headers["retry-after"]) > 3000
        assert "Too many subscribe requests" in codes[3].text
    finally:
        served.stop()
    assert len(rows(tmp_path / "state.sqlite3", "SELECT id FROM subscribers")) == 3


BAD_ADDRESSES = [
    "nobody",
    "a@b",
    "two@@example.test",
    "x" * 64 + "@" + "y" * 200 + ".test",
    "ana@example.test\r\nBcc: victim@example.org",
    "ana@localhost",
    "<script>alert(1)</script>@example.test",
]


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_a_malformed_address_is_a_400_that_says_why_and_stores_nothing(
    local: Served, tmp_path: Path, address: str
) -> None:
    with httpx.Client(timeout=10) as client:
        csrf = csrf_of(client.get(local.url("subscribe")).text)
        answer = client.post(local.url("subscribe"), data={"email": address, "csrf": csrf})
    assert answer.status_code == 400
    assert 'id="problem"' in answer.text and "cannot receive mail" in answer.text
    assert "<script>" not in answer.text
    assert rows(tmp_path / "state.sqlite3", "SELECT id FROM subscribers") == []


def test_bad_requests_get_a_clear_4xx_page_and_the_server_lives_on(
    local: Served, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    on_the_list(tmp_path, "ana@example.test")
    links = links_of(tmp_path)
    good = links.unsubscribe(1).removeprefix(links.public_url)
    other_list = Links(
        links.public_url, type(links.signer)(b"x" * 32, "another"), links.confirm_lifetime
    )
    expired = links.confirm(1, datetime(2020, 1, 1, tzinfo=UTC)).removeprefix(links.public_url)
    huge = "email=" + "a" * 20_000
    cases: list[tuple[str, str, dict[str, object], int]] = [
        ("GET", "nowhere", {}, 404),
        ("GET", "u/", {}, 404),
        ("PUT", "subscribe", {}, 405),
        ("DELETE", good, {}, 405),
        ("GET", "u/garbage", {}, 400),
        ("GET", good[:-2] + "AA", {}, 400),  # tampered
        ("GET", "u/2" + good[3:], {}, 400),  # another reader's number, this reader's MAC
        ("GET", other_list.unsubscribe(1).removeprefix(links.public_url), {}, 400),
        ("GET", links.confirm(1, datetime.now(UTC)).removeprefix(links.public_url)[:-1], {}, 400),
        ("GET", expired, {}, 400),
        ("GET", "p/" + "9" * 40 + ".x", {}, 400),
        ("POST", good, {"content": b"List-Unsubscribe=Yes", "headers": FORM}, 400),
        ("POST", good, {"content": b"", "headers": FORM}, 400),
        ("POST", good, {"json": {"List-Unsubscribe": "One-Click"}}, 415),
        ("POST", "subscribe", {"content": huge.encode(), "headers": FORM}, 413),
        ("POST", "subscribe", {"content": b"\xff\xfe=\x80&email=%ZZ", "headers": FORM}, 200),
        (
            "POST",
            "subscribe",
            {"files": {"email": ("e.txt", b"x@example.test")}, "data": {"csrf": "x"}},
            400,
        ),
        (
            "POST",
            "subscribe",
            {
                "content": b'--b\r\nContent-Disposition: form-data; name="email"\r\n\r\nx',
                "headers": {"Content-Type": "multipart/form-data; boundary=b"},
            },
            200,  # cut short, read as far as it goes: no CSRF token, the form comes back
        ),
        (
            "POST",
            "subscribe",
            {"content": b"--b\r\n", "headers": {"Content-Type": "multipart/form-data"}},
            400,  # no boundary
        ),
        ("POST", "subscribe", {"content": "&".join(["a=1"] * 500), "headers": FORM}, 400),
        ("GET", "archive/../config.yaml", {}, 404),
        ("GET", "archive/", {}, 404),  # no issue yet: the folder does not exist
    ]
    for method, path, options, status in cases:
        answer = httpx.request(method, local.url(path), timeout=10, **options)  # type: ignore[arg-type]
        assert answer.status_code == status, (method, path, answer.status_code, answer.text[:300])
        assert "script-src" not in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        if status != 200:
            assert answer.headers["content-type"].startswith("text/html")
            assert 'id="error"' in answer.text and "Traceback" not in answer.text
    assert httpx.get(local.url("healthz")).text == "ok"
    assert status_of(tmp_path / "state.sqlite3", "ana@example.test") == "active"
    assert rows(tmp_path / "state.sqlite3", "SELECT COUNT(*) FROM subscriber_events") == [(1,)]
    code, _, err = local.stop()
    assert code == 0 and "Traceback" not in err and "ERROR" not in err


def test_forms_from_elsewhere_are_asked_again_here(local: Served, tmp_path: Path) -> None:
    """No cookie, a forged token, or another site's Origin: nothing happens; the subscribe
    form comes back filled in (a site's own signup form can still point here)."""
    answer = httpx.post(local.url("subscribe"), data={"email": "ana@example.test"})
    assert answer.status_code == 200 and "Press Subscribe to confirm" in answer.text
    assert 'value="ana@example.test"' in answer.text
    with httpx.Client(timeout=10) as client:
        csrf = csrf_of(client.get(local.url("subscribe")).text)
        forged = client.post(
            local.url("subscribe"),
            data={"email": "ana@example.test", "csrf": csrf},
            headers={"Origin": "https://evil.example"},
        )
        assert "Press Subscribe to confirm" in forged.text
    assert rows(tmp_path / "state.sqlite3", "SELECT id FROM subscribers") == []


def test_preferences_choose_sections_pause_come_back_and_leave(
    local: Served, tmp_path: Path
) -> None:
    on_the_list(tmp_path, "ana@example.test", "bob@example.test")
    state_path = tmp_path / "state.sqlite3"
    links = links_of(tmp_path)
    page = links.preferences(1)
    with httpx.Client(timeout=10) as client:
        shown = client.get(page)
        assert shown.status_code == 200 and "a•••@example.test" in shown.text
        assert "bob" not in shown.text and "ana@" not in shown.text  # nobody's address in full
        assert shown.headers["cache-control"] == "no-store"

        def save(**data: object) -> httpx.Response:
            csrf = csrf_of(client.get(page).text)
            form = {"csrf": csrf, "choosing": "sections", **data}
            return client.post(page, data=form)  # type: ignore[arg-type]

        assert save(sections=["Technology"], receive="yes").status_code == 200
        assert rows(state_path, "SELECT sections, status FROM subscribers WHERE id = 1") == [
            ('["Technology"]', "active")
        ]
        none = save(receive="yes")
        assert none.status_code == 400 and "at least one section" in none.text
        assert "Paused" in save(sections=SECTIONS, receive="no").text
        assert rows(state_path, "SELECT sections, status FROM subscribers WHERE id = 1") == [
            (None, "paused")
        ]
        assert save(sections=SECTIONS, receive="yes").status_code == 200
        assert status_of(state_path, "ana@example.test") == "active"
        forged = client.post(page, data={"csrf": "nope", "receive": "no", "sections": SECTIONS})
        assert forged.status_code == 403 and status_of(state_path, "ana@example.test") == "active"
        leave = client.get(links.unsubscribe(1))
        assert 'name="List-Unsubscribe" value="One-Click"' in leave.text
        gone = client.post(links.unsubscribe(1), data={"List-Unsubscribe": "One-Click"})
        assert (
            gone.status_code == 200 and status_of(state_path, "ana@example.test") == "unsubscribed"
        )
        back = save(sections=SECTIONS, receive="yes")  # their own link proves the mailbox
        assert back.status_code == 200 and status_of(state_path, "ana@example.test") == "active"
    assert status_of(state_path, "bob@example.test") == "active"


def test_many_one_clicks_at_once_each_recorded_once(local: Served, tmp_path: Path) -> None:
    readers = [f"r{n:03d}@example.test" for n in range(60)]
    on_the_list(tmp_path, *readers)
    links = links_of(tmp_path)
    urls = [links.unsubscribe(n) for n in range(1, 61)] * 4  # every reader clicks four times

    def click(url: str) -> int:
        return httpx.post(url, content=ONE_CLICK, headers=FORM, timeout=30).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(click, urls))
    assert codes == [200] * len(urls)
    events = rows(
        tmp_path / "state.sqlite3",
        "SELECT subscriber, COUNT(*) FROM subscriber_events WHERE status = 'unsubscribed'"
        " GROUP BY subscriber",
    )
    assert sorted(events) == [(n, 1) for n in range(1, 61)]


def test_an_issue_still_owed_is_not_sent_after_a_one_click(
    local: Served, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    on_the_list(tmp_path, "ana@example.test", "bob@example.test")
    smtp_server.handler.temporary["ana@example.test"] = 100  # 451 until the tries run out
    send_issue(tmp_path)
    assert rows(tmp_path / "state.sqlite3", "SELECT status FROM outbox ORDER BY id") == [
        ("pending",),
        ("sent",),
    ]
    left = httpx.post(links_of(tmp_path).unsubscribe(1), content=ONE_CLICK, headers=FORM)
    assert left.status_code == 200
    smtp_server.handler.temporary.clear()
    send_issue(tmp_path)  # resumes issue 1: ana's row is settled, not sent
    assert smtp_server.handler.to("ana@example.test") == []
    assert rows(tmp_path / "state.sqlite3", "SELECT status, reply FROM outbox ORDER BY id") == [
        ("skipped", "unsubscribed (one-click)"),
        ("sent", None),
    ]


def test_the_archive_is_served_and_the_email_links_to_it(
    local: Served, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    on_the_list(tmp_path, "ana@example.test")
    send_issue(tmp_path)
    (issue,) = wait_for_mail(smtp_server, "ana@example.test")
    page = local.url("archive/issues/1.html")
    assert f'href="{page}"' in html_part(issue.message)  # "View this issue in your browser"
    index = httpx.get(local.url("archive/"))
    assert index.status_code == 200 and 'href="issues/1.html"' in index.text
    assert "img-src https: data:" in index.headers["content-security-policy"]
    shown = httpx.get(page)
    assert shown.status_code == 200 and "Mouse Eggs Made with Stem Cells" in shown.text
    assert "ana@example.test" not in shown.text and "/u/" not in shown.text
    feed = httpx.get(local.url("archive/feed.xml"))
    assert feed.status_code == 200 and "<feed" in feed.text
    assert httpx.get(local.url("archive"), follow_redirects=False).status_code == 308


def test_sigterm_stops_cleanly_and_a_port_in_use_is_one_line(
    tmp_path: Path, smtp_server: SmtpServer, port: int
) -> None:
    config = serve_config(tmp_path, smtp_server, port)
    first = start_serve(config, port)
    second = start_serve(config, port, wait=False)
    code, out, err = second.ended()
    assert code == 2 and out == ""
    assert err == (
        f"digest: error: cannot listen on 127.0.0.1:{port}: the port is in use (another "
        "`digest serve`?); choose one with --port\n"
    )
    assert httpx.get(first.url("healthz")).text == "ok"
    code, out, err = first.stop()
    assert code == 0 and out.rstrip().endswith("stopped") and "Traceback" not in err


def test_without_public_url_only_loopback_is_served(
    tmp_path: Path, smtp_server: SmtpServer, port: int
) -> None:
    config = serve_config(tmp_path, smtp_server, port, public_url="", serve={"host": "0.0.0.0"})
    code, _, err = start_serve(config, port, wait=False).ended()
    assert code == 2 and "public_url: not set, and 0.0.0.0 is not loopback" in err


def test_a_lock_held_by_another_writer_is_waited_for_off_the_event_loop(
    local: Served, tmp_path: Path
) -> None:
    """`digest send` (here: a bare connection) holds the write lock: a one-click waits for it
    on the server's database thread, the server keeps answering meanwhile, and the
    unsubscribe lands once the lock is released."""
    import threading

    on_the_list(tmp_path, "ana@example.test")
    link = links_of(tmp_path).unsubscribe(1)
    holder = State.open(state_at(tmp_path / "state.sqlite3"))
    holder.begin()  # SQLite: the write lock; PostgreSQL: the row's lock, taken next
    holder.execute("UPDATE subscribers SET name = name WHERE id = 1")
    answers: list[int] = []
    clicking = threading.Thread(
        target=lambda: answers.append(
            httpx.post(link, content=ONE_CLICK, headers=FORM, timeout=30).status_code
        )
    )
    clicking.start()
    time.sleep(1.0)
    assert answers == []  # waiting for the lock...
    assert httpx.get(local.url("healthz"), timeout=2).text == "ok"  # ...not on the loop
    assert httpx.get(local.url("subscribe"), timeout=2).status_code == 200
    holder.commit()
    holder.close()
    clicking.join(timeout=30)
    assert answers == [200]
    assert status_of(tmp_path / "state.sqlite3", "ana@example.test") == "unsubscribed"


def test_answers_are_not_held_back_for_the_clients_ack() -> None:
    """The listening socket says it is TCP, so asyncio turns Nagle off on each connection:
    without it every answer's body waited for the client's delayed ACK (40 ms a request)."""
    import asyncio
    import socket

    from digest.web.serve import bind

    listening = bind("127.0.0.1", free_port())
    options: list[int] = []

    async def accept_one() -> None:
        class Note(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                options.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server = await asyncio.get_running_loop().create_server(Note, sock=listening)
        _, writer = await asyncio.open_connection(*listening.getsockname())
        await asyncio.sleep(0.1)
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(accept_one())
    assert options and options[0] != 0


def test_serve_with_schedule_sends_the_issue_on_time_and_stops_cleanly(
    tmp_path: Path, smtp_server: SmtpServer, port: int
) -> None:
    config = serve_config(tmp_path, smtp_server, port, schedule={"cron": "*/2 * * * * *"})
    on_the_list(tmp_path, "ana@example.test")
    served = start_serve(config, port, "--schedule")
    try:
        (issue,) = wait_for_mail(smtp_server, "ana@example.test", seconds=30)
        assert "/u/" in str(issue.message["List-Unsubscribe"])
        assert httpx.get(served.url("archive/issues/1.html")).status_code == 200
    finally:
        code, out, err = served.stop()
    assert code == 0 and "sending each issue on schedule" in out and "stopped" in out
    assert "Traceback" not in err
