"""Inserting many validated rows with their audit history in a few statements.

Django's ``bulk_create`` (and simple_history's ``bulk_create_with_history`` on
top of it) compiles every value of every row through the ORM, which caps an
import at a few thousand contacts a second. Rows reaching this module are
already validated by the import's services; here they are only converted for
the database once per column type and inserted with multi-row statements,
and each gets the same historical row simple_history would write ("+",
who, when, why), so the audit trail of an imported record looks like that of
one created by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any

from django.db import connection, models

Converter = Callable[[Any], Any]


def _converters(fields: Sequence[models.Field[Any, Any]]) -> list[Converter | None]:
    ops = connection.ops
    result: list[Converter | None] = []
    for field in fields:
        if isinstance(field, models.DateTimeField):
            # A batch stamps every row with the same moment: convert it once.
            result.append(lru_cache(maxsize=16)(ops.adapt_datetimefield_value))
        elif isinstance(field, models.DateField):
            result.append(ops.adapt_datefield_value)
        elif isinstance(field, models.DecimalField):
            result.append(partial(_decimal, field.max_digits, field.decimal_places))
        elif isinstance(field, models.JSONField):
            result.append(partial(_json, field))
        else:
            result.append(None)
    return result


def _decimal(digits: int | None, places: int | None, value: Any) -> Any:
    return connection.ops.adapt_decimalfield_value(value, digits, places)


def _json(field: models.JSONField[Any], value: Any) -> Any:
    if value == {}:
        # Most imported rows have no custom fields: skip encoding the same "{}".
        return _empty_json(field)
    return field.get_db_prep_save(value, connection)


def _empty_json(field: models.JSONField[Any]) -> Any:
    cache: dict[int, Any] = _EMPTY_JSON
    key = id(field)
    if key not in cache:
        cache[key] = field.get_db_prep_save({}, connection)
    return cache[key]


_EMPTY_JSON: dict[int, Any] = {}


def _prepared(
    rows: Sequence[dict[str, Any]], fields: Sequence[models.Field[Any, Any]]
) -> list[tuple[Any, ...]]:
    converters = _converters(fields)
    names = [field.attname for field in fields]
    defaults = {
        name: field.get_default() if field.has_default() or field.null else ""
        for name, field in zip(names, fields, strict=True)
    }
    # Filling in defaults with a dict merge and picking the columns with one
    # itemgetter keeps the per-value work in C (a Python loop over 22 columns of
    # 20,000 contacts was a tenth of an import's time).
    pick = itemgetter(*names) if len(names) > 1 else (lambda row: (row[names[0]],))
    prepared = [pick({**defaults, **row}) for row in rows]
    converted = [(position, convert) for position, convert in enumerate(converters) if convert]
    if not converted or not prepared:
        return prepared
    # Convert column by column: most columns need nothing, and a transposed
    # column is converted with one comprehension.
    columns = list(zip(*prepared, strict=True))
    for position, convert in converted:
        columns[position] = tuple(
            None if value is None else convert(value) for value in columns[position]
        )
    return list(zip(*columns, strict=True))


def _fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def insert(
    model: type[models.Model], rows: Sequence[dict[str, Any]], *, returning: bool = True
) -> list[int]:
    """Insert ``rows`` (attname → value; missing ones take the field default); their new pks.

    Without ``returning`` the pks are not read back (an empty list), which lets
    the rows go through one prepared statement (``executemany``), the fastest
    way for tables without search triggers.
    """
    if not rows:
        return []
    fields = _fields(model)
    values = _prepared(rows, fields)
    if not returning:
        _execute_many(model, fields, values)
        return []
    return _execute(model, fields, values, returning=True)


def insert_new(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    """``insert`` leaving out rows that clash with a unique constraint (ON CONFLICT DO NOTHING)."""
    if rows:
        fields = _fields(model)
        _execute(model, fields, _prepared(rows, fields), returning=False, skip_clashes=True)


def _execute(
    model: type[models.Model],
    fields: Sequence[models.Field[Any, Any]],
    values: Sequence[Sequence[Any]],
    *,
    returning: bool,
    skip_clashes: bool = False,
) -> list[int]:
    """Insert prepared ``values``; the new pks in order when ``returning``."""
    if connection.vendor == "sqlite" and connection.in_atomic_block:
        return _sqlite_execute(model, fields, values, returning=returning, skip=skip_clashes)
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    columns = ", ".join(ops.quote_name(str(f.column)) for f in fields)
    tail = " ON CONFLICT DO NOTHING" if skip_clashes else ""
    if returning:
        tail += f" RETURNING {ops.quote_name(str(model._meta.pk.column))}"
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    per_statement = max(1, min(500, (connection.features.max_query_params or 999) // len(fields)))
    pks: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), per_statement):
            chunk = values[start : start + per_statement]
            sql = (
                f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 - names from model meta
                + ", ".join([one] * len(chunk))
                + tail
            )
            cursor.execute(sql, [value for row in chunk for value in row])
            if returning:
                # Both databases return the rows of one multi-row INSERT in VALUES order.
                pks += [int(returned[0]) for returned in cursor.fetchall()]
    return pks


def _sqlite_execute(
    model: type[models.Model],
    fields: Sequence[models.Field[Any, Any]],
    values: Sequence[Sequence[Any]],
    *,
    returning: bool,
    skip: bool,
) -> list[int]:
    """SQLite: all rows in one statement, handed over as one JSON array.

    Measured against the multi-row VALUES form (one statement of 500 rows and a
    list of all their values each, placeholders rewritten by Django's cursor)
    and against the driver's ``executemany`` of a prepared statement:
    ``executemany`` made the import slower, because every statement flushes
    the FTS5 index's pending terms (search documents feed it by trigger), so
    fewer, bigger statements win; one ``INSERT ... SELECT FROM json_each(?)``
    per table and batch is the fewest. The pks are not read back but given:
    the transaction holds SQLite's write lock (Rapport opens transactions
    IMMEDIATE and the rows are written inside one), so nobody else can take
    the numbers after the table's highest (AUTOINCREMENT: also after the
    highest ever used, kept in sqlite_sequence).
    """
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = [quote(str(f.column)) for f in fields]
    tail = " ON CONFLICT DO NOTHING" if skip else ""
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    try:
        pks: list[int] = []
        rows: Sequence[Sequence[Any]] = values
        if returning:
            pk = quote(str(model._meta.pk.column))
            # The highest pk ever given (sqlite_sequence) or present; names from model meta.
            highest = f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), coalesce((SELECT max({pk}) FROM {table}), 0))"  # noqa: E501, S608
            cursor.execute(highest, [model._meta.db_table])
            first = int(cursor.fetchone()[0]) + 1
            pks = list(range(first, first + len(values)))
            names = [pk, *names]
            rows = [(number, *row) for number, row in zip(pks, values, strict=True)]
        picks = ", ".join(f"value ->> {position}" for position in range(len(names)))
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(names)}) SELECT {picks} "  # noqa: S608 - model meta
            f"FROM json_each(?) WHERE true{tail}",
            [json.dumps(rows, default=str, ensure_ascii=False)],
        )
        return pks
    finally:
        cursor.close()


def _execute_many(
    model: type[models.Model],
    fields: Sequence[models.Field[Any, Any]],
    values: Sequence[Sequence[Any]],
) -> None:
    if connection.vendor == "sqlite" and connection.in_atomic_block:
        _sqlite_execute(model, fields, values, returning=False, skip=False)
        return
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    columns = ", ".join(ops.quote_name(str(f.column)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",  # noqa: S608 - model meta
            values,
        )


def insert_with_history(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    actor_id: int | None,
    reason: str,
    when: datetime,
) -> list[int]:
    """``insert`` plus one "created" entry per row in the model's simple_history table."""
    if not rows:
        return []
    fields = _fields(model)
    values = _prepared(rows, fields)
    pks = _execute(model, fields, values, returning=True)
    history_model: type[models.Model] = model.history.model  # type: ignore[attr-defined]
    history_fields = _fields(history_model)
    # A history row repeats the record's (already converted) values, plus its pk
    # and who/when/why, so it is assembled from the record's row, not prepared again.
    stamp = _prepared(
        [
            {
                "history_date": when,
                "history_change_reason": reason,
                "history_type": "+",
                "history_user_id": actor_id,
            }
        ],
        [f for f in history_fields if f.attname.startswith("history_")],
    )[0]
    # Each history row is picked from [*record's values, pk, *stamp] in the
    # history table's column order.
    position = {field.attname: index for index, field in enumerate(fields)}
    pk_at, stamp_at = len(fields), len(fields) + 1
    pk_name = model._meta.pk.attname
    order: list[int] = []
    stamps = 0
    for field in history_fields:
        if field.attname == pk_name:
            order.append(pk_at)
        elif field.attname.startswith("history_"):
            order.append(stamp_at + stamps)
            stamps += 1
        else:
            order.append(position[field.attname])
    pick = itemgetter(*order)
    history_values = [pick([*row, pk, *stamp]) for row, pk in zip(values, pks, strict=True)]
    _execute_many(history_model, history_fields, history_values)
    return pks
