"""市场价格 Market prices: level, moving averages, 涨跌, 同比/环比, spreads, basis, and our own
selling price and cost against the market line.

Definitions (docs/method.md, "Market, inventory, products"):
- a series is one product (category) in one market; rows are trading days, so non-trading days
  and gaps simply have no row;
- grains: day, week (Monday start), 旬 (xun: days 1–10, 11–20, 21–end of month), month; a
  period's price is the mean of its quotes (周均价 / 旬均价 / 月均价);
- MA5 / MA20 / MA60 = mean of the last 5 / 20 / 60 observations of the chosen grain (a K-line
  convention: trading days, not calendar days); undefined until that many exist;
- 涨跌 price_change = price − the previous observation; 涨跌幅 price_change_pct = that over it;
- 环比 mom_pct = against the price one month earlier, 同比 yoy_pct = one year earlier (the last
  observation on or before that date, if one lies within the grain's tolerance), so a missing
  day or a holiday does not make the comparison vanish, and a long gap does not fake one;
- spread = price of the first product − price of the second, same date and market (卷螺差
  HRC − rebar, 冷热价差 CRC − HRC); basis 基差 = spot − futures of the same product.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
from ibis import _

from analytics.store.memo import by_query
from analytics.store.period import Period
from analytics.store.warehouse import MissingData, Tables

GRAINS = ("day", "week", "xun", "month")
MA_WINDOWS = (5, 20, 60)
DEFAULT_PAIRS = (("hrc", "rebar"), ("crc", "hrc"))  # 卷螺差, 冷热价差
# How far back an as-of comparison may reach for the observation it compares with.
_TOLERANCE = {"day": pd.Timedelta(days=7), "week": pd.Timedelta(days=7),
              "xun": pd.Timedelta(days=11), "month": pd.Timedelta(days=31)}
FUTURES_MARKETS = ("shfe", "dce", "futures")


@by_query("market_prices")
def markets(tables: Tables) -> pd.DataFrame:
    """product, market, first, last, quotes: which series the data holds."""
    mp = tables.get("market_prices")
    if "market" not in mp.columns:
        mp = mp.mutate(market=ibis.literal(""))
    out = (mp.mutate(market=_.market.fill_null(""))
           .group_by("product", "market")
           .aggregate(first=_.date.min(), last=_.date.max(), quotes=_.count())
           .order_by("product", "market").to_pandas())
    return out


def default_market(tables: Tables, product: str | None = None) -> str:
    """The spot market with the most quotes (futures only when there is nothing else)."""
    m = markets(tables)
    if product is not None:
        m = m[m["product"] == product]
    if m.empty:
        return ""
    spot = m[~m["market"].isin(FUTURES_MARKETS)]
    pool = spot if len(spot) else m
    return str(pool.groupby("market")["quotes"].sum().idxmax())


@by_query("market_prices")
def quotes(tables: Tables, *, product: str, market: str | None = None) -> pd.Series:
    """The daily price series of one product in one market (date index, sorted, one value per
    date: duplicates of a date are averaged)."""
    mp = tables.get("market_prices").filter(_.product == product)
    if market is not None and "market" in mp.columns:
        mp = mp.filter(_.market.fill_null("") == market)
    frame = mp.select("date", "price_cny_per_t").to_pandas()
    s = frame.groupby(pd.to_datetime(frame["date"]))["price_cny_per_t"].mean().sort_index()
    s.index.name = "date"
    return s.astype(float)


def period_start(dates: pd.DatetimeIndex, grain: str) -> pd.DatetimeIndex:
    """The first day of the week / 旬 / month each date falls in (the date itself for day)."""
    d = pd.DatetimeIndex(dates).normalize()
    if grain == "day":
        return d
    if grain == "week":
        return d - pd.to_timedelta(d.day_of_week, unit="D")
    if grain == "month":
        return d - pd.to_timedelta(d.day - 1, unit="D")
    if grain == "xun":
        first = np.where(d.day <= 10, 1, np.where(d.day <= 20, 11, 21))
        return d - pd.to_timedelta(d.day - first, unit="D")
    raise ValueError(f"grain must be one of {GRAINS}")


def resample(series: pd.Series, grain: str) -> pd.Series:
    """Mean price per period of the grain, indexed by the period's first day."""
    if grain == "day":
        return series
    out = series.groupby(period_start(pd.DatetimeIndex(series.index), grain)).mean()
    out.index.name = "date"
    return out


