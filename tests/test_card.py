"""Customer card pieces: order cycle, reminders, search, the whole card on the demo."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from analytics.domain import card
from analytics.store.period import Period
from analytics.store.warehouse import Warehouse


def test_order_cycle_by_hand() -> None:
    dates = pd.Series(["2025-01-01", "2025-01-11", "2025-01-31", "2025-01-31"])
    on_time = card.order_cycle(dates, as_of=date(2025, 2, 20))
    assert on_time["median_gap_days"] == 15 and on_time["days_since_last"] == 20
    assert on_time["overdue"] is False
    late = card.order_cycle(dates, as_of=date(2025, 3, 10))
    assert late["days_since_last"] == 38 and late["overdue"] is True  # > 2 × 15
    daily = card.order_cycle(pd.Series(["2025-03-01", "2025-03-02", "2025-03-03"]),
                             as_of=date(2025, 3, 12))
    assert daily["overdue"] is False  # 9 days is more than 2 cycles but under two weeks
    assert card.order_cycle(pd.Series([], dtype="object"), as_of=date(2025, 1, 1))[
        "last_order"] is None


def test_upcoming_dates() -> None:
    dates = '{"founded": "2008-01-15", "contact_birthday": "03-30"}'
    out = card.upcoming_dates(dates, as_of=date(2025, 12, 31))
    assert out.to_dict("records") == [{"kind": "founded", "date": date(2026, 1, 15),
                                       "in_days": 15}]
    assert card.upcoming_dates("not json", as_of=date(2025, 1, 1)).empty


def test_search_is_case_insensitive_and_safe(demo_warehouse: Warehouse) -> None:
    tables = demo_warehouse.tables()
    assert set(card.search(tables, query="c0002")["customer_id"]) >= {"C00020", "C00021"}
    assert card.search(tables, query="'; DROP TABLE customers; --").empty
    assert demo_warehouse.row_counts()["customers"] > 0
    by_revenue = card.search(tables, as_of=date(2025, 12, 31))
    assert by_revenue["revenue_12m_cny"].is_monotonic_decreasing


def test_card_of_the_top_customer(demo_warehouse: Warehouse) -> None:
    con = duckdb.connect(str(demo_warehouse.current_path()), read_only=True)
    top, revenue = con.execute("""select customer_id, sum(amount_cny) from orders
        where order_date between '2025-01-01' and '2025-12-31' group by 1 order by 2 desc
        limit 1""").fetchone()  # type: ignore[misc]
    con.close()
    c = card.customer_card(demo_warehouse.tables(), customer_id=top, as_of=date(2025, 12, 31))
    assert c.last_12_months["revenue_cny"] == pytest.approx(revenue)
    assert c.product_mix["share"].sum() == pytest.approx(1.0)
    assert len(c.monthly) == 24
    assert list(c.history["year"])[-1] == 2025 and c.history["tier"].iloc[-1] in (
        "core", "important")
    # the page's way: one standing of every customer shared by all cards, same history
    shared = card.standing(demo_warehouse.tables(), as_of=date(2025, 12, 31))
    pd.testing.assert_frame_equal(card.history_of(shared, top, c.cycle["first_order"]),
                                  c.history)
    assert card.customer_card(demo_warehouse.tables(), customer_id=top,
                              as_of=date(2025, 12, 31), with_history=False).history.empty
    with pytest.raises(LookupError):
        card.customer_card(demo_warehouse.tables(), customer_id="NOPE",
                           as_of=date(2025, 12, 31))


@pytest.mark.parametrize("period,previous", [
    ((date(2025, 1, 1), date(2025, 12, 31)), (date(2024, 1, 1), date(2024, 12, 31))),
    ((date(2025, 1, 1), date(2025, 3, 31)), (date(2024, 10, 1), date(2024, 12, 31))),
    ((date(2025, 1, 5), date(2025, 1, 14)), (date(2024, 12, 26), date(2025, 1, 4))),
], ids=["year-after-leap-year", "quarter", "ten-days"])
def test_previous_period(period: tuple[date, date], previous: tuple[date, date]) -> None:
    assert Period(*period).previous() == Period(*previous)


@pytest.mark.parametrize("level", ["executive", "rep", "manager", "province filter",
                                   "manager + type filter"])
def test_one_customers_history_equals_ranking_and_grading_everyone(
        demo_warehouse: Warehouse, level: str) -> None:
    """A card's tier, rank, pyramid size and grade per year, for one customer (issue 21: a
    scope's first card no longer ranks and grades everyone), equal the standing of every
    customer of the scope — for the whole book computed (not the kept standing), a rep
    (ranked by revenue), a manager and the filters; customers at the top, in the middle, at
    the bottom and without sales in some years."""
    from analytics.domain import customers as cu
    from tests.test_stored import SCOPES

    book = demo_warehouse.tables()
    tables = book.with_() if level == "executive" else SCOPES[level](book)
    end = date(2025, 12, 31)
    whole = card.standing(tables, as_of=end)
    firsts = cu.first_orders(tables).set_index("customer_id")["first_order"]
    year = whole.rows[(whole.rows["year"] == 2025) & whole.rows["rank"].notna()]
    ranked = year.sort_values("rank")["customer_id"]
    late = firsts[pd.to_datetime(firsts) >= pd.Timestamp("2024-01-01")].index[:3]
    picks = [*ranked.head(3), *ranked.iloc[len(ranked) // 2:][:3], *ranked.tail(3), *late]
    checked = 0
    for customer in dict.fromkeys(picks):
        since = pd.Timestamp(firsts[customer]).date()
        want = card.history_of(whole, customer, since)
        got = card.history_for(tables, customer_id=customer, as_of=end, since=since)
        pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=customer)
        checked += 1
        assert got["grade"].notna().any() and got["tier"].notna().any()
    assert checked >= 9
    assert card.history_for(tables, customer_id="nobody", as_of=end, since=None).empty
