""""Did following up work?" fast for every scope (issue 21): every month's strata at once from
the month-end parts kept with each version, and the comparison groups' orders counted as
intervals. Each result must equal the straightforward computation below — one month at a time,
each stratum from ``customer_status`` and a pyramid ranking, each comparable customer looked
up day by day (the code this replaced) — for the executive, a manager, a rep and a filter, on
the demo and on the public CDNOW log; the parts read from the kept table must equal those
computed from the scope's own rows, and a rep must never read the kept gross profit."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.domain import followups as fu
from analytics.domain import month_ends
from analytics.domain.churn.history import History, load_history, order_days
from analytics.domain.churn.status import customer_status
from analytics.domain.customers import TIERS, tier_cutoffs
from analytics.store import derived
from analytics.store import filters as flt
from analytics.store import followups as store
from analytics.store.access import Scope, scoped
from analytics.store.period import Period
from analytics.store.warehouse import Tables, Warehouse
from tests.test_churn_logs import cdnow_log, import_log


# -- the straightforward computation -------------------------------------------------------------
def _strata(history: History, as_of: date) -> pd.DataFrame:
    status = customer_status(history, as_of=as_of)
    if status.empty:
        return pd.DataFrame(columns=["customer_id", "status", "tier", "past_cycle"])
    d = pd.Timestamp(as_of)
    days = history.days[(history.days["date"] > d - pd.Timedelta(days=365))
                        & (history.days["date"] <= d)]
    ranked = days.groupby("customer_id")[history.value_column].sum().rename("value") \
        .reset_index()
    ranked = ranked.assign(key=ranked["value"].round(2)).sort_values(
        ["key", "customer_id"], ascending=[False, True], kind="mergesort")
    cuts = np.array(tier_cutoffs(len(ranked)))
    ranked["tier"] = np.asarray(TIERS)[np.searchsorted(cuts, np.arange(1, len(ranked) + 1))]
    out = status.merge(ranked[["customer_id", "tier"]], on="customer_id", how="left")
    out["tier"] = out["tier"].fillna("none")
    ratio = out["days_since"] / out["cycle_days"].where(out["cycle_days"] > 0)
    out["past_cycle"] = pd.cut(ratio, (-np.inf, 1, 2, 3, 5, np.inf), labels=(
        "within", "1-2", "2-3", "3-5", "over_5")).astype(object).where(ratio.notna(),
                                                                      "one_order")
    return out[["customer_id", "status", "tier", "past_cycle"]]


def _reference(history: History, followups: pd.DataFrame) -> pd.DataFrame:
    """Month by month, customer by customer: what ``fu.matched`` must give."""
    fu_ = followups.loc[followups["customer_id"].isin(set(history.days["customer_id"])),
                        ["id", "customer_id", "action", "assignee", "created_at"]].copy()
    fu_["date"] = pd.to_datetime(fu_["created_at"]).dt.normalize()
    out = []
    by_customer = {c: np.sort(g["date"].to_numpy().astype("datetime64[D]"))
                   for c, g in history.days.groupby("customer_id")}
    for month, in_month in fu_.groupby(fu_["date"].dt.to_period("M")):
        first = in_month.sort_values(["date", "id"]).drop_duplicates("customer_id")
        s = _strata(history, month.start_time.date() - timedelta(days=1))
        s["stratum"] = s["status"] + "|" + s["tier"] + "|" + s["past_cycle"]
        pool = s[~s["customer_id"].isin(set(in_month["customer_id"]))]
        t = first.merge(s, on="customer_id")
        t["comparable_n"] = t["stratum"].map(pool["stratum"].value_counts()).fillna(0)
        gaps: dict[tuple[str, pd.Timestamp], np.ndarray] = {}
        for stratum, day in zip(t["stratum"], t["date"], strict=True):
            group = pool.loc[pool["stratum"] == stratum, "customer_id"]
            gaps[(stratum, day)] = np.array([_gap(by_customer[c], day) for c in group])
        for w in fu.WINDOWS:
            judged = t["date"] + pd.Timedelta(days=w) <= pd.Timestamp(history.end)
            t[f"ordered_{w}"] = [
                float(_gap(by_customer[c], d) <= w) if j else np.nan
                for c, d, j in zip(t["customer_id"], t["date"], judged, strict=True)]
            t[f"comparable_{w}"] = [
                float(np.mean(gaps[(s_, d)] <= w)) if j and len(gaps[(s_, d)]) else np.nan
                for s_, d, j in zip(t["stratum"], t["date"], judged, strict=True)]
        out.append(t)
    cols = ["customer_id", "action", "assignee", "date", "status", "tier", "past_cycle",
            "comparable_n", *(f"ordered_{w}" for w in fu.WINDOWS),
            *(f"comparable_{w}" for w in fu.WINDOWS)]
    return pd.concat(out, ignore_index=True)[cols]


def _effect_stats(rows: pd.DataFrame, by: str | None, w: int) -> pd.DataFrame:
    """``fu.effect``'s numbers per key for window ``w`` with pandas' groupby (the code the
    integer grouping replaced): n, p_t, p_c, n_c and the comparison groups' variance var_c."""
    o, c = f"ordered_{w}", f"comparable_{w}"
    seen = rows.dropna(subset=[o, c])
    k = pd.Series("all", index=seen.index) if by is None else seen[by]
    stats = seen.groupby(k).agg(n=(o, "size"), p_t=(o, "mean"), p_c=(c, "mean"),
                                n_c=("comparable_n", "mean"))
    month = seen["date"].dt.year * 12 + seen["date"].dt.month
    group = seen.groupby([k, month, seen["status"], seen["tier"], seen["past_cycle"]],
                         observed=True).agg(n=("comparable_n", "size"),
                                            m=("comparable_n", "first"), p=(c, "mean"))
    m = group["m"].clip(lower=1)
    p = (group["p"] * m + 0.5) / (m + 1)
    term = (group["n"] ** 2 * p * (1 - p) / m).groupby(level=0).sum()
    return stats.assign(var_c=term.reindex(stats.index) / stats["n"] ** 2)


