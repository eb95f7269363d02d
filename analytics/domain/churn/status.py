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
    return status_from_parts(status_parts(history, [as_of], rules), history.customers,
                             rules=rules, lost_since=lost_since)


# Each customer's part of a status, judged against its own history only (``status_parts``):
# all but the book's rhythm, which a one-time buyer waits against and which depends on who
# else is in the book. Kept per customer (analytics.domain.churn.views), a rep's or a
# manager's statuses are finished from their own rows (``finish``) exactly as computed.
PARTS = ("customer_id", "day", "last", "days_since", "cycle_days", "frequent",
         "seasonal_gap_days", "recent_volume", "year_ago_volume", "value_12m_revenue",
         "value_12m_gross_profit", "lost_on", "own_status", "one_time", "gone")


def status_parts(history: History, days: list[date], rules: Rules = DEFAULT_RULES
                 ) -> pd.DataFrame:
    """Per day (that has orders by then) and customer with an order by it: the rules applied
    to the customer's own history (``PARTS``; day numbers for dates; gross profit only when
    the history has costs), in customer order."""
    g = history.groups()
    frames = []
    for day in dict.fromkeys(days):
        stamp = pd.Timestamp(day)
        if not (history.days["date"] <= stamp).any():
            continue
        frames.append(judge_own(g, stamp, rules))
    columns = [c for c in PARTS if c != "value_12m_gross_profit" or g.value_is_profit]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def finish(parts: pd.DataFrame, rules: Rules = DEFAULT_RULES) -> np.ndarray:
    """The status codes (index into STATUSES) of one day's parts: a one-time buyer not yet
    gone is new while its wait is within k × the median cycle of the customers in ``parts``
    (and two weeks), else waiting."""
    cycle = parts["cycle_days"].to_numpy(dtype=float)
    one_time = parts["one_time"].to_numpy(dtype=bool)
    book_cycle = float(np.nanmedian(cycle)) if (~one_time).any() else float(MIN_GAP_DAYS)
    new = one_time & ~parts["gone"].to_numpy(dtype=bool) & (
        parts["days_since"].to_numpy() <= max(rules.k * book_cycle, MIN_GAP_DAYS))
    return np.where(new, STATUSES.index("new"), parts["own_status"].to_numpy())


def status_from_parts(parts: pd.DataFrame, customers: pd.DataFrame, *,
                      rules: Rules = DEFAULT_RULES, lost_since: date | None = None
                      ) -> pd.DataFrame:
    """``customer_status`` from one day's parts and the master rows (name, type, province,
    sales_rep where present); the value at stake is gross profit where the parts have it."""
    if parts.empty:
        return pd.DataFrame(columns=["customer_id", "status"])
    value = ("value_12m_gross_profit" if "value_12m_gross_profit" in parts
             else "value_12m_revenue")
    out = parts[["customer_id", "days_since", "cycle_days", "seasonal_gap_days", "frequent",
                 "recent_volume", "year_ago_volume"]].reset_index(drop=True)
    out["value_12m"] = parts[value].to_numpy()
    out["lost_on"] = pd.to_datetime(parts["lost_on"].to_numpy(), unit="D").date
    out["status"] = np.asarray(STATUSES)[finish(parts, rules)]
    out["last_order"] = pd.to_datetime(parts["last"].to_numpy(), unit="D").date
    out = out[["customer_id", "status", "last_order", "days_since", "cycle_days",
               "seasonal_gap_days", "frequent", "recent_volume", "year_ago_volume",
               "value_12m", "lost_on"]]
    if lost_since is not None:
        out = recent(out, lost_since=lost_since)
    info = present(customers, ("name", "type", "province", "sales_rep"))
    return out.merge(customers[["customer_id", *info]], on="customer_id", how="left")


def trend_from_parts(parts: pd.DataFrame, months: pd.PeriodIndex, rules: Rules = DEFAULT_RULES
                     ) -> pd.DataFrame:
    """``status_trend`` from the parts at the month ends."""
    rows = []
    for month in months:
        end = month.to_timestamp(how="end").date()
        day = parts[parts["day"] == day_number(pd.Timestamp(end))]
        if day.empty:
            continue
        status = finish(day, rules)
        lost = np.isin(status, [STATUSES.index(x) for x in GONE])
        keep = ~lost | (day["lost_on"].to_numpy() > day_number(pd.Timestamp(end)) - 730)
        counts = np.bincount(status[keep], minlength=len(STATUSES))
        rows.append({"month": month.to_timestamp(), **{k: int(counts[i])
                                                       for i, k in enumerate(STATUSES)}})
    return pd.DataFrame(rows, columns=["month", *STATUSES])