def asof_change(series: pd.Series, offset: pd.DateOffset, tolerance: pd.Timedelta
                ) -> pd.Series:
    """Percent change against the last observation on or before (date − offset), provided it
    lies within ``tolerance`` of that date; NaN otherwise."""
    if series.empty:
        return pd.Series(dtype=float)
    idx = pd.DatetimeIndex(series.index)
    back = pd.DataFrame({"target": idx - offset}).sort_values("target")
    ref = pd.DataFrame({"ref_date": idx, "ref": series.to_numpy()})
    joined = pd.merge_asof(back.assign(order=np.arange(len(back))), ref, left_on="target",
                           right_on="ref_date", direction="backward", tolerance=tolerance)
    joined = joined.sort_values("order")
    ref_values = joined["ref"].to_numpy(dtype=float)
    return pd.Series((series.to_numpy() / ref_values - 1) * 100, index=series.index)


def indicators(series: pd.Series, grain: str = "day") -> pd.DataFrame:
    """price, ma5/ma20/ma60, price_change, price_change_pct, mom_pct, yoy_pct (any grain)."""
    s = series.sort_index().astype(float)
    out = pd.DataFrame({"price": s})
    for w in MA_WINDOWS:
        out[f"ma{w}"] = s.rolling(w, min_periods=w).mean()
    out["price_change"] = s.diff()
    out["price_change_pct"] = s.pct_change() * 100
    tol = _TOLERANCE[grain]
    out["mom_pct"] = asof_change(s, pd.DateOffset(months=1), tol)
    out["yoy_pct"] = asof_change(s, pd.DateOffset(years=1), tol)
    out.index.name = "date"
    return out


def price_history(tables: Tables, *, product: str, market: str | None = None,
                  grain: str = "day", period: Period | None = None) -> pd.DataFrame:
    """One row per observation of the grain in ``period``: date, price, the moving averages
    and the changes. Indicators use history before the period, so MA60 and 同比 are defined
    from the period's first day."""
    market = default_market(tables, product) if market is None else market
    s = resample(quotes(tables, product=product, market=market), grain)
    out = indicators(s, grain).reset_index()
    if period is not None:
        d = out["date"].dt.date
        out = out[(d >= period.start) & (d <= period.end)]
    return out.reset_index(drop=True)


def price_board(tables: Tables, *, as_of: object | None = None) -> pd.DataFrame:
    """The 价格表: the latest quote of every product and market on or before ``as_of`` with its
    涨跌, 环比 (a month), 同比 (a year) and the change since the start of the year (比年初)."""
    rows = []
    for r in markets(tables).itertuples():
        s = quotes(tables, product=str(r.product), market=str(r.market))
        if as_of is not None:
            s = s[s.index <= pd.Timestamp(str(as_of))]
        if s.empty:
            continue
        ind = indicators(s).iloc[-1]
        last = s.index[-1]
        year_start = s[s.index < pd.Timestamp(year=last.year, month=1, day=1)]
        ytd = (s.iloc[-1] / year_start.iloc[-1] - 1) * 100 if len(year_start) else np.nan
        rows.append({"product": r.product, "market": r.market, "date": last.date(),
                     **{k: float(ind[k]) for k in ("price", "price_change",
                                                   "price_change_pct", "mom_pct", "yoy_pct",
                                                   "ma20")},
                     "ytd_pct": float(ytd)})
    return pd.DataFrame(rows, columns=["product", "market", "date", "price", "price_change",
                                       "price_change_pct", "mom_pct", "yoy_pct", "ytd_pct", "ma20"])


def _spread_stats(spread: pd.Series) -> dict[str, float]:
    """Latest value, its mean and where the latest sits in the history (percentile 0–100)."""
    clean = spread.dropna()
    if clean.empty:
        return {"latest_spread": np.nan, "mean_spread": np.nan, "percentile": np.nan}
    latest = float(clean.iloc[-1])
    return {"latest_spread": latest, "mean_spread": float(clean.mean()),
            "percentile": float((clean <= latest).mean() * 100)}


