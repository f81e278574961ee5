"""Output shape: golden files, the text part, the size budget, theme overrides."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import NOW, REPO, write_config

from digest.cli.main import main
from digest.errors import RenderError
from digest.issue.compose import Plan, compose
from digest.issue.render import render
from digest.models import Entry, Summary

GOLDEN = REPO / "tests" / "golden"
FEEDS = REPO / "tests" / "feeds"
GMAIL_CLIP_BYTES = 102 * 1024


def build_golden(tmp_path: Path) -> tuple[str, str]:
    config = write_config(
        tmp_path,
        [
            {"name": "Golden Wire", "url": str(FEEDS / "golden.rss"), "section": "News"},
            {"name": "Golden Notes", "url": str(FEEDS / "golden.json")},
        ],
        title="The Golden Digest",
        summary_sentences=2,
    )
    result = CliRunner().invoke(main, ["build", "-c", str(config), "--as-of", "2026-11-25"])
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "out"
    return (out / "digest.html").read_text(), (out / "digest.txt").read_text()


@pytest.mark.parametrize("part", ["html", "txt"])
def test_golden_output(tmp_path: Path, regen_golden: bool, part: str) -> None:
    html, text = build_golden(tmp_path)
    actual = html if part == "html" else text
    golden = GOLDEN / f"digest.{part}"
    if regen_golden:
        golden.write_text(actual)
    assert actual == golden.read_text(), "output changed: review, then pytest --regen-golden"


def test_text_part_is_readable_wrapped_and_lists_links(tmp_path: Path) -> None:
    _, text = build_golden(tmp_path)
    assert "<" not in text and "&amp;" not in text
    assert max(len(line) for line in text.splitlines()) <= 72 or all(
        " " not in line for line in text.splitlines() if len(line) > 72
    )
    assert "Tidal turbines light a whole island for a winter [1]" in text
    assert "[1] https://golden.example/tidal" in text
    assert "NEWS\n----" in text


def test_html_has_the_email_essentials(tmp_path: Path) -> None:
    html, _ = build_golden(tmp_path)
    assert html.startswith("<!DOCTYPE html>")
    assert re.search(r'<html lang="en" dir="ltr">', html)
    assert html.index('<meta charset="utf-8">') < html.index("<title>")
    assert 'name="viewport"' in html and 'name="color-scheme"' in html
    assert 'class="preheader"' in html
    assert html.count('role="presentation"') >= 3
    # inlined: the rules live in style attributes; only @media rules stay in <style>
    assert 'class="summary" style="' in html
    style_blocks = re.findall(r"<style[^>]*>(.*?)</style>", html, re.S)
    assert style_blocks and all("@media" in block for block in style_blocks)
    assert "!important" in style_blocks[0]


def _big_digest(count: int) -> str:
    words = "The committee published a long report on the future of regional rail services. "
    entries = [
        Entry(
            id=f"e{i}",
            feed=f"Feed number {i % 5}",
            title=f"Story {i}: a fairly long headline about regional rail and its funding gap",
            link=f"https://news.example/2026/11/story-{i}?utm_source=rss",
            published=NOW - timedelta(hours=i),
            author="A. Reporter",
            content_text=words * 60,
        )
        for i in range(count)
    ]
    plan = Plan(
        "Digest", NOW - timedelta(days=7), NOW, count, {}, [f"Feed number {i}" for i in range(5)]
    )
    summary = Summary((words.strip(), words.strip(), words.strip()))
    digest = compose(entries, [], plan, lambda _: summary)
    return render(digest).html


def test_thirty_entries_stay_under_gmails_clip() -> None:
    html = _big_digest(30)
    assert len(html.encode("utf-8")) < GMAIL_CLIP_BYTES, len(html.encode("utf-8"))


def test_theme_folder_overrides_one_file_and_keeps_the_rest(tmp_path: Path) -> None:
    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "digest.txt").write_text("CUSTOM {{ digest.title }}\n")
    plan = Plan("Mine", NOW - timedelta(days=7), NOW, 5, {}, [])
    digest = compose([], [], plan, lambda _: Summary(()))
    rendered = render(digest, theme)
    assert rendered.text == "CUSTOM Mine\n"
    assert "<h1" in rendered.html


def test_template_error_names_file_and_line(tmp_path: Path) -> None:
    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "digest.html").write_text("<p>\n{{ digest.title }\n</p>")
    plan = Plan("Mine", NOW - timedelta(days=7), NOW, 5, {}, [])
    digest = compose([], [], plan, lambda _: Summary(()))
    with pytest.raises(RenderError, match=r"digest\.html:2: "):
        render(digest, theme)
