"""销售团队与经销商 Scorecards: the company's reps and teams, and the resellers (trader customers).

Definitions (docs/method.md, "Reps and resellers"):
- a rep's book = the customers the master assigns to the rep (customers.sales_rep); a team =
  the rep's team in the targets table (the latest month that names one);
- held = book customers who bought in the period; new = their first order ever falls in the
  period; lost = bought in the previous period (same number of whole months) and not in this
  one, with the revenue they brought then; retention = previous buyers who bought again ÷
  previous buyers;
- attainment = actual ÷ the sum of the monthly targets of the months the period touches;
- complaints = opened in the period; overdue = receivables past due at the period's end;
  contacts = contact-log entries in the period;
- reseller scorecard (trader customers): quota completion = tonnes bought ÷ Σ monthly quotas;
  stock cover = reported average stock ÷ tonnes bought a month; delivery days, damage
  handling and cooperation (1–4) as reviewed; payment = share of invoices due in the period
  paid in full by the due date. Each factor scores 0–100 (see FACTOR_RULES) and the score is
  their weighted mean over the factors with data (weights renormalised, like the grading).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from ibis import _

from analytics.domain import credit
from analytics.domain.measures import sales_aggregates
from analytics.store.frames import present
from analytics.store.period import Period
from analytics.store.warehouse import MissingData, Tables

RESELLER_FACTORS = ("quota", "stock", "delivery", "damage", "cooperation", "payment")
RESELLER_WEIGHTS = {"quota": 30.0, "stock": 15.0, "delivery": 15.0, "damage": 10.0,
                    "cooperation": 15.0, "payment": 15.0}
FULL_STOCK_COVER_MONTHS = 1.0   # a reseller holding a month of what it buys from us: full marks
DELIVERY_BEST, DELIVERY_WORST = 1.0, 7.0  # days to its own customers: 100 and 0 points


def _book(tables: Tables) -> pd.DataFrame:
    customers = tables.get("customers")
    if "sales_rep" not in customers.columns:
        raise MissingData("customers", "sales_rep")
    cols = present(customers, ("customer_id", "name", "sales_rep", "type"))
    book = customers.select(*cols).to_pandas()
    book["sales_rep"] = book["sales_rep"].fillna("")
    return book


def _sales(tables: Tables, period: Period) -> pd.DataFrame:
    """revenue_cny, volume_t and gross_profit_cny (costed lines only) per customer."""
    orders = tables.get("orders")
    aggs = sales_aggregates(orders)
    aggs.pop("costed_revenue_cny", None)
    return (orders.filter(period.contains(orders.order_date)).group_by("customer_id")
            .aggregate(**aggs).to_pandas())


def _teams(tables: Tables) -> pd.Series:
    if not tables.has("targets", "team"):
        return pd.Series(dtype=str)
    t = (tables.get("targets").filter(_.team.notnull() & (_.team != ""))
         .select("rep", "month", "team").to_pandas())
    return t.sort_values("month").groupby("rep")["team"].last()


def _targets(tables: Tables, period: Period) -> pd.DataFrame:
    if tables.targets is None:
        return pd.DataFrame(columns=["rep"])
    first = period.start.replace(day=1)
    t = tables.targets.filter((_.month >= first) & (_.month <= period.end))
    cols = present(t, ("revenue_cny", "volume_t", "gross_profit_cny"))
    out = (t.mutate(month=_.month.truncate("M")).group_by("rep")
           .aggregate(**{f"target_{c}": getattr(_, c).sum() for c in cols}).to_pandas())
    return out


def rep_customers(tables: Tables, *, period: Period, rep: str | None = None) -> pd.DataFrame:
    """Per book customer (of one rep or all): sales_rep, revenue now and in the previous
    period, first order date and movement (new, retained, lost, returned, none)."""
    book = _book(tables)
    if rep is not None:
        book = book[book["sales_rep"] == rep]
    previous = period.previous()
    now = _sales(tables, period)
    before = _sales(tables, previous)[["customer_id", "revenue_cny"]].rename(
        columns={"revenue_cny": "previous_revenue_cny"})
    first = (tables.get("orders").group_by("customer_id")
             .aggregate(first_order=_.order_date.min()).to_pandas())
    out = (book.merge(now, on="customer_id", how="left")
           .merge(before, on="customer_id", how="left").merge(first, on="customer_id",
                                                             how="left"))
    bought_now = out["revenue_cny"].notna()
    bought_before = out["previous_revenue_cny"].notna()
    first_order = pd.to_datetime(out["first_order"])
    is_new = bought_now & (first_order >= pd.Timestamp(period.start))
    out["movement"] = np.select(
        [is_new, bought_now & bought_before, bought_before & ~bought_now, bought_now],
        ["new", "retained", "lost", "returned"], "none")
    out = out[out["movement"] != "none"]
    return out.sort_values(["sales_rep", "revenue_cny"], ascending=[True, False],
                           na_position="last").reset_index(drop=True)


def _complaints(tables: Tables, period: Period) -> pd.Series:
    if tables.complaints is None:
        return pd.Series(dtype=float)
    c = (tables.complaints.filter((_.opened_date >= period.start) & (_.opened_date <= period.end))
         .group_by("customer_id").aggregate(n=_.count()).to_pandas())
    return c.set_index("customer_id")["n"]


def _overdue(tables: Tables, period: Period) -> pd.Series:
    if tables.invoices is None:
        return pd.Series(dtype=float)
    items = credit.open_items(tables, as_of=period.end)
    late = items[items["days_overdue"] > 0]
    return late.groupby("customer_id")["open_cny"].sum()


def _contacts(tables: Tables, period: Period) -> pd.Series:
    if tables.contacts is None:
        return pd.Series(dtype=float)
    c = (tables.contacts.filter((_.date >= period.start) & (_.date <= period.end))
         .group_by("customer_id").aggregate(n=_.count()).to_pandas())
    return c.set_index("customer_id")["n"]


def rep_scorecard(tables: Tables, *, period: Period) -> pd.DataFrame:
    """One row per rep: team, customers_held, new_customers, lost_customers, lost_value_cny,
    retention_pct, volume_t, revenue_cny, gross_profit_cny (where costs are visible), the
    targets and attainment_*_pct, complaints, complaints_per_kt, overdue_cny, contacts."""
    moves = rep_customers(tables, period=period)
    moves["complaints"] = moves["customer_id"].map(_complaints(tables, period)).fillna(0)
    moves["overdue_cny"] = moves["customer_id"].map(_overdue(tables, period)).fillna(0.0)
    moves["contacts"] = moves["customer_id"].map(_contacts(tables, period)).fillna(0)
    moves["held"] = moves["revenue_cny"].notna()
    moves["prev_buyer"] = moves["previous_revenue_cny"].notna()
    moves["retained"] = moves["movement"] == "retained"
    moves["lost_value_cny"] = moves["previous_revenue_cny"].where(moves["movement"] == "lost",
                                                                  0.0)
    sums = {"customers_held": ("held", "sum"), "new_customers": ("movement",
                                                                 lambda m: (m == "new").sum()),
            "lost_customers": ("movement", lambda m: (m == "lost").sum()),
            "lost_value_cny": ("lost_value_cny", "sum"), "previous_buyers": ("prev_buyer", "sum"),
            "retained_customers": ("retained", "sum"), "revenue_cny": ("revenue_cny", "sum"),
            "complaints": ("complaints", "sum"), "overdue_cny": ("overdue_cny", "sum"),
            "contacts": ("contacts", "sum")}
    for col in ("volume_t", "gross_profit_cny"):
        if col in moves:
            sums[col] = (col, "sum")
    out = moves.groupby("sales_rep").agg(**sums).rename_axis("rep").reset_index()  # type: ignore[call-overload]
    out = out.merge(_targets(tables, period), on="rep", how="left")
    teams = _teams(tables)
    out.insert(1, "team", out["rep"].map(teams).fillna(""))
    return _ratios(out)


def _ratios(out: pd.DataFrame) -> pd.DataFrame:
    out["retention_pct"] = out["retained_customers"] / out["previous_buyers"].replace(
        0, np.nan) * 100
    for col in ("revenue_cny", "volume_t", "gross_profit_cny"):
        if col in out and f"target_{col}" in out:
            out[f"attainment_{col}_pct"] = out[col] / out[f"target_{col}"].where(
                out[f"target_{col}"] > 0) * 100
    if "volume_t" in out:
        out["complaints_per_kt"] = out["complaints"] / out["volume_t"].replace(0, np.nan) * 1000
    return out


def team_scorecard(reps: pd.DataFrame) -> pd.DataFrame:
    """The rep rows summed per team (reps without a team under ""), ratios recomputed."""
    keep = [c for c in reps.columns if c not in ("rep", "team") and not c.endswith("_pct")
            and c != "complaints_per_kt"]
    out = reps.groupby("team")[keep].sum(min_count=1).reset_index()
    out.insert(1, "reps", reps.groupby("team")["rep"].count().to_numpy())
    return _ratios(out)


def rep_trend(tables: Tables, *, period: Period, rep: str | None = None) -> pd.DataFrame:
    """month, revenue_cny, target_revenue_cny (and tonnes and their target) per month of the
    period, for one rep's book or every rep together."""
    customers = tables.get("customers")
    if "sales_rep" not in customers.columns:
        raise MissingData("customers", "sales_rep")
    book = customers if rep is None else customers.filter(
        customers.sales_rep.fill_null("") == rep)
    # a semi-join in the engine: the book's ids as a literal list made a 7 s query at 10 M
    orders = tables.get("orders").filter((_.order_date >= period.start)
                                         & (_.order_date <= period.end)
                                         & _.customer_id.isin(book.customer_id))
    aggs = {"revenue_cny": _.amount_cny.sum()}
    if "volume_t" in orders.columns:
        aggs["volume_t"] = _.volume_t.sum()
    actual = (orders.mutate(month=_.order_date.truncate("M")).group_by("month")
              .aggregate(**aggs).to_pandas())
    actual["month"] = pd.to_datetime(actual["month"]).dt.date
    out = actual
    if tables.targets is not None:
        t = tables.targets.filter((_.month >= period.start.replace(day=1))
                                  & (_.month <= period.end))
        if rep is not None:
            t = t.filter(_.rep == rep)
        cols = present(t, ("revenue_cny", "volume_t"))
        targets = (t.mutate(month=_.month.truncate("M")).group_by("month")
                   .aggregate(**{f"target_{c}": getattr(_, c).sum() for c in cols}).to_pandas())
        targets["month"] = pd.to_datetime(targets["month"]).dt.date
        out = actual.merge(targets, on="month", how="outer")
    return out.sort_values("month").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Resellers
