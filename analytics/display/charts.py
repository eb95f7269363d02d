"""Plotly figure builders: DataFrames and labels in, figures out (pages and notebooks alike)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from analytics.display.i18n import Labels

PALETTE = {"volume": "#4C78A8", "profit": "#E45756", "revenue": "#F58518", "grid": "#E5E5E5"}
FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"
# Every figure's template, as plotly's default: naming it in each figure's layout made plotly
# validate a deep copy of it per figure (25 ms; 0.15 s of each rerun of a page of six charts).
# The figures come out the same.
pio.templates.default = "plotly_white"


def _layout(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(title=title, font_family=FONT, height=420,
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


def _revenue_bars(monthly: pd.DataFrame, labels: Labels) -> go.Figure:
    zh = labels.lang == "zh"
    div, unit = (1e4, "万元") if zh else (1e6, "CNY M")
    fig = go.Figure(go.Bar(x=monthly["month"], y=monthly["revenue_cny"] / div,
                           marker_color=PALETTE["revenue"],
                           customdata=[labels.month(m) for m in monthly["month"]],
                           hovertemplate="%{customdata}: %{y:,.1f}<extra></extra>"))
    fig.update_yaxes(title_text=f"{labels('kpi_revenue_cny')} ({unit})", rangemode="tozero")
    return _layout(fig, labels("monthly_title_revenue_only"))


def monthly_volume_profit(monthly: pd.DataFrame, labels: Labels) -> go.Figure:
    """Tonnes as bars (left axis) and gross profit as a line (right axis) per month.

    Without a gross_profit_cny column (a rep's view, or no cost data) the line shows revenue.
    """
    has_profit = "gross_profit_cny" in monthly
    line_col = "gross_profit_cny" if has_profit else "revenue_cny"
    if "volume_t" not in monthly:  # a transactions file without tonnes: revenue bars only
        return _revenue_bars(monthly, labels)
    zh = labels.lang == "zh"
    x = monthly["month"]
    ticks = [labels.month(m) for m in x]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    tonnes_label = labels("kpi_volume_t") + (" (吨)" if zh else " (t)")
    biggest = float(monthly[line_col].abs().max()) if len(monthly) else 0.0
    money_div, money_unit = ((1e4, "万元") if zh else
                             (1e6, "CNY M") if biggest >= 1e6 else (1e3, "CNY k"))
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


# -- customer value ---------------------------------------------------------------------------
TIER_COLORS = {"core": "#8E1B1B", "important": "#D1495B", "medium": "#EDAE49",
               "small": "#A0AEC0", "new": "#2E86AB", "lost": "#4A4A4A"}
CLASS_COLORS = {"A": "#8E1B1B", "B": "#D1495B", "C": "#EDAE49", "D": "#A0AEC0"}
MOVE_COLORS = {"up": "rgba(46,134,171,0.45)", "down": "rgba(209,73,91,0.55)",
               "same": "rgba(160,174,192,0.35)", "new": "rgba(46,134,171,0.25)",
               "lost": "rgba(74,74,74,0.5)"}


def pyramid(summary: pd.DataFrame, labels: Labels, *, value_label: str) -> go.Figure:
    """Customer pyramid (share of customers, core on top) beside the inverted pyramid of value
    share. Bars are centred; each carries its tier key in customdata for click-through."""
    tiers = list(summary["tier"])
    names = [labels.value("tier", t) for t in tiers]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=(labels("pyramid_customers"),
                                        labels("pyramid_value", metric=value_label)))
    for col, share, text in (
        (1, summary["customer_share"], [f"{n:,} · {s:.1%}" for n, s in
                                        zip(summary["customers"], summary["customer_share"],
                                            strict=True)]),
        (2, summary["value_share"], [f"{s:.1%}" for s in summary["value_share"]]),
    ):
        width = share.clip(lower=0.004).to_numpy()
        fig.add_bar(y=names, x=width, base=-width / 2, orientation="h", row=1, col=col,
                    marker_color=[TIER_COLORS[t] for t in tiers], text=text,
                    textposition="outside", cliponaxis=False, customdata=tiers,
                    hovertemplate="%{y}: %{text}<extra></extra>", showlegend=False)
    fig.update_yaxes(categoryorder="array", categoryarray=names[::-1])
    fig.update_xaxes(visible=False, range=[-0.75, 0.75])
    fig = _layout(fig, labels("pyramid_title"))
    fig.update_layout(hovermode="closest", bargap=0.08, clickmode="event+select")
    return fig


def migration_sankey(moves: pd.DataFrame, labels: Labels) -> go.Figure:
    """Customers flowing from last period's tiers (left) to this period's (right)."""
    left = ["core", "important", "medium", "small", "new"]
    right = ["core", "important", "medium", "small", "lost"]
    nodes = [labels.value("tier", t) for t in left] + [labels.value("tier", t) for t in right]
    flows = moves.groupby(["tier_previous", "tier_current", "direction"]).agg(
        customers=("customer_id", "count"), change=("change", "sum")).reset_index()
    fig = go.Figure(go.Sankey(
        arrangement="fixed",
        node=dict(label=nodes, pad=18, thickness=18,
                  color=[TIER_COLORS[t] for t in left] + [TIER_COLORS[t] for t in right],
                  x=[0.01] * 5 + [0.99] * 5, y=[0.05, 0.2, 0.42, 0.7, 0.95] * 2),
        link=dict(source=[left.index(s) for s in flows["tier_previous"]],
                  target=[5 + right.index(t) for t in flows["tier_current"]],
                  value=flows["customers"],
                  color=[MOVE_COLORS[d] for d in flows["direction"]],
                  customdata=[labels.money(v) for v in flows["change"]],
                  hovertemplate="%{source.label} → %{target.label}: %{value}"
                                "<br>Δ %{customdata}<extra></extra>")))
    fig = _layout(fig, labels("migration_sankey_title"))
    fig.update_layout(height=460)
    return fig


def migration_heatmap(counts: pd.DataFrame, change: pd.DataFrame, labels: Labels,
                      money_div: float, unit: str) -> go.Figure:
    """Transition matrix: colour = customers; text = customers and the change in value."""
    rows = [labels.value("tier", t) for t in counts.index]
    cols = [labels.value("tier", t) for t in counts.columns]
    text = [[("" if pd.isna(n) else f"{int(n)}<br>{c / money_div:+,.1f}")
             for n, c in zip(counts.loc[r], change.loc[r], strict=True)] for r in counts.index]
    fig = go.Figure(go.Heatmap(z=counts.to_numpy(), x=cols, y=rows, text=text,
                               texttemplate="%{text}", colorscale="Reds", showscale=False,
                               hovertemplate="%{y} → %{x}: %{z}<extra></extra>"))
    # axis titles would collide with the chart title: the title names rows and columns
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="top")
    fig = _layout(fig, labels("migration_matrix_title", unit=unit))
    # the column labels sit on top: the title goes above them, with room for both
    fig.update_layout(height=480, margin=dict(t=130), title=dict(y=0.98, yanchor="top"))
    return fig


PARETO_BARS = 100  # more items than this are drawn as bars of consecutive ranks


def pareto_bins(classified: pd.DataFrame, *, name_col: str, bars: int = PARETO_BARS
                ) -> pd.DataFrame:
    """The ranked items as at most ``bars`` bars: one per item for a short list; for a long
    one (4,296 customers draw as invisible slivers) groups of consecutive ranks, each with
    its summed value, the class most of its items have, the cumulative share at its last
    rank and a label naming its ranks. Columns: rank, value, abc_class, cumulative_share,
    label."""
    n = len(classified)
    if n <= bars:
        return classified.assign(label=classified[name_col].astype(str))[
            ["rank", "value", "abc_class", "cumulative_share", "label"]]
    size = -(-n // bars)
    group = (classified["rank"] - 1) // size
    out = classified.groupby(group, sort=True).agg(
        first=("rank", "min"), rank=("rank", "max"), value=("value", "sum"),
        abc_class=("abc_class", lambda s: s.mode().iloc[0]),
        cumulative_share=("cumulative_share", "last"), items=("rank", "size"))
    out["label"] = [f"#{a:,}–{b:,}" for a, b in zip(out["first"], out["rank"], strict=True)]
    return out.reset_index(drop=True)[["rank", "value", "abc_class", "cumulative_share",
                                       "label"]]


def pareto(classified: pd.DataFrame, labels: Labels, *, name_col: str, value_label: str,
           thresholds: tuple[float, float]) -> go.Figure:
    """Pareto chart: value bars coloured by class (best first) and the cumulative share line,
    with the A and B thresholds drawn; readable from ten items to a hundred thousand (long
    lists as bars of consecutive ranks, see pareto_bins)."""
    binned = pareto_bins(classified, name_col=name_col)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for cls in ("A", "B", "C"):
        part = binned[binned["abc_class"] == cls]
        fig.add_bar(x=part["rank"], y=part["value"], name=labels("abc_class_n", cls=cls),
                    marker_color=CLASS_COLORS[cls], customdata=part["label"],
                    hovertemplate="%{customdata}: %{y:,.0f}<extra></extra>", secondary_y=False)
    fig.add_scatter(x=binned["rank"], y=binned["cumulative_share"] * 100,
                    mode="lines", name=labels("cumulative_share"),
                    line=dict(color="#222", width=2),
                    hovertemplate="%{y:.1f}%<extra></extra>", secondary_y=True)
    # the thresholds as dashed lines on the share axis, labelled by that axis's own ticks
    # (75 and 95 stand apart there; labels drawn in the plot overlapped each other and bars)
    for t in thresholds:
        fig.add_shape(type="line", xref="paper", x0=0, x1=1, yref="y2", y0=t * 100,
                      y1=t * 100, line=dict(color="#888", dash="dash", width=1))
    fig.update_yaxes(title_text=value_label, secondary_y=False, tickformat=",.0f")
    fig.update_yaxes(title_text=labels("cumulative_share") + " %", range=[0, 105],
                     secondary_y=True, showgrid=False,
                     tickvals=sorted({0, 25, 50, 100, *(round(t * 100) for t in thresholds)}))
    fig.update_xaxes(title_text=labels("rank_axis"))
    fig = _layout(fig, labels("pareto_title"))
    fig.update_layout(hovermode="closest", bargap=0.05)
    return fig


def abc_xyz_heatmap(matrix: pd.DataFrame, labels: Labels, money_div: float, unit: str
                    ) -> go.Figure:
    counts = matrix.pivot(index="abc_class", columns="xyz_class", values="items")
    value = matrix.pivot(index="abc_class", columns="xyz_class", values="value")
    text = [[f"{int(counts.loc[a, z])}<br>{value.loc[a, z] / money_div:,.0f}"
             for z in counts.columns] for a in counts.index]
    fig = go.Figure(go.Heatmap(z=counts.to_numpy(),
                               x=[labels.value("xyz_name", z) for z in counts.columns],
                               y=[labels.value("abc_name", a) for a in counts.index], text=text,
                               texttemplate="%{text}", colorscale="Blues", showscale=False))
    fig.update_yaxes(autorange="reversed")
    fig = _layout(fig, labels("abc_xyz_title", unit=unit))
    fig.update_layout(height=380)
    return fig


def grade_bars(counts: pd.DataFrame, labels: Labels) -> go.Figure:
    """Customers per grade A–D."""
    fig = go.Figure(go.Bar(x=[labels.value("grade", g) for g in counts["grade"]],
                           y=counts["customers"], marker_color=[CLASS_COLORS[g] for g in
                                                                counts["grade"]],
                           text=counts["customers"], textposition="outside"))
    fig = _layout(fig, labels("grade_distribution"))
    fig.update_layout(height=340, hovermode="closest")
    return fig


def stage_funnel(funnel: pd.DataFrame, labels: Labels) -> go.Figure:
    fig = go.Figure(go.Funnel(y=[labels.value("stage", s) for s in funnel["stage"]],
                              x=funnel["customers"], textinfo="value+percent initial",
                              marker_color=["#CBD5E0", "#A0AEC0", "#EDAE49", "#D1495B",
                                            "#8E1B1B"]))
    fig = _layout(fig, labels("stage_funnel_title"))
    fig.update_layout(height=360, hovermode="closest")
    return fig


QUADRANT_POINTS = 3000  # dots drawn at most; the quadrant counts beside cover everyone


def value_quadrants(view: pd.DataFrame, labels: Labels, *,
                    max_points: int = QUADRANT_POINTS) -> go.Figure:
    """Current value against future value, one dot per customer, quadrant lines at 2.5. A
    larger book draws a fixed random sample of ``max_points`` customers and says so: 70,000
    dots on 16 level pairs show nothing more, and cost 0.25 s to send on every rerun."""
    total = len(view)
    if total > max_points:
        view = view.sample(n=max_points, random_state=0).sort_index()
    view = view.reset_index(drop=True)
    rng = np.random.default_rng(0)  # small fixed jitter: many customers share a level pair
    jx = rng.uniform(-0.08, 0.08, len(view))
    jy = rng.uniform(-0.08, 0.08, len(view))
    fig = go.Figure()
    colors = {"invest": "#8E1B1B", "maintain": "#EDAE49", "develop": "#2E86AB",
              "reduce": "#A0AEC0"}
    for quadrant, part in view.groupby("quadrant"):
        idx = part.index
        fig.add_scatter(x=part["current_value"] + jx[idx], y=part["future_value"] + jy[idx],
                        mode="markers", name=labels.value("quadrant", quadrant),
                        marker=dict(color=colors[str(quadrant)], size=8, opacity=0.75),
                        customdata=part[["customer_id", "name"]].to_numpy(),
                        hovertemplate="%{customdata[1]} (%{customdata[0]})<extra></extra>")
    fig.add_vline(x=2.5, line_dash="dot", line_color="#888")
    fig.add_hline(y=2.5, line_dash="dot", line_color="#888")
    fig.update_xaxes(title_text=labels("current_value"), range=[0.8, 4.2])
    fig.update_yaxes(title_text=labels("future_value"), range=[0.8, 4.2])
    title = labels("value_view_title")
    if total > max_points:
        sample = labels("value_view_sample", n=f"{max_points:,}", total=f"{total:,}")
        title = f"{title} · {sample}"
    fig = _layout(fig, title)
    fig.update_layout(hovermode="closest", height=460)
    return fig


def product_mix(mix: pd.DataFrame, labels: Labels) -> go.Figure:
    fig = go.Figure(go.Bar(x=mix["share"] * 100,
                           y=[labels.value("category", c) for c in mix["category"]],
                           orientation="h", marker_color=PALETTE["volume"],
                           text=[f"{s:.0%}" for s in mix["share"]], textposition="outside"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="%", range=[0, 110])
    fig = _layout(fig, labels("product_mix_title"))
    fig.update_layout(height=320, hovermode="closest")
    return fig


# -- churn ------------------------------------------------------------------------------------
STATUS_COLORS = {"active": "#4C9F70", "declining": "#EDAE49", "overdue": "#D1495B",
                 "lost": "#4A4A4A", "new": "#8CC7A1", "waiting": "#F4D58D",
                 "lapsed": "#9E9E9E"}


def status_trend(trend: pd.DataFrame, labels: Labels) -> go.Figure:
    """Customers per status at each month end, stacked (lost: lost in the two years before)."""
    fig = go.Figure()
    for status in STATUS_COLORS:
        if status in trend:
            fig.add_bar(x=trend["month"], y=trend[status], name=labels.value("status", status),
                        marker_color=STATUS_COLORS[status])
    fig.update_layout(barmode="stack")
    fig.update_xaxes(tickvals=list(trend["month"]),
                     ticktext=[labels.month(m) for m in trend["month"]])
    return _layout(fig, labels("status_trend_title"))


def cohort_heatmap(share: pd.DataFrame, labels: Labels) -> go.Figure:
    z = share.to_numpy(dtype=float) * 100
    text = [["" if np.isnan(v) else f"{v:.0f}%" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z, x=[str(c) for c in share.columns], y=list(share.index),
                               text=text, texttemplate="%{text}", colorscale="Blues",
                               zmin=0, zmax=100, showscale=False,
                               hovertemplate="%{y} +%{x}Q: %{z:.0f}%<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="N")
    fig = _layout(fig, labels("cohort_title"))
    fig.update_layout(height=max(320, 28 * len(share) + 120), hovermode="closest")
    return fig


def calibration(curve: pd.DataFrame, labels: Labels) -> go.Figure:
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(dash="dot", color="#999"),
                    showlegend=False, hoverinfo="skip")
    fig.add_scatter(x=curve["predicted"], y=curve["observed"], mode="lines+markers",
                    line=dict(color=PALETTE["profit"]), name=labels.value("scorer", "model"))
    fig.update_xaxes(title_text=labels("predicted"), range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title_text=labels("observed"), range=[0, 1], tickformat=".0%")
    fig = _layout(fig, labels("calibration_title"))
    fig.update_layout(height=380, hovermode="closest")
    return fig


def scorer_comparison(pooled: pd.DataFrame, labels: Labels) -> go.Figure:
    """ROC AUC and PR AUC of the model beside the baselines."""
    fig = go.Figure()
    colors = {"model": PALETTE["profit"], "bgnbd": "#5A67D8", "cycle_rule": "#A0AEC0",
              "recency": "#4C78A8"}
    for _, row in pooled.iterrows():
        fig.add_bar(x=["ROC AUC", "PR AUC"], y=[row["roc_auc"], row["pr_auc"]],
                    name=labels.value("scorer", row['scorer']), marker_color=colors[row["scorer"]],
                    text=[f"{row['roc_auc']:.3f}", f"{row['pr_auc']:.3f}"],
                    textposition="outside")
    fig.update_yaxes(range=[0, 1.05])
    fig = _layout(fig, labels("model_card"))
    fig.update_layout(height=380, hovermode="closest", barmode="group")
    return fig


# -- satisfaction and complaints -------------------------------------------------------------
def dimension_bars(dims: pd.DataFrame, labels: Labels) -> go.Figure:
    """Mean score per dimension, weakest first and in red, so it cannot be missed."""
    weakest = dims["score"].idxmin() if len(dims) else None
    colors = [PALETTE["profit"] if i == weakest else PALETTE["volume"] for i in dims.index]
    fig = go.Figure(go.Bar(x=dims["score"], y=[labels.value("dimension", d)
                                               for d in dims["dimension"]],
                           orientation="h", marker_color=colors,
                           text=[f"{v:.2f}" for v in dims["score"]], textposition="outside"))
    fig.update_xaxes(range=[1, 5.3], title_text="1–5")
    fig.update_yaxes(autorange="reversed")
    fig = _layout(fig, labels("dimensions_title"))
    fig.update_layout(hovermode="closest", height=360)
    return fig


def satisfaction_trend(trend: pd.DataFrame, labels: Labels) -> go.Figure:
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=trend["quarter"], y=trend["index"], mode="lines+markers",
                    name=labels("sat_index"), line=dict(color=PALETTE["volume"]),
                    secondary_y=False)
    fig.add_scatter(x=trend["quarter"], y=trend["nps"], mode="lines+markers", name="NPS",
                    line=dict(color=PALETTE["profit"], dash="dot"), secondary_y=True)
    fig.update_yaxes(title_text=labels("sat_index"), range=[0, 100], secondary_y=False)
    fig.update_yaxes(title_text="NPS", range=[-100, 100], secondary_y=True, showgrid=False)
    return _layout(fig, labels("sat_trend_title"))


def pipeline_bars(pipe: pd.DataFrame, labels: Labels) -> go.Figure:
    """Complaints at each handling stage; the overdue part of each stage in red."""
    names = [labels.value("stage_c", s) for s in pipe["stage"]]
    fig = go.Figure()
    fig.add_bar(x=names, y=pipe["complaints"] - pipe["overdue"], name=labels("on_time"),
                marker_color=PALETTE["volume"])
    fig.add_bar(x=names, y=pipe["overdue"], name=labels("past_target"),
                marker_color=PALETTE["profit"])
    fig.update_layout(barmode="stack")
    fig = _layout(fig, labels("pipeline_title"))
    fig.update_layout(hovermode="closest", height=360)
    return fig


def count_bars(frame: pd.DataFrame, column: str, labels: Labels, title: str,
               field: str | None = None) -> go.Figure:
    names = [labels.value(field or column, v) for v in frame[column]]
    fig = go.Figure(go.Bar(x=frame["complaints"], y=names, orientation="h",
                           marker_color=PALETTE["volume"], text=frame["complaints"],
                           textposition="outside"))
    fig.update_yaxes(autorange="reversed")
    fig = _layout(fig, title)
    fig.update_layout(hovermode="closest", height=max(280, 30 * len(frame) + 120))
    return fig


# -- credit -----------------------------------------------------------------------------------
BUCKET_COLORS = {"not_due": "#4C9F70", "1_30": "#EDAE49", "31_60": "#F58518",
                 "61_90": "#E45756", "91_180": "#B2182B", "over_180": "#4A4A4A"}


def ageing_bars(table: pd.DataFrame, key: str, labels: Labels, top: int = 15) -> go.Figure:
    """Open receivables per bucket, stacked, for the ``top`` rows with the most overdue."""
    rows = table.head(top)
    names = [str(v) for v in (rows["name"] if "name" in rows else rows[key])]
    if key in ("type", "province"):
        names = [labels.value(key, v) for v in rows[key]]
    div, unit = (1e4, "万元") if labels.lang == "zh" else (1e3, "CNY k")
    fig = go.Figure()
    for bucket in ("not_due", "1_30", "31_60", "61_90", "91_180", "over_180"):
        fig.add_bar(y=names, x=rows[bucket] / div, name=labels.value("bucket", bucket),
                    orientation="h", marker_color=BUCKET_COLORS[bucket])
    fig.update_layout(barmode="stack")
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text=unit)
    fig = _layout(fig, labels("ageing_title"))
    fig.update_layout(hovermode="closest", height=max(320, 26 * len(rows) + 140))
    return fig


def dso_chart(trend: pd.DataFrame, labels: Labels) -> go.Figure:
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=trend["month"], y=trend["dso_days"], mode="lines+markers", name="DSO",
                    line=dict(color=PALETTE["volume"]), secondary_y=False)
    fig.add_scatter(x=trend["month"], y=trend["on_time_pct"], mode="lines+markers",
                    name=labels("on_time_rate"), line=dict(color=PALETTE["profit"],
                                                           dash="dot"), secondary_y=True)
    fig.update_yaxes(title_text=labels("dso_days"), rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text="%", range=[0, 100], secondary_y=True, showgrid=False)
    fig.update_xaxes(tickvals=list(trend["month"]),
                     ticktext=[labels.month(m) for m in trend["month"]])
    return _layout(fig, labels("dso_title"))


# --------------------------------------------------------------------------------------------
# Market, inventory, products
# --------------------------------------------------------------------------------------------
RED, GREEN = "#e8473e", "#1a9850"
MA_COLOURS = {"ma5": "#f2b701", "ma20": "#2ca02c", "ma60": "#1f77b4"}  # DOMAIN §6 palette


def up_down(labels: Labels) -> tuple[str, str]:
    """(rise colour, fall colour): red up / green down in Chinese, the reverse in English."""
    return (RED, GREEN) if labels.lang == "zh" else (GREEN, RED)


def signed_colours(values: pd.Series, labels: Labels) -> list[str]:
    up, down = up_down(labels)
    return [up if v > 0 else down if v < 0 else "#999999" for v in values.fillna(0)]


def price_chart(history: pd.DataFrame, labels: Labels, *, title: str) -> go.Figure:
    """Price with MA5/MA20/MA60 above, 涨跌 bars coloured by the language's convention below."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.72, 0.28],
                        vertical_spacing=0.04)
    fig.add_trace(go.Scatter(x=history["date"], y=history["price"], name=labels("col_price"),
                             line=dict(color="#333333", width=2)), row=1, col=1)
    for ma, colour in MA_COLOURS.items():
        fig.add_trace(go.Scatter(x=history["date"], y=history[ma], name=ma.upper(),
                                 line=dict(color=colour, width=1.2)), row=1, col=1)
    fig.add_trace(go.Bar(x=history["date"], y=history["price_change"],
                         name=labels("col_price_change"),
                         marker_color=signed_colours(history["price_change"], labels),
                         showlegend=False), row=2, col=1)
    fig.update_yaxes(title_text=labels("unit_price"), row=1, col=1)
    fig.update_yaxes(title_text=labels("col_price_change"), row=2, col=1)
    _layout(fig, title)
    fig.update_layout(height=520)
    return fig


