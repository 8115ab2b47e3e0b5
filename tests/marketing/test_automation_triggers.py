"""The "contact updated" and "renewal coming up" triggers: once per event, never for automation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from rapport.core.models import CustomFieldTarget, CustomFieldType
from rapport.customers import services as customer_services
from rapport.marketing import automation
from rapport.marketing.models import AutomationRule, AutomationRun
from rapport.reminders.models import Task
from rapport.trading import services as trading_services
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import define_field, make_contact
from tests.trading.factories import make_asset

pytestmark = pytest.mark.django_db

TASK = [{"type": "create_task", "title": "Look at the change", "due_in_days": 0}]


def on_update(admin: User, fields: Any = None, actions: Any = None) -> AutomationRule:
    return automation.create_rule(
        admin,
        name="On update",
        trigger="contact_updated",
        trigger_params={"fields": fields} if fields is not None else {},
        actions=actions or TASK,
    )


def occurrences(rule_: AutomationRule) -> list[str]:
    return sorted(rule_.runs.values_list("occurrence", flat=True))


def history_ids(contact: Any) -> list[int]:
    rows = contact.history.filter(history_type="~").order_by("history_id")
    return list(rows.values_list("history_id", flat=True))


def test_each_update_after_arming_fires_once(admin: User) -> None:
    contact = make_contact(admin, first_name="Ulla")
    customer_services.update_contact(admin, contact, {"job_title": "Buyer"})  # before the rule
    rule_ = on_update(admin)
    assert automation.run_all() == 0
    customer_services.update_contact(admin, contact, {"job_title": "Head buyer"})
    customer_services.update_contact(admin, contact, {"notes": "Prefers mornings"})
    assert automation.run_all() == 2
    assert automation.run_all() == 0  # once per update, however often the job runs
    assert occurrences(rule_) == sorted(f"update:{pk}" for pk in history_ids(contact)[1:])
    assert Task.objects.filter(contact=contact).count() == 2


def test_creating_or_trashing_a_contact_is_not_an_update(admin: User) -> None:
    on_update(admin)
    contact = make_contact(admin, first_name="New")
    customer_services.trash_contact(admin, contact)
    assert automation.run_all() == 0


def test_a_save_that_changes_nothing_watched_does_not_fire(admin: User) -> None:
    contact = make_contact(admin, first_name="Same", job_title="Buyer")
    on_update(admin)
    customer_services.update_contact(admin, contact, {"job_title": "Buyer"})
    assert contact.history.filter(history_type="~").exists()
    assert automation.run_all() == 0


def test_only_the_named_fields_fire(admin: User) -> None:
    define_field("budget", CustomFieldType.NUMBER, target=CustomFieldTarget.CONTACT)
    define_field("shoe_size", CustomFieldType.NUMBER, target=CustomFieldTarget.CONTACT)
    colleague = User.objects.create_user(email="colleague@example.com", password="x" * 16)
    contact = make_contact(admin, first_name="Picky", owner=admin)
    rule_ = on_update(admin, fields=["owner", "custom_fields.budget"])
    customer_services.update_contact(admin, contact, {"job_title": "CEO"})
    customer_services.update_contact(admin, contact, {"custom_fields": {"shoe_size": 44}})
    assert automation.run_all() == 0
    customer_services.update_contact(admin, contact, {"owner": colleague})
    customer_services.update_contact(admin, contact, {"custom_fields": {"budget": 5000}})
    assert automation.run_all() == 2
    assert occurrences(rule_) == sorted(f"update:{pk}" for pk in history_ids(contact)[-2:])


def test_fields_given_as_text_are_cleaned_and_unknown_ones_refused(admin: User) -> None:
    rule_ = on_update(admin, fields="owner, lifecycle_stage")
    assert rule_.trigger_params == {"fields": ["owner", "lifecycle_stage"]}
    for bad, message in [
        ("password", "Unknown field 'password'"),
        ("custom_fields.nothing", "Unknown field 'custom_fields.nothing'"),
        ({"owner": True}, "List the field names"),
    ]:
        with pytest.raises(ValidationError, match=message):
            on_update(admin, fields=bad)
    assert AutomationRule.objects.count() == 1


def test_automations_own_changes_never_fire_it_again(admin: User) -> None:
    """A rule that changes the contact it fired for: its change is not a new update."""
    other = User.objects.create_user(email="other@example.com", password="x" * 16)
    contact = make_contact(admin, first_name="Loop", owner=admin)
    rule_ = on_update(
        admin,
        actions=[
            {"type": "change_owner", "owner": other.pk},
            {"type": "change_stage", "stage": "customer"},
        ],
    )
    customer_services.update_contact(admin, contact, {"job_title": "Trigger"})
    assert automation.run_all() == 1
    contact.refresh_from_db()
    assert (contact.owner, contact.lifecycle_stage) == (other, "customer")
    assert all(result["ok"] for result in AutomationRun.objects.get().results)
    # The rule's own changes were saved with the automation mark...
    reasons = list(
        contact.history.order_by("-history_id").values_list("history_change_reason", flat=True)[:2]
    )
    assert all(reason.startswith(automation.AUTOMATION_MARK) for reason in reasons)
    # ...so they fire nothing, however often the job runs.
    assert automation.run_all() == 0
    assert automation.run_all() == 0
    assert occurrences(rule_) == [f"update:{history_ids(contact)[0]}"]


def test_conditions_apply_to_the_updated_contact(admin: User) -> None:
    wanted = make_contact(admin, first_name="Customer", lifecycle_stage="customer")
    ignored = make_contact(admin, first_name="Lead")
    automation.create_rule(
        admin,
        name="Customers updated",
        trigger="contact_updated",
        trigger_params={},
        conditions={"op": "and", "rules": [{"kind": "stage", "op": "is", "value": "customer"}]},
        actions=TASK,
    )
    for contact in (wanted, ignored):
        customer_services.update_contact(admin, contact, {"job_title": "Changed"})
    assert automation.run_all() == 1
    assert AutomationRun.objects.get().contact == wanted


# --- renewals ---------------------------------------------------------------------------


def year_before(day: Any, plus_days: int) -> Any:
    """A purchase whose yearly renewal is ``plus_days`` from ``day``."""
    return trading_services.add_months(day + timedelta(days=plus_days), -12)


def renewal_rule(admin: User, days: str = "14") -> AutomationRule:
    return automation.create_rule(
        admin,
        name="Renewal coming up",
        trigger="renewal_due",
        trigger_params={"days": days},
        actions=[{"type": "create_task", "title": "Call about the renewal", "due_in_days": 0}],
    )


def test_renewal_fires_once_per_renewal_date(admin: User) -> None:
    plan = make_product(admin, name="Service plan", renewal_months=12)
    today = timezone.localdate()
    soon = make_contact(admin, first_name="Soon")
    later = make_contact(admin, first_name="Later")
    lapsed = make_contact(admin, first_name="Lapsed")
    # Bought a year ago, less ten days: renews in ten days.
    asset = make_asset(admin, product=plan, contact=soon, bought_on=year_before(today, 10))
    make_asset(admin, product=plan, contact=later, bought_on=today - timedelta(days=30))
    make_asset(admin, product=plan, contact=lapsed, bought_on=year_before(today, -3))
    rule_ = renewal_rule(admin)
    assert asset.renewal_on is not None
    assert automation.run_all() == 1
    assert automation.run_all() == 0
    run = AutomationRun.objects.get()
    assert run.contact == soon
    first = asset.renewal_on
    assert run.occurrence == f"renewal:{first}"
    # Renewed: the next renewal date is a new occurrence, in its own time.
    next_year = trading_services.add_months(first, 12)
    trading_services.update_asset(admin, asset, {"renewal_on": next_year})
    assert automation.run_all(today=next_year - timedelta(days=3)) == 1
    assert occurrences(rule_) == [f"renewal:{first}", f"renewal:{next_year}"]


def test_a_replaced_unit_does_not_renew(admin: User) -> None:
    plan = make_product(admin, name="Old plan", renewal_months=12)
    today = timezone.localdate()
    owner = make_contact(admin, first_name="Upgraded")
    old = make_asset(admin, product=plan, contact=owner, bought_on=year_before(today, 5))
    new = make_asset(admin, product=plan, contact=owner, bought_on=today)
    from rapport.trading.models import Asset

    Asset.objects.filter(pk=old.pk).update(replaced_by=new)
    renewal_rule(admin)
    assert automation.run_all() == 0


def test_bad_renewal_days_are_refused(admin: User) -> None:
    with pytest.raises(ValidationError, match="0 to 365"):
        renewal_rule(admin, days="400")
