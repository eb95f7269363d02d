"""Results stored with each version (analytics.store.results, written by analytics.domain.derive):
equal to computing them, used only for the whole book, rebuilt by every write, and what the
pages' default calls get."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.domain import derive
from analytics.ops import sample
from analytics.store import access, derived, filters, results
from analytics.store.period import Period
from analytics.store.warehouse import STORED_TABLE, Tables, Warehouse

ROOT = Path(__file__).resolve().parents[1]
START, END = date(2019, 1, 1), date(2025, 12, 31)   # the demo's first and last order dates


def _stored(tables: Tables) -> Any:
    return derived.table(tables, STORED_TABLE)


def _defaults(end: date, start: date = START) -> list[tuple[str, dict[str, Any]]]:
    return [(k.name, kwargs) for k in results.KEPT.values()
            for kwargs in k.defaults(start, end)]


def _assert_same(a: Any, b: Any) -> None:
    assert type(a) is type(b)
    if isinstance(b, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    elif dataclasses.is_dataclass(b):
        for f in dataclasses.fields(b):
            _assert_same(getattr(a, f.name), getattr(b, f.name))
    else:
        assert a == b


def test_the_demo_version_holds_every_default_result_equal_to_computing_it(
        demo_warehouse: Warehouse) -> None:
    tables = demo_warehouse.tables()
    assert _stored(tables) is not None
    keys = _stored(tables).select("name").to_pandas()["name"].tolist()
    defaults = _defaults(END)
    assert sorted(keys) == sorted(name for name, _ in defaults)
    computed_from = tables.with_()          # the same tables without the stored results
    assert _stored(computed_from) is None
    for name, kwargs in defaults:
        fn = results.KEPT[name].fn
        _assert_same(fn(tables, **kwargs), fn(computed_from, **kwargs))


def test_narrowed_tables_never_see_the_whole_books_results(demo_warehouse: Warehouse) -> None:
    tables = demo_warehouse.tables()
    rep = access.Scope(user="r", level="rep", reps=("张伟",), single_user=False)
    assert _stored(access.scoped(tables, rep)) is None
    narrowed = filters.apply(tables, filters.Filters(period=Period(date(2025, 1, 1), END),
                                                     provinces=("Guangxi",)))
    assert _stored(narrowed) is None
    # no filter, full access: the tables are the book itself and keep them
    assert _stored(filters.apply(tables, filters.Filters(period=Period(date(2025, 1, 1), END)))
                   ) is not None
    assert _stored(access.scoped(tables, access.Scope())) is not None


def _parts(value: object) -> dict[str, pd.DataFrame]:
    """A kept per-customer result's frames: itself, or each frame field of a dataclass."""
    if isinstance(value, pd.DataFrame):
        return {"": value}
    assert dataclasses.is_dataclass(value) and not isinstance(value, type)
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


SCOPES = {
    "rep": lambda t: access.scoped(t, access.Scope(user="r", level="rep", reps=("张伟",),
                                                   single_user=False)),
    "manager": lambda t: access.scoped(t, access.Scope(user="m", level="manager",
                                                       provinces=("Guangdong",),
                                                       single_user=False)),
    "province filter": lambda t: filters.apply(t, filters.Filters(
        period=Period(date(2025, 1, 1), END), provinces=("Guangxi",))),
    "manager + type filter": lambda t: filters.apply(access.scoped(t, access.Scope(
        user="m", level="manager", provinces=("Guangdong",), single_user=False)),
        filters.Filters(period=Period(date(2025, 1, 1), END), customer_types=("contractor",))),
}


