"""Keyset (seek) pagination shared by web lists and the API.

Pages are found by the sort values of the row at their edge, never by
OFFSET, so page 5,000 costs what page 1 costs. The cursor is opaque to
clients: base64 JSON of those values, the sort order they belong to and the
direction. NULL sorts after every value ascending and before every value
descending, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.expressions import OrderBy

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class KeysetPage[M: models.Model]:
    items: list[M]
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None


def normalise_ordering(model: type[models.Model], ordering: Sequence[str]) -> list[str]:
    """The ordering with the primary key appended so every row has a unique position.

    Raises ``ValidationError`` for a term that is not ``name`` or ``-name`` of a
    sortable field of ``model``, or for a field named twice.
    """
    names = [term.removeprefix("-") for term in ordering]
    for name in names:
        _field(model, name)
    if len(set(names)) != len(names):
        raise ValidationError("Sort by each field only once.")
    if "pk" not in names and model._meta.pk.name not in names:
        descending = bool(ordering) and ordering[-1].startswith("-")
        return [*ordering, "-pk" if descending else "pk"]
    return list(ordering)


def paginate[M: models.Model](
    queryset: models.QuerySet[M],
    *,
    ordering: Sequence[str],
    cursor: str | None,
    limit: int,
) -> KeysetPage[M]:
    """One page of ``queryset`` in ``ordering`` after (or before) ``cursor``."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    model = queryset.model
    ordering = normalise_ordering(model, ordering)
    backwards = False
    if cursor:
        values, backwards = decode_cursor(model, ordering, cursor)
        queryset = queryset.filter(_seek(ordering, values, backwards=backwards))
        queryset = queryset.filter(_bound(model, ordering, values, backwards=backwards))
    applied = [_flip(term) for term in ordering] if backwards else ordering
    rows = list(queryset.order_by(*[_order_expression(term) for term in applied])[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    if not rows:
        return KeysetPage(items=[], next_cursor=None, previous_cursor=None)
    has_next = more if not backwards else True
    has_previous = bool(cursor) and (more if backwards else True)
    return KeysetPage(
        items=rows,
        next_cursor=encode_cursor(ordering, rows[-1], backwards=False) if has_next else None,
        previous_cursor=encode_cursor(ordering, rows[0], backwards=True) if has_previous else None,
    )


def encode_cursor(ordering: Sequence[str], row: models.Model, *, backwards: bool) -> str:
    values = [_json_value(_value(row, term.removeprefix("-"))) for term in ordering]
    payload = json.dumps({"o": list(ordering), "v": values, "b": backwards}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(
    model: type[models.Model], ordering: Sequence[str], cursor: str
) -> tuple[list[Any], bool]:
    """The sort values and direction in ``cursor``; ``ValidationError`` if it is not ours.

    A cursor only fits the sort order it was made for: one from another order
    (or another list) is refused rather than silently skipping rows.
    """
    invalid = ValidationError("This cursor is invalid or belongs to another sort order.")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()), parse_constant=_refuse)
        raw_ordering, raw_values, backwards = payload["o"], payload["v"], payload["b"]
    except (binascii.Error, ValueError, KeyError, TypeError, IndexError):
        raise invalid from None
    if (
        raw_ordering != list(ordering)
        or not isinstance(backwards, bool)
        or not isinstance(raw_values, list)
        or len(raw_values) != len(ordering)
    ):
        raise invalid
    values: list[Any] = []
    for term, raw in zip(ordering, raw_values, strict=True):
        if raw is None:
            values.append(None)
            continue
        if not isinstance(raw, str | int | float):  # bool is an int
            raise invalid
        field = _field(model, term.removeprefix("-"))
        try:
            value = field.to_python(raw)
            if isinstance(field, models.IntegerField):
                field.run_validators(value)  # in the database's range
        except (ValidationError, TypeError, ValueError, ArithmeticError):
            raise invalid from None
        values.append(value)
    return values, backwards


def _seek(ordering: Sequence[str], values: Sequence[Any], *, backwards: bool) -> Q:
    """Rows strictly after the cursor: (a > x) or (a = x and b > y) or ...

    NULL counts as larger than every value on both databases (see
    ``_order_expression``), so nullable sort keys never skip or repeat rows.
    """
    condition = Q(pk__in=[])
    equal_so_far = Q()
    for term, value in zip(ordering, values, strict=True):
        name = term.removeprefix("-")
        descending = term.startswith("-") != backwards
        if value is None:
            after = Q(**{f"{name}__isnull": False}) if descending else Q(pk__in=[])
            same = Q(**{f"{name}__isnull": True})
        else:
            lookup = "lt" if descending else "gt"
            after = Q(**{f"{name}__{lookup}": value})
            if not descending:
                after |= Q(**{f"{name}__isnull": True})
            same = Q(**{name: value})
        condition |= equal_so_far & after
        equal_so_far &= same
    return condition


def _bound(
    model: type[models.Model], ordering: Sequence[str], values: Sequence[Any], *, backwards: bool
) -> Q:
    """A plain range on the first sort key that ``_seek``'s condition implies.

    SQLite cannot seek an index with ``_seek``'s OR of conditions, so it read the
    index from its start to the cursor: 17 ms at row 250,000 of 1,000,000 contacts,
    growing with the depth. With this range beside it the index is entered at the
    cursor (0.04 ms). It is only added where it is exact: a descending key (NULLs come
    first there, so none is after a value) or an ascending key that cannot be NULL.
    """
    term, value = ordering[0], values[0]
    name = term.removeprefix("-")
    descending = term.startswith("-") != backwards
    if value is None:
        return Q()
    if descending:
        return Q(**{f"{name}__lte": value})
    if _field(model, name).null:
        return Q()
    return Q(**{f"{name}__gte": value})


def _order_expression(term: str) -> OrderBy:
    if term.startswith("-"):
        return F(term[1:]).desc(nulls_first=True)
    return F(term).asc(nulls_last=True)


def _flip(term: str) -> str:
    return term[1:] if term.startswith("-") else f"-{term}"


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    if name == "pk":
        return model._meta.pk
    if not name.isidentifier():  # what is left of "--name", "", "a.b", ...
        raise ValidationError(f"Cannot sort by {name!r}.")
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        raise ValidationError(f"Cannot sort by {name!r}.") from None
    if not isinstance(field, models.Field) or field.many_to_many or field.one_to_many:
        raise ValidationError(f"Cannot sort by {name!r}.")
    return field


def _value(row: models.Model, name: str) -> Any:
    if name == "pk":
        return row.pk
    field = row._meta.get_field(name)
    return getattr(row, field.attname)  # type: ignore[union-attr]


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not a sort value")


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
