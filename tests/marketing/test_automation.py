"""Automation rules fire once per occurrence, do their actions, retry failures, log every run."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from rapport.customers.models import Contact
from rapport.customers.services import create_tag
from rapport.insights.models import CustomerScore, ModelRun
from rapport.marketing import automation
from rapport.marketing.choices import RunOutcome
from rapport.marketing.models import AutomationRule, AutomationRun
from rapport.reminders.models import Task
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.conftest import SmtpServer
from tests.customers.factories import make_contact
from tests.marketing.factories import all_of, consent, make_campaign, make_segment, rule
from tests.trading.factories import make_asset

pytestmark = pytest.mark.django_db

WIN_BACK = [{"type": "create_task", "title": "Win back", "due_in_days": 2}]


def score(contact: Contact, churn: float) -> None:
    run = ModelRun.objects.create(started_at=timezone.now())
    CustomerScore.objects.update_or_create(
        contact=contact,
        defaults={
            "run": run, "first_order_on": date(2024, 1, 1), "last_order_on": date(2025, 1, 1),
            "purchases": 3, "spend": Decimal("100"), "recency_days": 30, "recency_score": 3,
            "frequency_score": 3, "monetary_score": 3, "segment": "loyal", "churn_risk": churn,
            "lifetime_value": Decimal("5000"),
        },
    )  # fmt: skip


def win_back_rule(admin: User, **extra: Any) -> AutomationRule:
    return automation.create_rule(
        admin,
        name="Win back valuable customers",
        trigger="score",
        trigger_params={"metric": "churn_risk", "op": "gte", "value": "0.5"},
        conditions=all_of(rule("score", metric="lifetime_value", op="gte", value="1000")),
        actions=extra.pop("actions", WIN_BACK),
        **extra,
    )


def test_score_crossing_creates_one_task_until_it_crosses_again(admin: User, sales: User) -> None:
    risky = make_contact(admin, first_name="Risky", owner=sales)
    calm = make_contact(admin, first_name="Calm", owner=sales)
    score(risky, 0.7)
    score(calm, 0.2)
    rule_ = win_back_rule(admin)

    assert automation.run_all() == 1
    assert automation.run_all() == 0  # still above: no second task
    task = Task.objects.get()
    assert (task.title, task.assignee, task.contact) == ("Win back", sales, risky)
    assert task.due_date == timezone.localdate() + timedelta(days=2)
    run = AutomationRun.objects.get()
    assert (run.rule, run.outcome, run.results[0]["ok"]) == (rule_, RunOutcome.SUCCEEDED, True)

    score(risky, 0.3)  # back below the threshold...
    automation.run_all()
    score(risky, 0.8)  # ...and across again: a new task
    assert automation.run_all() == 1
    assert Task.objects.count() == 2


def test_actions_that_would_retrigger_the_rule_do_not_loop(admin: User) -> None:
    make_contact(admin, first_name="Lee", lifecycle_stage="lead", birthday=date(1990, 3, 4))
    create_tag(admin, "greeted")
    automation.create_rule(
        admin,
        name="Birthday greeting",
        trigger="birthday",
        trigger_params={},
        conditions=all_of(rule("tag", op="has_not", value="greeted")),
        actions=[
            {"type": "add_tag", "tag": "greeted"},
            {"type": "change_stage", "stage": "prospect"},
        ],
    )
    birthday = date(2026, 3, 4)
    assert automation.run_all(today=birthday) == 1
    assert automation.run_all(today=birthday) == 0
    lee = Contact.objects.get()
    assert lee.lifecycle_stage == "prospect"
    assert list(lee.tags.values_list("name", flat=True)) == ["greeted"]
    assert automation.run_all(today=birthday + timedelta(days=1)) == 0


def test_service_due_fires_once_per_due_date(admin: User) -> None:
    boiler = make_product(admin, name="Boiler", service_interval_days=365)
    owner = make_contact(admin, first_name="Owner")
    today = timezone.localdate()
    make_asset(admin, product=boiler, contact=owner, bought_on=today - timedelta(days=355))
    automation.create_rule(
        admin, name="Service soon", trigger="service_due", trigger_params={"days": "14"},
        actions=[{"type": "create_task", "title": "Book the service visit", "due_in_days": 0}],
    )  # fmt: skip
    assert automation.run_all() == 1
    assert automation.run_all() == 0
    run = AutomationRun.objects.get()
    assert run.occurrence == f"due:{today + timedelta(days=10)}"


def test_failing_action_is_retried_then_reported_without_blocking_others(
    admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    risky = make_contact(admin, first_name="Risky")
    score(risky, 0.9)
    win_back_rule(admin, actions=[*WIN_BACK, {"type": "add_tag", "tag": "at-risk"}])
    from rapport.reminders import services as reminder_services

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("task service down")

    monkeypatch.setattr(reminder_services, "create_task", broken)
    automation.run_all()
    run = AutomationRun.objects.get()
    assert run.outcome == RunOutcome.RETRYING
    assert run.results == [
        {"ok": False, "detail": "task service down"},
        {"ok": True, "detail": "Tagged at-risk"},
    ]
    automation.run_all()
    automation.run_all()
    run.refresh_from_db()
    assert (run.outcome, run.attempts) == (RunOutcome.FAILED, 3)
    monkeypatch.undo()
    automation.run_all()
    run.refresh_from_db()
    assert run.outcome == RunOutcome.FAILED  # given up: reported, not retried forever


def test_send_email_action_uses_a_campaign_and_consent(
    admin: User, marketing: User, smtp_server: SmtpServer
) -> None:
    agreed = make_contact(
        admin, first_name="Agreed", emails=["agreed@example.org"], birthday=date(1980, 5, 6)
    )
    consent(agreed)
    make_contact(
        admin, first_name="Silent", emails=["silent@example.org"], birthday=date(1981, 5, 6)
    )
    template = make_campaign(
        marketing, make_segment(marketing), subject="Happy birthday {{ contact.first_name }}"
    )
    automation.create_rule(
        admin, name="Birthday mail", trigger="birthday", trigger_params={},
        actions=[{"type": "send_email", "campaign": template.pk}],
    )  # fmt: skip
    assert automation.run_all(today=date(2026, 5, 6)) == 2
    assert [m["Subject"] for m in smtp_server.messages] == ["Happy birthday Agreed"]
    assert smtp_server.messages[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    details = sorted(run.results[0]["detail"] for run in AutomationRun.objects.all())
    assert details == [
        "E-mail 'Happy birthday {{ contact.first_name }}' sent",
        "Not sent: no consent to marketing e-mail",
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"trigger": "moon_phase", "trigger_params": {}}, "Use one of"),
        (
            {"trigger": "score", "trigger_params": {"metric": "luck", "op": "gte", "value": "1"}},
            "Unknown score",
        ),
        ({"trigger": "service_due", "trigger_params": {"days": "soon"}}, "not a number"),
        ({"actions": []}, "at least one action"),
        ({"actions": [{"type": "create_task", "title": ""}]}, "needs a title"),
        ({"actions": [{"type": "change_stage", "stage": "royalty"}]}, "unknown stage"),
        ({"actions": [{"type": "send_email", "campaign": 999}]}, "pick the campaign"),
    ],
)
def test_bad_rules_are_refused(admin: User, fields: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {
        "name": "X",
        "trigger": "birthday",
        "trigger_params": {},
        "actions": WIN_BACK,
        **fields,
    }
    with pytest.raises(ValidationError, match=message):
        automation.create_rule(admin, **values)
    assert not AutomationRule.objects.exists()


def test_only_admins_configure_automation(marketing: User, admin: User) -> None:
    with pytest.raises(PermissionDenied):
        automation.create_rule(
            marketing, name="X", trigger="birthday", trigger_params={}, actions=WIN_BACK
        )
    rule_ = automation.create_rule(
        admin, name="X", trigger="birthday", trigger_params={}, actions=WIN_BACK
    )
    with pytest.raises(PermissionDenied):
        automation.update_rule(marketing, rule_, {"enabled": False})
    automation.update_rule(admin, rule_, {"enabled": False})
    rule_.refresh_from_db()
    assert rule_.enabled is False


def test_admin_sets_up_a_rule_in_the_page_and_sees_the_run_log(
    admin: User, sales: User, client_for: Any
) -> None:
    risky = make_contact(admin, first_name="Risky", owner=sales)
    score(risky, 0.8)
    web = client_for(admin)
    assert web.get("/automation/new/").status_code == 200
    response = web.post(
        "/automation/new/",
        {
            "name": "Win back", "enabled": "on", "trigger": "score", "metric": "churn_risk",
            "op": "gte", "value": "0.5", "r.type": "group", "r.op": "and",
            "r.0.type": "rule", "r.0.kind": "score", "r.0.metric": "lifetime_value",
            "r.0.op": "gte", "r.0.value": "1000",
            "action0_type": "create_task", "action0_title": "Call them", "action0_due_in_days": "1",
            "action1_type": "add_tag", "action1_tag": "at-risk",
        },
    )  # fmt: skip
    assert response.status_code == 302
    rule_ = AutomationRule.objects.get()
    assert rule_.trigger_params == {"metric": "churn_risk", "op": "gte", "value": "0.5"}
    assert rule_.conditions["rules"][0]["metric"] == "lifetime_value"
    assert [action["type"] for action in rule_.actions] == ["create_task", "add_tag"]
    web.post(f"/automation/{rule_.pk}/run/")
    page = web.get("/automation/").content.decode()
    assert "Call them" not in page  # the log shows outcomes, not the task itself
    assert "Succeeded" in page
    assert "Tagged at-risk" in page
    assert Task.objects.get().title == "Call them"
    edit = web.get(f"/automation/{rule_.pk}/edit/").content.decode()
    assert 'value="Call them"' in edit


def test_bad_rule_in_the_page_is_explained(admin: User, client_for: Any) -> None:
    page = client_for(admin).post(
        "/automation/new/",
        {"name": "X", "trigger": "service_due", "r.type": "group", "r.op": "and"},
    )
    assert page.status_code == 200
    assert "not a number" in page.content.decode() or "at least one action" in page.content.decode()
    assert not AutomationRule.objects.exists()
