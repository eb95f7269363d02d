"""Pyramid tiers and tier migration on hand-computed frames (ties, boundaries), and invariants."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.domain import customers as cu
from analytics.store.period import Period
from analytics.store.warehouse import tables_from_frames


@pytest.mark.parametrize("n,expected", [
    (219, [2, 44, 110, 219]),   # 2.19 → 2, 43.8 → 44, 109.5 → 110 (half up)
    (100, [1, 20, 50, 100]),
    (10, [1, 2, 5, 10]),        # 0.1 rounds to 0, but the core tier holds at least one
    (5, [1, 1, 3, 5]),          # 0.05 → 1 (floor), 1.0 → 1: no important customer
    (1, [1, 1, 1, 1]),
    (0, [0, 0, 0, 0]),
], ids=lambda v: str(v))
def test_tier_cutoffs(n: int, expected: list[int]) -> None:
    assert cu.tier_cutoffs(n) == expected


def test_bad_shares_are_refused() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        cu.tier_cutoffs(10, (0.1, 0.2, 0.3, 0.3))


def _values() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["C4", "C2", "C1", "C3", "C5"],
                         "gross_profit_cny": [10.0, 50.0, 100.0, 50.0, -5.0]})


def test_assign_tiers_ties_broken_by_id() -> None:
    tiers = cu.assign_tiers(_values(), shares=(0.2, 0.2, 0.2, 0.4))
    assert list(tiers["customer_id"]) == ["C1", "C2", "C3", "C4", "C5"]  # C2 before C3
    assert list(tiers["rank"]) == [1, 2, 3, 4, 5]
    assert list(tiers["tier"]) == ["core", "important", "medium", "small", "small"]
    assert tiers["value_share"].iloc[0] == pytest.approx(100 / 205)
    assert tiers["cumulative_value_share"].iloc[-1] == pytest.approx(1.0)


def test_default_shares_on_five_customers() -> None:
    tiers = cu.assign_tiers(_values().assign(revenue_cny=[20.0, 60.0, 120.0, 55.0, 5.0]))
    assert list(tiers["tier"]) == ["core", "medium", "medium", "small", "small"]
    summary = cu.tier_summary(tiers)
    assert list(summary["tier"]) == ["core", "medium", "small"]  # an empty tier is absent
    assert list(summary["customers"]) == [1, 2, 2]
    assert summary["value"].tolist() == [100.0, 100.0, 5.0]
    assert summary["margin_pct"].tolist() == pytest.approx([100 / 120 * 100, 100 / 115 * 100,
                                                            5 / 25 * 100])


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(-1e6, 1e7, allow_nan=False), max_size=60))
def test_tiers_partition_the_customers(values: list[float]) -> None:
    frame = pd.DataFrame({"customer_id": [f"C{i:03d}" for i in range(len(values))],
                          "gross_profit_cny": values})
    tiers = cu.assign_tiers(frame)
    assert sorted(tiers["customer_id"]) == sorted(frame["customer_id"])
    assert list(tiers["rank"]) == list(range(1, len(values) + 1))
    # ranked to the cent (issue 20): values within a cent tie and break by id
    assert tiers["value"].round(cu.RANK_DECIMALS).is_monotonic_decreasing
    cuts = cu.tier_cutoffs(len(values))
    sizes = tiers["tier"].value_counts().reindex(list(cu.TIERS), fill_value=0).tolist()
    assert sizes == list(np.diff([0, *cuts]))
    if len(values) and sum(values) != 0:
        assert tiers["value_share"].sum() == pytest.approx(1.0)


def test_compare_tiers_new_lost_up_down() -> None:
    previous = pd.DataFrame({"customer_id": ["C1", "C2", "C3"],
                             "tier": ["core", "important", "small"],
                             "value": [100.0, 60.0, 5.0], "name": ["甲", "乙", "丙"]})
    current = pd.DataFrame({"customer_id": ["C1", "C2", "C4"],
                            "tier": ["important", "core", "small"],
                            "value": [40.0, 90.0, 8.0], "name": ["甲", "乙", "丁"]})
    moves = cu.compare_tiers(previous, current).set_index("customer_id")
    assert moves.loc["C1", "direction"] == "down" and moves.loc["C1", "steps"] == 1
    assert moves.loc["C2", "direction"] == "up"
    assert moves.loc["C3", ["tier_current", "direction"]].tolist() == ["lost", "lost"]
    assert moves.loc["C4", ["tier_previous", "direction"]].tolist() == ["new", "new"]
    assert moves.loc["C3", "change"] == -5.0 and moves.loc["C4", "name"] == "丁"
    down = cu.moved_down(moves.reset_index())
    assert list(down["customer_id"]) == ["C1", "C3"]  # biggest drop first
    counts = cu.migration_matrix(moves.reset_index())
    assert counts.loc["core", "important"] == 1 and counts.loc["small", "lost"] == 1
    assert counts.loc["new", "small"] == 1 and np.isnan(counts.loc["new", "lost"])
    assert np.nansum(counts.to_numpy()) == 4  # every customer of either period once
    change = cu.migration_matrix(moves.reset_index(), values="change")
    assert change.loc["core", "important"] == -60.0


def test_migration_on_orders() -> None:
    orders = pd.DataFrame({
        "order_id": ["a", "b", "c", "d", "e"], "line_no": [1] * 5,
        "order_date": ["2024-03-01", "2024-05-01", "2025-02-01", "2025-03-01", "2024-07-01"],
        "customer_id": ["C1", "C2", "C1", "C3", "C2"], "volume_t": [10.0, 5.0, 2.0, 1.0, 1.0],
        "amount_cny": [100.0, 60.0, 20.0, 30.0, 10.0], "cost_cny": [90.0, 50.0, 19.0, 20.0, 9.0]})
    tables = tables_from_frames({"orders": orders})
    year = Period(date(2025, 1, 1), date(2025, 12, 31))
    moves = cu.tier_migration(tables, period=year).set_index("customer_id")
    assert moves.loc["C2", "tier_current"] == "lost"
    assert moves.loc["C3", "tier_previous"] == "new"
    assert moves.loc["C2", "value_previous"] == 11.0  # 10 + 1 gross profit in 2024
    revenue = cu.pyramid(tables, period=year, metric="revenue_cny")
    assert list(revenue["customer_id"]) == ["C3", "C1"]
    assert cu.available_metrics(tables) == ["gross_profit_cny", "revenue_cny", "volume_t"]
