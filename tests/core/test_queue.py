"""The job queue: Huey on the real Redis, the queue health check, the worker heartbeat."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from huey import RedisHuey
from huey.contrib import djhuey

from rapport.core import health, tasks
from tests.conftest import require_or_skip

REDIS_TEST_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
UNREACHABLE_REDIS_URL = "redis://:s3cret@127.0.0.1:1/15"


def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture
def redis_huey() -> Iterator[RedisHuey]:
    """A Huey on the real Redis, under a name of its own so tests never share keys."""
    require_or_skip(redis_answers(REDIS_TEST_URL), f"Redis at {REDIS_TEST_URL}")
    huey = RedisHuey(f"rapport-test-{uuid.uuid4().hex}", url=REDIS_TEST_URL)
    try:
        yield huey
    finally:
        huey.storage.flush_all()
        huey.storage.conn.close()


@pytest.fixture
def queue_is(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Any:
    """``queue_is(huey, url)``: Rapport's queue is now ``huey``, configured by REDIS_URL=url."""

    def use(huey: Any, url: str | None) -> None:
        monkeypatch.setattr(djhuey, "HUEY", huey)
        settings.REDIS_URL = url

    return use


@pytest.mark.redis
def test_redis_huey_runs_an_enqueued_task(redis_huey: RedisHuey) -> None:
    @redis_huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(2, 3)  # enqueues: nothing runs yet
    assert redis_huey.pending_count() == 1
    assert result.get() is None

    redis_huey.execute(redis_huey.dequeue())
    assert result.get() == 5
    assert redis_huey.pending_count() == 0


@pytest.mark.redis
def test_queue_check_is_ok_with_redis(redis_huey: RedisHuey, queue_is: Any) -> None:
    queue_is(redis_huey, REDIS_TEST_URL)

    @redis_huey.task()
    def noop() -> None:
        return None

    noop()
    noop()
    check = health.check_queue()
    assert check.ok
    assert check.detail == "2 job(s) waiting"


def test_queue_check_names_redis_url_when_redis_does_not_answer(queue_is: Any) -> None:
    dead = RedisHuey("rapport-test-dead", url=UNREACHABLE_REDIS_URL)
    queue_is(dead, UNREACHABLE_REDIS_URL)
    check = health.check_queue()
    assert not check.ok
    assert check.detail.startswith("cannot reach Redis at redis://:***@127.0.0.1:1/15 (REDIS_URL):")
    assert "s3cret" not in check.detail
    assert health.worker_last_seen() is None
    with pytest.raises(health.NotReady, match="REDIS_URL"):
        check.raise_unless_ok()


@pytest.mark.redis
def test_heartbeat_on_redis_tells_when_a_worker_last_ran(
    redis_huey: RedisHuey, queue_is: Any
) -> None:
    queue_is(redis_huey, REDIS_TEST_URL)
    assert health.worker_last_seen() is None
    tasks.heartbeat.call_local()  # what the worker runs every minute
    seen = health.worker_last_seen()
    assert seen is not None
    assert 0 <= seen < 60
    # Another process (the web) reading the same Redis sees it too.
    other = RedisHuey(redis_huey.name, url=REDIS_TEST_URL)
    try:
        queue_is(other, REDIS_TEST_URL)
        assert health.worker_last_seen() == pytest.approx(seen, abs=60)
    finally:
        other.storage.conn.close()


def test_heartbeat_through_the_configured_queue() -> None:
    assert health.worker_last_seen() is None
    tasks.heartbeat()  # the tests' queue runs jobs at once
    seen = health.worker_last_seen()
    assert seen is not None
    assert 0 <= seen < 60
