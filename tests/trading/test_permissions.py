"""Who sees and changes which orders and units: every role, own/team/other team's customers."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.core.permissions import Role
from rapport.trading.models import Asset, Order
from rapport.users.models import User
from tests.customers.conftest import OWNERS
from tests.trading.conftest import Trade

pytestmark = pytest.mark.django_db

ALL = set(OWNERS)
NORTH = {"sales", "north", "none"}
ROLES = list(Role.values)

# Written out by hand from trading/permissions.py and customers/permissions.py:
# orders and units are seen by whoever sees their customer.
VISIBLE: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SALES: NORTH,
    Role.SERVICE: ALL,
    Role.MARKETING: ALL,
    Role.READ_ONLY: ALL,
}
# Orders change with their customer (role may change orders and may change the customer).
ORDER_CHANGEABLE: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SALES: NORTH,
    Role.SERVICE: NORTH,
    Role.MARKETING: set(),
    Role.READ_ONLY: set(),
}
# Units: the role may change units and sees the customer.
ASSET_CHANGEABLE: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SALES: NORTH,
    Role.SERVICE: ALL,
    Role.MARKETING: set(),
    Role.READ_ONLY: set(),
}
MAY_ADD_ORDERS = {Role.ADMIN, Role.MANAGER, Role.SALES}
MAY_EXPORT_ORDERS = {Role.ADMIN, Role.MANAGER, Role.SALES, Role.MARKETING}
MAY_EXPORT_ASSETS = MAY_EXPORT_ORDERS | {Role.SERVICE}


def _ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _expected(key: str, changeable: set[str], visible: set[str]) -> int:
    if key in changeable:
        return 200
    return 403 if key in visible else 404


# --- lists --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_order_lists_show_what_the_role_may_see(
    trade: Trade, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    user = user_of_role(role)
    expected = {trade.orders[key].pk for key in VISIBLE[role]} | {
        trade.company_orders[key].pk for key in VISIBLE[role]
    }
    assert _ids(api_for(user).get("/api/v1/orders?limit=100")) == expected

    page = client_for(user).get("/orders/")
    assert page.status_code == 200
    text = page.content.decode()
    shown = {order.pk for order in Order.objects.all() if f">{order.number}<" in text}
    assert shown == expected
    count = client_for(user).get("/orders/count/").content.decode()
    assert count == f"{len(expected)} matches"


@pytest.mark.parametrize("role", ROLES)
def test_asset_lists_show_what_the_role_may_see(
    trade: Trade, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    user = user_of_role(role)
    expected = {trade.assets[key].pk for key in VISIBLE[role]}
    assert _ids(api_for(user).get("/api/v1/assets")) == expected
    text = client_for(user).get("/assets/?cols=product,serial").content.decode()
    assert {key for key in OWNERS if f"SN-{key}<" in text} == VISIBLE[role]


@pytest.mark.parametrize("role", ROLES)
def test_exports_follow_role_and_visibility(
    trade: Trade, user_of_role: Any, client_for: Any, role: str
) -> None:
    web = client_for(user_of_role(role))
    for url in ("/orders/export.csv?cols=number", "/assets/export.csv?cols=serial"):
        response = web.get(url)
        if role not in (MAY_EXPORT_ORDERS if "orders" in url else MAY_EXPORT_ASSETS):
            assert response.status_code == 403, url
            continue
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content).decode()
        rows = body.strip().splitlines()[1:]
        assert len(rows) == (2 if "orders" in url else 1) * len(VISIBLE[role]), url


def test_lists_need_a_login(trade: Trade, client: Any) -> None:
    for url in ("/orders/", "/assets/", "/products/"):
        assert client.get(url).status_code == 302
    for url in ("/api/v1/orders", "/api/v1/assets", "/api/v1/products", "/api/v1/deliveries"):
        assert client.get(url).status_code in (401, 403)


# --- detail --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_details_of_records_the_role_may_not_see_are_404(
    trade: Trade, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    user = user_of_role(role)
    web, api = client_for(user), api_for(user)
    for key in OWNERS:
        expected = 200 if key in VISIBLE[role] else 404
        order, company_order, asset = (
            trade.orders[key],
            trade.company_orders[key],
            trade.assets[key],
        )
        assert web.get(f"/orders/{order.pk}/").status_code == expected, key
        assert web.get(f"/orders/{company_order.pk}/").status_code == expected, key
        assert web.get(f"/assets/{asset.pk}/").status_code == expected, key
        assert api.get(f"/api/v1/orders/{order.pk}").status_code == expected, key
        assert api.get(f"/api/v1/orders/{company_order.pk}").status_code == expected, key
        assert api.get(f"/api/v1/assets/{asset.pk}").status_code == expected, key


def test_hidden_orders_are_404_for_every_verb(
    trade: Trade, sales: User, api_for: Any, client_for: Any
) -> None:
    api, web = api_for(sales), client_for(sales)
    order, asset = trade.orders["south"], trade.assets["south"]
    base = f"/api/v1/orders/{order.pk}"
    assert api.patch(base, {"notes": "x"}, format="json").status_code == 404
    assert api.delete(base).status_code == 404
    assert api.post(f"{base}/status", {"status": "paid"}).status_code == 404
    assert api.post(f"{base}/ship", {}).status_code == 404
    assert api.post(f"/api/v1/assets/{asset.pk}/record-service", {}).status_code == 404
    assert web.post(f"/orders/{order.pk}/status/", {"status": "paid"}).status_code == 404
    assert web.get(f"/orders/{order.pk}/edit/").status_code == 404
    assert web.post(f"/assets/{asset.pk}/service/", {"on": "2025-06-01"}).status_code == 404
    order.refresh_from_db()
    assert order.status == "placed"
    assert order.notes == "order-south"


# --- changes -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_api_order_changes_follow_role_and_customer(
    trade: Trade, user_of_role: Any, api_for: Any, role: str
) -> None:
    api = api_for(user_of_role(role))
    for key in OWNERS:
        for order in (trade.orders[key], trade.company_orders[key]):
            response = api.patch(f"/api/v1/orders/{order.pk}", {"notes": role}, format="json")
            expected = _expected(key, ORDER_CHANGEABLE[role], VISIBLE[role])
            if role in (Role.MARKETING, Role.READ_ONLY):
                expected = 403  # the role may not change orders at all
            assert response.status_code == expected, (key, response.content)
            order.refresh_from_db()
            assert (order.notes == role) is (expected == 200), key


@pytest.mark.parametrize("role", ROLES)
def test_web_status_changes_follow_role_and_customer(
    trade: Trade, user_of_role: Any, client_for: Any, role: str
) -> None:
    web = client_for(user_of_role(role))
    for key in OWNERS:
        order = trade.orders[key]
        response = web.post(f"/orders/{order.pk}/status/", {"status": "paid"})
        assert response.status_code == (302 if key in VISIBLE[role] else 404), key
        order.refresh_from_db()
        assert (order.status == "paid") is (key in ORDER_CHANGEABLE[role]), key


@pytest.mark.parametrize("role", ROLES)
def test_recording_a_service_follows_role_and_customer(
    trade: Trade, user_of_role: Any, api_for: Any, client_for: Any, role: str
) -> None:
    user = user_of_role(role)
    api, web = api_for(user), client_for(user)
    for key in OWNERS:
        asset = trade.assets[key]
        response = api.post(f"/api/v1/assets/{asset.pk}/record-service", {"on": "2025-06-01"})
        expected = _expected(key, ASSET_CHANGEABLE[role], VISIBLE[role])
        if role in (Role.MARKETING, Role.READ_ONLY):
            expected = 403
        assert response.status_code == expected, (key, response.content)
        web.post(f"/assets/{asset.pk}/service/", {"on": "2025-07-01"})
        asset.refresh_from_db()
        if key in ASSET_CHANGEABLE[role]:
            assert str(asset.last_serviced_on) == "2025-07-01"
        else:
            assert asset.last_serviced_on is None


@pytest.mark.parametrize("role", ROLES)
def test_creating_orders_needs_the_role_and_the_customer(
    trade: Trade, user_of_role: Any, api_for: Any, client_for: Any, role: str
) -> None:
    user = user_of_role(role)
    api = api_for(user)
    for key in OWNERS:
        contact = trade.world.contacts[key]
        body = {"contact": contact.pk, "lines": [{"product": trade.product.pk, "quantity": "1"}]}
        response = api.post("/api/v1/orders", body, format="json")
        if role not in MAY_ADD_ORDERS:
            assert response.status_code == 403, key
        elif key in ORDER_CHANGEABLE[role]:
            assert response.status_code == 201, (key, response.content)
        else:  # a contact the caller cannot see reads as one that does not exist
            assert response.status_code == 400, key
            assert "contact" in response.json()["errors"]
    page = client_for(user).get("/orders/new/")
    assert page.status_code == (200 if role in MAY_ADD_ORDERS else 403)


def test_deliveries_follow_their_order(
    trade: Trade, admin: User, sales: User, sales_south: User, api_for: Any
) -> None:
    from rapport.trading import services

    north = services.ship_order(admin, trade.orders["sales"], carrier="DHL")
    south = services.ship_order(admin, trade.orders["south"], carrier="UPS")
    assert _ids(api_for(sales).get("/api/v1/deliveries")) == {north.pk}
    assert _ids(api_for(sales_south).get("/api/v1/deliveries")) == {south.pk}
    assert api_for(sales).post(f"/api/v1/deliveries/{south.pk}/confirm", {}).status_code == 404
    assert api_for(sales).post(f"/api/v1/deliveries/{north.pk}/confirm", {}).status_code == 200
    assert Asset.objects.filter(order=trade.orders["sales"]).count() == 1


def test_orders_of_trashed_customers_are_hidden(
    trade: Trade, admin: User, sales: User, api_for: Any
) -> None:
    from rapport.customers import services as customer_services

    customer_services.trash_contact(admin, trade.world.contacts["sales"])
    customer_services.trash_company(admin, trade.world.companies["none"])
    for user in (admin, sales):
        ids = _ids(api_for(user).get("/api/v1/orders?limit=100"))
        assert trade.orders["sales"].pk not in ids
        assert trade.company_orders["none"].pk not in ids
        assert trade.orders["none"].pk in ids
        assert trade.assets["sales"].pk not in _ids(api_for(user).get("/api/v1/assets"))
