"""Every post of the real feeds, read right: entries kept, blurbs clean, time and memory.

    PYTHONPATH=. python benchmarks/realfeeds.py [--data ../shared/data/real-feeds]
        [--worst 20] [--show FEED] [--keep DIR]

Serves every feed of the corpus (one file per feed, PROVENANCE.tsv) from a loopback HTTP
server in its own process, with a Content-Type by format, and then, each in its own process:

- floor: `feedparser.parse` of every body, one after another (what a plain reader does);
- `digest build --timings` over all of them with `fulltext: never`, `window_days: 36500`,
  `window_anchor: newest`, a cap above the corpus (every entry can be shown) and 40-word
  summaries.

The digest's plain-text part is then read back and compared, feed by feed, with what
feedparser finds in the same bytes: entries kept, entries lost and why (a true repeat,
merged across feeds, or lost), stories without a blurb though the feed has text for them,
and blurbs with each defect class of benchmarks/blurb_checks.py (detectors that share no
code with digest's cleaning). The feeds are split in two halves by a stable hash of their id
(the top bit of its MD5, as benchmarks/extraction_eval.py): rules were tuned on half A;
half B stands for feeds nobody tuned to. Targets (issue 18): 0 lost; 0 stories without a
blurb when the feed has text; at most 5 junk blurbs in ~1,400; 0 undated stories shown as
today; CJK blurbs within the budget; the build within 2x the floor and under 300 MB.

One job in one file (over 500 lines): serving, running, reading the text part back and
comparing it with feedparser are steps of one measurement and share its records.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import multiprocessing
import re
import sys
import tempfile
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin

import ftfy
import yaml
from blurb_checks import JUNK, is_wide, junk_classes, wide_characters
from extraction_eval import dev_half
from scale import run_sampled

ROOT = Path(__file__).resolve().parents[1]
SUMMARY_WORDS = 40
CONTENT_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "jsonfeed": "application/feed+json",
}
# Characters of text written without spaces read in the time of one English word: reading
# speeds of 255 Chinese characters and 357 Japanese characters a minute against 228 English
# words (Trauzettel-Klosinski et al., IReST, 2012). The larger rate, so the check is lenient.
WIDE_CHARACTERS_PER_WORD = 357 / 228
CLASSES = [*JUNK, "no blurb", "undated as today", "CJK over budget"]


@dataclass(frozen=True)
class Feed:
    id: str
    path: Path
    format: str
    half: str
    note: str

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.format.split("-")[0], "application/xml")


def corpus(folder: Path) -> list[Feed]:
    with (folder / "PROVENANCE.tsv").open(encoding="utf-8") as table:
        rows = list(csv.DictReader(table, delimiter="\t"))
    return [
        Feed(r["id"], folder / r["file"], r["format"], dev_half(r["id"]), r["note"]) for r in rows
    ]


# the server, in its own process -----------------------------------------------------------


def serve(files: dict[str, tuple[Path, str]], ready: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    bodies = {path: (source.read_bytes(), kind) for path, (source, kind) in files.items()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            found = bodies.get(self.path)
            status, (body, kind) = (200, found) if found else (404, (b"", "text/plain"))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    ready.put(f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.serve_forever()


# running: the floor and the build, each in its own process --------------------------------

FLOOR = textwrap.dedent(
    """
    import sys, time, feedparser
    paths = sys.argv[1:]
    bodies = [open(p, "rb").read() for p in paths]
    started = time.perf_counter()
    count = sum(len(feedparser.parse(body).entries) for body in bodies)
    print(time.perf_counter() - started, count)
    """
)


@dataclass
class Run:
    name: str
    wall: float  # the process, start to end
    work: float  # its own measure of the work (parse loop; the build's stages)
    peak_mb: float
    output: str = ""
    errors: str = ""


def measured(command: list[str], name: str) -> Run:
    sampled = run_sampled(command)
    if sampled.returncode != 0:
        sys.exit(f"{name} failed ({sampled.returncode}):\n{sampled.out[-2000:]}\n{sampled.err}")
    return Run(name, sampled.wall, sampled.wall, sampled.peak_mb, sampled.out, sampled.err)


def fastest(runs: list[Run]) -> Run:
    """The run with the least wall time, with the highest peak RSS of all of them."""
    best = min(runs, key=lambda run: run.wall)
    best.peak_mb = max(run.peak_mb for run in runs)
    return best


def floor(feeds: list[Feed]) -> Run:
    run = measured(
        [sys.executable, "-c", FLOOR, *[str(f.path) for f in feeds]],
        "floor: feedparser.parse of every body",
    )
    run.work = float(run.output.split()[0])
    return run


def build(
    folder: Path, feeds: list[Feed], base: str, max_entries: int = 100_000
) -> tuple[Run, str]:
    config = folder / "config.yaml"
    document = {
        "title": "Real feeds",
        "feeds": [
            {"name": f.id, "url": f"{base}/{f.path.name}", "fulltext": "never"} for f in feeds
        ],
        "window_days": 36500,
        "window_anchor": "newest",
        "max_entries": max_entries,
        "summary_words": SUMMARY_WORDS,
        "output_dir": str(folder / "out"),
        "state_db": str(folder / "state.sqlite3"),
        "timezone": "UTC",
    }
    config.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    command = [sys.executable, "-m", "digest", "build", "-c", str(config), "--timings"]
    run = measured(command, "digest build")
    stages = re.findall(r"^\s+(\w+)\s+([\d.]+) s", run.errors, re.M)
    run.work = sum(float(s) for name, s in stages if name != "total") or run.wall
    return run, (folder / "out" / "digest.txt").read_text(encoding="utf-8")


# the digest's text part, read back ---------------------------------------------------------


@dataclass
class Story:
    feed: str
    title: str
    link: str
    meta: str
    blurb: str
    matched: bool = False


def stories(text: str, names: set[str]) -> list[Story]:
    """The stories of a digest's text part, with their links from its numbered list."""
    body, _, tail = text.partition("\n" + "=" * 72 + "\nLinks:")
    links = dict(re.findall(r"^\[(\d+)\] (\S+)$", tail, re.M))
    meta_line = re.compile(
        r"^(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")( · .*)?$"
    )
    found: list[Story] = []
    blocks = [b.splitlines() for b in re.split(r"\n\s*\n", body.split("=" * 72, 1)[-1])]
    for block in blocks:
        at = next((i for i, line in enumerate(block) if meta_line.match(line)), None)
        if at is not None and at > 0 and block[at].endswith("min read"):
            title = " ".join(block[:at])
            number = re.search(r" \[(\d+)\]$", title)
            link = links.get(number.group(1), "") if number else ""
            title = title[: number.start()] if number else title
            feed = meta_line.match(block[at]).group(1)  # type: ignore[union-attr]
            blurb = " ".join(block[at + 1 :])
            found.append(Story(feed, title, link, block[at], blurb))
        elif found and block and not found[-1].blurb and not _is_heading(block):
            found[-1].blurb = " ".join(block)
    return found


