"""Settings → Custom fields: admins define, change, retire and reactivate typed fields.

The pages sit in the settings section (``settings:`` URLs, the settings tab
bar) but the definitions are core's, so their views live here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from rapport.core import audit, custom_fields, services
from rapport.core.models import CustomFieldDefinition, CustomFieldTarget, CustomFieldType
from rapport.core.permissions import Action, can, require
from rapport.core.services import ConflictError
from rapport.users.forms import VersionedForm
from rapport.users.models import signed_in
from rapport.users.views import apply_errors, settings_context

TAB = "custom-fields"
HISTORY_ENTRIES = 20
TYPE_LABELS = dict(CustomFieldType.choices)


class CustomFieldForm(VersionedForm):
    """What an admin may change on a field; the new-field form adds target and key."""

    label = forms.CharField(max_length=100)
    field_type = forms.ChoiceField(choices=CustomFieldType.choices, label="Type")
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One per line; only for Choice and Several choices.",
    )
    required = forms.BooleanField(required=False, label="Required on every record")
    help_text = forms.CharField(max_length=200, required=False, label="Help text")
    position = forms.IntegerField(
        min_value=0, help_text="Fields are shown in this order, lowest first."
    )

    def clean_choices(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["choices"].splitlines() if line.strip()]


class NewCustomFieldForm(CustomFieldForm):
    target = forms.ChoiceField(choices=CustomFieldTarget.choices, label="On")
    key = forms.CharField(
        max_length=50,
        help_text="Used by the API, imports and filters (cf_<key>); it never changes.",
    )
    position = forms.IntegerField(
        min_value=0, required=False, help_text="Leave empty to put it after the others."
    )

    field_order = ["target", "key", "label", "field_type", "choices", "required", "help_text"]


def _form_initial(definition: CustomFieldDefinition) -> dict[str, Any]:
    return {
        "label": definition.label,
        "field_type": definition.field_type,
        "choices": "\n".join(definition.choices),
        "required": definition.required,
        "help_text": definition.help_text,
        "position": definition.position,
        "version": definition.version,
    }


@login_required
def custom_field_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Action.CHANGE, CustomFieldDefinition)
    filterset = custom_fields.CustomFieldDefinitionFilterSet(
        request.GET, queryset=custom_fields.visible_definitions(request.user, Action.CHANGE)
    )
    rows = list(filterset.qs.order_by("target", "-is_active", "position", "id"))
    groups = [
        {
            "target": value,
            "label": label,
            "fields": [row for row in rows if row.target == value],
        }
        for value, label in CustomFieldTarget.choices
        if filterset.form.cleaned_data.get("target") in (None, "", value)
    ]
    context = settings_context(
        request, TAB, filterset=filterset, groups=groups, can_manage_custom_fields=True
    )
    return render(request, "core/custom_field_list.html", context)


@login_required
def custom_field_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Action.ADD, CustomFieldDefinition)
    initial = {"target": request.GET.get("target", CustomFieldTarget.CONTACT)}
    form = NewCustomFieldForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("version", None)
        try:
            definition = services.define_custom_field(actor=signed_in(request), **data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                f"{definition.label} is added to every "
                f"{definition.get_target_display().lower()} record.",
            )
            return redirect(f"{_list_url()}?target={definition.target}")
    context = settings_context(request, TAB, form=form, can_manage_custom_fields=True)
    return render(request, "core/custom_field_form.html", context)


@login_required
def custom_field_edit(request: HttpRequest, field_id: int) -> HttpResponse:
    require(request.user, Action.CHANGE, CustomFieldDefinition)
    definition = get_object_or_404(
        custom_fields.visible_definitions(request.user, Action.CHANGE), pk=field_id
    )
    form = CustomFieldForm(request.POST or None, initial=_form_initial(definition))
    if request.method == "POST" and form.is_valid():
        changes = dict(form.cleaned_data)
        expected = changes.pop("version")
        try:
            services.change_custom_field(
                actor=signed_in(request),
                definition=definition,
                changes=changes,
                expected_version=expected,
            )
        except (ValidationError, ConflictError) as error:
            definition.refresh_from_db()  # the heading and history show what is saved
            apply_errors(form, error)
        else:
            messages.success(request, f"{definition.label} is saved.")
            return redirect(f"{_list_url()}?target={definition.target}")
    context = settings_context(
        request,
        TAB,
        form=form,
        definition=definition,
        history=_history(definition),
        can_manage_custom_fields=True,
        can_retire=can(request.user, Action.DELETE, definition),
    )
    return render(request, "core/custom_field_form.html", context)


@login_required
def custom_field_retire(request: HttpRequest, field_id: int) -> HttpResponse:
    return _switch(request, field_id, retire=True)


@login_required
def custom_field_reactivate(request: HttpRequest, field_id: int) -> HttpResponse:
    return _switch(request, field_id, retire=False)


def _switch(request: HttpRequest, field_id: int, *, retire: bool) -> HttpResponse:
    # Permission first, so that whoever may not learns nothing more (not even 405).
    require(request.user, Action.DELETE, CustomFieldDefinition)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    definition = get_object_or_404(
        custom_fields.visible_definitions(request.user, Action.DELETE), pk=field_id
    )
    verb = services.retire_custom_field if retire else services.reactivate_custom_field
    try:
        verb(
            actor=signed_in(request),
            definition=definition,
            expected_version=_posted_version(request),
        )
    except ConflictError as error:
        messages.error(request, str(error))
        return redirect("settings:custom-field", field_id=definition.pk)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("settings:custom-field", field_id=definition.pk)
    if retire:
        done = "is retired: it is hidden from forms, lists and filters; records keep their values."
    else:
        done = "is active again, with the values records kept."
    messages.success(request, f"{definition.label} {done}")
    return redirect(f"{_list_url()}?target={definition.target}")


def _posted_version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


def _list_url() -> str:
    return reverse("settings:custom-fields")


def _history(definition: CustomFieldDefinition) -> list[audit.HistoryEntry]:
    """The field's audit entries with values as people read them (choices as a list)."""
    found = audit.entries(definition.history, what="custom field", limit=HISTORY_ENTRIES)
    for entry in found:
        for change in entry.fields:
            change.old, change.new = _shown(change.old), _shown(change.new)
    return found


def _shown(value: Any) -> str:
    if value is None or value in ("", []):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(TYPE_LABELS.get(value, value)) if isinstance(value, str) else str(value)
