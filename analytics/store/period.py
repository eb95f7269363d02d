"""Periods (inclusive date ranges) and the presets the filters offer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import pandas as pd

PRESETS = ("last_12_months", "this_year", "last_year", "last_quarter", "ytd_prev", "all", "custom")


def _shift_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February in a year without one
        return d.replace(year=d.year + years, day=28)


@dataclass(frozen=True, order=True)
class Period:
    """An inclusive date range [start, end]."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends before it starts: {self.start} > {self.end}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, column: ibis.Value) -> ibis.Value:
        return column.between(ibis.date(self.start), ibis.date(self.end))

    @property
    def whole_months(self) -> int | None:
        """Number of calendar months when the period is made of whole months, else None."""
        if self.start.day != 1 or (self.end + timedelta(days=1)).day != 1:
            return None
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def previous(self) -> Period:
        """The period just before this one: the same number of whole months when the period is
        whole months (2025 → 2024, even though 2024 has a 29 February), else of equal days."""
        end = self.start - timedelta(days=1)
        months = self.whole_months
        if months is not None:
            first = pd.Timestamp(self.start) - pd.DateOffset(months=months)
            return Period(first.date(), end)
        return Period(end - timedelta(days=self.days - 1), end)

    def year_ago(self) -> Period:
        """The same calendar dates one year earlier."""
        return Period(_shift_years(self.start, -1), _shift_years(self.end, -1))

    def months(self) -> pd.PeriodIndex:
        return pd.period_range(self.start, self.end, freq="M")

    def label(self) -> str:
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def preset(name: str, *, as_of: date, first: date | None = None) -> Period:
    """A named period ending at ``as_of`` (the latest data date, not today: demo data ends 2025)."""
    if name == "last_12_months":
        return Period(_shift_years(as_of, -1) + timedelta(days=1), as_of)
    if name == "this_year":
        return Period(date(as_of.year, 1, 1), as_of)
    if name == "last_year":
        return Period(date(as_of.year - 1, 1, 1), date(as_of.year - 1, 12, 31))
    if name == "last_quarter":
        q_start = date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1)
        end = q_start - timedelta(days=1)
        return Period(date(end.year, end.month - 2, 1), end)
    if name == "ytd_prev":  # the same stretch of the previous year, for 同比 views
        return Period(date(as_of.year - 1, 1, 1), _shift_years(as_of, -1))
    if name == "all":
        return Period(first or date(as_of.year - 6, 1, 1), as_of)
    raise ValueError(f"unknown period preset {name!r}")
