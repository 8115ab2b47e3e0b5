"""Event triggers fire once per stored event after the rule was armed; the newer actions act."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rapport.customers.services import change_stage
from rapport.marketing import automation
from rapport.marketing.choices import RunOutcome
from rapport.marketing.models import AutomationRule, AutomationRun, ListMember
from rapport.reminders.models import Task
from rapport.satisfaction.choices import SourceKind
from rapport.satisfaction.models import SurveyInvitation
from rapport.service import services as ticket_services
from rapport.trading import services as trading_services
from rapport.trading.choices import OrderStatus
from rapport.trading.models import Order
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_contact
from tests.marketing.conftest import Receiver
from tests.marketing.factories import all_of, make_list, rule
from tests.satisfaction.factories import answer, invite_one, make_survey, surveyable_contact
from tests.service.factories import make_ticket
from tests.trading.factories import make_order

pytestmark = pytest.mark.django_db

TASK = [{"type": "create_task", "title": "Follow up", "due_in_days": 0}]


def make_rule(admin: User, trigger: str, params: dict[str, Any] | None = None, **extra: Any) -> Any:
    return automation.create_rule(
        admin,
        name=extra.pop("name", f"On {trigger}"),
        trigger=trigger,
        trigger_params=params or {},
        actions=extra.pop("actions", TASK),
        **extra,
    )


def occurrences(rule_: AutomationRule) -> list[str]:
    return sorted(rule_.runs.values_list("occurrence", flat=True))


def order(admin: User, contact: Any, **extra: Any) -> Order:
    return make_order(admin, contact=contact, lines=[(make_product(admin), 1)], **extra)


def deliver(admin: User, order: Order, when: Any = None) -> Any:
    delivery = trading_services.ship_order(admin, order, shipped_at=when)
    return trading_services.confirm_delivery(admin, delivery, delivered_at=when)


# --- event triggers -----------------------------------------------------------------------


def test_contact_created_fires_for_new_contacts_only(admin: User) -> None:
    make_contact(admin, first_name="Old")
    rule_ = make_rule(admin, "contact_created")
    new = make_contact(admin, first_name="New")
    assert automation.run_all() == 1
    assert automation.run_all() == 0
    assert occurrences(rule_) == [f"contact:{new.pk}"]
    assert Task.objects.get().contact == new


def test_stage_changed_fires_once_per_change_optionally_to_a_stage(admin: User) -> None:
    ann = make_contact(admin, first_name="Ann", lifecycle_stage="subscriber")
    change_stage(admin, ann, "lead")  # before the rule: old history
    any_stage = make_rule(admin, "stage_changed", name="Any")
    to_customer = make_rule(admin, "stage_changed", {"stage": "customer"}, name="To customer")
    change_stage(admin, ann, "prospect")
    change_stage(admin, ann, "customer")
    assert automation.run_all() == 3
    assert automation.run_all() == 0
    changes = list(ann.stage_changes.order_by("changed_at").values_list("pk", flat=True))
    assert occurrences(any_stage) == sorted(f"stage:{pk}" for pk in changes[-2:])
    assert occurrences(to_customer) == [f"stage:{changes[-1]}"]


def test_order_placed_fires_for_orders_placed_after_the_rule(admin: User) -> None:
    buyer = make_contact(admin, first_name="Buyer")
    order(admin, buyer)  # placed before the rule
    quote = order(admin, buyer, status=OrderStatus.QUOTE)
    rule_ = make_rule(admin, "order_placed")
    placed_now = order(admin, buyer)
    assert automation.run_all() == 1
    trading_services.change_status(admin, quote, OrderStatus.PLACED)
    trading_services.change_status(admin, placed_now, OrderStatus.PAID)  # not placed again
    assert automation.run_all() == 1
    assert occurrences(rule_) == sorted([f"order:{placed_now.pk}", f"order:{quote.pk}"])


def test_order_delivered_waits_the_days_after_delivery(admin: User) -> None:
    buyer = make_contact(admin, first_name="Buyer")
    earlier = order(admin, buyer)
    deliver(admin, earlier)
    rule_ = make_rule(admin, "order_delivered", {"days": "7"})
    delivery = deliver(admin, order(admin, buyer))
    now = timezone.now()
    assert automation.run_all(now=now + timedelta(days=6)) == 0
    assert automation.run_all(now=now + timedelta(days=8)) == 1
    assert automation.run_all(now=now + timedelta(days=9)) == 0
    assert occurrences(rule_) == [f"delivery:{delivery.pk}"]


def test_ticket_resolved_fires_after_the_days(admin: User) -> None:
    customer = make_contact(admin, first_name="Caller")
    rule_ = make_rule(admin, "ticket_resolved", {"days": "2"})
    ticket = make_ticket(admin, contact=customer)
    ticket_services.change_status(admin, ticket, "resolved")
    now = timezone.now()
    assert automation.run_all(now=now + timedelta(days=1)) == 0
    assert automation.run_all(now=now + timedelta(days=3)) == 1
    assert occurrences(rule_) == [f"ticket:{ticket.pk}"]


def test_survey_answered_filters_by_class(admin: User) -> None:
    survey = make_survey(admin)
    fan = surveyable_contact(admin, first_name="Fan")
    critic = surveyable_contact(admin, first_name="Critic")
    promoters = make_rule(admin, "survey_answered", {"answer_class": "promoter"}, name="Fans")
    everyone = make_rule(admin, "survey_answered", name="Everyone")
    answer(invite_one(survey, fan), score=10)
    answer(invite_one(survey, critic), score=2)
    assert automation.run_all() == 3
    assert set(promoters.runs.values_list("contact_id", flat=True)) == {fan.pk}
    assert set(everyone.runs.values_list("contact_id", flat=True)) == {fan.pk, critic.pk}


def test_conditions_still_apply_to_events(admin: User) -> None:
    make_rule(admin, "contact_created", conditions=all_of(rule("stage", op="is", value="customer")))
    make_contact(admin, first_name="Lead", lifecycle_stage="lead")
    kept = make_contact(admin, first_name="Customer", lifecycle_stage="customer")
    assert automation.run_all() == 1
    assert AutomationRun.objects.get().contact == kept


def test_re_enabling_a_rule_ignores_what_happened_while_off(admin: User) -> None:
    rule_ = make_rule(admin, "contact_created")
    automation.update_rule(admin, rule_, {"enabled": False})
    make_contact(admin, first_name="While off")
    rule_.refresh_from_db()
    automation.update_rule(admin, rule_, {"enabled": True})
    assert automation.run_all() == 0
    later = make_contact(admin, first_name="After")
    assert automation.run_all() == 1
    assert AutomationRun.objects.get().contact == later


def test_changing_what_a_rule_listens_for_ignores_earlier_events(admin: User) -> None:
    rule_ = make_rule(admin, "birthday")
    make_contact(admin, first_name="Before the change")
    automation.update_rule(admin, rule_, {"trigger": "contact_created"})
    assert automation.run_all() == 0
    automation.update_rule(admin, rule_, {"name": "Renamed"})  # not a new trigger: stays armed
    later = make_contact(admin, first_name="After")
    assert automation.run_all() == 1
    assert AutomationRun.objects.get().contact == later


def test_candidates_are_one_query_per_rule(admin: User) -> None:
    for trigger, params in [
        ("contact_created", {}),
        ("stage_changed", {"stage": "customer"}),
        ("order_placed", {}),
        ("order_delivered", {"days": "3"}),
        ("ticket_resolved", {}),
        ("survey_answered", {"answer_class": "detractor"}),
    ]:
        rule_ = make_rule(admin, trigger, params, name=trigger)
        for number in range(5):
            make_contact(admin, first_name=f"C{number}", lifecycle_stage="lead")
        with CaptureQueriesContext(connection) as queries:
            automation._candidates(rule_, timezone.localdate(), timezone.now())
        assert len(queries) == 1, trigger


# --- loop prevention --------------------------------------------------------------------


def test_stage_rules_that_feed_each_other_fire_a_bounded_number_of_times(admin: User) -> None:
    """Two rules that would ping-pong a contact's stage forever fire once in total.

    Stage changes made by automation carry AUTOMATION_MARK in their reason and
    are not events, so neither rule sees the other's (or its own) change.
    """
    make_rule(
        admin, "stage_changed", {"stage": "customer"}, name="A",
        actions=[{"type": "change_stage", "stage": "evangelist"}],
    )  # fmt: skip
    make_rule(
        admin, "stage_changed", {"stage": "evangelist"}, name="B",
        actions=[{"type": "change_stage", "stage": "customer"}],
    )  # fmt: skip
    make_rule(
        admin, "stage_changed", name="C self",
        actions=[{"type": "change_stage", "stage": "customer"}],
    )  # fmt: skip
    pat = make_contact(admin, first_name="Pat", lifecycle_stage="prospect")
    change_stage(admin, pat, "customer")
    fired = [automation.run_all()]
    after_first_pass = pat.stage_changes.count()
    fired += [automation.run_all() for _ in range(9)]
    # A and C each fired once for the one human change; their own changes fired nothing.
    assert fired == [2, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert pat.stage_changes.count() == after_first_pass
    assert set(AutomationRun.objects.values_list("rule__name", flat=True)) == {"A", "C self"}


# --- actions ------------------------------------------------------------------------------


def test_send_survey_action_after_delivery_respects_consent(admin: User) -> None:
    survey = make_survey(admin)
    agreed = surveyable_contact(admin, first_name="Agreed")
    silent = make_contact(admin, first_name="Silent", emails=["silent@example.org"])
    make_rule(
        admin,
        "order_delivered",
        {"days": "0"},
        actions=[{"type": "send_survey", "survey": survey.pk}],
    )
    delivery = deliver(admin, order(admin, agreed))
    deliver(admin, order(admin, silent))
    assert automation.run_all() == 2
    invitation = SurveyInvitation.objects.get()
    assert invitation.contact == agreed
    assert (invitation.source_kind, invitation.source_id) == (SourceKind.DELIVERY, delivery.pk)
    details = sorted(run.results[0]["detail"] for run in AutomationRun.objects.all())
    assert details[0].startswith("No survey:")
    assert details[1] == f"Survey {survey.name!r} sent"
    assert all(run.outcome == RunOutcome.SUCCEEDED for run in AutomationRun.objects.all())


def test_change_owner_and_add_to_list_actions(admin: User, sales: User, marketing: User) -> None:
    fair = make_list(marketing, [], name="New leads")
    make_rule(
        admin,
        "contact_created",
        actions=[
            {"type": "change_owner", "owner": sales.pk},
            {"type": "add_to_list", "list": fair.pk},
        ],
    )
    newcomer = make_contact(admin, first_name="Newcomer")
    assert automation.run_all() == 1
    newcomer.refresh_from_db()
    assert newcomer.owner == sales
    assert list(ListMember.objects.values_list("segment", "contact")) == [(fair.pk, newcomer.pk)]
    assert AutomationRun.objects.get().results == [
        {"ok": True, "detail": f"Owner {sales}"},
        {"ok": True, "detail": "Added to New leads"},
    ]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"type": "send_survey", "survey": 999}, "active survey"),
        ({"type": "change_owner", "owner": 999}, "new owner"),
        ({"type": "add_to_list", "list": 999}, "static list"),
        ({"type": "webhook", "url": "http://example.org/hook"}, "https://"),
        ({"type": "webhook", "url": "not a url"}, "https://"),
    ],
)
def test_bad_new_actions_are_refused(admin: User, action: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_rule(admin, "contact_created", actions=[action])
    assert not AutomationRule.objects.exists()


def test_dynamic_segment_is_not_a_list_for_the_action(admin: User, marketing: User) -> None:
    from tests.marketing.factories import make_segment

    dynamic = make_segment(marketing, rule("stage", op="is", value="lead"))
    with pytest.raises(ValidationError, match="static list"):
        make_rule(admin, "contact_created", actions=[{"type": "add_to_list", "list": dynamic.pk}])


def test_bad_event_trigger_params_are_refused(admin: User) -> None:
    for trigger, params, message in [
        ("stage_changed", {"stage": "royalty"}, "Unknown stage"),
        ("order_delivered", {"days": "-1"}, "0 to 365"),
        ("ticket_resolved", {"days": "2.5"}, "whole number"),
        ("survey_answered", {"answer_class": "grumpy"}, "Use one of"),
    ]:
        with pytest.raises(ValidationError, match=message):
            make_rule(admin, trigger, params)


def test_webhook_is_signed_and_retried_until_it_succeeds(admin: User, receiver: Receiver) -> None:
    rule_ = make_rule(
        admin,
        "contact_created",
        actions=[{"type": "webhook", "url": receiver.url}, *TASK],
    )
    receiver.statuses = [500]
    newcomer = make_contact(admin, first_name="Hooked")
    automation.run_all()
    run = AutomationRun.objects.get()
    assert run.outcome == RunOutcome.RETRYING
    assert run.results[0]["ok"] is False
    assert "500" in run.results[0]["detail"]
    assert run.results[1]["ok"] is True  # the failing webhook blocked nothing

    receiver.statuses = [204]
    automation.run_all()
    run.refresh_from_db()
    assert (run.outcome, run.attempts) == (RunOutcome.SUCCEEDED, 2)
    assert Task.objects.count() == 1  # the task was not made twice
    headers, body = receiver.calls[-1]
    expected = hmac.new(rule_.secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Rapport-Signature"] == f"sha256={expected}"
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload["contact"] == newcomer.pk
    assert payload["event"] == f"contact:{newcomer.pk}"
    assert payload["trigger"] == "contact_created"
    assert len(receiver.calls) == 2


def test_webhook_that_never_answers_is_reported_failed(admin: User, settings: Any) -> None:
    settings.AUTOMATION_WEBHOOK_ALLOW_HTTP = True
    with socket.socket() as probe:  # a port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hook"
    make_rule(admin, "contact_created", actions=[{"type": "webhook", "url": url}])
    make_contact(admin, first_name="Lost")
    for _ in range(4):
        automation.run_all()
    run = AutomationRun.objects.get()
    assert (run.outcome, run.attempts) == (RunOutcome.FAILED, 3)
    assert run.results[0]["ok"] is False


def test_secrets_differ_per_rule(admin: User) -> None:
    first = make_rule(admin, "contact_created", name="One")
    second = make_rule(admin, "contact_created", name="Two")
    assert len(first.secret) == 64
    assert first.secret != second.secret


# --- pages ------------------------------------------------------------------------------


ROLES_SEEING = {"admin", "marketing", "manager"}


@pytest.mark.parametrize("role", ["admin", "manager", "sales", "service", "marketing", "read_only"])
def test_examples_and_event_form_per_role(role: str, user_of_role: Any, client_for: Any) -> None:
    web = client_for(user_of_role(role))
    listing = web.get("/automation/")
    assert listing.status_code == (200 if role in ROLES_SEEING else 403)
    if role in ROLES_SEEING:
        page = listing.content.decode()
        assert ("Start from an example" in page) is (role == "admin")
    started = web.get("/automation/new/?example=promoter-referral")
    assert started.status_code == (200 if role == "admin" else 403)


def test_admin_starts_from_an_example_and_saves_it(admin: User, client_for: Any) -> None:
    web = client_for(admin)
    page = web.get("/automation/").content.decode()
    for item in automation.EXAMPLES:
        assert f"?example={item.key}" in page
    form = web.get("/automation/new/?example=win-back").content.decode()
    assert 'value="Win back valuable customers at risk"' in form
    assert 'value="Win-back call"' in form
    assert "value_percentile" in form  # the condition tree is filled in too

    response = web.post(
        "/automation/new/",
        {
            "name": "Promoters become evangelists", "enabled": "on",
            "trigger": "survey_answered", "answer_class": "promoter",
            "r.type": "group", "r.op": "and",
            "action0_type": "change_stage", "action0_stage": "evangelist",
            "action1_type": "create_task", "action1_title": "Ask for a referral",
            "action1_due_in_days": "2",
        },
    )  # fmt: skip
    assert response.status_code == 302
    saved = AutomationRule.objects.get()
    assert (saved.trigger, saved.trigger_params) == (
        "survey_answered",
        {"answer_class": "promoter"},
    )
    assert saved.actions == [
        {"type": "change_stage", "stage": "evangelist"},
        {"type": "create_task", "title": "Ask for a referral", "due_in_days": 2},
    ]
    edit = web.get(f"/automation/{saved.pk}/edit/").content.decode()
    assert saved.secret in edit  # the admin needs it to check webhook signatures


def test_every_example_becomes_a_working_rule(admin: User, marketing: User) -> None:
    """The examples are valid rules once the admin picks what only they can pick."""
    from tests.marketing.factories import make_campaign, make_segment

    campaign = make_campaign(marketing, make_segment(marketing), subject="Thank you")
    survey = make_survey(admin)
    picks = {"send_email": {"campaign": campaign.pk}, "send_survey": {"survey": survey.pk}}
    for item in automation.EXAMPLES:
        made = automation.create_rule(
            admin,
            name=item.name,
            trigger=item.trigger,
            trigger_params=item.trigger_params,
            conditions=item.conditions,
            actions=[{**action, **picks.get(action["type"], {})} for action in item.actions],
        )
        assert made.pk


def test_promoter_example_moves_the_promoter_and_asks_for_a_referral(
    admin: User, sales: User
) -> None:
    item = automation.example("promoter-referral")
    assert item is not None
    automation.create_rule(
        admin, name=item.name, trigger=item.trigger, trigger_params=item.trigger_params,
        conditions=item.conditions, actions=item.actions,
    )  # fmt: skip
    survey = make_survey(admin)
    fan = surveyable_contact(admin, first_name="Fan", lifecycle_stage="customer", owner=sales)
    critic = surveyable_contact(admin, first_name="Critic", lifecycle_stage="customer")
    answer(invite_one(survey, fan), score=9)
    answer(invite_one(survey, critic), score=3)
    assert automation.run_all() == 1
    fan.refresh_from_db()
    assert fan.lifecycle_stage == "evangelist"
    task = Task.objects.get()
    assert (task.title, task.contact, task.assignee) == ("Ask for a referral", fan, sales)


def test_win_back_example_picks_the_top_decile_at_risk(admin: User, sales: User) -> None:
    from datetime import date
    from decimal import Decimal

    from rapport.insights.models import CustomerScore, ModelRun

    run = ModelRun.objects.create(started_at=timezone.now())

    def scored(name: str, percentile: float, churn: float) -> Any:
        contact = make_contact(admin, first_name=name, owner=sales)
        CustomerScore.objects.create(
            contact=contact, run=run, first_order_on=date(2024, 1, 1),
            last_order_on=date(2025, 1, 1), purchases=3, spend=Decimal("100"),
            recency_days=30, recency_score=3, frequency_score=3, monetary_score=3,
            segment="loyal", churn_risk=churn, value_percentile=percentile,
            lifetime_value=Decimal("5000"),
        )  # fmt: skip
        return contact

    valuable_at_risk = scored("Top", 0.95, 0.7)
    scored("Top but happy", 0.95, 0.2)
    scored("Small at risk", 0.5, 0.9)
    item = automation.example("win-back")
    assert item is not None
    automation.create_rule(
        admin, name=item.name, trigger=item.trigger, trigger_params=item.trigger_params,
        conditions=item.conditions, actions=item.actions,
    )  # fmt: skip
    assert automation.run_all() == 1
    task = Task.objects.get()
    assert (task.title, task.contact, task.assignee) == ("Win-back call", valuable_at_risk, sales)


def test_admin_sets_up_event_rule_with_new_actions_in_the_page(
    admin: User, sales: User, marketing: User, client_for: Any
) -> None:
    fair = make_list(marketing, [], name="Delivered")
    survey = make_survey(admin)
    web = client_for(admin)
    form = web.get("/automation/new/").content.decode()
    for field in ("answer_class", "action0_survey", "action0_owner", "action0_list", "action0_url"):
        assert f'name="{field}"' in form
    response = web.post(
        "/automation/new/",
        {
            "name": "After delivery", "enabled": "on", "trigger": "order_delivered", "days": "3",
            "r.type": "group", "r.op": "and",
            "action0_type": "send_survey", "action0_survey": str(survey.pk),
            "action1_type": "change_owner", "action1_owner": str(sales.pk),
            "action2_type": "add_to_list", "action2_list": str(fair.pk),
        },
    )  # fmt: skip
    assert response.status_code == 302
    saved = AutomationRule.objects.get()
    assert saved.trigger_params == {"days": "3"}
    assert saved.actions == [
        {"type": "send_survey", "survey": survey.pk},
        {"type": "change_owner", "owner": sales.pk},
        {"type": "add_to_list", "list": fair.pk},
    ]
    edit = web.get(f"/automation/{saved.pk}/edit/").content.decode()
    assert 'name="days" value="3"' in edit

    refused = web.post(
        "/automation/new/",
        {
            "name": "Hook", "trigger": "contact_created", "r.type": "group", "r.op": "and",
            "action0_type": "webhook", "action0_url": "http://example.org/in",
        },
    )  # fmt: skip
    assert refused.status_code == 200
    assert "https://" in refused.content.decode()
    assert AutomationRule.objects.count() == 1


@pytest.mark.parametrize("url", ["https://10.0.0.5/hook", "https://localhost/hook"])
def test_the_webhook_action_refuses_the_servers_own_network(settings: Any, url: str) -> None:
    settings.AUTOMATION_WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(ValidationError, match="public addresses"):
        automation.clean_actions([{"type": "webhook", "url": url}])
    assert automation.clean_actions([{"type": "webhook", "url": "https://hooks.example.com/in"}])
