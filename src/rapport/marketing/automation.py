"""Automation rules: trigger → conditions → actions, evaluated by a periodic job.

The triggers are the ones a job can evaluate from stored data: an insight
score on one side of a threshold, a unit due for service, a birthday. Each
firing is one ``AutomationRun`` row, unique per (rule, contact, occurrence):
written before the actions run, so a rule fires once per occurrence, even
when its own actions (a new tag, a new stage) would make it match again.
A failing action is retried on the next runs, up to ``MAX_ATTEMPTS``, and
then reported as failed in the run log; it never stops the other actions,
contacts or rules.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, F, Min, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from rapport.core.permissions import Action, authorise
from rapport.core.services import create_record, move_to_trash, save_changes
from rapport.customers.choices import ConsentChannel, ConsentPurpose, LifecycleStage
from rapport.customers.models import Contact
from rapport.marketing import rules
from rapport.marketing.choices import (
    EVENT_TRIGGERS,
    ActionType,
    MessageState,
    RunOutcome,
    SegmentKind,
    Trigger,
)
from rapport.marketing.models import AutomationRule, AutomationRun, Campaign, Message
from rapport.satisfaction.choices import CsatClass, NpsClass

if TYPE_CHECKING:
    from rapport.users.models import User

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
MAX_ACTIONS = 5
SCORE_METRICS = dict(rules.SCORE_METRICS)
ANSWER_CLASSES = (*NpsClass.values, *CsatClass.values)
SIGNATURE_HEADER = "X-Rapport-Signature"
# Written into the reason of every change an automation makes. Events carrying
# it never trigger event rules: automation does not cascade into automation,
# so no rule (nor a pair of rules) can keep re-triggering itself.
AUTOMATION_MARK = "[automation]"
RULE_CHANGES = {"name", "enabled", "trigger", "trigger_params", "conditions", "actions"}
# The contact fields whose change is "a contact is updated" (their history columns;
# ``owner`` is stored as ``owner_id``). Stamps such as last_activity_at are not changes.
WATCHED_FIELDS = (
    "first_name", "last_name", "email", "phone", "job_title", "birthday", "language",
    "time_zone", "source", "lifecycle_stage", "owner", "notes", "external_id", "custom_fields",
)  # fmt: skip


# --- validation ---------------------------------------------------------------------


def clean_trigger(trigger: str, params: Mapping[str, Any]) -> dict[str, Any]:
    if trigger not in Trigger.values:
        raise ValidationError({"trigger": [f"Use one of {', '.join(Trigger.values)}."]})
    if trigger == Trigger.SCORE:
        metric = str(params.get("metric", ""))
        if metric not in SCORE_METRICS:
            raise ValidationError({"trigger_params": [f"Unknown score {metric!r}."]})
        op = str(params.get("op", ""))
        if op not in ("gte", "lte"):
            raise ValidationError({"trigger_params": ["Say 'gte' (at least) or 'lte' (at most)."]})
        return {"metric": metric, "op": op, "value": _number(params.get("value"))}
    if trigger == Trigger.CONTACT_UPDATED:
        return {"fields": _clean_watched(params.get("fields"))}
    if trigger in (Trigger.SERVICE_DUE, Trigger.RENEWAL_DUE):
        days = _number(params.get("days"))
        if Decimal(days) < 0 or Decimal(days) > 365:
            raise ValidationError({"trigger_params": ["Days before the due date: 0 to 365."]})
        return {"days": str(int(Decimal(days)))}
    if trigger == Trigger.STAGE_CHANGED:
        stage = str(params.get("stage") or "")
        if stage and stage not in LifecycleStage.values:
            raise ValidationError({"trigger_params": [f"Unknown stage {stage!r}."]})
        return {"stage": stage} if stage else {}
    if trigger in (Trigger.ORDER_DELIVERED, Trigger.TICKET_RESOLVED):
        raw = params.get("days")
        if raw in (None, ""):
            return {"days": "0"}
        after = Decimal(_number(raw))
        if after < 0 or after > 365 or after != int(after):
            raise ValidationError({"trigger_params": ["Days after: a whole number, 0 to 365."]})
        return {"days": str(int(after))}
    if trigger == Trigger.SURVEY_ANSWERED:
        answer_class = str(params.get("answer_class") or "")
        if answer_class and answer_class not in ANSWER_CLASSES:
            raise ValidationError(
                {"trigger_params": [f"Use one of {', '.join(ANSWER_CLASSES)} (or none)."]}
            )
        return {"answer_class": answer_class} if answer_class else {}
    return {}


def _clean_watched(raw: Any) -> list[str]:
    """The contact fields an update must change to fire ("" or [] for any change)."""
    from rapport.core.models import CustomFieldDefinition, CustomFieldTarget

    if raw in (None, ""):
        return []
    names = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValidationError({"trigger_params": ["List the field names, e.g. owner."]})
    cleaned: list[str] = []
    keys = set(
        CustomFieldDefinition.objects.filter(target=CustomFieldTarget.CONTACT).values_list(
            "key", flat=True
        )
    )
    for name in (name.strip() for name in names):
        if not name:
            continue
        prefix, _, key = name.partition(".")
        if name in WATCHED_FIELDS or (prefix == "custom_fields" and key in keys):
            if name not in cleaned:
                cleaned.append(name)
            continue
        raise ValidationError(
            {
                "trigger_params": [
                    f"Unknown field {name!r}: use {', '.join(WATCHED_FIELDS)} "
                    "or custom_fields.<key> of a contact custom field."
                ]
            }
        )
    return cleaned


def _number(raw: Any) -> str:
    try:
        number = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation:
        raise ValidationError({"trigger_params": [f"{raw!r} is not a number."]}) from None
    if not number.is_finite():
        raise ValidationError({"trigger_params": [f"{raw!r} is not a number."]})
    return str(number)


def clean_actions(actions: Any) -> list[dict[str, Any]]:
    if not isinstance(actions, list) or not actions:
        raise ValidationError({"actions": ["Give at least one action."]})
    if len(actions) > MAX_ACTIONS:
        raise ValidationError({"actions": [f"At most {MAX_ACTIONS} actions."]})
    return [_clean_action(action, number) for number, action in enumerate(actions, start=1)]


def _clean_action(action: Any, number: int) -> dict[str, Any]:
    where = f"Action {number}"
    kind = action.get("type") if isinstance(action, dict) else None
    if kind not in ActionType.values:
        raise ValidationError({"actions": [f"{where}: use one of {', '.join(ActionType.values)}."]})
    if kind == ActionType.CREATE_TASK:
        title = str(action.get("title", "")).strip()
        if not title:
            raise ValidationError({"actions": [f"{where}: the task needs a title."]})
        try:
            days = int(action.get("due_in_days", 0))
        except (TypeError, ValueError):
            raise ValidationError({"actions": [f"{where}: due in how many days?"]}) from None
        if not 0 <= days <= 365:
            raise ValidationError({"actions": [f"{where}: due in 0 to 365 days."]})
        return {"type": kind, "title": title[:200], "due_in_days": days}
    if kind == ActionType.SEND_EMAIL:
        campaign = Campaign.objects.filter(
            pk=_int(action.get("campaign")), deleted_at__isnull=True
        ).first()
        if campaign is None:
            raise ValidationError({"actions": [f"{where}: pick the campaign to send."]})
        return {"type": kind, "campaign": campaign.pk}
    if kind == ActionType.CHANGE_STAGE:
        stage = str(action.get("stage", ""))
        if stage not in LifecycleStage.values:
            raise ValidationError({"actions": [f"{where}: unknown stage {stage!r}."]})
        return {"type": kind, "stage": stage}
    if kind == ActionType.SEND_SURVEY:
        from rapport.satisfaction.models import Survey

        survey = Survey.objects.filter(
            pk=_int(action.get("survey")), deleted_at__isnull=True, is_active=True
        ).first()
        if survey is None:
            raise ValidationError({"actions": [f"{where}: pick an active survey to send."]})
        return {"type": kind, "survey": survey.pk}
    if kind == ActionType.CHANGE_OWNER:
        from rapport.users.models import User

        owner = User.objects.filter(pk=_int(action.get("owner")), is_active=True).first()
        if owner is None:
            raise ValidationError({"actions": [f"{where}: pick the new owner (an active user)."]})
        return {"type": kind, "owner": owner.pk}
    if kind == ActionType.ADD_TO_LIST:
        from rapport.marketing.models import Segment

        segment = Segment.objects.filter(
            pk=_int(action.get("list")), kind=SegmentKind.STATIC, deleted_at__isnull=True
        ).first()
        if segment is None:
            raise ValidationError({"actions": [f"{where}: pick a static list."]})
        return {"type": kind, "list": segment.pk}
    if kind == ActionType.WEBHOOK:
        from rapport.marketing import webhooks  # it imports this module's signing

        try:
            url = webhooks.clean_url(str(action.get("url", "")))
        except ValidationError as error:
            raise ValidationError({"actions": [f"{where}: {' '.join(error.messages)}"]}) from None
        return {"type": kind, "url": url}
    tag = str(action.get("tag", "")).strip()
    if not tag or len(tag) > 60:
        raise ValidationError({"actions": [f"{where}: name the tag (at most 60 characters)."]})
    return {"type": kind, "tag": tag}


def allow_http_webhooks() -> bool:
    """Plain http only where the admin allows it (tests, a local receiver); https otherwise."""
    return bool(getattr(settings, "AUTOMATION_WEBHOOK_ALLOW_HTTP", False))


def _int(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0


# --- writes (admins) -------------------------------------------------------------------


def create_rule(
    actor: User | None,
    *,
    name: str,
    trigger: str,
    trigger_params: Mapping[str, Any],
    actions: Any,
    conditions: Any = None,
    enabled: bool = True,
) -> AutomationRule:
    authorise(actor, Action.ADD, AutomationRule)
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["Give the rule a name."]})
    rule = AutomationRule(
        name=name[:150],
        enabled=enabled,
        trigger=trigger,
        trigger_params=clean_trigger(trigger, trigger_params),
        conditions=rules.validate(conditions or rules.empty_tree()),
        actions=clean_actions(actions),
        owner=actor,
        armed_at=timezone.now(),
        secret=secrets.token_hex(32),
    )
    with transaction.atomic():
        create_record(rule, actor=actor, reason="Created")
    return rule


def update_rule(
    actor: User | None,
    rule: AutomationRule,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> AutomationRule:
    authorise(actor, Action.CHANGE, rule)
    unknown = set(changes) - RULE_CHANGES
    if unknown:
        raise ValidationError({name: ["This cannot be changed."] for name in sorted(unknown)})
    cleaned = dict(changes)
    trigger = cleaned.get("trigger", rule.trigger)
    if "trigger" in cleaned or "trigger_params" in cleaned:
        params = cleaned.get("trigger_params", rule.trigger_params)
        cleaned["trigger_params"] = clean_trigger(trigger, params)
    if "conditions" in cleaned:
        cleaned["conditions"] = rules.validate(cleaned["conditions"])
    if "actions" in cleaned:
        cleaned["actions"] = clean_actions(cleaned["actions"])
    if "name" in cleaned and not str(cleaned["name"]).strip():
        raise ValidationError({"name": ["Give the rule a name."]})
    new_trigger = (trigger, cleaned.get("trigger_params", rule.trigger_params))
    if (cleaned.get("enabled") and not rule.enabled) or new_trigger != (
        rule.trigger,
        rule.trigger_params,
    ):
        # Re-enabled or listening for something else: what happened before is old history.
        cleaned["armed_at"] = timezone.now()
    return save_changes(
        rule, cleaned, actor=actor, expected_version=expected_version, reason="Edited"
    )


def trash_rule(actor: User | None, rule: AutomationRule) -> AutomationRule:
    authorise(actor, Action.DELETE, rule)
    return move_to_trash(rule, actor=actor)


# --- evaluation --------------------------------------------------------------------------


def _events(rule: AutomationRule, contacts: Any, now: datetime) -> Any:
    """The rule's stored events since it was armed: rows of (contact id, occurrence).

    The occurrence is the event's identity (``delivery:<id>``), so each event
    fires a rule once. Changes made by automation (``AUTOMATION_MARK``) are
    not events: automation never re-triggers automation.
    """
    params = rule.trigger_params
    since = rule.armed_at
    if rule.trigger == Trigger.CONTACT_CREATED:
        return contacts.filter(created_at__gte=since).annotate(
            who=F("pk"), occ=Concat(Value("contact:"), Cast("pk", CharField()))
        )
    if rule.trigger == Trigger.STAGE_CHANGED:
        from rapport.customers.models import LifecycleChange

        changes = LifecycleChange.objects.filter(
            contact__in=contacts, changed_at__gte=since
        ).exclude(reason__startswith=AUTOMATION_MARK)
        # The first stage a contact is created with is "contact created", not a change.
        changes = changes.exclude(from_stage="")
        if params.get("stage"):
            changes = changes.filter(to_stage=params["stage"])
        return changes.annotate(
            who=F("contact_id"), occ=Concat(Value("stage:"), Cast("pk", CharField()))
        )
    if rule.trigger == Trigger.ORDER_PLACED:
        from rapport.trading.choices import BOUGHT_STATUSES
        from rapport.trading.models import Order

        # Bought now, and not bought before the rule was armed: placed since.
        history = Order.history.model.objects.filter(
            id=OuterRef("pk"), status__in=BOUGHT_STATUSES, history_date__lt=since
        )
        orders = Order.objects.filter(
            contact__in=contacts, deleted_at__isnull=True, status__in=BOUGHT_STATUSES
        ).filter(Q(created_at__gte=since) | Q(status_changed_at__gte=since))
        return orders.exclude(Exists(history)).annotate(
            who=F("contact_id"), occ=Concat(Value("order:"), Cast("pk", CharField()))
        )
    if rule.trigger == Trigger.ORDER_DELIVERED:
        from rapport.trading.models import Delivery

        waited = now - timedelta(days=int(params.get("days", 0)))
        deliveries = Delivery.objects.filter(
            order__contact__in=contacts,
            order__deleted_at__isnull=True,
            delivered_at__gte=since,
            delivered_at__lte=waited,
        )
        return deliveries.annotate(
            who=F("order__contact_id"), occ=Concat(Value("delivery:"), Cast("pk", CharField()))
        )
    if rule.trigger == Trigger.TICKET_RESOLVED:
        from rapport.service.models import Ticket

        waited = now - timedelta(days=int(params.get("days", 0)))
        tickets = Ticket.objects.filter(
            contact__in=contacts,
            deleted_at__isnull=True,
            resolved_at__gte=since,
            resolved_at__lte=waited,
        )
        return tickets.annotate(
            who=F("contact_id"), occ=Concat(Value("ticket:"), Cast("pk", CharField()))
        )
    if rule.trigger == Trigger.CONTACT_UPDATED:
        # One history row per saved change; trashing is not an update, and the
        # automation's own changes carry AUTOMATION_MARK in their reason.
        updates = Contact.history.model.objects.filter(
            id__in=contacts.values("pk"),
            history_type="~",
            history_date__gte=since,
            deleted_at__isnull=True,
        ).exclude(history_change_reason__startswith=AUTOMATION_MARK)
        return updates.annotate(
            who=F("id"), occ=Concat(Value("update:"), Cast("history_id", CharField()))
        )
    from rapport.satisfaction.models import Response

    answers = Response.objects.filter(contact__in=contacts, answered_at__gte=since)
    answer_class = params.get("answer_class")
    if answer_class:
        answers = answers.filter(Q(nps_class=answer_class) | Q(csat_class=answer_class))
    return answers.annotate(
        who=F("contact_id"), occ=Concat(Value("response:"), Cast("pk", CharField()))
    )


def _candidates(rule: AutomationRule, today: date, now: datetime) -> list[tuple[int, str]]:
    """(contact id, occurrence) of everyone the rule fires for now, in one query."""
    params = rule.trigger_params
    contacts = Contact.objects.filter(deleted_at__isnull=True).filter(
        rules.compile_tree(rule.conditions or rules.empty_tree())
    )
    if rule.trigger in EVENT_TRIGGERS:
        events = _events(rule, contacts, now)
        fired = AutomationRun.objects.filter(
            rule=rule, contact=OuterRef("who"), occurrence=OuterRef("occ")
        )
        found = list(events.exclude(Exists(fired)).order_by().values_list("who", "occ"))
        if rule.trigger == Trigger.CONTACT_UPDATED:
            return _changed(found, params.get("fields") or [])
        return found
    matched: Any
    if rule.trigger == Trigger.SCORE:
        matched = contacts.filter(rules.compile_tree({"op": "and", "rules": [
            {"kind": "score", **params},
        ]}))  # fmt: skip
        occurrence: Any = Value("crossed")
    elif rule.trigger == Trigger.RENEWAL_DUE:
        from rapport.trading.models import Asset

        # Renewals from today up to the horizon: a date gone by is not "coming up".
        horizon = today + timedelta(days=int(params["days"]))
        renewing = Asset.objects.filter(
            contact=OuterRef("pk"),
            deleted_at__isnull=True,
            replaced_by__isnull=True,
            renewal_on__gte=today,
            renewal_on__lte=horizon,
        )
        first_renewal = Subquery(
            renewing.order_by().values("contact").annotate(first=Min("renewal_on")).values("first")
        )
        matched = contacts.annotate(first_renewal=first_renewal).filter(first_renewal__isnull=False)
        occurrence = Concat(Value("renewal:"), Cast("first_renewal", CharField()))
    elif rule.trigger == Trigger.SERVICE_DUE:
        from rapport.trading.models import Asset

        horizon = today + timedelta(days=int(params["days"]))
        due = Asset.objects.filter(
            contact=OuterRef("pk"),
            deleted_at__isnull=True,
            replaced_by__isnull=True,
            next_service_due__isnull=False,
            next_service_due__lte=horizon,
        )
        first_due = Subquery(
            due.order_by().values("contact").annotate(first=Min("next_service_due")).values("first")
        )
        matched = contacts.annotate(first_due=first_due).filter(first_due__isnull=False)
        occurrence = Concat(Value("due:"), Cast("first_due", CharField()))
    else:
        matched = contacts.filter(birthday__month=today.month, birthday__day=today.day)
        occurrence = Value(f"birthday:{today.year}")
    done = AutomationRun.objects.filter(
        rule=rule, contact=OuterRef("pk"), occurrence=OuterRef("occ")
    )
    rows = (
        matched.annotate(occ=Cast(occurrence, CharField()))
        .exclude(Q(pk__in=done.values("contact_id")))
        .values_list("pk", "occ")
    )
    return list(rows)


def _changed(found: list[tuple[int, str]], fields: list[str]) -> list[tuple[int, str]]:
    """The updates that changed a watched field (any of ``fields`` when given).

    Each history row is compared with the contact's row before it (two queries
    for all of them); a save that changed nothing watched is not an update.
    """
    if not found:
        return []
    history = Contact.history.model.objects
    ids = [int(occurrence.partition(":")[2]) for _, occurrence in found]
    earlier = history.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
    rows = {
        row.history_id: row
        for row in history.filter(history_id__in=ids).annotate(
            before=Subquery(earlier.order_by("-history_id").values("history_id")[:1])
        )
    }
    before = history.in_bulk([row.before for row in rows.values() if row.before])
    wanted = fields or list(WATCHED_FIELDS)
    fired = []
    for (contact_id, occurrence), history_id in zip(found, ids, strict=True):
        row = rows[history_id]
        previous = before.get(row.before)
        if previous is None:  # no earlier row to compare: any update, never a given field
            changed = not fields
        else:
            changed = any(_differs(row, previous, name) for name in wanted)
        if changed:
            fired.append((contact_id, occurrence))
    return fired


def _differs(row: Any, previous: Any, name: str) -> bool:
    if name.startswith("custom_fields."):
        key = name.partition(".")[2]
        return bool((row.custom_fields or {}).get(key) != (previous.custom_fields or {}).get(key))
    column = "owner_id" if name == "owner" else name
    return bool(getattr(row, column) != getattr(previous, column))


def _rearm_scores(rule: AutomationRule) -> None:
    """A contact back on the other side of the threshold may fire again when it crosses again."""
    if rule.trigger != Trigger.SCORE:
        return
    still = Contact.objects.filter(
        rules.compile_tree({"op": "and", "rules": [{"kind": "score", **rule.trigger_params}]})
    )
    AutomationRun.objects.filter(rule=rule, occurrence="crossed").exclude(
        contact_id__in=still.values("pk")
    ).update(occurrence=Concat(Value("crossed:"), Cast("id", CharField())))


def evaluate(
    rule: AutomationRule, *, today: date | None = None, now: datetime | None = None
) -> int:
    """Fire the rule for every contact it applies to now; returns how many runs started."""
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    _rearm_scores(rule)
    fired = 0
    for contact_id, occurrence in _candidates(rule, today, now):
        try:
            with transaction.atomic():
                run = AutomationRun.objects.create(
                    rule=rule, contact_id=contact_id, occurrence=occurrence[:60]
                )
        except IntegrityError:
            continue  # another worker fired it meanwhile
        _perform(run)
        fired += 1
    AutomationRule.objects.filter(pk=rule.pk).update(last_run_at=timezone.now())
    return fired


def retry_failed(*, since: datetime | None = None) -> int:
    """Runs whose actions failed get another go, until MAX_ATTEMPTS.

    Runs fired in this pass (``fired_at`` at or after ``since``) wait for the
    next one: the hourly cadence is the back-off between attempts.
    """
    retried = 0
    waiting = AutomationRun.objects.filter(outcome=RunOutcome.RETRYING, attempts__gt=0)
    if since is not None:
        waiting = waiting.filter(fired_at__lt=since)
    for run in waiting:
        _perform(run)
        retried += 1
    return retried


def run_all(*, today: date | None = None, now: datetime | None = None) -> int:
    """The periodic job: every enabled rule, then the retries. One rule's failure stops nothing."""
    fired = 0
    started = timezone.now()
    for rule in AutomationRule.objects.filter(enabled=True, deleted_at__isnull=True):
        try:
            fired += evaluate(rule, today=today, now=now)
        except Exception:
            logger.exception("Automation rule %s could not be evaluated", rule.pk)
    retry_failed(since=started)
    return fired


