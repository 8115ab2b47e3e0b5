"""``/api/v1/service-reminders``: read the customer reminders; admins and managers retry."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from rapport.core.api.errors import error_responses
from rapport.core.permissions import Action
from rapport.reminders import outreach, outreach_queries
from rapport.reminders.api.outreach_serializers import ServiceReminderSerializer
from rapport.reminders.models import ServiceReminder
from rapport.reminders.outreach_filtersets import ReminderFilterSet
from rapport.users.models import signed_in


class ServiceReminderViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ServiceReminder]
):
    """Service, warranty and renewal reminders to customers, with their delivery state.

    Filter like the web list: ``status`` (pending, sending, sent, failed, skipped),
    ``kind`` (service, warranty, renewal), ``due_from``/``due_until``, ``asset``,
    ``contact``, ``company``.
    """

    permission_model = ServiceReminder
    permission_actions = {"retry": Action.CHANGE}
    serializer_class = ServiceReminderSerializer
    filterset_class = ReminderFilterSet
    ordering_fields = ("due_date", "next_attempt_at", "sent_at", "attempts", "created_at", "id")
    default_ordering = ("due_date",)

    def get_queryset(self) -> Any:
        return outreach_queries.reminders(self.request.user)

    @extend_schema(
        request=None,
        responses={200: ServiceReminderSerializer, **error_responses(400, 403, 404)},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        """Give a failed reminder a fresh set of attempts, starting now (admins, managers)."""
        reminder = self.get_object()
        outreach.retry_now(signed_in(request), reminder)
        return Response(ServiceReminderSerializer(self.get_queryset().get(pk=reminder.pk)).data)
