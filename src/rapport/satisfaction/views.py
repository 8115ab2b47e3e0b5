"""Survey pages for staff (lists, forms, report, invite) and the public answer page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.csp import CSP
from django.views.decorators.cache import never_cache
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_POST

from rapport.catalog.views import errors_into, message_of
from rapport.core.htmx import render_page_or_partial
from rapport.core.lists import ListSpec, build_list, count_rows, csv_response, filtered_rows
from rapport.core.permissions import Action, can, require
from rapport.core.services import ConflictError
from rapport.customers import queries as customer_queries
from rapport.customers.filtersets import ContactFilterSet
from rapport.satisfaction import charts, links, queries, report, services, tables
from rapport.satisfaction.filtersets import (
    InvitationFilterSet,
    ResponseFilterSet,
    SurveyFilterSet,
)
from rapport.satisfaction.forms import AnswerForm, InviteForm, SurveyForm
from rapport.satisfaction.models import Response, Survey, SurveyInvitation
from rapport.users.models import signed_in

MAX_INVITE = 5000  # contacts per manual invitation run

# Plotly draws its charts with inline styles; scripts stay nonce-only (docs/adr/0002).
CHART_CSP: dict[str, Any] = {**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]}

LISTS: dict[str, dict[str, Any]] = {
    "surveys": {
        "model": Survey,
        "spec": tables.SURVEYS,
        "rows": queries.surveys,
        "filterset": SurveyFilterSet,
        "page": {"title": "Surveys", "list_url": "satisfaction:surveys",
                 "count_url": "satisfaction:survey-count",
                 "export_url": "satisfaction:survey-export",
                 "new_url": "satisfaction:survey-new", "new_label": "New survey"},
    },
    "invitations": {
        "model": SurveyInvitation,
        "spec": tables.INVITATIONS,
        "rows": queries.invitations,
        "filterset": InvitationFilterSet,
        "page": {"title": "Survey invitations", "list_url": "satisfaction:invitations",
                 "count_url": "satisfaction:invitation-count",
                 "export_url": "satisfaction:invitation-export",
                 "new_url": "satisfaction:invite", "new_label": "Invite contacts",
                 "resend": True},
    },
    "responses": {
        "model": Response,
        "spec": tables.RESPONSES,
        "rows": queries.responses,
        "filterset": ResponseFilterSet,
        "page": {"title": "Survey answers", "list_url": "satisfaction:responses",
                 "count_url": "satisfaction:response-count",
                 "export_url": "satisfaction:response-export",
                 "new_url": "", "new_label": ""},
    },
}  # fmt: skip
LINKS = [
    ("satisfaction:surveys", "Surveys"),
    ("satisfaction:invitations", "Invitations"),
    ("satisfaction:responses", "Answers"),
]


def _list(request: HttpRequest, name: str) -> HttpResponse:
    user = signed_in(request)
    config = LISTS[name]
    require(user, Action.VIEW, config["model"])
    spec: ListSpec = config["spec"]
    state = build_list(request, spec, config["rows"](user), config["filterset"])
    context = {
        "page": config["page"],
        "list": state,
        "can_add": can(user, Action.ADD, config["model"]),
        "can_export": can(user, Action.EXPORT, config["model"]),
        "may_resend": can(user, Action.CHANGE, SurveyInvitation),
        "extra_links": [link for link in LINKS if link[0] != config["page"]["list_url"]],
    }
    return render_page_or_partial(request, "satisfaction/list.html", context, partial="results")


def _count(request: HttpRequest, name: str) -> HttpResponse:
    user = signed_in(request)
    config = LISTS[name]
    require(user, Action.VIEW, config["model"])
    total = count_rows(request, config["rows"](user), config["filterset"])
    return HttpResponse(
        "—" if total is None else f"{total:,} {'match' if total == 1 else 'matches'}"
    )


def _export(request: HttpRequest, name: str) -> HttpResponseBase:
    user = signed_in(request)
    config = LISTS[name]
    require(user, Action.EXPORT, config["model"])
    rows = config["rows"](user, Action.EXPORT)
    state = build_list(request, config["spec"], rows, config["filterset"])
    try:
        chosen = filtered_rows(request, config["spec"], rows, config["filterset"])
    except ValidationError:
        messages.error(request, "Fix the filters before exporting.")
        return redirect(config["page"]["list_url"])
    return csv_response(f"{config['spec'].key}.csv", state.columns, chosen)


@login_required
def survey_list(request: HttpRequest) -> HttpResponse:
    return _list(request, "surveys")


@login_required
def survey_count(request: HttpRequest) -> HttpResponse:
    return _count(request, "surveys")


@login_required
def survey_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "surveys")


@login_required
def invitation_list(request: HttpRequest) -> HttpResponse:
    return _list(request, "invitations")


@login_required
def invitation_count(request: HttpRequest) -> HttpResponse:
    return _count(request, "invitations")


@login_required
def invitation_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "invitations")


@login_required
def response_list(request: HttpRequest) -> HttpResponse:
    return _list(request, "responses")


@login_required
def response_count(request: HttpRequest) -> HttpResponse:
    return _count(request, "responses")


@login_required
def response_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, "responses")


# --- surveys ---------------------------------------------------------------------------


def _survey_data(form: SurveyForm) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data.pop("kind", None)
    return data


@login_required
def survey_new(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.ADD, Survey)
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            survey = services.create_survey(
                user, services.SurveyInput(kind=form.cleaned_data["kind"], **_survey_data(form))
            )
        except ValidationError as error:
            errors_into(form, error)
        else:
            messages.success(request, f"Survey {survey} created.")
            return redirect(survey)
    return render(request, "satisfaction/survey_form.html", {"form": form, "survey": None})


@login_required
def survey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    survey = get_object_or_404(queries.surveys(user), pk=pk)
    require(user, Action.CHANGE, survey)
    initial = {name: getattr(survey, name) for name in SurveyForm.base_fields}
    form = SurveyForm(request.POST or None, initial=initial, survey=survey)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_survey(
                user,
                survey,
                _survey_data(form),
                expected_version=_version(request),
            )
        except ConflictError as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            errors_into(form, error)
        else:
            messages.success(request, f"Survey {survey} saved.")
            return redirect(survey)
    context = {"form": form, "survey": survey}
    return render(request, "satisfaction/survey_form.html", context)


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


@login_required
@csp_override(CHART_CSP)
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The report: score over time, distribution, comments, invitations by status."""
    user = signed_in(request)
    survey = get_object_or_404(queries.surveys(user), pk=pk)
    data = report.build(user, survey)
    context = {
        "survey": survey,
        "report": data,
        "charts": charts.figures(data),
        "may_change": can(user, Action.CHANGE, survey),
        "may_delete": can(user, Action.DELETE, survey),
        "may_invite": can(user, Action.ADD, SurveyInvitation) and survey.is_active,
        "may_see_answers": can(user, Action.VIEW, Response),
    }
    return render(request, "satisfaction/survey_detail.html", context)


