"""Spark beside DuckDB: ``python -m bench.spark --scale 150``.

Loads the cached demo warehouse at ``scale`` into a local Spark session (local[2], Parquet
views), then runs the engine-heavy entry points on both engines in this process: first call
and the median of the next ``repeat``. Appends a section to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMES = ("overview KPIs", "monthly chart", "top customers", "pyramid", "ABC customers",
         "ABC products", "ageing", "price board", "composition", "rep scorecard")


def _time(call, tables, period, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    call(tables, period)
    first = time.perf_counter() - t
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        call(tables, period)
        runs.append(time.perf_counter() - t)
    return first, statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.spark")
    parser.add_argument("--scale", type=float, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from analytics import overview
    from analytics.engines import copy_to_spark, local_spark
    from analytics.period import preset
    from analytics.warehouse import Warehouse
    from bench.entries import by_name

    wh = Warehouse(HERE / "cache" / f"scale-{args.scale:g}")
    duck = wh.tables()
    span = overview.data_range(duck)
    assert span is not None
    period = preset("last_12_months", as_of=span[1])
    spark = local_spark(2, app="steelsight-bench")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        sp = copy_to_spark(wh, spark, Path(tmp))
        load_s = time.perf_counter() - t
        rows = [f"| {name} | " + " | ".join(
            f"{v:.2f}" for v in (*_time(by_name(name).call, duck, period, args.repeat),
                                 *_time(by_name(name).call, sp, period, args.repeat))) + " |"
                for name in NAMES]
    spark.stop()
    count = wh.row_counts()["orders"]
    report = "\n".join([
        "", f"## Spark local[2] beside DuckDB, {count:,} order lines", "",
        f"The same entry points on both engines in one process (Spark reads Parquet exported "
        f"from the warehouse: {load_s:.0f} s). `python -m bench.spark --scale {args.scale:g}`.",
        "", "| entry point | DuckDB first s | DuckDB warm s | Spark first s | Spark warm s |",
        "|---|---|---|---|---|", *rows]) + "\n"
    print(report)
    results = HERE / "RESULTS.md"
    text = results.read_text() if results.exists() else ""
    marker = "\n## Spark local[2]"
    head, _, tail = text.partition(marker)
    rest = tail.partition("\n## ")[2]
    text = head.rstrip("\n") + "\n" + report + (("\n## " + rest) if rest else "")
    results.write_text(text)


if __name__ == "__main__":
    main()
