"""Real headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by
Playwright (no browser download). The `browser` fixture (tests/conftest.py) launches one per
test module with these arguments; a module calls `needs_chromium()` first, so that it skips
where chromium is not installed (.ci/run installs it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def needs_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed at /usr/bin/chromium (.ci/run installs it)",
            allow_module_level=True,
        )