def _is_heading(block: list[str]) -> bool:
    return len(block) == 2 and set(block[1]) == {"-"}


# what feedparser sees ----------------------------------------------------------------------


@dataclass
class Post:
    """One entry as feedparser reads it."""

    title: str
    link: str
    id: str
    text: str
    dated: bool

    @property
    def has_content(self) -> bool:
        return bool(self.title or self.link or self.text)

    @property
    def has_prose(self) -> bool:
        """Text a blurb can be made of: words beyond link furniture ("[link] [3 comments]")."""
        text = re.sub(
            r"https?://\S+|\[[^\]]{0,40}\]|\bsubmitted by\s+\S+", " ", self.text, flags=re.I
        )
        text = re.sub(r"\b(?:comments?|link|permalink|via|source)\b", " ", text, flags=re.I)
        words = re.findall(r"\w{2,}", text)
        return len(words) + wide_characters(text) // 2 >= 4


def posts(feed: Feed, base: str) -> list[Post]:
    """feedparser's entries; for a JSON Feed, which feedparser does not read, its items as
    the `json` module reads them."""
    import feedparser

    url = f"{base}/{feed.path.name}"
    if feed.format.startswith("jsonfeed"):
        items = json.loads(feed.path.read_bytes()).get("items", [])
        return [_json_post(item, url) for item in items if isinstance(item, dict)]
    parsed = feedparser.parse(feed.path.read_bytes())
    return [_post(entry, url) for entry in parsed.entries]