def _perform(run: AutomationRun) -> None:
    rule = run.rule
    contact = Contact.objects.select_related("owner").get(pk=run.contact_id)
    results: list[dict[str, Any]] = list(run.results) or [
        {"ok": False, "detail": ""} for _ in rule.actions
    ]
    for index, action in enumerate(rule.actions):
        if index < len(results) and results[index]["ok"]:
            continue  # done on an earlier attempt
        try:
            if action["type"] == ActionType.SEND_EMAIL:
                # Not in a transaction: the message's state must outlive a failure.
                detail = _send(action, contact)
            elif action["type"] == ActionType.WEBHOOK:
                detail = _call_webhook(action, run)
            else:
                with transaction.atomic():
                    detail = _do(action, run, contact)
            results[index] = {"ok": True, "detail": detail}
        except Exception as error:
            logger.warning("Automation %s action %s failed: %s", rule.pk, index + 1, error)
            results[index] = {"ok": False, "detail": _message(error)}
    attempts = run.attempts + 1
    if all(result["ok"] for result in results):
        outcome = RunOutcome.SUCCEEDED
    elif attempts >= MAX_ATTEMPTS:
        outcome = RunOutcome.FAILED
    else:
        outcome = RunOutcome.RETRYING
    AutomationRun.objects.filter(pk=run.pk).update(
        results=results, attempts=attempts, outcome=outcome
    )


