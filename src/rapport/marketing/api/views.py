from __future__ import annotations

from typing import Any

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from rapport.core.api.versioning import IF_MATCH_PARAMETER, VersionedRecordMixin
from rapport.core.permissions import Action, may_see_trash, restrict
from rapport.customers import queries as customer_queries
from rapport.marketing import automation, queries, rules, services, webhooks
from rapport.marketing.api import serializers as s
from rapport.marketing.choices import DeliveryStatus, RunOutcome, Trigger
from rapport.marketing.filtersets import CampaignFilterSet, SegmentFilterSet
from rapport.marketing.models import (
    AutomationRule,
    AutomationRun,
    Campaign,
    Segment,
    WebhookDelivery,
    WebhookEndpoint,
)
from rapport.users.models import signed_in

ETAG_WRITES = extend_schema_view(
    partial_update=extend_schema(parameters=[IF_MATCH_PARAMETER]),
    destroy=extend_schema(parameters=[IF_MATCH_PARAMETER]),
)


def _page(view: Any, rows: Any, request: Request) -> Any:
    """A keyset page of rows of another model than the view's (members, messages)."""
    return view.paginator.paginate_queryset(rows, request, view=view)


@ETAG_WRITES
class SegmentViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Segment],
):
    """Segments: dynamic rule sets evaluated on every use, or static hand-picked lists.

    Members are the contacts the caller may see."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_model = Segment
    permission_actions = {
        "members": Action.VIEW,
        "count": Action.VIEW,
        "count_rules": Action.VIEW,
        "add_members": Action.CHANGE,
        "remove_members": Action.CHANGE,
        "restore": Action.DELETE,
        "trash": Action.DELETE,
    }
    filterset_class: Any = SegmentFilterSet
    ordering_fields = ("name", "updated_at", "id")
    default_ordering = ("name",)

    def get_queryset(self) -> Any:
        return queries.segments(self.request.user)

    def get_serializer_class(self) -> Any:
        if self.action == "members":
            return s.MemberSerializer
        return {
            "create": s.NewSegmentSerializer,
            "partial_update": s.SegmentChangeSerializer,
        }.get(self.action or "", s.SegmentSerializer)

    def _read(self, segment: Segment, *, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.remember_etag(queries.segments(self.request.user).get(pk=segment.pk))
        return Response(s.SegmentSerializer(fresh).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.SegmentSerializer(self.remember_etag(self.get_object())).data)

    @extend_schema(request=s.NewSegmentSerializer, responses={201: s.SegmentSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.NewSegmentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        segment = services.create_segment(
            signed_in(request),
            name=data["name"],
            description=data["description"],
            kind=data["kind"],
            rules_tree=data["rules"],
        )
        return self._read(segment, code=status.HTTP_201_CREATED)

    @extend_schema(request=s.SegmentChangeSerializer, responses={200: s.SegmentSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        segment = self.get_object()
        body = s.SegmentChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.update_segment(
            signed_in(request),
            segment,
            dict(body.validated_data),
            expected_version=self.expected_version(segment),
        )
        return self._read(segment)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move the segment to the trash (not while a campaign to it is scheduled or running)."""
        segment = self.get_object()
        services.trash_segment(
            signed_in(request), segment, expected_version=self.expected_version(segment)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: s.MemberSerializer(many=True)})
    @action(
        detail=True,
        methods=["get"],
        ordering_fields=("full_name", "created_at", "id"),
        default_ordering=("full_name",),
        filterset_class=None,
    )
    def members(self, request: Request, pk: str) -> Response:
        """The segment's members the caller may see (keyset pages)."""
        segment = self.get_object()
        rows = _page(self, queries.members(request.user, segment), request)
        return self.get_paginated_response(s.MemberSerializer(rows, many=True).data)

    @extend_schema(responses={200: s.CountSerializer})
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def count(self, request: Request, pk: str) -> Response:
        """How many members the caller may see (one query)."""
        return Response({"count": queries.count_members(request.user, self.get_object())})

    @extend_schema(request=s.RulesSerializer, responses={200: s.CountSerializer})
    @action(
        detail=False,
        methods=["post"],
        url_path="count",
        pagination_class=None,
        filterset_class=None,
    )
    def count_rules(self, request: Request) -> Response:
        """Count a rule tree without saving it (what the editor's live count does)."""
        body = s.RulesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        tree = rules.validate(body.validated_data["rules"])
        return Response({"count": queries.contacts_matching(request.user, tree).count()})

    def _contacts(self, request: Request) -> list[Any]:
        body = s.ListMembersSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = body.validated_data["contacts"]
        return list(customer_queries.contacts(request.user).filter(pk__in=ids))

    @extend_schema(request=s.ListMembersSerializer, responses={200: s.ChangedSerializer})
    @action(detail=True, methods=["post"], url_path="add-members", pagination_class=None)
    def add_members(self, request: Request, pk: str) -> Response:
        """Add contacts (ids the caller may see) to a static list."""
        segment = self.get_object()
        added = services.add_to_list(signed_in(request), segment, self._contacts(request))
        return Response({"changed": added})

    @extend_schema(request=s.ListMembersSerializer, responses={200: s.ChangedSerializer})
    @action(detail=True, methods=["post"], url_path="remove-members", pagination_class=None)
    def remove_members(self, request: Request, pk: str) -> Response:
        segment = self.get_object()
        removed = services.remove_from_list(signed_in(request), segment, self._contacts(request))
        return Response({"changed": removed})

    @extend_schema(responses={200: s.SegmentSerializer(many=True)})
    @action(detail=False, methods=["get"])
    def trash(self, request: Request) -> Response:
        """Segments in the trash (admins)."""
        if not may_see_trash(request.user):
            raise PermissionDenied("Only administrators see the trash.")
        rows = self.paginate_queryset(queries.segments(request.user, Action.DELETE, trash=True))
        return self.get_paginated_response(s.SegmentSerializer(rows, many=True).data)

    @extend_schema(request=None, responses={200: s.SegmentSerializer})
    @action(detail=True, methods=["post"], pagination_class=None)
    def restore(self, request: Request, pk: str) -> Response:
        segment = get_object_or_404(
            queries.segments(request.user, Action.DELETE, trash=True), pk=pk
        )
        services.restore_segment(signed_in(request), segment)
        return self._read(segment)


