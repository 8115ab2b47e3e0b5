from __future__ import annotations

from typing import Any

from django.http import HttpRequest

import rapport
from rapport.web.navigation import NavItem, items_for


def shell(request: HttpRequest) -> dict[str, Any]:
    """What the layout around every page needs: navigation for this user."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "rapport_version": rapport.__version__}
    items = items_for(user)
    return {
        "nav_items": items,
        "nav_current": current_section(items, request.path),
        "rapport_version": rapport.__version__,
    }


def current_section(items: list[NavItem], path: str) -> str:
    """The section whose page ``path`` is in: the longest item URL it starts with.

    By URL rather than URL namespace, since one app (customers) has two sections.
    """
    best, length = "", 0
    for item in items:
        url = item.url
        if path.startswith(url) and len(url) > length:
            best, length = item.section, len(url)
    return best
