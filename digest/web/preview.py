"""`digest preview`: the next issue built as `digest send` would make it, rebuilt on every save.

The first build fetches the feeds like a real run; rebuilds after an edit to config.yaml, a
template or the stylesheet re-parse the feed bodies that fetch stored (no network, no state
written) unless the reader asks for a fresh fetch. Nothing here sends mail or records an issue
as sent. The server that shows the builds is preview_server.py; the health panel, health.py.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from digest.config.load import load_settings
from digest.config.settings import Settings
from digest.errors import ConfigError, DigestError
from digest.issue.archive import issue_url
from digest.issue.pipeline import Built, build_digest
from digest.issue.render import TemplateFault, builtin_templates
from digest.models import Issue, Rendered
from digest.sending.message import build_message
from digest.sending.outbox import last_issue, sent_entry_check
from digest.sending.send import issue_from, letterhead
from digest.state import State

log = logging.getLogger(__name__)

POLL_SECONDS = 0.3
SETTLE_SECONDS = 0.15  # an editor's save can be several writes: let them land
WATCHED_SUFFIXES = (".html", ".txt", ".css")


@dataclass(frozen=True, slots=True)
class Failure:
    """A build that failed, as the error page shows it: the one-line message and, when it
    names a file and line, the lines around it."""

    message: str
    path: str = ""
    line: int | None = None
    snippet: tuple[tuple[int, str], ...] = ()

    @classmethod
    def of(cls, exc: DigestError) -> Failure:
        path, line = _location(exc)
        return cls(str(exc), path, line, _snippet(path, line))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One build as served: the digest, or why there is none."""

    version: int
    built_at: str
    source: str  # "feeds fetched" or "cached feed bodies"
    built: Built | None = None
    failure: Failure | None = None
    settings: Settings | None = None
    message: EmailMessage | None = None  # the next issue's message, when smtp: is configured
    message_note: str = ""
    notice: str = ""  # nothing new since the last issue: what `digest send` would do now

    @property
    def html(self) -> str:
        """The HTML part as the reader gets it (with the sender's unsubscribe line)."""
        return self._part("html") if self.message else self._rendered().html

    @property
    def text(self) -> str:
        return self._part("plain") if self.message else self._rendered().text

    def _rendered(self) -> Rendered:
        assert self.built is not None
        return self.built.rendered

    def _part(self, subtype: str) -> str:
        assert self.message is not None
        body = self.message.get_body((subtype,))
        assert body is not None
        return str(body.get_content())


class Previewer:
    """Builds the digest on demand and keeps the latest build; readers wait on `changed`."""

    def __init__(self, config_path: Path, clock: Callable[[], datetime]) -> None:
        self.config_path = config_path
        self.clock = clock
        self._build_lock = threading.Lock()
        self.changed = threading.Condition()
        self.snapshot = Snapshot(0, "", "not built yet")
        self.stopping = False
        self._theme: Path | None = None  # the last good config's theme folder, kept on errors

    def build(self, fetch: bool) -> Snapshot:
        """Build once: `fetch` gathers over the network, else from the cached feed bodies."""
        with self._build_lock:
            source = "feeds fetched" if fetch else "cached feed bodies"
            settings: Settings | None = None
            try:
                settings = load_settings(self.config_path)
                self._theme = settings.templates_path
                with State.open(settings.database) as state:
                    outcome: dict[str, Any] = next_issue(settings, state, self.clock(), fetch)
            except DigestError as exc:
                outcome = {"failure": Failure.of(exc)}
            except Exception as exc:  # a bug must not stop the preview: show it, keep watching
                log.exception("preview build failed")
                outcome = {"failure": Failure(f"unexpected error: {type(exc).__name__}: {exc}")}
            stamp = datetime.now(UTC).astimezone().strftime("%H:%M:%S")
            with self.changed:
                version = self.snapshot.version + 1
                self.snapshot = Snapshot(version, stamp, source, settings=settings, **outcome)
                self.changed.notify_all()
            return self.snapshot

    def wait_for_version(self, seen: int, timeout: float) -> int:
        with self.changed:
            self.changed.wait_for(
                lambda: self.snapshot.version != seen or self.stopping, timeout=timeout
            )
            return self.snapshot.version

    def stop(self) -> None:
        with self.changed:
            self.stopping = True
            self.changed.notify_all()

    def watched(self) -> dict[Path, float]:
        """config.yaml and every template and stylesheet the build could read, with mtimes."""
        folders = [builtin_templates()]
        if self._theme is not None:
            folders.insert(0, self._theme)
        files = [self.config_path]
        for folder in folders:
            if folder.is_dir():
                files += [p for p in folder.iterdir() if p.suffix in WATCHED_SUFFIXES]
        return {path: _mtime(path) for path in files}

    def watch(self, stop: threading.Event, seen: dict[Path, float]) -> None:
        """Poll the watched files; rebuild from cached bodies when any differs from `seen`."""
        while not stop.wait(POLL_SECONDS):
            now = self.watched()
            if now == seen:
                continue
            time.sleep(SETTLE_SECONDS)
            # taken before the build, so a save made while it runs triggers the next one
            settled = self.watched()
            changed = sorted(str(p) for p in set(now) | set(seen) if now.get(p) != seen.get(p))
            log.info("changed: %s; rebuilding", ", ".join(changed))
            self.build(fetch=False)
            seen = settled


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime_ns / 1e9
    except OSError:
        return -1.0


