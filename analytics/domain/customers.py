"""客户金字塔 Customer pyramid and tier migration (docs/method.md).

Heavy work (per-customer totals over order lines) runs in the engine; the tier rules run in
pandas on one row per customer, in plain functions that the tests drive with tiny frames.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd
from ibis import _

from analytics.domain import measures
from analytics.store.frames import present
from analytics.store.period import Period, preset
from analytics.store.results import kept, own_defaults
from analytics.store.warehouse import MissingData, Tables

Metric = Literal["gross_profit_cny", "revenue_cny", "volume_t"]
METRICS: tuple[Metric, ...] = ("gross_profit_cny", "revenue_cny", "volume_t")
TIERS = ("core", "important", "medium", "small")
PYRAMID_SHARES = (0.01, 0.19, 0.30, 0.50)  # the method's 1/19/30/50 split of customers
NEW, LOST = "new", "lost"


def available_metrics(tables: Tables) -> list[str]:
    """Value metrics the (scoped) orders support: no cost column, no gross profit."""
    orders = tables.get("orders")
    out = []
    if "cost_cny" in orders.columns:
        out.append("gross_profit_cny")
    out.append("revenue_cny")
    if "volume_t" in orders.columns:
        out.append("volume_t")
    return out


def year_periods(start: date, end: date) -> list[Period]:
    """Each calendar year of the data, the last one to ``end``: the card's tier history."""
    return [Period(date(year, 1, 1), min(date(year, 12, 31), end))
            for year in range(start.year, end.year + 1)]


def _value_defaults(start: date, end: date) -> list[dict[str, Any]]:
    """The pyramid page's 12 months, the grading's 365 days and each year of the card's
    history: the periods pages ask customer values for first."""
    periods = [preset("last_12_months", as_of=end), Period(end - timedelta(days=364), end),
               *year_periods(start, end)]
    return [{"period": p} for p in dict.fromkeys(periods)]


@kept(_value_defaults, rows=True, profit=("gross_profit_cny", "costed_revenue_cny"))
def customer_values(tables: Tables, period: Period) -> pd.DataFrame:
    """One row per customer with an order line in ``period``: revenue_cny, volume_t,
    gross_profit_cny (when cost is visible), orders, and name/type/province/sales_rep."""
    orders = tables.get("orders")
    sales = orders.filter(period.contains(orders.order_date))
    agg = {**measures.sales_aggregates(orders), "orders": _.order_id.nunique()}
    per_customer = sales.group_by("customer_id").aggregate(**agg)
    if tables.customers is not None:
        info_cols = present(tables.customers, ("name", "type", "province", "sales_rep"))
        info = tables.customers.select("customer_id", *info_cols)
        per_customer = per_customer.left_join(
            info, per_customer.customer_id == info.customer_id).select(
            *per_customer.columns, *info_cols)
    out = per_customer.to_pandas()
    if "name" not in out:
        out["name"] = out["customer_id"]
    out["name"] = out["name"].fillna(out["customer_id"])
    return out.sort_values("customer_id").reset_index(drop=True)


@kept(own_defaults, rows=True)
def first_orders(tables: Tables) -> pd.DataFrame:
    """One row per customer with an order line: ``first_order`` and ``last_order``, the dates
    of its first and its latest."""
    orders = tables.get("orders")
    out = orders.group_by("customer_id").aggregate(first_order=orders.order_date.min(),
                                                   last_order=orders.order_date.max())
    return out.to_pandas().sort_values("customer_id").reset_index(drop=True)


def tier_cutoffs(n: int, shares: tuple[float, ...] = PYRAMID_SHARES) -> list[int]:
    """How many customers the top 1, 2, … tiers hold together, for ``n`` customers.

    Rule: the top k tiers hold round-half-up(cumulative share × n) customers, the core tier
    at least one, and the last tier the rest. 219 customers → 2 core (2.19), 44 in the top two
    (43.8), 110 in the top three (109.5 → 110), all 219.
    """
    if not math.isclose(sum(shares), 1.0, abs_tol=1e-9) or any(s < 0 for s in shares):
        raise ValueError(f"tier shares must be non-negative and sum to 1, got {shares}")
    cum = np.cumsum(shares)
    cuts = [math.floor(c * n + 0.5) for c in cum]
    if n and shares[0] > 0:
        cuts[0] = max(cuts[0], 1)
    cuts = [max(c, prev) for c, prev in zip(cuts, [0, *cuts[:-1]], strict=True)]
    cuts[-1] = n
    return cuts


RANK_DECIMALS = 2  # cents (and hundredths of a tonne): below that, a difference is float noise


def assign_tiers(values: pd.DataFrame, *, metric: str = "gross_profit_cny",
                 shares: tuple[float, ...] = PYRAMID_SHARES,
                 tiers: tuple[str, ...] = TIERS) -> pd.DataFrame:
    """Rank customers by ``metric`` (1 = best) and place them in tiers.

    One row per input row, sorted by rank, with added columns value, rank, tier,
    value_share and cumulative_value_share. Ties in value are broken by customer_id, so
    ranks are stable; value shares are of the total (negative values lower it).
    """
    if len(shares) != len(tiers):
        raise ValueError("one share per tier")
    out = values.copy()
    out["value"] = out[metric].astype(float)
    # ranked on the value to the cent (hundredths of a tonne): two equal totals summed in
    # another order differ in the last bit, and must still tie (and break by customer_id)
    out["_rank_key"] = out["value"].round(RANK_DECIMALS)
    out = out.sort_values(["_rank_key", "customer_id"], ascending=[False, True],
                          kind="mergesort").drop(columns="_rank_key").reset_index(drop=True)
    n = len(out)
    out["rank"] = np.arange(1, n + 1)
    cuts = tier_cutoffs(n, shares)
    out["tier"] = pd.Series(np.searchsorted(np.array(cuts), out["rank"], side="left")).map(
        dict(enumerate(tiers)))
    total = out["value"].sum()
    out["value_share"] = out["value"] / total if total else np.nan
    out["cumulative_value_share"] = out["value_share"].cumsum()
    return out


