"""流失预警 Churn indicators: each customer's status at a date, judged against its own cycle.

- lost: no order for LOST_DAYS_FREQUENT (frequent buyers) or LOST_DAYS_OTHER days;
- overdue: the open gap exceeds k × the customer's own median gap between orders (and two
  weeks), and exceeds the pause the customer was in on the same calendar day in earlier
  years — so a customer who always pauses over the Spring Festival is not flagged;
- declining: the last 90 days' tonnes (revenue without tonnes) are below DECLINE_RATIO of the
  same 90 days a year earlier;
- active otherwise. The first rule that applies wins, in that order.

A customer with one order day so far has no cycle of its own: it is new while the wait is
within k × the book's median cycle (and two weeks), waiting for a second order after that, and
lapsed once LOST_DAYS_FREQUENT days have passed without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from analytics.domain.churn.history import Groups, History
from analytics.store.frames import present
from analytics.store.results import storable

REPEAT_STATUSES = ("active", "declining", "overdue", "lost")
ONE_TIME_STATUSES = ("new", "waiting", "lapsed")
STATUSES = REPEAT_STATUSES + ONE_TIME_STATUSES
GONE = ("lost", "lapsed")       # no longer counted as customers; lost_on says since when
FOLLOW_UP = ("overdue", "declining", "waiting")   # the statuses someone should act on
CYCLE_K = 2.0                 # the method's default: overdue past twice the own cycle
MIN_GAP_DAYS = 14             # a pause shorter than two weeks is never an alarm
FREQUENT_CYCLE_DAYS = 45      # median gap up to this: a frequent buyer (lost after 180 days)
LOST_DAYS_FREQUENT = 180
LOST_DAYS_OTHER = 365
DECLINE_RATIO = 0.5
SEASON_YEARS = 3              # how many earlier years the seasonal allowance looks at


@storable
@dataclass(frozen=True)
class Rules:
    k: float = CYCLE_K
    lost_days_frequent: int = LOST_DAYS_FREQUENT
    lost_days_other: int = LOST_DAYS_OTHER
    decline_ratio: float = DECLINE_RATIO
    seasonal: bool = True


DEFAULT_RULES = Rules()

def customer_status(history: History, *, as_of: date, rules: Rules = DEFAULT_RULES,
                    lost_since: date | None = None) -> pd.DataFrame:
    """One row per customer with an order on or before ``as_of``: status, last_order,
    days_since, cycle_days, seasonal_gap_days, frequent, recent_volume, year_ago_volume,
    value_12m (value of the 365 days to the last order: what is at stake or was lost).
    ``lost_since`` leaves out customers already lost before that date (long-gone customers
    would otherwise fill every list). Vectorised over customers: a year of month-end statuses
    takes about a second."""
    day = pd.Timestamp(as_of)
    if not (history.days["date"] <= day).any():
        return pd.DataFrame(columns=["customer_id", "status"])
    j = _judge(history.groups(), day, rules)
    out = pd.DataFrame(index=pd.Index(j.ids, name="customer_id"))
    out["days_since"] = j.days_since
    out["cycle_days"] = j.cycle_days
    out["frequent"] = j.frequent
    out["seasonal_gap_days"] = j.seasonal_gap_days
    out["recent_volume"] = j.recent_volume
    out["year_ago_volume"] = j.year_ago_volume
    out["value_12m"] = j.value_12m
    last_ts = pd.to_datetime(j.last, unit="D")
    out["lost_on"] = pd.to_datetime(j.lost_on, unit="D").date
    out["status"] = np.asarray(STATUSES)[j.status]
    out["last_order"] = last_ts.date
    out = out.reset_index()[["customer_id", "status", "last_order", "days_since", "cycle_days",
                             "seasonal_gap_days", "frequent", "recent_volume",
                             "year_ago_volume", "value_12m", "lost_on"]]
    if lost_since is not None:
        out = recent(out, lost_since=lost_since)
    info = present(history.customers, ("name", "type", "province", "sales_rep"))
    return out.merge(history.customers[["customer_id", *info]], on="customer_id", how="left")


@dataclass
class _Judged:
    """The rules applied at one day, as arrays over the customers with an order by then."""
    ids: np.ndarray
    last: np.ndarray              # day numbers
    days_since: np.ndarray
    cycle_days: np.ndarray
    frequent: np.ndarray
    seasonal_gap_days: np.ndarray | float
    recent_volume: np.ndarray
    year_ago_volume: np.ndarray
    value_12m: np.ndarray
    lost_on: np.ndarray           # day numbers
    status: np.ndarray            # index into STATUSES


def _judge(g: Groups, day: pd.Timestamp, rules: Rules) -> _Judged:
    today = _day_number(day)
    m = g.day <= today                       # a prefix of each customer's sorted rows
    next_in = np.r_[m[1:] & ~g.first_row[1:], False]
    last_rows = m & ~next_in
    present = g.code[last_rows]              # customers with an order by the day, in order
    last_full = np.full(len(g.ids), np.iinfo(np.int64).min // 2)
    last_full[present] = g.day[last_rows]
    last = last_full[present]
    days_since = today - last
    cycle = g.per_customer(g.gap, ~g.first_row & m, "median")[present]
    with np.errstate(invalid="ignore"):
        frequent = cycle <= FREQUENT_CYCLE_DAYS   # NaN (one order) compares False
    seasonal = _seasonal_gaps(g, m, day)[present] if rules.seasonal else 0.0
    recent = g.total(g.volume, m & (g.day > today - 90))[present]
    year_ago = g.total(g.volume, m & (g.day > today - 455) & (g.day <= today - 365))[present]
    value = g.total(g.value, m & (g.day > last_full[g.code] - 365))[present]
    lost_after = np.where(frequent, rules.lost_days_frequent, rules.lost_days_other)
    one_time = np.isnan(cycle)
    # a one-time buyer waits against the book's own rhythm (the median cycle that day)
    book_cycle = float(np.nanmedian(cycle)) if (~one_time).any() else float(MIN_GAP_DAYS)
    lost_after = np.where(one_time, rules.lost_days_frequent, lost_after)
    with np.errstate(invalid="ignore"):
        overdue = ~one_time & (days_since > np.maximum(rules.k * cycle, MIN_GAP_DAYS)) \
            & (days_since > seasonal)
    declining = (year_ago > 0) & (recent < rules.decline_ratio * year_ago)
    gone = days_since > lost_after
    new = days_since <= max(rules.k * book_cycle, MIN_GAP_DAYS)
    status = np.select(
        [one_time & gone, one_time & new, one_time, gone, overdue, declining],
        [STATUSES.index("lapsed"), STATUSES.index("new"), STATUSES.index("waiting"),
         STATUSES.index("lost"), STATUSES.index("overdue"), STATUSES.index("declining")],
        STATUSES.index("active"))
    return _Judged(g.ids[present], last, days_since, cycle, frequent, seasonal, recent,
                   year_ago, value, last + lost_after + 1, status)


def _day_number(ts: pd.Timestamp) -> int:
    return int(np.datetime64(ts.date(), "D").astype(np.int64))


def _seasonal_gaps(g: Groups, m: np.ndarray, day: pd.Timestamp) -> np.ndarray:
    """Per customer, the longest pause it was in on this same calendar day in each of the
    SEASON_YEARS earlier years (the gap between two orders that spans that day); 0 when it
    was buying then. Days of the week drift between years, so the day is the yardstick, not
    the exact dates of the pause."""
    best = np.zeros(len(g.ids))
    for years in range(1, SEASON_YEARS + 1):
        then = _day_number(day - pd.DateOffset(years=years))
        rows = np.flatnonzero(m & ~g.first_row & (g.prev <= then) & (g.day >= then))
        # at most two gaps per customer span a day; written in ascending order, the last
        # (largest) write wins — ufunc.at was the slow part of a twelve-month trend
        rows = rows[np.argsort(g.gap[rows], kind="stable")]
        codes = g.code[rows]
        best[codes] = np.maximum(best[codes], g.gap[rows])
    return best


def recent(status: pd.DataFrame, *, lost_since: date) -> pd.DataFrame:
    """``status`` without the customers already lost before ``lost_since``."""
    return status[~status["status"].isin(GONE) | (status["lost_on"] >= lost_since)]


def status_summary(status: pd.DataFrame) -> pd.DataFrame:
    """Customers and value at stake per status, in STATUSES order."""
    out = status.groupby("status").agg(customers=("customer_id", "count"),
                                       value_12m=("value_12m", "sum"))
    return out.reindex(list(STATUSES)).fillna(0).rename_axis("status").reset_index()


def status_trend(history: History, *, months: pd.PeriodIndex, rules: Rules = DEFAULT_RULES
                 ) -> pd.DataFrame:
    """Customers per status at each month end (lost and lapsed only count those gone within
    the 24 months before, so the chart shows recent losses, not every customer ever)."""
    rows = []
    days = history.days["date"]
    for month in months:
        end = pd.Timestamp(month.to_timestamp(how="end").date())
        if not (days <= end).any():
            continue
        j = _judge(history.groups(), end, rules)
        lost = np.isin(j.status, [STATUSES.index(x) for x in GONE])
        keep = ~lost | (j.lost_on > _day_number(end) - 730)
        counts = np.bincount(j.status[keep], minlength=len(STATUSES))
        rows.append({"month": month.to_timestamp(), **{k: int(counts[i])
                                                       for i, k in enumerate(STATUSES)}})
    return pd.DataFrame(rows, columns=["month", *STATUSES])


def lost_in_period(status: pd.DataFrame, *, start: date, end: date) -> pd.DataFrame:
    """Customers whose lost date (last order + lost days) falls in [start, end], biggest value
    first: the revenue (or profit) that walked away in the period."""
    lost_on = pd.to_datetime(status["lost_on"])
    hit = status["status"].isin(GONE) & (lost_on >= pd.Timestamp(start)) & (
        lost_on <= pd.Timestamp(end))
    return status[hit].sort_values(["value_12m", "customer_id"], ascending=[False, True])


def cohort_retention(history: History, *, as_of: date, quarters: int = 12) -> pd.DataFrame:
    """Share of each first-order quarter's customers still buying N quarters later.

    Rows: cohort quarter; columns 0…quarters; cells past ``as_of`` are NaN.
    """
    days = history.days[history.days["date"] <= pd.Timestamp(as_of)]
    if days.empty:
        return pd.DataFrame()
    # quarters as integers (year × 4 + quarter): period arithmetic per row was most of the
    # time on a large book
    stamp = days["date"]
    q = (stamp.dt.year * 4 + (stamp.dt.month - 1) // 3).to_numpy()
    codes = pd.factorize(days["customer_id"])[0]
    first = pd.Series(q).groupby(codes).transform("min").to_numpy()
    active = pd.DataFrame({"cohort": first, "offset": q - first,
                           "customer": codes}).drop_duplicates()
    size = active[active["offset"] == 0].groupby("cohort")["customer"].nunique()
    counts = active[active["offset"] <= quarters].groupby(["cohort", "offset"])[
        "customer"].nunique().unstack(fill_value=0)
    share = counts.div(size, axis=0).astype(float)
    end = pd.Timestamp(as_of)
    last_q = end.year * 4 + (end.month - 1) // 3
    beyond = share.index.to_numpy()[:, None] + share.columns.to_numpy()[None, :] > last_q
    share = share.mask(beyond)
    share.index = pd.Index([f"{c // 4}Q{c % 4 + 1}" for c in share.index], name="cohort")
    share.columns = share.columns.astype(int)
    return share.reindex(columns=range(quarters + 1))

