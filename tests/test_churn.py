"""Churn: status rules on hand-built customers, no leakage, and a model that beats baselines."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.display import churn_words
from analytics.display.i18n import Labels
from analytics.domain import churn
from analytics.domain.churn.features import AT_STAKE, PROCESS_INPUTS
from analytics.domain.churn.history import History
from analytics.store.period import Period
from analytics.store.warehouse import Tables, Warehouse
from bench import churn_reference

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2025, 2, 15)


def _history(orders: dict[str, list[date]], volume: dict[str, list[float]] | None = None
             ) -> History:
    rows = []
    for cid, dates in orders.items():
        vols = (volume or {}).get(cid, [10.0] * len(dates))
        rows += [(cid, pd.Timestamp(d), 1000.0 * v, v) for d, v in zip(dates, vols, strict=True)]
    days = pd.DataFrame(rows, columns=["customer_id", "date", "revenue_cny", "volume_t"])
    return History(days=days, customers=pd.DataFrame({"customer_id": list(orders)}),
                   end=days["date"].max().date())


def _orders_only(orders: dict[str, list[date]]) -> Tables:
    """Tables holding just an orders table with these order dates (in DuckDB, in memory)."""
    rows = [(cid, d, 1000.0, 1.0) for cid, dates in orders.items() for d in dates]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount_cny", "volume_t"])
    return Tables(orders=ibis.memtable(frame, schema={"customer_id": "string",
                                                      "order_date": "date",
                                                      "amount_cny": "float64",
                                                      "volume_t": "float64"}))


def weekly(start: date, end: date, skip: list[tuple[date, date]] = ()) -> list[date]:
    out, d = [], start
    while d <= end:
        if not any(a <= d <= b for a, b in skip):
            out.append(d)
        d += timedelta(days=7)
    return out


def _status(history: History, as_of: date = AS_OF, **rules: object) -> dict[str, str]:
    s = churn.customer_status(history, as_of=as_of, rules=churn.Rules(**rules))
    return dict(zip(s["customer_id"], s["status"], strict=True))


def test_own_cycle_decides_overdue() -> None:
    h = _history({"weekly": weekly(date(2022, 1, 3), AS_OF - timedelta(days=20)),
                  "paused": weekly(date(2022, 1, 3), AS_OF - timedelta(days=10))})
    status = _status(h, seasonal=False)
    assert status == {"weekly": "overdue",   # 20 days > 2 × 7 and > 14
                      "paused": "active"}     # 10 days: within two weeks


def test_a_regular_customers_spring_festival_gap_is_not_flagged() -> None:
    """Every year it pauses from about 20 January to late February: so does this year."""
    pauses = [(date(y, 1, 20), date(y, 2, 24)) for y in (2022, 2023, 2024, 2025)]
    dates = weekly(date(2021, 1, 4), AS_OF, skip=pauses)
    h = _history({"regular": dates})
    last = max(dates)
    assert (AS_OF - last).days > 14  # the open gap alone would look overdue
    assert _status(h) == {"regular": "active"}
    assert _status(h, seasonal=False) == {"regular": "overdue"}
    # a customer without that history, same open gap: flagged
    other = [d for d in weekly(date(2021, 1, 4), AS_OF) if d <= last]
    assert _status(_history({"new_habit": other})) == {"new_habit": "overdue"}


def test_lost_depends_on_buying_frequency() -> None:
    frequent = weekly(date(2023, 1, 2), AS_OF - timedelta(days=200))
    quarterly = [AS_OF - timedelta(days=200 + 90 * i) for i in range(8)][::-1]
    h = _history({"frequent": frequent, "quarterly": quarterly,
                  "once_recent": [AS_OF - timedelta(days=100)],
                  "once_long_ago": [AS_OF - timedelta(days=400)]})
    assert _status(h) == {"frequent": "lost",        # 200 > 180 days for a frequent buyer
                          "quarterly": "overdue",    # 200 > 2 × 90 but < 365
                          # one order: statuses of their own (#19) — waiting for a second
                          # order after k × the book's cycle, lapsed after 180 days
                          "once_recent": "waiting",
                          "once_long_ago": "lapsed"}


def test_declining_against_the_same_days_a_year_earlier() -> None:
    dates = weekly(date(2023, 1, 2), AS_OF)
    vols = [10.0 if d <= AS_OF - timedelta(days=90) else 4.0 for d in dates]
    steady = [10.0] * len(dates)
    h = _history({"falling": dates, "steady": dates}, {"falling": vols, "steady": steady})
    assert _status(h) == {"falling": "declining", "steady": "active"}
    assert _status(h, decline_ratio=0.3) == {"falling": "active", "steady": "active"}


def test_status_trend_by_hand() -> None:
    """Month-end counts: a weekly buyer who stops on 6 January is overdue from January and
    lost in July (180 days for a frequent buyer); a steady weekly buyer stays active."""
    stops = weekly(date(2023, 1, 2), date(2025, 1, 6))
    steady = weekly(date(2023, 1, 2), date(2025, 7, 28))
    h = _history({"stops": stops, "steady": steady})
    trend = churn.status_trend(h, months=pd.period_range("2024-12", "2025-07", freq="M"))
    got = {str(r.month)[:7]: (r.active, r.overdue, r.lost) for r in trend.itertuples()}
    assert got == {"2024-12": (2, 0, 0), "2025-01": (1, 1, 0), "2025-02": (1, 1, 0),
                   "2025-03": (1, 1, 0), "2025-04": (1, 1, 0), "2025-05": (1, 1, 0),
                   "2025-06": (1, 1, 0), "2025-07": (1, 0, 1)}


def test_cohort_retention_by_hand() -> None:
    h = _history({"a": [date(2024, 1, 5), date(2024, 8, 1)],   # 2024Q1, back in Q3
                  "b": [date(2024, 2, 1)],                      # 2024Q1, never again
                  "c": [date(2024, 5, 1), date(2024, 9, 1)],   # 2024Q2, back in Q3
                  "late": [date(2024, 12, 1)]})                 # after as_of: not counted
    share = churn.cohort_retention(h, as_of=date(2024, 9, 30), quarters=3)
    assert list(share.index) == ["2024Q1", "2024Q2"]
    assert share.loc["2024Q1"].tolist()[:3] == [1.0, 0.0, 0.5]
    assert share.loc["2024Q2"].tolist()[:2] == [1.0, 1.0]
    assert share.loc["2024Q1"].isna().tolist() == [False, False, False, True]  # Q4 not yet
    assert share.loc["2024Q2"].isna().tolist() == [False, False, True, True]


def test_labels_by_hand() -> None:
    t = _orders_only({"stays": [date(2024, 6, 1), date(2025, 1, 10), date(2025, 3, 1)],
                      "leaves": [date(2024, 6, 1), date(2024, 12, 1)],
                      "gone_long": [date(2023, 1, 1)],
                      "after_window": [date(2024, 6, 1), date(2025, 6, 30)]})
    y = churn.labels(t, date(2025, 1, 1), horizon=180)
    # gone_long is not in the population; an order on day 181 does not keep a customer
    assert y.to_dict() == {"after_window": 1, "leaves": 1, "stays": 0}


@pytest.fixture(scope="module")
def demo_tables(demo_warehouse: Warehouse) -> Tables:
    return demo_warehouse.tables()


def _truncated(t: Tables, cutoff: date) -> Tables:
    """The tables with every row dated on or after ``cutoff`` removed."""
    dated = {"orders": "order_date", "invoices": "invoice_date", "payments": "paid_date",
             "surveys": "survey_date", "complaints": "opened_date"}
    return t.with_(**{name: t.get(name).filter(t.get(name)[col] < cutoff)
                      for name, col in dated.items()})


def test_status_views_from_one_load_equal_the_separate_views(demo_tables: Tables) -> None:
    period = Period(date(2025, 1, 1), date(2025, 12, 31))
    views = churn.status_views(demo_tables, period=period)
    pd.testing.assert_frame_equal(views.status.reset_index(drop=True),
                                  churn.status_view(demo_tables, period=period)
                                  .reset_index(drop=True))
    history = churn.load_history(demo_tables)
    pd.testing.assert_frame_equal(views.trend, churn.status_trend(history,
                                                                  months=period.months()))
    everyone = churn.customer_status(history, as_of=period.end)
    pd.testing.assert_frame_equal(views.lost, churn.lost_in_period(
        everyone, start=period.start, end=period.end))
    pd.testing.assert_frame_equal(views.cohorts, churn.cohort_retention(
        history, as_of=period.end).iloc[-13:-1])  # the last has no later quarter yet
    assert len(views.trend) == 12 and len(views.cohorts) == 12


@pytest.mark.parametrize("cutoff", [date(2023, 7, 1), date(2025, 1, 1)])
def test_no_feature_reads_data_on_or_after_the_cutoff(demo_tables: Tables,
                                                      cutoff: date) -> None:
    """Features from the full data equal features from data cut at the cutoff: nothing on or
    after it (orders, invoices, payments, surveys, complaints) changes them."""
    full = churn.features(demo_tables, cutoff)
    cut = churn.features(_truncated(demo_tables, cutoff), cutoff)
    pd.testing.assert_frame_equal(full, cut)
    assert {"complaints_180", "satisfaction", "overdue_share", "recency_over_cycle"} <= set(
        full.columns)


@pytest.mark.parametrize("cutoff", [date(2023, 7, 1), date(2025, 1, 1), date(2026, 1, 1)])
def test_engine_features_equal_a_pandas_computation(demo_dir: Path, demo_tables: Tables,
                                                    cutoff: date) -> None:
    """The features computed in the engine (one query for all cutoffs) equal the same
    definitions computed row by row in pandas from the loaded tables."""
    ours = churn.features(demo_tables, cutoff)
    theirs = churn_reference.features(churn_reference.load(demo_dir), cutoff)
    assert list(ours.columns) == list(theirs.columns)
    pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-9)
    # and a training set over several cutoffs equals the single-cutoff features
    many = churn.feature_table(demo_tables, [date(2024, 4, 1), cutoff, cutoff])
    one = many[many["cutoff"] == pd.Timestamp(cutoff)].drop(
        columns=["cutoff", *AT_STAKE, *PROCESS_INPUTS])
    pd.testing.assert_frame_equal(one.set_index("customer_id"), ours)


def test_model_beats_both_baselines_on_the_demo(demo_tables: Tables) -> None:
    result = churn.backtest(demo_tables)
    pooled = result.pooled.set_index("scorer")
    for metric in ("roc_auc", "pr_auc"):
        assert pooled.loc["model", metric] > pooled.loc["cycle_rule", metric], metric
        assert pooled.loc["model", metric] > pooled.loc["recency", metric], metric
    assert result.per_cutoff["cutoff"].nunique() == churn.model.TEST_CUTOFFS
    assert 0 < pooled.loc["model", "brier"] < 0.25
    assert len(result.calibration) >= 5


def test_training_never_sees_a_label_from_after_the_test_cutoff(demo_tables: Tables) -> None:
    cuts = churn.cutoffs(demo_tables)
    t = pd.Timestamp(cuts[-1])
    trainable = [c for c in cuts if pd.Timestamp(c) + pd.Timedelta(days=180) <= t]
    assert trainable and max(trainable) < cuts[-1] - timedelta(days=179)


def test_scores_and_reasons(demo_tables: Tables) -> None:
    scores = churn.score(demo_tables)
    s = scores.customers
    assert s["probability"].between(0, 1).all()
    assert set(s["band"]) <= {"low", "medium", "high"}
    assert s["expected_loss"].is_monotonic_decreasing
    for lang in ("zh", "en"):
        table = churn_words.risk_table(scores, Labels(lang))
        reasons = " ".join(table["raising"]) + " ".join(table["lowering"])
        assert "{" not in reasons and "reason_" not in reasons and reasons.strip()
        assert not re.search(r"\bnan\b", reasons)   # (Hainan, Hunan are provinces)
        sep = "；" if lang == "zh" else "; "
        for text in [*table["raising"], *table["lowering"]]:   # nothing said twice in a row
            said = text.count("天未下单") if lang == "zh" else \
                text.count("since the last order") + text.count("no order for")
            assert said <= 1, text
            assert len(set(text.split(sep))) == len(text.split(sep)), text
    # a value the customer does not have (no credit limit: no credit use) is never a reason
    for col, fact in (("credit_use", "credit_use"), ("satisfaction", "satisfaction"),
                      ("cycle_days", "rhythm")):
        missing = s[s[col].isna()]
        assert len(missing), col   # the demo has such customers
        named = [f for r in missing["raising"] + missing["lowering"] for f in r]
        assert fact not in named, col
    # capped ratios read as "at least"
    row = {"credit_use": 5.0, "overdue_share": 0.25}
    assert churn_words.describe("credit_use", row, Labels("en")) == \
        "uses ≥500% of its credit limit"
    assert "25%" in churn_words.describe("overdue_share", row, Labels("en"))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_churn_page(lang: str) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["lang"] = lang
    at.run().switch_page("pages/5_churn.py").run()
    assert not at.exception
    labels = Labels(lang)
    cards = {m.label for m in at.metric}
    assert {labels.value("status", s) for s in churn.STATUSES} <= cards
    frames = [d.value for d in at.dataframe]
    follow = frames[0]
    assert set(follow[labels.column("status")]) <= {labels.value("status", "overdue"),
                                                    labels.value("status", "declining")}
    card = next(f for f in frames if labels.column("scorer") in f.columns)
    roc = dict(zip(card[labels.column("scorer")], card[labels.column("roc_auc")], strict=True))
    assert roc[labels.value("scorer", "model")] > roc[labels.value("scorer", "recency")]
    risk = frames[-1]
    assert len(risk) > 50 and risk[labels.column("raising")].str.len().gt(0).any()
    assert np.all(np.diff(risk[labels.column("expected_loss")].to_numpy()) <= 1)


def test_early_warning_takes_the_churn_pages_scores(demo_tables: Tables) -> None:
    """The Overview and credit pages pass the churn page's scores to the early warning: the
    same list as training the model inside, and under a filter only the filtered customers,
    with the unfiltered model's probabilities."""
    from analytics.domain import warning
    from analytics.store import filters

    end = date(2025, 12, 31)
    scores = churn.score_view(demo_tables, as_of=end).customers[
        ["customer_id", "name", "probability", "value_12m"]]
    own = warning.early_warning(demo_tables, as_of=end)
    shared = warning.early_warning(demo_tables, as_of=end, churn_scores=scores)
    pd.testing.assert_frame_equal(own, shared)
    assert (shared["probability"] >= 0.5).any()
    narrowed_tables = filters.apply(demo_tables, filters.Filters(
        period=Period(date(2025, 1, 1), end), provinces=("Guangxi",)))
    narrowed = warning.early_warning(narrowed_tables, as_of=end, churn_scores=scores)
    guangxi = set(narrowed_tables.get("customers").to_pandas()["customer_id"])
    assert len(narrowed) and set(narrowed["customer_id"]) <= guangxi
    p = scores.set_index("customer_id")["probability"]
    assert np.allclose(narrowed["probability"], p.reindex(narrowed["customer_id"]).fillna(0))
    nobody = filters.apply(demo_tables, filters.Filters(
        period=Period(date(2025, 1, 1), end), provinces=("no such province",)))
    assert warning.early_warning(nobody, as_of=end, churn_scores=scores).empty


