"""Survey fixtures on top of the customers' world (contacts owned by different teams)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.customers.conftest import World, north_colleague, world  # noqa: F401 - shared fixtures


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run ``function`` and then what it left for after the commit (the sending jobs)."""

    def run(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run
