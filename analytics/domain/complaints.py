"""客户投诉 Complaints: where each one is in the handling process, how fast they close, what
they cost, and who complains again.

Stages, in the method's order: recorded → judged (成立 or not) → assigned (department) →
cause found → remedy proposed → approved → closed. A complaint is at the furthest stage its
fields show, so the stage counts partition the complaints. Service target: closed within
TARGET_DAYS calendar days of being opened (MAJOR_TARGET_DAYS for major ones).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from ibis import _

from analytics.store.period import Period
from analytics.store.warehouse import Tables

STAGES = ("recorded", "judged", "assigned", "cause", "remedy", "approved", "closed")
TARGET_DAYS = 7
MAJOR_TARGET_DAYS = 3
AGE_BUCKETS = ((0, 3, "0-3"), (4, 7, "4-7"), (8, 14, "8-14"), (15, 30, "15-30"),
               (31, 10_000, ">30"))


def stage_of(frame: pd.DataFrame) -> pd.Series:
    """The furthest stage each complaint has reached (fields it lacks count as not done)."""
    def has(col: str) -> pd.Series:
        return frame[col].notna() if col in frame else pd.Series(False, index=frame.index)
    return pd.Series(np.select(
        [has("closed_date"), has("approved_date"), has("remedy"), has("cause"),
         has("department"), has("valid")],
        ["closed", "approved", "remedy", "cause", "assigned", "judged"], "recorded"),
        index=frame.index)


def target_days(severity: pd.Series, *, target: int = TARGET_DAYS,
                major_target: int = MAJOR_TARGET_DAYS) -> pd.Series:
    return pd.Series(np.where(severity.astype(str) == "major", major_target, target),
                     index=severity.index)


def complaints_in(tables: Tables, *, period: Period, target: int = TARGET_DAYS,
                  major_target: int = MAJOR_TARGET_DAYS) -> pd.DataFrame:
    """Complaints opened in the period, one row each, with stage, days_to_close (calendar
    days, closed only), target_days, within_target, age_days (open ones, at the period end),
    overdue (open past target), and the customer's name and rep and the order's category."""
    c = tables.get("complaints")
    opened = c.filter(period.contains(c.opened_date))
    frame = opened.to_pandas()
    for col in ("opened_date", "closed_date", "approved_date"):
        if col in frame:
            frame[col] = pd.to_datetime(frame[col])
    frame["stage"] = stage_of(frame)
    frame["target_days"] = target_days(frame.get("severity", pd.Series("", index=frame.index)),
                                       target=target, major_target=major_target)
    closed = frame["closed_date"].notna() if "closed_date" in frame else pd.Series(
        False, index=frame.index)
    frame["days_to_close"] = ((frame["closed_date"] - frame["opened_date"]).dt.days
                              if "closed_date" in frame else np.nan)
    frame["within_target"] = (frame["days_to_close"] <= frame["target_days"]).where(closed)
    frame["age_days"] = ((pd.Timestamp(period.end) - frame["opened_date"]).dt.days
                         ).where(~closed)
    frame["overdue"] = (~closed) & (frame["age_days"] > frame["target_days"])
    if tables.customers is not None:
        # not the customer "type": it would collide with the complaint type
        info = [x for x in ("name", "sales_rep") if x in tables.customers.columns]
        master = tables.customers.select("customer_id", *info).to_pandas()
        frame = frame.merge(master, on="customer_id", how="left")
    if "order_id" in frame and tables.has("orders", "category"):
        o = tables.get("orders")
        # a semi-join in the engine, not the period's order ids spliced into the query
        cats = (o.filter(o.order_id.isin(opened.order_id))
                .group_by("order_id").aggregate(category=_.category.first()).to_pandas())
        frame = frame.merge(cats, on="order_id", how="left")
    return frame


def pipeline(frame: pd.DataFrame) -> pd.DataFrame:
    """Complaints per stage (the counts add up to all complaints) and how many are overdue."""
    counts = frame.groupby("stage").agg(complaints=("complaint_id", "count"),
                                        overdue=("overdue", "sum"))
    out = counts.reindex(list(STAGES)).fillna(0).astype(int)
    return out.rename_axis("stage").reset_index()


def kpis(tables: Tables, frame: pd.DataFrame, *, period: Period) -> dict[str, float]:
    """complaints, per_1000_t (per 1,000 t delivered in the period), within_target_pct,
    median_days, p90_days, open, overdue, compensation_cny, compensation_share_pct (of gross
    profit), invalid_pct (of judged), repeat_customers (≥ 2 complaints)."""
    orders = tables.get("orders")
    sales = orders.filter(period.contains(orders.order_date))
    agg = {}
    if "volume_t" in orders.columns:
        agg["tonnes"] = sales.volume_t.sum()
    if "cost_cny" in orders.columns:
        agg["profit"] = (sales.amount_cny - sales.cost_cny).sum()
    row = sales.aggregate(**agg).to_pandas().iloc[0] if agg else pd.Series(dtype=float)
    tonnes = float(row.get("tonnes") or np.nan) if "tonnes" in row else np.nan
    profit = float(row.get("profit") or np.nan) if "profit" in row else np.nan
    closed = frame[frame["stage"] == "closed"]
    judged = frame["valid"].dropna() if "valid" in frame else pd.Series(dtype=bool)
    comp = float(frame["compensation_cny"].sum()) if "compensation_cny" in frame else np.nan
    per_customer = frame.groupby("customer_id").size()
    return {
        "complaints": float(len(frame)),
        "per_1000_t": len(frame) / tonnes * 1000 if tonnes else np.nan,
        "within_target_pct": float(closed["within_target"].mean() * 100) if len(closed)
        else np.nan,
        "median_days": float(closed["days_to_close"].median()) if len(closed) else np.nan,
        "p90_days": float(closed["days_to_close"].quantile(0.9)) if len(closed) else np.nan,
        "open": float((frame["stage"] != "closed").sum()),
        "overdue": float(frame["overdue"].sum()),
        "compensation_cny": comp,
        "compensation_share_pct": comp / profit * 100 if profit and profit > 0 else np.nan,
        "invalid_pct": float((~judged.astype(bool)).mean() * 100) if len(judged) else np.nan,
        "repeat_customers": float((per_customer >= 2).sum()),
    }


def summary(tables: Tables, *, period: Period, target: int = TARGET_DAYS,
            major_target: int = MAJOR_TARGET_DAYS) -> dict[str, float]:
    """The page's headline numbers: kpis over complaints_in for the period."""
    frame = complaints_in(tables, period=period, target=target, major_target=major_target)
    return kpis(tables, frame, period=period)


