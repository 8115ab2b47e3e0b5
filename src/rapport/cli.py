"""The ``rapport`` command: Rapport's own commands and every Django management command.

Configuration mistakes, and services the configuration names but that do not
answer, end in one line on stderr that names the setting (exit code 2), not a
traceback.
"""

from __future__ import annotations

import os
import sys

CONFIGURATION_ERROR = 2


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    # Web and worker processes already run in parallel: BLAS threads on top of
    # them only spin against each other (a small model fit got 15x slower).
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    args = ["rapport", *(sys.argv[1:] if argv is None else argv)]
    try:
        _run(args)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # `rapport demo | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as error:
        message = explain(error)
        if message is None:
            raise
        print(f"rapport: {message}", file=sys.stderr)
        sys.exit(CONFIGURATION_ERROR)


def _run(args: list[str]) -> None:
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


def explain(error: BaseException) -> str | None:
    """A one-line explanation for errors caused by configuration, else None."""
    from django.core.exceptions import ImproperlyConfigured
    from django.db.utils import OperationalError, ProgrammingError

    from rapport.core.health import NotReady

    if isinstance(error, ImproperlyConfigured | NotReady):
        return _one_line(error)
    if isinstance(error, OperationalError | ProgrammingError) and _is_missing_table(error):
        return (
            "the database named by DATABASE_URL is not set up or not up to date: "
            f"run `rapport migrate` first ({_one_line(error)})"
        )
    if isinstance(error, OperationalError):
        return f"cannot reach the database named by DATABASE_URL: {_one_line(error)}"
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis is a dependency
        return None
    if isinstance(error, RedisConnectionError | RedisTimeoutError):
        return f"cannot reach Redis named by REDIS_URL: {_one_line(error)}"
    return None


def _is_missing_table(error: BaseException) -> bool:
    """SQLite's "no such table/column", PostgreSQL's undefined table/column."""
    text = str(error)
    if text.startswith(("no such table", "no such column")):
        return True
    cause = error.__cause__
    return type(cause).__name__ in {"UndefinedTable", "UndefinedColumn"}


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0].strip() if lines else type(error).__name__


if __name__ == "__main__":
    main()
