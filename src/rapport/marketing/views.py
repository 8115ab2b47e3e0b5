"""Segment and campaign pages: lists, rule editor with live count, members, preview, sending."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.csp import CSP
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_POST

from rapport.catalog.views import errors_into, message_of
from rapport.core.lists import Column, csv_response
from rapport.core.pagination import paginate
from rapport.core.permissions import Action, can, require
from rapport.core.services import ConflictError
from rapport.customers import queries as customer_queries
from rapport.customers.models import Contact
from rapport.marketing import editor, mailing, queries, rules, services
from rapport.marketing.choices import EDITABLE_CAMPAIGN_STATUSES, CampaignStatus, SegmentKind
from rapport.marketing.forms import (
    AddMembersForm,
    CampaignForm,
    ScheduleForm,
    SegmentForm,
    TestSendForm,
)
from rapport.marketing.models import Campaign, Segment
from rapport.users.models import User, signed_in

PAGE_SIZE = 50
MEMBER_COLUMNS = [
    Column("full_name", "Name"),
    Column("email", "E-mail"),
    Column("lifecycle_stage", "Stage", value=lambda row: row.get_lifecycle_stage_display()),
    Column("owner", "Owner", value=lambda row: row.owner.full_name if row.owner else ""),
]


def _segment(user: User, pk: int, action: Action = Action.VIEW) -> Segment:
    require(user, action, Segment)
    return get_object_or_404(queries.segments(user, action), pk=pk)


def _campaign(user: User, pk: int, action: Action = Action.VIEW) -> Campaign:
    require(user, action, Campaign)
    return get_object_or_404(queries.campaigns(user, action), pk=pk)


def _page(request: HttpRequest, rows: Any, ordering: list[str]) -> Any:
    try:
        return paginate(rows, ordering=ordering, cursor=request.GET.get("cursor"), limit=PAGE_SIZE)
    except ValidationError:
        raise Http404("This page of the list no longer exists.") from None


# --- segments -------------------------------------------------------------------------


@login_required
def segment_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, Segment)
    page = _page(request, queries.segments(user).select_related("owner"), ["name"])
    return render(
        request,
        "marketing/segment_list.html",
        {"page": page, "can_add": can(user, Action.ADD, Segment)},
    )


def _editor_context(tree: dict[str, Any], user: User) -> dict[str, Any]:
    """The editor drawn for ``tree`` with its live count (or why it cannot count yet)."""
    try:
        cleaned = rules.validate(tree)
    except ValidationError as error:
        return {"root": editor.for_display(tree), "count": None, "problems": error.messages}
    count = queries.contacts_matching(user, cleaned).count()
    return {"root": editor.for_display(tree), "count": count, "problems": []}


def _segment_form(segment: Segment | None, data: Any, initial: dict[str, Any]) -> SegmentForm:
    form = SegmentForm(data, initial=initial)
    # The kind of a segment never changes: its rules or its members would lose their meaning.
    form.fields["kind"].disabled = segment is not None
    return form


def _segment_form_page(request: HttpRequest, user: User, segment: Segment | None) -> HttpResponse:
    initial = (
        {"name": segment.name, "description": segment.description, "kind": segment.kind}
        if segment
        else {}
    )
    if request.method == "POST":
        form = _segment_form(segment, request.POST, initial)
        tree = editor.from_form(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            kind = segment.kind if segment else data["kind"]
            rules_tree = tree if kind == SegmentKind.DYNAMIC else rules.empty_tree()
            try:
                if segment is None:
                    segment = services.create_segment(
                        user,
                        name=data["name"],
                        description=data["description"],
                        kind=kind,
                        rules_tree=rules_tree,
                    )
                else:
                    services.update_segment(
                        user,
                        segment,
                        {
                            "name": data["name"],
                            "description": data["description"],
                            "rules": rules_tree,
                        },
                        expected_version=int(request.POST.get("version") or 0) or None,
                    )
                messages.success(request, f"Saved segment {segment.name}.")
                return redirect("marketing:segment", segment.pk)
            except ConflictError as error:
                form.add_error(None, str(error))
            except ValidationError as error:
                errors_into(form, error)
    else:
        form = _segment_form(segment, None, initial)
        tree = (segment.rules if segment else None) or {
            "op": "and",
            "rules": [dict(editor.DEFAULT_RULE)],
        }
    context = {
        "form": form,
        "segment": segment,
        "static": segment is not None and segment.kind == SegmentKind.STATIC,
        **_editor_context(tree, user),
    }
    return render(request, "marketing/segment_form.html", context)


@login_required
def segment_new(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.ADD, Segment)
    return _segment_form_page(request, user, None)


@login_required
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    return _segment_form_page(request, user, _segment(user, pk, Action.CHANGE))


@login_required
@require_POST
def rule_editor(request: HttpRequest) -> HttpResponse:
    """The editor redrawn after a change or a button press, with the new live count."""
    user = signed_in(request)
    if not (can(user, Action.ADD, Segment) or can(user, Action.CHANGE, Segment)):
        require(user, Action.CHANGE, Segment)
    tree = editor.apply_edit(editor.from_form(request.POST), request.POST.get("edit", ""))
    return render(request, "marketing/_editor.html", _editor_context(tree, user))


@login_required
@require_POST
def preview_count(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, Segment)
    context = _editor_context(editor.from_form(request.POST), user)
    return render(request, "marketing/_count.html", context)


@login_required
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    segment = _segment(user, pk)
    page = _page(request, queries.members(user, segment), ["full_name"])
    context = {
        "segment": segment,
        "page": page,
        "rules_text": describe(segment.rules) if segment.kind == SegmentKind.DYNAMIC else "",
        "may_change": can(user, Action.CHANGE, segment),
        "may_delete": can(user, Action.DELETE, segment),
        "may_export": can(user, Action.EXPORT, segment),
        "add_form": AddMembersForm(),
        "campaigns": queries.campaigns(user).filter(segment=segment)[:20]
        if can(user, Action.VIEW, Campaign)
        else [],
    }
    return render(request, "marketing/segment_detail.html", context)


@login_required
def segment_count(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    total = queries.count_members(user, _segment(user, pk))
    return HttpResponse(f"{total:,} {'contact' if total == 1 else 'contacts'}")


@login_required
def segment_export(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = signed_in(request)
    segment = _segment(user, pk, Action.EXPORT)
    rows = queries.members(user, segment, Action.VIEW).order_by("full_name", "id")
    return csv_response(f"segment-{segment.pk}.csv", MEMBER_COLUMNS, rows)


@login_required
@require_POST
def segment_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    user = signed_in(request)
    action = Action.DELETE if verb in ("trash", "restore") else Action.CHANGE
    if verb == "restore":
        require(user, Action.DELETE, Segment)
        segment = get_object_or_404(queries.segments(user, Action.DELETE, trash=True), pk=pk)
    else:
        segment = _segment(user, pk, action)
    try:
        if verb == "trash":
            services.trash_segment(user, segment)
            messages.success(request, f"{segment.name} is in the trash.")
            return redirect("marketing:segments")
        if verb == "restore":
            services.restore_segment(user, segment)
        elif verb == "add-members":
            form = AddMembersForm(request.POST)
            if form.is_valid():
                wanted = {line.strip().lower() for line in form.cleaned_data["emails"].split()}
                found = list(customer_queries.contacts(user).filter(email__in=wanted))
                added = services.add_to_list(user, segment, found)
                missing = len(wanted) - len(found)
                note = f"; {missing} not found among your contacts" if missing else ""
                messages.success(request, f"{added} added{note}.")
        elif verb == "remove-member":
            contact = get_object_or_404(
                customer_queries.contacts(user), pk=request.POST.get("contact")
            )
            services.remove_from_list(user, segment, [contact])
            messages.success(request, f"{contact} removed from the list.")
        else:
            raise Http404("Unknown action.")
    except ValidationError as error:
        messages.error(request, message_of(error))
    return redirect("marketing:segment", segment.pk)


def describe(tree: dict[str, Any]) -> str:
    """The rule tree in words, for the segment page."""
    parts = []
    for child in tree.get("rules", []):
        if "rules" in child:
            parts.append(f"({describe(child)})")
            continue
        kind = rules.kind_named(child.get("kind", ""))
        if kind is None:
            continue
        words = [kind.label]
        for param in kind.params:
            if param.name not in child:
                continue
            value = str(child[param.name])
            labels = dict(param.options()) if param.type == "choice" else {}
            words.append(str(labels.get(value, value)))
        parts.append(" ".join(words))
    joiner = " and " if tree.get("op") == "and" else " or "
    return joiner.join(parts) or "everyone"


# --- campaigns -----------------------------------------------------------------------------


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, Campaign)
    page = _page(request, queries.campaigns(user), ["-created_at"])
    return render(
        request,
        "marketing/campaign_list.html",
        {"page": page, "can_add": can(user, Action.ADD, Campaign)},
    )


def _campaign_form_page(
    request: HttpRequest, user: User, campaign: Campaign | None
) -> HttpResponse:
    segments = queries.segments(user)
    if request.method == "POST":
        form = CampaignForm(request.POST, segments=segments)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if campaign is None:
                    campaign = services.create_campaign(user, services.CampaignInput(**data))
                else:
                    services.update_campaign(
                        user,
                        campaign,
                        data,
                        expected_version=int(request.POST.get("version") or 0) or None,
                    )
                messages.success(request, f"Saved campaign {campaign.name}.")
                return redirect("marketing:campaign", campaign.pk)
            except ConflictError as error:
                form.add_error(None, str(error))
            except ValidationError as error:
                errors_into(form, error)
    else:
        initial: dict[str, Any] = {}
        if campaign is not None:
            initial = {name: getattr(campaign, name) for name in services.CAMPAIGN_CHANGES}
        elif request.GET.get("segment"):
            initial = {"segment": request.GET["segment"]}
        form = CampaignForm(initial=initial, segments=segments)
    context = {"form": form, "campaign": campaign, "fields": mailing.FIELDS}
    return render(request, "marketing/campaign_form.html", context)


@login_required
def campaign_new(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.ADD, Campaign)
    return _campaign_form_page(request, user, None)


@login_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    campaign = _campaign(user, pk, Action.CHANGE)
    if campaign.status not in EDITABLE_CAMPAIGN_STATUSES:
        messages.error(request, "A campaign that went out cannot be edited.")
        return redirect("marketing:campaign", campaign.pk)
    return _campaign_form_page(request, user, campaign)


def _sample_recipients(user: User, campaign: Campaign) -> list[Contact]:
    return list(queries.members(user, campaign.segment).order_by("full_name", "id")[:50])


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    campaign = _campaign(user, pk)
    page = _page(request, queries.messages(user, campaign), ["id"])
    editable = campaign.status in EDITABLE_CAMPAIGN_STATUSES
    may_change = can(user, Action.CHANGE, campaign)
    context = {
        "campaign": campaign,
        "report": queries.report(campaign),
        "page": page,
        "may_change": may_change,
        "editable": editable and may_change,
        "may_cancel": may_change
        and campaign.status in (CampaignStatus.SCHEDULED, CampaignStatus.SENDING),
        "recipients": _sample_recipients(user, campaign) if editable else [],
        "will_receive": queries.recipients(campaign.segment).count() if editable else None,
        "schedule_form": ScheduleForm(),
        "test_form": TestSendForm(initial={"to": user.email}),
    }
    return render(request, "marketing/campaign_detail.html", context)


@login_required
def campaign_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The campaign as one recipient will get it (htmx partial)."""
    user = signed_in(request)
    campaign = _campaign(user, pk)
    contact = get_object_or_404(customer_queries.contacts(user), pk=request.GET.get("contact"))
    rendered = services.preview(campaign, contact)
    return render(
        request,
        "marketing/_preview.html",
        {"rendered": rendered, "contact": contact, "campaign": campaign},
    )


