"""信用管理 Credit: exposure against limits, suggested limits, receivables ageing, the cost of
the credit customers take, and one early-warning list.

Definitions (docs/method.md, "Credit and receivables"):
- open receivable of an invoice at a date = amount − payments on or before it (instalments age
  by the unpaid remainder); overdue when the due date is before the date;
- exposure = open receivables + delivered-not-invoiced + open (undelivered) orders;
- suggested limit (sales method) = average monthly sales (12 months) × term in months × grade
  factor (AAA 2.0, AA 1.0, A 0.8, B 0.6, C 0);
- financing cost = Σ amount × days outstanding × the monthly rate / 30 (0.128 % a month, the
  bill discount rate: ≈ 4.5 RMB/t a month at 3,500 RMB/t).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd
from ibis import _

from analytics.domain import grading
from analytics.domain.measures import CENT, id_table, with_settlement
from analytics.domain.summaries import kept_settlement
from analytics.store.period import Period, preset
from analytics.store.results import as_of_end, kept, last_12_months
from analytics.store.warehouse import MissingData, Tables

BUCKETS = ("not_due", "1_30", "31_60", "61_90", "91_180", "over_180")
_EDGES = (0, 30, 60, 90, 180)
GRADE_FACTOR = {"AAA": 2.0, "AA": 1.0, "A": 0.8, "B": 0.6, "C": 0.0}
MONTHLY_RATE = 0.00128          # 1.28 ‰ a month: the acceptance-bill discount benchmark
ON_TIME_GRACE_DAYS = 0
AGEING_BY = ("customer_id", "sales_rep", "type", "province")  # what ageing groups by


def bucket_of(days_overdue: pd.Series) -> pd.Series:
    """not_due (≤ 0 days past due), 1_30, 31_60, 61_90, 91_180, over_180."""
    d = days_overdue
    return pd.Series(np.select([d <= 0, d <= 30, d <= 60, d <= 90, d <= 180],
                               list(BUCKETS[:5]), BUCKETS[5]), index=d.index)


@kept(as_of_end, rows=True)
def open_items(tables: Tables, *, as_of: date) -> pd.DataFrame:
    """One row per invoice issued by ``as_of`` with money still open at ``as_of``: open_cny,
    days_overdue, bucket, plus the customer's name, rep, type and province."""
    inv = tables.get("invoices").filter(_.invoice_date <= as_of)
    if tables.payments is not None:
        upto = tables.payments.filter(_.paid_date <= as_of)
        settled = kept_settlement(tables)
        if settled is not None:  # the summary: skip what was settled
            inv = _not_settled_before(settled, inv, upto, as_of)
            upto = upto.filter(_.invoice_id.isin(inv.invoice_id))
        paid = upto.group_by("invoice_id").aggregate(paid_cny=_.paid_cny.sum())
        inv = inv.left_join(paid, inv.invoice_id == paid.invoice_id).select(
            *[inv[c] for c in inv.columns], paid.paid_cny)
        inv = inv.mutate(open_cny=inv.amount_cny - inv.paid_cny.fill_null(0.0))
    else:
        inv = inv.mutate(open_cny=inv.amount_cny)
    frame = inv.filter(_.open_cny > CENT).to_pandas()
    frame["due_date"] = pd.to_datetime(frame["due_date"])
    frame["days_overdue"] = (pd.Timestamp(as_of) - frame["due_date"]).dt.days
    frame["bucket"] = bucket_of(frame["days_overdue"])
    if tables.customers is not None:
        cols = [c for c in ("name", "sales_rep", "type", "province") if c in
                tables.customers.columns]
        frame = frame.merge(tables.customers.select("customer_id", *cols).to_pandas(),
                            on="customer_id", how="left")
    # in invoice order: the engine's order changes from run to run
    return frame.sort_values("invoice_id", ignore_index=True)


