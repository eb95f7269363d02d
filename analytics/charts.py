"""Plotly figure builders: DataFrames and labels in, figures out (pages and notebooks alike)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.i18n import Labels

PALETTE = {"volume": "#4C78A8", "profit": "#E45756", "revenue": "#F58518", "grid": "#E5E5E5"}
FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"


def _layout(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(title=title, font_family=FONT, template="plotly_white", height=420,
                      margin=dict(l=10, r=10, t=60, b=10), hovermode="x unified",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=1, xanchor="right"))
    return fig


def aligned_ranges(bars: pd.Series, line: pd.Series, pad: float = 0.08
                   ) -> tuple[list[float], list[float]]:
    """Axis ranges that put zero at the same height on both axes.

    Bars start at zero; when the line dips below zero (a loss-making month) the bar axis gets
    the same share of negative room, so "zero profit" is the bars' baseline, not a stray line.
    """
    top_bar = float(max(bars.max(), 0.0)) or 1.0
    lo, hi = float(min(line.min(), 0.0)), float(max(line.max(), 0.0))
    span = (hi - lo) or 1.0
    lo, hi = lo - pad * span * (lo < 0), hi + pad * span
    below = -lo / (hi - lo)  # share of the height below zero
    bar_hi = top_bar * (1 + pad)
    bar_lo = -bar_hi * below / (1 - below) if below > 0 else 0.0
    return [bar_lo, bar_hi], [lo, hi]


def nice_ticks(top: float, count: int = 4, *, low: float = 0.0) -> list[float]:
    """Round tick values through zero, from ``low`` (≤ 0) up to ``top``."""
    if top <= low:
        return [0.0]
    raw = (top - min(low, 0.0)) / count
    magnitude = 10 ** np.floor(np.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    below = np.arange(0, low, -step)[1:][::-1] if low < 0 else np.array([])
    return [float(v) for v in (*below, *np.arange(0, top, step))]


def monthly_volume_profit(monthly: pd.DataFrame, labels: Labels) -> go.Figure:
    """Tonnes as bars (left axis) and gross profit as a line (right axis) per month.

    Without a gross_profit_cny column (a rep's view, or no cost data) the line shows revenue.
    """
    has_profit = "gross_profit_cny" in monthly
    line_col = "gross_profit_cny" if has_profit else "revenue_cny"
    zh = labels.lang == "zh"
    x = monthly["month"]
    ticks = [labels.month(m) for m in x]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    tonnes_label = labels("kpi_volume_t") + (" (吨)" if zh else " (t)")
    money_div, money_unit = (1e4, "万元") if zh else (1e6, "CNY M")
    fig.add_bar(x=x, y=monthly["volume_t"], name=tonnes_label, marker_color=PALETTE["volume"],
                customdata=ticks, hovertemplate="%{customdata}: %{y:,.0f}<extra></extra>",
                secondary_y=False)
    fig.add_scatter(x=x, y=monthly[line_col] / money_div, mode="lines+markers",
                    name=f"{labels('kpi_' + line_col)} ({money_unit})",
                    line=dict(color=PALETTE["profit" if has_profit else "revenue"], width=2),
                    hovertemplate="%{y:,.1f}<extra></extra>", secondary_y=True)
    line = monthly[line_col] / money_div
    bars_range, line_range = aligned_ranges(monthly["volume_t"], line)
    fig.update_yaxes(title_text=tonnes_label, secondary_y=False, range=bars_range,
                     tickvals=nice_ticks(bars_range[1]), tickformat=",.0f")
    digits = 1 if line_range[1] - line_range[0] < 20 else 0
    fig.update_yaxes(title_text=f"{labels('kpi_' + line_col)} ({money_unit})", secondary_y=True,
                     showgrid=False, zeroline=True, zerolinecolor="#999", range=line_range,
                     tickvals=nice_ticks(line_range[1], low=line_range[0]),
                     tickformat=f",.{digits}f")
    step = max(1, len(x) // 12)
    fig.update_xaxes(tickvals=list(x)[::step], ticktext=ticks[::step])
    title = labels("monthly_title" if has_profit else "monthly_title_no_profit")
    return _layout(fig, title)
