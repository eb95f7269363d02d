"""Grading rules by hand: levels at the cut-offs, credit record, renormalised weights, classes."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from analytics.domain import grading
from analytics.store.period import Period
from analytics.store.warehouse import tables_from_frames


@pytest.mark.parametrize("value,level", [(0.0, 1), (2.99, 1), (3.0, 2), (10.0, 3), (29.99, 3),
                                         (30.0, 4), (1e9, 4)])
def test_levels_at_the_cutoffs(value: float, level: int) -> None:
    assert grading.levels_from_cuts(pd.Series([value]), (3, 10, 30)).iloc[0] == level


def test_missing_value_has_no_level() -> None:
    assert np.isnan(grading.levels_from_cuts(pd.Series([np.nan]), (3, 10, 30)).iloc[0])


@pytest.mark.parametrize("late,unpaid,level", [
    (0, False, 4), (7, False, 4), (8, False, 3), (60, False, 3), (61, False, 2),
    (200, True, 1), (np.nan, False, np.nan)],
    ids=["on-time", "grace", "late", "late-60", "chasing", "bad-debt", "no-invoices"])
def test_credit_record_levels(late: float, unpaid: bool, level: float) -> None:
    got = grading.credit_levels(pd.DataFrame({"max_days_late": [late],
                                              "unpaid_over_180": [unpaid]})).iloc[0]
    assert (np.isnan(got) and np.isnan(level)) or got == level


@pytest.mark.parametrize("score,grade", [(3.25, "A"), (3.2499, "B"), (2.5, "B"), (1.75, "C"),
                                         (1.7499, "D"), (1.0, "D")])
def test_grade_cutoffs(score: float, grade: str) -> None:
    assert grading.grade_from_score(pd.Series([score])).iloc[0] == grade


def test_factor_without_data_is_left_out_not_zero() -> None:
    levels = pd.DataFrame({"customer_id": ["X", "Y"], **{k: [np.nan, np.nan]
                                                        for k in grading.FACTOR_KEYS}})
    levels.loc[0, ["gross_profit", "sales"]] = [4, 2]
    levels.loc[1, ["gross_profit", "sales", "loyalty"]] = [4, 2, 1]
    w = dict(grading.DEFAULT_WEIGHTS)
    scored = grading.weighted_score(levels, w).set_index("customer_id")
    assert scored.loc["X", "score"] == pytest.approx((15 * 4 + 10 * 2) / 25)   # 3.2
    assert scored.loc["Y", "score"] == pytest.approx((15 * 4 + 10 * 2 + 10) / 35)
    assert scored.loc["X", "factors_used"] == 2
    no_sales = grading.weighted_score(levels, {**w, "sales": 0}).set_index("customer_id")
    assert no_sales.loc["X", "score"] == pytest.approx(4.0)  # what-if: sales weighs nothing


def _company() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4"], "name": ["大户", "中户", "老客", "新线索"],
        "type": ["contractor"] * 4, "first_order_date": ["2015-01-01", "2024-06-01",
                                                          "2018-01-01", None],
        "industry_influence": [4, 2, 3, 1], "strategic_fit": [4, 1, 2, 2]})
    rows = [(f"o{m}", f"2025-{m:02d}-05", "C1", 1_000_000.0, 950_000.0) for m in range(1, 13)]
    rows += [("p1", "2025-11-20", "C2", 60_000.0, 59_000.0),
             ("q1", "2023-05-01", "C3", 10_000.0, 9_000.0)]  # C3 bought only long ago
    orders = pd.DataFrame(rows, columns=["order_id", "order_date", "customer_id", "amount_cny",
                                         "cost_cny"]).assign(line_no=1, volume_t=10.0)
    invoices = pd.DataFrame({"invoice_id": ["i1"], "customer_id": ["C1"],
                             "invoice_date": ["2025-01-05"], "due_date": ["2025-02-04"],
                             "amount_cny": [1_000_000.0]})
    payments = pd.DataFrame({"payment_id": ["y1"], "invoice_id": ["i1"],
                             "paid_date": ["2025-05-10"], "paid_cny": [1_000_000.0]})
    return {"customers": customers, "orders": orders, "invoices": invoices,
            "payments": payments}


def test_grade_on_a_small_company() -> None:
    tables = tables_from_frames(_company())
    result = grading.grade(tables, period=Period(date(2025, 1, 1), date(2025, 12, 31)),
                           mode="absolute")
    g = result.customers.set_index("customer_id")
    # C1: 57 万 profit, 1200 万 sales, run-rate ≈ 1217 万, paid 95 days late, 12 months active,
    # 11 years, influence 4, fit 4
    assert g.loc["C1", ["gross_profit", "sales", "expected_sales", "credit_record", "loyalty",
                        "tenure", "industry_influence", "strategic_fit"]].tolist() == \
        [4, 4, 4, 2, 4, 4, 4, 4]
    assert g.loc["C1", "score"] == pytest.approx((15 * 4 + 10 * 4 + 10 * 4 + 10 * 2 + 10 * 4 +
                                                  5 * 4 + 5 * 4 + 5 * 4) / 70)
    assert g.loc["C1", "grade"] == "A" and g.loc["C1", "class"] == "core"
    assert np.isnan(g.loc["C2", "credit_record"])  # no invoices: no data, not 0
    assert g.loc["C3", "class"] == "lost" and pd.isna(g.loc["C3", "grade"])
    assert g.loc["C4", "class"] == "potential"
    factors = result.factors.set_index("factor")
    assert factors.loc["share_of_wallet", "effective_weight"] == 0  # no purchase estimates
    assert factors["effective_weight"].sum() == pytest.approx(1.0)
    assert result.cutoffs["gross_profit"] == (30_000, 100_000, 300_000)


def test_quantile_cutoffs_come_from_the_data() -> None:
    tables = tables_from_frames(_company())
    result = grading.grade(tables, period=Period(date(2025, 1, 1), date(2025, 12, 31)))
    low, mid, high = result.cutoffs["sales"]
    assert low <= mid <= high
    assert low == pytest.approx(np.quantile([60_000.0, 12_000_000.0], 0.4))


def test_disagreements_need_two_steps() -> None:
    graded = pd.DataFrame({"customer_id": ["a", "b", "c"], "grade": ["A", "B", "D"]})
    tiers = pd.DataFrame({"customer_id": ["a", "b", "c"], "tier": ["small", "medium", "core"],
                          "value": [1.0, 2.0, 3.0]})
    out = grading.disagreements(graded, tiers)
    assert list(out["customer_id"]) == ["a", "c"] and list(out["gap"]) == [-3, 3]


def test_value_view_without_complaints_or_surveys() -> None:
    tables = tables_from_frames(_company())  # no complaints, no surveys tables
    view = grading.value_view(tables, period=Period(date(2025, 1, 1), date(2025, 12, 31)))
    assert set(view["customer_id"]) == {"C1", "C2"}
    assert view["satisfaction"].isna().all()  # no surveys: no data, not level 1
    assert set(view["quadrant"]) <= {"invest", "maintain", "develop", "reduce"}


def test_grade_and_quadrant_counts_count_every_grade() -> None:
    customers = pd.DataFrame({"customer_id": list("abcde"), "grade": ["A", "C", "C", None, "A"]})
    counts = grading.grade_counts(customers)
    assert counts["grade"].tolist() == list(grading.GRADES)
    assert counts["customers"].tolist() == [2, 0, 2, 0]      # B and D are there with 0
    assert grading.graded_only(customers)["customer_id"].tolist() == list("abce")
    view = pd.DataFrame({"quadrant": ["keep", "grow", "keep"]})
    q = grading.quadrant_counts(view).set_index("quadrant")["customers"]
    assert q.to_dict() == {"grow": 1, "keep": 2}
