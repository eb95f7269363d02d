"""Sales measures as Ibis aggregates, defined once so every page computes them the same way.

Gross profit counts only lines that carry a cost: appending a transactions file without costs
to a warehouse with costs must not turn those lines' revenue into profit. Margin divides that
profit by the revenue of the same lines.
"""

from __future__ import annotations

import ibis
from ibis import _


def has_cost(table: ibis.Table) -> bool:
    return "cost_cny" in table.columns


def has_volume(table: ibis.Table) -> bool:
    return "volume_t" in table.columns


def sales_aggregates(table: ibis.Table) -> dict[str, ibis.Value]:
    """revenue_cny, volume_t (when there is a tonnes column), gross_profit_cny and
    costed_revenue_cny (when there is a cost column)."""
    out: dict[str, ibis.Value] = {"revenue_cny": _.amount_cny.sum()}
    if has_volume(table):
        out["volume_t"] = _.volume_t.sum()
    if has_cost(table):
        out["gross_profit_cny"] = (_.amount_cny - _.cost_cny).sum()
        out["costed_revenue_cny"] = _.amount_cny.sum(where=_.cost_cny.notnull())
    return out