@ETAG_WRITES
class CampaignViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Campaign],
):
    """E-mail campaigns to a segment: only contacts with marketing e-mail consent get them."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_model = Campaign
    permission_actions = {
        "send": Action.CHANGE,
        "schedule": Action.CHANGE,
        "cancel": Action.CHANGE,
        "test": Action.CHANGE,
        "report": Action.VIEW,
        "messages": Action.VIEW,
    }
    filterset_class: Any = CampaignFilterSet
    ordering_fields = ("created_at", "name", "scheduled_at", "id")
    default_ordering = ("-created_at",)

    def get_queryset(self) -> Any:
        return queries.campaigns(self.request.user)

    def get_serializer_class(self) -> Any:
        if self.action == "messages":
            return s.MessageSerializer
        return {
            "create": s.NewCampaignSerializer,
            "partial_update": s.CampaignChangeSerializer,
        }.get(self.action or "", s.CampaignSerializer)

    def _read(self, campaign: Campaign, *, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.remember_etag(queries.campaigns(self.request.user).get(pk=campaign.pk))
        return Response(s.CampaignSerializer(fresh).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.CampaignSerializer(self.remember_etag(self.get_object())).data)

    @extend_schema(request=s.NewCampaignSerializer, responses={201: s.CampaignSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.NewCampaignSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        campaign = services.create_campaign(
            signed_in(request), services.CampaignInput(**body.validated_data)
        )
        return self._read(campaign, code=status.HTTP_201_CREATED)

    @extend_schema(request=s.CampaignChangeSerializer, responses={200: s.CampaignSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        campaign = self.get_object()
        body = s.CampaignChangeSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        services.update_campaign(
            signed_in(request),
            campaign,
            dict(body.validated_data),
            expected_version=self.expected_version(campaign),
        )
        return self._read(campaign)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        campaign = self.get_object()
        services.trash_campaign(
            signed_in(request), campaign, expected_version=self.expected_version(campaign)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None, responses={200: s.CampaignSerializer}, parameters=[IF_MATCH_PARAMETER]
    )
    @action(detail=True, methods=["post"], pagination_class=None)
    def send(self, request: Request, pk: str) -> Response:
        """Start sending now, in batches at the configured rate."""
        campaign = self.get_object()
        services.send_now(
            signed_in(request), campaign, expected_version=self.expected_version(campaign)
        )
        return self._read(campaign)

    @extend_schema(
        request=s.ScheduleSerializer,
        responses={200: s.CampaignSerializer},
        parameters=[IF_MATCH_PARAMETER],
    )
    @action(detail=True, methods=["post"], pagination_class=None)
    def schedule(self, request: Request, pk: str) -> Response:
        campaign = self.get_object()
        body = s.ScheduleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.schedule_campaign(
            signed_in(request),
            campaign,
            body.validated_data["at"],
            expected_version=self.expected_version(campaign),
        )
        return self._read(campaign)

    @extend_schema(
        request=None, responses={200: s.CampaignSerializer}, parameters=[IF_MATCH_PARAMETER]
    )
    @action(detail=True, methods=["post"], pagination_class=None)
    def cancel(self, request: Request, pk: str) -> Response:
        campaign = self.get_object()
        services.cancel_campaign(
            signed_in(request), campaign, expected_version=self.expected_version(campaign)
        )
        return self._read(campaign)

    @extend_schema(request=s.TestSendSerializer, responses={200: s.TestSentSerializer})
    @action(detail=True, methods=["post"], pagination_class=None)
    def test(self, request: Request, pk: str) -> Response:
        """Send the message as one contact would get it to a colleague's address."""
        campaign = self.get_object()
        body = s.TestSendSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        contact = get_object_or_404(
            customer_queries.contacts(request.user), pk=body.validated_data["contact"]
        )
        address = services.send_test(
            signed_in(request), campaign, to=body.validated_data["to"], contact=contact
        )
        return Response({"sent_to": address})

    @extend_schema(responses={200: s.ReportSerializer})
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def report(self, request: Request, pk: str) -> Response:
        """Sent, delivered, opened, clicked, unsubscribed, and orders attributed."""
        return Response(s.ReportSerializer(queries.report(self.get_object())).data)

    @extend_schema(responses={200: s.MessageSerializer(many=True)})
    @action(
        detail=True,
        methods=["get"],
        ordering_fields=("id", "sent_at"),
        default_ordering=("id",),
        filterset_class=None,
    )
    def messages(self, request: Request, pk: str) -> Response:
        """One row per recipient with its state."""
        campaign = self.get_object()
        rows = _page(self, queries.messages(request.user, campaign), request)
        return self.get_paginated_response(s.MessageSerializer(rows, many=True).data)


