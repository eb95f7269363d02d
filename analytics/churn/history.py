"""Purchase history per customer and day, loaded once from the engine for the churn rules.

One row per customer and order day (and per category where the data has categories): small
enough for pandas at any scale the product targets, and every churn computation at any cutoff
slices it by date instead of querying again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from ibis import _

from analytics.warehouse import Tables


@dataclass
class History:
    days: pd.DataFrame          # customer_id, date, revenue_cny, volume_t?, gross_profit_cny?
    categories: pd.DataFrame    # customer_id, date, category (empty without categories)
    customers: pd.DataFrame     # master rows (customer_id, name, type, province, …)
    invoices: pd.DataFrame | None
    payments: pd.DataFrame | None
    surveys: pd.DataFrame | None
    complaints: pd.DataFrame | None
    end: date                   # the last order date in the data

    @property
    def value_column(self) -> str:
        """Gross profit when costs are known, else revenue: the 'value at stake'."""
        return "gross_profit_cny" if "gross_profit_cny" in self.days else "revenue_cny"

    @property
    def volume_column(self) -> str:
        return "volume_t" if "volume_t" in self.days else "revenue_cny"

    def sample(self, max_customers: int, *, seed: int = 0) -> History:
        """The history of at most ``max_customers`` customers (a fixed random choice), for
        training: the model's fit levels off long before a large trader's whole book, and
        the features of every cutoff cost time in proportion to the customers."""
        ids = self.days["customer_id"].unique()
        if len(ids) <= max_customers:
            return self
        keep = set(pd.Series(ids).sample(max_customers, random_state=seed))

        def cut(frame: pd.DataFrame | None) -> pd.DataFrame | None:
            return None if frame is None or "customer_id" not in frame else \
                frame[frame["customer_id"].isin(keep)]

        payments = self.payments
        invoices = cut(self.invoices)
        if payments is not None and invoices is not None and "invoice_id" in payments:
            payments = payments[payments["invoice_id"].isin(invoices["invoice_id"])]
        return History(days=self.days[self.days["customer_id"].isin(keep)],
                       categories=self.categories[self.categories["customer_id"].isin(keep)],
                       customers=self.customers[self.customers["customer_id"].isin(keep)],
                       invoices=invoices, payments=payments, surveys=cut(self.surveys),
                       complaints=cut(self.complaints), end=self.end)


def _dates(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        if c in frame:
            frame[c] = pd.to_datetime(frame[c])
    return frame


def load_history(tables: Tables, *, purchases_only: bool = False) -> History:
    """The purchase days (and, unless ``purchases_only``, the categories bought and the
    invoices, payments, surveys and complaints the churn features read). The status rules
    need only the purchase days: skipping the rest saves most of the time and memory on a
    large book."""
    orders = tables.get("orders")
    agg = {"revenue_cny": _.amount_cny.sum()}
    if "volume_t" in orders.columns:
        agg["volume_t"] = _.volume_t.sum()
    if "cost_cny" in orders.columns:
        agg["gross_profit_cny"] = (_.amount_cny - _.cost_cny).sum()
    days = (orders.group_by(["customer_id", orders.order_date.name("date")]).aggregate(**agg)
            .to_pandas())
    days = _dates(days, "date").sort_values(["customer_id", "date"]).reset_index(drop=True)
    if "category" in orders.columns and not purchases_only:
        cats = orders.select("customer_id", orders.order_date.name("date"),
                             "category").distinct().to_pandas()
        cats = _dates(cats, "date")
    else:
        cats = pd.DataFrame(columns=["customer_id", "date", "category"])
    customers = (tables.customers.to_pandas() if tables.customers is not None
                 else pd.DataFrame({"customer_id": days["customer_id"].unique()}))

    def frame(name: str, *date_cols: str) -> pd.DataFrame | None:
        t = getattr(tables, name)
        return None if t is None or purchases_only else _dates(t.to_pandas(), *date_cols)

    return History(
        days=days, categories=cats, customers=customers,
        invoices=frame("invoices", "invoice_date", "due_date"),
        payments=frame("payments", "paid_date"),
        surveys=frame("surveys", "survey_date"),
        complaints=frame("complaints", "opened_date", "closed_date"),
        end=days["date"].max().date() if len(days) else date.today(),
    )