def spreads(tables: Tables, *, pairs: tuple[tuple[str, str], ...] = DEFAULT_PAIRS,
            market: str | None = None, grain: str = "day", period: Period | None = None
            ) -> pd.DataFrame:
    """date, pair ("hrc-rebar"), first, second, spread: the first product's price minus the
    second's, on dates both are quoted in the same market."""
    market = default_market(tables) if market is None else market
    parts = []
    for a, b in pairs:
        sa = resample(quotes(tables, product=a, market=market), grain)
        sb = resample(quotes(tables, product=b, market=market), grain)
        both = pd.concat({"first": sa, "second": sb}, axis=1, sort=True).dropna()
        if both.empty:
            continue
        both["spread"] = both["first"] - both["second"]
        both["pair"] = f"{a}-{b}"
        parts.append(both.reset_index())
    if not parts:
        return pd.DataFrame(columns=["date", "pair", "first", "second", "spread"])
    out = pd.concat(parts, ignore_index=True)
    if period is not None:
        d = out["date"].dt.date
        out = out[(d >= period.start) & (d <= period.end)]
    return out[["date", "pair", "first", "second", "spread"]].reset_index(drop=True)


def spread_summary(spread_rows: pd.DataFrame) -> pd.DataFrame:
    """pair, latest_spread, mean_spread, percentile of the latest within the rows given."""
    rows = [{"pair": pair, **_spread_stats(g.sort_values("date")["spread"])}
            for pair, g in spread_rows.groupby("pair", sort=False)]
    return pd.DataFrame(rows, columns=["pair", "latest_spread", "mean_spread", "percentile"])


def basis(tables: Tables, *, product: str, spot: str | None = None,
          futures: str = "shfe", grain: str = "day", period: Period | None = None
          ) -> pd.DataFrame:
    """date, spot, futures, basis (spot − futures) where both are quoted."""
    spot = default_market(tables, product) if spot is None else spot
    both = pd.concat({"spot": resample(quotes(tables, product=product, market=spot), grain),
                      "futures": resample(quotes(tables, product=product, market=futures),
                                          grain)}, axis=1, sort=True).dropna()
    both["basis"] = both["spot"] - both["futures"]
    out = both.reset_index()
    if period is not None:
        d = out["date"].dt.date
        out = out[(d >= period.start) & (d <= period.end)]
    return out.reset_index(drop=True)


def own_vs_market(tables: Tables, *, product: str, market: str | None = None,
                  grain: str = "week", period: Period) -> pd.DataFrame:
    """date, market (mean quote), our_price (revenue / tonnes sold), our_cost (cost / tonnes,
    where costs are visible) and our_volume_t per period of the grain: are we selling above
    the market, and how far behind the market does our cost run?"""
    orders = tables.get("orders")
    for col in ("category", "volume_t"):
        if col not in orders.columns:
            raise MissingData("orders", col)
    orders = orders.filter((_.category == product) & (_.order_date >= period.start)
                           & (_.order_date <= period.end) & (_.volume_t > 0))
    aggs = {"revenue": _.amount_cny.sum(), "volume": _.volume_t.sum()}
    if "cost_cny" in orders.columns:
        aggs["cost"] = _.cost_cny.sum(where=_.cost_cny.notnull())
        aggs["costed_volume"] = _.volume_t.sum(where=_.cost_cny.notnull())
    daily = orders.group_by(d=_.order_date).aggregate(**aggs).to_pandas()
    daily["start"] = period_start(pd.DatetimeIndex(pd.to_datetime(daily["d"])), grain)
    per = daily.drop(columns="d").groupby("start").sum()
    out = pd.DataFrame(index=per.index)
    out["our_price"] = per["revenue"] / per["volume"]
    if "cost" in per:
        out["our_cost"] = per["cost"] / per["costed_volume"].replace(0, np.nan)
    out["our_volume_t"] = per["volume"]
    market = default_market(tables, product) if market is None else market
    m = resample(quotes(tables, product=product, market=market), grain)
    m = m[(m.index >= pd.Timestamp(period.start)) & (m.index <= pd.Timestamp(period.end))]
    joined = pd.concat({"market": m}, axis=1).join(out, how="outer").sort_index()
    joined.index.name = "date"
    return joined.reset_index()
