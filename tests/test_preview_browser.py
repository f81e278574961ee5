"""Real headless Chromium (Debian's /usr/bin/chromium) drives `digest preview` on the bundled
sample digest. The screenshots in docs/screenshots/ (and in the README) are written here."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from chromium import SCREENSHOTS, needs_chromium
from conftest import REPO
from playwright.sync_api import Browser, Page, expect

from digest.config.load import load_settings
from digest.web.preview_server import PreviewServer, start_preview

pytestmark = pytest.mark.browser
needs_chromium()

DARK_CONTAINER = "rgb(27, 30, 34)"  # #1b1e22, style.css's dark-mode container
LIGHT_CONTAINER = "rgb(255, 255, 255)"


@pytest.fixture
def sample_site(tmp_path: Path) -> Path:
    """A copy of the bundled config, samples and theme: edits here never touch the repo."""
    if not any((REPO / "samples").glob("*")):
        pytest.skip("samples/ is not in this checkout")
    for name in ("config.yaml", "samples", "templates"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    return tmp_path / "config.yaml"


@pytest.fixture
def preview(sample_site: Path) -> Iterator[PreviewServer]:
    settings = load_settings(sample_site)
    as_of = datetime(2026, 11, 25, 23, 59, 59, tzinfo=settings.zone)
    server = start_preview(sample_site, lambda: as_of)
    yield server
    server.stop()


def open_page(
    browser: Browser, url: str, width: int, dark: bool = False, height: int = 900
) -> Page:
    context = browser.new_context(
        viewport={"width": width, "height": height},
        color_scheme="dark" if dark else "light",
        device_scale_factor=1,
    )
    page = context.new_page()
    page.goto(url)
    return page


def no_sideways_scroll(page: Page) -> bool:
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def background(page: Page, selector: str) -> str:
    return str(page.eval_on_selector(selector, "e => getComputedStyle(e).backgroundColor"))


def test_overview_shows_the_digest_and_its_health(browser: Browser, preview: PreviewServer) -> None:
    page = open_page(browser, preview.url, 1200)
    expect(page.locator("#health")).to_contain_text("of Gmail's 102 KB clip")
    rows = page.locator("#feeds tr")
    expect(rows).to_have_count(4)  # a header row and the three sample feeds
    for name in ("Lab Notes", "Signal & Noise", "The Long Read"):
        expect(page.locator("#feeds")).to_contain_text(name)
    expect(page.locator("#feeds td.bad")).to_have_count(0)
    full = page.frame_locator("iframe#full")
    expect(full.locator("h1.title")).to_have_text("The Weekly Digest")
    expect(full.locator(".item-title").first).to_be_visible()
    expect(full.get_by_role("link", name="Mouse Eggs Made with Stem Cells")).to_be_visible()
    expect(full.locator(".preheader")).to_be_hidden()
    narrow = page.frame_locator("iframe#narrow")
    expect(narrow.locator("h1.title")).to_have_text("The Weekly Digest")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # The build time and temporary path change every run; the picture in the README should not.
    page.eval_on_selector(".build-stamp", "e => { e.textContent = 'built from config.yaml'; }")
    page.screenshot(path=str(SCREENSHOTS / "preview.png"))
    page.context.close()


def test_screenshots_at_600_and_375_px_and_in_dark_mode(
    browser: Browser, preview: PreviewServer
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    email = preview.url + "email"

    # the top of the email (masthead, contents, first stories): the README's pictures
    wide = open_page(browser, email, 600, height=1500)
    assert no_sideways_scroll(wide)
    assert background(wide, ".container") == LIGHT_CONTAINER
    expect(wide.locator("h1.title")).to_have_text("The Weekly Digest")
    wide.screenshot(path=str(SCREENSHOTS / "digest-600.png"))
    wide_scrolls_down = wide.evaluate("document.documentElement.scrollHeight > innerHeight")
    wide.context.close()

    phone = open_page(browser, email, 375, height=1300)
    assert no_sideways_scroll(phone), "the email scrolls sideways at 375 px"
    width = phone.eval_on_selector(".container", "e => e.getBoundingClientRect().width")
    assert width <= 375  # the mobile query took the 600 px container down
    assert phone.eval_on_selector("h1.title", "e => getComputedStyle(e).fontSize") == "26px"
    phone.screenshot(path=str(SCREENSHOTS / "digest-375.png"))
    phone_scrolls_down = phone.evaluate("document.documentElement.scrollHeight > innerHeight")
    phone.context.close()

    dark = open_page(browser, email, 600, dark=True, height=1500)
    assert background(dark, ".container") == DARK_CONTAINER
    assert background(dark, "body") == "rgb(17, 19, 21)"
    title = dark.eval_on_selector("h1.title", "e => getComputedStyle(e).color")
    assert title == "rgb(232, 230, 225)"  # light text on the dark container
    dark.screenshot(path=str(SCREENSHOTS / "digest-dark.png"))
    dark.context.close()

    assert phone_scrolls_down and wide_scrolls_down  # the pictures show part of a long page
    for name in ("digest-600.png", "digest-375.png", "digest-dark.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000


def test_narrow_frame_beside_the_full_one_does_not_scroll_sideways(
    browser: Browser, preview: PreviewServer
) -> None:
    page = open_page(browser, preview.url, 1200)
    expect(page.frame_locator("iframe#narrow").locator("h1.title")).to_be_visible()
    narrow = page.query_selector("iframe#narrow")
    assert narrow is not None
    frame = narrow.content_frame()
    assert frame is not None
    assert frame.evaluate("document.documentElement.clientWidth") <= 375
    assert frame.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    page.context.close()


def test_editing_a_template_reloads_the_page_with_the_change(
    browser: Browser, preview: PreviewServer, sample_site: Path
) -> None:
    page = open_page(browser, preview.url, 1200)
    full = page.frame_locator("iframe#full")
    expect(full.locator("h1.title")).to_have_text("The Weekly Digest")
    page.evaluate("window.loadedBeforeTheEdit = true")

    template = sample_site.parent / "templates" / "digest.html"
    text = template.read_text()
    edited = text.replace(
        '<h1 class="title">{{ digest.title }}</h1>',
        '<h1 class="title">{{ digest.title }}, edited live</h1>',
    )
    assert edited != text
    template.write_text(edited)
    bump(template)

    expect(full.locator("h1.title")).to_have_text("The Weekly Digest, edited live", timeout=15_000)
    assert page.evaluate("window.loadedBeforeTheEdit === undefined")  # a real reload

    template.write_text(edited.replace("{{ digest.title }}, edited live", "{{ digest.title }"))
    bump(template)
    expect(page.locator("#build-error")).to_contain_text("The build failed", timeout=15_000)
    expect(page.locator("#build-error")).to_contain_text(f"{template}, line")

    template.write_text(text)
    bump(template)
    expect(full.locator("h1.title")).to_have_text("The Weekly Digest", timeout=15_000)
    page.context.close()


def test_feed_content_cannot_run_script_in_the_preview(
    browser: Browser, preview: PreviewServer
) -> None:
    page = open_page(browser, preview.url + "email", 600)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    # the policy the page runs under: an inline script injected now is refused
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.ranInjected = true'; document.head.appendChild(s); }"""
    )
    time.sleep(0.2)
    assert page.evaluate("window.ranInjected === undefined")
    assert any("Content Security Policy" in line for line in console)
    page.context.close()


def bump(path: Path) -> None:
    """A visible mtime change even on file systems with coarse timestamps."""
    stamp = time.time() + 1
    os.utime(path, (stamp, stamp))
