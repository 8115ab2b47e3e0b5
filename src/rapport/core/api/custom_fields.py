"""``/api/v1/custom-fields``: the typed fields of contacts, companies and deals.

Everyone signed in reads the definitions (clients build forms from them);
admins define, change, retire (DELETE) and reactivate them.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from rapport.core import custom_fields, services
from rapport.core.api.errors import error_responses
from rapport.core.api.versioning import IF_MATCH_PARAMETER, VersionedRecordMixin
from rapport.core.models import CustomFieldDefinition
from rapport.core.permissions import Action
from rapport.users.models import signed_in


class CustomFieldDefinitionSerializer(serializers.ModelSerializer[CustomFieldDefinition]):
    choices = serializers.ListField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="The allowed values of choice and multi_choice fields, in order; "
        "empty for other types.",
    )
    position = serializers.IntegerField(
        min_value=0,
        required=False,
        help_text="Fields are shown in this order, lowest first; new fields go last.",
    )

    class Meta:
        model = CustomFieldDefinition
        fields = [
            "id",
            "target",
            "key",
            "label",
            "field_type",
            "choices",
            "required",
            "help_text",
            "position",
            "is_active",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "is_active", "version", "created_at", "updated_at"]
        # Uniqueness of the key is the service's check, with a message that says
        # which field has it.
        validators: list[Any] = []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "is_active" in self.initial_data:
            raise serializers.ValidationError(
                {
                    "is_active": [
                        "Retire a field with DELETE and bring it back with "
                        "POST /api/v1/custom-fields/{id}/reactivate."
                    ]
                }
            )
        return attrs


IF_MATCH = [IF_MATCH_PARAMETER]
FIELD = CustomFieldDefinitionSerializer


@extend_schema_view(
    list=extend_schema(responses={200: FIELD(many=True), **error_responses(400)}),
    retrieve=extend_schema(responses={200: FIELD, **error_responses(404)}),
    create=extend_schema(responses={201: FIELD, **error_responses(400, 403)}),
    partial_update=extend_schema(
        parameters=IF_MATCH, responses={200: FIELD, **error_responses(400, 403, 404, 409, 412)}
    ),
    destroy=extend_schema(
        parameters=IF_MATCH, responses={204: None, **error_responses(400, 403, 404, 409, 412)}
    ),
)
class CustomFieldViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[CustomFieldDefinition],
):
    """Custom fields of contacts, companies and deals; values live in each record's `custom_fields`.

    `key` and `target` never change. `field_type` changes only while no record
    holds a value for the field; a choice still used by records cannot be
    removed. DELETE retires the field: it disappears from forms, lists and
    filters, and records keep their values until it is reactivated.
    """

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_model = CustomFieldDefinition
    permission_actions = {"reactivate": Action.DELETE}
    serializer_class = CustomFieldDefinitionSerializer
    filterset_class = custom_fields.CustomFieldDefinitionFilterSet
    ordering_fields = ("target", "position", "key", "label", "created_at", "id")
    default_ordering = ("target", "position")

    def get_queryset(self) -> Any:
        return custom_fields.visible_definitions(self.request.user)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(FIELD(self.remember_etag(self.get_object())).data)

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        definition = services.define_custom_field(
            actor=signed_in(self.request),
            target=data["target"],
            key=data["key"],
            label=data["label"],
            field_type=data["field_type"],
            choices=data.get("choices", []),
            required=data.get("required", False),
            help_text=data.get("help_text", ""),
            position=data.get("position"),
        )
        serializer.instance = self.remember_etag(definition)

    def perform_update(self, serializer: Any) -> None:
        definition = serializer.instance
        updated = services.change_custom_field(
            actor=signed_in(self.request),
            definition=definition,
            changes=dict(serializer.validated_data),
            expected_version=self.expected_version(definition),
        )
        serializer.instance = self.remember_etag(updated)

    def perform_destroy(self, instance: CustomFieldDefinition) -> None:
        services.retire_custom_field(
            actor=signed_in(self.request),
            definition=instance,
            expected_version=self.expected_version(instance),
        )

    @extend_schema(
        request=None,
        parameters=IF_MATCH,
        responses={200: FIELD, **error_responses(400, 403, 404, 409, 412)},
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, pk: str) -> Response:
        """Bring a retired field back, with the values records kept meanwhile."""
        definition = self.get_object()
        services.reactivate_custom_field(
            actor=signed_in(request),
            definition=definition,
            expected_version=self.expected_version(definition),
        )
        return Response(FIELD(self.remember_etag(definition)).data, status=status.HTTP_200_OK)