def judge_own(g: Groups, day: pd.Timestamp, rules: Rules) -> pd.DataFrame:
    """The rules at one day, over the customers with an order by then, but for the book's
    rhythm (``finish``): PARTS as a frame."""
    today = day_number(day)
    m = g.day <= today                       # a prefix of each customer's sorted rows
    next_in = np.r_[m[1:] & ~g.first_row[1:], False]
    last_rows = m & ~next_in
    present_ = g.code[last_rows]             # customers with an order by the day, in order
    last_full = np.full(len(g.ids), np.iinfo(np.int64).min // 2)
    last_full[present_] = g.day[last_rows]
    last = last_full[present_]
    days_since = today - last
    cycle = g.per_customer(g.gap, ~g.first_row & m, "median")[present_]
    with np.errstate(invalid="ignore"):
        frequent = cycle <= FREQUENT_CYCLE_DAYS   # NaN (one order) compares False
    seasonal = _seasonal_gaps(g, m, day)[present_] if rules.seasonal else 0.0
    recent_ = g.total(g.volume, m & (g.day > today - 90))[present_]
    year_ago = g.total(g.volume, m & (g.day > today - 455) & (g.day <= today - 365))[present_]
    in_year = m & (g.day > last_full[g.code] - 365)
    lost_after = np.where(frequent, rules.lost_days_frequent, rules.lost_days_other)
    one_time = np.isnan(cycle)
    lost_after = np.where(one_time, rules.lost_days_frequent, lost_after)
    with np.errstate(invalid="ignore"):
        overdue = ~one_time & (days_since > np.maximum(rules.k * cycle, MIN_GAP_DAYS)) \
            & (days_since > seasonal)
    declining = (year_ago > 0) & (recent_ < rules.decline_ratio * year_ago)
    gone = days_since > lost_after
    status = np.select(
        [one_time & gone, one_time, gone, overdue, declining],
        [STATUSES.index("lapsed"), STATUSES.index("waiting"), STATUSES.index("lost"),
         STATUSES.index("overdue"), STATUSES.index("declining")],
        STATUSES.index("active"))
    out = pd.DataFrame({
        "customer_id": g.ids[present_], "day": today, "last": last, "days_since": days_since,
        "cycle_days": cycle, "frequent": frequent,
        "seasonal_gap_days": np.broadcast_to(np.asarray(seasonal, dtype=float),
                                             days_since.shape),
        "recent_volume": recent_, "year_ago_volume": year_ago,
        "value_12m_revenue": g.total(g.revenue, in_year)[present_]})
    if g.value_is_profit:
        out["value_12m_gross_profit"] = g.total(g.value, in_year)[present_]
    out["lost_on"] = last + lost_after + 1
    out["own_status"] = status
    out["one_time"] = one_time
    out["gone"] = gone
    return out


def day_number(ts: pd.Timestamp) -> int:
    return int(np.datetime64(ts.date(), "D").astype(np.int64))


def _seasonal_gaps(g: Groups, m: np.ndarray, day: pd.Timestamp) -> np.ndarray:
    """Per customer, the longest pause it was in on this same calendar day in each of the
    SEASON_YEARS earlier years (the gap between two orders that spans that day); 0 when it
    was buying then. Days of the week drift between years, so the day is the yardstick, not
    the exact dates of the pause."""
    best = np.zeros(len(g.ids))
    for years in range(1, SEASON_YEARS + 1):
        then = day_number(day - pd.DateOffset(years=years))
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
    ends = [m.to_timestamp(how="end").date() for m in months]
    return trend_from_parts(status_parts(history, ends, rules), months, rules)


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
    return retention_from_rows(cohort_rows(history, as_of=as_of, quarters=quarters),
                               as_of=as_of, quarters=quarters)


def cohort_rows(history: History, *, as_of: date, quarters: int = 12) -> pd.DataFrame:
    """customer_id, cohort, offset: each customer's first-order quarter and every later
    quarter (up to ``quarters`` on) it bought in, to ``as_of``; quarters as integers (year ×
    4 + quarter: period arithmetic per row was most of the time on a large book)."""
    days = history.days[history.days["date"] <= pd.Timestamp(as_of)]
    if days.empty:
        return pd.DataFrame({"customer_id": pd.Series(dtype=object),
                             "cohort": pd.Series(dtype="int64"),
                             "offset": pd.Series(dtype="int64")})
    stamp = days["date"]
    q = (stamp.dt.year * 4 + (stamp.dt.month - 1) // 3).to_numpy()
    codes, ids = pd.factorize(days["customer_id"], sort=True)
    first = pd.Series(q).groupby(codes).transform("min").to_numpy()
    active = pd.DataFrame({"code": codes, "cohort": first, "offset": q - first})
    active = active[active["offset"] <= quarters].drop_duplicates() \
        .sort_values(["code", "offset"], ignore_index=True)
    return pd.DataFrame({"customer_id": np.asarray(ids, dtype=object)[active["code"]],
                         "cohort": active["cohort"].to_numpy(),
                         "offset": active["offset"].to_numpy()})


def retention_from_rows(rows: pd.DataFrame, *, as_of: date, quarters: int = 12
                        ) -> pd.DataFrame:
    """``cohort_retention`` from ``cohort_rows`` (of any set of customers)."""
    if rows.empty:
        return pd.DataFrame()
    size = rows[rows["offset"] == 0].groupby("cohort")["customer_id"].nunique()
    counts = rows.groupby(["cohort", "offset"])["customer_id"].nunique().unstack(fill_value=0)
    share = counts.div(size, axis=0).astype(float)
    end = pd.Timestamp(as_of)
    last_q = end.year * 4 + (end.month - 1) // 3
    beyond = share.index.to_numpy()[:, None] + share.columns.to_numpy()[None, :] > last_q
    share = share.mask(beyond)
    share.index = pd.Index([f"{c // 4}Q{c % 4 + 1}" for c in share.index], name="cohort")
    share.columns = share.columns.astype(int)
    return share.reindex(columns=range(quarters + 1))
