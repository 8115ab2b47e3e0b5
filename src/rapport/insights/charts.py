"""Plotly figures for the Insights page, as JSON the page's script draws."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

ACCENT = "#2f6fde"
MUTED = "#9aa4b2"
LAYOUT: dict[str, Any] = {
    "margin": {"l": 50, "r": 20, "t": 30, "b": 45},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": "system-ui, sans-serif", "size": 12},
    "height": 320,
}


def value_distribution(values: list[float], currency: str) -> dict[str, Any]:
    figure = go.Figure(go.Histogram(x=values, nbinsx=40, marker_color=ACCENT))
    figure.update_layout(
        **LAYOUT,
        xaxis_title=f"Predicted lifetime value ({currency})",
        yaxis_title="Customers",
        bargap=0.05,
    )
    return figure.to_plotly_json()


def alive_versus_value(
    points: list[tuple[float, float, str, str]], currency: str
) -> dict[str, Any]:
    """One dot per customer: P(alive) against value; clicking opens the contact."""
    figure = go.Figure(
        go.Scatter(
            x=[p[0] for p in points],
            y=[p[1] for p in points],
            text=[p[2] for p in points],
            customdata=[p[3] for p in points],
            mode="markers",
            marker={"size": 6, "color": ACCENT, "opacity": 0.6},
            hovertemplate="%{text}<br>P(alive) %{x:.2f}<br>value %{y:,.0f}<extra></extra>",
        )
    )
    figure.update_layout(
        **LAYOUT,
        xaxis_title="Probability still a customer",
        yaxis_title=f"Predicted lifetime value ({currency})",
        xaxis_range=[0, 1.02],
    )
    return figure.to_plotly_json()


def holdout(report: dict[str, Any]) -> dict[str, Any]:
    buckets = report["buckets"]
    figure = go.Figure(
        [
            go.Bar(name="Actual", x=buckets, y=report["actual"], marker_color="#1b998b"),
            go.Bar(name="Model", x=buckets, y=report["predicted"], marker_color=ACCENT),
            go.Bar(name="Naive", x=buckets, y=report["naive"], marker_color=MUTED),
        ]
    )
    figure.update_layout(
        **LAYOUT,
        barmode="group",
        xaxis_title="Repeat purchases before the holdout period",
        yaxis_title=f"Purchases per customer in {report['weeks']} weeks",
        legend={"orientation": "h", "y": 1.12},
    )
    return figure.to_plotly_json()
