"""Query results as numpy columns, read straight from the database cursor.

The analytics refresh reads millions of rows; building a Python object (or a
Decimal, or a date) per value would dominate its time. These helpers run the
ORM's SQL and convert each chunk of rows to arrays at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

import numpy as np
from django.db import connection
from django.db.models import QuerySet
from numpy.typing import NDArray

CHUNK = 100_000
# date.toordinal() of 1970-01-01: numpy counts days from there.
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

Kind = Literal["int", "float", "day"]


def fetch(queryset: QuerySet[Any, Any], kinds: Sequence[Kind]) -> list[NDArray[Any]]:
    """The columns of a ``values_list`` queryset as arrays of the given kinds.

    ``int`` columns must not be NULL; ``float`` NULLs become NaN; ``day`` gives
    the date's ordinal (``date.toordinal()``), 0 for NULL.
    """
    sql, params = queryset.query.sql_with_params()
    parts: list[list[NDArray[Any]]] = [[] for _ in kinds]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK):
            for position, (kind, values) in enumerate(
                zip(kinds, zip(*rows, strict=True), strict=True)
            ):
                parts[position].append(_convert(kind, values))
    return [
        np.concatenate(chunks) if chunks else np.zeros(0, dtype=_DTYPES[kind])
        for kind, chunks in zip(kinds, parts, strict=True)
    ]


_DTYPES = {"int": np.int64, "float": np.float64, "day": np.int64}


def _convert(kind: Kind, values: Sequence[Any]) -> NDArray[Any]:
    if kind == "int":
        return np.array(values, dtype=np.int64)
    if kind == "float":
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    # SQLite hands dates over as 'YYYY-MM-DD' text, PostgreSQL as date objects.
    raw = np.array(values, dtype=object)
    missing = np.array([value is None for value in values], dtype=bool)
    days = np.zeros(raw.size, dtype=np.int64)
    if (~missing).any():
        parsed = raw[~missing].astype(str).astype("datetime64[D]")
        days[~missing] = parsed.astype(np.int64) + EPOCH_ORDINAL
    return days


def date_strings(ordinals: NDArray[np.int64]) -> NDArray[np.object_]:
    """ISO dates for a bulk insert from day ordinals; 0 (no date) becomes None."""
    days = np.asarray(ordinals, dtype=np.int64)
    text = np.full(days.size, None, dtype=object)
    known = days > 0
    # Only the dates there are: most offers have none, and a str per row adds up.
    text[known] = (days[known] - EPOCH_ORDINAL).astype("datetime64[D]").astype(str)
    return text


# --- whole tables as integer matrices -------------------------------------------------------

# Ids per read: bounds the text the database builds for one read (~30 bytes a row).
SCAN_IDS = 500_000


def day_number(column: str) -> str:
    """SQL for a date column's ``date.toordinal()`` (an integer, never NULL for a NOT NULL date)."""
    if connection.vendor == "postgresql":
        return f"({column} - DATE '0001-01-01' + 1)"
    return f"CAST(julianday({column}) - 1721424.5 AS INTEGER)"


def cents(column: str) -> str:
    """SQL for a decimal money column in whole cents."""
    if connection.vendor == "postgresql":
        return f"ROUND({column} * 100)::bigint"
    return f"CAST(ROUND({column} * 100) AS INTEGER)"


def scan(table: str, expressions: Sequence[str], where: str = "") -> NDArray[np.int64]:
    """Integer expressions over every row of ``table`` (matching ``where``): rows x expressions.

    Reading millions of rows one Python tuple at a time costs a microsecond
    or more a row; here the database writes each range of ids out as text
    (SQLite's ``group_concat``, PostgreSQL's ``COPY ... TO STDOUT``) that numpy
    parses at once. Expressions must be integers and never NULL (use
    COALESCE); ``table`` needs an integer ``id``. Only trusted SQL: the
    callers pass their own model's columns.
    """
    width = len(expressions)
    condition = f" AND ({where})" if where else ""
    parts: list[NDArray[np.int64]] = []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {table}")  # noqa: S608 - trusted names
        low, high = cursor.fetchone()
        if low is None:
            return np.zeros((0, width), dtype=np.int64)
        raw = cursor.cursor
        for start in range(int(low) - 1, int(high), SCAN_IDS):
            stop = start + SCAN_IDS
            rows = f"WHERE id > {start} AND id <= {stop}{condition}"
            if connection.vendor == "postgresql":
                select = f"SELECT {', '.join(expressions)} FROM {table} {rows}"  # noqa: S608
                with raw.copy(f"COPY ({select}) TO STDOUT") as copy:
                    text: bytes | str = b"".join(bytes(chunk) for chunk in copy)
            else:
                joined = " || ' ' || ".join(f"({e})" for e in expressions)
                raw.execute(f"SELECT group_concat({joined}, ' ') FROM {table} {rows}")  # noqa: S608
                text = raw.fetchone()[0] or ""
            if text:
                parts.append(np.fromstring(text, dtype=np.int64, sep=" "))
    if not parts:
        return np.zeros((0, width), dtype=np.int64)
    return np.concatenate(parts).reshape(-1, width)
