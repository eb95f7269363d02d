"""The analytics on two engines: the same calls on DuckDB and on Spark (Ibis' pyspark backend,
local[2]) give the same results — text and counts exactly, money to 1e-9 relative.

Skipped, with the reason, where Java or pyspark is missing; CI installs both."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analytics.domain import (
    abc,
    churn,
    complaints,
    credit,
    customers,
    grading,
    inventory,
    market,
    overview,
    products,
    satisfaction,
    scorecards,
)
from analytics.store.period import Period
from analytics.store.warehouse import Tables, Warehouse

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (not found on PATH)", allow_module_level=True)

PERIOD = Period(date(2025, 1, 1), date(2025, 12, 31))
AS_OF = date(2025, 12, 31)

CALLS: dict[str, Callable[[Tables], Any]] = {
    "overview.kpis": lambda t: overview.kpis(t, PERIOD),
    "overview.kpi_comparison": lambda t: overview.kpi_comparison(t, PERIOD),
    "overview.monthly": lambda t: overview.monthly(t, PERIOD),
    "overview.top_customers": lambda t: overview.top_customers(t, PERIOD),
    "customers.pyramid": lambda t: customers.pyramid(t, period=PERIOD),
    "customers.tier_migration": lambda t: customers.tier_migration(t, period=PERIOD),
    "abc.abc_customers": lambda t: abc.abc_customers(t, period=PERIOD),
    "abc.abc_products": lambda t: abc.abc_products(t, period=PERIOD),
    "grading.grade": lambda t: grading.grade(t, period=PERIOD).customers,
    "satisfaction.summary": lambda t: satisfaction.summary(t, period=PERIOD),
    "complaints.summary": lambda t: complaints.summary(t, period=PERIOD),
    "credit.exposure": lambda t: credit.exposure(t, as_of=AS_OF),
    "credit.ageing_summary": lambda t: credit.ageing_summary(t, as_of=AS_OF, by="customer_id"),
    "credit.financing": lambda t: credit.financing(t, period=PERIOD),
    "market.price_board": lambda t: market.price_board(t, as_of=AS_OF),
    "market.spreads": lambda t: market.spreads(t, period=PERIOD),
    "inventory.status": lambda t: inventory.status(t, as_of=AS_OF),
    "inventory.mark_to_market": lambda t: inventory.mark_to_market(t, as_of=AS_OF),
    "products.composition": lambda t: products.composition(t, period=PERIOD),
    "scorecards.rep_scorecard": lambda t: scorecards.rep_scorecard(t, period=PERIOD),
    "scorecards.reseller_scorecard": lambda t: scorecards.reseller_scorecard(t, period=PERIOD),
    "churn.feature_table": lambda t: churn.feature_table(
        t, [date(2024, 7, 1), date(2025, 4, 1), date(2026, 1, 1)]),
}


@pytest.fixture(scope="module")
def spark_tables(demo_warehouse: Warehouse, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[Tables]:
    from analytics.store.engines import copy_to_spark, local_spark

    spark = local_spark(2, app="steelsight-tests")
    try:
        yield copy_to_spark(demo_warehouse, spark, Path(tmp_path_factory.mktemp("parquet")))
    finally:
        spark.stop()


def _same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
        return
    if isinstance(a, pd.DataFrame):
        assert list(a.columns) == list(b.columns), where
        assert len(a) == len(b), where
        for col in a.columns:
            _same_series(a[col].reset_index(drop=True), b[col].reset_index(drop=True),
                         f"{where}[{col}]")
        return
    if isinstance(a, float | int | np.floating | np.integer):
        assert np.isclose(float(a), float(b), rtol=1e-9, atol=1e-9, equal_nan=True), \
            (where, a, b)
        return
    assert a == b, (where, a, b)


def _same_series(a: pd.Series, b: pd.Series, where: str) -> None:
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b) \
            and not pd.api.types.is_bool_dtype(a):
        ok = np.isclose(a.astype(float), b.astype(float), rtol=1e-9, atol=1e-9, equal_nan=True)
        assert ok.all(), (where, a[~ok].head(3).tolist(), b[~ok].head(3).tolist())
    else:
        norm = [lambda s: s.map(lambda v: None if v is None or (isinstance(v, float) and
                                                                  np.isnan(v)) else
                                pd.Timestamp(v).date() if isinstance(v, pd.Timestamp | date)
                                else v)]
        x, y = norm[0](a), norm[0](b)
        assert x.tolist() == y.tolist(), (where, x.head(3).tolist(), y.head(3).tolist())


@pytest.mark.parametrize("name", sorted(CALLS))
def test_duckdb_and_spark_agree(name: str, demo_warehouse: Warehouse,
                                spark_tables: Tables) -> None:
    duck = CALLS[name](demo_warehouse.tables())
    spark = CALLS[name](spark_tables)
    _same(duck, spark, name)
