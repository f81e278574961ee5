"""The list as a CSV file: `digest subscribers import` and `export`.

Import reads one address a row, in the first column, with the sections (separated by `;`)
in an optional second; a first row naming the columns (`email`, `address`) is skipped. A bad
row is one line naming its line number and why; the good rows are imported all the same.
Export writes every subscriber with status, when and how it was reached, and sections.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from digest.errors import ConfigError
from digest.sending.subscribers import Address, AddressError, Subscriber, parse_address

HEADER_NAMES = {"email", "address", "e-mail", "email address"}


@dataclass(frozen=True, slots=True)
class Imported:
    rows: list[tuple[Address, tuple[str, ...] | None]]
    problems: list[str]  # "FILE:LINE: why"


def read_csv(path: Path, known_sections: Sequence[str]) -> Imported:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{path}: cannot read: {reason}") from None
    return parse_csv(text, str(path), known_sections)


def parse_csv(text: str, name: str, known_sections: Sequence[str]) -> Imported:
    known = {section.lower(): section for section in known_sections}
    rows: list[tuple[Address, tuple[str, ...] | None]] = []
    problems: list[str] = []
    seen: set[str] = set()
    reader = csv.reader(io.StringIO(text))
    try:
        for cells in reader:
            line = reader.line_num
            cells = [cell.strip() for cell in cells]
            if not any(cells) or (line == 1 and cells[0].lower() in HEADER_NAMES):
                continue
            try:
                address = parse_address(cells[0])
                sections = _sections(cells[1] if len(cells) > 1 else "", known)
            except (AddressError, ValueError) as exc:
                problems.append(f"{name}:{line}: {exc}")
                continue
            if address.key in seen:
                problems.append(f"{name}:{line}: {address.email} is on an earlier line")
                continue
            seen.add(address.key)
            rows.append((address, sections))
    except csv.Error as exc:
        problems.append(f"{name}:{reader.line_num}: not CSV: {exc}")
    return Imported(rows, problems)


def _sections(cell: str, known: dict[str, str]) -> tuple[str, ...] | None:
    if not cell:
        return None
    wanted = [part.strip() for part in cell.split(";") if part.strip()]
    unknown = [part for part in wanted if part.lower() not in known]
    if unknown:
        raise ValueError(
            f"no section {unknown[0]!r} (the sections: {', '.join(known.values()) or 'none'})"
        )
    return tuple(dict.fromkeys(known[part.lower()] for part in wanted))


def write_csv(subscribers: Iterable[Subscriber]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["email", "sections", "name", "status", "since", "via", "confirmed"])
    for s in subscribers:
        writer.writerow(
            [
                s.email,
                ";".join(s.sections) if s.sections is not None else "",
                s.name,
                s.status,
                s.status_at.isoformat(timespec="seconds"),
                s.via,
                s.confirmed_at.isoformat(timespec="seconds") if s.confirmed_at else "",
            ]
        )
    return out.getvalue()
