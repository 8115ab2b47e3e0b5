"""The permission layer every page, API endpoint, export and job uses.

A user may do an *action* on a model within a *scope* given by their role:
all records, their team's records (owner in their team, or unowned), only
their own, or none. Each app registers one ``Policy`` per model in its
``permissions.py``; ``restrict()`` turns the scope into a queryset filter and
``can()`` answers for one record, so lists and detail pages never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from rapport.users.models import User


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    SALES = "sales", "Sales"
    SERVICE = "service", "Service"
    MARKETING = "marketing", "Marketing"
    READ_ONLY = "read_only", "Read-only"


class Action(StrEnum):
    VIEW = "view"
    ADD = "add"
    CHANGE = "change"
    DELETE = "delete"
    EXPORT = "export"


class Scope(IntEnum):
    NONE = 0
    OWN = 1
    TEAM = 2
    ALL = 3


Grants = Mapping[Action, Scope]


def grant(scope: Scope, *actions: Action) -> dict[Action, Scope]:
    """``grant(Scope.TEAM, Action.VIEW, Action.CHANGE)`` → a grants mapping."""
    return dict.fromkeys(actions or tuple(Action), scope)


@dataclass(frozen=True)
class Policy:
    """What each role may do on one model. Roles not named get nothing."""

    grants: Mapping[str, Grants]
    owner_field: str | None = "owner"
    soft_delete: bool = field(default=False)

    def scope(self, role: str, action: Action) -> Scope:
        return self.grants.get(role, {}).get(action, Scope.NONE)


_policies: dict[type[models.Model], Policy] = {}


def register(model: type[models.Model], policy: Policy) -> None:
    if policy.owner_field is None:
        for role, grants in policy.grants.items():
            if any(scope in (Scope.OWN, Scope.TEAM) for scope in grants.values()):
                raise ImproperlyConfigured(
                    f"{model.__name__} has no owner field, so role {role} cannot get own/team scope"
                )
    has_trash = any(f.name == "deleted_at" for f in model._meta.get_fields())
    _policies[model] = Policy(policy.grants, policy.owner_field, soft_delete=has_trash)


def policy_for(model: type[models.Model]) -> Policy:
    try:
        return _policies[model]
    except KeyError:
        raise ImproperlyConfigured(
            f"No permission policy registered for {model.__name__}; register one in "
            f"{model._meta.app_label}/permissions.py"
        ) from None


def role_of(user: User | AnonymousUser | None) -> str | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    return user.role


def scope_for(
    user: User | AnonymousUser | None, model: type[models.Model], action: Action
) -> Scope:
    role = role_of(user)
    if role is None:
        return Scope.NONE
    return policy_for(model).scope(role, action)


def restrict[M: models.Model](
    queryset: models.QuerySet[M],
    user: User | AnonymousUser | None,
    action: Action = Action.VIEW,
    *,
    trash: bool = False,
) -> models.QuerySet[M]:
    """The rows of ``queryset`` that ``user`` may ``action``.

    Soft-deleted rows are left out, or with ``trash=True`` only they are shown.
    """
    model = queryset.model
    policy = policy_for(model)
    scope = scope_for(user, model, action)
    if policy.soft_delete:
        queryset = queryset.filter(deleted_at__isnull=not trash)
    if scope == Scope.ALL:
        return queryset
    if scope == Scope.NONE or policy.owner_field is None:
        return queryset.none()
    owner = policy.owner_field
    user_id = user.pk  # type: ignore[union-attr]
    if scope == Scope.OWN:
        return queryset.filter(**{f"{owner}_id": user_id})
    team_id = user.team_id  # type: ignore[union-attr]
    visible = Q(**{f"{owner}_id": user_id}) | Q(**{f"{owner}__isnull": True})
    if team_id is not None:
        visible |= Q(**{f"{owner}__team_id": team_id})
    return queryset.filter(visible)


def can(
    user: User | AnonymousUser | None, action: Action, target: models.Model | type[models.Model]
) -> bool:
    """May ``user`` do ``action`` on this record (or on some record of this model)?"""
    if isinstance(target, type):
        return scope_for(user, target, action) != Scope.NONE
    policy = policy_for(type(target))
    scope = scope_for(user, type(target), action)
    if scope == Scope.ALL:
        return True
    if scope == Scope.NONE or policy.owner_field is None:
        return False
    owner_id = _owner_id(target, policy.owner_field)
    if owner_id == user.pk:  # type: ignore[union-attr]
        return True
    if scope == Scope.OWN:
        return False
    if owner_id is None:
        return True
    owner = _resolve(target, policy.owner_field)
    team_id = user.team_id  # type: ignore[union-attr]
    return team_id is not None and getattr(owner, "team_id", None) == team_id


def may_see_trash(user: User | AnonymousUser | None) -> bool:
    """The trash is for admins: they list and restore what others deleted."""
    return role_of(user) == Role.ADMIN


def authorise_restore(actor: User | AnonymousUser | None) -> None:
    """The check of every restore service (``actor=None`` is Rapport itself)."""
    if actor is not None and not may_see_trash(actor):
        raise PermissionDenied("Only admins restore records from the trash.")


def require(
    user: User | AnonymousUser | None, action: Action, target: models.Model | type[models.Model]
) -> None:
    if not can(user, action, target):
        raise PermissionDenied(f"You may not {action} this.")


def _owner_id(record: models.Model, owner_path: str) -> Any:
    *hops, last = owner_path.split("__")
    holder: Any = record
    for hop in hops:
        holder = getattr(holder, hop)
        if holder is None:
            return None
    return getattr(holder, f"{last}_id")


def _resolve(record: models.Model, path: str) -> Any:
    value: Any = record
    for hop in path.split("__"):
        value = getattr(value, hop)
        if value is None:
            return None
    return value


def authorise(
    actor: User | AnonymousUser | None, action: Action, target: models.Model | type[models.Model]
) -> None:
    """The check at the top of every service function.

    ``actor=None`` is Rapport itself (a command line tool or a background job),
    which services trust; people always come with their user.
    """
    if actor is not None:
        require(actor, action, target)


# --- core's own model ---------------------------------------------------------


def _register_custom_field_policy(model: type[models.Model]) -> None:
    # Every role reads definitions (forms, lists and filters are built from
    # them); only admins define, change, retire and reactivate fields.
    # Set directly rather than through register(): this runs while models are
    # still loading (users.models imports this module), when register() cannot
    # yet list the model's fields to look for a trash; definitions have none.
    _policies[model] = Policy(
        grants={
            **{role: grant(Scope.ALL, Action.VIEW) for role in Role.values},
            Role.ADMIN: grant(Scope.ALL),
        },
        owner_field=None,
    )


apps.lazy_model_operation(_register_custom_field_policy, ("core", "customfielddefinition"))
