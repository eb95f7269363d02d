"""Market prices by hand: moving averages over trading days, 涨跌, 同比/环比 across gaps and
holidays, 旬 boundaries, spreads, basis, colours per language, and a date + close upload."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.display import charts
from analytics.display.i18n import Labels
from analytics.domain import market
from analytics.ops.cli import main
from analytics.store.period import Period
from analytics.store.warehouse import Warehouse, tables_from_frames


def _prices(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["date", "product", "market", "price_cny_per_t"])
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    frame["source"] = "test"
    return frame


def _tables(frame: pd.DataFrame):  # type: ignore[no-untyped-def]
    return tables_from_frames({"market_prices": frame})


def test_moving_averages_count_quotes_not_calendar_days() -> None:
    # Mon–Fri quotes with a holiday gap (no rows on 2025-01-08 .. 2025-01-10)
    days = ["2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07", "2025-01-13",
            "2025-01-14"]
    values = [100.0, 110.0, 120.0, 130.0, 140.0, 150.0]
    t = _tables(_prices([(d, "rebar", "x", v) for d, v in zip(days, values, strict=True)]))
    hist = market.price_history(t, product="rebar", market="x")
    assert hist["ma5"].isna().tolist() == [True] * 4 + [False, False]
    assert hist["ma5"].iloc[4] == pytest.approx(120.0)      # (100+110+120+130+140)/5
    assert hist["ma5"].iloc[5] == pytest.approx(130.0)      # the gap does not count
    assert hist["ma20"].isna().all()
    assert hist["price_change"].tolist()[1:] == [10.0] * 5
    assert hist["price_change_pct"].iloc[1] == pytest.approx(10.0)


def test_year_and_month_comparisons_reach_back_over_holidays_but_not_over_long_gaps() -> None:
    rows = [("2024-03-08", "hrc", "x", 4000.0),   # Friday: the day a year before 2025-03-09
            ("2024-12-20", "hrc", "x", 3000.0),   # 50 days before 2025-02-08: too old
            ("2025-02-07", "hrc", "x", 3300.0),   # the month before 2025-03-07
            ("2025-03-07", "hrc", "x", 3630.0),
            ("2025-03-09", "hrc", "x", 3600.0)]   # a year back is a Saturday 2024-03-09
    hist = market.price_history(_tables(_prices(rows)), product="hrc", market="x")
    by_day = hist.set_index(hist["date"].dt.date)
    assert by_day.loc[date(2025, 3, 9), "yoy_pct"] == pytest.approx(-10.0)  # vs 4000 (Fri)
    assert by_day.loc[date(2025, 3, 7), "mom_pct"] == pytest.approx(10.0)   # vs 3300
    assert by_day.loc[date(2025, 3, 9), "mom_pct"] == pytest.approx(3600 / 3300 * 100 - 100)
    assert np.isnan(by_day.loc[date(2025, 2, 7), "mom_pct"])  # 2025-01-07: nothing within 7 d
    assert np.isnan(by_day.loc[date(2025, 3, 7), "yoy_pct"])  # 2024-03-07 has nothing before


@pytest.mark.parametrize("day,start", [("2025-03-10", "2025-03-01"), ("2025-03-11", "2025-03-11"),
                                       ("2025-03-20", "2025-03-11"), ("2025-03-21", "2025-03-21"),
                                       ("2025-03-31", "2025-03-21"), ("2024-02-29", "2024-02-21")])
def test_xun_boundaries(day: str, start: str) -> None:
    got = market.period_start(pd.DatetimeIndex([day]), "xun")[0]
    assert got == pd.Timestamp(start)


def test_weekly_and_monthly_views_average_their_quotes() -> None:
    rows = [("2025-03-03", "rebar", "x", 100.0), ("2025-03-05", "rebar", "x", 200.0),
            ("2025-03-10", "rebar", "x", 300.0), ("2025-04-01", "rebar", "x", 400.0)]
    t = _tables(_prices(rows))
    week = market.price_history(t, product="rebar", market="x", grain="week")
    assert week["price"].tolist() == [150.0, 300.0, 400.0]
    month = market.price_history(t, product="rebar", market="x", grain="month")
    assert month["price"].tolist() == [200.0, 400.0]
    assert month["price_change_pct"].iloc[1] == pytest.approx(100.0)
    assert month["mom_pct"].iloc[1] == pytest.approx(100.0)  # a month back is the last month


def test_board_spreads_and_basis() -> None:
    rows = [("2024-12-31", "rebar", "lecong", 3000.0), ("2025-01-02", "rebar", "lecong", 3300.0),
            ("2025-01-02", "hrc", "lecong", 3450.0), ("2025-01-03", "hrc", "lecong", 3500.0),
            ("2025-01-02", "rebar", "shfe", 3200.0), ("2025-01-03", "rebar", "lecong", 3330.0)]
    t = _tables(_prices(rows))
    assert market.default_market(t, "rebar") == "lecong"  # spot before futures
    board = market.price_board(t).set_index(["product", "market"])
    assert board.loc[("rebar", "lecong"), "ytd_pct"] == pytest.approx(11.0)  # 3330 vs 3000
    assert board.loc[("rebar", "lecong"), "price_change"] == 30.0
    spread = market.spreads(t, pairs=(("hrc", "rebar"),), market="lecong")
    assert spread["spread"].tolist() == [150.0, 170.0]
    summary = market.spread_summary(spread).iloc[0]
    assert summary["latest_spread"] == 170.0 and summary["mean_spread"] == 160.0
    assert summary["percentile"] == 100.0
    b = market.basis(t, product="rebar", spot="lecong", futures="shfe")
    assert b["basis"].tolist() == [100.0]


def test_indicators_start_from_history_before_the_period() -> None:
    days = pd.bdate_range("2025-01-01", periods=80)
    frame = _prices([(str(d.date()), "rebar", "x", float(i)) for i, d in enumerate(days)])
    hist = market.price_history(_tables(frame), product="rebar", market="x",
                                period=Period(days[70].date(), days[79].date()))
    assert len(hist) == 10
    assert hist["ma60"].iloc[0] == pytest.approx(np.mean(range(11, 71)))


def test_rise_and_fall_colours_follow_the_language() -> None:
    zh, en = Labels("zh"), Labels("en")
    assert charts.up_down(zh) == (charts.RED, charts.GREEN)   # 红涨绿跌
    assert charts.up_down(en) == (charts.GREEN, charts.RED)
    changes = pd.Series([5.0, -5.0, 0.0])
    assert charts.signed_colours(changes, zh)[:2] == [charts.RED, charts.GREEN]
    assert charts.signed_colours(changes, en)[:2] == [charts.GREEN, charts.RED]
    hist = pd.DataFrame({"date": pd.to_datetime(["2025-01-02", "2025-01-03"]),
                         "price": [1.0, 2.0], "ma5": np.nan, "ma20": np.nan, "ma60": np.nan,
                         "price_change": [np.nan, 1.0]})
    bars = charts.price_chart(hist, zh, title="t").data[-1]
    assert list(bars.marker.color)[1] == charts.RED


def test_a_date_and_close_file_imports_with_its_product_named_once(tmp_path: Path) -> None:
    wh_dir = tmp_path / "wh"
    url = f"duckdb:///{wh_dir}"
    Warehouse(wh_dir).replace_tables(
        {"market_prices": _prices([("2025-01-02", "rebar", "lecong", 3300.0)])},
        action="test")
    # a Sina-style continuous-contract export in GBK: the product and market are only in the
    # file name
    futures = tmp_path / "螺纹连续.csv"
    futures.write_bytes("日期,开盘价,最高价,最低价,收盘价,成交量\n2025-01-02,3190,3230,3180,"
                        "3215,1000\n2025-01-03,3215,3240,3200,3230,900\n".encode("gbk"))
    assert main(["--url", url, "import", str(futures), "--table", "market_prices"]) == 0
    t = Warehouse(wh_dir).tables()
    got = t.market_prices.filter(t.market_prices.market == "shfe").to_pandas()
    assert sorted(got["price_cny_per_t"]) == [3215.0, 3230.0]
    assert set(got["product"]) == {"rebar"}
    # a file name that says nothing: refused until the product is given
    plain = tmp_path / "close.csv"
    plain.write_text("date,close\n2025-01-06,3250\n", encoding="utf-8")
    before = Warehouse(wh_dir).version
    assert main(["--url", url, "import", str(plain), "--table", "market_prices"]) == 2
    assert Warehouse(wh_dir).version == before
    assert main(["--url", url, "import", str(plain), "--table", "market_prices",
                 "--set", "product=hrc", "--set", "market=dce"]) == 0
    t = Warehouse(wh_dir).tables()
    assert market.quotes(t, product="hrc", market="dce").tolist() == [3250.0]
