"""The timeline's write path: recording, logging, editing, deleting, stage changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.core.services import ConflictError
from rapport.customers import services as customer_services
from rapport.customers.choices import LifecycleStage
from rapport.customers.models import Contact, LifecycleChange
from rapport.interactions import queries, services
from rapport.interactions.choices import InteractionKind
from rapport.interactions.models import Interaction
from rapport.users.models import User
from tests.customers.factories import make_company, make_contact
from tests.interactions.factories import logged, touchpoint

pytestmark = pytest.mark.django_db


def test_record_interaction_writes_a_row_with_history_and_last_activity(sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    when = timezone.now() - timedelta(days=2)
    row = touchpoint(
        None, contact=contact, kind="order", subject="  Order   42  ", occurred_at=when
    )
    assert row.subject == "Order 42"
    assert row.owner is None
    assert [h.history_type for h in row.history.all()] == ["+"]
    contact.refresh_from_db()
    assert contact.last_activity_at == when


def test_record_interaction_with_a_dedupe_key_is_idempotent(sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    first = touchpoint(None, contact=contact, kind="order", dedupe_key="order:1:placed")
    again = touchpoint(None, contact=contact, kind="order", dedupe_key="order:1:placed")
    assert again.pk == first.pk
    assert Interaction.objects.filter(dedupe_key="order:1:placed").count() == 1
    other = touchpoint(None, contact=contact, kind="order", dedupe_key="order:2:placed")
    assert other.pk != first.pk


def test_a_duplicate_key_written_meanwhile_returns_the_row_already_there(
    sales: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race: another worker inserts between our look-up and our insert."""
    contact = make_contact(sales, owner=sales)
    first = touchpoint(None, contact=contact, kind="order", dedupe_key="order:7:placed")
    real_filter = Interaction.objects.filter
    calls = {"n": 0}

    def blind_first_lookup(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        rows = real_filter(*args, **kwargs)
        return rows.none() if calls["n"] == 1 else rows

    monkeypatch.setattr(Interaction.objects, "filter", blind_first_lookup)
    with transaction.atomic():  # the caller's own transaction survives the conflict
        again = touchpoint(None, contact=contact, kind="order", dedupe_key="order:7:placed")
        assert Contact.objects.filter(pk=contact.pk).exists()
    assert again.pk == first.pk
    assert real_filter(dedupe_key="order:7:placed").count() == 1


def test_a_database_error_without_dedupe_key_is_not_swallowed(sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    row = touchpoint(None, contact=contact)
    with pytest.raises(IntegrityError), transaction.atomic():
        Interaction.objects.filter(pk=row.pk).update(contact=None, company=None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "visit"}, "kind"),
        ({"channel": "pigeon"}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"outcome": "great"}, "outcome"),
        ({"duration_minutes": 2000}, "duration_minutes"),
        ({"subject": "   "}, "subject"),
        ({"contact": None}, "contact"),
    ],
)
def test_record_interaction_validates(sales: User, changes: dict[str, object], field: str) -> None:
    contact = make_contact(sales, owner=sales)
    arguments: dict[str, object] = {"kind": "call", "subject": "Hello", "contact": contact}
    arguments.update(changes)
    with pytest.raises(ValidationError) as raised:
        services.record_interaction(None, **arguments)  # type: ignore[arg-type]
    assert field in raised.value.message_dict
    assert not Interaction.objects.exists()


