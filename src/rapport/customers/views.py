"""Contact and company pages: lists (filters, columns, saved views, bulk, export), trash."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from rapport.core import audit
from rapport.core.htmx import render_page_or_partial
from rapport.core.lists import (
    Column,
    ListSpec,
    build_list,
    count_rows,
    csv_response,
    filtered_rows,
)
from rapport.core.models import SavedView
from rapport.core.permissions import Action, can, may_see_trash, require
from rapport.core.services import ConflictError
from rapport.customers import panels, queries, services, tables, trash
from rapport.customers.choices import ConsentChannel, ConsentPurpose, LifecycleStage
from rapport.customers.filtersets import CompanyFilterSet, ContactFilterSet
from rapport.customers.forms import (
    CompanyForm,
    ConsentForm,
    ContactForm,
    MembershipForm,
    NewCompanyForm,
    NewContactForm,
    StageForm,
)
from rapport.customers.models import (
    Company,
    Consent,
    Contact,
    ContactEmail,
    ContactPhone,
    Membership,
)
from rapport.customers.templatetags.customers import cell
from rapport.users.models import User, signed_in


@dataclass(frozen=True)
class CustomerList:
    """What differs between the contact and the company list."""

    model: type[Contact] | type[Company]
    spec: ListSpec
    filterset: Any
    rows: Any  # queries.contacts / queries.companies
    title: str
    url_name: str
    detail_url_name: str
    new_url_name: str
    trash_url_name: str
    trash_service: Any
    restore_service: Any


CONTACTS = CustomerList(
    Contact, tables.CONTACTS, ContactFilterSet, queries.contacts, "Customers",
    "customers:contacts", "customers:contact", "customers:contact-new", "customers:contact-trash",
    services.trash_contact, services.restore_contact,
)  # fmt: skip
COMPANIES = CustomerList(
    Company, tables.COMPANIES, CompanyFilterSet, queries.companies, "Companies",
    "customers:companies", "customers:company", "customers:company-new", "customers:company-trash",
    services.trash_company, services.restore_company,
)  # fmt: skip
LISTS = {"contacts": CONTACTS, "companies": COMPANIES}


def _list_page(request: HttpRequest, kind: CustomerList) -> HttpResponse:
    require(signed_in(request), Action.VIEW, kind.model)
    state = build_list(request, kind.spec, kind.rows(signed_in(request)), kind.filterset)
    saved = SavedView.objects.filter(list_key=kind.spec.key).filter(
        Q(user=signed_in(request)) | Q(shared=True)
    )
    can_change = can(signed_in(request), Action.CHANGE, kind.model)
    can_delete = can(signed_in(request), Action.DELETE, kind.model)
    context = {
        "kind": kind,
        "list": state,
        "saved_views": saved,
        "owners": User.objects.filter(is_active=True).order_by("full_name"),
        "stages": LifecycleStage.choices,
        "can_add": can(signed_in(request), Action.ADD, kind.model),
        "can_change": can_change,
        "can_delete": can_delete,
        "can_export": can(signed_in(request), Action.EXPORT, kind.model),
        "can_see_trash": may_see_trash(signed_in(request)),
        "rows": table_rows(
            state.page.items,
            state.columns,
            # Rows link to "<prefix><pk>/": one reverse() per page instead of one per row.
            detail_prefix=reverse(kind.detail_url_name, args=[0]).removesuffix("0/"),
            selectable=can_change or can_delete,
        ),
    }
    return render_page_or_partial(request, "customers/list.html", context, partial="results")


def table_rows(
    items: Sequence[Any], columns: Sequence[Column], *, detail_prefix: str, selectable: bool
) -> list[SafeString]:
    """The ``<tr>`` of each row, built here: as template loops (a tag, an ``if`` and a
    localised, escaped variable per cell) they were half of the list page's time."""
    rows = []
    for row in items:
        pk = row.pk
        cells = [escape(cell(column, row)) for column in columns]
        check = (
            f'<td class="check"><input type="checkbox" name="ids" value="{pk}" '
            f'aria-label="Select {escape(row)}"></td>'
            if selectable
            else ""
        )
        first = f'<td><a href="{escape(detail_prefix)}{pk}/">{cells[0]}</a></td>' if cells else ""
        rest = "".join(f"<td>{text}</td>" for text in cells[1:])
        rows.append(mark_safe(f"<tr>{check}{first}{rest}</tr>"))  # noqa: S308 - escaped above
    return rows


