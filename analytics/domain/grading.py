"""客户分级评分 Customer grading: the method's weighted factor table (docs/method.md).

Each factor gives a level 1–4 (4 = best). Amount factors use the method's bands (万元) or, by
default, quantiles of this company's customers, since the method's bands are a small trader's;
the cut-offs used are returned for the page to show. A factor without data for a customer is
left out of that customer's score and the other weights renormalised — never counted as 0.
Grade: A ≥ 3.25, B ≥ 2.5, C ≥ 1.75, D below; class 核心/重要/普通/中小 follows the grade, a
customer without a purchase in the 12 months is 潜在 potential if it never bought, else lost.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import ibis
import numpy as np
import pandas as pd
from ibis import _

from analytics.domain import customers
from analytics.domain.measures import CENT, with_settlement
from analytics.store.frames import member, present
from analytics.store.period import Period
from analytics.store.results import kept, last_12_months, storable
from analytics.store.warehouse import Tables

WAN = 10_000.0


@storable
@dataclass(frozen=True)
class Factor:
    key: str
    source: str           # "amount" (banded amount), "computed" (rule on data), "master" (1–4)
    weight: float         # default weight (the method gives none; these sum to 100)
    bands_wan: tuple[float, float, float] | None = None  # method's level-2/3/4 lower bounds


FACTORS: tuple[Factor, ...] = (
    Factor("gross_profit", "amount", 15, (3, 10, 30)),
    Factor("sales", "amount", 10, (5, 50, 100)),
    Factor("expected_sales", "amount", 10, (5, 50, 100)),
    Factor("credit_record", "computed", 10),
    Factor("loyalty", "computed", 10),
    Factor("product_importance", "master", 5),
    Factor("industry_influence", "master", 5),
    Factor("tenure", "computed", 5),
    Factor("share_of_wallet", "computed", 10),
    Factor("relationship_depth", "master", 5),
    Factor("prospects", "master", 5),
    Factor("impact_if_lost", "master", 5),
    Factor("strategic_fit", "master", 5),
)
FACTOR_KEYS = tuple(f.key for f in FACTORS)
DEFAULT_WEIGHTS = tuple((f.key, f.weight) for f in FACTORS)
AMOUNT_COLUMNS = {"gross_profit": "gross_profit_cny", "sales": "sales_cny",
                  "expected_sales": "expected_sales_cny"}
# the columns of factor_inputs that factor_levels reads (the rest describe the customer)
SCORED_INPUTS = ("customer_id", *AMOUNT_COLUMNS.values(),
                 *(f.key for f in FACTORS if f.source == "master"), "tenure_years",
                 "active_months", "share_of_wallet", "max_days_late", "unpaid_over_180")
MODES = ("quantile", "absolute")  # amount levels: quantiles of the data, or the fixed 万元 bands
QUANTILES = (0.40, 0.70, 0.90)  # amount levels by default: bottom 40 % → 1, … top 10 % → 4
GRADE_CUTS = (1.75, 2.5, 3.25)   # score → D / C / B / A
GRADES = ("A", "B", "C", "D")
CLASSES = ("core", "important", "ordinary", "small", "potential", "lost")
GRADE_CLASS = {"A": "core", "B": "important", "C": "ordinary", "D": "small"}
TENURE_YEARS = (1, 3, 5)          # method: < 1 y, 1–3 y, 3–5 y, > 5 y
LOYALTY_MONTHS = (3, 6, 10)       # months with an order in the last 12
WALLET_SHARES = (0.3, 0.5, 0.9)   # backup only, even with rivals, leader, ≈ all of it
LATE_GRACE_DAYS = 7               # paid within a week of the due date counts as on terms
STAGES = ("potential", "qualified", "target", "key", "focus")


def levels_from_cuts(values: pd.Series, cuts: tuple[float, float, float]) -> pd.Series:
    """Level 1–4 from three ascending lower bounds: v ≥ cuts[2] → 4, ≥ cuts[1] → 3, ≥ cuts[0]
    → 2, else 1; missing values stay missing. A value equal to a bound takes the higher level."""
    c1, c2, c3 = cuts
    out = pd.Series(np.select([values >= c3, values >= c2, values >= c1], [4, 3, 2], 1),
                    index=values.index, dtype="float")
    return out.where(values.notna())


def grade_from_score(score: pd.Series) -> pd.Series:
    d, c, b = GRADE_CUTS
    out = pd.Series(np.select([score >= b, score >= c, score >= d], ["A", "B", "C"], "D"),
                    index=score.index)
    return out.where(score.notna())


@storable
@dataclass
class Grading:
    """customers: one row per graded customer (level_<factor>, score, grade, class, …);
    factors: one row per factor (weight, effective weight, coverage, cut-offs used)."""

    customers: pd.DataFrame
    factors: pd.DataFrame
    cutoffs: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def _input_defaults(start: date, end: date) -> list[dict[str, Any]]:
    """The 365 days to each year end of the data (the last to ``end``): what the grading page
    (the last of them) and the card's grade history ask for."""
    return [{"as_of": Period(p.end - timedelta(days=364), p.end)}
            for p in customers.year_periods(start, end)]


