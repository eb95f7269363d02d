"""The churn commands: status by the rules, the model's backtest against baselines, risk scores."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from analytics.display import churn_words
from analytics.display.i18n import LANGS, Labels
from analytics.domain import churn
from analytics.domain.churn.model import MODELS
from analytics.domain.churn.settings import HORIZON_DAYS, TEST_CUTOFFS
from analytics.ops.cli.common import FORMATS, scoped_tables, write

Subparsers = argparse._SubParsersAction  # the type argparse's add_subparsers returns


def add_churn(sub: Subparsers) -> None:
    p = sub.add_parser("churn", help="churn status, backtest against baselines, risk scores")
    p.add_argument("action", choices=("backtest", "score", "status"))
    p.add_argument("--model", choices=MODELS, default=MODELS[0])
    p.add_argument("--horizon", type=int, help="days without an order = churn (default: "
                   f"the method's {HORIZON_DAYS} days where the history allows, else the "
                   "longest that fits)")
    p.add_argument("--warmup", type=int, help="days of history before the first training "
                   "cutoff (default: chosen from the data)")
    p.add_argument("--tests", type=int, help="backtest: how many cutoffs to test (default: "
                   f"up to {TEST_CUTOFFS}, as the history allows)")
    p.add_argument("--cutoff", "--as-of", dest="cutoff", help="YYYY-MM-DD: backtest: the last "
                   "test cutoff; score: the day scored; status: the day judged (default: "
                   "after the last order)")
    p.add_argument("--lang", choices=LANGS, default="en")
    p.add_argument("--per-cutoff", action="store_true", help="backtest: one row per cutoff")
    p.add_argument("--format", choices=FORMATS)
    p.add_argument("-o", "--output")
    p.set_defaults(func=cmd_churn)


def cmd_churn(args: argparse.Namespace) -> int:
    tables = scoped_tables(args)
    labels = Labels(args.lang)
    when = date.fromisoformat(args.cutoff) if args.cutoff else None
    if args.action == "status":
        history = churn.load_history(tables)
        return write(churn.customer_status(history, as_of=when or history.end), args,
                      "churn_status")
    try:
        if args.action == "backtest":
            result = churn.backtest(tables, kind=args.model, horizon=args.horizon,
                                    tests=args.tests, warmup_days=args.warmup, cutoff=when)
        else:
            scores = churn.score(tables, as_of=when, kind=args.model, horizon=args.horizon,
                                 warmup_days=args.warmup)
    except churn.NotEnoughHistory as err:
        print(churn_words.need_text(err, labels, page=False), file=sys.stderr)
        return 2
    if args.action == "backtest":
        frame = result.per_cutoff if args.per_cutoff else result.pooled
        if result.settings is not None:
            print(churn_words.settings_text(result.settings, labels), file=sys.stderr)
        print(labels("model_features", features=churn_words.feature_names(result.columns, labels)),
              file=sys.stderr)
        return write(frame, args, "churn_backtest")
    print(churn_words.score_settings_text(scores, labels), file=sys.stderr)
    # canonical columns and codes, as every command writes them; the reasons in words
    words = churn_words.risk_table(scores, labels)
    frame = scores.customers.drop(columns=["_horizon"]).assign(
        raising=words["raising"].to_numpy(), lowering=words["lowering"].to_numpy())
    return write(frame, args, "churn_scores")


COMMANDS = (add_churn,)
