"""Cached data access for the pages: one read-only DuckDB connection per warehouse version and
process, one Ibis backend per call over its own cursor, results cached by function, arguments,
filters, the user's scope and the data version."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.backends.duckdb  # loaded with the app, not on the first sign-in (0.3 s)
import pandas as pd
import streamlit as st

from analytics.display import churn_words
from analytics.display.i18n import Labels
from analytics.domain import churn
from analytics.ops import followup_desk, ingest
from analytics.store import filters as flt
from analytics.store import followups
from analytics.store.access import Scope, scoped, unresolved, visible_customers
from analytics.store.filters import Filters
from analytics.store.warehouse import Tables, Warehouse, open_warehouse, resolve_url, tables_from


@st.cache_resource(show_spinner=False)
def _warehouse(url: str) -> Warehouse:
    return open_warehouse(url)


def warehouse() -> Warehouse:
    """The configured warehouse (the URL is read each run, so a test or an admin can switch)."""
    return _warehouse(resolve_url())


@st.cache_resource(show_spinner=False, max_entries=4)
def _connection(path: str) -> duckdb.DuckDBPyConnection:
    # keyed by the version file, so a new version opens a new connection; DuckDB refuses
    # concurrent calls on one connection, hence a cursor per call below
    return duckdb.connect(path, read_only=True)


def followup_store() -> followups.Store:
    """The follow-up store beside the configured warehouse ($STEELSIGHT_FOLLOWUPS wins)."""
    return followups.open_store(followups.default_path(warehouse().root))


@st.cache_resource(show_spinner=False, max_entries=16)
def _desk(version: str, scope: Scope, filters: Filters, store: str) -> followup_desk.Desk:
    # who may see which customers, their names and reps come from the version's master: kept
    # per version, scope and filters (0.1 s of every rerun of the follow-up page otherwise);
    # the follow-ups themselves are read by each call
    return followup_desk.desk(followups.Store(Path(store)), scoped_tables(version, scope, filters),
                              scope)


def desk(version: str, scope: Scope, filters: Filters) -> followup_desk.Desk:
    """The follow-up desk of ``scope`` (analytics.ops.followup_desk) over the version."""
    return _desk(version, scope, filters, str(followup_store().path))


def version_key(wh: Warehouse) -> str:
    """The current version file's full path: the cache key part that changes on every import
    and differs between warehouses (two warehouses both have a v000001)."""
    path = wh.current_path()
    return str(path) if path else "empty"


def base_tables(version: str) -> Tables:
    """Unscoped tables of a version (a version_key). Only the scoped helpers may call this."""
    return tables_from(ibis.duckdb.from_connection(_connection(version).cursor()),
                       version=None if version == "empty" else version)


def scope_problem(version: str, scope: Scope) -> str | None:
    """Why this user's rows cannot be determined in this version (a text key), or None."""
    return unresolved(base_tables(version), scope)


def scoped_tables(version: str, scope: Scope, filters: Filters | None) -> Tables:
    tables = scoped(base_tables(version), scope)
    return flt.apply(tables, filters) if filters is not None else tables


@st.cache_data(show_spinner=False, max_entries=1024)
def _call(_fn: Callable[..., Any], name: str, version: str, scope: Scope,
          filters: Filters | None, kwargs: tuple[tuple[str, Any], ...]) -> Any:
    # Streamlit cannot hash a function: the leading underscore leaves it out of the key and
    # its dotted name stands for it
    return _fn(scoped_tables(version, scope, filters), **dict(kwargs))


def cached(fn: Callable[..., Any], version: str, scope: Scope, filters: Filters | None,
           **kwargs: Any) -> Any:
    """Run ``fn(tables, **kwargs)`` on the scoped, filtered tables, cached.

    ``fn`` must be a module-level analytics function; the cache key is its dotted name, the
    keyword arguments, the filters, the scope and the data version.
    """
    return _call(fn, f"{fn.__module__}.{fn.__qualname__}", version, scope, filters,
                 tuple(sorted(kwargs.items())))


# The whole book, unnarrowed: the one churn model per data version is trained on it (and its
# default is kept with the version), whoever asks; each scope narrows its scores
BOOK = Scope()


@st.cache_data(show_spinner=False, max_entries=256)
def _visible(version: str, scope: Scope) -> list[str] | None:
    return visible_customers(scoped_tables(version, scope, None), scope)


