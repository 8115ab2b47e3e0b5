"""Order and installed-base pages: lists, detail, order form with lines, status actions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from rapport.catalog import queries as catalog_queries
from rapport.catalog.views import errors_into, message_of, trash_link, trash_page
from rapport.core import audit
from rapport.core.htmx import render_page_or_partial
from rapport.core.lists import ListSpec, build_list, count_rows, csv_response, filtered_rows
from rapport.core.permissions import Action, can, require
from rapport.core.services import ConflictError
from rapport.customers import queries as customer_queries
from rapport.customers.models import Company, Contact
from rapport.trading import queries, services, tables
from rapport.trading.choices import EDITABLE_STATUSES, TRANSITIONS, OrderStatus
from rapport.trading.filtersets import AssetFilterSet, OrderFilterSet
from rapport.trading.forms import AssetForm, LineFormSet, OrderForm, ServiceForm, ShipForm
from rapport.trading.models import Asset, Order, OrderLine
from rapport.trading.permissions import may
from rapport.users.models import User, signed_in

ORDER_LIST = {
    "title": "Orders",
    "list_url": "trading:orders",
    "count_url": "trading:order-count",
    "export_url": "trading:order-export",
    "new_url": "trading:order-new",
    "new_label": "New order",
    "detail_url": "trading:order",
}
ASSET_LIST = {
    "title": "Installed base",
    "list_url": "trading:assets",
    "count_url": "trading:asset-count",
    "export_url": "trading:asset-export",
    "new_url": "",
    "new_label": "",
    "detail_url": "trading:asset",
}


def _list(
    request: HttpRequest,
    model: type[Order] | type[Asset],
    spec: ListSpec,
    rows: Any,
    filterset: Any,
    page: dict[str, str],
    extra_links: list[tuple[str, str]],
) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, model)
    state = build_list(request, spec, rows(user), filterset)
    context = {
        "page": page,
        "list": state,
        "can_add": can(user, Action.ADD, model),
        "can_export": can(user, Action.EXPORT, model),
        "extra_links": extra_links,
    }
    return render_page_or_partial(request, "catalog/list.html", context, partial="results")


def _count(request: HttpRequest, model: Any, rows: Any, filterset: Any) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, model)
    total = count_rows(request, rows(user), filterset)
    return HttpResponse(
        "—" if total is None else f"{total:,} {'match' if total == 1 else 'matches'}"
    )


def _export(
    request: HttpRequest, model: Any, spec: ListSpec, rows: Any, filterset: Any, back: str
) -> HttpResponseBase:
    user = signed_in(request)
    require(user, Action.EXPORT, model)
    state = build_list(request, spec, rows(user, Action.EXPORT), filterset)
    try:
        chosen = filtered_rows(request, spec, rows(user, Action.EXPORT), filterset)
    except ValidationError:
        messages.error(request, "Fix the filters before exporting.")
        return redirect(back)
    return csv_response(f"{spec.key}.csv", state.columns, chosen)


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    links = [("trading:assets", "Installed base")]
    links += trash_link(signed_in(request), "trading:order-trash")
    return _list(request, Order, tables.ORDERS, queries.orders, OrderFilterSet, ORDER_LIST, links)


@login_required
def order_trash(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    return trash_page(
        request,
        title="Orders",
        rows=queries.orders(user, trash=True),
        restore=services.restore_order,
        list_url="trading:orders",
        trash_url="trading:order-trash",
    )


@login_required
def order_count(request: HttpRequest) -> HttpResponse:
    return _count(request, Order, queries.orders, OrderFilterSet)


@login_required
def order_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, Order, tables.ORDERS, queries.orders, OrderFilterSet, "trading:orders")


@login_required
def asset_list(request: HttpRequest) -> HttpResponse:
    links = [("trading:orders", "Orders")]
    links += trash_link(signed_in(request), "trading:asset-trash")
    return _list(request, Asset, tables.ASSETS, queries.assets, AssetFilterSet, ASSET_LIST, links)


@login_required
def asset_trash(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    return trash_page(
        request,
        title="Installed base",
        rows=queries.assets(user, trash=True),
        restore=services.restore_asset,
        list_url="trading:assets",
        trash_url="trading:asset-trash",
    )


@login_required
def asset_count(request: HttpRequest) -> HttpResponse:
    return _count(request, Asset, queries.assets, AssetFilterSet)


@login_required
def asset_export(request: HttpRequest) -> HttpResponseBase:
    return _export(request, Asset, tables.ASSETS, queries.assets, AssetFilterSet, "trading:assets")


# --- order form ------------------------------------------------------------------------------


def _product_choices(user: User) -> tuple[list[tuple[Any, str]], dict[int, Any]]:
    products = list(catalog_queries.orderable_products(user).order_by("name", "id"))
    choices: list[tuple[Any, str]] = [("", "—")]
    choices += [(p.pk, f"{p.name} ({p.sku}) {p.unit_price} {p.currency}") for p in products]
    return choices, {p.pk: p for p in products}


def _customer(user: User, form: OrderForm) -> tuple[Contact | None, Company | None]:
    """The contact (by id) and company (by name) the user may see, or form errors."""
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


def _order_form(request: HttpRequest, order: Order | None) -> HttpResponse:
    user = signed_in(request)
    choices, products = _product_choices(user)
    if order is None:
        company_id = request.GET.get("company", "")
        company = (
            customer_queries.companies(user).filter(pk=company_id).first()
            if company_id.isdigit()
            else None
        )
        initial: dict[str, Any] = {
            "contact": request.GET.get("contact", ""),
            "company": company.name if company else "",
            "order_date": timezone.localdate(),
            "currency": settings.BASE_CURRENCY,
            "owner": user.pk,
        }
        line_initial: list[dict[str, Any]] = []
    else:
        initial = {
            "contact": order.contact_id,
            "company": order.company.name if order.company else "",
            "order_date": order.order_date,
            "currency": order.currency,
            "status": order.status,
            "owner": order.owner_id,
            "notes": order.notes,
            "version": order.version,
        }
        line_initial = [
            {
                "product": line.product_id,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount_percent": line.discount_percent,
                "description": line.description,
            }
            for line in order.lines.all()
        ]
    form = OrderForm(request.POST or None, initial=initial)
    if order is not None:
        del form.fields["status"]  # moved on with the status actions
    formset = LineFormSet(
        request.POST or None,
        initial=line_initial,
        prefix="lines",
        form_kwargs={"product_choices": choices},
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        contact, company = _customer(user, form)
        lines = _lines(formset, products)
        if not form.errors:
            data = form.cleaned_data
            try:
                if order is None:
                    order = services.create_order(
                        user,
                        services.OrderInput(
                            contact=contact,
                            company=company,
                            lines=lines,
                            order_date=data["order_date"],
                            currency=data["currency"] or "",
                            status=data["status"],
                            owner=data["owner"],
                            notes=data["notes"],
                        ),
                    )
                    messages.success(request, f"{order} is saved.")
                else:
                    services.update_order(
                        user,
                        order,
                        {
                            "contact": contact,
                            "company": company,
                            "order_date": data["order_date"],
                            "currency": data["currency"] or order.currency,
                            "owner": data["owner"],
                            "notes": data["notes"],
                        },
                        lines=lines,
                        expected_version=data["version"],
                    )
                    messages.success(request, "Saved.")
            except ConflictError as error:
                form.add_error(None, str(error))
            except ValidationError as error:
                errors_into(form, error)
            except PermissionDenied as error:
                form.add_error(None, str(error) or "Your role does not allow this.")
            else:
                return redirect("trading:order", order.pk)
    context = {"form": form, "formset": formset, "order": order}
    return render(request, "trading/order_form.html", context)


@login_required
def order_new(request: HttpRequest) -> HttpResponse:
    require(signed_in(request), Action.ADD, Order)
    return _order_form(request, None)


@login_required
def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    order = get_object_or_404(queries.order_detail(user), pk=pk)
    if not may(user, Action.CHANGE, order):
        raise PermissionDenied("You may not change this order.")
    if order.status not in EDITABLE_STATUSES:
        messages.error(request, f"A {order.get_status_display().lower()} order cannot be changed.")
        return redirect("trading:order", order.pk)
    return _order_form(request, order)


# --- order detail and actions --------------------------------------------------------------


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    order = get_object_or_404(queries.order_detail(user), pk=pk)
    may_change = may(user, Action.CHANGE, order)
    history = audit.merged(
        audit.entries(order.history, what="Order"),
        audit.entries(OrderLine.history.filter(order_id=order.pk), what="Line"),
    )
    context = {
        "order": order,
        "lines": list(order.lines.all()),
        "deliveries": list(order.deliveries.all()),
        "assets": list(order.assets.all()),
        "may_change": may_change,
        "may_edit": may_change and order.status in EDITABLE_STATUSES,
        "may_delete": may(user, Action.DELETE, order),
        "next_statuses": [
            (status, OrderStatus(status).label)
            for status in OrderStatus.values
            if status in TRANSITIONS[order.status]
        ],
        "may_ship": may_change and order.status in (OrderStatus.PLACED, OrderStatus.PAID),
        "ship_form": ShipForm(),
        "history": history,
        "today": timezone.localdate(),
        "base_currency": settings.BASE_CURRENCY,
    }
    return render(request, "trading/order_detail.html", context)


@login_required
@require_POST
def order_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    user = signed_in(request)
    order = get_object_or_404(queries.order_detail(user), pk=pk)
    post = request.POST
    try:
        if verb == "status":
            raw_day = post.get("on", "")
            day = _day(raw_day) if raw_day else None
            services.change_status(
                user, order, post.get("status", ""), on=day, reason=post.get("reason", "")
            )
            done = f"The order is {order.get_status_display().lower()}."
        elif verb == "ship":
            form = ShipForm(post)
            if not form.is_valid():
                raise ValidationError(form.errors.as_text())
            services.ship_order(user, order, **form.cleaned_data)
            done = "Shipment recorded."
        elif verb in ("confirm-delivery", "fail-delivery"):
            delivery = get_object_or_404(order.deliveries.all(), pk=post.get("delivery"))
            delivery.order = order
            if verb == "confirm-delivery":
                services.confirm_delivery(user, delivery)
                done = "Delivered."
            else:
                services.fail_delivery(user, delivery, notes=post.get("notes", ""))
                done = "Delivery marked as failed."
        elif verb == "trash":
            services.trash_order(user, order)
            messages.success(request, f"{order} is in the trash.")
            return redirect("trading:orders")
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
    return redirect("trading:order", order.pk)


def _day(raw: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({"on": [f"{raw!r} is not a date like 2026-01-31."]}) from None


# --- installed base ----------------------------------------------------------------------------


@login_required
def asset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    asset = get_object_or_404(queries.asset_detail(user), pk=pk)
    may_change = may(user, Action.CHANGE, asset)
    form = AssetForm(
        initial={
            name: getattr(asset, name)
            for name in (
                "serial",
                "bought_on",
                "installed_on",
                "warranty_end",
                "renewal_on",
                "last_serviced_on",
                "next_service_due",
                "notes",
                "version",
            )
        }
    )
    context = {
        "asset": asset,
        "form": form,
        "may_change": may_change,
        "may_delete": may(user, Action.DELETE, asset),
        "service_form": ServiceForm(initial={"on": timezone.localdate()}),
        "history": audit.entries(asset.history, what="Unit"),
        # Reminders build on the installed base; imported here so trading does not need them.
        "reminders": _asset_reminders(user, asset),
    }
    return render(request, "trading/asset_detail.html", context)


def _asset_reminders(user: User, asset: Asset) -> dict[str, Any] | None:
    from rapport.reminders import outreach_queries
    from rapport.reminders.models import ServiceReminder

    state = outreach_queries.for_asset(user, asset)
    if state is None:
        return None
    return {
        "state": state,
        "may_retry": can(user, Action.CHANGE, ServiceReminder),
        "days_ahead": settings.SERVICE_REMINDER_DAYS_AHEAD,
    }


@login_required
@require_POST
def asset_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    user = signed_in(request)
    asset = get_object_or_404(queries.asset_detail(user), pk=pk)
    try:
        if verb == "edit":
            form = AssetForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors.as_text())
            data = dict(form.cleaned_data)
            expected = data.pop("version")
            data["serial"] = data["serial"] or ""
            data["notes"] = data["notes"] or ""
            if data["next_service_due"] == asset.next_service_due:
                del data["next_service_due"]  # unchanged: let the dates decide it
            services.update_asset(user, asset, data, expected_version=expected)
            done = "Saved."
        elif verb == "service":
            service_form = ServiceForm(request.POST)
            if not service_form.is_valid():
                raise ValidationError(service_form.errors.as_text())
            services.record_service(
                user, asset, service_form.cleaned_data["on"], service_form.cleaned_data["notes"]
            )
            done = "Service recorded."
        elif verb == "trash":
            services.trash_asset(user, asset)
            messages.success(request, f"{asset} is in the trash.")
            return redirect("trading:assets")
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
    return redirect("trading:asset", asset.pk)
