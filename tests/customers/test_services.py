"""customers.services: the only write path for contacts, companies, lifecycle, consent, tags."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from rapport.core import audit
from rapport.core.models import CustomFieldTarget, CustomFieldType
from rapport.core.services import ConflictError
from rapport.customers import queries, services
from rapport.customers.choices import ConsentStatus, LifecycleStage
from rapport.customers.models import (
    Company,
    Consent,
    Contact,
    ContactEmail,
    LifecycleChange,
    Tag,
)
from rapport.users.models import User
from tests.customers.factories import define_field, make_company, make_contact

pytestmark = pytest.mark.django_db


def _messages(error: ValidationError) -> dict[str, list[str]]:
    return error.message_dict


# --- creating contacts: e-mails and phones --------------------------------------------


def test_create_contact_normalises_several_emails_and_phones(sales: User) -> None:
    contact = services.create_contact(
        sales,
        services.ContactInput(
            first_name=" Ann ",
            last_name="Lee",
            emails=[" Ann.Lee@Example.COM ", services.EmailInput("ANN@Home.Example.org", "home")],
            phones=["+49 30 12345678", services.PhoneInput("+1 (415) 555-2671", "mobile")],
            owner=sales,
        ),
    )

    contact.refresh_from_db()
    assert contact.full_name == "Ann Lee"
    assert [(e.email, e.label, e.is_primary) for e in contact.emails.all()] == [
        ("ann.lee@example.com", "work", True),
        ("ann@home.example.org", "home", False),
    ]
    assert sorted((p.number, p.label, p.is_primary) for p in contact.phones.all()) == [
        ("+14155552671", "mobile", False),
        ("+493012345678", "work", True),
    ]
    # The primary ones are copied onto the contact for lists and search.
    assert contact.email == "ann.lee@example.com"
    assert contact.phone == "+493012345678"


def test_explicit_primary_email_is_kept(sales: User) -> None:
    contact = make_contact(
        sales,
        emails=[
            services.EmailInput("a@example.org"),
            services.EmailInput("b@example.org", is_primary=True),
        ],
    )
    assert contact.email == "b@example.org"
    assert contact.emails.get(is_primary=True).email == "b@example.org"


@pytest.mark.parametrize(
    ("emails", "phones", "field"),
    [
        (["not-an-address"], [], "emails"),
        (["ann@"], [], "emails"),
        (["ann@example.org"], ["12"], "phones"),
        (["ann@example.org"], ["call me maybe"], "phones"),
    ],
)
def test_invalid_email_or_phone_is_refused_naming_the_field(
    sales: User, emails: list[str], phones: list[str], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        make_contact(sales, emails=emails, phones=phones)
    assert field in _messages(caught.value)
    assert not Contact.objects.exists()


def test_phone_without_country_code_needs_one_unless_a_region_is_set(
    sales: User, settings: Any
) -> None:
    settings.PHONE_REGION = None
    with pytest.raises(ValidationError) as caught:
        make_contact(sales, phones=["030 12345678"])
    assert "country code" in " ".join(_messages(caught.value)["phones"])

    settings.PHONE_REGION = "DE"
    contact = make_contact(sales, phones=["030 12345678"])
    assert contact.phone == "+493012345678"


def test_contact_needs_a_name_or_an_email(sales: User) -> None:
    with pytest.raises(ValidationError) as caught:
        services.create_contact(sales, services.ContactInput())
    assert "first_name" in _messages(caught.value)

    nameless = services.create_contact(sales, services.ContactInput(emails=["only@example.org"]))
    assert nameless.full_name == "only@example.org"


@pytest.mark.parametrize("spelling", ["ann@example.org", "ANN@example.org", "Ann@EXAMPLE.org"])
def test_duplicate_email_in_any_case_is_refused_with_a_link(sales: User, spelling: str) -> None:
    existing = make_contact(sales, first_name="Ann", emails=["ann@example.org"])

    with pytest.raises(services.DuplicateError) as caught:
        make_contact(sales, first_name="Other", emails=[spelling])

    message = " ".join(_messages(caught.value)["emails"])
    assert f"/contacts/{existing.pk}/" in message
    assert caught.value.existing == existing
    assert Contact.objects.count() == 1


def test_duplicate_email_is_refused_even_when_the_owner_is_in_the_trash(
    sales: User, admin: User
) -> None:
    existing = make_contact(sales, emails=["ann@example.org"], owner=sales)
    services.trash_contact(sales, existing)

    with pytest.raises(services.DuplicateError) as caught:
        make_contact(admin, emails=["Ann@Example.org"])

    message = " ".join(_messages(caught.value)["emails"])
    assert f"/contacts/{existing.pk}/" in message
    assert "trash" in message
    assert Contact.objects.count() == 1


def test_adding_an_email_another_contact_has_is_refused(sales: User) -> None:
    first = make_contact(sales, emails=["first@example.org"])
    second = make_contact(sales, emails=["second@example.org"])

    with pytest.raises(services.DuplicateError) as caught:
        services.add_email(sales, second, "FIRST@example.org")

    assert f"/contacts/{first.pk}/" in " ".join(_messages(caught.value)["email"])
    assert list(second.emails.values_list("email", flat=True)) == ["second@example.org"]


def test_add_and_remove_emails_and_phones_keep_one_primary(sales: User) -> None:
    contact = make_contact(sales, emails=["one@example.org"], phones=["+4930111111"])

    services.add_email(sales, contact, "Two@Example.org", primary=True)
    contact.refresh_from_db()
    assert contact.email == "two@example.org"
    assert contact.emails.filter(is_primary=True).count() == 1

    services.remove_email(sales, contact, contact.emails.get(email="two@example.org"))
    contact.refresh_from_db()
    assert contact.email == "one@example.org"
    assert contact.emails.get().is_primary

    services.add_phone(sales, contact, "+49 30 222222")
    assert contact.phones.count() == 2
    with pytest.raises(ValidationError) as caught:
        services.add_phone(sales, contact, "+4930222222")
    assert "phone" in _messages(caught.value)
    services.remove_phone(sales, contact, contact.phones.get(number="+4930111111"))
    contact.refresh_from_db()
    assert contact.phone == "+4930222222"


# --- companies ------------------------------------------------------------------------


def test_company_domain_is_normalised(sales: User) -> None:
    company = make_company(sales, name="Acme", domain=" https://www.Acme.COM/about ")
    assert company.domain == "acme.com"


def test_duplicate_company_domain_is_refused_with_a_link(sales: User) -> None:
    existing = make_company(sales, name="Acme", domain="acme.com")

    with pytest.raises(services.DuplicateError) as caught:
        make_company(sales, name="Acme GmbH", domain="http://ACME.com")

    assert f"/companies/{existing.pk}/" in " ".join(_messages(caught.value)["domain"])
    assert Company.objects.count() == 1

    other = make_company(sales, name="Other", domain="other.com")
    with pytest.raises(services.DuplicateError):
        services.update_company(sales, other, {"domain": "www.acme.com"})
    other.refresh_from_db()
    assert other.domain == "other.com"


def test_trash_and_restore_never_leave_two_live_companies_with_one_domain(
    admin: User,
) -> None:
    first = make_company(admin, name="Acme", domain="acme.com")
    services.trash_company(admin, first)
    # Either the new company is refused (as e-mails of trashed contacts are),
    # or restoring the old one is: not both companies alive with one domain.
    with contextlib.suppress(ValidationError):
        make_company(admin, name="Acme again", domain="acme.com")
    with contextlib.suppress(ValidationError):
        services.restore_company(admin, first)
    assert Company.objects.filter(domain="acme.com", deleted_at__isnull=True).count() == 1


def test_invalid_domain_is_refused(sales: User) -> None:
    with pytest.raises(ValidationError) as caught:
        make_company(sales, name="Acme", domain="not a domain")
    assert "domain" in _messages(caught.value)


def test_external_ids_are_unique_for_contacts_and_companies(sales: User) -> None:
    first = make_contact(sales, external_id="crm-1")
    # Records without one do not clash with each other.
    make_contact(sales)
    make_contact(sales, external_id="  ")

    with pytest.raises(services.DuplicateError) as caught:
        make_contact(sales, external_id="crm-1")
    assert f"/contacts/{first.pk}/" in " ".join(_messages(caught.value)["external_id"])

    second = make_contact(sales, external_id="crm-2")
    with pytest.raises(services.DuplicateError):
        services.update_contact(sales, second, {"external_id": "crm-1"})
    second.refresh_from_db()
    assert second.external_id == "crm-2"

    make_company(sales, external_id="acc-1")
    with pytest.raises(services.DuplicateError) as caught:
        make_company(sales, external_id="acc-1")
    assert "external_id" in _messages(caught.value)


# --- lifecycle ------------------------------------------------------------------------


def test_every_stage_change_is_recorded_with_who_and_why(sales: User, manager: User) -> None:
    contact = make_contact(sales, owner=sales)
    services.change_stage(sales, contact, LifecycleStage.PROSPECT, reason="Demo booked")
    services.change_stage(manager, contact, LifecycleStage.CUSTOMER, reason="Signed")

    history = list(queries.stage_history(contact))
    assert [(c.from_stage, c.to_stage, c.changed_by, c.reason) for c in history] == [
        (LifecycleStage.PROSPECT, LifecycleStage.CUSTOMER, manager, "Signed"),
        (LifecycleStage.LEAD, LifecycleStage.PROSPECT, sales, "Demo booked"),
        ("", LifecycleStage.LEAD, sales, "Created"),
    ]
    contact.refresh_from_db()
    assert contact.lifecycle_stage == LifecycleStage.CUSTOMER


def test_moving_to_the_same_stage_records_nothing(sales: User) -> None:
    contact = make_contact(sales)
    services.change_stage(sales, contact, LifecycleStage.LEAD)
    assert LifecycleChange.objects.filter(contact=contact).count() == 1


def test_unknown_stage_is_refused(sales: User) -> None:
    contact = make_contact(sales)
    with pytest.raises(ValidationError) as caught:
        services.change_stage(sales, contact, "vip")
    assert "lifecycle_stage" in _messages(caught.value)


@pytest.mark.parametrize("start", [LifecycleStage.CUSTOMER, LifecycleStage.EVANGELIST])
@pytest.mark.parametrize("target", [LifecycleStage.LEAD, LifecycleStage.PROSPECT])
def test_a_customer_never_goes_back_without_a_reason(sales: User, start: str, target: str) -> None:
    contact = make_contact(sales, lifecycle_stage=start)

    with pytest.raises(ValidationError) as caught:
        services.change_stage(sales, contact, target)
    assert "reason" in _messages(caught.value)
    contact.refresh_from_db()
    assert contact.lifecycle_stage == start
    assert LifecycleChange.objects.filter(contact=contact).count() == 1

    services.change_stage(sales, contact, target, reason="Bought by mistake, refunded")
    contact.refresh_from_db()
    assert contact.lifecycle_stage == target
    latest = queries.stage_history(contact).first()
    assert latest is not None
    assert latest.reason == "Bought by mistake, refunded"


def test_a_customer_may_churn_without_a_reason(sales: User) -> None:
    contact = make_contact(sales, lifecycle_stage=LifecycleStage.CUSTOMER)
    services.change_stage(sales, contact, LifecycleStage.CHURNED)
    contact.refresh_from_db()
    assert contact.lifecycle_stage == LifecycleStage.CHURNED


def test_company_stage_changes_follow_the_same_rules(sales: User) -> None:
    company = make_company(sales, lifecycle_stage=LifecycleStage.CUSTOMER)
    with pytest.raises(ValidationError):
        services.change_stage(sales, company, LifecycleStage.LEAD)
    services.change_stage(sales, company, LifecycleStage.LEAD, reason="Contract cancelled")
    assert [c.to_stage for c in queries.stage_history(company)] == ["lead", "customer"]


def test_mark_customer_promotes_once_and_never_demotes(sales: User) -> None:
    prospect = make_contact(sales, lifecycle_stage=LifecycleStage.PROSPECT)
    assert services.mark_customer(None, prospect, reason="First order 1001") is True
    prospect.refresh_from_db()
    assert prospect.lifecycle_stage == LifecycleStage.CUSTOMER
    assert queries.stage_history(prospect).first().reason == "First order 1001"  # type: ignore[union-attr]

    assert services.mark_customer(None, prospect, reason="Second order") is False
    assert LifecycleChange.objects.filter(contact=prospect).count() == 2

    fan = make_contact(sales, lifecycle_stage=LifecycleStage.EVANGELIST)
    assert services.mark_customer(None, fan, reason="Another order") is False
    fan.refresh_from_db()
    assert fan.lifecycle_stage == LifecycleStage.EVANGELIST


# --- consent --------------------------------------------------------------------------


def test_set_consent_keeps_one_row_per_channel_and_purpose_with_full_history(
    sales: User, manager: User
) -> None:
    contact = make_contact(sales, owner=sales)
    services.set_consent(
        sales, contact, channel="email", purpose="marketing", granted=True,
        source="web form", evidence="Ticked the newsletter box",
    )  # fmt: skip
    services.set_consent(
        manager, contact, channel="email", purpose="marketing", granted=False, source="phone call"
    )
    services.set_consent(
        sales, contact, channel="sms", purpose="service", granted=True, source="web form"
    )

    rows = {(c.channel, c.purpose): c for c in Consent.objects.filter(contact=contact)}
    assert set(rows) == {("email", "marketing"), ("sms", "service")}
    assert rows["email", "marketing"].status == ConsentStatus.WITHDRAWN
    assert rows["email", "marketing"].source == "phone call"

    history = list(
        Consent.history.filter(contact_id=contact.pk, channel="email").order_by("history_date")  # type: ignore[attr-defined]
    )
    assert [(h.status, h.source, h.history_user) for h in history] == [
        ("granted", "web form", sales),
        ("withdrawn", "phone call", manager),
    ]
    assert history[0].evidence == "Ticked the newsletter box"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"purpose": "gossip"}, "purpose"),
        ({"source": "  "}, "source"),
    ],
)
def test_set_consent_validates_its_input(sales: User, changes: dict[str, str], field: str) -> None:
    contact = make_contact(sales)
    values: dict[str, Any] = {
        "channel": "email", "purpose": "marketing", "granted": True, "source": "form", **changes
    }  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        services.set_consent(sales, contact, **values)
    assert field in _messages(caught.value)
    assert not Consent.objects.exists()


def test_may_contact_only_when_granted_and_not_trashed(sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    assert not services.may_contact(contact, channel="email", purpose="marketing")

    services.set_consent(
        sales, contact, channel="email", purpose="marketing", granted=True, source="form"
    )
    assert services.may_contact(contact, channel="email", purpose="marketing")
    assert not services.may_contact(contact, channel="email", purpose="surveys")
    assert not services.may_contact(contact, channel="sms", purpose="marketing")

    services.set_consent(
        sales, contact, channel="email", purpose="marketing", granted=False, source="unsubscribe"
    )
    assert not services.may_contact(contact, channel="email", purpose="marketing")

    services.set_consent(
        sales, contact, channel="email", purpose="marketing", granted=True, source="form"
    )
    services.trash_contact(sales, contact)
    assert not services.may_contact(contact, channel="email", purpose="marketing")


def test_with_consent_filters_to_those_who_granted(sales: User) -> None:
    granted = make_contact(sales)
    withdrawn = make_contact(sales)
    other_channel = make_contact(sales)
    make_contact(sales)  # never asked
    for contact, channel, yes in [
        (granted, "email", True),
        (withdrawn, "email", False),
        (other_channel, "sms", True),
    ]:
        services.set_consent(
            sales, contact, channel=channel, purpose="marketing", granted=yes, source="form"
        )

    found = queries.with_consent(Contact.objects.all(), channel="email", purpose="marketing")
    assert list(found) == [granted]


# --- custom fields --------------------------------------------------------------------


@pytest.fixture
def contact_fields(db: None) -> None:
    define_field("region", CustomFieldType.TEXT)
    define_field("score", CustomFieldType.NUMBER)
    define_field("since", CustomFieldType.DATE)
    define_field("tier", CustomFieldType.CHOICE, choices=["gold", "silver"])
    define_field("interests", CustomFieldType.MULTI_CHOICE, choices=["golf", "tennis", "chess"])
    define_field("newsletter", CustomFieldType.BOOLEAN)
    define_field("website", CustomFieldType.URL)
    define_field("account_code", CustomFieldType.TEXT, required=True)


VALID = {"account_code": "A-1"}


@pytest.mark.usefixtures("contact_fields")
def test_custom_field_values_are_stored_normalised(sales: User) -> None:
    contact = make_contact(
        sales,
        custom_fields={
            **VALID,
            "region": "  North  ",
            "score": "1,50",
            "since": date(2024, 1, 2),
            "tier": "gold",
            "interests": "tennis; golf",
            "newsletter": "yes",
            "website": "https://example.org/x",
        },
    )
    contact.refresh_from_db()
    assert contact.custom_fields == {
        "account_code": "A-1",
        "region": "North",
        "score": "1.5",
        "since": "2024-01-02",
        "tier": "gold",
        "interests": ["golf", "tennis"],
        "newsletter": True,
        "website": "https://example.org/x",
    }

    whole = make_contact(sales, custom_fields={**VALID, "score": "42.0", "newsletter": "no"})
    assert whole.custom_fields["score"] == "42"
    assert whole.custom_fields["newsletter"] is False


@pytest.mark.usefixtures("contact_fields")
@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"score": "lots"}, "score"),
        ({"since": "02/01/2024"}, "since"),
        ({"tier": "bronze"}, "tier"),
        ({"interests": ["golf", "darts"]}, "interests"),
        ({"newsletter": "maybe"}, "newsletter"),
        ({"website": "not a url"}, "website"),
        ({"nope": "x"}, "nope"),
    ],
)
def test_invalid_custom_field_values_name_the_field(
    sales: User, values: dict[str, Any], key: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        make_contact(sales, custom_fields={**VALID, **values})
    assert f"custom_fields.{key}" in _messages(caught.value)
    assert not Contact.objects.exists()


@pytest.mark.usefixtures("contact_fields")
def test_required_custom_field_is_checked_on_create_and_update(sales: User) -> None:
    with pytest.raises(ValidationError) as caught:
        make_contact(sales, custom_fields={"region": "North"})
    assert "Account code is required." in _messages(caught.value)["custom_fields.account_code"]

    contact = make_contact(sales, custom_fields={**VALID, "region": "North"})
    with pytest.raises(ValidationError) as caught:
        services.update_contact(sales, contact, {"custom_fields": {"account_code": ""}})
    assert "custom_fields.account_code" in _messages(caught.value)


@pytest.mark.usefixtures("contact_fields")
def test_update_merges_custom_fields_and_validates_them(sales: User) -> None:
    contact = make_contact(sales, custom_fields={**VALID, "region": "North", "tier": "gold"})

    with pytest.raises(ValidationError) as caught:
        services.update_contact(sales, contact, {"custom_fields": {"score": "x"}})
    assert "custom_fields.score" in _messages(caught.value)

    services.update_contact(sales, contact, {"custom_fields": {"score": "7", "region": ""}})
    contact.refresh_from_db()
    assert contact.custom_fields == {"account_code": "A-1", "tier": "gold", "score": "7"}


def test_company_custom_fields_are_checked_against_company_definitions(sales: User) -> None:
    define_field("employees", CustomFieldType.NUMBER, target=CustomFieldTarget.COMPANY)
    define_field("region", CustomFieldType.TEXT)  # a contact field: not valid on companies

    company = make_company(sales, custom_fields_values={"employees": "12"})
    assert company.custom_fields == {"employees": "12"}
    with pytest.raises(ValidationError) as caught:
        make_company(sales, custom_fields_values={"region": "North"})
    assert "custom_fields.region" in _messages(caught.value)
    with pytest.raises(ValidationError) as caught:
        services.update_company(sales, company, {"custom_fields": {"employees": "many"}})
    assert "custom_fields.employees" in _messages(caught.value)


# --- tags -----------------------------------------------------------------------------


def test_tags_are_reused_whatever_their_case(sales: User) -> None:
    first = make_contact(sales, tags=["VIP"])
    second = make_contact(sales, tags=["vip", " Vip "])
    company = make_company(sales, tags=["vIp"])
    services.tag(sales, [first], ["Vip", "Newsletter"])

    assert Tag.objects.count() == 2
    vip = Tag.objects.get(name="VIP")
    assert list(second.tags.all()) == [vip]
    assert list(company.tags.all()) == [vip]
    assert sorted(t.name for t in first.tags.all()) == ["Newsletter", "VIP"]


def test_untag_matches_tag_names_whatever_their_case(sales: User) -> None:
    contact = make_contact(sales, tags=["VIP", "Newsletter"])

    services.untag(sales, [contact], ["vip"])

    assert [t.name for t in contact.tags.all()] == ["Newsletter"]


def test_create_tag_refuses_an_empty_name_and_reuses_existing(sales: User) -> None:
    with pytest.raises(ValidationError):
        services.create_tag(sales, "  ")
    tag = services.create_tag(sales, "Partner")
    assert services.create_tag(sales, "PARTNER") == tag


# --- trash and restore ----------------------------------------------------------------


def test_trash_and_restore_a_contact(sales: User, admin: User, manager: User) -> None:
    contact = make_contact(sales, owner=sales)

    services.trash_contact(sales, contact)
    assert contact not in queries.contacts(admin)
    assert list(queries.contacts(admin, trash=True)) == [contact]

    with pytest.raises(PermissionDenied):
        services.restore_contact(manager, contact)
    with pytest.raises(PermissionDenied):
        services.restore_contact(sales, contact)
    contact.refresh_from_db()
    assert contact.deleted_at is not None

    services.restore_contact(admin, contact)
    contact.refresh_from_db()
    assert contact.deleted_at is None
    assert contact in queries.contacts(sales)

    with pytest.raises(ValidationError):
        services.restore_contact(admin, contact)


def test_trash_and_restore_a_company(sales: User, admin: User) -> None:
    company = make_company(sales, owner=sales)
    services.trash_company(sales, company)
    assert not queries.companies(admin).filter(pk=company.pk).exists()
    with pytest.raises(PermissionDenied):
        services.restore_company(sales, company)
    services.restore_company(admin, company)
    assert queries.companies(admin).filter(pk=company.pk).exists()


def test_trash_needs_the_delete_permission(sales: User, read_only: User, manager: User) -> None:
    teammates = make_contact(sales, owner=manager)
    with pytest.raises(PermissionDenied):
        services.trash_contact(read_only, teammates)
    # Sales may delete only their own records.
    with pytest.raises(PermissionDenied):
        services.trash_contact(sales, teammates)
    teammates.refresh_from_db()
    assert teammates.deleted_at is None


# --- optimistic locking and audit -------------------------------------------------------


def test_stale_version_is_refused_and_nothing_is_written(sales: User, manager: User) -> None:
    contact = make_contact(sales, first_name="Ann", owner=sales)
    mine = Contact.objects.get(pk=contact.pk)
    theirs = Contact.objects.get(pk=contact.pk)
    read_version = mine.version

    services.update_contact(manager, theirs, {"job_title": "CEO"}, expected_version=read_version)
    history_rows = contact.history.count()  # type: ignore[attr-defined]

    with pytest.raises(ConflictError):
        services.update_contact(
            sales, mine, {"first_name": "Anna", "job_title": "CTO"}, expected_version=read_version
        )

    fresh = Contact.objects.get(pk=contact.pk)
    assert (fresh.first_name, fresh.job_title) == ("Ann", "CEO")
    assert fresh.version == read_version + 1
    assert contact.history.count() == history_rows  # type: ignore[attr-defined]

    services.update_contact(sales, fresh, {"first_name": "Anna"}, expected_version=fresh.version)
    fresh.refresh_from_db()
    assert (fresh.first_name, fresh.full_name, fresh.job_title) == ("Anna", "Anna Tester", "CEO")


def test_update_refuses_fields_that_have_their_own_verbs(sales: User) -> None:
    contact = make_contact(sales)
    with pytest.raises(ValidationError) as caught:
        services.update_contact(sales, contact, {"lifecycle_stage": "customer", "email": "x@y.z"})
    assert set(_messages(caught.value)) == {"lifecycle_stage", "email"}


def test_sales_cannot_hand_a_record_to_another_team(sales: User, sales_south: User) -> None:
    contact = make_contact(sales, owner=sales)
    with pytest.raises(ValidationError) as caught:
        services.update_contact(sales, contact, {"owner": sales_south})
    assert "owner" in _messages(caught.value)
    contact.refresh_from_db()
    assert contact.owner == sales


def test_audit_history_records_the_actor_and_the_field_changes(sales: User, manager: User) -> None:
    contact = make_contact(sales, owner=sales)
    services.update_contact(manager, contact, {"job_title": "Buyer", "source": "Trade fair"})
    services.change_stage(sales, contact, LifecycleStage.PROSPECT, reason="Asked for a quote")

    entries = audit.entries(contact.history, what="Contact")  # type: ignore[attr-defined]
    stage, edit, created = entries[:3]
    assert (created.kind, created.who) == ("Created", sales)
    assert edit.who == manager
    assert {(c.field, c.old, c.new) for c in edit.fields} == {
        ("job title", "", "Buyer"),
        ("source", "", "Trade fair"),
    }
    assert stage.who == sales
    assert stage.reason == "Asked for a quote"
    assert [(c.field, c.old, c.new) for c in stage.fields] == [
        ("lifecycle stage", "lead", "prospect")
    ]


def test_email_history_keeps_who_added_and_removed_it(sales: User, manager: User) -> None:
    contact = make_contact(sales, owner=sales, emails=["one@example.org"])
    services.add_email(manager, contact, "two@example.org")
    services.remove_email(sales, contact, contact.emails.get(email="two@example.org"))

    rows = ContactEmail.history.filter(email="two@example.org").order_by("history_date")  # type: ignore[attr-defined]
    assert [(row.history_type, row.history_user) for row in rows] == [
        ("+", manager),
        ("-", sales),
    ]