@pytest.mark.parametrize("level", list(SCOPES))
def test_narrowed_tables_read_the_kept_rows_equal_to_computing_them(
        demo_warehouse: Warehouse, level: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 21: the per-customer results kept with the version serve a rep, a manager and a
    filter, cut to their customers; each equals computing it from their own narrowed tables,
    and so does what the grading page and the card build on them."""
    from analytics.domain import card, credit, grading, overview, scorecards
    from analytics.domain import customers as cu
    from analytics.domain.churn import views
    from analytics.store.period import preset

    tables = SCOPES[level](demo_warehouse.tables())
    raw = tables.with_()                     # the same narrowed tables, nothing kept
    mine = set(tables.customers.customer_id.to_pandas())
    assert 0 < len(mine) < demo_warehouse.tables().customers.count().execute()
    # (a ``late`` result is the whole book's cut to the customers: its own test below)
    rows = [(k, kwargs) for k in results.KEPT.values() if k.rows and not k.late
            for kwargs in k.defaults(START, END)]
    assert len(rows) >= 10
    for k, kwargs in rows:
        got, want = _parts(k.fn(tables, **kwargs)), _parts(k.fn(raw, **kwargs))
        assert list(got) == list(want)
        for part, frame in got.items():   # a frame, or each frame of a kept dataclass
            pd.testing.assert_frame_equal(frame, want[part], obj=f"{k.name} {part} {kwargs}")
            assert set(frame["customer_id"]) <= mine
            if level == "rep":   # nothing made of cost, no key contact
                assert not {"gross_profit_cny", "costed_revenue_cny", "key_contact",
                            "key_dates"} & set(frame.columns)
    period = preset("last_12_months", as_of=END)
    calls = [lambda t: grading.grade(t, period=period),
             lambda t: grading.factor_coverage(t, period=period),
             lambda t: grading.value_view(t, period=period),
             lambda t: card.standing(t, as_of=END),
             lambda t: credit.dso_trend(t, period=period),
             lambda t: credit.ageing_summary(t, as_of=END),
             lambda t: credit.ageing_summary(t, as_of=END, by="customer_id"),
             lambda t: views.status_views(t, period=period),
             lambda t: scorecards.reseller_scorecard(t, period=period),
             # the Overview's overdue KPI at its three period ends, from the kept receivables
             # (a frame: equal up to the last digit, as DuckDB adds in no fixed order)
             lambda t: pd.DataFrame({"overdue_cny": overview.overdue_at(t, [p.end for p in (
                 period, period.previous(), period.year_ago())])})]
    _assert_same(overview.kpi_comparison(tables, period), overview.kpi_comparison(raw, period))
    assert overview.data_range(tables) == overview.data_range(raw)   # from the kept spans
    if level != "rep":
        calls.append(lambda t: cu.pyramid(t, period=period))
    computed = [call(raw) for call in calls]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("computed from the order lines")

    # served from the kept rows: the per-customer scans are never run for the narrowed tables
    monkeypatch.setattr(grading, "payment_behaviour", refuse)
    monkeypatch.setattr(cu.measures, "sales_aggregates", refuse)
    monkeypatch.setattr(credit, "receivables_at", refuse)
    monkeypatch.setattr(credit, "with_settlement", refuse)
    monkeypatch.setattr(credit, "paid_on_time", refuse)
    monkeypatch.setattr(views, "load_history", refuse)
    for call, want in zip(calls, computed, strict=True):
        _assert_same(call(tables), want)
    # one customer's card takes its open invoices from the kept open items
    owing = credit.open_items(raw, as_of=END)["customer_id"].drop_duplicates().head(5)
    assert len(owing)
    for customer in owing:
        pd.testing.assert_frame_equal(card._open_invoices(tables, customer, END),
                                      card._open_invoices(raw, customer, END))


@pytest.mark.parametrize("level", ["executive", *SCOPES])
def test_the_kept_early_warning_is_the_whole_books_list_cut_to_the_reader(
        demo_warehouse: Warehouse, level: str) -> None:
    """The early-warning list kept with the version, read by the executive, a manager or a
    filter, equals the list made on request from their own tables and the one churn model's
    scores (trained on the whole book) — reasons, money at stake, order and basis; a rep,
    whose money at stake is the revenue at risk, reads it weighed and ordered so, and nothing
    made of profit (issue 21)."""
    from analytics.domain import churn, warning
    from analytics.domain.churn import views

    book = demo_warehouse.tables()
    tables = book if level == "executive" else SCOPES[level](book)
    found = warning.kept_warning(tables, as_of=END)
    assert found is not None and len(found) > 0
    scores = views.scores_for(churn.score_view(book, as_of=END, kind=churn.MODELS[0]),
                              None, sees_profit=level != "rep").customers
    want = warning.early_warning(tables.with_(), as_of=END, churn_scores=scores[
        ["customer_id", "name", "probability", "value_12m"]])
    pd.testing.assert_frame_equal(found, want)
    if level == "rep":   # the value at stake is revenue, never the profit the book keeps
        profit = churn.score_view(book, as_of=END, kind=churn.MODELS[0]).customers.set_index(
            "customer_id")["value_12m"].reindex(found["customer_id"]).to_numpy()
        revenue = scores.set_index("customer_id")["value_12m"].reindex(
            found["customer_id"]).to_numpy()
        assert (found["value_12m"].to_numpy() == revenue).all()
        assert (revenue > profit).mean() > 0.9
        assert not {"gross_profit_cny", "revenue_12m", "churn_basis"} & set(found.columns)
        assert found["money_at_stake_cny"].is_monotonic_decreasing
    assert found.attrs["churn_basis"] == want.attrs["churn_basis"] == "model"
    assert set(found["customer_id"]) <= set(tables.customers.customer_id.to_pandas())
    assert all(isinstance(r, list) and all(isinstance(x, tuple) for x in r)
               for r in found["reasons"])
    # another date: nothing kept, the page computes it
    assert warning.kept_warning(tables, as_of=END - timedelta(days=1)) is None


@pytest.mark.parametrize("level", list(SCOPES))
def test_the_stock_and_market_results_serve_every_reader_as_the_whole_company(
        demo_warehouse: Warehouse, level: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stock page's company-wide results (``company``: no customer's rows) are kept once
    and read by a rep, a manager and a filter as they are, equal to computing them from
    their own tables; those made of cost are not served to a rep, whose tables refuse them
    as before; a product filter changes the stock itself and computes."""
    from analytics.domain import inventory
    from analytics.store.period import preset
    from analytics.store.warehouse import MissingData

    tables = SCOPES[level](demo_warehouse.tables())
    raw = tables.with_()                     # the same narrowed tables, nothing kept
    company = [(k, kwargs) for k in results.KEPT.values()
               if k.fn.__module__ == inventory.__name__ for kwargs in k.defaults(START, END)]
    assert len(company) == 4
    costed = {"analytics.domain.inventory.mark_to_market",
              "analytics.domain.inventory.mtm_history"}
    want = {}
    for k, kwargs in company:
        if level == "rep" and k.name in costed:
            with pytest.raises(MissingData):
                k.fn(tables, **kwargs)
            continue
        want[k.name] = (k, kwargs, k.fn(raw, **kwargs))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("computed from the stock counts")

    monkeypatch.setattr(inventory, "_counts", refuse)
    for name, (k, kwargs, computed) in want.items():
        got = k.fn(tables, **kwargs)
        assert len(got), name
        pd.testing.assert_frame_equal(got, computed, obj=name)
        if level == "rep":
            assert "avg_cost_cny_per_t" not in got.columns
    monkeypatch.undo()
    rebar = filters.apply(tables, filters.Filters(period=preset("last_12_months", as_of=END),
                                                  categories=("rebar",)))
    shown = inventory.stock_vs_price(rebar, period=preset("last_12_months", as_of=END))
    assert len(shown)
    assert not shown.equals(want["analytics.domain.inventory.stock_vs_price"][2])


def test_other_arguments_are_computed(demo_warehouse: Warehouse,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.domain.churn import views

    calls: list[object] = []
    real = views.score
    monkeypatch.setattr(views, "score", lambda *a, **k: calls.append(k) or real(*a, **k))
    tables = demo_warehouse.tables()
    views.score_view(tables, as_of=END)
    assert calls == []                            # the stored default
    views.score_view(tables, as_of=date(2025, 6, 30))
    assert len(calls) == 1                        # another date: trained on request


def test_every_write_rebuilds_them_from_its_own_data(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    frames = sample.generate_frames()
    wh.replace_tables(frames, action="import", derive=derive.write)
    first = _stored(wh.tables()).to_pandas()
    assert len(first) == len(_defaults(END))
    later = frames["orders"].iloc[:3].assign(order_id=["X1", "X2", "X3"],
                                             order_date=pd.Timestamp("2026-01-15"))
    wh.append_rows({"orders": later}, action="import", derive=derive.write)
    second = _stored(wh.tables()).to_pandas()
    assert len(second) == len(_defaults(date(2026, 1, 15)))   # 2026 adds a year's rows
    assert '"as_of": "2026-01-15"' in " ".join(second["key"])   # the new data's end
    assert '"as_of": "2026-01-15"' not in " ".join(first["key"])
    # a book too short to train on still imports, with the model left to the request
    short = Warehouse(tmp_path / "short")
    short.replace_tables({"orders": later}, action="import", derive=derive.write)
    names = set(_stored(short.tables()).to_pandas()["name"])
    assert "analytics.domain.churn.views.score_view" not in names
    assert short.row_counts() == {"orders": 3}    # results are not data


def test_the_pages_default_calls_are_served_from_the_version(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Overview, grading, customer, churn and credit pages at their defaults train no model,
    grade nobody, age no receivable and compare no periods: every kept result they ask for is
    the stored one."""
    import streamlit as st

    from analytics.domain import card, credit, grading, overview
    from analytics.domain.churn import views

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("computed on request")

    for module, name in ((views, "score"), (views, "backtest"), (views, "load_history"),
                         (card.grading, "factor_inputs"), (credit, "open_items"),
                         (credit, "on_time_by_month"), (overview, "period_sums")):
        monkeypatch.setattr(module, name, refuse)
    assert card.grading is grading
    st.cache_data.clear()
    st.cache_resource.clear()  # the churn model's scores are shared objects (ui.data)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception
    for page in ("pages/3_grading.py", "pages/4_customer.py", "pages/5_churn.py",
                 "pages/8_credit.py"):
        at.switch_page(page).run()
        assert not at.exception, page


def test_a_stored_value_names_only_analytics_dataclasses() -> None:
    with pytest.raises(ValueError, match="not a stored result class"):
        results.decode({"dataclass": "pathlib.PurePath", "fields": {}})
    with pytest.raises(ValueError, match="not a stored result class"):   # ours, not storable
        results.decode({"dataclass": "analytics.store.period.Period", "fields": {}})
    with pytest.raises(TypeError):
        results.encode({1, 2})       # only what decode gives back the same
    value = {"a": (1, date(2025, 1, 2)), "b": [pd.DataFrame({"x": [1.5]})]}
    back = results.decode(results.encode(value))
    assert back["a"] == (1, date(2025, 1, 2))
    pd.testing.assert_frame_equal(back["b"][0], value["b"][0])


def test_a_result_that_fails_leaves_the_import_alone(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An unforeseen error in one result (a bug, odd data) must not refuse good data: the
    version is written without that result, which the page then computes on request."""
    orders = pd.DataFrame({"order_id": ["O1", "O2"], "order_date": ["2025-03-05", "2025-06-01"],
                           "customer_id": ["C1", "C1"], "amount_cny": [1e5, 2e5]})
    whole = Warehouse(tmp_path / "whole")
    whole.replace_tables({"orders": orders}, action="import", derive=derive.write)
    names = set(_stored(whole.tables()).to_pandas()["name"])
    broken = "analytics.domain.churn.views.status_views"
    assert broken in names

    def fails(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setitem(results.KEPT, broken,
                        dataclasses.replace(results.KEPT[broken], fn=fails))
    wh = Warehouse(tmp_path / "broken")
    wh.replace_tables({"orders": orders}, action="import", derive=derive.write)
    assert wh.row_counts() == {"orders": 2}
    assert set(_stored(wh.tables()).to_pandas()["name"]) == names - {broken}


def test_a_kept_frame_read_from_its_table_is_the_frame_stored_and_a_narrowed_read_its_rows(
        ) -> None:
    """Kept frames live in tables of their own (results._put_frame): read back whole they are
    the frame stored — its Arrow types, list cells as lists, an all-empty column, a non-range
    index — and read for narrowed tables they are the frame's rows of those customers, in
    the stored order, without the hidden columns and those made of them. A frame the
    database would not give back as it was (a duration comes back an interval) stays
    Parquet text, equal too."""
    import json

    import duckdb
    import ibis
    import numpy as np

    from analytics.store.warehouse import tables_from

    con = duckdb.connect()
    results.write(con, [])
    frame = pd.DataFrame({
        "customer_id": ["c3", "c1", "c2", "c1"],
        "revenue_cny": [1.5, np.nan, 3.25, 4.0],
        "cost_cny": [1.0, 2.0, 3.0, 4.0],
        "margin": [0.5, np.nan, 0.25, 0.0],
        "first_order": pd.to_datetime(["2024-01-02", "2023-05-06", "2025-12-31",
                                       "2023-05-06"]).astype("datetime64[s]"),
        "reasons": [["late"], [], ["late", "declining"], ["margin"]],
        "nothing": [None, None, None, None],
        "past_cycle": [True, False, True, False]}, index=[7, 3, 5, 1])
    waits = frame[["customer_id"]].assign(wait=pd.to_timedelta([1, 2, 3, 4], unit="D"))
    results.add(con, [("tests.frame", "k", frame), ("tests.waits", "k", waits)])
    stored = {name: json.loads(v) for name, v in
              con.execute(f"SELECT name, value FROM {STORED_TABLE}").fetchall()}
    assert "rows" in stored["tests.frame"] and "frame" in stored["tests.waits"]

    con.execute("CREATE TABLE customers AS SELECT 'c1' AS customer_id UNION ALL SELECT 'c3'")
    backend = ibis.duckdb.from_connection(con)
    source = tables_from(backend).source
    assert source is not None
    whole = results._read_rows(source, (), stored["tests.frame"])
    pd.testing.assert_frame_equal(whole, frame)
    assert whole["reasons"].tolist()[2] == ["late", "declining"]
    pd.testing.assert_frame_equal(results.decode(stored["tests.waits"]), waits)

    narrowed = dataclasses.replace(source, customers=backend.table("customers"),
                                   hidden=frozenset({"cost_cny"}))
    mine = results._read_rows(narrowed, ("margin",), stored["tests.frame"])
    want = frame[frame["customer_id"].isin(["c1", "c3"])].drop(columns=["cost_cny", "margin"])
    pd.testing.assert_frame_equal(mine, want.reset_index(drop=True))
    seeing = dataclasses.replace(narrowed, hidden=frozenset())   # a manager sees the margin
    assert "margin" in results._read_rows(seeing, ("margin",), stored["tests.frame"])