@kept(_input_defaults, rows=True, profit=("gross_profit_cny",))
def factor_inputs(tables: Tables, *, as_of: Period) -> pd.DataFrame:
    """Raw inputs per customer who bought in ``as_of`` (normally the 12 months to the period
    end): gross_profit_cny, sales_cny, expected_sales_cny (last 90 days × 365/90), active_months,
    max_days_late, unpaid_over_180, tenure_years, share_of_wallet and the master 1–4 fields."""
    orders = tables.get("orders")
    end = as_of.end
    sales = orders.filter(as_of.contains(orders.order_date))
    recent = Period(end - timedelta(days=89), end)
    agg = {"sales_cny": _.amount_cny.sum(),
           "recent_cny": (_.amount_cny * recent.contains(_.order_date).cast("int8")).sum(),
           "active_months": _.order_date.truncate("M").nunique()}
    if "cost_cny" in orders.columns:
        agg["gross_profit_cny"] = (_.amount_cny - _.cost_cny).sum()
    per = sales.group_by("customer_id").aggregate(**agg).to_pandas()
    per["expected_sales_cny"] = per.pop("recent_cny") * 365 / 90
    firsts = (orders.filter(orders.order_date <= end).group_by("customer_id")
              .aggregate(first_order=_.order_date.min()).to_pandas())
    per = per.merge(firsts, on="customer_id", how="left")
    master = tables.customers.to_pandas() if tables.customers is not None else pd.DataFrame(
        {"customer_id": per["customer_id"]})
    per = per.merge(master, on="customer_id", how="left")
    first = pd.to_datetime(per["first_order"])
    if "first_order_date" in per:
        first = pd.concat([first, pd.to_datetime(per["first_order_date"])], axis=1).min(axis=1)
    per["tenure_years"] = (pd.Timestamp(end) - first).dt.days / 365.25
    if "estimated_purchases_cny" in per:
        est = pd.to_numeric(per["estimated_purchases_cny"], errors="coerce")
        per["share_of_wallet"] = (per["sales_cny"] / est.where(est > 0)).clip(upper=1.0)
    per = per.merge(payment_behaviour(tables, as_of=as_of), on="customer_id", how="left")
    # a nullable boolean (no invoices: missing), which keeps its missing values through the
    # Parquet the version stores it in
    per["unpaid_over_180"] = per["unpaid_over_180"].astype("boolean")
    # whole numbers merged in (master fields, days late) as floats whether or not some row
    # lacks one: a rep's few customers then get the column type the whole book has
    merged = [c for c in per.columns if c not in ("customer_id", "active_months")
              and pd.api.types.is_integer_dtype(per[c])]
    per = per.astype(dict.fromkeys(merged, "float64"))
    # in customer order: the engine's grouping order changes from run to run
    return per.sort_values("customer_id", ignore_index=True)


