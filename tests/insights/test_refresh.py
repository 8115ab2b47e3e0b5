"""The analytics refresh end to end: orders in, scores on pages and in the overview."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.core.permissions import Role
from rapport.customers.models import Contact
from rapport.insights import pipeline, services
from rapport.insights.models import CustomerScore, ModelRun, RunStatus
from rapport.trading.models import Order
from rapport.users.models import User
from tests.customers.factories import make_contact

TODAY = date(2026, 11, 30)


def order(contact: Contact, day: date, amount: str, status: str = "delivered") -> Order:
    """An order row as the trading services leave it (totals already in base currency)."""
    return Order.objects.create(
        number=f"T-{Order.objects.count() + 1:06d}",
        contact=contact,
        status=status,
        order_date=day,
        currency="EUR",
        subtotal=Decimal(amount),
        total=Decimal(amount),
        total_base=Decimal(amount),
    )


@pytest.fixture
def shop(admin: User) -> list[Contact]:
    """Forty customers with a year of repeat purchases at different rates."""
    rng = random.Random(5)
    people = [make_contact(admin, first_name=f"Buyer{i}", owner=None) for i in range(40)]
    for i, person in enumerate(people):
        day = TODAY - timedelta(days=rng.randint(200, 400))
        gap = 10 + i * 4
        while day < TODAY - timedelta(days=i * 3):
            order(person, day, f"{rng.randint(20, 120)}.50")
            day += timedelta(days=rng.randint(gap // 2, gap * 2))
    return people


def test_refresh_scores_every_buyer_and_records_the_run(shop: list[Contact]) -> None:
    run = services.refresh_scores(today=TODAY)
    assert run.status == RunStatus.SUCCEEDED
    assert run.customers == 40
    assert CustomerScore.objects.count() == 40
    assert run.diagnostics["bgnbd"]["log_likelihood"] < 0
    frequent = CustomerScore.objects.get(contact=shop[0])
    rare = CustomerScore.objects.get(contact=shop[-1])
    assert frequent.purchases > rare.purchases
    assert frequent.expected_purchases is not None
    assert rare.expected_purchases is not None
    assert frequent.expected_purchases > rare.expected_purchases
    assert frequent.spend == sum(o.total_base for o in Order.objects.filter(contact=shop[0]))
    assert isinstance(frequent.lifetime_value, Decimal)


def test_cancelled_returned_and_trashed_orders_do_not_count(
    shop: list[Contact], admin: User
) -> None:
    extra = make_contact(admin, first_name="Canceller")
    order(extra, TODAY - timedelta(days=30), "500.00", status="cancelled")
    order(extra, TODAY - timedelta(days=20), "500.00", status="returned")
    order(extra, TODAY - timedelta(days=10), "9.00", status="quote")
    services.refresh_scores(today=TODAY)
    assert not CustomerScore.objects.filter(contact=extra).exists()


def test_a_second_refresh_replaces_the_scores_at_once(shop: list[Contact]) -> None:
    first = services.refresh_scores(today=TODAY)
    second = services.refresh_scores(today=TODAY + timedelta(days=30))
    assert set(CustomerScore.objects.values_list("run", flat=True)) == {second.pk}
    assert first.pk != second.pk
    # A month without purchases: everybody's last order is further away.
    assert CustomerScore.objects.get(contact=shop[0]).recency_days >= 30


def test_a_failed_refresh_keeps_the_previous_scores_and_says_why(
    shop: list[Contact], monkeypatch: pytest.MonkeyPatch
) -> None:
    services.refresh_scores(today=TODAY)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "score_customers", broken)
    with pytest.raises(RuntimeError):
        services.refresh_scores(today=TODAY)
    assert CustomerScore.objects.count() == 40
    failed = ModelRun.objects.order_by("-id").first()
    assert failed is not None
    assert failed.status == RunStatus.FAILED
    assert "disk full" in failed.error


def _schema(model: Any) -> dict[str, Any]:
    """Names and definitions of a table's indexes and constraints, as Django sees them."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    # SQLite's automatic unique indexes have generated names; compare their columns.
    return {
        (name if not name.startswith("__unnamed") else "unnamed"): (
            tuple(details["columns"]),
            details["unique"],
            details["primary_key"],
            details["foreign_key"],
            details["index"],
        )
        for name, details in found.items()
    }


