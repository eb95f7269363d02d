"""Import to visible: ``python -m bench.import_visible --scale 150``.

A 500-line transactions file is imported into a copy of the cached demo's current version
twice in one run: as before issue 21 (the derive step inside the write: the version appears
when everything kept with it is computed) and as the data page imports now (the version is
current as soon as its data is written; a child process derives the rest). Seconds from the
click until readers see the new version, and until its kept results are there. Appends a
section to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench.load import _copy_current
from bench.results import replace_section

HERE = Path(__file__).resolve().parent


def _plan(wh: object, prefix: str, day: object) -> object:
    from analytics.ops import ingest

    csv = pd.DataFrame({"客户": [f"{prefix}{i % 50:03d}" for i in range(500)],
                        "日期": str(day), "金额": 100_000.0, "品名": "rebar",
                        "吨位": 30.0}).to_csv(index=False).encode("utf-8-sig")
    raw = ingest.read_file(csv, f"{prefix}.csv")
    return ingest.plan_import(raw, "transactions", ingest.suggest_mapping(
        list(raw.frame.columns), "transactions"), data=csv, existing=wh.tables())  # type: ignore[attr-defined]


def run(scale: float) -> str:
    from analytics.domain import overview
    from analytics.ops import ingest
    from analytics.store.warehouse import Warehouse

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "warehouse"
        _copy_current(HERE / "cache" / f"scale-{scale:g}", folder)
        wh = Warehouse(folder)
        rows = wh.row_counts()["orders"]
        span = overview.data_range(wh.tables())
        assert span is not None
        out = {}
        for way, background in (("inside the write (before)", False),
                                ("in the background (the data page now)", True)):
            plan = _plan(wh, "BEFORE" if not background else "NOW", span[1])
            t = time.perf_counter()
            ingest.apply_import(wh, plan, background=background)  # type: ignore[arg-type]
            visible = time.perf_counter() - t
            while wh.derive_state() != "ready":
                time.sleep(0.25)
            out[way] = (visible, time.perf_counter() - t)
    before, now = out.values()
    return "\n".join([
        "", f"## Import to visible: 500 lines into {rows:,} order lines (issue 21)", "",
        f"`python -m bench.import_visible --scale {scale:g}`: a copy of the cached demo's "
        "current version; the same run imports 500 lines the way before and the way now. "
        "Seconds from the click.", "",
        "| way | until readers see it | until its kept results are there |", "|---|---|---|",
        *(f"| {way} | {v:.1f} | {d:.1f} |" for way, (v, d) in out.items()),
        f"| ratio before ÷ now, visible | {before[0] / now[0]:.0f}× | |"]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.import_visible")
    parser.add_argument("--scale", type=float, default=150)
    report = run(parser.parse_args().scale)
    print(report)
    replace_section("Import to visible:", report)


if __name__ == "__main__":
    main()
