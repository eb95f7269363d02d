"""``make bench``: time what the pages run, side by side with two references.

Builds demo warehouses at the requested scales (default ≈1 M and ≈10 M order lines, cached
under bench/cache/, ignored by git), then times every analytics entry point the pages call,
each in a fresh process (cold, warm median, peak RSS), and the main five against a
hand-written DuckDB query and a pandas-only implementation of the same result (checked equal
first). Also the import path and the churn model. Writes bench/RESULTS.md with ratios, the
machine and the date. Not a test: shared machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from analytics.domain import derive, overview
from analytics.ops import sample
from analytics.store import followups, schema
from analytics.store.period import preset
from analytics.store.warehouse import Warehouse
from bench.entries import ENTRIES
from bench.references import MAIN_FIVE, OURS, REFERENCES, agree
from bench.results import update_results

HERE = Path(__file__).resolve().parent


TARGETS = {"warm": 1.0, "cold": 3.0, "sql_ratio": 1.5, "pandas_ratio": 5.0, "rss_mb": 2048}


def _warehouse(scale: float) -> tuple[Warehouse, float]:
    """The cached demo warehouse at ``scale`` (rebuilt when missing or from an older
    generator that lacked a table the pages now read)."""
    folder = HERE / "cache" / f"scale-{scale:g}"
    wh = Warehouse(folder)
    # the demo's follow-ups beside its warehouse, for the follow-up page's entry
    kept = folder / "followups.sqlite"
    os.environ[followups.ENV_PATH] = str(kept)
    if wh.exists() and set(schema.TABLES) <= set(wh.row_counts()) and kept.exists():
        return wh, float("nan")
    import shutil
    shutil.rmtree(folder, ignore_errors=True)
    wh = Warehouse(folder)
    t = time.perf_counter()
    sample.build(wh, sample.SampleConfig(scale=scale), followups=followups.Store(kept))
    return wh, time.perf_counter() - t


def _stored_write_s(wh: Warehouse) -> float:
    """Seconds to compute the results stored with a version (part of every write), measured
    by writing the current data again as a new version (a cache from before stored results
    gains them this way too)."""
    seconds: list[float] = []

    def timed(con: duckdb.DuckDBPyConnection) -> None:
        t = time.perf_counter()
        derive.write(con)
        seconds.append(time.perf_counter() - t)

    # as the derive step: a block's own derived tables are dropped before the derive runs
    with wh.writing(action="bench", note="stored results", derive=timed):
        pass
    return seconds[0]


def _probe(folder: Path, name: str, repeat: int) -> dict[str, float]:
    """Cold, warm median and peak RSS of one entry in a fresh process."""
    out = subprocess.run([sys.executable, "-m", "bench.probe", str(folder), name, str(repeat)],
                         capture_output=True, text=True, cwd=HERE.parent, timeout=3600,
                         env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    if out.returncode != 0:
        raise RuntimeError(f"{name}: {out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _check_references(wh: Warehouse) -> None:
    """Each reference must compute our result, or its ratio means nothing."""
    tables = wh.tables()
    span = overview.data_range(tables)
    assert span is not None
    period = preset("last_12_months", as_of=span[1])
    for name in MAIN_FIVE:
        ours = OURS[name](tables, period)
        for kind in ("sql", "pandas"):
            agree(name, ours, REFERENCES[f"{kind}:{name}"](wh.root, period))


def run(scales: list[float], repeat: int) -> str:
    lines = ["# Benchmarks", "",
             f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
             f"{os.cpu_count()} cores, {_memory_gb():.0f} GiB, Python "
             f"{platform.python_version()}, DuckDB {duckdb.__version__}. Repeat with "
             "`make bench`.", "",
             "Every entry point a page calls, with the page's default arguments (the last 12 "
             "months, as of the latest order), on a version with the results and summaries "
             "kept at its write (analytics.domain.derive), as the pages read it. **Cold** = the "
             "first call in a new process after opening the warehouse; **warm** = the median "
             f"of the next {repeat} calls; **RSS** = the process's peak resident memory. "
             f"Targets at 10 M lines: warm ≤ {TARGETS['warm']:g} s, cold ≤ "
             f"{TARGETS['cold']:g} s, RSS ≤ {TARGETS['rss_mb'] / 1024:g} GiB; ✗ marks a miss."]
    for scale in scales:
        wh, build_s = _warehouse(scale)
        rows = wh.row_counts()["orders"]
        stored_s = _stored_write_s(wh)   # first: the pages read the version's stored results
        _check_references(wh)
        lines += ["", f"## {rows:,} order lines (demo scale {scale:g}, "
                  f"{wh.row_counts()['customers']:,} customers)", "",
                  f"Demo build: {'cached' if build_s != build_s else f'{build_s:.0f} s'}.", "",
                  "| page | entry point | cold s | warm s | peak RSS MB |", "|---|---|---|---|---|"]
        judged = rows >= 5_000_000  # the targets are for the 10 M book
        for entry in ENTRIES:
            r = _probe(wh.root, entry.name, repeat)
            mark = {k: " ✗" if judged and r[k] > TARGETS[k] else ""
                    for k in ("cold", "warm", "rss_mb")}
            lines.append(f"| {entry.page} | {entry.name} | {r['cold']:.2f}{mark['cold']} | "
                         f"{r['warm']:.2f}{mark['warm']} | {r['rss_mb']:.0f}{mark['rss_mb']} |")
        lines += ["", "Results stored with each version (analytics.store.results): the pages' "
                  "default calls above read them; **computed** is the same call on request (a "
                  "narrowed scope or filter, other arguments), from the raw tables (a narrowed "
                  "scope has no summaries either), as a new process, median of "
                  f"{repeat}. Computing all of them and the summaries is part of every write: "
                  f"{stored_s:.1f} s here.", "",
                  "| entry point | computed cold s | computed warm s | peak RSS MB |",
                  "|---|---|---|---|"]
        for entry in (e for e in ENTRIES if e.stored):
            r = _probe(wh.root, f"computed:{entry.name}", repeat)
            lines.append(f"| {entry.name} | {r['cold']:.2f} | {r['warm']:.2f} | "
                         f"{r['rss_mb']:.0f} |")
        lines += ["", "The main five against two references computing the same result (checked "
                  "equal first): one hand-written DuckDB query (the floor) and pandas alone "
                  "(load the tables, compute); ours computed from the raw tables too, without "
                  "the kept results and summaries. Churn features: all of them, at the period "
                  "end (the pandas reference is bench/churn_reference.py).", "",
                  "| result | ours warm s | SQL warm s | ours / SQL | ours cold s | "
                  "pandas cold s | pandas / ours |", "|---|---|---|---|---|---|---|"]
        for name in MAIN_FIVE:
            ours = _probe(wh.root, f"ours:{name}", repeat)
            sql = _probe(wh.root, f"sql:{name}", repeat)
            pdx = _probe(wh.root, f"pandas:{name}", max(1, repeat // 3))
            r_sql = ours["warm"] / sql["warm"]
            r_pd = pdx["cold"] / ours["cold"]
            miss_sql = " ✗" if judged and r_sql > TARGETS["sql_ratio"] else ""
            miss_pd = " ✗" if judged and r_pd < TARGETS["pandas_ratio"] else ""
            lines.append(f"| {name} | {ours['warm']:.3f} | {sql['warm']:.3f} | {r_sql:.1f}×"
                         f"{miss_sql} | {ours['cold']:.2f} | {pdx['cold']:.2f} | "
                         f"{r_pd:.1f}×{miss_pd} |")
    return "\n".join(lines) + "\n"


def _memory_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3


def import_bench(rows: int) -> list[str]:
    """Import ``rows`` order lines from a GBK-free UTF-8 CSV through the whole path (read,
    map, parse, validate, write a version) against DuckDB's own read_csv into a table."""
    import tempfile

    from analytics.ops import ingest

    folder = HERE / "cache" / "scale-20"
    wh = Warehouse(folder)
    if not wh.exists():
        sample.build(wh, sample.SampleConfig(scale=20))
    csv = HERE / "cache" / f"orders-{rows}.csv"
    if not csv.exists():
        con = wh.connect_raw()
        con.execute(f"COPY (SELECT * FROM orders ORDER BY order_date, order_id, line_no "
                    f"LIMIT {rows}) TO '{csv}' (HEADER, DELIMITER ',')")
        con.close()
    size_mb = csv.stat().st_size / 1024 / 1024
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        data = csv.read_bytes()
        raw = ingest.read_file(data, csv.name, max_mb=1024)
        plan = ingest.plan_import(raw, "orders", ingest.suggest_mapping(
            list(raw.frame.columns), "orders"), data=data, mode="replace")
        again_wh = Warehouse(Path(tmp) / "wh")
        ingest.apply_import(again_wh, plan)
        ours = time.perf_counter() - t
        assert plan.rows_good == rows, plan.summary()
        # the same file checked again against the warehouse that now holds it (issue 20:
        # ≤ 10 s for 500,000 lines): every line found and left out, nothing to write
        t = time.perf_counter()
        raw = ingest.read_file(data, csv.name, max_mb=1024)
        recheck = ingest.plan_import(raw, "orders", ingest.suggest_mapping(
            list(raw.frame.columns), "orders"), data=data, mode="append",
            existing=again_wh.tables())
        recheck_s = time.perf_counter() - t
        assert recheck.left_out == {"already_imported": rows}, recheck.left_out
        t = time.perf_counter()
        con = duckdb.connect(str(Path(tmp) / "plain.duckdb"))
        con.execute(f"CREATE TABLE orders AS SELECT * FROM read_csv('{csv}')")
        loaded = con.execute("SELECT count(*) FROM orders").fetchone()
        con.close()
        plain = time.perf_counter() - t
        assert loaded == (rows,)
    return ["", f"## Import of {rows:,} order lines ({size_mb:.0f} MB CSV)", "",
            "| path | seconds |", "|---|---|",
            f"| ours: read, detect, map, parse, validate, write a version | {ours:.1f} |",
            f"| plain `duckdb.read_csv` into a table (no checks) | {plain:.1f} |",
            f"| ratio | {ours / plain:.1f}× |",
            f"| the same file checked again against the warehouse holding it (all "
            f"{rows:,} lines found, left out) | {recheck_s:.1f} |"]