_FILE_LINE = re.compile(r"([^\s:]+):(\d+):")  # "config.yaml:4: key: reason"


def _location(exc: DigestError) -> tuple[str, int | None]:
    """The file and line a template or config error names. Only those two: other messages
    can quote feed servers, and a file named there is nobody's business to show."""
    if isinstance(exc, TemplateFault):
        return exc.path, exc.line
    found = _FILE_LINE.match(str(exc)) if isinstance(exc, ConfigError) else None
    return (found.group(1), int(found.group(2))) if found else ("", None)


def _snippet(path: str, line: int | None, around: int = 3) -> tuple[tuple[int, str], ...]:
    if not path or line is None:
        return ()
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ()
    start = max(1, line - around)
    return tuple((n, lines[n - 1]) for n in range(start, min(len(lines), line + around) + 1))


# message headers -------------------------------------------------------------------------------


def next_issue(settings: Settings, state: State, now: datetime, fetch: bool) -> dict[str, Any]:
    """The next issue as `digest send` would make it now: what is new since the last issue,
    nothing already sent, numbered next; and its message when the sender is configured.
    Reads the issue store, never writes it."""
    last = last_issue(state)
    number = (last.number if last else 0) + 1
    built = build_digest(
        settings,
        state,
        now,
        since=last.period_end if last else None,
        already_sent=sent_entry_check(state),
        allow_empty=settings.send_when_empty or last is not None,
        offline=not fetch,
        web_url=issue_url(settings.web_archive_url, number),
    )
    if last is not None and not built.digest.items and not settings.send_when_empty:
        # nothing failed: say what `digest send` would do, and show the feeds' health
        return {"built": built, "notice": _nothing_new(settings, last)}
    try:
        sender = letterhead(settings, state)
    except ConfigError as exc:
        note = f"{exc}. Without it these are the headers the build decides."
        return {"built": built, "message_note": note}
    recipient = settings.recipients[0] if settings.recipients else PREVIEW_RECIPIENT
    message = build_message(issue_from(settings, built, number, now), recipient, sender, now)
    note = f"As sent to {recipient}; each recipient gets their own To and Message-ID."
    return {"built": built, "message": message, "message_note": note}


PREVIEW_RECIPIENT = "reader@example.invalid"


def _nothing_new(settings: Settings, last: Issue) -> str:
    ended = last.period_end.astimezone(settings.zone)
    return (
        f"Nothing new since issue {last.number} (it covered up to {ended:%Y-%m-%d %H:%M %Z}): "
        "`digest send` sends nothing now. New entries go in the next issue."
    )


def preview_headers(snapshot: Snapshot) -> tuple[list[tuple[str, str]], list[tuple[str, int]]]:
    """The next issue's headers and parts: from its message when there is one."""
    if snapshot.message is not None:
        headers = [(name, str(value)) for name, value in snapshot.message.items()]
        parts = [
            (f"{part.get_content_type()}; {part.get('Content-Transfer-Encoding', '')}", _size(part))
            for part in snapshot.message.walk()
            if not part.is_multipart()
        ]
        return headers, parts
    built, settings = snapshot.built, snapshot.settings
    assert built is not None and settings is not None
    digest = built.digest
    day = digest.period_end.astimezone(settings.zone)
    headers = [
        ("Subject", f"{digest.title} — {day.day} {day:%B %Y}"),
        ("MIME-Version", "1.0"),
        ("Content-Type", "multipart/alternative (text/plain, then text/html)"),
    ]
    parts = [
        ("text/plain; charset=utf-8", len(built.rendered.text.encode("utf-8"))),
        ("text/html; charset=utf-8", len(built.rendered.html.encode("utf-8"))),
    ]
    return headers, parts


def _size(part: EmailMessage) -> int:
    return len(str(part.get_content()).encode("utf-8"))
