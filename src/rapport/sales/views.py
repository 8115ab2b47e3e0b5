"""Deal pages: board, list, detail, form, stage moves, forecast and pipeline settings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from rapport.catalog import queries as catalog_queries
from rapport.catalog.views import errors_into, message_of
from rapport.core import audit
from rapport.core.htmx import render_page_or_partial
from rapport.core.lists import build_list, count_rows, csv_response, filtered_rows
from rapport.core.permissions import Action, Role, can, require, role_of
from rapport.core.services import ConflictError
from rapport.customers import queries as customer_queries
from rapport.customers.models import Company, Contact
from rapport.sales import queries, services, tables
from rapport.sales.choices import StageKind
from rapport.sales.filtersets import DealFilterSet
from rapport.sales.forms import DealForm, LineFormSet, MoveForm, NextStepForm, StageForm, TargetForm
from rapport.sales.models import Deal, DealLine, Pipeline, SalesTarget, Stage
from rapport.users.models import User, signed_in

DEAL_LIST = {
    "title": "Deals",
    "list_url": "sales:deals",
    "count_url": "sales:deal-count",
    "export_url": "sales:deal-export",
    "new_url": "sales:deal-new",
    "new_label": "New deal",
    "detail_url": "sales:deal",
}
FORECAST_MONTHS = 6
TASKS_SHOWN = 10


def _problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return message_of(error)
    return str(error) or "Your role does not allow this."


# --- list ------------------------------------------------------------------------------


@login_required
def deal_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, Deal)
    state = build_list(request, tables.DEALS, queries.deals(user), DealFilterSet)
    context = {
        "page": DEAL_LIST,
        "list": state,
        "can_add": can(user, Action.ADD, Deal),
        "can_export": can(user, Action.EXPORT, Deal),
        "extra_links": [("sales:board", "Board"), ("sales:forecast", "Forecast")],
    }
    return render_page_or_partial(request, "catalog/list.html", context, partial="results")


@login_required
def deal_count(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, Deal)
    total = count_rows(request, queries.deals(user), DealFilterSet)
    return HttpResponse(
        "—" if total is None else f"{total:,} {'match' if total == 1 else 'matches'}"
    )


@login_required
def deal_export(request: HttpRequest) -> HttpResponseBase:
    user = signed_in(request)
    require(user, Action.EXPORT, Deal)
    rows = queries.deals(user, Action.EXPORT)
    state = build_list(request, tables.DEALS, rows, DealFilterSet)
    try:
        chosen = filtered_rows(request, tables.DEALS, rows, DealFilterSet)
    except ValidationError:
        messages.error(request, "Fix the filters before exporting.")
        return redirect("sales:deals")
    return csv_response("deals.csv", state.columns, chosen)


# --- board -----------------------------------------------------------------------------


def _pipeline(user: User, raw: str) -> Pipeline:
    visible = queries.pipelines(user)
    if raw.isdigit():
        chosen = visible.filter(pk=int(raw)).first()
        if chosen is not None:
            return chosen
    default = services.default_pipeline()
    return visible.get(pk=default.pk)


def _board_context(request: HttpRequest, user: User, *, error: str = "") -> dict[str, Any]:
    # A drop on the board posts the board's filters along, so it answers with the same board.
    source = request.GET if request.method == "GET" else request.POST
    pipeline = _pipeline(user, source.get("pipeline", ""))
    filter_data = QueryDict(mutable=True)
    for key in ("q", "owner"):
        if source.get(key):
            filter_data[key] = source[key]
    filterset = DealFilterSet(filter_data, queryset=queries.deals(user), request=request)
    rows = filterset.qs if filterset.is_valid() else queries.deals(user).none()
    today = timezone.localdate()
    columns = queries.board(user, pipeline, rows, today)
    return {
        "pipeline": pipeline,
        "pipelines": list(queries.pipelines(user).filter(active=True)),
        "columns": columns,
        "filterset": filterset,
        "filter_query": filter_data.urlencode(),
        "may_move": can(user, Action.CHANGE, Deal),
        "may_add": can(user, Action.ADD, Deal),
        "may_shape": can(user, Action.CHANGE, Pipeline),
        "stale_before": services.stale_before(),
        "stale_days": services.stale_days(),
        "base_currency": settings.BASE_CURRENCY,
        "total": sum((column.total for column in columns if column.stage.kind == "open"),
                     Decimal("0.00")),
        "weighted": sum((column.weighted for column in columns if column.stage.kind == "open"),
                        Decimal("0.00")),
        "error": error,
        "closed_days": queries.CLOSED_ON_BOARD_DAYS,
    }  # fmt: skip


@login_required
def board(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, Deal)
    context = _board_context(request, user)
    return render_page_or_partial(request, "sales/board.html", context, partial="board")


@login_required
@require_POST
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """A drop on the board, or the stage select of a card (no script needed)."""
    user = signed_in(request)
    deal = get_object_or_404(queries.deal_detail(user), pk=pk)
    form = MoveForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "Choose a stage to move the deal to."
    else:
        data = form.cleaned_data
        stage = queries.stages(user).filter(pk=data["stage"]).first()
        try:
            if stage is None:
                raise ValidationError({"stage": ["No such stage."]})
            move = services.move_deal(
                user,
                deal,
                stage,
                lost_reason=data["lost_reason"],
                # The board's "place an order" applies to deals with lines to order.
                create_order=data["create_order"] and bool(deal.lines.all()),
                expected_version=data["version"],
            )
        except (ValidationError, PermissionDenied, ConflictError) as problem:
            error = f"{deal}: {_problem(problem)}"
        else:
            done = f"{deal} is now in {stage}."
            if move.order is not None:
                done += f" {move.order} was placed."
            if not request.htmx:  # type: ignore[attr-defined]
                messages.success(request, done)
    if request.htmx:  # type: ignore[attr-defined]
        context = _board_context(request, user, error=error)
        if not error:
            context["done"] = done
        return render(request, "sales/board.html#board", context)
    if error:
        messages.error(request, error)
    back = request.POST.get("next", "")
    if back == "detail":
        return redirect("sales:deal", deal.pk)
    return redirect("sales:board")


# --- form ------------------------------------------------------------------------------


def _stage_choices(user: User) -> list[tuple[Any, str]]:
    choices: list[tuple[Any, str]] = [("", "— first stage of the default pipeline —")]
    for pipeline in queries.pipelines(user).filter(active=True):
        for stage in pipeline.stages.all():
            if stage.kind == StageKind.OPEN:
                choices.append((stage.pk, f"{pipeline}: {stage} ({stage.probability} %)"))
    return choices


def _product_choices(user: User) -> tuple[list[tuple[Any, str]], dict[int, Any]]:
    products = list(catalog_queries.orderable_products(user).order_by("name", "id"))
    choices: list[tuple[Any, str]] = [("", "—")]
    choices += [(p.pk, f"{p.name} ({p.sku}) {p.unit_price} {p.currency}") for p in products]
    return choices, {p.pk: p for p in products}


def _customer(user: User, form: DealForm) -> tuple[Contact | None, Company | None]:
    data = form.cleaned_data
    contact = company = None
    if data.get("contact"):
        contact = customer_queries.contacts(user).filter(pk=data["contact"]).first()
        if contact is None:
            form.add_error("contact", f"No contact with id {data['contact']}.")
    name = (data.get("company") or "").strip()
    if name:
        company = customer_queries.companies(user).filter(name__iexact=name).order_by("pk").first()
        if company is None:
            form.add_error("company", f"There is no company called “{name}”.")
    return contact, company


def _others(user: User, form: DealForm) -> list[Contact]:
    ids = form.cleaned_data.get("others") or []
    found = {c.pk: c for c in customer_queries.contacts(user).filter(pk__in=ids)}
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        form.add_error("others", f"No contact with id {', '.join(missing)}.")
    return [found[pk] for pk in ids if pk in found]


def _lines(formset: Any, products: dict[int, Any]) -> list[services.LineInput]:
    lines = []
    for data in formset.cleaned_data:
        if not data or not data.get("product"):
            continue
        lines.append(
            services.LineInput(
                product=products[data["product"]],
                quantity=data["quantity"],
                unit_price=data.get("unit_price"),
                discount_percent=data.get("discount_percent") or Decimal(0),
                description=data.get("description") or "",
            )
        )
    return lines


def _deal_form(request: HttpRequest, deal: Deal | None) -> HttpResponse:
    user = signed_in(request)
    choices, products = _product_choices(user)
    if deal is None:
        company_id = request.GET.get("company", "")
        company = (
            customer_queries.companies(user).filter(pk=company_id).first()
            if company_id.isdigit()
            else None
        )
        initial: dict[str, Any] = {
            "contact": request.GET.get("contact", ""),
            "company": company.name if company else "",
            "currency": settings.BASE_CURRENCY,
            "owner": user.pk,
        }
        line_initial: list[dict[str, Any]] = []
    else:
        initial = {
            "name": deal.name,
            "contact": deal.contact_id,
            "company": deal.company.name if deal.company else "",
            "amount": deal.amount,
            "currency": deal.currency,
            "expected_close": deal.expected_close,
            "owner": deal.owner_id,
            "source": deal.source,
            "next_step": deal.next_step,
            "notes": deal.notes,
            "others": ", ".join(str(c.pk) for c in deal.contacts.all()),
            "version": deal.version,
        }
        line_initial = [
            {
                "product": line.product_id,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount_percent": line.discount_percent,
                "description": line.description,
            }
            for line in deal.lines.all()
        ]
    form = DealForm(request.POST or None, initial=initial, stage_choices=_stage_choices(user))
    if deal is not None:
        del form.fields["stage"]  # moved on the board or with the stage buttons
    formset = LineFormSet(
        request.POST or None,
        initial=line_initial,
        prefix="lines",
        form_kwargs={"product_choices": choices},
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        contact, company = _customer(user, form)
        others = _others(user, form)
        lines = _lines(formset, products)
        if not form.errors:
            data = form.cleaned_data
            try:
                if deal is None:
                    stage = queries.stages(user).filter(pk=data["stage"]).first()
                    deal = services.create_deal(
                        user,
                        services.DealInput(
                            name=data["name"],
                            expected_close=data["expected_close"],
                            contact=contact,
                            company=company,
                            amount=data["amount"],
                            currency=data["currency"] or "",
                            stage=stage if data["stage"] else None,
                            owner=data["owner"],
                            source=data["source"],
                            next_step=data["next_step"],
                            notes=data["notes"],
                            lines=lines,
                            contacts=others,
                        ),
                    )
                    messages.success(request, f"{deal} is saved.")
                else:
                    changes: dict[str, Any] = {
                        "name": data["name"],
                        "contact": contact,
                        "company": company,
                        "currency": data["currency"] or deal.currency,
                        "expected_close": data["expected_close"],
                        "owner": data["owner"],
                        "source": data["source"],
                        "next_step": data["next_step"],
                        "notes": data["notes"],
                        "contacts": others,
                    }
                    if data["amount"] is not None:
                        changes["amount"] = data["amount"]
                    services.update_deal(
                        user, deal, changes, lines=lines, expected_version=data["version"]
                    )
                    messages.success(request, "Saved.")
            except ConflictError as error:
                form.add_error(None, str(error))
            except ValidationError as error:
                errors_into(form, error)
            except PermissionDenied as error:
                form.add_error(None, str(error) or "Your role does not allow this.")
            else:
                return redirect("sales:deal", deal.pk)
    context = {"form": form, "formset": formset, "deal": deal}
    return render(request, "sales/deal_form.html", context)


@login_required
def deal_new(request: HttpRequest) -> HttpResponse:
    require(signed_in(request), Action.ADD, Deal)
    return _deal_form(request, None)


@login_required
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    deal = get_object_or_404(queries.deal_detail(user), pk=pk)
    require(user, Action.CHANGE, deal)
    return _deal_form(request, deal)


# --- detail ------------------------------------------------------------------------------


@login_required
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    deal = get_object_or_404(queries.deal_detail(user), pk=pk)
    history = audit.merged(
        audit.entries(deal.history, what="Deal"),
        audit.entries(DealLine.history.filter(deal_id=deal.pk), what="Line"),
    )
    context = {
        "deal": deal,
        "lines": list(deal.lines.all()),
        "stage_changes": list(deal.stage_changes.all()),
        "tasks": list(queries.tasks_of(user, deal)[:TASKS_SHOWN]),
        "stages": list(deal.pipeline.stages.all()),
        "may_change": can(user, Action.CHANGE, deal),
        "may_delete": can(user, Action.DELETE, deal),
        "stale": deal.is_stale(services.stale_days()),
        "stale_days": services.stale_days(),
        "next_step_form": NextStepForm(initial={"title": deal.next_step}),
        "history": history,
        "base_currency": settings.BASE_CURRENCY,
    }
    return render(request, "sales/deal_detail.html", context)


@login_required
@require_POST
def deal_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    user = signed_in(request)
    deal = get_object_or_404(queries.deal_detail(user), pk=pk)
    try:
        if verb == "next-step":
            form = NextStepForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors.as_text())
            services.schedule_next_step(
                user,
                deal,
                title=form.cleaned_data["title"],
                due_date=form.cleaned_data["due_date"],
            )
            done = "The next step is on the task list."
        elif verb == "trash":
            services.trash_deal(user, deal)
            messages.success(request, f"{deal} is in the trash.")
            return redirect("sales:deals")
        else:
            raise ValidationError(f"Unknown action {verb!r}.")
    except (ConflictError, ValidationError, PermissionDenied) as error:
        messages.error(request, _problem(error))
    else:
        messages.success(request, done)
    return redirect("sales:deal", deal.pk)


# --- forecast ----------------------------------------------------------------------------


def _may_set_targets(user: User) -> bool:
    return role_of(user) in (Role.ADMIN, Role.MANAGER) and can(user, Action.ADD, SalesTarget)


def _owners() -> dict[Any, Any]:
    return {user.pk: user for user in User.objects.filter(is_active=True)}


@login_required
def forecast(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, Deal)
    today = timezone.localdate()
    this_month = date(today.year, today.month, 1)
    owners = _owners()
    ahead = queries.month_starts(this_month, FORECAST_MONTHS)
    year, month = this_month.year, this_month.month - (FORECAST_MONTHS - 1)
    if month < 1:
        year, month = year - 1, month + 12
    behind = queries.month_starts(date(year, month, 1), FORECAST_MONTHS)
    may_set = _may_set_targets(user)
    target_form = TargetForm(
        request.POST or None,
        owner_choices=[(u.pk, u.full_name) for u in sorted(owners.values(), key=str)],
        initial={"month": this_month.strftime("%Y-%m")},
    )
    if request.method == "POST":
        if not may_set:
            raise PermissionDenied("Managers and admins set targets.")
        if target_form.is_valid():
            data = target_form.cleaned_data
            try:
                services.set_target(user, owners[data["owner"]], data["month"], data["amount"])
            except (ValidationError, PermissionDenied) as error:
                messages.error(request, _problem(error))
            else:
                messages.success(request, "Target saved.")
                return redirect("sales:forecast")
    context = {
        "pipeline": queries.weighted_pipeline(user, ahead, owners),
        "won": queries.won_against_target(user, behind, owners),
        "behind": behind,
        "may_set_targets": may_set,
        "target_form": target_form,
        "base_currency": settings.BASE_CURRENCY,
    }
    return render(request, "sales/forecast.html", context)


# --- pipeline settings (admins) ----------------------------------------------------------


@login_required
def pipeline_settings(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, Pipeline)
    may_edit = can(user, Action.CHANGE, Pipeline)
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied("Only admins shape pipelines.")
        return _pipeline_post(request, user)
    services.default_pipeline()
    context = {
        "pipelines": list(queries.pipelines(user)),
        "may_edit": may_edit,
        "stage_form": StageForm(),
    }
    return render(request, "sales/pipelines.html", context)


def _pipeline_post(request: HttpRequest, user: User) -> HttpResponse:
    post = request.POST
    verb = post.get("verb", "")
    try:
        if verb == "create":
            services.create_pipeline(user, post.get("name", ""))
        elif verb == "default":
            pipeline = get_object_or_404(Pipeline, pk=post.get("pipeline"))
            services.make_default_pipeline(user, pipeline)
        elif verb == "add-stage":
            form = StageForm(post)
            if not form.is_valid():
                raise ValidationError(form.errors.as_text())
            pipeline = get_object_or_404(Pipeline, pk=post.get("pipeline"))
            services.add_stage(
                user, pipeline, form.cleaned_data["name"], form.cleaned_data["probability"]
            )
        elif verb == "stage":
            stage = get_object_or_404(Stage, pk=post.get("stage"))
            form = StageForm(post)
            if not form.is_valid():
                raise ValidationError(form.errors.as_text())
            services.update_stage(user, stage, form.cleaned_data)
        elif verb == "remove-stage":
            services.remove_stage(user, get_object_or_404(Stage, pk=post.get("stage")))
        else:
            raise ValidationError(f"Unknown action {verb!r}.")
    except (ValidationError, PermissionDenied, ConflictError) as error:
        messages.error(request, _problem(error))
    else:
        messages.success(request, "Saved.")
    return redirect("sales:pipelines")