def pair_name(pair: str, labels: Labels) -> str:
    """卷螺差 for hrc-rebar and the other named spreads; "冷轧板卷 − 螺纹钢" for any other pair."""
    named = labels.value("pair", pair)
    if named != pair:
        return named
    first, _, second = pair.partition("-")
    return f"{labels.value('category', first)} − {labels.value('category', second)}"


def spread_chart(rows: pd.DataFrame, labels: Labels) -> go.Figure:
    fig = go.Figure()
    for pair, g in rows.groupby("pair", sort=False):
        fig.add_trace(go.Scatter(x=g["date"], y=g["spread"], name=pair_name(str(pair), labels)))
    fig.add_hline(y=0, line_color="#999999", line_width=1)
    fig.update_yaxes(title_text=labels("unit_price"))
    return _layout(fig, labels("spreads_title"))


def basis_chart(rows: pd.DataFrame, labels: Labels) -> go.Figure:
    fig = go.Figure(go.Scatter(x=rows["date"], y=rows["basis"], name=labels("col_basis"),
                               fill="tozeroy", line=dict(color=PALETTE["volume"])))
    fig.update_yaxes(title_text=labels("unit_price"))
    return _layout(fig, labels("basis_title"))


def own_vs_market_chart(rows: pd.DataFrame, labels: Labels) -> go.Figure:
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=rows["date"], y=rows["market"], name=labels("col_market_price"),
                             line=dict(color="#333333", width=2)))
    fig.add_trace(go.Scatter(x=rows["date"], y=rows["our_price"], name=labels("col_our_price"),
                             mode="lines+markers", line=dict(color=PALETTE["revenue"])))
    if "our_cost" in rows:
        fig.add_trace(go.Scatter(x=rows["date"], y=rows["our_cost"], name=labels("col_our_cost"),
                                 line=dict(color=PALETTE["volume"], dash="dot")))
    fig.update_yaxes(title_text=labels("unit_price"))
    return _layout(fig, labels("own_vs_market_title"))


