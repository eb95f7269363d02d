"""跟进 "Did it work?" in words: one sentence for the page and the report alike."""

from __future__ import annotations

from datetime import date

import pandas as pd

from analytics.display.i18n import Labels
from analytics.domain.followups import HEADLINE_WINDOW


def picker_label(labels: Labels, row: dict[str, object]) -> str:
    """One open follow-up as a choice in a picker: customer · action · due (· days late)."""
    late = f" · {labels('fu_late', days=row['days_late'])}" if row["overdue"] else ""
    due = row["due"]
    return (f"{row['customer_name'] or row['customer_id']} · "
            f"{labels.value('fu_action', row['action'])} · "
            f"{labels.date(due) if isinstance(due, date) else due}{late}")


def statement(labels: Labels, effect: pd.DataFrame) -> str | None:
    """The headline window's comparison as a sentence (None when no follow-up can be judged
    in it), from ``followups.effect``'s overall rows."""
    row = effect[effect["window_days"] == HEADLINE_WINDOW].iloc[0]
    if not row["followed"]:
        return None
    return labels("fu_effect_statement", days=HEADLINE_WINDOW,
                  followed=f"{int(row['followed']):,}",
                  followed_pct=labels.percent(row["followed_pct"]),
                  comparable_pct=labels.percent(row["comparable_pct"]),
                  diff=f"{row['difference_pts']:+.1f}", low=f"{row['low_pts']:+.1f}",
                  high=f"{row['high_pts']:+.1f}")


def verdict(labels: Labels, effect: pd.DataFrame) -> str:
    """What the headline window allows one to conclude, in words."""
    row = effect[effect["window_days"] == HEADLINE_WINDOW].iloc[0]
    return labels.value("fu_conclusion", row["conclusion"])
