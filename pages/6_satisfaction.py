"""满意度 Satisfaction: the index and NPS, the weakest dimension, and who is less happy."""

import streamlit as st

from analytics.display import charts
from analytics.domain import satisfaction as sat
from analytics.store.frames import select
from analytics.store.schema import SURVEY_DIMENSIONS
from ui import widgets
from ui.frame import frame

ctx = frame("satisfaction")
labels, period = ctx.labels, ctx.filters.period

with st.expander(labels("sat_weights")):
    cols = st.columns(len(SURVEY_DIMENSIONS))
    weights = tuple((d, col.number_input(labels.value("dimension", d), 0.0, 10.0, 1.0, 0.5,
                                         key=f"sat_w_{d}"))
                    for col, d in zip(cols, SURVEY_DIMENSIONS, strict=True))
st.caption(labels("sat_intro"))
head = ctx.cached(sat.summary, period=period, weights=weights)
k = st.columns(4)
k[0].metric(labels("sat_index"), labels.number(head["index"], 1))
k[1].metric("NPS", labels.number(head["nps"], 0), help=labels("nps_help"))
k[2].metric(labels("sat_surveys"), labels.number(head["surveys"]))
k[3].metric(labels("sat_response_rate"), labels.percent(head["response_rate"]),
            help=labels("response_rate_help"))

left, right = st.columns(2)
left.plotly_chart(charts.satisfaction_trend(ctx.cached(sat.trend, period=period,
                                                       weights=weights), labels),
                  key="sat_trend")
right.plotly_chart(charts.dimension_bars(ctx.cached(sat.dimensions, period=period), labels),
                   key="sat_dimensions")

group = st.segmented_control(labels("sat_by"), ("tier", "type", "province", "sales_rep"),
                             default="tier", key="sat_by",
                             format_func=lambda g: labels.value("survey_group", g))
if group:
    table = ctx.cached(sat.breakdown, period=period, by=group, weights=weights)
    if group in ("tier", "type", "province"):
        table[group] = labels.values(group, table[group])
    widgets.table(labels, table.rename(columns={group: labels.value("survey_group", group)}),
                  key="sat_breakdown", filename=f"satisfaction_by_{group}",
                  percent=("index", "nps"))

st.subheader(labels("sat_drops"))
drops = ctx.cached(sat.biggest_drops, period=period, weights=weights)
widgets.customer_table(labels, select(drops, ("customer_id", "name", "previous_date",
                                                  "previous", "latest_date", "latest",
                                                  "change")).round(1),
                       key="sat_drops", filename="satisfaction_drops")

st.subheader(labels("sat_churn_link"))
link = ctx.cached_unfiltered(sat.churn_link, period=period, weights=weights)
st.caption(labels("sat_churn_link_help", cutoff=labels.date(link["cutoff"].iloc[0])))
widgets.table(labels, link[["group", "index", "customers"]], key="sat_churn",
              filename="satisfaction_churn", percent=("index",))
