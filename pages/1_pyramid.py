"""客户金字塔 Customer pyramid: who makes the profit, and who moved between tiers."""

import streamlit as st

from analytics.display import charts
from analytics.domain import customers, overview
from analytics.store.frames import select
from ui import widgets
from ui.frame import frame

ctx = frame("pyramid")
labels, period = ctx.labels, ctx.filters.period

metrics = ctx.cached(customers.available_metrics)
metric = st.radio(labels("value_metric"), metrics, horizontal=True, key="pyramid_metric",
                  format_func=lambda m: labels(f"kpi_{m}"))
with st.expander(labels("tier_shares")):
    shares = widgets.shares_editor(labels, key="pyramid_shares", names=customers.TIERS,
                                   defaults=customers.PYRAMID_SHARES, field="tier")
if shares is None:
    st.stop()
tiers = ctx.cached(customers.pyramid, period=period, metric=metric, shares=shares)
if tiers.empty:
    st.info(labels("no_orders"))
    st.stop()
summary = customers.tier_summary(tiers)
value_label = labels(f"kpi_{metric}")

st.caption(labels("pyramid_intro"))
event = st.plotly_chart(charts.pyramid(summary, labels, value_label=value_label),
                        on_select="rerun", selection_mode="points", key="pyramid_chart")
clicked = [p.get("customdata") for p in event.selection.points] if event else []
if clicked and clicked[0] in customers.TIERS:
    st.session_state["pyramid_tier"] = clicked[0]
widgets.table(labels, select(summary, ("tier", "customers", "customer_share", "value",
                                       "value_share", "value_per_customer",
                                       "margin_pct")).assign(
                  customer_share=summary["customer_share"] * 100,
                  value_share=summary["value_share"] * 100),
              key="tier_summary", filename="pyramid_tiers",
              money=("value", "value_per_customer") if metric != "volume_t" else (),
              tonnes=("value", "value_per_customer") if metric == "volume_t" else (),
              percent=("customer_share", "value_share", "margin_pct"))

tier = st.segmented_control(labels("tier_customers"), customers.TIERS, key="pyramid_tier",
                            default="core", format_func=lambda t: labels.value("tier", t))
if tier:
    members = tiers[tiers["tier"] == tier]
    columns = ["rank", "customer_id", "name", "type", "province", "sales_rep", "value",
               "revenue_cny", "gross_profit_cny", "volume_t", "value_share"]
    widgets.customer_table(labels, select(members, columns).assign(
        value_share=members["value_share"] * 100), key="tier_members",
        filename=f"pyramid_{tier}", money=("value", "revenue_cny", "gross_profit_cny")
        if metric != "volume_t" else ("revenue_cny", "gross_profit_cny"),
        tonnes=("volume_t",) + (("value",) if metric == "volume_t" else ()),
        percent=("value_share",))

st.header(labels("migration_title"))
previous = period.previous()
st.caption(labels("migration_intro", previous=f"{labels.date(previous.start)} – "
                  f"{labels.date(previous.end)}", current=f"{labels.date(period.start)} – "
                  f"{labels.date(period.end)}"))
coverage = ctx.cached(overview.comparison_coverage, period=period)
if coverage["previous"] is not None:
    st.info(labels("migration_partial", days=labels.number(coverage["previous"]))
            if coverage["previous"] else labels("migration_none"))
moves = ctx.cached(customers.tier_migration, period=period, metric=metric, shares=shares)
div, unit = labels.scale(metric)
left, right = st.columns(2)
left.plotly_chart(charts.migration_sankey(moves, labels), key="migration_sankey")
right.plotly_chart(charts.migration_heatmap(customers.migration_matrix(moves),
                                            customers.migration_matrix(moves, values="change"),
                                            labels, div, unit), key="migration_matrix")
down = customers.moved_down(moves)
st.subheader(labels("moved_down_title", n=len(down)))
widgets.customer_table(labels, select(down, ("customer_id", "name", "type", "sales_rep",
                                                 "tier_previous", "tier_current",
                                                 "value_previous", "value_current", "change")),
                       key="moved_down", filename="moved_down",
                       money=("value_previous", "value_current", "change")
                       if metric != "volume_t" else (),
                       tonnes=("value_previous", "value_current", "change")
                       if metric == "volume_t" else ())
