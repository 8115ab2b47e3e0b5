from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.generics import RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from rapport.core.api.errors import error_responses
from rapport.core.api.versioning import IF_MATCH_PARAMETER, VersionedRecordMixin
from rapport.users import queries, services
from rapport.users.api.serializers import NewUserSerializer, TeamSerializer, UserSerializer
from rapport.users.filtersets import UserFilterSet
from rapport.users.models import Team, User


class MeView(RetrieveAPIView[User]):
    """The user this request is authenticated as."""

    serializer_class = UserSerializer

    def get_object(self) -> User:
        return self.request.user  # type: ignore[return-value]


def _crud_schema(serializer: type[Any], *, delete: bool = False) -> Any:
    """The documented answers of a list/detail/create/update(/delete) view set."""
    if_match = [IF_MATCH_PARAMETER]
    views = {
        "list": extend_schema(responses={200: serializer(many=True), **error_responses(400)}),
        "retrieve": extend_schema(responses={200: serializer, **error_responses(404)}),
        "create": extend_schema(responses={201: serializer, **error_responses(400, 403)}),
        "update": extend_schema(
            parameters=if_match,
            responses={200: serializer, **error_responses(400, 403, 404, 412)},
        ),
        "partial_update": extend_schema(
            parameters=if_match,
            responses={200: serializer, **error_responses(400, 403, 404, 412)},
        ),
    }
    if delete:
        views["destroy"] = extend_schema(responses={204: None, **error_responses(400, 403, 404)})
    return extend_schema_view(**views)


@_crud_schema(UserSerializer)
class UserViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[User],
):
    """Users of this Rapport. Everyone may list them; admins add and change them.

    Users are never deleted (their records keep their owner): deactivate them
    with `is_active: false`.
    """

    permission_model = User
    filterset_class = UserFilterSet
    ordering_fields = ("full_name", "email", "date_joined", "last_login", "id")
    default_ordering = ("full_name",)

    def get_queryset(self) -> Any:
        return queries.users(self.request.user)

    def get_serializer_class(self) -> Any:
        return NewUserSerializer if self.action == "create" else UserSerializer

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(UserSerializer(self.remember_etag(self.get_object())).data)

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        user = services.create_user(actor=self.request.user, request=self.request, **data)
        serializer.instance = self.remember_etag(user)

    def perform_update(self, serializer: Any) -> None:
        user = serializer.instance
        expected = self.expected_version(user)
        updated = services.update_user(
            actor=self.request.user,
            user=user,
            changes=dict(serializer.validated_data),
            expected_version=expected,
        )
        serializer.instance = self.remember_etag(updated)


@_crud_schema(TeamSerializer, delete=True)
class TeamViewSet(VersionedRecordMixin, viewsets.ModelViewSet[Team]):
    """Teams decide which records their members see (record owner in the team).

    A team with members cannot be deleted: move its members to another team first.
    """

    permission_model = Team
    serializer_class = TeamSerializer
    ordering_fields = ("name", "id")
    default_ordering = ("name",)

    def get_queryset(self) -> Any:
        return queries.teams(self.request.user)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(TeamSerializer(self.remember_etag(self.get_object())).data)

    def perform_create(self, serializer: Any) -> None:
        team = services.create_team(actor=self.request.user, **serializer.validated_data)
        serializer.instance = self.remember_etag(team)

    def perform_update(self, serializer: Any) -> None:
        team = serializer.instance
        data = serializer.validated_data
        updated = services.update_team(
            actor=self.request.user,
            team=team,
            name=data.get("name", team.name),
            description=data.get("description", team.description),
            expected_version=self.expected_version(team),
        )
        serializer.instance = self.remember_etag(updated)

    def perform_destroy(self, instance: Team) -> None:
        services.delete_team(actor=self.request.user, team=instance)
