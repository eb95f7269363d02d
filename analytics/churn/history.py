"""Purchase history per customer and day, loaded once from the engine for the status rules.

One row per customer and order day: the status rules (own cycle, seasonal pauses, lost after
N days) compare each customer's gaps at many month ends, which pandas does in one pass over
this frame. The classifier's features are computed in the engine instead (features.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from analytics.churn.features import purchase_days
from analytics.warehouse import Tables


@dataclass
class History:
    days: pd.DataFrame          # customer_id, date, revenue_cny, volume_t?, gross_profit_cny?
    customers: pd.DataFrame     # master rows (customer_id, name, type, province, …)
    end: date                   # the last order date in the data

    @property
    def value_column(self) -> str:
        """Gross profit when costs are known, else revenue: the 'value at stake'."""
        return "gross_profit_cny" if "gross_profit_cny" in self.days else "revenue_cny"

    @property
    def volume_column(self) -> str:
        return "volume_t" if "volume_t" in self.days else "revenue_cny"


def load_history(tables: Tables) -> History:
    """The purchase days of every customer, sorted, with the customer master."""
    days = purchase_days(tables).to_pandas()
    days["date"] = pd.to_datetime(days["date"])
    days = days.sort_values(["customer_id", "date"]).reset_index(drop=True)
    customers = (tables.customers.to_pandas() if tables.customers is not None
                 else pd.DataFrame({"customer_id": days["customer_id"].unique()}))
    return History(days=days, customers=customers,
                   end=days["date"].max().date() if len(days) else date.today())
