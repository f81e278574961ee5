from __future__ import annotations

import re
from pathlib import Path

import pytest

from digest.config.load import load_settings
from digest.config.settings import FeedConfig, Settings
from digest.config.starter import starter_config
from digest.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def test_bundled_config_loads_and_resolves_paths_against_its_folder() -> None:
    settings = load_settings(REPO / "config.yaml")
    assert [f.name for f in settings.feeds] == ["Lab Notes", "Signal & Noise", "The Long Read"]
    assert settings.feed_sources()[0].url == str(REPO / "samples" / "science.rss")
    assert settings.state_path == REPO / "digest.sqlite3"


def test_unknown_key_names_file_line_key_and_suggests(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "title: T\nfeeds:\n  - name: A\n    url: https://a.example/feed\nwindow_dayz: 3\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert (
        message == f"{path}:5: window_dayz: unknown key 'window_dayz' (did you mean 'window_days'?)"
    )


def test_unknown_key_inside_a_feed_points_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("feeds:\n  - name: A\n    url: https://a.example/feed\n    sectoin: World\n")
    with pytest.raises(
        ConfigError,
        match=r":4: feeds\[0\]\.sectoin: unknown key 'sectoin' \(did you mean 'section'\?\)",
    ):
        load_settings(path)


def test_wrong_type_is_one_line_with_the_value(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("feeds:\n  - name: A\n    url: https://a.example/feed\nmax_entries: lots\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:4: max_entries: ")
    assert "'lots'" in message and "\n" not in message


def test_missing_feed_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("feeds:\n  - name: A\n    url: feeds/nowhere.xml\n")
    with pytest.raises(ConfigError, match=r":3: feeds\[0\]\.url: no such file 'feeds/nowhere.xml'"):
        load_settings(path)


def test_bad_time_zone_and_broken_yaml(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("feeds:\n  - {name: A, url: 'https://a.example/f'}\ntimezone: Mars/Olympus\n")
    with pytest.raises(ConfigError, match=r":3: timezone: unknown time zone 'Mars/Olympus'"):
        load_settings(path)
    path.write_text("feeds: [\n")
    with pytest.raises(ConfigError, match=r"not valid YAML"):
        load_settings(path)


def test_starter_config_documents_every_key_and_is_valid(tmp_path: Path) -> None:
    text = starter_config()
    for name, field in Settings.model_fields.items():
        if name != "base_dir":
            assert f"{name}:" in text and str(field.description) in text
    example = text[text.index("\nfeeds:\n") : text.index("\n\n", text.index("\nfeeds:\n"))]
    for name in FeedConfig.model_fields:  # each feed key is shown in the example feed
        assert re.search(rf"^ +(- |# )?{name}:", example, re.M), name
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert load_settings(path).feeds[0].url == "https://example.com/feed.xml"


def test_the_starters_filter_examples_mean_what_they_say(tmp_path: Path) -> None:
    text = (
        starter_config()
        .replace("    # include:", "    include:")
        .replace("    # exclude:", "    exclude:")
    )
    path = tmp_path / "config.yaml"
    path.write_text(text)
    feed = load_settings(path).feeds[0]
    assert feed.include == ["climate"] and feed.exclude == ["sponsored", "/\\bpodcast/"]


def test_bundled_config_mentions_every_key() -> None:
    text = (REPO / "config.yaml").read_text()
    for name in Settings.model_fields:
        if name != "base_dir":  # a key left unset by default is shown commented out
            assert f"\n{name}:" in text or f"\n# {name}:" in text, f"config.yaml lacks {name}"


def test_summary_words_is_unset_by_default_and_must_be_positive(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("feeds:\n  - {name: A, url: 'https://a.example/f'}\n")
    assert load_settings(path).summary_words is None
    path.write_text("feeds:\n  - {name: A, url: 'https://a.example/f'}\nsummary_words: 40\n")
    assert load_settings(path).summary_words == 40
    path.write_text("feeds:\n  - {name: A, url: 'https://a.example/f'}\nsummary_words: 0\n")
    with pytest.raises(ConfigError, match=r":3: summary_words: "):
        load_settings(path)
