"""Files written atomically: a reader (a browser, a mail client, the next run) never sees half
a file. The digest's output files, the config's edits and the archive all go through here."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from digest.errors import DeliveryError
from digest.models import Rendered


@dataclass(frozen=True, slots=True)
class Written:
    html: Path
    text: Path


def write_files(rendered: Rendered, folder: Path, stem: str = "digest") -> Written:
    html_path, text_path = folder / f"{stem}.html", folder / f"{stem}.txt"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomically(html_path, rendered.html)
        write_atomically(text_path, rendered.text)
    except OSError as exc:
        raise DeliveryError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    return Written(html_path, text_path)


def write_atomically(path: Path, content: str | bytes, mode: int | None = None) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it. `mode`: the
    file's permissions (default: readable by all, as the umask allows)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes 0600; output is for sharing
        os.chmod(temporary, 0o666 & ~_umask() if mode is None else mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
