"""The churn model's results in words: the risk list with its reasons written out, the
settings in one sentence, what a short history lacks (analytics.domain.churn computes them)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from analytics.display.i18n import Labels
from analytics.domain.churn.features import RATIO_CAP
from analytics.domain.churn.model import BANDS, Scores, band, floor_past_cycle
from analytics.domain.churn.reasons import FACTS, FEATURE_FACT
from analytics.domain.churn.settings import (
    HORIZON_DAYS,
    NotEnoughHistory,
    Settings,
    TooFewOutcomes,
)
from analytics.store.frames import select


def _f(row: Mapping[str, object], key: str) -> float:
    value = row.get(key)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _n(v: float) -> str:
    return "—" if math.isnan(v) else f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"


def _money(v: float, labels: Labels) -> str:
    return "—" if math.isnan(v) else labels.money(math.expm1(v))


def _pct(v: float) -> str:
    # the ratio features stop at RATIO_CAP: 500 % there means "500 % or more"
    return "—" if math.isnan(v) else f"≥{RATIO_CAP * 100:.0f}" if v >= RATIO_CAP \
        else f"{v * 100:.0f}"


def describe(fact: str, row: Mapping[str, object], labels: Labels) -> str:
    """One fact (or the fact a feature belongs to) in the user's language, with the
    customer's values."""
    fact = fact if fact in FACTS or fact == "one_order" else FEATURE_FACT.get(fact, fact)
    days = _n(_f(row, "recency_days"))
    if fact == "wait":
        ratio = _f(row, "recency_over_cycle")
        if math.isnan(ratio):
            return labels("reason_recency_days", days=days)
        return labels("reason_recency_over_cycle", days=days, ratio=f"{ratio:.1f}",
                      cycle=_n(_f(row, "cycle_days")))
    if fact == "one_order":
        return labels("reason_one_order", days=days,
                      amount=_money(_f(row, "first_purchase_log_value"), labels))
    if fact == "frequency":
        return labels("reason_frequency", n365=_n(_f(row, "orders_365")),
                      n90=_n(_f(row, "orders_90")))
    if fact == "rhythm":
        cycle = _n(_f(row, "cycle_days"))
        return labels("reason_cycle_one_day") if cycle == "1" else \
            labels("reason_cycle_days", value=cycle)
    if fact == "irregular":
        return labels("reason_cycle_spread", value=_n(_f(row, "cycle_spread")))
    if fact == "first_order":
        return labels("reason_first_order",
                      amount=_money(_f(row, "first_purchase_log_value"), labels))
    if fact == "size":
        return labels("reason_log_revenue_365",
                      amount=_money(_f(row, "log_revenue_365"), labels))
    if fact == "trend":
        volume = not math.isnan(_f(row, "volume_trend"))
        v = _f(row, "volume_trend" if volume else "revenue_trend")
        return labels("reason_volume_trend" if volume else "reason_revenue_trend",
                      pct=_n(v * 100))
    if fact == "overdue":
        share = _f(row, "overdue_share")
        if not share > 0:
            return labels("reason_no_overdue")
        return labels("reason_overdue", pct=_pct(share), days=_n(_f(row, "max_days_overdue")))
    if fact == "credit_use":
        return labels("reason_credit_use", pct=_pct(_f(row, "credit_use")))
    if fact == "tenure":
        return labels("reason_tenure_days", years=f"{_f(row, 'tenure_days') / 365.25:.1f}")
    if fact == "pattern":
        share = _f(row, "bgnbd_p_none")
        return labels("reason_pattern", pct="—" if math.isnan(share) else f"{share * 100:.0f}",
                      days=_n(_f(row, "_horizon")))
    if fact in ("type", "province"):
        return labels(f"reason_{fact}", value=labels.value(fact, row.get(fact)))
    feature = FACTS[fact].features[0]
    return labels(f"reason_{feature}", value=_n(_f(row, feature)))


def describe_all(facts: Sequence[str], row: Mapping[str, object], labels: Labels) -> str:
    texts = dict.fromkeys(describe(f, row, labels) for f in facts)
    return ("；" if labels.lang == "zh" else "; ").join(texts)