def payment_behaviour(tables: Tables, *, as_of: Period) -> pd.DataFrame:
    """Per customer over invoices due in the two years to ``as_of.end``: max_days_late (paid
    invoices by their last payment, unpaid ones by the as-of date) and unpaid_over_180.
    Computed in the engine: only one row per customer leaves it."""
    if tables.invoices is None:
        return pd.DataFrame(columns=["customer_id", "max_days_late", "unpaid_over_180"])
    end = as_of.end
    inv = tables.invoices.filter((_.due_date < end) & (_.due_date >= end - timedelta(days=730)))
    if tables.payments is not None:
        inv = with_settlement(inv, tables.payments.filter(_.paid_date <= end))
        settled = inv.settled_on.notnull()
    else:
        inv = inv.mutate(last_paid=ibis_null_date())
        settled = inv.amount_cny <= CENT
    settled_on = ibis.ifelse(settled, inv.last_paid, ibis.literal(end))
    days_late = settled_on.epoch_days() - inv.due_date.epoch_days()
    frame = (inv.mutate(days_late=days_late, unpaid_180=~settled & (days_late > 180))
             .group_by("customer_id")
             .aggregate(max_days_late=_.days_late.max(), unpaid_over_180=_.unpaid_180.any())
             .to_pandas())
    frame["unpaid_over_180"] = frame["unpaid_over_180"].astype(bool)
    return frame.sort_values("customer_id").reset_index(drop=True)


def ibis_null_date():  # type: ignore[no-untyped-def]
    import ibis

    return ibis.null().cast("date")


def factor_levels(inputs: pd.DataFrame, *, mode: str = "quantile",
                  quantiles: tuple[float, float, float] = QUANTILES,
                  bands_wan: dict[str, tuple[float, float, float]] | None = None,
                  cutoffs_of: pd.DataFrame | None = None
                  ) -> tuple[pd.DataFrame, dict[str, tuple[float, float, float]]]:
    """Level 1–4 per factor per customer (NaN = no data) and the amount cut-offs used (CNY).
    ``cutoffs_of``: the customers whose quantiles cut the amounts (default ``inputs``), to
    level a few of them as among all (one customer's card)."""
    levels = pd.DataFrame({"customer_id": inputs["customer_id"]})
    cutoffs: dict[str, tuple[float, float, float]] = {}
    population = inputs if cutoffs_of is None else cutoffs_of
    for f in FACTORS:
        if f.source == "amount":
            col = AMOUNT_COLUMNS[f.key]
            if col not in inputs:
                levels[f.key] = np.nan
                continue
            values = inputs[col].astype(float)
            if mode == "quantile":
                qs = population[col].astype(float).quantile(list(quantiles)).to_numpy()
                cuts = (float(qs[0]), float(qs[1]), float(qs[2]))
            else:
                wan = (bands_wan or {}).get(f.key, f.bands_wan)
                assert wan is not None
                cuts = (wan[0] * WAN, wan[1] * WAN, wan[2] * WAN)
            cutoffs[f.key] = cuts
            levels[f.key] = levels_from_cuts(values, cuts)
        elif f.source == "master":
            if f.key in inputs:
                levels[f.key] = pd.to_numeric(inputs[f.key], errors="coerce").clip(1, 4)
            else:
                levels[f.key] = np.nan
    levels["tenure"] = levels_from_cuts(inputs["tenure_years"], TENURE_YEARS)
    levels["loyalty"] = levels_from_cuts(inputs["active_months"].astype(float), LOYALTY_MONTHS)
    levels["share_of_wallet"] = (levels_from_cuts(inputs["share_of_wallet"], WALLET_SHARES)
                                 if "share_of_wallet" in inputs else np.nan)
    levels["credit_record"] = credit_levels(inputs)
    return levels[["customer_id", *FACTOR_KEYS]], cutoffs


def credit_levels(inputs: pd.DataFrame) -> pd.Series:
    """4 pays on terms (≤ 7 days late) · 3 late but collects (≤ 60) · 2 needs chasing (> 60)
    · 1 bad debt (an invoice unpaid more than 180 days past due). No invoices → no data."""
    if "max_days_late" not in inputs:
        return pd.Series(np.nan, index=inputs.index)
    late = pd.to_numeric(inputs["max_days_late"], errors="coerce")
    bad = inputs["unpaid_over_180"].fillna(False).astype(bool)
    out = pd.Series(np.select([bad, late > 60, late > LATE_GRACE_DAYS], [1, 2, 3], 4),
                    index=inputs.index, dtype="float")
    return out.where(late.notna())


