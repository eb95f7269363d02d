"""ABC 分析: which customers and products carry the value, and how steady product demand is."""

import streamlit as st

from analytics.display import charts
from analytics.domain import abc, customers
from analytics.store.frames import select
from ui import widgets
from ui.frame import frame

ctx = frame("abc")
labels, period = ctx.labels, ctx.filters.period

c1, c2, c3 = st.columns([2, 1, 1])
metric = c1.radio(labels("value_metric"), ctx.cached(customers.available_metrics),
                  horizontal=True, key="abc_metric", format_func=lambda m: labels(f"kpi_{m}"))
a_pct = c2.number_input(labels("threshold_a"), 1.0, 100.0, abc.ABC_THRESHOLDS[0] * 100, 1.0,
                        key="abc_a")
b_pct = c3.number_input(labels("threshold_b"), 1.0, 100.0, abc.ABC_THRESHOLDS[1] * 100, 1.0,
                        key="abc_b")
if b_pct < a_pct:
    st.error(labels("threshold_order"))
    st.stop()
thresholds = (a_pct / 100, b_pct / 100)
st.info(labels("abc_rule", a=f"{a_pct:g}", b=f"{b_pct:g}"), icon="📏")
value_label = labels(f"kpi_{metric}")
money = ("value",) if metric != "volume_t" else ()
tonnes = ("value",) if metric == "volume_t" else ()

tab_customers, tab_products = st.tabs([labels("abc_customers"), labels("abc_products")])
with tab_customers:
    ranked = ctx.cached(abc.abc_customers, period=period, metric=metric, thresholds=thresholds)
    if ranked.empty:
        st.info(labels("no_orders"))
    else:
        st.plotly_chart(charts.pareto(ranked, labels, name_col="name", value_label=value_label,
                                      thresholds=thresholds), key="pareto_customers")
        summary = abc.class_summary(ranked)
        widgets.table(labels, summary.assign(item_share=summary["item_share"] * 100,
                                             value_share=summary["value_share"] * 100),
                      key="abc_customer_classes", filename="abc_customer_classes",
                      money=money, tonnes=tonnes, percent=("item_share", "value_share"))
        widgets.customer_table(labels, ranked[["rank", "customer_id", "name", "value",
                                               "value_share", "cumulative_share",
                                               "abc_class"]].assign(
            value_share=ranked["value_share"] * 100,
            cumulative_share=ranked["cumulative_share"] * 100),
            key="abc_customer_list", filename="abc_customers", money=money, tonnes=tonnes,
            percent=("value_share", "cumulative_share"))

with tab_products:
    p1, p2, p3 = st.columns([2, 1, 1])
    level = p1.radio(labels("product_level"), abc.PRODUCT_LEVELS, horizontal=True,
                     key="abc_level", format_func=lambda v: labels.value("product_level", v))
    x_cut = p2.number_input(labels("threshold_x"), 0.05, 5.0, abc.XYZ_THRESHOLDS[0], 0.05,
                            key="xyz_x")
    y_cut = p3.number_input(labels("threshold_y"), 0.05, 5.0, abc.XYZ_THRESHOLDS[1], 0.05,
                            key="xyz_y")
    if y_cut < x_cut:
        st.error(labels("threshold_order"))
        st.stop()
    st.caption(labels("xyz_rule", x=f"{x_cut:g}", y=f"{y_cut:g}"))
    products = ctx.cached(abc.abc_products, period=period, level=level, metric=metric,
                          thresholds=thresholds, xyz_thresholds=(x_cut, y_cut))
    if products.empty:
        st.info(labels("no_orders"))
    else:
        products["name"] = [labels.value("category", c) + (f" {s}" if level == "spec" else "")
                            for c, s in zip(products["category"],
                                            products.get("spec", products["category"]),
                                            strict=True)]
        st.plotly_chart(charts.pareto(products, labels, name_col="name",
                                      value_label=value_label, thresholds=thresholds),
                        key="pareto_products")
        if "xyz_class" in products:
            div, unit = labels.scale(metric)
            st.plotly_chart(charts.abc_xyz_heatmap(abc.abc_xyz_matrix(products), labels, div,
                                                   unit), key="abc_xyz")
        columns = ["rank", "name", "value", "value_share", "cumulative_share", "abc_class",
                   "cv", "xyz_class"]
        widgets.table(labels, select(products, columns).assign(
            value_share=products["value_share"] * 100,
            cumulative_share=products["cumulative_share"] * 100),
            key="abc_product_list", filename=f"abc_products_{level}", money=money,
            tonnes=tonnes, percent=("value_share", "cumulative_share"))
