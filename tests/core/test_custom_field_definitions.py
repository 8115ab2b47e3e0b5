"""Custom field definitions: the services admins use, the settings pages and the API."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.core import custom_fields, services
from rapport.core.models import CustomFieldDefinition, CustomFieldTarget, CustomFieldType
from rapport.core.permissions import Role
from rapport.core.services import ConflictError
from rapport.customers import services as customer_services
from rapport.customers.models import Company, Contact
from rapport.users.models import User
from tests.customers.factories import make_company, make_contact

pytestmark = pytest.mark.django_db

NOT_ADMINS = [role for role in Role.values if role != Role.ADMIN]
TAG = re.compile(r"<[^>]+>")


def define(actor: User | None = None, **overrides: Any) -> CustomFieldDefinition:
    fields: dict[str, Any] = {
        "target": CustomFieldTarget.CONTACT,
        "key": "tier",
        "label": "Tier",
        "field_type": CustomFieldType.CHOICE,
        "choices": ["gold", "silver", "bronze"],
    }
    fields.update(overrides)
    return services.define_custom_field(actor=actor, **fields)


def messages_of(error: pytest.ExceptionInfo[ValidationError], field: str) -> list[str]:
    return list(error.value.message_dict[field])


def text_of(response: Any) -> str:
    return " ".join(html.unescape(TAG.sub(" ", response.content.decode())).split())


# --- services: defining --------------------------------------------------------------


def test_an_admin_defines_a_field_and_the_audit_history_says_who(admin: User) -> None:
    first = define(admin, key="tier", choices=[" gold ", "silver", "", "bronze"])
    second = define(
        admin, key="score", label="Score", field_type=CustomFieldType.NUMBER, choices=[]
    )
    first.refresh_from_db()
    assert first.choices == ["gold", "silver", "bronze"]  # trimmed, blank lines dropped
    assert (first.is_active, first.required, first.version) == (True, False, 1)
    assert second.position == first.position + 1  # new fields go after the others
    assert first.created_by == admin
    [created] = first.history.all()
    assert (created.history_type, created.history_user, created.history_change_reason) == (
        "+",
        admin,
        "Defined",
    )


def test_a_field_given_a_position_keeps_it(admin: User) -> None:
    assert define(admin, position=7).position == 7


@pytest.mark.parametrize(
    ("key", "complaint"),
    [
        ("", "A key is required."),
        ("Tier", "not a valid key"),
        ("1st_choice", "not a valid key"),
        ("has-dash", "not a valid key"),
        ("has space", "not a valid key"),
        ("double__underscore", "not a valid key"),
        ("k" * 51, "At most 50 characters."),
        ("email", "already a built-in field of contacts"),
        ("owner_id", "already a built-in field of contacts"),
        ("tags", "already a built-in field of contacts"),
        ("contains", "filters reserve"),
        ("in", "filters reserve"),
    ],
)
def test_a_key_must_be_a_slug_free_of_built_in_names(admin: User, key: str, complaint: str) -> None:
    with pytest.raises(ValidationError) as error:
        define(admin, key=key)
    assert complaint in " ".join(messages_of(error, "key"))
    assert not CustomFieldDefinition.objects.exists()


def test_built_in_names_are_those_of_the_target(admin: User) -> None:
    with pytest.raises(ValidationError) as error:
        define(admin, target=CustomFieldTarget.COMPANY, key="domain")
    assert "built-in field of companies" in messages_of(error, "key")[0]
    # "domain" is a company's, not a contact's.
    assert define(admin, target=CustomFieldTarget.CONTACT, key="domain").key == "domain"


def test_a_key_is_unique_per_target(admin: User) -> None:
    define(admin, key="tier", label="Tier")
    with pytest.raises(ValidationError) as error:
        define(admin, key="tier", label="Level")
    assert messages_of(error, "key") == ["Contacts already have the field 'Tier' with key 'tier'."]
    assert define(admin, key="tier", target=CustomFieldTarget.COMPANY).target == "company"


def test_a_retired_field_still_holds_its_key(admin: User) -> None:
    retired = services.retire_custom_field(actor=admin, definition=define(admin))
    with pytest.raises(ValidationError) as error:
        define(admin, key=retired.key)
    assert "reactivate it or choose another key" in messages_of(error, "key")[0]


@pytest.mark.parametrize(
    ("overrides", "field", "complaint"),
    [
        ({"label": "  "}, "label", "A label is required."),
        ({"label": "x" * 101}, "label", "At most 100 characters."),
        ({"help_text": "x" * 201}, "help_text", "At most 200 characters."),
        ({"target": "ticket"}, "target", "'ticket' is not one of: contact, company, deal."),
        ({"field_type": "colour"}, "field_type", "'colour' is not one of"),
        ({"choices": []}, "choices", "A choice field needs at least one choice."),
        ({"choices": ["gold", "gold"]}, "choices", "'gold' is listed twice."),
        ({"choices": ["gold;silver"]}, "choices", "contains ';'"),
        ({"choices": ["x" * 101]}, "choices", "longer than 100 characters"),
        ({"choices": "gold"}, "choices", "Choices must be a list of texts."),
        (
            {"field_type": CustomFieldType.TEXT, "choices": ["gold"]},
            "choices",
            "Only fields of type Choice or Several choices have choices",
        ),
        ({"position": -1}, "position", "between 0 and"),
        ({"position": "3"}, "position", "whole number"),
        ({"required": "yes"}, "required", "Must be true or false."),
    ],
)
def test_bad_definitions_are_refused_with_the_field_to_blame(
    admin: User, overrides: dict[str, Any], field: str, complaint: str
) -> None:
    with pytest.raises(ValidationError) as error:
        define(admin, **overrides)
    assert complaint in " ".join(messages_of(error, field))
    assert not CustomFieldDefinition.objects.exists()


# --- services: who may -----------------------------------------------------------------


@pytest.mark.parametrize("role", NOT_ADMINS)
def test_only_admins_manage_definitions(role: str, user_of_role: Callable[[str], User]) -> None:
    someone = user_of_role(role)
    with pytest.raises(PermissionDenied):
        define(someone)
    field = define(None)  # Rapport itself (commands, jobs) may
    with pytest.raises(PermissionDenied):
        services.change_custom_field(actor=someone, definition=field, changes={"label": "Mine"})
    with pytest.raises(PermissionDenied):
        services.retire_custom_field(actor=someone, definition=field)
    services.retire_custom_field(actor=None, definition=field)
    with pytest.raises(PermissionDenied):
        services.reactivate_custom_field(actor=someone, definition=field)
    field.refresh_from_db()
    assert (field.label, field.is_active) == ("Tier", False)
    # ... while every role reads the definitions, retired ones included.
    assert list(custom_fields.visible_definitions(someone)) == [field]


# --- services: changing ------------------------------------------------------------------


def test_label_help_position_and_required_change_with_an_audit_entry(admin: User) -> None:
    field = define(admin)
    services.change_custom_field(
        actor=admin,
        definition=field,
        changes={
            "label": " Customer tier ",
            "help_text": "From the last review",
            "position": 3,
            "required": True,
            "key": "tier",  # unchanged: fine
            "target": "contact",
        },
        expected_version=1,
    )
    field.refresh_from_db()
    assert (field.label, field.help_text, field.position, field.required, field.version) == (
        "Customer tier",
        "From the last review",
        3,
        True,
        2,
    )
    latest = field.history.order_by("-history_id").first()
    assert latest is not None
    assert (latest.history_user, latest.history_change_reason) == (admin, "Changed")
    changed = {change.field for change in latest.diff_against(latest.prev_record).changes}
    assert changed == {"label", "help_text", "position", "required"}


@pytest.mark.parametrize(
    ("changes", "field_name", "complaint"),
    [
        ({"key": "level"}, "key", "The key never changes"),
        ({"target": "company"}, "target", "A field stays on the records it was defined for"),
        ({"is_active": False}, "is_active", "cannot be changed here"),
        ({"version": 9}, "version", "cannot be changed here"),
    ],
)
def test_key_target_and_other_attributes_never_change(
    admin: User, changes: dict[str, Any], field_name: str, complaint: str
) -> None:
    field = define(admin)
    with pytest.raises(ValidationError) as error:
        services.change_custom_field(actor=admin, definition=field, changes=changes)
    assert complaint in messages_of(error, field_name)[0]
    field.refresh_from_db()
    assert (field.key, field.target, field.is_active, field.version) == (
        "tier",
        "contact",
        True,
        1,
    )


def test_a_stale_version_is_a_conflict(admin: User) -> None:
    field = define(admin)
    services.change_custom_field(actor=admin, definition=field, changes={"label": "A"})
    stale = CustomFieldDefinition.objects.get(pk=field.pk)
    stale.version = 1
    with pytest.raises(ConflictError):
        services.change_custom_field(
            actor=admin, definition=stale, changes={"label": "B"}, expected_version=1
        )
    with pytest.raises(ConflictError):
        services.retire_custom_field(actor=admin, definition=stale, expected_version=1)
    field.refresh_from_db()
    assert (field.label, field.is_active) == ("A", True)


def test_the_type_changes_while_no_record_holds_a_value(admin: User) -> None:
    field = define(admin, key="code", label="Code", field_type=CustomFieldType.TEXT, choices=[])
    make_contact(admin)  # a contact without a value does not count
    services.change_custom_field(
        actor=admin, definition=field, changes={"field_type": CustomFieldType.NUMBER}
    )
    field.refresh_from_db()
    assert field.field_type == CustomFieldType.NUMBER


@pytest.mark.parametrize("trashed", [False, True])
def test_the_type_stays_while_records_hold_values(admin: User, trashed: bool) -> None:
    field = define(admin, key="code", label="Code", field_type=CustomFieldType.TEXT, choices=[])
    make_contact(admin, custom_fields={"code": "A-1"})
    holder = make_contact(admin, custom_fields={"code": "B-2"})
    if trashed:  # a trashed contact keeps its value and may come back
        customer_services.trash_contact(admin, holder)
    with pytest.raises(ValidationError) as error:
        services.change_custom_field(
            actor=admin, definition=field, changes={"field_type": CustomFieldType.NUMBER}
        )
    assert messages_of(error, "field_type") == [
        "2 contacts have a value for Code, so its type cannot change. "
        "Retire it and define a new field with the new type instead."
    ]
    field.refresh_from_db()
    assert (field.field_type, field.version) == (CustomFieldType.TEXT, 1)


def test_leaving_the_choice_types_drops_the_choices(admin: User) -> None:
    field = define(admin)
    services.change_custom_field(
        actor=admin, definition=field, changes={"field_type": CustomFieldType.MULTI_CHOICE}
    )
    field.refresh_from_db()
    assert field.choices == ["gold", "silver", "bronze"]
    services.change_custom_field(
        actor=admin, definition=field, changes={"field_type": CustomFieldType.TEXT}
    )
    field.refresh_from_db()
    assert (field.field_type, field.choices) == (CustomFieldType.TEXT, [])


def test_a_choice_in_use_cannot_be_removed(admin: User) -> None:
    field = define(admin)
    make_contact(admin, custom_fields={"tier": "gold"})
    make_contact(admin, custom_fields={"tier": "gold"})
    make_contact(admin, custom_fields={"tier": "silver"})
    with pytest.raises(ValidationError) as error:
        services.change_custom_field(
            actor=admin, definition=field, changes={"choices": ["platinum", "bronze"]}
        )
    assert messages_of(error, "choices") == [
        "'gold' is used by 2 contacts, so it cannot be removed; change their value first.",
        "'silver' is used by 1 contact, so it cannot be removed; change their value first.",
    ]
    field.refresh_from_db()
    assert field.choices == ["gold", "silver", "bronze"]
    # Unused choices go; new ones and a new order are fine.
    services.change_custom_field(
        actor=admin, definition=field, changes={"choices": ["silver", "gold", "platinum"]}
    )
    field.refresh_from_db()
    assert field.choices == ["silver", "gold", "platinum"]


def test_a_choice_picked_among_several_cannot_be_removed(admin: User) -> None:
    field = define(
        admin,
        target=CustomFieldTarget.COMPANY,
        key="interests",
        label="Interests",
        field_type=CustomFieldType.MULTI_CHOICE,
        choices=["golf", "tennis", "chess"],
    )
    make_company(admin, custom_fields_values={"interests": ["golf", "tennis"]})
    make_company(admin, custom_fields_values={"interests": ["chess"]})
    make_contact(admin)  # contacts have no such field
    with pytest.raises(ValidationError) as error:
        services.change_custom_field(actor=admin, definition=field, changes={"choices": ["golf"]})
    assert messages_of(error, "choices") == [
        "'tennis' is used by 1 company, so it cannot be removed; change their value first.",
        "'chess' is used by 1 company, so it cannot be removed; change their value first.",
    ]
    company = Company.objects.get(custom_fields__interests=["chess"])
    customer_services.update_company(admin, company, {"custom_fields": {"interests": ["golf"]}})
    services.change_custom_field(
        actor=admin, definition=field, changes={"choices": ["golf", "tennis"]}
    )
    field.refresh_from_db()
    assert field.choices == ["golf", "tennis"]


# --- services: retiring --------------------------------------------------------------------


def test_a_retired_field_keeps_values_and_refuses_new_ones(admin: User) -> None:
    field = define(admin)
    contact = make_contact(admin, custom_fields={"tier": "gold"})
    services.retire_custom_field(actor=admin, definition=field, expected_version=1)
    field.refresh_from_db()
    assert (field.is_active, field.version) == (False, 2)
    assert field.history.order_by("-history_id").first().history_change_reason == "Retired"  # type: ignore[union-attr]
    contact.refresh_from_db()
    assert contact.custom_fields == {"tier": "gold"}
    with pytest.raises(ValidationError) as error:
        customer_services.update_contact(admin, contact, {"custom_fields": {"tier": "silver"}})
    assert "There is no custom field 'tier'" in messages_of(error, "custom_fields.tier")[0]
    with pytest.raises(ValidationError, match="already retired"):
        services.retire_custom_field(actor=admin, definition=field)

    services.reactivate_custom_field(actor=admin, definition=field)
    field.refresh_from_db()
    assert field.is_active
    customer_services.update_contact(admin, contact, {"custom_fields": {"tier": "silver"}})
    contact.refresh_from_db()
    assert contact.custom_fields == {"tier": "silver"}
    with pytest.raises(ValidationError, match="active already"):
        services.reactivate_custom_field(actor=admin, definition=field)


def test_a_required_retired_field_is_no_longer_required(admin: User) -> None:
    field = define(admin, required=True)
    with pytest.raises(ValidationError):
        make_contact(admin)
    services.retire_custom_field(actor=admin, definition=field)
    assert make_contact(admin).custom_fields == {}


def test_retired_fields_vanish_from_the_contact_form_list_and_filters(
    admin: User, sales: User, client_for: Any
) -> None:
    field = define(admin)
    make_contact(sales, first_name="Goldie", custom_fields={"tier": "gold"})
    make_contact(sales, first_name="Silvio", custom_fields={"tier": "silver"})
    browser = client_for(sales)

    def seen() -> tuple[bool, bool, bool]:
        form = browser.get(reverse("customers:contact-new")).content.decode()
        listing = browser.get("/contacts/", {"cols": "full_name,cf_tier"})
        return (
            'name="cf_tier"' in form,
            'name="cf_tier"' in listing.content.decode(),
            "Tier" in text_of(listing),
        )

    assert seen() == (True, True, True)
    services.retire_custom_field(actor=admin, definition=field)
    assert seen() == (False, False, False)
    # The filter is gone, so both contacts are listed again.
    filtered = browser.get("/contacts/", {"cf_tier": "gold"})
    assert "Goldie" in text_of(filtered)
    assert "Silvio" in text_of(filtered)
    api = browser.get("/api/v1/contacts", {"cf_tier": "gold"}).json()
    assert len(api["results"]) == 2


# --- settings pages ----------------------------------------------------------------------


def page_urls(field: CustomFieldDefinition) -> list[str]:
    return [
        reverse("settings:custom-fields"),
        reverse("settings:custom-field-new"),
        reverse("settings:custom-field", args=[field.pk]),
        reverse("settings:custom-field-retire", args=[field.pk]),
        reverse("settings:custom-field-reactivate", args=[field.pk]),
    ]


@pytest.mark.parametrize("role", Role.values)
def test_settings_pages_are_for_admins_only(
    role: str, user_of_role: Callable[[str], User], client_for: Any
) -> None:
    field = define(None)
    browser = client_for(user_of_role(role))
    account = browser.get(reverse("settings:account")).content.decode()
    assert (reverse("settings:custom-fields") in account) is (role == Role.ADMIN)
    for url in page_urls(field):
        got = browser.get(url)
        if role == Role.ADMIN:
            assert got.status_code == (405 if url.endswith(("/retire/", "/reactivate/")) else 200)
        else:
            assert got.status_code == 403, url
            attempt = {
                "target": "contact",
                "key": "sneaky",
                "label": "Taken over",
                "field_type": "text",
                "position": "1",
            }
            assert browser.post(url, attempt).status_code == 403, url
    if role != Role.ADMIN:
        field.refresh_from_db()
        assert (field.label, field.is_active, field.version) == ("Tier", True, 1)
        assert not CustomFieldDefinition.objects.filter(key="sneaky").exists()


def test_anonymous_visitors_are_sent_to_log_in(client: Any) -> None:
    field = define(None)
    for url in page_urls(field):
        got = client.get(url)
        assert got.status_code == 302
        assert got["Location"].startswith(reverse("login"))


def test_the_list_shows_each_target_with_its_fields(admin: User, client_for: Any) -> None:
    define(admin, key="tier", label="Tier")
    retired = define(admin, key="old_code", label="Old code", field_type="text", choices=[])
    services.retire_custom_field(actor=admin, definition=retired)
    define(
        admin,
        target="company",
        key="account_plan",
        label="Account plan",
        field_type="text",
        choices=[],
    )
    browser = client_for(admin)
    text = text_of(browser.get(reverse("settings:custom-fields")))
    assert text.index("Contacts") < text.index("Tier") < text.index("Old code")
    assert "Old code old_code Text — no" in text
    assert "retired" in text
    assert text.index("Add a field to companies") < text.index("Account plan")
    assert text.index("Account plan") < text.index("Add a field to deals")
    assert "No custom fields on deals." in text
    only_companies = text_of(browser.get(reverse("settings:custom-fields"), {"target": "company"}))
    assert "Account plan" in only_companies
    assert "Tier" not in only_companies
    active = text_of(browser.get(reverse("settings:custom-fields"), {"is_active": "false"}))
    assert "Old code" in active
    assert "Tier" not in active


def test_an_admin_adds_a_field_with_choices_one_per_line(admin: User, client_for: Any) -> None:
    browser = client_for(admin)
    form = browser.get(reverse("settings:custom-field-new"), {"target": "company"})
    assert 'value="company" selected' in form.content.decode()
    response = browser.post(
        reverse("settings:custom-field-new"),
        {
            "target": "company",
            "key": "segment",
            "label": "Segment",
            "field_type": "choice",
            "choices": "Retail\r\n  Wholesale \r\n\r\nPublic sector\r\n",
            "help_text": "Where they sell",
            "position": "",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('settings:custom-fields')}?target=company"
    field = CustomFieldDefinition.objects.get(key="segment")
    assert (field.target, field.choices, field.help_text, field.created_by) == (
        "company",
        ["Retail", "Wholesale", "Public sector"],
        "Where they sell",
        admin,
    )
    assert "Segment is added" in text_of(browser.get(response["Location"]))


def test_the_add_form_shows_the_services_refusal_next_to_the_field(
    admin: User, client_for: Any
) -> None:
    response = client_for(admin).post(
        reverse("settings:custom-field-new"),
        {"target": "contact", "key": "email", "label": "Mail", "field_type": "text"},
    )
    assert response.status_code == 200
    assert "'email' is already a built-in field of contacts" in text_of(response)
    assert 'class="field has-error"' in response.content.decode()
    assert not CustomFieldDefinition.objects.exists()


def test_editing_refuses_to_remove_a_used_choice(admin: User, client_for: Any) -> None:
    field = define(admin)
    make_contact(admin, custom_fields={"tier": "bronze"})
    browser = client_for(admin)
    url = reverse("settings:custom-field", args=[field.pk])
    page = browser.get(url)
    assert "gold\nsilver\nbronze</textarea>" in page.content.decode()
    data = {
        "label": "Level",
        "field_type": "choice",
        "choices": "gold\nsilver",
        "help_text": "",
        "position": str(field.position),
        "version": "1",
    }
    refused = browser.post(url, data)
    assert refused.status_code == 200
    assert "'bronze' is used by 1 contact, so it cannot be removed" in text_of(refused)
    field.refresh_from_db()
    assert (field.label, field.choices) == ("Tier", ["gold", "silver", "bronze"])

    saved = browser.post(url, {**data, "choices": "gold\nsilver\nbronze\nplatinum"})
    assert saved.status_code == 302
    field.refresh_from_db()
    assert (field.label, field.choices) == ("Level", ["gold", "silver", "bronze", "platinum"])
    history = text_of(browser.get(url))
    assert "Changed" in history
    assert "Label: Tier → Level" in history

    stale = browser.post(url, {**data, "label": "Late", "choices": "gold\nsilver\nbronze"})
    assert "changed by someone else" in text_of(stale)
    field.refresh_from_db()
    assert field.label == "Level"


def test_retire_and_reactivate_from_the_edit_page(admin: User, client_for: Any) -> None:
    field = define(admin)
    browser = client_for(admin)
    edit = browser.get(reverse("settings:custom-field", args=[field.pk])).content.decode()
    assert reverse("settings:custom-field-retire", args=[field.pk]) in edit
    retired = browser.post(
        reverse("settings:custom-field-retire", args=[field.pk]), {"version": "1"}, follow=True
    )
    assert "Tier is retired" in text_of(retired)
    field.refresh_from_db()
    assert not field.is_active
    edit = browser.get(reverse("settings:custom-field", args=[field.pk])).content.decode()
    assert reverse("settings:custom-field-reactivate", args=[field.pk]) in edit
    stale = browser.post(
        reverse("settings:custom-field-reactivate", args=[field.pk]), {"version": "1"}, follow=True
    )
    assert "changed by someone else" in text_of(stale)
    browser.post(reverse("settings:custom-field-reactivate", args=[field.pk]), {"version": "2"})
    field.refresh_from_db()
    assert field.is_active


def test_the_list_page_costs_the_same_queries_for_few_and_many_fields(
    admin: User, client_for: Any
) -> None:
    browser = client_for(admin)
    url = reverse("settings:custom-fields")

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert browser.get(url).status_code == 200
        return len(queries)

    for number in range(3):
        define(admin, key=f"few_{number}", label=f"Few {number}")
    browser.get(url)  # warm up the session
    few = count_queries()
    for number in range(30):
        target = CustomFieldTarget.values[number % 3]
        define(admin, target=target, key=f"many_{number}", label=f"Many {number}")
    many = count_queries()
    assert "Many 29" in text_of(browser.get(url))
    assert many == few


# --- API ------------------------------------------------------------------------------------


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert set(body) == {"detail", "errors"}
    return body


@pytest.mark.parametrize("role", Role.values)
def test_every_role_reads_definitions_and_only_admins_write(
    role: str, user_of_role: Callable[[str], User], api_for: Any
) -> None:
    field = define(None)
    define(None, target="company", key="segment", label="Segment", field_type="text", choices=[])
    api = api_for(user_of_role(role))
    listed = api.get("/api/v1/custom-fields")
    assert listed.status_code == 200
    assert [row["key"] for row in listed.json()["results"]] == ["segment", "tier"]
    one = api.get(f"/api/v1/custom-fields/{field.pk}")
    assert one.status_code == 200
    assert one["ETag"] == f'"{field.pk}-1"'
    new = {"target": "contact", "key": "code", "label": "Code", "field_type": "text"}
    writes = [
        api.post("/api/v1/custom-fields", new),
        api.patch(f"/api/v1/custom-fields/{field.pk}", {"label": "Renamed"}),
        api.post(f"/api/v1/custom-fields/{field.pk}/reactivate"),
        api.delete(f"/api/v1/custom-fields/{field.pk}"),
    ]
    if role == Role.ADMIN:
        assert [w.status_code for w in writes] == [201, 200, 400, 204]
        return
    for write in writes:
        error_of(write, 403)
    field.refresh_from_db()
    assert (field.label, field.is_active, field.version) == ("Tier", True, 1)
    assert not CustomFieldDefinition.objects.filter(key="code").exists()


def test_anonymous_api_requests_are_401() -> None:
    from rest_framework.test import APIClient

    error_of(APIClient().get("/api/v1/custom-fields"), 401)


def test_the_list_filters_by_target_and_is_active(admin: User, api_for: Any) -> None:
    define(admin, key="tier")
    old = define(admin, key="old_code", field_type="text", choices=[])
    services.retire_custom_field(actor=admin, definition=old)
    define(admin, target="company", key="segment", field_type="text", choices=[])
    api = api_for(admin)

    def keys(**query: str) -> list[str]:
        response = api.get("/api/v1/custom-fields", query)
        assert response.status_code == 200, response.content
        return [row["key"] for row in response.json()["results"]]

    assert keys() == ["segment", "tier", "old_code"]
    assert keys(target="contact") == ["tier", "old_code"]
    assert keys(target="contact", is_active="true") == ["tier"]
    assert keys(is_active="false") == ["old_code"]
    assert keys(ordering="key") == ["old_code", "segment", "tier"]
    assert keys(limit="1") == ["segment"]
    assert "target" in error_of(api.get("/api/v1/custom-fields?target=ticket"), 400)["errors"]


def test_an_admin_creates_a_field_through_the_api(admin: User, api_for: Any) -> None:
    created = api_for(admin).post(
        "/api/v1/custom-fields",
        {
            "target": "contact",
            "key": "interests",
            "label": "Interests",
            "field_type": "multi_choice",
            "choices": ["golf", "tennis"],
            "required": False,
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    field = CustomFieldDefinition.objects.get(key="interests")
    assert created["ETag"] == f'"{field.pk}-1"'
    assert body["choices"] == ["golf", "tennis"]
    assert (body["is_active"], body["version"], body["position"]) == (True, 1, 1)
    # Contacts take values for it at once.
    contact = make_contact(admin, custom_fields={"interests": "tennis;golf"})
    assert contact.custom_fields == {"interests": ["golf", "tennis"]}


@pytest.mark.parametrize(
    ("body", "field", "complaint"),
    [
        ({"key": "email"}, "key", "built-in field of contacts"),
        ({"key": "Bad-Key"}, "key", "not a valid key"),
        ({"key": "tier"}, "key", "already have the field 'Tier'"),
        ({"field_type": "choice", "choices": []}, "choices", "needs at least one choice"),
        ({"target": "ticket"}, "target", "not a valid choice"),
        ({"is_active": False}, "is_active", "Retire a field with DELETE"),
    ],
)
def test_api_refusals_name_the_field(
    admin: User, api_for: Any, body: dict[str, Any], field: str, complaint: str
) -> None:
    define(admin)
    data = {"target": "contact", "key": "code", "label": "Code", "field_type": "text", **body}
    refused = error_of(api_for(admin).post("/api/v1/custom-fields", data), 400)
    assert complaint in " ".join(refused["errors"][field])
    assert complaint in refused["detail"]
    assert CustomFieldDefinition.objects.count() == 1


def test_patch_with_if_match_and_the_rules_of_change(admin: User, api_for: Any) -> None:
    field = define(admin)
    make_contact(admin, custom_fields={"tier": "gold"})
    api = api_for(admin)
    url = f"/api/v1/custom-fields/{field.pk}"
    etag = api.get(url)["ETag"]
    changed = api.patch(url, {"label": "Level", "required": True}, HTTP_IF_MATCH=etag)
    assert changed.status_code == 200, changed.content
    assert changed["ETag"] == f'"{field.pk}-2"'
    assert (changed.json()["label"], changed.json()["required"]) == ("Level", True)
    error_of(api.patch(url, {"label": "Stale"}, HTTP_IF_MATCH=etag), 412)

    key = error_of(api.patch(url, {"key": "level"}), 400)
    assert "The key never changes" in key["errors"]["key"][0]
    kind = error_of(api.patch(url, {"field_type": "text"}), 400)
    assert kind["errors"]["field_type"] == [
        "1 contact has a value for Level, so its type cannot change. "
        "Retire it and define a new field with the new type instead."
    ]
    choice = error_of(api.patch(url, {"choices": ["silver"]}), 400)
    assert choice["errors"]["choices"][0].startswith("'gold' is used by 1 contact")
    field.refresh_from_db()
    assert (field.label, field.field_type, field.choices, field.version) == (
        "Level",
        "choice",
        ["gold", "silver", "bronze"],
        2,
    )


def test_delete_retires_and_reactivate_brings_back(admin: User, api_for: Any) -> None:
    field = define(admin)
    contact = make_contact(admin, custom_fields={"tier": "gold"})
    api = api_for(admin)
    url = f"/api/v1/custom-fields/{field.pk}"
    error_of(api.delete(url, HTTP_IF_MATCH=f'"{field.pk}-7"'), 412)
    assert api.delete(url, HTTP_IF_MATCH=f'"{field.pk}-1"').status_code == 204
    shown = api.get(url)
    assert shown.json()["is_active"] is False  # still there, retired
    assert "already retired" in error_of(api.delete(url), 400)["detail"]
    contact_body = api.get(f"/api/v1/contacts/{contact.pk}").json()
    assert contact_body["custom_fields"] == {"tier": "gold"}  # values are kept
    written = api.patch(f"/api/v1/contacts/{contact.pk}", {"custom_fields": {"tier": "silver"}})
    assert "There is no custom field 'tier'" in error_of(written, 400)["detail"]

    back = api.post(f"{url}/reactivate", HTTP_IF_MATCH=shown["ETag"])
    assert back.status_code == 200, back.content
    assert (back.json()["is_active"], back["ETag"]) == (True, f'"{field.pk}-3"')
    assert Contact.objects.get(pk=contact.pk).custom_fields == {"tier": "gold"}


def test_unknown_definitions_are_404(admin: User, read_only: User, api_for: Any) -> None:
    error_of(api_for(admin).get("/api/v1/custom-fields/999999"), 404)
    error_of(api_for(admin).patch("/api/v1/custom-fields/999999", {"label": "x"}), 404)
    error_of(api_for(read_only).get("/api/v1/custom-fields/999999"), 404)


def test_the_schema_documents_the_endpoint(client_for: Any, read_only: User) -> None:
    schema = client_for(read_only).get("/api/v1/schema/?format=json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/custom-fields"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/custom-fields/{id}"])
    assert "put" not in paths["/api/v1/custom-fields/{id}"]
    assert "/api/v1/custom-fields/{id}/reactivate" in paths
    patch = paths["/api/v1/custom-fields/{id}"]["patch"]
    assert "If-Match" in {p["name"] for p in patch["parameters"] if p["in"] == "header"}
    listing = paths["/api/v1/custom-fields"]["get"]
    assert {"target", "is_active", "limit", "cursor", "ordering"} <= {
        p["name"] for p in listing["parameters"]
    }
