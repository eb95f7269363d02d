"""总览 Overview: the headline numbers of a period, compared with the periods before it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import ibis
import pandas as pd
from ibis import _

from analytics.domain import measures, summaries
from analytics.domain.credit import receivables_by_customer
from analytics.domain.customers import first_orders
from analytics.store.frames import present
from analytics.store.period import Period, preset
from analytics.store.results import kept, last_12_months, stored_only
from analytics.store.warehouse import Tables

KPIS = ("revenue_cny", "volume_t", "gross_profit_cny", "margin_pct", "active_customers",
        "new_customers", "lost_customers", "overdue_receivables_cny", "inventory_days")
PROFIT_KPIS = ("gross_profit_cny", "margin_pct")   # what a rep's level never sees
INVENTORY_DAYS_WINDOW = 90  # days of sales the cover is measured against; smooths seasonality
TOP_CUSTOMERS = 20


def data_range(tables: Tables) -> tuple[date, date] | None:
    """First and last order date in the (scoped) data; None when there are no orders."""
    if tables.orders is None:
        return None
    spans = stored_only(first_orders, tables)
    if spans is not None:
        # each customer's first and latest order, kept: a rep's or a manager's span is theirs,
        # without scanning the order lines of their customers (0.3 s at 10 M lines)
        first, last = pd.to_datetime(spans["first_order"]).min(), \
            pd.to_datetime(spans["last_order"]).max()
    else:
        row = tables.orders.aggregate(first=_.order_date.min(),
                                      last=_.order_date.max()).to_pandas()
        first, last = (row["first"].iloc[0], row["last"].iloc[0]) if len(row) else (None, None)
    if last is None or pd.isna(last):
        return None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


# The sums every sales KPI is made of, as columns of ``_sales``; margin is profit over the
# revenue of the lines with a cost (analytics.domain.measures)
SUMS = ("revenue_cny", "volume_t", "gross_profit_cny", "costed_revenue_cny")
PROFIT_SUMS = ("gross_profit_cny", "costed_revenue_cny")   # NaN, not 0, without a costed line


def _sales(tables: Tables) -> ibis.Table:
    """What the KPIs, the monthly chart and the top customers add up: customer_id,
    order_date and the ``SUMS`` the data allows, one row per customer and day from the
    purchase-day summary kept with the version (narrowed to a rep's, a manager's or a filter's
    customers) when it holds them, else one per order line. The same sums from a third of the
    rows: a province manager's KPIs read 0.45 s of order lines at 10 M lines (issue 21). A
    product filter, tables made in memory and a version kept before the margin's denominator
    read the order lines."""
    days = summaries.kept_purchase_days(tables)
    if days is not None and ("gross_profit_cny" in days.columns) \
            == ("costed_revenue_cny" in days.columns):
        return days.select("customer_id", *[c for c in SUMS if c in days.columns],
                           order_date=days.date)
    orders = tables.get("orders")
    sums: dict[str, ibis.Value] = {"revenue_cny": orders.amount_cny}
    if measures.has_volume(orders):
        sums["volume_t"] = orders.volume_t
    if measures.has_cost(orders):   # as measures.sales_aggregates counts them
        sums["gross_profit_cny"] = orders.amount_cny - orders.cost_cny
        sums["costed_revenue_cny"] = ibis.cases((orders.cost_cny.notnull(), orders.amount_cny))
    return orders.select("customer_id", "order_date", **sums)


def _sums(sales: ibis.Table, where: ibis.Value | None = None) -> dict[str, ibis.Value]:
    return {c: sales[c].sum(where=where) for c in SUMS if c in sales.columns}


def _period_sales(tables: Tables, period: Period) -> ibis.Table:
    sales = _sales(tables)
    return sales.filter(period.contains(sales.order_date))


def _has_cost(tables: Tables) -> bool:
    return tables.has("orders", "cost_cny")


def compared_periods(start: date, end: date) -> list[dict[str, Any]]:
    """The Overview's default periods: the last 12 months, the 12 before, a year before."""
    period = preset("last_12_months", as_of=end)
    return [{"periods": [period, period.previous(), period.year_ago()]}]


