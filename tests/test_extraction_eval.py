"""The benchmark metric, on hand-checked examples."""

from __future__ import annotations

import pytest
from extraction_eval import ShingleMatch, aggregate, score, shingle_match, shingles


def test_shingles_are_four_token_multisets() -> None:
    counts = shingles("a b c d a b c d")
    assert counts[("a", "b", "c", "d")] == 2
    assert sum(counts.values()) == 5


def test_short_text_is_one_shorter_shingle_and_empty_text_none() -> None:
    assert shingles("only two") == {("only", "two"): 1}
    assert shingles("") == {}


def test_match_is_normalised_per_page() -> None:
    # truth has 3 shingles, prediction 4 (3 shared + 1 extra): tp 3, fp 1, fn 0.
    match = shingle_match("one two three four five six", "one two three four five six seven")
    assert match == pytest.approx(ShingleMatch(0.75, 0.25, 0.0))


def test_empty_prediction_counts_for_recall_only() -> None:
    scores = aggregate([shingle_match("a b c d e", ""), shingle_match("w x y z", "w x y z")])
    assert scores.precision == 1.0
    assert scores.recall == 0.5


def test_score_is_harmonic_mean_of_mean_precision_and_recall() -> None:
    scores = score(
        {"p1": "a b c d e f", "p2": "k l m n o p"},
        {"p1": "a b c d e f x y", "p2": "k l m n"},
    )
    precision = (3 / 5 + 1.0) / 2
    recall = (1.0 + 1 / 3) / 2
    assert scores.precision == pytest.approx(precision)
    assert scores.recall == pytest.approx(recall)
    assert scores.f1 == pytest.approx(2 * precision * recall / (precision + recall))
