"""What the churn page shows, as functions of the (scoped) tables so the page can cache them."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from analytics.domain.churn.features import order_span
from analytics.domain.churn.history import load_history
from analytics.domain.churn.model import (
    BANDS,
    Backtest,
    Scores,
    backtest,
    score,
)
from analytics.domain.churn.status import (
    DEFAULT_RULES,
    Rules,
    cohort_rows,
    customer_status,
    day_number,
    lost_in_period,
    recent,
    retention_from_rows,
    status_from_parts,
    status_parts,
    trend_from_parts,
)
from analytics.store.frames import present
from analytics.store.period import Period
from analytics.store.results import as_of_end, kept, last_12_months, own_defaults, storable
from analytics.store.warehouse import Tables


@storable
@dataclass
class StatusViews:
    status: pd.DataFrame   # as status_view
    trend: pd.DataFrame    # customers per status at each month end
    lost: pd.DataFrame     # lost within the period, biggest value first
    cohorts: pd.DataFrame  # the twelve most recent first-order quarters' retention


@kept(last_12_months, rows=True, profit=("value_12m_gross_profit",))
def status_parts_in(tables: Tables, *, period: Period, rules: Rules = DEFAULT_RULES
                    ) -> pd.DataFrame:
    """Each customer's own part of its status (analytics.domain.churn.status.PARTS) at each
    month end of ``period`` and at its end: kept per customer, so a scope's statuses and
    trend are finished from its own rows instead of a second pass over its purchase days."""
    ends = [m.to_timestamp(how="end").date() for m in period.months()]
    return status_parts(load_history(tables), [*ends, period.end], rules)


@kept(as_of_end, rows=True)
def cohort_rows_in(tables: Tables, *, as_of: date) -> pd.DataFrame:
    """Each customer's first-order quarter and later quarters bought in (cohort_rows)."""
    return cohort_rows(load_history(tables), as_of=as_of)


@kept(last_12_months)
def status_views(tables: Tables, *, period: Period, rules: Rules = DEFAULT_RULES
                 ) -> StatusViews:
    """The status part of the churn page, from the per-customer parts (kept with the version
    for every scope) and the master's names."""
    parts = status_parts_in(tables, period=period, rules=rules)
    everyone = status_from_parts(parts[parts["day"] == day_number(pd.Timestamp(period.end))],
                                 _master(tables, parts), rules=rules)
    share = retention_from_rows(cohort_rows_in(tables, as_of=period.end), as_of=period.end)
    return StatusViews(
        status=recent(everyone, lost_since=period.start),
        trend=trend_from_parts(parts, period.months(), rules),
        lost=lost_in_period(everyone, start=period.start, end=period.end),
        # cohorts with at least one later quarter: a readable heatmap
        cohorts=share.dropna(subset=[1]).tail(12) if 1 in share else share)


def _master(tables: Tables, parts: pd.DataFrame) -> pd.DataFrame:
    """The master's names for the status list, as load_history reads them."""
    if tables.customers is None:
        return pd.DataFrame({"customer_id": parts["customer_id"].unique()})
    c = tables.customers
    return c.select("customer_id", *present(c, ("name", "type", "province", "sales_rep"))) \
        .to_pandas()


def status_view(tables: Tables, *, period: Period, rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """Status of every customer at the period end; lost ones only if lost within the period."""
    return customer_status(load_history(tables), as_of=period.end,
                           rules=rules, lost_since=period.start)


@kept(own_defaults)
def backtest_view(tables: Tables, *, kind: str = "logistic", horizon: int | None = None,
                  warmup: int | None = None, tests: int | None = None,
                  cutoff: date | None = None) -> Backtest:
    """The backtest at the settings given, the rest chosen from the data."""
    return backtest(tables, kind=kind, horizon=horizon, warmup_days=warmup, tests=tests,
                    cutoff=cutoff)


@kept(as_of_end)
def score_view(tables: Tables, *, as_of: date, kind: str = "logistic",
               horizon: int | None = None, warmup: int | None = None,
               bands: tuple[float, float] = BANDS) -> Scores:
    _, end = order_span(tables)
    last = min(as_of, end) if end is not None else as_of
    return score(tables, as_of=last + timedelta(days=1), kind=kind, horizon=horizon,
                 warmup_days=warmup, bands=bands)


# What a reader who may not see profit must not meet in the model trained on the whole book:
# the margin feature, the reason written from it, and profit as the value at stake
PROFIT_FEATURES = ("margin_pct_365",)
PROFIT_FACTS = ("margin",)


def scores_for(scores: Scores, ids: Collection[str] | None, *, sees_profit: bool) -> Scores:
    """The one model's scores as a scope reads them: the customers in ``ids`` (every customer
    when None), and for a reader who may not see profit, no margin feature or reason and
    revenue as the value at stake (expected loss and order follow it). The probabilities are
    the whole book's: a rep's customer has the risk the executive sees, not a second model's
    trained on twenty customers."""
    if ids is None and sees_profit:
        return scores
    frame = scores.customers
    if ids is not None:
        wanted = set(ids)  # a set: isin on Arrow strings was slow for a large book
        frame = frame[[c in wanted for c in frame["customer_id"]]]
    columns, typical = scores.columns, scores.typical
    if not sees_profit:
        frame = frame.drop(columns=present(frame, PROFIT_FEATURES))
        frame = frame.assign(
            value_12m=frame["revenue_12m"],
            expected_loss=frame["probability"] * frame["revenue_12m"].clip(lower=0),
            raising=_without(frame["raising"], PROFIT_FACTS),
            lowering=_without(frame["lowering"], PROFIT_FACTS))
        frame = frame.sort_values(["expected_loss", "probability", "customer_id"],
                                  ascending=[False, False, True])
        columns = [c for c in columns if c not in PROFIT_FEATURES]
        typical = {k: v for k, v in typical.items() if k not in PROFIT_FEATURES}
    return dataclasses.replace(scores, customers=frame.reset_index(drop=True),
                               columns=columns, typical=typical)


def _without(reasons: pd.Series, facts: Collection[str]) -> pd.Series:
    return pd.Series([[r for r in row if r not in facts] for row in reasons],
                     index=reasons.index, dtype=object)


def backtest_for(result: Backtest, ids: Collection[str] | None, *, sees_profit: bool
                 ) -> Backtest:
    """The one model's backtest as a scope reads it: its scores of the whole book (what the
    model is worth), the feature list without margin for a reader who may not see profit,
    and the per-customer predictions of the scope's customers only."""
    if ids is None and sees_profit:
        return result
    predictions = result.predictions
    if ids is not None and len(predictions):
        wanted = set(ids)
        predictions = predictions[[c in wanted for c in predictions["customer_id"]]]
    columns = result.columns if sees_profit else [c for c in result.columns
                                                   if c not in PROFIT_FEATURES]
    return dataclasses.replace(result, columns=columns,
                               predictions=predictions.reset_index(drop=True))
