"""客户流失 Churn: status indicators against each customer's own cycle, and a classifier of
"no order in the next H days" with a time-based backtest against simple baselines."""

from analytics.domain.churn.bgnbd import BGNBD
from analytics.domain.churn.features import HORIZON_DAYS, feature_table, features, labels
from analytics.domain.churn.history import History, load_history
from analytics.domain.churn.model import (
    BANDS,
    MODELS,
    SCORERS,
    Backtest,
    Scores,
    backtest,
    band,
    cutoffs,
    metrics,
    pipeline,
    score,
)
from analytics.domain.churn.settings import NotEnoughHistory, Settings
from analytics.domain.churn.status import (
    FOLLOW_UP,
    ONE_TIME_STATUSES,
    REPEAT_STATUSES,
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
    "BGNBD",
    "FOLLOW_UP",
    "HORIZON_DAYS",
    "MODELS",
    "ONE_TIME_STATUSES",
    "REPEAT_STATUSES",
    "SCORERS",
    "STATUSES",
    "Backtest",
    "History",
    "NotEnoughHistory",
    "Rules",
    "Scores",
    "Settings",
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
from analytics.domain.churn.views import (
    backtest_for,
    backtest_view,
    score_view,
    scores_for,
    status_view,
    status_views,
)

__all__ += ["backtest_for", "backtest_view", "score_view", "scores_for", "status_view",
            "status_views"]