def test_long_subjects_are_shortened_not_refused(sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    row = touchpoint(sales, contact=contact, subject="x" * 500)
    assert len(row.subject) == services.SUBJECT_LENGTH
    assert row.subject.endswith("…")


def test_log_interaction_defaults_to_now_and_the_actor(sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    row = logged(sales, contact=contact, kind="meeting", outcome="interested", duration_minutes=45)
    assert row.owner == sales
    assert row.created_by == sales
    assert timezone.now() - row.occurred_at < timedelta(minutes=1)
    assert (row.kind, row.outcome, row.duration_minutes) == ("meeting", "interested", 45)


@pytest.mark.parametrize("kind", ["order", "delivery", "lifecycle", "survey"])
def test_people_log_only_manual_kinds(sales: User, kind: str) -> None:
    contact = make_contact(sales, owner=sales)
    with pytest.raises(ValidationError) as raised:
        logged(sales, contact=contact, kind=kind)
    assert "written by Rapport" in raised.value.message_dict["kind"][0]


def test_log_interaction_refuses_the_future(sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    with pytest.raises(ValidationError) as raised:
        logged(sales, contact=contact, occurred_at=timezone.now() + timedelta(days=1))
    assert "future" in raised.value.message_dict["occurred_at"][0]


def test_log_interaction_refuses_customers_the_actor_cannot_see(
    sales: User, sales_south: User
) -> None:
    hidden = make_contact(sales_south, owner=sales_south)
    with pytest.raises(PermissionDenied):
        logged(sales, contact=hidden)


def test_read_only_cannot_log(read_only: User, sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    with pytest.raises(PermissionDenied):
        logged(read_only, contact=contact)


def test_only_managers_log_for_a_colleague(sales: User, manager: User, service_user: User) -> None:
    contact = make_contact(sales, owner=sales)
    with pytest.raises(PermissionDenied):
        logged(sales, contact=contact, owner=service_user)
    row = logged(manager, contact=contact, owner=sales)
    assert row.owner == sales
    assert row.created_by == manager


def test_update_checks_version_and_kind(sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    row = logged(sales, contact=contact)
    services.update_interaction(
        sales, row, {"kind": "meeting", "subject": "Met"}, expected_version=1
    )
    row.refresh_from_db()
    assert (row.kind, row.subject, row.version) == ("meeting", "Met", 2)
    with pytest.raises(ConflictError):
        services.update_interaction(sales, row, {"subject": "Stale"}, expected_version=1)
    with pytest.raises(ValidationError) as raised:
        services.update_interaction(sales, row, {"kind": "order"})
    assert "kind" in raised.value.message_dict
    with pytest.raises(ValidationError) as raised:
        services.update_interaction(sales, row, {"contact": None})
    assert "contact" in raised.value.message_dict
    assert [h.history_change_reason for h in row.history.order_by("history_id")] == [
        "Recorded",
        "Edited",
    ]


def test_people_edit_and_delete_only_their_own(
    sales: User, north_colleague: User, manager: User
) -> None:
    contact = make_contact(sales, owner=sales)
    mine, theirs = logged(sales, contact=contact), logged(north_colleague, contact=contact)
    services.update_interaction(sales, mine, {"subject": "Mine"})
    with pytest.raises(PermissionDenied):
        services.update_interaction(sales, theirs, {"subject": "Not mine"})
    with pytest.raises(PermissionDenied):
        services.delete_interaction(sales, theirs)
    services.delete_interaction(manager, theirs)
    assert Interaction.objects.get(pk=theirs.pk).is_deleted


def test_system_rows_are_for_managers_to_correct(sales: User, manager: User) -> None:
    contact = make_contact(sales, owner=sales)
    order = touchpoint(None, contact=contact, kind="order", subject="Order 1")
    with pytest.raises(PermissionDenied):
        services.update_interaction(sales, order, {"subject": "Changed"})
    services.update_interaction(manager, order, {"subject": "Order 1 (corrected)"})
    with pytest.raises(ValidationError):  # an order never becomes a call
        services.update_interaction(manager, order, {"kind": "call"})


def test_last_activity_follows_edits_and_deletes(sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    now = timezone.now()
    older = logged(sales, contact=contact, occurred_at=now - timedelta(days=10))
    newer = logged(sales, contact=contact, occurred_at=now - timedelta(days=1))
    contact.refresh_from_db()
    assert contact.last_activity_at == newer.occurred_at
    services.update_interaction(sales, newer, {"occurred_at": now - timedelta(days=20)})
    contact.refresh_from_db()
    assert contact.last_activity_at == older.occurred_at
    services.delete_interaction(sales, older)
    contact.refresh_from_db()
    assert contact.last_activity_at == now - timedelta(days=20)
    services.delete_interaction(sales, newer)
    contact.refresh_from_db()
    assert contact.last_activity_at is None


def test_update_refuses_moving_a_logged_touchpoint_into_the_future(sales: User) -> None:
    row = logged(sales, contact=make_contact(sales, owner=sales))
    with pytest.raises(ValidationError):
        services.update_interaction(sales, row, {"occurred_at": timezone.now() + timedelta(days=3)})


def test_stage_changes_appear_on_the_timeline(sales: User) -> None:
    contact = make_contact(sales, owner=sales, lifecycle_stage=LifecycleStage.LEAD)
    customer_services.change_stage(
        sales, contact, LifecycleStage.PROSPECT, reason="Asked for a quote"
    )
    row = queries.timeline(sales, contact).get()
    change = LifecycleChange.objects.get(contact=contact, to_stage=LifecycleStage.PROSPECT)
    assert row.kind == InteractionKind.LIFECYCLE
    assert row.subject == "Lead → Prospect"
    assert row.body == "Asked for a quote"
    assert (row.source, row.owner, row.created_by) == (change, None, sales)
    assert row.occurred_at == change.changed_at
    customer_services.change_stage(sales, contact, LifecycleStage.PROSPECT)  # no change, no row
    assert queries.timeline(sales, contact).count() == 1


def test_mark_customer_writes_one_timeline_row_for_companies_too(sales: User) -> None:
    company = make_company(sales, owner=sales)
    assert customer_services.mark_customer(None, company, reason="First order")
    assert not customer_services.mark_customer(None, company, reason="Second order")
    rows = list(queries.timeline(sales, company))
    assert [(r.kind, r.company_id, r.contact_id) for r in rows] == [("lifecycle", company.pk, None)]
    assert rows[0].subject.endswith("→ Customer")


def test_a_failing_stage_change_leaves_no_timeline_row(sales: User) -> None:
    contact = make_contact(sales, owner=sales, lifecycle_stage=LifecycleStage.CUSTOMER)
    with pytest.raises(ValidationError):
        customer_services.change_stage(sales, contact, LifecycleStage.LEAD)
    assert not Interaction.objects.exists()


def test_company_timeline_includes_its_people(sales: User) -> None:
    company = make_company(sales, owner=sales)
    member = make_contact(sales, owner=sales, companies=[(company, "Buyer")])
    stranger = make_contact(sales, owner=sales)
    on_company = touchpoint(sales, company=company)
    with_member = touchpoint(sales, contact=member)
    touchpoint(sales, contact=stranger)
    assert set(queries.timeline(sales, company)) == {on_company, with_member}
