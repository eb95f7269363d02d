"""总览 Overview: the headline numbers of a period, compared with the periods before it."""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import pandas as pd
from ibis import _

from analytics.domain import measures
from analytics.domain.credit import receivables_by_customer
from analytics.domain.customers import first_orders
from analytics.store.frames import present
from analytics.store.period import Period
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


def _period_sales(tables: Tables, period: Period) -> ibis.Table:
    orders = tables.get("orders")
    return orders.filter(period.contains(orders.order_date))


def _has_cost(tables: Tables) -> bool:
    return tables.has("orders", "cost_cny")


def customer_flow(tables: Tables, periods: list[Period]) -> list[tuple[float, float]]:
    """(new, lost) customers for each period in one pass over the order lines: new = first
    order ever in the period; lost = bought in the previous period of equal length and not in
    this one."""
    orders = tables.get("orders")
    flags: dict[str, ibis.Value] = {"first": _.order_date.min()}
    for i, p in enumerate(periods):
        flags[f"now{i}"] = p.contains(_.order_date).any()
        flags[f"before{i}"] = p.previous().contains(_.order_date).any()
    per = orders.group_by("customer_id").aggregate(**flags)
    counts = {}
    for i, p in enumerate(periods):
        counts[f"new{i}"] = p.contains(per.first).cast("int64").sum()
        counts[f"lost{i}"] = (per[f"before{i}"] & ~per[f"now{i}"]).cast("int64").sum()
    row = per.aggregate(**counts).to_pandas().iloc[0]
    return [(_num(row[f"new{i}"], 0.0), _num(row[f"lost{i}"], 0.0)) for i in range(len(periods))]


def kpis(tables: Tables, period: Period, *, overdue: float | None = None,
         flow: tuple[float, float] | None = None) -> dict[str, float]:
    """Headline numbers for one period. Absent inputs give NaN, never 0.

    - revenue, tonnes, gross profit (revenue − cost) and margin % over order lines in the period;
    - active customers: distinct customers with an order line in the period;
    - new customers: whose first order ever (in the data) falls in the period;
    - lost customers: bought in the previous period of equal length, not in this one;
    - overdue receivables at the period end: unpaid remainder of invoices past due;
    - inventory days: stock on the last inventory date ≤ period end over average daily tonnes
      sold in the 90 days to the period end (company-wide; NaN when customer filters apply).
    """
    nan = float("nan")
    orders = tables.get("orders")
    in_period = _period_sales(tables, period)
    agg = {**measures.sales_aggregates(orders),
           "active_customers": in_period.customer_id.nunique()}
    row = in_period.aggregate(**agg).to_pandas().iloc[0]
    revenue = _num(row["revenue_cny"], 0.0)
    out: dict[str, float] = {
        "revenue_cny": revenue,
        "volume_t": _num(row.get("volume_t"), 0.0) if "volume_t" in row else nan,
        "active_customers": _num(row["active_customers"], 0.0),
        "gross_profit_cny": nan, "margin_pct": nan,
    }
    if "gross_profit_cny" in row:
        profit, costed = _num(row["gross_profit_cny"], nan), _num(row["costed_revenue_cny"], nan)
        out["gross_profit_cny"] = profit
        out["margin_pct"] = profit / costed * 100 if costed else nan

    out["new_customers"], out["lost_customers"] = flow if flow is not None else \
        customer_flow(tables, [period])[0]
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
    flows = customer_flow(tables, list(periods))
    now, prev, yoy = (kpis(tables, p, overdue=o, flow=f)
                      for p, o, f in zip(periods, overdue, flows, strict=True))
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
    agg = {**measures.sales_aggregates(tables.get("orders")),
           "active_customers": _.customer_id.nunique()}
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
    agg = {**measures.sales_aggregates(tables.get("orders")), "orders": _.order_id.nunique()}
    per_customer = sales.group_by("customer_id").aggregate(**agg)
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
