"""ABC boundary rule and XYZ by hand; class invariants."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.domain import abc
from analytics.store.period import Period
from analytics.store.warehouse import tables_from_frames


def _items(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"id": list(values), "value": list(values.values())})


def test_the_item_that_crosses_75_percent_is_a_and_95_exactly_is_c() -> None:
    out = abc.abc_classes(_items({"G": -3, "F": 0, "E": 5, "D": 5, "C": 10, "B": 30, "A": 50}),
                          id_col="id")
    assert list(out["id"]) == ["A", "B", "C", "D", "E", "F", "G"]  # D before E: tie by id
    # cumulative before each item: 0, .5, .8, .9, .95, 1, 1
    assert list(out["abc_class"]) == ["A", "A", "B", "B", "C", "C", "C"]
    assert out["cumulative_share"].iloc[-1] == pytest.approx(1.0)


def test_share_before_exactly_at_the_threshold_is_the_next_class() -> None:
    out = abc.abc_classes(_items({"x": 75, "y": 25}), id_col="id")
    assert list(out["abc_class"]) == ["A", "B"]
    summary = abc.class_summary(out)
    assert summary.set_index("abc_class").loc["C", "items"] == 0


@pytest.mark.parametrize("thresholds", [(0.8, 0.7), (0.0, 0.5), (0.5, 1.5)])
def test_bad_thresholds_are_refused(thresholds: tuple[float, float]) -> None:
    with pytest.raises(ValueError):
        abc.abc_classes(_items({"x": 1}), id_col="id", thresholds=thresholds)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(-100, 1e6, allow_nan=False), min_size=1, max_size=50))
def test_classes_partition_and_shares_are_monotone(values: list[float]) -> None:
    out = abc.abc_classes(pd.DataFrame({"id": [f"i{k:02d}" for k in range(len(values))],
                                        "value": values}), id_col="id")
    assert len(out) == len(values) and set(out["abc_class"]) <= {"A", "B", "C"}
    assert (out["cumulative_share"].diff().dropna() >= -1e-12).all()
    order = {"A": 0, "B": 1, "C": 2}
    assert out["abc_class"].map(order).is_monotonic_increasing
    if sum(v for v in values if round(v, abc.RANK_DECIMALS) > 0) > 0:
        assert out["abc_class"].iloc[0] == "A"  # the best item (of a cent or more) is A


def test_coefficient_of_variation_by_hand() -> None:
    rows = []
    for product, tonnes in {"steady": [10, 10, 10, 10], "half": [15, 5, 15, 5],
                            "wavy": [20, 0, 10, 10], "every_other": [10, 0, 10, 0]}.items():
        rows += [(product, m, t) for m, t in enumerate(tonnes) if t]
    monthly = pd.DataFrame(rows, columns=["product", "month", "volume_t"])
    cv = abc.coefficient_of_variation(monthly, months=4).set_index("product")["cv"]
    assert cv["steady"] == pytest.approx(0.0)
    assert cv["half"] == pytest.approx(0.5)
    assert cv["wavy"] == pytest.approx(np.sqrt(50) / 10)
    assert cv["every_other"] == pytest.approx(1.0)
    classes = abc.xyz_classes(cv)
    # boundaries: 0.5 is not < 0.5 → Y; 1.0 is not < 1.0 → Z
    assert classes.to_dict() == {"steady": "X", "half": "Y", "wavy": "Y", "every_other": "Z"}


def test_products_abc_xyz_on_orders() -> None:
    rows = []
    for m in range(1, 5):
        rows.append((f"r{m}", f"2025-{m:02d}-10", "rebar", "Φ20", 10.0, 40_000.0))
        if m % 2:
            rows.append((f"h{m}", f"2025-{m:02d}-12", "hrc", "3.0mm", 5.0, 20_000.0))
    rows.append(("p1", "2025-02-01", "pipe", "DN50", 1.0, 1_000.0))
    orders = pd.DataFrame(rows, columns=["order_id", "order_date", "category", "spec",
                                         "volume_t", "amount_cny"])
    orders["customer_id"], orders["line_no"] = "C1", 1
    tables = tables_from_frames({"orders": orders})
    out = abc.abc_products(tables, period=Period(date(2025, 1, 1), date(2025, 4, 30)))
    out = out.set_index("product")
    assert out.loc["rebar", "value"] == 160_000 and out.loc["rebar", "abc_class"] == "A"
    assert out.loc["hrc", "abc_class"] == "B"    # before it: 160/201 = 0.796
    assert out.loc["pipe", "abc_class"] == "C"   # before it: 200/201 = 0.995
    assert out.loc["rebar", "xyz_class"] == "X" and out.loc["hrc", "xyz_class"] == "Z"
    matrix = abc.abc_xyz_matrix(out.reset_index())
    assert len(matrix) == 9 and matrix["items"].sum() == 3
