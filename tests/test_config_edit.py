"""config.yaml edited in place: written back exactly as it was when nothing changes, comments
kept beside what they describe when a feed comes or goes, and all or nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import REPO

from digest.config.edit import editing, load_document
from digest.config.starter import starter_config
from digest.errors import ConfigError

STYLES = {
    "dash at the key's column": (
        "title: T\nfeeds:\n- name: A\n  url: https://a.example/f\nhttp:\n  max_redirects: 3\n"
    ),
    "four spaces": (
        "title: T\nfeeds:\n    - name: A\n      url: https://a.example/f\n"
        "http:\n    max_redirects: 3\n"
    ),
    "flow and quotes": (
        "title: 'Quoted'\nfeeds: [{name: A, url: \"https://a.example/f\"}]\n"
        'recipients: [a@example.test]   # who\nsubject: "{title} — {date}"\n'
    ),
}


@pytest.mark.parametrize("style", STYLES)
def test_an_unchanged_document_is_written_back_byte_for_byte(tmp_path: Path, style: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(STYLES[style])
    assert load_document(path).text() == STYLES[style]


def test_the_bundled_and_the_starter_configs_round_trip_exactly(tmp_path: Path) -> None:
    assert load_document(REPO / "config.yaml").text() == (REPO / "config.yaml").read_text()
    starter = tmp_path / "starter.yaml"
    starter.write_text(starter_config())
    assert load_document(starter).text() == starter.read_text()


NESTED = """\
feeds:
  - name: A   # the first
    url: https://a.example/f
  # B is noisy: filtered
  - name: B
    url: https://b.example/f
    exclude:
      - sponsored
      - /deal of the day/   # shops
    # more filters later

# a week of news
window_days: 7
"""


def test_appending_after_a_feed_ending_in_a_block_list_moves_the_next_keys_comment(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(NESTED)
    with editing(path) as document:
        document.append_feed({"name": "C", "url": "https://c.example/f"})
    assert path.read_text() == NESTED.replace(
        "    # more filters later\n\n",
        "    # more filters later\n  - name: C\n    url: https://c.example/f\n\n",
    )


def test_removing_a_feed_keeps_the_comments_that_belong_to_its_neighbours(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(NESTED)
    with editing(path) as document:
        document.remove_feed(0)
    assert path.read_text() == NESTED.replace(
        "  - name: A   # the first\n    url: https://a.example/f\n", ""
    )
    path.write_text(NESTED)
    with editing(path) as document:
        document.remove_feed(1)
    # B's own comments go with it; the one above it is kept (a comment is never guessed away)
    assert path.read_text() == (
        "feeds:\n  - name: A   # the first\n    url: https://a.example/f\n"
        "  # B is noisy: filtered\n\n# a week of news\nwindow_days: 7\n"
    )


def test_an_edit_that_fails_validation_or_races_another_writer_changes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(NESTED)
    invalid = r"config\.yaml:\d+: feeds\[2\]\.exclude\[0\]: invalid"
    with pytest.raises(ConfigError, match=invalid), editing(path) as document:
        document.append_feed({"name": "C", "url": "https://c.example/f", "exclude": ["/(/"]})
    assert path.read_text() == NESTED
    raced = "changed by another program meanwhile"
    with pytest.raises(ConfigError, match=raced), editing(path) as document:
        document.append_feed({"name": "C", "url": "https://c.example/f"})
        path.write_text(NESTED + "# edited by hand\n")
    assert path.read_text() == NESTED + "# edited by hand\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]  # no temporary left


def test_the_file_keeps_its_mode_and_a_symbolic_link_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text(NESTED)
    real.chmod(0o600)
    link = tmp_path / "config.yaml"
    link.symlink_to(real)
    with editing(link) as document:
        document.append_feed({"name": "C", "url": "https://c.example/f"})
    assert link.is_symlink() and "name: C" in real.read_text()
    assert os.stat(real).st_mode & 0o777 == 0o600
