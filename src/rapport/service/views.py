"""Service desk pages: queues, ticket detail with the conversation, forms, SLA setup."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from rapport.catalog.views import errors_into, message_of
from rapport.core import audit
from rapport.core.htmx import render_page_or_partial
from rapport.core.lists import build_list, count_rows, csv_response, filtered_rows
from rapport.core.permissions import Action, can, require
from rapport.core.services import ConflictError
from rapport.customers import queries as customer_queries
from rapport.service import queries, services, tables
from rapport.service.choices import TRANSITIONS, TicketStatus
from rapport.service.filtersets import QUEUES, TicketFilterSet
from rapport.service.forms import CalendarForm, ComposerForm, HolidayForm, PolicyForm, TicketForm
from rapport.service.models import (
    Attachment,
    BusinessCalendar,
    InboundMail,
    SlaPolicy,
    Ticket,
    TicketMessage,
)
from rapport.service.permissions import may
from rapport.service.sla import Clock
from rapport.trading import queries as trading_queries
from rapport.users.models import Team, User, signed_in

TICKET_FIELDS = ("subject", "description", "priority", "channel")


@login_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, Ticket)
    state = build_list(request, tables.TICKETS, queries.tickets(user), TicketFilterSet)
    context = {
        "list": state,
        "queues": QUEUES,
        "queue": request.GET.get("queue", ""),
        "can_add": can(user, Action.ADD, Ticket),
        "can_export": can(user, Action.EXPORT, Ticket),
        "alerts": list(queries.alerts_for(user)[:10]),
    }
    return render_page_or_partial(request, "service/ticket_list.html", context, partial="results")


@login_required
def ticket_count(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, Ticket)
    total = count_rows(request, queries.tickets(user), TicketFilterSet)
    return HttpResponse(
        "—" if total is None else f"{total:,} {'match' if total == 1 else 'matches'}"
    )


@login_required
def ticket_export(request: HttpRequest) -> HttpResponseBase:
    user = signed_in(request)
    require(user, Action.EXPORT, Ticket)
    rows = queries.tickets(user, Action.EXPORT)
    state = build_list(request, tables.TICKETS, rows, TicketFilterSet)
    try:
        chosen = filtered_rows(request, tables.TICKETS, rows, TicketFilterSet)
    except ValidationError:
        messages.error(request, "Fix the filters before exporting.")
        return redirect("service:tickets")
    return csv_response("tickets.csv", state.columns, chosen)


def _lookups(user: User, data: dict[str, Any]) -> dict[str, Any]:
    """Ids from the form → records the user may see (or a field error)."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, rows in (
        ("contact", customer_queries.contacts(user)),
        ("company", customer_queries.companies(user)),
        ("asset", trading_queries.assets(user)),
    ):
        pk = data.get(name)
        if pk is None:
            values[name] = None
            continue
        values[name] = rows.filter(pk=pk).first()
        if values[name] is None:
            errors[name] = [f"No {name} {pk} that you may see."]
    pk = data.get("assignee")
    values["assignee"] = User.objects.filter(pk=pk).first() if pk else None
    pk = data.get("team")
    values["team"] = Team.objects.filter(pk=pk).first() if pk else None
    if errors:
        raise ValidationError(errors)
    return values


@login_required
def ticket_new(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.ADD, Ticket)
    if request.method == "POST":
        form = TicketForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ticket = services.open_ticket(
                    user,
                    services.TicketInput(
                        **{name: data[name] for name in TICKET_FIELDS}, **_lookups(user, data)
                    ),
                )
            except ValidationError as error:
                errors_into(form, error)
            except PermissionDenied as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Ticket {ticket.reference} opened.")
                return redirect("service:ticket", ticket.pk)
    else:
        initial = {k: request.GET[k] for k in ("contact", "company", "asset") if k in request.GET}
        form = TicketForm(initial={**initial, "assignee": user.pk})
    return render(request, "service/ticket_form.html", {"form": form, "ticket": None})


