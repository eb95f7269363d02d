"""流失预警 Churn: who is drifting away, judged by their own rhythm, and a model of who leaves."""

import pandas as pd
import streamlit as st

from analytics.display import charts, churn_words
from analytics.domain import churn
from analytics.store.frames import select
from ui import widgets
from ui.frame import frame

ctx = frame("churn")
labels, period = ctx.labels, ctx.filters.period

with st.expander(labels("churn_rules")):
    c = st.columns(5)
    rules = churn.Rules(
        k=c[0].number_input(labels("churn_k"), 1.0, 10.0, churn.status.CYCLE_K, 0.5,
                            key="churn_k"),
        lost_days_frequent=int(c[1].number_input(labels("churn_lost_frequent"), 30, 1000,
                                                 churn.status.LOST_DAYS_FREQUENT, 30,
                                                 key="churn_lost_f")),
        lost_days_other=int(c[2].number_input(labels("churn_lost_other"), 30, 2000,
                                              churn.status.LOST_DAYS_OTHER, 30,
                                              key="churn_lost_o")),
        decline_ratio=c[3].number_input(labels("churn_decline"), 5.0, 100.0,
                                        churn.status.DECLINE_RATIO * 100, 5.0,
                                        key="churn_decline") / 100,
        seasonal=c[4].checkbox(labels("churn_seasonal"), True, key="churn_seasonal"))

st.header(labels("status_title"))
st.caption(labels("status_intro", date=labels.date(period.end), k=f"{rules.k:g}",
                  ratio=f"{rules.decline_ratio * 100:g}", lost_f=rules.lost_days_frequent,
                  lost_o=rules.lost_days_other))
views = ctx.cached(churn.status_views, period=period, rules=rules)
status = views.status
summary = churn.status_summary(status).set_index("status")
for group, statuses in (("status_repeat", churn.REPEAT_STATUSES),
                        ("status_one_time", churn.ONE_TIME_STATUSES)):
    st.caption(labels(group))
    cards = st.columns(len(churn.REPEAT_STATUSES))
    for col, name in zip(cards, statuses, strict=False):
        with col, st.container(border=True):
            st.metric(labels.value("status", name), f"{int(summary.at[name, 'customers']):,}",
                      help=labels("col_value_12m"))
            st.caption(labels.money(summary.at[name, "value_12m"]))
st.plotly_chart(charts.status_trend(views.trend, labels), key="status_trend")

follow = status[status["status"].isin(churn.FOLLOW_UP)].sort_values(
    ["value_12m", "customer_id"], ascending=[False, True])
st.subheader(labels("status_list"))
widgets.customer_table(labels, select(follow, (
    "customer_id", "name", "sales_rep", "status", "last_order", "days_since", "cycle_days",
    "seasonal_gap_days", "value_12m")), key="churn_follow",
    filename="churn_follow_up", money=("value_12m",), preview_rows=widgets.PREVIEW_ROWS)

lost = views.lost
st.subheader(labels("lost_title", amount=labels.money(lost["value_12m"].sum())))
widgets.customer_table(labels, select(lost, ("customer_id", "name", "sales_rep",
                                             "last_order", "lost_on", "value_12m")),
                       key="churn_lost", filename="churn_lost",
                       money=("value_12m",), preview_rows=widgets.PREVIEW_ROWS)
if views.cohorts.empty:  # no cohort with a later quarter yet
    st.caption(labels("cohorts_none"))
else:
    st.plotly_chart(charts.cohort_heatmap(views.cohorts, labels),
                    key="cohort")

st.header(labels("model_title"))
m1, m2, m3 = st.columns([2, 1, 1])
kind = m1.radio(labels("model_kind"), churn.MODELS, horizontal=True, key="churn_model",
                format_func=lambda k: labels.value("model", k))
low = m2.number_input(labels("band_cuts"), 0.01, 0.99, churn.BANDS[0], 0.05, key="band_low")
high = m3.number_input(" ", 0.01, 0.99, churn.BANDS[1], 0.05, key="band_high")
if high < low:
    st.error(labels("threshold_order"))
    st.stop()
with st.expander(labels("churn_overrides")):
    o = st.columns(4)
    given = {"horizon": int(o[0].number_input(labels("churn_horizon"), 0, 720, 0, 30,
                                              key="churn_horizon")) or None,
             "warmup": int(o[1].number_input(labels("churn_warmup"), 0, 1095, 0, 30,
                                             key="churn_warmup")) or None,
             "tests": int(o[2].number_input(labels("churn_tests"), 0, 24, 0, 1,
                                            key="churn_tests")) or None,
             "cutoff": o[3].date_input(labels("churn_cutoff"), value=None,
                                       key="churn_cutoff")}
given = {k: v for k, v in given.items() if v is not None}
# the risk list scores at the period end: the cutoff and the number of tests are the
# backtest's alone
scoring = {k: v for k, v in given.items() if k in ("horizon", "warmup")}
try:
    with st.spinner(labels("model_running")):
        result = ctx.churn_backtest(kind=kind, **given)
        # the same model as the Overview's early warning (ctx.early_warning)
        scores = ctx.churn_scores(as_of=period.end, kind=kind, **scoring)
        risk = ctx.churn_risk(as_of=period.end, kind=kind, bands=(low, high), **scoring)
except churn.NotEnoughHistory as err:
    st.info(churn_words.need_text(err, labels))
    st.stop()
st.caption(labels("model_intro", h=scores.settings.horizon if scores.settings
                  else churn.HORIZON_DAYS))
if result.settings is not None:
    st.caption(churn_words.settings_text(result.settings, labels))
left, right = st.columns(2)
left.plotly_chart(charts.scorer_comparison(result.pooled, labels), key="scorers")
right.plotly_chart(charts.calibration(result.calibration, labels), key="calibration")
# a ranking baseline has no probability to judge: "—", not an empty number
card = result.pooled.assign(scorer=result.pooled["scorer"].map(lambda s: labels.value("scorer", s)),
                            brier=result.pooled["brier"].map(
                                lambda v: "—" if pd.isna(v) else f"{v:.4f}"))
widgets.table(labels, card, key="model_card", filename="churn_backtest")
st.caption(labels("model_features", features=churn_words.feature_names(result.columns, labels)))

st.subheader(labels("risk_list"))
st.caption(churn_words.score_settings_text(scores, labels) + " " + labels("risk_training"))
in_view = set(status["customer_id"])  # the page's filters narrow the list, not the model
# a set, not isin: pandas' isin on Arrow strings takes 0.2 s for a large book's customers
# the reasons written out for the rows on screen; the downloads write out the whole list
widgets.customer_table(labels, risk[[c in in_view for c in risk["customer_id"]]],
                       key="risk_list", filename="churn_risk",
                       shown=lambda rows: churn_words.in_words(rows, scores, labels),
                       money=("value_12m", "expected_loss"), percent=("probability",))
