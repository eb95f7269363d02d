"""客户投诉 Complaints: the handling pipeline, speed against the service target, cost, repeats."""

import streamlit as st

from analytics.display import charts
from analytics.domain import complaints as co
from analytics.store.frames import select
from ui import widgets
from ui.frame import frame

ctx = frame("complaints")
labels, period = ctx.labels, ctx.filters.period

with st.expander(labels("service_targets")):
    c1, c2 = st.columns(2)
    target = int(c1.number_input(labels("target_days"), 1, 60, co.TARGET_DAYS, key="co_target"))
    major = int(c2.number_input(labels("major_target_days"), 1, 60, co.MAJOR_TARGET_DAYS,
                                key="co_major"))
items = ctx.cached(co.complaints_in, period=period, target=target, major_target=major)
if items.empty:
    st.info(labels("no_complaints"))
    st.stop()
k = ctx.cached(co.summary, period=period, target=target, major_target=major)
row1, row2 = st.columns(5), st.columns(5)
cards = [("complaints", labels.number(k["complaints"])),
         ("per_1000_t", labels.number(k["per_1000_t"], 2)),
         ("within_target_pct", labels.percent(k["within_target_pct"])),
         ("median_days", labels.days(k["median_days"])),
         ("p90_days", labels.days(k["p90_days"])),
         ("open", f"{labels.number(k['open'])} / {labels.number(k['overdue'])}"),
         ("compensation_cny", labels.money(k["compensation_cny"])),
         ("compensation_share_pct", labels.percent(k["compensation_share_pct"], 2)),
         ("invalid_pct", labels.percent(k["invalid_pct"])),
         ("repeat_customers", labels.number(k["repeat_customers"]))]
if not ctx.scope.sees_profit:  # a rep's level: no compensation or profit figures
    cards = [c for c in cards if not c[0].startswith("compensation")]
for col, (key, value) in zip([*row1, *row2], cards, strict=False):
    col.metric(labels(f"co_{key}"), value, help=labels(f"co_{key}_help"))

st.subheader(labels("open_first"))
open_ = co.open_items(items)
open_ = open_.assign(type=labels.values("ctype", open_["type"]),
                     stage=labels.values("stage_c", open_["stage"]))
widgets.customer_table(labels, select(open_, (
    "complaint_id", "customer_id", "name", "opened_date", "type", "severity", "stage",
    "department", "sales_rep", "age_days", "target_days", "overdue")),
    key="co_open", filename="complaints_open")

left, right = st.columns(2)
left.plotly_chart(charts.pipeline_bars(co.pipeline(items), labels), key="co_pipeline")
dim = right.segmented_control(labels("co_by"), ("type", "severity", "department", "category",
                                                "sales_rep"), default="type", key="co_by",
                              format_func=lambda d: labels(f"co_by_{d}"))
if dim:
    table = co.by(items, dim)
    field = {"type": "ctype", "category": "category"}.get(dim, dim)
    right.plotly_chart(charts.count_bars(table, dim, labels, labels(f"co_by_{dim}"), field),
                       key="co_by_chart")
    table[dim] = labels.values(field, table[dim])
    widgets.table(labels, table.rename(columns={dim: labels(f"co_by_{dim}")}),
                  key="co_by_table", filename=f"complaints_by_{dim}",
                  money=("compensation_cny",), percent=("within_target_pct", "median_days"))

st.subheader(labels("repeat_title"))
widgets.customer_table(labels, co.repeat_complainers(items), key="co_repeat",
                       filename="repeat_complainers", money=("compensation_cny",))
with st.expander(labels("all_complaints")):
    widgets.table(labels, items.drop(columns=["overdue"]).assign(
        type=labels.values("ctype", items["type"]),
        stage=labels.values("stage_c", items["stage"])), key="co_all",
                  filename="complaints", money=("compensation_cny",), preview_rows=100)
