"""OPML import and export: folders become sections, duplicates are skipped and counted, an
export imported again loses nothing, and hostile or broken files change nothing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO
from conftest import run_cli as run

from digest.config.load import load_settings
from digest.feeds.opml import OpmlError, parse_opml

FEED_KEYS = ("name", "url", "section", "max_entries", "fulltext", "include", "exclude")


@pytest.fixture
def config(bundled_config: Path) -> Path:
    return bundled_config


def opml(body: str, head: str = "<head><title>Subscriptions</title></head>") -> str:
    declaration = '<?xml version="1.0" encoding="UTF-8"?>\n'
    return f'{declaration}<opml version="2.0">{head}<body>{body}</body></opml>\n'


def outline(title: str, url: str, **attributes: str) -> str:
    extra = "".join(f' {name}="{value}"' for name, value in attributes.items())
    return f'<outline type="rss" text="{title}" title="{title}" xmlUrl="{url}"{extra}/>'


def fifty_feeds() -> str:
    """A reader's export: 5 folders of 9 feeds, one nested folder, 5 feeds at the top."""
    folders = []
    for folder in range(5):
        feeds = "".join(
            outline(f"Blog {folder}-{n}", f"https://blog{folder}-{n}.example/feed.xml")
            for n in range(8)
        )
        nested = outline(f"Deep {folder}", f"https://deep{folder}.example/atom")
        folders.append(
            f'<outline text="Folder {folder}">{feeds}<outline text="Inner {folder}">{nested}'
            "</outline></outline>"
        )
    top = "".join(outline(f"Top {n}", f"https://top{n}.example/rss") for n in range(5))
    return opml("".join(folders) + top)


def feeds_of(config: Path) -> list[dict[str, object]]:
    return [{key: getattr(feed, key) for key in FEED_KEYS} for feed in load_settings(config).feeds]


def comment_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.lstrip().startswith("#")]


def test_import_of_fifty_feeds_makes_sections_of_folders(config: Path, tmp_path: Path) -> None:
    source = tmp_path / "subscriptions.opml"
    source.write_text(fifty_feeds())
    comments = comment_lines(config)
    code, out, err = run("feeds", "import", str(source), "-c", str(config))
    assert code == 0, err
    assert out.splitlines()[0] == (
        f"imported 50 of 50 feeds from {source} into {config}, in 10 sections (Folder 0, "
        "Inner 0, Folder 1, Inner 1, Folder 2, Inner 2, Folder 3, Inner 3, Folder 4, Inner 4)"
    )
    feeds = load_settings(config).feeds
    assert len(feeds) == 53
    by_name = {feed.name: feed for feed in feeds}
    assert by_name["Blog 2-7"].section == "Folder 2"
    assert by_name["Deep 3"].section == "Inner 3"  # the nearest folder names the section
    assert by_name["Top 4"].section is None
    assert comment_lines(config) == comments

    before = config.read_bytes()
    code, out, _ = run("feeds", "import", str(source), "-c", str(config))
    assert code == 0
    assert out.splitlines()[:2] == [
        f"nothing imported from {source}: {config} is unchanged",
        "skipped 50 duplicates:",
    ]
    assert config.read_bytes() == before


def test_duplicates_within_the_file_and_with_the_config_are_skipped_and_counted(
    config: Path, tmp_path: Path
) -> None:
    source = tmp_path / "mixed.opml"
    source.write_text(
        opml(
            outline("One", "https://one.example/feed")
            + outline("One again", "http://www.one.example/feed/")  # same page, other spelling
            + outline("Science", "samples/science.rss")  # already in the config
            + outline("Gopher", "gopher://old.example/feed")
            + '<outline text="Folder"><outline text="x" xmlUrl="https://two.example/f"/></outline>'
        )
    )
    code, out, _ = run("feeds", "import", str(source), "-c", str(config))
    assert code == 0
    assert out.splitlines() == [
        f"imported 2 of 5 feeds from {source} into {config}, in 1 section (Folder)",
        "skipped 2 duplicates:",
        "  «One again» http://www.one.example/feed/: already configured as 'One'",
        "  «Science» samples/science.rss: already configured as 'Lab Notes'",
        "skipped 1 unusable:",
        "  «Gopher» gopher://old.example/feed: not an http(s) URL or a file beside the config",
        "run `digest check` to fetch each new feed once",
    ]