@login_required
def ticket_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    ticket = get_object_or_404(queries.ticket_detail(user), pk=pk)
    if not may(user, Action.CHANGE, ticket):
        raise PermissionDenied("You may not change this ticket.")
    if request.method == "POST":
        form = TicketForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                changes = {name: data[name] for name in TICKET_FIELDS}
                changes.update(_lookups(user, data))
                changes = {k: v for k, v in changes.items() if getattr(ticket, k) != v}
                services.update_ticket(user, ticket, changes, expected_version=data["version"])
            except ConflictError as error:
                form.add_error(None, str(error))
            except ValidationError as error:
                errors_into(form, error)
            except PermissionDenied as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Ticket {ticket.reference} saved.")
                return redirect("service:ticket", ticket.pk)
    else:
        form = TicketForm(
            initial={
                **{name: getattr(ticket, name) for name in TICKET_FIELDS},
                "contact": ticket.contact_id,
                "company": ticket.company_id,
                "asset": ticket.asset_id,
                "assignee": ticket.assignee_id,
                "team": ticket.team_id,
                "version": ticket.version,
            }
        )
    return render(request, "service/ticket_form.html", {"form": form, "ticket": ticket})


def clocks(ticket: Ticket) -> list[dict[str, Any]]:
    """The SLA clocks shown on a ticket: due time and state of each target."""
    if ticket.sla_policy is None:
        return []
    now = timezone.now()
    warning = dt.timedelta(minutes=ticket.sla_policy.warning_minutes)
    paused = ticket.status == TicketStatus.PENDING_CUSTOMER
    done = (
        ticket.resolved_at
        if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        else None
    )
    return [
        {
            "label": "First response",
            "due": ticket.first_response_due,
            "state": Clock(ticket.first_response_due, ticket.first_response_at).state(now, warning),
        },
        {
            "label": "Resolution",
            "due": ticket.resolution_due,
            "state": Clock(ticket.resolution_due, done, paused=paused and done is None).state(
                now, warning
            ),
        },
    ]


def _detail_context(
    user: User, ticket: Ticket, composer: ComposerForm | None = None
) -> dict[str, Any]:
    may_change = may(user, Action.CHANGE, ticket)
    return {
        "ticket": ticket,
        "conversation": list(ticket.messages.all()),
        "clocks": clocks(ticket),
        "may_change": may_change,
        "may_delete": may(user, Action.DELETE, ticket),
        "composer": composer or ComposerForm(),
        "next_statuses": [
            (status, TicketStatus(status).label)
            for status in TicketStatus.values
            if status in TRANSITIONS[ticket.status]
        ],
        "history": audit.entries(ticket.history, what="Ticket"),
    }


@login_required
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    ticket = get_object_or_404(queries.ticket_detail(user), pk=pk)
    return render(request, "service/ticket_detail.html", _detail_context(user, ticket))


@login_required
@require_POST
def ticket_compose(request: HttpRequest, pk: int) -> HttpResponse:
    """The composer (htmx): a reply or note, answered with the refreshed conversation."""
    user = signed_in(request)
    ticket = get_object_or_404(queries.ticket_detail(user), pk=pk)
    form = ComposerForm(request.POST)
    if form.is_valid():
        try:
            if form.cleaned_data["kind"] == "note":
                services.add_note(user, ticket, form.cleaned_data["body"])
            else:
                services.reply(user, ticket, form.cleaned_data["body"])
        except ValidationError as error:
            errors_into(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error) or "Your role does not allow this.")
        else:
            form = ComposerForm()
    fresh = get_object_or_404(queries.ticket_detail(user), pk=pk)
    context = _detail_context(user, fresh, form)
    if not getattr(request, "htmx", False):
        if not form.errors:
            return redirect("service:ticket", pk)
        return render(request, "service/ticket_detail.html", context, status=400)
    return render(
        request,
        "service/ticket_detail.html#conversation",
        context,
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def ticket_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    user = signed_in(request)
    ticket = get_object_or_404(queries.ticket_detail(user), pk=pk)
    post = request.POST
    version = int(post["version"]) if post.get("version", "").isdigit() else None
    try:
        if verb == "status":
            services.change_status(user, ticket, post.get("status", ""), expected_version=version)
            done = f"Ticket {ticket.reference} is {ticket.get_status_display().lower()}."
        elif verb == "take":
            services.assign(user, ticket, user, expected_version=version)
            done = f"Ticket {ticket.reference} is yours."
        elif verb == "retry":
            message = get_object_or_404(TicketMessage, pk=post.get("message"), ticket=ticket)
            message.ticket = ticket
            services.retry_reply(user, message)
            done = "The reply will be sent again."
        elif verb == "trash":
            services.trash_ticket(user, ticket, expected_version=version)
            messages.success(request, f"Ticket {ticket.reference} is in the trash.")
            return redirect("service:tickets")
        else:
            raise ValidationError(f"Unknown action {verb!r}.")
    except ConflictError as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, message_of(error))
    except PermissionDenied as error:
        messages.error(request, str(error) or "Your role does not allow this.")
    else:
        messages.success(request, done)
    return redirect("service:ticket", ticket.pk)


