"""News lede or scene-setting opening, and the nut graf taken instead (digest.text.lede)."""

from __future__ import annotations

from click.testing import CliRunner

from digest.cli.summarize import summarize as summarize_command
from digest.text.segment import segment
from digest.text.summarize import analyse, explain, summarize

SCENE = "Gadgets are cheaper, smaller and more common than ever before in busy modern lives."
NUT = (
    "In London alone more than 63,000 mobile phones have been left in the back of black "
    "cabs over the past six months, according to a survey."
)
BODY = [
    "The work was carried out by a company that sells insurance for gadgets of all kinds.",
    "Laptops, umbrellas and keys are among the other things people leave behind too.",
    "Most of them are handed in to lost property offices and go back to their owners.",
]
TITLE = "Cabs collect mountain of mobile phones"


def text(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs)


def test_a_news_lede_stays_first() -> None:
    lede = "Black cabs in London collected a mountain of mobile phones, a survey of drivers found."
    art = analyse(segment(text(lede, NUT, *BODY)), TITLE)
    assert not art.lede.scene_setting and art.point == 0
    assert summarize(text(lede, NUT, *BODY), TITLE, 3, words=45).sentences[0] == lede


def test_a_background_opening_gives_way_to_the_sentence_that_states_the_point() -> None:
    art = analyse(segment(text(SCENE, NUT, *BODY)), TITLE)
    assert art.lede.scene_setting
    assert art.lede.opening == 0 and art.point == 1
    assert "background" in art.lede.scene[0]
    assert any("headline" in reason for reason in art.lede.nut)
    assert summarize(text(SCENE, NUT, *BODY), TITLE, 3, words=45).sentences[0] == NUT


def test_the_turn_and_a_line_to_the_reader() -> None:
    opening = "Imagine a taxi ride where you leave your phone on the back seat and never see it."
    turn = "But now cab firms say they have collected more mobile phones than ever before."
    art = analyse(segment(text(opening, turn, *BODY)), TITLE)
    assert "addresses the reader" in art.lede.scene
    assert art.point == 1 and "the turn from scene to point" in art.lede.nut


def test_the_opening_stays_when_no_sentence_states_the_point_better() -> None:
    weak = [
        "Many people own more than one of them these days.",
        "Some of them are expensive and some of them are not.",
    ]
    art = analyse(segment(text(SCENE, *weak, *BODY)), TITLE)
    assert not art.lede.scene_setting and art.point == 0


def test_a_quoted_or_leaning_sentence_is_no_nut_graf() -> None:
    quoted = "“More than 63,000 mobile phones were left in black cabs,” the survey said."
    leaning = "They found that more than 63,000 mobile phones were left in black cabs."
    for candidate in (quoted, leaning):
        art = analyse(segment(text(SCENE, candidate, *BODY)), TITLE)
        assert art.point == 0, candidate


def test_an_opening_that_leans_on_a_lost_sentence_gives_way_to_one_as_pointed() -> None:
    lost = "This comes after drivers said more than 63,000 gadgets were left behind last year."
    art = analyse(segment(text(lost, NUT, *BODY)), TITLE)
    assert art.lede.scene == ("leans on something before it",) and art.point == 1


def test_an_opening_unfit_for_a_blurb_gives_way_to_the_next_clean_sentence() -> None:
    widget = (
        "Please take our annual reader survey at https://example.com/survey, it is very "
        "helpful and you could win a free T-shirt!"
    )
    art = analyse(segment(text(widget, NUT, *BODY)), TITLE)
    assert art.lede.scene == ("not fit for a blurb",) and art.point == 1


def test_other_languages_keep_their_opening() -> None:
    opening = "Vi fortsätter på dagens tekniktema om det smarta hemmet och dess problem."
    point = "Det smarta hemmet är för teknofiler och nördar, men löser inga egentliga problem."
    art = analyse(segment(text(opening, point, "Mer om det här i morgon.")), "Det smarta hemmet")
    assert art.point == 0


def test_a_one_word_title_says_nothing_about_the_story() -> None:
    art = analyse(segment(text(SCENE, NUT, *BODY)), "Newsletter")
    assert art.point == 0


def test_explain_says_why_the_lede_was_judged_scene_setting() -> None:
    explanation = explain(text(SCENE, NUT, *BODY), TITLE, 3, 45)
    assert explanation.lede.point == 1
    result = CliRunner().invoke(
        summarize_command, ["--explain", "--words", "45", "--title", TITLE], input=text(SCENE, NUT)
    )
    assert result.exit_code == 0, result.output
    assert (
        "Lede: sentence 0 only sets the scene (no name, figure or reporting verb" in result.output
    )
    assert "sentence 1 states the point (" in result.output
    news = CliRunner().invoke(summarize_command, ["--explain", "--title", TITLE], input=NUT)
    assert "Lede: sentence 0, a news lede" in news.output