def churn_bench() -> list[str]:
    """Training plus the time-based backtest on the demo company (issue: under 30 s)."""
    from analytics.domain import churn

    wh = Warehouse(HERE / "cache" / "scale-1")
    if not wh.exists():
        sample.build(wh, sample.SampleConfig(scale=1))
    rows = ["", "## Churn model on the demo company (scale 1)", "",
            "| step | seconds |", "|---|---|"]
    tables = wh.tables()
    t = time.perf_counter()
    churn.load_history(tables)
    rows.append(f"| load purchase history (status rules) | {time.perf_counter() - t:.1f} |")
    for kind in churn.MODELS:
        t = time.perf_counter()
        result = churn.backtest(tables, kind=kind)
        backtest_s = time.perf_counter() - t
        t = time.perf_counter()
        churn.score(tables, kind=kind)
        score_s = time.perf_counter() - t
        auc = result.pooled.set_index("scorer")["roc_auc"]
        rows.append(f"| {kind}: backtest ({result.per_cutoff['cutoff'].nunique()} test cutoffs) | "
                    f"{backtest_s:.1f} |")
        rows.append(f"| {kind}: train on all cutoffs and score | {score_s:.1f} |")
        rows.append(f"| {kind}: ROC AUC model / BG/NBD / recency / cycle rule | "
                    f"{auc['model']:.3f} / {auc['bgnbd']:.3f} / {auc['recency']:.3f} / "
                    f"{auc['cycle_rule']:.3f} |")
    return rows