def by(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Complaints, share closed within target, median days and compensation per value."""
    if column not in frame:
        return pd.DataFrame(columns=[column, "complaints"])
    g = frame.groupby(frame[column].fillna("—"))
    out = pd.DataFrame({"complaints": g.size(),
                        "within_target_pct": g["within_target"].mean() * 100,
                        "median_days": g["days_to_close"].median()})
    if "compensation_cny" in frame:
        out["compensation_cny"] = g["compensation_cny"].sum()
    return out.sort_values("complaints", ascending=False).rename_axis(column).reset_index()


def open_items(frame: pd.DataFrame) -> pd.DataFrame:
    """Open complaints, those past their target first (oldest first), with their owner."""
    out = frame[frame["stage"] != "closed"].copy()
    out["age_bucket"] = pd.cut(out["age_days"], [b[0] - 1 for b in AGE_BUCKETS] + [10_000],
                               labels=[b[2] for b in AGE_BUCKETS]).astype(str)
    out["opened_date"] = out["opened_date"].dt.date
    return out.sort_values(["overdue", "age_days"], ascending=[False, False]).reset_index(
        drop=True)


def repeat_complainers(frame: pd.DataFrame) -> pd.DataFrame:
    g = frame.groupby("customer_id")
    out = pd.DataFrame({"complaints": g.size(), "last_opened": g["opened_date"].max().dt.date})
    if "compensation_cny" in frame:
        out["compensation_cny"] = g["compensation_cny"].sum()
    if "name" in frame:
        out["name"] = g["name"].first()
    out = out[out["complaints"] >= 2].sort_values(["complaints", "last_opened"],
                                                  ascending=[False, False])
    return out.reset_index()


def sla_days(opened: date, closed: date) -> int:
    """Calendar days from opening to closing (month and year ends are just days)."""
    return (pd.Timestamp(closed) - pd.Timestamp(opened)).days
