"""Reading config.yaml: YAML -> validated, frozen Settings (settings.py), with errors that
name the file, the line, the key path and the reason, and a "did you mean" for typos."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from digest.config.settings import DEFAULT_CONFIG_NAME, Settings, is_http
from digest.errors import ConfigError


def load_settings(path: Path | str) -> Settings:
    """Read, validate and freeze a config file. Raises ConfigError with file:line: key: reason."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (create one with `digest init`)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return settings_from_text(path, raw)


def settings_from_text(path: Path, raw: str) -> Settings:
    """Validate config text as if it were the file at `path` (its folder resolves relative
    paths; errors name `path`): `digest feeds` checks an edit this way before writing it."""
    data, lines = _parse_yaml(path, raw)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings")
    try:
        settings = Settings.model_validate({**data, "base_dir": path.resolve().parent})
    except ValidationError as exc:
        raise ConfigError(_describe(path, exc, lines)) from None
    _check_feed_files(path, settings, lines)
    return _with_dkim_key(path, settings, lines)


# libyaml's loader when PyYAML has it (ten times faster on a config of 2,000 feeds).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_yaml(path: Path, raw: str) -> tuple[Any, dict[tuple[str | int, ...], int]]:
    try:
        loader = _SafeLoader(raw)
        try:  # one parse: the node tree gives the lines, then the data is built from it
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{where}: not valid YAML: {problem}") from None
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    return data, lines


def _record_lines(node: yaml.Node, at: tuple[str | int, ...], lines: dict[Any, int]) -> None:
    """Map each key path to its 1-based line, so errors can point at the line."""
    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            _record_lines(value, (*at, key.value), lines)
            lines[(*at, key.value)] = key.start_mark.line + 1  # the key's line, not the value's
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*at, index), lines)


def _describe(path: Path, exc: ValidationError, lines: dict[Any, int]) -> str:
    """The first validation error as one line: file:line: key.path: reason."""
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    line = _nearest_line(loc, lines)
    key = _key_path(loc)
    if error["type"] == "extra_forbidden":
        reason = f"unknown key {loc[-1]!r}" + _suggest(loc, exc)
    elif error["type"] == "missing":
        reason = "required key is missing"
    else:
        reason = error["msg"].removeprefix("Value error, ")
        secret = key in SECRET_BEARING  # never echoed back: a URL may carry a password
        if "input" in error and not isinstance(error["input"], (dict, list)) and not secret:
            reason += f" (got {error['input']!r})"
    return f"{path}:{line}: {key}: {reason}" if line else f"{path}: {key}: {reason}"


SECRET_BEARING = ("database_url",)


def _nearest_line(loc: tuple[Any, ...], lines: dict[Any, int]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def _key_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part}]"]
        else:
            parts.append(str(part))
    return ".".join(parts) or "(top level)"


def _suggest(loc: tuple[Any, ...], exc: ValidationError) -> str:
    """'did you mean ...?' for a typo of a known key."""
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        annotation = model.model_fields[str(part)].annotation
        inner = getattr(annotation, "__args__", (annotation,))[0]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            model = inner
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    known = [name for name in model.model_fields if name != "base_dir"]
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(known)})"


def _check_feed_files(path: Path, settings: Settings, lines: dict[Any, int]) -> None:
    for index, feed in enumerate(settings.feeds):
        if is_http(feed.url):
            continue
        if "://" in feed.url:
            line = lines.get(("feeds", index, "url"))
            raise ConfigError(
                f"{path}:{line}: feeds[{index}].url: unsupported scheme in {feed.url!r} "
                "(use http(s) or a file path)"
            )
        if not settings.path(Path(feed.url)).is_file():
            line = lines.get(("feeds", index, "url"))
            raise ConfigError(
                f"{path}:{line}: feeds[{index}].url: no such file {feed.url!r} "
                f"(relative paths are read from {settings.base_dir})"
            )


def _with_dkim_key(path: Path, settings: Settings, lines: dict[Any, int]) -> Settings:
    """Read the DKIM private key once, here, so a missing or bad key is one config error."""
    if settings.dkim is None:
        return settings
    where = f"{path}:{lines.get(('dkim', 'private_key_file'))}: dkim.private_key_file"
    key_path = settings.path(settings.dkim.private_key_file)
    try:
        pem = key_path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {key_path}: {exc.strerror or exc}") from None
    from dkim.crypto import UnparsableKeyError, parse_pem_private_key

    try:
        parse_pem_private_key(pem)
    except (UnparsableKeyError, ValueError, IndexError, TypeError):
        raise ConfigError(
            f"{where}: {key_path} is not a PEM RSA private key"
            " (make one: openssl genrsa -out dkim.pem 2048)"
        ) from None
    dkim = settings.dkim.model_copy(update={"private_key": pem})
    return settings.model_copy(update={"dkim": dkim})


def default_config_path() -> Path:
    """$DIGEST_CONFIG, else ./config.yaml."""
    return Path(os.environ.get("DIGEST_CONFIG", DEFAULT_CONFIG_NAME))
