"""Why the model puts a customer's risk where it does, as facts a manager can check.

Features are grouped into facts (the wait since the last order is one fact, whether measured in
days or against the customer's cycle; a one-time buyer's single order is one fact, its age and
its size together). A fact's effect on a customer is the change in probability when all its
features are set to the book's typical values at once, so a fact has one effect and stands on
one side only. A fact is named only when the customer's value lies on the side its text
supports — a wait longer than typical may raise the risk, never lower it — so no reason
contradicts the number it shows. The texts (analytics.display.churn_words) fill in the
customer's own values ("58 days since the last order, 2.8× its usual 21-day cycle").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analytics.domain.churn.features import CATEGORICAL
from analytics.store.frames import present
from analytics.store.results import storable

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

MIN_EFFECT = 0.01     # a fact moving the probability by less than a point is not a reason


@storable
@dataclass(frozen=True)
class Fact:
    features: tuple[str, ...]
    key: str            # the feature whose value decides which side the text can stand on
    direction: int      # +1: higher is riskier, -1: lower is riskier, 0: no side of its own


FACTS: dict[str, Fact] = {
    "wait": Fact(("recency_days", "recency_over_cycle"), "recency_days", 1),
    "frequency": Fact(("orders_365", "orders_90", "one_time_buyer"), "orders_365", -1),
    "rhythm": Fact(("cycle_days",), "cycle_days", 1),
    "irregular": Fact(("cycle_spread",), "cycle_spread", 1),
    "first_order": Fact(("first_purchase_log_value", "only_purchase_log_value"),
                        "first_purchase_log_value", -1),
    "size": Fact(("log_revenue_365",), "log_revenue_365", -1),
    "trend": Fact(("volume_trend", "revenue_trend"), "trend", -1),
    "margin": Fact(("margin_pct_365",), "margin_pct_365", 0),
    "breadth": Fact(("product_breadth",), "product_breadth", -1),
    "complaints": Fact(("complaints_180",), "complaints_180", 1),
    "satisfaction": Fact(("satisfaction",), "satisfaction", -1),
    "recommend": Fact(("recommend",), "recommend", -1),
    "overdue": Fact(("overdue_share", "max_days_overdue"), "overdue_share", 1),
    "credit_use": Fact(("credit_use",), "credit_use", 1),
    "tenure": Fact(("tenure_days",), "tenure_days", -1),
    "pattern": Fact(("bgnbd_p_none", "bgnbd_log_expected"), "bgnbd_p_none", 1),
    "type": Fact(("type",), "type", 0),
    "province": Fact(("province",), "province", 0),
}
# A customer with one order so far: when it was, how big it was, how long it has been a
# customer and how often it orders are all that one order; said once.
ONE_ORDER = Fact(("recency_days", "recency_over_cycle", "orders_365", "orders_90",
                  "one_time_buyer", "first_purchase_log_value", "only_purchase_log_value",
                  "tenure_days", "cycle_days", "cycle_spread"), "recency_days", 1)
ONE_ORDER_REPLACES = ("wait", "frequency", "rhythm", "irregular", "first_order", "tenure")


def _key_values(fact: Fact, x: pd.DataFrame) -> pd.Series:
    if fact.key == "trend":
        col = next((c for c in fact.features if c in x), None)
        return x[col] if col else pd.Series(np.nan, index=x.index)
    return x[fact.key] if fact.key in x else pd.Series(np.nan, index=x.index)


def _typical(values: pd.Series) -> Any:
    if values.name in CATEGORICAL:
        return values.mode().iloc[0]
    return values.median()


def typical_values(reference: pd.DataFrame) -> dict[str, Any]:
    """The book's typical value of each feature (median; most common category) in the
    training data: what a fact is compared with."""
    out = {}
    for c in reference.columns:
        v = _typical(reference[c])
        out[str(c)] = v if isinstance(v, str) else float(v)
    return out


def explain(model: Pipeline, x: pd.DataFrame, typical: Mapping[str, Any], *, reasons: int = 3
            ) -> tuple[list[list[str]], list[list[str]]]:
    """Per row, the facts that raise and lower its risk most (at most ``reasons`` each),
    against the ``typical`` values (typical_values of the training data). Model-agnostic
    (it asks the fitted pipeline), so it explains gradient boosting as well."""
    base = model.predict_proba(x)[:, 1]
    one_time = (x["one_time_buyer"] == 1).to_numpy() if "one_time_buyer" in x else \
        np.zeros(len(x), dtype=bool)
    facts = {**FACTS, "one_order": ONE_ORDER}
    effects: dict[str, np.ndarray] = {}
    allowed: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name, fact in facts.items():
        cols = present(x, fact.features)
        if not cols:
            continue
        changed = x.copy()
        for c in cols:
            changed[c] = typical[c]
        effect = base - model.predict_proba(changed)[:, 1]
        key = _key_values(fact, x)
        known = key.notna().to_numpy()
        # a missing value is filled in by the pipeline: what moves the risk then is the
        # filling, nothing known about the customer, so it is no reason to name ("uses nan%
        # of its credit limit" for a customer without a limit)
        effect = np.where(known, effect, 0.0)
        if fact.direction and key.name in typical and key.name not in CATEGORICAL:
            diff = (key.astype(float) - float(typical[str(key.name)])).to_numpy()
            up_ok, down_ok = diff * fact.direction > 0, diff * fact.direction < 0
        else:
            up_ok = down_ok = np.ones(len(x), dtype=bool)
        effects[name] = effect
        allowed[name] = (up_ok, down_ok)
    names = list(effects)
    values = np.column_stack([effects[n] for n in names]) if names else np.zeros((len(x), 0))
    for j, n in enumerate(names):
        # a one-time buyer is judged by its one order; a repeat buyer never by that fact
        if n in ONE_ORDER_REPLACES:
            values[one_time, j] = 0.0
        elif n == "one_order":
            values[~one_time, j] = 0.0
    ups = np.column_stack([allowed[n][0] for n in names]) if names else values.astype(bool)
    downs = np.column_stack([allowed[n][1] for n in names]) if names else values.astype(bool)
    rising = np.where(ups & (values > MIN_EFFECT), values, 0.0)
    falling = np.where(downs & (values < -MIN_EFFECT), values, 0.0)
    order_up = np.argsort(-rising, axis=1, kind="stable")[:, :reasons]
    order_down = np.argsort(falling, axis=1, kind="stable")[:, :reasons]
    up = [[names[j] for j in idx if row[j] > 0] for idx, row in zip(order_up, rising,
                                                                     strict=True)]
    down = [[names[j] for j in idx if row[j] < 0] for idx, row in zip(order_down, falling,
                                                                       strict=True)]
    return up, down


# the fact each feature belongs to
FEATURE_FACT = {f: name for name, fact in FACTS.items() for f in fact.features}
