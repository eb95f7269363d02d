"""Every entry point by access level: ``python -m bench.entry_levels --scale 150``.

Each level in a fresh process: the executive (the whole book), the executive with a province
filter, that province's manager and the busiest rep, on tables narrowed as the app narrows
them (``access.scoped``, then ``filters.apply``). Every entry the pages call (bench/entries.py)
runs twice in turn: the first call (after the entries before it in the same process: DuckDB's
buffers and the decoded kept results are warm, nothing of this call is) and the second (the
page's "warm" in the other benches: computed again, no Streamlit cache). The churn model's
views are read as the pages read them for a narrowed scope: the whole book's, cut to the
scope's customers (ui/data.churn_scores), never retrained. The target (issue 21): no entry
above 1 s warm at any level. Appends a section to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.results import replace_section

HERE = Path(__file__).resolve().parent
LEVELS = ("executive", "executive + filter", "manager", "rep")
TARGET_S = 1.0


def _busiest(folder: Path) -> tuple[str, str]:
    """The busiest rep and that rep's province (as bench.levels picks them)."""
    import duckdb

    from analytics.store.warehouse import Warehouse

    con = duckdb.connect(str(Warehouse(folder).current_path()), read_only=True)
    try:
        rep, province = con.execute(
            "SELECT sales_rep, province FROM customers WHERE sales_rep IS NOT NULL "
            "GROUP BY ALL ORDER BY count(*) DESC, sales_rep LIMIT 1").fetchone()  # type: ignore[misc]
    finally:
        con.close()
    return str(rep), str(province)


def _child(folder: Path, level: str, rep: str, province: str) -> None:
    from analytics.display import churn_words
    from analytics.display.i18n import Labels
    from analytics.domain import churn, overview, warning
    from analytics.store import access
    from analytics.store import filters as flt
    from analytics.store.period import preset
    from analytics.store.warehouse import MissingData, Tables, Warehouse
    from bench.entries import ENTRIES

    book = Warehouse(folder).tables()
    span = overview.data_range(book)
    assert span is not None
    period = preset("last_12_months", as_of=span[1])
    scope = {"manager": access.Scope(user="m", level="manager", provinces=(province,),
                                     single_user=False),
             "rep": access.Scope(user="r", level="rep", reps=(rep,), single_user=False)
             }.get(level, access.Scope(user="boss", level="executive", single_user=False))
    tables = access.scoped(book, scope)
    if level == "executive + filter":
        tables = flt.apply(tables, flt.Filters(period=period, provinces=(province,)))
    narrowed = level != "executive"
    ids = (tables.customers.customer_id.to_pandas().tolist()
           if narrowed and tables.customers is not None else None)

    def scores(t: Tables, p: Any) -> Any:
        return churn.scores_for(churn.score_view(book, as_of=p.end), ids,
                                sees_profit=scope.sees_profit)

    # the churn model's views as a narrowed page reads them: the book's, cut to the scope
    as_read: dict[str, Callable[[Tables, Any], Any]] = {
        "churn scoring": scores,
        "churn backtest": lambda t, p: churn.backtest_for(
            churn.backtest_view(book), ids, sees_profit=scope.sees_profit),
        "risk list (reasons written out)": lambda t, p: churn_words.risk_table(
            scores(t, p), Labels("zh")),
        "early warning": lambda t, p: warning.early_warning(
            t, as_of=p.end, churn_scores=scores(t, p).customers[
                ["customer_id", "name", "probability", "value_12m"]]),
    } if narrowed else {}
    for entry in ENTRIES:
        call = as_read.get(entry.name, entry.call)
        times = []
        error = ""
        for _ in range(2):
            t = time.perf_counter()
            try:
                call(tables, period)
            except MissingData:  # a column hidden from this level: the page says so instead
                error = "hidden"
            except Exception as err:  # a failing entry is a finding of the run
                error = f"{type(err).__name__}: {str(err)[:80]}"
            times.append(time.perf_counter() - t)
        print(json.dumps({"page": entry.page, "name": entry.name, "first": times[0],
                          "again": times[1], "error": error}, ensure_ascii=False), flush=True)


def run(scale: float) -> str:
    folder = HERE / "cache" / f"scale-{scale:g}"
    from analytics.store import followups
    from analytics.store.warehouse import Warehouse
    from bench.levels import _current_results

    _current_results(Warehouse(folder))
    rep, province = _busiest(folder)
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for level in LEVELS:
        # the demo's follow-ups, kept in its folder (bench.__main__._warehouse): the default
        # store beside the folder is empty, and "did it work" then only read the history
        env = {**os.environ, followups.ENV_PATH: str(folder / followups.FILE_NAME)}
        done = subprocess.run([sys.executable, "-m", "bench.entry_levels", "--child", level,
                               rep, province, "--scale", f"{scale:g}"], cwd=HERE.parent,
                              env=env, capture_output=True, text=True, check=True)
        for line in done.stdout.splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                found.setdefault(row["name"], {"page": row["page"]})[level] = row
        print(level, "done", flush=True)
    lines = [f"## Entry points by access level, demo scale {scale:g} (issue 21)", "",
             f"`python -m bench.entry_levels --scale {scale:g}`: every entry the pages call, "
             f"on tables narrowed as the app narrows them (rep {rep}; manager of {province}; "
             f"the executive filtered to {province}), one process per level, each entry twice: "
             "seconds first / again (see the module's docstring). ⚠ marks an entry above "
             f"{TARGET_S:g} s again, ✗ one that failed; hidden: it needs a column this level "
             "may not see (cost), and the page says so instead.", "",
             "| page | entry | " + " | ".join(LEVELS) + " |", "|---|---|" + "---|" * len(LEVELS)]
    over = []
    for name, by_level in found.items():
        cells = []
        for level in LEVELS:
            r = by_level.get(level)
            if r is None:
                cells.append("—")
                continue
            if r["error"] == "hidden":
                cells.append("hidden")
                continue
            mark = " ✗" if r["error"] else " ⚠" if r["again"] > TARGET_S else ""
            if r["again"] > TARGET_S or r["error"]:
                why = f", {r['error']}" if r["error"] else ""
                over.append(f"{name} ({level}: {r['again']:.2f} s{why})")
            cells.append(f"{r['first']:.2f} / {r['again']:.2f}{mark}")
        lines.append(f"| {by_level['page']} | {name} | " + " | ".join(cells) + " |")
    worst = {level: max(r[level]["again"] for r in found.values()
                        if level in r and r[level]["error"] != "hidden") for level in LEVELS}
    lines += ["", "Slowest entry again, by level: " + ", ".join(
        f"{level} {s:.2f} s" for level, s in worst.items()) + ". Above the target: "
        + ("; ".join(over) if over else "none") + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.entry_levels")
    parser.add_argument("--scale", type=float, default=150)
    parser.add_argument("--child", nargs=3, metavar=("LEVEL", "REP", "PROVINCE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(HERE / "cache" / f"scale-{args.scale:g}", *args.child)
        return
    report = run(args.scale)
    print(report)
    replace_section("Entry points by access level", report)


if __name__ == "__main__":
    main()