@kept(compared_periods, rows=True, profit=PROFIT_SUMS)
def customer_period_sums(tables: Tables, periods: list[Period]) -> pd.DataFrame:
    """One row per customer and period (``period``, its index in ``periods``) in which the
    customer bought or in the period before it: the ``SUMS`` the data has in the period,
    ``now`` (bought in it), ``before`` (in the previous period of equal length) and ``first``
    (first order ever). Kept for the Overview's periods: a rep's, a manager's or a filter's
    KPIs add up their customers' rows (a province's sums read 0.3 s of purchase days at
    10 M lines) — the per-customer summary issue 21 asks for. In one pass over the sales."""
    sales = _sales(tables)
    sums = [c for c in SUMS if c in sales.columns]
    per: dict[str, ibis.Value] = {"first": sales.order_date.min()}
    for i, p in enumerate(periods):
        inside = p.contains(sales.order_date)
        per |= {f"{c}{i}": sales[c].sum(where=inside) for c in sums}
        per[f"now{i}"] = inside.any()
        per[f"before{i}"] = p.previous().contains(sales.order_date).any()
    wide = sales.group_by("customer_id").aggregate(**per).to_pandas()
    parts = []
    for i in range(len(periods)):
        mine = wide[wide[f"now{i}"] | wide[f"before{i}"]]
        parts.append(pd.DataFrame({
            "customer_id": mine["customer_id"], "period": i,
            **{c: mine[f"{c}{i}"].astype(float) for c in sums},
            "now": mine[f"now{i}"].astype(bool), "before": mine[f"before{i}"].astype(bool),
            "first": pd.to_datetime(mine["first"])}))
    if not parts:
        raise ValueError("no periods to sum")
    # in a fixed order: the engine's grouping order changes from run to run
    return pd.concat(parts, ignore_index=True).sort_values(["period", "customer_id"],
                                                           ignore_index=True)


def period_sums(tables: Tables, periods: list[Period]) -> list[dict[str, float]]:
    """For each period: the ``SUMS`` the data has, active customers (with a sale in the
    period), new ones (first order ever in the period) and lost ones (bought in the previous
    period of equal length, not in this one), added up from ``customer_period_sums``."""
    parts = customer_period_sums(tables, list(periods))
    nan = float("nan")
    out = []
    for i, p in enumerate(periods):
        rows = parts[parts["period"] == i]
        one = {c: _num(rows[c].sum(min_count=1), nan if c in PROFIT_SUMS else 0.0)
               for c in SUMS if c in parts}
        now, first = rows["now"].astype(bool), pd.to_datetime(rows["first"])
        # a line without a customer is no customer (as a distinct count of ids would say)
        one["active_customers"] = float((now & rows["customer_id"].notna()).sum())
        one["new_customers"] = float(((first >= pd.Timestamp(p.start))
                                      & (first <= pd.Timestamp(p.end))).sum())
        one["lost_customers"] = float((rows["before"].astype(bool) & ~now).sum())
        out.append(one)
    return out


def kpis(tables: Tables, period: Period, *, overdue: float | None = None,
         sums: dict[str, float] | None = None) -> dict[str, float]:
    """Headline numbers for one period. Absent inputs give NaN, never 0.

    - revenue, tonnes, gross profit (revenue − cost) and margin % over order lines in the period;
    - active customers: distinct customers with an order line in the period;
    - new customers: whose first order ever (in the data) falls in the period;
    - lost customers: bought in the previous period of equal length, not in this one;
    - overdue receivables at the period end: unpaid remainder of invoices past due;
    - inventory days: stock on the last inventory date ≤ period end over average daily tonnes
      sold in the 90 days to the period end (company-wide; NaN when customer filters apply).

    ``sums`` and ``overdue``: this period's ``period_sums`` and overdue receivables when the
    caller computed them with other periods'.
    """
    nan = float("nan")
    got = sums if sums is not None else period_sums(tables, [period])[0]
    out: dict[str, float] = {k: got.get(k, nan) for k in (
        "revenue_cny", "volume_t", "active_customers", "new_customers", "lost_customers",
        "gross_profit_cny")}
    costed = got.get("costed_revenue_cny", nan)
    out["margin_pct"] = out["gross_profit_cny"] / costed * 100 if costed else nan
    out["overdue_receivables_cny"] = overdue if overdue is not None else \
        overdue_receivables(tables, period.end)
    out["inventory_days"] = inventory_days(tables, period.end)
    return out