def _count(request: HttpRequest, kind: CustomerList) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, kind.model)
    total = count_rows(request, kind.rows(user), kind.filterset)
    text = "—" if total is None else f"{total:,} {'match' if total == 1 else 'matches'}"
    return HttpResponse(text)


def _export(request: HttpRequest, kind: CustomerList) -> HttpResponseBase:
    user = signed_in(request)
    require(user, Action.EXPORT, kind.model)
    state = build_list(request, kind.spec, kind.rows(user, Action.EXPORT), kind.filterset)
    try:
        rows = filtered_rows(request, kind.spec, kind.rows(user, Action.EXPORT), kind.filterset)
    except ValidationError:
        messages.error(request, "Fix the filters before exporting.")
        return redirect(reverse(kind.url_name) + "?" + request.GET.urlencode())
    return csv_response(f"{kind.spec.key}.csv", state.columns, rows)


def _bulk(request: HttpRequest, kind: CustomerList) -> HttpResponse:
    """Apply one action to the ticked rows, or to every row the filters match."""
    action = request.POST.get("action", "")
    query = QueryDict(request.POST.get("query", ""), mutable=True)
    back = reverse(kind.url_name) + (f"?{query.urlencode()}" if query else "")
    user = signed_in(request)
    # Start from what the user sees, so rows they may not change are counted as refused.
    rows = kind.rows(user)
    if request.POST.get("scope") == "all":
        try:
            rows = filtered_rows(request, kind.spec, rows, kind.filterset, params=query)
        except ValidationError:
            messages.error(request, "Fix the filters before applying an action to every match.")
            return redirect(back)
    else:
        ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit()]
        if not ids:
            messages.error(request, "Tick some rows first.")
            return redirect(back)
        rows = rows.filter(pk__in=ids)
    try:
        if action == "assign_owner":
            raw = request.POST.get("owner", "")
            owner = None if raw in ("", "none") else get_object_or_404(User, pk=raw, is_active=True)
            result = services.bulk_assign_owner(user, rows, owner)
        elif action == "stage":
            result = services.bulk_change_stage(
                user, rows, request.POST.get("stage", ""), reason=request.POST.get("reason", "")
            )
        elif action == "tag":
            names = [name for name in request.POST.get("tag", "").split(",") if name.strip()]
            if not names:
                raise ValidationError("Name the tag to add.")
            result = services.bulk_tag(user, rows, names)
        elif action == "trash":
            result = services.bulk_trash(user, rows)
        else:
            raise ValidationError(f"Unknown action {action!r}.")
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return redirect(back)
    text = f"{result.changed} changed."
    if result.refused:
        text += f" {result.refused} left as they were (not allowed or not applicable)."
    messages.success(request, text)
    return redirect(back)


def _trash(request: HttpRequest, kind: CustomerList) -> HttpResponse:
    if not may_see_trash(signed_in(request)):
        raise PermissionDenied("Only admins see the trash.")
    if request.method == "POST":
        record = get_object_or_404(
            kind.rows(signed_in(request), trash=True), pk=request.POST.get("id")
        )
        try:
            kind.restore_service(signed_in(request), record)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{record} is restored.")
        return redirect(kind.trash_url_name)
    rows = list(kind.rows(signed_in(request), trash=True).order_by("-deleted_at")[:200])
    notes = trash.notes(rows)
    entries = [(row, notes.get(row.pk)) for row in rows]
    return render(request, "customers/trash.html", {"kind": kind, "entries": entries})


@login_required
@require_POST
def save_view(request: HttpRequest, list_key: str) -> HttpResponse:
    kind = LISTS.get(list_key)
    if kind is None:
        raise Http404("No such list.")
    name = request.POST.get("name", "").strip()
    query = request.POST.get("query", "")
    shared = request.POST.get("shared") == "on"
    if shared and not can(signed_in(request), Action.CHANGE, kind.model):
        shared = False
    if not name:
        messages.error(request, "Name the view to save it.")
    else:
        SavedView.objects.update_or_create(
            user=signed_in(request),
            list_key=list_key,
            name=name,
            defaults={"query": query, "shared": shared},
        )
        messages.success(request, f"View “{name}” saved.")
    return redirect(reverse(kind.url_name) + (f"?{query}" if query else ""))


