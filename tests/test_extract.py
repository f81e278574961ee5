"""html_to_text units; extract_article on invented pages and on a few real ones."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from extraction_eval import Page, article_pages, find_shared_data, shingle_match

from digest.errors import ExtractError
from digest.text.extract import RULES, extract_article, extract_with_rules, html_to_text

DATA = find_shared_data()


# --- html_to_text ---------------------------------------------------------------------------


def test_paragraphs_become_blank_line_separated() -> None:
    html = "<p>First <b>bold</b> paragraph.</p><p>Second\n   paragraph.</p>"
    assert html_to_text(html) == "First bold paragraph.\n\nSecond paragraph."


def test_single_br_is_a_line_break_and_double_br_a_paragraph() -> None:
    html = "<p>12 High Street<br>Springfield<br><br>Open daily.</p>"
    assert html_to_text(html) == "12 High Street\nSpringfield\n\nOpen daily."


def test_lists_and_headings_are_their_own_paragraphs() -> None:
    html = "<h2>What changed</h2><ul><li>Fares went up.</li><li>Routes <i>moved</i>.</li></ul>"
    assert html_to_text(html) == "What changed\n\nFares went up.\n\nRoutes moved."


def test_figures_scripts_and_styles_are_dropped() -> None:
    html = (
        "<style>p{color:red}</style><p>Kept text.</p>"
        "<figure><img src='a.jpg'><figcaption>A caption (Photo: Jane Doe)</figcaption></figure>"
        "<script>track()</script><p>More kept text.</p>"
    )
    assert html_to_text(html) == "Kept text.\n\nMore kept text."


def test_loose_text_entities_and_comments() -> None:
    assert html_to_text("Fish &amp; chips <!-- hidden --> for two") == "Fish & chips for two"


def test_loose_text_around_blocks_is_kept_in_order() -> None:
    assert html_to_text("Intro line<p>Body.</p>Outro line") == "Intro line\n\nBody.\n\nOutro line"


@pytest.mark.parametrize("empty", ["", "   ", "<p></p>", "<script>x()</script>"])
def test_empty_html_gives_empty_text(empty: str) -> None:
    assert html_to_text(empty) == ""


# --- extract_article on invented pages ------------------------------------------------------

ARTICLE_PARAGRAPHS = [
    "The harbour authority said on Wednesday that the old ferry terminal would close at the "
    "end of the year, ending more than a century of crossings from the town's quayside.",
    "Passenger numbers have fallen by almost half since the bridge opened, and the cost of "
    "repairing the terminal's sea wall was estimated at four times the annual ticket revenue.",
    "Local councillors asked for the closure to be delayed until a new bus link is running, "
    "arguing that elderly residents who relied on the ferry would otherwise be cut off.",
    "The authority said it would keep a small landing stage open for leisure boats and that "
    "the terminal building would be offered to community groups on a peppercorn lease.",
    "A public meeting on the plans will be held in the town hall next month, and written "
    "comments can be sent to the authority until the end of October.",
]


def _page(body: str, head: str = "") -> str:
    return (
        "<!DOCTYPE html><html><head><title>Ferry terminal to close | The Coast Courier</title>"
        '<meta property="og:title" content="Ferry terminal to close">'
        '<meta name="author" content="Ruth Marsh">'
        '<meta property="article:published_time" content="2024-09-18T08:30:00+00:00">'
        '<meta property="og:image" content="https://example.org/ferry.jpg">'
        f"{head}</head><body>"
        '<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>'
        '<div class="cookie">We use cookies to improve your experience. '
        "<button>Accept all cookies</button></div>"
        f"<main><article><h1>Ferry terminal to close</h1>{body}</article></main>"
        '<footer><p>© 2024 The Coast Courier. <a href="/privacy">Privacy policy</a></p></footer>'
        "</body></html>"
    )


def _article_body(extra: str = "") -> str:
    paragraphs = "".join(f"<p>{text}</p>" for text in ARTICLE_PARAGRAPHS)
    return (
        '<div class="share">Share <a href="https://twitter.com/share">Twitter</a></div>'
        f"{paragraphs}{extra}"
    )


RELATED_LINKS = (
    "<h3>Related articles</h3><ul>"
    '<li><a href="/a">Bridge tolls to rise again next spring, council confirms</a></li>'
    '<li><a href="/b">Harbour dredging contract goes to local firm</a></li>'
    '<li><a href="/c">Town hall clock restored after two years of silence</a></li></ul>'
)


def test_invented_news_page_keeps_article_and_drops_furniture() -> None:
    article = extract_article(_page(_article_body(RELATED_LINKS)), "https://example.org/ferry")
    assert article.text.split("\n\n") == ARTICLE_PARAGRAPHS
    assert article.title == "Ferry terminal to close"
    assert article.author == "Ruth Marsh"
    assert article.date == datetime(2024, 9, 18, 8, 30, tzinfo=UTC)
    assert article.image == "https://example.org/ferry.jpg"
    assert article.url == "https://example.org/ferry"
    assert not article.paywalled


def test_bytes_input_with_declared_charset() -> None:
    html = _page(_article_body()).replace("<head>", '<head><meta charset="utf-8">')
    body = html.replace("century", "century — señor").encode("utf-8")
    assert "century — señor" in extract_article(body).text


def test_paywalled_page_is_flagged_and_its_prompt_dropped() -> None:
    declaration = (
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        '"isAccessibleForFree": false, "hasPart": {"@type": "WebPageElement", '
        '"isAccessibleForFree": "False", "cssSelector": ".paywalled"}}</script>'
    )
    teaser = f"<p>{ARTICLE_PARAGRAPHS[0]}</p><p>{ARTICLE_PARAGRAPHS[1]}</p>"
    prompt = (
        '<div class="paywall"><p>Subscribe to continue reading this article.</p>'
        "<p>Already a subscriber? Sign in</p></div>"
    )
    article = extract_article(_page(teaser + prompt, head=declaration))
    assert article.paywalled
    assert "Subscribe" not in article.text and "Sign in" not in article.text
    assert ARTICLE_PARAGRAPHS[0] in article.text


def test_paywall_prompt_without_declaration_is_flagged() -> None:
    body = f"<p>{ARTICLE_PARAGRAPHS[0]}</p><p>{ARTICLE_PARAGRAPHS[1]}</p>"
    body += "<p>You have read all your free articles this month.</p>"
    assert extract_article(_page(body)).paywalled


@pytest.mark.parametrize("html", ["", "   ", b""])
def test_empty_page_raises_naming_the_url(html: str | bytes) -> None:
    with pytest.raises(ExtractError, match=re.escape("https://example.org/x: empty page")):
        extract_article(html, "https://example.org/x")


def test_page_without_article_raises_naming_the_url() -> None:
    html = "<html><body><nav><a href='/'>Home</a></nav></body></html>"
    with pytest.raises(ExtractError, match=re.escape("https://example.org/nav: no article text")):
        extract_article(html, "https://example.org/nav")


# Two teaser cards of other stories inside the story's own <article>, as blog themes print
# "you may like" grids; the words are Portuguese, as no English end-heading rule knows them.
STORY_CARDS = (
    "<section><h3>Você pode gostar</h3>"
    "<article><h4><a href='/p1'>Um novo parque</a></h4><p>O novo parque da cidade abriu neste "
    "sábado com trilhas, um lago e espaço para piqueniques, e recebeu milhares de visitantes "
    "no primeiro dia.</p></article>"
    "<article><h4><a href='/p2'>A feira de livros</a></h4><p>A feira de livros voltou à praça "
    "central depois de dois anos, com mais de cem expositores e uma programação de debates "
    "com autores locais.</p></article></section>"
)


def test_other_stories_cards_inside_the_story_are_cut() -> None:
    html = _page(_article_body(STORY_CARDS))
    assert extract_article(html).text.split("\n\n") == ARTICLE_PARAGRAPHS
    without_rule = extract_with_rules(html, None, frozenset(RULES) - {"story cards"}).text
    assert "O novo parque" in without_rule and "A feira de livros" in without_rule


JAPANESE_PARAGRAPHS = [
    "今日は朝から雨が降っていたので、駅まで歩くのをやめてバスに乗ることにしました。",
    "バスの中では<a href='/app'>乗換案内</a>のアプリを使って、次の電車の時刻を調べました。",
    "会社に着いたのは九時少し前で、同僚たちはもう会議の準備を始めていました。",
    "午後の会議では新しい計画について話し合い、来月までに資料をまとめることになりました。",
    "帰りは雨もやんでいたので、久しぶりに駅から家までゆっくり歩いて帰りました。",
]


def test_japanese_link_text_is_its_own_word() -> None:
    body = "".join(f"<p>{text}</p>" for text in JAPANESE_PARAGRAPHS)
    html = f"<html lang='ja'><body><article><h1>雨の日</h1>{body}</article></body></html>"
    assert "バスの中では 乗換案内 のアプリを使って" in extract_article(html).text
    without_rule = extract_with_rules(html, None, frozenset(RULES) - {"CJK inline spacing"})
    assert "バスの中では乗換案内のアプリを使って" in without_rule.text


def test_latin_text_around_links_is_left_alone() -> None:
    body = _article_body().replace("ferry terminal", "<a href='/t'>ferry</a> terminal", 1)
    assert extract_article(_page(body)).text.split("\n\n") == ARTICLE_PARAGRAPHS


def test_every_rule_off_is_still_an_extraction() -> None:
    # The ablation's floor: trafilatura's text alone, uncleaned, still holds the article.
    text = extract_with_rules(_page(_article_body(RELATED_LINKS)), None, frozenset()).text
    assert all(paragraph in text for paragraph in ARTICLE_PARAGRAPHS)


# --- extract_article on real pages from the data set ----------------------------------------


# A few of the benchmark's pages, read from shared/data at test time, never copied.
def _real_pages() -> list[Page]:
    if DATA is None or not (DATA / "article-pages").is_dir():
        return []
    wanted = ("venturebeat.com", "bbc.com", "space.com")
    pages = [page for page in article_pages(DATA) if any(site in page.url for site in wanted)]
    return pages[:4]


@pytest.mark.skipif(not _real_pages(), reason="shared/data/article-pages not found")
@pytest.mark.parametrize("page", _real_pages(), ids=lambda page: page.url.split("/")[2])
def test_real_page_matches_its_true_body(page: Page) -> None:
    article = extract_article(page.html, page.url)
    match = shingle_match(page.true_body, article.text)
    assert match.tp / (match.tp + match.fp) >= 0.9
    assert match.tp / (match.tp + match.fn) >= 0.9
    assert article.title
    assert article.date is not None and article.date.tzinfo is not None


def test_non_ascii_and_xml_declaration() -> None:
    html = "<?xml version='1.0' encoding='utf-8'?><p>Café — naïve &#8217;quote&#8217;</p>"
    assert html_to_text(html) == "Café — naïve ’quote’"


def test_table_rows_are_paragraphs_with_cells_on_one_line() -> None:
    html = "<table><tr><td>Team</td><td>Points</td></tr><tr><td>Leeds</td><td>71</td></tr></table>"
    assert html_to_text(html) == "Team Points\n\nLeeds 71"


def test_spaced_double_br_is_a_paragraph_break() -> None:
    assert html_to_text("<p>One<br>\n <br>Two</p>") == "One\n\nTwo"


def test_a_paragraph_ending_in_a_call_to_action_is_a_promo() -> None:
    promo = (
        "<p>Start your morning with The Daily Brief, the five stories our editors are reading. "
        "Sign up for the free daily newsletter.</p>"
    )
    assert extract_article(_page(_article_body(promo))).text.split("\n\n") == ARTICLE_PARAGRAPHS


def test_a_paragraph_ending_in_a_date_is_prose() -> None:
    dated = "<p>Tickets for the anniversary tour go on sale at 10 a.m. Friday, Dec. 6.</p>"
    text = extract_article(_page(_article_body(dated))).text
    assert text.endswith("Friday, Dec. 6.")


def test_the_headline_repeated_above_the_body_is_dropped() -> None:
    body = _article_body().replace("<div class=", "<p>Ferry terminal to close</p><div class=", 1)
    article = extract_article(_page(body))
    assert article.text.split("\n\n") == ARTICLE_PARAGRAPHS


def test_a_sentence_ending_in_a_closing_quote_is_not_the_headline() -> None:
    # Nearly all the headline's words, but a sentence: its full stop sits inside the quotes.
    title = "Ruth Marsh eliminated from 'The Great Ferry Race'"
    lede = "Ruth Marsh has been eliminated from “The Great Ferry Race.”"
    body = _article_body().replace("<div class=", f"<p>{lede}</p><div class=", 1)
    html = _page(body).replace("Ferry terminal to close", title)
    assert extract_article(html).text.split("\n\n") == [lede, *ARTICLE_PARAGRAPHS]


# A picture's caption set in a plain <span> under it, repeating the image's alt text, as
# some CMS themes print it (a <figcaption> trafilatura already leaves out).
ALT_CAPTION = (
    "<div class='pic'><img src='/quay.jpg' alt='The ferry leaving the quayside at dawn'><br>"
    "<span class='small'>The ferry leaving the quayside at dawn</span></div>"
)


def test_a_caption_repeating_the_images_alt_text_is_cut() -> None:
    paragraphs = "".join(f"<p>{text}</p>" for text in ARTICLE_PARAGRAPHS)
    body = paragraphs.replace("</p><p>", f"</p>{ALT_CAPTION}<p>", 1)
    html = _page(body)
    assert extract_article(html).text.split("\n\n") == ARTICLE_PARAGRAPHS
    without_rule = extract_with_rules(html, None, frozenset(RULES) - {"image captions"}).text
    assert "The ferry leaving the quayside at dawn" in without_rule


def test_a_short_alt_text_is_not_taken_for_a_caption() -> None:
    # "Timetable" as both a subheading and an image's alt text: a label, not a caption.
    extra = "<h2>Winter timetable</h2><img src='/t.png' alt='Winter timetable'>"
    paragraphs = "".join(f"<p>{text}</p>" for text in ARTICLE_PARAGRAPHS)
    html = _page(paragraphs.replace("</p><p>", f"</p>{extra}<p>", 1))
    assert "Winter timetable" in extract_article(html).text


def test_a_promo_whose_call_to_action_runs_long_is_cut() -> None:
    promo = (
        "<p>There is plenty more where that came from. Sign up for The Harbour Letter today "
        "to get our free weekly newsletter about the coast delivered straight to your inbox "
        "every Friday morning.</p>"
    )
    html = _page(_article_body(promo))
    assert extract_article(html).text.split("\n\n") == ARTICLE_PARAGRAPHS
    without_rule = extract_with_rules(html, None, frozenset(RULES) - {"promo paragraphs"}).text
    assert "Sign up for The Harbour Letter" in without_rule


def test_prose_that_mentions_signing_up_is_kept() -> None:
    prose = (
        "<p>Volunteers are needed for the last crossing. Sign-up sheets for the farewell "
        "crew, the harbour authority said, will be at the terminal office until Friday.</p>"
    )
    assert "Sign-up sheets for the farewell" in extract_article(_page(_article_body(prose))).text
