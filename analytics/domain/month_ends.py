"""Every customer's standing at every month end: the strata "did following up work?" matches on.

The follow-up comparison (analytics.domain.followups) judges each follow-up against customers
in the same stratum (status under the churn rules, pyramid tier, how far past its own cycle) on
the day before the follow-up's month began. A book with follow-ups in every month of seven
years asks for 84 month ends; judged one at a time from the purchase days that took 22 s at
10 M order lines. The parts of a stratum that come from a customer's own history alone are the
same for every scope, so each write keeps them for every month end of the book in a summary
table (``summary_month_ends``), narrowed by customer like the other summaries; a scope finishes
its strata from its own rows (the one-time buyer's "new" against the scope's median cycle, the
tier by rank within the scope), vectorised over a dozen month ends at a time.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import date, timedelta

import duckdb
import ibis
import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.domain.churn.history import History, OrderDays, load_history
from analytics.domain.churn.status import DEFAULT_RULES, STATUSES, day_number, finish, judge_own
from analytics.domain.customers import TIERS, tier_cutoffs
from analytics.store import derived
from analytics.store.warehouse import SUMMARY_TABLES, Tables, tables_from

TABLE = SUMMARY_TABLES[2]
NO_TIER = "none"             # no order in the 365 days before: not in the pyramid
TIER_NAMES = (*TIERS, NO_TIER)
# days since the last order over the customer's own cycle, in bands (right-closed, as pd.cut)
PAST_CYCLE = (-np.inf, 1.0, 2.0, 3.0, 5.0, np.inf)
PAST_CYCLE_NAMES = ("within", "1-2", "2-3", "3-5", "over_5", "one_order")
# a stratum as one integer: status × tier × band
STRATA = len(STATUSES) * len(TIER_NAMES) * len(PAST_CYCLE_NAMES)
# the parts kept per customer and month end; gross profit only where the book has costs (a rep,
# who may not see it, reads the table without it and ranks by revenue, as from raw rows)
COLUMNS = ("customer_id", "day", "own_status", "one_time", "gone", "days_since", "cycle_days",
           "revenue_365", "gross_profit_365")
# the same coded for one scope: its customers as codes into its history's ids, one value
CODED = ("code", *COLUMNS[1:7], "value")


def book_month_ends(history: History) -> list[date]:
    """Every month end from the first order's month to the last order's: the day before each
    month a follow-up in the book's time can fall in (and the one after)."""
    if history.days.empty:
        return []
    first = history.days["date"].min().to_period("M")
    last = pd.Period(history.end, freq="M")
    return [m.to_timestamp(how="end").date() for m in pd.period_range(first, last, freq="M")]


def parts(history: History, days: Iterable[date]) -> pd.DataFrame:
    """Per month end in ``days`` (with orders by then) and customer with an order by it: the
    churn rules applied to its own history (status.PARTS' own part) and its revenue and gross
    profit over the 365 days to it, in day and customer order. Only the default rules: the
    strata are judged by them."""
    coded = _parts(history, days, both=True)
    g = history.groups()
    out = coded.drop(columns="code")
    out.insert(0, "customer_id", g.ids[coded["code"].to_numpy()])
    return out[[c for c in COLUMNS if c in out]]


def coded(history: History, days: Iterable[date]) -> pd.DataFrame:
    """``parts`` as one scope reads them (``CODED``), computed from its history."""
    return _parts(history, days, both=False)


