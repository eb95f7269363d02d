"""The churn classifier: a scikit-learn Pipeline, a time-based backtest against two baselines,
and scoring with the reasons for each customer's risk.

Backtest: cutoffs chosen from the data (settings.py: quarters for a long book, months for a
short one). For each test cutoff t the model trains only on cutoffs whose label window had
closed by t (c + H ≤ t), so nothing it learns comes from after t. Three baselines score every
customer at the same cutoffs: the overdue-cycle rule (days since the last order over the
customer's own cycle), recency alone, and BG/NBD's P(no order in H) fitted on the data before t.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analytics.domain.churn import settings as setting
from analytics.domain.churn.features import (
    AT_STAKE,
    CATEGORICAL,
    HORIZON_DAYS,
    customer_ids,
    feature_table,
    order_span,
    process_features,
    with_labels,
)
from analytics.domain.churn.reasons import explain, typical_values
from analytics.domain.churn.settings import Settings
from analytics.domain.churn.status import CYCLE_K, MIN_GAP_DAYS
from analytics.store.frames import present
from analytics.store.results import storable
from analytics.store.warehouse import Tables

# scikit-learn is imported where a model is trained or judged: importing it takes most of a
# second, and the pages that read a model stored with the version (Overview, credit) need none
if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

MODELS = ("logistic", "gradient_boosting")
BANDS = (0.2, 0.5)           # low < 0.2 ≤ medium < 0.5 ≤ high
BAND_NAMES = ("low", "medium", "high")
TEST_CUTOFFS = setting.TEST_CUTOFFS
SCORERS = ("model", "bgnbd", "cycle_rule", "recency")
# counts and day spans enter the logistic model as log(1 + x): a customer at 300 days is not
# ten times one at 30, and on a short log the training cutoffs see shorter spans than the
# scored day, which the log extrapolates to far more gently than the raw days
LOG_COLUMNS = ("recency_days", "tenure_days", "cycle_days", "cycle_spread", "orders_365",
               "orders_90", "recency_over_cycle", "max_days_overdue", "complaints_180",
               "product_breadth")
TRAIN_CUSTOMERS = 5000       # training uses at most this many customers (all, for most traders)
RANDOM_STATE = 0
LOGISTIC_CS = (0.01, 0.03, 0.1, 0.3, 1.0)   # inverse regularisation strengths tried
MIN_OUTCOMES = 5    # rows of the rarer outcome (stayed / churned) needed to train at all


def pipeline(columns: list[str], kind: str = "logistic") -> Pipeline:
    """ColumnTransformer (impute + scale numbers, one-hot categories) + the classifier."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    categorical = [c for c in columns if c in CATEGORICAL]
    logged = [c for c in columns if c in LOG_COLUMNS]
    numeric = [c for c in columns if c not in CATEGORICAL and c not in LOG_COLUMNS]
    prep = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)),
                          ("scale", StandardScaler())]), numeric),
        ("log", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)),
                          ("log", FunctionTransformer(_log1p, feature_names_out="one-to-one")),
                          ("scale", StandardScaler())]), logged),
        ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=5), categorical),
    ])
    if kind == "logistic":
        # the strength of the regularisation is chosen on the training rows alone (3-fold log
        # loss): a small book or a short log wants more of it than a large one, and choosing
        # it from a backtest's test cutoffs would judge the model on what tuned it
        model = LogisticRegressionCV(Cs=LOGISTIC_CS, cv=3, scoring="neg_log_loss",
                                     max_iter=2000)
    elif kind == "gradient_boosting":
        model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05,
                                               max_leaf_nodes=15, l2_regularization=1.0,
                                               random_state=RANDOM_STATE)
    else:
        raise ValueError(f"model must be one of {MODELS}")
    return Pipeline([("prep", prep), ("model", model)])


def _log1p(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(x, 0, None))


def fit(columns: list[str], kind: str, x: pd.DataFrame, y: pd.Series, chosen: Settings
        ) -> Pipeline:
    """The pipeline fitted on ``x``, ``y``; a scope of a few customers (a rep's small book)
    may not hold both outcomes often enough to learn from: TooFewOutcomes, not a crash."""
    counts = y.value_counts()
    if len(counts) < 2 or counts.min() < MIN_OUTCOMES:
        raise setting.TooFewOutcomes(chosen.history_days, need_days=0)
    # MIN_OUTCOMES ≥ 3 rows of each outcome: every fold of the regularisation's 3-fold
    # choice holds both
    return pipeline(columns, kind).fit(x, y)


def settings_for(tables: Tables, **given: object) -> Settings:
    """The backtest's settings for this data (settings.choose); ``given`` fixes any of
    horizon, warmup, spacing, tests, cutoff."""
    first, end = order_span(tables)
    return setting.choose(first, end, **given)  # type: ignore[arg-type]


