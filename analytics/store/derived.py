"""Reading what a writer derived from the whole book and kept with the version.

The warehouse stores and versions these tables but does not know how they are made: the writer
passes the step that makes them (analytics.domain.derive). A reader gets one only on tables
that are still the whole book as written (``Tables.source``); a scope, a filter or hidden profit
narrows the tables, drops the source, and so computes from its own rows.
"""

from __future__ import annotations

import ibis

from analytics.store.warehouse import DERIVED_TABLES, Tables


def table(tables: Tables, name: str) -> ibis.Table | None:
    """The derived table ``name`` of the version ``tables`` were read from, or None (narrowed
    tables, tables made in memory, or a version written without it)."""
    if name not in DERIVED_TABLES:
        raise ValueError(f"not a derived table: {name}")
    source = tables.source
    if source is None or name not in source.derived:
        return None
    return source.backend.table(name)
