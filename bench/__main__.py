"""``make bench``: time what the pages run, side by side with a hand-written SQL baseline.

Builds demo warehouses at the requested scales (cached under bench/cache/, ignored by git),
then for each times: the demo build, the Overview KPIs (our Ibis code) against one hand-written
DuckDB query computing the same numbers (the floor), warm medians over repeated runs. Writes
bench/RESULTS.md with ratios, the machine and the date. Not a test: shared machines are noisy.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from analytics import overview, sample
from analytics.period import preset
from analytics.warehouse import Warehouse

HERE = Path(__file__).resolve().parent


def _median(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up: connection, catalog, OS cache
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _sql_kpis(con: duckdb.DuckDBPyConnection, start: str, end: str, prev_start: str,
              prev_end: str) -> tuple[object, ...]:
    """The nine Overview KPIs in hand-written SQL: the same definitions as analytics.overview."""
    return con.execute(f"""
        with p as (select * from orders where order_date between '{start}' and '{end}'),
        totals as (select sum(amount_cny) rev, sum(volume_t) t, sum(cost_cny) cogs,
                          count(distinct customer_id) active from p),
        firsts as (select customer_id, min(order_date) f from orders group by 1),
        new as (select count(*) n from firsts where f between '{start}' and '{end}'),
        prev as (select distinct customer_id from orders
                 where order_date between '{prev_start}' and '{prev_end}'),
        lost as (select count(*) n from prev anti join (select distinct customer_id from p)
                 using (customer_id)),
        paid as (select invoice_id, sum(paid_cny) s from payments where paid_date <= '{end}'
                 group by 1),
        overdue as (select sum(amount_cny - coalesce(s, 0)) v from invoices
                    left join paid using (invoice_id)
                    where invoice_date <= '{end}' and due_date < '{end}'
                      and amount_cny - coalesce(s, 0) > 0.01),
        stock as (select sum(on_hand_t) t from inventory where date = (
                    select max(date) from inventory where date <= '{end}')),
        sold90 as (select sum(volume_t) t from orders
                   where order_date between date '{end}' - interval 89 day and '{end}')
        select rev, totals.t, rev - cogs, (rev - cogs) / rev * 100, active, new.n, lost.n,
               overdue.v,
               stock.t / (sold90.t / 90)
        from totals, new, lost, overdue, stock, sold90""").fetchone() or ()


def run(scales: list[float], repeat: int) -> str:
    lines = ["# Benchmarks", "",
             f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()}, "
             f"DuckDB {duckdb.__version__}. Repeat with `make bench`.", "",
             "| scale | order lines | demo build s | overview KPIs (ours) s | "
             "hand-written SQL s | ours / SQL |",
             "|---|---|---|---|---|---|"]
    for scale in scales:
        folder = HERE / "cache" / f"scale-{scale:g}"
        wh = Warehouse(folder)
        build_s = float("nan")
        if not wh.exists():
            t = time.perf_counter()
            sample.build(wh, sample.SampleConfig(scale=scale))
            build_s = time.perf_counter() - t
        raw = wh.connect_raw()
        tables = wh.tables(raw)
        _, last = overview.data_range(tables) or (None, None)
        assert last is not None
        period = preset("last_12_months", as_of=last)
        ours = _median(lambda t=tables, p=period: overview.kpis(t, p), repeat)
        prev = period.previous()
        args = (str(period.start), str(period.end), str(prev.start), str(prev.end))
        ours_values = overview.kpis(tables, period)
        floor_values = _sql_kpis(raw, *args)
        for name, value in zip(overview.KPIS, floor_values, strict=True):
            # the floor must compute the same numbers, or the ratio means nothing
            tolerance = 1e-6 * max(1.0, abs(float(value)))
            assert abs(ours_values[name] - float(value)) <= tolerance, (name, value)
        floor = _median(lambda r=raw, a=args: _sql_kpis(r, *a), repeat)
        rows = wh.row_counts()["orders"]
        lines.append(f"| {scale:g} | {rows:,} | {build_s:.1f} | {ours:.3f} | {floor:.3f} | "
                     f"{ours / floor:.1f}× |")
        raw.close()
    lines += ["", "Both sides compute the same nine Overview KPIs (checked equal before timing); "
              "ours runs them as several Ibis queries, the floor as one SQL statement. Warm "
              "medians. A build time of nan means the warehouse came from the cache."]
    return "\n".join(lines) + "\n"


def import_bench(rows: int) -> list[str]:
    """Import ``rows`` order lines from a GBK-free UTF-8 CSV through the whole path (read,
    map, parse, validate, write a version) against DuckDB's own read_csv into a table."""
    import tempfile

    from analytics import ingest

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
        ingest.apply_import(Warehouse(Path(tmp) / "wh"), plan)
        ours = time.perf_counter() - t
        assert plan.rows_good == rows, plan.summary()
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
            f"| ratio | {ours / plain:.1f}× |"]


def churn_bench() -> list[str]:
    """Training plus the time-based backtest on the demo company (issue: under 30 s)."""
    from analytics import churn

    wh = Warehouse(HERE / "cache" / "scale-1")
    if not wh.exists():
        sample.build(wh, sample.SampleConfig(scale=1))
    rows = ["", "## Churn model on the demo company (scale 1)", "",
            "| step | seconds |", "|---|---|"]
    t = time.perf_counter()
    history = churn.load_history(wh.tables())
    rows.append(f"| load purchase history | {time.perf_counter() - t:.1f} |")
    for kind in churn.MODELS:
        t = time.perf_counter()
        result = churn.backtest(history, kind=kind)
        backtest_s = time.perf_counter() - t
        t = time.perf_counter()
        churn.score(history, kind=kind)
        score_s = time.perf_counter() - t
        auc = result.pooled.set_index("scorer")["roc_auc"]
        rows.append(f"| {kind}: backtest ({len(result.per_cutoff) // 3} test cutoffs) | "
                    f"{backtest_s:.1f} |")
        rows.append(f"| {kind}: train on all cutoffs and score | {score_s:.1f} |")
        rows.append(f"| {kind}: ROC AUC model / recency / cycle rule | "
                    f"{auc['model']:.3f} / {auc['recency']:.3f} / {auc['cycle_rule']:.3f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--scales", default="1,10", help="comma-separated demo scales")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--import-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    report = run([float(s) for s in args.scales.split(",")], args.repeat)
    if args.import_rows:
        report += "\n".join(import_bench(args.import_rows)) + "\n"
    report += "\n".join(churn_bench()) + "\n"
    (HERE / "RESULTS.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
