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
) -> list[list[Any]]:
    converters = _converters(fields)
    names = [field.attname for field in fields]
    defaults = [
        field.get_default() if field.has_default() or field.null else "" for field in fields
    ]
    pairs = list(zip(names, defaults, strict=True))
    converted = [(position, convert) for position, convert in enumerate(converters) if convert]
    prepared = []
    for row in rows:
        get = row.get
        values = [get(name, default) for name, default in pairs]
        for position, convert in converted:
            value = values[position]
            if value is not None:
                values[position] = convert(value)
        prepared.append(values)
    return prepared


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
    """Multi-row INSERTs of prepared ``values``; the new pks in order when ``returning``."""
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


def _execute_many(
    model: type[models.Model],
    fields: Sequence[models.Field[Any, Any]],
    values: Sequence[Sequence[Any]],
) -> None:
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
