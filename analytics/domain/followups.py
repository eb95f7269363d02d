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

import hashlib
import math
from collections.abc import Callable, Hashable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.domain import month_ends
from analytics.domain.churn.history import History, OrderDays, load_history, order_days
from analytics.store import derived
from analytics.store.followups import Store
from analytics.store.warehouse import Tables

WINDOWS = (30, 90, 180)      # days after the follow-up in which a new order counts
HEADLINE_WINDOW = 90         # the one a page states in words
MIN_FOLLOWED = 30            # fewer follow-ups than this: too few to conclude anything
Z95 = 1.96
EFFECT_BY = ("action", "assignee")
# what the comparison reads of a follow-up (with its id and date): whom, how, by whom
JUDGED = ("customer_id", "action", "assignee")
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
    out = month_ends.strata(month_ends.parts(history, [as_of]))
    return out[["customer_id", "status", "tier", "past_cycle"]]


# month ends judged together: the arrays of one pass grow with the customers of its months
# (a dozen of 70,000 customers' months: about 100 MB at the peak instead of 600 MB for 84)
MONTHS_AT_ONCE = 12
PartsOf = Callable[[list[date]], pd.DataFrame]


def matched(history: History | OrderDays, followups: pd.DataFrame, *,
            windows: tuple[int, ...] = WINDOWS, parts: PartsOf | None = None) -> pd.DataFrame:
    """One row per customer's first follow-up in a month (with the data to judge it): its
    action and assignee, its stratum, and for each window ``ordered_W`` (1/0, NaN when the
    window ends after the data) and ``comparable_W`` (the share of the same stratum's
    customers not followed up that month who ordered within W days of the same date) with
    ``comparable_n`` (how many such customers). ``parts`` gives the month-end parts of the
    history's customers at the month ends asked, coded (month_ends.parts_for reads those kept
    with the version); computed from the history when None.

    A dozen months at once: the strata of their month ends, and each comparable customer's
    days of the month on which it would count as ordering within W days, added up per
    stratum as intervals (an order on day o after one on day p covers the follow-up days from
    max(p, o − W) to o − 1) instead of one look-up per customer and day."""
    cols = ["customer_id", "action", "assignee", "date", "status", "tier", "past_cycle",
            "comparable_n",
            *(f"ordered_{w}" for w in windows), *(f"comparable_{w}" for w in windows)]
    g = history.groups()
    if followups.empty or not len(g.day):
        return pd.DataFrame(columns=cols)
    code = _codes(followups["customer_id"], g.ids)
    fu = followups.loc[code >= 0, ["id", "customer_id", "action", "assignee", "created_at"]] \
        .assign(code=code[code >= 0])
    if fu.empty:
        return pd.DataFrame(columns=cols)
    fu["date"] = pd.to_datetime(fu["created_at"], errors="coerce").dt.normalize()
    fu = fu[fu["date"].notna()]   # a date the store could not read cannot be judged
    if fu.empty:
        return pd.DataFrame(columns=cols)
    fu["on"] = fu["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    # the day before the month began: when the strata are judged
    fu["as_of"] = fu["date"].dt.to_period("M").dt.start_time.to_numpy() \
        .astype("datetime64[D]").astype(np.int64) - 1
    fu = fu.sort_values(["as_of", "date", "id"], kind="mergesort")
    days = np.unique(fu["as_of"].to_numpy())
    read = parts or _computed_parts(history)
    out = []
    for chunk in np.array_split(days, -(-len(days) // MONTHS_AT_ONCE)):
        some = fu[np.isin(fu["as_of"].to_numpy(), chunk)]
        found = read([month_ends.day_date(d) for d in chunk])
        if len(found) and not (on := np.isin(found["day"].to_numpy(dtype=np.int64),
                                             chunk)).all():
            found = found[on]
        if len(found):
            out.append(_matched_months(history, some, chunk, found, windows))
    out = [t for t in out if len(t)]
    if not out:
        return pd.DataFrame(columns=cols)
    return pd.concat(out, ignore_index=True)[cols]


def _computed_parts(history: History | OrderDays) -> PartsOf:
    """The month-end parts computed from ``history``: its whole one (order days alone cannot
    judge a customer's standing)."""
    if not isinstance(history, History):
        raise TypeError("the month-end parts of order days alone: pass parts")
    return lambda asked: month_ends.coded(history, asked)


def _matched_months(history: History | OrderDays, fu: pd.DataFrame, days: np.ndarray,
                    parts: pd.DataFrame, windows: tuple[int, ...]) -> pd.DataFrame:
    """``matched`` for the follow-ups ``fu`` (sorted, coded, with their month ends in
    ``days``) from the coded ``parts`` at those month ends."""
    g = history.groups()
    n, n_days = len(g.ids), len(days)
    s_code = parts["code"].to_numpy(dtype=np.int64)
    stratum = month_ends.strata_codes(parts, s_code)
    s_day = np.searchsorted(days, parts["day"].to_numpy(dtype=np.int64))
    s_at = np.full(n_days * n, -1, dtype=np.int64)
    s_at[s_day * n + s_code] = np.arange(len(s_code))
    first = fu.drop_duplicates(["as_of", "customer_id"])
    t_day = np.searchsorted(days, first["as_of"].to_numpy(dtype=np.int64))
    t_row = s_at[t_day * n + first["code"].to_numpy(dtype=np.int64)]
    del s_at
    t = first[t_row >= 0].copy()
    t_day, t_row = t_day[t_row >= 0], t_row[t_row >= 0]
    if t.empty:
        return t
    t_stratum = stratum[t_row]
    for name, values in month_ends.named(t_stratum).items():
        t[name] = values
    # each month's comparison groups: its strata less everyone followed up in it
    followed = np.zeros(n_days * n, dtype=bool)
    followed[np.searchsorted(days, fu["as_of"].to_numpy()) * n + fu["code"].to_numpy()] = True
    in_pool = ~followed[s_day * n + s_code]
    raw = s_day * month_ends.STRATA + stratum
    t_raw = t_day * month_ends.STRATA + t_stratum
    size_all = np.bincount(raw[in_pool], minlength=n_days * month_ends.STRATA).astype(float)
    t["comparable_n"] = size_all[t_raw]
    # only the groups a follow-up is compared with: their customers' order days are read
    asked = np.zeros(n_days * month_ends.STRATA, dtype=bool)
    asked[t_raw] = True
    pool = in_pool & asked[raw]
    # the groups asked (sorted) and each pool row's among them: np.unique's sort, by counting
    present = np.zeros(n_days * month_ends.STRATA, dtype=bool)
    present[raw[pool]] = True
    cells = np.flatnonzero(present)
    cell = (np.cumsum(present) - 1)[raw[pool]]
    del present
    t_cell = np.searchsorted(cells, t_raw)
    t_has = (t_cell < len(cells)) & (cells[np.minimum(t_cell, len(cells) - 1)] == t_raw)
    size = size_all[cells]
    pool_codes = s_code[pool]
    first_days = days + 1
    last_days = (pd.to_datetime(first_days, unit="D").to_period("M").to_timestamp(how="end")
                 .to_numpy().astype("datetime64[D]").astype(np.int64))
    month_start, month_end = first_days[s_day[pool]], last_days[s_day[pool]]
    end = np.datetime64(history.end, "D").astype(np.int64)
    on = t["on"].to_numpy(dtype=np.int64)
    gap_t = _next_order_after(history, t["code"].to_numpy(dtype=np.int64), on)
    t_offset = on - (t["as_of"].to_numpy(dtype=np.int64) + 1)
    # each comparable customer's orders that are the next order of some day of its month:
    # those after the month's first day, up to the first one after its last day
    keys, span = g.keyed()   # a month's last day is well within the span
    starts = pool_codes * span + month_start
    order = np.argsort(starts)   # the ends sort the same way: one month per row
    lo = _search(keys, starts, order)
    hi = _search(keys, pool_codes * span + month_end, order)
    del starts, order
    mine = (hi < len(keys)) & (g.code[np.minimum(hi, len(keys) - 1)] == pool_codes)
    count = np.maximum(np.where(mine, hi, hi - 1) - lo + 1, 0)
    owner = np.repeat(np.arange(len(pool_codes)), count)
    row = np.repeat(lo - np.cumsum(np.r_[0, count[:-1]]), count) + np.arange(int(count.sum()))
    o, p = g.day[row], g.prev[row]
    a0, a1 = month_start[owner], month_end[owner]
    width = 33   # a month's days, and one past the last
    for w in windows:
        first_day = np.maximum(np.maximum(p, o - w), a0)
        last_day = np.minimum(o - 1, a1)
        ok = first_day <= last_day
        # +1 where the covered days start, −1 after they end, per group and day of the month
        at = cell[owner[ok]] * width
        steps = (np.bincount(at + (first_day - a0)[ok], minlength=len(cells) * width)
                 - np.bincount(at + (last_day - a0 + 1)[ok], minlength=len(cells) * width))
        share = np.cumsum(steps.reshape(len(cells), width), axis=1) \
            / np.maximum(size, 1)[:, None]
        judged = on + w <= end
        t[f"ordered_{w}"] = np.where(judged, (gap_t <= w).astype(float), np.nan)
        t[f"comparable_{w}"] = np.where(
            judged & t_has,
            share[np.minimum(t_cell, max(len(cells) - 1, 0)), t_offset] if len(cells)
            else np.nan, np.nan)
    return t


def _codes(ids: pd.Series, book: np.ndarray) -> np.ndarray:
    """Each id's position in ``book`` (the history's sorted ids), −1 where it is not there:
    Arrow's hash look-up (pandas' indexer took 0.7 s for 5.8 million ids)."""
    found = pc.index_in(pa.array(ids, type=pa.string()),
                        value_set=pa.array(book, type=pa.string()))
    return np.asarray(found.fill_null(-1), dtype=np.int64)



def _search(keys: np.ndarray, needles: np.ndarray, order: np.ndarray | None = None
            ) -> np.ndarray:
    """``np.searchsorted(keys, needles, side="right")``, the needles looked up in sorted
    ``order`` (their argsort, computed when None): numpy starts each search where the last
    ended, 4× faster for half a million needles in 3 million keys."""
    order = np.argsort(needles) if order is None else order
    out = np.empty(len(needles), dtype=np.intp)
    out[order] = np.searchsorted(keys, needles[order], side="right")
    return out


def _next_order_after(history: History | OrderDays, codes: np.ndarray, day: np.ndarray | int
                      ) -> np.ndarray:
    """Days from ``day`` to each customer code's first order day after it (inf if none)."""
    keys, span = history.groups().keyed()
    asked = codes.astype(np.int64) * span + day
    pos = _search(keys, asked)
    pos_ok = pos < len(keys)
    found = np.where(pos_ok, keys[np.minimum(pos, len(keys) - 1)], -1)
    same = pos_ok & (found // span == codes)
    return np.where(same, (found % span) - (asked % span), np.inf)


def effect(rows: pd.DataFrame, *, by: str | None = None,
           windows: tuple[int, ...] = WINDOWS) -> pd.DataFrame:
    """The comparison per window (and per ``by``: action or assignee): followed (count),
    followed_pct (the share of them that ordered again, in percent), comparable_pct (the
    comparable customers' share, averaged over the follow-ups), comparable (customers each
    follow-up is compared with, on average), difference_pts with a 95 % interval (low_pts,
    high_pts) and conclusion (better, worse, unclear, too_few).

    The interval's comparable part: the follow-ups of one month and stratum share one
    comparison group, so each such group counts once, weighted by its follow-ups:
    (1/n²) Σ n_k² p_k (1 − p_k) / m_k, with p_k pulled half a customer towards ½ so that a
    small group that all ordered (or none) is not taken as certain. Every key at once (a
    loop per assignee took half a second for a hundred reps)."""
    if by is None:
        k, keys = np.zeros(len(rows), dtype=np.int64), ["all"]
    else:
        k, names = pd.factorize(rows[by], sort=True)   # a key that is missing: −1, left out
        keys = list(names)
    if len(rows):
        dated = pd.to_datetime(rows["date"])
        month = (dated.dt.year * 12 + dated.dt.month).to_numpy(dtype=np.int64)
        # one integer per month, stratum and key, from the codes of each (−1 where missing)
        parts = [pd.factorize(rows[col])[0] for col in ("status", "tier", "past_cycle")]
        cell = k.astype(np.int64)
        for codes, size in [(month - month.min(), int(np.ptp(month)) + 1),
                            *((p, int(p.max()) + 1) for p in parts)]:
            cell = cell * max(size, 1) + codes
        whole = (k >= 0) & np.all([p >= 0 for p in parts], axis=0)
        n_c_all = rows["comparable_n"].to_numpy(dtype=float)
    per_window: dict[int, dict[Hashable, dict[Hashable, Any]]] = {}
    for w in windows:
        o_all = rows[f"ordered_{w}"].to_numpy(dtype=float) if len(rows) else np.empty(0)
        c_all = rows[f"comparable_{w}"].to_numpy(dtype=float) if len(rows) else np.empty(0)
        seen = ~np.isnan(o_all) & ~np.isnan(c_all) & (k >= 0)
        if not seen.any():   # nothing judged
            per_window[w] = {}
            continue
        ks, o, c, n_c = k[seen], o_all[seen], c_all[seen], n_c_all[seen]
        k_n = np.bincount(ks, minlength=len(keys)).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            k_pt = np.bincount(ks, weights=o, minlength=len(keys)) / k_n
            k_pc = np.bincount(ks, weights=c, minlength=len(keys)) / k_n
            k_nc = np.bincount(ks, weights=n_c, minlength=len(keys)) / k_n
        # each comparison group (month and stratum, per key) once, weighted by its follow-ups
        grouped = seen & whole
        _, first, inv = np.unique(cell[grouped], return_index=True, return_inverse=True)
        g_n = np.bincount(inv).astype(float)
        g_m = np.maximum(n_c_all[grouped][first], 1)
        g_p = np.bincount(inv, weights=c_all[grouped]) / g_n
        g_p = (g_p * g_m + 0.5) / (g_m + 1)
        term = np.bincount(k[grouped][first], weights=g_n ** 2 * g_p * (1 - g_p) / g_m,
                           minlength=len(keys))
        per_window[w] = {keys[i]: {"n": k_n[i], "p_t": k_pt[i], "p_c": k_pc[i],
                                   "n_c": k_nc[i], "var_c": term[i] / k_n[i] ** 2}
                         for i in np.flatnonzero(k_n)}
    out = []
    for name in keys:
        for w in windows:
            row = per_window[w].get(name, {})
            n = int(row.get("n", 0))
            p_t = float(row.get("p_t", math.nan))
            p_c = float(row.get("p_c", math.nan))
            n_c = float(row.get("n_c", 0.0))
            diff = (p_t - p_c) * 100 if n else math.nan
            se = 100 * math.sqrt(p_t * (1 - p_t) / n + float(row["var_c"])) if n else math.nan
            low, high = diff - Z95 * se, diff + Z95 * se
            if n < MIN_FOLLOWED:
                verdict = "too_few"
            elif low > 0:
                verdict = "better"
            elif high < 0:
                verdict = "worse"
            else:
                verdict = "unclear"
            out.append({**({by: name} if by else {}), "window_days": w, "followed": n,
                        "followed_pct": p_t * 100, "comparable_pct": p_c * 100,
                        "comparable": int(n_c), "difference_pts": diff, "low_pts": low,
                        "high_pts": high, "conclusion": verdict})
    return pd.DataFrame(out)


def judged_mark(followups: pd.DataFrame, *, end: date,
                windows: tuple[int, ...] = WINDOWS) -> str:
    """A digest of what "did it work?" reads of the follow-ups: who was followed up, when,
    how and by whom, for those that can count by ``end`` (the data's last order). One dated
    later changes nothing there: its windows end after the data, and the comparison group of
    its month serves only follow-ups whose windows do too (one judged in the same month is
    dated at least the shortest window before the end, and a month spans 31 days at most: with
    windows of 30 days and more, anything after the end). So the page keeps its result while
    reps add today's follow-ups."""
    if followups.empty:
        return "0"
    dated = pd.to_datetime(followups["created_at"], errors="coerce").dt.normalize()
    last = pd.Timestamp(end) + pd.Timedelta(days=max(0, 30 - min(windows)))
    asked = followups.loc[dated <= last,
                          ["id", "customer_id", "created_at", "action", "assignee"]]
    hashed = pd.util.hash_pandas_object(asked, index=False).to_numpy()
    return f"{len(asked)}:{hashlib.blake2b(np.sort(hashed).tobytes()).hexdigest()[:20]}"


def effect_rows(tables: Tables, *, store: str, mark: str) -> pd.DataFrame:
    """``matched`` for the follow-ups in the store at ``store`` whose customers are in
    ``tables`` (a scope and filters narrow them with the tables), from the month-end parts
    kept with the version where there are some; ``mark`` is the store's change mark, there
    only so that a cached result is renewed when a follow-up is written."""
    del mark
    return matched_in(tables, Store(Path(store)).frame(columns=JUDGED))


def effect_tables(tables: Tables, *, store: str, mark: str
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """What the page shows of "did it work?" (``effect``): overall, by action and by
    assignee; one call for a page to cache (the three took a second on 200,000 follow-ups)."""
    rows = effect_rows(tables, store=store, mark=mark)
    return effect(rows), effect(rows, by="action"), effect(rows, by="assignee")


def matched_in(tables: Tables, followups: pd.DataFrame) -> pd.DataFrame:
    """``matched`` for ``followups`` over the customers of ``tables``, the strata finished
    from the month-end parts kept with the version where it has them (read a dozen month ends
    at a time, as ``matched`` asks: all 84 at once held 300 MB more at ten million lines)."""
    full: list[History] = []

    def history() -> History:   # the whole history, read only if some month end is not kept
        if not full:
            full.append(load_history(tables))
        return full[0]

    light = order_days(tables) if derived.table(tables, month_ends.TABLE) is not None else None
    days = light if light is not None else history()
    return matched(days, followups, parts=lambda asked: month_ends.parts_for(
        tables, days, asked, computed=history if light is not None else None))


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
