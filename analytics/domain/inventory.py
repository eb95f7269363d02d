"""库存 Inventory: stock against safety stock, days of cover, turnover, ageing, and the stock
marked to market.

Definitions (docs/method.md, "Market, inventory, products"):
- stock of a product on a date = the sum over warehouses of each warehouse's latest count on or
  before that date (counts may be daily, weekly or irregular);
- cycle sales = tonnes sold (orders.volume_t by category) in the ``cycle_days`` calendar days
  ending on the date (scaled up to a whole cycle while the data is younger than one);
  safety stock = ``factor`` × cycle sales (default 1.5 × 30 days);
  overstock level = ``over_factor`` × cycle sales (default 3 × = 90 days of sales);
- days of cover = stock / (cycle sales / cycle_days);
- turnover in a period = tonnes sold / average stock (mean of the counts in the period);
  annualised = that × 365 / days in the period; days in stock = days / turnover;
- ageing, first in first out: receipts are inferred where no receipt table exists as
  (stock change + tonnes sold) between consecutive counts when positive; today's stock is made
  of the latest receipts; what is older than the data is "before_data";
- mark-to-market: book value = stock × average cost; market value = stock × the latest market
  quote on or before the date (the valuation market, spot by default); floating P/L = market
  − book; its drawdown = P/L − its running peak. A price-fall alert fires when the floating loss
  exceeds ``threshold_pct`` of book value; what-if: a further fall of X % loses
  X % × market value.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from ibis import _

from analytics.domain import market as market_mod
from analytics.store.memo import by_query
from analytics.store.period import Period
from analytics.store.results import as_of_end, kept, last_12_months
from analytics.store.warehouse import MissingData, Tables

CYCLE_DAYS = 30
SAFETY_FACTOR = 1.5
OVERSTOCK_FACTOR = 3.0
ALERT_THRESHOLD_PCT = 3.0   # about a trader's gross margin: a fall this large wipes it out
AGE_BUCKETS = ("0_30", "31_60", "61_90", "over_90", "before_data")
STATUSES = ("below_safety", "ok", "overstock", "no_sales")


def _within(frame: pd.DataFrame, period: Period) -> pd.DataFrame:
    return frame[(frame["date"] >= pd.Timestamp(period.start))
                 & (frame["date"] <= pd.Timestamp(period.end))]


def _counts(tables: Tables, *, with_cost: bool = False) -> pd.DataFrame:
    """Raw counts: date, product, warehouse, on_hand_t (and avg_cost_cny_per_t)."""
    inv = tables.get("inventory")
    if with_cost and "avg_cost_cny_per_t" not in inv.columns:
        raise MissingData("inventory", "avg_cost_cny_per_t")
    if "warehouse" not in inv.columns:
        inv = inv.mutate(warehouse=_.product.cast("string").left(0))
    cols = ["date", "product", "warehouse", "on_hand_t"] + (
        ["avg_cost_cny_per_t"] if with_cost else [])
    frame = inv.select(*cols).to_pandas()
    frame["date"] = pd.to_datetime(frame["date"])
    frame["warehouse"] = frame["warehouse"].fillna("")
    return frame


@by_query("inventory")
def stock_by_day(tables: Tables, *, by_warehouse: bool = False, with_cost: bool = False,
                 dates: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """date, product[, warehouse], on_hand_t[, avg_cost_cny_per_t] on every date that has a
    count (or on ``dates``), each warehouse carried forward from its latest count."""
    raw = _counts(tables, with_cost=with_cost)
    if raw.empty:
        cols = ["date", "product", *(["warehouse"] if by_warehouse else []), "on_hand_t"]
        return pd.DataFrame(columns=cols)
    raw = raw.groupby(["date", "product", "warehouse"], as_index=False).agg(
        on_hand_t=("on_hand_t", "sum"),
        **({"avg_cost_cny_per_t": ("avg_cost_cny_per_t", "mean")} if with_cost else {}))
    grid = pd.DatetimeIndex(sorted(raw["date"].unique())) if dates is None else dates
    # every product and warehouse side by side, carried forward at once (one loop per pair
    # took 0.1-0.2 s of each of the stock page's three readings at 10 M lines)
    wide = raw.set_index(["date", "product", "warehouse"]).unstack(["product", "warehouse"])
    wide = wide.reindex(wide.index.union(grid)).ffill().reindex(grid)
    long = pd.DataFrame(wide.rename_axis("date").stack(["product", "warehouse"],
                                                       future_stack=True))
    long = long.dropna(subset=["on_hand_t"]).reset_index()
    long["product"], long["warehouse"] = long["product"].astype(str), \
        long["warehouse"].astype(str)
    long = long.sort_values(["product", "warehouse", "date"], kind="stable")
    long = long[["date", *(c for c in long.columns if c != "date")]]
    if by_warehouse:
        return long.reset_index(drop=True)
    if with_cost:
        long["book"] = long["on_hand_t"] * long["avg_cost_cny_per_t"]
        out = long.groupby(["date", "product"], as_index=False)[["on_hand_t", "book"]].sum()
        out["avg_cost_cny_per_t"] = out["book"] / out["on_hand_t"].replace(0, np.nan)
        return out.drop(columns="book")
    return long.groupby(["date", "product"], as_index=False)[["on_hand_t"]].sum()


# The stock and the market do not depend on whose customers are in view: kept with the
# version, the same for every reader (``company``)
@kept(last_12_months, company=True)
def levels(tables: Tables, *, period: Period, product: str | None = None) -> pd.DataFrame:
    """date, warehouse, on_hand_t in ``period`` (one product or all) — the stock over time."""
    stock = stock_by_day(tables, by_warehouse=True)
    stock = _within(stock, period)
    if product is not None:
        stock = stock[stock["product"] == product]
    return stock.groupby(["date", "warehouse"], as_index=False)[["on_hand_t"]].sum()


@by_query("orders")
def daily_sales(tables: Tables, *, end: date | None = None) -> pd.DataFrame:
    """Tonnes sold per calendar day (index, no gaps) and product (columns)."""
    orders = tables.get("orders")
    for col in ("category", "volume_t"):
        if col not in orders.columns:
            raise MissingData("orders", col)
    if end is not None:
        orders = orders.filter(_.order_date <= end)
    frame = (orders.filter(_.category.notnull()).group_by(d=_.order_date, product=_.category)
             .aggregate(sold_t=_.volume_t.sum()).to_pandas())
    if frame.empty:
        return pd.DataFrame()
    frame["d"] = pd.to_datetime(frame["d"])
    wide = frame.pivot_table(index="d", columns="product", values="sold_t", aggfunc="sum",
                             fill_value=0.0)
    days = pd.date_range(wide.index.min(), max(wide.index.max(),
                                               pd.Timestamp(end) if end else wide.index.max()))
    return wide.reindex(days, fill_value=0.0).rename_axis("date")


def _cycle_sales(sales: pd.DataFrame, cycle_days: int) -> pd.DataFrame:
    """Sales in the trailing cycle; in the first cycle of the data, the days known scaled up
    to a whole cycle (10 days of data stand for a cycle, not for a third of one)."""
    known = np.minimum(np.arange(1, len(sales) + 1), cycle_days)
    summed = sales.rolling(cycle_days, min_periods=1).sum()
    return summed.mul(cycle_days / known, axis=0)


def safety_history(tables: Tables, *, period: Period, product: str | None = None,
                   cycle_days: int = CYCLE_DAYS, factor: float = SAFETY_FACTOR,
                   over_factor: float = OVERSTOCK_FACTOR) -> pd.DataFrame:
    """date, on_hand_t, cycle_sales_t, safety_t, overstock_t, days_cover on each count date in
    ``period``, for one product or (``product=None``) all products together."""
    stock = stock_by_day(tables)
    if product is not None:
        stock = stock[stock["product"] == product]
    on_hand = stock.groupby("date")["on_hand_t"].sum()
    on_hand = on_hand[(on_hand.index >= pd.Timestamp(period.start))
                      & (on_hand.index <= pd.Timestamp(period.end))]
    sales = daily_sales(tables, end=period.end)
    if product is not None:
        sales = sales[[product]] if product in sales else pd.DataFrame(index=sales.index)
    cycle = _cycle_sales(sales, cycle_days).sum(axis=1) if len(sales.columns) else \
        pd.Series(0.0, index=sales.index)
    out = pd.DataFrame({"on_hand_t": on_hand})
    out["cycle_sales_t"] = cycle.reindex(out.index).fillna(0.0)
    out["safety_t"] = factor * out["cycle_sales_t"]
    out["overstock_t"] = over_factor * out["cycle_sales_t"]
    rate = out["cycle_sales_t"] / cycle_days
    out["days_cover"] = out["on_hand_t"] / rate.replace(0, np.nan)
    return out.rename_axis("date").reset_index()


def status(tables: Tables, *, as_of: date, cycle_days: int = CYCLE_DAYS,
           factor: float = SAFETY_FACTOR, over_factor: float = OVERSTOCK_FACTOR
           ) -> pd.DataFrame:
    """Per product on ``as_of``: on_hand_t, cycle_sales_t, daily_sales_t, safety_t,
    overstock_t, days_cover, gap_t (stock − safety) and stock_status (below_safety, ok,
    overstock, no_sales). Below safety first, then overstock."""
    day = pd.Timestamp(as_of)
    stock = stock_by_day(tables, dates=pd.DatetimeIndex([day]))
    on_hand = stock.set_index("product")["on_hand_t"]
    sales = daily_sales(tables, end=as_of)
    cycle = _cycle_sales(sales, cycle_days).iloc[-1].reindex(on_hand.index).fillna(0.0) \
        if len(sales) else pd.Series(0.0, index=on_hand.index)
    out = pd.DataFrame({"on_hand_t": on_hand, "cycle_sales_t": cycle})
    out["daily_sales_t"] = out["cycle_sales_t"] / cycle_days
    out["safety_t"] = factor * out["cycle_sales_t"]
    out["overstock_t"] = over_factor * out["cycle_sales_t"]
    out["days_cover"] = out["on_hand_t"] / out["daily_sales_t"].replace(0, np.nan)
    out["gap_t"] = out["on_hand_t"] - out["safety_t"]
    out["stock_status"] = np.select(
        [out["cycle_sales_t"] <= 0, out["on_hand_t"] < out["safety_t"],
         out["on_hand_t"] > out["overstock_t"]], ["no_sales", "below_safety", "overstock"], "ok")
    order = {"below_safety": 0, "overstock": 1, "no_sales": 2, "ok": 3}
    out = out.rename_axis("product").reset_index()
    return out.sort_values(["stock_status", "days_cover"], key=lambda c: c.map(order)
                           if c.name == "stock_status" else c).reset_index(drop=True)


def turnover(tables: Tables, *, period: Period) -> pd.DataFrame:
    """Per product and in total ("all"): sold_t, avg_on_hand_t, turns, annual_turns,
    days_in_stock over ``period``."""
    return _turnover(stock_by_day(tables), daily_sales(tables, end=period.end), period)


def _turnover(stock: pd.DataFrame, sales: pd.DataFrame, period: Period) -> pd.DataFrame:
    """turnover() from the stock by day and the daily sales (to the period end or later)."""
    days = (period.end - period.start).days + 1
    stock = _within(stock, period)
    avg = stock.groupby("product")["on_hand_t"].mean()
    total_avg = stock.groupby("date")["on_hand_t"].sum().mean() if len(stock) else np.nan
    sold = sales[(sales.index >= pd.Timestamp(period.start))
                 & (sales.index <= pd.Timestamp(period.end))].sum() if len(sales) else \
        pd.Series(dtype=float)
    out = pd.DataFrame({"sold_t": sold, "avg_on_hand_t": avg}).fillna({"sold_t": 0.0})
    out.loc["all"] = [float(out["sold_t"].sum()), float(total_avg)]
    out["turns"] = out["sold_t"] / out["avg_on_hand_t"].replace(0, np.nan)
    out["annual_turns"] = out["turns"] * 365 / days
    out["days_in_stock"] = days / out["turns"].replace(0, np.nan)
    return out.rename_axis("product").reset_index()


def turnover_by_month(tables: Tables, *, period: Period) -> pd.DataFrame:
    """month, sold_t, avg_on_hand_t, annual_turns (all products) per whole or part month."""
    rows = []
    # the stock and the sales are read once, not once a month
    stock, sales = stock_by_day(tables), daily_sales(tables, end=period.end)
    for start in pd.date_range(pd.Timestamp(period.start).to_period("M").start_time,
                               pd.Timestamp(period.end), freq="MS"):
        end = min((start + pd.offsets.MonthEnd(0)).date(), period.end)
        first = max(start.date(), period.start)
        t = _turnover(stock, sales, Period(first, end))
        row = t[t["product"] == "all"].iloc[0]
        rows.append({"month": start.date(), "sold_t": row["sold_t"],
                     "avg_on_hand_t": row["avg_on_hand_t"],
                     "annual_turns": row["annual_turns"]})
    return pd.DataFrame(rows, columns=["month", "sold_t", "avg_on_hand_t", "annual_turns"])


def ageing(tables: Tables, *, as_of: date) -> pd.DataFrame:
    """Per product: tonnes in stock on ``as_of`` by age bucket (first in, first out), from
    receipts inferred as stock change + tonnes sold between counts."""
    day = pd.Timestamp(as_of)
    stock = stock_by_day(tables)
    stock = stock[stock["date"] <= day]
    sales = daily_sales(tables, end=as_of)
    rows = []
    for product, g in stock.groupby("product"):
        s = g.set_index("date")["on_hand_t"].sort_index()
        sold = sales[product].cumsum() if product in sales else pd.Series(0.0, index=s.index)
        sold_at = sold.reindex(sold.index.union(s.index)).ffill().fillna(0.0).reindex(s.index)
        receipts = (s.diff() + sold_at.diff()).clip(lower=0.0).iloc[1:]
        left = float(s.iloc[-1])
        tonnes = dict.fromkeys(AGE_BUCKETS, 0.0)
        for d, qty in receipts[::-1].items():
            if left <= 0:
                break
            take = min(float(qty), left)
            age = (day - pd.Timestamp(str(d))).days
            bucket = "0_30" if age <= 30 else "31_60" if age <= 60 else \
                "61_90" if age <= 90 else "over_90"
            tonnes[bucket] += take
            left -= take
        tonnes["before_data"] += max(left, 0.0)
        rows.append({"product": product, "on_hand_t": float(s.iloc[-1]), **tonnes})
    return pd.DataFrame(rows, columns=["product", "on_hand_t", *AGE_BUCKETS])


# --------------------------------------------------------------------------------------------
# Stock against the market, and marked to market
# --------------------------------------------------------------------------------------------
def _valuation_quotes(tables: Tables, products: list[str], market: str | None
                      ) -> dict[str, pd.Series]:
    out = {}
    for p in products:
        m = market if market is not None else market_mod.default_market(tables, p)
        s = market_mod.quotes(tables, product=p, market=m)
        if s.empty and market is not None:  # this product is not quoted there: its own default
            s = market_mod.quotes(tables, product=p,
                                  market=market_mod.default_market(tables, p))
        out[p] = s
    return out


def _priced(stock: pd.DataFrame, tables: Tables, market: str | None) -> pd.DataFrame:
    """The stock rows with price_cny_per_t: each product's latest quote on or before the date
    in the valuation market (NaN where it has none)."""
    prices = _valuation_quotes(tables, sorted(stock["product"].unique()), market)
    parts = []
    for p, g in stock.groupby("product"):
        q = prices[str(p)]
        g = g.sort_values("date")
        parts.append(pd.merge_asof(g, q.rename("price_cny_per_t").reset_index(), on="date",
                                   direction="backward") if len(q)
                     else g.assign(price_cny_per_t=np.nan))
    return pd.concat(parts, ignore_index=True)


def _marked(stock: pd.DataFrame, tables: Tables, market: str | None) -> pd.DataFrame:
    out = _priced(stock, tables, market)
    out["book_cny"] = out["on_hand_t"] * out["avg_cost_cny_per_t"]
    out["market_cny"] = out["on_hand_t"] * out["price_cny_per_t"]
    out["floating_cny"] = out["market_cny"] - out["book_cny"]
    return out


@kept(as_of_end, company=True, profit=("avg_cost_cny_per_t",))
def mark_to_market(tables: Tables, *, as_of: date, market: str | None = None,
                   threshold_pct: float = ALERT_THRESHOLD_PCT) -> pd.DataFrame:
    """Per product on ``as_of``: on_hand_t, avg_cost_cny_per_t, price_cny_per_t, book_cny,
    market_cny, floating_cny, floating_pct (of book) and alert (a loss beyond the threshold)."""
    stock = stock_by_day(tables, with_cost=True, dates=pd.DatetimeIndex([pd.Timestamp(as_of)]))
    cols = ["product", "on_hand_t", "avg_cost_cny_per_t", "price_cny_per_t", "book_cny",
            "market_cny", "floating_cny", "floating_pct", "alert"]
    if stock.empty:
        return pd.DataFrame(columns=cols)
    out = _marked(stock, tables, market)
    out["floating_pct"] = out["floating_cny"] / out["book_cny"].replace(0, np.nan) * 100
    out["alert"] = out["floating_pct"] < -threshold_pct
    return out[cols].sort_values("floating_cny").reset_index(drop=True)


def mtm_total(book: pd.DataFrame, *, threshold_pct: float = ALERT_THRESHOLD_PCT
              ) -> dict[str, float | bool]:
    """The whole book: on_hand_t, book_cny, market_cny, floating_cny, floating_pct, alert."""
    priced = book.dropna(subset=["market_cny", "book_cny"])
    b, m = float(priced["book_cny"].sum()), float(priced["market_cny"].sum())
    pct = (m - b) / b * 100 if b else float("nan")
    return {"on_hand_t": float(priced["on_hand_t"].sum()), "book_cny": b, "market_cny": m,
            "floating_cny": m - b, "floating_pct": pct, "alert": bool(pct < -threshold_pct)}


@kept(last_12_months, company=True, profit=("avg_cost_cny_per_t",))
def mtm_history(tables: Tables, *, period: Period, market: str | None = None,
                product: str | None = None) -> pd.DataFrame:
    """date, book_cny, market_cny, floating_cny, peak_cny (running peak of the floating P/L
    within the period) and drawdown_cny (floating − peak, ≤ 0), all products or one."""
    stock = stock_by_day(tables, with_cost=True)
    stock = _within(stock, period)
    if product is not None:
        stock = stock[stock["product"] == product]
    cols = ["date", "book_cny", "market_cny", "floating_cny", "peak_cny", "drawdown_cny"]
    if stock.empty:
        return pd.DataFrame(columns=cols)
    marked = _marked(stock, tables, market).dropna(subset=["market_cny", "book_cny"])
    out = marked.groupby("date")[["book_cny", "market_cny", "floating_cny"]].sum()
    out["peak_cny"] = out["floating_cny"].cummax()
    out["drawdown_cny"] = out["floating_cny"] - out["peak_cny"]
    return out.reset_index()[cols]


def what_if(book: pd.DataFrame, *, fall_pct: float) -> pd.DataFrame:
    """If every price falls ``fall_pct`` % from here: loss_cny = market value × fall, and the
    floating P/L after it, per product (same rows as ``mark_to_market``)."""
    out = book[["product", "on_hand_t", "market_cny", "floating_cny"]].copy()
    out["loss_cny"] = out["market_cny"] * fall_pct / 100
    out["floating_after_cny"] = out["floating_cny"] - out["loss_cny"]
    return out


@kept(last_12_months, company=True)
def stock_vs_price(tables: Tables, *, period: Period, product: str | None = None,
                   market: str | None = None, grain: str = "week") -> pd.DataFrame:
    """date, on_hand_t (mean of the counts per period of the grain) and price (mean quote) —
    the dual-axis chart; for all products the price is the tonnage-weighted mean quote."""
    stock = stock_by_day(tables)
    stock = _within(stock, period)
    if product is not None:
        stock = stock[stock["product"] == product]
    if stock.empty:
        return pd.DataFrame(columns=["date", "on_hand_t", "price"])
    both = _priced(stock, tables, market).rename(columns={"price_cny_per_t": "price"})
    both["start"] = market_mod.period_start(pd.DatetimeIndex(both["date"]), grain)
    both["weighted"] = both["price"] * both["on_hand_t"]
    day = both.groupby(["start", "date"])[["on_hand_t", "weighted"]].sum()
    day["price"] = day["weighted"] / day["on_hand_t"].replace(0, np.nan)
    out = day.groupby(level="start")[["on_hand_t", "price"]].mean()
    return out.rename_axis("date").reset_index()


def price_stock_correlation(frame: pd.DataFrame, *, lead: int = 4) -> float:
    """Correlation of the change in stock per period with the price return over the next
    ``lead`` periods (DOMAIN §2.4 reads an overhang as bearish: expect a negative number)."""
    if len(frame) <= lead + 2:
        return float("nan")
    stock_change = frame["on_hand_t"].pct_change()
    ahead = frame["price"].shift(-lead) / frame["price"] - 1
    both = pd.concat([stock_change, ahead], axis=1).dropna()
    return float(both.iloc[:, 0].corr(both.iloc[:, 1])) if len(both) > 2 else float("nan")


def status_totals(status: pd.DataFrame) -> dict[str, float]:
    """The stock page's headline over ``status``'s products: on_hand_t, daily_sales_t,
    days_cover (stock ÷ daily sales; NaN without sales) and below_safety (how many products)."""
    on_hand, daily = float(status["on_hand_t"].sum()), float(status["daily_sales_t"].sum())
    return {"on_hand_t": on_hand, "daily_sales_t": daily,
            "days_cover": on_hand / daily if daily else float("nan"),
            "below_safety": float((status["stock_status"] == "below_safety").sum())}


def with_what_if(book: pd.DataFrame, *, fall_pct: float) -> pd.DataFrame:
    """``mark_to_market``'s rows with ``what_if``'s loss_cny and floating_after_cny."""
    scenario = what_if(book, fall_pct=fall_pct)
    return book.merge(scenario[["product", "loss_cny", "floating_after_cny"]], on="product")
