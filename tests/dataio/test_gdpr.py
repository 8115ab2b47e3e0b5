"""Subject access, erasure and retention as an admin handles a person's request."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from rapport.core.permissions import Role
from rapport.customers import services as customer_services
from rapport.customers.models import Contact, ContactEmail
from rapport.dataio import gdpr
from rapport.dataio.models import ErasureRecord
from rapport.interactions.models import Interaction
from rapport.interactions.services import record_interaction
from rapport.search import registry
from rapport.trading.models import Order
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_contact
from tests.trading.factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(admin: User) -> Contact:
    ann = make_contact(
        admin, first_name="Annabel", last_name="Quist", emails=["annabel@example.com"],
        phones=["+49 30 7654321"], notes="Prefers calls",
    )  # fmt: skip
    customer_services.add_email(admin, ann, "annabel.private@example.org")
    customer_services.set_consent(
        admin, ann, channel="email", purpose="marketing", granted=True, source="web form",
        evidence="Annabel ticked the box",
    )  # fmt: skip
    record_interaction(admin, kind="call", subject="Call with Annabel", body="Annabel said hi",
                       contact=ann)  # fmt: skip
    product = make_product(admin, sku="B-1", name="Boiler", unit_price="1000.00")
    make_order(admin, contact=ann, lines=[(product, 2)], notes="Deliver to Annabel at home")
    return ann


def test_subject_access_holds_fields_consents_timeline_orders_and_audit(
    admin: User, person: Contact, client_for: Any
) -> None:
    data = gdpr.subject_access(admin, person)
    assert data["person"]["full_name"] == "Annabel Quist"
    records = data["records"]
    assert {r["fields"]["email"] for r in records["customers.ContactEmail"]} == {
        "annabel@example.com", "annabel.private@example.org",
    }  # fmt: skip
    assert records["customers.Consent"][0]["fields"]["evidence"] == "Annabel ticked the box"
    assert any(
        r["fields"]["body"] == "Annabel said hi" for r in records["interactions.Interaction"]
    )
    order = records["trading.Order"][0]
    assert order["fields"]["total"] == "2000.00"
    assert len(order["records"]["trading.OrderLine"]) == 1
    assert data["audit"][0]["kind"] == "created"
    web = client_for(admin)
    download = web.get(f"/data/people/{person.pk}/data.json")
    assert download.status_code == 200
    assert json.loads(download.content)["person"]["email"] == "annabel@example.com"
    page = web.get(f"/data/people/{person.pk}/")
    assert page.status_code == 200
    assert "Annabel ticked the box" in page.content.decode()
    found = web.get("/data/people/", {"q": "Annabel.Private@example.org"})
    assert found["Location"] == f"/data/people/{person.pk}/"


def test_erasure_removes_personal_data_everywhere_and_keeps_order_totals(
    admin: User, person: Contact, client_for: Any
) -> None:
    pk = person.pk
    order = Order.objects.get(contact=person)
    response = client_for(admin).post(
        f"/data/people/{pk}/erase/", {"reason": "Asked by e-mail", "confirm": str(pk)}
    )
    assert response.status_code == 302
    contact = Contact._base_manager.get(pk=pk)
    assert contact.full_name == f"Erased contact {pk}"
    assert (contact.first_name, contact.email, contact.phone, contact.notes) == ("", "", "", "")
    assert contact.deleted_at is not None
    assert not ContactEmail.objects.filter(contact_id=pk).exists()
    assert not ContactEmail.history.filter(contact_id=pk).exists()
    every_history = [
        str(row.__dict__) for row in Contact.history.filter(id=pk)
    ] + [str(row.__dict__) for row in Interaction.history.filter(contact_id=pk)] + [
        str(row.__dict__) for row in Order.history.filter(id=order.pk)
    ]  # fmt: skip
    assert every_history
    assert [text for text in every_history if "nnabel" in text] == []
    order.refresh_from_db()
    assert (str(order.total), order.notes, order.contact_id) == ("2000.00", "", pk)
    assert Interaction.objects.get(contact_id=pk, kind="call").body == ""
    assert registry.search(admin, "Annabel") == []
    record = ErasureRecord.objects.get()
    assert (record.object_id, record.erased_by, record.reason) == (pk, admin, "Asked by e-mail")
    assert "nnabel" not in str(record.__dict__)


def test_erasure_needs_the_confirmation_and_a_reason(admin: User, person: Contact) -> None:
    with pytest.raises(ValidationError, match="Say why"):
        gdpr.erase_contact(admin, person, reason=" ")
    assert Contact.objects.get(pk=person.pk).full_name == "Annabel Quist"


def test_retention_erases_only_leads_inactive_too_long(admin: User, client_for: Any) -> None:
    old_lead = make_contact(admin, first_name="Old", lifecycle_stage="lead")
    new_lead = make_contact(admin, first_name="New", lifecycle_stage="lead")
    old_customer = make_contact(admin, first_name="Loyal", lifecycle_stage="customer")
    long_ago = timezone.now() - timedelta(days=400)
    Contact.objects.filter(pk__in=[old_lead.pk, old_customer.pk]).update(updated_at=long_ago)
    response = client_for(admin).post("/data/retention/", {"stage": "lead", "inactive_days": "365"})
    assert response.status_code == 302
    assert gdpr.apply_retention() == 1
    assert Contact._base_manager.get(pk=old_lead.pk).full_name.startswith("Erased contact")
    assert Contact.objects.get(pk=new_lead.pk).first_name == "New"
    assert Contact.objects.get(pk=old_customer.pk).first_name == "Loyal"
    assert ErasureRecord.objects.get().reason == "Retention: lead inactive 365 days"
    assert gdpr.apply_retention() == 0


@pytest.mark.parametrize(
    "role", [Role.MANAGER, Role.SALES, Role.SERVICE, Role.MARKETING, Role.READ_ONLY]
)
def test_only_admins_reach_gdpr_pages(
    role: str, user_of_role: Any, person: Contact, client_for: Any
) -> None:
    web = client_for(user_of_role(role))
    for url in ("/data/people/?q=annabel@example.com", f"/data/people/{person.pk}/",
                f"/data/people/{person.pk}/data.json"):  # fmt: skip
        assert web.get(url).status_code == 403
    erase = web.post(f"/data/people/{person.pk}/erase/", {"reason": "x", "confirm": person.pk})
    assert erase.status_code == 403
    assert web.post("/data/retention/", {"stage": "lead", "inactive_days": "30"}).status_code == 403
    assert Contact.objects.get(pk=person.pk).full_name == "Annabel Quist"
    with pytest.raises(ValidationError):
        gdpr.erase_contact(user_of_role(role), person, reason="x")
