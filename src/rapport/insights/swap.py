"""Replace every row of a table at once: load a copy, index it, swap it in.

A refresh rewrites millions of score and offer rows. Deleting the old rows
and inserting new ones into the indexed table costs index maintenance row by
row, twice (and on SQLite a foreign-key check per deleted row). Instead the
new rows go into a bare copy of the table, which then gets the original's
indexes and constraints built in one pass each, and replaces the original
under its name: dropped, renamed, with the original index, constraint and
sequence names. All of it runs in the caller's transaction, so readers see
the old rows until the commit and a failure leaves them untouched; on
PostgreSQL readers wait only for the drop and renames at the very end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from itertools import islice, repeat
from typing import Any

import numpy as np
from django.db import connection, models
from django.db.backends.utils import truncate_name
from numpy.typing import NDArray


class Staged:
    """A filled, indexed copy of a model's table, waiting to be swapped in."""

    def __init__(self, model: type[models.Model], finish: Callable[[], None]) -> None:
        self.model = model
        self._finish = finish

    def swap_in(self) -> None:
        self._finish()


# Rows converted to Python values at a time while loading.
SCALAR_CHUNK = 65_536
# SQLite page cache while building indexes (KiB), set back afterwards.
SORT_CACHE_KIB = 256 * 1024


def stage(
    model: type[models.Model], columns: Mapping[str, Sequence[Any] | Any], *, rows: int
) -> Staged:
    """Load ``rows`` rows into a copy of ``model``'s table; ``swap_in()`` replaces the table.

    ``columns`` maps attnames (``contact_id``) to sequences of database-ready
    values (str, int, float, None; numpy arrays are fine) or to one value for
    every row. Columns not given get the field's default. An auto-numbered
    primary key continues after the old table's last number, so an id never
    names another row than it used to (a stale page acts on nothing).
    """
    if connection.vendor == "postgresql":
        return _stage_postgresql(model, columns, rows)
    return _stage_sqlite(model, columns, rows)


def _values(
    model: type[models.Model], columns: Mapping[str, Any], rows: int, first_id: int
) -> tuple[list[str], list[Iterable[Any]]]:
    known = {f.attname for f in model._meta.concrete_fields}
    unknown = set(columns) - known
    if unknown:
        raise ValueError(f"{model.__name__} has no column(s) {sorted(unknown)}")
    names: list[str] = []
    values: list[Iterable[Any]] = []
    for field in model._meta.concrete_fields:
        if field.attname in columns:
            given = columns[field.attname]
            if isinstance(given, np.ndarray) and given.ndim == 1:
                if given.size != rows:
                    raise ValueError(
                        f"{model.__name__}.{field.attname}: {given.size} values, {rows} rows"
                    )
                values.append(_scalars(given))
            elif isinstance(given, str) or not isinstance(given, Sequence):
                values.append(repeat(given))
            elif len(given) != rows:
                raise ValueError(
                    f"{model.__name__}.{field.attname}: {len(given)} values, {rows} rows"
                )
            else:
                values.append(given)
        elif field.primary_key and isinstance(field, models.AutoField | models.BigAutoField):
            values.append(range(first_id, first_id + rows))
        else:
            default = field.get_default() if field.has_default() else None
            values.append(repeat(field.get_db_prep_save(default, connection)))
        names.append(str(field.column))
    return names, values


def _scalars(array: NDArray[Any]) -> Iterator[Any]:
    """Python values of ``array``, converted a slice at a time; NaN becomes None (NULL).

    ``tolist()`` of a whole column of offers would hold millions of Python
    objects at once (tens of bytes each), for every column.
    """
    floats = array.dtype.kind == "f"
    for start in range(0, array.size, SCALAR_CHUNK):
        part = array[start : start + SCALAR_CHUNK]
        if floats and np.isnan(part).any():
            yield from (None if value != value else value for value in part.tolist())
        else:
            yield from part.tolist()


def _auto_pk(model: type[models.Model]) -> bool:
    return isinstance(model._meta.pk, models.AutoField | models.BigAutoField)


# --- SQLite ------------------------------------------------------------------------------


def _stage_sqlite(model: type[models.Model], columns: Mapping[str, Any], rows: int) -> Staged:
    table = model._meta.db_table
    staging = f"{table}__new"
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the sqlite3 cursor: no per-row debug formatting
        raw.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table])
        (create,) = raw.fetchone()
        raw.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            [table],
        )
        indexes = [sql for (sql,) in raw.fetchall()]
        first_id = 1
        if _auto_pk(model):
            raw.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", [table])
            found = raw.fetchone()
            raw.execute(f'SELECT MAX("{model._meta.pk.column}") FROM "{table}"')  # noqa: S608
            first_id = max(int(found[0]) if found else 0, raw.fetchone()[0] or 0) + 1
        raw.execute(f'DROP TABLE IF EXISTS "{staging}"')
        raw.execute(_renamed(create, table, staging, count=1))
        names, values = _values(model, columns, rows, first_id)
        quoted = ", ".join(f'"{name}"' for name in names)
        marks = ", ".join("?" * len(names))
        raw.executemany(
            f'INSERT INTO "{staging}" ({quoted}) VALUES ({marks})',  # noqa: S608 - model meta
            islice(zip(*values, strict=False), rows),
        )

    def finish() -> None:
        with connection.cursor() as cursor:
            raw = cursor.cursor
            # No row-by-row delete: nothing references these tables, and with no
            # foreign-key violation pending SQLite drops the pages at once.
            raw.execute(f'DROP TABLE "{table}"')
            raw.execute(f'ALTER TABLE "{staging}" RENAME TO "{table}"')
            # Each index is built by one sort; a bigger page cache keeps it in memory.
            raw.execute("PRAGMA cache_size")
            (cache_size,) = raw.fetchone()
            raw.execute(f"PRAGMA cache_size = {-SORT_CACHE_KIB}")
            try:
                for sql in indexes:
                    raw.execute(sql)
            finally:
                raw.execute(f"PRAGMA cache_size = {int(cache_size)}")

    return Staged(model, finish)


