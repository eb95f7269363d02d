"""Display text in Simplified Chinese and English, and number/date formatting per language.

All user-facing text lives in one catalogue, ``analytics.display.text``, both languages of a
key side by side; code, columns and data values stay English snake_case.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

from analytics.display import text

LANGS = ("zh", "en")       # the order of each pair in the catalogue
DEFAULT_LANG = "zh"

# The catalogue by language: key → text
TEXT: dict[str, dict[str, str]] = {
    lang: {key: pair[i] for key, pair in text.TEXT.items()} for i, lang in enumerate(LANGS)}

# Data values → display labels. Values not listed (or None for a language) are shown as they
# are (names, ids, the stored pinyin of a province in English).
VALUES: dict[str, dict[str, dict[str, str]]] = {
    lang: {field: {value: label for value, pair in values.items()
                   if (label := pair[i]) is not None}
           for field, values in text.VALUES.items()}
    for i, lang in enumerate(LANGS)}


MISSING = "—"  # how a missing value is shown in every table: a page, the report, a file
# Columns whose values are category keys, and the field of VALUES that puts them in words:
# the one list for pages, the report and exports (None: shown as stored)
VALUE_FIELDS: dict[str, str | None] = {"type": "type", "province": "province",
    "category": "category", "tier": "tier", "tier_previous": "tier", "tier_current": "tier",
    "class": "class", "stage": "stage", "quadrant": "quadrant", "direction": "direction",
    "factor": "factor", "source": "source", "abc_class": "abc_class", "xyz_class": "xyz_class",
    "kind": "kind", "status": "status", "dimension": "dimension", "severity": "severity",
    "department": "department", "remedy": "remedy", "cause": "cause", "group": "group",
    "age_bucket": None, "grade_source": "grade_source", "product": "category", "market": "market",
    "warehouse": "warehouse", "pair": "pair", "stock_status": "stock_status",
    "movement": "movement", "team": "team", "bucket": "bucket", "fu_action": "fu_action",
    "outcome": "fu_outcome", "conclusion": "fu_conclusion", "reason": "fu_reason",
    "fu_status": "fu_status"}


class Labels:
    """Text and formatting for one language; pass it to charts and tables."""

    def __init__(self, lang: str = DEFAULT_LANG):
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r}")
        self.lang = lang
        self._text = TEXT[lang]

    def __call__(self, key: str, **kwargs: object) -> str:
        text = self._text[key]
        return text.format(**kwargs) if kwargs else text

    def value(self, field: str, value: object) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        return VALUES[self.lang].get(field, {}).get(str(value), str(value))

    def values(self, field: str, series: pd.Series) -> pd.Series:
        mapping = VALUES[self.lang].get(field, {})
        return series.map(lambda v: mapping.get(str(v), v) if v is not None else v)

    def coded(self, prefix: str, series: pd.Series) -> pd.Series:
        """Each code as its text ``{prefix}_{code}``, looked up once per distinct code (a
        report of half a million lines holds a handful)."""
        codes, uniques = pd.factorize(series)
        texts = np.array([self(f"{prefix}_{c}") for c in uniques] + [None], dtype=object)
        return pd.Series(texts[codes], index=series.index)  # code -1 (missing) → the None

    def column(self, name: str) -> str:
        return self._text.get(f"col_{name}", name)

    def field(self, name: str) -> str:
        """An import field as the mapping shows it: its name in this language with its unit
        (重量（吨）, Amount (¥)); the canonical name when nothing better is known."""
        if f"field_{name}" in self._text:
            return self._text[f"field_{name}"]
        label = self._text.get(f"col_{name}")
        if label is None:
            return name
        if any(b in label for b in "(（"):
            return label  # its unit is already there
        for suffix in ("cny", "t", "days"):
            unit = self._text[f"unit_{suffix}"]
            if name.endswith(f"_{suffix}") and unit.strip(" ()（）") not in label:
                return label + unit
        return label

    # -- formatting -------------------------------------------------------------------------
    def money(self, value: float) -> str:
        """Chinese: 万元 / 亿元 where large; English: ¥ with k / M / bn. Short enough for a card."""
        if value is None or math.isnan(value):
            return "—"
        a = abs(value)
        if self.lang == "zh":
            if a >= 1e8:
                return f"{value / 1e8:,.2f}亿元"
            if a >= 1e6:  # no thousands separator with 万: 2014万元, as Chinese reports write it
                return f"{value / 1e4:.0f}万元"
            if a >= 1e4:
                return f"{value / 1e4:.1f}万元"
            return f"{value:,.0f}元"
        if a >= 1e9:
            return f"¥{value / 1e9:,.2f}bn"
        if a >= 1e6:
            return f"¥{value / 1e6:,.1f}M"
        if a >= 1e4:
            return f"¥{value / 1e3:,.0f}k"
        return f"¥{value:,.0f}"

    def tonnes(self, value: float) -> str:
        if value is None or math.isnan(value):
            return "—"
        if self.lang == "zh":
            return f"{value / 1e4:,.2f}万吨" if abs(value) >= 1e5 else f"{value:,.0f}吨"
        return f"{value:,.0f} t"

    def number(self, value: float, digits: int = 0) -> str:
        if value is None or math.isnan(value):
            return "—"
        return f"{value:,.{digits}f}"

    def percent(self, value: float, digits: int = 1) -> str:
        if value is None or math.isnan(value):
            return "—"
        return f"{value:.{digits}f}%"

    def days(self, value: float) -> str:
        if value is None or math.isnan(value):
            return "—"
        if self.lang == "zh":
            return f"{value:,.0f}天"
        return f"{value:,.0f} day" if round(value) == 1 else f"{value:,.0f} days"

    def month(self, d: date | pd.Timestamp) -> str:
        return f"{d.year}年{d.month}月" if self.lang == "zh" else pd.Timestamp(d).strftime("%b %Y")

    def date(self, d: date | pd.Timestamp) -> str:
        return f"{d.year}年{d.month}月{d.day}日" if self.lang == "zh" else \
            pd.Timestamp(d).strftime("%d %b %Y")

    def scale(self, metric: str) -> tuple[float, str]:
        """Divisor and unit for axis and matrix numbers of a metric (万元 / CNY k / t)."""
        if metric == "volume_t":
            return 1.0, "吨" if self.lang == "zh" else "t"
        return (1e4, "万元") if self.lang == "zh" else (1e3, "CNY k")

    def metric_value(self, metric: str, value: float) -> str:
        return self.tonnes(value) if metric == "volume_t" else self.money(value)

    def kpi(self, name: str, value: float) -> str:
        if name.endswith("_cny"):
            return self.money(value)
        if name == "volume_t":
            return self.tonnes(value)
        if name.endswith("_pct"):
            return self.percent(value)
        if name.endswith("_days"):
            return self.days(value)
        return self.number(value)

    def change(self, name: str, value: float) -> str | None:
        """A change for st.metric's delta; None when it cannot be computed."""
        if value is None or math.isnan(value):
            return None
        if name.endswith("_pct"):
            return f"{value:+.2f}{self('pp')}" if self.lang == "zh" else f"{value:+.2f}pp"
        return f"{value:+.1f}%"


def in_language(labels: Labels, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as a reader sees it, for pages, the report and exports alike: category keys
    in words, headers in the reader's language, a missing text as "—" (numbers untouched)."""
    shown = frame.copy()
    for col in shown.columns:  # an unknown text value reads as "—", not "None"
        values = shown[col].dropna()
        # all text: pandas checks a text dtype at once and Python objects in C (a lambda per
        # value took 0.2 s on each rerun of a page listing 30,000 customers)
        if len(values) and pd.api.types.is_string_dtype(values) \
                and not isinstance(values.dtype, pd.CategoricalDtype):
            shown[col] = shown[col].where(shown[col].notna(), MISSING)
    for col, field in VALUE_FIELDS.items():
        if col in shown and field:
            shown[col] = labels.values(field, shown[col])
    return shown.rename(columns={c: labels.column(c) for c in shown.columns})
