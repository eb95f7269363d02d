"""The versioned store: atomic writes, rollback, read-only readers, URL resolution."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analytics.store import warehouse as wh_mod
from analytics.store.warehouse import MissingData, Warehouse, open_warehouse, resolve_url

CUSTOMERS = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["甲钢材", "乙建设"],
                          "type": ["trader", "contractor"]})


def test_empty_warehouse_has_no_version(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    assert not wh.exists()
    assert wh.version == "empty"
    assert wh.tables().present() == []
    with pytest.raises(MissingData):
        wh.connect_raw()


def test_each_write_is_a_new_version_and_keeps_other_tables(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    v1 = wh.replace_tables({"customers": CUSTOMERS}, action="import")
    orders = pd.DataFrame({"order_id": ["O1"], "order_date": ["2025-03-05"],
                           "customer_id": ["C1"], "volume_t": [32.5], "amount_cny": [1e5]})
    v2 = wh.replace_tables({"orders": orders}, action="import")
    assert v1 != v2 == wh.version
    assert wh.row_counts() == {"customers": 2, "orders": 1}
    got = wh.tables().get("orders").to_pandas()
    assert str(got["order_date"].iloc[0])[:10] == "2025-03-05"
    assert got["line_no"].isna().all()  # absent columns are NULL, not invented


def test_a_versions_tables_read_again_are_its_own_on_a_new_connection(tmp_path: Path) -> None:
    """The names and schemas of a version's tables are read once per process (a version file
    never changes): tables opened again on another connection read through that connection,
    and the next version's tables have the next version's columns."""
    import ibis

    wh = Warehouse(tmp_path)
    wh.replace_tables({"customers": CUSTOMERS}, action="import")
    first = wh.current_path()
    for _ in range(2):  # the second time from what was read the first
        con = ibis.duckdb.connect(str(first), read_only=True)
        tables = wh_mod.tables_from(con, version=first)
        assert tables.orders is None
        assert tables.get("customers").count().execute() == 2
        con.disconnect()
    orders = pd.DataFrame({"order_id": ["O1"], "order_date": ["2025-03-05"],
                           "customer_id": ["C1"], "amount_cny": [1e5]})
    wh.replace_tables({"orders": orders}, action="import")
    con = ibis.duckdb.connect(str(wh.current_path()), read_only=True)
    tables = wh_mod.tables_from(con, version=wh.current_path())
    assert tables.get("orders").amount_cny.sum().execute() == 1e5
    con.disconnect()


def test_failed_write_leaves_the_warehouse_exactly_as_it_was(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    wh.replace_tables({"customers": CUSTOMERS}, action="import")
    before_version, before_files = wh.version, sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(RuntimeError), wh.writing(action="import") as con:
        con.execute("DELETE FROM customers")
        raise RuntimeError("interrupted")
    assert wh.version == before_version
    assert sorted(p.name for p in tmp_path.iterdir()) == before_files
    assert wh.row_counts() == {"customers": 2}


def test_bad_values_fail_the_whole_write(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    wh.replace_tables({"customers": CUSTOMERS}, action="import")
    bad = pd.DataFrame({"order_id": ["O1", "O2"], "order_date": ["2025-01-01", "2025-01-02"],
                        "customer_id": ["C1", "C2"], "volume_t": [1.0, "lots"],
                        "amount_cny": [1.0, 2.0]})
    with pytest.raises(duckdb.Error):
        wh.replace_tables({"customers": CUSTOMERS.head(1), "orders": bad}, action="import")
    assert wh.row_counts() == {"customers": 2}  # the customers replacement was rolled back too


def test_rollback_switches_back_and_forth(tmp_path: Path) -> None:
    wh = Warehouse(tmp_path)
    v1 = wh.replace_tables({"customers": CUSTOMERS}, action="import")
    v2 = wh.append_rows({"customers": CUSTOMERS.assign(customer_id=["C3", "C4"])},
                        action="import")
    assert wh.row_counts()["customers"] == 4
    wh.rollback(v1)
    assert wh.version == v1 and wh.row_counts()["customers"] == 2
    wh.rollback(v2)
    assert wh.row_counts()["customers"] == 4
    assert [v.version for v in wh.versions()] == [v2, v1]
    assert [v.current for v in wh.versions()] == [True, False]
    with pytest.raises(ValueError):
        wh.rollback("v999999")


def test_old_versions_are_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wh_mod, "KEEP_VERSIONS", 3)
    wh = Warehouse(tmp_path)
    for _ in range(5):
        wh.replace_tables({"customers": CUSTOMERS}, action="import")
    wh._prune(keep=3)
    assert [v.version for v in wh.versions()] == ["v000005", "v000004", "v000003"]


def test_another_process_can_write_while_this_one_reads(tmp_path: Path) -> None:
    """DuckDB locks a file opened read-write against every other process, so readers hold
    read-only connections and a writer works on a copy (docs/architecture.md)."""
    wh = Warehouse(tmp_path)
    wh.replace_tables({"customers": CUSTOMERS}, action="import")
    reader = wh.connect_raw()
    script = ("import pandas as pd; from analytics.store.warehouse import Warehouse; "
              f"w = Warehouse({str(tmp_path)!r}); "
              "w.append_rows({'customers': pd.DataFrame({'customer_id': ['C9']})}, "
              "action='import')")
    subprocess.run([sys.executable, "-c", script], check=True, cwd=wh_mod.ROOT, timeout=60)
    assert reader.execute("select count(*) from customers").fetchone() == (2,)  # its snapshot
    assert wh.row_counts()["customers"] == 3  # the next reader sees the new version
    reader.close()


def test_url_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STEELSIGHT_WAREHOUSE", raising=False)
    monkeypatch.setattr(wh_mod, "ROOT", tmp_path)
    assert resolve_url() == f"duckdb://{wh_mod.DEFAULT_DIR}"
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text('[warehouse]\nurl = "duckdb:///srv/steel"\n')
    assert resolve_url() == "duckdb:///srv/steel"
    monkeypatch.setenv("STEELSIGHT_WAREHOUSE", "duckdb://rel/wh")
    assert resolve_url() == "duckdb://rel/wh"
    assert open_warehouse().root == tmp_path / "rel" / "wh"
    assert open_warehouse("duckdb:///srv/steel").root == Path("/srv/steel")
    with pytest.raises(ValueError, match="unsupported"):
        open_warehouse("bigquery://project")
