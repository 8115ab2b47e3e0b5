"""Contact and company pages: lists, export, saved views, bulk actions, forms, detail actions."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

import pytest
from django.http import HttpResponse

from rapport.core.models import CustomFieldType, SavedView
from rapport.customers import queries, services
from rapport.customers.choices import LifecycleStage
from rapport.customers.models import Company, Consent, Contact, Tag
from rapport.users.models import User
from tests.customers.factories import define_field, make_company, make_contact

pytestmark = pytest.mark.django_db


def text_of(response: HttpResponse) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


def headers(response: HttpResponse) -> list[str]:
    """The column labels of the list table, without sort arrows."""
    cells = re.findall(r'<th scope="col">(.*?)</th>', response.content.decode(), re.S)
    return [re.sub(r"<[^>]+>|[↑↓]", "", cell).strip() for cell in cells]


def row_names(response: HttpResponse, names: list[str]) -> list[str]:
    """``names`` in the order the page shows them."""
    content = text_of(response)
    return sorted((name for name in names if name in content), key=content.index)


def csv_rows(response: Any) -> tuple[str, list[list[str]]]:
    assert response.status_code == 200
    raw = b"".join(response.streaming_content).decode("utf-8")
    return raw, list(csv.reader(io.StringIO(raw.removeprefix("\ufeff"))))


@pytest.fixture
def people(sales: User, admin: User) -> dict[str, Contact]:
    return {
        "anna": make_contact(
            admin, first_name="Anna", last_name="Alder", owner=sales, tags=["VIP"],
            lifecycle_stage=LifecycleStage.CUSTOMER, phones=["+4930111111"],
            emails=["anna@alder.example"],
        ),
        "bert": make_contact(
            admin, first_name="Bert", last_name="Birch", owner=None,
            lifecycle_stage=LifecycleStage.LEAD, emails=["bert@birch.example"],
        ),
        "carl": make_contact(
            admin, first_name="Carl", last_name="Cedar", owner=sales,
            lifecycle_stage=LifecycleStage.CUSTOMER, emails=["carl@cedar.example"],
        ),
    }  # fmt: skip


NAMES = ["Anna Alder", "Bert Birch", "Carl Cedar"]


# --- the list page ----------------------------------------------------------------------


def test_list_filters_by_stage_owner_and_tag(
    people: dict[str, Contact], sales: User, client_for: Any
) -> None:
    web = client_for(sales)
    assert row_names(web.get("/contacts/?lifecycle_stage=customer"), NAMES) == [
        "Anna Alder",
        "Carl Cedar",
    ]
    assert row_names(web.get("/contacts/?owner=none"), NAMES) == ["Bert Birch"]
    vip = Tag.objects.get(name="VIP")
    assert row_names(web.get(f"/contacts/?tag={vip.pk}"), NAMES) == ["Anna Alder"]
    assert row_names(web.get("/contacts/?q=birch"), NAMES) == ["Bert Birch"]


def test_list_filters_by_company_name(sales: User, client_for: Any) -> None:
    acme = make_company(sales, name="Acme")
    make_contact(sales, first_name="Ann", last_name="Acme", companies=[(acme, "Buyer")])
    make_contact(sales, first_name="Ole", last_name="Other")
    page = client_for(sales).get("/contacts/?company_name=acm")
    assert row_names(page, ["Ann Acme", "Ole Other"]) == ["Ann Acme"]


def test_invalid_filter_shows_a_message_instead_of_rows(
    people: dict[str, Contact], sales: User, client_for: Any
) -> None:
    text = text_of(client_for(sales).get("/contacts/?created_after=someday"))
    assert "Some filters are not valid" in text
    assert row_names(client_for(sales).get("/contacts/?created_after=someday"), NAMES) == []


def test_sort_links_toggle_the_direction(
    people: dict[str, Contact], sales: User, client_for: Any
) -> None:
    web = client_for(sales)
    ascending = web.get("/contacts/")
    assert row_names(ascending, NAMES) == NAMES
    assert 'href="?sort=-full_name" aria-sort="ascending"' in ascending.content.decode()

    descending = web.get("/contacts/?sort=-full_name")
    assert row_names(descending, NAMES) == list(reversed(NAMES))
    assert 'href="?sort=full_name" aria-sort="descending"' in descending.content.decode()

    # Another column starts ascending, and the other parameters are kept.
    filtered = web.get("/contacts/?lifecycle_stage=customer&sort=-full_name").content.decode()
    assert "lifecycle_stage=customer&amp;sort=updated_at" in filtered


def test_unknown_sort_falls_back_to_the_default(
    people: dict[str, Contact], sales: User, client_for: Any
) -> None:
    assert row_names(client_for(sales).get("/contacts/?sort=password"), NAMES) == NAMES


def test_chosen_columns_comma_separated(
    people: dict[str, Contact], sales: User, client_for: Any
) -> None:
    web = client_for(sales)
    assert headers(web.get("/contacts/")) == ["Name", "E-mail", "Stage", "Owner", "Tags", "Updated"]
    chosen = web.get("/contacts/?cols=full_name,phone,job_title")
    assert headers(chosen) == ["Name", "Phone", "Job title"]
    assert "+4930111111" in text_of(chosen)


def test_chosen_columns_from_the_column_checkboxes(
    people: dict[str, Contact], sales: User, client_for: Any
) -> None:
    """The column chooser is a group of ``cols`` checkboxes: each ticked one is a parameter."""
    page = client_for(sales).get("/contacts/", {"cols": ["full_name", "phone", "job_title"]})
    assert headers(page) == ["Name", "Phone", "Job title"]


def test_custom_field_column_and_filter(sales: User, client_for: Any) -> None:
    define_field("region", CustomFieldType.TEXT, label="Region")
    make_contact(sales, first_name="Nora", last_name="North", custom_fields={"region": "North"})
    make_contact(sales, first_name="Sven", last_name="South", custom_fields={"region": "South"})
    page = client_for(sales).get("/contacts/?cols=full_name,cf_region&cf_region=North")
    assert headers(page) == ["Name", "Region"]
    assert row_names(page, ["Nora North", "Sven South"]) == ["Nora North"]


def test_htmx_request_gets_only_the_results(
    people: dict[str, Contact], sales: User, client_for: Any
) -> None:
    response = client_for(sales).get("/contacts/?lifecycle_stage=lead", HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<div id="list-results">')
    assert "<html" not in content
    assert 'id="list-filters"' not in content
    assert row_names(response, NAMES) == ["Bert Birch"]

    full = client_for(sales).get("/contacts/?lifecycle_stage=lead").content.decode()
    assert "<html" in full
    assert 'id="list-filters"' in full


def test_count_endpoint_counts_the_filtered_rows(
    people: dict[str, Contact], sales: User, client_for: Any
) -> None:
    web = client_for(sales)
    assert web.get("/contacts/count/?lifecycle_stage=customer").content.decode() == "2 matches"
    assert web.get("/contacts/count/?lifecycle_stage=lead").content.decode() == "1 match"
    assert web.get("/contacts/count/?created_after=bad").content.decode() == "—"


def test_keyset_pages_on_the_web_list(sales: User, client_for: Any) -> None:
    names = [f"Pat {index:02d}" for index in range(30)]
    for index in range(30):
        make_contact(sales, first_name="Pat", last_name=f"{index:02d}")
    web = client_for(sales)
    first = web.get("/contacts/?size=25")
    assert row_names(first, names) == names[:25]
    link = re.search(r'href="\?([^"]*cursor=[^"]+)"', first.content.decode())
    assert link is not None
    second = web.get("/contacts/?" + html.unescape(link.group(1)))
    assert row_names(second, names) == names[25:]
    assert "← Previous" in text_of(second)


# --- CSV export ---------------------------------------------------------------------------


def test_export_streams_the_filtered_rows_with_the_chosen_columns(
    people: dict[str, Contact], sales: User, client_for: Any
) -> None:
    response = client_for(sales).get(
        "/contacts/export.csv?lifecycle_stage=customer&cols=full_name,email,tags&sort=-full_name"
    )
    raw, rows = csv_rows(response)
    assert raw.startswith("\ufeff")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    assert rows == [
        ["Name", "E-mail", "Tags"],
        ["Carl Cedar", "carl@cedar.example", ""],
        ["Anna Alder", "anna@alder.example", "VIP"],
    ]


def test_export_link_carries_the_current_view(
    people: dict[str, Contact], sales: User, client_for: Any
) -> None:
    page = client_for(sales).get("/contacts/?lifecycle_stage=lead&cols=full_name")
    link = re.search(r'id="export-link" href="([^"]+)"', page.content.decode())
    assert link is not None
    _, rows = csv_rows(client_for(sales).get(html.unescape(link.group(1))))
    assert rows == [["Name"], ["Bert Birch"]]


def test_export_neutralises_formulas(sales: User, client_for: Any) -> None:
    formula = '=HYPERLINK("http://evil.example","Click")'
    make_contact(sales, first_name=formula, last_name="", emails=["f@example.org"])
    make_contact(sales, first_name="@SUM(A1)", last_name="", emails=["g@example.org"])
    _, rows = csv_rows(client_for(sales).get("/contacts/export.csv?cols=full_name,email"))
    assert ["'" + formula, "f@example.org"] in rows
    assert ["'@SUM(A1)", "g@example.org"] in rows


def test_company_export(sales: User, client_for: Any) -> None:
    make_company(sales, name="Acme", domain="acme.com")
    make_company(sales, name="Globex", domain="globex.com", lifecycle_stage="customer")
    _, rows = csv_rows(
        client_for(sales).get("/companies/export.csv?cols=name,domain&lifecycle_stage=lead")
    )
    assert rows == [["Name", "Domain"], ["Acme", "acme.com"]]


# --- saved views ---------------------------------------------------------------------------


def test_private_saved_view_is_seen_only_by_its_owner(
    people: dict[str, Contact], sales: User, manager: User, client_for: Any
) -> None:
    saved = client_for(sales).post(
        "/views/contacts/save/", {"name": "My customers", "query": "lifecycle_stage=customer"}
    )
    assert saved.status_code == 302
    assert saved["Location"] == "/contacts/?lifecycle_stage=customer"
    view = SavedView.objects.get(name="My customers")
    assert (view.user, view.shared, view.list_key) == (sales, False, "contacts")

    mine = text_of(client_for(sales).get("/contacts/"))
    assert 'href="/contacts/?lifecycle_stage=customer"' in mine
    assert "My customers" in mine
    assert "My customers" not in text_of(client_for(manager).get("/contacts/"))
    assert "My customers" not in text_of(client_for(sales).get("/companies/"))


def test_shared_view_is_seen_by_everyone_but_deleted_only_by_its_owner(
    people: dict[str, Contact], sales: User, manager: User, client_for: Any
) -> None:
    client_for(sales).post(
        "/views/contacts/save/",
        {"name": "Hot leads", "query": "lifecycle_stage=lead", "shared": "on"},
    )
    view = SavedView.objects.get(name="Hot leads")
    assert view.shared
    assert "Hot leads" in text_of(client_for(manager).get("/contacts/"))

    assert client_for(manager).post(f"/views/{view.pk}/delete/").status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()

    assert client_for(sales).post(f"/views/{view.pk}/delete/").status_code == 302
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_saving_a_view_again_updates_it(sales: User, client_for: Any) -> None:
    web = client_for(sales)
    web.post("/views/contacts/save/", {"name": "Mine", "query": "owner=me"})
    web.post("/views/contacts/save/", {"name": "Mine", "query": "owner=me&lifecycle_stage=lead"})
    assert list(SavedView.objects.values_list("query", flat=True)) == [
        "owner=me&lifecycle_stage=lead"
    ]


def test_read_only_cannot_share_a_view(read_only: User, client_for: Any) -> None:
    client_for(read_only).post(
        "/views/contacts/save/", {"name": "Mine", "query": "", "shared": "on"}
    )
    assert SavedView.objects.get(name="Mine").shared is False


def test_saving_a_view_of_an_unknown_list_is_404(sales: User, client_for: Any) -> None:
    response = client_for(sales).post("/views/deals/save/", {"name": "X", "query": ""})
    assert response.status_code == 404
    assert not SavedView.objects.exists()


# --- bulk actions -------------------------------------------------------------------------


def _bulk(client: Any, **data: Any) -> str:
    """Post a bulk action; the message the list shows afterwards."""
    response = client.post("/contacts/bulk/", data, follow=True)
    content = text_of(response)
    found = re.search(r'<li class="message[^"]*">(.*?)</li>', content, re.S)
    assert found is not None, content
    return found.group(1).strip()


def test_bulk_assign_owner_on_ticked_rows(
    people: dict[str, Contact], admin: User, manager: User, client_for: Any
) -> None:
    ticked = [people["anna"].pk, people["bert"].pk]
    message = _bulk(
        client_for(admin), action="assign_owner", owner=str(manager.pk), scope="ticked", ids=ticked
    )
    assert message == "2 changed."
    owners = dict(Contact.objects.values_list("first_name", "owner"))
    assert owners == {"Anna": manager.pk, "Bert": manager.pk, "Carl": people["carl"].owner_id}

    assert _bulk(client_for(admin), action="assign_owner", owner="none", ids=ticked) == "2 changed."
    assert Contact.objects.filter(owner__isnull=True).count() == 2


def test_bulk_tag_on_all_matching_rows(
    people: dict[str, Contact], sales: User, client_for: Any
) -> None:
    message = _bulk(
        client_for(sales), action="tag", tag="Renewal, q3", scope="all",
        query="lifecycle_stage=customer",
    )  # fmt: skip
    assert message == "2 changed."
    tagged = set(Contact.objects.filter(tags__name="Renewal").values_list("first_name", flat=True))
    assert tagged == {"Anna", "Carl"}
    assert set(Contact.objects.filter(tags__name="q3").values_list("first_name", flat=True)) == {
        "Anna",
        "Carl",
    }


def test_bulk_stage_needs_a_reason_to_move_customers_back(
    people: dict[str, Contact], sales: User, client_for: Any
) -> None:
    web = client_for(sales)
    every = [contact.pk for contact in people.values()]
    message = _bulk(web, action="stage", stage="prospect", ids=every)
    assert message == "1 changed. 2 left as they were (not allowed or not applicable)."
    stages = dict(Contact.objects.values_list("first_name", "lifecycle_stage"))
    assert stages == {"Anna": "customer", "Bert": "prospect", "Carl": "customer"}

    message = _bulk(web, action="stage", stage="prospect", reason="Contract ended", ids=every)
    assert message == "2 changed."
    assert set(Contact.objects.values_list("lifecycle_stage", flat=True)) == {"prospect"}
    anna = queries.stage_history(people["anna"]).first()
    assert anna is not None
    assert (anna.reason, anna.changed_by) == ("Contract ended", sales)


def test_bulk_trash_on_all_matching_rows(
    people: dict[str, Contact], admin: User, client_for: Any
) -> None:
    message = _bulk(client_for(admin), action="trash", scope="all", query="lifecycle_stage=lead")
    assert message == "1 changed."
    assert list(
        Contact.objects.filter(deleted_at__isnull=False).values_list("first_name", flat=True)
    ) == ["Bert"]


def test_bulk_without_ticked_rows_or_with_unknown_action(
    people: dict[str, Contact], admin: User, client_for: Any
) -> None:
    assert _bulk(client_for(admin), action="trash", scope="ticked") == "Tick some rows first."
    assert "Unknown action" in _bulk(client_for(admin), action="explode", ids=[people["anna"].pk])
    assert not Contact.objects.filter(deleted_at__isnull=False).exists()


def test_bulk_on_all_matching_with_invalid_filters_is_refused_with_a_message(
    people: dict[str, Contact], admin: User, client_for: Any
) -> None:
    """The list shows "Some filters are not valid"; applying to all of them must not crash."""
    response = client_for(admin).post(
        "/contacts/bulk/", {"action": "trash", "scope": "all", "query": "created_after=someday"}
    )
    assert response.status_code == 302
    assert not Contact.objects.filter(deleted_at__isnull=False).exists()


def test_company_bulk_actions(sales: User, admin: User, client_for: Any) -> None:
    acme = make_company(admin, name="Acme")
    globex = make_company(admin, name="Globex")
    response = client_for(admin).post(
        "/companies/bulk/", {"action": "tag", "tag": "Key", "ids": [acme.pk]}
    )
    assert response["Location"] == "/companies/"
    assert list(Company.objects.filter(tags__name="Key")) == [acme]
    client_for(admin).post(
        "/companies/bulk/", {"action": "assign_owner", "owner": sales.pk, "scope": "all"}
    )
    assert set(Company.objects.values_list("owner", flat=True)) == {sales.pk}
    globex.refresh_from_db()
    assert globex.owner == sales


# --- new contact and company forms ----------------------------------------------------------


def test_new_contact_form_creates_with_email_phone_company_and_tags(
    sales: User, client_for: Any
) -> None:
    acme = make_company(sales, name="Acme", owner=sales)
    web = client_for(sales)
    response = web.post(
        "/contacts/new/",
        {"first_name": "Ann", "last_name": "Lee", "email": "Ann@Example.org",
         "phone": "+49 30 1234567", "company": "acme", "company_role": "Buyer",
         "lifecycle_stage": "prospect", "owner": sales.pk, "tags": "VIP, golf"},
    )  # fmt: skip
    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{contact.pk}/"
    assert (contact.full_name, contact.email, contact.phone) == (
        "Ann Lee",
        "ann@example.org",
        "+49301234567",
    )
    assert contact.lifecycle_stage == "prospect"
    assert contact.owner == sales
    assert sorted(t.name for t in contact.tags.all()) == ["VIP", "golf"]
    membership = contact.memberships.get()
    assert (membership.company, membership.role) == (acme, "Buyer")
    page = text_of(web.get(response["Location"]))
    assert "Ann Lee is added." in page
    assert "Acme" in page


def test_new_contact_with_a_duplicate_email_links_to_the_existing_one(
    sales: User, client_for: Any
) -> None:
    existing = make_contact(sales, first_name="Ann", last_name="Lee", emails=["ann@example.org"])
    response = client_for(sales).post(
        "/contacts/new/",
        {"first_name": "Annie", "email": "ANN@example.org", "lifecycle_stage": "lead"},
    )
    content = text_of(response)
    assert f'<a href="/contacts/{existing.pk}/">' in content
    assert "ann@example.org already belongs to Ann Lee" in content
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "nope"}, "is not a valid e-mail address"),
        ({"first_name": "A", "phone": "12"}, "'12' is not a phone number"),
        ({"first_name": "A", "company": "Nowhere Inc"}, "There is no company called"),
        ({}, "Give at least a name or an e-mail address."),
    ],
)
def test_new_contact_form_shows_what_is_wrong(
    sales: User, client_for: Any, fields: dict[str, str], message: str
) -> None:
    response = client_for(sales).post("/contacts/new/", {"lifecycle_stage": "lead", **fields})
    assert message in text_of(response)
    assert not Contact.objects.exists()


def test_new_contact_form_validates_custom_fields(sales: User, client_for: Any) -> None:
    define_field("account_code", CustomFieldType.TEXT, required=True, label="Account code")
    response = client_for(sales).post(
        "/contacts/new/", {"first_name": "Ann", "lifecycle_stage": "lead"}
    )
    assert "Account code is required." in text_of(response)
    assert not Contact.objects.exists()
    client_for(sales).post(
        "/contacts/new/", {"first_name": "Ann", "lifecycle_stage": "lead", "cf_account_code": "A1"}
    )
    assert Contact.objects.get().custom_fields == {"account_code": "A1"}


def test_new_company_form_normalises_and_refuses_duplicate_domains(
    sales: User, client_for: Any
) -> None:
    web = client_for(sales)
    created = web.post(
        "/companies/new/",
        {
            "name": "Acme",
            "domain": "https://www.acme.com/",
            "lifecycle_stage": "lead",
            "tags": "Key",
        },
    )
    acme = Company.objects.get()
    assert created["Location"] == f"/companies/{acme.pk}/"
    assert acme.domain == "acme.com"

    duplicate = web.post(
        "/companies/new/", {"name": "Acme 2", "domain": "ACME.com", "lifecycle_stage": "lead"}
    )
    assert f'<a href="/companies/{acme.pk}/">' in text_of(duplicate)
    assert Company.objects.count() == 1


def test_company_picker_suggests_only_visible_companies(
    sales: User, sales_south: User, client_for: Any
) -> None:
    make_company(sales, name="Acme North", owner=sales)
    make_company(sales_south, name="Acme South", owner=sales_south)
    options = client_for(sales).get("/companies/suggest/?company=acme").content.decode()
    assert options.strip() == '<option value="Acme North"></option>'


# --- the contact page ------------------------------------------------------------------------


def _act(client: Any, contact: Contact, verb: str, **data: Any) -> str:
    """Post one action from the contact page; the page it leads back to."""
    response = client.post(f"/contacts/{contact.pk}/{verb}/", data, follow=True)
    return text_of(response)


def test_edit_saves_and_a_stale_version_shows_a_conflict(
    sales: User, manager: User, client_for: Any
) -> None:
    contact = make_contact(sales, first_name="Ann", last_name="Lee", owner=sales)
    web = client_for(sales)
    form = {"first_name": "Ann", "last_name": "Lee", "job_title": "Buyer",
            "owner": sales.pk, "version": contact.version}  # fmt: skip

    # Someone else saves while the form is open.
    services.update_contact(manager, contact, {"job_title": "CEO"})

    page = _act(web, contact, "edit", **form)
    assert "was changed by someone else since you opened it" in page
    contact.refresh_from_db()
    assert contact.job_title == "CEO"

    page = _act(web, contact, "edit", **{**form, "version": contact.version})
    assert "Saved." in page
    contact.refresh_from_db()
    assert contact.job_title == "Buyer"


def test_edit_shows_validation_messages(sales: User, client_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    page = _act(
        client_for(sales), contact, "edit",
        first_name="A", time_zone="Mars/Base", owner=sales.pk, version=contact.version,
    )  # fmt: skip
    assert "'Mars/Base' is not a time zone like Europe/Berlin." in page
    contact.refresh_from_db()
    assert contact.time_zone == ""


def test_stage_change_from_the_page_and_the_history_panel(
    sales: User, manager: User, client_for: Any
) -> None:
    contact = make_contact(sales, owner=sales)
    page = _act(client_for(manager), contact, "stage", stage="customer", reason="Signed")
    assert "Stage is now Customer." in page

    refused = _act(client_for(sales), contact, "stage", stage="lead")
    assert "Say why a customer goes back to lead." in refused
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "customer"

    detail = text_of(client_for(sales).get(f"/contacts/{contact.pk}/"))
    history = detail[detail.index('id="history"') :]
    assert "<code>lifecycle stage</code>: lead → customer" in history
    assert "by Max Manager</span> — Signed" in history
    # The lifecycle card lists the move with who and why as well.
    assert "Lead → <strong>Customer</strong>" in detail


def test_consent_from_the_page(sales: User, client_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    page = _act(
        client_for(sales), contact, "consent",
        channel="email", purpose="marketing", granted="1", source="web form",
    )  # fmt: skip
    assert "Consent recorded." in page
    assert '<span class="badge success">yes</span>' in page
    consent = Consent.objects.get()
    assert (consent.channel, consent.purpose, consent.status, consent.source) == (
        "email",
        "marketing",
        "granted",
        "web form",
    )
    page = _act(
        client_for(sales), contact, "consent",
        channel="email", purpose="marketing", granted="0", source="call",
    )  # fmt: skip
    assert '<span class="badge danger">no</span>' in page
    assert "Consent withdrawn" in page

    missing = _act(client_for(sales), contact, "consent", channel="email", purpose="marketing")
    assert "This field is required." in missing


def test_emails_and_phones_from_the_page(sales: User, client_for: Any) -> None:
    other = make_contact(sales, emails=["taken@example.org"])
    contact = make_contact(sales, owner=sales, emails=["one@example.org"])
    web = client_for(sales)

    assert "E-mail added." in _act(web, contact, "add-email", email="Two@example.org")
    assert list(contact.emails.values_list("email", flat=True)) == [
        "one@example.org",
        "two@example.org",
    ]
    refused = _act(web, contact, "add-email", email="taken@example.org")
    assert f"/contacts/{other.pk}/" in refused

    two = contact.emails.get(email="two@example.org")
    assert "E-mail removed." in _act(web, contact, "remove-email", id=two.pk)
    assert "Phone added." in _act(web, contact, "add-phone", number="+44 20 7946 0958")
    contact.refresh_from_db()
    assert contact.phone == "+442079460958"
    phone = contact.phones.get()
    assert "Phone removed." in _act(web, contact, "remove-phone", id=phone.pk)
    assert not contact.phones.exists()
    # Rows of another contact are not found through this one.
    foreign = other.emails.get()
    assert web.post(f"/contacts/{contact.pk}/remove-email/", {"id": foreign.pk}).status_code == 404


def test_companies_and_tags_from_the_page(sales: User, client_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    make_company(sales, name="Acme", owner=sales)
    web = client_for(sales)

    assert "Linked to Acme." in _act(web, contact, "add-company", company="Acme", role="Buyer")
    membership = contact.memberships.get()
    assert membership.role == "Buyer"
    assert "There is no company called" in _act(web, contact, "add-company", company="Nope")
    assert "Company link removed." in _act(web, contact, "remove-company", id=membership.pk)
    assert not contact.memberships.exists()

    assert "Tagged." in _act(web, contact, "tag", tags="VIP, Golf")
    assert sorted(t.name for t in contact.tags.all()) == ["Golf", "VIP"]
    assert "Tag removed." in _act(web, contact, "untag", tag="VIP")
    assert [t.name for t in contact.tags.all()] == ["Golf"]


def test_trash_from_the_page_and_restore_from_the_trash(
    sales: User, admin: User, client_for: Any
) -> None:
    contact = make_contact(sales, first_name="Tina", last_name="Trash", owner=sales)
    response = client_for(sales).post(f"/contacts/{contact.pk}/trash/", follow=True)
    assert "Tina Trash is in the trash." in text_of(response)
    assert client_for(sales).get(f"/contacts/{contact.pk}/").status_code == 404

    trash = text_of(client_for(admin).get("/contacts/trash/"))
    assert "Tina Trash" in trash
    restored = client_for(admin).post("/contacts/trash/", {"id": contact.pk}, follow=True)
    assert "Tina Trash is restored." in text_of(restored)
    assert client_for(sales).get(f"/contacts/{contact.pk}/").status_code == 200


def test_unknown_action_is_reported(sales: User, client_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    assert "Unknown action" in _act(client_for(sales), contact, "explode")


def test_contact_page_shows_key_facts_and_panels(sales: User, client_for: Any) -> None:
    acme = make_company(sales, name="Acme", owner=sales)
    contact = make_contact(
        sales, first_name="Ann", last_name="Lee", owner=sales, job_title="Buyer",
        emails=["ann@example.org"], phones=["+4930111111"], tags=["VIP"],
        companies=[(acme, "Purchasing")], lifecycle_stage="customer",
    )  # fmt: skip
    page = text_of(client_for(sales).get(f"/contacts/{contact.pk}/"))
    for fact in ["Ann Lee", "Buyer", "Acme", "Customer", "Owner: Sam Sales", "ann@example.org",
                 "+4930111111", "VIP", "Purchasing", 'id="consent"', 'id="history"',
                 'id="timeline"']:  # fmt: skip
        assert fact in page, fact


# --- the company page --------------------------------------------------------------------


def test_company_page_actions(sales: User, manager: User, client_for: Any) -> None:
    company = make_company(sales, name="Acme", owner=sales)
    web = client_for(sales)

    def act(verb: str, **data: Any) -> str:
        return text_of(web.post(f"/companies/{company.pk}/{verb}/", data, follow=True))

    services.update_company(manager, company, {"industry": "Rockets"})
    stale = act("edit", name="Acme", industry="Anvils", owner=sales.pk, version=1)
    assert "was changed by someone else" in stale
    assert "Saved." in act("edit", name="Acme", industry="Anvils", owner=sales.pk, version=2)
    assert "Stage is now Customer." in act("stage", stage="customer")
    assert "Tagged." in act("tag", tags="Key")
    page = act("untag", tag="Key")
    assert "Tag removed." in page
    history = page[page.index('id="history"') :]
    assert "<code>industry</code>: Rockets → Anvils" in history
    assert "by Sam Sales" in history
    company.refresh_from_db()
    assert (company.industry, company.lifecycle_stage) == ("Anvils", "customer")
    assert "Acme is in the trash." in act("trash")


def test_score_columns_and_filters_from_the_last_refresh(sales: User, client_for: Any) -> None:
    from datetime import date
    from decimal import Decimal

    from django.utils import timezone

    from rapport.insights.models import CustomerScore, ModelRun

    run = ModelRun.objects.create(started_at=timezone.now())
    common: dict[str, Any] = {
        "first_order_on": date(2025, 1, 1), "last_order_on": date(2026, 1, 1), "purchases": 3,
        "spend": Decimal("300"), "recency_days": 30, "recency_score": 3, "frequency_score": 3,
        "monetary_score": 3, "run": run,
    }  # fmt: skip
    keeper = make_contact(sales, first_name="Keeper", owner=sales)
    leaver = make_contact(sales, first_name="Leaver", owner=sales)
    make_contact(sales, first_name="Never", owner=sales)
    CustomerScore.objects.create(
        contact=keeper, segment="champions", lifetime_value=Decimal("2500"), churn_risk=0.1,
        p_alive=0.9, **common,
    )  # fmt: skip
    CustomerScore.objects.create(
        contact=leaver, segment="at_risk", lifetime_value=Decimal("900"), churn_risk=0.7,
        p_alive=0.3, valuable_at_risk=True, **common,
    )  # fmt: skip
    web = client_for(sales)
    page = web.get("/contacts/?cols=full_name,segment,lifetime_value,churn_risk&sort=full_name")
    assert headers(page) == ["Name", "RFM segment", "Lifetime value", "Churn risk"]
    body = text_of(page)
    assert "Champions" in body
    assert "2,500" in body
    assert "70%" in body
    names = ["Keeper", "Leaver", "Never"]
    assert row_names(web.get("/contacts/?min_churn_risk=0.5"), names) == ["Leaver"]
    assert row_names(web.get("/contacts/?segment=champions"), names) == ["Keeper"]
    assert row_names(web.get("/contacts/?valuable_at_risk=true"), names) == ["Leaver"]
    assert row_names(web.get("/contacts/?min_lifetime_value=1000"), names) == ["Keeper"]


def test_list_rows_link_each_record_and_escape_what_people_typed(
    sales: User, read_only: User, admin: User, client_for: Any
) -> None:
    """Rows are built in the view (not by template loops): same cells, same escaping."""
    odd = make_contact(
        admin, first_name="<b>Eve</b>", last_name='"Quote" & Co', owner=sales, tags=["A&B"]
    )
    page = client_for(sales).get("/contacts/").content.decode()
    row = re.search(rf"<tr>.*?/contacts/{odd.pk}/.*?</tr>", page, re.S)
    assert row is not None
    text = row.group(0)
    assert "<b>" not in text
    assert "&lt;b&gt;Eve&lt;/b&gt; &quot;Quote&quot; &amp; Co" in text
    assert f'<input type="checkbox" name="ids" value="{odd.pk}"' in text
    assert "A&amp;B" in text
    assert sales.full_name in text
    # Read-only users see the same rows without the boxes to tick.
    readonly_page = client_for(read_only).get("/contacts/").content.decode()
    assert f"/contacts/{odd.pk}/" in readonly_page
    assert 'name="ids"' not in readonly_page