def overdue_receivables(tables: Tables, as_of: date) -> float:
    """Unpaid remainder of invoices issued by ``as_of`` and due before it (NaN without invoices)."""
    return overdue_at(tables, [as_of])[0]


def overdue_at(tables: Tables, dates: list[date]) -> list[float]:
    """Overdue receivables at several dates in one pass (NaN without invoices); a cent of
    rounding left on a settled invoice is not a receivable."""
    if tables.invoices is None:
        return [float("nan")] * len(dates)
    # per customer, then summed: kept per customer, a narrowed scope reads its own rows
    parts = receivables_by_customer(tables, dates=list(dates))
    return [float(parts.loc[parts["date"] == d, "overdue_cny"].sum()) for d in dates]


def inventory_days(tables: Tables, as_of: date) -> float:
    if tables.inventory is None or tables.customer_filtered:
        return float("nan")
    inv = tables.inventory.filter(_.date <= as_of)
    last = inv.date.max().to_pandas()
    if last is None or pd.isna(last):
        return float("nan")
    on_hand = float(inv.filter(_.date == last).on_hand_t.sum().to_pandas() or 0.0)
    if not measures.has_volume(tables.get("orders")):
        return float("nan")
    window = Period(as_of - timedelta(days=INVENTORY_DAYS_WINDOW - 1), as_of)
    sold = float(_period_sales(tables, window).volume_t.sum().to_pandas() or 0.0)
    return on_hand / (sold / INVENTORY_DAYS_WINDOW) if sold else float("nan")


def _num(value: object, default: float) -> float:
    """A number from a query result; NULL / NA → ``default``."""
    return default if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type,call-overload]


def kpi_gaps(tables: Tables) -> dict[str, str]:
    """Why a KPI cannot be computed from these tables: KPI → a text key naming what to import
    (the Overview shows it under the "—")."""
    gaps: dict[str, str] = {}
    if not _has_cost(tables):
        gaps |= {"gross_profit_cny": "gap_no_cost", "margin_pct": "gap_no_cost"}
    if tables.orders is not None and not measures.has_volume(tables.get("orders")):
        gaps["volume_t"] = "gap_no_volume"
    if tables.invoices is None:
        gaps["overdue_receivables_cny"] = "gap_no_invoices"
    if tables.inventory is None:
        gaps["inventory_days"] = "gap_no_inventory"
    elif tables.customer_filtered:
        gaps["inventory_days"] = "company_wide_only"
    return gaps


def data_days(first: date | None, period: Period) -> int:
    """Days of ``period`` on or after the data's first day (all of it when unknown)."""
    start = period.start if first is None else max(period.start, first)
    return max(0, (period.end - start).days + 1)


def comparison_coverage(tables: Tables, period: Period) -> dict[str, int | None]:
    """For the previous period and the year-ago period: the days of data they hold when that
    is less than their whole span (a comparison against part of a period, or nothing, is no
    comparison), else None. The first period of a book compares with nothing."""
    span = data_range(tables)
    first = span[0] if span else None
    out: dict[str, int | None] = {}
    for name, other in (("previous", period.previous()), ("year_ago", period.year_ago())):
        days = data_days(first, other)
        out[name] = days if days < (other.end - other.start).days + 1 else None
    return out


