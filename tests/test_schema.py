"""The canonical tables (docs/data-model.md) and their aliases."""

from __future__ import annotations

import duckdb
import pytest

from analytics.store import schema

DESIGN_REQUIRED = {
    "customers": {"customer_id"},
    "orders": {"order_id", "order_date", "customer_id", "volume_t", "amount_cny"},
    "products": {"product_id"},
    "invoices": {"invoice_id", "customer_id", "due_date", "amount_cny"},
    "surveys": {"customer_id", "survey_date"},
    "complaints": {"complaint_id", "customer_id", "opened_date"},
    "market_prices": {"date", "product", "price_cny_per_t"},
    "inventory": {"date", "product", "on_hand_t"},
}


@pytest.mark.parametrize("table", sorted(DESIGN_REQUIRED))
def test_required_columns_match_the_design(table: str) -> None:
    assert set(schema.spec(table).required) == DESIGN_REQUIRED[table]


@pytest.mark.parametrize("table", sorted(schema.TABLES))
def test_an_alias_points_to_one_column_only(table: str) -> None:
    seen: dict[str, str] = {}
    for col in schema.spec(table).columns:
        for alias in {a.lower() for a in (col.name, *col.aliases)}:
            key = alias.lower()
            assert key not in seen, f"{table}: {alias!r} maps to {seen[key]} and {col.name}"
            seen[key] = col.name


def test_every_table_can_be_created() -> None:
    con = duckdb.connect()
    for spec in schema.TABLES.values():
        con.execute(spec.ddl())
    created = {r[0] for r in con.execute("select table_name from information_schema.tables")
               .fetchall()}
    assert created == set(schema.TABLES)


def test_unknown_table_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="unknown table 'order'"):
        schema.spec("order")