def churn_logs_bench() -> list[str]:
    """Training and backtest on the public CDNOW log (23,570 customers, 18 months) imported
    through the importer, and on three copies of it under new ids (70,710 customers): the
    settings chosen from the data, BG/NBD beside the model (issue #19: ≤ 30 s at 25 k)."""
    import importlib.util

    from analytics.domain import churn
    from analytics.ops import ingest

    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        return ["", "## Churn on a public log", "", "(lifetimes not installed: no CDNOW log)"]
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "CDNOW_master.txt"
    log = pd.read_csv(path, sep=r"\s+", header=None, skiprows=1, dtype={0: str, 1: str},
                      names=["customer", "date", "cds", "amount"])
    rows = ["", "## Churn on a public log (CDNOW, through the importer)", "",
            "| customers | step | seconds | ROC AUC model / BG/NBD / recency | settings |",
            "|---|---|---|---|---|"]
    for copies in (1, 3):
        frame = pd.concat([log.assign(customer=log["customer"] + f"-{k}")
                           for k in range(copies)])
        data = frame[["customer", "date", "amount"]].to_csv(index=False).encode()
        raw = ingest.read_file(data, "cdnow.csv")
        plan = ingest.plan_import(raw, "transactions", ingest.suggest_mapping(
            list(raw.frame.columns), "transactions"), data=data, mode="replace")
        wh = Warehouse(HERE / "cache" / f"cdnow-{copies}")
        ingest.apply_import(wh, plan, skip_bad=True)
        tables = wh.tables()
        n = frame["customer"].nunique()
        t = time.perf_counter()
        result = churn.backtest(tables)
        backtest_s = time.perf_counter() - t
        t = time.perf_counter()
        churn.score(tables)
        score_s = time.perf_counter() - t
        auc = result.pooled.set_index("scorer")["roc_auc"]
        s = result.settings
        said = f"{s.horizon} d, {s.spacing}, warm-up {s.warmup} d, {s.tests} tests" if s else ""
        rows.append(f"| {n:,} | backtest | {backtest_s:.1f} | {auc['model']:.3f} / "
                    f"{auc['bgnbd']:.3f} / {auc['recency']:.3f} | {said} |")
        rows.append(f"| {n:,} | train on all cutoffs and score | {score_s:.1f} | | |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--scales", default="15,150",
                        help="comma-separated demo scales (15 ≈ 1 M lines, 150 ≈ 10 M)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", help="just these scales' entry tables (skip import, churn)",
                        action="store_true")
    parser.add_argument("--import-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    report = run([float(s) for s in args.scales.split(",")], args.repeat)
    if args.import_rows and not args.only:
        report += "\n".join(import_bench(args.import_rows)) + "\n"
    if not args.only:
        report += "\n".join(churn_bench()) + "\n"
        report += "\n".join(churn_logs_bench()) + "\n"
    update_results(report)
    print(report)


if __name__ == "__main__":
    main()
