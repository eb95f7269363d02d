"""Churn features and labels at a cutoff. Features read only data dated before the cutoff
(tests/test_churn.py proves it by recomputing them on data truncated at the cutoff).

Population at cutoff c: customers with an order in the 365 days before c. Label: no order in
[c, c + H). One-time buyers get features of their own (the only purchase's size and age)
instead of a cycle they do not have.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from analytics.churn.history import History

HORIZON_DAYS = 180  # the method: "no order in the next 180 days" is churn


def population(history: History, cutoff: date) -> pd.Index:
    c = pd.Timestamp(cutoff)
    d = history.days
    recent = d[(d["date"] < c) & (d["date"] >= c - pd.Timedelta(days=365))]
    return pd.Index(sorted(recent["customer_id"].unique()), name="customer_id")


def labels(history: History, cutoff: date, horizon: int = HORIZON_DAYS) -> pd.Series:
    """1 = no order in [cutoff, cutoff + horizon), for the population at the cutoff."""
    c = pd.Timestamp(cutoff)
    d = history.days
    bought = set(d.loc[(d["date"] >= c) & (d["date"] < c + pd.Timedelta(days=horizon)),
                       "customer_id"])
    pop = population(history, cutoff)
    return pd.Series([0 if cid in bought else 1 for cid in pop], index=pop, name="churned")


def _before(frame: pd.DataFrame | None, column: str, c: pd.Timestamp) -> pd.DataFrame | None:
    return None if frame is None else frame[frame[column] < c]


def features(history: History, cutoff: date) -> pd.DataFrame:
    """One row per customer in the population at ``cutoff``; columns as in FEATURE_TEXT.

    Numeric features may be NaN (the pipeline imputes); categorical ones are text.
    """
    c = pd.Timestamp(cutoff)
    pop = population(history, cutoff)
    d = history.days[(history.days["date"] < c) & history.days["customer_id"].isin(pop)]
    g = d.groupby("customer_id")
    last = g["date"].max()
    first = g["date"].min()
    n_days = g["date"].nunique()
    out = pd.DataFrame(index=pop)
    out["recency_days"] = (c - last).dt.days
    out["tenure_days"] = (c - first).dt.days
    gaps = d.assign(gap=g["date"].diff().dt.days).groupby("customer_id")["gap"]
    out["cycle_days"] = gaps.median()
    out["cycle_spread"] = gaps.std()
    out["recency_over_cycle"] = out["recency_days"] / out["cycle_days"]
    out["one_time_buyer"] = (n_days == 1).astype(float)
    value, volume = history.value_column, history.volume_column

    def window(days: int, col: str) -> pd.Series:
        w = d[d["date"] >= c - pd.Timedelta(days=days)]
        return w.groupby("customer_id")[col].sum().reindex(pop, fill_value=0.0)

    out["orders_365"] = d[d["date"] >= c - pd.Timedelta(days=365)].groupby(
        "customer_id")["date"].nunique().reindex(pop, fill_value=0)
    out["orders_90"] = d[d["date"] >= c - pd.Timedelta(days=90)].groupby(
        "customer_id")["date"].nunique().reindex(pop, fill_value=0)
    rev_365, rev_90 = window(365, "revenue_cny"), window(90, "revenue_cny")
    out["log_revenue_365"] = np.log1p(rev_365.clip(lower=0))
    # one trend only (tonnes where known, else revenue): two near-copies would split the
    # effect and show as opposite reasons for the same customer
    if volume != "revenue_cny":
        vol_365, vol_90 = window(365, volume), window(90, volume)
        out["volume_trend"] = vol_90 / (vol_365 / 4).where(vol_365 > 0)
    else:
        out["revenue_trend"] = rev_90 / (rev_365 / 4).where(rev_365 > 0)
    if value == "gross_profit_cny":
        gp_365 = window(365, value)
        out["margin_pct_365"] = gp_365 / rev_365.where(rev_365 > 0) * 100
    only = d.groupby("customer_id")["revenue_cny"].sum()
    out["only_purchase_log_value"] = np.where(out["one_time_buyer"] == 1,
                                              np.log1p(only.reindex(pop).clip(lower=0)), 0.0)
    if len(history.categories):
        cats = history.categories
        recent = cats[(cats["date"] < c) & (cats["date"] >= c - pd.Timedelta(days=365))]
        out["product_breadth"] = recent.groupby("customer_id")["category"].nunique().reindex(
            pop, fill_value=0)
    _complaints(out, history, c, pop)
    _satisfaction(out, history, c, pop)
    _receivables(out, history, c, pop, rev_365)
    _master(out, history, pop)
    return out


def _complaints(out: pd.DataFrame, history: History, c: pd.Timestamp, pop: pd.Index) -> None:
    comp = _before(history.complaints, "opened_date", c)
    if comp is None:
        return
    recent = comp[comp["opened_date"] >= c - pd.Timedelta(days=180)]
    out["complaints_180"] = recent.groupby("customer_id").size().reindex(pop, fill_value=0)


def _satisfaction(out: pd.DataFrame, history: History, c: pd.Timestamp, pop: pd.Index) -> None:
    surveys = _before(history.surveys, "survey_date", c)
    if surveys is None:
        return
    dims = [x for x in ("quality", "delivery", "price", "service", "responsiveness",
                        "billing", "logistics") if x in surveys]
    if not dims:
        return
    s = surveys.assign(score=surveys[dims].mean(axis=1)).sort_values("survey_date")
    latest = s.groupby("customer_id").tail(3).groupby("customer_id")
    out["satisfaction"] = latest["score"].mean().reindex(pop)
    if "recommend" in s:
        out["recommend"] = latest["recommend"].mean().reindex(pop)


def _receivables(out: pd.DataFrame, history: History, c: pd.Timestamp, pop: pd.Index,
                 revenue_365: pd.Series) -> None:
    inv = _before(history.invoices, "invoice_date", c)
    if inv is None:
        return
    pay = _before(history.payments, "paid_date", c)
    paid = (pay.groupby("invoice_id")["paid_cny"].sum() if pay is not None and len(pay)
            else pd.Series(dtype=float))
    inv = inv.assign(open_cny=inv["amount_cny"] - inv["invoice_id"].map(paid).fillna(0.0))
    open_ = inv[inv["open_cny"] > 0.01]
    overdue = open_[open_["due_date"] < c]
    days_over = (c - overdue["due_date"]).dt.days
    out["overdue_share"] = (overdue.groupby("customer_id")["open_cny"].sum().reindex(
        pop, fill_value=0.0) / revenue_365.where(revenue_365 > 0)).clip(upper=5)
    out["max_days_overdue"] = days_over.groupby(overdue["customer_id"]).max().reindex(
        pop, fill_value=0)
    limits = history.customers.set_index("customer_id").get("credit_limit_cny")
    if limits is not None:
        open_total = open_.groupby("customer_id")["open_cny"].sum().reindex(pop, fill_value=0)
        limit = limits.reindex(pop)
        out["credit_use"] = (open_total / limit.where(limit > 0)).clip(upper=5)


def _master(out: pd.DataFrame, history: History, pop: pd.Index) -> None:
    master = history.customers.set_index("customer_id")
    for col in ("type", "province"):
        if col in master:
            out[col] = master[col].reindex(pop).fillna("unknown").astype(str)


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
    "type": "type", "province": "province",
}
