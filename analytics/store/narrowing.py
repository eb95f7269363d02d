"""Narrowing the tables to a set of customers: the one place that knows which tables are keyed
by customer. The user's scope (analytics.store.access) and the sidebar filters
(analytics.store.filters) both narrow through here, so both mark the tables as narrowed and
company-wide figures (stock against sales) can say they no longer match.
"""

from __future__ import annotations

import ibis

from analytics.store.warehouse import Tables

# Tables keyed by customer_id: narrowed to the chosen customers.
CUSTOMER_KEYED = ("orders", "invoices", "surveys", "complaints", "contacts",
                  "reseller_reviews")


def to_customers(tables: Tables, customers: ibis.Table, *,
                 target_reps: ibis.Column | list[str] | None = None,
                 master: bool = True) -> Tables:
    """The tables narrowed to ``customers`` (a filtered customers table, or with ``master``
    False any table of customer ids): every customer-keyed table, payments through their
    invoices, and the targets to ``target_reps`` when given (targets are per rep)."""
    ids = customers.customer_id
    changes: dict[str, ibis.Table] = {"customers": customers} if master else {}
    for name in CUSTOMER_KEYED:
        table = getattr(tables, name)
        if table is not None:
            changes[name] = table.filter(table.customer_id.isin(ids))
    if tables.payments is not None and "invoices" in changes:
        changes["payments"] = tables.payments.filter(
            tables.payments.invoice_id.isin(changes["invoices"].invoice_id))
    if tables.targets is not None and target_reps is not None:
        changes["targets"] = tables.targets.filter(tables.targets.rep.isin(target_reps))
    return tables.narrowed(to_ids=customers.select("customer_id"), customer_filtered=True,
                           **changes)


def to_nothing(tables: Tables) -> Tables:
    """Every customer-keyed table (and customers, payments, targets) emptied: what a user sees
    whose rows cannot be determined. Scoping fails closed."""
    changes: dict[str, ibis.Table] = {}
    for name in ("customers", *CUSTOMER_KEYED, "payments", "targets"):
        table = getattr(tables, name)
        if table is not None:
            changes[name] = table.filter(ibis.literal(False))
    return tables.with_(customer_filtered=True, **changes)
