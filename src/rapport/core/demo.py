"""`rapport demo`: realistic, deterministic demo data, contributed by each app.

Each app registers a step in its ``demo.py``; steps run in ``order`` inside
one transaction with one seeded random generator, so the same seed and size
always give the same data.

Large demos (a million contacts) cannot go through model instances: a
``register_bulk`` step loads them with vectorised generators and the
database's bulk path (``BulkWriter``: executemany in one transaction on
SQLite, COPY on PostgreSQL) and stands in for the ordinary steps it names
once the demo has at least ``bulk_threshold()`` contacts. Every other step
still runs, on the bulk-loaded rows, so apps added later keep working.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice, repeat
from typing import Any

from django.conf import settings
from django.core.management.color import no_style
from django.db import connection, models, transaction
from tqdm import tqdm

# From this many contacts on, bulk steps replace the ordinary ones.
DEFAULT_BULK_THRESHOLD = 20_000
# Rows per executemany call / progress update.
CHUNK = 50_000
# PostgreSQL's memory for each index rebuild of a bulk load (its maintenance_work_mem).
BUILD_MEMORY = "512MB"


@dataclass
class DemoContext:
    rng: random.Random
    contacts: int
    now: datetime
    say: Callable[[str], None]
    # Steps share what they made (e.g. users as owners) through this dict.
    made: dict[str, Any] = field(default_factory=dict)

    @property
    def bulk(self) -> bool:
        """Whether this demo is large enough to be loaded by the bulk steps."""
        return self.contacts >= bulk_threshold()


@dataclass(frozen=True)
class DemoStep:
    order: int
    name: str
    run: Callable[[DemoContext], None]


@dataclass(frozen=True)
class BulkStep:
    order: int
    name: str
    run: Callable[[DemoContext], None]
    replaces: tuple[str, ...]


_steps: dict[str, DemoStep] = {}
_bulk_steps: dict[str, BulkStep] = {}


def bulk_threshold() -> int:
    return int(getattr(settings, "RAPPORT_DEMO_BULK_THRESHOLD", DEFAULT_BULK_THRESHOLD))


def register(
    order: int, name: str
) -> Callable[[Callable[[DemoContext], None]], Callable[[DemoContext], None]]:
    def decorator(function: Callable[[DemoContext], None]) -> Callable[[DemoContext], None]:
        _steps[name] = DemoStep(order, name, function)
        return function

    return decorator


def register_bulk(
    order: int, name: str, *, replaces: Sequence[str]
) -> Callable[[Callable[[DemoContext], None]], Callable[[DemoContext], None]]:
    """A step for large demos that does the work of the ordinary steps named in ``replaces``."""

    def decorator(function: Callable[[DemoContext], None]) -> Callable[[DemoContext], None]:
        _bulk_steps[name] = BulkStep(order, name, function, tuple(replaces))
        return function

    return decorator


def steps() -> list[DemoStep]:
    """Every step in order; each decides when run whether the demo's size wants it."""
    replaced = {name for step in _bulk_steps.values() for name in step.replaces}
    chosen = [
        DemoStep(step.order, step.name, _when(step.run, bulk=False))
        if step.name in replaced
        else step
        for step in _steps.values()
    ]
    chosen += [
        DemoStep(step.order, f"{step.name} (large demos)", _when(step.run, bulk=True))
        for step in _bulk_steps.values()
    ]
    return sorted(chosen, key=lambda step: step.order)


def _when(run: Callable[[DemoContext], None], *, bulk: bool) -> Callable[[DemoContext], None]:
    def guarded(context: DemoContext) -> None:
        if context.bulk == bulk:
            run(context)
        elif bulk:
            context.say("  (small demo: loaded by the ordinary steps)")
        else:
            context.say("  (large demo: loaded by the bulk step)")

    return guarded


# --- the bulk path ---------------------------------------------------------------------------


