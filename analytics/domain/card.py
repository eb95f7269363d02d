"""客户资料卡 Customer card: everything known about one customer, as of a date."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from ibis import _

from analytics.domain import credit, grading
from analytics.domain import customers as cu
from analytics.domain.measures import CENT
from analytics.store.frames import member, present, select
from analytics.store.period import Period
from analytics.store.results import as_of_end, kept, storable, stored_only
from analytics.store.warehouse import MissingData, Tables

OVERDUE_CYCLES = 2.0      # overdue when the gap since the last order exceeds k × own cycle
MIN_OVERDUE_DAYS = 14     # … and at least two weeks: a short pause is normal for daily buyers
REMINDER_DAYS = 60        # special dates shown when they fall within this many days
SEARCH_LIMIT = 50


def search(tables: Tables, *, query: str = "", as_of: date | None = None,
           limit: int = SEARCH_LIMIT) -> pd.DataFrame:
    """Customers whose id or name contains ``query`` (case-insensitive), biggest revenue in
    the 12 months to ``as_of`` first (then by id), with that revenue as revenue_12m_cny.

    The query is passed to the engine as a literal, never spliced into SQL.
    """
    customers = tables.get("customers")
    cols = present(customers, ("customer_id", "name", "type", "province", "sales_rep"))
    q = query.strip().lower()
    found = customers.select(*cols)
    if q:
        hit = found.customer_id.lower().contains(q)
        if "name" in cols:
            hit = hit | found.name.lower().contains(q)
        found = found.filter(hit)
    if tables.orders is not None and as_of is not None:
        year = Period(as_of - timedelta(days=364), as_of)
        revenue = (tables.orders.filter(year.contains(_.order_date)).group_by("customer_id")
                   .aggregate(revenue_12m_cny=_.amount_cny.sum()))
        found = found.left_join(revenue, found.customer_id == revenue.customer_id).select(
            *[found[c] for c in cols], revenue.revenue_12m_cny)
        found = found.mutate(revenue_12m_cny=found.revenue_12m_cny.fill_null(0.0))
        ordered = found.order_by([found.revenue_12m_cny.desc(), found.customer_id])
    else:
        ordered = found.order_by("customer_id")
    return ordered.limit(limit).to_pandas()


@dataclass
class Card:
    customer_id: str
    master: dict[str, Any]
    monthly: pd.DataFrame
    cycle: dict[str, Any]
    product_mix: pd.DataFrame
    history: pd.DataFrame                     # one row per year: tier, grade
    credit: dict[str, Any]
    open_invoices: pd.DataFrame
    complaints: pd.DataFrame
    surveys: pd.DataFrame
    contacts: pd.DataFrame
    reminders: pd.DataFrame
    last_12_months: dict[str, float] = field(default_factory=dict)


def order_cycle(order_dates: pd.Series, *, as_of: date) -> dict[str, Any]:
    """The customer's own order cycle (订货周期): median gap in days between distinct order
    dates, last order, days since it, and whether that exceeds OVERDUE_CYCLES × the cycle
    (and MIN_OVERDUE_DAYS)."""
    days = pd.Series(pd.to_datetime(order_dates).dropna().unique()).sort_values()
    days = days[days <= pd.Timestamp(as_of)]
    out: dict[str, Any] = {"orders_days": len(days), "first_order": None,
                           "last_order": None, "median_gap_days": None,
                           "days_since_last": None, "cycles_since_last": None,
                           "overdue": False}
    if days.empty:
        return out
    out["first_order"], out["last_order"] = days.iloc[0].date(), days.iloc[-1].date()
    out["days_since_last"] = int((pd.Timestamp(as_of) - days.iloc[-1]).days)
    if len(days) >= 2:
        gap = float(days.diff().dt.days.dropna().median())
        out["median_gap_days"] = gap
        out["cycles_since_last"] = out["days_since_last"] / gap if gap else None
        out["overdue"] = bool(gap and out["days_since_last"] > max(OVERDUE_CYCLES * gap,
                                                                   MIN_OVERDUE_DAYS))
    return out


def upcoming_dates(key_dates: str | None, *, as_of: date, within: int = REMINDER_DAYS
                   ) -> pd.DataFrame:
    """Anniversaries and birthdays from the key_dates JSON falling in (as_of, as_of+within]."""
    rows = []
    try:
        parsed = json.loads(key_dates) if key_dates else {}
    except (TypeError, ValueError):
        parsed = {}
    for kind, value in parsed.items():
        try:
            month, day = (int(x) for x in str(value)[-5:].split("-"))
        except ValueError:
            continue
        for year in (as_of.year, as_of.year + 1):
            try:
                when = date(year, month, day)
            except ValueError:  # 29 February
                when = date(year, month, 28)
            if as_of < when <= as_of + timedelta(days=within):
                rows.append({"kind": kind, "date": when, "in_days": (when - as_of).days})
    return pd.DataFrame(rows, columns=["kind", "date", "in_days"]).sort_values("in_days")


def customer_card(tables: Tables, *, customer_id: str, as_of: date, with_history: bool = True
                  ) -> Card:
    """The card of one customer as of ``as_of`` (normally the end of the filtered period).
    ``with_history=False`` leaves the tier and grade history empty: a page showing many cards
    takes it from one ``standing`` of every customer instead (see history_of)."""
    customers = tables.get("customers")
    master_rows = customers.filter(customers.customer_id == customer_id).to_pandas()
    if master_rows.empty:
        raise MissingData("customers", customer_id)
    master = {k: (None if isinstance(v, float) and np.isnan(v) else v)
              for k, v in master_rows.iloc[0].to_dict().items()}
    orders = tables.get("orders")
    mine = orders.filter((orders.customer_id == customer_id) & (orders.order_date <= as_of))
    lines = mine.to_pandas()  # one customer's lines: small
    lines["order_date"] = pd.to_datetime(lines["order_date"])
    monthly = _monthly(lines, as_of)
    cycle = order_cycle(lines["order_date"], as_of=as_of)
    mix = pd.DataFrame(columns=["category", "revenue_cny", "share"])
    if not lines.empty and "category" in lines:
        recent = lines[lines["order_date"] > pd.Timestamp(as_of) - pd.Timedelta(days=365)]
        basis = recent if not recent.empty else lines
        mix = basis.groupby("category").agg(revenue_cny=("amount_cny", "sum")).reset_index()
        mix["share"] = mix["revenue_cny"] / mix["revenue_cny"].sum()
        mix = mix.sort_values("revenue_cny", ascending=False).reset_index(drop=True)
    year = lines[lines["order_date"] > pd.Timestamp(as_of) - pd.Timedelta(days=365)]
    totals = {"revenue_cny": float(year["amount_cny"].sum()),
              "volume_t": float(year["volume_t"].sum()) if "volume_t" in year else np.nan}
    if "cost_cny" in year:
        totals["gross_profit_cny"] = float((year["amount_cny"] - year["cost_cny"]).sum())
    return Card(
        customer_id=customer_id, master=master, monthly=monthly, cycle=cycle, product_mix=mix,
        last_12_months=totals,
        history=(history_of(standing(tables, as_of=as_of, since=cycle["first_order"]),
                            customer_id, cycle["first_order"])
                 if with_history else pd.DataFrame(columns=HISTORY_COLUMNS)),
        credit=_credit(tables, customer_id, master, lines, as_of),
        open_invoices=_open_invoices(tables, customer_id, as_of),
        complaints=_rows(tables, "complaints", customer_id, "opened_date", as_of),
        surveys=_rows(tables, "surveys", customer_id, "survey_date", as_of),
        contacts=_rows(tables, "contacts", customer_id, "date", as_of).head(30),
        reminders=upcoming_dates(master.get("key_dates"), as_of=as_of),
    )


def _monthly(lines: pd.DataFrame, as_of: date) -> pd.DataFrame:
    months = pd.DataFrame({"month": pd.period_range(end=pd.Timestamp(as_of), periods=24,
                                                    freq="M").to_timestamp()})
    if lines.empty:
        return months.assign(revenue_cny=0.0)
    grouped = lines.assign(month=lines["order_date"].dt.to_period("M").dt.to_timestamp())
    agg = {"revenue_cny": ("amount_cny", "sum")}
    if "volume_t" in lines:
        agg["volume_t"] = ("volume_t", "sum")
    if "cost_cny" in lines:
        grouped = grouped.assign(gross_profit_cny=grouped["amount_cny"] - grouped["cost_cny"])
        agg["gross_profit_cny"] = ("gross_profit_cny", "sum")
    per = grouped.groupby("month").agg(**agg).reset_index()
    months["month"] = months["month"].astype("datetime64[ns]")
    per["month"] = per["month"].astype("datetime64[ns]")
    # months before the customer's first order are no months of zero sales: not drawn
    months = months[months["month"] >= per["month"].min()]
    return months.merge(per, on="month", how="left").fillna(0.0).reset_index(drop=True)


HISTORY_COLUMNS = ["year", "tier", "rank", "customers", "grade"]


@storable
@dataclass
class Standing:
    """Every customer's tier and grade at each year end: the company-wide part of every
    card's history (a pyramid and a grading per year), computed once for all cards."""
    years: pd.DataFrame       # year, customers (in that year's pyramid)
    rows: pd.DataFrame        # year, customer_id, tier, rank, grade