@kept(last_12_months)
def kpi_comparison(tables: Tables, period: Period) -> pd.DataFrame:
    """One row per KPI: value now, previous period, same period last year, and changes.

    Changes are relative (%) for amounts and counts, and in percentage points for margin %.
    A comparison period that holds less data than its span gives no change (NaN), and its
    days of data are in ``previous_days`` / ``year_ago_days`` (NaN when whole). New and lost
    customers need the whole previous period: before that every customer would be new.
    """
    periods = (period, period.previous(), period.year_ago())
    coverage = comparison_coverage(tables, period)
    # the three periods' overdue receivables in one pass over invoices and payments: on a
    # large book that join is most of the cost of the KPIs
    overdue = overdue_at(tables, [p.end for p in periods])
    sums = period_sums(tables, list(periods))
    now, prev, yoy = (kpis(tables, p, overdue=o, sums=f)
                      for p, o, f in zip(periods, overdue, sums, strict=True))
    rows = []
    nan = float("nan")
    for k in KPIS:
        row = {"kpi": k, "value": now[k], "previous": prev[k], "year_ago": yoy[k]}
        if k in ("new_customers", "lost_customers") and coverage["previous"] is not None:
            row["value"] = nan  # "new" against a period without data means nothing
        for label, base, part in (("vs_previous", prev[k], coverage["previous"]),
                                  ("vs_year_ago", yoy[k], coverage["year_ago"])):
            if part is not None:
                row[label] = nan
            elif k == "margin_pct":
                row[label] = now[k] - base
            else:
                row[label] = (now[k] - base) / abs(base) * 100 if base else nan
        row["previous_days"] = nan if coverage["previous"] is None else coverage["previous"]
        row["year_ago_days"] = nan if coverage["year_ago"] is None else coverage["year_ago"]
        rows.append(row)
    return pd.DataFrame(rows)


def monthly(tables: Tables, period: Period) -> pd.DataFrame:
    """One row per calendar month of the period: revenue_cny, volume_t, gross_profit_cny
    (absent without cost), margin_pct, active_customers. Months without sales are zero rows."""
    sales = _period_sales(tables, period).mutate(month=_.order_date.truncate("M"))
    agg = {**_sums(sales), "active_customers": _.customer_id.nunique()}
    by_month = sales.group_by("month").aggregate(**agg).to_pandas()
    months = pd.DataFrame({"month": period.months().to_timestamp()})
    by_month["month"] = pd.to_datetime(by_month["month"]).astype("datetime64[ns]")
    months["month"] = months["month"].astype("datetime64[ns]")
    out = months.merge(by_month, on="month", how="left").fillna(0)
    if "gross_profit_cny" in out:
        costed = out.pop("costed_revenue_cny")
        out["margin_pct"] = out["gross_profit_cny"] / costed.where(costed != 0) * 100
    return out


def top_customers(tables: Tables, period: Period, *, n: int = TOP_CUSTOMERS,
                  metric: str = "gross_profit_cny") -> pd.DataFrame:
    """The ``n`` customers with the most ``metric`` in the period, best first.

    One row per customer: customer_id, name, type, province, sales_rep, revenue_cny, volume_t,
    gross_profit_cny and margin_pct (when cost is visible), share (of the period's metric total).
    Ties are broken by customer_id so the list is stable.
    """
    if metric == "gross_profit_cny" and not _has_cost(tables):
        metric = "revenue_cny"
    sales = _period_sales(tables, period)
    per_customer = sales.group_by("customer_id").aggregate(**_sums(sales))
    total = per_customer[metric].sum()
    ranked = per_customer.mutate(share=per_customer[metric] / total).order_by(
        [ibis.desc(metric), "customer_id"]).limit(n)
    if tables.customers is not None:
        info = tables.customers.select(
            "customer_id", *present(tables.customers, ("name", "type", "province", "sales_rep")))
        joined = ranked.left_join(info, ranked.customer_id == info.customer_id)
        ranked = joined.select(*ranked.columns, *[c for c in info.columns
                                                   if c != "customer_id"]).order_by(
            [ibis.desc(metric), "customer_id"])
    out = ranked.to_pandas()
    if "gross_profit_cny" in out:
        costed = out.pop("costed_revenue_cny")
        out["margin_pct"] = out["gross_profit_cny"] / costed.where(costed != 0) * 100
    return out.reset_index(drop=True)


def kpis_for(comparison: pd.DataFrame, *, sees_profit: bool) -> pd.DataFrame:
    """``kpi_comparison``'s rows a reader may see: without gross profit and margin for a
    level that sees no profit (a rep) — the one place the Overview and the report apply it."""
    return comparison if sees_profit else comparison[~comparison["kpi"].isin(PROFIT_KPIS)]
