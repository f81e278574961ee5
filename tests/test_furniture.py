"""Plain-text furniture rules: the project's seed article, invented pages in other sites'
styles, and a guard that ordinary article text survives."""

from __future__ import annotations

import json
import re

import pytest
from extraction_eval import find_shared_data

from digest.text.furniture import is_furniture_line, opens_with_call_to_action, strip_furniture

DATA = find_shared_data()
SEED = DATA / "seed-article" / "000_329753098a3bb7ac.txt" if DATA else None
BBC_DEV = DATA / "bbc-summaries" / "dev.jsonl" if DATA else None

needs_seed = pytest.mark.skipif(
    SEED is None or not SEED.is_file(), reason="shared/data/seed-article not found"
)
needs_bbc = pytest.mark.skipif(
    BBC_DEV is None or not BBC_DEV.is_file(), reason="shared/data/bbc-summaries not found"
)


def _paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p]


# A news site: inline ad label and newsletter box mid-article, related list and comments.
NEWS_SITE = """\
City Council Approves New Budget

By Maria Lopez and Tom Becker
Updated 14 March 2024, 09:12
5 min read

The city council voted on Tuesday to approve a budget that raises spending on public \
transport by a fifth, after a debate that lasted well past midnight.

Advertisement

Council members who opposed the plan said the increase would force cuts elsewhere, \
particularly in the parks department, which has already lost staff this year.

Sign up for our morning newsletter
Get the day's top stories in your inbox every weekday.
Enter your email address
Subscribe

The mayor said the money would be spent on new buses and longer evening services, and \
that the first routes would change in the autumn.

Related articles
Bus Fares Frozen For Another Year
Mayor Outlines Transport Plan
Parks Department Faces Staff Shortage

42 comments
"""

# A personal blog: cookie banner, share row, follow links, a reply form.
BLOG = """\
We use cookies to improve your experience. Accept all cookies
Manage preferences

Posted by Sam Reed | 3 min read

I have been baking sourdough for three years now, and the one thing that changed my \
loaves more than any recipe was learning to read the dough instead of the clock.

When the kitchen is cold the dough needs longer, sometimes twice as long, and no timer \
can tell you that. Watch for a domed surface and bubbles along the sides of the jar.

Share this:
Twitter
Facebook
Follow us on Instagram
Leave a reply
"""

# A magazine: captions with credits, a credit run into the first paragraph, a paywall.
MAGAZINE = """\
The Quiet Return of the Wolves

Wolves crossing a frozen river at dawn (Photo: Getty Images)

A pack near the border in winter. Image credit: Anna McDonaldThe wolves came back to the \
valley slowly, one animal at a time, and for years hardly anyone noticed they were there.

Biologists tracking the animals with collars found that the pack had settled on land \
that had been farmed for centuries, and that the farmers had mostly made their peace with it.

"We thought there would be more conflict," said one of the researchers, who has studied \
the region for a decade. "Instead people changed how they keep their sheep and...

You've read 3 of 5 free articles this month.
Subscribe now to continue reading
Most Popular
The Last Lighthouse Keepers
Why Rivers Are Moving
"""


@needs_seed
def test_seed_keeps_the_article_sentences() -> None:
    assert SEED is not None
    cleaned = strip_furniture(SEED.read_text(encoding="utf-8"))
    assert cleaned.startswith("Researchers claim to have successfully transformed stem cells")
    assert "New spermatozoa are seldom in short supply" in cleaned
    assert "Japanese researchers claim to have succeeded in coaxing embryonic" in cleaned
    assert "The study, published today (October 4) in Science, could pave the way" in cleaned
    assert "“It’s a beautiful study, a tour de force,” said David Albertini" in cleaned
    assert "that’s never been done before.”" in cleaned