@login_required
@require_POST
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=view_id, user=signed_in(request))
    kind = {"contacts": CONTACTS, "companies": COMPANIES}[view.list_key]
    view.delete()
    messages.success(request, f"View “{view.name}” deleted.")
    return redirect(kind.url_name)


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, CONTACTS)


@login_required
def contact_count(request: HttpRequest) -> HttpResponse:
    return _count(request, CONTACTS)


@login_required
def contact_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, CONTACTS)


@login_required
@require_POST
def contact_bulk(request: HttpRequest) -> HttpResponse:
    return _bulk(request, CONTACTS)


@login_required
def contact_trash(request: HttpRequest) -> HttpResponse:
    return _trash(request, CONTACTS)


@login_required
def company_list(request: HttpRequest) -> HttpResponse:
    return _list_page(request, COMPANIES)


@login_required
def company_count(request: HttpRequest) -> HttpResponse:
    return _count(request, COMPANIES)


@login_required
def company_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, COMPANIES)


@login_required
@require_POST
def company_bulk(request: HttpRequest) -> HttpResponse:
    return _bulk(request, COMPANIES)


@login_required
def company_trash(request: HttpRequest) -> HttpResponse:
    return _trash(request, COMPANIES)


# --- detail pages ----------------------------------------------------------------


def _split_tags(raw: str) -> list[str]:
    return [name.strip() for name in raw.split(",") if name.strip()]


