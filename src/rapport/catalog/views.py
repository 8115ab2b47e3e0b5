"""Product pages: list (filters, columns, export), detail with edit, new, trash; exchange rates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from rapport.catalog import queries, services, tables
from rapport.catalog.filtersets import ProductFilterSet
from rapport.catalog.forms import ExchangeRateForm, ProductForm
from rapport.catalog.models import ExchangeRate, Product
from rapport.core import audit
from rapport.core.htmx import render_page_or_partial
from rapport.core.lists import build_list, count_rows, csv_response, filtered_rows
from rapport.core.permissions import Action, can, may_see_trash, require
from rapport.core.services import ConflictError
from rapport.users.models import User, signed_in

PRODUCT_LIST = {
    "title": "Products",
    "list_url": "catalog:products",
    "count_url": "catalog:product-count",
    "export_url": "catalog:product-export",
    "new_url": "catalog:product-new",
    "new_label": "New product",
    "detail_url": "catalog:product",
}


def errors_into(form: Any, error: ValidationError) -> None:
    """A service's ValidationError shown on the form, by field where it names one."""
    if hasattr(error, "error_dict"):
        for name, texts in error.message_dict.items():
            target = name if name in form.fields else None
            for text in texts:
                form.add_error(target, text if target or name == "__all__" else f"{name}: {text}")
    else:
        for text in error.messages:
            form.add_error(None, text)


