"""config.yaml -> validated, frozen settings.

Every setting is declared once here, with its default and its help text (the `description`).
Unknown keys, wrong types and missing feed files are one ConfigError naming the file, the key
path, its line and the reason.
"""

from __future__ import annotations

import os
import re
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import SplitResult, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from digest.cron import cron_trigger
from digest.errors import ConfigError
from digest.filters import ALL_FEEDS, FilterSet, check_pattern
from digest.http import HttpOptions
from digest.models import FeedSource

DEFAULT_CONFIG_NAME = "config.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A word or phrase (whole words), or a /regular expression/; matched on title and text.
FilterPattern = Annotated[str, AfterValidator(check_pattern)]
INCLUDE_HELP = "Keep only entries matching one of these: words, or /regular expressions/."
EXCLUDE_HELP = "Drop entries matching any of these: words, or /regular expressions/."


class FeedConfig(_Strict):
    name: str = Field(min_length=1, description="Name shown as the entry's source.")
    url: str = Field(min_length=1, description="http(s) URL, or a path relative to config.yaml.")
    section: str | None = Field(None, description="Section heading; default: the feed's name.")
    max_entries: Annotated[int, Field(ge=1)] | None = Field(
        None, description="At most this many entries from this feed per digest."
    )
    fulltext: Literal["auto", "always", "never"] = Field(
        "auto", description="Fetch the article page when the feed gives only a teaser."
    )
    include: list[FilterPattern] = Field(default_factory=list, description=INCLUDE_HELP)
    exclude: list[FilterPattern] = Field(default_factory=list, description=EXCLUDE_HELP)


class HttpConfig(_Strict):
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to connect.")
    read_timeout: float = Field(15.0, gt=0, description="Seconds between bytes read.")
    total_timeout: float = Field(
        30.0, gt=0, description="Seconds for a whole response, however the server dribbles it."
    )
    max_bytes: int = Field(10_000_000, gt=0, description="Largest response accepted.")
    max_redirects: int = Field(5, ge=0, description="Redirects followed before giving up.")
    concurrency: int = Field(8, ge=1, le=64, description="Feeds fetched at once.")
    user_agent: str = Field(
        "digest/0.1 (+https://github.com/digest-newsletter/digest)",
        description="User-Agent sent with every request.",
    )
    allow_private_origins: list[str] = Field(
        default_factory=list,
        description="Origins (http://127.0.0.1:8080) that URLs from feed content (article "
        "pages, redirects) may reach though they are loopback or private addresses.",
    )

    @field_validator("allow_private_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for entry in value:
            parts = urlsplit(entry)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"not an origin like http://127.0.0.1:8080: {entry!r}")
            if parts.path not in ("", "/") or parts.query or parts.fragment:
                raise ValueError(f"an origin has no path: {entry!r} (write {_origin_of(parts)})")
        return value

    def options(self) -> HttpOptions:
        fields = self.model_dump()
        fields["allow_private_origins"] = tuple(self.allow_private_origins)
        return HttpOptions(**fields)


def _origin_of(parts: SplitResult) -> str:
    return f"{parts.scheme}://{parts.netloc}"


class ArticlePagesConfig(_Strict):
    robots_txt: bool = Field(True, description="Honour robots.txt when fetching article pages.")
    delay_seconds: float = Field(1.0, ge=0, description="Pause between two pages of one site.")
    max_pages: int = Field(60, ge=0, description="At most this many pages fetched per run.")
    retry_failed_after_hours: float = Field(
        24, ge=0, description="A page that failed is tried again after this long."
    )
    max_seconds: float = Field(
        60, gt=0, description="Time for all article pages of a run; the rest wait a run."
    )


# sending (issue 5) --------------------------------------------------------------------------

ADDRESS = re.compile(r"^[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+\.[^@\s<>(),;:\"]+$")
SUBJECT_FIELDS = {
    "title": "T",
    "date": "1 Jan 2026",
    "n": 1,
    "stories": "1 story",
    "number": 1,
    "start": "",
    "end": "",
}


def check_address(value: str) -> str:
    _, address = parseaddr(value)
    if "\n" in value or "\r" in value or not ADDRESS.match(address):
        raise ValueError(f"not an email address: {value!r}")
    return value.strip()


class SmtpConfig(_Strict):
    host: str = Field(min_length=1, description="SMTP server host name.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port (587 starttls, 465 ssl).")
    security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls | ssl | none (none only for a local relay)."
    )
    username: str | None = Field(None, description="Login name; no login when unset.")
    password_env: str | None = Field(
        None, description="Environment variable holding the password (never the password)."
    )
    sender: str = Field(alias="from", description="From address, e.g. 'Digest <d@example.org>'.")
    timeout: float = Field(30.0, gt=0, description="Seconds to wait for the server.")
    attempts: int = Field(4, ge=1, le=20, description="Tries per message on temporary failures.")
    retry_delay: float = Field(2.0, ge=0, description="Seconds before the first retry; doubles.")

    @field_validator("sender")
    @classmethod
    def _sender_is_address(cls, value: str) -> str:
        return check_address(value)

    def password(self) -> str | None:
        """The password from the environment; ConfigError when the variable is not set."""
        if not self.password_env:
            return None
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConfigError(
                f"smtp.password_env: environment variable {self.password_env} is not set"
            )
        return value