def _gap(days: np.ndarray, day: pd.Timestamp) -> float:
    """Days from ``day`` to the first of ``days`` after it (inf without one)."""
    later = days[days > np.datetime64(day.date(), "D")]
    return float((later[0] - np.datetime64(day.date(), "D")).astype(int)) if len(later) \
        else np.inf


def _same(fast: pd.DataFrame, slow: pd.DataFrame) -> None:
    assert len(fast) > 0
    pd.testing.assert_frame_equal(fast.reset_index(drop=True), slow.reset_index(drop=True),
                                  check_dtype=False)


# -- the demo, at every level -------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_store() -> pd.DataFrame:
    return store.Store(Path(os.environ[store.ENV_PATH])).frame()


def _level(book: Tables, level: str) -> Tables:
    customers = book.customers.to_pandas()
    busiest = customers["sales_rep"].value_counts().index[0]
    province = customers.loc[customers["sales_rep"] == busiest, "province"].iloc[0]
    if level == "manager":
        return scoped(book, Scope(user="m", level="manager", provinces=(province,),
                                  single_user=False))
    if level == "rep":
        return scoped(book, Scope(user="r", level="rep", reps=(busiest,), single_user=False))
    span = (date(2000, 1, 1), date(2100, 1, 1))
    return flt.apply(book, flt.Filters(period=Period(*span), provinces=(province,)))


