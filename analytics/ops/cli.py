"""Command line: ``python -m analytics COMMAND`` (``--help`` lists them)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd

from analytics.display import churn_words, exports
from analytics.display.i18n import LANGS, Labels
from analytics.domain import abc, grading, overview
from analytics.domain import customers as cu
from analytics.domain.churn.model import MODELS as CHURN_MODELS
from analytics.ops import sample
from analytics.store import schema
from analytics.store.access import SINGLE_USER, scoped
from analytics.store.period import PRESETS, Period, preset
from analytics.store.warehouse import export_table, open_warehouse


def _progress(fraction: float, what: str) -> None:
    width = 30
    done = int(fraction * width)
    sys.stderr.write(f"\r[{'#' * done}{'.' * (width - done)}] {fraction:4.0%} {what:<14}")
    sys.stderr.flush()
    if fraction >= 1:
        sys.stderr.write("\n")


def cmd_demo(args: argparse.Namespace) -> int:
    wh = open_warehouse(f"duckdb:///{Path(args.out).resolve()}" if args.out else args.url)
    if args.if_missing and (wh.exists() or wh.has_versions()):
        # versions on disk are someone's data even when the pointer to them is lost
        print(f"warehouse exists ({wh.version}); nothing to do")
        if wh.problem:
            print(f"warning: {_PROBLEMS[wh.problem]}; `python -m analytics versions check`",
                  file=sys.stderr)
        return 0
    started = time.perf_counter()
    config = sample.SampleConfig(seed=args.seed, scale=args.scale)
    version = sample.build(wh, config, progress=_progress)
    rows = wh.row_counts()
    print(f"built demo warehouse {version} in {time.perf_counter() - started:.1f} s: "
          f"{rows.get('orders', 0):,} order lines, {rows.get('customers', 0):,} customers "
          f"({wh.root})")
    return 0


_PROBLEMS = {
    "pointer_missing": "the CURRENT pointer is missing: reading the newest readable version",
    "pointer_damaged": "the CURRENT pointer is damaged: reading the newest readable version",
    "version_damaged": "the current version file does not open: reading the newest readable "
                       "version",
}


def cmd_versions(args: argparse.Namespace) -> int:
    """The version history: list it, check every file, or make an earlier version current."""
    from analytics.ops import users

    wh = open_warehouse(args.url)
    if not wh.has_versions():
        print("no versions yet: run `python -m analytics demo` or import a file",
              file=sys.stderr)
        return 1
    if wh.problem:
        print(f"warning: {_PROBLEMS[wh.problem]} ({wh.version})", file=sys.stderr)
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
    _require_admin(args, "versions rollback")
    name = args.version if args.version.startswith("v") else f"v{int(args.version):06d}"
    try:
        wh.rollback(name)
    except ValueError as err:
        print(str(err), file=sys.stderr)
        return 2
    users.audit("rollback", user=_actor(args), version=name, via="cli")
    print(f"current version is now {name}")
    return 0


def _actor(args: argparse.Namespace) -> str:
    """Who runs this command, for the audit log: --as-user, else the machine's user."""
    import getpass

    if getattr(args, "as_user", None):
        return str(args.as_user)
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _require_admin(args: argparse.Namespace, what: str) -> None:
    """Writes need the admin level when --as-user names someone (the local operator without
    --as-user is the machine's own admin, as in single-user mode)."""
    if getattr(args, "as_user", None) and not _scope(args).can_import:
        raise SystemExit(f"{what}: user {args.as_user!r} is not an admin")


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


def cmd_export(args: argparse.Namespace) -> int:
    wh = open_warehouse(args.url)
    if not wh.exists():
        print("no warehouse yet: run `python -m analytics demo`", file=sys.stderr)
        return 1
    tables = scoped(wh.tables(), _scope(args))
    if args.table not in schema.TABLES:
        print(f"unknown table {args.table!r}; known: {', '.join(schema.TABLES)}", file=sys.stderr)
        return 2
    if not tables.has(args.table):
        print(f"table {args.table} is not in the warehouse", file=sys.stderr)
        return 1
    frame = export_table(tables, args.table)
    from analytics.ops import users

    users.audit("export", user=_actor(args), table=args.table, rows=len(frame), via="cli",
                version=wh.version)
    return _write(frame, args, args.table)


