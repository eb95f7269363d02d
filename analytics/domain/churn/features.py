"""Churn features and labels at cutoffs, computed in the engine.

Population at cutoff c: customers with an order in the 365 days before c. Label: no order in
[c, c + H). One-time buyers get features of their own (the only purchase's size and age)
instead of a cycle they do not have. Features read only data dated before the cutoff
(tests/test_churn.py proves it by recomputing them on tables truncated at the cutoff).

Every cutoff of a training set is one query: the cutoffs are a small table joined to the
purchase days (and invoices, payments, surveys, complaints) by date, so a large book is never
pulled into pandas; only one row per customer and cutoff comes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd
from ibis import _

from analytics.domain import summaries
from analytics.domain.churn.settings import HORIZON_DAYS
from analytics.domain.measures import CENT, id_table, with_settlement
from analytics.store.frames import present
from analytics.store.schema import SURVEY_DIMENSIONS
from analytics.store.warehouse import Tables

RATIO_CAP = 5.0     # overdue share and credit use stop here: a tiny base must not dominate


def _days_before(n: int) -> ibis.expr.types.IntervalScalar:
    return ibis.interval(days=n)


def _cutoff_table(cuts: Sequence[date]) -> ibis.Table:
    # distinct: a cutoff listed twice would join every purchase day twice
    return ibis.memtable(pd.DataFrame({"cutoff": sorted(set(cuts))}), schema={"cutoff": "date"})


def _narrowed(table: ibis.Table, ids: ibis.Table | None) -> ibis.Table:
    return table if ids is None else table.filter(table.customer_id.isin(ids.customer_id))


def purchase_days(tables: Tables, ids: ibis.Table | None = None) -> ibis.Table:
    """One row per customer and order day: revenue, tonnes and gross profit where known."""
    days = _days_with_gap(tables, ids)
    # the margin's denominator is the Overview's; the churn history need not carry it
    return days.drop("gap", *[c for c in ("costed_revenue_cny",) if c in days.columns])


def _days_with_gap(tables: Tables, ids: ibis.Table | None) -> ibis.Table:
    """The purchase days with ``gap``, the days since the customer's previous order day: the
    summary kept with the version when there is one (whole book), else computed."""
    kept = summaries.kept_purchase_days(tables)
    if kept is not None:
        return _narrowed(kept, ids)
    return summaries.purchase_days(tables.with_(orders=_narrowed(tables.get("orders"), ids)))


def _purchases(days: ibis.Table, cuts: ibis.Table) -> ibis.Table:
    """Per cutoff and customer in its population: the purchase-day aggregates."""
    j = days.join(cuts, days.date < cuts.cutoff)
    in_365 = j.date >= j.cutoff - _days_before(365)
    in_90 = j.date >= j.cutoff - _days_before(90)
    agg = {"last": j.date.max(), "first": j.date.min(), "n_days": j.date.count(),
           "cycle_days": j.gap.median(), "cycle_spread": j.gap.std(),
           "orders_365": j.date.count(where=in_365), "orders_90": j.date.count(where=in_90),
           "revenue_365": j.revenue_cny.sum(where=in_365),
           "revenue_90": j.revenue_cny.sum(where=in_90), "revenue_all": j.revenue_cny.sum(),
           "revenue_first": j.revenue_cny.argmin(j.date)}
    if "volume_t" in days.columns:
        agg["volume_365"] = j.volume_t.sum(where=in_365)
        agg["volume_90"] = j.volume_t.sum(where=in_90)
    if "gross_profit_cny" in days.columns:
        agg["profit_365"] = j.gross_profit_cny.sum(where=in_365)
    return j.group_by(["cutoff", "customer_id"]).aggregate(**agg).filter(_.orders_365 > 0)


def _breadth(tables: Tables, ids: ibis.Table | None, cuts: ibis.Table) -> ibis.Table | None:
    orders = _narrowed(tables.get("orders"), ids)
    if "category" not in orders.columns:
        return None
    j = orders.join(cuts, (orders.order_date < cuts.cutoff)
                    & (orders.order_date >= cuts.cutoff - _days_before(365)))
    return j.group_by(["cutoff", "customer_id"]).aggregate(product_breadth=j.category.nunique())


def _complaints(tables: Tables, ids: ibis.Table | None, cuts: ibis.Table) -> ibis.Table | None:
    if not tables.has("complaints", "opened_date"):
        return None
    comp = _narrowed(tables.get("complaints"), ids)
    j = comp.join(cuts, (comp.opened_date < cuts.cutoff)
                  & (comp.opened_date >= cuts.cutoff - _days_before(180)))
    return j.group_by(["cutoff", "customer_id"]).aggregate(complaints_180=j.count())


def _satisfaction(tables: Tables, ids: ibis.Table | None, cuts: ibis.Table
                  ) -> ibis.Table | None:
    """The mean of each customer's three latest survey scores before the cutoff (a score is
    the mean of the dimensions answered), and of their recommend answers."""
    if not tables.has("surveys", "survey_date"):
        return None
    surveys = _narrowed(tables.get("surveys"), ids)
    dims = [d for d in SURVEY_DIMENSIONS if d in surveys.columns]
    if not dims:
        return None
    answered = sum((surveys[d].notnull().cast("int64") for d in dims), ibis.literal(0))
    total = sum((surveys[d].fill_null(0) for d in dims), ibis.literal(0.0))
    scored = surveys.mutate(score=total / answered.nullif(0))
    j = scored.join(cuts, scored.survey_date < cuts.cutoff)
    order = [ibis.desc("survey_date")] + ([ibis.desc("survey_id")] if "survey_id" in
                                          surveys.columns else [])
    rank = ibis.row_number().over(group_by=["cutoff", "customer_id"], order_by=order)
    latest = j.mutate(rank=rank).filter(_.rank < 3)  # ibis numbers rows from 0
    agg = {"satisfaction": latest.score.mean()}
    if "recommend" in surveys.columns:
        agg["recommend"] = latest.recommend.mean()
    return latest.group_by(["cutoff", "customer_id"]).aggregate(**agg)


def _receivables(tables: Tables, ids: ibis.Table | None, cuts: ibis.Table, *, many: bool
                 ) -> ibis.Table | None:
    """Per cutoff and customer: invoices open at the cutoff (net of payments before it), the
    overdue part and the earliest due date among the overdue."""
    if not tables.has("invoices", "invoice_date", "due_date"):
        return None
    inv = _narrowed(tables.get("invoices"), ids)
    if tables.has("payments", "invoice_id", "paid_date", "paid_cny"):
        pay = tables.get("payments")
        kept = summaries.kept_settlement(tables)
        if kept is not None:  # the summary: settlement already known
            items = _open_while_unsettled(_narrowed(kept, ids), pay, cuts)
        else:
            if ids is not None:
                pay = pay.filter(pay.invoice_id.isin(inv.invoice_id))
            items = (_open_while_unsettled(with_settlement(inv, pay), pay, cuts) if many
                     else _open_at(inv, pay, cuts))
    else:
        items = inv.join(cuts, inv.invoice_date < cuts.cutoff).mutate(open_cny=_.amount_cny)
    items = items.filter(_.open_cny > CENT)
    overdue = items.due_date < items.cutoff
    return items.group_by(["cutoff", "customer_id"]).aggregate(
        open_cny=items.open_cny.sum(), overdue_cny=items.open_cny.sum(where=overdue),
        first_overdue_due=items.due_date.min(where=overdue))


def _open_at(inv: ibis.Table, pay: ibis.Table, cuts: ibis.Table) -> ibis.Table:
    """Every invoice issued before each cutoff with open_cny = amount − paid before it."""
    issued = inv.join(cuts, inv.invoice_date < cuts.cutoff)
    pj = pay.join(cuts, pay.paid_date < cuts.cutoff)
    paid = pj.group_by(["cutoff", "invoice_id"]).aggregate(paid=pj.paid_cny.sum())
    items = issued.left_join(paid, ["cutoff", "invoice_id"])
    return items.mutate(open_cny=items.amount_cny - items.paid.fill_null(0.0))


def _open_while_unsettled(settled: ibis.Table, pay: ibis.Table, cuts: ibis.Table
                          ) -> ibis.Table:
    """As _open_at, from invoices with ``settled_on`` (measures.with_settlement): each invoice
    is paired only with the cutoffs at which it can be open, after its date and up to its
    settlement (later, everything paid has been paid, so it is open then only if the payments
    never covered it). Most invoices are settled within a quarter, so a training set's twenty
    cutoffs cost little more than one; computing the settlement costs more than the plain
    join for a single cutoff, but the summary kept with the version has it already."""
    inv = settled.mutate(open_until=settled.settled_on.fill_null(ibis.date(9999, 12, 31)))
    pairs = inv.join(cuts, (inv.invoice_date < cuts.cutoff) & (cuts.cutoff <= inv.open_until))
    pj = pay.join(pairs.select("invoice_id", "cutoff"), "invoice_id").filter(
        _.paid_date < _.cutoff)
    paid = pj.group_by(["cutoff", "invoice_id"]).aggregate(paid=pj.paid_cny.sum())
    items = pairs.left_join(paid, ["cutoff", "invoice_id"])
    return items.mutate(open_cny=items.amount_cny - items.paid.fill_null(0.0))


def feature_table(tables: Tables, cuts: Sequence[date], *,
                  customers: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per cutoff and customer in that cutoff's population: ``cutoff``,
    ``customer_id``, the features (as in FEATURE_TEXT) and ``value_365`` (gross profit where
    costs are known, else revenue, of the 365 days before the cutoff: what is at stake).
    ``customers`` limits the rows to those customers (a training sample)."""
    ids = None if customers is None else id_table(customers)
    cut_t = _cutoff_table(cuts)
    days = _days_with_gap(tables, ids)
    base = _purchases(days, cut_t)
    extras = [x for x in (_breadth(tables, ids, cut_t), _complaints(tables, ids, cut_t),
                          _satisfaction(tables, ids, cut_t),
                          _receivables(tables, ids, cut_t, many=len(set(cuts)) > 1))
              if x is not None]
    keys = ["cutoff", "customer_id"]
    frame = base
    for extra in extras:
        frame = frame.left_join(extra, keys).select(
            *[frame[c] for c in frame.columns], *[extra[c] for c in extra.columns
                                                  if c not in keys])
    raw = frame.to_pandas()
    return _derive(raw, tables, [c for c in days.columns if c != "gap"], extras).sort_values(
        ["cutoff", "customer_id"], kind="mergesort").reset_index(drop=True)


