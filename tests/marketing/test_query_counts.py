"""Marketing pages cost the same number of queries for 3 rows as for 30."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rapport.marketing import services
from rapport.marketing.models import Campaign, Segment
from rapport.users.models import User
from tests.customers.factories import make_contact
from tests.customers.test_query_counts import assert_same, queries_of
from tests.marketing.factories import consent, make_campaign, make_segment, rule

pytestmark = pytest.mark.django_db


def grow(marketing: User, owners: list[User], start: int, stop: int) -> None:
    """Customers with consent (owned by several people), segments and sent-out campaigns."""
    for index in range(start, stop):
        contact = make_contact(
            marketing,
            first_name=f"C{index:03d}",
            lifecycle_stage="customer",
            owner=owners[index % len(owners)],
            tags=["vip"],
        )
        consent(contact)
        segment = make_segment(
            marketing, rule("stage", op="is", value="customer"), name=f"S{index:03d}"
        )
        campaign = make_campaign(marketing, segment, name=f"K{index:03d}")
        services.send_now(marketing, campaign)  # messages queued; nothing needs to be sent here


@pytest.mark.parametrize(
    "url",
    [
        "/segments/",
        "/segments/{segment}/",
        "/segments/{segment}/export.csv",
        "/campaigns/",
        "/campaigns/{campaign}/",
        "/api/v1/segments?limit=100",
        "/api/v1/segments/{segment}/members?limit=100",
        "/api/v1/campaigns?limit=100",
        "/api/v1/campaigns/{campaign}/messages?limit=100",
    ],
)
def test_pages_do_not_grow_with_rows(
    url: str, marketing: User, sales: User, admin: User, client_for: Any, api_for: Any
) -> None:
    owners = [marketing, sales, admin]
    grow(marketing, owners, 0, 3)
    client: Client = api_for(marketing) if url.startswith("/api/") else client_for(marketing)

    def fetch() -> Any:
        first_segment = Segment.objects.order_by("id").first()
        campaign = Campaign.objects.order_by("id").last()
        assert first_segment is not None
        assert campaign is not None
        return client.get(url.format(segment=first_segment.pk, campaign=campaign.pk))

    small = queries_of(fetch)
    grow(marketing, owners, 3, 30)
    large = queries_of(fetch)
    assert_same(small, large)
