"""Blurbs that stand alone: what a sentence leans on, and how the picker deals with it
(digest.text.standalone, digest.text.picker)."""

from __future__ import annotations

import pytest

from digest.text.segment import segment
from digest.text.standalone import Names, leans_back, without_connective
from digest.text.summarize import analyse, pick, summarize


@pytest.mark.parametrize(
    ("sentence", "leans"),
    [
        ("He said the deal was done.", True),
        ("But they said the deal was done.", True),
        ("The singer said she was fine.", True),
        ("The 34-year-old was arrested on Monday.", True),
        ("The company, which employs 12,000 people, fell.", True),
        ("The row erupted after the vote.", True),
        ("The singer Adele said she was fine.", False),
        ("The suspect, Michael Webb, was convicted.", False),
        ("The group stage of qualifying finished on Tuesday.", False),
        ("The band’s new album is out.", False),
        ("So-called neo-banks are popular.", False),
        ("It's complicated.", False),
        ("Prosecutors in Sweden have dropped an investigation.", False),
    ],
)
def test_leans_back(sentence: str, leans: bool) -> None:
    assert leans_back(sentence) is leans


def test_without_connective() -> None:
    assert without_connective("For example, the port fails.") == "The port fails."
    assert without_connective("Finally the code runs.") == "The code runs."
    assert without_connective("First Minister Nicola Sturgeon spoke.") == (
        "First Minister Nicola Sturgeon spoke."
    )


def test_a_surname_is_explained_by_its_full_name_or_the_title() -> None:
    texts = [
        "The symptoms came on quickly for a man in Aberdeenshire.",
        "Martin Taylor, 43, wrote about it in a case study published on Monday.",
        "Taylor had feather duvet lung disease.",
        "The Australian Open was his next trip; the French Open came later.",
    ]
    names = Names(texts, "Duvet nearly killed him")
    (ref,) = names.references(2)
    assert (ref.surname, ref.sentence, ref.full) == ("Taylor", 1, "Martin Taylor")
    assert names.unexplained(2, [0]) == [ref]
    assert names.unexplained(2, [1]) == []  # the full name is in the blurb
    assert Names(texts, "Martin Taylor's duvet").references(2) == ()  # the title names him
    assert names.references(3) == ()  # "Open" of "Australian Open" is no surname alone


ARTICLE = [
    "A man's feather duvet left him so breathless he could barely walk, doctors report.",
    "Martin Taylor, 43, from Aberdeenshire, described his case in a medical journal.",
    "Doctors found the cause only after months of tests and a change of bedding.",
    "Taylor had feather duvet lung disease, a rare allergy to the feathers in bedding.",
]


def test_a_sentence_with_an_unexplained_surname_is_left_out() -> None:
    art = analyse(segment("\n\n".join(ARTICLE)), "Duvet nearly killed him")
    chosen, _, _ = pick([2.0, 0.1, 0.5, 1.5], art, 2)
    assert chosen == (0, 2)  # not 3: "Taylor" would stand unexplained


def test_a_surname_given_in_full_in_the_blurb_is_fine() -> None:
    art = analyse(segment("\n\n".join(ARTICLE)), "Duvet nearly killed him")
    chosen, _, _ = pick([0.1, 2.0, 0.5, 1.5], art, 2)
    assert chosen == (1, 3)


def test_an_epithet_opener_comes_with_the_sentence_before_it() -> None:
    text = "\n\n".join(
        [
            "Rain fell across the north of the country on Monday morning.",
            "Adele cancelled her Las Vegas shows on the morning they were due to start.",
            "The singer said she was devastated and that the shows would be rescheduled.",
            "Fans who had travelled from abroad were offered refunds by the venue.",
        ]
    )
    art = analyse(segment(text), "")
    chosen, _, notes = pick([0.2, 0.3, 0.9, 0.1], art, 2)
    assert chosen == (1, 2)
    assert "antecedent" in notes[1]
    assert summarize(text, "", 1).sentences != (art.texts[2],)
