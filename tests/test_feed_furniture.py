"""Feed furniture: what feeds put around a post's own text (digest/text/feed_furniture.py)."""

from __future__ import annotations

import pytest

from digest.models import Summary
from digest.text.feed_furniture import looks_like_code, post_text, strip_feed_furniture


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The study was published today… Read more", "The study was published today…"),
        ("Great stuff. Continue reading Giant Robots →", "Great stuff."),
        ("Le texte. Lire la suite »", "Le texte."),
        ("Der Text. Weiterlesen", "Der Text."),
        ("Il testo. Leggi tutto", "Il testo."),
        ("Хорошо. Читать далее →", "Хорошо."),
        ("Some text (more…)", "Some text"),
        ("Rain fell [...]", "Rain fell…"),  # an elision stays one: the sentence is cut short
        ("We want more", "We want more"),  # "more" alone is a word, not a link
        ("The post Foo appeared first on Baz Blog.", ""),
        ("Follow us on Twitter: https://twitter.com/x", ""),
        (
            "Replace findParent with .closest See https://developer.example/closest",
            "Replace findParent with .closest",
        ),
        ("See example.com/listener for privacy information. It is long.", "It is long."),
        (
            "It rained in April.Previously, it was dry.",
            "It rained in April. Previously, it was dry.",
        ),
        (  # a two-letter opener after a full word; two other letters are a name's end
            "They went to Sri Lanka.On 26 February, it rained. Ask Mail.Ru about it.",
            "They went to Sri Lanka. On 26 February, it rained. Ask Mail.Ru about it.",
        ),
        ("Il pleut à Paris.Il fait froid.", "Il pleut à Paris. Il fait froid."),
        ("Editor’s note:The Speed Read is back.", "Editor’s note: The Speed Read is back."),
        (  # a dotted name stays whole; Markdown's backticks become quotes
            "use `strings.Builder`, not java.util.List.",
            "use “strings.Builder”, not java.util.List.",
        ),
        ("Use an io.ReadSeeker, not an io.Reader.", "Use an io.ReadSeeker, not an io.Reader."),
        (
            "It opens at 10.30 am.Senior citizens go free.",
            "It opens at 10.30 am. Senior citizens go free.",
        ),
        (
            "Studio Apt,Full size Kitchen,Walk-in Closet.(Water is Paid)Laundry on site.",
            "Studio Apt, Full size Kitchen, Walk-in Closet. (Water is Paid) Laundry on site.",
        ),
        ("It costs 1,000 euros (about $1,100).", "It costs 1,000 euros (about $1,100)."),
        ("<dsmirnov> the server is down again", "dsmirnov: the server is down again"),
        ("p { color: red; } .x{margin:0} The text starts here.", "The text starts here."),
        (
            "Show notes.\n\nSponsored by:\n\nAcme: a thing.\n\nBeta: Use code X for 10% off.",
            "Show notes.",
        ),
        ("We talk phones. Use code POD for 10% off your first order.", "We talk phones."),
    ],
)
def test_strip_feed_furniture(text: str, expected: str) -> None:
    assert strip_feed_furniture(text) == expected


def test_a_post_that_is_only_offers_keeps_them_and_link_furniture_gives_nothing() -> None:
    deal = "New coupon from Shop.example: use coupon code SAVE for $10 off orders of $75."
    assert post_text(deal) == deal
    assert post_text("Comments") == ""
    assert post_text("Good morning, everyone! 🍏") == "Good morning, everyone! 🍏"


@pytest.mark.parametrize(
    ("sentence", "code"),
    [
        ("func dedupe(s []T) []T { slices.SortFunc(s, less); return s }", True),
        ("E = mc^2 and \\frac{a}{b} = \\sum_i x_i", True),
        ("Revenue 2019 2020 2021 12.5 13.1 14.2 15.0", True),
        ("The new TwiML <stream> command streams call audio.", True),
        ("Template {{ 7 * 7 }} and {% for x in y %}loop{% endfor %} stay text.", False),
        ("<dsmirnov> the racks are awful, and you talk about shoes", False),
        ("The council (Labour) approved it; work starts soon.", False),
        ("It just proves my in(s)anity.", False),
    ],
)
def test_looks_like_code(sentence: str, code: bool) -> None:
    assert looks_like_code(sentence) is code


def test_list_items_picked_together_are_set_apart() -> None:
    summary = Summary(("Does it work?", "Google wanted in too", "Is it worth it? (via Ann)"))
    assert summary.text == "Does it work? Google wanted in too · Is it worth it? (via Ann)"


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        (  # a commit message: the title, then the text without a full stop between them
            "Use crypto.GenerateRandomBytes instead of doing it by hand",
            "Use crypto.GenerateRandomBytes instead of doing it by hand\nThis makes the code "
            "a bit shorter.",
            "This makes the code a bit shorter.",
        ),
        ("Support System - Up", "Support System - Up", "Support System - Up"),  # nothing else
        ("Short", "Short news today. More to come.", "Short news today. More to come."),
        (  # the title only opens the first sentence: it is not a repeat
            "The bridge opened",
            "The bridge opened to traffic on Friday after two years of work.",
            "The bridge opened to traffic on Friday after two years of work.",
        ),
    ],
)
def test_a_text_that_opens_with_its_title_starts_after_it(
    title: str, text: str, expected: str
) -> None:
    assert post_text(text, title) == expected


def test_a_title_repeated_without_a_break_before_the_text() -> None:
    title = "Use crypto.GenerateRandomBytes instead of doing it by hand"
    text = f"{title} This makes the code a bit shorter."
    assert post_text(text, title) == "This makes the code a bit shorter."
    assert post_text(text.lower(), title) == text.lower()  # "this" goes on the sentence
    listed = "Speed the sanitizer up - allow www in URLs - use a builder for the output"
    assert (
        post_text(listed, "Speed the sanitizer up")
        == "allow www in URLs - use a builder for the output"
    )
