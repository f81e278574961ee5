"""Floors for the blurbs at 45 words on the dev data (benchmarks/blurbs.py has the table).

What an editor strikes must stay out: no sentence without final punctuation or a verb, no
clutter, dangling references rare; scene-setting ledes give way to their nut graf, and on
the BBC's straight news the opening stays first. Skips without the data.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from blurbs import Counts, measure
from dev_data import find_data_dir, load


def _counts(name: str) -> tuple[Counts, Counts]:
    data = find_data_dir()
    path = data / name / "dev.jsonl" if data else Path()
    if not path.is_file():
        pytest.skip(f"{name}/dev.jsonl not found: set DIGEST_DATA or put shared/data beside repo")
    ours, lead = Counts(), Counts()
    for mine, theirs in measure(load(path, None)).values():
        ours, lead = ours.add(mine), lead.add(theirs)
    return ours, lead


@pytest.mark.slow
def test_standfirst_set_blurbs_are_clean_and_stand_alone() -> None:
    ours, lead = _counts("article-deks")
    assert ours.no_final == ours.no_verb == ours.clutter == 0, ours
    assert ours.dangling <= 1, ours  # of 79 blurbs
    assert ours.judged >= 5 and ours.nut_graf == ours.judged and ours.scene_only == 0, ours
    assert lead.no_final > 0 and lead.scene_only > 0  # what the rules take away


@pytest.mark.slow
def test_bbc_news_ledes_stay_first() -> None:
    ours, _ = _counts("bbc-summaries")
    assert ours.judged <= 0.02 * ours.articles, ours  # 13 of 1,161 today
    assert ours.no_final == ours.no_verb == ours.clutter == 0, ours
    assert ours.dangling <= 0.01 * ours.articles, ours
