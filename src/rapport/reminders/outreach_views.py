"""Customer reminders: the staff list with "retry now"; the admins' e-mails in Settings."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from rapport.core import audit
from rapport.core.htmx import render_page_or_partial
from rapport.core.lists import build_list
from rapport.core.permissions import Action, can, require
from rapport.core.services import ConflictError
from rapport.reminders import outreach, outreach_queries, outreach_tables
from rapport.reminders.models import ReminderTemplate, ServiceReminder
from rapport.reminders.outreach_choices import ReminderKind, ReminderStatus
from rapport.reminders.outreach_filtersets import ReminderFilterSet
from rapport.users.forms import VersionedForm
from rapport.users.models import signed_in
from rapport.users.views import apply_errors, settings_context

SETTINGS_TAB = "reminder-emails"
HISTORY_ENTRIES = 20


# --- the reminder list ----------------------------------------------------------------


@login_required
def reminder_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, ServiceReminder)
    state = build_list(
        request, outreach_tables.REMINDERS, outreach_queries.reminders(user), ReminderFilterSet
    )
    context = {
        "list": state,
        "may_retry": can(user, Action.CHANGE, ServiceReminder),
        "failed": ReminderStatus.FAILED,
    }
    return render_page_or_partial(
        request, "reminders/outreach/list.html", context, partial="results"
    )


@login_required
@require_POST
def reminder_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Retry a failed reminder now (admins and managers), back to the list as it was."""
    user = signed_in(request)
    reminder = get_object_or_404(outreach_queries.reminders(user), pk=pk)
    try:
        outreach.retry_now(user, reminder)  # PermissionDenied (403) for other roles
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Retrying now: {reminder}.")
    return redirect(_back(request))


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return str(target)
    return reverse("reminders:service-reminders")


# --- Settings → Reminder e-mails (admins) --------------------------------------------


class ReminderTemplateForm(VersionedForm):
    subject = forms.CharField(max_length=300, help_text="Django template syntax, one line.")
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14}),
        label="Text",
        help_text="Plain text in Django template syntax, e.g. {{ contact.first_name }}.",
    )
    booking_url = forms.CharField(
        max_length=500, required=False, label="Booking link", help_text="https://…"
    )
    booking_phone = forms.CharField(max_length=60, required=False, label="Booking phone")


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.CHANGE, ReminderTemplate)
    context = settings_context(
        request,
        SETTINGS_TAB,
        templates=outreach.templates_in_use(),
        days_ahead=settings.SERVICE_REMINDER_DAYS_AHEAD,
    )
    return render(request, "reminders/outreach/template_list.html", context)


@login_required
def template_edit(request: HttpRequest, kind: str) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.CHANGE, ReminderTemplate)
    if kind not in ReminderKind.values:
        raise Http404("No such reminder e-mail.")
    template = outreach.template_for(kind)
    initial = {
        "subject": template.subject,
        "body": template.body,
        "booking_url": template.booking_url,
        "booking_phone": template.booking_phone,
        "version": template.version,
    }
    form = ReminderTemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        expected = data.pop("version")
        try:
            outreach.update_template(
                user, template, outreach.TemplateInput(**data), expected_version=expected
            )
        except (ValidationError, ConflictError) as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Saved: {template}.")
            return redirect("settings:reminder-email", kind)
    subject, body = outreach.preview(template)
    context = settings_context(
        request,
        SETTINGS_TAB,
        template=template,
        form=form,
        preview_subject=subject,
        preview_body=body,
        context_names=outreach.CONTEXT_NAMES,
        planned=kind in outreach.SOURCES,
        history=audit.entries(template.history, what="E-mail", limit=HISTORY_ENTRIES),
    )
    return render(request, "reminders/outreach/template_form.html", context)
