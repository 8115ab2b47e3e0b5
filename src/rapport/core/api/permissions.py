"""Role and ownership rules of ``core.permissions`` applied to API views."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from rapport.core.permissions import Action, Scope, can, scope_for

if TYPE_CHECKING:
    from rest_framework.views import APIView

ACTION_BY_METHOD = {
    "GET": Action.VIEW,
    "HEAD": Action.VIEW,
    "OPTIONS": Action.VIEW,
    "POST": Action.ADD,
    "PUT": Action.CHANGE,
    "PATCH": Action.CHANGE,
    "DELETE": Action.DELETE,
}


class RolePermission(BasePermission):
    """Role and ownership rules of ``core.permissions`` for API views.

    Views declare ``permission_model``; without it, only authentication is
    required (for views such as ``/me`` that concern the caller only).
    Records the caller may not see are 404 (the queryset is restricted);
    visible records the caller may not change are 403.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated and request.user.is_active):
            return False
        model: type[models.Model] | None = getattr(view, "permission_model", None)
        if model is None:
            return True
        action = _action(request, view)
        return scope_for(request.user, model, action) != Scope.NONE

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if not isinstance(obj, models.Model) or getattr(view, "permission_model", None) is None:
            return True
        return can(request.user, _action(request, view), obj)


def _action(request: Request, view: APIView) -> Action:
    custom: dict[str, Action] = getattr(view, "permission_actions", {})
    view_action = getattr(view, "action", None)
    if view_action in custom:
        return custom[view_action]
    return ACTION_BY_METHOD.get(request.method or "GET", Action.CHANGE)
