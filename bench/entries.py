"""Every analytics entry point the pages call, with the arguments the pages pass by default
(the last 12 months, as of the latest order date), in the order the pages draw them. Calls
that only list choices (markets, metrics) are left out; tests/test_bench_entries.py checks
that every function the pages pass to ``ctx.cached`` is here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analytics.display import churn_words
from analytics.display.i18n import Labels
from analytics.domain import (
    abc,
    card,
    churn,
    complaints,
    credit,
    customers,
    followups,
    grading,
    inventory,
    market,
    overview,
    products,
    satisfaction,
    scorecards,
    warning,
)
from analytics.store import followups as followup_store
from analytics.store.period import Period
from analytics.store.warehouse import Tables


@dataclass(frozen=True)
class Entry:
    page: str
    name: str
    call: Callable[[Tables, Period], Any]
    stored: bool = False   # its default result is stored with each version (analytics.store.stored)


def _history(t: Tables, p: Period) -> Any:
    """The card's history of the first customer the search lists, as the page asks for it
    (the kept standing for the whole book; a scope ranks and grades that customer alone)."""
    picked = card.search(t, as_of=p.end)["customer_id"].iloc[0]
    firsts = customers.first_orders(t)
    first = firsts.loc[firsts["customer_id"] == picked, "first_order"]
    return card.history_for(t, customer_id=picked, as_of=p.end,
                            since=pd.Timestamp(first.iloc[0]).date() if len(first) else None)


def _early_warning(t: Tables, p: Period) -> Any:
    """As ui/frame.Context.early_warning: the churn page's scores, then the list."""
    scores = churn.score_view(t, as_of=p.end).customers
    return warning.early_warning(t, as_of=p.end, churn_scores=scores[
        ["customer_id", "name", "probability", "value_12m"]])