def cutoffs(tables: Tables, **given: object) -> list[date]:
    """The cutoffs of the setting chosen for the data (settings_for)."""
    try:
        return list(settings_for(tables, **given).cutoffs)
    except setting.NotEnoughHistory:
        return []


def training_customers(tables: Tables, most: int = TRAIN_CUSTOMERS, *, seed: int = 0
                       ) -> list[str] | None:
    """At most ``most`` customers (a fixed random choice; None = all): the model's fit
    levels off long before a large trader's whole book, and every cutoff's features cost
    time in proportion to the customers."""
    ids = customer_ids(tables)
    if len(ids) <= most:
        return None
    return sorted(pd.Series(ids).sample(most, random_state=seed))


def dataset(tables: Tables, cuts: list[date] | tuple[date, ...], horizon: int = HORIZON_DAYS,
            *, customers: list[str] | None = None) -> pd.DataFrame:
    """Features (with the repeat-purchase process's) and the label of every customer in
    each cutoff's population."""
    frame = with_labels(feature_table(tables, cuts, customers=customers), tables, horizon,
                        customers=customers)
    return process_features(frame, horizon)


def feature_columns(data: pd.DataFrame) -> list[str]:
    skip = {"customer_id", "churned", "cutoff", *AT_STAKE}
    return [c for c in data.columns if c not in skip and data[c].notna().any()]


def baseline_scores(x: pd.DataFrame) -> dict[str, pd.Series]:
    """Higher = more likely to churn. One-time buyers have no cycle: the rule treats their
    wait as measured against the population's median cycle. BG/NBD's P(no order in H),
    fitted on the data before the cutoff, where it could be fitted."""
    cycle = x["cycle_days"].fillna(x["cycle_days"].median())
    out = {"bgnbd": x["bgnbd_p_none"].astype(float),
           "cycle_rule": x["recency_days"] / cycle.clip(lower=1),
           "recency": x["recency_days"].astype(float)}
    if out["bgnbd"].isna().any():
        del out["bgnbd"]
    return out


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


def pool(per_cutoff: pd.DataFrame, pred: pd.DataFrame) -> pd.DataFrame:
    """One row per scorer over the test cutoffs: ranking metrics (ROC AUC, PR AUC, lift) as
    the mean of the cutoffs' own — a score ranks the customers of one day, and pooling
    cutoffs would also judge how the score's level drifts between days, which favours
    recency (its scale is the same every day) over a model trained per cutoff — and the Brier
    score over every prediction (a probability must be right on every day)."""
    rows = []
    for s in SCORERS:
        if f"p_{s}" not in pred or pred[f"p_{s}"].isna().any():
            continue
        mine = per_cutoff[per_cutoff["scorer"] == s]
        row = {"scorer": s, **metrics(pred["churned"], pred[f"p_{s}"])}
        for m in ("roc_auc", "pr_auc", "lift_top_decile"):
            row[m] = float(mine[m].mean())
        rows.append(row)
    return pd.DataFrame(rows)


@storable
@dataclass
class Backtest:
    model: str
    columns: list[str]
    per_cutoff: pd.DataFrame        # cutoff, scorer, roc_auc, pr_auc, brier, lift, …
    pooled: pd.DataFrame            # one row per scorer over all test cutoffs
    calibration: pd.DataFrame       # predicted vs observed, 10 bins
    predictions: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    settings: Settings | None = None


def backtest(tables: Tables, *, kind: str = "logistic", horizon: int | None = None,
             tests: int | None = None, warmup_days: int | None = None,
             cutoff: date | None = None, spacing: str | None = None) -> Backtest:
    """Score every customer at each test cutoff with a model trained on the cutoffs before
    it (a sample of at most TRAIN_CUSTOMERS customers), beside the baselines. Settings not
    given are chosen from the data (settings.choose); raises settings.NotEnoughHistory."""
    chosen = settings_for(tables, horizon=horizon, tests=tests, warmup=warmup_days,
                          cutoff=cutoff, spacing=spacing)
    h = chosen.horizon
    train_cuts = sorted({c for t in chosen.test_cutoffs for c in chosen.trainable(t)})
    train_all = dataset(tables, train_cuts, h, customers=training_customers(tables))
    test_all = dataset(tables, list(chosen.test_cutoffs), h)
    columns = feature_columns(pd.concat([train_all, test_all.iloc[:0]]))
    columns = [c for c in columns if train_all[c].notna().any()]
    rows, preds = [], []
    for t in chosen.test_cutoffs:
        t_stamp = pd.Timestamp(t)
        train = train_all[train_all["cutoff"] + pd.Timedelta(days=h) <= t_stamp]
        test = test_all[test_all["cutoff"] == t_stamp]
        model = fit(columns, kind, train[columns], train["churned"], chosen)
        scores = {"model": pd.Series(model.predict_proba(test[columns])[:, 1],
                                     index=test.index),
                  **baseline_scores(test)}
        for name, p in scores.items():
            rows.append({"cutoff": t, "scorer": name, **metrics(test["churned"], p)})
        preds.append(test[["customer_id", "cutoff", "churned"]].assign(
            **{f"p_{k}": v for k, v in scores.items()}))
    per_cutoff = pd.DataFrame(rows)
    pred = pd.concat(preds, ignore_index=True)
    pooled = pool(per_cutoff, pred)
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(pred["churned"], pred["p_model"], n_bins=10,
                                            strategy="quantile")
    calibration = pd.DataFrame({"predicted": predicted, "observed": observed})
    return Backtest(kind, columns, per_cutoff, pooled, calibration, pred, chosen)


