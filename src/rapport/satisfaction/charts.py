"""Plotly figures of the survey report, as JSON the page's script draws (see docs/adr/0002)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from rapport.insights.charts import ACCENT, LAYOUT
from rapport.satisfaction.report import Report

CLASS_COLOURS = {
    "detractor": "#d64545",
    "passive": "#9aa4b2",
    "promoter": "#1b998b",
    "dissatisfied": "#d64545",
    "satisfied": "#2f6fde",
    "delighted": "#1b998b",
}


def _count_axis(counts: Sequence[int]) -> dict[str, Any]:
    """Whole answers only: plotly would otherwise tick 0.2, 0.4... for small counts."""
    step = max(1, math.ceil(max(counts, default=0) / 5))
    return {"title": {"text": "Answers"}, "tickformat": ",d", "dtick": step, "rangemode": "tozero"}


def score_over_time(report: Report) -> dict[str, Any]:
    figure = go.Figure(
        go.Scatter(
            x=[month.month for month in report.months],
            y=[round(month.score, 1) for month in report.months],
            customdata=[month.answers for month in report.months],
            mode="lines+markers",
            line={"color": ACCENT},
            hovertemplate="%{x}: %{y}<br>%{customdata} answers<extra></extra>",
        )
    )
    nps = report.survey.kind == "nps"
    figure.update_layout(
        **LAYOUT,
        xaxis_title="Month",
        xaxis_type="category",  # "2026-11" is a month, not a moment to interpolate between
        yaxis_title="NPS" if nps else "% satisfied or delighted",
        yaxis_range=[-100, 100] if nps else [0, 100],
    )
    return figure.to_plotly_json()


def distribution(report: Report) -> dict[str, Any]:
    nps = report.survey.kind == "nps"
    figure = go.Figure(
        go.Bar(x=list(report.values.labels), y=list(report.values.counts), marker_color=ACCENT)
    )
    figure.update_layout(
        **LAYOUT,
        xaxis_title="Score (0-10)" if nps else "Performance - expectation",
        yaxis=_count_axis(report.values.counts),
        xaxis_type="category",
    )
    return figure.to_plotly_json()


def classes(report: Report) -> dict[str, Any]:
    labels = list(report.classes.labels)
    figure = go.Figure(
        go.Bar(
            x=[label.capitalize() for label in labels],
            y=list(report.classes.counts),
            marker_color=[CLASS_COLOURS.get(label, ACCENT) for label in labels],
        )
    )
    figure.update_layout(**LAYOUT, yaxis=_count_axis(report.classes.counts))
    return figure.to_plotly_json()


def figures(report: Report) -> dict[str, Any]:
    return {
        "survey-score": score_over_time(report),
        "survey-values": distribution(report),
        "survey-classes": classes(report),
    }
