"""Cached data access for the pages: one read-only DuckDB connection per warehouse version and
process, one Ibis backend per call over its own cursor, results cached by function, arguments,
filters, the user's scope and the data version."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import duckdb
import ibis
import streamlit as st

from analytics import filters as flt
from analytics.access import Scope, scoped
from analytics.filters import Filters
from analytics.warehouse import Tables, Warehouse, open_warehouse, tables_from


@st.cache_resource(show_spinner=False)
def warehouse() -> Warehouse:
    return open_warehouse()


@st.cache_resource(show_spinner=False, max_entries=4)
def _connection(path: str) -> duckdb.DuckDBPyConnection:
    # keyed by the version file, so a new version opens a new connection; DuckDB refuses
    # concurrent calls on one connection, hence a cursor per call below (RECIPES.md)
    return duckdb.connect(path, read_only=True)


def base_tables(version: str) -> Tables:
    """Unscoped tables of the given version. Only the scoped helpers below may call this."""
    path = warehouse().root / f"{version}.duckdb"
    return tables_from(ibis.duckdb.from_connection(_connection(str(path)).cursor()))


def scoped_tables(version: str, scope: Scope, filters: Filters | None) -> Tables:
    tables = scoped(base_tables(version), scope)
    return flt.apply(tables, filters) if filters is not None else tables


def _resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


@st.cache_data(show_spinner=False, max_entries=1024)
def _call(fn_path: str, version: str, scope: Scope, filters: Filters | None,
          kwargs: tuple[tuple[str, Any], ...]) -> Any:
    return _resolve(fn_path)(scoped_tables(version, scope, filters), **dict(kwargs))


def cached(fn: Callable[..., Any], version: str, scope: Scope, filters: Filters | None,
           **kwargs: Any) -> Any:
    """Run ``fn(tables, **kwargs)`` on the scoped, filtered tables, cached.

    ``fn`` must be a module-level analytics function; the cache key is its dotted path, the
    keyword arguments, the filters, the scope and the data version.
    """
    fn_path = f"{fn.__module__}.{fn.__qualname__}"
    return _call(fn_path, version, scope, filters, tuple(sorted(kwargs.items())))
