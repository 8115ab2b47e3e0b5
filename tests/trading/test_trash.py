"""The trash of orders, units and products: admins list and restore; nobody else gets in."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from rapport.catalog import services as catalog_services
from rapport.catalog.models import Product
from rapport.core.permissions import Role
from rapport.customers.models import Contact
from rapport.trading import services
from rapport.trading.models import Asset, Order
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_contact
from tests.customers.test_query_counts import queries_of
from tests.trading.factories import make_asset, make_order

pytestmark = pytest.mark.django_db

ALL_ROLES = list(Role)


@pytest.fixture
def buyer(admin: User) -> Contact:
    return make_contact(admin, first_name="Tess", last_name="Trash")


def trashed_order(admin: User, buyer: Contact, product: Product | None = None) -> Order:
    order = make_order(admin, contact=buyer, lines=[(product or make_product(admin), 1)])
    return services.trash_order(admin, order)


def trashed_asset(admin: User, buyer: Contact) -> Asset:
    asset = make_asset(
        admin, product=make_product(admin), contact=buyer, bought_on=timezone.localdate()
    )
    return services.trash_asset(admin, asset)


def trashed_product(admin: User) -> Product:
    return catalog_services.trash_product(admin, make_product(admin, name="Old kettle"))


PAGES = {
    "orders": ("/orders/", "/orders/trash/", trashed_order, Order),
    "assets": ("/assets/", "/assets/trash/", trashed_asset, Asset),
}


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("page", ["orders", "assets", "products"])
def test_only_admins_see_the_trash_and_its_link(
    role: str, page: str, user_of_role: Any, client_for: Any, admin: User, buyer: Contact
) -> None:
    if page == "products":
        list_url, trash_url, record = "/products/", "/products/trash/", trashed_product(admin)
    else:
        list_url, trash_url, make, _ = PAGES[page]
        record = make(admin, buyer)
    browser = client_for(user_of_role(role))

    listed = browser.get(list_url)
    shown = browser.get(trash_url)
    restored = browser.post(trash_url, {"id": record.pk})

    assert listed.status_code == 200
    assert (f'href="{trash_url}"'.encode() in listed.content) is (role == Role.ADMIN)
    record.refresh_from_db()
    if role == Role.ADMIN:
        assert shown.status_code == 200
        assert str(record).encode() in shown.content
        assert restored.status_code == 302
        assert record.deleted_at is None
    else:
        assert (shown.status_code, restored.status_code) == (403, 403)
        assert record.deleted_at is not None


def test_restoring_brings_the_order_back_to_its_list(
    admin: User, client_for: Any, buyer: Contact
) -> None:
    order = trashed_order(admin, buyer)
    browser = client_for(admin)
    assert order.number.encode() not in browser.get("/orders/").content

    response = browser.post("/orders/trash/", {"id": order.pk}, follow=True)

    assert f"{order} is restored.".encode() in response.content
    assert order.number.encode() in browser.get("/orders/").content
    assert b"The trash is empty." in browser.get("/orders/trash/").content


def test_a_live_record_cannot_be_restored_through_the_trash(
    admin: User, client_for: Any, buyer: Contact
) -> None:
    live = make_order(admin, contact=buyer, lines=[(make_product(admin), 1)])
    assert client_for(admin).post("/orders/trash/", {"id": live.pk}).status_code == 404


@pytest.mark.parametrize("page", ["orders", "assets", "products"])
def test_the_trash_costs_the_same_with_more_rows(
    page: str, admin: User, client_for: Any, buyer: Contact
) -> None:
    browser = client_for(admin)
    trash_url = f"/{page}/trash/"

    def add() -> None:
        if page == "products":
            trashed_product(admin)
        else:
            PAGES[page][2](admin, buyer)

    add()
    few, _ = queries_of(lambda: browser.get(trash_url))
    for _ in range(5):
        add()
    many, _ = queries_of(lambda: browser.get(trash_url))
    assert many == few


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_asset_trash_api_is_for_admins(
    role: str, user_of_role: Any, api_for: Any, admin: User, buyer: Contact
) -> None:
    asset = trashed_asset(admin, buyer)
    api = api_for(user_of_role(role))

    listed = api.get("/api/v1/assets/trash")
    restored = api.post(f"/api/v1/assets/{asset.pk}/restore")

    asset.refresh_from_db()
    if role == Role.ADMIN:
        assert [row["id"] for row in listed.json()["results"]] == [asset.pk]
        assert restored.status_code == 200
        assert asset.deleted_at is None
    else:
        assert listed.status_code == 403
        assert restored.status_code in (403, 404)
        assert asset.deleted_at is not None
