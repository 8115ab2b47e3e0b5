"""Merging two contacts or companies keeps everything of both, and can be undone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from rapport.catalog.models import Product
from rapport.customers import services as customer_services
from rapport.customers.choices import ConsentChannel, ConsentPurpose, ConsentStatus
from rapport.customers.models import Company, Consent, Contact, ContactEmail, Membership
from rapport.dataio import duplicates, merge
from rapport.dataio.models import DuplicateKind, DuplicatePair, MergeRecord, PairStatus
from rapport.insights.models import CustomerScore, ModelRun
from rapport.interactions.models import Interaction
from rapport.interactions.services import record_interaction
from rapport.sales.models import Deal
from rapport.service.models import Ticket
from rapport.trading.models import Order
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_company, make_contact
from tests.sales.factories import make_deal
from tests.service.factories import make_ticket
from tests.trading.factories import make_order

pytestmark = pytest.mark.django_db

EMAIL, MARKETING = ConsentChannel.EMAIL, ConsentPurpose.MARKETING


@dataclass
class Twins:
    survivor: Contact
    loser: Contact
    acme: Company
    globex: Company
    product: Product


@pytest.fixture
def twins(admin: User) -> Twins:
    acme, globex = make_company(admin, name="Acme"), make_company(admin, name="Globex")
    survivor = make_contact(
        admin, first_name="Anna", last_name="Schmidt", emails=["anna@acme.example"],
        phones=["+4930111111"], tags=["vip"], companies=[(acme, "Buyer")], job_title="Buyer",
    )  # fmt: skip
    loser = make_contact(
        admin, first_name="Anna", last_name="Schmidt-Berg",
        emails=["anna.berg@acme.example", "anna@home.example"],
        phones=["+4930111111", "+4930222222"], tags=["vip", "newsletter"],
        companies=[(acme, "Purchasing"), (globex, "Advisor")], job_title="",
        custom_fields={}, source="fair",
    )  # fmt: skip
    customer_services.set_consent(
        admin, survivor, channel=EMAIL, purpose=MARKETING, granted=False, source="phone"
    )
    customer_services.set_consent(
        admin, loser, channel=EMAIL, purpose=MARKETING, granted=True, source="web form"
    )
    customer_services.set_consent(
        admin, loser, channel=ConsentChannel.PHONE, purpose=MARKETING, granted=True, source="web"
    )
    product = make_product(admin, sku="BOIL-1", name="Boiler", unit_price="1000.00")
    return Twins(survivor, loser, acme, globex, product)


def test_merge_moves_everything_and_keeps_the_survivors_one_of_a_kind_rows(
    admin: User, twins: Twins
) -> None:
    survivor, loser = twins.survivor, twins.loser
    order = make_order(admin, contact=loser, lines=[(twins.product, 1)])
    ticket = make_ticket(admin, contact=loser)
    deal = make_deal(admin, contact=loser)
    call = record_interaction(admin, kind="call", subject="Asked for a quote", contact=loser)
    boss = make_contact(admin, first_name="Boss")
    involved = make_deal(admin, name="Heating", contact=boss, contacts=[loser])
    both_involved = make_deal(admin, name="Solar", contact=boss, contacts=[survivor, loser])

    record = merge.merge(admin, survivor, loser)

    survivor.refresh_from_db()
    loser.refresh_from_db()
    assert loser.deleted_at is not None
    assert record.survivor == survivor
    assert merge.merged_into(loser) == survivor
    assert merge.merged_into(survivor) is None
    assert Order.objects.get(pk=order.pk).contact == survivor
    assert Ticket.objects.get(pk=ticket.pk).contact == survivor
    assert Deal.objects.get(pk=deal.pk).contact == survivor
    assert Interaction.objects.get(pk=call.pk).contact == survivor
    # Many-to-many links of other apps (others involved in a deal) move too, once.
    assert list(involved.contacts.all()) == [survivor]
    assert list(both_involved.contacts.all()) == [survivor]
    assert set(survivor.emails.values_list("email", flat=True)) == {
        "anna@acme.example", "anna.berg@acme.example", "anna@home.example",
    }  # fmt: skip
    assert survivor.emails.get(is_primary=True).email == "anna@acme.example"
    # The same number twice becomes one row; the other number moves.
    assert sorted(survivor.phones.values_list("number", flat=True)) == [
        "+4930111111", "+4930222222",
    ]  # fmt: skip
    assert set(survivor.tags.values_list("name", flat=True)) == {"vip", "newsletter"}
    assert {m.company.name: m.role for m in survivor.memberships.all()} == {
        "Acme": "Buyer", "Globex": "Advisor",
    }  # fmt: skip
    # One consent per channel and purpose: the survivor's stays, the loser's other one moves.
    consents = {(c.channel, c.status) for c in Consent.objects.filter(contact=survivor)}
    assert consents == {(EMAIL, ConsentStatus.WITHDRAWN), ("phone", ConsentStatus.GRANTED)}
    # Gaps are filled from the loser; the survivor's own values stay.
    assert survivor.source == "fair"
    assert survivor.last_name == "Schmidt"
    assert survivor.interactions.filter(subject__startswith="Merged Anna Schmidt-Berg").exists()
    assert survivor.history.first().history_change_reason.startswith("Merged with")


def test_the_user_picks_each_fields_surviving_value(admin: User, twins: Twins) -> None:
    choices = {c.name: c for c in merge.field_choices(twins.survivor, twins.loser)}
    # Both primary phones are the same number, so phone is not asked.
    assert set(choices) == {"last_name", "email", "source"}
    assert choices["source"].default == merge.LOSER
    assert choices["last_name"].default == merge.SURVIVOR

    merge.merge(admin, twins.survivor, twins.loser, choose={"last_name": "loser", "email": "loser"})

    survivor = Contact.objects.get(pk=twins.survivor.pk)
    assert survivor.last_name == "Schmidt-Berg"
    assert survivor.full_name == "Anna Schmidt-Berg"
    assert survivor.email == "anna.berg@acme.example"
    assert survivor.emails.get(is_primary=True).email == "anna.berg@acme.example"
    assert survivor.emails.filter(is_primary=True).count() == 1


@pytest.mark.parametrize(
    ("choose", "field"),
    [({"first_name": "loser"}, "first_name"), ({"last_name": "both"}, "last_name")],
)
def test_a_bad_choice_is_refused_and_nothing_is_written(
    admin: User, twins: Twins, choose: dict[str, str], field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        merge.merge(admin, twins.survivor, twins.loser, choose=choose)
    assert field in error.value.message_dict
    assert Contact.objects.get(pk=twins.loser.pk).deleted_at is None
    assert ContactEmail.objects.filter(contact=twins.loser).count() == 2
    assert not MergeRecord.objects.exists()


def test_merging_a_record_with_itself_or_a_trashed_one_is_refused(
    admin: User, twins: Twins
) -> None:
    with pytest.raises(ValidationError, match="itself"):
        merge.merge(admin, twins.survivor, twins.survivor)
    customer_services.trash_contact(admin, twins.loser)
    with pytest.raises(ValidationError, match="trash"):
        merge.merge(admin, twins.survivor, twins.loser)


def test_undo_puts_both_records_back(admin: User, twins: Twins) -> None:
    survivor, loser = twins.survivor, twins.loser
    order = make_order(admin, contact=loser, lines=[(twins.product, 1)])
    before_emails = {e.pk: (e.contact_id, e.is_primary) for e in ContactEmail.objects.all()}
    before_consents = {
        (c.contact_id, c.channel, c.purpose, c.status) for c in Consent.objects.all()
    }
    before_memberships = {(m.contact_id, m.company_id, m.role) for m in Membership.objects.all()}
    duplicates.scan(DuplicateKind.CONTACT)
    pair = DuplicatePair.objects.get()
    record = merge.merge(
        admin, survivor, loser, choose={"last_name": "loser", "email": "loser"}, pair=pair
    )
    assert DuplicatePair.objects.get().status == PairStatus.MERGED
    # An edit made after the merge is not the merge's to undo.
    customer_services.update_contact(
        admin, Contact.objects.get(pk=survivor.pk), {"job_title": "Head buyer"}
    )

    merge.undo_merge(admin, record)

    survivor.refresh_from_db()
    loser.refresh_from_db()
    assert loser.deleted_at is None
    assert merge.merged_into(loser) is None
    assert survivor.last_name == "Schmidt"
    assert survivor.email == "anna@acme.example"
    assert survivor.source == ""
    assert survivor.job_title == "Head buyer"
    assert Order.objects.get(pk=order.pk).contact == loser
    assert {e.pk: (e.contact_id, e.is_primary) for e in ContactEmail.objects.all()} == (
        before_emails
    )
    assert sorted(loser.phones.values_list("number", flat=True)) == ["+4930111111", "+4930222222"]
    assert {
        (c.contact_id, c.channel, c.purpose, c.status) for c in Consent.objects.all()
    } == before_consents
    assert {(m.contact_id, m.company_id, m.role) for m in Membership.objects.all()} == (
        before_memberships
    )
    assert set(loser.tags.values_list("name", flat=True)) == {"vip", "newsletter"}
    assert set(survivor.tags.values_list("name", flat=True)) == {"vip"}
    assert DuplicatePair.objects.get().status == PairStatus.OPEN
    with pytest.raises(ValidationError, match="undone already"):
        merge.undo_merge(admin, MergeRecord.objects.get())


def test_companies_merge_with_their_memberships(admin: User) -> None:
    survivor = make_company(admin, name="Acme GmbH")
    loser = make_company(admin, name="ACME", industry="Heating")
    both = make_contact(admin, companies=[(survivor, "Buyer")])
    make_contact(admin, companies=[(loser, "CEO")])
    customer_services.add_membership(admin, both, loser, role="Old role")

    record = merge.merge(admin, survivor, loser, choose={"name": "survivor"})

    survivor.refresh_from_db()
    assert survivor.industry == "Heating"
    assert survivor.name == "Acme GmbH"
    assert sorted(survivor.memberships.values_list("role", flat=True)) == ["Buyer", "CEO"]
    merge.undo_merge(admin, record)
    assert sorted(loser.memberships.values_list("role", flat=True)) == ["CEO", "Old role"]


def test_who_may_merge_and_undo(
    admin: User, sales: User, sales_south: User, read_only: User, manager: User, twins: Twins
) -> None:
    mine = make_contact(admin, first_name="Own", owner=sales)
    also_mine = make_contact(admin, first_name="Own", owner=sales)
    theirs = make_contact(admin, first_name="Own", owner=sales_south)
    for user in (read_only, sales_south):
        with pytest.raises(PermissionDenied):
            merge.merge(user, mine, also_mine)
    with pytest.raises(PermissionDenied):
        merge.merge(sales, mine, theirs)

    record = merge.merge(sales, mine, also_mine)

    with pytest.raises(PermissionDenied):
        merge.undo_merge(manager, record)
    merge.undo_merge(sales, record)
    assert Contact.objects.get(pk=also_mine.pk).deleted_at is None


def score_of(contact: Contact, run: ModelRun, spend: str) -> CustomerScore:
    # Written as the insights job writes them: derived rows no service creates one by one.
    return CustomerScore.objects.create(
        contact=contact, run=run, first_order_on=date(2025, 1, 1), last_order_on=date(2025, 6, 1),
        purchases=2, spend=Decimal(spend), recency_days=10, recency_score=5, frequency_score=3,
        monetary_score=4, segment=CustomerScore._meta.get_field("segment").choices[0][0],
    )  # fmt: skip


def test_one_to_one_rows_keyed_by_the_contact_move_or_stay_and_come_back(admin: User) -> None:
    run = ModelRun.objects.create(started_at=timezone.now())
    survivor, loser = make_contact(admin), make_contact(admin)
    score_of(loser, run, "500.00")

    record = merge.merge(admin, survivor, loser)
    assert CustomerScore.objects.get().contact_id == survivor.pk
    merge.undo_merge(admin, record)
    assert CustomerScore.objects.get().contact_id == loser.pk

    score_of(survivor, run, "100.00")
    record = merge.merge(admin, survivor, loser)
    assert list(CustomerScore.objects.values_list("contact_id", "spend")) == [
        (survivor.pk, Decimal("100.00"))
    ]
    merge.undo_merge(admin, record)
    assert dict(CustomerScore.objects.values_list("contact_id", "spend")) == {
        survivor.pk: Decimal("100.00"), loser.pk: Decimal("500.00"),
    }  # fmt: skip


def test_erasing_a_merged_person_also_erases_the_undo_data(admin: User, twins: Twins) -> None:
    from rapport.dataio import gdpr
    from rapport.dataio.models import DuplicatePair, MergeRecord

    merge.merge(admin, twins.survivor, twins.loser)
    assert MergeRecord.objects.filter(survivor_contact=twins.survivor).exists()
    gdpr.erase_contact(admin, twins.survivor, reason="The person asked")
    assert not MergeRecord.objects.filter(survivor_contact=twins.survivor).exists()
    assert not MergeRecord.objects.filter(loser_contact=twins.loser).exists()
    assert not DuplicatePair.objects.filter(contact_a=twins.survivor).exists()


def test_segment_order_rules_count_the_merged_orders_and_undo_gives_them_back(
    admin: User, twins: Twins
) -> None:
    from rapport.marketing import queries as segment_queries
    from rapport.marketing import rules

    make_order(admin, contact=twins.survivor, lines=[(twins.product, 1)])
    make_order(admin, contact=twins.loser, lines=[(twins.product, 2)])
    two_orders = rules.validate(
        {"op": "and", "rules": [{"kind": "order_count", "op": "gte", "value": "2"}]}
    )
    big_spenders = rules.validate(
        {"op": "and", "rules": [{"kind": "total_spend", "op": "gte", "value": "2000"}]}
    )

    def matching(tree: Any) -> set[int]:
        return set(segment_queries.contacts_matching(admin, tree).values_list("pk", flat=True))

    assert matching(two_orders) == set()
    record = merge.merge(admin, twins.survivor, twins.loser)
    assert matching(two_orders) == {twins.survivor.pk}
    merge.undo_merge(admin, record)
    assert matching(two_orders) == set()
    assert matching(big_spenders) == {twins.loser.pk}
