"""The churn features in pandas alone: load the tables, compute per cutoff.

This is how SteelSight computed them before they moved into the engine, kept as the second
opinion the engine's features are checked against (tests/test_churn.py, on the demo) and as
the pandas reference the bench times them against. Same definitions as
analytics/churn/features.py; ties between surveys on the same date go to the later survey_id,
as there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.store.schema import SURVEY_DIMENSIONS
from analytics.store.warehouse import Warehouse


@dataclass
class Frames:
    days: pd.DataFrame          # customer_id, date, revenue_cny, volume_t, gross_profit_cny
    categories: pd.DataFrame    # customer_id, date, category (distinct)
    customers: pd.DataFrame
    invoices: pd.DataFrame
    payments: pd.DataFrame
    surveys: pd.DataFrame
    complaints: pd.DataFrame


def load(folder: Path) -> Frames:
    """The warehouse's tables as pandas frames (orders summed per customer and day in
    pandas, as a notebook without a database would)."""
    path = Warehouse(folder).current_path()
    assert path is not None
    con = duckdb.connect(str(path), read_only=True)
    try:
        def df(sql: str) -> pd.DataFrame:
            return con.execute(sql).df()

        orders = df("select customer_id, order_date, category, amount_cny, volume_t, cost_cny "
                    "from orders")
        invoices = df("select * from invoices")
        payments = df("select * from payments")
        surveys = df("select * from surveys")
        complaints = df("select * from complaints")
        customers = df("select * from customers")
    finally:
        con.close()
    orders["date"] = pd.to_datetime(orders["order_date"])
    orders["gross_profit_cny"] = orders["amount_cny"] - orders["cost_cny"]
    days = orders.groupby(["customer_id", "date"], as_index=False)[
        ["amount_cny", "volume_t", "gross_profit_cny"]].sum().rename(
        columns={"amount_cny": "revenue_cny"})
    cats = orders[["customer_id", "date", "category"]].drop_duplicates()
    for frame, cols in ((invoices, ("invoice_date", "due_date")), (payments, ("paid_date",)),
                        (surveys, ("survey_date",)), (complaints, ("opened_date",))):
        for c in cols:
            frame[c] = pd.to_datetime(frame[c])
    return Frames(days.sort_values(["customer_id", "date"]).reset_index(drop=True), cats,
                  customers, invoices, payments, surveys, complaints)


def features(f: Frames, cutoff: date) -> pd.DataFrame:
    """One row per customer with an order in the 365 days before ``cutoff``."""
    c = pd.Timestamp(cutoff)
    d = f.days
    recent = d[(d["date"] < c) & (d["date"] >= c - pd.Timedelta(days=365))]
    pop = pd.Index(sorted(recent["customer_id"].unique()), name="customer_id")
    d = d[(d["date"] < c) & d["customer_id"].isin(pop)]
    g = d.groupby("customer_id")
    out = pd.DataFrame(index=pop)
    out["recency_days"] = (c - g["date"].max()).dt.days
    out["tenure_days"] = (c - g["date"].min()).dt.days
    gaps = d.assign(gap=g["date"].diff().dt.days).groupby("customer_id")["gap"]
    out["cycle_days"] = gaps.median()
    out["cycle_spread"] = gaps.std()
    out["recency_over_cycle"] = out["recency_days"] / out["cycle_days"]
    out["one_time_buyer"] = (g["date"].nunique() == 1).astype(float)

    def window(days: int, col: str) -> pd.Series:
        w = d[d["date"] >= c - pd.Timedelta(days=days)]
        return w.groupby("customer_id")[col].sum().reindex(pop, fill_value=0.0)

    for n in (365, 90):
        out[f"orders_{n}"] = d[d["date"] >= c - pd.Timedelta(days=n)].groupby(
            "customer_id")["date"].nunique().reindex(pop, fill_value=0)
    rev_365 = window(365, "revenue_cny")
    out["log_revenue_365"] = np.log1p(rev_365.clip(lower=0))
    vol_365 = window(365, "volume_t")
    out["volume_trend"] = window(90, "volume_t") / (vol_365 / 4).where(vol_365 > 0)
    out["margin_pct_365"] = window(365, "gross_profit_cny") / rev_365.where(rev_365 > 0) * 100
    only = g["revenue_cny"].sum()
    out["only_purchase_log_value"] = np.where(out["one_time_buyer"] == 1,
                                              np.log1p(only.reindex(pop).clip(lower=0)), 0.0)
    cats = f.categories
    cats = cats[(cats["date"] < c) & (cats["date"] >= c - pd.Timedelta(days=365))]
    out["product_breadth"] = cats.groupby("customer_id")["category"].nunique().reindex(
        pop, fill_value=0)
    comp = f.complaints
    comp = comp[(comp["opened_date"] < c) & (comp["opened_date"] >= c - pd.Timedelta(days=180))]
    out["complaints_180"] = comp.groupby("customer_id").size().reindex(pop, fill_value=0)
    s = f.surveys[f.surveys["survey_date"] < c]
    s = s.assign(score=s[list(SURVEY_DIMENSIONS)].mean(axis=1)).sort_values(
        ["survey_date", "survey_id"], kind="mergesort")
    latest = s.groupby("customer_id").tail(3).groupby("customer_id")
    out["satisfaction"] = latest["score"].mean().reindex(pop)
    out["recommend"] = latest["recommend"].mean().reindex(pop)
    inv = f.invoices[f.invoices["invoice_date"] < c]
    pay = f.payments[f.payments["paid_date"] < c]
    paid = pay.groupby("invoice_id")["paid_cny"].sum()
    inv = inv.assign(open_cny=inv["amount_cny"] - inv["invoice_id"].map(paid).fillna(0.0))
    open_ = inv[inv["open_cny"] > 0.01]
    overdue = open_[open_["due_date"] < c]
    out["overdue_share"] = (overdue.groupby("customer_id")["open_cny"].sum().reindex(
        pop, fill_value=0.0) / rev_365.where(rev_365 > 0)).clip(upper=5)
    out["max_days_overdue"] = (c - overdue["due_date"]).dt.days.groupby(
        overdue["customer_id"]).max().reindex(pop, fill_value=0)
    master = f.customers.set_index("customer_id")
    open_total = open_.groupby("customer_id")["open_cny"].sum().reindex(pop, fill_value=0)
    limit = master["credit_limit_cny"].reindex(pop)
    out["credit_use"] = (open_total / limit.where(limit > 0)).clip(upper=5)
    for col in ("type", "province"):
        out[col] = master[col].reindex(pop).fillna("unknown").astype(str)
    return out
