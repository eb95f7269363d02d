# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 00 · Overview — the warehouse from a notebook
#
# The same `analytics` package the dashboards use: open the warehouse (read-only, so the app
# can keep running), pick a period, and get the Overview's numbers and chart as DataFrames and
# plotly figures. Set `STEELSIGHT_WAREHOUSE` to analyse another warehouse.

# %%
import sys
from pathlib import Path

sys.path.insert(0, str(Path.cwd().parent))  # run from notebooks/: make the package importable

from analytics.display import charts
from analytics.display.i18n import Labels
from analytics.domain import overview
from analytics.store.period import preset
from analytics.store.warehouse import open_warehouse

wh = open_warehouse()
tables = wh.tables()
first, last = overview.data_range(tables)
period = preset("last_12_months", as_of=last)
print(f"warehouse {wh.version}: orders {first} – {last}; period {period.label()}")

# %% [markdown]
# ## Headline numbers against the previous period and a year ago

# %%
comparison = overview.kpi_comparison(tables, period)
comparison.round(2)

# %% [markdown]
# ## Tonnes and gross profit by month (the Overview's chart, in English here)

# %%
months = overview.monthly(tables, period)
charts.monthly_volume_profit(months, Labels("en"))

# %% [markdown]
# ## Who makes the profit

# %%
top = overview.top_customers(tables, period, n=10)
top[["customer_id", "name", "type", "revenue_cny", "gross_profit_cny", "margin_pct", "share"]]

# %%
assert abs(top["share"].sum() - top["gross_profit_cny"].sum()
           / comparison.set_index("kpi").loc["gross_profit_cny", "value"]) < 1e-9