def ageing(items: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """Open receivables per bucket (columns in BUCKETS order, plus total and overdue), one row
    per value of ``by`` (customer_id, sales_rep, type, province) or one row in all."""
    key = by or "_all"
    frame = items.assign(_all="all") if by is None else items
    table = frame.pivot_table(index=key, columns="bucket", values="open_cny", aggfunc="sum",
                              fill_value=0.0).reindex(columns=list(BUCKETS), fill_value=0.0)
    table["total"] = table.sum(axis=1)
    table["overdue"] = table["total"] - table["not_due"]
    out = table.sort_values("overdue", ascending=False).reset_index()
    if by == "customer_id" and "name" in items:
        out = out.merge(items.groupby("customer_id")["name"].first().reset_index(),
                        on="customer_id", how="left")
    return out.drop(columns="_all", errors="ignore")


def _ageing_defaults(start: date, end: date) -> list[dict[str, Any]]:
    """The credit page's two ageing tables: by customer and for the whole book."""
    return [{"as_of": end, "by": "customer_id"}, {"as_of": end, "by": None}]


@kept(_ageing_defaults)
def ageing_summary(tables: Tables, *, as_of: date, by: str | None = None) -> pd.DataFrame:
    return ageing(open_items(tables, as_of=as_of), by=by)


def receivables_at(tables: Tables, dates: list[date], *, by_customer: bool = False
                   ) -> pd.DataFrame:
    """date, open_cny, overdue_cny at each date, in one pass: open = the unpaid remainder
    (above a cent) of invoices issued by the date; overdue = those due before it. The same
    numbers as summing ``open_items``, without bringing the invoices out of the engine —
    payments are summed per invoice once, with one conditional sum per date. ``by_customer``:
    one row per customer and date (customer_id first) instead of the totals."""
    if not dates:
        return pd.DataFrame(columns=[*(["customer_id"] if by_customer else []), "date",
                                     "open_cny", "overdue_cny"])
    first, last = min(dates), max(dates)
    inv = tables.get("invoices").filter(_.invoice_date <= last)
    if tables.payments is not None:
        upto = tables.payments.filter(_.paid_date <= last)
        settled = kept_settlement(tables)
        if len(dates) > 3 or settled is not None:
            inv = _not_settled_before(settled, inv, upto, first)
            upto = upto.filter(_.invoice_id.isin(inv.invoice_id))
        pay = (upto.group_by("invoice_id")
               .aggregate(**{f"p{i}": _.paid_cny.sum(where=_.paid_date <= d)
                             for i, d in enumerate(dates)}))
        joined = inv.left_join(pay, inv.invoice_id == pay.invoice_id)
        paid = [joined[f"p{i}"].fill_null(0.0) for i in range(len(dates))]
    else:
        joined, paid = inv, [ibis.literal(0.0)] * len(dates)
    aggs = {}
    for i, d in enumerate(dates):
        rest = joined.amount_cny - paid[i]
        counted = (joined.invoice_date <= d) & (rest > CENT)
        aggs[f"open{i}"] = rest.sum(where=counted)
        aggs[f"over{i}"] = rest.sum(where=counted & (joined.due_date < d))
    if by_customer:
        per = joined.group_by(joined.customer_id).aggregate(**aggs).to_pandas()
        return pd.concat([pd.DataFrame({
            "customer_id": per["customer_id"], "date": d,
            "open_cny": per[f"open{i}"].astype(float).fillna(0.0),
            "overdue_cny": per[f"over{i}"].astype(float).fillna(0.0)})
            for i, d in enumerate(dates)], ignore_index=True)
    row = joined.aggregate(**aggs).to_pandas().iloc[0]
    return pd.DataFrame({"date": list(dates),
                         "open_cny": [float(row[f"open{i}"] or 0.0) for i in range(len(dates))],
                         "overdue_cny": [float(row[f"over{i}"] or 0.0)
                                         for i in range(len(dates))]})


def _kpi_period_ends(start: date, end: date) -> list[dict[str, Any]]:
    """The Overview's default: the last 12 months, the 12 before and the same a year ago."""
    now = preset("last_12_months", as_of=end)
    return [{"dates": [p.end for p in (now, now.previous(), now.year_ago())]}]


@kept(_kpi_period_ends, rows=True)
def receivables_by_customer(tables: Tables, *, dates: list[date]) -> pd.DataFrame:
    """``receivables_at`` per customer and date (sorted so), kept for the Overview's three
    period ends: a rep's or a manager's overdue KPI sums their customers' rows instead of
    joining every invoice and payment of their scope again (0.8 s of a manager's Overview at
    ten million lines)."""
    parts = receivables_at(tables, list(dates), by_customer=True)
    # only what is owed: which settled customers come out with zeros depends on whether the
    # version keeps the settlement (receivables_at), and zeros add nothing
    parts = parts[(parts["open_cny"] != 0) | (parts["overdue_cny"] != 0)]
    return parts.sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)


