"""Automation pages: the rules with their run log (admins configure; marketing looks on)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from rapport.catalog.views import errors_into, message_of
from rapport.core.permissions import Action, can, require, restrict
from rapport.core.services import ConflictError
from rapport.marketing import automation, editor, queries, rules
from rapport.marketing.forms import AutomationForm
from rapport.marketing.models import AutomationRule, AutomationRun
from rapport.marketing.views import _editor_context
from rapport.users.models import User, signed_in

RECENT_RUNS = 50


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
    }
    return render(request, "marketing/automation_list.html", context)


def _form_page(request: HttpRequest, user: User, rule: AutomationRule | None) -> HttpResponse:
    campaigns = queries.campaigns(user)
    if request.method == "POST":
        form = AutomationForm(request.POST, campaigns=campaigns)
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
        initial = AutomationForm.initial_for(rule) if rule else {}
        form = AutomationForm(initial=initial, campaigns=campaigns)
        tree = (rule.conditions if rule else None) or rules.empty_tree()
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
