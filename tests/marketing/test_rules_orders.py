"""Order rules (orders, spend, last order, bought) stay exact through every order write."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.marketing import queries, rules
from rapport.trading import services as trading
from rapport.trading.choices import OrderStatus
from rapport.trading.models import TradingSummary
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_contact
from tests.marketing.factories import any_of, rule
from tests.trading.factories import make_order

pytestmark = pytest.mark.django_db


def matching(admin: User, *rules_: dict[str, Any]) -> set[str]:
    tree = rules.validate({"op": "and", "rules": list(rules_)})
    return {c.first_name for c in queries.contacts_matching(admin, tree)}


def summaries() -> list[tuple[Any, ...]]:
    return list(
        TradingSummary.objects.order_by("contact_id").values_list(
            "contact_id", "order_count", "spend", "first_order_date", "last_order_date"
        )
    )


def test_order_rules_follow_every_order_write(admin: User) -> None:
    boiler = make_product(admin, name="Boiler", unit_price="1000.00")
    ann = make_contact(admin, first_name="Ann")
    ben = make_contact(admin, first_name="Ben")
    today = timezone.localdate()
    bought_once = rule("order_count", op="gte", value="1")
    big_spender = rule("total_spend", op="gte", value="2000")
    recent = rule("last_order", op="after", value=(today - timedelta(days=30)).isoformat())

    first = make_order(admin, contact=ann, lines=[(boiler, 1)], order_date=date(2024, 5, 1))
    assert matching(admin, bought_once) == {"Ann"}
    assert matching(admin, rule("order_count", op="lte", value="0")) == {"Ben"}
    assert matching(admin, recent) == set()

    second = make_order(admin, contact=ann, lines=[(boiler, 1)])
    assert matching(admin, big_spender, recent) == {"Ann"}

    trading.trash_order(admin, second)
    assert matching(admin, big_spender) == set()
    assert matching(admin, rule("last_order", op="before", value="2024-06-01")) == {"Ann"}
    second.refresh_from_db()
    trading.restore_order(admin, second)
    assert matching(admin, big_spender) == {"Ann"}

    # More lines, a larger total.
    trading.update_order(
        admin, first, {}, lines=[trading.LineInput(boiler, quantity=first.lines.get().quantity * 2)]
    )
    assert matching(admin, rule("total_spend", op="gte", value="3000")) == {"Ann"}

    # The order moves to Ben: it leaves Ann's figures and joins his.
    first.refresh_from_db()
    trading.update_order(admin, first, {"contact": ben})
    assert matching(admin, rule("order_count", op="gte", value="1")) == {"Ann", "Ben"}
    assert matching(admin, rule("total_spend", op="gte", value="2000")) == {"Ben"}

    first.refresh_from_db()
    trading.change_status(admin, first, OrderStatus.CANCELLED)
    assert matching(admin, bought_once) == {"Ann"}
    assert matching(admin, rule("bought_product", op="not_bought", value=str(boiler.pk))) == {"Ben"}

    second.refresh_from_db()
    trading.change_status(admin, second, OrderStatus.DELIVERED)
    assert matching(admin, bought_once) == {"Ann"}
    second.refresh_from_db()
    trading.change_status(admin, second, OrderStatus.RETURNED, reason="Wrong size")
    assert matching(admin, bought_once) == set()
    assert matching(admin, rule("bought_product", op="bought", value=str(boiler.pk))) == set()

    # What the services kept is what a rebuild from the orders gives.
    kept = summaries()
    trading.refresh_trading_summary()
    assert summaries() == kept


def test_rebuild_for_some_contacts_or_all(admin: User) -> None:
    boiler = make_product(admin, name="Boiler", unit_price="1000.00")
    ann = make_contact(admin, first_name="Ann")
    ben = make_contact(admin, first_name="Ben")
    make_order(admin, contact=ann, lines=[(boiler, 1)])
    make_order(admin, contact=ann, lines=[(boiler, 2)], order_date=date(2023, 1, 9))
    make_order(admin, contact=ben, lines=[(boiler, 1)])
    kept = summaries()
    assert kept[0][1:] == (2, 3000, date(2023, 1, 9), timezone.localdate())
    # As after a bulk load that wrote orders but no summary.
    TradingSummary.objects.all().delete()
    assert matching(admin, rule("order_count", op="gte", value="1")) == set()

    trading.refresh_trading_summary([ann.pk])
    assert matching(admin, rule("order_count", op="gte", value="1")) == {"Ann"}
    trading.refresh_trading_summary()
    assert summaries() == kept
    trading.refresh_trading_summary([])
    assert summaries() == kept


def test_a_segment_of_every_order_rule_counts_in_one_query(admin: User) -> None:
    boiler = make_product(admin, name="Boiler", unit_price="1000.00", category="Heating")
    make_product(admin, name="Hose", category="Garden")
    ann = make_contact(admin, first_name="Ann")
    make_contact(admin, first_name="Ben")
    make_order(admin, contact=ann, lines=[(boiler, 1)])
    tree = rules.validate(
        {
            "op": "and",
            "rules": [
                any_of(
                    rule("order_count", op="gte", value="1"),
                    rule("order_count", op="lte", value="0"),
                ),
                rule("total_spend", op="lte", value="1000"),
                rule("last_order", op="before", value="2999-01-01"),
                rule("bought_product", op="bought", value=str(boiler.pk)),
                rule("bought_category", op="not_bought", value="Garden"),
            ],
        }
    )
    with CaptureQueriesContext(connection) as captured:
        count = queries.contacts_matching(admin, tree).count()
    assert count == 1
    assert len(captured.captured_queries) == 1
