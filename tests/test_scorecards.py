"""Rep, team and reseller scorecards by hand, and the page in both languages and levels."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from analytics.display.i18n import Labels
from analytics.domain import scorecards
from analytics.store.period import Period
from analytics.store.warehouse import Tables, Warehouse, tables_from_frames
from tests.test_pages import _app, _direct, _last_12_months

PERIOD = Period(date(2025, 4, 1), date(2025, 6, 30))  # previous: Jan–Mar 2025


def _d(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        frame[c] = pd.to_datetime(frame[c]).dt.date
    return frame


def _book() -> Tables:
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4"],
                              "name": ["甲贸易", "乙建设", "丙钢构", "丁五金"],
                              "sales_rep": ["A", "A", "B", "B"],
                              "type": ["trader", "contractor", "fabricator", "retail"]})
    orders = _d(pd.DataFrame([
        ("O1", "2025-02-10", "C1", 100.0, 1.0, 90.0),
        ("O2", "2025-02-11", "C2", 200.0, 2.0, 190.0),    # lost: nothing after March
        ("O3", "2025-01-05", "C3", 50.0, 0.5, 45.0),
        ("O4", "2025-04-20", "C3", 70.0, 0.7, 60.0),
        ("O5", "2025-05-02", "C1", 300.0, 6.0, 280.0),
        ("O6", "2025-05-03", "C4", 500.0, 5.0, 450.0),    # first order ever: new
    ], columns=["order_id", "order_date", "customer_id", "amount_cny", "volume_t",
                "cost_cny"]), "order_date").assign(line_no=1)
    targets = _d(pd.DataFrame([
        *[("A", f"2025-0{m}-01", "south", 100.0, 2.0, 10.0) for m in (4, 5, 6)],
        *[("B", f"2025-0{m}-01", "north", 200.0, 2.0, 20.0) for m in (4, 5, 6)],
        ("A", "2025-07-01", "south", 999.0, 9.0, 9.0)],   # outside the period
        columns=["rep", "month", "team", "revenue_cny", "volume_t", "gross_profit_cny"]), "month")
    complaints = _d(pd.DataFrame([("K1", "C1", "2025-05-10"), ("K2", "C3", "2025-03-01")],
                                 columns=["complaint_id", "customer_id", "opened_date"]),
                    "opened_date")
    invoices = _d(pd.DataFrame([
        ("I1", "C2", "2025-02-11", "2025-05-01", 200.0),  # unpaid: overdue at June 30
        ("I2", "C1", "2025-05-02", "2025-06-15", 300.0)], # paid early: on time
        columns=["invoice_id", "customer_id", "invoice_date", "due_date", "amount_cny"]),
        "invoice_date", "due_date")
    payments = _d(pd.DataFrame([("P1", "I2", "2025-06-10", 300.0)],
                               columns=["payment_id", "invoice_id", "paid_date", "paid_cny"]),
                  "paid_date")
    contacts = _d(pd.DataFrame([("C1", "2025-04-02", "A", "visit"),
                                ("C1", "2025-05-02", "A", "call")],
                               columns=["customer_id", "date", "rep", "kind"]), "date")
    reviews = _d(pd.DataFrame([
        ("C1", "2025-04-01", 10.0, 2.0, 4.0, None, None),
        ("C1", "2025-05-01", 10.0, 4.0, 4.0, None, 4.0),
        ("C1", "2025-06-01", 10.0, None, None, None, None)],
        columns=["customer_id", "month", "quota_t", "avg_stock_t", "delivery_days",
                 "damage_handling", "cooperation"]), "month")
    return tables_from_frames({"customers": customers, "orders": orders, "targets": targets,
                               "complaints": complaints, "invoices": invoices,
                               "payments": payments, "contacts": contacts,
                               "reseller_reviews": reviews})


def test_rep_scorecard_by_hand() -> None:
    reps = scorecards.rep_scorecard(_book(), period=PERIOD).set_index("rep")
    a, b = reps.loc["A"], reps.loc["B"]
    assert (a["team"], b["team"]) == ("south", "north")
    assert (a["customers_held"], a["new_customers"], a["lost_customers"]) == (1, 0, 1)
    assert a["lost_value_cny"] == 200.0
    assert a["retention_pct"] == pytest.approx(50.0)        # C1 of C1, C2
    assert (b["customers_held"], b["new_customers"], b["lost_customers"]) == (2, 1, 0)
    assert b["retention_pct"] == pytest.approx(100.0)
    assert a["revenue_cny"] == 300.0 and b["revenue_cny"] == 570.0
    assert a["target_revenue_cny"] == 300.0                 # July is outside
    assert a["attainment_revenue_cny_pct"] == pytest.approx(100.0)
    assert b["attainment_revenue_cny_pct"] == pytest.approx(95.0)
    assert a["gross_profit_cny"] == 20.0
    assert a["attainment_gross_profit_cny_pct"] == pytest.approx(20 / 30 * 100)
    assert a["complaints"] == 1 and b["complaints"] == 0    # K2 was opened in March
    assert a["complaints_per_kt"] == pytest.approx(1 / 6.0 * 1000)
    assert a["overdue_cny"] == 200.0 and b["overdue_cny"] == 0.0
    assert a["contacts"] == 2


def test_team_scorecard_recomputes_ratios() -> None:
    reps = scorecards.rep_scorecard(_book(), period=PERIOD)
    teams = scorecards.team_scorecard(reps).set_index("team")
    assert teams.loc["south", "reps"] == 1
    assert teams.loc["north", "revenue_cny"] == 570.0
    assert teams.loc["north", "attainment_revenue_cny_pct"] == pytest.approx(95.0)


def test_rep_customers_and_trend() -> None:
    moves = scorecards.rep_customers(_book(), period=PERIOD, rep="A").set_index("customer_id")
    assert moves["movement"].to_dict() == {"C1": "retained", "C2": "lost"}
    trend = scorecards.rep_trend(_book(), period=PERIOD, rep="B")
    assert trend["revenue_cny"].fillna(0).tolist() == [70.0, 500.0, 0.0]
    assert trend["target_revenue_cny"].tolist() == [200.0, 200.0, 200.0]


def test_reseller_scorecard_by_hand() -> None:
    board = scorecards.reseller_scorecard(_book(), period=PERIOD)
    assert board["customer_id"].tolist() == ["C1"]           # the only trader
    r = board.iloc[0]
    assert r["quota_t"] == 30.0 and r["completion_pct"] == pytest.approx(20.0)
    assert r["avg_stock_t"] == pytest.approx(3.0)
    assert r["stock_cover_months"] == pytest.approx(1.5)     # 3 t ÷ (6 t ÷ 3 months)
    assert r["score_stock"] == 100.0
    assert r["score_delivery"] == pytest.approx(50.0)        # 4 days: halfway from 1 to 7
    assert r["score_cooperation"] == 100.0 and pd.isna(r["score_damage"])
    assert r["on_time_pct"] == 100.0
    # damage has no data: left out, the other weights renormalised
    assert r["score"] == pytest.approx((30 * 20 + 15 * 100 + 15 * 50 + 15 * 100 + 15 * 100) / 90)
    only_quota = scorecards.reseller_scorecard(_book(), period=PERIOD,
                                               weights=(("quota", 1.0),))
    assert only_quota.iloc[0]["score"] == pytest.approx(20.0)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_team_page(lang: str, demo_warehouse: Warehouse) -> None:
    at = _app(lang).switch_page("pages/14_team.py").run()
    assert not at.exception
    labels = Labels(lang)
    start, end = _last_12_months(demo_warehouse)
    reps = at.dataframe[0].value.set_index(labels.column("rep"))
    revenue = _direct(demo_warehouse, "select sum(o.amount_cny) from orders o join customers c "
                      "using (customer_id) where c.sales_rep = '张伟' and o.order_date between "
                      f"'{start}' and '{end}'")
    assert reps.loc["张伟", labels.column("revenue_cny")] == round(revenue)
    assert len(reps) == _direct(demo_warehouse, "select count(distinct sales_rep) from customers")
    assert set(reps[labels.column("team")]) == {labels.value("team", t) for t in ("north",
                                                                               "south")}
    board = next(d.value for d in at.dataframe if labels.column("score") in d.value.columns)
    scores = board[labels.column("score")]
    assert scores.is_monotonic_decreasing and scores.between(0, 100).all()
    at.number_input(key="reseller_w_quota_0").set_value(0.0).run()
    assert not at.exception
    # the board re-scores without the quota factor, as the analytics do with that weight at 0
    weights = tuple((k, 0.0 if k == "quota" else w) for k, w in
                    scorecards.RESELLER_WEIGHTS.items())
    expected = scorecards.reseller_scorecard(
        demo_warehouse.tables(), period=Period(date.fromisoformat(start),
                                               date.fromisoformat(end)), weights=weights)
    board = next(d.value for d in at.dataframe if labels.column("score") in d.value.columns)
    assert board[labels.column("customer_id")].tolist() == expected["customer_id"].tolist()
    assert board[labels.column("score")].tolist() == pytest.approx(
        expected["score"].round(1).tolist(), nan_ok=True)


def test_reseller_factor_means_skip_factors_without_data() -> None:
    board = pd.DataFrame({f"score_{k}": [50.0, 100.0] for k in scorecards.RESELLER_FACTORS})
    board["score_delivery"] = [80.0, None]           # one reseller reports no delivery time
    means = scorecards.reseller_factor_means(board)
    assert list(means.index) == list(scorecards.RESELLER_FACTORS)
    assert means["quota"] == 75.0 and means["delivery"] == 80.0


def test_reseller_scorecard_of_a_file_without_types_or_reviews_is_empty_not_an_error() -> None:
    """An ERP export of orders and customers only (no customer type, no invoices, no reviews)
    has no reseller to score: an empty scorecard for the page to say so, not a TypeError (the
    payment factor of no rows came back as text: pandas 3 maps text ids through an empty
    series to text)."""
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["甲", "乙"]})
    orders = pd.DataFrame({"order_id": ["O1", "O2"], "customer_id": ["C1", "C2"],
                           "order_date": pd.to_datetime(["2025-03-01", "2025-04-01"]),
                           "amount_cny": [1e5, 2e5], "volume_t": [25.0, 50.0]})
    tables = tables_from_frames({"customers": customers, "orders": orders})
    card = scorecards.reseller_scorecard(tables, period=Period(date(2025, 1, 1),
                                                               date(2025, 12, 31)))
    assert card.empty
    assert card["score"].dtype == float
