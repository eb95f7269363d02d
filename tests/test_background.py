"""An import is visible before what is derived from it (issue 21): the version becomes current
as soon as its data is written; the summaries and kept results are derived afterwards, in a
child process for the app, into a file of their own that readers attach only when it is whole
and made from that very version. Meanwhile the pages compute from the version's own data."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from analytics.domain import derive, overview
from analytics.ops import ingest, sample
from analytics.ops.cli import main as cli
from analytics.store import derived
from analytics.store.period import preset
from analytics.store.warehouse import (
    STORED_TABLE,
    SUMMARY_TABLES,
    Tables,
    Warehouse,
    derived_path,
    open_warehouse,
)

WAIT_S = 180  # a child process on a loaded 2-core CI machine: imports, derives, exits


@pytest.fixture
def small(tmp_path: Path) -> Warehouse:
    wh = Warehouse(tmp_path / "wh")
    sample.build(wh, sample.SampleConfig(scale=0.1))
    return wh


def _lines(wh: Warehouse, prefix: str) -> tuple[ingest.ImportPlan, date]:
    """500 order lines (¥100,000 each) for 50 new customers on the book's last day."""
    span = overview.data_range(wh.tables())
    assert span is not None
    csv = pd.DataFrame({"客户": [f"{prefix}{i % 50:03d}" for i in range(500)],
                        "日期": str(span[1]), "金额": 100_000.0, "品名": "rebar",
                        "吨位": 30.0}).to_csv(index=False).encode("utf-8-sig")
    raw = ingest.read_file(csv, f"{prefix}.csv")
    plan = ingest.plan_import(raw, "transactions", ingest.suggest_mapping(
        list(raw.frame.columns), "transactions"), data=csv, existing=wh.tables())
    assert plan.rows_good == 500, plan.summary()
    return plan, span[1]