def _form_errors(form: Any, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            target = name if name in form.fields else None
            if name.startswith("custom_fields."):
                target = "cf_" + name.split(".", 1)[1]
                target = target if target in form.fields else None
            for message in errors:
                form.add_error(
                    target,
                    f"{name}: {message}" if target is None and name != "__all__" else message,
                )
    else:
        for message in error.messages:
            form.add_error(None, message)


@login_required
def contact_new(request: HttpRequest) -> HttpResponse:
    require(signed_in(request), Action.ADD, Contact)
    form = NewContactForm(request.POST or None, initial={"owner": signed_in(request).pk})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            company = (
                _company_named(signed_in(request), data["company"]) if data["company"] else None
            )
            contact = services.create_contact(
                signed_in(request),
                services.ContactInput(
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    emails=[data["email"]] if data["email"] else [],
                    phones=[data["phone"]] if data["phone"] else [],
                    job_title=data["job_title"],
                    birthday=data["birthday"],
                    language=data["language"],
                    time_zone=data["time_zone"],
                    source=data["source"],
                    notes=data["notes"],
                    owner=data["owner"],
                    lifecycle_stage=data["lifecycle_stage"],
                    tags=_split_tags(data["tags"]),
                    custom_fields=form.custom_values(),
                    companies=[(company, data["company_role"])] if company else [],
                ),
            )
        except services.DuplicateError as error:
            _form_errors(form, error)
            form.duplicate_url = error.existing_url
        except (ValidationError, PermissionDenied) as error:
            _form_errors(
                form, error if isinstance(error, ValidationError) else ValidationError(str(error))
            )
        else:
            messages.success(request, f"{contact} is added.")
            return redirect("customers:contact", contact.pk)
    return render(request, "customers/contact_form.html", {"form": form, "kind": CONTACTS})


@login_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(queries.contact_detail(signed_in(request)), pk=pk)
    user = signed_in(request)
    may_change = can(user, Action.CHANGE, contact)
    edit_form = ContactForm(
        initial={
            **{
                name: getattr(contact, name)
                for name in (
                    "first_name",
                    "last_name",
                    "job_title",
                    "birthday",
                    "language",
                    "time_zone",
                    "source",
                    "notes",
                )
            },
            "owner": contact.owner_id,
            "version": contact.version,
            **{f"cf_{key}": value for key, value in contact.custom_fields.items()},
        }
    )
    history = audit.merged(
        audit.entries(contact.history, what="Contact"),
        audit.entries(Consent.history.filter(contact_id=contact.pk), what="Consent"),
        audit.entries(Membership.history.filter(contact_id=contact.pk), what="Company link"),
        audit.entries(ContactEmail.history.filter(contact_id=contact.pk), what="E-mail"),
        audit.entries(ContactPhone.history.filter(contact_id=contact.pk), what="Phone"),
    )
    consents = {(c.channel, c.purpose): c for c in contact.consents.all()}
    consent_grid = [
        (
            channel_label,
            [
                (purpose, purpose_label, consents.get((channel, purpose)))
                for purpose, purpose_label in ConsentPurpose.choices
            ],
            channel,
        )
        for channel, channel_label in ConsentChannel.choices
    ]
    context = {
        "contact": contact,
        "kind": CONTACTS,
        "may_change": may_change,
        "may_delete": can(user, Action.DELETE, contact),
        "edit_form": edit_form,
        "stage_form": StageForm(initial={"stage": contact.lifecycle_stage}),
        "consent_form": ConsentForm(),
        "consent_grid": consent_grid,
        "membership_form": MembershipForm(),
        "stage_history": queries.stage_history(contact)[:20],
        "history": history,
        "panels": panels.shown(user, contact),
    }
    return render(request, "customers/contact_detail.html", context)


@login_required
@require_POST
def contact_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    """Every change made from the contact page: one service call each."""
    contact = get_object_or_404(queries.contact_detail(signed_in(request)), pk=pk)
    actor = signed_in(request)
    post = request.POST
    try:
        if verb == "edit":
            form = ContactForm(post)
            if not form.is_valid():
                raise ValidationError(form.errors.as_text())
            data = dict(form.cleaned_data)
            expected = data.pop("version")
            changes = {
                key: value if value is not None else ""
                for key, value in data.items()
                if not key.startswith("cf_")
            }
            changes["birthday"] = data["birthday"]
            changes["owner"] = data["owner"]
            changes["custom_fields"] = form.custom_values()
            services.update_contact(actor, contact, changes, expected_version=expected)
            done = "Saved."
        elif verb == "stage":
            services.change_stage(
                actor, contact, post.get("stage", ""), reason=post.get("reason", "")
            )
            done = f"Stage is now {contact.get_lifecycle_stage_display()}."
        elif verb == "consent":
            consent_form = ConsentForm(post)
            if not consent_form.is_valid():
                raise ValidationError(consent_form.errors.as_text())
            services.set_consent(actor, contact, **consent_form.cleaned_data)
            done = "Consent recorded."
        elif verb == "add-email":
            services.add_email(
                actor, contact, post.get("email", ""), primary=post.get("primary") == "on"
            )
            done = "E-mail added."
        elif verb == "remove-email":
            services.remove_email(
                actor, contact, get_object_or_404(contact.emails.all(), pk=post.get("id"))
            )
            done = "E-mail removed."
        elif verb == "add-phone":
            services.add_phone(
                actor, contact, post.get("number", ""), primary=post.get("primary") == "on"
            )
            done = "Phone added."
        elif verb == "remove-phone":
            services.remove_phone(
                actor, contact, get_object_or_404(contact.phones.all(), pk=post.get("id"))
            )
            done = "Phone removed."
        elif verb == "add-company":
            company = _company_named(actor, post.get("company", ""))
            services.add_membership(actor, contact, company, role=post.get("role", ""))
            done = f"Linked to {company}."
        elif verb == "remove-company":
            services.remove_membership(
                actor, get_object_or_404(contact.memberships.all(), pk=post.get("id"))
            )
            done = "Company link removed."
        elif verb == "tag":
            services.tag(actor, [contact], _split_tags(post.get("tags", "")))
            done = "Tagged."
        elif verb == "untag":
            services.untag(actor, [contact], [post.get("tag", "")])
            done = "Tag removed."
        elif verb == "trash":
            services.trash_contact(actor, contact)
            messages.success(request, f"{contact} is in the trash.")
            return redirect("customers:contacts")
        else:
            raise ValidationError(f"Unknown action {verb!r}.")
    except ConflictError as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, _messages_of(error))
    except PermissionDenied as error:
        messages.error(request, str(error) or "Your role does not allow this.")
    else:
        messages.success(request, done)
    return redirect("customers:contact", contact.pk)


def _company_named(viewer: Any, name: str) -> Company:
    """The visible company with this exact name (the picker fills it in), or a clear error."""
    name = name.strip()
    company = queries.companies(viewer).filter(name__iexact=name).order_by("pk").first()
    if company is None:
        raise ValidationError({"company": [f"There is no company called “{name}”; add it first."]})
    return company


