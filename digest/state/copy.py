"""`digest db copy`: every row of one state database into another, empty one (SQLite to
PostgreSQL, typically), in one transaction of the target that commits only when each table's
rows, read back, match the source's row for row (a count and a digest of every row in key
order). A failure or a mismatch leaves the target as empty as it was."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, Table, func, select

from digest.state.engine import StateError
from digest.state.engine import target as target_of
from digest.state.schema import metadata, schema_version
from digest.state.store import State

BATCH = 1000  # rows read and written at a time


@dataclass(frozen=True, slots=True)
class Copied:
    tables: tuple[tuple[str, int], ...]  # (table, rows copied), in the order they were copied

    @property
    def rows(self) -> int:
        return sum(count for _, count in self.tables)


def open_source(where: str | Path) -> State:
    """The state to copy from, which must exist: a mistyped state_db would otherwise be made
    afresh, empty, and "copied" as such."""
    place = target_of(where)
    if place.path is not None and not place.path.exists():
        raise StateError(f"state database {place.shown}: no such file; nothing to copy", 2)
    source = State.open(place)
    if source.found == 0:
        source.close()
        raise StateError(f"state database {place.shown}: it is empty; nothing to copy", 2)
    return source


def copy_state(source: State, target: State) -> Copied:
    """Copy and verify (see the module docstring). StateError when the target is the source,
    holds rows already, or does not match after the copy."""
    if source.place.url == target.place.url:
        raise StateError(f"state database {target.place.shown}: that is the source itself", 2)
    tables = [t for t in metadata.sorted_tables if t is not schema_version]
    for table in tables:
        found = target.execute(select(func.count()).select_from(table)).scalar_one()
        if found:
            raise StateError(
                f"state database {target.place.shown}: not empty ({found:,} rows in "
                f"{table.name}); copy only into a new database",
                2,
            )
    copied: list[tuple[str, int]] = []
    with target.transaction():
        for table in tables:
            digest = hashlib.sha256()
            count = 0
            names = [column.name for column in table.columns]
            for batch in _batches(source, table):
                target.execute(
                    table.insert(), [dict(zip(names, row, strict=True)) for row in batch]
                )
                for row in batch:
                    digest.update(repr(_plain(row)).encode())
                count += len(batch)
            if _numbered(table):
                target.dialect.after_copy(target.conn, table.name, "id")
            _verify(target, table, count, digest.hexdigest())
            copied.append((table.name, count))
    return Copied(tuple(copied))


def _numbered(table: Table) -> bool:
    """Its rows are numbered by the database (an integer id, the whole primary key)."""
    keys = list(table.primary_key.columns)
    return [key.name for key in keys] == ["id"] and isinstance(keys[0].type, Integer)


def _batches(state: State, table: Table) -> Iterator[list[tuple[Any, ...]]]:
    """The table's rows in key order, BATCH at a time."""
    query = select(*table.columns).order_by(*table.primary_key.columns)
    if not table.primary_key.columns:
        query = select(*table.columns).order_by(*table.columns)
    result = state.execute(query)
    while batch := result.fetchmany(BATCH):
        yield [tuple(row) for row in batch]


def _plain(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(bytes(value) if isinstance(value, memoryview) else value for value in row)


def _verify(target: State, table: Table, count: int, expected: str) -> None:
    digest = hashlib.sha256()
    found = 0
    for batch in _batches(target, table):
        for row in batch:
            digest.update(repr(_plain(row)).encode())
            found += 1
    if found != count or digest.hexdigest() != expected:
        raise StateError(
            f"state database {target.place.shown}: {table.name} does not match its source after "
            f"the copy ({found:,} rows read back of {count:,}); nothing was written"
        )