def _not_settled_before(settled: ibis.Table | None, inv: ibis.Table, payments: ibis.Table,
                        first: date) -> ibis.Table:
    """``inv`` without the invoices its payments had covered before ``first``: those are open
    at no date from ``first`` on (every payment counted then is already in). With many dates
    that leaves most of a long history out of the per-date sums (DSO trend at 10 M lines:
    2.2 → 1.5 s); with a few, the extra pass costs more than it saves — unless the version
    keeps the settlement (analytics.domain.summaries). Its settlement counts every payment, later
    ones too, so it may keep an invoice that ``payments`` alone had covered: a few more rows
    summed, never one left out. ``settled`` is that kept settlement, or None."""
    if settled is None:
        j = with_settlement(inv, payments)
        return j.filter(j.settled_on.isnull() | (j.settled_on >= first)).select(*inv.columns)
    left = settled.filter(settled.settled_on.isnull() | (settled.settled_on >= first))
    return inv.filter(inv.invoice_id.isin(left.invoice_id))


def on_time_by_month(tables: Tables, months: pd.PeriodIndex) -> pd.Series:
    """Per month: % of the invoices due in it that were paid in full by their due date."""
    if tables.invoices is None or tables.payments is None or not len(months):
        return pd.Series(np.nan, index=months)
    start, end = months[0].to_timestamp().date(), months[-1].to_timestamp(how="end").date()
    flags = (paid_on_time(tables, start=start, end=end)
             .mutate(month=_.due_date.truncate("M"))
             .group_by("month").aggregate(rate=_.on_time.mean()).to_pandas())
    rate = pd.Series(flags["rate"].to_numpy() * 100,
                     index=pd.to_datetime(flags["month"]).dt.to_period("M"))
    return rate.reindex(months)


PART_COLUMNS = ("open_cny", "overdue_cny", "sales_90d_cny", "due_invoices", "paid_on_time")


@kept(last_12_months, rows=True)
def dso_parts(tables: Tables, *, period: Period) -> pd.DataFrame:
    """What the DSO trend adds up, per customer and month of ``period``: open and overdue
    receivables at the month end, sales in the 90 days to it, invoices due in the month and
    how many of those were paid in full by their due date. Kept per customer, so a rep's or a
    manager's trend sums their own rows instead of reading every invoice again."""
    orders = tables.get("orders")
    months = period.months()
    ends = [m.to_timestamp(how="end").date() for m in months]
    starts = {e: m.to_timestamp() for e, m in zip(ends, months, strict=True)}
    cols = ["customer_id", "month", *PART_COLUMNS]
    if not ends:
        return pd.DataFrame(columns=cols)
    open_ = receivables_at(tables, ends, by_customer=True)
    parts = open_.assign(month=open_.pop("date").map(starts))
    sold = (orders.filter((_.order_date > ends[0] - timedelta(days=90))
                          & (_.order_date <= ends[-1])).group_by("customer_id")
            .aggregate(**{f"s{i}": _.amount_cny.sum(where=(_.order_date > e - timedelta(
                days=90)) & (_.order_date <= e)) for i, e in enumerate(ends)}).to_pandas())
    sales = pd.concat([pd.DataFrame({"customer_id": sold["customer_id"], "month": starts[e],
                                     "sales_90d_cny": sold[f"s{i}"].astype(float)})
                       for i, e in enumerate(ends)], ignore_index=True)
    parts = parts.merge(sales, on=["customer_id", "month"], how="outer")
    if tables.payments is not None:
        due = (paid_on_time(tables, start=ends[0].replace(day=1), end=ends[-1])
               .mutate(month=_.due_date.truncate("M")).group_by(["customer_id", "month"])
               .aggregate(due_invoices=_.count(), paid_on_time=_.on_time.sum()).to_pandas())
        due["month"] = pd.to_datetime(due["month"]).astype(parts["month"].dtype)
        parts = parts.merge(due, on=["customer_id", "month"], how="outer")
    else:
        parts = parts.assign(due_invoices=np.nan, paid_on_time=np.nan)
    amounts = ["open_cny", "overdue_cny", "sales_90d_cny"]
    parts[amounts] = parts[amounts].astype(float).fillna(0.0)
    parts[["due_invoices", "paid_on_time"]] = parts[["due_invoices", "paid_on_time"]] \
        .astype(float)
    return parts[cols].sort_values(["customer_id", "month"], ignore_index=True)


