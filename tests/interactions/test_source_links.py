"""Each timeline row links to the record it came from, at a fixed cost per page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rapport.interactions.choices import InteractionKind
from rapport.interactions.models import Interaction
from rapport.reminders import services as task_services
from rapport.trading import services as trading_services
from rapport.trading.models import Asset
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_contact
from tests.customers.test_query_counts import queries_of
from tests.reminders.conftest import make_task
from tests.trading.factories import make_order

pytestmark = pytest.mark.django_db


def test_order_delivery_service_and_task_rows_open_their_source(
    admin: User, client_for: Any
) -> None:
    customer = make_contact(admin, first_name="Lina", last_name="Source")
    boiler = make_product(admin, name="Boiler", service_interval_days=365)
    order = make_order(admin, contact=customer, lines=[(boiler, 1)])
    delivery = trading_services.ship_order(admin, order, carrier="DHL")
    trading_services.confirm_delivery(admin, delivery)
    asset = Asset.objects.get(order=order)
    trading_services.record_service(admin, asset, timezone.localdate(), "Annual check")
    task = make_task(admin, title="Call about the filter", contact=customer)
    task_services.complete_task(admin, task)

    html = client_for(admin).get(f"/contacts/{customer.pk}/").content.decode()

    assert f'href="/orders/{order.pk}/"' in html
    assert f'href="/orders/{order.pk}/#delivery-{delivery.pk}"' in html
    assert f'href="/assets/{asset.pk}/"' in html
    assert f'href="/tasks/{task.pk}/"' in html
    order_page = client_for(admin).get(f"/orders/{order.pk}/").content.decode()
    assert f'id="delivery-{delivery.pk}"' in order_page  # the anchor the link jumps to


def test_a_product_has_its_page() -> None:
    product = make_product(None)
    assert product.get_absolute_url() == f"/products/{product.pk}/"


def test_rows_without_a_page_of_their_own_have_no_link(admin: User, client_for: Any) -> None:
    customer = make_contact(admin, first_name="No", last_name="Link")
    html = client_for(admin).get(f"/contacts/{customer.pk}/").content.decode()
    # Creating the contact wrote nothing with a source page; the lifecycle row has none.
    assert "Open " not in html.split('id="timeline"', 1)[1]


def test_source_links_cost_one_query_per_kind_of_source(admin: User, client_for: Any) -> None:
    customer = make_contact(admin, first_name="Many", last_name="Orders")
    product = make_product(admin)
    browser = client_for(admin)

    def page() -> Any:
        return browser.get(f"/timeline/contact/{customer.pk}/")

    make_order(admin, contact=customer, lines=[(product, 1)])
    few, _ = queries_of(page)
    for days in range(1, 8):
        make_order(
            admin,
            contact=customer,
            lines=[(product, 1)],
            order_date=timezone.localdate() - timedelta(days=days),
        )
    many, _ = queries_of(page)
    assert Interaction.objects.filter(contact=customer, kind=InteractionKind.ORDER).count() >= 8
    assert many == few