class UnsubscribeConfig(_Strict):
    mailto: str | None = Field(None, description="Address that unsubscribes a reader.")
    url: str | None = Field(None, description="https URL for one-click unsubscribe.")

    @field_validator("mailto")
    @classmethod
    def _mailto_is_address(cls, value: str | None) -> str | None:
        return None if value is None else check_address(value.removeprefix("mailto:"))

    @field_validator("url")
    @classmethod
    def _url_is_web(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(f"must be an http(s) URL (got {value!r})")
        return value


class ScheduleConfig(_Strict):
    cron: str = Field(
        "0 7 * * mon",
        description="When to send: cron 'minute hour day month weekday' (6 fields: seconds first).",
    )
    misfire_grace_seconds: int = Field(
        172800, ge=1, description="A run missed by up to this long (machine asleep) runs on start."
    )
    retry_minutes: float = Field(
        30, gt=0, description="How often to retry recipients a send left pending (server down)."
    )

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:

        try:
            cron_trigger(value, "UTC")
        except ValueError as exc:
            raise ValueError(f"bad cron expression {value!r}: {exc}") from None
        return value


class Settings(_Strict):
    title: str = Field("The Weekly Digest", description="Digest title: heading and subject.")
    language: str = Field("en", description="Language tag for <html lang>.")
    feeds: list[FeedConfig] = Field(min_length=1, description="The feeds to gather.")
    window_days: float = Field(7, gt=0, description="Entries published in the last N days.")
    window_anchor: Literal["now", "newest"] = Field(
        "now",
        description="Where the window ends: now, or at the newest entry the feeds have.",
    )
    include: list[FilterPattern] = Field(
        default_factory=list, description=f"All feeds: {INCLUDE_HELP[0].lower()}{INCLUDE_HELP[1:]}"
    )
    exclude: list[FilterPattern] = Field(
        default_factory=list, description=f"All feeds: {EXCLUDE_HELP[0].lower()}{EXCLUDE_HELP[1:]}"
    )
    max_entries: int = Field(30, ge=1, description="At most this many entries in a digest.")
    summary_sentences: int = Field(3, ge=1, le=10, description="Sentences per summary.")
    summary_words: Annotated[int, Field(ge=1)] | None = Field(
        None,
        description="Words per summary: whole sentences fill this budget, at most "
        "summary_sentences of them. Unset: the stories and their titles share a five-minute "
        "read (1,150 words at 230 a minute).",
    )
    output_dir: Path = Field(Path("out"), description="Where digest.html/.txt are written.")
    timezone: str = Field("UTC", description="IANA time zone for dates and the schedule.")
    state_db: Path = Field(Path("digest.sqlite3"), description="SQLite state database.")
    templates: Path = Field(
        Path("templates"), description="Theme folder; its files shadow the built-in ones."
    )
    group_by: Literal["section", "none"] = Field(
        "section", description="Group entries under section headings, or one list by date."
    )
    http: HttpConfig = Field(HttpConfig(), description="Fetching.")
    article_pages: ArticlePagesConfig = Field(
        ArticlePagesConfig(),
        description="Fetching article pages for feeds that give only a teaser.",
    )
    # sending (issue 5)
    smtp: SmtpConfig | None = Field(None, description="SMTP server; needed only to send.")
    recipients: list[Annotated[str, AfterValidator(check_address)]] = Field(
        default_factory=list, description="Who gets each issue."
    )
    subject: str = Field(
        "{title} — week of {date}, {stories}",
        description="Subject: {title} {date} {n} {stories} {number} {start} {end}.",
    )
    unsubscribe: UnsubscribeConfig = Field(
        default_factory=UnsubscribeConfig,
        description="List-Unsubscribe targets; default: mailto the From address.",
    )
    send_when_empty: bool = Field(False, description="Send an issue even with no new stories.")
    schedule: ScheduleConfig = Field(
        default_factory=ScheduleConfig, description="When `digest schedule` sends."
    )

    # archive (issue 6): every sent issue as a web page, for "view in browser" / "more stories"
    archive_dir: Path = Field(
        Path("archive"), description="Folder where sent issues are written as web pages + Atom."
    )
    archive_url: str = Field(
        "", description="Public URL of archive_dir, for the email's web links; empty: none."
    )

    # Paths in the file are relative to the file; `base_dir` is where the file lives.
    base_dir: Path = Field(Path("."), exclude=True, description="(set by the loader)")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Europe/Paris)"
            ) from None
        return value

    @field_validator("recipients")
    @classmethod
    def _valid_recipients(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for address in value:
            if address.lower() in seen:
                raise ValueError(f"{address!r} is listed twice")
            seen.add(address.lower())
        return value

    @field_validator("subject")
    @classmethod
    def _valid_subject(cls, value: str) -> str:
        try:
            value.format(**SUBJECT_FIELDS)
        except (KeyError, IndexError, ValueError) as exc:
            known = " ".join("{" + name + "}" for name in SUBJECT_FIELDS)
            raise ValueError(f"bad placeholder {exc} in the subject (known: {known})") from None
        return value

    @field_validator("archive_url")
    @classmethod
    def _absolute_web_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.netloc):
            raise ValueError(f"must be an absolute https:// URL, got {value!r}")
        return value.rstrip("/") + "/" if value else ""

    @property
    def archive_path(self) -> Path:
        return self.path(self.archive_dir)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def path(self, value: Path) -> Path:
        """A configured path made absolute against the config file's folder."""
        return value if value.is_absolute() else (self.base_dir / value).resolve()

    @property
    def output_path(self) -> Path:
        return self.path(self.output_dir)

    @property
    def state_path(self) -> Path:
        return self.path(self.state_db)

    @property
    def templates_path(self) -> Path:
        return self.path(self.templates)

    def feed_sources(self) -> list[FeedSource]:
        return [
            FeedSource(
                name=feed.name,
                url=feed.url if _is_http(feed.url) else str(self.path(Path(feed.url))),
                section=feed.section,
                max_entries=feed.max_entries,
                fulltext=feed.fulltext,
            )
            for feed in self.feeds
        ]

    def filter_sets(self) -> tuple[FilterSet, dict[str, FilterSet]]:
        """The filters for all feeds, and each feed's own (digest/filters.py)."""
        everywhere = FilterSet(ALL_FEEDS, tuple(self.include), tuple(self.exclude))
        own = {f.name: FilterSet(f.name, tuple(f.include), tuple(f.exclude)) for f in self.feeds}
        return everywhere, own


