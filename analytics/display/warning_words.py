"""The early-warning list's reasons in the reader's language."""

from __future__ import annotations

import pandas as pd

from analytics.display.i18n import Labels
from analytics.store.frames import select

COLUMNS = ("customer_id", "name", "money_at_stake_cny", "reasons", "overdue_cny",
           "over_limit_cny", "probability")


def shown(rows: pd.DataFrame, labels: Labels, *, rules: bool) -> pd.DataFrame:
    """Early-warning rows as the credit page shows them: reasons in words, the probability
    in % (none when the status rules stood in for the model)."""
    rows = rows.assign(reasons=[describe(r, labels) for r in rows["reasons"]],
                       probability=rows["probability"] * 100)
    return select(rows.drop(columns="probability") if rules else rows, COLUMNS)


def describe(reasons: list[tuple[str, float]], labels: Labels) -> str:
    """An early-warning row's reasons (analytics.domain.warning codes them) in words."""
    texts = []
    for code, value in reasons:
        if code == "churn":
            texts.append(labels("warn_churn", pct=f"{value * 100:.0f}"))
        elif code == "status_overdue":
            texts.append(labels("warn_status_overdue", ratio=f"{value:.1f}"))
        elif code == "status_declining":
            texts.append(labels("warn_status_declining", pct=f"{value * 100:.0f}"))
        elif code == "status_waiting":
            texts.append(labels("warn_status_waiting", days=f"{value:.0f}"))
        elif code in ("overdue", "over_limit"):
            texts.append(labels(f"warn_{code}", amount=labels.money(value)))
        else:
            texts.append(labels("warn_prices", pct=f"{value * 100:.1f}"))
    return ("；" if labels.lang == "zh" else "; ").join(texts)
