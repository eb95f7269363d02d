"""客户流失 Churn: status indicators against each customer's own cycle, and a classifier of
"no order in the next H days" with a time-based backtest against simple baselines."""

from analytics.churn.features import HORIZON_DAYS, feature_table, features, labels
from analytics.churn.history import History, load_history
from analytics.churn.model import (
    BANDS,
    MODELS,
    Backtest,
    Scores,
    backtest,
    band,
    cutoffs,
    metrics,
    pipeline,
    score,
)
from analytics.churn.status import (
    STATUSES,
    Rules,
    cohort_retention,
    customer_status,
    lost_in_period,
    status_summary,
    status_trend,
)

__all__ = [
    "BANDS",
    "HORIZON_DAYS",
    "MODELS",
    "STATUSES",
    "Backtest",
    "History",
    "Rules",
    "Scores",
    "backtest",
    "band",
    "cohort_retention",
    "customer_status",
    "cutoffs",
    "feature_table",
    "features",
    "labels",
    "load_history",
    "lost_in_period",
    "metrics",
    "pipeline",
    "score",
    "status_summary",
    "status_trend",
]
from analytics.churn.views import (
    backtest_view,
    risk_table,
    score_view,
    status_view,
    status_views,
)

__all__ += ["backtest_view", "risk_table", "score_view", "status_view", "status_views"]
