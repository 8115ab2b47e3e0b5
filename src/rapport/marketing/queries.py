"""Every read of segments, their members and campaigns, restricted to the viewer."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from rapport.core.permissions import Action, may_see_trash, restrict
from rapport.customers.choices import ConsentChannel, ConsentPurpose
from rapport.customers.models import Contact
from rapport.customers.queries import with_consent
from rapport.marketing import rules
from rapport.marketing.choices import MessageState, SegmentKind
from rapport.marketing.models import (
    Campaign,
    ListMember,
    Message,
    Segment,
    Unsubscribe,
    WebhookDelivery,
    WebhookEndpoint,
)


def segments(
    viewer: Any, action: Action = Action.VIEW, *, trash: bool = False
) -> QuerySet[Segment]:
    if trash and not may_see_trash(viewer):
        return Segment.objects.none()
    return restrict(Segment.objects.all(), viewer, action, trash=trash)


def member_condition(segment: Segment) -> Q:
    """Who is in the segment, as one condition on Contact (no per-contact Python)."""
    if segment.kind == SegmentKind.STATIC:
        picked = ListMember.objects.filter(segment_id=segment.pk, contact=OuterRef("pk"))
        return Q(Exists(picked))
    return rules.compile_tree(segment.rules or rules.empty_tree())


def contacts_matching(viewer: Any, tree: Any, action: Action = Action.VIEW) -> QuerySet[Contact]:
    """The contacts ``viewer`` may see that match a (validated) rule tree."""
    return restrict(Contact.objects.all(), viewer, action).filter(rules.compile_tree(tree))


def members(viewer: Any, segment: Segment, action: Action = Action.VIEW) -> QuerySet[Contact]:
    """The segment's members the viewer may see, with what the members list shows."""
    return (
        restrict(Contact.objects.all(), viewer, action)
        .filter(member_condition(segment))
        .select_related("owner")
    )


def count_members(viewer: Any, segment: Segment) -> int:
    return restrict(Contact.objects.all(), viewer).filter(member_condition(segment)).count()


def recipients(segment: Segment) -> QuerySet[Contact]:
    """Whom a campaign to the segment goes to: live members with an address who agreed.

    Not restricted to a viewer: a campaign reaches the whole segment; the
    consent filter is the check that matters here.
    """
    live = Contact.objects.filter(deleted_at__isnull=True).exclude(email="")
    return with_consent(
        live.filter(member_condition(segment)),
        channel=ConsentChannel.EMAIL,
        purpose=ConsentPurpose.MARKETING,
    )


def campaigns(
    viewer: Any, action: Action = Action.VIEW, *, trash: bool = False
) -> QuerySet[Campaign]:
    if trash and not may_see_trash(viewer):
        return Campaign.objects.none()
    return restrict(Campaign.objects.select_related("segment"), viewer, action, trash=trash)


def messages(viewer: Any, campaign: Campaign) -> QuerySet[Message]:
    return restrict(Message.objects.filter(campaign=campaign), viewer).select_related("contact")


def report(campaign: Campaign) -> dict[str, Any]:
    """The campaign's figures: one query on messages, one on unsubscribes, one on orders."""
    from rapport.trading.choices import BOUGHT_STATUSES
    from rapport.trading.models import Order

    counts = Message.objects.filter(campaign=campaign).aggregate(
        total=Count("pk"),
        queued=Count("pk", filter=Q(state__in=(MessageState.QUEUED, MessageState.SENDING))),
        sent=Count("pk", filter=Q(state__in=(MessageState.SENT, MessageState.BOUNCED))),
        delivered=Count("pk", filter=Q(state=MessageState.SENT)),
        bounced=Count("pk", filter=Q(state=MessageState.BOUNCED)),
        failed=Count("pk", filter=Q(state=MessageState.FAILED)),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
    )
    counts["unsubscribed"] = Unsubscribe.objects.filter(campaign=campaign).count()
    # An order counts for the campaign when its contact got the message and
    # ordered within the attribution window after it was sent.
    window = timedelta(days=campaign.attribution_days)
    sent = Message.objects.filter(
        campaign=campaign, state=MessageState.SENT, contact=OuterRef("contact")
    )
    attributed = Order.objects.filter(
        status__in=BOUGHT_STATUSES,
        deleted_at__isnull=True,
        contact__isnull=False,
    ).filter(
        Exists(
            sent.filter(
                sent_at__date__lte=OuterRef("order_date"),
                sent_at__date__gte=OuterRef("order_date") - window,
            )
        )
    )
    orders = attributed.aggregate(orders=Count("pk"), revenue=Sum("total_base"))
    counts["orders"] = orders["orders"]
    counts["revenue"] = orders["revenue"] or Decimal(0)
    counts["attribution_days"] = campaign.attribution_days
    counts["as_of"] = timezone.now()
    return counts


def webhook_endpoints(viewer: Any, action: Action = Action.VIEW) -> QuerySet[WebhookEndpoint]:
    """Registered endpoints (admins only), live ones."""
    return restrict(WebhookEndpoint.objects.all(), viewer, action).filter(deleted_at__isnull=True)


def webhook_deliveries(
    viewer: Any, endpoint: WebhookEndpoint, *, status: str = ""
) -> QuerySet[WebhookDelivery]:
    """An endpoint's delivery log, newest first (page it on ``-id``)."""
    rows = restrict(WebhookDelivery.objects.all(), viewer).filter(endpoint=endpoint)
    return rows.filter(status=status) if status else rows
