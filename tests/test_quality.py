"""Sentences fit for a blurb, and the flaws that keep the others out (digest.text.quality)."""

from __future__ import annotations

import pytest

from digest.text.quality import flaws, is_english
from digest.text.summarize import explain, summarize


def english() -> bool:
    return True


@pytest.mark.parametrize(
    "sentence",
    [
        "The city council approved the new tram line on Tuesday after a long debate.",
        "Hong Kong is burning.",
        "Your success mindset matters.",
        "It combines that with usual usernames and passwords.",
        "Rates rose by 37 percent, from 0.90 percent to 1.23 percent, after the change.",
        "“We have to make some necessary job eliminations,” the chairman said.",
        "Is the service the first step towards the future of gaming?",
        "Nike sponsored the event, which drew 40,000 runners to the city on Sunday.",
    ],
)
def test_clean_sentences_have_no_flaws(sentence: str) -> None:
    assert flaws(sentence, english) == ()


@pytest.mark.parametrize(
    ("sentence", "flaw"),
    [
        ("Japanese brewers are making money from drinks that taste of beer", "no terminal"),
        ("Audi has revealed the second model in its e-tron range. Joining the e-tron…", "cut"),
        ("The new e-tron joins the range [...]", "cut"),
        ("Read the full story on our website. Continue reading →", "cut"),
        ("Content, not so much.", "no verb"),
        ("The Haka and more!", "no verb"),
        ("Updated Nov. 19, 10:32 GMT.", "timestamp"),
        ("10 p.m.", "timestamp"),
        ("DL Larry Ogunjobi 63 85% 1 tackle (1 combined).", "table or ticker row"),
        ("AAPL 267.84 +1.30 (0.49%) NASDAQ.", "table or ticker row"),
        ("Tested by: John Milbank RRP: £23.99 More info: www.clymer.co.uk", "link, price"),
        ("Call the box office on 0800 028 9276 for tickets.", "link, price"),
        ("Email the newsroom at tips@example.com with your story.", "link, price"),
        ("So I think that is working for us now. #thanks #MethWeAreOnIt", "hashtags"),
        ("This post is sponsored by Kameo.", "sponsorship"),
        ("Detta inlägg är sponsrat av Kameo.", "sponsorship"),
        ("Follow us on Instagram to stay updated on deadlines and events.", "call to action"),
        ("Sign up for our newsletter today.", "call to action"),
    ],
)
def test_flawed_sentences_are_named(sentence: str, flaw: str) -> None:
    found = flaws(sentence, english)
    assert any(flaw in f for f in found), found


def test_the_verb_test_is_only_for_english() -> None:
    assert flaws("Très bien, merci.", lambda: False) == ()
    assert "no verb" in flaws("Très bien, merci.", english)
    assert is_english(["The council approved the plan on Tuesday and the work starts in May."])
    assert not is_english(["Der Stadtrat hat den Plan am Dienstag genehmigt, die Arbeit beginnt."])


def test_han_sentences_are_no_table_rows() -> None:
    assert flaws("Quest 2 定价为 299 美元，较前一代的价格还低 100 美元。", lambda: False) == ()


ROWS = "\n\n".join(
    [
        "Below, we look at the snap counts and stats on defense for the Browns game on Sunday.",
        "DL Larry Ogunjobi 63 85% 1 tackle (1 combined).",
        "LB Joe Schobert 74 100% 7 tackles, 3 assists (10 combined).",
        "There is a lot to sort through here after a game the defense will want to forget.",
    ]
)


def test_a_blurb_never_takes_a_flawed_sentence_when_a_clean_one_is_there() -> None:
    summary = summarize(ROWS, "Browns defensive snap counts and stats", 3, words=45)
    assert all(not flaws(s, english) for s in summary.sentences), summary
    notes = explain(ROWS, "Browns defensive snap counts and stats", 3, 45).notes
    assert notes[1] == "not fit for a blurb: a table or ticker row"


def test_a_text_with_nothing_clean_still_gets_a_summary() -> None:
    rows = "DL Larry Ogunjobi 63 85% 1 tackle (1 combined).\n\nLB Joe Schobert 74 100% 7 tackles."
    assert summarize(rows, "", 1).sentences == ("DL Larry Ogunjobi 63 85% 1 tackle (1 combined).",)
