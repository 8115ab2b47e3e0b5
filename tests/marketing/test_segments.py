"""Segments find exactly the contacts their rules describe, in one query."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils import timezone

from rapport.customers.models import Address, Contact
from rapport.insights.models import CustomerScore, LoyaltyTier, ModelRun
from rapport.marketing import queries, rules, services
from rapport.marketing.choices import SegmentKind
from rapport.marketing.models import Segment
from rapport.trading.services import trash_order
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.conftest import World
from tests.customers.factories import define_field, make_company, make_contact
from tests.marketing.factories import all_of, any_of, consent, make_list, make_segment, rule
from tests.trading.factories import make_asset, make_order

pytestmark = pytest.mark.django_db


def names(segment: Segment, viewer: User) -> set[str]:
    return {contact.first_name for contact in queries.members(viewer, segment)}


def matching(admin: User, *rules_: dict[str, Any], op: str = "and") -> set[str]:
    tree = rules.validate({"op": op, "rules": list(rules_)})
    return {c.first_name for c in queries.contacts_matching(admin, tree)}


def test_stage_tag_and_nested_or_group(admin: User) -> None:
    make_contact(admin, first_name="Cus", lifecycle_stage="customer", tags=["vip"])
    make_contact(admin, first_name="Eva", lifecycle_stage="evangelist")
    make_contact(admin, first_name="Lea", lifecycle_stage="lead", tags=["vip"])
    make_contact(admin, first_name="Pro", lifecycle_stage="prospect")
    segment = make_segment(
        admin,
        any_of(
            rule("stage", op="is", value="customer"), rule("stage", op="is", value="evangelist")
        ),
    )
    assert names(segment, admin) == {"Cus", "Eva"}
    assert matching(admin, rule("tag", op="has", value="vip")) == {"Cus", "Lea"}
    assert matching(
        admin,
        rule("tag", op="has_not", value="vip"),
        any_of(rule("stage", op="is", value="prospect"), rule("stage", op="is", value="lead")),
    ) == {"Pro"}
    assert matching(admin, rule("stage", op="is_not", value="lead")) == {"Cus", "Eva", "Pro"}


def test_consent_and_contact_fields(admin: User) -> None:
    yes = make_contact(admin, first_name="Yes", job_title="Head of Purchasing")
    no = make_contact(admin, first_name="No", job_title="")
    make_contact(admin, first_name="Never", job_title="Buyer")
    consent(yes)
    consent(no, granted=False)
    Address.objects.create(contact=yes, city="Berlin", country="DE")
    Address.objects.create(contact=no, city="Hamburg", country="DE")
    granted = rule("consent", op="granted", channel="email", purpose="marketing")
    assert matching(admin, granted) == {"Yes"}
    assert matching(admin, {**granted, "op": "not_granted"}) == {"No", "Never"}
    assert matching(
        admin, rule("contact_field", field="job_title", op="contains", value="purch")
    ) == {"Yes"}
    assert matching(admin, rule("contact_field", field="job_title", op="is_empty")) == {"No"}
    assert matching(
        admin, rule("contact_field", field="addresses__city", op="is", value="berlin")
    ) == {"Yes"}
    assert matching(
        admin, rule("contact_field", field="addresses__city", op="is_not", value="Berlin")
    ) == {"No", "Never"}


def test_custom_fields_by_type(admin: User) -> None:
    define_field("employees", "number")
    define_field("plan", "choice", choices=["basic", "pro"])
    define_field("renewal", "date")
    make_contact(
        admin,
        first_name="Big",
        custom_fields={"employees": 250, "plan": "pro", "renewal": "2027-03-01"},
    )
    make_contact(admin, first_name="Small", custom_fields={"employees": 9, "plan": "basic"})
    make_contact(admin, first_name="Unknown")
    assert matching(admin, rule("custom_field", key="employees", op="gte", value="100")) == {"Big"}
    assert matching(admin, rule("custom_field", key="employees", op="lte", value="100")) == {
        "Small"
    }
    assert matching(admin, rule("custom_field", key="plan", op="is", value="basic")) == {"Small"}
    assert matching(admin, rule("custom_field", key="renewal", op="is_empty")) == {
        "Small",
        "Unknown",
    }
    assert matching(admin, rule("custom_field", key="renewal", op="lte", value="2027-12-31")) == {
        "Big"
    }
    with pytest.raises(ValidationError, match="not one of"):
        rules.validate(all_of(rule("custom_field", key="plan", op="is", value="gold")))


def test_company_attribute(admin: User) -> None:
    retail = make_company(admin, name="Shop AG", industry="Retail")
    works = make_company(admin, name="Works", industry="Manufacturing")
    make_contact(admin, first_name="Rita", companies=[(retail, "Buyer")])
    make_contact(admin, first_name="Max", companies=[(works, "CEO")])
    make_contact(admin, first_name="Solo")
    assert matching(admin, rule("company", field="industry", op="is", value="retail")) == {"Rita"}
    assert matching(admin, rule("company", field="industry", op="is_not", value="Retail")) == {
        "Max",
        "Solo",
    }


def test_behaviour_from_the_trading_history(admin: User) -> None:
    boiler = make_product(
        admin, name="Boiler", category="Heating", unit_price="1000.00", service_interval_days=365
    )
    filter_ = make_product(admin, name="Filter", category="Parts", unit_price="20.00")
    ann = make_contact(admin, first_name="Ann")
    ben = make_contact(admin, first_name="Ben")
    make_contact(admin, first_name="Cid")
    for day in (date(2024, 1, 10), date(2025, 6, 1), date(2025, 9, 1)):
        make_order(admin, contact=ann, lines=[(boiler, 1)], order_date=day)
    make_order(admin, contact=ben, lines=[(filter_, 2)], order_date=date(2023, 5, 5))
    # A quote is not a purchase.
    make_order(admin, contact=ben, lines=[(boiler, 1)], status="quote", order_date=date(2025, 1, 1))

    assert matching(admin, rule("bought_product", op="bought", value=str(boiler.pk))) == {"Ann"}
    assert matching(admin, rule("bought_product", op="not_bought", value=str(boiler.pk))) == {
        "Ben",
        "Cid",
    }
    assert matching(
        admin,
        rule("bought_category", op="bought", value="Parts"),
        rule("bought_category", op="not_bought", value="Heating"),
    ) == {"Ben"}
    assert matching(admin, rule("last_order", op="before", value="2024-01-01")) == {"Ben"}
    assert matching(admin, rule("last_order", op="after", value="2025-07-01")) == {"Ann"}
    assert matching(admin, rule("order_count", op="gte", value="2")) == {"Ann"}
    assert matching(admin, rule("order_count", op="lte", value="1")) == {"Ben", "Cid"}
    assert matching(admin, rule("total_spend", op="gte", value="2500")) == {"Ann"}
    assert matching(admin, rule("total_spend", op="lte", value="40")) == {"Ben", "Cid"}


def test_order_count_and_spend_bounds_count_no_orders_as_zero(admin: User) -> None:
    boiler = make_product(admin, name="Boiler", unit_price="1000.00")
    ann = make_contact(admin, first_name="Ann")
    ben = make_contact(admin, first_name="Ben")
    make_contact(admin, first_name="Cid")  # never bought
    make_order(admin, contact=ann, lines=[(boiler, 1)])
    make_order(admin, contact=ann, lines=[(boiler, 2)])
    make_order(admin, contact=ben, lines=[(boiler, 1)])
    make_order(admin, contact=ben, lines=[(boiler, 3)], status="quote")  # not bought
    deleted = make_order(admin, contact=ben, lines=[(boiler, 5)])
    trash_order(admin, deleted)
    # Orders of a company without a contact must not hide anyone from "at most" rules.
    make_order(admin, company=make_company(admin, name="Acme"), lines=[(boiler, 9)])

    assert matching(admin, rule("order_count", op="gte", value="0")) == {"Ann", "Ben", "Cid"}
    assert matching(admin, rule("order_count", op="gte", value="1")) == {"Ann", "Ben"}
    assert matching(admin, rule("order_count", op="lte", value="0")) == {"Cid"}
    assert matching(admin, rule("order_count", op="lte", value="1")) == {"Ben", "Cid"}
    assert matching(admin, rule("total_spend", op="gte", value="0")) == {"Ann", "Ben", "Cid"}
    assert matching(admin, rule("total_spend", op="gte", value="3000")) == {"Ann"}
    assert matching(admin, rule("total_spend", op="lte", value="0")) == {"Cid"}
    assert matching(admin, rule("total_spend", op="lte", value="1000")) == {"Ben", "Cid"}
    assert matching(admin, rule("total_spend", op="lte", value="999.99")) == {"Cid"}
    assert matching(
        admin,
        any_of(rule("order_count", op="gte", value="2"), rule("total_spend", op="lte", value="0")),
    ) == {"Ann", "Cid"}


def test_owns_a_unit_due_for_service(admin: User) -> None:
    boiler = make_product(admin, name="Boiler", service_interval_days=365)
    soon = make_contact(admin, first_name="Soon")
    later = make_contact(admin, first_name="Later")
    today = timezone.localdate()
    make_asset(admin, product=boiler, contact=soon, bought_on=today - timedelta(days=350))
    make_asset(admin, product=boiler, contact=later, bought_on=today - timedelta(days=100))
    assert matching(admin, rule("asset_due", value="30")) == {"Soon"}
    assert matching(admin, rule("asset_due", value="300")) == {"Soon", "Later"}


def _score(contact: Contact, run: ModelRun, **values: Any) -> CustomerScore:
    defaults: dict[str, Any] = {
        "first_order_on": date(2024, 1, 1), "last_order_on": date(2025, 1, 1), "purchases": 3,
        "spend": Decimal("100"), "recency_days": 30, "recency_score": 3, "frequency_score": 3,
        "monetary_score": 3, "segment": "loyal",
    }  # fmt: skip
    return CustomerScore.objects.create(contact=contact, run=run, **{**defaults, **values})


def test_insight_scores(admin: User) -> None:
    run = ModelRun.objects.create(started_at=timezone.now())
    gold = LoyaltyTier.objects.create(name="Gold", min_lifetime_value=Decimal(1000))
    risky = make_contact(admin, first_name="Risky")
    safe = make_contact(admin, first_name="Safe")
    make_contact(admin, first_name="Unscored")
    _score(risky, run, churn_risk=0.7, lifetime_value=Decimal("5000"), segment="at_risk",
           valuable_at_risk=True, loyalty_tier=gold)  # fmt: skip
    _score(safe, run, churn_risk=0.1, lifetime_value=Decimal("300"), p_alive=0.95)
    assert matching(admin, rule("score", metric="churn_risk", op="gte", value="0.5")) == {"Risky"}
    assert matching(admin, rule("score", metric="lifetime_value", op="gte", value="1000")) == {
        "Risky"
    }
    assert matching(admin, rule("score", metric="p_alive", op="gte", value="0.9")) == {"Safe"}
    assert matching(admin, rule("rfm_segment", op="is", value="at_risk")) == {"Risky"}
    assert matching(admin, rule("rfm_segment", op="is_not", value="at_risk")) == {
        "Safe",
        "Unscored",
    }
    assert matching(admin, rule("loyalty_tier", op="is", value=str(gold.pk))) == {"Risky"}
    assert matching(admin, rule("valuable_at_risk", op="is")) == {"Risky"}


def test_static_list_and_in_list_rule(admin: User) -> None:
    a = make_contact(admin, first_name="A")
    b = make_contact(admin, first_name="B")
    make_contact(admin, first_name="C")
    fair = make_list(admin, [a, b])
    assert names(fair, admin) == {"A", "B"}
    assert services.add_to_list(admin, fair, [a]) == 0  # already in it
    services.remove_from_list(admin, fair, [b])
    assert names(fair, admin) == {"A"}
    assert matching(admin, rule("in_list", op="not_in", value=str(fair.pk))) == {"B", "C"}
    with pytest.raises(ValidationError, match="members, not rules"):
        services.create_segment(
            admin,
            name="x",
            kind=SegmentKind.STATIC,
            rules_tree=all_of(rule("stage", op="is", value="lead")),
        )
    dynamic = make_segment(admin)
    with pytest.raises(ValidationError, match="Only static lists"):
        services.add_to_list(admin, dynamic, [a])


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        (all_of(rule("horoscope", value="leo")), "Rule 1.1: unknown kind 'horoscope'"),
        (all_of(rule("stage", op="is", value="astronaut")), "Rule 1.1 (Lifecycle stage), Stage"),
        (all_of(rule("order_count", op="gte", value="many")), "is not a number"),
        (all_of(rule("order_count", op="gte", value="-1")), "zero or more"),
        (all_of(rule("last_order", op="before", value="yesterday")), "YYYY-MM-DD"),
        ({"op": "xor", "rules": []}, "needs an operator"),
        (
            all_of(any_of(any_of(any_of(any_of(rule("stage", op="is", value="lead")))))),
            "at most 4 deep",
        ),
    ],
)
def test_bad_rules_are_refused_with_the_place_named(admin: User, tree: Any, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        services.create_segment(admin, name="Bad", rules_tree=tree)
    assert message in " ".join(raised.value.message_dict["rules"])
    assert not Segment.objects.exists()


def test_counting_a_segment_is_one_query(admin: User, django_assert_num_queries: Any) -> None:
    boiler = make_product(admin, category="Heating", service_interval_days=365)
    for n in range(5):
        contact = make_contact(admin, first_name=f"N{n}", lifecycle_stage="customer", tags=["vip"])
        consent(contact)
        make_order(admin, contact=contact, lines=[(boiler, 1)])
    segment = make_segment(
        admin,
        rule("stage", op="is", value="customer"),
        rule("consent", op="granted", channel="email", purpose="marketing"),
        any_of(
            rule("bought_category", op="bought", value="Heating"),
            rule("total_spend", op="gte", value="10"),
            rule("asset_due", value="30"),
        ),
        rule("tag", op="has", value="vip"),
        rule("score", metric="churn_risk", op="lte", value="1"),
    )
    segment = Segment.objects.get(pk=segment.pk)
    with django_assert_num_queries(1):
        assert queries.count_members(admin, segment) == 0  # nobody has scores yet
    segment.rules["rules"].pop()
    with django_assert_num_queries(1):
        assert queries.count_members(admin, segment) == 5


def test_members_are_only_those_the_viewer_may_see(world: World, sales: User, admin: User) -> None:
    segment = make_segment(admin, rule("contact_field", field="last_name", op="is", value="Person"))
    assert names(segment, admin) == {
        "Salesowned",
        "Northowned",
        "Noneowned",
        "Southowned",
        "Marketingowned",
    }
    assert names(segment, sales) == {"Salesowned", "Northowned", "Noneowned"}
    assert queries.count_members(sales, segment) == 3


def test_other_apps_register_rule_kinds(admin: User) -> None:
    make_contact(admin, first_name="Tess", job_title="Tester")
    make_contact(admin, first_name="Other")
    kind = rules.RuleKind(
        "job_is_tester", "Job is tester", "Service", (), lambda _: Q(job_title="Tester")
    )
    rules.register_kind(kind)
    try:
        assert matching(admin, rule("job_is_tester")) == {"Tess"}
    finally:
        rules._kinds.pop("job_is_tester")


def test_editing_and_trashing_segments(admin: User, marketing: User, sales: User) -> None:
    segment = make_segment(marketing, rule("stage", op="is", value="lead"), name="Leads")
    services.update_segment(
        marketing, segment, {"name": "Warm leads", "rules": all_of()}, expected_version=1
    )
    segment.refresh_from_db()
    assert (segment.name, segment.rules, segment.version) == ("Warm leads", all_of(), 2)
    assert segment.history.count() == 2
    with pytest.raises(PermissionDenied):
        services.update_segment(sales, segment, {"name": "Mine"})
    with pytest.raises(ValidationError, match="cannot be changed"):
        services.update_segment(marketing, segment, {"kind": "static"})
    services.trash_segment(marketing, segment)
    assert not queries.segments(marketing).exists()
    with pytest.raises(PermissionDenied):
        services.restore_segment(marketing, segment)
    services.restore_segment(admin, segment)
    assert queries.segments(marketing).get() == segment


def test_open_tickets_and_latest_survey_answers(admin: User) -> None:
    from rapport.satisfaction.choices import SurveyKind
    from rapport.service import services as service_services
    from rapport.service.choices import TicketStatus
    from tests.satisfaction.factories import agree_to_surveys, answer, invite_one, make_survey
    from tests.service.factories import make_ticket

    waiting = make_contact(admin, first_name="Waiting")
    helped = make_contact(admin, first_name="Helped")
    make_ticket(admin, contact=waiting)
    done = make_ticket(admin, contact=helped)
    service_services.change_status(admin, done, TicketStatus.RESOLVED)
    assert matching(admin, rule("ticket_open", op="has")) == {"Waiting"}
    assert "Helped" in matching(admin, rule("ticket_open", op="has_not"))

    nps = make_survey(admin, kind=SurveyKind.NPS)
    changed = agree_to_surveys(make_contact(admin, first_name="Changed"))
    fan = agree_to_surveys(make_contact(admin, first_name="Fan"))
    answer(invite_one(nps, changed, admin), score=10)
    answer(invite_one(nps, changed, admin), score=3)  # the latest answer counts
    answer(invite_one(nps, fan, admin), score=9)
    assert matching(admin, rule("satisfaction", op="is", value="nps:promoter")) == {"Fan"}
    assert matching(admin, rule("satisfaction", op="is", value="nps:detractor")) == {"Changed"}
    assert "Fan" not in matching(admin, rule("satisfaction", op="is_not", value="nps:promoter"))