@needs_seed
@pytest.mark.parametrize(
    "furniture",
    [
        "Listen with",
        "Register for free",
        "0:00",
        "3:00",
        "Share",
        "Related Topics",
        "Meet the Author",
        "Interested in reading more",
        "Become a Member",
        "Written by",
        "min read",
        "Credit:",
        "Pups from oocytes",  # the photo caption glued to the first paragraph
        "Renee Reijo ...",  # the truncated last paragraph
        "View this Issue",
        "Logo",
        "Products",
        "Drug Discovery",
        "When experiments refuse to cooperate",  # an issue promo after the paywall
    ],
)
def test_seed_drops_furniture(furniture: str) -> None:
    assert SEED is not None
    cleaned = strip_furniture(SEED.read_text(encoding="utf-8"))
    assert furniture.lower() not in cleaned.lower()


def test_news_site_furniture() -> None:
    assert _paragraphs(strip_furniture(NEWS_SITE)) == [
        "The city council voted on Tuesday to approve a budget that raises spending on public "
        "transport by a fifth, after a debate that lasted well past midnight.",
        "Council members who opposed the plan said the increase would force cuts elsewhere, "
        "particularly in the parks department, which has already lost staff this year.",
        "The mayor said the money would be spent on new buses and longer evening services, and "
        "that the first routes would change in the autumn.",
    ]


def test_blog_furniture() -> None:
    assert _paragraphs(strip_furniture(BLOG)) == [
        "I have been baking sourdough for three years now, and the one thing that changed my "
        "loaves more than any recipe was learning to read the dough instead of the clock.",
        "When the kitchen is cold the dough needs longer, sometimes twice as long, and no timer "
        "can tell you that. Watch for a domed surface and bubbles along the sides of the jar.",
    ]


def test_magazine_furniture() -> None:
    assert _paragraphs(strip_furniture(MAGAZINE)) == [
        "The wolves came back to the valley slowly, one animal at a time, and for years hardly "
        "anyone noticed they were there.",
        "Biologists tracking the animals with collars found that the pack had settled on land "
        "that had been farmed for centuries, and that the farmers had mostly made their peace "
        "with it.",
        # the paragraph cut short keeps its whole sentence; the one it stops in goes
        '"We thought there would be more conflict," said one of the researchers, who has '
        "studied the region for a decade.",
    ]


def test_mid_article_widget_does_not_end_the_article() -> None:
    text = (
        "Share prices fell sharply on Monday after the company warned that profits would "
        "miss forecasts for the second year running, and investors sold across the sector.\n\n"
        "Advertisement\n\nShare this article\n\n"
        "Analysts said the warning had been expected, but not its size."
    )
    assert _paragraphs(strip_furniture(text)) == [
        _paragraphs(text)[0],
        "Analysts said the warning had been expected, but not its size.",
    ]


def test_a_short_line_broken_after_a_comma_is_rejoined() -> None:
    # a quotation set in verse lines (<br> in the feed): the first line is no heading
    text = "Da ist es zwar nicht ganz billig,\ndafür schmeckt es aber auch nicht."
    assert strip_furniture(text) == text.replace("\n", " ")
    label = "Related stories\nthe council met on Monday and agreed to the plan."
    assert strip_furniture(label) == label.split("\n")[1]  # no comma: a label stands alone


def test_hard_wrapped_paragraph_is_rejoined() -> None:
    text = (
        "The committee published its report on Thursday, saying that the\n"
        "scheme had cost far more than planned and delivered less.\n\n"
        "Ministers have promised a response within a month."
    )
    assert _paragraphs(strip_furniture(text)) == [
        "The committee published its report on Thursday, saying that the scheme had cost far "
        "more than planned and delivered less.",
        "Ministers have promised a response within a month.",
    ]


@pytest.mark.parametrize(
    ("line", "furniture"),
    [
        ("1:02:33", True),
        ("0:00 / 4:15", True),
        ("By Jane Doe", True),
        ("By early 2005 the net could have two new domain names.", False),
        ("Written byJane Doe | 4 min read", True),
        ("Subscribe to our newsletter", True),
        ("Register for free to listen to this article", True),
        ("Registered voters turned out in record numbers across the state.", False),
        ("Listen again to the full interview on our website.", True),
        ("Follow us on Twitter and Facebook", True),
        ("Print", True),
        ("12 Comments", True),
        ("Email remains the most common way scammers reach their victims.", False),
        ("Share prices fell.", False),
        ("Like this, the team hopes to finish by June.", False),
        ("The Best Phones You Can Buy Right Now", True),
        ("Officials said the bridge would reopen next week.", False),
        ("A man walks past the closed factory on Monday (Photo: Reuters)", True),
        ("Ten Years of Research Reagents Innovation With High-Quality Antibodies", True),
    ],
)
def test_line_rules(line: str, furniture: bool) -> None:
    assert is_furniture_line(line) is furniture