def _json_post(item: dict, url: str) -> Post:  # type: ignore[type-arg]
    text = item.get("content_html") or item.get("content_text") or item.get("summary") or ""
    link = item.get("url") or item.get("external_url") or ""
    return Post(
        title=_plain(str(item.get("title") or "")),
        link=urljoin(url, link) if isinstance(link, str) and link else "",
        id=str(item.get("id") or ""),
        text=_plain(str(text)),
        dated=bool(item.get("date_published") or item.get("date_modified")),
    )


def _post(entry: dict, url: str) -> Post:  # type: ignore[type-arg]
    bodies = [c.get("value", "") for c in entry.get("content", []) or []]
    bodies.append(entry.get("summary", "") or "")
    text = _plain(max(bodies, key=len))
    link = entry.get("link", "") or ""
    return Post(
        title=_plain(entry.get("title", "") or ""),
        link=urljoin(url, link) if link else "",
        id=entry.get("id", "") or "",
        text=text,
        dated=bool(entry.get("published_parsed") or entry.get("updated_parsed")),
    )


def _plain(fragment: str) -> str:
    """Text of a field as feedparser gives it, its mojibake (feedparser's guess of a charset)
    repaired by ftfy, so that our entry can be found by its title."""
    for _ in range(2):  # escaped markup in escaped markup
        fragment = html.unescape(re.sub(r"<style.*?</style>|<script.*?</script>|<[^>]+>", " ",
                                        fragment, flags=re.S | re.I))  # fmt: skip
    return " ".join(ftfy.fix_encoding(fragment).split())


def _key(title: str) -> str:
    return re.sub(r"\W+", " ", title.casefold()).strip()


# comparing them ----------------------------------------------------------------------------


@dataclass
class FeedResult:
    feed: Feed
    theirs: int
    ours: int
    content: int  # feedparser's entries with a title, link or text
    repeats: int = 0  # lost, but the same post as another entry of the feed
    merged: int = 0  # shown once, under another feed
    lost: Counter[str] = field(default_factory=Counter)
    defects: Counter[str] = field(default_factory=Counter)
    blurbs: int = 0
    junk_blurbs: int = 0  # blurbs with at least one junk class
    failed: str = ""
    examples: list[tuple[str, str, str]] = field(default_factory=list)  # class, title, text


def compare(feed: Feed, theirs: list[Post], ours: list[Story], every: list[Story],
            built: datetime) -> FeedResult:  # fmt: skip
    result = FeedResult(feed, len(theirs), len(ours), sum(p.has_content for p in theirs))
    by_link: dict[str, list[Story]] = {}
    by_title: dict[str, list[Story]] = {}
    for story in ours:
        by_link.setdefault(story.link, []).append(story)
        by_title.setdefault(_key(story.title), []).append(story)
    today = f"{built:%a} {built.day} {built:%b}"
    matched = _matches(theirs, by_link, by_title)
    for index, post in enumerate(theirs):
        if not post.has_content:
            continue
        story = matched[index]
        if story is None:
            why = _why_lost(post, index, theirs, every, feed.id)
            if why == "repeat":
                result.repeats += 1
            elif why == "merged":
                result.merged += 1
            else:
                result.lost[why] += 1
            continue
        if post.has_prose and not story.blurb:
            result.defects["no blurb"] += 1
            result.examples.append(("no blurb", story.title, post.text[:300]))
        if not post.dated and today in story.meta:
            result.defects["undated as today"] += 1
            result.examples.append(("undated as today", story.title, story.meta))
    for story in ours:
        if not story.blurb:
            continue
        result.blurbs += 1
        result.junk_blurbs += bool(junk_classes(story.blurb))
        for name in junk_classes(story.blurb):
            result.defects[name] += 1
            result.examples.append((name, story.title, story.blurb))
        if is_wide(story.blurb) and _over_budget(story.blurb):
            result.defects["CJK over budget"] += 1
            result.examples.append(("CJK over budget", story.title, story.blurb))
    return result


def _over_budget(blurb: str) -> bool:
    words = len(re.findall(r"[^\W\d_]{2,}", re.sub(r"[\u3040-\u9fff]+", " ", blurb)))
    return wide_characters(blurb) / WIDE_CHARACTERS_PER_WORD + words > SUMMARY_WORDS * 1.05


