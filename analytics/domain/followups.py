"""跟进 Follow-ups as numbers: what is open and late, and whether following up worked.

"Did it work?" compares customers followed up with comparable customers who were not:
the same status under the method's churn rules (overdue against their own cycle, declining,
waiting for a second order, active …) and the same pyramid tier, both judged on the day
before the month of the follow-up began, from the order lines alone. The share of each group
that ordered again within 30 / 90 / 180 days of the follow-up's date is compared; the
comparable customers are measured from the same date as the follow-up they stand beside, so
both groups face the same season and the same market. Windows that end after the data are
left out (their outcome is not known yet).

This is a matched comparison, not an experiment: reps choose whom to follow up, and what
made them choose a customer may also make it order. ``conclusion`` says only what the numbers
allow (a 95 % interval that leaves out zero, at least ``MIN_FOLLOWED`` follow-ups).
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.domain.churn.history import History, load_history
from analytics.domain.churn.status import customer_status
from analytics.domain.customers import TIERS, tier_cutoffs
from analytics.store.followups import Store
from analytics.store.warehouse import Tables

WINDOWS = (30, 90, 180)      # days after the follow-up in which a new order counts
HEADLINE_WINDOW = 90         # the one a page states in words
MIN_FOLLOWED = 30            # fewer follow-ups than this: too few to conclude anything
Z95 = 1.96
NO_TIER = "none"             # no order in the 12 months before: not in the pyramid
# days since the last order over the customer's own cycle, in bands (the matching's third part)
PAST_CYCLE = (-np.inf, 1.0, 2.0, 3.0, 5.0, np.inf)
PAST_CYCLE_NAMES = ("within", "1-2", "2-3", "3-5", "over_5")
EFFECT_BY = ("action", "assignee")
CONCLUSIONS = ("better", "worse", "unclear", "too_few")


def with_lateness(followups: pd.DataFrame, *, today: date) -> pd.DataFrame:
    """The follow-ups with ``overdue`` (open and due before ``today``) and ``days_late``."""
    out = followups.copy()
    due = pd.to_datetime(out["due"])
    late = (pd.Timestamp(today) - due).dt.days
    out["overdue"] = (out["status"] == "open") & (late > 0)
    out["days_late"] = late.where(out["overdue"], 0).fillna(0).astype(int)
    return out


def work_list(followups: pd.DataFrame, *, today: date, mine: tuple[str, ...]
              ) -> pd.DataFrame:
    """The open follow-ups to work, in the order a rep works them: their own first (``mine``:
    the names they are assigned under), then overdue first, then by due date."""
    out = with_lateness(followups[followups["status"] == "open"], today=today)
    out["mine"] = out["assignee"].isin(mine)
    return out.sort_values(["mine", "overdue", "due", "id"],
                           ascending=[False, False, True, True]).reset_index(drop=True)


def open_by_rep(followups: pd.DataFrame, *, today: date) -> pd.DataFrame:
    """Per assignee: open follow-ups and how many of them are overdue (most overdue first)."""
    open_ = with_lateness(followups[followups["status"] == "open"], today=today)
    if open_.empty:
        return pd.DataFrame(columns=["assignee", "open_followups", "overdue_followups"])
    out = open_.groupby("assignee").agg(open_followups=("id", "size"),
                                        overdue_followups=("overdue", "sum"))
    return out.reset_index().astype({"overdue_followups": int}).sort_values(
        ["overdue_followups", "open_followups", "assignee"],
        ascending=[False, False, True]).reset_index(drop=True)


def outcomes(followups: pd.DataFrame, *, start: date, end: date) -> pd.DataFrame:
    """Follow-ups done between ``start`` and ``end`` by outcome (most common first)."""
    done = followups[(followups["status"] == "done")
                     & (followups["done_at"].dt.date >= start)
                     & (followups["done_at"].dt.date <= end)]
    out = done.groupby("outcome").size().rename("followups").reset_index()
    return out.sort_values(["followups", "outcome"], ascending=[False, True],
                           ignore_index=True)


# -- did it work? ------------------------------------------------------------------------------
def strata(history: History, *, as_of: date) -> pd.DataFrame:
    """Every customer with an order by ``as_of``: its status under the churn rules, its
    pyramid tier by value over the 365 days to ``as_of`` (``none`` without such orders) and
    how many of its own cycles it is past (``past_cycle``; ``one_order`` without a cycle)."""
    status = customer_status(history, as_of=as_of)
    if status.empty:
        return pd.DataFrame(columns=["customer_id", "status", "tier"])
    g = history.groups()
    d = np.datetime64(as_of, "D").astype(np.int64)
    value = g.total(g.value, (g.day > d - 365) & (g.day <= d))
    bought = g.total(np.ones(len(g.day)), (g.day > d - 365) & (g.day <= d)) > 0
    ranked = pd.DataFrame({"customer_id": g.ids, "value": value})[bought]
    ranked = ranked.assign(key=ranked["value"].round(2)).sort_values(
        ["key", "customer_id"], ascending=[False, True], kind="mergesort")
    cuts = np.array(tier_cutoffs(len(ranked)))
    ranked["tier"] = np.asarray(TIERS)[np.searchsorted(cuts, np.arange(1, len(ranked) + 1))]
    out = status[["customer_id", "status", "days_since", "cycle_days"]].merge(
        ranked[["customer_id", "tier"]], on="customer_id", how="left")
    out["tier"] = out["tier"].fillna(NO_TIER)
    # how far past its own cycle: two customers both "overdue", one at 2.1 and one at 6
    # cycles, are not at the same risk
    ratio = out["days_since"] / out["cycle_days"].where(out["cycle_days"] > 0)
    out["past_cycle"] = pd.cut(ratio, PAST_CYCLE, labels=PAST_CYCLE_NAMES).astype(object) \
        .where(ratio.notna(), "one_order")
    return out[["customer_id", "status", "tier", "past_cycle"]]


def _next_order_after(history: History, codes: np.ndarray, day: np.ndarray | int
                      ) -> np.ndarray:
    """Days from ``day`` to each customer code's first order day after it (inf if none)."""
    g = history.groups()
    span = int(g.day.max()) + 100_000 if len(g.day) else 1
    keys = g.code.astype(np.int64) * span + g.day
    asked = codes.astype(np.int64) * span + day
    pos = np.searchsorted(keys, asked, side="right")
    pos_ok = pos < len(keys)
    found = np.where(pos_ok, keys[np.minimum(pos, len(keys) - 1)], -1)
    same = pos_ok & (found // span == codes)
    return np.where(same, (found % span) - (asked % span), np.inf)


def matched(history: History, followups: pd.DataFrame, *, windows: tuple[int, ...] = WINDOWS
            ) -> pd.DataFrame:
    """One row per customer's first follow-up in a month (with the data to judge it): its
    action and assignee, its stratum, and for each window ``ordered_W`` (1/0, NaN when the
    window ends after the data) and ``comparable_W`` (the share of the same stratum's
    customers not followed up that month who ordered within W days of the same date) with
    ``comparable_n`` (how many such customers)."""
    cols = ["customer_id", "action", "assignee", "date", "status", "tier", "past_cycle",
            "comparable_n",
            *(f"ordered_{w}" for w in windows), *(f"comparable_{w}" for w in windows)]
    g = history.groups()
    if followups.empty or not len(g.day):
        return pd.DataFrame(columns=cols)
    code_of = pd.Series(np.arange(len(g.ids)), index=pd.Index(g.ids))
    fu = followups.loc[followups["customer_id"].isin(code_of.index),
                       ["id", "customer_id", "action", "assignee", "created_at"]].copy()
    fu["date"] = pd.to_datetime(fu["created_at"]).dt.normalize()
    fu["month"] = fu["date"].dt.to_period("M")
    end = np.datetime64(history.end, "D").astype(np.int64)
    rows: list[pd.DataFrame] = []
    for month, in_month in fu.groupby("month"):
        first = in_month.sort_values(["date", "id"]).drop_duplicates("customer_id")
        as_of = pd.Period(str(month), freq="M").start_time.date() - timedelta(days=1)
        s = strata(history, as_of=as_of)
        if s.empty:
            continue
        s["code"] = code_of.reindex(s["customer_id"]).to_numpy()
        s["stratum"] = s["status"] + "|" + s["tier"] + "|" + s["past_cycle"]
        pool = s[~s["customer_id"].isin(set(in_month["customer_id"]))]
        t = first.merge(s[["customer_id", "status", "tier", "past_cycle", "stratum", "code"]],
                        on="customer_id", how="inner")
        if t.empty:
            continue
        t["comparable_n"] = t["stratum"].map(pool["stratum"].value_counts()).fillna(0)
        days = t["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
        gap_t = _next_order_after(history, t["code"].to_numpy(), days)
        # every comparable customer against every follow-up day of the month at once: the
        # share per stratum and day, then each follow-up reads its own
        group, names = pd.factorize(pool["stratum"])
        on_days = np.unique(days)
        pool_codes = pool["code"].to_numpy()
        gap_c = _next_order_after(history, np.repeat(pool_codes, len(on_days)),
                                  np.tile(on_days, len(pool_codes))).reshape(len(pool_codes),
                                                                             len(on_days))
        size = np.bincount(group, minlength=len(names)).astype(float)
        t_group = pd.Index(names).get_indexer(t["stratum"])
        t_day = np.searchsorted(on_days, days)
        for w in windows:
            ordered = np.zeros((len(names), len(on_days)))
            np.add.at(ordered, group, (gap_c <= w).astype(float))
            share = ordered / np.maximum(size, 1)[:, None]
            judged = days + w <= end
            t[f"ordered_{w}"] = np.where(judged, (gap_t <= w).astype(float), np.nan)
            t[f"comparable_{w}"] = np.where(judged & (t_group >= 0),
                                            share[np.maximum(t_group, 0), t_day], np.nan)
        rows.append(t)
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.concat(rows, ignore_index=True)[cols]


def _comparable_variance(seen: pd.DataFrame, w: int) -> float:
    """Variance of the comparable share averaged over the follow-ups. The follow-ups of one
    month and stratum share one comparison group, so each such group counts once, weighted by
    its follow-ups: (1/n²) Σ n_k² p_k (1 − p_k) / m_k, with p_k pulled half a customer towards
    ½ so that a small group that all ordered (or none) is not taken as certain."""
    key = seen["date"].dt.to_period("M").astype(str) + "|" + seen["status"] + "|" \
        + seen["tier"] + "|" + seen["past_cycle"]
    k = seen.groupby(key).agg(n=("comparable_n", "size"), m=("comparable_n", "first"),
                              p=(f"comparable_{w}", "mean"))
    m = k["m"].clip(lower=1)
    p = (k["p"] * m + 0.5) / (m + 1)
    return float((k["n"] ** 2 * p * (1 - p) / m).sum() / len(seen) ** 2)


def effect(rows: pd.DataFrame, *, by: str | None = None,
           windows: tuple[int, ...] = WINDOWS) -> pd.DataFrame:
    """The comparison per window (and per ``by``: action or assignee): followed (count),
    followed_pct (the share of them that ordered again, in percent), comparable_pct (the
    comparable customers' share, averaged over the follow-ups), comparable (customers each
    follow-up is compared with, on average), difference_pts with a 95 % interval (low_pts,
    high_pts) and conclusion (better, worse, unclear, too_few)."""
    groups = [("all", rows)] if by is None else list(rows.groupby(by))
    out = []
    for key, part in groups:
        for w in windows:
            seen = part.dropna(subset=[f"ordered_{w}", f"comparable_{w}"])
            n = len(seen)
            p_t = float(seen[f"ordered_{w}"].mean()) if n else math.nan
            p_c = float(seen[f"comparable_{w}"].mean()) if n else math.nan
            n_c = float(seen["comparable_n"].mean()) if n else 0.0
            diff = (p_t - p_c) * 100 if n else math.nan
            se = 100 * math.sqrt(p_t * (1 - p_t) / n + _comparable_variance(seen, w)) \
                if n else math.nan
            low, high = diff - Z95 * se, diff + Z95 * se
            if n < MIN_FOLLOWED:
                verdict = "too_few"
            elif low > 0:
                verdict = "better"
            elif high < 0:
                verdict = "worse"
            else:
                verdict = "unclear"
            out.append({**({by: key} if by else {}), "window_days": w, "followed": n,
                        "followed_pct": p_t * 100, "comparable_pct": p_c * 100,
                        "comparable": int(n_c), "difference_pts": diff, "low_pts": low,
                        "high_pts": high, "conclusion": verdict})
    return pd.DataFrame(out)


def effect_rows(tables: Tables, *, store: str, mark: str) -> pd.DataFrame:
    """``matched`` for the follow-ups in the store at ``store`` whose customers are in
    ``tables`` (a scope and filters narrow them with the tables); ``mark`` is the store's
    change mark, there only so that a cached result is renewed when a follow-up is written."""
    del mark
    return matched(load_history(tables), Store(Path(store)).frame())


# what a rep on a phone needs first comes first: who, by when, how late, what
SHOWN = ("customer_name", "due", "days_late", "fu_action", "note", "reason", "assignee",
         "created_at", "id")
SHOWN_DONE = ("id", "customer_name", "fu_action", "assignee", "created_at", "done_at",
              "outcome", "outcome_note")


def shown(followups: pd.DataFrame, columns: tuple[str, ...] = SHOWN) -> pd.DataFrame:
    """The columns a follow-up list shows, the action under the name its words are kept by
    (``fu_action``: the warehouse's versions have an action of their own)."""
    out = followups.rename(columns={"action": "fu_action"})
    out = out.assign(created_at=out["created_at"].dt.date) if "created_at" in out else out
    if "done_at" in out:
        out = out.assign(done_at=out["done_at"].dt.date)
    return out[[c for c in columns if c in out]]
