"""总览 Overview: the whole book in one screen — KPIs against the previous period and a year ago,
tonnes and gross profit by month, and the customers who make the most."""

import streamlit as st

from analytics import charts, overview
from ui import widgets
from ui.frame import frame

ctx = frame("overview")
labels, period = ctx.labels, ctx.filters.period

comparison = ctx.cached(overview.kpi_comparison, period=period)
if not ctx.scope.sees_profit:  # a rep's level: no profit or margin anywhere
    comparison = comparison[~comparison["kpi"].isin(["gross_profit_cny", "margin_pct"])]
notes = {"inventory_days": labels("company_wide_only")} if ctx.filters.narrows_customers else {}
widgets.kpi_cards(labels, comparison, notes=notes)

months = ctx.cached(overview.monthly, period=period)
st.plotly_chart(charts.monthly_volume_profit(months, labels), key="monthly")

top = ctx.cached(overview.top_customers, period=period)
has_profit = "gross_profit_cny" in top
st.subheader(labels("top_customers" if has_profit else "top_customers_revenue"))
top.insert(0, "rank", range(1, len(top) + 1))
columns = ["rank", "name", "type", "province", "sales_rep", "revenue_cny", "volume_t",
           "gross_profit_cny", "margin_pct", "share"]
top["share"] = top["share"] * 100
widgets.table(labels, top[[c for c in columns if c in top]], key="top_customers",
              filename="top_customers", money=("revenue_cny", "gross_profit_cny"),
              tonnes=("volume_t",), percent=("margin_pct", "share"))