@storable
@dataclass
class Scores:
    as_of: date
    model: str
    columns: list[str]
    customers: pd.DataFrame   # customer_id, probability, band, value_12m, expected_loss,
                              # raising (list of (feature, value)), lowering, name, …
    train_cutoffs: int
    settings: Settings | None = None
    typical: dict[str, Any] = field(default_factory=dict)   # what reasons compare with


def band(p: pd.Series, cuts: tuple[float, float] = BANDS) -> pd.Series:
    low, high = cuts
    lowest, middle, highest = BAND_NAMES
    return pd.Series(np.select([p >= high, p >= low], [highest, middle], lowest), index=p.index)


def past_cycle(x: pd.DataFrame) -> pd.Series:
    """The status rule's overdue test on the features: past k × its own cycle (and two
    weeks)."""
    ratio = x["recency_over_cycle"] if "recency_over_cycle" in x else pd.Series(
        np.nan, index=x.index)
    return (ratio > CYCLE_K) & (x["recency_days"] > MIN_GAP_DAYS)


def floor_past_cycle(frame: pd.DataFrame) -> pd.DataFrame:
    """A customer past its own cycle by the status rule is never in the low band: it is
    medium, and its wait is the first reason raising the risk (the model may weigh the wait
    less than the rule does, but a manager looking at the list must see it)."""
    out = frame.copy()
    hit = out["past_cycle"].fillna(False).to_numpy(dtype=bool) & (out["band"] == "low") \
        .to_numpy()
    out.loc[hit, "band"] = "medium"
    out["raising"] = [(["wait"] + [r for r in up if r != "wait"]) if flag else up
                      for up, flag in zip(out["raising"], out["past_cycle"].fillna(False),
                                          strict=True)]
    out["lowering"] = [[r for r in down if r != "wait"] if flag else down
                       for down, flag in zip(out["lowering"], out["past_cycle"].fillna(False),
                                             strict=True)]
    return out


def score(tables: Tables, *, as_of: date | None = None, kind: str = "logistic",
          horizon: int | None = None, bands: tuple[float, float] = BANDS,
          reasons: int = 3, warmup_days: int | None = None, spacing: str | None = None
          ) -> Scores:
    """Train on every cutoff whose label window has closed by ``as_of`` and score the
    customers active in the 12 months before ``as_of`` (default: the day after the data
    ends). Settings not given are the backtest's for this data (settings.for_scoring);
    raises settings.NotEnoughHistory."""
    first, end = order_span(tables)
    as_of = as_of or (end + timedelta(days=1) if end else date.today())
    chosen = setting.for_scoring(first, end, as_of=as_of, horizon=horizon,
                                 warmup=warmup_days, spacing=spacing)
    cuts, h = list(chosen.cutoffs), chosen.horizon
    data = dataset(tables, cuts, h, customers=training_customers(tables))
    columns = feature_columns(data)
    model = fit(columns, kind, data[columns], data["churned"], chosen)
    now = process_features(feature_table(tables, [as_of]), h).drop(columns="cutoff") \
        .set_index("customer_id")
    for col in columns:
        if col not in now:
            now[col] = np.nan
    p = pd.Series(model.predict_proba(now[columns])[:, 1], index=now.index)
    typical = typical_values(data[columns])
    raising, lowering = explain(model, now[columns], typical, reasons=reasons)
    value = now["value_365"]
    out = pd.DataFrame({"probability": p, "band": band(p, bands), "value_12m": value,
                        "expected_loss": p * value.clip(lower=0), "raising": raising,
                        "lowering": lowering, "revenue_12m": now["revenue_365"]},
                       index=now.index)
    out["past_cycle"] = past_cycle(now)
    out = floor_past_cycle(out)
    out["_horizon"] = h
    out = out.join(now[columns]).reset_index()
    if tables.customers is not None:
        info = present(tables.customers, ("name", "sales_rep"))
        names = tables.customers.select("customer_id", *info).to_pandas() \
            .drop_duplicates("customer_id")
        out = out.merge(names, on="customer_id", how="left")
    out = out.sort_values(["expected_loss", "probability", "customer_id"],
                          ascending=[False, False, True]).reset_index(drop=True)
    return Scores(as_of, kind, columns, out, len(cuts), chosen, typical)