RANKED = ("customer_id", "revenue_cny", "gross_profit_cny")  # what a tier is ranked by


@storable
@dataclass
class YearInputs:
    """What every year's pyramid and grading start from, stacked with a ``year`` column:
    ``customer_values`` of each calendar year (the last to the date asked) and
    ``grading.factor_inputs`` of the 365 days to each year end. One frame of each, so a
    narrowed scope (a rep, a manager, a filter) reads and narrows two kept frames instead of
    fourteen, then ranks and grades its own customers in memory."""
    values: pd.DataFrame
    factors: pd.DataFrame


@kept(as_of_end, rows=True, profit=("gross_profit_cny", "costed_revenue_cny"))
def year_inputs(tables: Tables, *, as_of: date) -> YearInputs:
    """Each year's customer values and grading inputs from the first order's year to
    ``as_of``'s (empty frames without an order by ``as_of``)."""
    firsts = pd.to_datetime(cu.first_orders(tables)["first_order"])
    first = firsts.min() if len(firsts) else None
    values, factors = [], []
    if first is not None and not pd.isna(first) and first.date() <= as_of:
        for year in range(first.year, as_of.year + 1):
            period = Period(date(year, 1, 1), min(date(year, 12, 31), as_of))
            # only what ranking and grading read: the names and master fields would make
            # every narrowed reader decode seven copies of the customer table
            year_values = cu.customer_values(tables, period)
            values.append(select(year_values, RANKED).assign(year=year))
            year_factors = grading.factor_inputs(
                tables, as_of=Period(period.end - timedelta(days=364), period.end))
            factors.append(select(year_factors, grading.SCORED_INPUTS).assign(year=year))
    return YearInputs(_stacked(values), _stacked(factors))


