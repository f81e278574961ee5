"""The dev data sets the summary benchmarks read, and the stable split into halves.

Data: $DIGEST_DATA or a `shared/data` folder beside the repository (`find_data_dir`). Every
set is split in two halves by a stable hash of the article id (`half_of`): rules are tuned on
half a and checked on half b.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLURB_WORDS = 45  # the word budget of a digest blurb, as the blind judges read them


def find_data_dir() -> Path | None:
    """$DIGEST_DATA, else a `shared/data` folder beside the repository or one level up."""
    if env := os.environ.get("DIGEST_DATA"):
        return Path(env)
    for candidate in (ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return None


def data_dir_or_say_so() -> Path | None:
    """`find_data_dir()`, or None after saying on stderr where the data should be."""
    data = find_data_dir()
    if data is None:
        print("no data: set DIGEST_DATA or put shared/data beside the repo", file=sys.stderr)
    return data


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    title: str
    text: str
    summary: str


def half_of(article_id: str) -> str:
    """'a' or 'b': the first byte of the id's SHA-256, even or odd (stable across runs)."""
    return "ab"[hashlib.sha256(article_id.encode("utf-8")).digest()[0] % 2]


def load(path: Path, limit: int | None, half: str = "all") -> list[Article]:
    articles: list[Article] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if half != "all" and half_of(row["id"]) != half:
                continue
            articles.append(Article(row["id"], row["title"], row["text"], row["summary"]))
            if limit and len(articles) >= limit:
                break
    return articles
