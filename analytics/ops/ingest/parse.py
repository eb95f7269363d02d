"""Parsing text cells into typed columns, with a reason for every cell that does not parse.

Each parser returns (values, problems): problems is a Series of reason codes (None = fine) so
the validation report can name the row, the column, the value and what is wrong with it.
Parsing works on the distinct values of a column, so a million rows with a few thousand
distinct dates parse in well under a second.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

EXCEL_EPOCH = date(1899, 12, 30)            # Excel's day 0 (it counts 1900-02-29, hence the 30)
EXCEL_SERIAL_RANGE = (20_000, 80_000)       # 1954 … 2119: numbers in here are taken as dates
_PLAIN_NUMBER = r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$"
_BLANK = {"", "-", "—", "--", "/", "nan", "none", "null", "n/a", "na", "#n/a"}


def by_value(values: pd.Series, fn: Callable[[Any], tuple[object, object]]
             ) -> tuple[pd.Series, pd.Series]:
    """``fn`` applied once per distinct cell, its two results spread back over the rows.
    A column of 500,000 cells holds a few thousand distinct values: a Python call per row
    was most of an import's parse time."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=False)
    results = [fn(v) for v in uniques]
    first = np.empty(len(results), dtype=object)
    second = np.empty(len(results), dtype=object)
    first[:] = [r[0] for r in results]
    second[:] = [r[1] for r in results]
    return (pd.Series(first[codes], index=values.index, dtype=object),
            pd.Series(second[codes], index=values.index, dtype=object))


