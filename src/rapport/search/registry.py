"""One global search over every app that registers a provider.

A provider answers ``(viewer, text, limit) -> [SearchResult]`` from its own
restricted queryset, so search never shows what the viewer may not see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 200


@dataclass(frozen=True)
class SearchResult:
    kind: str
    title: str
    subtitle: str
    url: str


Provider = Callable[[Any, str, int], list[SearchResult]]

_providers: dict[str, Provider] = {}


def register(name: str, provider: Provider) -> None:
    _providers[name] = provider


def search(viewer: Any, text: str, *, limit_per_kind: int = 8) -> list[SearchResult]:
    text = " ".join(text.split())[:MAX_QUERY_LENGTH]
    if len(text) < MIN_QUERY_LENGTH:
        return []
    results: list[SearchResult] = []
    for provider in _providers.values():
        results.extend(provider(viewer, text, limit_per_kind))
    return results
