"""商品分析 Products: what we sell (by category and spec), what each earns per tonne, and which
products' margins turned negative after prices fell.

Gross profit counts only lines with a cost (analytics.domain.measures); per tonne divides it by the
tonnes of the same lines. Turnover lives in analytics.domain.inventory (it needs the stock).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
from ibis import _

from analytics.domain import market as market_mod
from analytics.domain.measures import has_cost, sales_aggregates
from analytics.store.frames import present
from analytics.store.period import Period
from analytics.store.warehouse import MissingData, Tables

BY = ("category", "spec")


def _lines(tables: Tables, period: Period) -> ibis.Table:
    orders = tables.get("orders")
    if "category" not in orders.columns:
        raise MissingData("orders", "category")
    return orders.filter((_.order_date >= period.start) & (_.order_date <= period.end))


def composition(tables: Tables, *, period: Period, by: str = "category",
                category: str | None = None) -> pd.DataFrame:
    """One row per category (or spec, optionally within one category): volume_t, revenue_cny,
    their shares (%), customers, and where costs are visible gross_profit_cny, gp_per_t and
    margin_pct. Largest revenue first."""
    if by not in BY:
        raise ValueError(f"by must be one of {BY}")
    lines = _lines(tables, period)
    if by not in lines.columns:
        raise MissingData("orders", by)
    if category is not None:
        lines = lines.filter(_.category == category)
    aggs = sales_aggregates(lines)
    aggs["customers"] = _.customer_id.nunique()
    costed = has_cost(lines)
    if costed and "volume_t" in lines.columns:
        aggs["costed_volume_t"] = _.volume_t.sum(where=_.cost_cny.notnull())
    keys = ["category", "spec"] if by == "spec" else ["category"]
    out = lines.group_by(*keys).aggregate(**aggs).to_pandas()
    out["revenue_share_pct"] = out["revenue_cny"] / out["revenue_cny"].sum() * 100
    if "volume_t" in out:
        out["volume_share_pct"] = out["volume_t"] / out["volume_t"].sum() * 100
    if costed:
        out["margin_pct"] = out["gross_profit_cny"] / out["costed_revenue_cny"].replace(
            0, np.nan) * 100
        if "costed_volume_t" in out:
            out["gp_per_t"] = out["gross_profit_cny"] / out["costed_volume_t"].replace(0, np.nan)
        out = out.drop(columns=present(out, ("costed_revenue_cny", "costed_volume_t")))
    return out.sort_values("revenue_cny", ascending=False).reset_index(drop=True)


def margin_by_month(tables: Tables, *, period: Period) -> pd.DataFrame:
    """month, category, volume_t, revenue_cny, gross_profit_cny, gp_per_t, margin_pct."""
    lines = _lines(tables, period)
    if not has_cost(lines):
        raise MissingData("orders", "cost_cny")
    if "volume_t" not in lines.columns:
        raise MissingData("orders", "volume_t")
    costed = lines.filter(_.cost_cny.notnull())
    out = (costed.mutate(month=_.order_date.truncate("M"))
           .group_by("month", "category")
           .aggregate(volume_t=_.volume_t.sum(), revenue_cny=_.amount_cny.sum(),
                      gross_profit_cny=(_.amount_cny - _.cost_cny).sum())
           .order_by("month", "category").to_pandas())
    out["month"] = pd.to_datetime(out["month"]).dt.date
    out["gp_per_t"] = out["gross_profit_cny"] / out["volume_t"].replace(0, np.nan)
    out["margin_pct"] = out["gross_profit_cny"] / out["revenue_cny"].replace(0, np.nan) * 100
    return out


def turned_negative(tables: Tables, *, period: Period, market: str | None = None
                    ) -> pd.DataFrame:
    """Months in ``period`` where a category's gross profit per tonne went from positive (the
    month before) to negative, with the market price change over the two months up to that
    month's end (%): were the losses a price fall eating margins on stock bought dearer?"""
    start = (pd.Timestamp(period.start) - pd.offsets.MonthBegin(1)).date()
    monthly = margin_by_month(tables, period=Period(start, period.end))
    rows = []
    for cat, g in monthly.groupby("category"):
        g = g.sort_values("month").reset_index(drop=True)
        prices = market_mod.quotes(tables, product=str(cat), market=(
            market if market is not None else market_mod.default_market(tables, str(cat))))
        for i in range(1, len(g)):
            prev, cur = g.iloc[i - 1], g.iloc[i]
            if not (prev["gp_per_t"] > 0 and cur["gp_per_t"] < 0 and cur["month"] >=
                    period.start):
                continue
            month_end = pd.Timestamp(cur["month"]) + pd.offsets.MonthEnd(0)
            change = np.nan
            if len(prices):
                now = prices[prices.index <= month_end]
                before = prices[prices.index <= month_end - pd.DateOffset(months=2)]
                if len(now) and len(before):
                    change = (now.iloc[-1] / before.iloc[-1] - 1) * 100
            rows.append({"category": cat, "month": cur["month"],
                         "gp_per_t_before": prev["gp_per_t"], "gp_per_t": cur["gp_per_t"],
                         "gross_profit_cny": cur["gross_profit_cny"],
                         "volume_t": cur["volume_t"], "market_change_pct": change,
                         "after_price_fall": bool(change < 0)})
    cols = ["category", "month", "gp_per_t_before", "gp_per_t", "gross_profit_cny",
            "volume_t", "market_change_pct", "after_price_fall"]
    return pd.DataFrame(rows, columns=cols).sort_values(["month", "category"],
                                                        ascending=[False, True]
                                                        ).reset_index(drop=True)


def with_turnover(composition: pd.DataFrame, turnover: pd.DataFrame | None) -> pd.DataFrame:
    """``composition`` by category with each category's annual_turns and days_in_stock from
    the inventory's ``turnover`` (left as it is without inventory)."""
    if turnover is None:
        return composition
    turns = turnover[["product", "annual_turns", "days_in_stock"]].rename(
        columns={"product": "category"})
    return composition.merge(turns, on="category", how="left")
