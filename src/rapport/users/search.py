"""Colleagues and teams in the global search, for those who manage them."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import reverse

from rapport.core.permissions import Action, can
from rapport.search.registry import SearchResult, register
from rapport.users import queries
from rapport.users.models import Team, User


def search_users(viewer: Any, text: str, limit: int) -> list[SearchResult]:
    if not can(viewer, Action.CHANGE, User):
        return []
    found = queries.users(viewer, Action.CHANGE).filter(
        Q(full_name__icontains=text) | Q(email__istartswith=text)
    )[:limit]
    return [
        SearchResult(
            kind="User",
            title=u.full_name,
            subtitle=u.email,
            url=reverse("settings:user", args=[u.pk]),
        )
        for u in found
    ]


def search_teams(viewer: Any, text: str, limit: int) -> list[SearchResult]:
    if not can(viewer, Action.CHANGE, Team):
        return []
    found = queries.teams(viewer, Action.CHANGE).filter(name__icontains=text)[:limit]
    return [
        SearchResult(
            kind="Team",
            title=t.name,
            subtitle=t.description,
            url=reverse("settings:team", args=[t.pk]),
        )
        for t in found
    ]


register("users", search_users)
register("teams", search_teams)
