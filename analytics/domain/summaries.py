"""Summary tables kept with each version: purchase days and invoice settlement.

The churn features (and the model trained on twenty cutoffs of them, and the churn status
views) start from two intermediate tables that cost most of their time on a large book: every
customer's purchase days with the gap since the previous one (ten million order lines grouped
and windowed: about 1 s), and every invoice with the date its payments covered it (four million
invoices joined to five million payments: about 0.6 s). Both depend only on the data, so each
write computes them once, in the same atomic write as the data (analytics.domain.derive calls
``write``), and the features read them instead (1 s → 0.2 s and 0.75 s → 0.2 s at 10 M lines).

Like the stored results they describe the whole book: ``kept_purchase_days`` and
``kept_settlement`` give them only for tables that are still the whole book as written
(analytics.store.derived), so a scoped or filtered view (a rep's customers, a province, a
product category, hidden profit) computes from its own rows. A version written before them
simply has none and computes as before.
"""

from __future__ import annotations

import duckdb
import ibis

from analytics.domain.measures import with_settlement
from analytics.store import derived
from analytics.store.warehouse import SUMMARY_TABLES, Tables, tables_from

PURCHASE_DAYS, INVOICE_SETTLEMENT = SUMMARY_TABLES[:2]

INVOICE_COLUMNS = ("invoice_id", "customer_id", "invoice_date", "due_date", "amount_cny",
                   "settled_on")


def purchase_days(tables: Tables) -> ibis.Table:
    """One row per customer and order day: revenue, tonnes, gross profit and the revenue of
    the lines with a cost (margin's denominator) where known, and ``gap``, the days since the
    customer's previous order day (null on the first)."""
    orders = tables.get("orders")
    agg = {"revenue_cny": orders.amount_cny.sum()}
    if "volume_t" in orders.columns:
        agg["volume_t"] = orders.volume_t.sum()
    if "cost_cny" in orders.columns:
        agg["gross_profit_cny"] = (orders.amount_cny - orders.cost_cny).sum()
        agg["costed_revenue_cny"] = orders.amount_cny.sum(where=orders.cost_cny.notnull())
    days = orders.group_by(["customer_id", orders.order_date.name("date")]).aggregate(**agg)
    window = ibis.window(group_by="customer_id", order_by="date")
    return days.mutate(gap=days.date.delta(days.date.lag().over(window), unit="day"))


def invoice_settlement(tables: Tables) -> ibis.Table | None:
    """Every invoice with ``settled_on``: the date all its payments covered it (null while
    they do not); None without invoices and payments to read."""
    if not (tables.has("invoices", *INVOICE_COLUMNS[:5])
            and tables.has("payments", "invoice_id", "paid_date", "paid_cny")):
        return None
    settled = with_settlement(tables.get("invoices"), tables.get("payments"))
    return settled.select(*INVOICE_COLUMNS)


def kept_purchase_days(tables: Tables) -> ibis.Table | None:
    """``purchase_days`` as written with the version, for the whole book; else None."""
    return derived.table(tables, PURCHASE_DAYS)


def kept_settlement(tables: Tables) -> ibis.Table | None:
    """``invoice_settlement`` as written with the version, for the whole book; else None."""
    return derived.table(tables, INVOICE_SETTLEMENT)


def write(con: duckdb.DuckDBPyConnection) -> None:
    """Compute the summaries from the data in ``con`` (a version being written)."""
    backend = ibis.duckdb.from_connection(con)
    tables = tables_from(backend)
    exprs = {PURCHASE_DAYS: purchase_days(tables) if tables.orders is not None else None,
             INVOICE_SETTLEMENT: invoice_settlement(tables)}
    for name, expr in exprs.items():
        con.execute(f'DROP TABLE IF EXISTS "{name}"')
        if expr is not None:
            backend.create_table(name, expr)
