"""Sales and payment measures as Ibis expressions, defined once so every page agrees.

Gross profit counts only lines that carry a cost: appending a transactions file without costs
to a warehouse with costs must not turn those lines' revenue into profit. Margin divides that
profit by the revenue of the same lines.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd
from ibis import _

CENT = 0.01   # an invoice is settled when payments cover it to within a cent


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


def with_settlement(invoices: ibis.Table, payments: ibis.Table) -> ibis.Table:
    """``invoices`` with paid_cny (the sum of ``payments``, 0 without any), last_paid and
    settled_on: the date the payments covered the invoice to within a cent (its last
    payment; the invoice date when it needed none), null while they do not. ``payments``
    is whatever the caller counts: all of them, or those up to a date."""
    totals = payments.group_by("invoice_id").aggregate(paid_cny=_.paid_cny.sum(),
                                                       last_paid=_.paid_date.max())
    j = invoices.left_join(totals, "invoice_id").select(
        *[invoices[c] for c in invoices.columns], totals.paid_cny, totals.last_paid)
    j = j.mutate(paid_cny=j.paid_cny.fill_null(0.0))
    # the very test open items use (amount − paid > CENT is open), not paid ≥ amount − CENT:
    # the two can round differently at exactly a cent
    covered = j.amount_cny - j.paid_cny <= CENT
    return j.mutate(settled_on=ibis.ifelse(covered, j.last_paid.fill_null(j.invoice_date),
                                           ibis.null("date")))


def id_table(ids: Sequence[str]) -> ibis.Table:
    """Customer ids as a small engine table, to narrow others by a semi-join (a literal
    list of thousands of ids in the query text is slow to compile and run)."""
    return ibis.memtable(pd.DataFrame({"customer_id": list(ids)}),
                         schema={"customer_id": "string"})