def _parts(history: History, days: Iterable[date], *, both: bool) -> pd.DataFrame:
    """``parts`` with the customers as codes into the history's ids (``code``); the value
    to rank by as ``value`` (gross profit where the history has costs, else revenue), or
    with ``both`` the revenue and gross profit columns ``parts`` names."""
    g = history.groups()
    frames = []
    for day in dict.fromkeys(days):
        d = day_number(pd.Timestamp(day))
        by_then = g.day <= d
        if not by_then.any():
            continue
        own = judge_own(g, pd.Timestamp(day), DEFAULT_RULES)
        # the customers with an order by the day, ascending by code: judge_own's order
        codes = np.flatnonzero(np.bincount(g.code[by_then], minlength=len(g.ids)))
        year = by_then & (g.day > d - 365)
        out = pd.DataFrame({
            "code": codes.astype(np.int32),
            "day": np.full(len(own), d, dtype=np.int32),
            "own_status": own["own_status"].to_numpy().astype(np.int8),
            "one_time": own["one_time"].to_numpy(dtype=bool),
            "gone": own["gone"].to_numpy(dtype=bool),
            "days_since": own["days_since"].to_numpy().astype(np.int32),
            "cycle_days": own["cycle_days"].to_numpy(dtype=float)})
        if both:
            out["revenue_365"] = g.total(g.revenue, year)[codes]
            if g.value_is_profit:
                out["gross_profit_365"] = g.total(g.value, year)[codes]
        else:
            out["value"] = g.total(g.value, year)[codes]
        frames.append(out)
    if not frames:
        return pd.DataFrame(columns=["code", *CODED[1:-1],
                                     *(COLUMNS[-2:] if both else ("value",))])
    return pd.concat(frames, ignore_index=True)


def write(con: duckdb.DuckDBPyConnection) -> None:
    """Keep the parts at every month end of the book in the version being derived."""
    con.execute(f'DROP TABLE IF EXISTS "{TABLE}"')
    tables = tables_from(ibis.duckdb.from_connection(con))
    if tables.orders is None:
        return
    history = load_history(tables)
    frame = parts(history, book_month_ends(history))
    con.register("_month_end_parts", frame)
    try:
        con.execute(f'CREATE TABLE "{TABLE}" AS SELECT * FROM _month_end_parts')
    finally:
        con.unregister("_month_end_parts")


def parts_for(tables: Tables, history: History | OrderDays, days: list[date],
              computed: Callable[[], History] | None = None) -> pd.DataFrame:
    """The parts at ``days`` for the customers of ``tables``, coded (``CODED``: the customer
    as its code into ``history``'s ids, the value it ranks by as ``value``): read from the
    table kept with the version (narrowed to the scope's customers, without what it may not
    see) for the month ends it holds, computed from ``history`` (the scope's own; from
    ``computed()`` when given, coded as ``history``: its order days alone cannot judge) for
    the rest. The ids become codes in the engine: 3.8 million ids as text cost half a
    gigabyte."""
    g = history.groups()
    wanted = sorted({day_number(pd.Timestamp(d)) for d in days})
    kept = derived.table(tables, TABLE)
    value = "gross_profit_365" if g.value_is_profit else "revenue_365"
    frames = []
    if kept is not None and wanted and value in kept.columns:
        ids = ibis.memtable(pa.table({"customer_id": pa.array(g.ids, type=pa.string()),
                                      "code": pa.array(np.arange(len(g.ids), dtype=np.int32))}))
        asked = kept.filter(kept.day.isin(wanted))
        found = asked.join(ids, "customer_id").select(
            "code", "day", "own_status", "one_time", "gone", "days_since", "cycle_days",
            value=asked[value]).to_pandas()
        have = set(np.unique(found["day"].to_numpy()).tolist())
        frames.append(found)
        wanted = [d for d in wanted if d not in have]
    if wanted:
        frames.append(_coded_as(history, computed, [day_date(d) for d in wanted]))
    frames = [f for f in frames if len(f)]
    if not frames:
        return _coded_as(history, computed, [])
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _coded_as(history: History | OrderDays, computed: Callable[[], History] | None,
              days: list[date]) -> pd.DataFrame:
    """``coded`` from ``computed()`` (else ``history``), the customers coded as ``history``."""
    full = computed() if computed is not None else history
    if not isinstance(full, History):
        raise TypeError("the month-end parts of order days alone: pass computed")
    out = coded(full, days)
    if full is not history and len(out):
        ids = full.groups().ids[out["code"].to_numpy()]
        out["code"] = np.searchsorted(history.groups().ids, ids).astype(np.int32)
    return out


