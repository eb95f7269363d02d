"""Plotly figure builders: DataFrames and labels in, figures out (pages and notebooks alike)."""

from __future__ import annotations

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
    fig.update_yaxes(title_text=tonnes_label, secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text=f"{labels('kpi_' + line_col)} ({money_unit})", secondary_y=True,
                     showgrid=False, zeroline=True, zerolinecolor="#999")
    step = max(1, len(x) // 12)
    fig.update_xaxes(tickvals=list(x)[::step], ticktext=ticks[::step])
    title = labels("monthly_title" if has_profit else "monthly_title_no_profit")
    return _layout(fig, title)
