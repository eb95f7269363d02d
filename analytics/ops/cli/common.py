"""What every command shares: the warehouse and the user's scope, the period options, the
output options and formats, progress, and who is acting (for the audit log)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import pandas as pd

from analytics.display import exports
from analytics.domain import customers as cu
from analytics.domain import overview
from analytics.store.access import SINGLE_USER, Scope, scoped
from analytics.store.period import PRESETS, Period, preset
from analytics.store.warehouse import Tables, open_warehouse

FORMATS = ("csv", "json", "xlsx")
DEFAULT_PERIOD = "last_12_months"


def add_period(parser: argparse.ArgumentParser) -> None:
    """--period / --start / --end: the period every analysis reads."""
    parser.add_argument("--period", choices=[x for x in PRESETS if x != "custom"],
                        default=DEFAULT_PERIOD, help="ends at the latest order date")
    parser.add_argument("--start", help="YYYY-MM-DD (overrides --period)")
    parser.add_argument("--end", help="YYYY-MM-DD (overrides --period)")


def add_output(parser: argparse.ArgumentParser) -> None:
    """--format / -o: where and how a command writes its table."""
    parser.add_argument("--format", choices=FORMATS,
                        help="default: from the output file's suffix, else csv")
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")


def progress(fraction: float, what: str) -> None:
    width = 30
    done = int(fraction * width)
    sys.stderr.write(f"\r[{'#' * done}{'.' * (width - done)}] {fraction:4.0%} {what:<14}")
    sys.stderr.flush()
    if fraction >= 1:
        sys.stderr.write("\n")

PROBLEMS = {
    "pointer_missing": "the CURRENT pointer is missing: reading the newest readable version",
    "pointer_damaged": "the CURRENT pointer is damaged: reading the newest readable version",
    "version_damaged": "the current version file does not open: reading the newest readable "
                       "version",
}

def actor(args: argparse.Namespace) -> str:
    """Who runs this command, for the audit log: --as-user, else the machine's user."""
    import getpass

    if getattr(args, "as_user", None):
        return str(args.as_user)
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"

def require_admin(args: argparse.Namespace, what: str) -> None:
    """Writes need the admin level when --as-user names someone (the local operator without
    --as-user is the machine's own admin, as in single-user mode)."""
    if getattr(args, "as_user", None) and not scope_of(args).can_import:
        raise SystemExit(f"{what}: user {args.as_user!r} is not an admin")

def period_of(args: argparse.Namespace, tables: Tables) -> Period:
    span = overview.data_range(tables)
    if span is None:
        raise SystemExit("no order lines in the warehouse")
    if args.start or args.end:
        return Period(date.fromisoformat(args.start) if args.start else span[0],
                      date.fromisoformat(args.end) if args.end else span[1])
    return preset(args.period, as_of=span[1], first=span[0])

def output_format(args: argparse.Namespace) -> str:
    """--format, else the output file's suffix (.csv, .json, .xlsx), else CSV."""
    if args.format:
        return str(args.format)
    suffix = Path(args.output).suffix.lower().lstrip(".") if args.output else ""
    return suffix if suffix in ("csv", "json", "xlsx") else "csv"

def write(frame: pd.DataFrame, args: argparse.Namespace, name: str) -> int:
    args.format = output_format(args)
    if args.format == "csv":
        data = exports.to_csv(frame)
    elif args.format == "json":
        data = frame.to_json(orient="records", force_ascii=False, date_format="iso",
                             indent=1).encode("utf-8")
    else:
        data = exports.to_xlsx(frame, sheet=name)
    if args.output in (None, "-"):
        sys.stdout.buffer.write(data)
    else:
        Path(args.output).write_bytes(data)
        print(f"wrote {len(frame):,} rows to {args.output}", file=sys.stderr)
    return 0

def scope_of(args: argparse.Namespace) -> Scope:
    """The CLI reads as the local operator, or with --as-user as that user would."""
    if getattr(args, "as_user", None):
        from analytics.ops import users

        try:
            return users.scope_of(args.as_user)
        except users.AuthError:
            raise SystemExit(f"--as-user: no such user {args.as_user!r}") from None
    return SINGLE_USER

def scoped_tables(args: argparse.Namespace) -> Tables:
    wh = open_warehouse(args.url)
    if not wh.exists():
        raise SystemExit("no warehouse yet: run `python -m analytics demo`")
    return scoped(wh.tables(), scope_of(args))

def metric_or_revenue(args: argparse.Namespace, tables: Tables) -> str:
    """The asked metric, or — as the pages do — revenue when the data cannot give it (no cost
    means no gross profit), said on stderr."""
    metric = str(args.metric)
    available = cu.available_metrics(tables)
    if metric not in available and available:
        fallback = "revenue_cny" if "revenue_cny" in available else available[0]
        print(f"note: the orders carry no {'cost' if metric == 'gross_profit_cny' else metric}"
              f", so {metric} cannot be computed: using {fallback} (import costs to see gross"
              " profit)", file=sys.stderr)
        return fallback
    return metric

def known_provinces(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The provinces in the warehouse's customer master, to check a manager's against."""
    wh = open_warehouse(args.url)
    tables = wh.tables() if wh.exists() else None
    if tables is None or not tables.has("customers", "province"):
        return None
    values = tables.get("customers").select("province").distinct().to_pandas()["province"]
    return tuple(sorted(str(v) for v in values.dropna()))

def password(prompt: str) -> str:
    """Prompted on a terminal; read from standard input otherwise (scripts, tests)."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("again: ") != first:
            raise SystemExit("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")
