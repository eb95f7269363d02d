"""What the churn page shows, as functions of the (scoped) tables so the page can cache them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from analytics.churn.features import HORIZON_DAYS, order_span
from analytics.churn.history import load_history
from analytics.churn.model import BANDS, Backtest, Scores, backtest, score
from analytics.churn.reasons import describe_all
from analytics.churn.status import (
    DEFAULT_RULES,
    Rules,
    cohort_retention,
    customer_status,
    lost_in_period,
    status_trend,
)
from analytics.i18n import Labels
from analytics.period import Period
from analytics.warehouse import Tables


@dataclass
class StatusViews:
    status: pd.DataFrame   # status_view
    trend: pd.DataFrame    # trend_view
    lost: pd.DataFrame     # lost_view
    cohorts: pd.DataFrame  # cohort_view


def status_views(tables: Tables, *, period: Period, rules: Rules = DEFAULT_RULES
                 ) -> StatusViews:
    """The status part of the churn page from one load of the purchase history (each view
    on its own loads it again: a second per view on a large book)."""
    history = load_history(tables)
    status = customer_status(history, as_of=period.end, rules=rules)
    return StatusViews(
        status=status[(status["status"] != "lost") | (status["lost_on"] >= period.start)],
        trend=status_trend(history, months=period.months(), rules=rules),
        lost=lost_in_period(status, start=period.start, end=period.end),
        cohorts=_recent_cohorts(cohort_retention(history, as_of=period.end)))


def status_view(tables: Tables, *, period: Period, rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """Status of every customer at the period end; lost ones only if lost within the period."""
    return customer_status(load_history(tables), as_of=period.end,
                           rules=rules, lost_since=period.start)


def trend_view(tables: Tables, *, period: Period, rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    return status_trend(load_history(tables), months=period.months(),
                        rules=rules)


def cohort_view(tables: Tables, *, period: Period, quarters: int = 12) -> pd.DataFrame:
    return _recent_cohorts(cohort_retention(load_history(tables), as_of=period.end,
                                            quarters=quarters))


def _recent_cohorts(share: pd.DataFrame) -> pd.DataFrame:
    # the twelve most recent cohorts with at least one later quarter: a readable heatmap
    return share.dropna(subset=[1]).tail(12) if 1 in share else share


def lost_view(tables: Tables, *, period: Period, rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    status = customer_status(load_history(tables), as_of=period.end,
                             rules=rules)
    return lost_in_period(status, start=period.start, end=period.end)


def backtest_view(tables: Tables, *, kind: str = "logistic",
                  horizon: int = HORIZON_DAYS) -> Backtest:
    return backtest(tables, kind=kind, horizon=horizon)


def score_view(tables: Tables, *, as_of: date, kind: str = "logistic",
               horizon: int = HORIZON_DAYS, bands: tuple[float, float] = BANDS) -> Scores:
    _, end = order_span(tables)
    last = min(as_of, end) if end is not None else as_of
    return score(tables, as_of=last + timedelta(days=1), kind=kind, horizon=horizon,
                 bands=bands)


def risk_table(scores: Scores, labels: Labels) -> pd.DataFrame:
    """The risk list for display: reasons written out in the user's language."""
    frame = scores.customers
    rows = [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]
    out = frame[[c for c in ("customer_id", "name", "sales_rep", "probability", "band",
                             "value_12m", "expected_loss") if c in frame]].copy()
    out["probability"] = out["probability"] * 100
    out["band"] = out["band"].map(lambda b: labels(f"band_{b}"))
    out["raising"] = [describe_all(r["raising"], r, labels) for r in rows]
    out["lowering"] = [describe_all(r["lowering"], r, labels) for r in rows]
    return out