@contextlib.contextmanager
def _holding(wh: Warehouse, version: str) -> Iterator[None]:
    """Hold a version's derive lock as a derive running elsewhere would, until the child an
    import starts has seen it and given up; then finish as that derive would."""
    log = wh.root / "derive.log"
    gave_up = log.read_text().count("another process") if log.exists() else 0
    with open(wh.root / f".{version}.derive.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
            deadline = time.monotonic() + WAIT_S
            while not log.exists() or log.read_text().count("another process") == gave_up:
                assert time.monotonic() < deadline, _log(wh)
                time.sleep(0.2)
        finally:
            os.utime(fh.fileno(), (0, 0))
            fcntl.flock(fh, fcntl.LOCK_UN)


def _wait_ready(wh: Warehouse) -> None:
    deadline = time.monotonic() + WAIT_S
    while wh.derive_state() != "ready":
        assert time.monotonic() < deadline, (wh.derive_state(), _log(wh))
        time.sleep(0.5)


def _log(wh: Warehouse) -> str:
    log = wh.root / "derive.log"
    return log.read_text(errors="replace")[-2000:] if log.exists() else "no log"


def _revenue(tables: Tables, end: date) -> float:
    """The Overview's revenue (a kept result when the tables read their version's)."""
    comparison = overview.kpi_comparison(tables, preset("last_12_months", as_of=end))
    return float(comparison.set_index("kpi").loc["revenue_cny", "value"])


def test_an_import_is_visible_before_its_kept_results_and_reads_its_own_data(
        small: Warehouse) -> None:
    plan, end = _lines(small, "VISIBLE")
    before = _revenue(small.tables(), end)
    # another process deriving v000002 holds its lock: the child started by the import
    # gives up, so what the readers see until the derive is done is checked, not raced
    with _holding(small, "v000002"):
        version = ingest.apply_import(small, plan, background=True)
        assert version == small.version == "v000002"
        assert small.derive_state() == "running"
        tables = small.tables()
        assert not tables.source.derived  # nothing derived yet: nothing of v000001 either
        assert derived.table(tables, STORED_TABLE) is None
        # the new lines count at once, computed from the version's own data
        assert _revenue(tables, end) == pytest.approx(before + 500 * 100_000.0)
    assert cli(["--url", f"duckdb://{small.root}", "derive"]) == 0
    assert small.derive_state() == "ready"
    tables = small.tables()
    assert tables.source.derived == {STORED_TABLE, *SUMMARY_TABLES}
    assert derived.table(tables, STORED_TABLE) is not None
    # the kept figure is read, and it is the new version's
    kept = _revenue(tables, end)
    assert kept == pytest.approx(before + 500 * 100_000.0)
    # with_: no source, computed from the order lines; the kept figure adds the purchase
    # days' sums, the same amounts in another order (equal to the last bits, not bit for bit)
    assert kept == pytest.approx(_revenue(tables.with_(), end), rel=1e-12)


def test_the_app_import_derives_in_a_child_process_that_finishes_on_its_own(
        small: Warehouse) -> None:
    plan, end = _lines(small, "CHILD")
    version = ingest.apply_import(small, plan, background=True)
    assert small.derive_state() in ("running", "ready")
    _wait_ready(small)
    assert small.version == version and derived_path(small.current_path()).exists()  # type: ignore[arg-type]
    tables = small.tables()
    assert derived.table(tables, STORED_TABLE) is not None
    assert _revenue(tables, end) == pytest.approx(_revenue(tables.with_(), end), rel=1e-12)


def test_a_derived_file_of_another_version_is_never_read(small: Warehouse) -> None:
    first = small.current_path()
    assert first is not None and small.derive_state() == "ready"
    plan, end = _lines(small, "OTHER")
    with _holding(small, "v000002"):
        ingest.apply_import(small, plan, background=True)
    second = small.current_path()
    assert second is not None and second != first
    # v000001's results put where v000002's belong (a restored backup, a wiped folder)
    shutil.copyfile(derived_path(first), derived_path(second))
    tables = open_warehouse(f"duckdb://{small.root}").tables()
    assert not tables.source.derived
    assert small.derive_state() == "missing"
    computed = _revenue(tables, end)
    assert computed == pytest.approx(_revenue(Warehouse(small.root).tables().with_(), end))
    # deriving again replaces the stranger with the version's own
    assert small.derive_for(second, derive.write)
    assert small.derive_state() == "ready"
    assert _revenue(Warehouse(small.root).tables(), end) == pytest.approx(computed)


def test_a_derive_that_fails_leaves_no_file_and_the_pages_compute(small: Warehouse) -> None:
    plan, end = _lines(small, "FAILS")
    with _holding(small, "v000002"):
        ingest.apply_import(small, plan, background=True)
    path = small.current_path()
    assert path is not None

    def broken(con: object) -> None:
        derive.write(con)  # type: ignore[arg-type]
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        small.derive_for(path, broken)
    assert not derived_path(path).exists()
    assert not [p.name for p in small.root.iterdir() if p.name.endswith(".tmp")]
    assert small.derive_state() == "missing"
    tables = small.tables()
    assert not tables.source.derived
    assert _revenue(tables, end) > 0


def test_old_versions_take_their_derived_files_with_them(small: Warehouse) -> None:
    for i in range(2):
        plan, _ = _lines(small, f"PRUNE{i}")
        ingest.apply_import(small, plan)  # derived before it returns (the CLI's way)
    small._prune(keep=2)  # what every write does with the KEEP_VERSIONS of its history
    files = {p.name for p in small.root.iterdir()}
    assert sorted(n for n in files if n.endswith(".duckdb")) == [
        "v000002.derived.duckdb", "v000002.duckdb", "v000003.derived.duckdb", "v000003.duckdb"]
    assert ".v000001.derive.lock" not in files


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_data_page_says_what_is_not_derived_and_computes_it_on_request(
        small: Warehouse, lang: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from analytics.display.i18n import Labels

    plan, _ = _lines(small, "PAGE")
    with _holding(small, "v000002"):  # the import's own derive gives up: nothing derived
        ingest.apply_import(small, plan, background=True)
    monkeypatch.setenv("STEELSIGHT_WAREHOUSE", f"duckdb://{small.root}")
    labels = Labels(lang)
    at = AppTest.from_file(str(Path(__file__).parents[1] / "app.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.run().switch_page("pages/9_data.py").run()
    assert not at.exception
    missing = labels("derive_missing", version="v000002")
    assert [w.value for w in at.warning] == [missing]
    at.button(key="derive_now").click().run()
    assert not at.exception
    assert labels("derive_started") in [c.value for c in at.caption]
    _wait_ready(small)
    at.run()
    assert not at.warning and not [i for i in at.info if "v000002" in i.value]
