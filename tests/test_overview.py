"""Overview numbers on a hand-computed company: boundaries, ties, instalments, scope."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.domain import overview
from analytics.store.access import Scope, scoped
from analytics.store.period import Period
from analytics.store.warehouse import tables_from_frames

Q1 = Period(date(2025, 1, 1), date(2025, 3, 31))  # 90 days; previous = 2024-10-03 … 2024-12-31


def _frames() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4"],
        "name": ["佛山华盛钢材", "南宁恒通建设", "顺德五金店", "肇庆新客"],
        "type": ["trader", "contractor", "retail", "fabricator"],
        "province": ["Guangdong", "Guangxi", "Guangdong", "Guangdong"],
        "sales_rep": ["A", "B", "A", "B"]})
    orders = pd.DataFrame([
        # order, line, date, customer, t, amount, cost
        ("O1", 1, "2025-01-10", "C1", 10.0, 40_000.0, 39_000.0),
        ("O1", 2, "2025-01-10", "C1", 5.0, 21_000.0, 20_000.0),
        ("O2", 1, "2025-02-15", "C2", 30.0, 120_000.0, 118_000.0),
        ("O3", 1, "2024-12-20", "C3", 2.0, 8_000.0, 7_900.0),     # previous period only: lost
        ("O4", 1, "2024-11-05", "C1", 20.0, 80_000.0, 79_000.0),
        ("O5", 1, "2024-03-01", "C2", 25.0, 95_000.0, 94_000.0),  # a year ago
        ("O6", 1, "2025-03-31", "C4", 1.0, 4_000.0, 3_950.0),     # last day: in, and new
    ], columns=["order_id", "line_no", "order_date", "customer_id", "volume_t", "amount_cny",
                "cost_cny"])
    orders["sales_rep"] = orders["customer_id"].map(customers.set_index("customer_id")
                                                    ["sales_rep"])
    invoices = pd.DataFrame([
        ("I1", "C1", "2025-01-10", "2025-02-09", 61_000.0),  # half paid by the as-of date
        ("I2", "C2", "2025-02-15", "2025-04-15", 120_000.0),  # not yet due
        ("I3", "C3", "2024-12-20", "2025-03-31", 8_000.0),   # due on the as-of day: not overdue
        ("I4", "C1", "2024-11-05", "2024-12-05", 80_000.0),  # paid on time
        ("I5", "C4", "2025-03-31", "2025-03-01", 4_000.0),   # a tenth of a cent left: settled
    ], columns=["invoice_id", "customer_id", "invoice_date", "due_date", "amount_cny"])
    payments = pd.DataFrame([
        ("P1", "I1", "2025-02-01", 30_000.0),
        ("P2", "I1", "2025-04-10", 31_000.0),  # after the as-of date
        ("P3", "I4", "2024-12-05", 80_000.0),
        ("P4", "I5", "2025-03-31", 3_999.999),
    ], columns=["payment_id", "invoice_id", "paid_date", "paid_cny"])
    inventory = pd.DataFrame([
        ("2025-03-30", "rebar", "lecong_a", 10.0, 3_900.0),
        ("2025-03-30", "hrc", "lecong_b", 20.0, 4_000.0),
        ("2025-03-29", "hrc", "lecong_b", 500.0, 4_000.0),   # older snapshot: ignored
        ("2025-04-02", "rebar", "lecong_a", 100.0, 3_900.0),  # after the period: ignored
    ], columns=["date", "product", "warehouse", "on_hand_t", "avg_cost_cny_per_t"])
    return {"customers": customers, "orders": orders, "invoices": invoices,
            "payments": payments, "inventory": inventory}


@pytest.fixture(scope="module")
def tables():  # type: ignore[no-untyped-def]
    return tables_from_frames(_frames())


def test_kpis_by_hand(tables) -> None:  # type: ignore[no-untyped-def]
    k = overview.kpis(tables, Q1)
    assert k["revenue_cny"] == pytest.approx(185_000)
    assert k["volume_t"] == pytest.approx(46)
    assert k["gross_profit_cny"] == pytest.approx(4_050)
    assert k["margin_pct"] == pytest.approx(4_050 / 185_000 * 100)
    assert k["active_customers"] == 3
    assert k["new_customers"] == 1           # C4; C2 bought a year before
    assert k["lost_customers"] == 1          # C3 bought in the previous period, not now
    assert k["overdue_receivables_cny"] == pytest.approx(31_000)
    assert k["inventory_days"] == pytest.approx(30 / (46 / 90))


def test_comparison_changes(tables) -> None:  # type: ignore[no-untyped-def]
    c = overview.kpi_comparison(tables, Q1).set_index("kpi")
    assert c.loc["revenue_cny", "previous"] == pytest.approx(88_000)
    assert c.loc["revenue_cny", "vs_previous"] == pytest.approx((185_000 / 88_000 - 1) * 100)
    assert c.loc["revenue_cny", "year_ago"] == pytest.approx(95_000)
    prev_margin = (88_000 - 86_900) / 88_000 * 100
    assert c.loc["margin_pct", "vs_previous"] == pytest.approx(4_050 / 185_000 * 100
                                                               - prev_margin)  # points
    assert c.loc["new_customers", "year_ago"] == 1  # C2's first order, 2024-03-01
    # the data starts on 2024-03-01: Q1 2024 holds 31 of its 91 days, so no change against
    # it is a number (issue 20, "comparisons only against data")
    assert c.loc["new_customers", "year_ago_days"] == 31
    assert math.isnan(c.loc["new_customers", "vs_year_ago"])
    assert math.isnan(c.loc["revenue_cny", "vs_year_ago"])
    assert math.isnan(c.loc["revenue_cny", "previous_days"])  # Q4 2024 is whole


def test_the_first_period_of_the_data_has_no_new_customers() -> None:
    """A book that starts twelve days before the period (its first line on 2024-12-20): no
    growth against those days, and nobody counted as new for being in the first period."""
    frames = _frames()
    orders = frames["orders"]
    frames["orders"] = orders[pd.to_datetime(orders["order_date"]) >= "2024-12-20"]
    c = overview.kpi_comparison(tables_from_frames(frames), Q1).set_index("kpi")
    assert c.loc["revenue_cny", "previous_days"] == 12
    assert math.isnan(c.loc["revenue_cny", "vs_previous"])
    assert math.isnan(c.loc["new_customers", "value"])
    assert c.loc["revenue_cny", "value"] == pytest.approx(185_000)


def test_monthly_has_a_row_per_month_including_empty_ones(tables) -> None:  # type: ignore[no-untyped-def]
    m = overview.monthly(tables, Period(date(2025, 1, 1), date(2025, 4, 30)))
    assert list(m["month"].dt.month) == [1, 2, 3, 4]
    assert list(m["volume_t"]) == [15, 30, 1, 0]
    assert list(m["gross_profit_cny"]) == [2_000, 2_000, 50, 0]
    assert math.isnan(m["margin_pct"].iloc[3])


def test_top_customers_ties_broken_by_id(tables) -> None:  # type: ignore[no-untyped-def]
    top = overview.top_customers(tables, Q1)
    assert list(top["customer_id"]) == ["C1", "C2", "C4"]  # C1 and C2 both made 2,000
    assert list(top["name"]) == ["佛山华盛钢材", "南宁恒通建设", "肇庆新客"]
    assert top["share"].sum() == pytest.approx(1.0)


def test_a_rep_sees_own_customers_and_no_profit(tables) -> None:  # type: ignore[no-untyped-def]
    rep = scoped(tables, Scope(user="a", level="rep", reps=("A",), single_user=False))
    k = overview.kpis(rep, Q1)
    assert k["revenue_cny"] == pytest.approx(61_000)
    assert math.isnan(k["gross_profit_cny"]) and math.isnan(k["margin_pct"])
    top = overview.top_customers(rep, Q1)
    assert list(top["customer_id"]) == ["C1"]
    assert "gross_profit_cny" not in top and "margin_pct" not in top
    assert "gross_profit_cny" not in overview.monthly(rep, Q1)


def test_data_range(tables) -> None:  # type: ignore[no-untyped-def]
    assert overview.data_range(tables) == (date(2024, 3, 1), date(2025, 3, 31))


def test_no_invoices_means_unknown_not_zero() -> None:
    frames = _frames()
    t = tables_from_frames({"orders": frames["orders"]})
    k = overview.kpis(t, Q1)
    assert math.isnan(k["overdue_receivables_cny"]) and math.isnan(k["inventory_days"])


@settings(max_examples=25, deadline=None)
@given(reps=st.sets(st.sampled_from(["A", "B", "Z"]), min_size=1))
def test_scope_never_widens(reps: set[str]) -> None:
    tables = tables_from_frames(_frames())
    scope = Scope(user="u", level="rep", reps=tuple(sorted(reps)), single_user=False)
    narrowed = scoped(tables, scope)
    for name in ("customers", "orders", "invoices", "payments"):
        all_rows = tables.get(name).to_pandas()
        seen = narrowed.get(name).to_pandas()
        assert len(seen) <= len(all_rows)
        key = all_rows.columns[0]
        assert set(seen[key]) <= set(all_rows[key])
    seen_customers = set(narrowed.get("customers").to_pandas()["sales_rep"])
    assert seen_customers <= reps


def test_a_level_without_profit_gets_no_profit_kpis() -> None:
    comparison = pd.DataFrame({"kpi": list(overview.KPIS), "value": range(len(overview.KPIS))})
    rep = overview.kpis_for(comparison, sees_profit=False)
    assert set(rep["kpi"]) == set(overview.KPIS) - {"gross_profit_cny", "margin_pct"}
    assert overview.kpis_for(comparison, sees_profit=True) is comparison
