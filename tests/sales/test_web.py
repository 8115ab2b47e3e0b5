"""The deal pages as a user sees them: board, list, detail, form, forecast, pipelines, panel."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from rapport.customers.choices import LifecycleStage
from rapport.reminders.models import Task
from rapport.sales import services
from rapport.sales.choices import DealStatus, StageKind
from rapport.sales.models import Deal, SalesTarget
from rapport.trading.models import Order
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_contact
from tests.sales.factories import make_deal, stage

pytestmark = pytest.mark.django_db


def _column(html: str, stage_name: str) -> str:
    """The HTML of one board column."""
    match = re.search(
        rf'<section class="board-column[^"]*"[^>]*data-name="{stage_name}">(.*?)</section>',
        html,
        re.S,
    )
    assert match, f"no column {stage_name}"
    return match.group(1)


def test_board_shows_a_column_per_stage_with_totals_and_weighted_totals(
    sales: User, client_for: Any
) -> None:
    contact = make_contact(sales, owner=sales)
    make_deal(sales, name="Small", contact=contact, amount="1000.00")
    make_deal(sales, name="Big", contact=contact, amount="3000.00")
    html = client_for(sales).get("/deals/board/").content.decode()
    for name in ("Qualification", "Needs analysis", "Proposal", "Negotiation", "Won", "Lost"):
        assert f'data-name="{name}"' in html
    first = _column(html, "Qualification")
    assert "Small" in first
    assert "Big" in first
    assert "2 deals" in first
    assert "4000.00" in first
    assert "400.00 weighted" in first  # 10 %
    assert "No deals." in _column(html, "Proposal")


def test_moving_on_the_board_with_htmx_answers_the_new_board(sales: User, client_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    deal = make_deal(sales, name="Heat pump", contact=contact)
    proposal = stage(position=2)
    response = client_for(sales).post(
        f"/deals/{deal.pk}/move/",
        {"stage": proposal.pk, "version": deal.version},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="board"')
    assert "Heat pump" in _column(html, "Proposal")
    assert "Heat pump" not in _column(html, "Qualification")
    deal.refresh_from_db()
    assert deal.stage == proposal


def test_losing_on_the_board_without_reason_says_why_and_keeps_the_deal(
    sales: User, client_for: Any
) -> None:
    deal = make_deal(sales, name="Heat pump", contact=make_contact(sales, owner=sales))
    response = client_for(sales).post(
        f"/deals/{deal.pk}/move/",
        {"stage": stage(StageKind.LOST).pk},
        headers={"HX-Request": "true"},
    )
    assert "Say why the deal was lost." in response.content.decode()
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN


def test_the_stage_select_works_without_script(sales: User, admin: User, client_for: Any) -> None:
    boiler = make_product(admin, sku="B1", name="Boiler", unit_price="500.00")
    contact = make_contact(sales, owner=sales)
    deal = make_deal(sales, contact=contact, lines=[(boiler, 1)])
    client = client_for(sales)
    response = client.post(
        f"/deals/{deal.pk}/move/", {"stage": stage(StageKind.WON).pk, "create_order": "on"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/deals/board/"
    page = client.get("/deals/board/").content.decode()
    assert "was placed" in page
    assert Order.objects.filter(contact=contact).count() == 1
    contact.refresh_from_db()
    assert contact.lifecycle_stage == LifecycleStage.CUSTOMER


def test_stale_deals_are_flagged_on_board_list_and_detail(sales: User, client_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    old = make_deal(sales, name="Forgotten", contact=contact)
    Deal.objects.filter(pk=old.pk).update(last_activity_at=timezone.now() - timedelta(days=30))
    make_deal(sales, name="Fresh", contact=contact)
    client = client_for(sales)
    board = client.get("/deals/board/").content.decode()
    assert f'class="deal-card stale" id="deal-{old.pk}"' in board
    assert board.count("deal-card stale") == 1
    listed = client.get("/deals/?stale=true").content.decode()
    assert "Forgotten" in listed
    assert "Fresh" not in listed
    assert "Stale: no activity" in client.get(f"/deals/{old.pk}/").content.decode()


def test_list_filters_sorts_and_exports(sales: User, client_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    make_deal(sales, name="Alpha", contact=contact, amount="100.00")
    beta = make_deal(sales, name="Beta", contact=contact, amount="900.00")
    services.move_deal(sales, beta, stage(StageKind.LOST), lost_reason="Price")
    client = client_for(sales)
    page = client.get("/deals/?status=lost").content.decode()
    assert "Beta" in page
    assert "Alpha" not in page
    response = client.get("/deals/export.csv?cols=name,status,amount,lost_reason&sort=-amount")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows == [
        ["Deal", "Status", "Amount", "Lost reason"],
        ["Beta", "Lost", "900.00", "Price"],
        ["Alpha", "Open", "100.00", ""],
    ]


def test_create_and_edit_a_deal_with_the_form(sales: User, admin: User, client_for: Any) -> None:
    boiler = make_product(admin, sku="B1", name="Boiler", unit_price="700.00")
    contact = make_contact(sales, owner=sales)
    boss = make_contact(sales, owner=sales)
    client = client_for(sales)
    assert client.get(f"/deals/new/?contact={contact.pk}").status_code == 200
    close = (timezone.localdate() + timedelta(days=20)).isoformat()
    form = {
        "name": "New boiler",
        "contact": contact.pk,
        "expected_close": close,
        "currency": "EUR",
        "owner": sales.pk,
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "lines-0-product": boiler.pk,
        "lines-0-quantity": "2",
        "others": f"{boss.pk}",
    }
    response = client.post("/deals/new/", form)
    deal = Deal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/deals/{deal.pk}/"
    assert deal.amount == Decimal("1400.00")
    assert list(deal.contacts.all()) == [boss]
    bad = client.post("/deals/new/", {**form, "others": "12x, 99999"})
    assert "contact ids are whole numbers" in bad.content.decode()
    response = client.post(
        f"/deals/{deal.pk}/edit/",
        {**form, "name": "Two boilers", "version": deal.version, "lines-0-quantity": "1"},
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.name, deal.amount) == ("Two boilers", Decimal("700.00"))
    response = client.post("/deals/new/", {**form, "expected_close": "", "name": "No date"})
    assert response.status_code == 200
    assert Deal.objects.count() == 1


def test_detail_shows_stage_history_and_schedules_the_next_step(
    sales: User, client_for: Any
) -> None:
    deal = make_deal(sales, name="Heat pump", contact=make_contact(sales, owner=sales))
    services.move_deal(sales, deal, stage(position=1))
    client = client_for(sales)
    page = client.get(f"/deals/{deal.pk}/").content.decode()
    assert "Qualification → <strong>Needs analysis</strong> by Sam Sales" in page
    due = (timezone.localdate() + timedelta(days=2)).isoformat()
    client.post(f"/deals/{deal.pk}/next-step/", {"title": "Call back", "due_date": due})
    task = Task.objects.get()
    assert (task.title, task.related_id) == ("Call back", deal.pk)
    page = client.get(f"/deals/{deal.pk}/").content.decode()
    assert f'<a href="/tasks/{task.pk}/">Call back</a>' in page


def test_forecast_shows_weighted_pipeline_and_lets_managers_set_targets(
    manager: User, sales: User, client_for: Any
) -> None:
    make_deal(sales, contact=make_contact(sales, owner=sales), amount="1000.00")
    page = client_for(manager).get("/deals/forecast/").content.decode()
    assert "Sam Sales" in page
    assert "100.00" in page
    month = timezone.localdate().strftime("%Y-%m")
    response = client_for(manager).post(
        "/deals/forecast/", {"owner": sales.pk, "month": month, "amount": "5000"}
    )
    assert response.status_code == 302
    assert SalesTarget.objects.get(owner=sales).amount == Decimal("5000.00")
    assert "of 5000.00" in client_for(manager).get("/deals/forecast/").content.decode()
    assert 'id="target-form"' not in client_for(sales).get("/deals/forecast/").content.decode()
    forbidden = client_for(sales).post(
        "/deals/forecast/", {"owner": sales.pk, "month": month, "amount": "1"}
    )
    assert forbidden.status_code == 403


def test_admins_manage_stages_in_the_pipeline_settings(
    admin: User, sales: User, client_for: Any
) -> None:
    pipeline = services.default_pipeline()
    client = client_for(admin)
    client.post(
        "/deals/pipelines/",
        {"verb": "add-stage", "pipeline": pipeline.pk, "name": "Site visit", "probability": 35},
    )
    assert pipeline.stages.filter(name="Site visit", probability=35).exists()
    assert "Site visit" in client.get("/deals/board/").content.decode()
    assert client_for(sales).get("/deals/pipelines/").status_code == 200
    assert (
        client_for(sales).post("/deals/pipelines/", {"verb": "create", "name": "Mine"}).status_code
        == 403
    )


def test_the_contact_page_has_a_deals_panel(sales: User, client_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    make_deal(sales, name="Heat pump", contact=contact, amount="1500.00")
    page = client_for(sales).get(f"/contacts/{contact.pk}/").content.decode()
    panel = page[page.index('id="deals-panel"') :]
    assert "Heat pump" in panel
    assert "Open: <strong>1500.00 EUR" in panel


def test_deals_are_found_by_name_in_global_search(
    sales: User, sales_south: User, client_for: Any
) -> None:
    make_deal(sales, name="Heat pump North", contact=make_contact(sales, owner=sales))
    make_deal(
        sales_south, name="Heat pump South", contact=make_contact(sales_south, owner=sales_south)
    )
    page = client_for(sales).get("/search/?q=heat+pump").content.decode()
    assert "Heat pump North" in page
    assert "Heat pump South" not in page


def test_deals_are_in_the_navigation(sales: User, client_for: Any) -> None:
    page = client_for(sales).get("/deals/board/").content.decode()
    assert 'href="/deals/board/"' in page
    assert ">Deals</a>" in page
    assert 'src="/static/sales/board.js"' in page
    assert 'nonce="' in page
