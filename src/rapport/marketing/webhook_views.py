"""Webhook pages (admins): endpoints, their delivery log, resend and test."""

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
from rapport.core.pagination import paginate
from rapport.core.permissions import Action, require
from rapport.core.services import ConflictError
from rapport.marketing import queries, webhooks
from rapport.marketing.choices import WEBHOOK_EVENTS, DeliveryStatus
from rapport.marketing.models import WebhookDelivery, WebhookEndpoint
from rapport.users.models import User, signed_in

PAGE_SIZE = 50
SHOWN_ONCE = "webhook-secret-{}"


class EndpointForm(forms.Form):
    url = forms.CharField(label="URL", max_length=500, help_text="https:// address to POST to")
    description = forms.CharField(required=False, max_length=200)
    enabled = forms.BooleanField(required=False, initial=True, label="Active")
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in WEBHOOK_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        help_text="The record events to send",
    )


def _endpoint(user: User, pk: int, action: Action = Action.VIEW) -> WebhookEndpoint:
    require(user, action, WebhookEndpoint)
    return get_object_or_404(queries.webhook_endpoints(user, action), pk=pk)


@login_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, WebhookEndpoint)
    context = {"endpoints": queries.webhook_endpoints(user), "events": WEBHOOK_EVENTS}
    return render(request, "marketing/webhook_list.html", context)


def _form_page(request: HttpRequest, user: User, endpoint: WebhookEndpoint | None) -> HttpResponse:
    if request.method == "POST":
        form = EndpointForm(request.POST)
        if form.is_valid():
            values = dict(form.cleaned_data)
            try:
                if endpoint is None:
                    endpoint = webhooks.create_endpoint(user, **values)
                    # Shown once, on the next page.
                    request.session[SHOWN_ONCE.format(endpoint.pk)] = endpoint.secret
                else:
                    webhooks.update_endpoint(
                        user,
                        endpoint,
                        values,
                        expected_version=int(request.POST.get("version") or 0) or None,
                    )
                messages.success(request, f"Saved webhook {endpoint}.")
                return redirect("marketing:webhook", endpoint.pk)
            except ConflictError as error:
                form.add_error(None, str(error))
            except ValidationError as error:
                errors_into(form, error)
    elif endpoint is not None:
        form = EndpointForm(
            initial={
                "url": endpoint.url,
                "description": endpoint.description,
                "enabled": endpoint.enabled,
                "events": endpoint.events,
            }
        )
    else:
        form = EndpointForm(initial={"enabled": True})
    return render(request, "marketing/webhook_form.html", {"form": form, "endpoint": endpoint})


@login_required
def webhook_new(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.ADD, WebhookEndpoint)
    return _form_page(request, user, None)


@login_required
def webhook_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    return _form_page(request, user, _endpoint(user, pk, Action.CHANGE))


@login_required
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    endpoint = _endpoint(user, pk)
    status = request.GET.get("status", "")
    if status not in DeliveryStatus.values:
        status = ""
    rows = queries.webhook_deliveries(user, endpoint, status=status)
    try:
        page = paginate(rows, ordering=["-id"], cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    except ValidationError:
        raise Http404("This page of the log no longer exists.") from None
    context = {
        "endpoint": endpoint,
        "page": page,
        "status": status,
        "statuses": DeliveryStatus.choices,
        "new_secret": request.session.pop(SHOWN_ONCE.format(endpoint.pk), None),
    }
    return render(request, "marketing/webhook_detail.html", context)


@login_required
@require_POST
def webhook_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    user = signed_in(request)
    action = Action.DELETE if verb == "trash" else Action.CHANGE
    endpoint = _endpoint(user, pk, action)
    try:
        if verb == "trash":
            webhooks.trash_endpoint(user, endpoint)
            messages.success(request, f"Webhook {endpoint} is in the trash.")
            return redirect("marketing:webhooks")
        if verb == "test":
            ping = webhooks.send_test(user, endpoint)
            if ping.status == DeliveryStatus.SUCCEEDED:
                messages.success(request, f"Test ping delivered ({ping.response_status}).")
            else:
                messages.error(request, f"Test ping failed: {ping.error}")
        elif verb == "rotate":
            request.session[SHOWN_ONCE.format(endpoint.pk)] = webhooks.rotate_secret(user, endpoint)
            messages.success(request, "New secret made: update your receiver.")
        else:
            raise Http404("Unknown action.")
    except ValidationError as error:
        messages.error(request, message_of(error))
    return redirect("marketing:webhook", endpoint.pk)


@login_required
@require_POST
def delivery_resend(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.CHANGE, WebhookEndpoint)
    delivery: Any = get_object_or_404(
        WebhookDelivery.objects.select_related("endpoint").filter(
            endpoint__in=queries.webhook_endpoints(user, Action.CHANGE)
        ),
        pk=pk,
    )
    try:
        again = webhooks.resend(user, delivery)
        messages.success(request, f"Queued again as delivery {again.pk}.")
    except ValidationError as error:
        messages.error(request, message_of(error))
    return redirect("marketing:webhook", delivery.endpoint_id)