# The HTML version is shown in a sandboxed frame of our own page: campaign HTML
# carries inline styles and remote images, which the site's policy forbids.
PREVIEW_CSP: dict[str, Any] = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.UNSAFE_INLINE],
    "img-src": ["https:", "data:"],
    "frame-ancestors": [CSP.SELF],
}


@login_required
@xframe_options_sameorigin
@csp_override(PREVIEW_CSP)
def campaign_preview_html(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    campaign = _campaign(user, pk)
    contact = get_object_or_404(customer_queries.contacts(user), pk=request.GET.get("contact"))
    return HttpResponse(services.preview(campaign, contact).html or "<p>No HTML version.</p>")


@login_required
@require_POST
def campaign_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    user = signed_in(request)
    if verb == "restore":
        require(user, Action.DELETE, Campaign)
        campaign = get_object_or_404(queries.campaigns(user, Action.DELETE, trash=True), pk=pk)
    else:
        action = Action.DELETE if verb == "trash" else Action.CHANGE
        campaign = _campaign(user, pk, action)
    try:
        if verb == "send":
            services.send_now(user, campaign)
            messages.success(request, "Sending started.")
        elif verb == "schedule":
            form = ScheduleForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Pick a date and time to send at.")
            else:
                at = form.cleaned_data["at"]
                if timezone.is_naive(at):
                    at = timezone.make_aware(at)
                services.schedule_campaign(user, campaign, at)
                messages.success(request, f"Scheduled for {at:%Y-%m-%d %H:%M}.")
        elif verb == "cancel":
            services.cancel_campaign(user, campaign)
            messages.success(request, "Campaign cancelled.")
        elif verb == "test":
            test = TestSendForm(request.POST)
            if not test.is_valid():
                messages.error(request, "Give an e-mail address and a recipient to preview as.")
            else:
                contact = get_object_or_404(
                    customer_queries.contacts(user), pk=test.cleaned_data["contact"]
                )
                address = services.send_test(
                    user, campaign, to=test.cleaned_data["to"], contact=contact
                )
                messages.success(request, f"Test sent to {address} as {contact}.")
        elif verb == "trash":
            services.trash_campaign(user, campaign)
            messages.success(request, f"{campaign.name} is in the trash.")
            return redirect("marketing:campaigns")
        elif verb == "restore":
            services.restore_campaign(user, campaign)
        else:
            raise Http404("Unknown action.")
    except ConflictError as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, message_of(error))
    return redirect("marketing:campaign", campaign.pk)
