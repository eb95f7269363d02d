"""市场价格 Market: prices with moving averages, 涨跌, 同比/环比, spreads, basis, our prices."""

import streamlit as st

from analytics.display import charts
from analytics.domain import market
from ui import widgets
from ui.frame import frame

ctx = frame("market")
labels, period = ctx.labels, ctx.filters.period
rise_colour = "inverse" if ctx.lang == "zh" else "normal"  # 红涨绿跌 in Chinese mode

series = ctx.cached(market.markets)
if series.empty:
    st.info(labels("market_no_quotes"))
    st.stop()
products = sorted(series["product"].unique(), key=lambda p: (p != "rebar", p))
left, mid, right = st.columns([2, 2, 3])
product = left.selectbox(labels("col_product"), products, key="market_product",
                         format_func=lambda p: labels.value("category", p))
choices = series.loc[series["product"] == product, "market"].tolist()
default = ctx.cached(market.default_market, product=product)
market_name = mid.selectbox(labels("col_market"), choices, key=f"market_market_{product}",
                            index=choices.index(default) if default in choices else 0,
                            format_func=lambda m: labels.value("market", m) or "—")
grain = right.segmented_control(labels("grain"), market.GRAINS, default="day",
                                key="market_grain",
                                format_func=lambda g: labels.value("grain", g)) or "day"

history = ctx.cached(market.price_history, product=product, market=market_name, grain=grain,
                     period=period)
if history.empty:
    st.info(labels("market_no_quotes_in_period"))
    st.stop()
last = history.iloc[-1]
cards = st.columns(5)
cards[0].metric(labels("col_price"), labels.number(last["price"]),
                delta=f"{last['price_change']:+,.0f} ({last['price_change_pct']:+.2f}%)",
                delta_color=rise_colour, border=True,
                help=labels("help_price", date=labels.date(last["date"])))
for col, name in zip(cards[1:3], ("mom_pct", "yoy_pct"), strict=True):
    col.metric(labels(f"col_{name}"), labels.percent(last[name], 2),
               delta=f"{last[name]:+.2f}%" if last[name] == last[name] else None,
               delta_color=rise_colour, border=True, help=labels(f"help_{name}"))
cards[3].metric(labels("price_high"), labels.number(history["price"].max()), border=True)
cards[4].metric(labels("price_low"), labels.number(history["price"].min()), border=True)
st.plotly_chart(charts.price_chart(history, labels, title=labels(
    "price_title", product=labels.value("category", product),
    market=labels.value("market", market_name), grain=labels.value("grain", grain))),
    key="price_chart")
st.caption(labels("price_rules"))

st.header(labels("board_title"))
board = ctx.cached(market.price_board, as_of=period.end)
widgets.table(labels, board, key="price_board", filename="price_board",
              money=("price", "price_change", "ma20"),
              signed=("price_change", "price_change_pct", "mom_pct", "yoy_pct", "ytd_pct"),
              percent=("price_change_pct", "mom_pct", "yoy_pct", "ytd_pct"))

st.header(labels("spreads_title"))
st.caption(labels("spreads_intro"))
a, b = st.columns(2)
first = a.selectbox(labels("spread_first"), products, key="spread_first",
                    index=products.index("crc") if "crc" in products else 0,
                    format_func=lambda p: labels.value("category", p))
second = b.selectbox(labels("spread_second"), products, key="spread_second",
                     index=products.index("hrc") if "hrc" in products else 0,
                     format_func=lambda p: labels.value("category", p))
pairs = tuple(dict.fromkeys((*market.DEFAULT_PAIRS, (first, second))))
pairs = tuple(p for p in pairs if p[0] != p[1])
spread_rows = ctx.cached(market.spreads, pairs=pairs, grain=grain, period=period)
if len(spread_rows):
    st.plotly_chart(charts.spread_chart(spread_rows, labels), key="spread_chart")
    summary = market.spread_summary(spread_rows)
    summary["pair"] = [charts.pair_name(p, labels) for p in summary["pair"]]
    widgets.table(labels, summary, key="spread_summary", filename="spreads",
                  money=("latest_spread", "mean_spread"), percent=("percentile",))

futures = [m for m in choices if m in market.FUTURES_MARKETS]
spot = [m for m in choices if m not in market.FUTURES_MARKETS]
if futures and spot:
    st.header(labels("basis_title"))
    st.caption(labels("basis_intro"))
    rows = ctx.cached(market.basis, product=product, spot=spot[0], futures=futures[0],
                      grain=grain, period=period)
    st.plotly_chart(charts.basis_chart(rows, labels), key="basis_chart")

st.header(labels("own_vs_market_title"))
st.caption(labels("own_vs_market_intro"))
own = ctx.cached(market.own_vs_market, product=product,
                 market=default if market_name in market.FUTURES_MARKETS else market_name,
                 grain="week" if grain == "day" else grain, period=period)
st.plotly_chart(charts.own_vs_market_chart(own, labels), key="own_chart")
st.caption(labels("market_upload_hint"))