def _tonnes_axis(labels: Labels) -> tuple[float, str]:
    return (1e4, "万吨") if labels.lang == "zh" else (1.0, "t")


def stock_safety_chart(rows: pd.DataFrame, labels: Labels, *, title: str) -> go.Figure:
    """Stock on hand against the safety stock and the overstock level, same axis."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=rows["date"], y=rows["on_hand_t"], name=labels("col_on_hand_t"),
                             fill="tozeroy", line=dict(color=PALETTE["volume"])))
    fig.add_trace(go.Scatter(x=rows["date"], y=rows["safety_t"], name=labels("col_safety_t"),
                             line=dict(color=RED, dash="dash")))
    fig.add_trace(go.Scatter(x=rows["date"], y=rows["overstock_t"],
                             name=labels("col_overstock_t"),
                             line=dict(color="#9467bd", dash="dot")))
    fig.update_yaxes(title_text=labels("unit_tonnes"), rangemode="tozero")
    return _layout(fig, title)


def stock_by_warehouse_chart(rows: pd.DataFrame, labels: Labels) -> go.Figure:
    fig = go.Figure()
    for wh, g in rows.groupby("warehouse", sort=True):
        fig.add_trace(go.Scatter(x=g["date"], y=g["on_hand_t"], stackgroup="stock",
                                 name=labels.value("warehouse", wh)))
    fig.update_yaxes(title_text=labels("unit_tonnes"), rangemode="tozero")
    return _layout(fig, labels("stock_by_warehouse_title"))


def stock_price_chart(rows: pd.DataFrame, labels: Labels) -> go.Figure:
    """Inventory bars (万吨 / t) on the left axis, price line (元/吨) on the right."""
    div, unit = _tonnes_axis(labels)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=rows["date"], y=rows["on_hand_t"] / div,
                         name=labels("col_on_hand_t"), marker_color="#9ecae1"),
                  secondary_y=False)
    fig.add_trace(go.Scatter(x=rows["date"], y=rows["price"], name=labels("col_price"),
                             line=dict(color=RED if labels.lang == "zh" else "#333333")),
                  secondary_y=True)
    fig.update_yaxes(title_text=f"{labels('stock_word')} ({unit})", secondary_y=False,
                     tickformat=".2f" if div > 1 else ",.0f")
    fig.update_yaxes(title_text=labels("unit_price"), secondary_y=True, showgrid=False)
    return _layout(fig, labels("stock_price_title"))


def turnover_chart(monthly: pd.DataFrame, labels: Labels) -> go.Figure:
    fig = go.Figure(go.Bar(x=monthly["month"], y=monthly["annual_turns"],
                           marker_color=PALETTE["volume"], name=labels("col_annual_turns")))
    fig.update_yaxes(title_text=labels("col_annual_turns"))
    return _layout(fig, labels("turnover_month_title"))


def stock_age_chart(ages: pd.DataFrame, labels: Labels, buckets: tuple[str, ...]) -> go.Figure:
    colours = ["#c6dbef", "#6baed6", "#2171b5", "#08306b", "#bdbdbd"]
    fig = go.Figure()
    names = labels.values("category", ages["product"])
    for bucket, colour in zip(buckets, colours, strict=False):
        fig.add_trace(go.Bar(x=names, y=ages[bucket], name=labels.value("stock_age", bucket),
                             marker_color=colour))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title_text=labels("unit_tonnes"))
    return _layout(fig, labels("stock_age_title"))


def mtm_chart(history: pd.DataFrame, labels: Labels) -> go.Figure:
    """Floating P/L of the stock (coloured by sign per language) and its drawdown from peak."""
    div, unit = (1e4, "万元") if labels.lang == "zh" else (1e3, "CNY k")
    fig = go.Figure()
    fig.add_trace(go.Bar(x=history["date"], y=history["floating_cny"] / div,
                         name=labels("col_floating_cny"),
                         marker_color=signed_colours(history["floating_cny"], labels)))
    fig.add_trace(go.Scatter(x=history["date"], y=history["drawdown_cny"] / div,
                             name=labels("col_drawdown_cny"), line=dict(color="#555555",
                                                                        dash="dot")))
    fig.update_yaxes(title_text=f"{labels('col_floating_cny')} ({unit})")
    return _layout(fig, labels("mtm_history_title"))


COMPOSITION_BARS = 30  # the biggest products; the rest as one "others" bar


def composition_chart(comp: pd.DataFrame, labels: Labels) -> go.Figure:
    """Revenue share bars per product; gross profit per tonne as points on the right axis.
    A long list (a wholesaler's 3,800 items) shows the biggest COMPOSITION_BARS − 1 and the
    rest as one bar."""
    if len(comp) > COMPOSITION_BARS:
        ordered = comp.sort_values("revenue_share_pct", ascending=False, kind="mergesort")
        head, tail = ordered.head(COMPOSITION_BARS - 1), ordered.iloc[COMPOSITION_BARS - 1:]
        others = {"category": labels("others_n", n=f"{len(tail):,}"),
                  "revenue_share_pct": tail["revenue_share_pct"].sum()}
        comp = pd.concat([head, pd.DataFrame([others])], ignore_index=True)
    names = labels.values("category", comp["category"])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=names, y=comp["revenue_share_pct"], name=labels(
        "col_revenue_share_pct"), marker_color=PALETTE["revenue"]), secondary_y=False)
    if "gp_per_t" in comp:
        fig.add_trace(go.Scatter(x=names, y=comp["gp_per_t"], mode="markers",
                                 marker=dict(size=12, color=PALETTE["profit"]),
                                 name=labels("col_gp_per_t")), secondary_y=True)
        fig.update_yaxes(title_text=labels("col_gp_per_t"), secondary_y=True, showgrid=False,
                         rangemode="tozero")
    fig.update_yaxes(title_text=labels("col_revenue_share_pct"), secondary_y=False)
    fig.update_layout(hovermode="x")
    return _layout(fig, labels("composition_title"))


def margin_heatmap(monthly: pd.DataFrame, labels: Labels) -> go.Figure:
    """Gross profit per tonne, product × month; profit in the language's "up" colour."""
    grid = monthly.pivot_table(index="category", columns="month", values="gp_per_t")
    up, down = up_down(labels)
    top = float(np.nanmax(np.abs(grid.to_numpy()))) if grid.size else 1.0
    fig = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=[labels.month(pd.Timestamp(m)) for m in grid.columns],
        y=list(labels.values("category", pd.Series(grid.index))), zmid=0, zmin=-top, zmax=top,
        colorscale=[[0, down], [0.5, "#ffffff"], [1, up]],
        colorbar=dict(title=labels("unit_price")),
        hovertemplate="%{y} %{x}: %{z:,.0f}<extra></extra>"))
    fig = _layout(fig, labels("margin_heatmap_title"))
    fig.update_layout(hovermode="closest")
    return fig


