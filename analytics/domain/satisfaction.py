"""满意度 Satisfaction: the overall index, NPS, dimensions, and who is getting less happy.

- Index of one survey = weighted mean of the dimensions it answered (1–5) × 20, so 0–100; a
  blank dimension is left out and the weights of the answered ones renormalised (a pulse
  survey with three answers is not dragged down by four blanks).
- NPS = % promoters (recommend 9–10) − % detractors (0–6), over surveys that answered it.
- Response rate = customers who answered a survey in the period / customers who bought in it.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from analytics.domain import customers as cu
from analytics.store.period import Period
from analytics.store.schema import SURVEY_DIMENSIONS
from analytics.store.warehouse import Tables

DEFAULT_WEIGHTS = tuple((d, 1.0) for d in SURVEY_DIMENSIONS)  # equal unless the user says
PROMOTER, DETRACTOR = 9, 6


def survey_index(surveys: pd.DataFrame, weights: tuple[tuple[str, float], ...] =
                 DEFAULT_WEIGHTS) -> pd.Series:
    """0–100 per survey row; NaN when no weighted dimension was answered."""
    w = {d: float(x) for d, x in weights if d in surveys and float(x) > 0}
    if not w:
        return pd.Series(np.nan, index=surveys.index)
    scores = surveys[list(w)].astype(float)
    weight = pd.Series(w)
    answered = scores.notna() * weight
    total = (scores.fillna(0) * weight).sum(axis=1)
    return total / answered.sum(axis=1).where(answered.sum(axis=1) > 0) * 20


def nps(recommend: pd.Series) -> float:
    """Net promoter score (−100…100) over the answered values; NaN when none."""
    r = recommend.dropna()
    if r.empty:
        return float("nan")
    return float(((r >= PROMOTER).mean() - (r <= DETRACTOR).mean()) * 100)


def _surveys(tables: Tables, period: Period,
             weights: tuple[tuple[str, float], ...]) -> pd.DataFrame:
    s = tables.get("surveys")
    frame = s.filter(period.contains(s.survey_date)).to_pandas()
    frame["survey_date"] = pd.to_datetime(frame["survey_date"])
    frame["index"] = survey_index(frame, weights)
    return frame


def summary(tables: Tables, *, period: Period,
            weights: tuple[tuple[str, float], ...] = DEFAULT_WEIGHTS) -> dict[str, float]:
    """index (mean of survey indices), nps, surveys, respondents, response_rate."""
    s = _surveys(tables, period, weights)
    orders = tables.get("orders")
    buyers = int(orders.filter(period.contains(orders.order_date)).customer_id.nunique()
                 .to_pandas())
    respondents = int(s["customer_id"].nunique())
    return {"index": float(s["index"].mean()) if len(s) else np.nan,
            "nps": nps(s["recommend"]) if "recommend" in s else np.nan,
            "surveys": float(len(s)), "respondents": float(respondents),
            "response_rate": respondents / buyers * 100 if buyers else np.nan}


def trend(tables: Tables, *, period: Period,
          weights: tuple[tuple[str, float], ...] = DEFAULT_WEIGHTS) -> pd.DataFrame:
    """One row per quarter of the period: index, nps, surveys."""
    s = _surveys(tables, period, weights)
    quarters = pd.period_range(period.start, period.end, freq="Q")
    s["quarter"] = s["survey_date"].dt.to_period("Q")
    rows = []
    for q in quarters:
        part = s[s["quarter"] == q]
        rows.append({"quarter": str(q), "index": part["index"].mean() if len(part) else np.nan,
                     "nps": nps(part["recommend"]) if "recommend" in part else np.nan,
                     "surveys": len(part)})
    return pd.DataFrame(rows)


def dimensions(tables: Tables, *, period: Period) -> pd.DataFrame:
    """Mean score (1–5) and answers per dimension, weakest first."""
    s = _surveys(tables, period, DEFAULT_WEIGHTS)
    dims = [d for d in SURVEY_DIMENSIONS if d in s]
    out = pd.DataFrame({"dimension": dims, "score": [s[d].mean() for d in dims],
                        "answers": [int(s[d].notna().sum()) for d in dims]})
    return out.sort_values(["score", "dimension"]).reset_index(drop=True)


def breakdown(tables: Tables, *, period: Period, by: str,
              weights: tuple[tuple[str, float], ...] = DEFAULT_WEIGHTS) -> pd.DataFrame:
    """Index, NPS and respondents per group: tier (pyramid by gross profit or revenue),
    type, province or sales_rep."""
    s = _surveys(tables, period, weights)
    if by == "tier":
        metric = cu.available_metrics(tables)[0]
        groups = cu.pyramid(tables, period=period, metric=metric).set_index("customer_id")[
            "tier"]
    else:
        master = tables.get("customers")
        if by not in master.columns:
            return pd.DataFrame(columns=[by, "index", "nps", "respondents"])
        groups = master.select("customer_id", by).to_pandas().set_index("customer_id")[by]
    s[by] = s["customer_id"].map(groups).fillna("—")
    rows = [{by: key, "index": g["index"].mean(),
             "nps": nps(g["recommend"]) if "recommend" in g else np.nan,
             "respondents": g["customer_id"].nunique()} for key, g in s.groupby(by)]
    out = pd.DataFrame(rows, columns=[by, "index", "nps", "respondents"])
    if by == "tier":
        order = {t: i for i, t in enumerate((*cu.TIERS, "—"))}
        return out.sort_values(by, key=lambda x: x.map(order)).reset_index(drop=True)
    return out.sort_values("index").reset_index(drop=True)


def biggest_drops(tables: Tables, *, period: Period, n: int = 20,
                  weights: tuple[tuple[str, float], ...] = DEFAULT_WEIGHTS) -> pd.DataFrame:
    """Customers whose latest survey in the period scored lowest against their previous one
    (any time before): customer_id, name, previous, latest, change, dates. Falls first."""
    s = tables.get("surveys")
    frame = s.filter(s.survey_date <= period.end).to_pandas()
    frame["survey_date"] = pd.to_datetime(frame["survey_date"])
    frame["index"] = survey_index(frame, weights)
    frame = frame.dropna(subset=["index"]).sort_values(["customer_id", "survey_date"])
    last_two = frame.groupby("customer_id").tail(2)
    counts = last_two.groupby("customer_id")["index"].transform("size")
    pairs = last_two[counts == 2]
    latest = pairs.groupby("customer_id").last()
    previous = pairs.groupby("customer_id").first()
    out = pd.DataFrame({"previous": previous["index"], "latest": latest["index"],
                        "previous_date": previous["survey_date"].dt.date,
                        "latest_date": latest["survey_date"].dt.date})
    out = out[pd.to_datetime(out["latest_date"]) >= pd.Timestamp(period.start)]
    out["change"] = out["latest"] - out["previous"]
    out = out[out["change"] < 0].sort_values("change").head(n).reset_index()
    if tables.customers is not None and "name" in tables.customers.columns:
        names = tables.customers.select("customer_id", "name").to_pandas()
        out = out.merge(names, on="customer_id", how="left")
    return out


def churn_link(tables: Tables, *, period: Period, horizon: int = 180,
               weights: tuple[tuple[str, float], ...] = DEFAULT_WEIGHTS) -> pd.DataFrame:
    """Satisfaction of customers who later churned against those who stayed: at the cutoff
    ``period.end − horizon``, customers who bought in the 12 months before it are split by
    whether they ordered in the ``horizon`` days after; each side's latest survey index
    before the cutoff is averaged."""
    from analytics.domain import churn

    cutoff = period.end - timedelta(days=horizon)
    y = churn.labels(tables, cutoff, horizon)
    s = tables.get("surveys")
    frame = s.filter(s.survey_date < cutoff).to_pandas()
    frame["index"] = survey_index(frame, weights)
    latest = frame.dropna(subset=["index"]).sort_values("survey_date").groupby(
        "customer_id")["index"].last()
    joined = pd.DataFrame({"churned": y, "index": latest.reindex(y.index)}).dropna()
    out = joined.groupby("churned")["index"].agg(["mean", "count"]).reindex([0, 1])
    return pd.DataFrame({"group": ["stayed", "churned"], "index": out["mean"].to_numpy(),
                         "customers": out["count"].fillna(0).astype(int).to_numpy(),
                         "cutoff": cutoff})