def weighted_score(levels: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """score = Σ w·level / Σ w over the factors with data for that customer; adds score and
    factors_used. Zero or missing weights drop a factor."""
    keys = [k for k in FACTOR_KEYS if weights.get(k, 0) > 0]
    lv = levels[keys].astype(float)
    w = pd.Series({k: float(weights[k]) for k in keys})
    has = lv.notna()
    num = (lv.fillna(0) * w).sum(axis=1)
    den = (has * w).sum(axis=1)
    out = levels.copy()
    out["score"] = (num / den.where(den > 0)).round(6)
    out["factors_used"] = has.sum(axis=1)
    return out


def score_inputs(inputs: pd.DataFrame, *, weights: tuple[tuple[str, float], ...] =
                 DEFAULT_WEIGHTS, mode: str = "quantile",
                 quantiles: tuple[float, float, float] = QUANTILES,
                 bands_wan: tuple[tuple[str, tuple[float, float, float]], ...] = (),
                 cutoffs_of: pd.DataFrame | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, tuple[float, float, float]]]:
    """The scoring steps of ``grade`` on ``factor_inputs``: each customer's levels, score and
    grade (scored), the levels alone, and the amount cut-offs used (``cutoffs_of``: see
    ``factor_levels``)."""
    levels, cutoffs = factor_levels(inputs, mode=mode, quantiles=quantiles,
                                    bands_wan=dict(bands_wan) or None, cutoffs_of=cutoffs_of)
    scored = weighted_score(levels, dict(weights))
    scored["grade"] = grade_from_score(scored["score"])
    return scored, levels, cutoffs


@kept(last_12_months)
def grade(tables: Tables, *, period: Period, weights: tuple[tuple[str, float], ...] =
          DEFAULT_WEIGHTS, mode: str = "quantile",
          quantiles: tuple[float, float, float] = QUANTILES,
          bands_wan: tuple[tuple[str, tuple[float, float, float]], ...] = ()) -> Grading:
    """Grade every customer with a purchase in the 12 months to ``period.end``.

    Customers in the master without such a purchase are returned ungraded, with class
    "potential" (never bought) or "lost" (bought before).
    """
    as_of = Period(period.end - timedelta(days=364), period.end)
    inputs = factor_inputs(tables, as_of=as_of)
    scored, levels, cutoffs = score_inputs(inputs, weights=weights, mode=mode,
                                           quantiles=quantiles, bands_wan=bands_wan)
    w = dict(weights)
    scored["class"] = scored["grade"].map(GRADE_CLASS)
    info_cols = present(inputs, ("name", "type", "province", "sales_rep"))
    scored = scored.merge(inputs[["customer_id", *info_cols, "sales_cny",
                                  *(["gross_profit_cny"] if "gross_profit_cny" in inputs
                                    else [])]], on="customer_id", how="left")
    if tables.customers is not None:
        everyone = tables.customers.select("customer_id", *present(tables.customers, info_cols))
        rest = everyone.to_pandas()
        rest = rest[~member(rest["customer_id"], scored["customer_id"])]
        firsts = customers.first_orders(tables)
        bought_before = set(firsts.loc[pd.to_datetime(firsts["first_order"])
                                       < pd.Timestamp(as_of.start), "customer_id"])
        # no purchase in the 12 months: lost if they bought before, else still potential
        rest = rest.assign(**{"class": np.where(member(rest["customer_id"], bought_before),
                                                "lost", "potential")})
        scored = pd.concat([scored, rest], ignore_index=True)
    total_w = sum(v for v in w.values() if v > 0)
    factors = _coverage(levels)
    factors.insert(2, "weight", [w.get(k, 0.0) for k in FACTOR_KEYS])
    live = factors["has_data"] & (factors["weight"] > 0)
    factors["effective_weight"] = np.where(
        live, factors["weight"] / factors.loc[live, "weight"].sum() if live.any() else 0, 0.0)
    factors["nominal_share"] = factors["weight"] / total_w if total_w else 0.0
    return Grading(customers=scored.sort_values(["score", "customer_id"],
                                                ascending=[False, True],
                                                na_position="last").reset_index(drop=True),
                   factors=factors, cutoffs=cutoffs)


@kept(last_12_months)
def factor_coverage(tables: Tables, *, period: Period) -> pd.DataFrame:
    """One row per factor: source and coverage (share of graded customers with data); weights
    do not change it, so the weights editor can show it beside each weight."""
    as_of = Period(period.end - timedelta(days=364), period.end)
    # the levels alone: coverage needs neither scores nor the ungraded (a manager's first
    # grading page graded a province twice, 0.5 s each at ten million lines)
    levels, _ = factor_levels(factor_inputs(tables, as_of=as_of))
    return _coverage(levels)