def _matches(
    theirs: list[Post], by_link: dict[str, list[Story]], by_title: dict[str, list[Story]]
) -> list[Story | None]:
    """Our story for each of feedparser's entries: first by title (and link, when two share a
    title), then by link alone for the rest. An untitled entry's title is its text's first
    words (ours is too, with an ellipsis)."""
    found: list[Story | None] = []
    for post in theirs:
        expected = _key(post.title) if post.title else _key(" ".join(post.text.split()[:10]))
        titled = [s for s in by_title.get(expected, []) if not s.matched] if expected else []
        if not titled and not post.title and expected:
            titled = [s for ss in by_title.values() for s in ss if not s.matched
                      and _key(s.title).startswith(expected[:40])]  # fmt: skip
        linked = [s for s in titled if post.link and s.link == post.link]
        found.append(_take([*linked, *titled]))
    for index, post in enumerate(theirs):
        if found[index] is None and post.link:
            found[index] = _take(by_link.get(post.link, []))
    # Neither title nor link to go by (feedparser garbled a title, the feed has no links):
    # what is left on both sides, in order, when as many are left.
    left = [s for ss in by_title.values() for s in ss if not s.matched]
    unmatched = [i for i, story in enumerate(found) if story is None and theirs[i].has_content]
    if left and len(left) == len(unmatched):
        for index, story in zip(unmatched, left, strict=True):
            found[index] = _take([story])
    return found


def _take(stories_: list[Story]) -> Story | None:
    for story in stories_:
        if not story.matched:
            story.matched = True
            return story
    return None


def _why_lost(post: Post, index: int, theirs: list[Post], every: list[Story], feed: str) -> str:
    others = [p for i, p in enumerate(theirs) if i != index]
    if post.id and any(p.id == post.id for p in others):
        return "repeat"
    if any((p.title, p.link, p.text) == (post.title, post.link, post.text) for p in others):
        return "repeat"
    key = _key(post.title)
    elsewhere = [s for s in every if s.feed != feed]
    if any(
        (post.link and s.link == post.link) or (key and _key(s.title) == key) for s in elsewhere
    ):
        return "merged"
    if post.link and any(p.link == post.link for p in others):
        return "shares its link"
    if key and any(_key(p.title) == key for p in others):
        return "same title"
    return "not in the digest"


# the report --------------------------------------------------------------------------------


def table(results: list[FeedResult]) -> None:
    print("| feed | half | feedparser | ours | lost | why lost | repeats | merged | defects |")
    print("|---|---|---:|---:|---:|---|---:|---:|---|")
    for r in results:
        why = ", ".join(f"{k} {n}" for k, n in r.lost.items()) or (
            r.failed and f"failed: {r.failed}"
        )
        defects = ", ".join(f"{k} {n}" for k, n in sorted(r.defects.items()))
        print(f"| {r.feed.id} | {r.feed.half} | {r.theirs} | {r.ours} | {sum(r.lost.values())} "
              f"| {why} | {r.repeats} | {r.merged} | {defects} |")  # fmt: skip


def totals(results: list[FeedResult]) -> None:
    halves = {"A (tuned on)": "A", "B (not tuned on)": "B", "all": None}
    print("\n| | " + " | ".join(halves) + " |")
    print("|---|" + "---:|" * len(halves))
    rows: list[tuple[str, list[str]]] = []

    def row(name: str, value: object) -> None:
        rows.append((name, [str(value(h)) for h in halves.values()]))  # type: ignore[operator]

    def pick(half: str | None) -> list[FeedResult]:
        return [r for r in results if half is None or r.feed.half == half]

    row("feeds", lambda h: len(pick(h)))
    row("feeds failed", lambda h: sum(1 for r in pick(h) if r.failed))
    row("feeds feedparser reads with no entries from us",
        lambda h: sum(1 for r in pick(h) if r.theirs and not r.ours))  # fmt: skip
    row("feedparser entries", lambda h: sum(r.theirs for r in pick(h)))
    row("... with a title, link or text", lambda h: sum(r.content for r in pick(h)))
    row("stories in the digest", lambda h: sum(r.ours for r in pick(h)))
    row("true repeats merged", lambda h: sum(r.repeats for r in pick(h)))
    row("shown under another feed", lambda h: sum(r.merged for r in pick(h)))
    row("**posts lost**", lambda h: sum(sum(r.lost.values()) for r in pick(h)))
    row("blurbs", lambda h: sum(r.blurbs for r in pick(h)))
    for name in CLASSES:
        row(name, lambda h, n=name: sum(r.defects[n] for r in pick(h)))
    row("**blurbs with any junk class**", lambda h: sum(r.junk_blurbs for r in pick(h)))
    for name, cells in rows:
        print(f"| {name} | " + " | ".join(cells) + " |")