def _message(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)[:300]
    return (str(error) or type(error).__name__)[:300]


def _do(action: Mapping[str, Any], run: AutomationRun, contact: Contact) -> str:
    from rapport.customers import services as customer_services

    rule = run.rule
    kind = action["type"]
    why = f"{AUTOMATION_MARK} Automation rule {rule.name!r}"
    if kind == ActionType.CREATE_TASK:
        from rapport.reminders.services import TaskInput, create_task

        task = create_task(
            None,
            TaskInput(
                title=action["title"],
                due_date=timezone.localdate() + timedelta(days=action["due_in_days"]),
                assignee=contact.owner,
                contact=contact,
                notes=why,
            ),
            reason=why,
        )
        return f"Task {task.pk} for {contact.owner or 'nobody'}"
    if kind == ActionType.CHANGE_STAGE:
        customer_services.change_stage(None, contact, action["stage"], reason=why)
        return f"Stage {action['stage']}"
    if kind == ActionType.ADD_TAG:
        customer_services.tag(None, [contact], [action["tag"]])
        return f"Tagged {action['tag']}"
    if kind == ActionType.SEND_SURVEY:
        return _send_survey(action, run, contact)
    if kind == ActionType.CHANGE_OWNER:
        from rapport.users.models import User

        owner = User.objects.get(pk=action["owner"], is_active=True)
        # update_contact takes no reason: the history row gets this one through
        # the instance, so the change is marked as automation's own.
        contact._change_reason = why  # type: ignore[attr-defined]
        customer_services.update_contact(None, contact, {"owner": owner})
        return f"Owner {owner}"
    if kind == ActionType.ADD_TO_LIST:
        from rapport.marketing import services
        from rapport.marketing.models import Segment

        segment = Segment.objects.get(pk=action["list"], deleted_at__isnull=True)
        added = services.add_to_list(None, segment, [contact])
        return f"Added to {segment.name}" if added else f"Already in {segment.name}"
    raise ValidationError(f"Unknown action {kind!r}.")


