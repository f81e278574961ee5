from __future__ import annotations

import pytest

from digest.text.segment import segment, split_paragraphs, split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Mr. Smith met Dr. Jones in St. Louis. They talked.",
            ["Mr. Smith met Dr. Jones in St. Louis.", "They talked."],
            id="titles",
        ),
        pytest.param(
            "The U.S. economy grew. Growth in the U.S. Fed's view was slow.",
            ["The U.S. economy grew.", "Growth in the U.S. Fed's view was slow."],
            id="acronym-mid-sentence",
        ),
        pytest.param(
            "He moved to the U.S. The move was hard.",
            ["He moved to the U.S.", "The move was hard."],
            id="acronym-at-end",
        ),
        pytest.param(
            "It opened on Jan. 5 with fans, e.g. students. Sales were $1.13bn, up 3.5%. Good.",
            [
                "It opened on Jan. 5 with fans, e.g. students.",
                "Sales were $1.13bn, up 3.5%.",
                "Good.",
            ],
            id="month-latin-decimal-money",
        ),
        pytest.param(
            "J. K. Rowling and George W. Bush spoke. Then they left.",
            ["J. K. Rowling and George W. Bush spoke.", "Then they left."],
            id="initials",
        ),
        pytest.param(
            'He said: "It is over." Then he left.',
            ['He said: "It is over."', "Then he left."],
            id="quote-closes-sentence",
        ),
        pytest.param(
            "Profits fell (as expected.) Shares rose. Why? Nobody knows!",
            ["Profits fell (as expected.)", "Shares rose.", "Why?", "Nobody knows!"],
            id="bracket-question-exclamation",
        ),
        pytest.param(
            "He paused... and went on. Then... Silence.",
            ["He paused... and went on.", "Then...", "Silence."],
            id="ellipses",
        ),
        pytest.param(
            "Write to news@example.com today. See www.example.co.uk/a.html for more. Done.",
            ["Write to news@example.com today.", "See www.example.co.uk/a.html for more.", "Done."],
            id="email-and-url",
        ),
        pytest.param(
            "It is No. 10 in the list. Acme Inc. said nothing. Acme Ltd. The rival did.",
            ["It is No. 10 in the list.", "Acme Inc. said nothing.", "Acme Ltd.", "The rival did."],
            id="company-abbreviations",
        ),
        pytest.param("这是第一句。这是第二句！", ["这是第一句。", "这是第二句！"], id="cjk"),
        pytest.param(
            "ST. JOSEPH, Mich. (AP) — Two people fell ill. Officials said so (Reuters) today.",
            ["ST. JOSEPH, Mich. (AP) — Two people fell ill.", "Officials said so (Reuters) today."],
            id="dateline-agency-tag",
        ),
        pytest.param(
            "Am 12. September beginnt die Messe. He scored 12. Then he left. In 2019. It rained.",
            [
                "Am 12. September beginnt die Messe.",
                "He scored 12.",
                "Then he left.",
                "In 2019.",
                "It rained.",
            ],
            id="day-number-opening-a-sentence",
        ),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_paragraph_break_always_ends_a_sentence() -> None:
    assert split_sentences("no full stop here\n\nnext paragraph") == [
        "no full stop here",
        "next paragraph",
    ]


def test_split_paragraphs_collapses_whitespace_and_drops_empty_ones() -> None:
    text = "  First  paragraph\r\n \r\n\n\nSecond\tone \n\n  \n"
    assert split_paragraphs(text) == ["First paragraph", "Second one"]


def test_hard_wrapped_lines_are_joined() -> None:
    text = (
        "This paragraph was wrapped by a mail client at seventy\n"
        "characters, so its lines end in the middle of a sentence\n"
        "and must be joined again."
    )
    assert split_sentences(text) == [" ".join(text.split())]


def test_short_unpunctuated_lines_stand_alone() -> None:
    text = "Written by A. Writer\n3 min read\nThe study was published today."
    assert split_paragraphs(text) == [
        "Written by A. Writer",
        "3 min read",
        "The study was published today.",
    ]


def test_segment_gives_positions() -> None:
    sentences = segment("One. Two.\n\nThree.")
    assert [(s.text, s.number, s.paragraph, s.position_in_paragraph) for s in sentences] == [
        ("One.", 0, 0, 0),
        ("Two.", 1, 0, 1),
        ("Three.", 2, 1, 0),
    ]


def test_empty_text_has_no_sentences() -> None:
    assert segment("") == []
    assert split_sentences(" \n\n ") == []


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        pytest.param(
            "de",
            "Anfang des 20. Jahrhunderts war die Stadt klein. Am 3. Oktober kam Dr. Müller, "
            "bzw. sein Sohn. Die Zahl stieg auf 20. Das ist viel.",
            [
                "Anfang des 20. Jahrhunderts war die Stadt klein.",
                "Am 3. Oktober kam Dr. Müller, bzw. sein Sohn.",
                "Die Zahl stieg auf 20.",
                "Das ist viel.",
            ],
            id="german-ordinals",
        ),
        pytest.param(
            "fr",
            "« Nous sommes prêts. Vraiment », a dit M. Dupont. Il est parti. « Il pleut. » "
            "Il fait froid.",
            [
                "« Nous sommes prêts. Vraiment », a dit M. Dupont.",
                "Il est parti.",
                "« Il pleut. »",
                "Il fait froid.",
            ],
            id="french-guillemets",
        ),
        pytest.param(
            "es",
            "El Sr. García habló con la Sra. Pérez. Luego se fue.",
            ["El Sr. García habló con la Sra. Pérez.", "Luego se fue."],
            id="spanish-titles",
        ),
        pytest.param(
            "it",
            "Il Sig. Rossi e il Dott. Bianchi sono arrivati. Poi sono partiti.",
            ["Il Sig. Rossi e il Dott. Bianchi sono arrivati.", "Poi sono partiti."],
            id="italian-titles",
        ),
        pytest.param(
            "nl",
            "Dhr. Jansen kwam o.a. met de trein. Hij bleef.",
            ["Dhr. Jansen kwam o.a. met de trein.", "Hij bleef."],
            id="dutch-abbreviations",
        ),
        pytest.param(
            "sv",
            "Han kom bl.a. med tåget. Det var kl. 10 på kvällen. Han stannade.",
            ["Han kom bl.a. med tåget.", "Det var kl. 10 på kvällen.", "Han stannade."],
            id="swedish-abbreviations",
        ),
        pytest.param(
            "nb",
            "Prisen steg til 20. Det er mye. Han kom den 3. Mai, f.eks. Mandag.",
            ["Prisen steg til 20.", "Det er mye.", "Han kom den 3. Mai, f.eks. Mandag."],
            id="norwegian-ordinals",
        ),
        pytest.param(
            "",
            "“We are ready. Really,” said the mayor. Then he left.",
            ["“We are ready. Really,” said the mayor.", "Then he left."],
            id="a-quotation-the-sentence-goes-on-after",
        ),
    ],
)
def test_split_sentences_in_a_language(language: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text, language) == expected


def test_without_a_language_a_number_before_a_capital_ends_a_sentence() -> None:
    assert split_sentences("Anfang des 20. Jahrhunderts war es so.") == [
        "Anfang des 20.",
        "Jahrhunderts war es so.",
    ]


def test_a_line_break_inside_a_sentence_does_not_end_it() -> None:
    text = "The council approved\nthe new harbour wall on Monday.\nWork starts in spring."
    assert split_sentences(text) == [
        "The council approved the new harbour wall on Monday.",
        "Work starts in spring.",
    ]
