"""库存 Inventory: stock against safety stock, cover, turnover, ageing, and marked to market."""

import streamlit as st

from analytics.display import charts
from analytics.domain import inventory, market
from ui import widgets
from ui.frame import frame

ctx = frame("inventory")
labels, period = ctx.labels, ctx.filters.period
if ctx.narrowed:
    st.caption(labels("stock_sales_scope_note"))

a, b, c, d = st.columns(4)
as_of = a.date_input(labels("as_of"), value=period.end, key="stock_as_of")
cycle = int(b.number_input(labels("cycle_days"), 1, 365, inventory.CYCLE_DAYS,
                           key="stock_cycle", help=labels("help_cycle_days")))
factor = float(c.number_input(labels("safety_factor"), 0.1, 10.0, inventory.SAFETY_FACTOR,
                              step=0.1, key="stock_factor", help=labels("help_safety_factor")))
over = float(d.number_input(labels("overstock_factor"), 0.5, 20.0, inventory.OVERSTOCK_FACTOR,
                            step=0.5, key="stock_over", help=labels("help_overstock_factor")))
status = ctx.cached(inventory.status, as_of=as_of, cycle_days=cycle, factor=factor,
                    over_factor=over)
if status.empty:
    st.info(labels("stock_none"))
    st.stop()
totals = inventory.status_totals(status)
turn = ctx.cached(inventory.turnover, period=period)
k = st.columns(4)
k[0].metric(labels("col_on_hand_t"), labels.tonnes(totals["on_hand_t"]), border=True)
k[1].metric(labels("col_days_cover"), labels.days(totals["days_cover"])
            if totals["daily_sales_t"] else "—",
            border=True, help=labels("help_days_cover"))
all_row = turn[turn["product"] == "all"]
k[2].metric(labels("col_annual_turns"), labels.number(float(all_row["annual_turns"].iloc[0]), 1)
            if len(all_row) else "—", border=True, help=labels("help_turnover"))
k[3].metric(labels("below_safety_count"), int(totals["below_safety"]), border=True)
joiner = "、" if ctx.lang == "zh" else ", "
for state, show in (("below_safety", st.error), ("overstock", st.warning)):
    hit = status[status["stock_status"] == state]
    if len(hit):
        show(labels(f"alert_{state}",
                    products=joiner.join(labels.values("category", hit["product"]))))
widgets.table(labels, status, key="stock_status", filename="stock_status",
              tonnes=("on_hand_t", "cycle_sales_t", "daily_sales_t", "safety_t",
                      "overstock_t", "gap_t"), percent=("days_cover",))
st.caption(labels("safety_rule", factor=factor, cycle=cycle, over=over))

choice = st.selectbox(labels("col_product"), ["", *status["product"]], key="stock_product",
                      format_func=lambda p: labels.value("category", p) if p else
                      labels("all_products"))
product = choice or None
name = labels.value("category", choice) if choice else labels("all_products")
hist = ctx.cached(inventory.safety_history, period=period, product=product, cycle_days=cycle,
                  factor=factor, over_factor=over)
st.plotly_chart(charts.stock_safety_chart(hist, labels, title=labels("safety_title",
                                                                        product=name)),
                key="safety_chart")
left, right = st.columns(2)
left.plotly_chart(charts.stock_by_warehouse_chart(
    ctx.cached(inventory.levels, period=period, product=product), labels), key="wh_chart")
sv = ctx.cached(inventory.stock_vs_price, period=period, product=product, grain="week")
right.plotly_chart(charts.stock_price_chart(sv, labels), key="stock_price_chart")
corr = inventory.price_stock_correlation(sv)
right.caption(labels("stock_price_note", corr=labels.number(corr, 2)))

st.header(labels("turnover_title"))
left, right = st.columns(2)
with left:
    widgets.table(labels, turn, key="turnover", filename="turnover",
                  tonnes=("sold_t", "avg_on_hand_t"), percent=("turns", "annual_turns",
                                                               "days_in_stock"))
right.plotly_chart(charts.turnover_chart(ctx.cached(inventory.turnover_by_month,
                                                    period=period), labels), key="turn_chart")
st.header(labels("stock_age_title"))
st.caption(labels("stock_age_intro"))
ages = ctx.cached(inventory.ageing, as_of=as_of)
st.plotly_chart(charts.stock_age_chart(ages, labels, inventory.AGE_BUCKETS), key="age_chart")

st.header(labels("mtm_title"))
if not ctx.scope.sees_profit:
    st.info(labels("mtm_needs_cost"))
    st.stop()
st.caption(labels("mtm_intro"))
a, b, c = st.columns(3)
markets = ctx.cached(market.markets)
spot = sorted(m for m in markets["market"].unique() if m not in market.FUTURES_MARKETS)
# by default each product at its own most-quoted spot market (as the report values it), not
# every product at the first market in the list
valuation = a.selectbox(labels("valuation_market"), ["", *spot], key="mtm_market",
                        format_func=lambda m: labels.value("market", m) if m
                        else labels("valuation_own_market"))
threshold = float(b.number_input(labels("mtm_threshold"), 0.1, 50.0,
                                 inventory.ALERT_THRESHOLD_PCT, step=0.5, key="mtm_threshold",
                                 help=labels("help_mtm_threshold")))
fall = float(c.slider(labels("what_if_fall"), 0.0, 30.0, 5.0, step=0.5, key="what_if"))
book = ctx.cached(inventory.mark_to_market, as_of=as_of, market=valuation or None,
                  threshold_pct=threshold)
total = inventory.mtm_total(book, threshold_pct=threshold)
rise_colour = "inverse" if ctx.lang == "zh" else "normal"
k = st.columns(4)
k[0].metric(labels("col_book_cny"), labels.money(total["book_cny"]), border=True)
k[1].metric(labels("col_market_cny"), labels.money(total["market_cny"]), border=True)
k[2].metric(labels("col_floating_cny"), labels.money(total["floating_cny"]),
            delta=f"{total['floating_pct']:+.2f}%", delta_color=rise_colour, border=True)
book = inventory.with_what_if(book, fall_pct=fall)
loss = float(book["loss_cny"].sum())
k[3].metric(labels("what_if_loss", fall=fall), labels.money(-loss), border=True,
            help=labels("help_what_if"))
st.markdown(labels("what_if_sentence", fall=fall, loss=labels.money(loss),
                   after=labels.money(total["floating_cny"] - loss)))
if total["alert"]:
    st.error(labels("mtm_alert_total", pct=labels.percent(-total["floating_pct"], 2),
                    threshold=threshold))
hit = book[book["alert"]]
if len(hit):
    st.warning(labels("mtm_alert_products", threshold=threshold,
                      products=joiner.join(labels.values("category", hit["product"]))))
widgets.table(labels, book, key="mtm_table", filename="mark_to_market",
              tonnes=("on_hand_t",), money=("avg_cost_cny_per_t", "price_cny_per_t", "book_cny",
                                           "market_cny", "floating_cny", "loss_cny",
                                           "floating_after_cny"),
              percent=("floating_pct",), signed=("floating_cny", "floating_pct"))
mtm_hist = ctx.cached(inventory.mtm_history, period=period, market=valuation or None,
                      product=product)
if len(mtm_hist):
    worst = mtm_hist.loc[mtm_hist["drawdown_cny"].idxmin()]
    st.plotly_chart(charts.mtm_chart(mtm_hist, labels), key="mtm_chart")
    st.caption(labels("mtm_drawdown_note", drawdown=labels.money(float(worst["drawdown_cny"])),
                      date=labels.date(worst["date"])))