@pytest.mark.parametrize("level", ["rep", "manager", "executive + filter"])
def test_a_narrowed_scope_gets_what_its_own_rows_give(demo_warehouse: Warehouse,
                                                     demo_store: pd.DataFrame,
                                                     level: str) -> None:
    tables = _level(demo_warehouse.tables(), level)
    assert derived.table(tables, month_ends.TABLE) is not None  # read from what was kept
    history = load_history(tables)
    # a sample of the months (the reference is slow): every third month's follow-ups
    months = pd.to_datetime(demo_store["created_at"]).dt.to_period("M")
    rows = demo_store[months.dt.month % 3 == 0]
    fast = fu.effect_rows(tables, store=os.environ[store.ENV_PATH], mark="")
    fast = fast[fast["date"].dt.month % 3 == 0]
    _same(fast, _reference(history, rows))
    # and from the kept parts exactly what the scope's own rows give
    _same(fast, fu.matched(history, rows))


def test_months_not_kept_are_judged_from_the_whole_history(demo_warehouse: Warehouse,
                                                           demo_store: pd.DataFrame) -> None:
    """The comparison reads only the order days when the month ends are kept; a follow-up in
    a month the version did not keep (two months after the data) has its strata computed
    from the scope's whole history, coded as the order days: the same rows as from that
    history alone."""
    tables = _level(demo_warehouse.tables(), "manager")
    history = load_history(tables)
    light = order_days(tables)
    assert light is not None and light.end == history.end
    assert list(light.groups().ids) == list(history.groups().ids)
    np.testing.assert_array_equal(light.groups().day, history.groups().day)
    rows = demo_store[pd.to_datetime(demo_store["created_at"]).dt.month == 6]
    later = rows.head(40).assign(
        id=lambda f: f["id"] + 10**7,
        created_at=pd.Timestamp(history.end) + pd.Timedelta(days=70))
    asked = pd.concat([rows, later], ignore_index=True)
    fast = fu.matched_in(tables, asked)
    assert (fast["date"] > pd.Timestamp(history.end)).sum() > 0   # judged for its strata
    _same(fast, fu.matched(history, asked))


def test_the_kept_parts_are_the_scopes_own(demo_warehouse: Warehouse) -> None:
    book = demo_warehouse.tables()
    history = load_history(book)
    days = month_ends.book_month_ends(history)
    assert len(days) >= 60  # every month end of the demo's years
    for level in ("rep", "manager"):
        tables = _level(book, level)
        own = load_history(tables)
        kept = month_ends.parts_for(tables, own, days[::7])
        computed = month_ends.coded(own, days[::7])
        key = ["day", "code"]
        assert len(kept) > 100 and list(kept.columns) == list(month_ends.CODED)
        pd.testing.assert_frame_equal(
            kept.sort_values(key, ignore_index=True),
            computed.sort_values(key, ignore_index=True), check_dtype=False)
        table = derived.table(tables, month_ends.TABLE)
        if level == "rep":   # costs are hidden from a rep: no profit to rank by, or to read
            assert "gross_profit_365" not in table.columns
            assert not own.groups().value_is_profit
        else:
            assert "gross_profit_365" in table.columns and own.groups().value_is_profit


def test_the_whole_book_matches_the_straightforward_way(demo_warehouse: Warehouse,
                                                        demo_store: pd.DataFrame) -> None:
    tables = demo_warehouse.tables()
    history = load_history(tables)
    months = pd.to_datetime(demo_store["created_at"]).dt.to_period("M")
    rows = demo_store[months.dt.month == 6]   # every June: one month a year
    _same(fu.matched(history, rows), _reference(history, rows))


