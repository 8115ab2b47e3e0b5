"""Can Rapport reach what it depends on? Used by /api/v1/health, `rapport serve` and `worker`.

Every check answers quickly: an unreachable Redis is reported within
``PROBE_TIMEOUT_SECONDS`` instead of hanging a health probe or a worker start.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections

from rapport.config import redact_url

HEARTBEAT_KEY = "rapport:worker-heartbeat"
PROBE_TIMEOUT_SECONDS = 3


class NotReady(Exception):
    """Rapport cannot start: a service does not answer or the database is not migrated.

    The message is one line that says which setting or command to look at;
    ``rapport`` prints it instead of a traceback.
    """


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def raise_unless_ok(self) -> None:
        if not self.ok:
            raise NotReady(self.detail)


def check_database(alias: str = "default") -> Check:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return Check(
            "database",
            False,
            f"cannot reach the database named by DATABASE_URL: {_first_line(error)}",
        )
    return Check("database", True, connections[alias].vendor)


def check_migrations(alias: str = "default") -> Check:
    """Has ``rapport migrate`` brought the database up to this version of Rapport?"""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[alias])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return Check(
            "migrations", False, "the database is not up to date: run `rapport migrate` first"
        )
    return Check("migrations", True, "up to date")


def check_queue() -> Check:
    """Does the job queue answer? Redis (REDIS_URL) or the SQLite queue in RAPPORT_DATA_DIR."""
    huey = _huey()
    try:
        _probe(huey)
        pending = huey.pending_count()
    except Exception as error:
        return Check("queue", False, _queue_failure(error))
    return Check("queue", True, f"{pending} job(s) waiting")


def record_heartbeat() -> None:
    """Note that a worker is alive (the heartbeat job calls this every minute)."""
    _huey().put(HEARTBEAT_KEY, time.time())


def worker_last_seen() -> float | None:
    """Seconds since a worker last ran its heartbeat job, or None if never (or unknown)."""
    huey = _huey()
    try:
        _probe(huey)
        stamp = huey.get(HEARTBEAT_KEY, peek=True)
    except Exception:
        return None
    return None if stamp is None else max(0.0, time.time() - float(stamp))


def _huey() -> Any:
    # Looked up on every call, so tests (and a reconfigured process) see the current queue.
    from huey.contrib import djhuey

    return djhuey.HUEY


def _probe(huey: Any) -> None:
    """PING a Redis queue with a short timeout; Huey's own client would wait for the OS."""
    import redis

    client = getattr(huey.storage, "conn", None)
    if not isinstance(client, redis.Redis):
        return  # the SQLite queue: opening the file is quick, or fails quickly
    pool = client.connection_pool
    kwargs = {
        **pool.connection_kwargs,
        "socket_connect_timeout": PROBE_TIMEOUT_SECONDS,
        "socket_timeout": PROBE_TIMEOUT_SECONDS,
        "retry": None,
    }
    probe = redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    )
    try:
        probe.ping()
    finally:
        probe.close()
        probe.connection_pool.disconnect()


def _queue_failure(error: BaseException) -> str:
    url = getattr(settings, "REDIS_URL", None)
    if url:
        return f"cannot reach Redis at {redact_url(url)} (REDIS_URL): {_first_line(error)}"
    queue = settings.HUEY if isinstance(settings.HUEY, dict) else {}
    where = queue.get("filename", "in RAPPORT_DATA_DIR")
    return f"cannot open the job queue {where} (RAPPORT_DATA_DIR): {_first_line(error)}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]
