"""Restricted reads of users, teams and tokens."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, QuerySet

from rapport.core.permissions import Action, restrict
from rapport.users.models import ApiToken, Team, User


def users(viewer: User | AnonymousUser, action: Action = Action.VIEW) -> QuerySet[User]:
    return restrict(User.objects.select_related("team"), viewer, action)


def teams(viewer: User | AnonymousUser, action: Action = Action.VIEW) -> QuerySet[Team]:
    return restrict(Team.objects.annotate(member_count=Count("members")), viewer, action)


def api_tokens(viewer: User | AnonymousUser, action: Action = Action.VIEW) -> QuerySet[ApiToken]:
    return restrict(ApiToken.objects.select_related("user"), viewer, action)


def own_api_tokens(viewer: User) -> QuerySet[ApiToken]:
    return api_tokens(viewer).filter(user=viewer)