def test_the_swapped_in_tables_keep_their_indexes_and_constraints(shop: list[Contact]) -> None:
    from rapport.insights.models import CompanyScore, NextBestOffer

    before = {model: _schema(model) for model in (CustomerScore, CompanyScore, NextBestOffer)}
    services.refresh_scores(today=TODAY)
    services.refresh_scores(today=TODAY)
    for model, schema in before.items():
        assert _schema(model) == schema, model.__name__
    # The table still enforces its constraints after the swap.
    from django.db import IntegrityError, transaction

    score = CustomerScore.objects.first()
    assert score is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerScore.objects.create(
            **{
                field.attname: getattr(score, field.attname)
                for field in CustomerScore._meta.concrete_fields
            }
        )


def test_a_refresh_failing_while_writing_leaves_the_old_scores_whole(
    shop: list[Contact], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rapport.insights import swap
    from rapport.insights.models import NextBestOffer

    first = services.refresh_scores(today=TODAY)
    scores = list(CustomerScore.objects.order_by("pk").values_list("pk", "run", "spend"))
    offers = list(NextBestOffer.objects.order_by("pk").values_list("pk", "contact", "product"))
    real_stage = swap.stage

    def stage_then_fail(model: Any, columns: Any, *, rows: int) -> Any:
        if model is NextBestOffer:  # the last table: the others are staged already
            raise RuntimeError("disk full")
        return real_stage(model, columns, rows=rows)

    monkeypatch.setattr(swap, "stage", stage_then_fail)
    with pytest.raises(RuntimeError):
        services.refresh_scores(today=TODAY + timedelta(days=30))
    assert list(CustomerScore.objects.order_by("pk").values_list("pk", "run", "spend")) == scores
    assert all(run == first.pk for _, run, _ in scores)
    assert (
        list(NextBestOffer.objects.order_by("pk").values_list("pk", "contact", "product")) == offers
    )
    monkeypatch.undo()
    assert services.refresh_scores(today=TODAY).status == RunStatus.SUCCEEDED


def test_bad_orders_are_left_out_and_counted(shop: list[Contact], admin: User) -> None:
    odd = make_contact(admin, first_name="Odd")
    order(odd, TODAY - timedelta(days=40), "80.00")
    order(odd, TODAY - timedelta(days=20), "-80.00")  # a credit note
    order(odd, TODAY + timedelta(days=3), "15.00")  # dated in the future
    order(odd, TODAY - timedelta(days=10), "0.00")
    trashed = order(odd, TODAY - timedelta(days=5), "999.00")
    trashed.deleted_at = trashed.created_at
    trashed.save(update_fields=["deleted_at"])
    run = services.refresh_scores(today=TODAY)
    assert run.diagnostics["skipped"] == {"negative amount": 1, "dated in the future": 1}
    score = CustomerScore.objects.get(contact=odd)
    assert score.purchases == 2  # the zero-value order is a purchase, without spend
    assert score.spend == Decimal("80.00")
    assert score.last_order_on == TODAY - timedelta(days=10)


def test_command_refreshes_and_reports(
    shop: list[Contact], capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("analytics", "refresh", "--no-progress")
    assert "Scored 40 customers" in capsys.readouterr().out
    assert CustomerScore.objects.count() == 40


# --- pages -------------------------------------------------------------------------


@pytest.mark.parametrize("role", Role.values)
def test_overview_page_for_every_role(
    shop: list[Contact], role: str, user_of_role: Any, client_for: Any
) -> None:
    services.refresh_scores(today=TODAY)
    response = client_for(user_of_role(role)).get("/insights/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Customers by recency and value" in body
    assert "plotly/plotly.min.js" in body
    # Plotly needs inline styles on this page only; scripts stay nonce-only.
    policy = response["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "script-src 'self' 'nonce-" in policy


def test_overview_counts_only_customers_the_viewer_sees(
    admin: User, sales: User, client_for: Any
) -> None:
    mine = make_contact(admin, first_name="Mine", owner=sales)
    for days in (300, 200, 100, 10):
        order(mine, TODAY - timedelta(days=days), "50.00")
    services.refresh_scores(today=TODAY)
    assert client_for(sales).get("/insights/").status_code == 200
    from rapport.insights import queries

    assert list(queries.scores(sales).values_list("contact", flat=True)) == [mine.pk]


def test_overview_queries_do_not_grow_with_customers(
    shop: list[Contact], admin: User, client_for: Any
) -> None:
    services.refresh_scores(today=TODAY)
    client = client_for(admin)
    client.get("/insights/")
    with CaptureQueriesContext(connection) as few:
        client.get("/insights/")
    for i in range(10):
        person = make_contact(admin, first_name=f"Late{i}")
        order(person, TODAY - timedelta(days=50), "10.00")
        order(person, TODAY - timedelta(days=5), "10.00")
    services.refresh_scores(today=TODAY)
    with CaptureQueriesContext(connection) as more:
        client.get("/insights/")
    assert len(more) == len(few)


def test_only_admins_and_managers_may_start_a_refresh(
    user_of_role: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    for role in Role.values:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(user_of_role(role)).post("/insights/refresh/")
        assert response.status_code == (302 if role in (Role.ADMIN, Role.MANAGER) else 403), role
    assert ModelRun.objects.filter(status=RunStatus.SUCCEEDED).count() == 2


def test_contact_page_shows_the_value_panel(
    shop: list[Contact], admin: User, client_for: Any
) -> None:
    services.refresh_scores(today=TODAY)
    body = client_for(admin).get(f"/contacts/{shop[0].pk}/").content.decode()
    assert 'id="insights"' in body
    assert "Lifetime value" in body
    newcomer = make_contact(admin, first_name="Newcomer")
    body = client_for(admin).get(f"/contacts/{newcomer.pk}/").content.decode()
    assert "No scores" in body


def test_anonymous_visitors_are_sent_to_sign_in(client: Any) -> None:
    assert client.get("/insights/").status_code == 302


# --- API ---------------------------------------------------------------------------


def test_api_lists_scores_by_value_with_filters(
    shop: list[Contact], admin: User, api_for: Any
) -> None:
    services.refresh_scores(today=TODAY)
    api = api_for(admin)
    response = api.get("/api/v1/insights/scores", {"limit": 100})
    assert response.status_code == 200
    values = [float(row["lifetime_value"]) for row in response.json()["results"]]
    assert len(values) == 40
    assert values == sorted(values, reverse=True)
    segment = CustomerScore.objects.values_list("segment", flat=True).first()
    filtered = api.get("/api/v1/insights/scores", {"segment": segment}).json()["results"]
    assert filtered
    assert {row["segment"] for row in filtered} == {segment}
    by_churn = api.get("/api/v1/insights/scores", {"ordering": "-churn_risk"}).json()["results"]
    risks = [row["churn_risk"] for row in by_churn]
    assert risks == sorted(risks, reverse=True)
    assert api.get("/api/v1/insights/scores", {"ordering": "password"}).status_code == 400
    run = api.get("/api/v1/insights/runs").json()["results"][0]
    assert run["status"] == "succeeded"
    assert "bgnbd" in run["diagnostics"]


def test_api_scores_follow_contact_visibility_and_are_read_only(
    admin: User, sales: User, api_for: Any
) -> None:
    mine = make_contact(admin, first_name="Mine", owner=sales)
    hidden = make_contact(admin, first_name="Hidden", owner=admin)
    for person in (mine, hidden):
        for days in (300, 200, 100, 10):
            order(person, TODAY - timedelta(days=days), "50.00")
    services.refresh_scores(today=TODAY)
    api = api_for(sales)
    rows = api.get("/api/v1/insights/scores").json()["results"]
    assert [row["contact"] for row in rows] == [mine.pk]
    assert api.get(f"/api/v1/insights/scores/{hidden.pk}").status_code == 404
    assert api.post("/api/v1/insights/scores", {}).status_code in (403, 405)
    assert api.delete(f"/api/v1/insights/scores/{mine.pk}").status_code in (403, 405)


# --- loyalty tiers and share of business ------------------------------------------


def test_customers_get_the_highest_tier_they_reach(shop: list[Contact], admin: User) -> None:
    from rapport.insights.models import LoyaltyTier

    services.save_tier(admin, None, name="Bronze", min_lifetime_value=Decimal(0), min_tenure_days=0)
    gold = services.save_tier(
        admin,
        None,
        name="Gold",
        min_lifetime_value=Decimal(200),
        min_tenure_days=180,
        privileges="Free annual service",
    )
    services.refresh_scores(today=TODAY)
    scores = CustomerScore.objects.select_related("loyalty_tier")
    assert all(score.loyalty_tier is not None for score in scores)
    for score in scores:
        tenure = (TODAY - score.first_order_on).days
        value = score.lifetime_value or 0
        expected = "Gold" if value >= 200 and tenure >= 180 else "Bronze"
        assert score.loyalty_tier is not None
        assert score.loyalty_tier.name == expected
    assert scores.filter(loyalty_tier=gold).exists()
    with pytest.raises(ValidationError):
        services.save_tier(
            admin, None, name="gold", min_lifetime_value=Decimal(1), min_tenure_days=0
        )
    assert LoyaltyTier.objects.count() == 2


def test_only_admins_define_tiers(user_of_role: Any, client_for: Any) -> None:
    for role in Role.values:
        client = client_for(user_of_role(role))
        assert client.get("/insights/tiers/").status_code == 200
        response = client.post(
            "/insights/tiers/",
            {"name": f"T-{role}", "min_lifetime_value": "10", "min_tenure_days": "0"},
        )
        assert response.status_code == (302 if role == Role.ADMIN else 403), role
    from rapport.insights.models import LoyaltyTier

    assert list(LoyaltyTier.objects.values_list("name", flat=True)) == ["T-admin"]


def test_tier_form_shows_errors_instead_of_saving(admin: User, client_for: Any) -> None:
    response = client_for(admin).post(
        "/insights/tiers/", {"name": "", "min_lifetime_value": "-5", "min_tenure_days": "x"}
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


def test_share_of_business_from_the_estimated_spend_field(shop: list[Contact], admin: User) -> None:
    from rapport.core.models import CustomFieldDefinition
    from rapport.customers import services as customer_services

    CustomFieldDefinition.objects.create(
        target="contact", key="estimated_annual_spend", label="Estimated spend", field_type="number"
    )
    customer_services.update_contact(
        admin, shop[0], {"custom_fields": {"estimated_annual_spend": 2000}}
    )
    services.refresh_scores(today=TODAY)
    score = CustomerScore.objects.get(contact=shop[0])
    recent = sum(
        o.total_base
        for o in Order.objects.filter(contact=shop[0], order_date__gt=TODAY - timedelta(days=365))
    )
    assert score.recent_spend == recent
    assert score.share_of_business == pytest.approx(min(float(recent) / 2000, 1.0))
    assert CustomerScore.objects.get(contact=shop[1]).share_of_business is None


def test_tiers_can_require_satisfaction_from_survey_answers(
    shop: list[Contact], admin: User, client_for: Any
) -> None:
    from rapport.insights.models import TierSatisfaction
    from rapport.satisfaction.choices import SurveyKind
    from tests.satisfaction.factories import agree_to_surveys, answer, invite_one, make_survey

    services.save_tier(admin, None, name="Bronze", min_lifetime_value=Decimal(0), min_tenure_days=0)
    services.save_tier(
        admin,
        None,
        name="Silver",
        min_lifetime_value=Decimal("0.01"),
        min_tenure_days=0,
        min_satisfaction=TierSatisfaction.NOT_UNHAPPY,
    )
    services.save_tier(
        admin,
        None,
        name="Gold",
        min_lifetime_value=Decimal("0.02"),
        min_tenure_days=0,
        min_satisfaction=TierSatisfaction.DELIGHTED,
    )
    nps = make_survey(admin, kind=SurveyKind.NPS)
    promoter, detractor, silent = shop[0], shop[1], shop[2]
    answer(invite_one(nps, agree_to_surveys(promoter), admin), score=10)
    answer(invite_one(nps, agree_to_surveys(detractor), admin), score=2)
    services.refresh_scores(today=TODAY)

    def tier_of(contact: Contact) -> str:
        score = CustomerScore.objects.select_related("loyalty_tier").get(contact=contact)
        assert score.loyalty_tier is not None
        return score.loyalty_tier.name

    assert (tier_of(promoter), tier_of(detractor), tier_of(silent)) == ("Gold", "Bronze", "Silver")
    with pytest.raises(ValidationError):
        services.save_tier(
            admin,
            None,
            name="Platinum",
            min_lifetime_value=Decimal(0),
            min_tenure_days=0,
            min_satisfaction="ecstatic",
        )
    page = client_for(admin).get("/insights/tiers/").content.decode()
    assert "Delighted or promoter" in page