def cmd_templates(args: argparse.Namespace) -> int:
    """Upload templates: bilingual headers, 客户编号 (customer_id), and three demo rows."""
    from analytics.ops.ingest.templates import write_templates

    written = write_templates(Path(args.out))
    print(f"wrote {len(written)} templates to {args.out}")
    return 0


def _period(args: argparse.Namespace, tables: object) -> Period:
    span = overview.data_range(tables)  # type: ignore[arg-type]
    if span is None:
        raise SystemExit("no order lines in the warehouse")
    if args.start or args.end:
        return Period(date.fromisoformat(args.start) if args.start else span[0],
                      date.fromisoformat(args.end) if args.end else span[1])
    return preset(args.period, as_of=span[1], first=span[0])


def _format(args: argparse.Namespace) -> str:
    """--format, else the output file's suffix (.csv, .json, .xlsx), else CSV."""
    if args.format:
        return str(args.format)
    suffix = Path(args.output).suffix.lower().lstrip(".") if args.output else ""
    return suffix if suffix in ("csv", "json", "xlsx") else "csv"


def _write(frame: pd.DataFrame, args: argparse.Namespace, name: str) -> int:
    args.format = _format(args)
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


def _scope(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The CLI reads as the local operator, or with --as-user as that user would."""
    if getattr(args, "as_user", None):
        from analytics.ops import users

        try:
            return users.scope_of(args.as_user)
        except users.AuthError:
            raise SystemExit(f"--as-user: no such user {args.as_user!r}") from None
    return SINGLE_USER


def _scoped_tables(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    wh = open_warehouse(args.url)
    if not wh.exists():
        raise SystemExit("no warehouse yet: run `python -m analytics demo`")
    return scoped(wh.tables(), _scope(args))


def _metric(args: argparse.Namespace, tables) -> str:  # type: ignore[no-untyped-def]
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


def cmd_pyramid(args: argparse.Namespace) -> int:
    tables = _scoped_tables(args)
    period = _period(args, tables)
    args.metric = _metric(args, tables)
    tiers = cu.pyramid(tables, period=period, metric=args.metric)
    if args.migration:
        return _write(cu.tier_migration(tables, period=period, metric=args.metric), args,
                      "migration")
    return _write(cu.tier_summary(tiers) if args.summary else tiers, args, "pyramid")


def cmd_abc(args: argparse.Namespace) -> int:
    tables = _scoped_tables(args)
    period = _period(args, tables)
    args.metric = _metric(args, tables)
    if args.products:
        frame = abc.abc_products(tables, period=period, level=args.products,
                                 metric=args.metric)
    else:
        frame = abc.abc_customers(tables, period=period, metric=args.metric)
    return _write(frame, args, "abc")


def cmd_grades(args: argparse.Namespace) -> int:
    tables = _scoped_tables(args)
    result = grading.grade(tables, period=_period(args, tables), mode=args.bands)
    return _write(result.factors if args.factors else result.customers, args, "grades")


def cmd_import(args: argparse.Namespace) -> int:
    """Import a CSV / XLSX file: the same reading, mapping and checks as the data page."""
    from analytics.display.i18n import Labels
    from analytics.ops import ingest, users
    from analytics.ops.ingest.mapping import MappingMemory

    labels = Labels(args.lang)
    path = Path(args.file)
    _require_admin(args, "import")
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
    memory = MappingMemory(wh.root / "mappings.json")
    mapping = memory.recall(columns, args.table) or ingest.suggest_mapping(columns, args.table)
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
        version = ingest.apply_import(wh, plan, skip_bad=args.skip_bad, user=_actor(args),
                                      progress=_progress)
    except ingest.IngestError as err:
        print(labels(f"ingest_{err.code}", **err.params)
              + (" (--skip-bad)" if err.code == "has_errors" else ""), file=sys.stderr)
        return 1
    users.audit("import", user=_actor(args), target=args.table, file=path.name,
                mode=args.mode, rows=plan.rows_good, version=version, via="cli")
    memory.remember(columns, args.table, mapping)
    print(f"imported {plan.rows_good:,} rows as {version}")
    return 0


def cmd_churn(args: argparse.Namespace) -> int:
    from analytics.domain import churn

    tables = _scoped_tables(args)
    labels = Labels(args.lang)
    when = date.fromisoformat(args.cutoff) if args.cutoff else None
    if args.action == "status":
        history = churn.load_history(tables)
        return _write(churn.customer_status(history, as_of=when or history.end), args,
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
        return _write(frame, args, "churn_backtest")
    print(churn_words.score_settings_text(scores, labels), file=sys.stderr)
    # canonical columns and codes, as every command writes them; the reasons in words
    words = churn_words.risk_table(scores, labels)
    frame = scores.customers.drop(columns=["_horizon"]).assign(
        raising=words["raising"].to_numpy(), lowering=words["lowering"].to_numpy())
    return _write(frame, args, "churn_scores")


def cmd_satisfaction(args: argparse.Namespace) -> int:
    from analytics.domain import satisfaction as sat

    tables = _scoped_tables(args)
    period = _period(args, tables)
    if args.view == "summary":
        frame = pd.DataFrame([sat.summary(tables, period=period)])
    elif args.view == "trend":
        frame = sat.trend(tables, period=period)
    elif args.view == "dimensions":
        frame = sat.dimensions(tables, period=period)
    else:
        frame = sat.biggest_drops(tables, period=period)
    return _write(frame, args, "satisfaction")


def cmd_complaints(args: argparse.Namespace) -> int:
    from analytics.domain import complaints as co

    tables = _scoped_tables(args)
    period = _period(args, tables)
    items = co.complaints_in(tables, period=period)
    if args.view == "summary":
        frame = pd.DataFrame([co.kpis(tables, items, period=period)])
    elif args.view == "pipeline":
        frame = co.pipeline(items)
    elif args.view == "open":
        frame = co.open_items(items)
    else:
        frame = items
    return _write(frame, args, "complaints")


def _password(prompt: str) -> str:
    """Prompted on a terminal; read from standard input otherwise (scripts, tests)."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("again: ") != first:
            raise SystemExit("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


def cmd_users(args: argparse.Namespace) -> int:
    from analytics.ops import users

    try:
        if args.action == "list":
            for u in users.list_users():
                scope = ",".join(u.get("reps") or []) or ",".join(u.get("provinces") or []) or "all"
                locks = users.locked_clients(u["username"])
                locked = "".join(f"  locked for {client} until {until}"
                                 for client, until in locks)
                print(f"{u['username']:<16}{u['level']:<11}{scope}{locked}")
        elif args.action == "add":
            if not args.username:
                raise ValueError("users add needs a user name")
            warnings = users.add_user(
                args.username, _password(f"password for {args.username}: "),
                level=args.level, name=args.name or args.username, reps=tuple(args.reps or ()),
                provinces=tuple(args.provinces or ()), all_customers=args.all_customers,
                known_provinces=_known_provinces(args))
            for warning in warnings:
                print(f"warning: {warning}", file=sys.stderr)
            print(f"added {args.username} ({args.level}) to {users.users_path()}")
        elif args.action == "remove":
            users.remove_user(args.username)
            print(f"removed {args.username}")
        elif args.action == "reset":
            users.reset_password(args.username, _password(f"new password for {args.username}: "))
            print(f"password reset for {args.username}")
        elif args.action == "status":
            path = users.users_path()
            if users.login_required():
                print(f"login on: {len(users.list_users())} user(s) in {path}")
            else:
                print(f"SINGLE-USER MODE: no users file at {path}. Anyone who opens the app "
                      "is the admin, so it answers browsers on this machine only (set "
                      f"{users.ENV_ALLOW_OPEN}=1 to open it wider). Create users with "
                      "`python -m analytics users add NAME --level admin`.", file=sys.stderr)
        elif args.action == "demo":
            made = users.demo_users()
            print(f"users file: {users.users_path()} — these passwords are shown once:")
            for name, password in made.items():
                print(f"  {name:<10} {password}")
    except (ValueError, users.UsersFileError) as err:
        print(str(err), file=sys.stderr)
        return 2
    return 0


def _known_provinces(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The provinces in the warehouse's customer master, to check a manager's against."""
    wh = open_warehouse(args.url)
    tables = wh.tables() if wh.exists() else None
    if tables is None or not tables.has("customers", "province"):
        return None
    values = tables.get("customers").select("province").distinct().to_pandas()["province"]
    return tuple(sorted(str(v) for v in values.dropna()))


def cmd_ageing(args: argparse.Namespace) -> int:
    from analytics.domain import credit

    tables = _scoped_tables(args)
    as_of = date.fromisoformat(args.as_of) if args.as_of else _period(args, tables).end
    items = credit.open_items(tables, as_of=as_of)
    frame = items if args.by == "invoice" else credit.ageing(
        items, by=None if args.by == "all" else args.by)
    return _write(frame, args, "ageing")


def cmd_market(args: argparse.Namespace) -> int:
    from analytics.domain import market

    tables = _scoped_tables(args)
    period = _period(args, tables)
    if args.view == "board":
        frame = market.price_board(tables, as_of=period.end)
    elif args.view == "history":
        frame = market.price_history(tables, product=args.product, market=args.market,
                                     grain=args.grain, period=period)
    else:
        frame = market.spreads(tables, market=args.market, grain=args.grain, period=period)
    return _write(frame, args, f"market_{args.view}")


def cmd_inventory(args: argparse.Namespace) -> int:
    from analytics.domain import inventory

    tables = _scoped_tables(args)
    period = _period(args, tables)
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
            frame = frame.merge(inventory.what_if(frame, fall_pct=args.fall)[
                ["product", "loss_cny", "floating_after_cny"]], on="product")
    return _write(frame, args, f"inventory_{args.view}")


def cmd_products(args: argparse.Namespace) -> int:
    from analytics.domain import products

    tables = _scoped_tables(args)
    period = _period(args, tables)
    if args.view == "negative":
        frame = products.turned_negative(tables, period=period)
    elif args.view == "monthly":
        frame = products.margin_by_month(tables, period=period)
    else:
        frame = products.composition(tables, period=period, by=args.by)
    return _write(frame, args, f"products_{args.view}")


def cmd_team(args: argparse.Namespace) -> int:
    from analytics.domain import scorecards

    tables = _scoped_tables(args)
    period = _period(args, tables)
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
    return _write(frame, args, f"team_{args.view}")


def _report_files(tables, month, lang: str, sees_profit: bool,  # type: ignore[no-untyped-def]
                  formats: tuple[str, ...]) -> tuple[object, list[tuple[str, bytes]]]:
    from analytics.display import report

    labels = Labels(lang)
    built = report.build_report(tables, month=month, labels=labels, sees_profit=sees_profit)
    stem = f"steelsight_report_{month.start:%Y-%m}_{lang}"
    return built, [(f"{stem}.{fmt}", report.render(built, labels, fmt)) for fmt in formats]


def cmd_report(args: argparse.Namespace) -> int:
    from analytics.display import report

    tables = _scoped_tables(args)
    month = report.month_period(args.month, tables)
    if not args.email:
        suffix = Path(args.output).suffix.lower().lstrip(".") if args.output else ""
        args.format = args.format or (suffix if suffix in report.FORMATS else "html")
        _, files = _report_files(tables, month, args.lang, _scope(args).sees_profit,
                                 (args.format,))
        data = files[0][1]
        if args.output in (None, "-"):
            sys.stdout.buffer.write(data)
        else:
            Path(args.output).write_bytes(data)
        return 0
    return _email_reports(args, month)


def _email_reports(args: argparse.Namespace, month: Period) -> int:
    from analytics.ops import delivery, users
    from analytics.store.access import Scope

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
                                     ("pdf", "xlsx"))
        delivery.send_mail(smtp, to=to, subject=built.title,  # type: ignore[attr-defined]
                           body=built.subtitle, attachments=[  # type: ignore[attr-defined]
                               delivery.Attachment(name, data, delivery.MIME[name.rsplit(
                                   ".", 1)[1]]) for name, data in files])
        users.audit("report_sent", user=scope.user, month=f"{month.start:%Y-%m}",
                    to=len(to))
        sent += len(to)
    print(f"sent the {month.start:%Y-%m} report to {sent} recipient(s)", file=sys.stderr)
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    from analytics.domain import credit, inventory, warning
    from analytics.ops import delivery
    from analytics.store.warehouse import MissingData

    tables = _scoped_tables(args)
    labels = Labels(args.lang)
    span = overview.data_range(tables)
    as_of = date.fromisoformat(args.as_of) if args.as_of else (span[1] if span else date.today())
    alerts = warning.early_warning(tables, as_of=as_of)
    alerts = alerts.assign(reasons=[warning.describe(r, labels) for r in alerts["reasons"]])
    exposure = credit.exposure(tables, as_of=as_of)
    over = exposure[exposure["over_limit"]].sort_values("exposure_cny", ascending=False)
    stock: dict[str, object] = {}
    try:
        status = inventory.status(tables, as_of=as_of)
        stock["below_safety"] = list(labels.values("category", status.loc[
            status["stock_status"] == "below_safety", "product"]))
        if _scope(args).sees_profit:
            book = inventory.mark_to_market(tables, as_of=as_of)
            total = inventory.mtm_total(book)
            year = preset("last_12_months", as_of=as_of)  # safe on 29 February
            history = inventory.mtm_history(tables, period=year)
            stock |= {"floating_cny": total["floating_cny"],
                      "floating_pct": total["floating_pct"],
                      "drawdown_cny": float(history["drawdown_cny"].iloc[-1])
                      if len(history) else 0.0,
                      "losing": list(labels.values("category", book.loc[book["alert"],
                                                                          "product"]))}
    except MissingData:
        pass
    title = labels("digest_title", date=labels.date(as_of))
    text = delivery.digest_markdown(labels, warnings=alerts, over_limit=over, stock=stock)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics",
                                     description="SteelSight analytics from the command line.")
    parser.add_argument("--url", help="warehouse URL (default: $STEELSIGHT_WAREHOUSE, "
                        ".streamlit/secrets.toml, or data/warehouse)")
    parser.add_argument("--as-user", help="read with this user's scope (rows and columns)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="build the demo warehouse")
    demo.add_argument("--seed", type=int, default=sample.SampleConfig.seed)
    demo.add_argument("--scale", type=float, default=1.0,
                      help="customer multiplier (1 ≈ 55k order lines; 180 ≈ 10 M)")
    demo.add_argument("--out", help="warehouse folder (default: the configured warehouse)")
    demo.add_argument("--if-missing", action="store_true",
                      help="do nothing when a warehouse already exists")
    demo.set_defaults(func=cmd_demo)
    tables = sub.add_parser("tables", help="list tables, row counts and the data version")
    tables.set_defaults(func=cmd_tables)
    export = sub.add_parser("export", help="export a table as CSV (UTF-8 with BOM) or XLSX")
    export.add_argument("table")
    export.add_argument("--format", choices=("csv", "xlsx"),
                        help="default: from the output file's suffix, else csv")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    export.set_defaults(func=cmd_export)
    imp = sub.add_parser("import", help="import a CSV or XLSX file into a table")
    imp.add_argument("file")
    imp.add_argument("--table", required=True, choices=("transactions", *schema.TABLES))
    imp.add_argument("--mode", choices=("append", "replace"), default="append")
    imp.add_argument("--map", action="append", metavar="COLUMN=FIELD",
                     help="correct the suggested mapping (repeatable; FIELD empty = leave out)")
    imp.add_argument("--sheet", help="the sheet of an .xlsx file (default: the first)")
    imp.add_argument("--set", action="append", metavar="FIELD=VALUE",
                     help="a value for every row of a field the file lacks, e.g. product=rebar "
                          "market=shfe for a date + close price file (guessed from the name)")
    imp.add_argument("--skip-bad", action="store_true", help="import the rows without errors")
    imp.add_argument("--decimal", choices=(".", ","),
                     help="the file's decimal mark when it cannot be told from the numbers")
    imp.add_argument("--keep-repeats", action="store_true",
                     help="keep lines repeated exactly under one order number (default: "
                          "left out and counted)")
    imp.add_argument("--import-again", action="store_true",
                     help="lines without order numbers that look like lines already imported "
                          "are new purchases: import them (default: left out and counted)")
    imp.add_argument("--allow-orphans", action="store_true",
                     help="replace the customer master even when orders lose their customer")
    imp.add_argument("--report", help="write the full validation report (CSV) here")
    imp.add_argument("--lang", choices=LANGS, default="en")
    imp.set_defaults(func=cmd_import)
    ch = sub.add_parser("churn", help="churn status, backtest against baselines, risk scores")
    ch.add_argument("action", choices=("backtest", "score", "status"))
    ch.add_argument("--model", choices=CHURN_MODELS, default=CHURN_MODELS[0])
    ch.add_argument("--horizon", type=int, help="days without an order = churn (default: "
                    "the method's 180 days where the history allows, else the longest that fits)")
    ch.add_argument("--warmup", type=int, help="days of history before the first training "
                    "cutoff (default: chosen from the data)")
    ch.add_argument("--tests", type=int, help="backtest: how many cutoffs to test (default: "
                    "up to 4, as the history allows)")
    ch.add_argument("--cutoff", "--as-of", dest="cutoff", help="YYYY-MM-DD: backtest: the last "
                    "test cutoff; score: the day scored; status: the day judged (default: "
                    "after the last order)")
    ch.add_argument("--lang", choices=LANGS, default="en")
    ch.add_argument("--per-cutoff", action="store_true", help="backtest: one row per cutoff")
    ch.add_argument("--format", choices=("csv", "json", "xlsx"))
    ch.add_argument("-o", "--output")
    ch.set_defaults(func=cmd_churn)
    us = sub.add_parser("users", help="manage login users (the users file is outside the repo)")
    us.add_argument("action", choices=("add", "remove", "list", "reset", "demo", "status"))
    us.add_argument("username", nargs="?")
    us.add_argument("--level", choices=("rep", "manager", "executive", "admin"), default="rep")
    us.add_argument("--name", help="display name; for a rep, the name used in sales_rep")
    us.add_argument("--reps", nargs="*", help="reps in this user's scope")
    us.add_argument("--provinces", nargs="*", help="provinces in this user's scope")
    us.add_argument("--all-customers", action="store_true",
                    help="a manager of every customer (without it a manager needs --provinces "
                         "or --reps)")
    us.set_defaults(func=cmd_users)
    vs = sub.add_parser("versions", help="the warehouse's versions: list, check every file, "
                        "roll back to an earlier one")
    vs.add_argument("action", choices=("list", "check", "rollback"))
    vs.add_argument("version", nargs="?", help="rollback: the version (3 or v000003)")
    vs.set_defaults(func=cmd_versions)
    templates = sub.add_parser("templates", help="write upload templates (one CSV per table)")
    templates.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "data"
                                                / "templates"))
    templates.set_defaults(func=cmd_templates)
    def analysis(name: str, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("--period", choices=[x for x in PRESETS if x != "custom"],
                       default="last_12_months", help="ends at the latest order date")
        p.add_argument("--start", help="YYYY-MM-DD (overrides --period)")
        p.add_argument("--end", help="YYYY-MM-DD (overrides --period)")
        p.add_argument("--format", choices=("csv", "json", "xlsx"),
                       help="default: from the output file's suffix, else csv")
        p.add_argument("-o", "--output", help="file to write (default: standard output)")
        return p

    pyramid = analysis("pyramid", "customer pyramid tiers (one row per customer)")
    pyramid.add_argument("--metric", choices=cu.METRICS, default="gross_profit_cny")
    pyramid.add_argument("--summary", action="store_true", help="one row per tier")
    pyramid.add_argument("--migration", action="store_true",
                         help="tier moves against the previous period")
    pyramid.set_defaults(func=cmd_pyramid)
    abc_cmd = analysis("abc", "ABC classes of customers, or of products with XYZ")
    abc_cmd.add_argument("--metric", choices=cu.METRICS, default="gross_profit_cny")
    abc_cmd.add_argument("--products", choices=abc.PRODUCT_LEVELS,
                         help="classify products at this level instead of customers")
    abc_cmd.set_defaults(func=cmd_abc)
    grades = analysis("grades", "customer grades from the weighted factor table")
    grades.add_argument("--bands", choices=("quantile", "absolute"), default="quantile")
    grades.add_argument("--factors", action="store_true", help="the factor table instead")
    grades.set_defaults(func=cmd_grades)
    sat_cmd = analysis("satisfaction", "satisfaction index, NPS, dimensions, biggest drops")
    sat_cmd.add_argument("view", nargs="?", default="summary",
                         choices=("summary", "trend", "dimensions", "drops"))
    sat_cmd.set_defaults(func=cmd_satisfaction)
    co_cmd = analysis("complaints", "complaint KPIs, pipeline stages, open items, all")
    co_cmd.add_argument("view", nargs="?", default="summary",
                        choices=("summary", "pipeline", "open", "all"))
    co_cmd.set_defaults(func=cmd_complaints)
    ag = analysis("ageing", "receivables ageing as of a date (buckets, by customer, rep, …)")
    ag.add_argument("--as-of", help="YYYY-MM-DD (default: the latest order date)")
    ag.add_argument("--by", choices=("all", "customer_id", "sales_rep", "type", "province",
                                     "invoice"), default="customer_id")
    ag.set_defaults(func=cmd_ageing)
    mk = analysis("market", "price board, one price history with MAs and changes, spreads")
    mk.add_argument("view", nargs="?", default="board", choices=("board", "history", "spreads"))
    mk.add_argument("--product", default="rebar")
    mk.add_argument("--market", help="default: the spot market with the most quotes")
    mk.add_argument("--grain", choices=("day", "week", "xun", "month"), default="day")
    mk.set_defaults(func=cmd_market)
    iv = analysis("inventory", "stock against safety stock, turnover, ageing, mark-to-market")
    iv.add_argument("view", nargs="?", default="status",
                    choices=("status", "turnover", "ageing", "mtm"))
    iv.add_argument("--as-of", help="YYYY-MM-DD (default: the period's end)")
    iv.add_argument("--cycle-days", type=int, default=30)
    iv.add_argument("--factor", type=float, default=1.5, help="safety stock = factor × cycle")
    iv.add_argument("--over-factor", type=float, default=3.0, help="overstock level")
    iv.add_argument("--market", help="valuation market for mtm (default: spot)")
    iv.add_argument("--threshold", type=float, default=3.0, help="mtm alert, %% of book")
    iv.add_argument("--fall", type=float, default=0.0, help="mtm what-if: prices fall X %%")
    iv.set_defaults(func=cmd_inventory)
    pr = analysis("products", "sales composition and margin by product; margins gone negative")
    pr.add_argument("view", nargs="?", default="composition",
                    choices=("composition", "monthly", "negative"))
    pr.add_argument("--by", choices=("category", "spec"), default="category")
    pr.set_defaults(func=cmd_products)
    tm = analysis("team", "rep and team scorecards against targets; reseller scorecard")
    tm.add_argument("view", nargs="?", default="reps",
                    choices=("reps", "teams", "customers", "trend", "resellers"))
    tm.add_argument("--rep", help="one rep's customers or trend (default: all)")
    tm.set_defaults(func=cmd_team)
    rp = sub.add_parser("report", help="the monthly management report (HTML, PDF, XLSX), "
                        "to a file or by e-mail")
    rp.add_argument("--month", default="last", help="YYYY-MM, or last (the last whole month)")
    rp.add_argument("--lang", choices=LANGS, default="zh")
    rp.add_argument("--format", choices=("html", "pdf", "xlsx"),
                    help="default: from the output file's suffix, else html")
    rp.add_argument("-o", "--output", help="file to write (default: standard output)")
    rp.add_argument("--email", action="store_true",
                    help="send PDF + XLSX to the recipients in the settings ([smtp])")
    rp.add_argument("--config", help="settings TOML (default: $STEELSIGHT_CONFIG or "
                    ".streamlit/secrets.toml)")
    rp.set_defaults(func=cmd_report)
    al = sub.add_parser("alerts", help="the early-warning digest; --push posts it to the WeCom "
                        "and DingTalk group robots")
    al.add_argument("--as-of", help="YYYY-MM-DD (default: the latest order date)")
    al.add_argument("--lang", choices=LANGS, default="zh")
    al.add_argument("--push", action="store_true")
    al.add_argument("--config", help="settings TOML (default: $STEELSIGHT_CONFIG or "
                    ".streamlit/secrets.toml)")
    al.set_defaults(func=cmd_alerts)
    args = parser.parse_args(argv)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    """The command, with bad input and bad state answered in one sentence on stderr (exit 2)
    instead of a traceback."""
    import duckdb

    from analytics.ops import users
    from analytics.store.warehouse import MissingData

    try:
        return int(args.func(args))
    except MissingData as missing:
        what = f"column {missing.column} of table {missing.table}" if missing.column \
            else f"table {missing.table}"
        print(f"the warehouse has no {what}: import it to use this command", file=sys.stderr)
    except users.UsersFileError as err:
        print(f"{err}: repair it, or restore it from a backup", file=sys.stderr)
    except FileNotFoundError as err:
        print(f"no such file: {err.filename or err}", file=sys.stderr)
    except duckdb.Error as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"the warehouse cannot be read ({first}); `python -m analytics versions check`",
              file=sys.stderr)
    return 2
