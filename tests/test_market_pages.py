"""The market, inventory and products pages in both languages: the numbers on screen equal a
direct query of the warehouse, the controls recompute, and the colours follow the language."""

from __future__ import annotations

import json

import pytest
from streamlit.proto.Metric_pb2 import Metric

from analytics.display.i18n import Labels
from analytics.store.warehouse import Warehouse
from tests.test_pages import _app, _direct, _last_12_months


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_market_page(lang: str, demo_warehouse: Warehouse) -> None:
    at = _app(lang).switch_page("pages/11_market.py").run()
    assert not at.exception
    labels = Labels(lang)
    _, end = _last_12_months(demo_warehouse)
    last = _direct(demo_warehouse, "select price_cny_per_t from market_prices where product = "
                   f"'rebar' and market = 'lecong' and date <= '{end}' order by date desc "
                   "limit 1")
    before = _direct(demo_warehouse, "select price_cny_per_t from market_prices where product "
                     f"= 'rebar' and market = 'lecong' and date < '{end}' order by date desc "
                     "limit 1")
    price = at.metric[0]
    assert price.value == labels.number(last)
    assert price.delta.startswith(f"{last - before:+,.0f}")
    # 红涨绿跌 in Chinese: a rise is red and a fall green; English the other way round
    up = price.proto.direction == Metric.MetricDirection.UP
    red, green = Metric.MetricColor.RED, Metric.MetricColor.GREEN
    assert price.proto.color == ((red if up else green) if lang == "zh" else
                                 (green if up else red))
    board = at.dataframe[0].value
    assert len(board) == _direct(demo_warehouse, "select count(*) from (select distinct "
                                 "product, market from market_prices)")
    row = board[(board[labels.column("product")] == labels.value("category", "rebar"))
                & (board[labels.column("market")] == labels.value("market", "lecong"))]
    assert row[labels.column("price")].iloc[0] == last
    at.segmented_control(key="market_grain").set_value("month").run()
    assert not at.exception
    monthly = _direct(demo_warehouse, "select avg(price_cny_per_t) from market_prices where "
                      f"product = 'rebar' and market = 'lecong' and date_trunc('month', date) "
                      f"= date_trunc('month', date '{end}')")
    assert at.metric[0].value == labels.number(monthly)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_inventory_page(lang: str, demo_warehouse: Warehouse) -> None:
    at = _app(lang).switch_page("pages/12_inventory.py").run()
    assert not at.exception
    labels = Labels(lang)
    _, end = _last_12_months(demo_warehouse)
    day = f"(select max(date) from inventory where date <= '{end}')"
    stock = _direct(demo_warehouse, f"select sum(on_hand_t) from inventory where date = {day}")
    assert at.metric[0].value == labels.tonnes(stock)
    floating = _direct(demo_warehouse, f"""
        select sum(i.on_hand_t * (p.price_cny_per_t - i.avg_cost_cny_per_t))
        from inventory i join market_prices p on p.product = i.product and p.date = i.date
             and p.market = 'lecong'
        where i.date = {day}""")
    metrics = {m.label: m for m in at.metric}
    assert metrics[labels("col_floating_cny")].value == labels.money(floating)
    status = at.dataframe[0].value
    safety = status[labels.column("safety_t")]
    at.number_input(key="stock_factor").set_value(3.0).run()
    assert not at.exception
    doubled = at.dataframe[0].value
    # rows may reorder (status first): compare product by product
    before = dict(zip(status[labels.column("product")], safety, strict=True))
    after = dict(zip(doubled[labels.column("product")], doubled[labels.column("safety_t")],
                     strict=True))
    for product, value in before.items():
        assert after[product] == pytest.approx(2 * value, abs=0.15)
    at.slider(key="what_if").set_value(10.0).run()
    market_value = _direct(demo_warehouse, f"""
        select sum(i.on_hand_t * p.price_cny_per_t)
        from inventory i join market_prices p on p.product = i.product and p.date = i.date
             and p.market = 'lecong' where i.date = {day}""")
    loss = {m.label: m for m in at.metric}[labels("what_if_loss", fall=10.0)]
    assert loss.value == labels.money(-0.10 * market_value)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_products_page(lang: str, demo_warehouse: Warehouse) -> None:
    at = _app(lang).switch_page("pages/13_products.py").run()
    assert not at.exception
    labels = Labels(lang)
    start, end = _last_12_months(demo_warehouse)
    comp = at.dataframe[0].value.set_index(labels.column("category"))
    rebar = comp.loc[labels.value("category", "rebar")]
    revenue = _direct(demo_warehouse, "select sum(amount_cny) from orders where category = "
                      f"'rebar' and order_date between '{start}' and '{end}'")
    assert rebar[labels.column("revenue_cny")] == round(revenue)
    gp_t = _direct(demo_warehouse, "select sum(amount_cny - cost_cny) / sum(volume_t) from "
                   f"orders where category = 'rebar' and order_date between '{start}' and "
                   f"'{end}' and cost_cny is not null")
    assert rebar[labels.column("gp_per_t")] == round(gp_t)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"]
              for c in at.get("plotly_chart")]
    assert titles == [labels("composition_title"), labels("margin_heatmap_title")]
