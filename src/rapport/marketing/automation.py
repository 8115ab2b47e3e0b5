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

import logging
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import CharField, Min, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from rapport.core.permissions import Action, authorise
from rapport.core.services import create_record, move_to_trash, save_changes
from rapport.customers.choices import ConsentChannel, ConsentPurpose, LifecycleStage
from rapport.customers.models import Contact
from rapport.marketing import rules
from rapport.marketing.choices import ActionType, MessageState, RunOutcome, Trigger
from rapport.marketing.models import AutomationRule, AutomationRun, Campaign, Message

if TYPE_CHECKING:
    from rapport.users.models import User

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
MAX_ACTIONS = 5
SCORE_METRICS = dict(rules.SCORE_METRICS)
RULE_CHANGES = {"name", "enabled", "trigger", "trigger_params", "conditions", "actions"}


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
    if trigger == Trigger.SERVICE_DUE:
        days = _number(params.get("days"))
        if Decimal(days) < 0 or Decimal(days) > 365:
            raise ValidationError({"trigger_params": ["Days before the due date: 0 to 365."]})
        return {"days": str(int(Decimal(days)))}
    return {}


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
    tag = str(action.get("tag", "")).strip()
    if not tag or len(tag) > 60:
        raise ValidationError({"actions": [f"{where}: name the tag (at most 60 characters)."]})
    return {"type": kind, "tag": tag}


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
    return save_changes(
        rule, cleaned, actor=actor, expected_version=expected_version, reason="Edited"
    )


def trash_rule(actor: User | None, rule: AutomationRule) -> AutomationRule:
    authorise(actor, Action.DELETE, rule)
    return move_to_trash(rule, actor=actor)


# --- evaluation --------------------------------------------------------------------------


def _candidates(rule: AutomationRule, today: date) -> list[tuple[int, str]]:
    """(contact id, occurrence) of everyone the rule fires for now, in one query."""
    params = rule.trigger_params
    contacts = Contact.objects.filter(deleted_at__isnull=True).filter(
        rules.compile_tree(rule.conditions or rules.empty_tree())
    )
    matched: Any
    if rule.trigger == Trigger.SCORE:
        matched = contacts.filter(rules.compile_tree({"op": "and", "rules": [
            {"kind": "score", **params},
        ]}))  # fmt: skip
        occurrence: Any = Value("crossed")
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


def evaluate(rule: AutomationRule, *, today: date | None = None) -> int:
    """Fire the rule for every contact it applies to now; returns how many runs started."""
    today = today or timezone.localdate()
    _rearm_scores(rule)
    fired = 0
    for contact_id, occurrence in _candidates(rule, today):
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


def retry_failed() -> int:
    """Runs whose actions failed get another go, until MAX_ATTEMPTS."""
    retried = 0
    for run in AutomationRun.objects.filter(outcome=RunOutcome.RETRYING, attempts__gt=0):
        _perform(run)
        retried += 1
    return retried


def run_all(*, today: date | None = None) -> int:
    """The periodic job: every enabled rule, then the retries. One rule's failure stops nothing."""
    fired = 0
    for rule in AutomationRule.objects.filter(enabled=True, deleted_at__isnull=True):
        try:
            fired += evaluate(rule, today=today)
        except Exception:
            logger.exception("Automation rule %s could not be evaluated", rule.pk)
    retry_failed()
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
            else:
                with transaction.atomic():
                    detail = _do(action, rule, contact)
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


def _do(action: Mapping[str, Any], rule: AutomationRule, contact: Contact) -> str:
    from rapport.customers import services as customer_services

    kind = action["type"]
    why = f"Automation rule {rule.name!r}"
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
