"""Offer rules: admins say who may be offered a product or a category."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from rapport.core.permissions import Role
from rapport.customers import services as customer_services
from rapport.customers.models import Address, Contact
from rapport.insights import services
from rapport.insights.models import NextBestOffer, OfferRule
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_contact
from tests.insights.test_offers import TODAY, buy


@pytest.fixture
def shop(admin: User) -> dict[str, Any]:
    """Fans bought a kettle and a German descaler; three newcomers bought a kettle."""
    kettle = make_product(admin, name="Kettle", unit_price="30", category="Kitchen")
    descaler = make_product(admin, name="Entkalker", unit_price="8", category="Care")
    for i in range(4):
        fan = make_contact(admin, first_name=f"Fan{i}")
        buy(admin, fan, kettle, descaler, days_ago=200 + i)
    newcomers = {}
    for name, language in (("Anna", "de-AT"), ("Bob", "en"), ("Chloe", "")):
        contact = make_contact(admin, first_name=name)
        customer_services.update_contact(admin, contact, {"language": language})
        buy(admin, contact, kettle, days_ago=20)
        newcomers[name] = contact
    return {"kettle": kettle, "descaler": descaler, **newcomers}


def offered(contact: Contact, product: Any) -> bool:
    return NextBestOffer.objects.filter(contact=contact, product=product).exists()


def test_without_rules_everyone_gets_the_offer(admin: User, shop: dict[str, Any]) -> None:
    services.refresh_scores(today=TODAY)
    assert all(offered(shop[name], shop["descaler"]) for name in ("Anna", "Bob", "Chloe"))


def test_a_language_rule_limits_a_product_to_speakers(admin: User, shop: dict[str, Any]) -> None:
    services.save_offer_rule(
        admin, None, product=shop["descaler"], category="", languages=["DE"], note="German label"
    )
    services.refresh_scores(today=TODAY)
    assert offered(shop["Anna"], shop["descaler"])  # de matches de-AT
    assert not offered(shop["Bob"], shop["descaler"])
    assert not offered(shop["Chloe"], shop["descaler"])  # no language: no match


def test_a_category_rule_by_country_of_a_postal_address(admin: User, shop: dict[str, Any]) -> None:
    Address.objects.create(contact=shop["Bob"], city="Graz", country="AT")
    Address.objects.create(contact=shop["Chloe"], city="Lyon", country="FR")
    services.save_offer_rule(admin, None, product=None, category="care", countries=["at", "DE"])
    services.refresh_scores(today=TODAY)
    assert offered(shop["Bob"], shop["descaler"])
    assert not offered(shop["Chloe"], shop["descaler"])
    assert not offered(shop["Anna"], shop["descaler"])  # no address at all


def test_every_rule_covering_a_product_must_be_met(admin: User, shop: dict[str, Any]) -> None:
    Address.objects.create(contact=shop["Anna"], city="Wien", country="AT")
    Address.objects.create(contact=shop["Bob"], city="Wien", country="AT")
    services.save_offer_rule(admin, None, product=shop["descaler"], category="", languages=["de"])
    services.save_offer_rule(admin, None, product=None, category="Care", countries=["AT"])
    services.refresh_scores(today=TODAY)
    assert offered(shop["Anna"], shop["descaler"])
    assert not offered(shop["Bob"], shop["descaler"])


def test_a_segment_rule_uses_the_fresh_segments(admin: User, shop: dict[str, Any]) -> None:
    services.refresh_scores(today=TODAY)
    newcomer_segment = Contact.objects.get(pk=shop["Anna"].pk).score.segment
    fan_segment = Contact.objects.get(first_name="Fan0").score.segment
    assert newcomer_segment != fan_segment
    rule = services.save_offer_rule(
        admin, None, product=shop["descaler"], category="", segments=[newcomer_segment]
    )
    services.refresh_scores(today=TODAY)
    assert offered(shop["Anna"], shop["descaler"])
    services.save_offer_rule(
        admin, rule, product=shop["descaler"], category="", segments=[fan_segment]
    )
    services.refresh_scores(today=TODAY)
    assert not offered(shop["Anna"], shop["descaler"])


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"category": ""}, "product", "Choose a product or name a category"),
        ({"category": "Garden"}, "category", "No product is in the category Garden"),
        ({"category": "Care", "languages": ["english!"]}, "languages", "Not a language code"),
        ({"category": "Care", "countries": ["XX"]}, "countries", "Not a country code: XX"),
        ({"category": "Care", "segments": ["royalty"]}, "segments", "Not a segment: royalty"),
        ({"category": "Care"}, "languages", "at least one language, country or segment"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(
    admin: User, shop: dict[str, Any], fields: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ValidationError) as error:
        services.save_offer_rule(admin, None, product=None, **fields)
    assert message in " ".join(error.value.message_dict[field])
    assert not OfferRule.objects.exists()


def test_only_admins_write_rules_and_everyone_reads_them(
    shop: dict[str, Any], user_of_role: Any, client_for: Any
) -> None:
    for role in Role.values:
        client = client_for(user_of_role(role))
        page = client.get("/insights/offer-rules/")
        assert page.status_code == 200, role
        response = client.post(
            "/insights/offer-rules/",
            {"product": shop["descaler"].pk, "languages": "de", "note": role},
        )
        assert response.status_code == (302 if role == Role.ADMIN else 403), role
    rule = OfferRule.objects.get()
    assert (rule.languages, rule.note) == (["de"], Role.ADMIN)
    admin_client = client_for(user_of_role(Role.ADMIN))
    assert "Entkalker" in admin_client.get("/insights/offer-rules/").content.decode()
    sales_client = client_for(user_of_role(Role.SALES))
    denied = sales_client.post("/insights/offer-rules/", {"delete": "1", "id": rule.pk})
    assert denied.status_code == 403
    done = admin_client.post("/insights/offer-rules/", {"delete": "1", "id": rule.pk})
    assert done.status_code == 302
    assert not OfferRule.objects.exists()


def test_the_form_shows_errors_instead_of_saving(
    admin: User, shop: dict[str, Any], client_for: Any
) -> None:
    response = client_for(admin).post(
        "/insights/offer-rules/", {"category": "Care", "countries": "ZZ"}
    )
    assert response.status_code == 200
    assert "Not a country code: ZZ" in response.content.decode()
    assert not OfferRule.objects.exists()
