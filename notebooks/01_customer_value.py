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
# # 01 · Customer value — pyramid, migration, ABC, grading
#
# The method's core views (docs/method.md) from the same `analytics` functions the pages use.
# Every function takes the warehouse's Ibis tables and returns pandas.

# %%
import sys
from pathlib import Path

sys.path.insert(0, str(Path.cwd().parent))

from analytics.display import charts
from analytics.display.i18n import Labels
from analytics.domain import abc, grading, overview
from analytics.domain import customers as cu
from analytics.store.period import preset
from analytics.store.warehouse import open_warehouse

tables = open_warehouse().tables()
first, last = overview.data_range(tables)
period = preset("last_12_months", as_of=last)
labels = Labels("en")
period.label()

# %% [markdown]
# ## The pyramid: 1 % of customers, how much of the profit?

# %%
tiers = cu.pyramid(tables, period=period, metric="gross_profit_cny")
summary = cu.tier_summary(tiers)
charts.pyramid(summary, labels, value_label="gross profit")

# %%
summary.round(3)

# %% [markdown]
# ## Who moved between tiers since the previous 12 months

# %%
moves = cu.tier_migration(tables, period=period)
cu.migration_matrix(moves)

# %%
charts.migration_sankey(moves, labels)

# %%
cu.moved_down(moves).head(10)[["customer_id", "name", "tier_previous", "tier_current",
                               "value_previous", "value_current", "change"]]

# %% [markdown]
# ## ABC of customers and ABC-XYZ of products

# %%
ranked = abc.abc_customers(tables, period=period)
abc.class_summary(ranked)

# %%
products = abc.abc_products(tables, period=period, level="spec", metric="revenue_cny")
abc.abc_xyz_matrix(products)

# %% [markdown]
# ## Grades: what if loyalty counted double?

# %%
base = grading.grade(tables, period=period)
loyal = grading.grade(tables, period=period, weights=tuple(
    (k, w * 2 if k == "loyalty" else w) for k, w in grading.DEFAULT_WEIGHTS))
changed = base.customers.merge(loyal.customers, on="customer_id", suffixes=("", "_loyal"))
changed = changed[changed["grade"] != changed["grade_loyal"]]
print(f"{len(changed)} customers change grade when loyalty weighs double")
changed[["customer_id", "name", "grade", "grade_loyal", "loyalty"]].head(10)

# %%
assert abs(summary["value_share"].sum() - 1) < 1e-9
assert set(ranked["abc_class"]) <= {"A", "B", "C"}

# %% [markdown]
# ## What customers say: satisfaction and complaints
#
# Index = weighted mean of the answered dimensions × 20; NPS = % promoters − % detractors.

# %%
from analytics.domain import complaints as co
from analytics.domain import satisfaction as sat

print(sat.summary(tables, period=period))
charts.dimension_bars(sat.dimensions(tables, period=period), labels)

# %%
items = co.complaints_in(tables, period=period)
co.pipeline(items)

# %%
co.kpis(tables, items, period=period)
