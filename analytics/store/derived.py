"""Reading what a writer derived from the whole book and kept with the version.

The warehouse stores and versions these tables but does not know how they are made: the writer
passes the step that makes them (analytics.domain.derive). A reader gets the whole-book ones
only on tables that are still the whole book as written (``Tables.source``). Tables narrowed by
whole customers and hidden columns only (a scope, a customer filter, hidden profit) still get
what is derived customer by customer, narrowed the same way: the summaries here, and the kept
results marked ``rows`` (analytics.store.results). Any other change (a product filter) drops the
source, and such a view computes from its own rows.
"""

from __future__ import annotations

import ibis

from analytics.store.warehouse import DERIVED_TABLES, STORED_TABLE, Source, Tables

# Columns a summary derives from columns a narrowing may hide (cost): dropped with them.
FROM_HIDDEN = {"cost_cny": ("gross_profit_cny", "gross_profit_365", "costed_revenue_cny")}


def source(tables: Tables, name: str) -> Source | None:
    """The source of ``tables`` when it holds the derived table ``name``, else None."""
    if name not in DERIVED_TABLES:
        raise ValueError(f"not a derived table: {name}")
    src = tables.source
    return src if src is not None and name in src.derived else None


def table(tables: Tables, name: str) -> ibis.Table | None:
    """The derived table ``name`` of the version ``tables`` were read from, as ``tables`` may
    read it: the stored results only for the whole book; a summary (one row per customer and
    day or invoice) narrowed to the customers kept, without the columns hidden. None for
    tables made in memory, a version written without it, or tables changed otherwise."""
    src = source(tables, name)
    if src is None:
        return None
    kept = src.derived_table(name)
    if name == STORED_TABLE:
        return kept if src.whole_book else None
    if src.customers is not None:
        kept = kept.filter(kept.customer_id.isin(src.customers.customer_id))
    drop = [c for c in kept.columns
            if c in src.hidden or any(c in FROM_HIDDEN.get(h, ()) for h in src.hidden)]
    return kept.drop(*drop) if drop else kept


def stored_for_rows(tables: Tables) -> tuple[ibis.Table, Source] | None:
    """The stored results and the source, for a kept result made of one row per customer: it
    serves narrowed tables too, narrowed the same way (analytics.store.results)."""
    src = source(tables, STORED_TABLE)
    return None if src is None else (src.derived_table(STORED_TABLE), src)
