"""Commands over the warehouse itself: the demo, tables, export, import, templates, versions."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from analytics.display import exports
from analytics.display.i18n import LANGS, Labels
from analytics.domain import derive
from analytics.ops import ingest, sample, users
from analytics.ops.cli.common import (
    PROBLEMS,
    actor,
    add_output,
    progress,
    require_admin,
    scope_of,
    write,
)
from analytics.ops.ingest.templates import TEMPLATES_DIR, write_templates
from analytics.store import followups, schema
from analytics.store.access import scoped
from analytics.store.warehouse import export_table, open_warehouse

Subparsers = argparse._SubParsersAction  # the type argparse's add_subparsers returns


def add_demo(sub: Subparsers) -> None:
    p = sub.add_parser("demo", help="build the demo warehouse")
    p.add_argument("--seed", type=int, default=sample.SampleConfig.seed)
    p.add_argument("--scale", type=float, default=sample.SampleConfig.scale,
                   help="customer multiplier (15 ≈ 1 M order lines; 150 ≈ 10 M)")
    p.add_argument("--out", help="warehouse folder (default: the configured warehouse)")
    p.add_argument("--if-missing", action="store_true",
                   help="do nothing when a warehouse already exists")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    wh = open_warehouse(f"duckdb:///{Path(args.out).resolve()}" if args.out else args.url)
    if args.if_missing and (wh.exists() or wh.has_versions()):
        # versions on disk are someone's data even when the pointer to them is lost
        print(f"warehouse exists ({wh.version}); nothing to do")
        if wh.problem:
            print(f"warning: {PROBLEMS[wh.problem]}; `python -m analytics versions check`",
                  file=sys.stderr)
        return 0
    started = time.perf_counter()
    config = sample.SampleConfig(seed=args.seed, scale=args.scale)
    # a demo built elsewhere (--out) keeps its follow-ups beside it, never in the configured
    # store of the warehouse the app reads
    store = followups.open_store(wh.root.parent / followups.FILE_NAME if args.out
                                 else followups.default_path(wh.root))
    version = sample.build(wh, config, progress=progress, followups=store)
    rows = wh.row_counts()
    print(f"built demo warehouse {version} in {time.perf_counter() - started:.1f} s: "
          f"{rows.get('orders', 0):,} order lines, {rows.get('customers', 0):,} customers "
          f"({wh.root})")
    return 0


def add_tables(sub: Subparsers) -> None:
    p = sub.add_parser("tables", help="list tables, row counts and the data version")
    p.set_defaults(func=cmd_tables)


def cmd_tables(args: argparse.Namespace) -> int:
    wh = open_warehouse(args.url)
    if not wh.exists():
        print("no warehouse yet: run `python -m analytics demo`", file=sys.stderr)
        return 1
    rows = wh.row_counts()
    print(f"version {wh.version}  ({wh.root})")
    for name in schema.TABLES:
        print(f"  {name:<15}{rows[name]:>12,}" if name in rows else f"  {name:<15}{'—':>12}")
    return 0


def add_export(sub: Subparsers) -> None:
    p = sub.add_parser("export", help="export a table as CSV (UTF-8 with BOM), JSON or XLSX")
    p.add_argument("table")
    add_output(p)
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    wh = open_warehouse(args.url)
    if not wh.exists():
        print("no warehouse yet: run `python -m analytics demo`", file=sys.stderr)
        return 1
    tables = scoped(wh.tables(), scope_of(args))
    if args.table not in schema.TABLES:
        print(f"unknown table {args.table!r}; known: {', '.join(schema.TABLES)}", file=sys.stderr)
        return 2
    if not tables.has(args.table):
        print(f"table {args.table} is not in the warehouse", file=sys.stderr)
        return 1
    frame = export_table(tables, args.table)
    users.audit("export", user=actor(args), table=args.table, rows=len(frame), via="cli",
                version=wh.version)
    return write(frame, args, args.table)


def add_import(sub: Subparsers) -> None:
    p = sub.add_parser("import", help="import a CSV or XLSX file into a table")
    p.add_argument("file")
    p.add_argument("--table", required=True, choices=ingest.TARGETS)
    p.add_argument("--mode", choices=ingest.MODES, default=ingest.MODES[0])
    p.add_argument("--map", action="append", metavar="COLUMN=FIELD",
                   help="correct the suggested mapping (repeatable; FIELD empty = leave out)")
    p.add_argument("--sheet", help="the sheet of an .xlsx file (default: the first)")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE",
                   help="a value for every row of a field the file lacks, e.g. product=rebar "
                        "market=shfe for a date + close price file (guessed from the name)")
    p.add_argument("--skip-bad", action="store_true", help="import the rows without errors")
    p.add_argument("--decimal", choices=(".", ","),
                   help="the file's decimal mark when it cannot be told from the numbers")
    p.add_argument("--keep-repeats", action="store_true",
                   help="keep lines repeated exactly under one order number (default: "
                        "left out and counted)")
    p.add_argument("--import-again", action="store_true",
                   help="lines without order numbers that look like lines already imported "
                        "are new purchases: import them (default: left out and counted)")
    p.add_argument("--allow-orphans", action="store_true",
                   help="replace the customer master even when orders lose their customer")
    p.add_argument("--report", help="write the full validation report (CSV) here")
    p.add_argument("--lang", choices=LANGS, default="en")
    p.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    """Import a CSV / XLSX file: the same reading, mapping, checks, write, remembered mapping
    and audit entry as the data page (analytics.ops.ingest.workflow)."""
    labels = Labels(args.lang)
    path = Path(args.file)
    require_admin(args, "import")
    try:
        data = path.read_bytes()
    except OSError as err:
        print(f"cannot read {args.file}: {err.strerror or err}", file=sys.stderr)
        return 2
    wh = open_warehouse(args.url)
    try:
        raw = ingest.read_file(data, path.name, sheet=args.sheet)
    except ingest.IngestError as err:
        print(labels(f"ingest_{err.code}", **err.params), file=sys.stderr)
        return 2
    columns = list(raw.frame.columns)
    mapping = ingest.mapping_for(wh, columns, args.table)
    for item in args.map or []:
        source, _, target = item.partition("=")
        if source not in columns:
            print(f"--map: no column {source!r} in the file ({', '.join(columns)})",
                  file=sys.stderr)
            return 2
        mapping[source] = target or None
    print("mapping: " + ", ".join(f"{c} → {f or '—'}" for c, f in mapping.items()),
          file=sys.stderr)
    constants = {**ingest.guess_constants(args.file, args.table),
                 **dict(item.partition("=")[::2] for item in args.set or [])}
    plan = ingest.plan_import(raw, args.table, mapping, data=data, mode=args.mode,
                              existing=wh.tables() if wh.exists() else None,
                              constants=constants, decimal=args.decimal,
                              keep_repeats=args.keep_repeats, allow_orphans=args.allow_orphans,
                              import_again=args.import_again)
    for code, params in plan.blocking:
        print(labels(f"ingest_{code}", **params), file=sys.stderr)
    if plan.blocking:
        return 2
    counts = plan.summary()
    print(f"rows {counts['rows']:,} · good {counts['good']:,} · with errors {counts['bad']:,}"
          f" · left out {counts['left_out']:,} · warnings {counts['warnings']:,}",
          file=sys.stderr)
    for code, params in plan.notes:
        print(labels(f"import_note_{code}", **params), file=sys.stderr)
    # what blocks first, grouped by reason with example lines (--report writes every line)
    for row in ingest.problem_summary(plan.problems).to_dict("records"):
        values = str(row["example_values"])
        severity = labels("severity_" + str(row["severity"]))
        problem = labels("problem_" + str(row["problem"]))
        print(f"  {severity}: {problem} — {row['column'] or '—'}: "
              f"{int(row['problem_lines']):,} line(s), e.g. line {row['example_lines']}"
              + (f" ({values})" if values else ""), file=sys.stderr)
    if args.report:
        Path(args.report).write_bytes(exports.to_csv(plan.problems))
    try:
        version = ingest.run_import(wh, plan, columns=columns, user=actor(args), via="cli",
                                    skip_bad=args.skip_bad, progress=progress)
    except ingest.IngestError as err:
        print(labels(f"ingest_{err.code}", **err.params)
              + (" (--skip-bad)" if err.code == "has_errors" else ""), file=sys.stderr)
        return 1
    print(f"imported {plan.rows_good:,} rows as {version}")
    return 0


def add_templates(sub: Subparsers) -> None:
    p = sub.add_parser("templates", help="write upload templates (one CSV per table)")
    p.add_argument("--out", default=str(TEMPLATES_DIR))
    p.set_defaults(func=cmd_templates)


def cmd_templates(args: argparse.Namespace) -> int:
    """Upload templates: bilingual headers, 客户编号 (customer_id), and three demo rows."""
    written = write_templates(Path(args.out))
    print(f"wrote {len(written)} templates to {args.out}")
    return 0


def add_versions(sub: Subparsers) -> None:
    p = sub.add_parser("versions", help="the warehouse's versions: list, check every file, "
                       "roll back to an earlier one")
    p.add_argument("action", choices=("list", "check", "rollback"))
    p.add_argument("version", nargs="?", help="rollback: the version (3 or v000003)")
    p.set_defaults(func=cmd_versions)


def cmd_versions(args: argparse.Namespace) -> int:
    """The version history: list it, check every file, or make an earlier version current."""
    wh = open_warehouse(args.url)
    if not wh.has_versions():
        print("no versions yet: run `python -m analytics demo` or import a file",
              file=sys.stderr)
        return 1
    if wh.problem:
        print(f"warning: {PROBLEMS[wh.problem]} ({wh.version})", file=sys.stderr)
    if args.action == "list":
        for v in wh.versions():
            print(f"{'*' if v.current else ' '} {v.version}  {v.created:<26}{v.action:<12}"
                  f"{v.user:<12}{v.file or v.note}")
        return 0
    if args.action == "check":
        bad = 0
        for entry in wh.check():
            state = "ok" if entry["readable"] and entry["rows_match"] is not False else (
                "DAMAGED (does not open)" if not entry["readable"] else "rows differ from "
                "what was recorded")
            bad += state != "ok"
            print(f"{'*' if entry['current'] else ' '} {entry['version']}  {state}")
        return 1 if bad or wh.problem else 0
    if not args.version:
        print("versions rollback needs a version: a number or vNNNNNN (see versions list)",
              file=sys.stderr)
        return 2
    require_admin(args, "versions rollback")
    name = args.version if args.version.startswith("v") else f"v{int(args.version):06d}"
    try:
        wh.rollback(name)
    except ValueError as err:
        print(str(err), file=sys.stderr)
        return 2
    users.audit("rollback", user=actor(args), version=name, via="cli")
    print(f"current version is now {name}")
    return 0


def add_derive(sub: Subparsers) -> None:
    p = sub.add_parser("derive", help="compute what is kept with a version (summaries, kept "
                       "results), if it has not been: an import from the app leaves it to this")
    p.add_argument("--version", help="the version (default: the current one)")
    p.set_defaults(func=cmd_derive)


def cmd_derive(args: argparse.Namespace) -> int:
    wh = open_warehouse(args.url)
    path = wh.root / f"{args.version}.duckdb" if args.version else wh.current_path()
    if path is None or not path.exists():
        print(f"no such version: {args.version or 'current'}", file=sys.stderr)
        return 2
    if wh.derive_state(path) == "ready":
        print(f"{path.stem}: already derived")
        return 0
    started = time.perf_counter()
    if not wh.derive_for(path, derive.write):
        print(f"{path.stem}: another process is deriving it", file=sys.stderr)
        return 1
    print(f"{path.stem}: derived in {time.perf_counter() - started:.1f} s")
    return 0


COMMANDS = (add_demo, add_tables, add_export, add_import, add_templates, add_versions,
            add_derive)