def _clean(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or \
        _clean(str(value)).lower() in _BLANK


_DATE_PATTERNS = [
    (re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$"), (1, 2, 3)),
    (re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?(?:\s.*)?$"), (1, 2, 3)),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), (1, 2, 3)),
]
# 05/03/2025: day and month in either order; decided per column (see parse_dates)
_DAY_MONTH = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:\s.*)?$")
MONTH_FIRST, DAY_FIRST = "month_first", "day_first"


def day_month_order(values: pd.Series) -> str | None:
    """How a column writes dd/mm/yyyy-like dates, from its unambiguous cells: a first number
    above 12 means day first, a second above 12 month first. None when no cell tells (every
    such date has both numbers ≤ 12) or when cells tell both ways."""
    firsts, seconds = False, False
    for v in pd.unique(values.astype(object)):
        m = _DAY_MONTH.match(_clean(str(v))) if isinstance(v, str) else None
        if m:
            firsts |= int(m.group(1)) > 12
            seconds |= int(m.group(2)) > 12
    if firsts == seconds:
        return None
    return DAY_FIRST if firsts else MONTH_FIRST


def parse_date(value: str, *, order: str | None = MONTH_FIRST
               ) -> tuple[date | None, str | None]:
    """One cell: 2025-03-05, 2025/3/5, 2025.3.5, 2025年3月5日, 20250305, Excel serial 45721,
    2025-03-05T10:00:00. 05/03/2025 follows ``order`` (the column's, see day_month_order);
    with no order known it is read month first, as Excel writes it, and flagged
    "ambiguous_day_month" when both numbers could be the month."""
    if is_blank(value):
        return None, "missing"
    s = _clean(str(value))
    m = _DAY_MONTH.match(s)
    if m:
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        day, month = (a, b) if order == DAY_FIRST else (b, a)
        try:
            parsed = date(year, month, day)
        except ValueError:
            return None, "bad_date"
        return parsed, "ambiguous_day_month" if order is None and a <= 12 and b <= 12 \
            and a != b else None
    for pattern, (yi, mi, di) in _DATE_PATTERNS:
        m = pattern.match(s)
        if m:
            try:
                return date(int(m.group(yi)), int(m.group(mi)), int(m.group(di))), None
            except ValueError:
                return None, "bad_date"
    number = _to_float(s)
    if number is not None and EXCEL_SERIAL_RANGE[0] <= number <= EXCEL_SERIAL_RANGE[1]:
        return EXCEL_EPOCH + timedelta(days=int(number)), None
    return None, "bad_date"


def parse_dates(values: pd.Series, *, earliest: date = date(1990, 1, 1),
                latest: date | None = None) -> tuple[pd.Series, pd.Series]:
    """Dates of a column and a problem code per row (missing, bad_date, date_out_of_range)."""
    latest = latest or date.today() + timedelta(days=366)
    order = day_month_order(values)

    def one(v: Any) -> tuple[object, object]:
        day, problem = parse_date(v, order=order)
        if day is not None and not earliest <= day <= latest:
            return None, "date_out_of_range"
        return day, problem
    return by_value(values, one)


def _to_float(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


_CURRENCY = re.compile(r"(rmb|cny|¥|元|人民币)", re.IGNORECASE)


def parse_number(value: str, *, scale: float = 1.0) -> tuple[float | None, str | None]:
    """One cell: 1,234.50 · ¥1234 · 1234元 · 12.3万 / 12.3万元 · (1,234.50) · full-width
    digits · 1.2e3.

    ``scale`` multiplies plain numbers (a column headed 金额(万元) has scale 10,000); a cell
    that carries 万 itself is scaled by it and not by the column's scale.
    """
    if is_blank(value):
        return None, "missing"
    s = _clean(str(value)).replace(" ", "")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    cell_scale = scale
    if s.endswith(("万元", "万")):
        s, cell_scale = s.removesuffix("元").removesuffix("万"), 10_000.0
    s = _CURRENCY.sub("", s).replace(",", "")
    if s.endswith("%"):
        number = _to_float(s[:-1])
        return (None, "bad_number") if number is None else (number / 100, None)
    number = _to_float(s)
    if number is None or not np.isfinite(number):
        return None, "bad_number"
    number *= cell_scale
    return (-number if negative else number), None


def parse_numbers(values: pd.Series, *, scale: float = 1.0, decimal: str = "."
                  ) -> tuple[pd.Series, pd.Series]:
    """Numbers of a column and a problem code per row. ``decimal`` "," reads 68.013,17 as
    68013.17 (the file's decimal mark, decided when it was read)."""
    if decimal == ",":
        text = values.astype(str).str.strip()
        values = text.str.replace(".", "", regex=False).str.replace(" ", "", regex=False) \
            .str.replace(",", ".", regex=False).where(values.notna())
    # fast path: plain numbers (most cells of an ERP export) in one vectorised pass; only the
    # rest (separators, ¥, 万, parentheses, blanks) goes through parse_number
    # (an Arrow cast of the cells that look plain: pandas' to_numeric took 3× as long)
    cells = pa.array(values.astype(str).str.strip(), type=pa.large_string())
    looks_plain = pc.match_substring_regex(cells, _PLAIN_NUMBER)
    plain = pd.Series(pc.cast(pc.if_else(looks_plain, cells, None), pa.float64())
                      .to_numpy(zero_copy_only=False), index=values.index)
    plain = plain.where(np.isfinite(plain))
    numbers = (plain * scale).astype("float64")
    problems = pd.Series(None, index=values.index, dtype=object)
    rest = plain.isna()
    if rest.any():
        got, codes = by_value(values[rest], lambda v: parse_number(v, scale=scale))
        numbers[rest] = got.astype("float64")
        problems[rest] = codes
    return numbers, problems


_TRUE = {"1", "true", "yes", "y", "是", "成立", "有效", "√", "对"}
_FALSE = {"0", "false", "no", "n", "否", "不成立", "无效", "×", "x", "错"}


def parse_bools(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    def one(v: object) -> tuple[bool | None, str | None]:
        if is_blank(v):
            return None, "missing"
        s = _clean(str(v)).lower()
        if s in _TRUE:
            return True, None
        if s in _FALSE:
            return False, None
        return None, "bad_bool"
    return by_value(values, one)


def parse_text(values: pd.Series, *, max_length: int = 500) -> tuple[pd.Series, pd.Series]:
    """Text as given (ids keep leading zeros), trimmed; blanks become missing; very long text
    is cut to ``max_length`` and flagged. Vectorised: a million cells take a fraction of a
    second."""
    if isinstance(values.dtype, pd.StringDtype):
        text = values.fillna("").str.strip()
    else:
        text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    # blank tokens ("", "—", "n/a", …) are short: tested once per distinct short cell (a
    # column of names is all short cells, and NFKC per row took most of its parse)
    codes, uniques = pd.factorize(text)
    distinct = pd.Series(uniques)
    blank_value = (distinct.str.len() <= 5) & distinct.map(
        lambda v: _clean(str(v)).lower() in _BLANK).astype(bool)
    blank = pd.Series(blank_value.to_numpy()[codes], index=values.index)
    length = text.str.len()
    too_long = ~blank & (length > max_length)
    out = text.astype(object)
    if too_long.any():
        out = out.where(~too_long, text.str.slice(0, max_length).astype(object))
    out = out.where(~blank, None)
    problems = pd.Series(None, index=values.index, dtype=object)
    problems[blank] = "missing"
    problems[too_long] = "too_long"
    return out, problems


def header_scale(header: str) -> float:
    """Scale a column's numbers by its header's unit: 万元 → 10,000; kg / 千克 → 0.001 (t)."""
    h = unicodedata.normalize("NFKC", header).lower()
    if "万元" in h or "(万)" in h or "(万" in h:
        return 10_000.0
    if re.search(r"[(（](kg|千克|公斤)[)）]", h):
        return 0.001
    return 1.0


def today() -> date:
    return datetime.now().date()