def day_date(day: int) -> date:
    """The date of a day number (status.day_number's inverse)."""
    return date(1970, 1, 1) + timedelta(days=int(day))


def strata(found: pd.DataFrame) -> pd.DataFrame:
    """Each row of ``parts`` (any month ends, any scope's customers) finished into its
    stratum: customer_id, day, status (the churn rules, a one-time buyer new against the
    median cycle of the customers beside it that day), tier (the pyramid by value over the 365
    days to the day, ranked among them; ``none`` without orders then) and past_cycle (days
    since the last order over the own cycle, in bands; ``one_order`` without a cycle) and
    stratum (the three as one integer below STRATA)."""
    if found.empty:
        return pd.DataFrame(columns=["customer_id", "day", "status", "tier", "past_cycle",
                                     "stratum"])
    ids, names = pd.factorize(found["customer_id"], sort=True)
    value = "gross_profit_365" if "gross_profit_365" in found else "revenue_365"
    stratum = strata_codes(found.rename(columns={value: "value"}), ids)
    return pd.DataFrame({"customer_id": np.asarray(names, dtype=object)[ids],
                         "day": found["day"].to_numpy(dtype=np.int64),
                         **named(stratum), "stratum": stratum})


def named(stratum: np.ndarray) -> dict[str, np.ndarray]:
    """The status, tier and past_cycle names of stratum codes."""
    bands, tiers = len(PAST_CYCLE_NAMES), len(TIER_NAMES)
    return {"status": np.asarray(STATUSES, dtype=object)[stratum // (bands * tiers)],
            "tier": np.asarray(TIER_NAMES, dtype=object)[stratum // bands % tiers],
            "past_cycle": np.asarray(PAST_CYCLE_NAMES, dtype=object)[stratum % bands]}


def strata_codes(found: pd.DataFrame, codes: np.ndarray) -> np.ndarray:
    """``strata``'s stratum per row of coded parts (``value``: what the tier ranks by),
    as integers; ``codes`` numbers its customers in the order of their ids (ties in value
    are ranked by it), integers only: at 84 month ends of 70,000 customers, text cost more
    than the rules."""
    day = found["day"].to_numpy(dtype=np.int64)
    since = found["days_since"].to_numpy(dtype=np.int64)
    cycle = found["cycle_days"].to_numpy(dtype=float)
    # status: finished day by day against the rhythm of the customers beside it that day
    by_day = np.argsort(day, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(day[by_day]) != 0, True])
    status = np.empty(len(found), dtype=np.int64)
    for a, b in itertools.pairwise(bounds):
        rows = by_day[a:b]
        status[rows] = finish(found.iloc[rows])
    # tier: rank by value (to the cent) within each day among those who bought in the 365 days
    # to it, ties by customer id — as the pyramid ranks
    tier = np.full(len(found), len(TIERS))
    bought = np.flatnonzero(since < 365)
    key = np.round(found["value"].to_numpy(dtype=float)[bought], 2)
    order = bought[np.lexsort((codes[bought], -key, day[bought]))]
    days_sorted = day[order]
    starts = np.flatnonzero(np.r_[True, days_sorted[1:] != days_sorted[:-1]])
    ends = np.r_[starts[1:], len(order)]
    for a, b in zip(starts, ends, strict=True):
        cuts = np.array(tier_cutoffs(int(b - a)))
        tier[order[a:b]] = np.searchsorted(cuts, np.arange(1, b - a + 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = since / np.where(cycle > 0, cycle, np.nan)
    band = np.where(np.isnan(ratio), len(PAST_CYCLE_NAMES) - 1,
                    np.searchsorted(np.asarray(PAST_CYCLE), ratio, side="left") - 1)
    return (status * len(TIER_NAMES) + tier) * len(PAST_CYCLE_NAMES) + band