@login_required
@require_POST
def survey_trash(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    survey = get_object_or_404(queries.surveys(user), pk=pk)
    try:
        services.trash_survey(user, survey, expected_version=_version(request))
    except (ValidationError, ConflictError) as error:
        messages.error(request, str(error))
        return redirect(survey)
    messages.success(request, f"Survey {survey} moved to the trash.")
    return redirect("satisfaction:surveys")


# --- invitations -----------------------------------------------------------------------


@login_required
def invite(request: HttpRequest) -> HttpResponse:
    """Invite contacts by id or by a contact-list filter (what the contact list shows)."""
    user = signed_in(request)
    require(user, Action.ADD, SurveyInvitation)
    surveys = queries.surveys(user).filter(is_active=True).order_by("name", "id")
    initial = {"survey": request.GET.get("survey"), "contact_ids": request.GET.get("contact", "")}
    form = InviteForm(request.POST or None, surveys=surveys, initial=initial)
    result = None
    if request.method == "POST" and form.is_valid():
        contacts = _chosen_contacts(request, form)
        if contacts is not None:
            try:
                result = services.invite(user, form.cleaned_data["survey"], contacts)
            except ValidationError as error:
                errors_into(form, error)
            else:
                messages.success(
                    request,
                    f"{len(result.invited)} invited, {len(result.skipped)} skipped. "
                    "The e-mails go out in the background.",
                )
    return render(request, "satisfaction/invite.html", {"form": form, "result": result})


def _chosen_contacts(request: HttpRequest, form: InviteForm) -> list[Any] | None:
    user = signed_in(request)
    visible = customer_queries.contacts(user)
    ids: list[int] = form.cleaned_data["contact_ids"]
    if ids:
        found = list(visible.filter(pk__in=ids)[: MAX_INVITE + 1])
        missing = sorted(set(ids) - {contact.pk for contact in found})
        if missing:
            form.add_error(
                "contact_ids", f"No contact with id {', '.join(map(str, missing[:10]))}."
            )
            return None
        return found
    filters = ContactFilterSet(
        QueryDict(form.cleaned_data["contact_filter"].strip().lstrip("?")),
        queryset=visible,
        request=request,
    )
    if not filters.is_valid():
        form.add_error("contact_filter", f"Not a valid contact filter: {filters.errors.as_text()}")
        return None
    found = list(filters.qs.order_by("pk")[: MAX_INVITE + 1])
    if len(found) > MAX_INVITE:
        form.add_error("contact_filter", f"More than {MAX_INVITE} contacts; narrow the filter.")
        return None
    if not found:
        form.add_error("contact_filter", "No contact matches this filter.")
        return None
    return found


@login_required
@require_POST
def invitation_resend(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    invitation = get_object_or_404(queries.invitations(user), pk=pk)
    try:
        services.resend(user, invitation)
    except ValidationError as error:
        messages.error(request, message_of(error))
    else:
        messages.success(request, f"{invitation} is queued again.")
    return redirect("satisfaction:invitations")


@login_required
@require_POST
def mark_evangelist(request: HttpRequest, contact_id: int) -> HttpResponse:
    user = signed_in(request)
    contact = get_object_or_404(customer_queries.contacts(user), pk=contact_id)
    try:
        services.mark_evangelist(user, contact)
    except ValidationError as error:
        messages.error(request, message_of(error))
    else:
        messages.success(request, f"{contact} is now an evangelist.")
    return redirect("customers:contact", contact.pk)


# --- the public page -------------------------------------------------------------------


@never_cache
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """The customer's page: nothing but the survey, a greeting by first name, and thanks."""
    try:
        invitation = services.open_invitation(token)
    except services.AlreadyAnsweredError:
        # Opening the link again is fine; sending a second answer is a conflict.
        return _public(request, "answered", status=409 if request.method == "POST" else 200)
    except links.LinkError as error:
        state, status = ("expired", 410) if error.expired else ("invalid", 404)
        return _public(request, state, status=status, message=str(error))
    survey = invitation.survey
    form = AnswerForm(request.POST or None, survey=survey)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.submit_answer(
                token,
                services.AnswerInput(
                    expectation=data.get("expectation"),
                    performance=data.get("performance"),
                    score=data.get("score"),
                    comment=data.get("comment") or "",
                ),
            )
        except services.AlreadyAnsweredError:
            return _public(request, "answered", status=409)
        except ValidationError as error:
            errors_into(form, error)
        else:
            return _public(request, "thanks")
    context = {
        "state": "open",
        "form": form,
        "title": survey.name,
        "intro": survey.intro,
        "first_name": invitation.contact.first_name,
    }
    return render(request, "satisfaction/answer.html", context, status=400 if form.errors else 200)


def _public(
    request: HttpRequest, state: str, *, status: int = 200, message: str = ""
) -> HttpResponse:
    return render(
        request, "satisfaction/answer.html", {"state": state, "message": message}, status=status
    )