def pyramid(tables: Tables, *, period: Period, metric: str = "gross_profit_cny",
            shares: tuple[float, ...] = PYRAMID_SHARES) -> pd.DataFrame:
    """Each customer with a purchase in ``period`` placed in a pyramid tier (see assign_tiers).

    Customers without a purchase in the period are not in the pyramid (potential or lost).
    """
    values = customer_values(tables, period)
    if metric not in values:
        raise MissingData("orders", "cost_cny" if metric == "gross_profit_cny" else metric)
    return assign_tiers(values, metric=metric, shares=shares)


def tier_summary(tiers: pd.DataFrame) -> pd.DataFrame:
    """One row per tier, best first: customers, customer_share, value, value_share,
    value_per_customer, revenue_cny, gross_profit_cny and margin_pct (when present)."""
    grouped = tiers.groupby("tier", observed=True, sort=False)
    out = pd.DataFrame({"customers": grouped.size(), "value": grouped["value"].sum()})
    for col in ("revenue_cny", "gross_profit_cny", "costed_revenue_cny", "volume_t"):
        if col in tiers:
            out[col] = grouped[col].sum()
    out = out.reindex([t for t in TIERS if t in out.index]).reset_index()
    out["customer_share"] = out["customers"] / out["customers"].sum()
    total = out["value"].sum()
    out["value_share"] = out["value"] / total if total else np.nan
    out["value_per_customer"] = out["value"] / out["customers"]
    if "gross_profit_cny" in out:
        costed = out.pop("costed_revenue_cny") if "costed_revenue_cny" in out else \
            out["revenue_cny"]
        out["margin_pct"] = out["gross_profit_cny"] / costed.where(costed != 0) * 100
    return out


def compare_tiers(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """One row per customer in either period: tier_previous / tier_current ("new" when absent
    before, "lost" when absent now), value_previous, value_current, change and direction
    (up, down, same, new, lost). Sorted by the size of a fall first, then by customer_id."""
    cols = ["customer_id", "tier", "value"]
    info = [c for c in ("name", "type", "province", "sales_rep") if c in current or c in previous]
    moves = previous[cols].merge(current[cols], on="customer_id", how="outer",
                                 suffixes=("_previous", "_current"))
    names = pd.concat([previous[["customer_id", *present(previous, info)]],
                       current[["customer_id", *present(current, info)]]])
    names = names.drop_duplicates("customer_id", keep="last")
    moves = moves.merge(names, on="customer_id", how="left")
    moves["tier_previous"] = moves["tier_previous"].fillna(NEW)
    moves["tier_current"] = moves["tier_current"].fillna(LOST)
    moves["value_previous"] = moves["value_previous"].fillna(0.0)
    moves["value_current"] = moves["value_current"].fillna(0.0)
    moves["change"] = moves["value_current"] - moves["value_previous"]
    order = {t: i for i, t in enumerate(TIERS)}
    before = moves["tier_previous"].map(order)
    after = moves["tier_current"].map(order)
    moves["direction"] = np.select(
        [moves["tier_previous"] == NEW, moves["tier_current"] == LOST, after > before,
         after < before],
        [NEW, LOST, "down", "up"], "same")
    moves["steps"] = (after - before).where(before.notna() & after.notna())
    return moves.sort_values(["change", "customer_id"]).reset_index(drop=True)


def tier_migration(tables: Tables, *, period: Period, previous: Period | None = None,
                   metric: str = "gross_profit_cny",
                   shares: tuple[float, ...] = PYRAMID_SHARES) -> pd.DataFrame:
    """compare_tiers of the pyramid in ``previous`` (default: the period of equal length just
    before) and in ``period``. Tiers are assigned within each period separately."""
    previous = previous or period.previous()
    return compare_tiers(pyramid(tables, period=previous, metric=metric, shares=shares),
                         pyramid(tables, period=period, metric=metric, shares=shares))


def migration_matrix(moves: pd.DataFrame, *, values: str = "count") -> pd.DataFrame:
    """Transition matrix: rows = previous tier (+ new), columns = current tier (+ lost).

    ``values="count"`` counts customers; ``"change"`` sums the change in value (current −
    previous), so a row's "lost" cell is the value that walked away.
    """
    rows, cols = [*TIERS, NEW], [*TIERS, LOST]
    if values == "count":
        table = pd.crosstab(moves["tier_previous"], moves["tier_current"])
    else:
        table = moves.pivot_table(index="tier_previous", columns="tier_current",
                                  values="change", aggfunc="sum")
    table = table.reindex(index=rows, columns=cols).fillna(0)
    table.loc[NEW, LOST] = np.nan  # cannot be new and lost in one comparison
    table.index.name, table.columns.name = "tier_previous", "tier_current"
    return table


def moved_down(moves: pd.DataFrame) -> pd.DataFrame:
    """Customers who fell at least one tier or were lost, biggest drop in value first."""
    down = moves[moves["direction"].isin(["down", LOST])]
    return down.sort_values(["change", "customer_id"]).reset_index(drop=True)


__all__ = ["METRICS", "PYRAMID_SHARES", "TIERS", "assign_tiers", "compare_tiers",
           "customer_values", "migration_matrix", "moved_down", "pyramid", "tier_cutoffs",
           "tier_migration", "tier_summary"]