class AutomationRuleFilterSet(django_filters.FilterSet):
    enabled = django_filters.BooleanFilter()
    trigger = django_filters.ChoiceFilter(choices=Trigger.choices)

    class Meta:
        model = AutomationRule
        fields = ["enabled", "trigger"]


class AutomationRunFilterSet(django_filters.FilterSet):
    rule = django_filters.NumberFilter(field_name="rule_id")
    contact = django_filters.NumberFilter(field_name="contact_id")
    outcome = django_filters.ChoiceFilter(choices=RunOutcome.choices)

    class Meta:
        model = AutomationRun
        fields = ["rule", "contact", "outcome"]


@ETAG_WRITES
class AutomationRuleViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[AutomationRule],
):
    """Automation rules: admins write them; marketing and managers read them."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_model = AutomationRule
    filterset_class: Any = AutomationRuleFilterSet
    ordering_fields = ("name", "id")
    default_ordering = ("name",)

    def get_queryset(self) -> Any:
        return restrict(AutomationRule.objects.all(), self.request.user, Action.VIEW)

    def get_serializer_class(self) -> Any:
        return {
            "create": s.NewAutomationRuleSerializer,
            "partial_update": s.AutomationRuleChangeSerializer,
        }.get(self.action or "", s.AutomationRuleSerializer)

    def _read(self, rule: AutomationRule, *, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.remember_etag(self.get_queryset().get(pk=rule.pk))
        return Response(s.AutomationRuleSerializer(fresh).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.AutomationRuleSerializer(self.remember_etag(self.get_object())).data)

    @extend_schema(
        request=s.NewAutomationRuleSerializer, responses={201: s.AutomationRuleSerializer}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.NewAutomationRuleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rule = automation.create_rule(signed_in(request), **body.validated_data)
        return self._read(rule, code=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.AutomationRuleChangeSerializer, responses={200: s.AutomationRuleSerializer}
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule = self.get_object()
        body = s.AutomationRuleChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        automation.update_rule(
            signed_in(request),
            rule,
            dict(body.validated_data),
            expected_version=self.expected_version(rule),
        )
        return self._read(rule)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move the rule to the trash: it stops firing; its run log stays."""
        rule = self.get_object()
        self.expected_version(rule)
        automation.trash_rule(signed_in(request), rule)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AutomationRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[AutomationRun]
):
    """The run log: one row per firing of a rule for a contact, with each action's outcome."""

    permission_model = AutomationRun
    serializer_class = s.AutomationRunSerializer
    filterset_class: Any = AutomationRunFilterSet
    ordering_fields = ("fired_at", "id")
    default_ordering = ("-fired_at", "-id")

    def get_queryset(self) -> Any:
        return restrict(AutomationRun.objects.all(), self.request.user, Action.VIEW).filter(
            rule__deleted_at__isnull=True
        )


class WebhookDeliveryFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    event = django_filters.CharFilter()

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event"]


@ETAG_WRITES
class WebhookEndpointViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[WebhookEndpoint],
):
    """Outgoing webhooks (admins only): endpoints that get a signed POST per record event."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_model = WebhookEndpoint
    permission_actions = {
        "deliveries": Action.VIEW,
        "test": Action.CHANGE,
        "rotate_secret": Action.CHANGE,
        "resend": Action.CHANGE,
    }
    filterset_class: Any = None
    ordering_fields = ("url", "created_at", "id")
    default_ordering = ("url",)

    def get_queryset(self) -> Any:
        return queries.webhook_endpoints(self.request.user)

    def get_serializer_class(self) -> Any:
        if self.action == "deliveries":
            return s.WebhookDeliverySerializer
        return {
            "create": s.NewWebhookEndpointSerializer,
            "partial_update": s.WebhookEndpointChangeSerializer,
        }.get(self.action or "", s.WebhookEndpointSerializer)

    def _read(self, endpoint: WebhookEndpoint) -> Response:
        fresh = self.remember_etag(self.get_queryset().get(pk=endpoint.pk))
        return Response(s.WebhookEndpointSerializer(fresh).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.WebhookEndpointSerializer(self.remember_etag(self.get_object())).data)

    @extend_schema(
        request=s.NewWebhookEndpointSerializer,
        responses={201: s.WebhookEndpointCreatedSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Register an endpoint; the answer holds its signing secret, shown this once."""
        body = s.NewWebhookEndpointSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = webhooks.create_endpoint(signed_in(request), **body.validated_data)
        fresh = self.remember_etag(self.get_queryset().get(pk=endpoint.pk))
        return Response(
            s.WebhookEndpointCreatedSerializer(fresh).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=s.WebhookEndpointChangeSerializer, responses={200: s.WebhookEndpointSerializer}
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        body = s.WebhookEndpointChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        webhooks.update_endpoint(
            signed_in(request),
            endpoint,
            dict(body.validated_data),
            expected_version=self.expected_version(endpoint),
        )
        return self._read(endpoint)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move the endpoint to the trash: nothing more is sent to it; its log stays."""
        endpoint = self.get_object()
        self.expected_version(endpoint)
        webhooks.trash_endpoint(signed_in(request), endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={200: s.WebhookDeliverySerializer(many=True)},
        parameters=[
            OpenApiParameter("status", str, enum=DeliveryStatus.values, description="Only these"),
            OpenApiParameter("event", str, description="Only this event, e.g. contact.updated"),
        ],
    )
    @action(
        detail=True,
        methods=["get"],
        ordering_fields=("id",),
        default_ordering=("-id",),
        filterset_class=None,
    )
    def deliveries(self, request: Request, pk: str) -> Response:
        """The delivery log, newest first (keyset pages; filter by status or event)."""
        endpoint = self.get_object()
        rows = WebhookDeliveryFilterSet(
            request.query_params, queryset=queries.webhook_deliveries(request.user, endpoint)
        ).qs
        page = _page(self, rows, request)
        return self.get_paginated_response(s.WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={200: s.WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], pagination_class=None, filterset_class=None)
    def test(self, request: Request, pk: str) -> Response:
        """Send a ``ping`` event now; the answer is its logged delivery."""
        ping = webhooks.send_test(signed_in(request), self.get_object())
        return Response(s.WebhookDeliverySerializer(ping).data)

    @extend_schema(request=None, responses={200: s.SecretSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="rotate-secret",
        pagination_class=None,
        filterset_class=None,
    )
    def rotate_secret(self, request: Request, pk: str) -> Response:
        """A new signing secret (the old one stops working at once), returned this once."""
        return Response({"secret": webhooks.rotate_secret(signed_in(request), self.get_object())})

    @extend_schema(request=None, responses={202: s.WebhookDeliverySerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]+)/resend",
        pagination_class=None,
        filterset_class=None,
    )
    def resend(self, request: Request, pk: str, delivery_id: str) -> Response:
        """Send a logged delivery's event again, as a new delivery."""
        endpoint = self.get_object()
        delivery = get_object_or_404(
            queries.webhook_deliveries(request.user, endpoint), pk=int(delivery_id)
        )
        again = webhooks.resend(signed_in(request), delivery)
        return Response(s.WebhookDeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)
