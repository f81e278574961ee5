"""The settings: every key of config.yaml declared once, with its type, default and help text
(the `description`), as frozen pydantic models. Reading a file into them is load.py; the
starter config written from them is starter.py."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import SplitResult, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from digest.config.cron import cron_trigger
from digest.config.patterns import check_pattern
from digest.errors import ConfigError
from digest.models import FeedSource
from digest.net.http import HttpOptions

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


DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|minutes?|h|hours?|d|days?)\s*$")


def parse_duration(value: str) -> timedelta:
    """'90m', '36h', '3d' (or minutes, hours, days) as a timedelta."""
    match = DURATION.match(value)
    if match is None:
        raise ValueError(f"not a duration like 90m, 36h or 3d: {value!r}")
    amount, unit = float(match[1]), match[2][0]
    unit_name = {"m": "minutes", "h": "hours", "d": "days"}[unit]
    return timedelta(**{unit_name: amount})


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
    give_up_after: str = Field(
        "3d",
        description="A reader still deferred this long after the issue (4xx to the end, server "
        "down) is marked failed with the server's last reply: 90m, 36h, 3d.",
    )
    connections: int = Field(
        1, ge=1, le=16, description="Parallel connections to the server for one issue."
    )
    max_per_second: float = Field(
        0, ge=0, description="At most this many messages a second (a relay's limit); 0: no limit."
    )

    @field_validator("give_up_after")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def give_up(self) -> timedelta:
        return parse_duration(self.give_up_after)

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


class DkimConfig(_Strict):
    """DKIM signing (issue 19): these three key names are a contract."""

    domain: str = Field(min_length=1, description="Signing domain (d=), e.g. example.org.")
    selector: str = Field(
        min_length=1, description="Selector (s=): the key is published at SELECTOR._domainkey."
    )
    private_key_file: Path = Field(
        description="PEM RSA private key, relative to this file; read once when loaded."
    )
    private_key: bytes = Field(b"", exclude=True, repr=False, description="(read by the loader)")

    @field_validator("domain", "selector")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9])?", value):
            raise ValueError(f"not a DNS name: {value!r}")
        return value


class BouncesConfig(_Strict):
    return_path: str | None = Field(
        None, description="Envelope sender (Return-Path) where bounces go; default: smtp.from."
    )
    verp: bool = Field(
        False,
        description="One return path per reader (bounces+ana=example.org@...), so every "
        "bounce names its reader.",
    )
    suppress_after: int = Field(
        3, ge=1, description="Temporary failures in a row (4.x.x) that suppress an address."
    )

    @field_validator("return_path")
    @classmethod
    def _return_path_is_address(cls, value: str | None) -> str | None:
        return None if value is None else parseaddr(check_address(value))[1]


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


def check_public_url(value: str) -> str:
    """https://host[/path], or http on a loopback host (local use and tests); ends in "/"."""
    if not value:
        return ""
    parts = urlsplit(value)
    local = parts.scheme == "http" and (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")
    if not parts.netloc or (parts.scheme != "https" and not local):
        raise ValueError(
            f"must be an https:// URL (http only on 127.0.0.1 or localhost), got {value!r}"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"no query or fragment in the public URL: {value!r}")
    return value.rstrip("/") + "/"


class ServeConfig(_Strict):
    """`digest serve` (issue 20): the public pages."""

    host: str = Field("127.0.0.1", description="Address `digest serve` listens on.")
    port: int = Field(8080, ge=1, le=65535, description="Port `digest serve` listens on.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Reverse proxies (IPs or networks like 10.0.0.0/8) whose X-Forwarded-For "
        "and X-Forwarded-Proto are believed; nobody else's are.",
    )
    secret_env: str | None = Field(
        None,
        description="Environment variable holding the secret that signs links; unset: one "
        "made once and kept in the state database.",
    )
    confirm_within: str = Field(
        "48h", description="How long a confirmation link works: 90m, 36h, 3d."
    )
    subscribes_per_hour: int = Field(
        10, ge=1, description="Subscribe requests one client (IP address) may make an hour."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or network: {entry!r}") from None
        return value

    @field_validator("confirm_within")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def confirm_lifetime(self) -> timedelta:
        return parse_duration(self.confirm_within)

    def secret(self) -> bytes | None:
        """The signing secret from the environment; None when secret_env is unset (the state
        database keeps one); ConfigError when the variable is named but not set or short."""
        if not self.secret_env:
            return None
        value = os.environ.get(self.secret_env)
        if value is None or len(value) < 16:
            state = "is not set" if value is None else "holds under 16 characters"
            raise ConfigError(f"serve.secret_env: environment variable {self.secret_env} {state}")
        return value.encode("utf-8")


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
    state_db: Path = Field(
        Path("digest.sqlite3"),
        description="SQLite state database (the state's file when database_url is unset).",
    )
    database_url: str | None = Field(
        None,
        description="The state database as a URL, over state_db: sqlite:///path or "
        "postgresql://user@host/database for several servers and senders on one database "
        "(its password in PGPASSWORD or ~/.pgpass, not here).",
    )
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
    list_id: str = Field(
        "",
        description="List-Id header, 'Name <id.example.org>'; empty: from the title and the "
        "sender's domain.",
    )
    feedback_id: str = Field(
        "",
        description="Feedback-ID header (Gmail's feedback loop), e.g. '{number}:digest:news:"
        "example.org'; {number} is the issue's. Empty: none.",
    )
    dkim: DkimConfig | None = Field(None, description="DKIM signing; unset: not signed.")
    bounces: BouncesConfig = Field(
        default_factory=BouncesConfig, description="Return-Path, VERP, and when to suppress."
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

    # the public side (issue 20)
    public_url: str = Field(
        "",
        description="Where readers reach `digest serve` (https://news.example.org/): the links "
        "in every email (unsubscribe, preferences, archive) start here. Empty: mail links to "
        "no page of ours, and `digest serve` runs on loopback only.",
    )
    serve: ServeConfig = Field(
        default_factory=ServeConfig, description="`digest serve`: the subscribe pages."
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

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        scheme = value.partition("://")[0].lower()
        if scheme not in ("sqlite", "postgresql", "postgres", "postgresql+psycopg"):
            raise ValueError(
                f"sqlite:///path or postgresql://user@host/database, not {scheme[:20]!r}"
            )
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

    @field_validator("list_id")
    @classmethod
    def _valid_list_id(cls, value: str) -> str:
        if value and not re.fullmatch(r"[^<>\r\n]*<[A-Za-z0-9._-]+\.[A-Za-z0-9.-]+>", value):
            raise ValueError(f"must look like 'Name <id.example.org>', got {value!r}")
        return value

    @field_validator("archive_url")
    @classmethod
    def _absolute_web_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.netloc):
            raise ValueError(f"must be an absolute https:// URL, got {value!r}")
        return value.rstrip("/") + "/" if value else ""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return check_public_url(value)

    @property
    def web_archive_url(self) -> str:
        """Where the archive is read on the web: archive_url, else the one `digest serve`
        serves under public_url; "" when neither is set."""
        if self.archive_url:
            return self.archive_url
        return f"{self.public_url}archive/" if self.public_url else ""

    def section_titles(self) -> list[str]:
        """The sections a reader can choose, in config order: each feed's section, else its
        name (as the digest groups them)."""
        return list(dict.fromkeys(feed.section or feed.name for feed in self.feeds))

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
    def database(self) -> str | Path:
        """Where the state lives: database_url, else the state_db file."""
        return self.database_url or self.state_path

    @property
    def templates_path(self) -> Path:
        return self.path(self.templates)

    def feed_sources(self) -> list[FeedSource]:
        return [
            FeedSource(
                name=feed.name,
                url=feed.url if is_http(feed.url) else str(self.path(Path(feed.url))),
                section=feed.section,
                max_entries=feed.max_entries,
                fulltext=feed.fulltext,
            )
            for feed in self.feeds
        ]


def is_http(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")
