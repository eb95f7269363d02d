"""The demo company against its targets (docs/sample-data.md), computed here with plain pandas.

Where the bounds are wider than DOMAIN's figure, the comment says why.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from analytics.ops import sample
from analytics.store import schema


@pytest.fixture(scope="module")
def lecong(demo_frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    mp = demo_frames["market_prices"]
    spot = mp[mp["market"] == "lecong"]
    wide = spot.pivot(index="date", columns="product", values="price_cny_per_t")
    wide.index = pd.to_datetime(wide.index)
    return wide


@pytest.fixture(scope="module")
def orders(demo_frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    o = demo_frames["orders"].copy()
    o["order_date"] = pd.to_datetime(o["order_date"])
    return o


@pytest.mark.parametrize("year,target", sorted(sample.REBAR_YEAR_MEAN.items()))
def test_yearly_rebar_average_within_5_percent(lecong: pd.DataFrame, year: int,
                                               target: float) -> None:
    mean = lecong.loc[str(year), "rebar"].mean()
    assert abs(mean / target - 1) < 0.05, f"{year}: {mean:.0f} vs {target}"


def test_spreads(lecong: pd.DataFrame) -> None:
    crc_hrc = (lecong["crc"] - lecong["hrc"]).mean()
    assert 550 <= crc_hrc <= 700  # target: ≈600 (measured mean 616)
    hrc_rebar = (lecong["hrc"] - lecong["rebar"]).loc["2021":"2025"].mean()
    assert 100 <= hrc_rebar <= 250


def test_spot_volatility_is_damped(lecong: pd.DataFrame) -> None:
    vol = np.log(lecong["rebar"]).diff().std()
    assert 0.006 <= vol <= 0.014  # target: spot ≈1.0 % a day


def test_concentration(orders: pd.DataFrame) -> None:
    last = orders[orders["order_date"].dt.year == 2025]
    tonnes = last.groupby("customer_id")["volume_t"].sum().sort_values(ascending=False)
    top20 = tonnes.iloc[: round(len(tonnes) * 0.2)].sum() / tonnes.sum()
    # target: 75–85 %; one year of ≈220 customers moves a few points with the seed
    assert 0.70 <= top20 <= 0.88, top20
    profit = (last["amount_cny"] - last["cost_cny"]).groupby(last["customer_id"]).sum()
    profit = profit.sort_values(ascending=False)
    top1 = profit.iloc[: max(1, round(len(profit) * 0.01))].sum() / profit.sum()
    assert 0.08 <= top1 <= 0.30, top1  # target: 15–25 %; top 1 % is only two customers here


def test_gross_margin(orders: pd.DataFrame) -> None:
    margin = 1 - orders["cost_cny"].sum() / orders["amount_cny"].sum()
    assert 0.01 <= margin <= 0.025, margin
    by_month = orders.groupby(orders["order_date"].dt.to_period("M")).apply(
        lambda g: (g["amount_cny"] - g["cost_cny"]).sum())
    negative = (by_month < 0).mean()
    # target: 10–20 % of months; the cost trails a falling market, which the 2021–2025 path does
    # more often than not, so more months turn negative here (reported on the issue)
    assert 0.05 <= negative <= 0.40, negative


@pytest.mark.parametrize("as_of", ["2023-12-31", "2024-12-31", "2025-12-31"])
def test_overdue_share_of_receivables(demo_frames: dict[str, pd.DataFrame], as_of: str) -> None:
    inv, pay = demo_frames["invoices"], demo_frames["payments"]
    day = pd.Timestamp(as_of)
    issued = inv[pd.to_datetime(inv["invoice_date"]) <= day]
    paid = pay[pd.to_datetime(pay["paid_date"]) <= day].groupby("invoice_id")["paid_cny"].sum()
    open_ = issued["amount_cny"] - issued["invoice_id"].map(paid).fillna(0)
    is_open = open_ > 0.01
    overdue = open_[is_open & (pd.to_datetime(issued["due_date"]) < day)].sum()
    share = overdue / open_[is_open].sum()
    assert 0.15 <= share <= 0.36, share  # target: 15–30 %, rising after 2022


def test_spring_festival_dip(orders: pd.DataFrame) -> None:
    daily = orders.groupby("order_date")["volume_t"].sum()
    daily = daily.reindex(pd.date_range("2019-01-01", "2025-12-31"), fill_value=0.0)
    for year, cny in sample.CNY.items():
        if year > 2025:
            continue
        c = pd.Timestamp(cny)
        holiday = daily[c - pd.Timedelta(days=7): c + pd.Timedelta(days=10)].mean()
        before = daily[c - pd.Timedelta(days=60): c - pd.Timedelta(days=22)].mean()
        assert holiday < 0.1 * before, (year, holiday, before)


def test_company_size(demo_frames: dict[str, pd.DataFrame], orders: pd.DataFrame) -> None:
    assert 400 <= len(demo_frames["customers"]) <= 500  # target: ≈400–450 ever
    per_year = orders.groupby(orders["order_date"].dt.year)
    assert per_year["customer_id"].nunique().between(180, 320).all()
    assert per_year["volume_t"].sum().between(80_000, 150_000).all()  # target: 80–150 kt/yr


def test_generated_tables_fit_the_schema(demo_frames: dict[str, pd.DataFrame]) -> None:
    assert set(demo_frames) == set(schema.TABLES)
    for name, frame in demo_frames.items():
        spec = schema.spec(name)
        assert set(frame.columns) <= set(spec.column_names), name
        assert set(spec.required) <= set(frame.columns), name
        assert frame[spec.required].notna().all().all(), name
    o = demo_frames["orders"]
    assert not o.duplicated(["order_id", "line_no"]).any()
    assert (o["volume_t"] > 0).all() and (o["amount_cny"] > 0).all()
    assert set(o["customer_id"]) <= set(demo_frames["customers"]["customer_id"])


def test_invoices_are_never_overpaid(demo_frames: dict[str, pd.DataFrame]) -> None:
    inv = demo_frames["invoices"].set_index("invoice_id")["amount_cny"]
    paid = demo_frames["payments"].groupby("invoice_id")["paid_cny"].sum()
    assert (paid - inv.reindex(paid.index) <= 0.011).all()
    assert (demo_frames["payments"]["paid_cny"] > 0).all()


def test_surveys_in_range_with_blanks(demo_frames: dict[str, pd.DataFrame]) -> None:
    s = demo_frames["surveys"]
    dims = list(schema.SURVEY_DIMENSIONS)
    answered = s[dims].to_numpy().ravel()
    answered = answered[~np.isnan(answered)]
    assert ((answered >= 1) & (answered <= 5)).all()
    kinds = s["survey_type"].value_counts()
    assert len(answered) == 7 * kinds["annual"] + 2 * kinds["pulse"]  # nothing else is blank
    assert s["recommend"].between(0, 10).all()
    assert s.loc[s["survey_type"] == "pulse", "price"].isna().all()  # pulses ask 3 questions
    nps = ((s["recommend"] >= 9).mean() - (s["recommend"] <= 6).mean()) * 100
    assert 15 <= nps <= 45, nps  # DOMAIN §7.8: ≈25–40


def _digest(frames: dict[str, pd.DataFrame]) -> str:
    h = hashlib.sha256()
    for name in sorted(frames):
        h.update(pd.util.hash_pandas_object(frames[name].astype(str), index=False).values)
    return h.hexdigest()


def test_same_seed_same_company_other_seed_other_company() -> None:
    small = sample.SampleConfig(scale=0.2)
    assert _digest(sample.generate_frames(small)) == _digest(sample.generate_frames(small))
    other = sample.SampleConfig(scale=0.2, seed=7)
    assert _digest(sample.generate_frames(small)) != _digest(sample.generate_frames(other))


def test_scale_is_generated_in_bounded_chunks() -> None:
    """Order lines come in chunks of `chunk_customers`, never as one frame, so 10 M lines fit."""
    config = sample.SampleConfig(scale=2.0, chunk_customers=200)
    order_chunks = [len(f) for name, f in sample.generate(config) if name == "orders"]
    assert len(order_chunks) >= 4
    assert max(order_chunks) < sum(order_chunks) / 2