# --------------------------------------------------------------------------------------------
FACTOR_RULES = {
    "quota": "min(completion, 100 %)",
    "stock": f"min(stock cover ÷ {FULL_STOCK_COVER_MONTHS:g} month, 1) × 100",
    "delivery": f"{DELIVERY_BEST:g} day → 100 … {DELIVERY_WORST:g} days → 0",
    "damage": "(score − 1) ÷ 3 × 100",
    "cooperation": "(score − 1) ÷ 3 × 100",
    "payment": "on-time share × 100",
}


def _on_time(tables: Tables, period: Period) -> pd.Series:
    """Per customer: % of invoices due in the period paid in full by their due date."""
    if tables.invoices is None or tables.payments is None:
        return pd.Series(dtype=float)
    per = credit.on_time_by_customer(tables, period=period).set_index("customer_id")
    return per["on_time"] / per["due"] * 100


def reseller_scorecard(tables: Tables, *, period: Period,
                       weights: tuple[tuple[str, float], ...] = tuple(RESELLER_WEIGHTS.items())
                       ) -> pd.DataFrame:
    """One row per reseller (trader customers, and anyone with a review) that bought or was
    reviewed in the period: the inputs, the 0–100 factor scores (score_<factor>), the
    weighted score and its rank; best first."""
    book = _book(tables)
    reviewed: set[str] = set()
    reviews = pd.DataFrame(columns=["customer_id"])
    if tables.reseller_reviews is not None:
        r = tables.reseller_reviews.filter((_.month >= period.start.replace(day=1))
                                           & (_.month <= period.end))
        reviews = r.to_pandas()
        reviewed = set(reviews["customer_id"])
    is_trader = book["type"].eq("trader") if "type" in book else False
    resellers = book[is_trader | book["customer_id"].isin(reviewed)].copy()
    sales = _sales(tables, period)
    # the resellers that did business in the period, or were reviewed in it
    resellers = resellers[resellers["customer_id"].isin(set(sales["customer_id"]) | reviewed)]
    out = resellers.merge(sales, on="customer_id", how="left")
    months = len(pd.period_range(period.start, period.end, freq="M"))
    agg = {c: (c, f) for c, f in (("quota_t", "sum"), ("avg_stock_t", "mean"),
                                  ("delivery_days", "mean"), ("damage_handling", "mean"),
                                  ("cooperation", "mean")) if c in reviews}
    if agg:
        per = reviews.groupby("customer_id").agg(**agg).reset_index()  # type: ignore[call-overload]
        out = out.merge(per, on="customer_id", how="left")
    for c in ("quota_t", "avg_stock_t", "delivery_days", "damage_handling", "cooperation"):
        if c not in out:
            out[c] = np.nan
    volume = out["volume_t"] if "volume_t" in out else pd.Series(np.nan, index=out.index)
    out["completion_pct"] = volume.fillna(0.0) / out["quota_t"].where(out["quota_t"] > 0) * 100
    out["stock_cover_months"] = out["avg_stock_t"] / (volume / months).where(volume > 0)
    # a float even with no resellers at all (no customer type, no reviews): pandas 3 maps an
    # empty text column to text, and the weighted score below then failed
    out["on_time_pct"] = out["customer_id"].map(_on_time(tables, period)).astype(float)
    scores = pd.DataFrame({
        "quota": out["completion_pct"].clip(upper=100.0),
        "stock": (out["stock_cover_months"] / FULL_STOCK_COVER_MONTHS).clip(upper=1.0) * 100,
        "delivery": ((DELIVERY_WORST - out["delivery_days"]) /
                     (DELIVERY_WORST - DELIVERY_BEST)).clip(0.0, 1.0) * 100,
        "damage": (out["damage_handling"] - 1) / 3 * 100,
        "cooperation": (out["cooperation"] - 1) / 3 * 100,
        "payment": out["on_time_pct"]}, index=out.index)
    w = pd.Series({k: float(v) for k, v in weights if k in RESELLER_FACTORS and v > 0})
    used = scores[list(w.index)]
    has = used.notna()
    den = (has * w).sum(axis=1)
    out["score"] = (used.fillna(0) * w).sum(axis=1) / den.where(den > 0)
    out["factors_used"] = has.sum(axis=1)
    for k in RESELLER_FACTORS:
        out[f"score_{k}"] = scores[k]
    out = out.sort_values("score", ascending=False, na_position="last").reset_index(drop=True)
    out.insert(0, "rank", out["score"].rank(ascending=False, method="min"))
    return out


def reseller_factor_means(board: pd.DataFrame) -> pd.Series:
    """The mean 0–100 score of each reseller factor over ``reseller_scorecard``'s rows."""
    return pd.Series({k: float(board[f"score_{k}"].mean()) for k in RESELLER_FACTORS})
