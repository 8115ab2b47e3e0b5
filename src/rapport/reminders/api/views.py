from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from rapport.core.api.errors import error_responses
from rapport.core.api.permissions import RolePermission
from rapport.core.api.versioning import IF_MATCH_PARAMETER, VersionedRecordMixin
from rapport.core.permissions import Action
from rapport.reminders import queries, services
from rapport.reminders.api import serializers as s
from rapport.reminders.filtersets import TaskFilterSet
from rapport.reminders.models import Task
from rapport.users.models import signed_in


class TaskPermission(RolePermission):
    """Reading a task: the restricted queryset already decided (see reminders/permissions.py).

    Tasks are visible more widely than the assignee scope (tasks on customers the
    caller sees), so a visible task is readable; writes check the scope as usual.
    """

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().has_object_permission(request, view, obj)


@extend_schema_view(
    partial_update=extend_schema(
        parameters=[IF_MATCH_PARAMETER], responses={200: s.TaskSerializer, **error_responses(412)}
    ),
    destroy=extend_schema(parameters=[IF_MATCH_PARAMETER]),
)
class TaskViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Any],
):
    """Tasks: filter like the web list (status, assignee, priority, due range)."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_classes = [TaskPermission]
    permission_model = Task
    permission_actions = {"complete": Action.CHANGE, "reopen": Action.CHANGE}
    filterset_class = TaskFilterSet
    serializer_class = s.TaskSerializer
    ordering_fields = ("due_at", "title", "priority", "done_at", "created_at", "updated_at", "id")
    default_ordering = ("due_at",)

    def get_queryset(self) -> Any:
        return queries.tasks(self.request.user)

    def get_serializer_class(self) -> Any:
        return s.NewTaskSerializer if self.action == "create" else s.TaskSerializer

    @extend_schema(request=s.NewTaskSerializer, responses={201: s.TaskSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = signed_in(request)
        body = s.NewTaskSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["assignee"] = data["assignee"] if "assignee" in request.data else user
        task = services.create_task(user, services.TaskInput(**data))
        task = self.remember_etag(self.refetch(task))
        return Response(s.TaskSerializer(task).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.TaskSerializer(self.remember_etag(self.get_object())).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        task = self.get_object()
        body = s.TaskSerializer(
            task, data=request.data, partial=True, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        services.update_task(
            signed_in(request),
            task,
            dict(body.validated_data),
            expected_version=self.expected_version(task),
        )
        return Response(s.TaskSerializer(self.remember_etag(self.refetch(task))).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move to the trash; admins can restore it."""
        task = self.get_object()
        services.trash_task(signed_in(request), task, expected_version=self.expected_version(task))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        parameters=[IF_MATCH_PARAMETER],
        responses={200: s.TaskSerializer, **error_responses(403, 404, 412)},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str) -> Response:
        """Mark done (idempotent). A recurring task's next occurrence is in next_occurrence."""
        task = self.get_object()
        services.complete_task(
            signed_in(request), task, expected_version=self.expected_version(task)
        )
        return Response(s.TaskSerializer(self.remember_etag(self.refetch(task))).data)

    @extend_schema(
        request=None,
        parameters=[IF_MATCH_PARAMETER],
        responses={200: s.TaskSerializer, **error_responses(403, 404, 412)},
    )
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str) -> Response:
        """Undo done."""
        task = self.get_object()
        services.reopen_task(signed_in(request), task, expected_version=self.expected_version(task))
        return Response(s.TaskSerializer(self.remember_etag(self.refetch(task))).data)

    def refetch(self, task: Task) -> Task:
        return self.get_queryset().get(pk=task.pk)