def risk_table(scores: Scores, labels: Labels, *, bands: tuple[float, float] = BANDS,
               reasons: bool = True) -> pd.DataFrame:
    """The risk list for display: banded by ``bands`` (the page's cuts), reasons written out
    in the user's language — or, ``reasons=False``, still as the facts' codes, for
    ``in_words`` to write out the rows a page shows (a large book's whole list took a second
    to write out)."""
    frame = floor_past_cycle(scores.customers.assign(
        band=band(scores.customers["probability"], bands)))
    out = select(frame, ("customer_id", "name", "sales_rep", "probability", "band",
                             "value_12m", "expected_loss", "raising", "lowering")).copy()
    out["probability"] = out["probability"] * 100
    out["band"] = out["band"].map(lambda b: labels.value("band", b))
    return in_words(out, scores, labels) if reasons else out


def in_words(risk: pd.DataFrame, scores: Scores, labels: Labels) -> pd.DataFrame:
    """Rows of ``risk_table(..., reasons=False)`` with their reasons written out, each from
    its customer's values in ``scores``."""
    columns = {str(c): scores.customers[c].to_numpy() for c in scores.customers.columns}
    at = pd.Index(scores.customers["customer_id"]).get_indexer(risk["customer_id"])
    raising, lowering = [], []
    for i, up, down in zip(at, risk["raising"], risk["lowering"], strict=True):
        row = _Row(columns, int(i))
        raising.append(describe_all(up, row, labels))
        lowering.append(describe_all(down, row, labels))
    return risk.assign(raising=raising, lowering=lowering)


class _Row(Mapping[str, object]):
    """One customer's values, read from the frame's columns as a fact asks for them: a dict
    per row (to_dict("records") over forty columns) cost half the list's time on a large
    book."""

    __slots__ = ("_columns", "_i")

    def __init__(self, columns: dict[str, np.ndarray], i: int) -> None:
        self._columns, self._i = columns, i

    def __getitem__(self, key: str) -> object:
        return self._columns[key][self._i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


def _why(s: Settings, labels: Labels) -> str:
    key = "settings_default"
    if s.horizon < HORIZON_DAYS and "horizon" not in s.given:
        key = "settings_short_horizon"
    elif s.spacing != "quarter" and "spacing" not in s.given:
        key = "settings_short_spacing"
    why = labels(key, days=labels.number(s.history_days))
    given = [labels.value("setting", g) for g in s.given]
    if given:
        named = ("、" if labels.lang == "zh" else ", ").join(given)
        why += (" " if labels.lang == "en" else "") + labels(
            "settings_given", given=named[:1].upper() + named[1:])
    return why


def settings_text(s: Settings, labels: Labels) -> str:
    """The backtest's settings in one sentence, and why they were chosen."""
    return labels("churn_settings", horizon=s.horizon, spacing=labels.value("spacing", s.spacing),
                  warmup=s.warmup, tests=s.tests, first=labels.date(s.test_cutoffs[0]),
                  last=labels.date(s.test_cutoffs[-1]), why=_why(s, labels))


def score_settings_text(scores: Scores, labels: Labels) -> str:
    """The risk scores' settings in one sentence."""
    s = scores.settings
    if s is None:
        return ""
    return labels("churn_settings_score", horizon=s.horizon, cutoffs=scores.train_cutoffs,
                  spacing=labels.value("spacing", s.spacing), warmup=s.warmup,
                  date=labels.date(scores.as_of))


def need_text(err: NotEnoughHistory, labels: Labels, *, page: bool = True) -> str:
    """What the history lacks for the model, in one sentence."""
    if isinstance(err, TooFewOutcomes):
        return labels("churn_few")
    return labels("churn_need" if page else "churn_need_cli", days=labels.number(err.days),
                  need=labels.number(err.need_days))


def feature_names(columns: list[str], labels: Labels) -> str:
    return ("、" if labels.lang == "zh" else ", ").join(labels.value("feature", c) for c in columns)
