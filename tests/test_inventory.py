"""Inventory by hand: safety stock and days of cover, carried-forward counts, turnover, FIFO
ageing, mark-to-market with a known answer, drawdown, what-if, and product margins."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from analytics.domain import inventory, products
from analytics.store.period import Period
from analytics.store.warehouse import Tables, Warehouse, tables_from_frames


def _orders(rows: list[tuple[str, str, float, float, float | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["order_date", "category", "volume_t", "amount_cny",
                                        "cost_cny"])
    frame["order_date"] = pd.to_datetime(frame["order_date"]).dt.date
    frame["order_id"] = [f"O{i}" for i in range(len(frame))]
    frame["line_no"] = 1
    frame["customer_id"] = "C1"
    frame["spec"] = "s"
    return frame


def _stock(rows: list[tuple[str, str, str, float, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["date", "product", "warehouse", "on_hand_t",
                                        "avg_cost_cny_per_t"])
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    return frame


def _prices(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["date", "product", "price_cny_per_t"])
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    frame["market"] = "lecong"
    return frame


def _steady(days: int = 60, per_day: float = 10.0) -> pd.DataFrame:
    dates = pd.date_range("2025-01-01", periods=days)
    return _orders([(str(d.date()), "rebar", per_day, per_day * 3000, per_day * 2950)
                    for d in dates])


def _book(stock_t: float) -> Tables:
    return tables_from_frames({"orders": _steady(), "inventory": _stock(
        [("2025-03-01", "rebar", "a", stock_t * 0.5, 2900.0),
         ("2025-03-01", "rebar", "b", stock_t * 0.5, 2900.0)])})


@pytest.mark.parametrize("stock_t,state", [(400.0, "below_safety"), (600.0, "ok"),
                                           (901.0, "overstock")])
def test_safety_stock_and_days_of_cover(stock_t: float, state: str) -> None:
    # 10 t a day for 30 days: cycle sales 300 t, safety 1.5 × 300 = 450 t, overstock 900 t
    row = inventory.status(_book(stock_t), as_of=date(2025, 3, 1)).iloc[0]
    assert row["cycle_sales_t"] == pytest.approx(300.0)
    assert row["safety_t"] == pytest.approx(450.0)
    assert row["overstock_t"] == pytest.approx(900.0)
    assert row["days_cover"] == pytest.approx(stock_t / 10.0)
    assert row["gap_t"] == pytest.approx(stock_t - 450.0)
    assert row["stock_status"] == state


def test_factor_and_cycle_are_parameters() -> None:
    row = inventory.status(_book(600.0), as_of=date(2025, 3, 1), cycle_days=20, factor=2.0,
                           over_factor=2.5).iloc[0]
    assert row["cycle_sales_t"] == pytest.approx(200.0)
    assert row["safety_t"] == pytest.approx(400.0)
    assert row["stock_status"] == "overstock"  # 600 > 2.5 × 200


def test_sparse_counts_carry_forward_per_warehouse() -> None:
    t = tables_from_frames({"inventory": _stock([
        ("2025-01-01", "rebar", "a", 100.0, 3000.0), ("2025-01-05", "rebar", "b", 50.0, 3100.0),
        ("2025-01-08", "rebar", "a", 80.0, 3000.0)])})
    by_day = inventory.stock_by_day(t).set_index("date")["on_hand_t"]
    assert by_day.to_dict() == {pd.Timestamp("2025-01-01"): 100.0,
                                pd.Timestamp("2025-01-05"): 150.0,   # a carried forward
                                pd.Timestamp("2025-01-08"): 130.0}   # b carried forward
    cost = inventory.stock_by_day(t, with_cost=True).set_index("date")
    assert cost.loc["2025-01-05", "avg_cost_cny_per_t"] == pytest.approx(
        (100 * 3000 + 50 * 3100) / 150)


def test_safety_history_uses_the_trailing_cycle() -> None:
    t = tables_from_frames({"orders": _steady(days=40), "inventory": _stock(
        [("2025-01-10", "rebar", "a", 200.0, 1.0), ("2025-02-09", "rebar", "a", 500.0, 1.0)])})
    hist = inventory.safety_history(t, period=Period(date(2025, 1, 1), date(2025, 2, 28)))
    # 10 days of data stand for a cycle (10 t a day), then a full 30 days
    assert hist["cycle_sales_t"].tolist() == [pytest.approx(300.0), pytest.approx(300.0)]
    assert hist["safety_t"].tolist() == [pytest.approx(450.0), pytest.approx(450.0)]
    assert hist["days_cover"].tolist() == [pytest.approx(20.0), pytest.approx(50.0)]


def test_turnover() -> None:
    t = tables_from_frames({"orders": _steady(days=59), "inventory": _stock(
        [("2025-01-01", "rebar", "a", 100.0, 1.0), ("2025-02-28", "rebar", "a", 300.0, 1.0)])})
    turn = inventory.turnover(t, period=Period(date(2025, 1, 1), date(2025, 2, 28)))
    row = turn.set_index("product").loc["rebar"]
    assert row["sold_t"] == pytest.approx(590.0)
    assert row["avg_on_hand_t"] == pytest.approx(200.0)
    assert row["turns"] == pytest.approx(2.95)
    assert row["annual_turns"] == pytest.approx(2.95 * 365 / 59)
    assert row["days_in_stock"] == pytest.approx(59 / 2.95)
    assert turn.set_index("product").loc["all", "sold_t"] == pytest.approx(590.0)


def test_fifo_ageing_from_inferred_receipts() -> None:
    # counts: 100 t on Jan 1; +50 received Feb 1 (no sales); 20 sold and 30 received Mar 20
    t = tables_from_frames({
        "orders": _orders([("2025-03-20", "rebar", 20.0, 60_000.0, 59_000.0)]),
        "inventory": _stock([("2025-01-01", "rebar", "a", 100.0, 1.0),
                             ("2025-02-01", "rebar", "a", 150.0, 1.0),
                             ("2025-03-20", "rebar", "a", 160.0, 1.0)])})
    row = inventory.ageing(t, as_of=date(2025, 3, 31)).iloc[0]
    assert row["on_hand_t"] == 160.0
    assert row["0_30"] == pytest.approx(30.0)        # received Mar 20: 11 days old
    assert row["31_60"] == pytest.approx(50.0)       # received Feb 1: 58 days old
    assert row["before_data"] == pytest.approx(80.0)  # the rest of the opening 100 t
    assert row["61_90"] == 0.0 and row["over_90"] == 0.0


def _mtm_tables() -> Tables:
    return tables_from_frames({
        "inventory": _stock([("2025-06-30", "rebar", "a", 100.0, 4000.0),
                             ("2025-06-30", "hrc", "a", 50.0, 3000.0),
                             ("2025-07-01", "rebar", "a", 100.0, 4000.0),
                             ("2025-07-01", "hrc", "a", 50.0, 3000.0)]),
        "market_prices": _prices([("2025-06-30", "rebar", 4100.0), ("2025-06-30", "hrc", 3000.0),
                                  ("2025-07-01", "rebar", 3800.0), ("2025-07-01", "hrc", 3100.0)])})


def test_mark_to_market_known_answer() -> None:
    book = inventory.mark_to_market(_mtm_tables(), as_of=date(2025, 7, 1)).set_index("product")
    assert book.loc["rebar", "book_cny"] == 400_000.0
    assert book.loc["rebar", "market_cny"] == 380_000.0
    assert book.loc["rebar", "floating_cny"] == -20_000.0
    assert book.loc["rebar", "floating_pct"] == pytest.approx(-5.0)
    assert bool(book.loc["rebar", "alert"]) and not bool(book.loc["hrc", "alert"])
    assert book.loc["hrc", "floating_cny"] == 5_000.0
    total = inventory.mtm_total(book.reset_index())
    assert total["floating_cny"] == -15_000.0
    assert total["floating_pct"] == pytest.approx(-15_000 / 550_000 * 100)
    assert not total["alert"]  # −2.7 % of book: inside the 3 % threshold
    assert inventory.mtm_total(book.reset_index(), threshold_pct=2.5)["alert"]
    scenario = inventory.what_if(book.reset_index(), fall_pct=10.0).set_index("product")
    assert scenario["loss_cny"].sum() == pytest.approx(53_500.0)  # 10 % of 380k + 155k
    assert scenario.loc["rebar", "floating_after_cny"] == pytest.approx(-58_000.0)


def test_mark_to_market_uses_the_last_quote_on_or_before_the_day() -> None:
    t = _mtm_tables()
    t = t.with_(market_prices=t.market_prices.filter(t.market_prices.date < date(2025, 7, 1)))
    book = inventory.mark_to_market(t, as_of=date(2025, 7, 1)).set_index("product")
    assert book.loc["rebar", "price_cny_per_t"] == 4100.0


def test_mtm_history_and_drawdown() -> None:
    hist = inventory.mtm_history(_mtm_tables(), period=Period(date(2025, 6, 1),
                                                              date(2025, 7, 31)))
    assert hist["floating_cny"].tolist() == [10_000.0, -15_000.0]
    assert hist["peak_cny"].tolist() == [10_000.0, 10_000.0]
    assert hist["drawdown_cny"].tolist() == [0.0, -25_000.0]


def test_product_composition_and_margins_turned_negative() -> None:
    orders = _orders([
        ("2025-01-10", "rebar", 10.0, 30_000.0, 29_500.0),   # +50 per t
        ("2025-02-10", "rebar", 10.0, 28_000.0, 28_300.0),   # −30 per t after the fall
        ("2025-02-11", "hrc", 5.0, 17_500.0, None),          # no cost: revenue only
        ("2025-02-12", "hrc", 5.0, 17_500.0, 17_000.0)])
    prices = _prices([("2024-12-27", "rebar", 3000.0), ("2025-02-28", "rebar", 2800.0)])
    t = tables_from_frames({"orders": orders, "market_prices": prices})
    period = Period(date(2025, 1, 1), date(2025, 2, 28))
    comp = products.composition(t, period=period).set_index("category")
    assert comp.loc["rebar", "gross_profit_cny"] == pytest.approx(200.0)
    assert comp.loc["rebar", "gp_per_t"] == pytest.approx(10.0)
    assert comp.loc["hrc", "gp_per_t"] == pytest.approx(100.0)   # costed tonnes only
    assert comp.loc["hrc", "margin_pct"] == pytest.approx(500 / 17_500 * 100)
    assert comp["revenue_share_pct"].sum() == pytest.approx(100.0)
    neg = products.turned_negative(t, period=Period(date(2025, 2, 1), date(2025, 2, 28)))
    assert neg["category"].tolist() == ["rebar"]
    row = neg.iloc[0]
    assert row["gp_per_t_before"] == 50.0 and row["gp_per_t"] == -30.0
    assert row["market_change_pct"] == pytest.approx(2800 / 3000 * 100 - 100)
    assert bool(row["after_price_fall"])


def test_the_stock_pages_totals_and_what_if_rows() -> None:
    """The headline the inventory page shows and the marked-to-market table with the what-if
    loss beside each product: sums a hand can check."""
    status = pd.DataFrame({"product": ["rebar", "hrc", "crc"], "on_hand_t": [300.0, 100.0, 0.0],
                           "daily_sales_t": [10.0, 10.0, 0.0],
                           "stock_status": ["ok", "below_safety", "below_safety"]})
    totals = inventory.status_totals(status)
    assert totals == {"on_hand_t": 400.0, "daily_sales_t": 20.0, "days_cover": 20.0,
                      "below_safety": 2.0}
    idle = inventory.status_totals(status.assign(daily_sales_t=0.0))
    assert idle["days_cover"] != idle["days_cover"]        # NaN: no sales, no cover
    book = pd.DataFrame({"product": ["rebar", "hrc"], "on_hand_t": [100.0, 50.0],
                         "market_cny": [350_000.0, 200_000.0],
                         "floating_cny": [10_000.0, -5_000.0]})
    rows = inventory.with_what_if(book, fall_pct=10.0)
    assert rows["loss_cny"].tolist() == [35_000.0, 20_000.0]
    assert rows["floating_after_cny"].tolist() == [-25_000.0, -25_000.0]
    assert len(rows) == len(book) and list(rows.columns[:4]) == list(book.columns)


def test_composition_gains_turnover_by_category_only_with_inventory() -> None:
    comp = pd.DataFrame({"category": ["rebar", "hrc"], "volume_t": [10.0, 5.0]})
    turn = pd.DataFrame({"product": ["rebar", "all"], "annual_turns": [12.0, 9.0],
                         "days_in_stock": [30.0, 40.0]})
    out = products.with_turnover(comp, turn)
    assert out["annual_turns"].tolist()[0] == 12.0 and pd.isna(out["annual_turns"].iloc[1])
    assert out["days_in_stock"].tolist()[0] == 30.0 and len(out) == 2
    assert products.with_turnover(comp, None) is comp


def test_the_helpers_a_page_shares_are_memoized_per_scope_and_version(
        demo_warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    """The inventory page's cached calls share one daily-sales frame per scope and version
    (analytics.store.memo): a rep's is the rep's own, a second call is the first's copy, and
    each equals computing it without the memo."""
    from analytics.store import access

    end = date(2025, 12, 31)
    tables = demo_warehouse.tables()
    rep = access.scoped(tables, access.Scope(user="r", level="rep", reps=("张伟",),
                                             single_user=False))
    whole = inventory.daily_sales(tables, end=end)
    mine = inventory.daily_sales(rep, end=end)
    assert 0 < mine.to_numpy().sum() < whole.to_numpy().sum()   # the rep's sales, not the book's
    pd.testing.assert_frame_equal(mine, inventory.daily_sales(rep.with_(), end=end))
    pd.testing.assert_frame_equal(whole, inventory.daily_sales(tables.with_(), end=end))

    pivots: list[int] = []
    real = pd.DataFrame.pivot_table

    def counted(self: pd.DataFrame, *args: object, **kwargs: object) -> pd.DataFrame:
        pivots.append(1)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pd.DataFrame, "pivot_table", counted)
    again = inventory.daily_sales(demo_warehouse.tables(), end=end)   # new tables, same version
    assert pivots == []
    pd.testing.assert_frame_equal(again, whole)
    again.iloc[0, 0] = -1.0                     # a caller's change stays with the caller
    pd.testing.assert_frame_equal(inventory.daily_sales(tables, end=end), whole)
    inventory.daily_sales(tables, end=date(2025, 6, 30))   # other arguments: computed
    inventory.daily_sales(tables.with_(), end=end)          # no version: computed
    assert len(pivots) == 2
