"""销售团队与经销商 Reps and resellers: book, targets, retention, and the reseller scorecard."""

import streamlit as st

from analytics.display import charts
from analytics.domain import scorecards
from analytics.store.frames import present, select
from ui import widgets
from ui.frame import frame

ctx = frame("team")
labels, period = ctx.labels, ctx.filters.period
st.caption(labels("team_intro"))

reps = ctx.cached(scorecards.rep_scorecard, period=period)
if reps.empty:
    st.info(labels("team_no_reps"))
    st.stop()
st.plotly_chart(charts.attainment_bars(reps, labels), key="attainment_chart")
money = ("lost_value_cny", "revenue_cny", "gross_profit_cny", "target_revenue_cny",
         "target_gross_profit_cny", "overdue_cny")
percent = ("retention_pct", "attainment_revenue_cny_pct", "attainment_volume_t_pct",
           "attainment_gross_profit_cny_pct", "complaints_per_kt")
tonnes = ("volume_t", "target_volume_t")
columns = present(reps, ("rep", "team", "customers_held", "new_customers", "lost_customers",
                       "lost_value_cny", "retention_pct", "volume_t", "target_volume_t",
                       "attainment_volume_t_pct", "revenue_cny", "target_revenue_cny",
                       "attainment_revenue_cny_pct", "gross_profit_cny",
                       "target_gross_profit_cny", "attainment_gross_profit_cny_pct",
                       "complaints", "complaints_per_kt", "overdue_cny", "contacts"))
st.subheader(labels("reps_title"))
st.caption(labels("reps_pick"))
picked = widgets.table(labels, reps[columns], key="reps_table", filename="rep_scorecard",
                       money=money, tonnes=tonnes, percent=percent, selectable=True)
if reps["team"].ne("").any() and len(reps) > 1:
    st.subheader(labels("teams_title"))
    teams = scorecards.team_scorecard(reps)
    widgets.table(labels, select(teams, ("team", "reps", *columns[2:])),
                  key="teams_table", filename="team_scorecard", money=money, tonnes=tonnes,
                  percent=percent)
st.caption(labels("team_rules"))

rep = str(reps.iloc[picked]["rep"]) if picked is not None else (
    str(reps.iloc[0]["rep"]) if len(reps) == 1 else None)
name = rep or labels("all_reps")
st.plotly_chart(charts.rep_trend_chart(ctx.cached(scorecards.rep_trend, period=period, rep=rep),
                                       labels, title=labels("rep_trend_title", rep=name)),
                key="rep_trend")
if rep is not None:
    st.subheader(labels("rep_customers_title", rep=widgets.plain(rep)))
    book = ctx.cached(scorecards.rep_customers, period=period, rep=rep)
    widgets.customer_table(labels, select(book, (
        "customer_id", "name", "movement", "revenue_cny", "previous_revenue_cny", "volume_t",
        "gross_profit_cny", "first_order")), key="rep_customers",
        filename=f"customers_of_{rep}", money=("revenue_cny", "previous_revenue_cny",
                                               "gross_profit_cny"), tonnes=("volume_t",))

st.header(labels("resellers_title"))
st.caption(labels("resellers_intro"))
version = st.session_state.setdefault("reseller_weights_version", 0)
cols = st.columns(len(scorecards.RESELLER_FACTORS))
weights = tuple(
    (k, float(col.number_input(labels.value("reseller_factor", k), min_value=0.0,
                               max_value=100.0, value=scorecards.RESELLER_WEIGHTS[k], step=5.0,
                               key=f"reseller_w_{k}_{version}",
                               help=scorecards.FACTOR_RULES[k])))
    for col, k in zip(cols, scorecards.RESELLER_FACTORS, strict=True))
if st.button(labels("reset_weights"), key="reset_reseller_weights"):
    st.session_state["reseller_weights_version"] = version + 1
    st.rerun()
if not any(w for _, w in weights):
    st.error(labels("weights_all_zero"))
    st.stop()
board = ctx.cached(scorecards.reseller_scorecard, period=period, weights=weights)
if board.empty:
    st.info(labels("resellers_none"))
    st.stop()
shown = select(board, ("rank", "customer_id", "name", "sales_rep", "score", "volume_t",
                           "quota_t", "completion_pct", "avg_stock_t", "stock_cover_months",
                           "delivery_days", "damage_handling", "cooperation", "on_time_pct",
                           "factors_used"))
widgets.customer_table(labels, shown, key="resellers", filename="reseller_scorecard",
                       tonnes=("volume_t", "quota_t", "avg_stock_t"),
                       percent=("score", "completion_pct", "stock_cover_months",
                                "delivery_days", "damage_handling", "cooperation",
                                "on_time_pct"))
means = scorecards.reseller_factor_means(board)
st.caption(labels("reseller_factor_means", means="; ".join(
    f"{labels.value('reseller_factor', k)} {labels.number(v, 0)}" for k, v in means.items())))
