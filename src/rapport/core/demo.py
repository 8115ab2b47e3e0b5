"""`rapport demo`: realistic, deterministic demo data, contributed by each app.

Each app registers a step in its ``demo.py``; steps run in ``order`` inside
one transaction with one seeded random generator, so the same seed and size
always give the same data.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class DemoContext:
    rng: random.Random
    contacts: int
    now: datetime
    say: Callable[[str], None]
    # Steps share what they made (e.g. users as owners) through this dict.
    made: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoStep:
    order: int
    name: str
    run: Callable[[DemoContext], None]


_steps: dict[str, DemoStep] = {}


def register(
    order: int, name: str
) -> Callable[[Callable[[DemoContext], None]], Callable[[DemoContext], None]]:
    def decorator(function: Callable[[DemoContext], None]) -> Callable[[DemoContext], None]:
        _steps[name] = DemoStep(order, name, function)
        return function

    return decorator


def steps() -> list[DemoStep]:
    return sorted(_steps.values(), key=lambda step: step.order)