def worst(stories_: list[Story], count: int) -> None:
    """The blurbs with the most defect classes, then the longest flagged ones."""
    flagged = [(junk_classes(s.blurb), s) for s in stories_ if s.blurb]
    flagged = [(c, s) for c, s in flagged if c]
    flagged.sort(key=lambda cs: (-len(cs[0]), -len(cs[1].blurb)))
    print(f"\n{len(flagged)} blurbs with a junk class; the first {count}:\n")
    for classes, story in flagged[:count]:
        print(f"- {story.feed} / {story.title[:60]} [{', '.join(classes)}]\n  {story.blurb[:400]}")


def screenshot(page: Path, to: Path, height: int = 1800) -> None:
    """The top of the digest as a reader's mail client shows it: Debian's chromium, 600 px
    wide (playwright, from the test extra)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        view = browser.new_page(viewport={"width": 640, "height": height})
        view.goto(page.as_uri())
        to.parent.mkdir(parents=True, exist_ok=True)
        view.screenshot(path=str(to), clip={"x": 0, "y": 0, "width": 640, "height": height})
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/real-feeds")
    parser.add_argument("--worst", type=int, default=20, help="print this many junk blurbs")
    parser.add_argument("--show", action="append", default=[], help="print a feed's stories")
    parser.add_argument("--keep", type=Path, help="copy the digest's output here")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each; the fastest counts (a shared machine)"
    )
    parser.add_argument(
        "--screenshot", type=Path, help="a PNG of the digest's top at 600 px (headless chromium)"
    )
    parser.add_argument("--half", choices=("A", "B"), help="examples from this half only")
    parser.add_argument(
        "--examples", action="append", default=[], help="print the defects of a class ('all')"
    )
    args = parser.parse_args()
    feeds = corpus(args.data)
    files = {f"/{f.path.name}": (f.path, f.content_type) for f in feeds}
    ready: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.get_context("fork").Process(
        target=serve, args=(files, ready), daemon=True
    )
    server.start()
    base = ready.get(timeout=60)
    try:
        floors, builds = [], []
        for _ in range(args.repeat):  # in turn, so a busy moment of the machine hits both
            floors.append(floor(feeds))
            with tempfile.TemporaryDirectory() as folder:  # a fresh state database
                built = datetime.now(UTC)
                run, text = build(Path(folder), feeds, base)
                builds.append(run)
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    for part in ("digest.html", "digest.txt"):
                        (args.keep / part).write_bytes((Path(folder) / "out" / part).read_bytes())
        baseline, ours = fastest(floors), fastest(builds)
        if args.screenshot:  # an ordinary issue: 30 stories, the feeds taking turns
            with tempfile.TemporaryDirectory() as folder:
                build(Path(folder), feeds, base, max_entries=30)
                screenshot(Path(folder) / "out" / "digest.html", args.screenshot)
    finally:
        server.kill()
    every = stories(text, {f.id for f in feeds})
    failed = dict(re.findall(r"^  failed: (\S+): (.*)$", ours.errors, re.M))
    results = []
    for feed in feeds:
        mine = [s for s in every if s.feed == feed.id]
        result = compare(feed, posts(feed, base), mine, every, built)
        result.failed = failed.get(feed.id, "")
        results.append(result)
    table(results)
    totals(results)
    print("\n| run | wall s | work s | peak RSS MB | x floor (wall) |\n|---|---:|---:|---:|---:|")
    for run in (baseline, ours):
        print(f"| {run.name} | {run.wall:.2f} | {run.work:.2f} | {run.peak_mb:.0f} "
              f"| {run.wall / baseline.wall:.2f} |")  # fmt: skip
    print("\n" + ours.errors.strip())
    worst(every, args.worst)
    for result in results:
        if args.half and result.feed.half != args.half:
            continue
        for name, title, text in result.examples:
            if name in args.examples or "all" in args.examples:
                print(f"\n[{name}] {result.feed.id} / {title}\n  {text[:500]}")
    for name in args.show:
        for story in (s for s in every if s.feed == name):
            print(f"\n## {story.title}\n{story.meta}\n{story.blurb}")


if __name__ == "__main__":
    main()
