"""Purchase history per customer and day, loaded once from the engine for the status rules.

One row per customer and order day: the status rules (own cycle, seasonal pauses, lost after
N days) compare each customer's gaps at many month ends, which pandas does in one pass over
this frame. The classifier's features are computed in the engine instead (features.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.domain.churn.features import purchase_days
from analytics.store.results import storable
from analytics.store.warehouse import Tables


@storable
@dataclass
class History:
    days: pd.DataFrame          # customer_id, date, revenue_cny, volume_t?, gross_profit_cny?
    customers: pd.DataFrame     # master rows (customer_id, name, type, province, …)
    end: date                   # the last order date in the data
    _groups: Groups | None = field(default=None, init=False, repr=False)

    @property
    def value_column(self) -> str:
        """Gross profit when costs are known, else revenue: the 'value at stake'."""
        return "gross_profit_cny" if "gross_profit_cny" in self.days else "revenue_cny"

    @property
    def volume_column(self) -> str:
        return "volume_t" if "volume_t" in self.days else "revenue_cny"

    def groups(self) -> Groups:
        """The days as sorted numpy arrays (built once: a trend asks at twelve month ends)."""
        if self._groups is None:
            self._groups = Groups(self.days, self.volume_column, self.value_column)
        return self._groups


class Groups:
    """The purchase days as numpy arrays sorted by customer and date, customers as integer
    codes: grouping a large book by text ids in pandas cost most of a status's time."""

    def __init__(self, days: pd.DataFrame, volume: str, value: str) -> None:
        codes, ids = pd.factorize(days["customer_id"], sort=True)
        day = days["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
        order = np.lexsort((day, codes))
        self.ids = np.asarray(ids, dtype=object)
        self.code = codes[order]
        self.day = day[order]
        self.volume = days[volume].to_numpy(dtype=float)[order]
        self.value = days[value].to_numpy(dtype=float)[order]
        self.revenue = days["revenue_cny"].to_numpy(dtype=float)[order]
        self.value_is_profit = value == "gross_profit_cny"
        self.first_row = np.r_[True, self.code[1:] != self.code[:-1]]
        self.prev = np.r_[self.day[:1], self.day[:-1]]   # meaningless on first rows
        self.gap = (self.day - self.prev).astype(float)
        self._keyed: tuple[np.ndarray, int] | None = None

    @classmethod
    def of_days(cls, ids: np.ndarray, code: np.ndarray, day: np.ndarray, *,
                value_is_profit: bool) -> Groups:
        """Order days alone (sorted by code and day): ids, code, day, prev and ``keyed``;
        the amounts and the gaps are not there (``OrderDays``)."""
        g = cls.__new__(cls)
        g.ids, g.code, g.day = ids, code, day
        g.prev = np.r_[day[:1], day[:-1]]   # meaningless on first rows, as in __init__
        g.value_is_profit = value_is_profit
        g._keyed = None
        return g

    def keyed(self) -> tuple[np.ndarray, int]:
        """Customer and day as one sorted integer (code × span + day) and the span: looking up
        a customer's next order after a day is one binary search (built once per history)."""
        if self._keyed is None:
            span = int(self.day.max()) + 100_000 if len(self.day) else 1
            self._keyed = (self.code.astype(np.int64) * span + self.day, span)
        return self._keyed

    def total(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Sum of ``values`` per customer code over ``mask`` (0 without rows)."""
        return np.bincount(self.code[mask], weights=values[mask], minlength=len(self.ids))

    def per_customer(self, values: np.ndarray, mask: np.ndarray, how: str) -> np.ndarray:
        """``how`` ("median", "max") of ``values`` per customer code over ``mask``; NaN where
        a customer has no row."""
        s = pd.Series(values[mask]).groupby(self.code[mask]).agg(how)
        return s.reindex(range(len(self.ids))).to_numpy(dtype=float)


class OrderDays:
    """Only the customers' order days, as the follow-up comparison reads them when the
    month-end parts are kept: ``groups()`` gives ids, code, day, prev and ``keyed`` (nothing
    else: asking for amounts fails), ``end`` the last order date. Read sorted from the engine
    with the customers coded by Arrow: the full history's frame of text ids and amounts held
    850 MB at ten million order lines for this, and took 1.4 s to build."""

    def __init__(self, groups: Groups, end: date) -> None:
        self._groups, self.end = groups, end

    def groups(self) -> Groups:
        return self._groups


def order_days(tables: Tables) -> OrderDays | None:
    """The purchase days of ``tables`` as ``OrderDays``; None when the engine's order of
    the ids is not Python's (the codes must be the full history's)."""
    days = purchase_days(tables)
    found = days.select("customer_id", "date").order_by(["customer_id", "date"]).to_pyarrow()
    ids_col = found["customer_id"].combine_chunks()
    if ids_col.null_count:    # a customer without an id: the full history's way
        return None
    encoded = pc.dictionary_encode(ids_col)     # sorted rows: first seen is sorted order
    ids = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    if len(ids) > 1 and not (ids[:-1] < ids[1:]).all():
        return None
    code = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    dates = found["date"].combine_chunks()
    day = dates.cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)
    groups = Groups.of_days(ids, code, day, value_is_profit="gross_profit_cny" in days.columns)
    return OrderDays(groups, pc.max(dates).as_py() or date.today())   # load_history's end


def load_history(tables: Tables) -> History:
    """The purchase days of every customer (in no particular order), with the master."""
    days = purchase_days(tables).to_pandas()
    days["date"] = pd.to_datetime(days["date"])
    customers = (tables.customers.to_pandas() if tables.customers is not None
                 else pd.DataFrame({"customer_id": days["customer_id"].unique()}))
    return History(days=days, customers=customers,
                   end=days["date"].max().date() if len(days) else date.today())