def _derive(raw: pd.DataFrame, tables: Tables, day_columns: Sequence[str],
            extras: list[ibis.Table]) -> pd.DataFrame:
    """Features from the per-customer aggregates: day counts, ratios, logs, fills."""
    c = pd.to_datetime(raw["cutoff"])
    out = pd.DataFrame({"cutoff": c, "customer_id": raw["customer_id"]})
    out["recency_days"] = (c - pd.to_datetime(raw["last"])).dt.days
    out["tenure_days"] = (c - pd.to_datetime(raw["first"])).dt.days
    out["cycle_days"] = raw["cycle_days"].astype(float)
    out["cycle_spread"] = raw["cycle_spread"].astype(float)
    out["recency_over_cycle"] = out["recency_days"] / out["cycle_days"]
    out["one_time_buyer"] = (raw["n_days"] == 1).astype(float)
    out["orders_365"] = raw["orders_365"].astype("int64")
    out["orders_90"] = raw["orders_90"].astype("int64")
    rev_365 = raw["revenue_365"].fillna(0.0).astype(float)
    rev_90 = raw["revenue_90"].fillna(0.0).astype(float)
    out["log_revenue_365"] = np.log1p(rev_365.clip(lower=0))
    # one trend only (tonnes where known, else revenue): two near-copies would split the
    # effect and show as opposite reasons for the same customer
    if "volume_t" in day_columns:
        vol_365 = raw["volume_365"].fillna(0.0).astype(float)
        out["volume_trend"] = raw["volume_90"].fillna(0.0).astype(float) / (
            vol_365 / 4).where(vol_365 > 0)
    else:
        out["revenue_trend"] = rev_90 / (rev_365 / 4).where(rev_365 > 0)
    if "gross_profit_cny" in day_columns:
        profit_365 = raw["profit_365"].fillna(0.0).astype(float)
        out["margin_pct_365"] = profit_365 / rev_365.where(rev_365 > 0) * 100
    only = raw["revenue_all"].astype(float).clip(lower=0)
    out["only_purchase_log_value"] = np.where(out["one_time_buyer"] == 1, np.log1p(only), 0.0)
    # what the repeat-purchase model reads (process_features); not features themselves
    out["purchase_days"] = raw["n_days"].astype("int64")
    out["first_purchase_cny"] = raw["revenue_first"].astype(float)
    names = {n for e in extras for n in e.columns}
    if "product_breadth" in names:
        out["product_breadth"] = raw["product_breadth"].fillna(0).astype("int64")
    if "complaints_180" in names:
        out["complaints_180"] = raw["complaints_180"].fillna(0).astype("int64")
    if "satisfaction" in names:
        out["satisfaction"] = raw["satisfaction"].astype(float)
    if "recommend" in names:
        out["recommend"] = raw["recommend"].astype(float)
    if "open_cny" in names:
        open_total = raw["open_cny"].fillna(0.0).astype(float)
        overdue = raw["overdue_cny"].fillna(0.0).astype(float)
        out["overdue_share"] = (overdue / rev_365.where(rev_365 > 0)).clip(upper=RATIO_CAP)
        out["max_days_overdue"] = (c - pd.to_datetime(raw["first_overdue_due"])).dt.days \
            .fillna(0).astype("int64")
    else:
        open_total = None
    master = _master(tables, raw["customer_id"])
    if open_total is not None and "credit_limit_cny" in master:
        limit = master["credit_limit_cny"].astype(float)
        out["credit_use"] = (open_total / limit.where(limit > 0)).clip(upper=RATIO_CAP)
    for col in CATEGORICAL:
        if col in master:
            out[col] = master[col].fillna("unknown").astype(str)
    out["value_365"] = (raw["profit_365"] if "gross_profit_cny" in day_columns
                        else raw["revenue_365"]).fillna(0.0).astype(float)
    # revenue beside it: what is at stake for a reader who may not see profit (a rep reading
    # the one model trained on the whole book)
    out["revenue_365"] = rev_365
    # The engine's sums and spreads change in their last bits with the order it meets the rows
    # (threads, a summary table or the raw lines): rounded far below any meaning (money to the
    # cent, the rest to 1e-9), the same book gives the same features, whichever way they were
    # computed — but for a value that lies on a rounding boundary, which can still come out
    # one unit (1e-9) apart (tests/test_summaries.py allows that one unit).
    floats = [c for c in out.columns if out[c].dtype == "float64" and c not in AT_STAKE]
    out[floats] = out[floats].round(9)
    out[list(AT_STAKE)] = out[list(AT_STAKE)].round(2)
    return out


