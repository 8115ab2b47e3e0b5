from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from rapport.core.api.versioning import IF_MATCH_PARAMETER, VersionedRecordMixin
from rapport.core.permissions import Action
from rapport.service import queries, services
from rapport.service.api import serializers as s
from rapport.service.filtersets import TicketFilterSet
from rapport.service.models import BusinessCalendar, SlaPolicy, Ticket, TicketMessage
from rapport.service.permissions import may
from rapport.users.models import signed_in

ETAG_WRITES = extend_schema_view(
    partial_update=extend_schema(parameters=[IF_MATCH_PARAMETER]),
    destroy=extend_schema(parameters=[IF_MATCH_PARAMETER]),
)


@ETAG_WRITES
class TicketViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Ticket],
):
    """Service desk tickets. ``?queue=mine|unassigned|breaching|open`` gives the queues.

    Sales see their own team's tickets (and unassigned-team ones); service,
    managers and admins see all.
    """

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_model = Ticket
    permission_actions = {"status": Action.CHANGE, "messages": Action.VIEW}
    filterset_class = TicketFilterSet
    ordering_fields = ("id", "updated_at", "first_response_due", "resolution_due")
    default_ordering = ("-id",)

    def get_queryset(self) -> Any:
        if self.action == "list":
            return queries.tickets(self.request.user)
        return queries.ticket_detail(self.request.user)

    def get_serializer_class(self) -> Any:
        if self.action == "list":
            return s.TicketListSerializer
        if self.action == "create":
            return s.NewTicketSerializer
        if self.action == "partial_update":
            return s.TicketChangeSerializer
        if self.action == "messages":
            return (
                s.NewMessageSerializer
                if self.request.method == "POST"
                else s.TicketMessageSerializer
            )
        return s.TicketSerializer

    def check_object_permissions(self, request: Request, obj: Any) -> None:
        # The team rule of permissions.py, not the generic owner rule.
        action = {"GET": Action.VIEW, "HEAD": Action.VIEW, "DELETE": Action.DELETE}.get(
            request.method or "GET", Action.CHANGE
        )
        if self.action == "messages" and request.method == "POST":
            action = Action.CHANGE
        if not may(request.user, action, obj):
            raise PermissionDenied(f"You may not {action} this ticket.")

    def _read(self, ticket: Ticket, *, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.remember_etag(queries.ticket_detail(self.request.user).get(pk=ticket.pk))
        return Response(s.TicketSerializer(fresh).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.TicketSerializer(self.remember_etag(self.get_object())).data)

    @extend_schema(request=s.NewTicketSerializer, responses={201: s.TicketSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.NewTicketSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        ticket = services.open_ticket(
            signed_in(request), services.TicketInput(**body.validated_data)
        )
        return self._read(ticket, code=status.HTTP_201_CREATED)

    @extend_schema(request=s.TicketChangeSerializer, responses={200: s.TicketSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ticket = self.get_object()
        body = s.TicketChangeSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        services.update_ticket(
            signed_in(request),
            ticket,
            dict(body.validated_data),
            expected_version=self.expected_version(ticket),
        )
        return self._read(ticket)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move the ticket to the trash."""
        ticket = self.get_object()
        services.trash_ticket(
            signed_in(request), ticket, expected_version=self.expected_version(ticket)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=s.TicketStatusChangeSerializer,
        responses={200: s.TicketSerializer},
        parameters=[IF_MATCH_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    def status(self, request: Request, pk: str) -> Response:
        """Move the ticket on: new→open|pending_customer|resolved|closed, open→pending_customer|
        resolved|closed, pending_customer→open|resolved|closed, resolved→open|closed."""
        ticket = self.get_object()
        body = s.TicketStatusChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.change_status(
            signed_in(request),
            ticket,
            body.validated_data["status"],
            expected_version=self.expected_version(ticket),
        )
        return self._read(ticket)

    @extend_schema(
        methods=["GET"], request=None, responses={200: s.TicketMessageSerializer(many=True)}
    )
    @extend_schema(
        methods=["POST"], request=s.NewMessageSerializer, responses={201: s.TicketMessageSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def messages(self, request: Request, pk: str) -> Response:
        """The conversation (GET) or a new public reply / internal note (POST).

        A reply is e-mailed to the customer after the request commits; its
        ``delivery`` shows pending, sent or failed (with ``send_error``)."""
        ticket = self.get_object()
        if request.method == "GET":
            rows = (
                queries.messages(request.user).filter(ticket=ticket).prefetch_related("attachments")
            )
            return Response(s.TicketMessageSerializer(rows, many=True).data)
        body = s.NewMessageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        user = signed_in(request)
        message: TicketMessage
        if data["kind"] == "note":
            message = services.add_note(user, ticket, data["body"])
        else:
            message = services.reply(user, ticket, data["body"], status=data["status"])
        return Response(s.TicketMessageSerializer(message).data, status=status.HTTP_201_CREATED)


class _SetupViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Any],
):
    http_method_names = ["get", "post", "patch", "head", "options"]
    ordering_fields = ("id",)
    default_ordering = ("id",)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.remember_etag(self.get_object())).data)


@extend_schema_view(partial_update=extend_schema(parameters=[IF_MATCH_PARAMETER]))
class SlaPolicyViewSet(_SetupViewSet):
    """SLA targets per priority in business minutes; everyone reads, admins write."""

    permission_model = SlaPolicy
    serializer_class = s.SlaPolicySerializer

    def get_queryset(self) -> Any:
        return queries.policies(self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        policy = services.create_sla_policy(signed_in(request), **body.validated_data)
        return Response(self.get_serializer(self.remember_etag(policy)).data, status=201)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        policy = self.get_object()
        body = self.get_serializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.update_sla_policy(
            signed_in(request),
            policy,
            dict(body.validated_data),
            expected_version=self.expected_version(policy),
        )
        return Response(self.get_serializer(self.remember_etag(policy)).data)


@extend_schema_view(partial_update=extend_schema(parameters=[IF_MATCH_PARAMETER]))
class BusinessCalendarViewSet(_SetupViewSet):
    """When the desk works (time zone, working days and hours, holidays); admins write."""

    permission_model = BusinessCalendar
    permission_actions = {"holidays": Action.CHANGE}
    serializer_class = s.BusinessCalendarSerializer

    def get_queryset(self) -> Any:
        return queries.calendars(self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        calendar = services.create_calendar(signed_in(request), **body.validated_data)
        return Response(self.get_serializer(self.remember_etag(calendar)).data, status=201)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        calendar = self.get_object()
        body = self.get_serializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.update_calendar(
            signed_in(request),
            calendar,
            dict(body.validated_data),
            expected_version=self.expected_version(calendar),
        )
        return Response(self.get_serializer(self.remember_etag(calendar)).data)

    @extend_schema(request=s.HolidaySerializer, responses={201: s.HolidaySerializer})
    @action(detail=True, methods=["post"])
    def holidays(self, request: Request, pk: str) -> Response:
        """Add a holiday: the SLA clocks do not run that day (in the calendar's time zone)."""
        calendar = get_object_or_404(queries.calendars(request.user), pk=pk)
        body = s.HolidaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        holiday = services.add_holiday(
            signed_in(request),
            calendar,
            body.validated_data["date"],
            body.validated_data.get("name", ""),
        )
        return Response(s.HolidaySerializer(holiday).data, status=201)
