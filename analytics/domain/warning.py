"""预警 One early-warning list: customers where churn risk, overdue receivables, over-limit
exposure and falling prices for what they buy coincide, ranked by money at stake.

money_at_stake = overdue receivables + exposure above the limit + churn probability × the
12-month value. Each signal adds a reason; a customer needs at least one to be listed.

When no churn model can be trained (a short history), the status rules stand in for it: a
customer overdue against its own cycle, declining, or waiting for a second order is a signal,
with its whole 12-month value at stake. The list says which it used (``attrs["churn_basis"]``:
"model", "rules" or "none").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from ibis import _

from analytics.domain import churn, credit, inventory
from analytics.domain import followups as fu
from analytics.store.frames import member, present
from analytics.store.period import preset
from analytics.store.results import as_of_end, kept, stored_only
from analytics.store.warehouse import MissingData, Tables

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


@kept(as_of_end, rows=True)
def category_mix(tables: Tables, *, as_of: date) -> pd.DataFrame:
    """customer_id, category, s: each customer's revenue per product category in the 365 days
    to ``as_of`` (what a price move weighs on)."""
    orders = tables.get("orders")
    if "category" not in orders.columns:
        raise MissingData("orders", "category")
    mix = (orders.filter((_.order_date > as_of - timedelta(days=365)) & (_.order_date <= as_of))
           .group_by(["customer_id", "category"]).aggregate(s=_.amount_cny.sum()).to_pandas())
    # in a fixed order: the engine's grouping order changes from run to run
    return mix.sort_values(["customer_id", "category"], ignore_index=True)


def early_warning(tables: Tables, *, as_of: date, with_churn: bool = True,
                  churn_scores: pd.DataFrame | None = None, rules: bool = False
                  ) -> pd.DataFrame:
    """One row per customer with at least one signal: the signals, money_at_stake and
    reasons (codes with values, written out by the page), biggest stake first.

    ``churn_scores`` (customer_id, probability, value_12m, name) are a churn model's scores
    already made, e.g. on the unfiltered book; only the customers in ``tables`` are used.
    Without them the model is trained here on ``tables``; ``rules`` (or a history too short
    to train on) uses the status rules instead."""
    exposure = credit.exposure(tables, as_of=as_of).set_index("customer_id") \
        if tables.invoices is not None else pd.DataFrame()
    out = pd.DataFrame(index=pd.Index([], name="customer_id"))
    if len(exposure):
        out = exposure[["name", "overdue_cny", "exposure_cny", "credit_limit_cny"]].copy()
        out["over_limit_cny"] = (exposure["exposure_cny"] - exposure["credit_limit_cny"]
                                 .fillna(0)).clip(lower=0).where(exposure["over_limit"], 0.0)
    basis = "none"
    scores = pd.DataFrame()
    if with_churn and not rules:
        basis = "model"
        if churn_scores is not None:
            scores = churn_scores.set_index("customer_id")
            if tables.customers is not None:
                visible = tables.customers.select("customer_id").to_pandas()["customer_id"]
                # Arrow's hash lookup: pandas' isin (or a Python set) walked 70,000 Arrow
                # strings one by one, 0.3 s
                scores = scores[member(scores.index.to_series(), visible)]
        else:
            try:
                scores = churn.score(tables,
                                     as_of=as_of + timedelta(days=1)).customers.set_index(
                    "customer_id")
            except churn.NotEnoughHistory:
                basis = "rules"
    if with_churn and (rules or basis == "rules"):
        basis = "rules"
        scores = _rule_signals(tables, as_of)
        out = out.join(scores[["status_code", "status_value", "value_12m"]], how="outer")
        if "name" in scores:
            out["name"] = out.get("name", pd.Series(dtype=object)).fillna(scores["name"])
    elif len(scores):
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
        mix = category_mix(tables, as_of=as_of)
        mix["move"] = mix["category"].map(moves).astype(float)  # float with no rows too
        mix = mix.dropna(subset=["move"])
        weighted = (mix["move"] * mix["s"]).groupby(mix["customer_id"]).sum() / \
            mix.groupby("customer_id")["s"].sum()
        out = out.join(weighted.rename("price_move"), how="left")
    out["price_move"] = out.get("price_move", pd.Series(0.0, index=out.index)).fillna(0.0)
    if "status_code" not in out:
        out["status_code"] = None
        out["status_value"] = 0.0
    flagged = out["status_code"].notna()
    # the rules have no probability: a flagged customer's whole 12-month value is at stake
    weight = out["probability"].where(~flagged, 1.0)
    out["money_at_stake_cny"] = out["overdue_cny"] + out["over_limit_cny"] + \
        weight * out["value_12m"].clip(lower=0)
    reasons: list[list[tuple[str, float]]] = []
    numbers = (out[c].to_numpy(dtype=float).tolist() for c in (
        "probability", "status_value", "overdue_cny", "over_limit_cny", "price_move"))
    # Python floats (tolist), not numpy scalars: comparing those one by one was most of the
    # list's time (0.17 s for a province's 23,000 customers at 10 M lines)
    for code, (p, code_value, overdue, over, move) in zip(
            out["status_code"].tolist(), zip(*numbers, strict=True), strict=True):
        r: list[tuple[str, float]] = []
        if isinstance(code, str):
            r.append((f"status_{code}", code_value))
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
    out = out[out["signals"] > 0].reset_index().drop(columns=["status_code", "status_value"])
    # a file without names (a bare transactions log): the id is the name the user knows
    out["name"] = out["name"].fillna(out["customer_id"]) if "name" in out else out["customer_id"]
    out = out.sort_values(["money_at_stake_cny", "customer_id"],
                          ascending=[False, True]).reset_index(drop=True)
    out.attrs["churn_basis"] = basis
    return out


# What the kept list holds that is made of cost: a rep's list is computed on request instead
WARNING_PROFIT = ("money_at_stake_cny", "value_12m")


@kept(as_of_end, rows=True, profit=WARNING_PROFIT, late=True)
def book_warning(tables: Tables, *, as_of: date) -> pd.DataFrame:
    """``early_warning`` over the one churn model's scores (``churn.score_view`` with the
    first model, which every page shows), kept with each version: the list a manager's, a
    filter's or the executive's Overview and credit page read cut to their customers instead
    of narrowing the model's scores and building the list again (0.9 s of a province
    manager's first page at 10 M lines). Stored as data: ``reasons`` as JSON text (a list of
    (code, value) pairs is no Parquet column) and the basis as a column; ``kept_warning``
    gives the list back as ``early_warning`` makes it. On tables other than the whole book
    it would train a model of theirs: read it with ``kept_warning``."""
    try:
        scores = churn.score_view(tables, as_of=as_of, kind=churn.MODELS[0]).customers
    except churn.NotEnoughHistory:
        out = early_warning(tables, as_of=as_of, rules=True)
    else:
        out = early_warning(tables, as_of=as_of, churn_scores=scores[present(
            scores, ("customer_id", "name", "probability", "value_12m"))])
        if "revenue_12m" in scores:   # what a reader who sees no profit weighs instead
            revenue = scores.set_index("customer_id")["revenue_12m"]
            out["revenue_12m"] = out["customer_id"].map(revenue).astype(float).fillna(0.0)
    return out.assign(reasons=[json.dumps(r) for r in out["reasons"]],
                      churn_basis=out.attrs["churn_basis"])


def kept_warning(tables: Tables, *, as_of: date) -> pd.DataFrame | None:
    """``book_warning`` as kept with the version, narrowed to the customers of ``tables`` (a
    scope, a customer filter) and in ``early_warning``'s form; None when the version kept
    none for ``as_of`` or these tables cannot read it (a product filter, a reader who may not
    see profit and a list the status rules made)."""
    found = stored_only(book_warning, tables, as_of=as_of)
    if found is None or found.empty:
        return None   # (an empty list would not say whether the model or the rules made it)
    basis = str(found["churn_basis"].iloc[0])
    if not set(WARNING_PROFIT) <= set(found.columns):
        if basis != "model" or "revenue_12m" not in found:
            return None
        found = _revenue_at_stake(found)
    out = found.drop(columns=["churn_basis", *present(found, ("revenue_12m",))]).assign(
        reasons=pd.Series(
        [[(code, value) for code, value in json.loads(text)] for text in found["reasons"]],
        index=found.index, dtype=object))
    out.attrs["churn_basis"] = basis
    return out


def _revenue_at_stake(found: pd.DataFrame) -> pd.DataFrame:
    """The kept list as a reader who may not see profit has it made (``churn.scores_for``):
    the 12-month value is revenue, the money at stake and the order follow; the columns in
    ``early_warning``'s order."""
    value = found["revenue_12m"]
    stake = found["overdue_cny"] + found["over_limit_cny"] + \
        found["probability"] * value.clip(lower=0)
    columns = list(found.columns)
    columns.insert(columns.index("probability") + 1, "value_12m")
    columns.insert(columns.index("price_move") + 1, "money_at_stake_cny")
    out = found.assign(value_12m=value, money_at_stake_cny=stake)[columns]
    return out.sort_values(["money_at_stake_cny", "customer_id"],
                           ascending=[False, True]).reset_index(drop=True)