def _is_http(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")


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
    return settings


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
        if "input" in error and not isinstance(error["input"], (dict, list)):
            reason += f" (got {error['input']!r})"
    return f"{path}:{line}: {key}: {reason}" if line else f"{path}: {key}: {reason}"


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
    import difflib

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
        if _is_http(feed.url):
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


def default_config_path() -> Path:
    """$DIGEST_CONFIG, else ./config.yaml."""
    return Path(os.environ.get("DIGEST_CONFIG", DEFAULT_CONFIG_NAME))


def starter_config() -> str:
    """A commented config written from the schema itself, so help and defaults never drift."""
    lines = ["# digest configuration. Every key is optional except feeds.", ""]
    for name, field in Settings.model_fields.items():
        if name == "base_dir":
            continue
        lines.append(f"# {field.description}")
        if name == "feeds":
            lines += [
                "feeds:",
                "  - name: Example News            # shown as the entry's source",
                "    url: https://example.com/feed.xml",
                "    # section: World             # heading to group under (default: name)",
                "    # max_entries: 5             # cap for this feed",
                "    # fulltext: auto             # auto | always | never",
                "    # include: [climate]         # keep only entries matching one of these",
                "    # exclude: [sponsored, '/\\bpodcast/']   # drop entries matching any",
            ]
        elif name in ("http", "article_pages", *NESTED):
            lines.append(f"{name}:")
            for sub, subfield in _submodel(name).model_fields.items():
                default = subfield.get_default(call_default_factory=True)
                lines.append(f"  {sub}: {_yaml_scalar(default)}  # {subfield.description}")
        elif name in EXAMPLES:
            lines += EXAMPLES[name]
        else:
            lines.append(f"{name}: {_yaml_scalar(field.default)}")
        lines.append("")
    return "\n".join(lines)


NESTED = ("unsubscribe", "schedule")  # sending settings written out key by key
EXAMPLES = {
    "smtp": [
        "# smtp:",
        "#   host: smtp.example.org",
        "#   port: 587",
        "#   security: starttls           # starttls | ssl | none",
        "#   username: digest",
        "#   password_env: DIGEST_SMTP_PASSWORD   # the variable's name, not the password",
        "#   from: The Weekly Digest <digest@example.org>",
    ],
    "recipients": ["recipients: []  # e.g. [reader@example.org]"],
    "include": ["include: []  # e.g. [climate, energy]: entries must match one (title or text)"],
    "exclude": ['exclude: []  # e.g. [sponsored, "/^deal(s)? of the day/"]'],
    "summary_words": ["# summary_words: 40"],
}


def _yaml_scalar(value: object) -> str:
    text = yaml.safe_dump(
        str(value) if isinstance(value, Path) else value,
        default_flow_style=True,
        allow_unicode=True,
    )
    return text.removesuffix("\n...\n").strip()


def _submodel(name: str) -> type[BaseModel]:
    annotation = Settings.model_fields[name].annotation
    assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation
