# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %%

# %% [markdown]
# # 03 · Market, inventory and products — stock against the market
#
# **Definitions** (docs/method.md; `analytics.domain.market`, `analytics.domain.inventory`,
# `analytics.domain.products`). Moving averages count quotes (trading days), not calendar days;
# 环比 compares with the quote a month earlier and 同比 a year earlier (the last quote on or
# before that day). Safety stock = 1.5 × one cycle's sales (cycle 30 days); days of cover =
# stock ÷ daily sales. Mark-to-market values the stock at the latest spot quote against its
# average cost.

# %%
import sys
from pathlib import Path

sys.path.insert(0, str(Path.cwd().parent))

from analytics.display import charts
from analytics.display.i18n import Labels
from analytics.domain import inventory, market, products
from analytics.domain.overview import data_range
from analytics.store.period import preset
from analytics.store.warehouse import open_warehouse

tables = open_warehouse().tables()
labels = Labels("en")
first, last = data_range(tables)
period = preset("last_12_months", as_of=last)
market.price_board(tables, as_of=last)

# %% [markdown]
# ## Prices: level, moving averages, changes
# The weekly view averages each week's quotes; 涨跌 bars are green up / red down in English
# (red up in Chinese).

# %%
history = market.price_history(tables, product="rebar", grain="week", period=period)
charts.price_chart(history, labels, title="Rebar, weekly").show()
history.tail()

# %% [markdown]
# ## Spreads between products
# HRC − rebar (卷螺差) and CRC − HRC (冷热价差); the percentile places the latest spread in
# the period.

# %%
spreads = market.spreads(tables, period=period)
market.spread_summary(spreads)

# %% [markdown]
# ## Stock against safety stock
# Products below safety stock first, then the overstocked.

# %%
inventory.status(tables, as_of=period.end)

# %%
charts.stock_safety_chart(inventory.safety_history(tables, period=period), labels,
                          title="All products").show()

# %% [markdown]
# ## Stock and price on two axes
# Traders read a stock overhang as bearish: the correlation of the change in stock with the
# next four weeks' price change should be negative.

# %%
weekly = inventory.stock_vs_price(tables, period=period, grain="week")
charts.stock_price_chart(weekly, labels).show()
inventory.price_stock_correlation(weekly)

# %% [markdown]
# ## Mark-to-market, drawdown and a what-if
# Check: the floating P/L is market value minus book value, product by product.

# %%
book = inventory.mark_to_market(tables, as_of=period.end)
total = inventory.mtm_total(book)
assert abs(total["floating_cny"] - (book["market_cny"] - book["book_cny"]).sum()) < 1e-6
scenario = inventory.what_if(book, fall_pct=5.0)
print(f"Floating P/L {total['floating_cny']:,.0f} CNY ({total['floating_pct']:+.2f} % of book);"
      f" a further 5 % fall loses {scenario['loss_cny'].sum():,.0f} CNY")
history = inventory.mtm_history(tables, period=period)
charts.mtm_chart(history, labels).show()

# %% [markdown]
# ## Products: composition, margin per tonne, margins gone negative

# %%
comp = products.composition(tables, period=period)
charts.composition_chart(comp, labels).show()
products.turned_negative(tables, period=period)
