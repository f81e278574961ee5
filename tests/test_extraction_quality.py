"""CI floor for extraction quality on shared/data/article-pages (the benchmark's metric).

benchmarks/extraction.py reached F1 0.975, precision 0.972, recall 0.978 on these 92 pages;
the floors sit a little under, so a change that loses quality fails here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from digest.errors import ExtractError
from digest.extract import extract_article
from digest.extraction_eval import article_pages, find_shared_data, score

F1_FLOOR = 0.965
PRECISION_FLOOR = 0.962
RECALL_FLOOR = 0.965

DATA = find_shared_data()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        DATA is None or not (DATA / "article-pages").is_dir(),
        reason="shared/data/article-pages not found (set DIGEST_DATA or clone beside shared/)",
    ),
]


@pytest.fixture
def quiet_extractors() -> Iterator[None]:
    # trafilatura and readability log every odd page at WARNING; pytest would capture it all.
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.usefixtures("quiet_extractors")
def test_extraction_quality_floor() -> None:
    assert DATA is not None
    truth: dict[str, str] = {}
    predicted: dict[str, str] = {}
    for page in article_pages(DATA):
        truth[page.id] = page.true_body
        try:
            predicted[page.id] = extract_article(page.html, page.url).text
        except ExtractError:
            predicted[page.id] = ""
    assert len(truth) == 92
    scores = score(truth, predicted)
    assert scores.f1 >= F1_FLOOR, scores
    assert scores.precision >= PRECISION_FLOOR, scores
    assert scores.recall >= RECALL_FLOOR, scores
