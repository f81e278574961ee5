"""Reading time in any script, and the language a text is in (for splitting sentences)."""

from __future__ import annotations

import pytest

from digest.issue.compose import reading_minutes
from digest.text.language import guess_language, primary
from digest.text.reading import cut_to_reading, reading_words
from digest.text.summarize import summarize

CHINESE = "北京市政府今天宣布，将在明年启动新的地铁线路建设计划，预计投资超过一千亿元。"
JAPANESE = "東京都は今日、新しい地下鉄の建設計画を発表した。"


def test_words_are_words_and_wide_scripts_are_weighed_by_their_reading_speed() -> None:
    assert reading_words("The council approved it.") == 4
    assert reading_words(CHINESE) == pytest.approx(35 * 228 / 255)  # 35 characters
    assert reading_words(JAPANESE) == pytest.approx(23 * 228 / 357, abs=1)  # kana: faster
    assert reading_words("iPhone 15 发布了") == pytest.approx(2 + 3 * 228 / 255, abs=0.1)
    assert reading_minutes(CHINESE * 20) == 3  # 760 characters: three minutes, not one


def test_a_long_cjk_sentence_is_cut_after_the_last_clause_that_fits() -> None:
    assert cut_to_reading(CHINESE, 20) == "北京市政府今天宣布…"
    assert cut_to_reading(CHINESE, 100) == CHINESE
    assert (
        cut_to_reading("没有逗号的一个很长很长很长很长的句子。", 2)
        == "没有逗号的一个很长很长很长很长的句子。"
    )


def test_cjk_summaries_keep_to_the_budget_in_characters() -> None:
    summary = summarize(CHINESE * 10, "地铁", sentences=3, words=40)
    assert len(summary.text) <= 40 * 255 / 228 + 1
    text = (
        "The council met on Monday night. Rain fell in the valley all week. The ferries "
        "ran late on Tuesday. Schools reopened after the floods."
    )
    english = summarize(text, "t", 3, 40)
    assert len(english.sentences) == 3  # words are still words


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Die Stadt ist nicht groß, aber sie wächst mit der Bahn und den neuen Häusern.", "de"),
        (
            "Le maire a dit que la ville est prête pour les élections et que le budget est voté.",
            "fr",
        ),
        (
            "El alcalde dijo que la ciudad está lista para las elecciones y que el presupuesto.",
            "es",
        ),
        ("The council said that the wall is ready and that the work was done for the town.", "en"),
        ("Hi.", ""),
    ],
)
def test_guess_language(text: str, language: str) -> None:
    assert guess_language(text) == language


def test_primary_language_of_a_tag() -> None:
    assert [primary(t) for t in ("de-DE", "en_us", "no", "nn-NO", "FR", "", "x-klingon-1")] == [
        "de", "en", "nb", "nb", "fr", "", "x"
    ]  # fmt: skip