def _save_setup(user: User, which: str, data: dict[str, Any], post: Any) -> None:
    if which == "calendar":
        services.create_calendar(user, **data)
    elif which == "holiday":
        calendar = get_object_or_404(queries.calendars(user), pk=post.get("calendar"))
        services.add_holiday(user, calendar, data["date"], data["name"])
    elif which == "policy":
        calendar = get_object_or_404(queries.calendars(user), pk=data["calendar"])
        values = {**data, "calendar": calendar}
        existing = queries.policies(user).filter(priority=data["priority"]).first()
        if existing is None:
            services.create_sla_policy(user, **values)
        else:
            services.update_sla_policy(user, existing, values)


@login_required
@require_POST
def alerts_seen(request: HttpRequest) -> HttpResponse:
    """Dismiss the viewer's SLA alerts shown on the ticket list."""
    user = signed_in(request)
    ids = [int(pk) for pk in request.POST.getlist("alert") if pk.isdigit()]
    services.mark_alerts_seen(user, ids)
    return redirect("service:tickets")


def _sla_forms(
    calendars: list[BusinessCalendar], data: Any = None, which: str = ""
) -> dict[str, Any]:
    choices = [(c.pk, c.name) for c in calendars]
    return {
        "calendar_form": CalendarForm(data if which == "calendar" else None),
        "holiday_form": HolidayForm(data if which == "holiday" else None),
        "policy_form": PolicyForm(data if which == "policy" else None, calendars=choices),
    }


@login_required
def sla_setup(request: HttpRequest) -> HttpResponse:
    """Calendars and policies: everyone reads them; admins add and change them here."""
    user = signed_in(request)
    require(user, Action.VIEW, SlaPolicy)
    calendars = list(queries.calendars(user))
    which = request.POST.get("form", "") if request.method == "POST" else ""
    forms_ = _sla_forms(calendars, request.POST, which)
    if which:
        require(user, Action.CHANGE, SlaPolicy)
        form = forms_.get(f"{which}_form")
        if form is not None and form.is_valid():
            try:
                _save_setup(user, which, form.cleaned_data, request.POST)
            except ValidationError as error:
                errors_into(form, error)
            else:
                messages.success(request, "Saved.")
                return redirect("service:sla")
    context = {
        **forms_,
        "may_change": can(user, Action.CHANGE, SlaPolicy),
        "calendars": calendars,
        "policies": list(queries.policies(user)),
        "problems": list(queries.inbox_problems(user)[:50])
        if can(user, Action.VIEW, InboundMail)
        else [],
    }
    return render(request, "service/sla.html", context)


@login_required
def attachment_download(request: HttpRequest, pk: int, attachment_id: int) -> FileResponse:
    """Attachments are served only to those who may see their ticket (never from /media/)."""
    user = signed_in(request)
    ticket = get_object_or_404(queries.tickets(user), pk=pk)
    attachment = get_object_or_404(Attachment, pk=attachment_id, message__ticket=ticket)
    return FileResponse(
        attachment.file.open("rb"), as_attachment=True, filename=attachment.filename
    )


@login_required
def inbound_raw(request: HttpRequest, pk: int) -> FileResponse:
    user = signed_in(request)
    require(user, Action.VIEW, InboundMail)
    mail = get_object_or_404(InboundMail, pk=pk)
    return FileResponse(
        mail.raw.open("rb"), as_attachment=True, filename=f"inbound-{mail.pk}.eml",
        content_type="message/rfc822",
    )  # fmt: skip