@login_required
def company_suggest(request: HttpRequest) -> HttpResponse:
    """<option>s for the company picker's datalist."""
    text = request.GET.get("company", request.GET.get("q", "")).strip()
    names: list[str] = []
    if text:
        names = list(
            queries.companies(signed_in(request))
            .filter(name__istartswith=text)
            .order_by("name")
            .values_list("name", flat=True)[:15]
        )
    return render(request, "customers/company_options.html", {"names": names})


def _messages_of(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(f"{' '.join(messages)}" for messages in error.message_dict.values())
    return " ".join(error.messages)


@login_required
def company_new(request: HttpRequest) -> HttpResponse:
    require(signed_in(request), Action.ADD, Company)
    form = NewCompanyForm(request.POST or None, initial={"owner": signed_in(request).pk})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            company = services.create_company(
                signed_in(request),
                name=data["name"],
                domain=data["domain"],
                industry=data["industry"],
                size=data["size"],
                annual_revenue=data["annual_revenue"],
                currency=data["currency"],
                notes=data["notes"],
                owner=data["owner"],
                lifecycle_stage=data["lifecycle_stage"],
                tags=_split_tags(data["tags"]),
                custom_fields_values=form.custom_values(),
            )
        except services.DuplicateError as error:
            _form_errors(form, error)
            form.duplicate_url = error.existing_url
        except (ValidationError, PermissionDenied) as error:
            _form_errors(
                form, error if isinstance(error, ValidationError) else ValidationError(str(error))
            )
        else:
            messages.success(request, f"{company} is added.")
            return redirect("customers:company", company.pk)
    return render(request, "customers/company_form.html", {"form": form, "kind": COMPANIES})


@login_required
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(queries.company_detail(signed_in(request)), pk=pk)
    user = signed_in(request)
    edit_form = CompanyForm(
        initial={
            **{
                name: getattr(company, name)
                for name in (
                    "name",
                    "domain",
                    "industry",
                    "size",
                    "annual_revenue",
                    "currency",
                    "notes",
                )
            },
            "owner": company.owner_id,
            "version": company.version,
            **{f"cf_{key}": value for key, value in company.custom_fields.items()},
        }
    )
    context = {
        "company": company,
        "kind": COMPANIES,
        "may_change": can(user, Action.CHANGE, company),
        "may_delete": can(user, Action.DELETE, company),
        "edit_form": edit_form,
        "stage_form": StageForm(initial={"stage": company.lifecycle_stage}),
        "members": queries.company_members(user, company),
        "stage_history": queries.stage_history(company)[:20],
        "history": audit.entries(company.history, what="Company"),
        "panels": panels.shown(user, company),
    }
    return render(request, "customers/company_detail.html", context)


@login_required
@require_POST
def company_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    company = get_object_or_404(queries.company_detail(signed_in(request)), pk=pk)
    actor = signed_in(request)
    post = request.POST
    try:
        if verb == "edit":
            form = CompanyForm(post)
            if not form.is_valid():
                raise ValidationError(form.errors.as_text())
            data = dict(form.cleaned_data)
            expected = data.pop("version")
            changes = {key: value for key, value in data.items() if not key.startswith("cf_")}
            changes["custom_fields"] = form.custom_values()
            services.update_company(actor, company, changes, expected_version=expected)
            done = "Saved."
        elif verb == "stage":
            services.change_stage(
                actor, company, post.get("stage", ""), reason=post.get("reason", "")
            )
            done = f"Stage is now {company.get_lifecycle_stage_display()}."
        elif verb == "tag":
            services.tag(actor, [company], _split_tags(post.get("tags", "")))
            done = "Tagged."
        elif verb == "untag":
            services.untag(actor, [company], [post.get("tag", "")])
            done = "Tag removed."
        elif verb == "trash":
            services.trash_company(actor, company)
            messages.success(request, f"{company} is in the trash.")
            return redirect("customers:companies")
        else:
            raise ValidationError(f"Unknown action {verb!r}.")
    except ConflictError as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, _messages_of(error))
    except PermissionDenied as error:
        messages.error(request, str(error) or "Your role does not allow this.")
    else:
        messages.success(request, done)
    return redirect("customers:company", company.pk)
