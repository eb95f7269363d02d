"""Credit by hand: ageing buckets, instalments, exposure, suggested limits, financing cost."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.display import warning_words
from analytics.display.i18n import Labels
from analytics.domain import credit, warning
from analytics.ops.cli import main
from analytics.store.period import Period
from analytics.store.warehouse import Warehouse, tables_from_frames

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("days,bucket", [(-5, "not_due"), (0, "not_due"), (1, "1_30"),
                                         (30, "1_30"), (31, "31_60"), (60, "31_60"),
                                         (61, "61_90"), (90, "61_90"), (91, "91_180"),
                                         (180, "91_180"), (181, "over_180")])
def test_bucket_boundaries(days: int, bucket: str) -> None:
    assert credit.bucket_of(pd.Series([days])).iloc[0] == bucket


def _book() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "name": ["甲", "乙", "丙"],
                              "sales_rep": ["A", "B", "A"], "credit_grade": ["AA", None, None],
                              "credit_limit_cny": [50_000.0, 10_000.0, None],
                              "payment_terms_days": [60, 30, 0]})
    invoices = pd.DataFrame([
        ("I1", "C1", "O1", "2025-01-30", "2025-03-01", 1_000.0),   # paid in three parts
        ("I2", "C2", "O2", "2025-03-10", "2025-04-09", 20_000.0),  # not paid: over the limit
        ("I3", "C1", "O3", "2025-01-01", "2025-03-02", 10_000.0),  # for the financing cost
    ], columns=["invoice_id", "customer_id", "order_id", "invoice_date", "due_date",
                "amount_cny"])
    payments = pd.DataFrame([
        ("P1", "I1", "2025-02-20", 400.0), ("P2", "I1", "2025-04-15", 300.0),
        ("P3", "I3", "2025-01-31", 5_000.0), ("P4", "I3", "2025-03-02", 5_000.0),
    ], columns=["payment_id", "invoice_id", "paid_date", "paid_cny"])
    orders = pd.DataFrame([
        ("O1", 1, "2025-01-30", "C1", 1.0, 1_000.0, 990.0, "2025-01-30"),
        ("O2", 1, "2025-03-10", "C2", 5.0, 20_000.0, 19_800.0, "2025-03-10"),
        ("O3", 1, "2025-01-01", "C1", 3.0, 10_000.0, 9_990.0, "2025-01-01"),
        ("O4", 1, "2025-04-05", "C2", 1.0, 3_000.0, 2_970.0, "2025-04-06"),  # not invoiced
        ("O5", 1, "2025-04-08", "C1", 1.0, 2_000.0, 1_980.0, None),          # not delivered
    ], columns=["order_id", "line_no", "order_date", "customer_id", "volume_t", "amount_cny",
                "cost_cny", "delivery_date"])
    return {"customers": customers, "invoices": invoices, "payments": payments,
            "orders": orders}


def test_instalments_age_by_the_unpaid_remainder() -> None:
    tables = tables_from_frames(_book())
    early = credit.open_items(tables, as_of=date(2025, 4, 10)).set_index("invoice_id")
    assert early.loc["I1", "open_cny"] == 600 and early.loc["I1", "days_overdue"] == 40
    assert early.loc["I1", "bucket"] == "31_60"
    later = credit.open_items(tables, as_of=date(2025, 4, 20)).set_index("invoice_id")
    assert later.loc["I1", "open_cny"] == 300 and "I3" not in later.index
    table = credit.ageing(later.reset_index())
    assert table["total"].iloc[0] == pytest.approx(20_300)
    assert table[list(credit.BUCKETS)].sum(axis=1).iloc[0] == pytest.approx(20_300)


def test_exposure_and_suggested_limit_by_hand() -> None:
    tables = tables_from_frames(_book())
    e = credit.exposure(tables, as_of=date(2025, 4, 10)).set_index("customer_id")
    assert e.loc["C2", "open_receivables_cny"] == 20_000
    assert e.loc["C2", "uninvoiced_cny"] == 3_000 and e.loc["C2", "exposure_cny"] == 23_000
    assert e.loc["C2", "over_limit"] and e.loc["C2", "utilisation"] == pytest.approx(2.3)
    assert e.loc["C1", "open_orders_cny"] == 2_000
    assert e.loc["C1", "exposure_cny"] == pytest.approx(600 + 2_000)
    assert e.index[0] == "C2"  # over the limit comes first
    # C1: 13,000 sales / 12 months × 2 months × AA 1.0 = 2,166.67 → 2,000 (rounded to 1,000)
    assert e.loc["C1", "suggested_limit_cny"] == 2_000
    # C2 has no grade in the master: derived from payments (1 day late is within the 7-day
    # grace of "pays on terms": AA)
    assert (e.loc["C2", "grade"], e.loc["C2", "grade_source"]) == ("AA", "derived")
    later = credit.exposure(tables, as_of=date(2025, 5, 20)).set_index("customer_id")
    assert later.loc["C2", "grade"] == "A"  # 41 days late by then: late but collectable


def test_suggested_limit_factors() -> None:
    got = credit.suggested_limit(pd.Series([100_000.0] * 5), pd.Series([2.0] * 5),
                                 pd.Series(["AAA", "AA", "A", "B", "C"]))
    assert got.tolist() == [400_000, 200_000, 160_000, 120_000, 0]


def test_financing_cost_by_hand() -> None:
    tables = tables_from_frames(_book())
    fin = credit.financing(tables, period=Period(date(2025, 1, 1), date(2025, 3, 31)))
    c1 = fin.set_index("customer_id").loc["C1"]
    # I3: 5,000 × 30 days + 5,000 × 60 days; I1: 400 × 21 days + 600 open × 60 days to 31 Mar
    money_days = 5_000 * 30 + 5_000 * 60 + 400 * 21 + 600 * 60
    assert c1["financing_cny"] == pytest.approx(money_days * 0.00128 / 30)
    assert c1["gross_profit_cny"] == pytest.approx(20)
    assert c1["net_margin_cny"] == pytest.approx(20 - money_days * 0.00128 / 30)
    assert c1["looks_profitable_but_is_not"]
    # by customer as computed (kept and cut to a scope the same way); worst first to read
    assert list(fin["customer_id"]) == sorted(fin["customer_id"])
    worst = credit.worst_first(fin)
    assert worst["looks_profitable_but_is_not"].iloc[0]
    rest = worst.loc[~worst["looks_profitable_but_is_not"], "net_margin_cny"]
    assert rest.is_monotonic_increasing
    bare = credit.worst_first(fin.drop(columns=list(credit.FINANCING_PROFIT)))
    assert bare["financing_cny"].is_monotonic_decreasing


def test_on_time_rate() -> None:
    tables = tables_from_frames(_book())
    # due in March: I1 (paid 400 of 1,000 by the due date) and I3 (paid in full on the day)
    assert credit.on_time_rate(tables, month=pd.Period("2025-03", "M")) == pytest.approx(50)


def test_early_warning_reasons() -> None:
    tables = tables_from_frames(_book())
    alerts = warning.early_warning(tables, as_of=date(2025, 4, 10), with_churn=False)
    top = alerts.iloc[0]
    assert top["customer_id"] == "C2"
    assert [code for code, _ in top["reasons"]] == ["overdue", "over_limit"]
    assert top["money_at_stake_cny"] == pytest.approx(20_000 + 13_000)
    text = warning_words.describe(top["reasons"], Labels("en"))
    assert "overdue" in text and "over its credit limit" in text


def test_buckets_partition_the_demo_receivables(demo_warehouse: Warehouse) -> None:
    tables = demo_warehouse.tables()
    items = credit.open_items(tables, as_of=date(2025, 6, 30))
    by_rep = credit.ageing(items, by="sales_rep")
    assert by_rep["total"].sum() == pytest.approx(items["open_cny"].sum())
    assert (by_rep[list(credit.BUCKETS)].sum(axis=1) - by_rep["total"]).abs().max() < 1e-6


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_credit_page(lang: str, demo_warehouse: Warehouse) -> None:
    con = duckdb.connect(str(demo_warehouse.current_path()), read_only=True)
    end = con.execute("select max(order_date) from orders").fetchone()[0]  # type: ignore[index]
    total = con.execute(f"""with paid as (select invoice_id, sum(paid_cny) p from payments
        where paid_date <= '{end}' group by 1)
        select sum(amount_cny - coalesce(p, 0)) from invoices left join paid using (invoice_id)
        where invoice_date <= '{end}' and amount_cny - coalesce(p, 0) > 0.01""").fetchone()[0]  # type: ignore[index]
    con.close()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception
    labels = Labels(lang)
    assert any(labels("warning_title") == h.value for h in at.subheader)
    at.switch_page("pages/8_credit.py").run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown[labels.value("bucket", "total")] == labels.money(total)


def test_ageing_cli(capsysbinary) -> None:  # type: ignore[no-untyped-def]
    assert main(["ageing", "--as-of", "2025-06-30", "--by", "sales_rep", "--format",
                 "csv"]) == 0
    frame = pd.read_csv(io.BytesIO(capsysbinary.readouterr().out), encoding="utf-8-sig")
    assert {"sales_rep", *credit.BUCKETS, "total"} <= set(frame.columns)


def test_one_pass_receivables_equal_open_items_month_by_month(demo_warehouse: Warehouse) -> None:
    """dso_trend and the Overview read receivables at many dates in one query; each must equal
    the open items listed at that date."""
    from analytics.domain import overview

    t = demo_warehouse.tables()
    trend = credit.dso_trend(t, period=Period(date(2024, 7, 1), date(2025, 6, 30)))
    assert len(trend) == 12
    for row in trend.itertuples():
        end = (pd.Timestamp(row.month) + pd.offsets.MonthEnd(0)).date()
        items = credit.open_items(t, as_of=end)
        assert row.open_cny == pytest.approx(items["open_cny"].sum())
        assert row.overdue_cny == pytest.approx(items.loc[items["days_overdue"] > 0,
                                                          "open_cny"].sum())
        assert row.on_time_pct == pytest.approx(
            credit.on_time_rate(t, month=pd.Period(end, "M")), nan_ok=True)
        assert overview.overdue_receivables(t, end) == pytest.approx(row.overdue_cny)
