"""信用与应收 Credit: exposure against limits, ageing, DSO, financing cost, early warnings."""

import streamlit as st

from analytics.display import charts, warning_words
from analytics.domain import credit
from analytics.store.frames import present, select
from ui import widgets
from ui.frame import frame

ctx = frame("credit")
labels, period = ctx.labels, ctx.filters.period

as_of = st.date_input(labels("as_of"), value=period.end, key="credit_as_of")
st.header(labels("warning_title"))
st.caption(labels("warning_intro"))
alerts = ctx.early_warning(as_of)
rules = alerts.attrs.get("churn_basis") == "rules"
if rules:
    st.caption(labels("warning_rules"))

if alerts.empty:  # say so, not an empty grid (as the Overview does)
    st.info(labels("warning_none"))
else:  # reasons worded for the rows on screen (18,000 customers' took 0.1 s of each rerun)
    widgets.customer_table(labels, alerts, key="warnings", filename="early_warning",
                           shown=lambda rows: warning_words.shown(rows, labels, rules=rules),
                           money=("money_at_stake_cny", "overdue_cny", "over_limit_cny"),
                           percent=("probability",))

st.header(labels("exposure_title"))
st.caption(labels("exposure_intro"))
exposure = ctx.cached(credit.exposure, as_of=as_of)
over = int(exposure["over_limit"].sum())
if over:
    st.warning(labels("over_limit_count", n=over))
if exposure.empty:  # say why, not an empty grid (a transactions-only book has no receivables)
    st.info(labels("exposure_none"))
widgets.customer_table(labels, select(exposure, (
    "customer_id", "name", "sales_rep", "grade", "grade_source", "credit_limit_cny",
    "payment_terms_days", "open_receivables_cny", "uninvoiced_cny", "open_orders_cny",
    "exposure_cny", "utilisation", "over_limit", "monthly_sales_cny", "term_months",
    "grade_factor", "suggested_limit_cny")).assign(
    utilisation=exposure["utilisation"] * 100),
    key="exposure", filename="credit_exposure", preview_rows=widgets.PREVIEW_ROWS,
    money=("credit_limit_cny", "open_receivables_cny", "uninvoiced_cny", "open_orders_cny",
           "exposure_cny", "monthly_sales_cny", "suggested_limit_cny"),
    percent=("utilisation", "term_months"))
st.caption(labels("grade_rule"))

st.header(labels("ageing_title"))
by = st.segmented_control(labels("ageing_by"), ("customer_id", "sales_rep", "type",
                                                "province"), default="customer_id",
                          key="ageing_by", format_func=lambda b: labels.value("ageing_by", b))
table = ctx.cached(credit.ageing_summary, as_of=as_of, by=by)
total = ctx.cached(credit.ageing_summary, as_of=as_of, by=None)
# four cards a row: seven in one cut 3298万元 to "3298万…" on a laptop's width
cards = (*credit.BUCKETS, "total")
for start in range(0, len(cards), 4):
    for col, bucket in zip(st.columns(4), cards[start:start + 4], strict=False):
        col.metric(labels.value("bucket", bucket), labels.money(float(total[bucket].sum())))
if by and len(table):
    st.plotly_chart(charts.ageing_bars(table, by, labels), key="ageing_chart")
    widgets.table(labels, table, key="ageing_table", filename=f"ageing_by_{by}",
                  money=(*credit.BUCKETS, "total", "overdue"),
                  preview_rows=widgets.PREVIEW_ROWS)

left, right = st.columns(2)
left.plotly_chart(charts.dso_chart(ctx.cached(credit.dso_trend, period=period), labels),
                  key="dso")
with right:
    if not ctx.scope.sees_profit:  # a rep's level: no margin figures
        st.stop()
    st.subheader(labels("financing_title"))
    st.caption(labels("financing_intro", rate=f"{credit.MONTHLY_RATE * 100:.3f}"))
    fin = credit.worst_first(ctx.cached(credit.financing, period=period))
    cols = present(fin, ("customer_id", "name", "invoiced_cny", "avg_days_outstanding",
                        "financing_cny", "gross_profit_cny", "net_margin_cny",
                        "looks_profitable_but_is_not"))
    widgets.customer_table(labels, fin[cols].head(50), key="financing",
                           filename="margin_net_of_financing",
                           money=("invoiced_cny", "financing_cny", "gross_profit_cny",
                                  "net_margin_cny"), percent=("avg_days_outstanding",))