def test_truncated_last_paragraph_is_cut_but_inner_ellipsis_kept() -> None:
    text = (
        "He paused… and then the room went quiet, before anyone could answer him.\n\n"
        "The vote was delayed until the spring, the chair announced.\n\n"
        "Asked about the delay, the chair said that the members had..."
    )
    assert _paragraphs(strip_furniture(text)) == _paragraphs(text)[:2]


def test_plain_article_is_unchanged() -> None:
    text = (
        "The river burst its banks overnight.\n\n"
        "Residents were moved to the school hall, where volunteers served hot food."
    )
    assert strip_furniture(text) == text


@needs_bbc
def test_bbc_articles_keep_their_sentences() -> None:
    assert BBC_DEV is not None
    total = kept = 0
    for line in BBC_DEV.read_text(encoding="utf-8").splitlines():
        text = json.loads(line)["text"]
        cleaned = " ".join(strip_furniture(text).split())
        for paragraph in text.split("\n\n"):
            for sentence in re.split(r"(?<=[.!?])\s+", " ".join(paragraph.split())):
                if len(sentence.split()) >= 3:
                    total += 1
                    kept += sentence in cleaned
    assert total > 10_000
    assert kept / total >= 0.99


def test_empty_text() -> None:
    assert strip_furniture("") == ""
    assert strip_furniture("\n\n  \n") == ""


def test_output_paragraphs_are_blank_line_separated() -> None:
    text = "First paragraph has a full sentence.\nSecond paragraph too, on its own line."
    assert strip_furniture(text) == (
        "First paragraph has a full sentence.\n\nSecond paragraph too, on its own line."
    )


@needs_seed
def test_seed_without_its_paywall_prompt_still_ends_at_the_related_zone() -> None:
    assert SEED is not None
    lines = SEED.read_text(encoding="utf-8").splitlines()
    paywall_free = [
        line
        for line in lines
        if not line.startswith(("Interested in", "Become a Member", "Already a", "Receive full"))
    ]
    cleaned = strip_furniture("\n".join(paywall_free))
    assert cleaned.endswith("that’s never been done before.”")


def test_article_subheadings_and_title_case_lists_do_not_end_it() -> None:
    prose = (
        "The agency named five companies on Monday that will bid to carry instruments to the "
        "lunar surface, adding to the nine it picked last year for the same programme."
    )
    later = (
        "Officials said the first of the new missions could fly within three years, and that "
        "the companies would compete for each delivery rather than share a single contract. "
        "The programme is meant to cut costs by buying rides instead of owning the landers."
    )
    text = "\n\n".join(
        [
            prose,
            "The newly selected companies are:",
            "Blue Harbor Robotics, Austin, Texas",
            "Ceres Landing Systems, Palo Alto, California",
            "Granite Peak Aerospace, Denver, Colorado",
            "Related Work",
            later,
            later.replace("first", "second"),
        ]
    )
    cleaned = strip_furniture(text)
    assert cleaned.startswith(prose)
    assert later in cleaned and later.replace("first", "second") in cleaned


@pytest.mark.parametrize(
    ("line", "call"),
    [
        ("Sign up for our free newsletter to get the day's stories in your inbox every day.", True),
        ("Click here for more information about the offer and the terms that apply.", True),
        ("Signing up for the course took the volunteers most of the afternoon.", False),
        ("Readers can share their memories of the ferry at the town hall.", False),
    ],
)
def test_a_call_to_action_is_known_by_its_opening_however_long(line: str, call: bool) -> None:
    assert opens_with_call_to_action(line) is call