ENTRIES: tuple[Entry, ...] = (
    Entry("overview", "overview KPIs", lambda t, p: overview.kpi_comparison(t, p), stored=True),
    Entry("overview", "comparison periods' data coverage",
          lambda t, p: overview.comparison_coverage(t, p)),
    Entry("overview", "monthly chart", lambda t, p: overview.monthly(t, p)),
    Entry("overview", "top customers", lambda t, p: overview.top_customers(t, p)),
    Entry("overview", "early warning", _early_warning),
    Entry("pyramid", "pyramid", lambda t, p: customers.pyramid(t, period=p)),
    Entry("pyramid", "migration", lambda t, p: customers.tier_migration(t, period=p)),
    Entry("abc", "ABC customers", lambda t, p: abc.abc_customers(t, period=p)),
    Entry("abc", "ABC products", lambda t, p: abc.abc_products(t, period=p)),
    Entry("grading", "factor coverage", lambda t, p: grading.factor_coverage(t, period=p),
          stored=True),
    Entry("grading", "grading", lambda t, p: grading.grade(t, period=p), stored=True),
    Entry("grading", "value view", lambda t, p: grading.value_view(t, period=p), stored=True),
    Entry("grading", "stage funnel", lambda t, p: grading.stage_funnel(t)),
    Entry("customer", "customer search", lambda t, p: card.search(t, as_of=p.end)),
    Entry("customer", "customer card", lambda t, p: card.customer_card(
        t, customer_id=card.search(t, as_of=p.end)["customer_id"].iloc[0], as_of=p.end,
        with_history=False)),
    Entry("customer", "tier and grade history", _history, stored=True),
    Entry("churn", "churn status, trend, cohorts", lambda t, p: churn.status_views(
        t, period=p), stored=True),
    Entry("churn", "churn features", lambda t, p: churn.features(t, p.end)),
    Entry("churn", "churn backtest", lambda t, p: churn.backtest_view(t), stored=True),
    Entry("churn", "churn scoring", lambda t, p: churn.score_view(t, as_of=p.end),
          stored=True),
    # the page caches this too (ui.frame.Context.churn_risk), over the scores above
    Entry("churn", "risk list (reasons written out)",
          lambda t, p: churn_words.risk_table(churn.score_view(t, as_of=p.end), Labels("zh"))),
    Entry("satisfaction", "satisfaction", lambda t, p: satisfaction.summary(t, period=p)),
    Entry("satisfaction", "satisfaction trend", lambda t, p: satisfaction.trend(t, period=p)),
    Entry("satisfaction", "dimensions", lambda t, p: satisfaction.dimensions(t, period=p)),
    Entry("satisfaction", "breakdown by tier", lambda t, p: satisfaction.breakdown(
        t, period=p, by="tier")),
    Entry("satisfaction", "biggest drops", lambda t, p: satisfaction.biggest_drops(t, period=p)),
    Entry("satisfaction", "satisfaction vs churn", lambda t, p: satisfaction.churn_link(
        t, period=p)),
    Entry("complaints", "complaints list", lambda t, p: complaints.complaints_in(t, period=p)),
    Entry("complaints", "complaints", lambda t, p: complaints.summary(t, period=p)),
    Entry("credit", "exposure", lambda t, p: credit.exposure(t, as_of=p.end), stored=True),
    Entry("credit", "ageing", lambda t, p: credit.ageing_summary(t, as_of=p.end,
                                                                  by="customer_id"), stored=True),
    Entry("credit", "DSO trend", lambda t, p: credit.dso_trend(t, period=p), stored=True),
    Entry("credit", "financing cost", lambda t, p: credit.financing(t, period=p)),
    Entry("market", "price history", lambda t, p: market.price_history(
        t, product="rebar", period=p)),
    Entry("market", "price board", lambda t, p: market.price_board(t, as_of=p.end)),
    Entry("market", "spreads", lambda t, p: market.spreads(t, period=p)),
    Entry("market", "basis", lambda t, p: market.basis(t, product="rebar", period=p)),
    Entry("market", "own vs market", lambda t, p: market.own_vs_market(
        t, product="rebar", period=p)),
    Entry("inventory", "stock status", lambda t, p: inventory.status(t, as_of=p.end)),
    Entry("inventory", "turnover", lambda t, p: inventory.turnover(t, period=p)),
    Entry("inventory", "safety history", lambda t, p: inventory.safety_history(t, period=p)),
    Entry("inventory", "warehouse levels", lambda t, p: inventory.levels(t, period=p)),
    Entry("inventory", "stock vs price", lambda t, p: inventory.stock_vs_price(t, period=p)),
    Entry("inventory", "turnover by month", lambda t, p: inventory.turnover_by_month(
        t, period=p)),
    Entry("inventory", "stock ageing", lambda t, p: inventory.ageing(t, as_of=p.end)),
    Entry("inventory", "mark-to-market", lambda t, p: inventory.mark_to_market(t, as_of=p.end)),
    Entry("inventory", "MTM history", lambda t, p: inventory.mtm_history(t, period=p)),
    Entry("products", "composition", lambda t, p: products.composition(t, period=p)),
    Entry("products", "margin by month", lambda t, p: products.margin_by_month(t, period=p)),
    Entry("products", "turned negative", lambda t, p: products.turned_negative(t, period=p)),
    Entry("followups", "did it work", lambda t, p: followups.effect_tables(
        t, store=str(followup_store.default_path()), mark="")),
    Entry("team", "rep scorecard", lambda t, p: scorecards.rep_scorecard(t, period=p)),
    Entry("team", "rep trend", lambda t, p: scorecards.rep_trend(t, period=p)),
    Entry("team", "rep customers", lambda t, p: scorecards.rep_customers(t, period=p)),
    Entry("team", "reseller scorecard", lambda t, p: scorecards.reseller_scorecard(t,
                                                                                   period=p)),
)


def by_name(name: str) -> Entry:
    return next(e for e in ENTRIES if e.name == name)