# --------------------------------------------------------------------------------------------
# Reps and resellers
# --------------------------------------------------------------------------------------------
def attainment_bars(reps: pd.DataFrame, labels: Labels) -> go.Figure:
    """Revenue against target per rep (bars) with the attainment written on each."""
    div, unit = labels.scale("revenue_cny")
    fig = go.Figure()
    fig.add_trace(go.Bar(x=reps["rep"], y=reps["revenue_cny"] / div,
                         name=labels("col_revenue_cny"), marker_color=PALETTE["revenue"],
                         text=[labels.percent(v, 0) for v in reps.get(
                             "attainment_revenue_cny_pct", pd.Series(np.nan, index=reps.index))],
                         textposition="outside"))
    if "target_revenue_cny" in reps:
        fig.add_trace(go.Scatter(x=reps["rep"], y=reps["target_revenue_cny"] / div,
                                 mode="markers", name=labels("col_target_revenue_cny"),
                                 marker=dict(symbol="line-ew-open", size=40, color="#333333",
                                             line=dict(width=3))))
    fig.update_yaxes(title_text=f"{labels('col_revenue_cny')} ({unit})", rangemode="tozero")
    return _layout(fig, labels("attainment_title"))


def rep_trend_chart(trend: pd.DataFrame, labels: Labels, *, title: str) -> go.Figure:
    div, unit = labels.scale("revenue_cny")
    fig = go.Figure(go.Bar(x=trend["month"], y=trend["revenue_cny"] / div,
                           name=labels("col_revenue_cny"), marker_color=PALETTE["revenue"]))
    if "target_revenue_cny" in trend:
        fig.add_trace(go.Scatter(x=trend["month"], y=trend["target_revenue_cny"] / div,
                                 name=labels("col_target_revenue_cny"),
                                 line=dict(color="#333333", dash="dash")))
    fig.update_yaxes(title_text=f"{labels('col_revenue_cny')} ({unit})", rangemode="tozero")
    return _layout(fig, title)
