"""The order and installed-base pages as people use them: forms with lines, actions, panels."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from rapport.catalog.models import Product
from rapport.customers.models import Contact
from rapport.trading import services
from rapport.trading.models import Asset, Order
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_company, make_contact
from tests.trading.factories import delivered_order, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def boiler(admin: User) -> Product:
    return make_product(
        admin, sku="BOIL", name="Boiler", unit_price="1000.00", service_interval_days=365
    )


@pytest.fixture
def buyer(sales: User) -> Contact:
    return make_contact(sales, first_name="Ann", last_name="Buyer", owner=sales)


def lines_post(*rows: dict[str, str], total: int = 3) -> dict[str, str]:
    data = {
        "lines-TOTAL_FORMS": str(total),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "100",
    }
    for index, row in enumerate(rows):
        data.update({f"lines-{index}-{key}": value for key, value in row.items()})
    return data


def test_new_order_with_lines_from_the_contact_page(
    sales: User, client_for: Any, buyer: Contact, boiler: Product
) -> None:
    web = client_for(sales)
    form = web.get(f"/orders/new/?contact={buyer.pk}")
    assert form.status_code == 200
    assert f'value="{buyer.pk}"' in form.content.decode()
    response = web.post(
        "/orders/new/",
        {
            "contact": str(buyer.pk),
            "order_date": str(timezone.localdate()),
            "currency": "EUR",
            "status": "placed",
            "owner": str(sales.pk),
            **lines_post(
                {"product": str(boiler.pk), "quantity": "2", "discount_percent": "5"},
                {"product": str(boiler.pk), "quantity": "1", "unit_price": "10.00"},
            ),
        },
    )
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.pk}/"
    assert order.total == Decimal("1910.00")
    page = web.get(f"/orders/{order.pk}/").content.decode()
    assert order.number in page
    assert "1910.00 EUR" in page
    assert ">Paid<" in page
    assert ">Delivered<" in page
    assert ">Cancelled<" in page


def test_the_order_form_shows_errors(sales: User, client_for: Any, boiler: Product) -> None:
    web = client_for(sales)
    response = web.post(
        "/orders/new/",
        {"contact": "99999", "order_date": str(timezone.localdate()), "status": "placed",
         **lines_post({"product": str(boiler.pk), "quantity": "1"})},
    )  # fmt: skip
    assert response.status_code == 200
    assert "No contact with id 99999" in response.content.decode()
    response = web.post(
        "/orders/new/",
        {"contact": "", "company": "", "order_date": str(timezone.localdate()),
         "status": "placed", **lines_post()},
    )  # fmt: skip
    assert "Say which contact or company" in response.content.decode()
    assert not Order.objects.exists()


def test_edit_order_lines_and_company_by_name(
    sales: User, client_for: Any, buyer: Contact, boiler: Product
) -> None:
    web = client_for(sales)
    company = make_company(sales, name="Acme", owner=sales)
    order = make_order(sales, contact=buyer, lines=[(boiler, 1)])
    page = web.get(f"/orders/{order.pk}/edit/")
    assert page.status_code == 200
    assert 'name="lines-0-quantity" value="1.000"' in page.content.decode()
    response = web.post(
        f"/orders/{order.pk}/edit/",
        {"contact": str(buyer.pk), "company": "acme", "order_date": str(order.order_date),
         "currency": "EUR", "owner": str(sales.pk), "notes": "Edited", "version": "1",
         **lines_post({"product": str(boiler.pk), "quantity": "4"}, total=4)},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    order.refresh_from_db()
    assert order.company == company
    assert order.total == Decimal("4000.00")
    stale = web.post(
        f"/orders/{order.pk}/edit/",
        {"contact": str(buyer.pk), "order_date": str(order.order_date), "currency": "EUR",
         "version": "1", **lines_post({"product": str(boiler.pk), "quantity": "5"})},
    )  # fmt: skip
    assert "changed by someone else" in stale.content.decode()


def test_status_ship_and_delivery_actions(
    sales: User, client_for: Any, buyer: Contact, boiler: Product
) -> None:
    web = client_for(sales)
    order = make_order(sales, contact=buyer, lines=[(boiler, 1)])
    web.post(f"/orders/{order.pk}/ship/", {"carrier": "DHL", "tracking": "T-1"})
    delivery = order.deliveries.get()
    page = web.get(f"/orders/{order.pk}/").content.decode()
    assert "with DHL (T-1)" in page
    web.post(f"/orders/{order.pk}/confirm-delivery/", {"delivery": str(delivery.pk)})
    order.refresh_from_db()
    assert order.status == "delivered"
    asset = Asset.objects.get(order=order)
    response = web.post(f"/orders/{order.pk}/status/", {"status": "placed"}, follow=True)
    assert "cannot become placed" in response.content.decode()
    assert web.get(f"/orders/{order.pk}/edit/").status_code == 302  # locked
    page = web.get(f"/orders/{order.pk}/").content.decode()
    assert f"/assets/{asset.pk}/" in page


def test_trash_a_quote(sales: User, client_for: Any, buyer: Contact, boiler: Product) -> None:
    order = make_order(sales, contact=buyer, lines=[(boiler, 1)], status="quote")
    response = client_for(sales).post(f"/orders/{order.pk}/trash/")
    assert response["Location"] == "/orders/"
    order.refresh_from_db()
    assert order.deleted_at is not None


def test_asset_edit_and_record_service(
    service_user: User, client_for: Any, buyer: Contact, boiler: Product
) -> None:
    order = delivered_order(None, contact=buyer, lines=[(boiler, 1)])
    asset = Asset.objects.get(order=order)
    web = client_for(service_user)
    page = web.get(f"/assets/{asset.pk}/").content.decode()
    assert "Record service" in page
    visit = timezone.localdate()
    web.post(f"/assets/{asset.pk}/service/", {"on": str(visit), "notes": "Checked"})
    asset.refresh_from_db()
    assert asset.last_serviced_on == visit
    assert asset.next_service_due == visit + timedelta(days=365)
    web.post(
        f"/assets/{asset.pk}/edit/",
        {"serial": "SN-9", "bought_on": str(asset.bought_on),
         "installed_on": str(asset.installed_on), "last_serviced_on": str(visit),
         "next_service_due": "2099-01-01", "version": str(asset.version)},
    )  # fmt: skip
    asset.refresh_from_db()
    assert asset.serial == "SN-9"
    assert str(asset.next_service_due) == "2099-01-01"


def test_the_asset_list_filters_by_service_due(
    sales: User, client_for: Any, buyer: Contact, boiler: Product, admin: User
) -> None:
    lamp = make_product(admin, sku="LAMP", name="Lamp")
    long_ago = timezone.localdate() - timedelta(days=400)
    services.create_asset(
        sales, services.AssetInput(product=boiler, contact=buyer, bought_on=long_ago, serial="OLD")
    )
    services.create_asset(
        sales, services.AssetInput(product=lamp, contact=buyer, bought_on=long_ago, serial="LMP")
    )
    web = client_for(sales)
    overdue = web.get("/assets/?due=overdue&cols=serial").content.decode()
    assert ">OLD<" in overdue
    assert ">LMP<" not in overdue
    none = web.get("/assets/?due=none&cols=serial").content.decode()
    assert ">LMP<" in none
    assert ">OLD<" not in none
    partial = web.get("/assets/?due=overdue", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial
    assert 'id="list-results"' in partial


def test_orders_and_installed_base_panels_on_customer_pages(
    sales: User, client_for: Any, buyer: Contact, boiler: Product
) -> None:
    company = make_company(sales, name="Acme", owner=sales)
    delivered_order(sales, contact=buyer, lines=[(boiler, 2)])
    make_order(sales, company=company, lines=[(boiler, 1)], status="quote")
    web = client_for(sales)
    page = web.get(f"/contacts/{buyer.pk}/").content.decode()
    assert 'id="orders-panel"' in page
    assert "Total spent: <strong>2000.00 EUR</strong>" in page
    assert 'id="assets-panel"' in page
    assert page.count("/assets/") >= 2
    company_page = web.get(f"/companies/{company.pk}/").content.decode()
    assert "Total spent: <strong>0.00 EUR</strong>" in company_page  # a quote is not spent
    assert f"/orders/new/?company={company.pk}" in company_page


def test_navigation_has_products_and_orders(sales: User, client_for: Any) -> None:
    page = client_for(sales).get("/orders/").content.decode()
    assert 'href="/products/"' in page
    assert 'href="/orders/" aria-current="page"' in page


def test_global_search_finds_orders_units_and_products(
    sales: User, sales_south: User, client_for: Any, buyer: Contact, boiler: Product
) -> None:
    order = delivered_order(sales, contact=buyer, lines=[(boiler, 1)])
    asset = Asset.objects.get(order=order)
    services.update_asset(sales, asset, {"serial": "ZX-4711"})
    page = client_for(sales).get(f"/search/?q={order.number}").content.decode()
    assert f"/orders/{order.pk}/" in page
    assert f"/assets/{asset.pk}/" in client_for(sales).get("/search/?q=ZX-47").content.decode()
    assert f"/products/{boiler.pk}/" in client_for(sales).get("/search/?q=boil").content.decode()
    hidden = client_for(sales_south).get(f"/search/?q={order.number}").content.decode()
    assert f"/orders/{order.pk}/" not in hidden


def test_order_search_finds_numbers_by_their_start_only(
    sales: User, buyer: Contact, boiler: Product
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rapport.trading.search import search_orders

    first = delivered_order(sales, contact=buyer, lines=[(boiler, 1)])
    second = delivered_order(sales, contact=buyer, lines=[(boiler, 2)])
    year = first.number.split("-")[0]

    def titles(text: str) -> list[str]:
        return [result.title for result in search_orders(sales, text, 8)]

    assert titles(year) == [str(first), str(second)]
    assert titles(f"{year}-") == [str(first), str(second)]
    assert titles(second.number) == [str(second)]
    assert titles(second.number[1:]) == []  # the middle of a number is not its start
    assert titles(f"{int(year) + 1}-") == []
    # Names and e-mail addresses are never order numbers: no query at all.
    with CaptureQueriesContext(connection) as asked:
        assert titles("anna@example.org") == []
        assert titles("Schmidt") == []
    assert len(asked) == 0
