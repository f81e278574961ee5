"""The whole job through the CLI: feeds on a loopback server -> digest.html and digest.txt."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, FeedServer, article_html, rss, rss_item, state_at, write_config

from digest.cli.main import main

HOSTILE_ITEM = rss_item(
    'Pwned<script>alert("title")</script> <img src=x onerror=alert(1)>',
    "javascript:alert('link')",
    '<p onclick="alert(2)">Text <a href="javascript:alert(3)">click</a></p>'
    '<script>alert("body")</script><iframe src="https://evil.example/"></iframe>'
    '<form action="https://evil.example/"><input name="q"></form>'
    '<p style="position:fixed;top:0;left:0;width:100%;height:100%">'
    "Overlay story body is plain text. "
    "It carries enough words to be summarized in one sentence.</p>"
    '<svg onload="alert(4)"></svg><style>body{display:none}</style>',
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_broken_feed_beside_good_ones_still_builds_and_names_the_failure(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    good = feed_server.serve(
        "/good.xml", rss(rss_item("Harbour reopens", "https://news.example/h", article_html()))
    )
    broken = feed_server.serve(
        "/broken.xml", "<rss><channel><title>x</channel", content_type="text/xml"
    )
    config = write_config(
        tmp_path, [{"name": "Good", "url": good}, {"name": "Broken", "url": broken}]
    )
    code, out, err = run("build", "-c", str(config), "--as-of", "2026-11-25")
    assert code == 0
    assert out.startswith("1 entry from 1 feed ok, 1 failed -> ")
    assert re.search(r"failed: Broken: malformed feed \(", err)
    html = (tmp_path / "out" / "digest.html").read_text()
    assert "Harbour reopens" in html


def test_every_feed_failing_is_exit_3_and_writes_nothing(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path, [{"name": "Gone", "url": feed_server.url("/gone.xml")}])
    code, _, err = run("build", "-c", str(config))
    assert code == 3
    assert err.strip().endswith("every feed failed (Gone: HTTP 404 Not Found)")
    assert not (tmp_path / "out").exists()


def test_hostile_entry_cannot_run_script(feed_server: FeedServer, tmp_path: Path) -> None:
    url = feed_server.serve("/evil.xml", rss(HOSTILE_ITEM))
    config = write_config(tmp_path, [{"name": "Evil", "url": url}])
    code, _, _ = run("build", "-c", str(config), "--as-of", "2026-11-25")
    assert code == 0
    html = (tmp_path / "out" / "digest.html").read_text().lower()
    for forbidden in (
        "<script",
        "javascript:",
        "onerror",
        "onclick",
        "onload",
        "<iframe",
        "<form",
        "<input",
        "<svg",
        "position:fixed",
        "display:none}",
    ):
        assert forbidden not in html, forbidden
    assert "pwned" in html and "overlay story body" in html


def test_config_typo_is_exit_2_with_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("feeds:\n  - name: A\n    url: https://a.example/f\nmax_entrys: 3\n")
    code, out, err = run("build", "-c", str(config))
    assert code == 2 and out == ""
    assert (
        err == f"digest: error: {config}:4: max_entrys: unknown key 'max_entrys'"
        " (did you mean 'max_entries'?)\n"
    )


def test_init_writes_a_config_that_validates(tmp_path: Path) -> None:
    target = tmp_path / "new.yaml"
    code, out, _ = run("init", str(target))
    assert code == 0 and target.exists() and "wrote" in out
    code, _, err = run("init", str(target))
    assert code == 1 and "exists" in err


def test_console_script_builds_the_bundled_samples_offline(tmp_path: Path) -> None:
    script = shutil.which("digest", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the digest console script is not installed in this environment")
    for name in ("config.yaml", "samples"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    done = subprocess.run(
        [script, "build"],  # no --as-of: the bundled config anchors its window at the newest entry
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(
        r"\d+ entries from 3 feeds ok, 0 failed -> .*digest\.html, .*digest\.txt\n", done.stdout
    )
    html = (tmp_path / "out" / "digest.html").read_text()
    assert "Mouse Eggs Made with Stem Cells" in html


FURNITURE = (
    "Register for free",
    "Speechify",
    "0:00",
    "3:00",
    "Share",
    "Interested in reading more",
    "Become a Member",
    "Related Topics",
    "Meet the Author",
    "View this Issue",
    "Sino Biological",
    "Credit:",
    "Written by",
    "min read",
    "...",
)


def test_seed_article_summary_carries_its_claim_and_no_furniture(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from digest.config.load import load_settings
    from digest.issue.pipeline import build_digest
    from digest.state import State

    settings = load_settings(REPO / "config.yaml")
    with State.open(state_at(tmp_path / "state.sqlite3")) as state:
        built = build_digest(settings, state, datetime(2026, 11, 25, 12, tzinfo=UTC))
    (seed,) = [i for i in built.digest.items if i.entry.title == "Mouse Eggs Made with Stem Cells"]
    summary = seed.summary.text
    assert "stem cells into viable mouse oocytes" in summary and "fertile pups" in summary
    for furniture in FURNITURE:
        assert furniture not in summary, furniture
    article = " ".join(seed.entry.content_text.split())
    assert all(sentence in article for sentence in seed.summary.sentences)


def test_nothing_new_after_the_last_issue_is_said_so(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from digest.config.load import load_settings
    from digest.errors import NothingToBuild
    from digest.issue.pipeline import build_digest
    from digest.state import State

    # the default anchor (now): the bundled config's `window_anchor: newest` is tested apart
    bundled = load_settings(REPO / "config.yaml")
    settings = bundled.model_copy(update={"window_anchor": "now"})
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    with State.open(state_at(tmp_path / "state.sqlite3")) as state:
        with pytest.raises(NothingToBuild, match=r": nothing new since the last issue$"):
            build_digest(settings, state, now, since=now.replace(hour=11))
        with pytest.raises(NothingToBuild, match=r"widen window_days or build --as-of 2026-11-24$"):
            build_digest(settings, state, now.replace(month=12))


def test_summary_words_bounds_every_summary(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from digest.config.load import load_settings
    from digest.issue.pipeline import build_digest
    from digest.state import State

    feeds = REPO / "tests" / "feeds"
    config = write_config(
        tmp_path,
        [{"name": "Golden Wire", "url": str(feeds / "golden.rss")}],
        summary_sentences=3,
        summary_words=30,
    )
    with State.open(state_at(tmp_path / "state.sqlite3")) as state:
        built = build_digest(load_settings(config), state, datetime(2026, 11, 25, 12, tzinfo=UTC))
    for item in built.digest.items:
        sentences = item.summary.sentences
        assert sentences and item.entry.content_text.startswith(sentences[0])
        # whole sentences only, and past the first, nothing that would overrun 30 words
        assert len(sentences) == 1 or len(item.summary.text.split()) <= 30
