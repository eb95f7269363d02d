"""The churn classifier: a scikit-learn Pipeline, a time-based backtest against two baselines,
and scoring with the reasons for each customer's risk.

Backtest: quarterly cutoffs. For each test cutoff t the model trains only on cutoffs whose
label window had closed by t (c + H ≤ t), so nothing it learns comes from after t. The two
baselines score the same customers at the same cutoffs: the overdue-cycle rule (days since the
last order over the customer's own cycle) and recency alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analytics.churn.features import (
    CATEGORICAL,
    HORIZON_DAYS,
    customer_ids,
    feature_table,
    order_span,
    with_labels,
)
from analytics.warehouse import Tables

# scikit-learn is imported where a model is trained or judged: importing it takes most of a
# second, and the pages that read a model stored with the version (Overview, credit) need none
if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

MODELS = ("logistic", "gradient_boosting")
BANDS = (0.2, 0.5)           # low < 0.2 ≤ medium < 0.5 ≤ high
TEST_CUTOFFS = 4             # the last four quarters with a complete label window are tested
TRAIN_CUSTOMERS = 5000       # training uses at most this many customers (all, for most traders)
RANDOM_STATE = 0


def pipeline(columns: list[str], kind: str = "logistic") -> Pipeline:
    """ColumnTransformer (impute + scale numbers, one-hot categories) + the classifier."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [c for c in columns if c in CATEGORICAL]
    numeric = [c for c in columns if c not in CATEGORICAL]
    prep = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)),
                          ("scale", StandardScaler())]), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=5), categorical),
    ])
    if kind == "logistic":
        model = LogisticRegression(max_iter=2000, C=0.5, random_state=RANDOM_STATE)
    elif kind == "gradient_boosting":
        model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05,
                                               max_leaf_nodes=15, l2_regularization=1.0,
                                               random_state=RANDOM_STATE)
    else:
        raise ValueError(f"model must be one of {MODELS}")
    return Pipeline([("prep", prep), ("model", model)])


def cutoffs(tables: Tables, *, horizon: int = HORIZON_DAYS, warmup_days: int = 365
            ) -> list[date]:
    """Quarter starts from ``warmup_days`` after the first order up to the last with a
    complete label window (cutoff + horizon ≤ the data's end)."""
    first, end = order_span(tables)
    if first is None or end is None:
        return []
    start = (pd.Timestamp(first) + pd.Timedelta(days=warmup_days)).to_period("Q") \
        .to_timestamp()
    last = pd.Timestamp(end) - pd.Timedelta(days=horizon)
    return [d.date() for d in pd.date_range(start, last, freq="QS")]


def training_customers(tables: Tables, most: int = TRAIN_CUSTOMERS, *, seed: int = 0
                       ) -> list[str] | None:
    """At most ``most`` customers (a fixed random choice; None = all): the model's fit
    levels off long before a large trader's whole book, and every cutoff's features cost
    time in proportion to the customers."""
    ids = customer_ids(tables)
    if len(ids) <= most:
        return None
    return sorted(pd.Series(ids).sample(most, random_state=seed))


def dataset(tables: Tables, cuts: list[date], horizon: int = HORIZON_DAYS, *,
            customers: list[str] | None = None) -> pd.DataFrame:
    """Features and the label of every customer in each cutoff's population."""
    return with_labels(feature_table(tables, cuts, customers=customers), tables, horizon,
                       customers=customers)


def feature_columns(data: pd.DataFrame) -> list[str]:
    skip = {"customer_id", "churned", "cutoff", "value_365"}
    return [c for c in data.columns if c not in skip and data[c].notna().any()]


def baseline_scores(x: pd.DataFrame) -> dict[str, pd.Series]:
    """Higher = more likely to churn. One-time buyers have no cycle: the rule treats their
    wait as measured against the population's median cycle."""
    cycle = x["cycle_days"].fillna(x["cycle_days"].median())
    return {"cycle_rule": x["recency_days"] / cycle.clip(lower=1),
            "recency": x["recency_days"].astype(float)}


def metrics(y: pd.Series, p: pd.Series) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision), Brier (probabilities only) and top-decile lift."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    truth, score_ = np.asarray(y), np.asarray(p, dtype=float)
    top = score_ >= np.quantile(score_, 0.9)
    out = {"roc_auc": float(roc_auc_score(truth, score_)),
           "pr_auc": float(average_precision_score(truth, score_)),
           "lift_top_decile": float(truth[top].mean() / truth.mean()) if truth.mean()
           else np.nan,
           "base_rate": float(truth.mean()), "customers": len(truth)}
    if score_.min() >= 0 and score_.max() <= 1:
        out["brier"] = float(brier_score_loss(truth, score_))
    return out


@dataclass
class Backtest:
    model: str
    columns: list[str]
    per_cutoff: pd.DataFrame        # cutoff, scorer, roc_auc, pr_auc, brier, lift, …
    pooled: pd.DataFrame            # one row per scorer over all test cutoffs
    calibration: pd.DataFrame       # predicted vs observed, 10 bins
    predictions: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