def _send(action: Mapping[str, Any], contact: Contact) -> str:
    """One message of the template campaign to this contact, through the campaign machinery."""
    import uuid

    from rapport.customers.services import may_contact
    from rapport.marketing import services

    campaign = Campaign.objects.get(pk=action["campaign"])
    if not contact.email:
        raise ValidationError(f"{contact} has no e-mail address.")
    if not may_contact(contact, channel=ConsentChannel.EMAIL, purpose=ConsentPurpose.MARKETING):
        return "Not sent: no consent to marketing e-mail"
    message, created = Message.objects.get_or_create(
        campaign=campaign, contact=contact, defaults={"email": contact.email}
    )
    if not created and message.state == MessageState.SENT:
        return "Already sent before"
    if not created and message.state != MessageState.QUEUED:
        raise ValidationError(f"An earlier attempt {message.state}: {message.error}")
    from django.core.mail import mailers

    claim = str(uuid.uuid4())
    if not services._claim(message.pk, claim):
        return "Being sent by another worker"
    connection = mailers.default
    if not services._deliver(campaign, message, claim, connection):
        message.refresh_from_db()
        raise ValidationError(message.error or "The e-mail was not sent.")
    return f"E-mail {campaign.subject!r} sent"


def _send_survey(action: Mapping[str, Any], run: AutomationRun, contact: Contact) -> str:
    """Invite through the survey service: it checks consent and open invitations."""
    from rapport.satisfaction import services as survey_services
    from rapport.satisfaction.choices import SourceKind
    from rapport.satisfaction.models import Survey

    survey = Survey.objects.get(pk=action["survey"])
    # A delivery or ticket event is the invitation's source, so this rule and
    # the survey app's own triggers never invite twice for the same one.
    kind, _, ident = run.occurrence.partition(":")
    source = {"delivery": SourceKind.DELIVERY, "ticket": SourceKind.TICKET}.get(kind)
    if source and ident.isdigit():
        result = survey_services.invite(
            None, survey, [contact], source_kind=source, source_id=int(ident)
        )
    else:
        result = survey_services.invite(None, survey, [contact])
    if result.invited:
        return f"Survey {survey.name!r} sent"
    return f"No survey: {result.skipped.get(contact.pk, 'skipped')}"


