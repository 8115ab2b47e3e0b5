"""Company scores: every order placed for a company, by any of its people, counts."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from rapport.customers.models import Company
from rapport.insights import services
from rapport.insights.models import CompanyScore
from rapport.trading.models import Order
from rapport.users.models import User
from tests.customers.factories import make_company, make_contact
from tests.insights.test_refresh import TODAY


def company_order(company: Company, day: Any, amount: str, contact: Any = None) -> Order:
    return Order.objects.create(
        number=f"C-{Order.objects.count() + 1:06d}",
        company=company,
        contact=contact,
        status="delivered",
        order_date=day,
        currency="EUR",
        subtotal=Decimal(amount),
        total=Decimal(amount),
        total_base=Decimal(amount),
    )


@pytest.fixture
def accounts(admin: User, sales: User) -> list[Company]:
    """Thirty companies buying at different rates; the first is owned by the sales user."""
    rng = random.Random(3)
    companies = [
        make_company(admin, name=f"Account {i}", owner=sales if i == 0 else admin)
        for i in range(30)
    ]
    buyer = make_contact(admin, first_name="Buyer")
    for i, company in enumerate(companies):
        day = TODAY - timedelta(days=rng.randint(250, 400))
        while day < TODAY - timedelta(days=i * 4):
            # Some orders name the person who placed them, some only the company.
            company_order(company, day, f"{rng.randint(100, 900)}.00", buyer if i % 2 else None)
            day += timedelta(days=rng.randint(8 + i * 2, 20 + i * 6))
    return companies


def test_refresh_scores_companies_from_all_their_orders(accounts: list[Company]) -> None:
    run = services.refresh_scores(today=TODAY)
    assert CompanyScore.objects.count() == 30
    busy = CompanyScore.objects.get(company=accounts[0])
    quiet = CompanyScore.objects.get(company=accounts[-1])
    assert busy.purchases > quiet.purchases
    assert busy.spend == sum(o.total_base for o in Order.objects.filter(company=accounts[0]))
    assert busy.lifetime_value is not None
    assert quiet.lifetime_value is not None
    assert busy.lifetime_value > quiet.lifetime_value
    assert run.diagnostics["companies"]["customers"] == 30


def test_company_page_shows_the_value_panel(
    accounts: list[Company], sales: User, client_for: Any
) -> None:
    services.refresh_scores(today=TODAY)
    page = client_for(sales).get(f"/companies/{accounts[0].pk}/").content.decode()
    assert "Value" in page
    assert "From every order placed for the company" in page


def test_api_lists_company_scores_the_viewer_may_see(
    accounts: list[Company], admin: User, sales: User, api_for: Any
) -> None:
    services.refresh_scores(today=TODAY)
    everyone = api_for(admin)
    rows = everyone.get("/api/v1/insights/company-scores", {"limit": 100}).json()["results"]
    assert len(rows) == 30
    values = [float(row["lifetime_value"]) for row in rows]
    assert values == sorted(values, reverse=True)
    at_risk = everyone.get("/api/v1/insights/company-scores", {"min_churn_risk": "0.5"})
    assert all(row["churn_risk"] >= 0.5 for row in at_risk.json()["results"])
    # A sales user with "own" scope sees only the company they own.
    seller = sales
    mine = api_for(seller).get("/api/v1/insights/company-scores").json()["results"]
    assert [row["company"] for row in mine] == [accounts[0].pk]
    hidden = accounts[1].pk
    assert api_for(seller).get(f"/api/v1/insights/company-scores/{hidden}").status_code == 404
    assert everyone.post("/api/v1/insights/company-scores", {}).status_code in (403, 405)