@kept(last_12_months)
def dso_trend(tables: Tables, *, period: Period) -> pd.DataFrame:
    """Per month end: open receivables, 90-day sales, DSO = open / (sales 90 days / 90) and the
    on-time payment rate of invoices due in the month (settled by their due date), summed
    from ``dso_parts``."""
    months = [m.to_timestamp() for m in period.months()]
    if not months:
        return pd.DataFrame(columns=["month", "open_cny", "overdue_cny", "dso_days",
                                     "on_time_pct"])
    parts = dso_parts(tables, period=period)
    total = parts.groupby("month")[list(PART_COLUMNS)].sum(min_count=1).reindex(months)
    sales = total["sales_90d_cny"].fillna(0.0).to_numpy()
    open_cny = total["open_cny"].fillna(0.0).to_numpy()
    due = total["due_invoices"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        on_time = np.where(due > 0, total["paid_on_time"].to_numpy() / due * 100, np.nan)
    return pd.DataFrame({
        "month": months, "open_cny": open_cny,
        "overdue_cny": total["overdue_cny"].fillna(0.0).to_numpy(),
        "dso_days": np.where(sales > 0, open_cny / np.where(sales > 0, sales, 1) * 90, np.nan),
        "on_time_pct": on_time})


def paid_on_time(tables: Tables, *, start: date, end: date) -> ibis.Table:
    """One row per invoice due from ``start`` to ``end``: customer_id, due_date and on_time
    (1.0 when payments made by the due date cover the amount within a cent, else 0.0)."""
    inv = tables.get("invoices").filter((_.due_date >= start) & (_.due_date <= end))
    pay = tables.get("payments")
    by_due = (inv.join(pay, inv.invoice_id == pay.invoice_id)
              .filter(pay.paid_date <= inv.due_date)
              .group_by(inv.invoice_id).aggregate(paid=pay.paid_cny.sum()))
    return inv.left_join(by_due, inv.invoice_id == by_due.invoice_id).select(
        inv.customer_id, inv.due_date,
        on_time=(by_due.paid.fill_null(0.0) >= inv.amount_cny - 0.01).cast("float64"))


@kept(last_12_months, rows=True)
def on_time_by_customer(tables: Tables, *, period: Period) -> pd.DataFrame:
    """customer_id, due (invoices due in ``period``) and on_time (how many of them were paid
    in full by their due date, ``paid_on_time``), one row per customer with such an invoice.
    Kept per customer: a manager's reseller scorecard reads its own customers' rows instead of
    joining their invoices and payments again (0.9 s of 1.3 s at 10 M lines)."""
    if tables.invoices is None or tables.payments is None:
        return pd.DataFrame({"customer_id": pd.Series(dtype="str"),
                             "due": pd.Series(dtype="int64"),
                             "on_time": pd.Series(dtype="float64")})
    per = (paid_on_time(tables, start=period.start, end=period.end).group_by("customer_id")
           .aggregate(due=_.count(), on_time=_.on_time.sum()).to_pandas())
    # in customer order: the engine's grouping order changes from run to run
    return per.sort_values("customer_id", ignore_index=True)


def on_time_rate(tables: Tables, *, month: pd.Period) -> float:
    """Share (%) of the invoices due in ``month`` that were paid in full by their due date."""
    return float(on_time_by_month(tables, pd.PeriodIndex([month])).iloc[0])


def derived_grades(tables: Tables, *, as_of: date) -> pd.Series:
    """A credit grade from payment history where the master has none (rule shown on the
    page): the grading page's credit-record level 4 → AA, 3 → A, 2 → B, 1 → C; customers with
    no invoices get no grade (they buy on cash)."""
    period = Period(as_of - timedelta(days=364), as_of)
    behaviour = grading.payment_behaviour(tables, as_of=period)
    levels = grading.credit_levels(behaviour)
    grades = levels.map({4.0: "AA", 3.0: "A", 2.0: "B", 1.0: "C"})
    return pd.Series(grades.to_numpy(), index=behaviour["customer_id"].to_numpy())


@kept(as_of_end, rows=True)
def exposure(tables: Tables, *, as_of: date) -> pd.DataFrame:
    """One row per customer with a limit, receivables or open orders: grade (grade_source:
    master or derived), credit_limit_cny, payment_terms_days, open_receivables_cny,
    overdue_cny, uninvoiced_cny (delivered, no invoice yet), open_orders_cny (not delivered),
    exposure_cny, utilisation (exposure / limit), over_limit, monthly_sales_cny (12-month
    average), suggested_limit_cny and its inputs. Over-limit customers first."""
    customers = tables.get("customers").to_pandas().set_index("customer_id")
    items = open_items(tables, as_of=as_of) if tables.invoices is not None else pd.DataFrame(
        columns=["customer_id", "open_cny", "days_overdue"])
    receivable = items.groupby("customer_id")["open_cny"].sum()
    overdue = items[items["days_overdue"] > 0].groupby("customer_id")["open_cny"].sum()
    orders = tables.get("orders")
    year = orders.filter((_.order_date > as_of - timedelta(days=365))
                         & (_.order_date <= as_of))
    monthly = (year.group_by("customer_id").aggregate(s=_.amount_cny.sum()).to_pandas()
               .set_index("customer_id")["s"] / 12)
    pending = pd.Series(dtype=float)
    uninvoiced = pd.Series(dtype=float)
    if "delivery_date" in orders.columns:
        placed = orders.filter(_.order_date <= as_of)
        open_orders = placed.filter(_.delivery_date.isnull() | (_.delivery_date > as_of))
        pending = (open_orders.group_by("customer_id").aggregate(s=_.amount_cny.sum())
                   .to_pandas().set_index("customer_id")["s"])
        if tables.invoices is not None and "order_id" in tables.invoices.columns:
            invoiced = tables.invoices.filter(_.invoice_date <= as_of).select("order_id")
            delivered = placed.filter(_.delivery_date <= as_of).anti_join(invoiced, "order_id")
            uninvoiced = (delivered.group_by("customer_id").aggregate(s=_.amount_cny.sum())
                          .to_pandas().set_index("customer_id")["s"])
    ids = customers.index
    out = pd.DataFrame(index=ids)
    out["name"] = customers.get("name")
    out["sales_rep"] = customers.get("sales_rep")
    master_grade = customers["credit_grade"] if "credit_grade" in customers else pd.Series(
        np.nan, index=ids)
    missing = ids[master_grade.isna().to_numpy()]
    derived = (derived_grades(_for_customers(tables, missing, everyone=len(missing) == len(ids)),
                              as_of=as_of)
               if tables.invoices is not None and len(missing) else pd.Series(dtype=object))
    out["grade"] = master_grade.where(master_grade.notna(), derived.reindex(ids))
    out["grade_source"] = np.where(master_grade.notna(), "master",
                                   np.where(out["grade"].notna(), "derived", "none"))
    out["credit_limit_cny"] = pd.to_numeric(customers.get("credit_limit_cny"),
                                            errors="coerce")
    out["payment_terms_days"] = pd.to_numeric(customers.get("payment_terms_days"),
                                              errors="coerce")
    out["open_receivables_cny"] = receivable.reindex(ids).fillna(0.0)
    out["overdue_cny"] = overdue.reindex(ids).fillna(0.0)
    out["uninvoiced_cny"] = uninvoiced.reindex(ids).fillna(0.0)
    out["open_orders_cny"] = pending.reindex(ids).fillna(0.0)
    out["exposure_cny"] = out[["open_receivables_cny", "uninvoiced_cny",
                               "open_orders_cny"]].sum(axis=1)
    limit = out["credit_limit_cny"]
    out["utilisation"] = out["exposure_cny"] / limit.where(limit > 0)
    out["over_limit"] = (out["exposure_cny"] > limit.fillna(0) + 0.01) & (
        out["exposure_cny"] > 0)
    out["monthly_sales_cny"] = monthly.reindex(ids).fillna(0.0)
    out["term_months"] = out["payment_terms_days"].fillna(0) / 30
    out["grade_factor"] = out["grade"].map(GRADE_FACTOR)
    out["suggested_limit_cny"] = suggested_limit(out["monthly_sales_cny"], out["term_months"],
                                                 out["grade"])
    keep = (out["exposure_cny"] > 0) | (limit.fillna(0) > 0)
    out = out[keep].reset_index()
    return out.sort_values(["over_limit", "exposure_cny", "customer_id"],
                           ascending=[False, False, True]).reset_index(drop=True)


def _for_customers(tables: Tables, ids: pd.Index, *, everyone: bool) -> Tables:
    """The invoices and payments of ``ids`` only (all of them when ``everyone``): a payment
    history is derived only for customers without a grade in the master, usually few."""
    if everyone or tables.invoices is None:
        return tables
    keep = id_table(list(ids))
    invoices = tables.invoices.filter(_.customer_id.isin(keep.customer_id))
    payments = (tables.payments.filter(_.invoice_id.isin(invoices.invoice_id))
                if tables.payments is not None else None)
    return tables.with_(invoices=invoices, payments=payments)


def suggested_limit(monthly_sales: pd.Series, term_months: pd.Series,
                    grade: pd.Series) -> pd.Series:
    """The sales method: average monthly sales × term in months × grade factor, rounded to
    1,000 CNY; unknown grade → no suggestion."""
    factor = grade.map(GRADE_FACTOR).astype(float)  # float even when there are no rows
    return (monthly_sales * term_months * factor / 1000).round() * 1000


FINANCING_PROFIT = ("gross_profit_cny", "net_margin_cny", "looks_profitable_but_is_not")


# kept per customer with each version: a manager's or a filter's credit page computed it from
# the invoices, payments and order lines (1.5 s and 0.6 GB at the peak at ten million lines)
@kept(last_12_months, rows=True, profit=FINANCING_PROFIT)
def financing(tables: Tables, *, period: Period, monthly_rate: float = MONTHLY_RATE
              ) -> pd.DataFrame:
    """Per customer, for invoices issued in the period: gross profit, the cost of the credit
    taken (amount outstanding × days from invoice to payment, or to the period end while
    unpaid, × monthly_rate / 30, instalment by instalment) and net_margin_cny = gross profit −
    financing; by customer id (``worst_first`` orders it for reading: a kept frame cut to a
    scope keeps its order, so it must not depend on columns a rep does not see)."""
    if tables.invoices is None:
        raise MissingData("invoices")
    # in the engine: one row per customer leaves it (a year's invoices of a large trader
    # would be hundreds of thousands of rows, and their payments more)
    inv = tables.invoices.filter(period.contains(tables.invoices.invoice_date))
    if tables.payments is not None:
        pay = tables.payments.filter(_.paid_date <= period.end)
        j = pay.join(inv.select("invoice_id", "invoice_date"), "invoice_id")
        waited = (j.paid_date.epoch_days() - j.invoice_date.epoch_days()).clip(lower=0)
        paid = j.group_by("invoice_id").aggregate(paid_days=(waited * j.paid_cny).sum(),
                                                  paid_sum=j.paid_cny.sum())
        inv = inv.left_join(paid, "invoice_id").select(
            *[inv[c] for c in inv.columns], paid.paid_days, paid.paid_sum)
    else:
        inv = inv.mutate(paid_days=ibis.literal(0.0), paid_sum=ibis.literal(0.0))
    remainder = (inv.amount_cny - inv.paid_sum.fill_null(0.0)).clip(lower=0)
    open_days = ibis.literal(period.end).epoch_days() - inv.invoice_date.epoch_days()
    money_days = inv.paid_days.fill_null(0.0) + remainder * open_days
    per = (inv.group_by("customer_id")
           .aggregate(invoiced_cny=inv.amount_cny.sum(), money_days=money_days.sum())
           .to_pandas().sort_values("customer_id").set_index("customer_id"))
    per["financing_cny"] = per["money_days"] * monthly_rate / 30
    per["avg_days_outstanding"] = per["money_days"] / per["invoiced_cny"].where(
        per["invoiced_cny"] > 0)
    orders = tables.get("orders")
    if "cost_cny" in orders.columns:
        gp = (orders.filter(period.contains(orders.order_date)).group_by("customer_id")
              .aggregate(g=(_.amount_cny - _.cost_cny).sum()).to_pandas()
              .set_index("customer_id")["g"])
        per["gross_profit_cny"] = gp.reindex(per.index).fillna(0.0)
        per["net_margin_cny"] = per["gross_profit_cny"] - per["financing_cny"]
        per["looks_profitable_but_is_not"] = (per["gross_profit_cny"] > 0) & (
            per["net_margin_cny"] < 0)
    if tables.customers is not None and "name" in tables.customers.columns:
        per = per.join(tables.customers.select("customer_id", "name").to_pandas()
                       .set_index("customer_id"))
    return per.drop(columns="money_days").reset_index()


def worst_first(financing_rows: pd.DataFrame) -> pd.DataFrame:
    """``financing`` by how much the financing eats: those that look profitable but are not
    first, then by net margin (without costs: by the financing cost), ties by customer."""
    if "net_margin_cny" in financing_rows:
        return financing_rows.sort_values(
            ["looks_profitable_but_is_not", "net_margin_cny", "customer_id"],
            ascending=[False, True, True], kind="mergesort", ignore_index=True)
    return financing_rows.sort_values(["financing_cny", "customer_id"], ascending=[False, True],
                                      kind="mergesort", ignore_index=True)
