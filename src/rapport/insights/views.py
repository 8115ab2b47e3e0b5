"""The Insights page: value, loyalty and churn across all customers the viewer sees."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_POST

from rapport.core.permissions import Action, can, require
from rapport.insights import charts, queries, services
from rapport.insights.forms import OfferRuleForm, TierForm
from rapport.insights.models import LoyaltyTier, ModelRun, OfferRule
from rapport.insights.rfm import GRID, SEGMENT_LABELS
from rapport.users.models import signed_in

SCATTER_POINTS = 2000

# Plotly draws its charts with inline styles; scripts stay nonce-only.
CHART_CSP: dict[str, Any] = {**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]}


@login_required
@csp_override(CHART_CSP)
def overview(request: HttpRequest) -> HttpResponse:
    user = signed_in(request)
    require(user, Action.VIEW, ModelRun)
    run = queries.last_good_run(user)
    latest = queries.latest_run(user)
    context: dict[str, Any] = {
        "run": run,
        "latest": latest,
        "may_refresh": can(user, Action.ADD, ModelRun),
        "currency": settings.BASE_CURRENCY,
    }
    if run is not None:
        rows = queries.scores(user)
        context.update(_grid(queries.segment_grid(user)))
        valued = rows.filter(lifetime_value__isnull=False)
        values = [float(v or 0) for v in valued.values_list("lifetime_value", flat=True)]
        points = [
            (p_alive or 0.0, float(value or 0), name, f"/contacts/{pk}/")
            for pk, name, p_alive, value in valued.filter(p_alive__isnull=False)
            .order_by("-lifetime_value")
            .values_list("contact_id", "contact__full_name", "p_alive", "lifetime_value")[
                :SCATTER_POINTS
            ]
        ]
        context["charts"] = {
            "value-chart": charts.value_distribution(values, settings.BASE_CURRENCY),
            "alive-chart": charts.alive_versus_value(points, settings.BASE_CURRENCY),
        }
        report = run.diagnostics.get("holdout", {})
        if "buckets" in report:
            context["charts"]["holdout-chart"] = charts.holdout(report)
        context["holdout"] = report
        context["at_risk"] = (
            rows.filter(valuable_at_risk=True)
            .select_related("contact")
            .order_by("-lifetime_value")[:20]
        )
    return render(request, "insights/overview.html", context)


def _grid(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows recency 5..1, columns frequency-monetary 1..5, with counts and value."""
    table: dict[tuple[int, int], dict[str, Any]] = {}
    for cell in cells:
        fm = int((cell["frequency_score"] + cell["monetary_score"]) / 2 + 0.5)
        entry = table.setdefault((cell["recency_score"], fm), {"customers": 0, "value": 0.0})
        entry["customers"] += cell["customers"]
        entry["value"] += float(cell["value"] or 0)
    rows = []
    for recency in (5, 4, 3, 2, 1):
        rows.append(
            {
                "recency": recency,
                "cells": [
                    {
                        "fm": fm,
                        "segment": str(GRID[recency][fm - 1]),
                        "label": SEGMENT_LABELS[GRID[recency][fm - 1]],
                        **table.get((recency, fm), {"customers": 0, "value": 0.0}),
                    }
                    for fm in (1, 2, 3, 4, 5)
                ],
            }
        )
    return {"grid": rows}


@login_required
@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    services.request_refresh(signed_in(request))
    messages.success(request, "Refresh started; the page shows the new scores when it is done.")
    return redirect("insights:overview")


@login_required
@require_POST
def follow_up(request: HttpRequest, offer_id: int) -> HttpResponse:
    user = signed_in(request)
    offer = get_object_or_404(queries.offers(user), pk=offer_id)
    contact_id = offer.contact_id
    try:
        task = services.follow_up_offer(user, offer)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Task created: {task.title}.")
    return redirect("customers:contact", contact_id)


@login_required
@require_POST
def offer_deal(request: HttpRequest, offer_id: int) -> HttpResponse:
    user = signed_in(request)
    offer = get_object_or_404(queries.offers(user), pk=offer_id)
    try:
        deal = services.deal_from_offer(user, offer)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("customers:contact", offer.contact_id)
    messages.success(request, f"Deal opened: {deal.name}.")
    return redirect("sales:deal", deal.pk)


@login_required
def tiers(request: HttpRequest) -> HttpResponse:
    """Admins define loyalty tiers; everyone who sees customers may read them."""
    user = signed_in(request)
    require(user, Action.VIEW, LoyaltyTier)
    may_change = can(user, Action.CHANGE, LoyaltyTier)
    form = TierForm()
    if request.method == "POST":
        require(user, Action.CHANGE, LoyaltyTier)
        tier = None
        if request.POST.get("id"):
            tier = get_object_or_404(LoyaltyTier, pk=request.POST["id"])
        if request.POST.get("delete") and tier is not None:
            services.delete_tier(user, tier)
            messages.success(
                request, f"Tier {tier.name} deleted; customers move at the next refresh."
            )
            return redirect("insights:tiers")
        form = TierForm(request.POST)
        if form.is_valid():
            try:
                saved = services.save_tier(user, tier, **form.cleaned_data)
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                messages.success(
                    request, f"Tier {saved.name} saved; customers move at the next refresh."
                )
                return redirect("insights:tiers")
    context = {
        "tiers": LoyaltyTier.objects.all(),
        "form": form,
        "may_change": may_change,
        "currency": settings.BASE_CURRENCY,
    }
    return render(request, "insights/tiers.html", context)


@login_required
def offer_rules(request: HttpRequest) -> HttpResponse:
    """Admins say who may be offered what; everyone who sees customers may read the rules."""
    user = signed_in(request)
    require(user, Action.VIEW, OfferRule)
    form = OfferRuleForm()
    if request.method == "POST":
        require(user, Action.CHANGE, OfferRule)
        if request.POST.get("delete"):
            rule = get_object_or_404(OfferRule, pk=request.POST.get("id"))
            services.delete_offer_rule(user, rule)
            messages.success(request, "Rule deleted; offers change at the next refresh.")
            return redirect("insights:offer-rules")
        form = OfferRuleForm(request.POST)
        if form.is_valid():
            try:
                services.save_offer_rule(user, None, **form.cleaned_data)
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                messages.success(request, "Rule saved; offers change at the next refresh.")
                return redirect("insights:offer-rules")
    context = {
        "rules": OfferRule.objects.select_related("product"),
        "segment_labels": {str(key): label for key, label in SEGMENT_LABELS.items()},
        "form": form,
        "may_change": can(user, Action.CHANGE, OfferRule),
    }
    return render(request, "insights/offer_rules.html", context)
