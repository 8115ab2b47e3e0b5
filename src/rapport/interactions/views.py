"""Timeline pages: the panel's list (filter, load more), the composer, edit and delete in place.

htmx requests get one partial of ``interactions/_panel.html`` back; without
JavaScript the same URLs answer with a full page or a redirect.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from rapport.core.permissions import Action, can, require
from rapport.core.services import ConflictError
from rapport.customers import queries as customer_queries
from rapport.customers.models import Company, Contact
from rapport.interactions import panels, queries, services
from rapport.interactions.forms import InteractionForm, composer_for, edit_form_for
from rapport.interactions.models import Interaction
from rapport.users.models import User, signed_in

PANEL = "interactions/_panel.html"


def _customer(viewer: User, about: str, pk: int) -> Contact | Company:
    """The contact or company of the URL, 404 unless the viewer may see it."""
    rows: Any = (
        customer_queries.contacts(viewer)
        if about == "contact"
        else customer_queries.companies(viewer)
    )
    record: Contact | Company = get_object_or_404(rows, pk=pk)
    return record


def _customer_url(record: Contact | Company) -> str:
    name = "customers:contact" if isinstance(record, Contact) else "customers:company"
    return reverse(name, args=[record.pk])


def _panel_context(
    viewer: User, record: Contact | Company, composer: InteractionForm | None = None, **extra: Any
) -> dict[str, Any]:
    data = panels.panel_data(viewer, record) or {}
    if composer is not None:
        data["composer"] = composer
    return {"panel": {"data": data}, **extra}


@login_required
def timeline(request: HttpRequest, about: str, pk: int) -> HttpResponse:
    """A page of the timeline: the first for a kind filter, the next for a cursor."""
    viewer = signed_in(request)
    require(viewer, Action.VIEW, Interaction)
    record = _customer(viewer, about, pk)
    page = panels.timeline_page(viewer, record, request.GET)
    if request.htmx:  # type: ignore[attr-defined]
        partial = "page" if request.GET.get("cursor") else "items"
        return render(request, f"{PANEL}#{partial}", {"timeline": page, "record": record})
    context = _panel_context(viewer, record)
    context["panel"]["data"]["timeline"] = page
    context["record"] = record
    context["record_url"] = _customer_url(record)
    context["can_export"] = can(viewer, Action.EXPORT, Interaction)
    context["export_query"] = f"{about}={record.pk}"
    return render(request, "interactions/timeline.html", context)


@login_required
@require_POST
def log(request: HttpRequest, about: str, pk: int) -> HttpResponse:
    """The composer: log a call, meeting, e-mail, note or inquiry on this customer."""
    viewer = signed_in(request)
    record = _customer(viewer, about, pk)
    form = composer_for(viewer, record, request.POST)
    if form is None:
        raise PermissionDenied("Your role may not log touchpoints.")
    logged = None
    if form.is_valid():
        try:
            logged = services.log_interaction(viewer, form.touchpoint())
        except ValidationError as error:
            form.apply_errors(error)
        except PermissionDenied as error:
            form.add_error(None, str(error) or "Your role does not allow this.")
    if request.htmx:  # type: ignore[attr-defined]
        # Logged: the whole panel again with a fresh composer and the new row on top;
        # refused: the panel with the form as filled in and its errors (200, so htmx swaps it).
        composer = None if logged else form
        context = _panel_context(viewer, record, composer, composer_open=logged is None)
        return render(request, f"{PANEL}#panel", context)
    if logged is None:
        messages.error(request, " ".join(_texts(form)))
    else:
        messages.success(request, f"Logged: {logged.subject}")
    return redirect(_customer_url(record))


@login_required
def entry(request: HttpRequest, pk: int) -> HttpResponse:
    """One row as the timeline shows it (what "Cancel" of an edit swaps back in)."""
    viewer = signed_in(request)
    interaction = get_object_or_404(queries.interactions(viewer), pk=pk)
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect(_customer_url(_about(interaction)))
    return render(request, f"{PANEL}#entry", {"entry": _entry(request, viewer, interaction)})


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a logged touchpoint in place; a stale version is a conflict, not an overwrite."""
    viewer = signed_in(request)
    interaction = get_object_or_404(queries.interactions(viewer), pk=pk)
    require(viewer, Action.CHANGE, interaction)
    form = edit_form_for(viewer, interaction, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_interaction(
                viewer,
                interaction,
                form.changes(),
                expected_version=form.cleaned_data["version"],
            )
        except ConflictError as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            form.apply_errors(error)
        else:
            if request.htmx:  # type: ignore[attr-defined]
                fresh = queries.interactions(viewer).get(pk=pk)
                entry = _entry(request, viewer, fresh)
                return render(request, f"{PANEL}#entry", {"entry": entry})
            messages.success(request, "Saved.")
            return redirect(_customer_url(_about(interaction)))
    # Errors answer 200 so that htmx swaps the form with its messages in.
    context: dict[str, Any] = {
        "form": form,
        "interaction": interaction,
        "on": request.GET.get("on", ""),
        "back": _customer_url(_about(interaction)),
    }
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, f"{PANEL}#edit-form", context)
    return render(request, "interactions/edit.html", context)


@login_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a touchpoint to the trash; htmx removes its row."""
    viewer = signed_in(request)
    interaction = get_object_or_404(queries.interactions(viewer), pk=pk)
    about = _about(interaction)
    try:
        services.delete_interaction(viewer, interaction)
    except ConflictError as error:
        if request.htmx:  # type: ignore[attr-defined]
            return HttpResponse(str(error), status=409)
        messages.error(request, str(error))
        return redirect(_customer_url(about))
    if request.htmx:  # type: ignore[attr-defined]
        return HttpResponse("")
    messages.success(request, f"Deleted: {interaction.subject}")
    return redirect(_customer_url(about))


def _entry(request: HttpRequest, viewer: User, interaction: Interaction) -> panels.Entry:
    on_company = request.GET.get("on") == "company"
    return panels.entries(viewer, [interaction], on_company=on_company)[0]


def _about(interaction: Interaction) -> Contact | Company:
    about = interaction.contact or interaction.company
    assert about is not None  # the model's check constraint
    return about


def _texts(form: InteractionForm) -> list[str]:
    return [
        str(message) if name == "__all__" else f"{form.fields[name].label or name}: {message}"
        for name, errors in form.errors.items()
        for message in errors
    ]