def _master(tables: Tables, ids: pd.Series) -> pd.DataFrame:
    """The master columns the features read, aligned with ``ids``."""
    if tables.customers is None:
        return pd.DataFrame(index=ids.index)
    cols = present(tables.customers, ("customer_id", "type", "province", "credit_limit_cny"))
    master = tables.customers.select(*cols).to_pandas().drop_duplicates("customer_id") \
        .set_index("customer_id")
    return master.reindex(ids.to_numpy()).set_axis(ids.index)


PROCESS_INPUTS = ("purchase_days", "first_purchase_cny")
# carried beside the features, never features: the 365 days' value (gross profit where costs
# are known, else revenue) and revenue, in yuan
AT_STAKE = ("value_365", "revenue_365")


def process_features(frame: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """``frame`` (from feature_table) with the repeat-purchase process's own view of each
    customer: BG/NBD fitted at each cutoff on that cutoff's population (only data before it)
    gives P(no order in the next ``horizon`` days) and the expected orders; and the first
    purchase's size (a first order's size says how much the customer meant to buy here).
    The BG/NBD inputs (x, t_x, T) are in weeks: the published fits use weeks, and days put
    the rate parameter alpha near the optimiser's bounds."""
    from analytics.domain.churn import bgnbd

    out = frame.drop(columns=present(frame, PROCESS_INPUTS))
    out["first_purchase_log_value"] = np.log1p(frame["first_purchase_cny"].clip(lower=0))
    p_none = pd.Series(np.nan, index=frame.index)
    expected = pd.Series(np.nan, index=frame.index)
    for _cut, rows in frame.groupby("cutoff", sort=False):
        x = (rows["purchase_days"] - 1).to_numpy(dtype=float)
        t_x = (rows["tenure_days"] - rows["recency_days"]).to_numpy(dtype=float) / 7
        big_t = rows["tenure_days"].to_numpy(dtype=float) / 7
        if len(rows) < BGNBD_MIN_CUSTOMERS or not (x > 0).any():
            continue   # too few to fit: the pipeline imputes, and the reasons skip it
        fit = bgnbd.fit(x, t_x, big_t)
        p_none[rows.index] = fit.p_none(horizon / 7, x, t_x, big_t)
        expected[rows.index] = np.log1p(np.clip(fit.expected(horizon / 7, x, t_x, big_t),
                                                0, None))
    out["bgnbd_p_none"] = p_none.round(9)
    out["bgnbd_log_expected"] = expected.round(9)
    return out


BGNBD_MIN_CUSTOMERS = 30


def features(tables: Tables, cutoff: date, *, customers: Sequence[str] | None = None
             ) -> pd.DataFrame:
    """One row per customer in the population at ``cutoff`` (index customer_id); columns as
    in FEATURE_TEXT. Numeric features may be NaN (the pipeline imputes); categorical ones
    are text."""
    frame = feature_table(tables, [cutoff], customers=customers)
    return frame.drop(columns=["cutoff", *AT_STAKE, *PROCESS_INPUTS]) \
        .set_index("customer_id")


def _bought_within(tables: Tables, cuts: Sequence[date], horizon: int,
                  customers: Sequence[str] | None) -> pd.DataFrame:
    ids = None if customers is None else id_table(customers)
    cut_t = _cutoff_table(cuts)
    orders = _narrowed(tables.get("orders"), ids)
    j = orders.join(cut_t, (orders.order_date >= cut_t.cutoff)
                    & (orders.order_date < cut_t.cutoff + _days_before(horizon)))
    bought = j.select("cutoff", "customer_id").distinct().to_pandas()
    bought["cutoff"] = pd.to_datetime(bought["cutoff"])
    return bought


def with_labels(frame: pd.DataFrame, tables: Tables, horizon: int = HORIZON_DAYS, *,
                customers: Sequence[str] | None = None) -> pd.DataFrame:
    """``frame`` (from feature_table) with ``churned``: 1 = no order in
    [cutoff, cutoff + horizon)."""
    cuts = sorted({c.date() for c in frame["cutoff"]})
    bought = _bought_within(tables, cuts, horizon, customers).assign(stayed=1)
    merged = frame.merge(bought, on=["cutoff", "customer_id"], how="left")
    return merged.assign(churned=1 - merged.pop("stayed").fillna(0).astype("int64"))


def labels(tables: Tables, cutoff: date, horizon: int = HORIZON_DAYS) -> pd.Series:
    """1 = no order in [cutoff, cutoff + horizon), for the population at the cutoff."""
    orders = tables.get("orders")
    active = orders.filter((orders.order_date < cutoff)
                           & (orders.order_date >= cutoff - timedelta(days=365)))
    ids = sorted(active.select("customer_id").distinct().to_pandas()["customer_id"])
    pop = pd.DataFrame({"cutoff": pd.Timestamp(cutoff), "customer_id": ids})
    y = with_labels(pop, tables, horizon)
    return pd.Series(y["churned"].to_numpy(), index=pd.Index(y["customer_id"],
                                                             name="customer_id"),
                     name="churned")


def customer_ids(tables: Tables) -> list[str]:
    """Every customer with an order, sorted."""
    orders = tables.get("orders")
    return sorted(orders.select("customer_id").distinct().to_pandas()["customer_id"])


def order_span(tables: Tables) -> tuple[date | None, date | None]:
    """The first and last order date (None, None without orders)."""
    orders = tables.get("orders")
    row = orders.aggregate(first=orders.order_date.min(),
                           last=orders.order_date.max()).to_pandas().iloc[0]
    if pd.isna(row["first"]):
        return None, None
    return pd.Timestamp(row["first"]).date(), pd.Timestamp(row["last"]).date()


CATEGORICAL = ("type", "province")

# Plain words for the risk list: each feature's reason, filled with the customer's values.
FEATURE_TEXT = {
    "recency_days": "recency", "recency_over_cycle": "past_cycle", "cycle_days": "cycle",
    "cycle_spread": "irregular", "one_time_buyer": "one_time", "orders_365": "orders_365",
    "orders_90": "orders_90", "log_revenue_365": "revenue_365", "revenue_trend": "trend",
    "volume_trend": "trend_volume", "margin_pct_365": "margin", "product_breadth": "breadth",
    "only_purchase_log_value": "only_purchase", "complaints_180": "complaints",
    "satisfaction": "satisfaction", "recommend": "recommend", "overdue_share": "overdue",
    "max_days_overdue": "days_overdue", "credit_use": "credit_use", "tenure_days": "tenure",
    "type": "type", "province": "province", "first_purchase_log_value": "first_purchase",
    "bgnbd_p_none": "bgnbd", "bgnbd_log_expected": "bgnbd_expected",
}