# The churn model's scores, backtest and risk list are handed out as the same objects on every
# rerun (cache_resource), not unpickled copies (cache_data): unpickling a large book's scores
# took 0.2-0.3 s of each rerun of the churn page. Every caller only reads them; the pages
# build new frames from them (assign, selections), never change them in place.
@st.cache_resource(show_spinner=False, max_entries=64)
def churn_scores(version: str, scope: Scope, as_of: date, kind: str,
                 horizon: int | None = None, warmup: int | None = None) -> churn.Scores:
    """The one model's scores (trained on the whole book, once per data version) as
    ``scope`` reads them. Each rep and manager trained a model of their own before: 20–30 s
    for their first page after an import, and a different probability for the same customer
    than the executive saw."""
    given = {k: v for k, v in (("horizon", horizon), ("warmup", warmup)) if v is not None}
    book = cached(churn.score_view, version, BOOK, None, as_of=as_of, kind=kind, **given)
    return churn.scores_for(book, _visible(version, scope), sees_profit=scope.sees_profit)


@st.cache_resource(show_spinner=False, max_entries=64)
def churn_backtest(version: str, scope: Scope, kind: str,
                   given: tuple[tuple[str, Any], ...] = ()) -> churn.Backtest:
    """The one model's backtest (the whole book's) as ``scope`` reads it."""
    book = cached(churn.backtest_view, version, BOOK, None, kind=kind, **dict(given))
    return churn.backtest_for(book, _visible(version, scope), sees_profit=scope.sees_profit)


@st.cache_resource(show_spinner=False, max_entries=64)
def churn_risk(version: str, scope: Scope, as_of: date, kind: str, bands: tuple[float, float],
               lang: str, horizon: int | None = None, warmup: int | None = None
               ) -> pd.DataFrame:
    """The churn page's risk list over the scope's scores (the model the Overview and credit
    pages share), banded, its reasons still codes: the page writes out those it shows
    (``churn_words.in_words``)."""
    scores = churn_scores(version, scope, as_of, kind, horizon, warmup)
    return churn_words.risk_table(scores, Labels(lang), bands=bands, reasons=False)


# An upload's parsed table and plan live in the uploader's own session, one of each: a
# 200 MB file parses to a few GB, and a process-wide cache kept eight of them after their
# sessions had ended. The session's state goes when the session ends or its user signs out.
_RAW, _PARSED, _PLAN = "_upload_raw", "_upload_parsed", "_upload_plan"


def _upload_key(data: bytes, name: str) -> tuple[str, int, str]:
    # cheap: the head and tail of the bytes and their length, not a hash of 200 MB per rerun
    probe = hashlib.sha256(data[:65536] + data[-65536:]).hexdigest()
    return name, len(data), probe


def read_upload(data: bytes, name: str, sheet: str | None) -> ingest.RawTable:
    key = (_upload_key(data, name), sheet)
    kept = st.session_state.get(_RAW)
    if kept is not None and kept[0] == key:
        return kept[1]  # type: ignore[no-any-return]
    for kept_key in (_RAW, _PARSED, _PLAN):  # let the old ones go before parsing the new one
        st.session_state.pop(kept_key, None)
    raw = ingest.read_file(data, name, sheet=sheet)
    st.session_state[_RAW] = (key, raw)
    return raw


def plan_upload(data: bytes, name: str, sheet: str | None, target: str,
                mapping: tuple[tuple[str, str | None], ...], mode: str, version: str,
                constants: tuple[tuple[str, str], ...] = (), *, decimal: str | None = None,
                keep_repeats: bool = False, allow_orphans: bool = False,
                import_again: bool = False) -> ingest.ImportPlan:
    """The import plan for an upload; keyed by the data version, so a plan made before an
    import landed is made again against the new data. The parse (the upload under its
    mapping) is kept apart: a decision (the mode, keeping repeats, importing look-alikes)
    decides again from it without parsing the file again."""
    key = (_upload_key(data, name), sheet, target, mapping, mode, version, constants, decimal,
           keep_repeats, allow_orphans, import_again)
    kept = st.session_state.get(_PLAN)
    if kept is not None and kept[0] == key:
        return kept[1]  # type: ignore[no-any-return]
    st.session_state.pop(_PLAN, None)
    parse_key = (_upload_key(data, name), sheet, target, mapping, constants, decimal)
    parsed = st.session_state.get(_PARSED)
    if parsed is None or parsed[0] != parse_key:
        st.session_state.pop(_PARSED, None)
        raw = read_upload(data, name, sheet)
        parsed = (parse_key, ingest.parse_upload(raw, target, dict(mapping), data=data,
                                                 constants=dict(constants), decimal=decimal))
        st.session_state[_PARSED] = parsed
    existing = base_tables(version) if version != "empty" else None
    plan = ingest.decide(parsed[1], mode=mode, existing=existing,
                         keep_repeats=keep_repeats, allow_orphans=allow_orphans,
                         import_again=import_again)
    st.session_state[_PLAN] = (key, plan)
    return plan


# What the imports made (modules, classes, functions: most of the 260,000 objects the garbage
# collector tracks in a server process) lives as long as the process. Moved out of the
# collector's way once, when the app first loads this module, a full collection looks only at
# what came later: 0.22 s → 0.01 s each, and one fell in most first renders of the churn page.
gc.freeze()