class BulkWriter:
    """Appends many rows to a model's table by the database's fastest path.

    Columns are given by attname (``owner_id``) as sequences of values the
    database accepts as they are (str, int, float, None; timestamps as
    ``YYYY-MM-DD HH:MM:SS`` in UTC). Columns not given get the field's default,
    so a field another app adds later with a default does not break the load.
    """

    def __init__(self, *, progress: bool = True) -> None:
        self.vendor = connection.vendor
        self.progress = progress

    def next_id(self, model: type[models.Model]) -> int:
        result = model._base_manager.aggregate(top=models.Max("pk"))["top"]
        return int(result or 0) + 1

    def insert(
        self,
        model: type[models.Model],
        columns: Mapping[str, Sequence[Any] | Any],
        *,
        rows: int,
        label: str = "",
    ) -> int:
        """Insert ``rows`` rows; a column that is not a sequence is the same in every row."""
        return self.insert_chunks(model, [(columns, rows)], rows=rows, label=label)

    def insert_chunks(
        self,
        model: type[models.Model],
        chunks: Iterable[tuple[Mapping[str, Sequence[Any] | Any], int]],
        *,
        rows: int,
        label: str = "",
    ) -> int:
        """Insert chunks of rows, each ``(columns, rows)``, made one at a time as they are written.

        A million contacts' timeline does not fit in memory as Python values:
        a generator yields it a slice at a time, all under one progress bar
        (and on PostgreSQL one COPY).
        """
        table = connection.ops.quote_name(model._meta.db_table)
        bar = tqdm(
            total=rows,
            desc=f"  {label or model._meta.verbose_name_plural}",
            unit=" rows",
            unit_scale=True,
            file=sys.stderr,
            disable=None if self.progress else True,  # None: only on a terminal
            leave=True,
            mininterval=1.0,
        )
        written = 0
        with bar, connection.cursor() as cursor, ExitStack() as stack:
            raw = cursor.cursor  # the driver's cursor: no per-row debug formatting
            copy: Any = None
            for columns, count in chunks:
                if count == 0:
                    continue
                names, values = self._complete(model, columns, count)
                data = islice(zip(*values, strict=False), count)
                quoted = ", ".join(connection.ops.quote_name(name) for name in names)
                if self.vendor == "postgresql":
                    if copy is None:
                        copy = stack.enter_context(raw.copy(f"COPY {table} ({quoted}) FROM STDIN"))
                    for row in data:
                        copy.write_row(row)
                    bar.update(count)
                else:
                    marks = ", ".join("?" * len(names))
                    statement = f"INSERT INTO {table} ({quoted}) VALUES ({marks})"  # noqa: S608 - model meta
                    for chunk in _chunks(data, CHUNK):
                        raw.executemany(statement, chunk)
                        bar.update(len(chunk))
                written += count
            if written != rows:
                raise ValueError(f"{model.__name__}: {written} rows written, {rows} announced")
            bar.n = rows
            bar.refresh()
        return rows

    def _complete(
        self, model: type[models.Model], columns: Mapping[str, Any], rows: int
    ) -> tuple[list[str], list[Iterable[Any]]]:
        names: list[str] = []
        values: list[Iterable[Any]] = []
        known = {f.attname for f in model._meta.concrete_fields}
        unknown = set(columns) - known
        if unknown:
            raise ValueError(f"{model.__name__} has no column(s) {sorted(unknown)}")
        for model_field in model._meta.concrete_fields:
            if model_field.attname in columns:
                given = columns[model_field.attname]
                if hasattr(given, "tolist"):  # numpy: plain Python values bind everywhere
                    given = given.tolist()
                if isinstance(given, str) or not isinstance(given, Sequence):
                    values.append(repeat(self._adapt(given)))
                else:
                    if len(given) != rows:
                        raise ValueError(
                            f"{model.__name__}.{model_field.attname}: {len(given)} values, "
                            f"{rows} rows"
                        )
                    values.append(given)
            elif model_field.primary_key:
                continue  # numbered by the database
            else:
                default = model_field.get_default() if model_field.has_default() else None
                if default is None and not model_field.null:
                    default = model_field.get_default()
                values.append(repeat(self._db_value(model_field, default)))
            names.append(str(model_field.column))
        return names, values

    def _db_value(self, model_field: models.Field[Any, Any], value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, dict | list):
            return json.dumps(value)
        if isinstance(value, datetime):
            return timestamp_text(value)
        return self._adapt(model_field.get_db_prep_save(value, connection))

    def _adapt(self, value: Any) -> Any:
        if isinstance(value, bool) and self.vendor == "sqlite":
            return int(value)
        if isinstance(value, datetime):
            return timestamp_text(value)
        return value

    def reset_sequences(self, *models_: type[models.Model]) -> None:
        """After rows were given their ids: the next ordinary insert continues after them."""
        statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def analyse(self, *models_: type[models.Model]) -> None:
        """Give the query planner row statistics for the freshly loaded tables (default: all).

        Without them SQLite takes ``deleted_at IS NULL`` for a selective
        condition and reads every live row through that index instead of
        walking the sort index (50 ms instead of 0.5 ms for a list's first
        page at 100,000 contacts). A sampled ANALYZE takes well under a second.
        Tables loaded under ``indexes_deferred`` are analysed when it ends.
        """
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute("PRAGMA analysis_limit = 1000")
            if not models_:
                cursor.execute("ANALYZE")
            for model in models_:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")

    @contextmanager
    def indexes_deferred(self, *models_: type[models.Model]) -> Iterator[None]:
        """Drop secondary indexes (and, on PostgreSQL, foreign keys) while loading; rebuild after.

        Building an index once over sorted data is many times faster than
        keeping it up to date row by row; the rebuilt foreign keys are
        validated in one pass.
        """
        saved: list[str] = []
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                # A big page cache lets the rebuilds sort in memory; set back afterwards.
                cursor.execute("PRAGMA cache_size")
                cache_size = cursor.fetchone()[0]
                cursor.execute("PRAGMA cache_size = -1000000")
            for model in models_:
                table = model._meta.db_table
                if self.vendor == "sqlite":
                    cursor.execute(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                        "AND tbl_name = %s AND sql IS NOT NULL",
                        [table],
                    )
                    for name, sql in cursor.fetchall():
                        saved.append(sql)
                        cursor.execute(f'DROP INDEX "{name}"')
                elif self.vendor == "postgresql":
                    # Dropping a foreign key alters the referenced table too, which
                    # PostgreSQL refuses while deferred checks on it are pending: run them now.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                    cursor.execute(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conrelid = %s::regclass AND contype = 'f'",
                        [table],
                    )
                    for name, definition in cursor.fetchall():
                        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
                        saved.append(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
                    cursor.execute(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
                        "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
                        [table],
                    )
                    for name, definition in cursor.fetchall():
                        cursor.execute(f'DROP INDEX "{name}"')
                        saved.insert(0, definition)  # indexes before the foreign keys
        # No finally: after a failed load the transaction rolls back, indexes included.
        yield
        if saved:
            bar = tqdm(
                total=len(saved),
                desc="  indexes",
                file=sys.stderr,
                disable=None if self.progress else True,  # None: only on a terminal
                mininterval=1.0,
            )
            with bar, connection.cursor() as cursor:
                if self.vendor == "postgresql":
                    # Sorting ten million keys in 64 MB (the default) spills to disk in
                    # many runs; set back for the rest of the transaction afterwards.
                    cursor.execute("SHOW maintenance_work_mem")
                    work_mem = cursor.fetchone()[0]
                    cursor.execute(
                        "SELECT set_config('maintenance_work_mem', %s, true)",
                        [BUILD_MEMORY],
                    )
                for statement in saved:
                    cursor.execute(statement)
                    bar.update(1)
                if self.vendor == "postgresql":
                    cursor.execute(
                        "SELECT set_config('maintenance_work_mem', %s, true)", [work_mem]
                    )
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
        self.analyse(*models_)
        if self.vendor == "postgresql":
            tables = [model._meta.db_table for model in models_]
            transaction.on_commit(lambda: _vacuum(tables))


def _vacuum(tables: Sequence[str]) -> None:
    """After the load's commit: VACUUM (ANALYZE) what it loaded, outside any transaction.

    Rows are only seen as visible to all once a vacuum has set the visibility
    map: until then an index-only scan (a count by stage or by tag) visits
    every row of the table, and each row's first reader writes its hint bits.
    """
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(table)}")


def timestamps(seconds: Any) -> list[str]:
    """Unix seconds (a numpy array) as timestamp text, vectorised."""
    import numpy as np

    text = np.datetime_as_string(np.asarray(seconds, dtype="datetime64[s]"), unit="s")
    if connection.vendor == "postgresql":
        return [value + "+00" for value in text.tolist()]
    # SQLite compares timestamps as text: the separator must be Django's space.
    return [value.replace("T", " ") for value in text.tolist()]


def dates(seconds: Any) -> list[str]:
    """Unix seconds as ISO dates (the seconds already shifted to local time)."""
    import numpy as np

    days = np.asarray(seconds, dtype="int64") // 86400
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist()


def timestamp_text(value: datetime) -> str:
    """A timestamp as both databases accept it in bulk (UTC, to the second)."""
    from datetime import UTC

    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S") + (
        "+00" if connection.vendor == "postgresql" else ""
    )


def _chunks(rows: Iterable[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
