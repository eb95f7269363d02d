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

# %% [markdown]
# # 02 · Churn — indicators, features, backtest, calibration
#
# **Definitions** (docs/method.md). A customer's *order cycle* is its median gap between order
# days. At a date it is *lost* after 180 days without an order (frequent buyers, cycle ≤ 45
# days) or 365 (others); *overdue* when the open gap exceeds 2 × its cycle, two weeks, and the
# pause it was in on the same calendar day in earlier years (Spring Festival); *declining*
# when the last 90 days' tonnes are under half the same days a year before.
#
# The **classifier** predicts "no order in the next 180 days" for customers who bought in the
# previous 12 months, from features computed strictly before each cutoff.

# %%
import sys
from pathlib import Path

sys.path.insert(0, str(Path.cwd().parent))

from analytics.display import charts, churn_words
from analytics.display.i18n import Labels
from analytics.domain import churn
from analytics.store.warehouse import open_warehouse

tables = open_warehouse().tables()
history = churn.load_history(tables)
labels = Labels("en")
status = churn.customer_status(history, as_of=history.end)
churn.status_summary(status)

# %% [markdown]
# ## Features at one cutoff — only data before it

# %%
chosen = churn.model.settings_for(tables)   # chosen from the data's span; overridable
cuts = list(chosen.cutoffs)
x = churn.features(tables, cuts[-1])
y = churn.labels(tables, cuts[-1], chosen.horizon)
print(churn_words.settings_text(chosen, labels))
print(f"{len(cuts)} cutoffs; at {cuts[-1]}: {len(x)} customers, churn rate {y.mean():.1%}")
x.describe().T[["mean", "50%", "max"]].round(2)

# %% [markdown]
# ## Time-based backtest against the two baselines

# %%
result = churn.backtest(tables)
result.pooled.round(3)

# %%
charts.calibration(result.calibration, labels)

# %% [markdown]
# ## Who is most at risk, and why

# %%
scores = churn.score(tables)
churn_words.risk_table(scores, labels).head(10)

# %%
pooled = result.pooled.set_index("scorer")
assert pooled.loc["model", "roc_auc"] > pooled.loc["recency", "roc_auc"]
