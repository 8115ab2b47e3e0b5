from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from rapport.core.api.versioning import VersionedRecordMixin
from rapport.customers import queries as customer_queries
from rapport.satisfaction import queries, services
from rapport.satisfaction.api import serializers as s
from rapport.satisfaction.filtersets import (
    InvitationFilterSet,
    ResponseFilterSet,
    SurveyFilterSet,
)
from rapport.satisfaction.models import Response as SurveyResponse
from rapport.satisfaction.models import Survey, SurveyInvitation
from rapport.users.models import signed_in


class SurveyViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Survey],
):
    """Surveys (CSAT or NPS) and when Rapport sends them by itself."""

    permission_model = Survey
    serializer_class = s.SurveySerializer
    filterset_class = SurveyFilterSet
    ordering_fields = ("name", "updated_at", "id")
    default_ordering = ("name",)

    def get_queryset(self) -> Any:
        return queries.surveys(self.request.user)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.SurveySerializer(self.remember_etag(self.get_object())).data)


class SurveyInvitationViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[SurveyInvitation],
):
    """Invitations: queued, sent, failed, answered or expired. POST invites contacts."""

    permission_model = SurveyInvitation
    serializer_class = s.SurveyInvitationSerializer
    filterset_class = InvitationFilterSet
    ordering_fields = ("created_at", "sent_at", "id")
    default_ordering = ("-created_at",)

    def get_queryset(self) -> Any:
        return queries.invitations(self.request.user)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.SurveyInvitationSerializer(self.remember_etag(self.get_object())).data)

    @extend_schema(
        request=s.NewSurveyInvitationsSerializer, responses={201: s.SurveyInviteResultSerializer}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Invite contacts (by id) to an active survey; the e-mails go out in the background.

        Contacts without an e-mail address or consent to surveys, or with an open
        invitation to this survey, are returned under ``skipped`` with the reason.
        """
        user = signed_in(request)
        body = s.NewSurveyInvitationsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        survey = queries.surveys(user).filter(pk=data["survey"], is_active=True).first()
        if survey is None:
            raise ValidationError({"survey": [f"No active survey with id {data['survey']}."]})
        ids = list(dict.fromkeys(data["contacts"]))
        contacts = list(customer_queries.contacts(user).filter(pk__in=ids))
        missing = sorted(set(ids) - {contact.pk for contact in contacts})
        if missing:
            shown = ", ".join(map(str, missing[:10]))
            raise ValidationError({"contacts": [f"No contact with id {shown}."]})
        result = services.invite(user, survey, contacts)
        payload = {
            "invited": result.invited,
            "skipped": [{"contact": k, "reason": v} for k, v in result.skipped.items()],
        }
        return Response(
            s.SurveyInviteResultSerializer(payload).data, status=status.HTTP_201_CREATED
        )


class SurveyResponseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[SurveyResponse]
):
    """Answers, with their class (CSAT: dissatisfied/satisfied/delighted; NPS:
    detractor/passive/promoter). Written only by customers on the public page."""

    permission_model = SurveyResponse
    serializer_class = s.SurveyResponseSerializer
    filterset_class = ResponseFilterSet
    ordering_fields = ("answered_at", "id")
    default_ordering = ("-answered_at",)

    def get_queryset(self) -> Any:
        return queries.responses(self.request.user)
