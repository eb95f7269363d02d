"""The method's analyses, one command each, over the user's scoped tables: a table out."""

from __future__ import annotations

import argparse
from datetime import date

import pandas as pd

from analytics.domain import (
    abc,
    complaints,
    credit,
    grading,
    inventory,
    market,
    products,
    scorecards,
)
from analytics.domain import customers as cu
from analytics.domain import satisfaction as sat
from analytics.ops.cli.common import (
    add_output,
    add_period,
    metric_or_revenue,
    period_of,
    scoped_tables,
    write,
)

Subparsers = argparse._SubParsersAction  # the type argparse's add_subparsers returns


def add_pyramid(sub: Subparsers) -> None:
    p = sub.add_parser("pyramid", help="customer pyramid tiers (one row per customer)")
    add_period(p)
    add_output(p)
    p.add_argument("--metric", choices=cu.METRICS, default=cu.METRICS[0])
    p.add_argument("--summary", action="store_true", help="one row per tier")
    p.add_argument("--migration", action="store_true",
                   help="tier moves against the previous period")
    p.set_defaults(func=cmd_pyramid)


def cmd_pyramid(args: argparse.Namespace) -> int:
    tables = scoped_tables(args)
    period = period_of(args, tables)
    args.metric = metric_or_revenue(args, tables)
    tiers = cu.pyramid(tables, period=period, metric=args.metric)
    if args.migration:
        return write(cu.tier_migration(tables, period=period, metric=args.metric), args,
                      "migration")
    return write(cu.tier_summary(tiers) if args.summary else tiers, args, "pyramid")


def add_abc(sub: Subparsers) -> None:
    p = sub.add_parser("abc", help="ABC classes of customers, or of products with XYZ")
    add_period(p)
    add_output(p)
    p.add_argument("--metric", choices=cu.METRICS, default=cu.METRICS[0])
    p.add_argument("--products", choices=abc.PRODUCT_LEVELS,
                   help="classify products at this level instead of customers")
    p.set_defaults(func=cmd_abc)


def cmd_abc(args: argparse.Namespace) -> int:
    tables = scoped_tables(args)
    period = period_of(args, tables)
    args.metric = metric_or_revenue(args, tables)
    if args.products:
        frame = abc.abc_products(tables, period=period, level=args.products,
                                 metric=args.metric)
    else:
        frame = abc.abc_customers(tables, period=period, metric=args.metric)
    return write(frame, args, "abc")


def add_grades(sub: Subparsers) -> None:
    p = sub.add_parser("grades", help="customer grades from the weighted factor table")
    add_period(p)
    add_output(p)
    p.add_argument("--bands", choices=grading.MODES, default=grading.MODES[0])
    p.add_argument("--factors", action="store_true", help="the factor table instead")
    p.set_defaults(func=cmd_grades)


def cmd_grades(args: argparse.Namespace) -> int:
    tables = scoped_tables(args)
    result = grading.grade(tables, period=period_of(args, tables), mode=args.bands)
    return write(result.factors if args.factors else result.customers, args, "grades")


def add_satisfaction(sub: Subparsers) -> None:
    p = sub.add_parser("satisfaction", help="satisfaction index, NPS, dimensions, biggest drops")
    add_period(p)
    add_output(p)
    p.add_argument("view", nargs="?", default="summary",
                   choices=("summary", "trend", "dimensions", "drops"))
    p.set_defaults(func=cmd_satisfaction)


def cmd_satisfaction(args: argparse.Namespace) -> int:
    tables = scoped_tables(args)
    period = period_of(args, tables)
    if args.view == "summary":
        frame = pd.DataFrame([sat.summary(tables, period=period)])
    elif args.view == "trend":
        frame = sat.trend(tables, period=period)
    elif args.view == "dimensions":
        frame = sat.dimensions(tables, period=period)
    else:
        frame = sat.biggest_drops(tables, period=period)
    return write(frame, args, "satisfaction")


def add_complaints(sub: Subparsers) -> None:
    p = sub.add_parser("complaints", help="complaint KPIs, pipeline stages, open items, all")
    add_period(p)
    add_output(p)
    p.add_argument("view", nargs="?", default="summary",
                   choices=("summary", "pipeline", "open", "all"))
    p.set_defaults(func=cmd_complaints)


def cmd_complaints(args: argparse.Namespace) -> int:
    tables = scoped_tables(args)
    period = period_of(args, tables)
    items = complaints.complaints_in(tables, period=period)
    if args.view == "summary":
        frame = pd.DataFrame([complaints.kpis(tables, items, period=period)])
    elif args.view == "pipeline":
        frame = complaints.pipeline(items)
    elif args.view == "open":
        frame = complaints.open_items(items)
    else:
        frame = items
    return write(frame, args, "complaints")


def add_ageing(sub: Subparsers) -> None:
    p = sub.add_parser(
        "ageing", help="receivables ageing as of a date (buckets, by customer, rep, …)")
    add_period(p)
    add_output(p)
    p.add_argument("--as-of", help="YYYY-MM-DD (default: the latest order date)")
    p.add_argument("--by", choices=("all", *credit.AGEING_BY, "invoice"), default="customer_id")
    p.set_defaults(func=cmd_ageing)