def _stacked(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return (pd.concat(frames, ignore_index=True) if frames
            else pd.DataFrame({"year": pd.Series(dtype="int64"),
                               "customer_id": pd.Series(dtype="str")}))


@kept(as_of_end)
def standing(tables: Tables, *, as_of: date, since: date | None = None) -> Standing:
    """Tiers (by gross profit, or revenue when cost is hidden) and grades at each year end
    from the year of ``since`` (default: the first order) to ``as_of``'s year, the current
    year to ``as_of``."""
    orders = tables.get("orders")
    inputs = year_inputs(tables, as_of=as_of)
    if since is None:
        if inputs.values.empty:  # no order by as_of
            return Standing(pd.DataFrame(columns=["year", "customers"]),
                            pd.DataFrame(columns=["year", "customer_id", "tier", "rank",
                                                  "grade"]))
        since = date(int(inputs.values["year"].min()), 1, 1)
    metric = "gross_profit_cny" if "cost_cny" in orders.columns else "revenue_cny"
    if len(inputs.values) and metric not in inputs.values:
        raise MissingData("orders", "cost_cny" if metric == "gross_profit_cny" else metric)
    everyone = (tables.customers.select("customer_id").to_pandas()["customer_id"]
                if tables.customers is not None else pd.Series(dtype=object))
    values = dict(tuple(inputs.values.groupby("year", sort=False)))
    factors = dict(tuple(inputs.factors.groupby("year", sort=False)))
    years, rows = [], []
    for year in range(since.year, as_of.year + 1):
        mine = values.get(year)
        tiers = (cu.assign_tiers(mine.drop(columns="year"), metric=metric)
                 [["customer_id", "tier", "rank"]] if mine is not None
                 else pd.DataFrame(columns=["customer_id", "tier", "rank"]))
        years.append({"year": year, "customers": len(tiers)})
        rows.append(_joined(tiers, _grades(factors.get(year), everyone)).assign(year=year))
    return Standing(pd.DataFrame(years), pd.concat(rows, ignore_index=True))


def _joined(tiers: pd.DataFrame, grades: pd.DataFrame) -> pd.DataFrame:
    """Every customer with a tier or a grade: the grades (each master customer) with their
    tiers, then any tiered customer without a grade row. An outer merge does the same but
    sorts seventy thousand string keys for each year."""
    joined = grades.merge(tiers, on="customer_id", how="left", sort=False)
    extra = tiers[~member(tiers["customer_id"], grades["customer_id"])]
    return pd.concat([joined, extra.assign(grade=pd.Series(np.nan, index=extra.index,
                                                           dtype="str"))],
                     ignore_index=True)[["customer_id", "tier", "rank", "grade"]]


def _grades(inputs: pd.DataFrame | None, everyone: pd.Series) -> pd.DataFrame:
    """customer_id, grade: ``grading.grade``'s default grades from one year's factor inputs,
    and every other master customer ungraded, without the rest of a grading (the classes, the
    factor table, the order): a card's history grades each year of the book."""
    graded = (grading.score_inputs(inputs.drop(columns="year"))[0][["customer_id", "grade"]]
              if inputs is not None and len(inputs)
              else pd.DataFrame({"customer_id": pd.Series(dtype="str"),
                                 "grade": pd.Series(dtype="str")}))
    rest = everyone[~member(everyone, graded["customer_id"])]
    ungraded = pd.DataFrame({"customer_id": rest,
                             "grade": pd.Series(np.nan, index=rest.index, dtype="str")})
    return pd.concat([graded.astype({"grade": "str"}), ungraded], ignore_index=True)


def history_of(standing: Standing, customer_id: str, since: date | None) -> pd.DataFrame:
    """One customer's tier (rank, of how many) and grade in each year from ``since`` (its
    first order)."""
    if since is None:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    mine = standing.rows[standing.rows["customer_id"] == customer_id].set_index("year")
    out = []
    for year, n in zip(standing.years["year"], standing.years["customers"], strict=True):
        if year < since.year:
            continue
        r = mine.loc[year] if year in mine.index else None

        def value(col: str, r: pd.Series | None = r) -> Any:
            return None if r is None or pd.isna(r[col]) else r[col]

        rank = value("rank")
        out.append({"year": int(year), "tier": value("tier"),
                    "rank": int(rank) if rank is not None else None, "customers": int(n),
                    "grade": value("grade")})
    return pd.DataFrame(out, columns=HISTORY_COLUMNS)


def history_for(tables: Tables, *, customer_id: str, as_of: date,
                since: date | None) -> pd.DataFrame:
    """``history_of(standing(tables, as_of=as_of), customer_id, since)`` without ranking and
    grading every customer of every year: the kept standing when the version has it for
    these tables (the whole book), else this customer's rank among the year's values and
    grade against the year's amount quantiles. A rep's or a manager's first card took a
    second at 10 M lines to rank and grade a province seven times (issue 21)."""
    kept_standing = stored_only(standing, tables, as_of=as_of)
    if kept_standing is not None:
        return history_of(kept_standing, customer_id, since)
    if since is None:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    inputs = year_inputs(tables, as_of=as_of)
    if inputs.values.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    metric = "gross_profit_cny" if tables.has("orders", "cost_cny") else "revenue_cny"
    if metric not in inputs.values:
        raise MissingData("orders", "cost_cny" if metric == "gross_profit_cny" else metric)
    values = dict(tuple(inputs.values.groupby("year", sort=False)))
    factors = dict(tuple(inputs.factors.groupby("year", sort=False)))
    out = []
    for year in range(max(since.year, int(inputs.values["year"].min())), as_of.year + 1):
        mine = values.get(year)
        n = 0 if mine is None else len(mine)
        rank = None if mine is None else _rank_of(mine, customer_id, metric)
        tier = None if rank is None else \
            cu.TIERS[int(np.searchsorted(np.array(cu.tier_cutoffs(n)), rank, side="left"))]
        out.append({"year": year, "tier": tier, "rank": rank, "customers": n,
                    "grade": _grade_of(factors.get(year), customer_id)})
    return pd.DataFrame(out, columns=HISTORY_COLUMNS)


def _rank_of(values: pd.DataFrame, customer_id: str, metric: str) -> int | None:
    """The customer's rank (1 = best) as ``customers.assign_tiers`` ranks ``values``: by the
    value to the cent, descending, missing values last, ties by customer_id."""
    ids = values["customer_id"].to_numpy(dtype=object)
    at = np.flatnonzero(ids == customer_id)
    if not len(at):
        return None
    key = values[metric].astype(float).round(cu.RANK_DECIMALS).to_numpy()
    mine = key[at[0]]
    before_id = ids < customer_id
    if np.isnan(mine):
        ahead = (~np.isnan(key)).sum() + (np.isnan(key) & before_id).sum()
    else:
        ahead = (key > mine).sum() + ((key == mine) & before_id).sum()
    return int(ahead) + 1


def _grade_of(factors: pd.DataFrame | None, customer_id: str) -> str | None:
    """The customer's grade among ``factors`` (one year's inputs), as ``_grades`` gives it."""
    if factors is None or not len(factors):
        return None
    row = factors[factors["customer_id"] == customer_id]
    if row.empty:
        return None
    scored = grading.score_inputs(row, cutoffs_of=factors)[0]   # (the year is not scored)
    grade = scored["grade"].iloc[0]
    return None if pd.isna(grade) else str(grade)


def _credit(tables: Tables, customer_id: str, master: dict[str, Any], lines: pd.DataFrame,
            as_of: date) -> dict[str, Any]:
    out: dict[str, Any] = {k: master.get(k) for k in ("credit_grade", "credit_limit_cny",
                                                      "payment_terms_days", "guarantee")}
    invoices = _open_invoices(tables, customer_id, as_of)
    out["open_receivables_cny"] = float(invoices["open_cny"].sum()) if len(invoices) else 0.0
    overdue = invoices[invoices["days_overdue"] > 0] if len(invoices) else invoices
    out["overdue_cny"] = float(overdue["open_cny"].sum()) if len(overdue) else 0.0
    limit = out.get("credit_limit_cny")
    out["utilisation"] = (out["open_receivables_cny"] / limit if limit else None)
    return out


def _open_invoices(tables: Tables, customer_id: str, as_of: date) -> pd.DataFrame:
    cols = ["invoice_id", "invoice_date", "due_date", "amount_cny", "open_cny", "days_overdue"]
    if tables.invoices is None:
        return pd.DataFrame(columns=cols)
    kept = stored_only(credit.open_items, tables, as_of=as_of)
    if kept is not None:
        # the open items kept with the version: a scope's payments are narrowed through its
        # invoices, and asking them for one customer's took a second on a large book
        mine = kept[kept["customer_id"] == customer_id]
        return mine[cols].sort_values(["due_date", "invoice_id"]).reset_index(drop=True)
    inv = tables.invoices.filter((_.customer_id == customer_id) & (_.invoice_date <= as_of))
    frame = inv.to_pandas()
    if tables.payments is not None and len(frame):
        pay = (tables.payments.filter(_.invoice_id.isin(inv.invoice_id)
                                      & (_.paid_date <= as_of))
               .group_by("invoice_id").aggregate(paid=_.paid_cny.sum()).to_pandas())
        frame = frame.merge(pay, on="invoice_id", how="left")
    else:
        frame["paid"] = 0.0
    frame["open_cny"] = frame["amount_cny"] - frame["paid"].fillna(0.0)
    frame = frame[frame["open_cny"] > CENT].copy()
    frame["due_date"] = pd.to_datetime(frame["due_date"])
    frame["days_overdue"] = (pd.Timestamp(as_of) - frame["due_date"]).dt.days
    return frame[cols].sort_values(["due_date", "invoice_id"]).reset_index(drop=True)


def _rows(tables: Tables, name: str, customer_id: str, date_col: str, as_of: date
          ) -> pd.DataFrame:
    table = getattr(tables, name)
    if table is None:
        return pd.DataFrame()
    frame = table.filter((table.customer_id == customer_id) & (table[date_col] <= as_of))
    return frame.order_by([frame[date_col].desc()]).to_pandas().reset_index(drop=True)
