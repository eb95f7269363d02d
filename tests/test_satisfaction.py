"""Satisfaction and complaints by hand: partial answers, NPS, SLA across month ends, stages."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.display.i18n import Labels
from analytics.domain import complaints as co
from analytics.domain import satisfaction as sat
from analytics.store.period import Period, preset
from analytics.store.warehouse import Warehouse, tables_from_frames

ROOT = Path(__file__).resolve().parents[1]
YEAR = Period(date(2025, 1, 1), date(2025, 12, 31))


def test_index_of_partial_answers_renormalises() -> None:
    surveys = pd.DataFrame({"quality": [5, 4, np.nan], "delivery": [3, np.nan, np.nan],
                            "price": [4, 2, np.nan]})
    weights = (("quality", 2.0), ("delivery", 1.0), ("price", 1.0))
    index = sat.survey_index(surveys, weights)
    assert index.iloc[0] == pytest.approx((2 * 5 + 3 + 4) / 4 * 20)   # 85
    assert index.iloc[1] == pytest.approx((2 * 4 + 2) / 3 * 20)       # blank delivery left out
    assert np.isnan(index.iloc[2])                                     # nothing answered


@pytest.mark.parametrize("scores,expected", [
    ([10, 9, 8, 7, 6, 0], (2 - 2) / 6 * 100),
    ([10, 10, 9, 5], (3 - 1) / 4 * 100),
    ([7, 8], 0.0),
    ([np.nan, 9, 6], 0.0),          # blanks are not answers
], ids=["balanced", "promoters", "passives", "blank"])
def test_nps(scores: list[float], expected: float) -> None:
    assert sat.nps(pd.Series(scores, dtype=float)) == pytest.approx(expected)


def _complaints() -> dict[str, pd.DataFrame]:
    rows = [
        # id, opened, closed, severity, valid, department, cause, remedy, approved
        ("P1", "2025-01-30", "2025-02-04", "minor", True, "logistics", "weighing", "discount",
         "2025-02-03"),                                          # 5 days: on time
        ("P2", "2025-02-27", "2025-03-03", "major", True, "quality", "mill", "return",
         "2025-03-02"),                                          # 4 days > 3: late
        ("P3", "2025-12-28", None, "minor", False, "sales", None, None, None),  # open, assigned
        ("P4", "2025-12-20", None, "minor", True, "sales", "staff", "explain", None),
        ("P5", "2025-12-30", None, None, None, None, None, None, None),        # just recorded
        ("P6", "2025-06-28", "2025-07-05", "moderate", True, "finance", "billing_error",
         "discount", "2025-07-04"),                              # 7 days: on time (boundary)
    ]
    complaints = pd.DataFrame(rows, columns=["complaint_id", "opened_date", "closed_date",
                                             "severity", "valid", "department", "cause",
                                             "remedy", "approved_date"])
    complaints["customer_id"] = ["C1", "C1", "C2", "C2", "C3", "C1"]
    complaints["compensation_cny"] = [100.0, 500.0, 0.0, 0.0, 0.0, 50.0]
    complaints["type"] = ["weight", "rust", "service", "service", "billing", "billing"]
    orders = pd.DataFrame({"order_id": ["O1"], "line_no": [1], "order_date": ["2025-03-01"],
                           "customer_id": ["C1"], "volume_t": [2000.0],
                           "amount_cny": [8e6], "cost_cny": [7.9e6]})
    return {"complaints": complaints, "orders": orders}


def test_sla_and_stages_by_hand() -> None:
    assert co.sla_days(date(2024, 12, 28), date(2025, 1, 5)) == 8  # across a year end
    tables = tables_from_frames(_complaints())
    items = co.complaints_in(tables, period=YEAR).set_index("complaint_id")
    assert items.loc["P1", "days_to_close"] == 5 and items.loc["P1", "within_target"]
    assert items.loc["P2", "days_to_close"] == 4 and not items.loc["P2", "within_target"]
    assert items.loc["P6", "within_target"]  # 7 days against a 7-day target
    assert items.loc["P3", "age_days"] == 3 and not items.loc["P3", "overdue"]
    assert items.loc["P4", "age_days"] == 11 and items.loc["P4", "overdue"]
    stages = items["stage"].to_dict()
    assert stages == {"P1": "closed", "P2": "closed", "P3": "assigned", "P4": "remedy",
                      "P5": "recorded", "P6": "closed"}
    pipe = co.pipeline(items.reset_index())
    assert pipe["complaints"].sum() == len(items)  # the stages partition the complaints
    k = co.kpis(tables, items.reset_index(), period=YEAR)
    assert k["within_target_pct"] == pytest.approx(200 / 3)
    assert k["per_1000_t"] == pytest.approx(6 / 2000 * 1000)
    assert k["compensation_share_pct"] == pytest.approx(650 / 100_000 * 100)
    assert k["invalid_pct"] == pytest.approx(100 / 5)  # 1 of the 5 judged did not stand
    assert k["repeat_customers"] == 2 and k["open"] == 3 and k["overdue"] == 1
    assert k["median_days"] == 5 and k["p90_days"] == pytest.approx(6.6)
    assert co.open_items(items.reset_index())["complaint_id"].iloc[0] == "P4"


def test_a_longer_target_changes_what_is_late() -> None:
    tables = tables_from_frames(_complaints())
    items = co.complaints_in(tables, period=YEAR, major_target=5).set_index("complaint_id")
    assert items.loc["P2", "within_target"]


def _sql(wh: Warehouse, query: str) -> list[tuple]:
    con = duckdb.connect(str(wh.current_path()), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_satisfaction_page(lang: str, demo_warehouse: Warehouse) -> None:
    end = _sql(demo_warehouse, "select max(order_date) from orders")[0][0]
    period = preset("last_12_months", as_of=end)
    rec = [r[0] for r in _sql(demo_warehouse, "select recommend from surveys where survey_date "
                              f"between '{period.start}' and '{period.end}' and recommend "
                              "is not null")]
    expected = (sum(r >= 9 for r in rec) - sum(r <= 6 for r in rec)) / len(rec) * 100
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["lang"] = lang
    at.run().switch_page("pages/6_satisfaction.py").run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown["NPS"] == f"{expected:,.0f}"
    labels = Labels(lang)
    dims = [c.proto.spec for c in at.get("plotly_chart")][1]
    assert json.loads(dims)["layout"]["title"]["text"] == labels("dimensions_title")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_complaints_page(lang: str, demo_warehouse: Warehouse) -> None:
    end = _sql(demo_warehouse, "select max(order_date) from orders")[0][0]
    period = preset("last_12_months", as_of=end)
    count = _sql(demo_warehouse, "select count(*) from complaints where opened_date between "
                 f"'{period.start}' and '{period.end}'")[0][0]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["lang"] = lang
    at.run().switch_page("pages/7_complaints.py").run()
    assert not at.exception
    labels = Labels(lang)
    shown = {m.label: m.value for m in at.metric}
    assert shown[labels("co_complaints")] == f"{count:,}"
    everything = at.dataframe[-1].value
    assert len(everything) == count
