"""What a writer derives from the data at each write: the summaries, then every kept result.

The warehouse only stores and versions (analytics.store.warehouse): a writer — an import, the
demo — passes ``write`` as the derive step of ``Warehouse.writing``, and it runs inside the
same atomic write as the data. The kept results are the domain functions marked
``@kept(defaults)`` (analytics.store.results); importing the modules below registers them.
"""

from __future__ import annotations

import logging

import duckdb
import ibis

from analytics.domain import (
    card,
    credit,
    customers,
    grading,
    month_ends,
    overview,
    summaries,
    warning,
)
from analytics.domain.churn import views
from analytics.store import results
from analytics.store.warehouse import MissingData, tables_from

# The modules whose functions are kept (what the pages read first); imported for that.
KEPT_IN = (card, credit, customers, grading, overview, views, warning)
_log = logging.getLogger(__name__)


def write(con: duckdb.DuckDBPyConnection) -> int:
    """Compute the summaries and the kept results from the tables in ``con`` (a version being
    written) and store them. Returns how many results were stored.

    The per-customer results (``rows``) come first, those made of other kept results
    (``late``) last, and each result is stored as soon as it is computed: the later ones read
    them as a page would (the card's standing grades each year from the kept factor inputs,
    the early-warning list takes the churn model's scores) instead of computing them twice."""
    summaries.write(con)  # first: the results below read them
    try:  # the follow-ups' strata at every month end (analytics.domain.month_ends)
        month_ends.write(con)
    except Exception:  # like a kept result: never blocks an import; computed on request
        _log.exception("%s not derived", month_ends.TABLE)
        con.execute(f'DROP TABLE IF EXISTS "{month_ends.TABLE}"')
    results.write(con, [])
    tables = tables_from(ibis.duckdb.from_connection(con))
    span = overview.data_range(tables)
    stored = 0
    if span is not None:
        for kept in sorted(results.KEPT.values(), key=lambda k: (k.late, not k.rows)):
            for kwargs in kept.defaults(*span):
                try:
                    value = kept.fn(tables, **kwargs)
                except (ValueError, MissingData):  # e.g. too little history to train
                    continue
                except Exception:  # a result must never block an import of good data
                    # the page asks for it on request and shows the problem where it belongs
                    _log.exception("stored result %s not computed", kept.name)
                    continue
                results.add(con, [(kept.name, kept.key(kwargs), value)])
                stored += 1
    return stored
