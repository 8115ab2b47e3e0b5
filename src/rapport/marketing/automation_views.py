"""Automation pages: the rules with their run log (admins configure; marketing looks on)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from rapport.catalog.views import errors_into, message_of
from rapport.core.permissions import Action, can, require, restrict
from rapport.core.services import ConflictError
from rapport.customers.choices import LifecycleStage
from rapport.marketing import automation, editor, queries, rules
from rapport.marketing.choices import SegmentKind, Trigger
from rapport.marketing.forms import ACTION_ROWS, AutomationForm
from rapport.marketing.models import AutomationRule, AutomationRun, WebhookEndpoint
from rapport.marketing.views import _editor_context
from rapport.users.models import User, signed_in

RECENT_RUNS = 50
ACTION_FIELDS: tuple[str, ...] = ("type", "title", "due_in_days", "campaign", "stage", "tag")
ACTION_FIELDS += ("survey", "owner", "list", "url")


class RuleForm(AutomationForm):
    """The shared form plus the event triggers' and the newer actions' fields."""

    def __init__(self, *args: Any, campaigns: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, campaigns=campaigns, **kwargs)
        from rapport.satisfaction import queries as survey_queries

        self.fields["days"].label = "Days"
        self.fields[
            "days"
        ].help_text = "before service is due or a renewal; after delivery or resolution"
        self.fields["stage"] = forms.ChoiceField(
            label="To stage",
            required=False,
            choices=[("", "any stage"), *LifecycleStage.choices],
            help_text="for stage changes",
        )
        self.fields["answer_class"] = forms.ChoiceField(
            label="Answered as",
            required=False,
            choices=[("", "any answer"), *[(c, c) for c in automation.ANSWER_CLASSES]],
            help_text="for survey answers",
        )
        self.fields["watched"] = forms.CharField(
            label="Changed fields",
            required=False,
            max_length=500,
            help_text="for contact updates: e.g. owner, lifecycle_stage, custom_fields.budget "
            "(comma-separated; empty for any change)",
        )
        surveys = survey_queries.surveys(user).filter(is_active=True)
        lists = queries.segments(user).filter(kind=SegmentKind.STATIC)
        owners = User.objects.filter(is_active=True).order_by("full_name", "email")
        for row in range(ACTION_ROWS):
            self.fields[f"action{row}_survey"] = forms.ChoiceField(
                label="Survey", required=False, choices=[("", "—"), *_pairs(surveys)]
            )
            self.fields[f"action{row}_owner"] = forms.ChoiceField(
                label="New owner", required=False, choices=[("", "—"), *_pairs(owners)]
            )
            self.fields[f"action{row}_list"] = forms.ChoiceField(
                label="Static list", required=False, choices=[("", "—"), *_pairs(lists)]
            )
            self.fields[f"action{row}_url"] = forms.CharField(
                label="Webhook URL (https)", required=False, max_length=500
            )

    def action_rows(self) -> list[list[Any]]:
        return [
            [self[f"action{row}_{name}"] for name in ACTION_FIELDS] for row in range(ACTION_ROWS)
        ]

    def trigger_params(self) -> dict[str, Any]:
        data = self.cleaned_data
        trigger = data["trigger"]
        if trigger == Trigger.STAGE_CHANGED:
            return {"stage": data.get("stage") or ""}
        if trigger == Trigger.SURVEY_ANSWERED:
            return {"answer_class": data.get("answer_class") or ""}
        if trigger in (Trigger.ORDER_DELIVERED, Trigger.TICKET_RESOLVED, Trigger.RENEWAL_DUE):
            return {"days": data["days"] if data["days"] is not None else ""}
        if trigger == Trigger.CONTACT_UPDATED:
            return {"fields": data.get("watched") or ""}
        return super().trigger_params()

    def actions(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        chosen = []
        for row in range(ACTION_ROWS):
            if not data.get(f"action{row}_type"):
                continue
            values = {name: data.get(f"action{row}_{name}") for name in ACTION_FIELDS}
            chosen.append(
                {name: value for name, value in values.items() if value not in (None, "")}
            )
        return chosen

    @staticmethod
    def initial_for(rule: Any) -> dict[str, Any]:
        initial = AutomationForm.initial_for(rule)
        initial["watched"] = ", ".join(initial.pop("fields", None) or [])
        return initial


def _pairs(records: Any) -> list[tuple[str, str]]:
    return [(str(record.pk), str(record)) for record in records]


def _initial_from_example(key: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    found = automation.example(key)
    if found is None:
        return {}, None
    initial: dict[str, Any] = {
        "name": found.name,
        "enabled": True,
        "trigger": found.trigger,
        **found.trigger_params,
    }
    for row, action in enumerate(found.actions[:ACTION_ROWS]):
        for name, value in action.items():
            initial[f"action{row}_{name}"] = value
    return initial, found.conditions


def _rules(user: User, action: Action = Action.VIEW) -> Any:
    return restrict(AutomationRule.objects.all(), user, action)


@login_required
def automation_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, AutomationRule)
    runs = (
        restrict(AutomationRun.objects.all(), user)
        .filter(rule__deleted_at__isnull=True)
        .select_related("rule", "contact")
        .order_by("-fired_at", "-id")[:RECENT_RUNS]
    )
    context = {
        "rules": _rules(user),
        "runs": runs,
        "may_change": can(user, Action.CHANGE, AutomationRule),
        "may_add": can(user, Action.ADD, AutomationRule),
        "may_see_webhooks": can(user, Action.VIEW, WebhookEndpoint),
        "examples": automation.EXAMPLES,
    }
    return render(request, "marketing/automation_list.html", context)


def _form_page(request: HttpRequest, user: User, rule: AutomationRule | None) -> HttpResponse:
    campaigns = queries.campaigns(user)
    if request.method == "POST":
        form = RuleForm(request.POST, campaigns=campaigns, user=user)
        tree = editor.from_form(request.POST)
        if form.is_valid():
            values = {
                "name": form.cleaned_data["name"],
                "enabled": form.cleaned_data["enabled"],
                "trigger": form.cleaned_data["trigger"],
                "trigger_params": form.trigger_params(),
                "conditions": tree,
                "actions": form.actions(),
            }
            try:
                if rule is None:
                    rule = automation.create_rule(user, **values)
                else:
                    automation.update_rule(
                        user,
                        rule,
                        values,
                        expected_version=int(request.POST.get("version") or 0) or None,
                    )
                messages.success(request, f"Saved automation {rule.name}.")
                return redirect("marketing:automation")
            except ConflictError as error:
                form.add_error(None, str(error))
            except ValidationError as error:
                errors_into(form, error)
    else:
        start: dict[str, Any] | None = None
        if rule:
            initial = RuleForm.initial_for(rule)
        else:
            initial, start = _initial_from_example(request.GET.get("example", ""))
        form = RuleForm(initial=initial, campaigns=campaigns, user=user)
        tree = (rule.conditions if rule else start) or rules.empty_tree()
    context = {"form": form, "rule": rule, **_editor_context(tree, user)}
    return render(request, "marketing/automation_form.html", context)


@login_required
def automation_new(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.ADD, AutomationRule)
    return _form_page(request, user, None)


@login_required
def automation_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.CHANGE, AutomationRule)
    return _form_page(request, user, get_object_or_404(_rules(user, Action.CHANGE), pk=pk))


@login_required
@require_POST
def automation_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    user = signed_in(request)
    action = Action.DELETE if verb == "trash" else Action.CHANGE
    require(user, action, AutomationRule)
    rule = get_object_or_404(_rules(user, action), pk=pk)
    try:
        if verb == "trash":
            automation.trash_rule(user, rule)
            messages.success(request, f"{rule.name} is in the trash.")
        elif verb == "run":
            fired = automation.evaluate(rule)
            messages.success(request, f"{rule.name} fired for {fired} contacts.")
        else:
            raise Http404("Unknown action.")
    except ValidationError as error:
        messages.error(request, message_of(error))
    return redirect("marketing:automation")
