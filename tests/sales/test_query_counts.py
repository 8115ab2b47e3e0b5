"""Deal pages and endpoints cost the same number of queries for 3 deals as for 40."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.catalog.models import Product
from rapport.sales import services
from rapport.sales.choices import StageKind
from rapport.sales.models import Deal
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_company, make_contact
from tests.customers.test_query_counts import assert_same, queries_of
from tests.sales.factories import make_deal, stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def products(admin: User) -> list[Product]:
    return [make_product(admin, sku=f"P{n}", name=f"Product {n}") for n in range(3)]


def add_deals(sales: User, products: list[Product], start: int, stop: int) -> None:
    """Deals across the stages, some with a company and lines, some won or lost."""
    for index in range(start, stop):
        company = make_company(sales, name=f"Firm {index}", owner=sales) if index % 2 else None
        contact = make_contact(sales, first_name=f"Buyer{index}", owner=sales)
        deal = make_deal(
            sales,
            name=f"Deal {index}",
            contact=contact,
            company=company,
            lines=[(products[index % 3], 1)] if index % 3 else (),
        )
        if index % 4 == 1:
            services.move_deal(sales, deal, stage(position=2))
        elif index % 4 == 2:
            services.move_deal(sales, deal, stage(StageKind.WON))
        elif index % 4 == 3:
            services.move_deal(sales, deal, stage(StageKind.LOST), lost_reason="Price")


@pytest.mark.parametrize(
    "url",
    [
        "/deals/",
        "/deals/?status=open&sort=-amount&cols=name,customer,stage,owner,stale,source",
        "/deals/export.csv?cols=name,customer,stage,owner,stale",
        "/deals/board/",
        "/deals/board/?owner=me&q=deal",
        "/deals/forecast/",
        "/api/v1/deals?limit=100",
        "/api/v1/pipelines",
    ],
)
def test_list_board_and_forecast_queries_do_not_grow_with_deals(
    sales: User, products: list[Product], client_for: Any, api_for: Any, url: str
) -> None:
    client = api_for(sales) if url.startswith("/api/") else client_for(sales)
    add_deals(sales, products, 0, 4)
    small = queries_of(lambda: client.get(url))
    add_deals(sales, products, 4, 40)
    assert_same(small, queries_of(lambda: client.get(url)))


def _deal_with(sales: User, products: list[Product], lines: int, moves: int) -> Deal:
    contact = make_contact(sales, owner=sales)
    company = make_company(sales, owner=sales)
    chosen = [(products[n % len(products)], 1 + n) for n in range(lines)]
    deal = make_deal(sales, contact=contact, company=company, lines=chosen)
    for n in range(moves):
        services.move_deal(sales, deal, stage(position=1 + n % 3))
        services.update_deal(sales, deal, {"next_step": f"Step {n}"})
    return deal


def test_detail_queries_do_not_grow_with_lines_and_history(
    sales: User, products: list[Product], client_for: Any, api_for: Any
) -> None:
    web, api = client_for(sales), api_for(sales)
    few = _deal_with(sales, products, lines=1, moves=1)
    many = _deal_with(sales, products, lines=6, moves=8)
    for url in ("/deals/{}/", "/api/v1/deals/{}"):
        client = api if url.startswith("/api/") else web
        small = queries_of(lambda url=url, client=client: client.get(url.format(few.pk)))
        large = queries_of(lambda url=url, client=client: client.get(url.format(many.pk)))
        assert_same(small, large)


def test_the_deals_panel_costs_at_most_two_queries(
    sales: User, products: list[Product], client_for: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rapport.sales.panels import deals_panel

    contact = make_contact(sales, owner=sales)
    for n in range(8):
        make_deal(sales, name=f"D{n}", contact=contact)
    with CaptureQueriesContext(connection) as captured:
        data = deals_panel(sales, contact)
    assert data is not None
    assert len(data["deals"]) == 5
    assert len(captured) <= 2