def test_overview_credit_and_churn_pages_train_one_model(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """The first visitor's Overview trains the churn model; the credit and churn pages reuse
    it (same scope, same data version) instead of training their own. Last year's period: the
    default period's model is stored with the version (tests/test_stored.py)."""
    import streamlit as st

    from analytics.domain.churn import views

    trained: list[date] = []
    real = views.score

    def counting(*args: object, **kwargs: object) -> churn.Scores:
        trained.append(kwargs["as_of"])  # type: ignore[arg-type]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(views, "score", counting)
    st.cache_data.clear()
    st.cache_resource.clear()  # the churn model's scores are shared objects (ui.data)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.session_state["period_preset"] = "last_year"
    at.run()
    assert trained == [date(2025, 1, 1)]
    at.switch_page("pages/8_credit.py").run()
    at.switch_page("pages/5_churn.py").run()
    assert not at.exception
    assert len(trained) == 1


def test_every_scope_reads_the_one_model_of_the_whole_book(demo_tables: Tables) -> None:
    """A rep and a province manager read the whole book's scores narrowed to their
    customers (issue 21): the same probabilities as the executive's; for the rep no margin
    feature, no margin reason and revenue as the value at stake, which equals the value the
    rep's own masked tables give (their features have no cost, so their value is revenue)."""
    from analytics.store import access
    end = date(2025, 12, 31)
    book = churn.score_view(demo_tables, as_of=end)
    assert "margin_pct_365" in book.columns  # the demo has costs: the model reads margin
    assert any("margin" in r for r in book.customers["raising"]) or any(
        "margin" in r for r in book.customers["lowering"])
    rep = access.Scope(user="li", level="rep", reps=("李娜",), single_user=False)
    manager = access.Scope(user="m", level="manager", provinces=("Guangxi",),
                           single_user=False)
    p = book.customers.set_index("customer_id")["probability"]
    for scope in (rep, manager):
        tables = access.scoped(demo_tables, scope)
        ids = access.visible_customers(tables, scope)
        assert ids and len(ids) < len(p)
        mine = churn.scores_for(book, ids, sees_profit=scope.sees_profit)
        assert set(mine.customers["customer_id"]) == set(ids) & set(p.index)
        got = mine.customers.set_index("customer_id")["probability"]
        assert (got == p.reindex(got.index)).all()
    tables = access.scoped(demo_tables, rep)
    mine = churn.scores_for(book, access.visible_customers(tables, rep), sees_profit=False)
    assert "margin_pct_365" not in mine.columns and "margin_pct_365" not in mine.customers
    assert "margin_pct_365" not in mine.typical
    assert not any("margin" in r for r in mine.customers["raising"])
    assert not any("margin" in r for r in mine.customers["lowering"])
    own = churn.feature_table(tables, [end + timedelta(days=1)]).set_index("customer_id")
    value = mine.customers.set_index("customer_id")["value_12m"]
    assert np.allclose(value, own["value_365"].reindex(value.index), atol=0.01)
    # revenue is not profit: the executive's values differ for the same customers
    assert not np.allclose(value, book.customers.set_index("customer_id")["value_12m"]
                           .reindex(value.index))
    loss = mine.customers["expected_loss"].to_numpy()
    assert (np.diff(loss) <= 1e-9).all()  # still biggest expected loss first
    assert churn.scores_for(book, None, sees_profit=True) is book
