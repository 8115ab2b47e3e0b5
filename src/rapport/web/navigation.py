"""The left navigation. Apps register the pages they have; nothing else appears."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

if TYPE_CHECKING:
    from rapport.users.models import User

# The order users find in every Rapport, whichever apps are installed.
SECTIONS = (
    "customers",
    "companies",
    "products",
    "orders",
    "deals",
    "tickets",
    "surveys",
    "tasks",
    "reminders",
    "insights",
    "segments",
    "campaigns",
    "automation",
    "data",
    "settings",
)

# 24x24 stroke icons (paths only), drawn here so no icon font is needed.
ICONS = {
    "customers": "M16 19v-1a4 4 0 0 0-4-4H7a4 4 0 0 0-4 4v1M9.5 10a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7M21 19v-1a4 4 0 0 0-3-3.8M15.5 3.2a3.5 3.5 0 0 1 0 6.6",
    "companies": "M3 21h18M5 21V5l8-3v19M13 9h6v12M8 8h2M8 12h2M8 16h2M16 13h1M16 17h1",
    "products": "M21 8l-9-5-9 5 9 5 9-5zM3 8v8l9 5 9-5V8M12 13v8",
    "orders": "M6 2l-3 4v14a2 2 0 0 0 2 2h14a2 2 0 0 0 2-2V6l-3-4zM3 6h18M16 10a4 4 0 0 1-8 0",
    "deals": "M3 17l6-6 4 4 8-8M15 7h6v6",
    "tickets": "M4 6h16v4a2 2 0 0 0 0 4v4H4v-4a2 2 0 0 0 0-4zM12 6v12",
    "tasks": "M9 11l3 3 8-8M20 12v7a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1h11",
    "surveys": "M8 10h.01M12 10h.01M16 10h.01M21 12a9 9 0 0 1-13.5 7.8L3 21l1.2-4.5A9 9 0 1 1 21 12z",
    "reminders": "M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9M13.7 21a2 2 0 0 1-3.4 0",
    "segments": "M3 4h18l-7 8v6l-4 2v-8z",
    "automation": "M13 2L3 14h9l-1 8 10-12h-9z",
    "data": "M12 3v12M7 10l5 5 5-5M4 17v3h16v-3",
    "insights": "M4 20V10M10 20V4M16 20v-7M22 20H2",
    "campaigns": "M3 11v2a1 1 0 0 0 1 1h2l5 4V6L6 10H4a1 1 0 0 0-1 1zM16 8a5 5 0 0 1 0 8M19 5a9 9 0 0 1 0 14",
    "settings": "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z",
}


@dataclass(frozen=True)
class NavItem:
    section: str
    label: str
    url_name: str
    visible: Callable[[User], bool]

    @property
    def icon(self) -> str:
        return ICONS.get(self.section, "")

    @property
    def url(self) -> str:
        # Every page shows every item (and finds the current one): reversed once per process.
        urlconf = get_urlconf() or settings.ROOT_URLCONF
        return _reversed(self.url_name, get_script_prefix(), urlconf)


@lru_cache(maxsize=512)
def _reversed(url_name: str, prefix: str, urlconf: Any) -> str:
    """``reverse(url_name)``; the script prefix and URLconf it depends on are the cache key."""
    return reverse(url_name, urlconf=urlconf)


_items: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    if item.section not in SECTIONS:
        raise ValueError(f"Unknown navigation section {item.section!r}; add it to SECTIONS")
    _items[item.section] = item


def items_for(user: Any) -> list[NavItem]:
    if not user.is_authenticated:
        return []
    return [
        _items[section]
        for section in SECTIONS
        if section in _items and _items[section].visible(user)
    ]
