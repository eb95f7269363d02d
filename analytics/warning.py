"""预警 One early-warning list: customers where churn risk, overdue receivables, over-limit
exposure and falling prices for what they buy coincide, ranked by money at stake.

money_at_stake = overdue receivables + exposure above the limit + churn probability × the
12-month value. Each signal adds a reason; a customer needs at least one to be listed.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from ibis import _

from analytics import churn, credit
from analytics.warehouse import Tables

PRICE_WINDOW_DAYS = 30
PRICE_FALL = -0.03          # what they buy fell more than 3 % in 30 days
CHURN_HIGH = 0.5


def price_moves(tables: Tables, *, as_of: date) -> pd.Series:
    """Change of each product's spot price over the last PRICE_WINDOW_DAYS (fraction)."""
    if tables.market_prices is None:
        return pd.Series(dtype=float)
    mp = tables.market_prices
    if "market" in mp.columns:
        spot = mp.filter(mp.market != "shfe")
    else:
        spot = mp
    window = spot.filter((_.date <= as_of) & (_.date > as_of - timedelta(days=PRICE_WINDOW_DAYS
                                                                             + 10)))
    frame = window.group_by(["product", "date"]).aggregate(p=_.price_cny_per_t.mean()) \
        .to_pandas().sort_values("date")
    if frame.empty:
        return pd.Series(dtype=float)
    first = frame.groupby("product")["p"].first()
    last = frame.groupby("product")["p"].last()
    return (last / first - 1).rename("move")


def early_warning(tables: Tables, *, as_of: date, with_churn: bool = True,
                  churn_scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per customer with at least one signal: the signals, money_at_stake and
    reasons (codes with values, written out by the page), biggest stake first.

    ``churn_scores`` (customer_id, probability, value_12m, name) are a churn model's scores
    already made, e.g. on the unfiltered book; only the customers in ``tables`` are used.
    Without them the model is trained here on ``tables``."""
    exposure = credit.exposure(tables, as_of=as_of).set_index("customer_id") \
        if tables.invoices is not None else pd.DataFrame()
    out = pd.DataFrame(index=pd.Index([], name="customer_id"))
    if len(exposure):
        out = exposure[["name", "overdue_cny", "exposure_cny", "credit_limit_cny"]].copy()
        out["over_limit_cny"] = (exposure["exposure_cny"] - exposure["credit_limit_cny"]
                                 .fillna(0)).clip(lower=0).where(exposure["over_limit"], 0.0)
    if with_churn:
        if churn_scores is not None:
            scores = churn_scores.set_index("customer_id")
            if tables.customers is not None:
                visible = set(tables.customers.select("customer_id").to_pandas()["customer_id"])
                # a set: pandas' isin on Arrow strings took 0.3 s for 70,000 customers
                scores = scores[[c in visible for c in scores.index]]
        else:
            try:
                scores = churn.score(tables,
                                     as_of=as_of + timedelta(days=1)).customers.set_index(
                    "customer_id")
            except ValueError:  # not enough history to train
                scores = pd.DataFrame()
        if len(scores):
            out = out.join(scores[["probability", "value_12m"]], how="outer")
            if "name" in scores:
                out["name"] = out.get("name", pd.Series(dtype=object)).fillna(scores["name"])
    for col in ("overdue_cny", "over_limit_cny", "probability", "value_12m"):
        if col not in out:
            out[col] = 0.0
        out[col] = out[col].fillna(0.0)
    moves = price_moves(tables, as_of=as_of)
    orders = tables.get("orders")
    if len(moves) and "category" in orders.columns:
        mix = (orders.filter((_.order_date > as_of - timedelta(days=365))
                             & (_.order_date <= as_of))
               .group_by(["customer_id", "category"]).aggregate(s=_.amount_cny.sum())
               .to_pandas())
        mix["move"] = mix["category"].map(moves).astype(float)  # float with no rows too
        mix = mix.dropna(subset=["move"])
        weighted = (mix["move"] * mix["s"]).groupby(mix["customer_id"]).sum() / \
            mix.groupby("customer_id")["s"].sum()
        out = out.join(weighted.rename("price_move"), how="left")
    out["price_move"] = out.get("price_move", pd.Series(0.0, index=out.index)).fillna(0.0)
    out["money_at_stake_cny"] = out["overdue_cny"] + out["over_limit_cny"] + \
        out["probability"] * out["value_12m"].clip(lower=0)
    reasons: list[list[tuple[str, float]]] = []
    for p, overdue, over, move in zip(out["probability"].astype(float),
                                      out["overdue_cny"].astype(float),
                                      out["over_limit_cny"].astype(float),
                                      out["price_move"].astype(float), strict=True):
        r: list[tuple[str, float]] = []
        if p >= CHURN_HIGH:
            r.append(("churn", p))
        if overdue > 0:
            r.append(("overdue", overdue))
        if over > 0:
            r.append(("over_limit", over))
        if move <= PRICE_FALL:
            r.append(("prices", move))
        reasons.append(r)
    out["reasons"] = pd.Series(reasons, index=out.index, dtype=object)
    out["signals"] = out["reasons"].map(len)
    out = out[out["signals"] > 0].reset_index()
    return out.sort_values(["money_at_stake_cny", "customer_id"],
                           ascending=[False, True]).reset_index(drop=True)


def describe(reasons: list[tuple[str, float]], labels) -> str:  # type: ignore[no-untyped-def]
    texts = []
    for code, value in reasons:
        if code == "churn":
            texts.append(labels("warn_churn", pct=f"{value * 100:.0f}"))
        elif code in ("overdue", "over_limit"):
            texts.append(labels(f"warn_{code}", amount=labels.money(value)))
        else:
            texts.append(labels("warn_prices", pct=f"{value * 100:.1f}"))
    return ("；" if labels.lang == "zh" else "; ").join(texts)