def message_of(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(" ".join(texts) for texts in error.message_dict.values())
    return " ".join(error.messages)


@login_required
def product_list(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, Product)
    state = build_list(request, tables.PRODUCTS, queries.products(user), ProductFilterSet)
    context = {
        "page": PRODUCT_LIST,
        "list": state,
        "can_add": can(user, Action.ADD, Product),
        "can_export": can(user, Action.EXPORT, Product),
        "extra_links": [
            ("catalog:exchange-rates", "Exchange rates"),
            *trash_link(user, "catalog:product-trash"),
        ],
    }
    return render_page_or_partial(request, "catalog/list.html", context, partial="results")


def trash_link(user: User, url_name: str) -> list[tuple[str, str]]:
    return [(url_name, "Trash")] if may_see_trash(user) else []


TRASH_ROWS = 200


def trash_page(
    request: HttpRequest,
    *,
    title: str,
    rows: QuerySet[Any],
    restore: Callable[[User, Any], Any],
    list_url: str,
    trash_url: str,
) -> HttpResponse:
    """The latest trashed rows with Restore (admins only: see core.permissions.may_see_trash).

    ``rows`` is the app's trash queryset (``queries.*(user, trash=True)``), already
    empty for everyone else; the check here turns that into a clear 403.
    """
    user = signed_in(request)
    if not may_see_trash(user):
        raise PermissionDenied("Only admins see the trash.")
    if request.method == "POST":
        record = get_object_or_404(rows, pk=request.POST.get("id"))
        try:
            restore(user, record)
        except ValidationError as error:
            messages.error(request, message_of(error))
        except PermissionDenied as error:
            messages.error(request, str(error) or "Your role does not allow this.")
        else:
            messages.success(request, f"{record} is restored.")
        return redirect(trash_url)
    context = {
        "title": title,
        "list_url": list_url,
        "rows": list(rows.select_related("updated_by").order_by("-deleted_at", "-pk")[:TRASH_ROWS]),
        "limit": TRASH_ROWS,
    }
    return render(request, "catalog/trash.html", context)


@login_required
def product_trash(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    return trash_page(
        request,
        title="Products",
        rows=queries.products(user, trash=True),
        restore=services.restore_product,
        list_url="catalog:products",
        trash_url="catalog:product-trash",
    )


@login_required
def product_count(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, Product)
    total = count_rows(request, queries.products(user), ProductFilterSet)
    return HttpResponse(
        "—" if total is None else f"{total:,} {'match' if total == 1 else 'matches'}"
    )


@login_required
def product_export(request: HttpRequest) -> HttpResponseBase:
    user = signed_in(request)
    require(user, Action.EXPORT, Product)
    rows = queries.products(user, Action.EXPORT)
    state = build_list(request, tables.PRODUCTS, rows, ProductFilterSet)
    try:
        chosen = filtered_rows(request, tables.PRODUCTS, rows, ProductFilterSet)
    except ValidationError:
        messages.error(request, "Fix the filters before exporting.")
        return redirect("catalog:products")
    return csv_response("products.csv", state.columns, chosen)


def _product_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {key: value for key, value in data.items() if key != "version"}
    for key in ("category", "currency", "description"):
        values[key] = values.get(key) or ""
    values["related"] = list(values.get("related") or [])
    return values


@login_required
def product_new(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.ADD, Product)
    form = ProductForm(
        request.POST or None,
        products=queries.products(user),
        initial={"currency": settings.BASE_CURRENCY, "active": True},
    )
    if request.method == "POST" and form.is_valid():
        try:
            product = services.create_product(
                user, services.ProductInput(**_product_values(form.cleaned_data))
            )
        except ValidationError as error:
            errors_into(form, error)
        else:
            messages.success(request, f"{product} is added.")
            return redirect("catalog:product", product.pk)
    return render(request, "catalog/product_form.html", {"form": form})


@login_required
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    product = get_object_or_404(queries.product_detail(user), pk=pk)
    may_change = can(user, Action.CHANGE, product)
    related = list(product.related.all())
    form = ProductForm(
        products=queries.products(user),
        exclude=product.pk,
        initial={
            **{
                name: getattr(product, name)
                for name in (
                    "sku",
                    "name",
                    "category",
                    "kind",
                    "unit_price",
                    "currency",
                    "active",
                    "service_interval_days",
                    "warranty_months",
                    "renewal_months",
                    "description",
                    "version",
                )
            },
            "upgrade_to": product.upgrade_to_id,
            "related": [other.pk for other in related],
        },
    )
    context = {
        "product": product,
        "related": related,
        "upgrades_from": list(product.upgrades_from.all()),
        "form": form if may_change else None,
        "may_delete": can(user, Action.DELETE, product),
        "history": audit.entries(product.history, what="Product"),
    }
    return render(request, "catalog/product_detail.html", context)


@login_required
@require_POST
def product_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    user = signed_in(request)
    product = get_object_or_404(queries.product_detail(user), pk=pk)
    try:
        if verb == "edit":
            form = ProductForm(request.POST, products=queries.products(user), exclude=product.pk)
            if not form.is_valid():
                raise ValidationError(form.errors.as_text())
            expected = form.cleaned_data["version"]
            services.update_product(
                user, product, _product_values(form.cleaned_data), expected_version=expected
            )
            done = "Saved."
        elif verb == "trash":
            services.trash_product(user, product)
            messages.success(request, f"{product} is in the trash.")
            return redirect("catalog:products")
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
    return redirect("catalog:product", product.pk)


@login_required
def exchange_rates(request: HttpRequest) -> HttpResponse:
    """Every rate, newest first per currency; admins and managers add or correct them."""
    user = signed_in(request)
    require(user, Action.VIEW, ExchangeRate)
    may_add = can(user, Action.ADD, ExchangeRate)
    form = ExchangeRateForm(request.POST or None)
    if request.method == "POST":
        require(user, Action.ADD, ExchangeRate)
        if form.is_valid():
            try:
                rate = services.set_exchange_rate(user, **form.cleaned_data)
            except ValidationError as error:
                errors_into(form, error)
            else:
                messages.success(request, f"Saved: {rate}.")
                return redirect("catalog:exchange-rates")
    rows = queries.exchange_rates(user).order_by("currency", "-valid_from")[:500]
    context = {
        "rows": rows,
        "form": form if may_add else None,
        "base_currency": settings.BASE_CURRENCY,
    }
    return render(request, "catalog/exchange_rates.html", context)
