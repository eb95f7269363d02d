"""The monthly report (to a file or by e-mail) and the early-warning digest (printed or pushed)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import pandas as pd

from analytics.display import report
from analytics.display.i18n import LANGS, Labels
from analytics.domain import overview, warning
from analytics.ops import delivery, users
from analytics.ops.cli import followups
from analytics.ops.cli.common import scope_of, scoped_tables
from analytics.store.access import Scope, scoped
from analytics.store.period import Period
from analytics.store.warehouse import Tables, open_warehouse

Subparsers = argparse._SubParsersAction  # the type argparse's add_subparsers returns
SETTINGS_HELP = "settings TOML (default: $STEELSIGHT_CONFIG or .streamlit/secrets.toml)"


def add_report(sub: Subparsers) -> None:
    p = sub.add_parser("report", help="the monthly management report (HTML, PDF, XLSX), "
                       "to a file or by e-mail")
    p.add_argument("--month", default="last", help="YYYY-MM, or last (the last whole month)")
    p.add_argument("--lang", choices=LANGS, default="zh")
    p.add_argument("--format", choices=report.FORMATS,
                   help="default: from the output file's suffix, else html")
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p.add_argument("--email", action="store_true",
                   help="send PDF + XLSX to the recipients in the settings ([smtp])")
    p.add_argument("--config", help=SETTINGS_HELP)
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    tables = scoped_tables(args)
    month = report.month_period(args.month, tables)
    if not args.email:
        suffix = Path(args.output).suffix.lower().lstrip(".") if args.output else ""
        args.format = args.format or (suffix if suffix in report.FORMATS else "html")
        _, files = _report_files(tables, month, args.lang, scope_of(args).sees_profit,
                                 (args.format,), followups.rows_in_scope(args))
        data = files[0][1]
        if args.output in (None, "-"):
            sys.stdout.buffer.write(data)
        else:
            Path(args.output).write_bytes(data)
        return 0
    return _email_reports(args, month)


def _report_files(tables: Tables, month: Period, lang: str, sees_profit: bool,
                  formats: tuple[str, ...], followup_rows: pd.DataFrame | None = None
                  ) -> tuple[report.Report, list[tuple[str, bytes]]]:
    labels = Labels(lang)
    built = report.build_report(tables, month=month, labels=labels, sees_profit=sees_profit,
                                followups=followup_rows)
    stem = f"steelsight_report_{month.start:%Y-%m}_{lang}"
    return built, [(f"{stem}.{fmt}", report.render(built, labels, fmt)) for fmt in formats]


def _email_reports(args: argparse.Namespace, month: Period) -> int:
    try:
        config = delivery.load_config(args.config)
    except delivery.DeliveryError as err:
        print(str(err), file=sys.stderr)
        return 2
    smtp = config.get("smtp")
    if not smtp:
        print("no [smtp] section in the settings", file=sys.stderr)
        return 2
    wh = open_warehouse(args.url)
    audiences: list[tuple[Scope, list[str]]] = []
    for level, to in smtp.get("recipients", {}).items():
        if level == "rep":
            print("[smtp.recipients] rep: list reps under [smtp.users] (each gets their own "
                  "customers)", file=sys.stderr)
            return 2
        audiences.append((Scope(user=f"report-{level}", level=level, single_user=False),
                          list(to)))
    for user, address in smtp.get("users", {}).items():
        audiences.append((users.scope_of(user), [str(address)]))
    sent = 0
    for scope, to in audiences:
        tables = scoped(wh.tables(), scope)
        built, files = _report_files(tables, month, args.lang, scope.sees_profit,
                                     ("pdf", "xlsx"),
                                     followups.rows_for(args, tables, scope))
        delivery.send_mail(smtp, to=to, subject=built.title,  # type: ignore[attr-defined]
                           body=built.subtitle, attachments=[  # type: ignore[attr-defined]
                               delivery.Attachment(name, data, delivery.MIME[name.rsplit(
                                   ".", 1)[1]]) for name, data in files])
        users.audit("report_sent", user=scope.user, month=f"{month.start:%Y-%m}",
                    to=len(to))
        sent += len(to)
    print(f"sent the {month.start:%Y-%m} report to {sent} recipient(s)", file=sys.stderr)
    return 0


def add_alerts(sub: Subparsers) -> None:
    p = sub.add_parser("alerts", help="the early-warning digest; --push posts it to the WeCom "
                       "and DingTalk group robots")
    p.add_argument("--as-of", help="YYYY-MM-DD (default: the latest order date)")
    p.add_argument("--lang", choices=LANGS, default="zh")
    p.add_argument("--push", action="store_true")
    p.add_argument("--config", help=SETTINGS_HELP)
    p.set_defaults(func=cmd_alerts)


def cmd_alerts(args: argparse.Namespace) -> int:
    tables = scoped_tables(args)
    labels = Labels(args.lang)
    span = overview.data_range(tables)
    as_of = date.fromisoformat(args.as_of) if args.as_of else (span[1] if span else date.today())
    digest = warning.digest(tables, as_of=as_of, sees_profit=scope_of(args).sees_profit,
                            followups=followups.rows_in_scope(args), today=date.today())
    title = labels("digest_title", date=labels.date(as_of))
    text = delivery.digest_markdown(labels, digest)
    if not args.push:
        print(f"## {title}\n{text}")
        return 0
    try:
        done = delivery.push(delivery.load_config(args.config), title, text)
    except (delivery.DeliveryError, OSError) as err:
        print(f"push failed: {err}", file=sys.stderr)
        return 2
    print(f"posted the digest to {', '.join(done)}", file=sys.stderr)
    return 0


COMMANDS = (add_report, add_alerts,)
