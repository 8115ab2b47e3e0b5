"""Next best offers on contact pages: services due, newer models, co-purchases, follow-ups."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from rapport.catalog.choices import ProductKind
from rapport.customers.models import Contact
from rapport.insights import services
from rapport.insights.models import NextBestOffer, OfferAction, OfferReason
from rapport.reminders.models import Task
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_contact
from tests.trading.factories import make_asset, make_order

TODAY = date(2026, 11, 30)


@pytest.fixture
def catalog(admin: User) -> dict[str, Any]:
    service = make_product(admin, name="Boiler service", kind=ProductKind.SERVICE, unit_price="90")
    new_boiler = make_product(admin, name="Boiler 2026", unit_price="2400")
    boiler = make_product(
        admin,
        name="Boiler 2020",
        unit_price="2000",
        service_interval_days=365,
        upgrade_to=new_boiler,
        related=[service],
    )
    kettle = make_product(admin, name="Kettle", unit_price="30")
    descaler = make_product(admin, name="Descaler", unit_price="8")
    return {
        "service": service,
        "new_boiler": new_boiler,
        "boiler": boiler,
        "kettle": kettle,
        "descaler": descaler,
    }


def buy(admin: User, contact: Contact, *products: Any, days_ago: int = 300) -> None:
    make_order(
        admin,
        contact=contact,
        lines=[(product, 1) for product in products],
        order_date=TODAY - timedelta(days=days_ago),
    )


def test_offers_come_with_their_reasons(admin: User, catalog: dict[str, Any]) -> None:
    for i in range(4):
        fan = make_contact(admin, first_name=f"Fan{i}")
        buy(admin, fan, catalog["kettle"], catalog["descaler"], days_ago=200 + i)
    newcomer = make_contact(admin, first_name="Newcomer")
    buy(admin, newcomer, catalog["kettle"], days_ago=20)
    owner = make_contact(admin, first_name="Owner")
    make_asset(
        admin,
        product=catalog["boiler"],
        contact=owner,
        bought_on=TODAY - timedelta(days=350),
    )
    run = services.refresh_scores(today=TODAY)

    offer = NextBestOffer.objects.get(contact=newcomer)
    assert offer.product == catalog["descaler"]
    assert offer.reason == OfferReason.CO_PURCHASE
    assert offer.because == catalog["kettle"]
    assert "Customers who bought Kettle also bought Descaler" in offer.explanation

    reasons = dict(
        NextBestOffer.objects.filter(contact=owner).values_list("product__name", "reason")
    )
    assert reasons["Boiler service"] == OfferReason.SERVICE_DUE
    assert reasons["Boiler 2026"] == OfferReason.UPGRADE
    first = NextBestOffer.objects.filter(contact=owner).order_by("rank").first()
    assert first is not None
    assert first.reason == OfferReason.SERVICE_DUE  # a due service beats everything
    # Nobody is offered what they own or bought.
    assert not NextBestOffer.objects.filter(contact=newcomer, product=catalog["kettle"]).exists()
    assert "offers" in run.diagnostics


def test_inactive_products_and_services_are_not_offered_from_co_purchases(
    admin: User, catalog: dict[str, Any]
) -> None:
    from rapport.catalog import services as catalog_services

    for i in range(3):
        fan = make_contact(admin, first_name=f"Fan{i}")
        buy(admin, fan, catalog["kettle"], catalog["descaler"], catalog["service"])
    newcomer = make_contact(admin, first_name="Newcomer")
    buy(admin, newcomer, catalog["kettle"], days_ago=10)
    catalog_services.update_product(admin, catalog["descaler"], {"active": False})
    services.refresh_scores(today=TODAY)
    offered = set(NextBestOffer.objects.filter(contact=newcomer).values_list("product", flat=True))
    assert catalog["descaler"].pk not in offered
    assert catalog["service"].pk not in offered


def test_following_up_creates_a_task_and_quiets_the_offer(
    admin: User, sales: User, catalog: dict[str, Any], client_for: Any
) -> None:
    for i in range(3):
        fan = make_contact(admin, first_name=f"Fan{i}")
        buy(admin, fan, catalog["kettle"], catalog["descaler"])
    newcomer = make_contact(admin, first_name="Newcomer", owner=sales)
    buy(admin, newcomer, catalog["kettle"], days_ago=10)
    services.refresh_scores(today=TODAY)
    offer = NextBestOffer.objects.get(contact=newcomer)
    page = client_for(sales).get(f"/contacts/{newcomer.pk}/").content.decode()
    assert "Next best offers" in page
    assert "Create a follow-up task" in page

    response = client_for(sales).post(f"/insights/offers/{offer.pk}/follow-up/")
    assert response.status_code == 302
    task = Task.objects.get(contact=newcomer)
    assert task.assignee == sales
    assert "Descaler" in task.title
    assert OfferAction.objects.filter(contact=newcomer, product=catalog["descaler"]).exists()
    # The next refresh does not offer it again right away.
    services.refresh_scores(today=TODAY)
    assert not NextBestOffer.objects.filter(contact=newcomer, product=catalog["descaler"]).exists()


def test_offers_of_hidden_contacts_cannot_be_acted_on(
    admin: User, sales: User, catalog: dict[str, Any], client_for: Any
) -> None:
    for i in range(3):
        fan = make_contact(admin, first_name=f"Fan{i}", owner=admin)
        buy(admin, fan, catalog["kettle"], catalog["descaler"])
    hidden = make_contact(admin, first_name="Hidden", owner=admin)
    buy(admin, hidden, catalog["kettle"], days_ago=10)
    services.refresh_scores(today=TODAY)
    offer = NextBestOffer.objects.get(contact=hidden)
    assert client_for(sales).post(f"/insights/offers/{offer.pk}/follow-up/").status_code == 404
    assert not Task.objects.filter(contact=hidden).exists()


def test_read_only_users_see_offers_but_cannot_follow_up(
    admin: User, read_only: User, catalog: dict[str, Any], client_for: Any
) -> None:
    for i in range(3):
        fan = make_contact(admin, first_name=f"Fan{i}")
        buy(admin, fan, catalog["kettle"], catalog["descaler"])
    newcomer = make_contact(admin, first_name="Newcomer")
    buy(admin, newcomer, catalog["kettle"], days_ago=10)
    services.refresh_scores(today=TODAY)
    page = client_for(read_only).get(f"/contacts/{newcomer.pk}/").content.decode()
    assert "Next best offers" in page
    assert "Create a follow-up task" not in page
    offer = NextBestOffer.objects.get(contact=newcomer)
    assert client_for(read_only).post(f"/insights/offers/{offer.pk}/follow-up/").status_code == 403


def test_an_offer_becomes_a_deal_in_one_click(
    admin: User, sales: User, catalog: dict[str, Any], client_for: Any
) -> None:
    from rapport.sales.models import Deal

    for i in range(3):
        fan = make_contact(admin, first_name=f"Fan{i}")
        buy(admin, fan, catalog["kettle"], catalog["descaler"])
    newcomer = make_contact(admin, first_name="Newcomer", owner=sales)
    buy(admin, newcomer, catalog["kettle"], days_ago=10)
    services.refresh_scores(today=TODAY)
    offer = NextBestOffer.objects.get(contact=newcomer)
    page = client_for(sales).get(f"/contacts/{newcomer.pk}/").content.decode()
    assert "Open a deal" in page

    response = client_for(sales).post(f"/insights/offers/{offer.pk}/deal/")
    deal = Deal.objects.get(contact=newcomer)
    assert response.status_code == 302
    assert response["Location"] == f"/deals/{deal.pk}/"
    assert deal.owner == sales
    assert list(deal.lines.values_list("product__name", flat=True)) == ["Descaler"]
    assert "Customers who bought Kettle also bought Descaler" in deal.next_step
    assert OfferAction.objects.filter(contact=newcomer, kind="deal").exists()
    services.refresh_scores(today=TODAY)
    assert not NextBestOffer.objects.filter(contact=newcomer, product=catalog["descaler"]).exists()


def test_read_only_users_cannot_open_deals_from_offers(
    admin: User, read_only: User, catalog: dict[str, Any], client_for: Any
) -> None:
    from rapport.sales.models import Deal

    for i in range(3):
        fan = make_contact(admin, first_name=f"Fan{i}")
        buy(admin, fan, catalog["kettle"], catalog["descaler"])
    newcomer = make_contact(admin, first_name="Newcomer")
    buy(admin, newcomer, catalog["kettle"], days_ago=10)
    services.refresh_scores(today=TODAY)
    offer = NextBestOffer.objects.get(contact=newcomer)
    assert (
        "Open a deal" not in client_for(read_only).get(f"/contacts/{newcomer.pk}/").content.decode()
    )
    assert client_for(read_only).post(f"/insights/offers/{offer.pk}/deal/").status_code == 403
    assert not Deal.objects.exists()


@pytest.mark.parametrize("role", ["admin", "manager", "sales", "service", "marketing", "read_only"])
def test_opening_a_deal_from_an_offer_follows_the_deal_permissions(
    role: str, admin: User, catalog: dict[str, Any], user_of_role: Any, client_for: Any
) -> None:
    from rapport.core.permissions import Action, can
    from rapport.sales.models import Deal

    for i in range(3):
        fan = make_contact(admin, first_name=f"Fan{i}")
        buy(admin, fan, catalog["kettle"], catalog["descaler"])
    user = user_of_role(role)
    newcomer = make_contact(admin, first_name="Newcomer", owner=user)
    buy(admin, newcomer, catalog["kettle"], days_ago=10)
    services.refresh_scores(today=TODAY)
    offer = NextBestOffer.objects.get(contact=newcomer)
    may_open = can(user, Action.ADD, Deal)
    response = client_for(user).post(f"/insights/offers/{offer.pk}/deal/")
    assert response.status_code == (302 if may_open else 403), role
    assert Deal.objects.filter(contact=newcomer).exists() == may_open


def test_offer_numbers_are_never_reused_by_a_later_refresh(
    admin: User, catalog: dict[str, Any]
) -> None:
    """A page showing an old offer must not act on someone else's new one."""
    for i in range(4):
        fan = make_contact(admin, first_name=f"Fan{i}")
        buy(admin, fan, catalog["kettle"], catalog["descaler"], days_ago=200 + i)
    newcomer = make_contact(admin, first_name="Newcomer")
    buy(admin, newcomer, catalog["kettle"], days_ago=20)
    services.refresh_scores(today=TODAY)
    first = set(NextBestOffer.objects.values_list("pk", flat=True))
    assert first
    services.refresh_scores(today=TODAY)
    second = set(NextBestOffer.objects.values_list("pk", flat=True))
    assert len(second) == len(first)
    assert min(second) > max(first)
    # New rows made the ordinary way continue after the refresh's numbers.
    offer = NextBestOffer.objects.get(contact=newcomer)
    offer.pk = None
    offer.rank = 9
    offer.save()
    assert offer.pk > max(second)
