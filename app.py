"""总览 Overview: KPIs against last period and last year, the monthly chart, top customers."""

from datetime import date

import pandas as pd
import streamlit as st

from analytics.display import charts, report, warning_words
from analytics.domain import followups, overview
from analytics.store.followups import FollowUpError
from analytics.store.frames import select
from ui import widgets
from ui.frame import frame

ctx = frame("overview")
labels, period = ctx.labels, ctx.filters.period

with st.expander(labels("report_button"), icon="📄"):
    st.caption(labels("report_intro"))
    last = report.month_period("last", ctx.tables())
    months = [str(m) for m in pd.period_range(end=pd.Timestamp(last.start), periods=36,
                                              freq="M")[::-1]]
    month = st.selectbox(labels("report_month"), months, key="report_month")
    if st.button(labels("report_make"), key="report_make"):
        with st.spinner(labels("report_making")):
            kept = ctx.followup_desk().store
            try:
                at: tuple[str, str] | None = (str(kept.path), kept.change_mark())
            except FollowUpError:  # the report without its follow-up section
                at = None
            files = ctx.cached_unfiltered(report.render_all, month=month, lang=ctx.lang,
                                          sees_profit=ctx.scope.sees_profit, followups_at=at)
            st.session_state["report_files"] = (month, ctx.lang, ctx.user_key, files)
    made = st.session_state.get("report_files")
    # kept for this user and scope only: never served to whoever signs in next in this tab
    if made and made[:3] == (month, ctx.lang, ctx.user_key):
        widgets.report_downloads(labels, made[3], stem=f"steelsight_report_{month}_{ctx.lang}")

comparison = overview.kpis_for(ctx.cached(overview.kpi_comparison, period=period),
                              sees_profit=ctx.scope.sees_profit)
notes = {"inventory_days": labels("company_wide_only")} if ctx.narrowed else {}
widgets.kpi_cards(labels, comparison, notes=notes, gaps=ctx.cached(overview.kpi_gaps))

months = ctx.cached(overview.monthly, period=period)
st.plotly_chart(charts.monthly_volume_profit(months, labels), key="monthly")

top = ctx.cached(overview.top_customers, period=period)
has_profit = "gross_profit_cny" in top
st.subheader(labels("top_customers" if has_profit else "top_customers_revenue"))
top.insert(0, "rank", range(1, len(top) + 1))
columns = ["rank", "name", "type", "province", "sales_rep", "revenue_cny", "volume_t",
           "gross_profit_cny", "margin_pct", "share"]
top["share"] = top["share"] * 100
widgets.table(labels, select(top, columns), key="top_customers",
              filename="top_customers", money=("revenue_cny", "gross_profit_cny"),
              tonnes=("volume_t",), percent=("margin_pct", "share"))

st.subheader(labels("warning_title"))
alerts = ctx.early_warning(period.end)
if alerts.attrs.get("churn_basis") == "rules":
    st.caption(labels("warning_rules"))
if alerts.empty:
    st.caption(labels("warning_none"))
else:
    alerts = alerts.head(10).assign(
        reasons=[warning_words.describe(r, labels) for r in alerts.head(10)["reasons"]])
    widgets.customer_table(labels, select(alerts, ("customer_id", "name",
                                                       "money_at_stake_cny", "reasons")),
                           key="overview_warnings", filename="early_warning_top10",
                           money=("money_at_stake_cny",))
    st.page_link("pages/8_credit.py", label=labels("warning_more"), icon="💳")

st.subheader(labels("fu_overview_title"))
try:
    by_rep = followups.open_by_rep(ctx.followup_desk().frame(status="open"),
                                   today=date.today())
except FollowUpError as err:  # the rest of the Overview stands without the follow-ups
    st.caption(labels(f"fu_error_{err.code}"))
    by_rep = None
if by_rep is None:
    pass
elif by_rep.empty:
    st.caption(labels("fu_none_team"))
else:
    widgets.table(labels, by_rep, key="overview_followups", filename="open_followups_by_rep",
                  alert="overdue_followups", counts=("open_followups", "overdue_followups"))
st.page_link("pages/15_followups.py", label=labels("fu_go"), icon="📋")
