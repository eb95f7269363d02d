"""商品分析 Products: sales composition, gross margin per tonne, turnover, margins gone negative."""

import streamlit as st

from analytics.display import charts
from analytics.domain import inventory, products
from analytics.store.frames import present, select
from ui import widgets
from ui.frame import frame

ctx = frame("products")
labels, period = ctx.labels, ctx.filters.period

comp = ctx.cached(products.composition, period=period)
if comp.empty:
    st.info(labels("no_sales_in_period"))
    st.stop()
turn = ctx.cached(inventory.turnover, period=period) if ctx.tables().has("inventory") else None
comp = products.with_turnover(comp, turn)
st.plotly_chart(charts.composition_chart(comp, labels), key="composition_chart")
cols = present(comp, ("category", "volume_t", "volume_share_pct", "revenue_cny",
                    "revenue_share_pct", "customers", "gross_profit_cny", "gp_per_t",
                    "margin_pct", "annual_turns", "days_in_stock"))
widgets.table(labels, comp[cols], key="composition", filename="product_composition",
              money=("revenue_cny", "gross_profit_cny", "gp_per_t"), tonnes=("volume_t",),
              percent=("volume_share_pct", "revenue_share_pct", "margin_pct", "annual_turns",
                       "days_in_stock"))

st.header(labels("spec_mix_title"))
category = st.selectbox(labels("col_product"), comp["category"].tolist(), key="spec_category",
                        format_func=lambda c: labels.value("category", c))
specs = ctx.cached(products.composition, period=period, by="spec", category=category)
widgets.table(labels, select(specs, ("spec", "volume_t", "volume_share_pct", "revenue_cny",
                                         "customers", "gp_per_t", "margin_pct")),
              key="spec_mix", filename=f"spec_mix_{category}", money=("revenue_cny",
                                                                      "gp_per_t"),
              tonnes=("volume_t",), percent=("volume_share_pct", "margin_pct"))

if not ctx.scope.sees_profit:
    st.stop()
st.header(labels("margin_heatmap_title"))
st.plotly_chart(charts.margin_heatmap(ctx.cached(products.margin_by_month, period=period),
                                      labels), key="margin_heatmap")
st.header(labels("turned_negative_title"))
st.caption(labels("turned_negative_intro"))
neg = ctx.cached(products.turned_negative, period=period)
if neg.empty:
    st.success(labels("turned_negative_none"))
else:
    widgets.table(labels, neg, key="turned_negative", filename="margins_turned_negative",
                  money=("gp_per_t_before", "gp_per_t", "gross_profit_cny"),
                  tonnes=("volume_t",), percent=("market_change_pct",),
                  signed=("market_change_pct",))
