"""Who sees and changes which contacts and companies: every role, own/team/other team's."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.http import HttpResponse

from rapport.core.permissions import Role
from rapport.customers import services
from rapport.customers.models import Company, Contact
from rapport.users.models import User
from tests.customers.conftest import OWNERS, World
from tests.customers.factories import make_contact

pytestmark = pytest.mark.django_db

ALL = set(OWNERS)
NORTH_VIEW = {"sales", "north", "none"}

# Written out by hand from customers/permissions.py: what each role may do with
# records owned by the sales user, a North colleague, nobody, the South sales
# user and the (team-less) marketing user.
VISIBLE: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SALES: NORTH_VIEW,
    Role.SERVICE: ALL,
    Role.MARKETING: ALL,
    Role.READ_ONLY: ALL,
}
CHANGEABLE: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SALES: NORTH_VIEW,
    Role.SERVICE: NORTH_VIEW,
    Role.MARKETING: {"marketing", "none"},
    Role.READ_ONLY: set(),
}
DELETABLE: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SALES: {"sales"},
    Role.SERVICE: set(),
    Role.MARKETING: set(),
    Role.READ_ONLY: set(),
}
MAY_EXPORT = {Role.ADMIN, Role.MANAGER, Role.SALES, Role.MARKETING}
MAY_ADD = {Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE, Role.MARKETING}

ROLES = list(Role.values)
KINDS = ["contacts", "companies"]


def _records(world: World, kind: str) -> dict[str, Contact] | dict[str, Company]:
    return world.contacts if kind == "contacts" else world.companies


def _name(record: Contact | Company) -> str:
    return record.full_name if isinstance(record, Contact) else record.name


def _message_texts(response: HttpResponse) -> list[str]:
    """The messages this response leaves for the next page (earlier unread ones removed)."""
    texts = [str(message) for message in get_messages(response.wsgi_request)]  # type: ignore[attr-defined]
    return texts[-1:]


def _api_ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- lists ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_web_list_shows_what_the_role_may_see(
    world: World, user_of_role: Any, client_for: Any, role: str, kind: str
) -> None:
    page = client_for(user_of_role(role)).get(f"/{kind}/")

    assert page.status_code == 200
    text = page.content.decode()
    records = _records(world, kind)
    shown = {key for key, record in records.items() if _name(record) in text}
    assert shown == VISIBLE[role]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_api_list_shows_what_the_role_may_see(
    world: World, user_of_role: Any, api_for: Any, role: str, kind: str
) -> None:
    records = _records(world, kind)
    ids = _api_ids(api_for(user_of_role(role)).get(f"/api/v1/{kind}"))
    assert ids == {records[key].pk for key in VISIBLE[role]}


@pytest.mark.parametrize("kind", KINDS)
def test_the_other_team_sees_its_own_and_unowned_records(
    world: World, sales_south: User, api_for: Any, client_for: Any, kind: str
) -> None:
    records = _records(world, kind)
    ids = _api_ids(api_for(sales_south).get(f"/api/v1/{kind}"))
    assert ids == {records["south"].pk, records["none"].pk}
    count = client_for(sales_south).get(f"/{kind}/count/")
    assert count.content.decode() == "2 matches"


@pytest.mark.parametrize("role", ROLES)
def test_count_counts_only_visible_records(
    world: World, user_of_role: Any, client_for: Any, role: str
) -> None:
    response = client_for(user_of_role(role)).get("/contacts/count/")
    assert response.content.decode() == f"{len(VISIBLE[role])} matches"


def test_lists_need_a_login(world: World, client: Any) -> None:
    assert client.get("/contacts/").status_code == 302
    assert client.get("/api/v1/contacts").status_code in (401, 403)


# --- detail ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_detail_of_a_record_the_role_may_not_see_is_404(
    world: World, user_of_role: Any, client_for: Any, api_for: Any, role: str, kind: str
) -> None:
    user = user_of_role(role)
    web, api = client_for(user), api_for(user)
    for key, record in _records(world, kind).items():
        expected = 200 if key in VISIBLE[role] else 404
        assert web.get(f"/{kind}/{record.pk}/").status_code == expected, key
        assert api.get(f"/api/v1/{kind}/{record.pk}").status_code == expected, key


@pytest.mark.parametrize("kind", KINDS)
def test_hidden_records_are_404_for_every_verb_not_403(
    world: World, sales: User, api_for: Any, client_for: Any, kind: str
) -> None:
    api, web = api_for(sales), client_for(sales)
    hidden = _records(world, kind)["south"]
    base = f"/api/v1/{kind}/{hidden.pk}"
    assert api.patch(base, {"notes": "x"}).status_code == 404
    assert api.delete(base).status_code == 404
    assert api.post(f"{base}/stage", {"stage": "prospect"}).status_code == 404
    assert api.post(f"{base}/tag", {"tags": ["x"]}).status_code == 404
    assert api.get(f"{base}/stage-history").status_code == 404
    assert web.post(f"/{kind}/{hidden.pk}/stage/", {"stage": "prospect"}).status_code == 404
    assert web.post(f"/{kind}/{hidden.pk}/trash/").status_code == 404
    if kind == "contacts":
        consent = {"channel": "email", "purpose": "marketing", "granted": True, "source": "x"}
        assert api.post(f"{base}/consent", consent).status_code == 404
        assert api.post(f"{base}/emails", {"email": "new@example.org"}).status_code == 404
    hidden.refresh_from_db()
    assert hidden.lifecycle_stage == "lead"
    assert hidden.deleted_at is None


# --- update ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_api_update_follows_role_and_ownership(
    world: World, user_of_role: Any, api_for: Any, role: str, kind: str
) -> None:
    api = api_for(user_of_role(role))
    for key, record in _records(world, kind).items():
        response = api.patch(f"/api/v1/{kind}/{record.pk}", {"notes": f"by {role}"})
        if key in CHANGEABLE[role]:
            expected = 200
        elif key in VISIBLE[role]:
            expected = 403
        else:
            expected = 404
        assert response.status_code == expected, (key, response.content)
        record.refresh_from_db()
        assert (record.notes == f"by {role}") is (expected == 200), key
        if expected == 403:
            assert response.json()["errors"] == {}


def _edit_form(record: Contact | Company) -> dict[str, Any]:
    owner = "" if record.owner_id is None else str(record.owner_id)
    if isinstance(record, Contact):
        return {
            "first_name": record.first_name,
            "last_name": record.last_name,
            "job_title": "Edited",
            "owner": owner,
            "version": record.version,
        }
    return {"name": record.name, "industry": "Edited", "owner": owner, "version": record.version}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_web_edit_follows_role_and_ownership(
    world: World, user_of_role: Any, client_for: Any, role: str, kind: str
) -> None:
    web = client_for(user_of_role(role))
    for key, record in _records(world, kind).items():
        response = web.post(f"/{kind}/{record.pk}/edit/", _edit_form(record))
        record.refresh_from_db()
        edited = (record.job_title if isinstance(record, Contact) else record.industry) == "Edited"
        if key not in VISIBLE[role]:
            assert response.status_code == 404, key
        elif key in CHANGEABLE[role]:
            assert response.status_code == 302
            assert _message_texts(response) == ["Saved."], key
        else:
            assert response.status_code == 302
            assert _message_texts(response) == ["You may not change this."], key
        assert edited is (key in CHANGEABLE[role]), key


def test_read_only_sees_no_edit_forms(world: World, read_only: User, client_for: Any) -> None:
    page = client_for(read_only).get(f"/contacts/{world.contacts['sales'].pk}/")
    text = page.content.decode()
    assert "Save details" not in text
    assert "Move to trash" not in text
    assert "Change stage" not in text


# --- delete ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_api_delete_follows_the_policy(
    world: World, user_of_role: Any, api_for: Any, role: str, kind: str
) -> None:
    api = api_for(user_of_role(role))
    for key, record in _records(world, kind).items():
        response = api.delete(f"/api/v1/{kind}/{record.pk}")
        if key in DELETABLE[role]:
            expected = 204
        elif not DELETABLE[role] or key in VISIBLE[role]:
            expected = 403  # roles that delete nothing are refused before any lookup
        else:
            expected = 404
        assert response.status_code == expected, key
        record.refresh_from_db()
        assert (record.deleted_at is not None) is (expected == 204), key


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_web_trash_action_follows_the_policy(
    world: World, user_of_role: Any, client_for: Any, role: str, kind: str
) -> None:
    web = client_for(user_of_role(role))
    for key, record in _records(world, kind).items():
        response = web.post(f"/{kind}/{record.pk}/trash/")
        record.refresh_from_db()
        if key not in VISIBLE[role]:
            assert response.status_code == 404, key
        elif key in DELETABLE[role]:
            assert response.status_code == 302
            assert response["Location"] == f"/{kind}/"
        else:
            assert _message_texts(response) == ["You may not delete this."], key
        assert (record.deleted_at is not None) is (key in DELETABLE[role]), key


# --- create ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_create_is_refused_to_read_only(
    db: None, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    user = user_of_role(role)
    allowed = role in MAY_ADD
    assert client_for(user).get("/contacts/new/").status_code == (200 if allowed else 403)
    assert client_for(user).get("/companies/new/").status_code == (200 if allowed else 403)
    contact = api_for(user).post("/api/v1/contacts", {"first_name": f"New {role}"})
    company = api_for(user).post("/api/v1/companies", {"name": f"New {role} Ltd"})
    assert contact.status_code == (201 if allowed else 403)
    assert company.status_code == (201 if allowed else 403)
    assert Contact.objects.filter(first_name=f"New {role}").exists() is allowed


# --- export ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_export_only_for_roles_with_export(
    world: World, user_of_role: Any, client_for: Any, role: str, kind: str
) -> None:
    response = client_for(user_of_role(role)).get(f"/{kind}/export.csv")
    if role not in MAY_EXPORT:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    exported = {key for key, record in _records(world, kind).items() if _name(record) in text}
    expected = NORTH_VIEW if role == Role.SALES else ALL
    assert exported == expected


@pytest.mark.parametrize("role", ROLES)
def test_export_link_shown_only_to_roles_with_export(
    world: World, user_of_role: Any, client_for: Any, role: str
) -> None:
    page = client_for(user_of_role(role)).get("/contacts/")
    assert ("Export CSV" in page.content.decode()) is (role in MAY_EXPORT)


# --- trash ----------------------------------------------------------------------------


@pytest.fixture
def trashed(world: World, admin: User) -> dict[str, Contact | Company]:
    contact = world.contacts["sales"]
    company = world.companies["sales"]
    services.trash_contact(admin, contact)
    services.trash_company(admin, company)
    return {"contacts": contact, "companies": company}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_web_trash_list_and_restore_only_for_admins(
    trashed: dict[str, Any], user_of_role: Any, client_for: Any, role: str, kind: str
) -> None:
    record = trashed[kind]
    web = client_for(user_of_role(role))
    listing = web.get(f"/{kind}/trash/")
    restore = web.post(f"/{kind}/trash/", {"id": record.pk})
    record.refresh_from_db()
    if role == Role.ADMIN:
        assert listing.status_code == 200
        assert _name(record) in listing.content.decode()
        assert restore.status_code == 302
        assert record.deleted_at is None
    else:
        assert listing.status_code == 403
        assert restore.status_code == 403
        assert record.deleted_at is not None


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_api_trash_list_and_restore_only_for_admins(
    trashed: dict[str, Any], user_of_role: Any, api_for: Any, role: str, kind: str
) -> None:
    record = trashed[kind]
    api = api_for(user_of_role(role))
    listing = api.get(f"/api/v1/{kind}/trash")
    restore = api.post(f"/api/v1/{kind}/{record.pk}/restore")
    record.refresh_from_db()
    if role == Role.ADMIN:
        assert [row["id"] for row in listing.json()["results"]] == [record.pk]
        assert restore.status_code == 200
        assert record.deleted_at is None
    else:
        assert listing.status_code in (403, 404), listing.content
        assert restore.status_code in (403, 404)
        assert record.deleted_at is not None


@pytest.mark.parametrize("role", ROLES)
def test_trash_link_shown_only_to_admins(
    world: World, user_of_role: Any, client_for: Any, role: str
) -> None:
    page = client_for(user_of_role(role)).get("/contacts/")
    assert ('href="/contacts/trash/"' in page.content.decode()) is (role == Role.ADMIN)


# --- bulk actions -----------------------------------------------------------------------


def _bulk(client: Any, kind: str, records: list[Any], **fields: Any) -> HttpResponse:
    data = {"scope": "ticked", "ids": [str(record.pk) for record in records], **fields}
    response = client.post(f"/{kind}/bulk/", data)
    assert response.status_code == 302
    return response


@pytest.mark.parametrize("kind", KINDS)
def test_bulk_assign_changes_only_records_the_user_may_change(
    world: World, service_user: User, client_for: Any, kind: str
) -> None:
    records = _records(world, kind)
    response = _bulk(
        client_for(service_user),
        kind,
        list(records.values()),
        action="assign_owner",
        owner=str(service_user.pk),
    )
    owned = {key for key, record in records.items() if _owner_of(record) == service_user}
    assert owned == NORTH_VIEW
    assert _message_texts(response) == [
        "3 changed. 2 left as they were (not allowed or not applicable)."
    ]


def _owner_of(record: Contact | Company) -> User | None:
    record.refresh_from_db()
    return record.owner


def test_bulk_trash_by_sales_trashes_only_their_own(
    world: World, sales: User, client_for: Any
) -> None:
    response = _bulk(client_for(sales), "contacts", list(world.contacts.values()), action="trash")
    trashed = {key for key, contact in world.contacts.items() if _refreshed(contact).deleted_at}
    assert trashed == {"sales"}
    # The team's and the unowned record were ticked but may not be deleted by sales.
    assert _message_texts(response) == [
        "1 changed. 2 left as they were (not allowed or not applicable)."
    ]


def _refreshed(record: Contact) -> Contact:
    record.refresh_from_db()
    return record


def test_bulk_on_hidden_records_changes_nothing(world: World, sales: User, client_for: Any) -> None:
    hidden = [world.contacts["south"], world.contacts["marketing"]]
    _bulk(client_for(sales), "contacts", hidden, action="stage", stage="prospect")
    _bulk(client_for(sales), "contacts", hidden, action="tag", tag="Hot")
    for contact in hidden:
        contact.refresh_from_db()
        assert contact.lifecycle_stage == "lead"
        assert not contact.tags.exists()


def test_bulk_refused_to_read_only(
    world: World, read_only: User, admin: User, client_for: Any
) -> None:
    services.create_tag(admin, "VIP")
    response = _bulk(
        client_for(read_only), "contacts", list(world.contacts.values()), action="tag", tag="VIP"
    )
    assert not Contact.objects.filter(tags__name="VIP").exists()
    assert _message_texts(response) == [
        "0 changed. 5 left as they were (not allowed or not applicable)."
    ]
    page = client_for(read_only).get("/contacts/")
    assert "Bulk action" not in page.content.decode()


def test_company_people_endpoint_shows_only_visible_contacts(
    world: World, sales: User, admin: User, api_for: Any
) -> None:
    company = world.companies["none"]
    for contact in world.contacts.values():
        services.add_membership(admin, contact, company, role="Buyer")

    response = api_for(sales).get(f"/api/v1/companies/{company.pk}/contacts")
    assert response.status_code == 200
    assert {row["contact"] for row in response.json()} == {
        world.contacts[key].pk for key in NORTH_VIEW
    }
    everyone = api_for(admin).get(f"/api/v1/companies/{company.pk}/contacts").json()
    assert len(everyone) == 5


def test_company_page_lists_only_visible_people(
    world: World, sales: User, admin: User, client_for: Any
) -> None:
    company = world.companies["none"]
    for contact in world.contacts.values():
        services.add_membership(admin, contact, company)
    text = client_for(sales).get(f"/companies/{company.pk}/").content.decode()
    shown = {key for key in OWNERS if world.contact_name(key) in text}
    assert shown == NORTH_VIEW


def test_sales_may_not_link_a_contact_to_a_company_they_cannot_see(
    world: World, sales: User, api_for: Any
) -> None:
    contact = make_contact(sales, owner=sales)
    hidden = world.companies["south"]
    response = api_for(sales).post(
        f"/api/v1/contacts/{contact.pk}/companies", {"company": hidden.pk}
    )
    assert response.status_code in (400, 404)
    assert not contact.memberships.exists()