def webhook_payload(run: AutomationRun) -> bytes:
    body = {
        "rule": run.rule_id,
        "run": run.pk,
        "trigger": run.rule.trigger,
        "event": run.occurrence,
        "contact": run.contact_id,
        "fired_at": run.fired_at.isoformat(),
    }
    return json.dumps(body, sort_keys=True).encode()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _call_webhook(action: Mapping[str, Any], run: AutomationRun) -> str:
    """POST the event, signed with the rule's secret; any non-2xx answer is a failure."""
    from rapport.marketing import webhooks

    body = webhook_payload(run)
    status, _answer = webhooks.post(
        action["url"],
        body,
        {
            "Content-Type": "application/json",
            "User-Agent": "Rapport-Automation",
            SIGNATURE_HEADER: sign(run.rule.secret, body),
        },
    )
    return f"Webhook answered {status}"


# --- examples shipped as templates ----------------------------------------------------


@dataclass(frozen=True)
class Example:
    key: str
    name: str
    description: str
    trigger: str
    trigger_params: dict[str, Any]
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]


EXAMPLES: tuple[Example, ...] = (
    Example(
        key="win-back",
        name="Win back valuable customers at risk",
        description="A task for the owner when a customer in the top CLV decile "
        "(value percentile at least 0.9) gets a churn risk above 0.5.",
        trigger=Trigger.SCORE,
        trigger_params={"metric": "churn_risk", "op": "gte", "value": "0.5"},
        conditions={
            "op": "and",
            "rules": [{"kind": "score", "metric": "value_percentile", "op": "gte", "value": "0.9"}],
        },
        actions=[{"type": ActionType.CREATE_TASK, "title": "Win-back call", "due_in_days": 3}],
    ),
    Example(
        key="thank-you-nps",
        name="Thank you and NPS survey after delivery",
        description="7 days after an order is delivered: a thank-you e-mail (pick the "
        "campaign to use as template) and the NPS survey (pick the survey).",
        trigger=Trigger.ORDER_DELIVERED,
        trigger_params={"days": "7"},
        conditions={"op": "and", "rules": []},
        actions=[{"type": ActionType.SEND_EMAIL}, {"type": ActionType.SEND_SURVEY}],
    ),
    Example(
        key="promoter-referral",
        name="Promoters become evangelists",
        description="When a customer answers an NPS survey as a promoter: lifecycle stage "
        "evangelist and a task to ask for a referral.",
        trigger=Trigger.SURVEY_ANSWERED,
        trigger_params={"answer_class": NpsClass.PROMOTER},
        conditions={"op": "and", "rules": []},
        actions=[
            {"type": ActionType.CHANGE_STAGE, "stage": LifecycleStage.EVANGELIST},
            {"type": ActionType.CREATE_TASK, "title": "Ask for a referral", "due_in_days": 2},
        ],
    ),
)


def example(key: str) -> Example | None:
    return next((item for item in EXAMPLES if item.key == key), None)