def _rule_signals(tables: Tables, as_of: date) -> pd.DataFrame:
    """The customers the status rules flag at ``as_of`` (overdue, declining, waiting for a
    second order), index customer_id: status_code, status_value (the wait over the own
    cycle, the last 90 days against a year ago, or the days since the one order),
    value_12m, name."""
    history = churn.load_history(tables)
    if history.days.empty:
        return pd.DataFrame(columns=["status_code", "status_value", "value_12m", "name"])
    status = churn.customer_status(history, as_of=as_of)
    flagged = status[status["status"].isin(churn.status.FOLLOW_UP)].set_index("customer_id")
    value = np.select(
        [flagged["status"] == "overdue", flagged["status"] == "declining"],
        [flagged["days_since"] / flagged["cycle_days"].where(flagged["cycle_days"] > 0),
         flagged["recent_volume"] / flagged["year_ago_volume"].where(
             flagged["year_ago_volume"] > 0)], flagged["days_since"].astype(float))
    out = pd.DataFrame({"status_code": flagged["status"], "status_value": value,
                        "value_12m": flagged["value_12m"]}, index=flagged.index)
    if "name" in flagged:
        out["name"] = flagged["name"]
    return out


@dataclass
class Digest:
    """What the daily early-warning digest says, as data (the words: delivery.digest_markdown):
    the at-risk list, the customers over their credit limit (largest exposure first), and the
    stock — products below safety stock, and for who sees profit the floating P/L of the book
    at market, its drawdown over the last 12 months and the products losing past the alert."""

    warnings: pd.DataFrame
    over_limit: pd.DataFrame
    below_safety: list[str] = field(default_factory=list)
    marked: dict[str, float] | None = None
    losing: list[str] = field(default_factory=list)
    overdue_followups: pd.DataFrame = field(default_factory=pd.DataFrame)


