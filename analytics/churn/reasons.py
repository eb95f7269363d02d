"""Plain words for the churn reasons: each feature named on the risk list is written out with
the customer's own numbers ("58 days since the last order, 2.8× its usual 21-day cycle")."""

from __future__ import annotations

import math
from collections.abc import Mapping

from analytics.churn.features import RATIO_CAP
from analytics.i18n import Labels


def _f(row: Mapping[str, object], key: str) -> float:
    value = row.get(key)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def describe(feature: str, row: Mapping[str, object], labels: Labels) -> str:
    """One reason in the user's language; falls back to the feature's name."""
    v = _f(row, feature)
    values: dict[str, object] = {}
    key = f"reason_{feature}"
    if feature in ("recency_days", "recency_over_cycle"):
        values = {"days": f"{_f(row, 'recency_days'):.0f}", "ratio": f"{v:.1f}",
                  "cycle": f"{_f(row, 'cycle_days'):.0f}"}
        if feature == "recency_over_cycle" and math.isnan(v):
            key = "reason_recency_days"
    elif feature in ("revenue_trend", "volume_trend"):
        values = {"pct": f"{v * 100:.0f}"}
    elif feature == "log_revenue_365":
        values = {"amount": labels.money(math.expm1(v)) if not math.isnan(v) else "—"}
    elif feature == "only_purchase_log_value":
        values = {"amount": labels.money(math.expm1(v)) if not math.isnan(v) else "—",
                  "days": f"{_f(row, 'recency_days'):.0f}"}
    elif feature in ("overdue_share", "credit_use"):
        # the features stop at RATIO_CAP: 500 % there means "500 % or more"
        values = {"pct": "—" if math.isnan(v) else f"≥{RATIO_CAP * 100:.0f}"
                  if v >= RATIO_CAP else f"{v * 100:.0f}"}
    elif feature == "tenure_days":
        values = {"years": f"{v / 365.25:.1f}"}
    elif feature in ("type", "province"):
        values = {"value": labels.value(feature, row.get(feature))}
    else:
        values = {"value": f"{v:.1f}" if not v.is_integer() else f"{v:.0f}"} \
            if not math.isnan(v) else {"value": "—"}
    try:
        return labels(key, **values)
    except KeyError:
        return feature


def describe_all(features: list[str], row: Mapping[str, object], labels: Labels) -> str:
    # the cycle's text already says the days since the last order ("no order for 94 days;
    # 94 days since the last order, 2.8× its usual cycle" said it twice), and without a cycle
    # it falls back to the very words of recency_days
    if "recency_over_cycle" in features:
        features = [f for f in features if f != "recency_days"]
    texts = dict.fromkeys(describe(f, row, labels) for f in features)
    return ("；" if labels.lang == "zh" else "; ").join(texts)
