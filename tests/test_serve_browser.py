"""A reader in real headless Chromium (Debian's /usr/bin/chromium) against `digest serve` in its
own process, mail to a real aiosmtpd: the form filled and its button pressed, the confirmation
link followed from the message received, the confirm button pressed, the issue with only their
sections, preferences, and leaving. The README's screenshots of each page are written here
(docs/screenshots/serve-*.png)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from chromium import SCREENSHOTS, needs_chromium
from playwright.sync_api import Browser, Page, expect
from serve_helpers import (
    Served,
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
from digest.sending.send import Sending, send_to_list
from digest.sending.signup import add
from digest.sending.subscribers import parse_address
from digest.state import State

pytestmark = pytest.mark.browser
needs_chromium()


@pytest.fixture
def served(tmp_path: Path, smtp_server: SmtpServer) -> Iterator[Served]:
    port = free_port()
    running = start_serve(serve_config(tmp_path, smtp_server, port), port)
    yield running
    running.stop()


def new_page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 720, "height": 760}, device_scale_factor=1)
    return context.new_page()


def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"serve-{name}.png"))


def refuses_injected_script(page: Page) -> bool:
    """The page's policy refuses a script added now (as feed content or an injection would)."""
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.ranInjected = true'; document.head.appendChild(s); }"""
    )
    time.sleep(0.2)
    ran = page.evaluate("window.ranInjected === true")
    return not ran and any("Content Security Policy" in line for line in console)


def test_a_reader_subscribes_confirms_chooses_and_leaves_in_a_browser(
    browser: Browser, served: Served, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    state_path = tmp_path / "state.sqlite3"
    page = new_page(browser)
    page.goto(served.url("subscribe"))
    assert refuses_injected_script(page)
    page.fill("#email", "ana@example.test")
    page.get_by_label("Technology").uncheck()
    shoot(page, "subscribe")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator("#sent")).to_contain_text("A message is on its way to ana@example.test")
    shoot(page, "sent")

    (letter,) = wait_for_mail(smtp_server, "ana@example.test")
    confirm = link_in(text_part(letter.message), "confirm/")
    page.goto(confirm)  # the link from the message as received
    expect(page.get_by_role("button", name="Confirm my subscription")).to_be_visible()
    assert status_of(state_path, "ana@example.test") == "pending"  # opening it changed nothing
    shoot(page, "confirm")
    page.get_by_role("button", name="Confirm my subscription").click()
    expect(page.locator("#done")).to_contain_text("You will get the next issue")
    shoot(page, "confirmed")
    assert status_of(state_path, "ana@example.test") == "active"

    settings = load_settings(tmp_path / "config.yaml")
    with State.open(settings.database) as state:
        send_to_list(settings, state, Sending(sleep=lambda _: None))
    (_, issue) = wait_for_mail(smtp_server, "ana@example.test", 2)
    html = html_part(issue.message)
    assert 'id="science"' in html and 'id="culture"' in html and 'id="technology"' not in html
    preferences = link_in(text_part(issue.message), "p/")
    unsubscribe = re.search(r"<(http://[^>]+/u/[^>]+)>", str(issue.message["List-Unsubscribe"]))
    assert unsubscribe

    page.goto(preferences)
    expect(page.get_by_label("Technology")).not_to_be_checked()
    expect(page.get_by_label("Science")).to_be_checked()
    assert "ana@example.test" not in page.content() and "a•••@example.test" in page.content()
    assert refuses_injected_script(page)
    page.get_by_label("Technology").check()
    page.get_by_label("Culture").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#saved")).to_contain_text("Saved")
    shoot(page, "preferences")
    chosen = rows(
        state_path, "SELECT sections FROM subscribers WHERE email_key = 'ana@example.test'"
    )
    assert chosen == [('["Science", "Technology"]',)]

    page.goto(unsubscribe.group(1))
    expect(page.get_by_role("button", name="Unsubscribe")).to_be_visible()
    shoot(page, "unsubscribe")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.locator("#done")).to_contain_text("No more issues")
    shoot(page, "unsubscribed")
    assert status_of(state_path, "ana@example.test") == "unsubscribed"
    via = rows(state_path, "SELECT via FROM subscribers WHERE email_key = 'ana@example.test'")
    assert via == [("page",)]  # the button, told apart from a mailbox provider's POST
    page.context.close()


def test_every_page_refuses_script_and_shows_no_other_reader(
    browser: Browser, served: Served, tmp_path: Path
) -> None:
    settings = load_settings(tmp_path / "config.yaml")
    with State.open(settings.database) as state:
        add(state, [(parse_address("bob@example.test"), None)], "import", datetime.now(UTC))
    page = new_page(browser)
    for path in ("subscribe", "nowhere", "u/1.bad", "archive/"):
        page.goto(served.url(path))
        assert refuses_injected_script(page), path
        assert "bob@" not in page.content(), path
    answer = httpx.get(served.url("subscribe"))
    assert "script-src" not in answer.headers["content-security-policy"]
    page.context.close()