def cmd_ageing(args: argparse.Namespace) -> int:
    tables = scoped_tables(args)
    as_of = date.fromisoformat(args.as_of) if args.as_of else period_of(args, tables).end
    items = credit.open_items(tables, as_of=as_of)
    frame = items if args.by == "invoice" else credit.ageing(
        items, by=None if args.by == "all" else args.by)
    return write(frame, args, "ageing")


def add_market(sub: Subparsers) -> None:
    p = sub.add_parser(
        "market", help="price board, one price history with MAs and changes, spreads")
    add_period(p)
    add_output(p)
    p.add_argument("view", nargs="?", default="board", choices=("board", "history", "spreads"))
    p.add_argument("--product", default="rebar")
    p.add_argument("--market", help="default: the spot market with the most quotes")
    p.add_argument("--grain", choices=market.GRAINS, default=market.GRAINS[0])
    p.set_defaults(func=cmd_market)


def cmd_market(args: argparse.Namespace) -> int:
    tables = scoped_tables(args)
    period = period_of(args, tables)
    if args.view == "board":
        frame = market.price_board(tables, as_of=period.end)
    elif args.view == "history":
        frame = market.price_history(tables, product=args.product, market=args.market,
                                     grain=args.grain, period=period)
    else:
        frame = market.spreads(tables, market=args.market, grain=args.grain, period=period)
    return write(frame, args, f"market_{args.view}")


def add_inventory(sub: Subparsers) -> None:
    p = sub.add_parser(
        "inventory", help="stock against safety stock, turnover, ageing, mark-to-market")
    add_period(p)
    add_output(p)
    p.add_argument("view", nargs="?", default="status",
                   choices=("status", "turnover", "ageing", "mtm"))
    p.add_argument("--as-of", help="YYYY-MM-DD (default: the period's end)")
    p.add_argument("--cycle-days", type=int, default=inventory.CYCLE_DAYS)
    p.add_argument("--factor", type=float, default=inventory.SAFETY_FACTOR,
                   help="safety stock = factor × the sales of one cycle")
    p.add_argument("--over-factor", type=float, default=inventory.OVERSTOCK_FACTOR,
                   help="overstock level")
    p.add_argument("--market", help="valuation market for mtm (default: spot)")
    p.add_argument("--threshold", type=float, default=inventory.ALERT_THRESHOLD_PCT,
                   help="mtm alert, %% of book")
    p.add_argument("--fall", type=float, default=0.0, help="mtm what-if: prices fall X %%")
    p.set_defaults(func=cmd_inventory)


def cmd_inventory(args: argparse.Namespace) -> int:
    tables = scoped_tables(args)
    period = period_of(args, tables)
    as_of = date.fromisoformat(args.as_of) if args.as_of else period.end
    if args.view == "status":
        frame = inventory.status(tables, as_of=as_of, cycle_days=args.cycle_days,
                                 factor=args.factor, over_factor=args.over_factor)
    elif args.view == "turnover":
        frame = inventory.turnover(tables, period=period)
    elif args.view == "ageing":
        frame = inventory.ageing(tables, as_of=as_of)
    else:
        frame = inventory.mark_to_market(tables, as_of=as_of, market=args.market,
                                         threshold_pct=args.threshold)
        if args.fall:
            frame = inventory.with_what_if(frame, fall_pct=args.fall)
    return write(frame, args, f"inventory_{args.view}")


def add_products(sub: Subparsers) -> None:
    p = sub.add_parser(
        "products", help="sales composition and margin by product; margins gone negative")
    add_period(p)
    add_output(p)
    p.add_argument("view", nargs="?", default="composition",
                   choices=("composition", "monthly", "negative"))
    p.add_argument("--by", choices=products.BY, default=products.BY[0])
    p.set_defaults(func=cmd_products)


def cmd_products(args: argparse.Namespace) -> int:
    tables = scoped_tables(args)
    period = period_of(args, tables)
    if args.view == "negative":
        frame = products.turned_negative(tables, period=period)
    elif args.view == "monthly":
        frame = products.margin_by_month(tables, period=period)
    else:
        frame = products.composition(tables, period=period, by=args.by)
    return write(frame, args, f"products_{args.view}")


def add_team(sub: Subparsers) -> None:
    p = sub.add_parser("team", help="rep and team scorecards against targets; reseller scorecard")
    add_period(p)
    add_output(p)
    p.add_argument("view", nargs="?", default="reps",
                   choices=("reps", "teams", "customers", "trend", "resellers"))
    p.add_argument("--rep", help="one rep's customers or trend (default: all)")
    p.set_defaults(func=cmd_team)


def cmd_team(args: argparse.Namespace) -> int:
    tables = scoped_tables(args)
    period = period_of(args, tables)
    if args.view == "resellers":
        frame = scorecards.reseller_scorecard(tables, period=period)
    elif args.view == "customers":
        frame = scorecards.rep_customers(tables, period=period, rep=args.rep)
    elif args.view == "trend":
        frame = scorecards.rep_trend(tables, period=period, rep=args.rep)
    else:
        frame = scorecards.rep_scorecard(tables, period=period)
        if args.view == "teams":
            frame = scorecards.team_scorecard(frame)
    return write(frame, args, f"team_{args.view}")


COMMANDS = (
    add_pyramid,
    add_abc,
    add_grades,
    add_satisfaction,
    add_complaints,
    add_ageing,
    add_market,
    add_inventory,
    add_products,
    add_team,
)