def _coverage(levels: pd.DataFrame) -> pd.DataFrame:
    """factor, source, coverage (share of the customers levelled with data), has_data."""
    factors = pd.DataFrame({
        "factor": FACTOR_KEYS,
        "source": [f.source for f in FACTORS],
        "coverage": [float(levels[k].notna().mean()) if len(levels) else 0.0
                     for k in FACTOR_KEYS],
    })
    factors["has_data"] = factors["coverage"] > 0
    return factors


def grade_summary(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers, sales and gross profit per class (core … potential)."""
    agg = {"customers": ("customer_id", "count"), "sales_cny": ("sales_cny", "sum")}
    if "gross_profit_cny" in customers:
        agg["gross_profit_cny"] = ("gross_profit_cny", "sum")
    out = customers.groupby("class").agg(**agg).reindex(list(CLASSES)).fillna(0)
    out["customers"] = out["customers"].astype(int)
    return out.rename_axis("class").reset_index()


TIER_GRADE = {"core": "A", "important": "B", "medium": "C", "small": "D"}


def disagreements(graded: pd.DataFrame, tiers: pd.DataFrame, *, min_gap: int = 2
                  ) -> pd.DataFrame:
    """Customers whose grade and pyramid tier are ``min_gap`` or more steps apart (e.g. a small
    tier customer graded A: a relationship worth more than its current profit)."""
    both = graded.dropna(subset=["grade"]).merge(tiers[["customer_id", "tier", "value"]],
                                                 on="customer_id")
    idx = {g: i for i, g in enumerate(GRADES)}
    both["tier_grade"] = both["tier"].map(TIER_GRADE)
    both["gap"] = both["grade"].map(idx) - both["tier_grade"].map(idx)
    out = both[both["gap"].abs() >= min_gap]
    return out.sort_values(["gap", "customer_id"]).reset_index(drop=True)


# -- current value / future value -----------------------------------------------------------
VALUE_WEIGHTS = (("gross_profit", 0.5), ("volume", 0.3), ("cost_to_serve", 0.2),
                 ("industry_position", 0.4), ("tenure", 0.3), ("satisfaction", 0.3))
CURRENT = ("gross_profit", "volume", "cost_to_serve")
FUTURE = ("industry_position", "tenure", "satisfaction")


@kept(last_12_months)
def value_view(tables: Tables, *, period: Period,
               weights: tuple[tuple[str, float], ...] = VALUE_WEIGHTS) -> pd.DataFrame:
    """The sources' second method: current value (profit, volume, cost to serve) and future
    value (industry position, tenure, satisfaction), each 1–4, a grade from their mean and a
    quadrant: invest (both high), maintain (current high), develop (future high), reduce."""
    as_of = Period(period.end - timedelta(days=364), period.end)
    inputs = factor_inputs(tables, as_of=as_of)
    values = customers.customer_values(tables, as_of)  # kept per customer: no order scan
    service = values[["customer_id", "orders", *present(values, ("volume_t",))]]
    if tables.complaints is not None:
        comp = (tables.complaints.filter(as_of.contains(_.opened_date)).group_by("customer_id")
                .aggregate(complaints=_.count()).to_pandas())
        service = service.merge(comp, on="customer_id", how="left")
    inputs = inputs.merge(service, on="customer_id", how="left")
    q = list(QUANTILES)
    lv = pd.DataFrame({"customer_id": inputs["customer_id"]})

    def by_quantile(s: pd.Series) -> pd.Series:
        qs = s.quantile(q).to_numpy()
        return levels_from_cuts(s, (float(qs[0]), float(qs[1]), float(qs[2])))

    lv["gross_profit"] = (by_quantile(inputs["gross_profit_cny"]) if "gross_profit_cny" in inputs
                          else np.nan)
    lv["volume"] = by_quantile(inputs["volume_t"]) if "volume_t" in inputs else np.nan
    # cost to serve: many small orders and complaints per tonne cost more (level 4 = cheapest)
    if "volume_t" in inputs:
        complaints = inputs["complaints"].fillna(0) if "complaints" in inputs else 0
        burden = (inputs["orders"] + 10 * complaints) / \
            inputs["volume_t"].where(inputs["volume_t"] > 0)
        lv["cost_to_serve"] = 5 - by_quantile(burden)
    else:
        lv["cost_to_serve"] = np.nan
    lv["industry_position"] = (pd.to_numeric(inputs["industry_influence"], errors="coerce")
                               if "industry_influence" in inputs else np.nan)
    lv["tenure"] = levels_from_cuts(inputs["tenure_years"], TENURE_YEARS)
    lv["satisfaction"] = satisfaction_levels(tables, inputs["customer_id"], as_of=period.end)
    w = dict(weights)

    def part(keys: tuple[str, ...]) -> pd.Series:
        sub = lv[list(keys)].astype(float)
        ws = pd.Series({k: w.get(k, 0.0) for k in keys})
        den = (sub.notna() * ws).sum(axis=1)
        return (sub.fillna(0) * ws).sum(axis=1) / den.where(den > 0)

    lv["current_value"] = part(CURRENT)
    lv["future_value"] = part(FUTURE)
    lv["grade"] = grade_from_score((lv["current_value"] + lv["future_value"]) / 2)
    hi_c, hi_f = lv["current_value"] >= 2.5, lv["future_value"] >= 2.5
    lv["quadrant"] = np.select([hi_c & hi_f, hi_c, hi_f], ["invest", "maintain", "develop"],
                               "reduce")
    info = present(inputs, ("name", "type"))
    # in customer order: the engine's grouping order changes from run to run
    return lv.merge(inputs[["customer_id", *info]], on="customer_id", how="left") \
        .sort_values("customer_id", ignore_index=True)


def satisfaction_levels(tables: Tables, ids: pd.Series, *, as_of: object) -> pd.Series:
    """Level from the latest survey's mean score up to ``as_of``: ≥ 4.5 → 4, ≥ 4 → 3,
    ≥ 3.5 → 2, else 1; no survey → no data."""
    if tables.surveys is None:
        return pd.Series(np.nan, index=ids.index)
    dims = present(tables.surveys, ("quality", "delivery", "price", "service", "responsiveness",
                                    "billing", "logistics"))
    if not dims:
        return pd.Series(np.nan, index=ids.index)
    s = tables.surveys.filter(_.survey_date <= as_of)
    # in the database: a province's surveys came out whole to pandas (0.35 s at 10 M lines).
    # A survey's mean over the dimensions it answered; the latest survey with any answer
    scores = [s[d].cast("float64") for d in dims]
    answered = functools.reduce(operator.add, [v.notnull().cast("int64") for v in scores])
    total = functools.reduce(operator.add, [v.fill_null(0.0) for v in scores])
    latest = (s.mutate(mean=total / answered).filter(answered > 0)
              .group_by("customer_id").aggregate(mean=_.mean.argmax(_.survey_date))
              .to_pandas())
    return levels_from_cuts(ids.map(latest.set_index("customer_id")["mean"]),
                            (3.5, 4.0, 4.5))


def stage_funnel(tables: Tables) -> pd.DataFrame:
    """Customers per development stage, potential → focus (only stages known to the method)."""
    if not tables.has("customers", "stage"):
        return pd.DataFrame({"stage": list(STAGES), "customers": [0] * len(STAGES)})
    counts = tables.get("customers").group_by("stage").aggregate(customers=_.count()).to_pandas()
    out = counts.set_index("stage").reindex(list(STAGES)).fillna(0).astype(int)
    return out.rename_axis("stage").reset_index()


def grade_counts(customers: pd.DataFrame) -> pd.DataFrame:
    """grade, customers: how many graded customers hold each grade (every grade, 0 too)."""
    return (customers.dropna(subset=["grade"]).groupby("grade").size()
            .reindex(list(GRADES), fill_value=0).rename("customers").reset_index())


def graded_only(customers: pd.DataFrame) -> pd.DataFrame:
    """The customers with a grade (a customer without enough data has none)."""
    return customers.dropna(subset=["grade"])


def quadrant_counts(view: pd.DataFrame) -> pd.DataFrame:
    """quadrant, customers: how many customers ``value_view`` puts in each quadrant."""
    return view.groupby("quadrant").size().rename("customers").reset_index()