def backtest(tables: Tables, *, kind: str = "logistic", horizon: int = HORIZON_DAYS,
             tests: int = TEST_CUTOFFS, warmup_days: int = 365) -> Backtest:
    cuts = cutoffs(tables, horizon=horizon, warmup_days=warmup_days)
    if len(cuts) < tests + 2:
        raise ValueError("not enough history for a backtest: need about two years of orders")
    data = dataset(tables, cuts, horizon, customers=training_customers(tables))
    columns = feature_columns(data)
    rows, preds = [], []
    for t in cuts[-tests:]:
        t_stamp = pd.Timestamp(t)
        train = data[data["cutoff"] + pd.Timedelta(days=horizon) <= t_stamp]
        test = data[data["cutoff"] == t_stamp]
        model = pipeline(columns, kind).fit(train[columns], train["churned"])
        scores = {"model": pd.Series(model.predict_proba(test[columns])[:, 1],
                                     index=test.index),
                  **baseline_scores(test)}
        for name, p in scores.items():
            rows.append({"cutoff": t, "scorer": name, **metrics(test["churned"], p)})
        preds.append(test[["customer_id", "cutoff", "churned"]].assign(
            **{f"p_{k}": v for k, v in scores.items()}))
    per_cutoff = pd.DataFrame(rows)
    pred = pd.concat(preds, ignore_index=True)
    pooled = pd.DataFrame([{"scorer": s, **metrics(pred["churned"], pred[f"p_{s}"])}
                           for s in ("model", "cycle_rule", "recency")])
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(pred["churned"], pred["p_model"], n_bins=10,
                                            strategy="quantile")
    calibration = pd.DataFrame({"predicted": predicted, "observed": observed})
    return Backtest(kind, columns, per_cutoff, pooled, calibration, pred)


@dataclass
class Scores:
    as_of: date
    model: str
    columns: list[str]
    customers: pd.DataFrame   # customer_id, probability, band, value_12m, expected_loss,
                              # raising (list of (feature, value)), lowering, name, …
    train_cutoffs: int


def band(p: pd.Series, cuts: tuple[float, float] = BANDS) -> pd.Series:
    low, high = cuts
    return pd.Series(np.select([p >= high, p >= low], ["high", "medium"], "low"), index=p.index)


def score(tables: Tables, *, as_of: date | None = None, kind: str = "logistic",
          horizon: int = HORIZON_DAYS, bands: tuple[float, float] = BANDS,
          reasons: int = 3) -> Scores:
    """Train on every cutoff whose label window has closed by ``as_of`` and score the
    customers active in the 12 months before ``as_of`` (default: the day after the data ends)."""
    _, end = order_span(tables)
    if end is None:
        raise ValueError("not enough history to train: no orders")
    as_of = as_of or end + timedelta(days=1)
    cuts = [c for c in cutoffs(tables, horizon=horizon)
            if pd.Timestamp(c) + pd.Timedelta(days=horizon) <= pd.Timestamp(as_of)]
    if len(cuts) < 2:
        raise ValueError("not enough history to train: need about two years of orders")
    data = dataset(tables, cuts, horizon, customers=training_customers(tables))
    columns = feature_columns(data)
    model = pipeline(columns, kind).fit(data[columns], data["churned"])
    now = feature_table(tables, [as_of]).drop(columns="cutoff").set_index("customer_id")
    for col in columns:
        if col not in now:
            now[col] = np.nan
    p = pd.Series(model.predict_proba(now[columns])[:, 1], index=now.index)
    raising, lowering = explain(model, now[columns], data[columns], reasons=reasons)
    value = now["value_365"]
    out = pd.DataFrame({"probability": p, "band": band(p, bands), "value_12m": value,
                        "expected_loss": p * value.clip(lower=0), "raising": raising,
                        "lowering": lowering}, index=now.index)
    out = out.join(now[columns]).reset_index()
    if tables.customers is not None:
        info = [c for c in ("name", "sales_rep") if c in tables.customers.columns]
        names = tables.customers.select("customer_id", *info).to_pandas() \
            .drop_duplicates("customer_id")
        out = out.merge(names, on="customer_id", how="left")
    out = out.sort_values(["expected_loss", "probability", "customer_id"],
                          ascending=[False, False, True]).reset_index(drop=True)
    return Scores(as_of, kind, columns, out, len(cuts))


def explain(model: Pipeline, x: pd.DataFrame, reference: pd.DataFrame, *, reasons: int = 3
            ) -> tuple[list[list[str]], list[list[str]]]:
    """Per row, the features that raise and lower its risk most: the change in probability
    when the feature is set to the population's typical value (median / most common), one
    feature at a time. Model-agnostic, so it explains gradient boosting as well."""
    base = model.predict_proba(x)[:, 1]
    effects = pd.DataFrame(index=x.index)
    for col in x.columns:
        typical = reference[col].mode().iloc[0] if col in CATEGORICAL else reference[col].median()
        changed = x.copy()
        changed[col] = typical
        effect = base - model.predict_proba(changed)[:, 1]
        if col not in CATEGORICAL:
            # a missing value is filled in by the pipeline: what moves the risk then is the
            # filling, nothing known about the customer, so it is no reason to name ("uses
            # nan% of its credit limit" for a customer without a limit)
            effect = np.where(x[col].isna().to_numpy(), 0.0, effect)
        effects[col] = effect
    # rank each row's effects with numpy (a Python loop over rows of a large book is slow);
    # a stable sort keeps the column order for equal effects, as the row-wise sort did
    names = np.array([str(c) for c in effects.columns])
    values = effects.to_numpy()
    rising = np.argsort(-values, axis=1, kind="stable")[:, :reasons]
    falling = np.argsort(values, axis=1, kind="stable")[:, :reasons]
    up = [[names[j] for j in idx if row[j] > 0.01] for idx, row in zip(rising, values,
                                                                        strict=True)]
    down = [[names[j] for j in idx if row[j] < -0.01] for idx, row in zip(falling, values,
                                                                          strict=True)]
    return up, down
