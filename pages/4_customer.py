"""客户档案 Customer card: everything known about one customer."""

import pandas as pd
import streamlit as st

from analytics.display import charts
from analytics.domain import card
from ui import followups, widgets
from ui.frame import frame

ctx = frame("customer")
labels = ctx.labels
as_of = ctx.filters.period.end

query = st.text_input(labels("card_search"), key="card_query",
                      placeholder=labels("card_search_hint"))
found = ctx.cached_unfiltered(card.search, query=query, as_of=as_of)
current = st.session_state.get("card_customer")
options = list(found["customer_id"])
if current and current not in options:
    if query.strip():
        current = None  # a new search: show its first match
    else:
        options.insert(0, current)  # opened from another page, outside the first matches
if not options:
    st.info(labels("card_none_found"))
    st.stop()
names = dict(zip(found["customer_id"], found["name"], strict=True))
picked = st.selectbox(labels("card_pick"), options,
                      index=options.index(current) if current in options else 0,
                      format_func=lambda c: f"{names.get(c, c)} ({c})", key="card_pick")
st.session_state["card_customer"] = picked
try:
    c = ctx.cached_unfiltered(card.customer_card, customer_id=picked, as_of=as_of,
                              with_history=False)
except LookupError:  # not in this user's scope, or removed by an import
    st.warning(labels("card_not_visible"))
    st.stop()

m = c.master
st.header(widgets.plain(m.get("name") or picked))
st.caption(" · ".join(widgets.plain(x) for x in (
    picked, labels.value("type", m.get("type")), labels.value("province", m.get("province")),
    m.get("city"), m.get("sales_rep") and f"{labels('sales_rep')}: {m.get('sales_rep')}",
    labels.value("relationship", m.get("relationship_level")),
    labels.value("stage", m.get("stage"))) if x))
st.caption(labels("card_as_of", date=labels.date(as_of)))

cycle = c.cycle
cols = st.columns(6)
cols[0].metric(labels("card_revenue_12m"), labels.money(c.last_12_months["revenue_cny"]))
if "gross_profit_cny" in c.last_12_months:
    cols[1].metric(labels("card_profit_12m"), labels.money(c.last_12_months["gross_profit_cny"]))
cols[2].metric(labels("card_tonnes_12m"), labels.tonnes(c.last_12_months["volume_t"]))
cols[3].metric(labels("card_cycle"), labels.days(cycle["median_gap_days"])
               if cycle["median_gap_days"] is not None else "—", help=labels("card_cycle_help"))
cols[4].metric(labels("card_since_last"), labels.days(cycle["days_since_last"])
               if cycle["days_since_last"] is not None else "—",
               delta=labels("card_overdue") if cycle["overdue"] else None,
               delta_color="inverse" if cycle["overdue"] else "off")
cols[5].metric(labels("card_overdue_ar"), labels.money(c.credit["overdue_cny"]))
if cycle["overdue"]:
    st.warning(labels("card_overdue_warning", days=cycle["days_since_last"],
                      cycle=f"{cycle['median_gap_days']:.0f}"))
if len(c.reminders):
    st.info(" · ".join(labels("card_reminder", kind=labels.value("key_date", r.kind),
                              date=labels.date(r.date), days=r.in_days)
                       for r in c.reminders.itertuples()), icon="📅")

followups.card_section(ctx, picked, names.get(picked) or m.get("name"))

left, right = st.columns([3, 2])
if c.monthly["revenue_cny"].abs().sum() > 0:
    left.plotly_chart(charts.monthly_volume_profit(c.monthly, labels), key="card_monthly")
else:
    left.info(labels("card_no_sales"))
if len(c.product_mix):
    right.plotly_chart(charts.product_mix(c.product_mix, labels), key="card_mix")

t_hist, t_credit, t_complaints, t_surveys, t_contacts, t_master = st.tabs([
    labels("card_history"), labels("card_credit"), labels("card_complaints"),
    labels("card_surveys"), labels("card_contacts"), labels("card_master")])
with t_hist:
    # the whole book's standing is kept; a scope ranks and grades this customer alone
    history = ctx.cached_unfiltered(card.history_for, customer_id=picked, as_of=as_of,
                                    since=c.cycle["first_order"])
    widgets.table(labels, history, key="card_history", filename=f"{picked}_history")
with t_credit:
    credit = c.credit
    k = st.columns(4)
    k[0].metric(labels("credit_grade"), credit.get("credit_grade") or "—")
    k[1].metric(labels("credit_limit"), labels.money(credit.get("credit_limit_cny") or 0.0))
    k[2].metric(labels("payment_terms"), labels.days(credit.get("payment_terms_days") or 0))
    k[3].metric(labels("open_receivables"), labels.money(credit["open_receivables_cny"]))
    widgets.table(labels, c.open_invoices, key="card_invoices", filename=f"{picked}_invoices",
                  money=("amount_cny", "open_cny"))
with t_complaints:
    widgets.table(labels, c.complaints, key="card_complaints",
                  filename=f"{picked}_complaints", money=("compensation_cny",))
with t_surveys:
    widgets.table(labels, c.surveys, key="card_surveys", filename=f"{picked}_surveys")
with t_contacts:
    widgets.table(labels, c.contacts, key="card_contacts", filename=f"{picked}_contacts")
with t_master:
    st.dataframe(pd.DataFrame({labels("card_field"): list(m), labels("card_value"):
                               [str(v) if v is not None else "—" for v in m.values()]}),
                 hide_index=True)