@pytest.mark.parametrize("by", [None, "action", "assignee"])
def test_the_effect_per_key_is_what_grouping_the_rows_gives(demo_warehouse: Warehouse,
                                                          demo_store: pd.DataFrame,
                                                          by: str | None) -> None:
    rows = fu.effect_rows(_level(demo_warehouse.tables(), "manager"),
                          store=os.environ[store.ENV_PATH], mark="")
    out = fu.effect(rows, by=by)
    for w in fu.WINDOWS:
        slow = _effect_stats(rows, by, w)
        fast = out[out["window_days"] == w].set_index(by or pd.Index(["all"] * (len(out) // 3)))
        assert len(slow) >= (1 if by is None else 2)
        fast = fast.loc[slow.index]
        assert fast["followed"].tolist() == slow["n"].tolist()
        np.testing.assert_allclose(fast["followed_pct"], slow["p_t"] * 100, rtol=1e-12)
        np.testing.assert_allclose(fast["comparable_pct"], slow["p_c"] * 100, rtol=1e-12)
        se = 100 * np.sqrt(slow["p_t"] * (1 - slow["p_t"]) / slow["n"] + slow["var_c"])
        np.testing.assert_allclose(fast["low_pts"],
                                   (slow["p_t"] - slow["p_c"]) * 100 - fu.Z95 * se,
                                   rtol=1e-9, atol=1e-9)


# -- a real log ---------------------------------------------------------------------------------
def test_on_the_cdnow_log_with_follow_ups_every_month(tmp_path: Path) -> None:
    """CDNOW (23,570 customers, 18 months, no costs, no tiers by profit): 8 follow-ups a
    month of customers drawn at random, some before their first order. The month ends are
    kept at the import, and the kept and the straightforward comparisons agree."""
    log = cdnow_log()
    tables = import_log(tmp_path / "cdnow", log)
    assert derived.table(tables, month_ends.TABLE) is not None
    rng = np.random.default_rng(7)
    ids = log["customer"].unique()
    months = pd.period_range("1997-02", "1998-06", freq="M")
    rows = pd.DataFrame({
        "id": range(8 * len(months)),
        "customer_id": rng.choice(ids, 8 * len(months)),
        "action": rng.choice(["call", "visit"], 8 * len(months)),
        "assignee": "张伟",
        "created_at": [m.start_time + pd.Timedelta(days=int(d), hours=9) for m in months
                       for d in rng.integers(0, 28, 8)]})
    history = load_history(tables)
    asked: list[list[date]] = []

    def kept(days: list[date]) -> pd.DataFrame:
        asked.append(days)
        return month_ends.parts_for(tables, history, days)

    fast = fu.matched(history, rows, parts=kept)
    # the 17 month ends, a dozen at a time
    assert [len(a) for a in asked] == [9, 8]
    _same(fast, _reference(history, rows))
    assert set(fast["tier"]) - {"none"}   # ranked by revenue: no costs in the log
    assert fast["comparable_180"].isna().any() and fast["comparable_30"].notna().any()


def test_a_failing_month_end_step_blocks_no_import(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The month ends are derived like a kept result: if they cannot be, the import still
    lands with everything else derived, and the comparison computes from the rows."""
    def broken(*args: object, **kwargs: object) -> pd.DataFrame:
        raise RuntimeError("disk full")

    log = cdnow_log()
    log = log[log["date"] <= "19970331"]
    monkeypatch.setattr(month_ends, "_parts", broken)
    tables = import_log(tmp_path / "cdnow", log)
    assert derived.table(tables, month_ends.TABLE) is None
    assert derived.table(tables, "stored_results") is not None
    monkeypatch.undo()
    rows = pd.DataFrame({"id": [1, 2], "customer_id": log["customer"].iloc[:2].tolist(),
                         "action": "call", "assignee": "张伟",
                         "created_at": pd.Timestamp("1997-03-05 09:00")})
    history = load_history(tables)
    _same(fu.matched_in(tables, rows), _reference(history, rows))


def test_nothing_judged_reads_as_too_few_not_an_error() -> None:
    """A file whose follow-ups all fall outside its data (or none at all): every window is
    'too few', by key or not, as the page's first visit to a new company shows it."""
    empty = fu.matched(History(days=pd.DataFrame(columns=["customer_id", "date", "revenue_cny"]),
                               customers=pd.DataFrame(), end=date(2026, 1, 31)),
                       pd.DataFrame(columns=["id", "customer_id", "action", "assignee",
                                             "created_at"]))
    overall = fu.effect(empty)
    assert list(overall["conclusion"]) == ["too_few"] * len(fu.WINDOWS)
    assert (overall["followed"] == 0).all()
    assert fu.effect(empty, by="assignee").empty
