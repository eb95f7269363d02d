"""Spark beside DuckDB: ``python -m bench.spark --scale 150``.

Loads the cached demo warehouse at ``scale`` into a local Spark session (local[2], Parquet
views), then runs the engine-heavy entry points on both engines in this process: first call
and the median of the next ``repeat``. Appends a section to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.results import first_and_median, replace_section

HERE = Path(__file__).resolve().parent
NAMES = ("overview KPIs", "monthly chart", "top customers", "pyramid", "ABC customers",
         "ABC products", "ageing", "churn features", "price board", "composition",
         "rep scorecard")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.spark")
    parser.add_argument("--scale", type=float, default=150)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from analytics.domain import overview
    from analytics.store.engines import copy_to_spark, local_spark
    from analytics.store.period import preset
    from analytics.store.warehouse import Warehouse
    from bench.entries import by_name

    wh = Warehouse(HERE / "cache" / f"scale-{args.scale:g}")
    # computed from the raw tables on both sides: the results and summaries kept with a
    # DuckDB version are not copied to Spark, and reading them would not compare the engines
    duck = wh.tables().with_()
    span = overview.data_range(duck)
    assert span is not None
    period = preset("last_12_months", as_of=span[1])
    spark = local_spark(2, app="steelsight-bench")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        sp = copy_to_spark(wh, spark, Path(tmp))
        load_s = time.perf_counter() - t
        rows = []
        for name in NAMES:
            call = by_name(name).call
            times = (*first_and_median(lambda t=duck, c=call: c(t, period), args.repeat),
                     *first_and_median(lambda t=sp, c=call: c(t, period), args.repeat))
            rows.append(f"| {name} | " + " | ".join(f"{v:.2f}" for v in times) + " |")
    spark.stop()
    count = wh.row_counts()["orders"]
    report = "\n".join([
        "", f"## Spark local[2] beside DuckDB, {count:,} order lines", "",
        f"The same entry points on both engines in one process, both computing from the raw "
        f"tables (Spark reads Parquet exported from the warehouse: {load_s:.0f} s). "
        f"`python -m bench.spark --scale {args.scale:g}`.",
        "", "| entry point | DuckDB first s | DuckDB warm s | Spark first s | Spark warm s |",
        "|---|---|---|---|---|", *rows]) + "\n"
    print(report)
    replace_section("Spark local[2]", report)

if __name__ == "__main__":
    main()
