"""Edit config.yaml in place, its comments, order and layout kept (ruamel.yaml round trip).

An edit is all or nothing: the new text is validated by the loader every command uses (as if
it were the file, so errors name its lines), written to a temporary file beside the config
and renamed over it only then. A failed edit leaves the file byte for byte as it was.

ruamel keeps a comment with the node before it: the comment above `window_days:` belongs, to
ruamel, to the last feed's last value. Appending or removing a feed moves such comments so
that each stays above what it describes.
"""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken

from digest.config.load import settings_from_text
from digest.config.settings import Settings
from digest.errors import ConfigError
from digest.files import write_atomically

# (mapping indent, sequence indent, dash offset): the layouts tried, to find the one that
# writes the file back exactly as it was (ruamel does not detect it).
LAYOUTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 4, 0), (2, 4, 0), (4, 6, 4), (4, 2, 0))


@dataclass
class Document:
    """A config file loaded for editing."""

    path: Path
    original: bytes
    yaml: YAML
    data: CommentedMap

    def feeds(self) -> CommentedSeq:
        feeds = self.data.get("feeds")
        if not isinstance(feeds, CommentedSeq):
            feeds = CommentedSeq()
            self.data["feeds"] = feeds
        return feeds

    def append_feed(self, feed: dict[str, Any]) -> None:
        """A feed added at the end of `feeds:`; the comment that followed the last feed (the
        next key's) moves below the new one."""
        feeds = self.feeds()
        item = CommentedMap(feed)
        if feeds:
            own, after = _split(_trailing_text(feeds[-1]), _content_column(feeds))
            _set_trailing(feeds[-1], own)
            feeds.append(item)
            _set_trailing(item, "\n" + after if after else "")
        else:
            feeds.append(item)

    def remove_feed(self, index: int) -> None:
        """The feed at `index` removed with its own comments; the ones that follow it (above
        the next feed or the next key) are kept."""
        feeds = self.feeds()
        _, after = _split(_trailing_text(feeds[index]), _content_column(feeds))
        del feeds[index]
        if not after:
            return
        if index > 0:
            _set_trailing(feeds[index - 1], (_trailing_text(feeds[index - 1]) or "\n") + after)
        elif feeds:
            _add_start_comment(feeds, after)

    def text(self) -> str:
        return _dump(self.yaml, self.data)


def load_document(path: Path) -> Document:
    """The config file as ruamel's round-trip tree, with the layout that reproduces it."""
    try:
        original = path.read_bytes()
        text = original.decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    best: tuple[int, YAML, CommentedMap] | None = None
    for layout in LAYOUTS:
        yaml = _yaml(layout)
        try:
            data = yaml.load(text)
        except YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(data, CommentedMap):
            raise ConfigError(f"{path}: the top level must be a mapping of settings")
        changed = _lines_changed(text, _dump(yaml, data))
        if best is None or changed < best[0]:
            best = (changed, yaml, data)
        if changed == 0:
            break
    assert best is not None
    return Document(path, original, best[1], best[2])


@contextmanager
def editing(path: Path) -> Iterator[Document]:
    """Load `path`, let the caller change it, then validate and write it atomically. Any error
    (in the caller or in validation) leaves the file untouched; so does an edit that changes
    nothing."""
    document = load_document(path)
    yield document
    if document.text().encode("utf-8") != document.original:
        save(document)


def save(document: Document) -> Settings:
    """Write the edited document over its file once it validates; the settings it gives."""
    text = document.text()
    settings = settings_from_text(document.path, text)  # errors name the file and the line
    target = document.path.resolve()  # a symbolic link's target is edited, the link kept
    try:
        if target.read_bytes() != document.original:
            raise ConfigError(
                f"{document.path}: changed by another program meanwhile; nothing written"
            )
        write_atomically(target, text, stat.S_IMODE(target.stat().st_mode))
    except OSError as exc:
        raise ConfigError(f"{document.path}: cannot write: {exc.strerror or exc}") from None
    return settings


# ruamel ------------------------------------------------------------------------------------


def _yaml(layout: tuple[int, int, int]) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line
    mapping, sequence, offset = layout
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.representer.add_representer(type(None), _null)
    return yaml


def _null(representer: Any, _: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _dump(yaml: YAML, data: CommentedMap) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _lines_changed(before: str, after: str) -> int:
    import difflib

    diff = difflib.ndiff(before.splitlines(), after.splitlines())
    return sum(1 for line in diff if line[:1] in "+-")


def _content_column(feeds: CommentedSeq) -> int:
    """The column a feed's keys start at (a comment indented this far is the feed's own)."""
    item = feeds[0] if feeds else None
    if isinstance(item, CommentedMap) and item:
        return int(item.lc.key(next(iter(item)))[1])
    return 4


def _trailing_slot(node: Any) -> tuple[Any, Any, int] | None:
    """Where ruamel keeps the comment after a block node's last line: on its last key (slot 2)
    or item (slot 0), in the deepest block collection that ends it."""
    while True:
        if isinstance(node, CommentedMap) and node:
            key: Any = list(node)[-1]
            slot = 2
        elif isinstance(node, CommentedSeq) and node:
            key, slot = len(node) - 1, 0
        else:
            return None
        value = node[key]
        nested = isinstance(value, (CommentedMap, CommentedSeq)) and value
        if nested and not value.fa.flow_style():
            node = value
            continue
        return node, key, slot


def _trailing_text(node: Any) -> str:
    where = _trailing_slot(node)
    if where is None:
        return ""
    owner, key, slot = where
    token = (owner.ca.items.get(key) or [None] * 4)[slot]
    return str(token.value) if token is not None else ""


def _set_trailing(node: Any, text: str) -> None:
    where = _trailing_slot(node)
    if where is None:
        return
    owner, key, slot = where
    comments = owner.ca.items.setdefault(key, [None] * 4)
    token = comments[slot]
    if not text.strip():
        comments[slot] = None
    elif token is not None:
        token.value = text
    else:
        comments[slot] = CommentToken(text, CommentMark(0), None)


def _split(text: str, column: int) -> tuple[str, str]:
    """A trailing comment as (the feed's own part, what follows it). The feed's own part is its
    end-of-line comment and the comment lines right below indented as deep as its keys; from
    the first blank line or shallower line on, the text belongs to what comes next."""
    if not text:
        return "", ""
    first, _, rest = text.partition("\n")
    lines = rest.splitlines(keepends=True)
    own = 0
    while own < len(lines) and _indented_comment(lines[own], column):
        own += 1
    return first + "\n" + "".join(lines[:own]), "".join(lines[own:])


def _indented_comment(line: str, column: int) -> bool:
    stripped = line.lstrip(" ")
    return stripped.startswith("#") and len(line) - len(stripped) >= column


def _add_start_comment(feeds: CommentedSeq, text: str) -> None:
    """Comment lines placed above the first feed."""
    token = CommentToken(text.lstrip("\n"), CommentMark(0), None)
    if feeds.ca.comment and feeds.ca.comment[1]:
        feeds.ca.comment[1].append(token)
    else:
        feeds.ca.comment = [None, [token]]
