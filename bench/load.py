"""Load: ``python -m bench.load --scale 150 --sessions 20``.

Copies the cached demo warehouse at ``scale`` to a temporary folder, then runs ``sessions``
threads, each a Streamlit session (AppTest) opening the Overview and then the pyramid and
credit pages, while another thread imports a transactions file into the same warehouse
halfway through. Checks that no session raised and that every Overview a session saw shows
the revenue of either the version before the import or the one after — never a mix — and
reports page times (median, p95, max). Appends a section to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

from bench.results import replace_section

HERE = Path(__file__).resolve().parent
PAGES = ("pages/1_pyramid.py", "pages/8_credit.py")


def _revenue_label_value(at) -> str:  # type: ignore[no-untyped-def]
    return str(at.metric[0].value)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--scale", type=float, default=150)
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    source = HERE / "cache" / f"scale-{args.scale:g}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "warehouse"
        shutil.copytree(source, folder)
        os.environ["STEELSIGHT_WAREHOUSE"] = f"duckdb://{folder}"
        os.environ["STEELSIGHT_USERS"] = str(Path(tmp) / "users.yaml")  # single-user mode
        report = run(folder, args.sessions, Path(tmp), args.scale)
    print(report)
    replace_section("Load:", report)


def run(folder: Path, sessions: int, tmp: Path, scale: float) -> str:
    from streamlit.testing.v1 import AppTest

    from analytics import ingest, overview
    from analytics.i18n import Labels
    from analytics.period import preset
    from analytics.warehouse import Warehouse

    wh = Warehouse(folder)
    rows = wh.row_counts()["orders"]  # before the import adds its lines
    labels = Labels("zh")
    tables = wh.tables()
    span = overview.data_range(tables)
    assert span is not None
    period = preset("last_12_months", as_of=span[1])
    before = labels.money(overview.kpis(tables, period)["revenue_cny"])
    # the file the import brings: 500 lines for new customers inside the period
    lines = pd.DataFrame({"客户": [f"LOAD{i % 50:03d}" for i in range(500)],
                          "日期": str(period.end), "金额": 100_000.0, "品名": "rebar",
                          "吨位": 30.0})
    csv = tmp / "load.csv"
    lines.to_csv(csv, index=False, encoding="utf-8-sig")

    times: list[tuple[str, float]] = []
    seen: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(sessions + 1)

    landed = threading.Event()

    def session(i: int) -> None:
        try:
            start.wait()
            if i % 2:  # half the visitors arrive once the import has landed
                landed.wait()
            time.sleep(i * 0.2)  # arrivals spread over a few seconds
            at = AppTest.from_file(str(HERE.parent / "app.py"), default_timeout=600)
            t = time.perf_counter()
            at.run()
            elapsed = time.perf_counter() - t
            with lock:
                times.append(("overview", elapsed))
                if at.exception:
                    errors.append(f"session {i}: {at.exception[0].value}")
                else:
                    seen.append(_revenue_label_value(at))
            for page in PAGES:
                t = time.perf_counter()
                at.switch_page(page).run()
                with lock:
                    times.append((page, time.perf_counter() - t))
                    if at.exception:
                        errors.append(f"session {i} {page}: {at.exception[0].value}")
        except Exception as err:  # every failure is a finding of the run
            with lock:
                errors.append(f"session {i}: {type(err).__name__}: {err}")

    def importer() -> None:
        start.wait()
        time.sleep(sessions * 0.1)
        data = csv.read_bytes()
        raw = ingest.read_file(data, csv.name)
        plan = ingest.plan_import(raw, "transactions", ingest.suggest_mapping(
            list(raw.frame.columns), "transactions"), data=data, existing=wh.tables())
        try:
            ingest.apply_import(wh, plan, user="load-test")
        finally:
            landed.set()

    threads = [threading.Thread(target=session, args=(i,)) for i in range(sessions)]
    threads.append(threading.Thread(target=importer))
    wall = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - wall
    after = labels.money(overview.kpis(Warehouse(folder).tables(), period)["revenue_cny"])
    mixed = [v for v in seen if v not in (before, after)]
    durations = sorted(d for _, d in times)
    p95 = durations[max(0, round(0.95 * len(durations)) - 1)] if durations else float("nan")
    return "\n".join([
        "", f"## Load: {sessions} sessions on {rows:,} order lines while an import lands", "",
        f"Each session opens the Overview, then the pyramid and credit pages (AppTest, one "
        f"process, shared caches as on a server); an import of 500 lines starts while the "
        f"first half of the sessions render, the second half arrive after it has landed. "
        f"AppTest is not made for concurrent runs — each run ends by clearing Streamlit's one "
        f"Runtime instance under the others — so errors here may be AppTest's own. "
        f"`python -m bench.load --scale {scale:g} --sessions {sessions}`.", "",
        "| measure | value |", "|---|---|",
        f"| page loads | {len(durations)} |",
        f"| errors | {len(errors)}{' — ' + '; '.join(errors[:3]) if errors else ''} |",
        f"| Overview revenue seen: before / after the import / neither | "
        f"{seen.count(before)} / {seen.count(after)} / {len(mixed)} |",
        f"| page time median / p95 / max s | {statistics.median(durations):.1f} / {p95:.1f} / "
        f"{durations[-1]:.1f} |",
        f"| wall time s | {wall:.0f} |"]) + "\n"


if __name__ == "__main__":
    main()
