from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from rapport.core.api.errors import error_responses
from rapport.core.api.versioning import IF_MATCH_PARAMETER, VersionedRecordMixin
from rapport.interactions import queries, services
from rapport.interactions.api import serializers as s
from rapport.interactions.filtersets import InteractionFilterSet
from rapport.interactions.models import Interaction
from rapport.users.models import signed_in


@extend_schema_view(
    partial_update=extend_schema(
        parameters=[IF_MATCH_PARAMETER],
        responses={200: s.InteractionSerializer, **error_responses(400, 403, 404, 409, 412)},
    ),
    destroy=extend_schema(
        parameters=[IF_MATCH_PARAMETER], responses={204: None, **error_responses(403, 404, 412)}
    ),
)
class InteractionViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Any],
):
    """The timeline: every touchpoint with the customers you may see, newest first.

    One customer's history is ``?contact=ID`` (or ``?company=ID``, which includes
    its people's). Rows Rapport writes (orders, deliveries, stage changes...)
    are read-only except for managers and admins.
    """

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_model = Interaction
    filterset_class = InteractionFilterSet
    serializer_class = s.InteractionSerializer
    ordering_fields = ("occurred_at", "created_at", "updated_at", "id")
    default_ordering = ("-occurred_at",)

    def get_queryset(self) -> Any:
        return queries.interactions(self.request.user)

    def get_serializer_class(self) -> Any:
        return s.NewInteractionSerializer if self.action == "create" else s.InteractionSerializer

    @extend_schema(
        request=s.NewInteractionSerializer,
        responses={201: s.InteractionSerializer, **error_responses(400, 403)},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Log a call, meeting, e-mail, note, inquiry or maintenance visit."""
        body = s.NewInteractionSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        interaction = services.log_interaction(
            signed_in(request), services.LoggedTouchpoint(**body.validated_data)
        )
        interaction = self.remember_etag(self.refetch(interaction))
        return Response(s.InteractionSerializer(interaction).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.InteractionSerializer(self.remember_etag(self.get_object())).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        interaction = self.get_object()
        body = s.InteractionSerializer(interaction, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.update_interaction(
            signed_in(request),
            interaction,
            dict(body.validated_data),
            expected_version=self.expected_version(interaction),
        )
        return Response(s.InteractionSerializer(self.remember_etag(self.refetch(interaction))).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move to the trash."""
        interaction = self.get_object()
        services.delete_interaction(
            signed_in(request), interaction, expected_version=self.expected_version(interaction)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def refetch(self, interaction: Interaction) -> Interaction:
        refetched: Interaction = self.get_queryset().get(pk=interaction.pk)
        return refetched