def _renamed(sql: str, old: str, new: str, *, count: int = 0) -> str:
    return re.sub(rf'"{re.escape(old)}"', f'"{new}"', sql, count=count)


# --- PostgreSQL --------------------------------------------------------------------------

NUMERIC_OID, DATE_OID = 1700, 1082


def _as_date(value: Any) -> Any:
    """ISO text (what ``columns.date_strings`` gives) as a date, for the binary format."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _stage_postgresql(model: type[models.Model], columns: Mapping[str, Any], rows: int) -> Staged:
    table = model._meta.db_table
    staging = truncate_name(f"{table}__new", connection.ops.max_name_length())
    renames: list[tuple[str, str]] = []  # (temporary name, original name) of indexes
    constraint_renames: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute(f'DROP TABLE IF EXISTS "{staging}"')
        # Columns, NOT NULL and defaults only: indexes and constraints come after the load.
        raw.execute(f'CREATE TABLE "{staging}" (LIKE "{table}" INCLUDING DEFAULTS)')
        sequence = None
        first_id = 1
        if _auto_pk(model):
            raw.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, model._meta.pk.column])
            sequence = raw.fetchone()[0]
            raw.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608
            last, called = raw.fetchone()
            first_id = int(last) + 1 if called else int(last)
        names, values = _values(model, columns, rows, first_id)
        quoted = ", ".join(f'"{name}"' for name in names)
        raw.execute(
            "SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attnum > 0 AND NOT attisdropped",
            [f'"{staging}"'],
        )
        oids = dict(raw.fetchall())
        types = [oids[name] for name in names]
        if NUMERIC_OID in types:
            # The binary numeric format wants Decimal objects, dearer than the text format.
            with raw.copy(f'COPY "{staging}" ({quoted}) FROM STDIN') as copy:
                for row in islice(zip(*values, strict=False), rows):
                    copy.write_row(row)
        else:
            # Binary rows cost the server no parsing and the client a third of the time.
            values = [
                map(_as_date, column) if oid == DATE_OID else column
                for oid, column in zip(types, values, strict=True)
            ]
            with raw.copy(f'COPY "{staging}" ({quoted}) FROM STDIN (FORMAT BINARY)') as copy:
                copy.set_types(types)
                for row in islice(zip(*values, strict=False), rows):
                    copy.write_row(row)
        raw.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass ORDER BY contype = 'f', conname",
            [f'"{table}"'],
        )
        for number, (name, definition) in enumerate(raw.fetchall()):
            temporary = f"swap_{number}_{staging}"[:63]
            raw.execute(f'ALTER TABLE "{staging}" ADD CONSTRAINT "{temporary}" {definition}')
            constraint_renames.append((temporary, name))
        raw.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname "
            "NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [table, f'"{table}"'],
        )
        for number, (name, definition) in enumerate(raw.fetchall()):
            temporary = f"swapidx_{number}_{staging}"[:63]
            found = re.match(r"(CREATE (?:UNIQUE )?INDEX )(\S+)( ON (?:ONLY )?)(\S+)", definition)
            if found is None:
                raise ValueError(f"Cannot copy the index {name}: {definition}")
            raw.execute(f'{found[1]}"{temporary}"{found[3]}"{staging}"{definition[found.end() :]}')
            renames.append((temporary, name))
        if sequence is not None:
            pk = model._meta.pk.column
            raw.execute(
                f'ALTER TABLE "{staging}" ALTER COLUMN "{pk}" ADD GENERATED BY DEFAULT AS '
                f"IDENTITY (START WITH {first_id + rows})"
            )

    def finish() -> None:
        with connection.cursor() as cursor:
            raw = cursor.cursor
            raw.execute(f'DROP TABLE "{table}"')
            raw.execute(f'ALTER TABLE "{staging}" RENAME TO "{table}"')
            for temporary, name in constraint_renames:
                raw.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{temporary}" TO "{name}"')
            for temporary, name in renames:
                raw.execute(f'ALTER INDEX "{temporary}" RENAME TO "{name}"')
            if sequence is not None:
                raw.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, model._meta.pk.column])
                (current,) = raw.fetchone()
                raw.execute(f"ALTER SEQUENCE {current} RENAME TO {sequence.split('.')[-1]}")
            raw.execute(f'ANALYZE "{table}"')

    return Staged(model, finish)