def digest(tables: Tables, *, as_of: date, sees_profit: bool,
           followups: pd.DataFrame | None = None, today: date | None = None) -> Digest:
    """The early-warning digest at ``as_of``; the stock parts only when the data holds
    inventory (and prices, for the marked-to-market part); with ``followups`` (the store's
    rows in the reader's scope) each person's overdue follow-ups on ``today``."""
    exposure = credit.exposure(tables, as_of=as_of)
    out = Digest(early_warning(tables, as_of=as_of),
                 exposure[exposure["over_limit"]].sort_values("exposure_cny", ascending=False))
    if followups is not None and len(followups):
        late = fu.with_lateness(followups, today=today or date.today())
        out.overdue_followups = late[late["overdue"]].sort_values(
            ["assignee", "days_late"], ascending=[True, False]).reset_index(drop=True)
    try:
        status = inventory.status(tables, as_of=as_of)
        out.below_safety = status.loc[status["stock_status"] == "below_safety",
                                      "product"].tolist()
        if sees_profit:
            book = inventory.mark_to_market(tables, as_of=as_of)
            total = inventory.mtm_total(book)
            # the last 12 months through preset: safe on 29 February, unlike replace(year=…)
            history = inventory.mtm_history(tables, period=preset("last_12_months", as_of=as_of))
            out.marked = {"floating_cny": float(total["floating_cny"]),
                          "floating_pct": float(total["floating_pct"]),
                          "drawdown_cny": float(history["drawdown_cny"].iloc[-1])
                          if len(history) else 0.0}
            out.losing = book.loc[book["alert"], "product"].tolist()
    except MissingData:
        pass
    return out