def test_an_export_imported_again_loses_nothing_and_keeps_the_comments(
    config: Path, tmp_path: Path
) -> None:
    source = tmp_path / "with-extras.opml"
    source.write_text(fifty_feeds())
    assert run("feeds", "import", str(source), "-c", str(config))[0] == 0
    text = config.read_text()
    extras = (
        "    section: Culture\n    fulltext: never\n    include: [essay, '/long ?read/']\n"
        "    exclude: [sponsored]\n"
    )
    config.write_text(text.replace("    section: Culture\n", extras, 1))
    code, exported, _ = run("feeds", "export", "-c", str(config))
    assert code == 0 and exported.startswith("<?xml version='1.0' encoding='utf-8'?>\n<opml")
    saved = tmp_path / "export.opml"
    saved.write_text(exported)

    other = tmp_path / "other"
    other.mkdir()
    shutil.copytree(REPO / "samples", other / "samples")
    target = other / "config.yaml"
    target.write_text(
        "# my own digest\ntitle: Mine  # the heading\n\n# one feed to start\nfeeds:\n"
        "  - name: Mine\n    url: https://mine.example/feed  # my blog\n\n"
        "# a week\nwindow_days: 7\n"
    )
    comments = comment_lines(target)
    code, out, err = run("feeds", "import", str(saved), "-c", str(target))
    assert code == 0, err
    assert out.startswith("imported 53 of 53 feeds")
    assert feeds_of(target)[1:] == feeds_of(config)  # every feed, every per-feed setting
    assert comment_lines(target) == comments
    tops = "".join(f"  - name: Top {n}\n    url: https://top{n}.example/rss\n" for n in range(5))
    assert target.read_text().endswith(f"    section: Inner 4\n{tops}\n# a week\nwindow_days: 7\n")

    code, out, _ = run("feeds", "export", "-c", str(target), "-o", str(tmp_path / "again.opml"))
    assert code == 0
    again = parse_opml((tmp_path / "again.opml").read_bytes(), "again.opml")
    assert [(f.name, f.url, f.section) for f in again][1:] == [
        (f.name, f.url, f.section) for f in parse_opml(saved.read_bytes(), "export.opml")
    ]


HOSTILE = {
    "malformed": (
        opml("<outline text='x' xmlUrl='https://a.example/f'>"),
        r"{path}:2: not valid OPML: malformed XML \(mismatched tag\)",
    ),
    "billion laughs": (
        '<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        "<opml version='2.0'><body><outline text='&b;' xmlUrl='https://a.example/f'/></body></opml>",
        r"{path}: refused: the file declares XML entities \(never expanded\)",
    ),
    "external entity": (
        '<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<opml version='2.0'><body><outline text='&x;' xmlUrl='https://a.example/f'/></body></opml>",
        r"{path}: refused: the file declares XML entities \(never expanded\)",
    ),
    "not opml": (
        '<?xml version="1.0"?><rss version="2.0"><channel/></rss>',
        r"{path}: not OPML \(the root element is <rss>\)",
    ),
    "no feeds": (opml("<outline text='empty folder'/>"), r"{path}: no feeds in it"),
    "not xml at all": ("name,url\nA,https://a.example/f\n", r"{path}:1: not valid OPML"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_broken_or_hostile_opml_file_is_one_line_exit_2_and_changes_nothing(
    config: Path, tmp_path: Path, case: str
) -> None:
    body, expected = HOSTILE[case]
    source = tmp_path / "bad.opml"
    source.write_text(body)
    before = config.read_bytes()
    code, out, err = run("feeds", "import", str(source), "-c", str(config))
    assert code == 2 and out == ""
    assert re.fullmatch(
        "digest: error: " + expected.format(path=re.escape(str(source))) + r".*\n", err
    )
    assert config.read_bytes() == before


def test_parse_opml_reads_flat_categories_and_unnamed_outlines() -> None:
    feeds = parse_opml(
        opml(
            '<outline xmlUrl="https://a.example/f" category="/Tech/Linux,News"/>'
            '<outline text="B" xmlUrl="https://b.example/f"/>'
        ).encode(),
        "flat.opml",
    )
    assert [(f.name, f.url, f.section) for f in feeds] == [
        ("a.example", "https://a.example/f", "Linux"),
        ("B", "https://b.example/f", None),
    ]
    with pytest.raises(OpmlError, match="larger than"):
        parse_opml(b" " * 10_000_001, "huge.opml")
