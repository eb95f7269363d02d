"""The benchmark times every analytics function a page caches (bench/entries.py), so the
page-level speed targets are measured on what the pages really call."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ALIASES = {"sat": "satisfaction", "co": "complaints"}
# choices for the page's widgets (tiny queries), the data page's table listing/export (one
# table, as the user asks) and the monthly report, built when its button is pressed
NOT_TIMED = {"market.markets", "market.default_market", "customers.available_metrics",
             "warehouse.table_summary", "warehouse.export_table", "report.render_all",
             "overview.kpi_gaps"}  # the last: which tables and columns exist, no query


def test_every_cached_page_call_is_benchmarked() -> None:
    called = set()
    for page in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        for module, fn in re.findall(r"ctx\.cached(?:_unfiltered)?\(\s*(\w+)\.(\w+)",
                                     page.read_text(encoding="utf-8")):
            called.add(f"{ALIASES.get(module, module)}.{fn}")
    assert len(called) > 40
    entries = (ROOT / "bench" / "entries.py").read_text(encoding="utf-8")
    missing = sorted(c for c in called - NOT_TIMED if f"{c}(" not in entries)
    assert not missing, missing


def _has_rows(result: object) -> bool:
    if dataclasses.is_dataclass(result):
        return any(_has_rows(getattr(result, f.name)) for f in dataclasses.fields(result)
                   if isinstance(getattr(result, f.name), pd.DataFrame))
    return len(result) > 0  # type: ignore[arg-type]


def test_every_entry_and_reference_runs_on_the_demo(demo_warehouse, demo_dir) -> None:  # type: ignore[no-untyped-def]
    """`make bench` calls these at 1 M and 10 M lines; on the demo they must run, and each
    main-five reference must compute our result, or the bench's ratios mean nothing."""
    from analytics.domain import overview
    from analytics.store.period import preset
    from bench.entries import ENTRIES
    from bench.references import MAIN_FIVE, OURS, REFERENCES, agree

    tables = demo_warehouse.tables()
    span = overview.data_range(tables)
    assert span is not None
    period = preset("last_12_months", as_of=span[1])
    for entry in ENTRIES:  # every one has rows on the demo: an empty result is a drift too
        assert _has_rows(entry.call(tables, period)), entry.name
    for name in MAIN_FIVE:
        ours = OURS[name](tables, period)
        for kind in ("sql", "pandas"):
            agree(name, ours, REFERENCES[f"{kind}:{name}"](demo_dir, period))
