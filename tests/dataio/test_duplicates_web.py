"""The review queue pages: who sees which pairs, dismiss, merge, undo, query counts."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.core.permissions import Role
from rapport.customers import services as customer_services
from rapport.customers.models import Company, Contact
from rapport.dataio import duplicates, merge
from rapport.dataio.models import DuplicateKind, DuplicatePair, MergeRecord, PairStatus
from rapport.users.models import User
from tests.customers.factories import make_company, make_contact
from tests.customers.test_query_counts import assert_same, queries_of

pytestmark = pytest.mark.django_db

QUEUE = "/data/duplicates/"


def twin_pair(admin: User, name: str, owner: User | None, phone: str) -> DuplicatePair:
    one = make_contact(admin, first_name=name, last_name="Doppel", owner=owner, phones=[phone])
    make_contact(admin, first_name=name, last_name="Doppel", owner=owner, phones=[phone])
    duplicates.scan(DuplicateKind.CONTACT)
    return DuplicatePair.objects.get(contact_a=one)


@pytest.fixture
def pairs(admin: User, sales: User, sales_south: User) -> dict[str, DuplicatePair]:
    return {
        "sales": twin_pair(admin, "Salma", sales, "+4930100001"),
        "south": twin_pair(admin, "Sonja", sales_south, "+4930100002"),
        "none": twin_pair(admin, "Nora", None, "+4930100003"),
    }


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        (Role.ADMIN, {"Salma", "Sonja", "Nora"}),
        (Role.MANAGER, {"Salma", "Sonja", "Nora"}),
        (Role.SALES, {"Salma", "Nora"}),  # their own, their team's and unowned records
        (Role.SERVICE, None),
        (Role.MARKETING, None),
        (Role.READ_ONLY, None),
    ],
)
def test_the_queue_shows_each_role_what_it_may_review(
    pairs: dict[str, DuplicatePair],
    user_of_role: Any,
    client_for: Any,
    role: str,
    visible: set[str] | None,
) -> None:
    client = client_for(user_of_role(role))
    response = client.get(QUEUE)
    if visible is None:
        assert response.status_code == 403
        for pair in pairs.values():
            assert client.get(f"{QUEUE}{pair.pk}/").status_code == 403
            assert client.post(f"{QUEUE}{pair.pk}/dismiss/").status_code == 403
            assert client.post(f"{QUEUE}{pair.pk}/", {"keep": "a"}).status_code == 403
        return
    assert response.status_code == 200
    page = response.content.decode()
    shown = {name for name in ("Salma", "Sonja", "Nora") if f"{name} Doppel" in page}
    assert shown == visible
    hidden = pairs["south"]
    if "Sonja" not in visible:
        assert client.get(f"{QUEUE}{hidden.pk}/").status_code == 404
        assert client.post(f"{QUEUE}{hidden.pk}/dismiss/").status_code == 404
        assert client.post(f"{QUEUE}{hidden.pk}/", {"keep": "a"}).status_code == 404
        assert DuplicatePair.objects.get(pk=hidden.pk).status == PairStatus.OPEN


def test_the_queue_needs_a_login(client: Any) -> None:
    assert client.get(QUEUE).status_code == 302


def test_only_admins_and_managers_start_a_scan(
    admin: User,
    manager: User,
    sales: User,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_contact(admin, first_name="Anna", last_name="Doppel", phones=["+4930100009"])
    make_contact(admin, first_name="Anna", last_name="Doppel", phones=["+4930100009"])
    assert client_for(sales).post(f"{QUEUE}scan/", {"kind": "contact"}).status_code == 403
    assert not DuplicatePair.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(manager).post(f"{QUEUE}scan/", {"kind": "contact"})

    assert response.status_code == 302
    assert DuplicatePair.objects.count() == 1


def test_compare_shows_both_side_by_side_with_a_radio_per_differing_field(
    admin: User, client_for: Any
) -> None:
    one = make_contact(admin, first_name="Anna", last_name="Schmidt", phones=["+4930100004"],
                       job_title="Buyer")  # fmt: skip
    make_contact(admin, first_name="Anna", last_name="Schmitd", phones=["+4930100004"])
    duplicates.scan(DuplicateKind.CONTACT)
    pair = DuplicatePair.objects.get(contact_a=one)

    page = client_for(admin).get(f"{QUEUE}{pair.pk}/").content.decode()

    assert "Anna Schmidt" in page
    assert "Anna Schmitd" in page
    assert 'name="pick_last_name" value="a" checked' in page
    assert 'name="pick_email"' in page  # each has its own address
    assert 'name="pick_phone"' not in page  # the same number


def test_merge_from_the_page_with_picked_values_then_undo(admin: User, client_for: Any) -> None:
    one = make_contact(admin, first_name="Anna", last_name="Schmidt", phones=["+4930100005"])
    two = make_contact(admin, first_name="Anna", last_name="Schmitd", phones=["+4930100005"])
    duplicates.scan(DuplicateKind.CONTACT)
    pair = DuplicatePair.objects.get(contact_a=one)
    client = client_for(admin)

    response = client.post(
        f"{QUEUE}{pair.pk}/", {"keep": "b", "pick_last_name": "a", "pick_email": "b"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{two.pk}/"
    two.refresh_from_db()
    assert two.last_name == "Schmidt"
    assert two.email == Contact.objects.get(pk=two.pk).email
    assert Contact.objects.get(pk=one.pk).deleted_at is not None
    assert "Undo merge" in client.get(QUEUE).content.decode()
    # A second merge of the same pair is refused, not half-done.
    again = client.post(f"{QUEUE}{pair.pk}/", {"keep": "a"})
    assert again.status_code == 400
    assert "already merged" in again.content.decode()

    record = MergeRecord.objects.get()
    assert client.post(f"/data/merges/{record.pk}/undo/").status_code == 302

    assert Contact.objects.get(pk=one.pk).deleted_at is None
    two.refresh_from_db()
    assert two.last_name == "Schmitd"
    assert DuplicatePair.objects.get().status == PairStatus.OPEN


def test_dismiss_from_the_queue(admin: User, client_for: Any) -> None:
    pair = twin_pair(admin, "Dora", None, "+4930100006")
    client = client_for(admin)

    assert client.post(f"{QUEUE}{pair.pk}/dismiss/").status_code == 302

    assert DuplicatePair.objects.get().status == PairStatus.DISMISSED
    assert 'id="no-pairs"' in client.get(QUEUE).content.decode()
    dismissed = client.get(f"{QUEUE}?status=dismissed").content.decode()
    assert 'id="pairs"' in dismissed
    assert "Dora Doppel" in dismissed


def test_undo_is_for_admins_and_whoever_merged(
    admin: User, manager: User, sales: User, client_for: Any
) -> None:
    pair = twin_pair(admin, "Uma", sales, "+4930100007")
    client_for(sales).post(f"{QUEUE}{pair.pk}/", {"keep": "a"})
    record = MergeRecord.objects.get()

    assert client_for(manager).post(f"/data/merges/{record.pk}/undo/").status_code == 404
    assert MergeRecord.objects.get().undone_at is None
    assert client_for(sales).post(f"/data/merges/{record.pk}/undo/").status_code == 302
    assert MergeRecord.objects.get().undone_at is not None


def test_queue_queries_do_not_grow_with_pairs(
    admin: User, manager: User, sales: User, client_for: Any
) -> None:
    for user in (admin, sales):
        for index in range(2):
            twin_pair(admin, f"Few{index}", sales, f"+49301002{index:02d}")
        client = client_for(user)

        def queue(client: Any = client) -> Any:
            return client.get(QUEUE)

        small = queries_of(queue)
        for index in range(2, 10):
            twin_pair(admin, f"Many{index}", sales, f"+49301003{index:02d}")
        large = queries_of(queue)
        assert_same(small, large)
        assert large[0] <= 8
        DuplicatePair.objects.all().delete()
        Contact.objects.all().delete()


def test_compare_page_queries_do_not_grow_with_what_the_records_hold(
    admin: User, sales: User, client_for: Any
) -> None:
    small_pair = twin_pair(admin, "Cora", sales, "+4930100401")
    large_pair = twin_pair(admin, "Vera", sales, "+4930100402")
    for contact in (large_pair.contact_a, large_pair.contact_b):
        assert contact is not None
        for index in range(4):
            customer_services.add_email(admin, contact, f"{contact.pk}-{index}@many.example")
        customer_services.tag(admin, [contact], ["a", "b", "c"])
    client = client_for(sales)

    small = queries_of(lambda: client.get(f"{QUEUE}{small_pair.pk}/"))
    large = queries_of(lambda: client.get(f"{QUEUE}{large_pair.pk}/"))

    assert_same(small, large)
    assert large[0] <= 10


def test_company_pairs_are_compared_and_merged_the_same_way(admin: User, client_for: Any) -> None:
    kept = make_company(admin, name="Müller Bau GmbH")
    other = make_company(admin, name="Mueller Bau", industry="Construction")
    duplicates.scan(DuplicateKind.COMPANY)
    pair = DuplicatePair.objects.get(kind=DuplicateKind.COMPANY)
    client = client_for(admin)

    assert "Müller Bau GmbH" in client.get(f"{QUEUE}?kind=company").content.decode()
    page = client.get(f"{QUEUE}{pair.pk}/").content.decode()
    assert f"/companies/{kept.pk}/" in page
    assert 'name="pick_industry" value="b" checked' in page

    response = client.post(f"{QUEUE}{pair.pk}/", {"keep": "a", "pick_industry": "b"})

    assert response["Location"] == f"/companies/{kept.pk}/"
    kept.refresh_from_db()
    assert kept.industry == "Construction"
    other.refresh_from_db()
    assert other.deleted_at is not None


@pytest.mark.parametrize(
    ("role", "scan_status", "undo_status"),
    [
        (Role.ADMIN, 302, 302),
        (Role.MANAGER, 302, 404),  # not their merge
        (Role.SALES, 403, 404),
        (Role.SERVICE, 403, 403),
        (Role.MARKETING, 403, 403),
        (Role.READ_ONLY, 403, 403),
    ],
)
def test_scan_and_undo_per_role(
    admin: User,
    user_of_role: Any,
    client_for: Any,
    role: str,
    scan_status: int,
    undo_status: int,
) -> None:
    pair = twin_pair(admin, "Rita", None, "+4930100501")
    client_for(admin).post(f"{QUEUE}{pair.pk}/", {"keep": "a"})
    record = MergeRecord.objects.get()
    client = client_for(user_of_role(role))

    assert client.post(f"{QUEUE}scan/", {"kind": "contact"}).status_code == scan_status
    assert client.post(f"/data/merges/{record.pk}/undo/").status_code == undo_status
    assert (MergeRecord.objects.get().undone_at is not None) == (undo_status == 302)


def test_the_import_and_export_page_links_to_the_queue(admin: User, client_for: Any) -> None:
    page = client_for(admin).get("/data/").content.decode()
    assert 'href="/data/duplicates/"' in page


# --- merged records in the trash -----------------------------------------------------------


def test_the_trash_says_what_a_merged_record_became_and_undoes_the_merge(
    admin: User, client_for: Any
) -> None:
    survivor = make_contact(admin, first_name="Mira", last_name="Kept", phones=["+4930100011"])
    loser = make_contact(admin, first_name="Mira", last_name="Gone", phones=["+4930100011"])
    trashed = make_contact(admin, first_name="Theo", last_name="Deleted")
    customer_services.trash_contact(admin, trashed)
    record = merge.merge(admin, survivor, loser)
    client = client_for(admin)

    page = client.get("/contacts/trash/").content.decode()
    row_of_loser = page[page.index("Mira Gone") : page.index("</tr>", page.index("Mira Gone"))]
    assert "Merged into" in row_of_loser
    assert f'href="/contacts/{survivor.pk}/">Mira Kept</a>' in row_of_loser
    assert f'action="/data/merges/{record.pk}/undo/"' in row_of_loser
    assert "Restore" not in row_of_loser
    row_of_deleted = page[page.index("Theo Deleted") :]
    assert "Restore" in row_of_deleted[: row_of_deleted.index("</tr>")]

    # Restoring the merged record on its own is refused: it would come back empty.
    refused = client.post("/contacts/trash/", {"id": loser.pk}, follow=True)
    assert "was merged into Mira Kept: undo the merge instead" in refused.content.decode()
    assert Contact.objects.get(pk=loser.pk).deleted_at is not None

    undone = client.post(
        f"/data/merges/{record.pk}/undo/", {"next": "/contacts/trash/"}, follow=True
    )
    assert undone.redirect_chain[-1][0] == "/contacts/trash/"
    assert "Merge undone: Mira Gone is back." in undone.content.decode()
    assert Contact.objects.get(pk=loser.pk).deleted_at is None


def test_undo_goes_back_only_to_a_page_of_this_site(admin: User, client_for: Any) -> None:
    survivor = make_contact(admin, first_name="Ola", last_name="One", phones=["+4930100012"])
    loser = make_contact(admin, first_name="Ola", last_name="Two", phones=["+4930100012"])
    record = merge.merge(admin, survivor, loser)

    response = client_for(admin).post(
        f"/data/merges/{record.pk}/undo/", {"next": "https://evil.example/"}
    )

    assert response["Location"] == f"{QUEUE}?kind=contact"


def test_a_merged_company_is_refused_a_plain_restore_through_the_api(
    admin: User, client_for: Any, api_for: Any
) -> None:
    kept = make_company(admin, name="Nordwind AG")
    gone = make_company(admin, name="Nordwind")
    merge.merge(admin, kept, gone)

    page = client_for(admin).get("/companies/trash/").content.decode()
    assert f'href="/companies/{kept.pk}/">Nordwind AG</a>' in page
    refused = api_for(admin).post(f"/api/v1/companies/{gone.pk}/restore")
    assert refused.status_code == 400
    assert "undo the merge instead" in refused.content.decode()
    assert Company.objects.get(pk=gone.pk).deleted_at is not None


def test_trash_page_queries_do_not_grow_with_merged_records(admin: User, client_for: Any) -> None:
    client = client_for(admin)

    def trash_page() -> Any:
        return client.get("/contacts/trash/")

    def merge_twins(index: int) -> None:
        phone = f"+49301004{index:02d}"
        kept = make_contact(admin, first_name=f"K{index}", last_name="Twin", phones=[phone])
        gone = make_contact(admin, first_name=f"G{index}", last_name="Twin", phones=[phone])
        merge.merge(admin, kept, gone)

    merge_twins(0)
    small = queries_of(trash_page)
    for index in range(1, 8):
        merge_twins(index)
    large = queries_of(trash_page)
    assert_same(small, large)
