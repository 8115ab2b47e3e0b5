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


def date_strings(ordinals: NDArray[np.int64]) -> list[str | None]:
    """ISO dates for a bulk insert from day ordinals; 0 (no date) becomes None."""
    days = (np.asarray(ordinals, dtype=np.int64) - EPOCH_ORDINAL).astype("datetime64[D]")
    text = days.astype(str).astype(object)
    text[np.asarray(ordinals) <= 0] = None
    return list(text)
