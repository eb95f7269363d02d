"""The command line: build, list, export (with a BOM so Excel shows Chinese)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analytics.ops.cli import main
from analytics.store import followups
from analytics.store.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "analytics", *args], cwd=ROOT,
                          capture_output=True, timeout=300)


def test_demo_builds_a_new_warehouse_and_if_missing_leaves_it(tmp_path: Path) -> None:
    out = tmp_path / "wh"
    first = _cli("demo", "--scale", "0.1", "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert b"order lines" in first.stdout
    # its follow-ups beside it, not in the store the app is configured to read
    assert len(followups.Store(tmp_path / followups.FILE_NAME).frame()) > 0
    wh = Warehouse(out)
    assert wh.version == "v000001" and wh.row_counts()["orders"] > 1000
    again = _cli("--url", f"duckdb://{out}", "demo", "--if-missing")
    assert again.returncode == 0 and wh.version == "v000001"


def test_tables_lists_row_counts(demo_warehouse: Warehouse, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["tables"]) == 0
    out = capsys.readouterr().out
    assert demo_warehouse.version in out
    orders_line = next(line for line in out.splitlines() if line.strip().startswith("orders"))
    assert f"{demo_warehouse.row_counts()['orders']:,}" in orders_line


def test_export_csv_has_a_bom_and_chinese(demo_warehouse: Warehouse, tmp_path: Path) -> None:
    target = tmp_path / "customers.csv"
    assert main(["export", "customers", "-o", str(target)]) == 0
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", dtype=str)
    assert len(frame) == demo_warehouse.row_counts()["customers"]
    assert frame["name"].str.contains("有限公司").any()
    assert frame["first_order_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()  # no 00:00:00
    assert frame["customer_id"].str.startswith("C0").all()  # ids stay text


def test_export_xlsx_keeps_numbers_as_numbers(tmp_path: Path) -> None:
    target = tmp_path / "orders.xlsx"
    assert main(["export", "products", "--format", "xlsx", "-o", str(target)]) == 0
    ws = openpyxl.load_workbook(target).active
    assert ws.freeze_panes == "A2" and ws["A1"].font.bold
    assert [c.value for c in ws[1]][:2] == ["product_id", "category"]


def test_export_unknown_table_is_a_clear_error(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["export", "ordres"]) == 2
    assert "unknown table 'ordres'" in capsys.readouterr().err


def test_committed_templates_import_cleanly() -> None:
    """Every committed template (CSV and XLSX) maps each column by itself and has no problems:
    the bilingual header 客户编号 (customer_id) names its field."""
    from analytics.ops import ingest

    for target in ingest.TARGETS:
        for suffix in ("csv", "xlsx"):
            path = ROOT / "data" / "templates" / f"{target}.{suffix}"
            raw = ingest.read_file(path.read_bytes(), path.name)
            mapping = ingest.suggest_mapping(list(raw.frame.columns), target)
            assert all(mapping.values()), (path.name, mapping)
            plan = ingest.plan_import(raw, target, mapping, data=path.read_bytes())
            assert not plan.blocking and plan.rows_good >= 1 and plan.problems.empty, path.name


def test_pyramid_summary_csv(capsysbinary) -> None:  # type: ignore[no-untyped-def]
    assert main(["pyramid", "--summary"]) == 0
    frame = pd.read_csv(io.BytesIO(capsysbinary.readouterr().out), encoding="utf-8-sig")
    assert list(frame["tier"]) == ["core", "important", "medium", "small"]
    assert frame["value_share"].sum() == pytest.approx(1.0)


def test_abc_products_json(capsysbinary) -> None:  # type: ignore[no-untyped-def]
    assert main(["abc", "--products", "category", "--format", "json", "--metric",
                 "volume_t"]) == 0
    rows = json.loads(capsysbinary.readouterr().out)
    assert {r["abc_class"] for r in rows} <= {"A", "B", "C"}
    assert rows[0]["rank"] == 1 and rows[0]["xyz_class"] in {"X", "Y", "Z"}


def test_grades_with_an_explicit_period(tmp_path: Path) -> None:
    target = tmp_path / "grades.xlsx"
    assert main(["grades", "--start", "2024-01-01", "--end", "2024-12-31", "-o",
                 str(target)]) == 0
    frame = pd.read_excel(target)
    assert set(frame["grade"].dropna()) <= {"A", "B", "C", "D"}
    assert {"lost", "potential"} & set(frame["class"])


def test_import_cli_reports_refuses_then_skips(tmp_path: Path) -> None:
    csv = tmp_path / "sales.csv"
    csv.write_bytes("销售明细\n客户名称,单据日期,含税金额\n佛山华盛,2025/1/5,\"1,000\"\n"
                    "顺德,2025-01-06,abc\n".encode("gbk"))
    url = f"duckdb://{tmp_path / 'wh'}"
    refused = _cli("--url", url, "import", str(csv), "--table", "transactions",
                   "--report", str(tmp_path / "report.csv"))
    assert refused.returncode == 1 and b"--skip-bad" in refused.stderr
    assert not (tmp_path / "wh" / "CURRENT").exists()
    report = pd.read_csv(tmp_path / "report.csv", encoding="utf-8-sig")
    assert report[["line", "problem"]].values.tolist() == [[4, "bad_number"]]
    done = _cli("--url", url, "import", str(csv), "--table", "transactions", "--skip-bad")
    assert done.returncode == 0, done.stderr
    assert Warehouse(tmp_path / "wh").row_counts() == {"customers": 1, "orders": 1}


def test_import_cli_map_option(tmp_path: Path) -> None:
    csv = tmp_path / "odd.csv"
    csv.write_text("buyer,when,value\nACME,2025-01-05,10\n", encoding="utf-8")
    url = f"duckdb://{tmp_path / 'wh'}"
    blocked = _cli("--url", url, "import", str(csv), "--table", "transactions")
    assert blocked.returncode == 2 and b"customer" in blocked.stderr
    ok = _cli("--url", url, "import", str(csv), "--table", "transactions", "--map",
              "buyer=customer", "--map", "when=date", "--map", "value=amount")
    assert ok.returncode == 0, ok.stderr
    again = _cli("--url", url, "import", str(csv), "--table", "transactions")  # remembered
    assert b"buyer \xe2\x86\x92 customer" in again.stderr


def test_churn_backtest_and_score(capsysbinary) -> None:  # type: ignore[no-untyped-def]
    assert main(["churn", "backtest", "--format", "json"]) == 0
    pooled = {r["scorer"]: r for r in json.loads(capsysbinary.readouterr().out)}
    assert pooled["model"]["roc_auc"] > pooled["recency"]["roc_auc"]
    assert main(["churn", "score", "--format", "csv"]) == 0
    scores = pd.read_csv(io.BytesIO(capsysbinary.readouterr().out), encoding="utf-8-sig")
    assert scores["probability"].between(0, 1).all() and len(scores) > 100


def test_satisfaction_and_complaints_cli(capsysbinary) -> None:  # type: ignore[no-untyped-def]
    assert main(["satisfaction", "dimensions", "--format", "json"]) == 0
    dims = json.loads(capsysbinary.readouterr().out)
    assert len(dims) == 7 and dims[0]["score"] <= dims[-1]["score"]  # weakest first
    assert main(["complaints", "pipeline"]) == 0
    pipe = pd.read_csv(io.BytesIO(capsysbinary.readouterr().out), encoding="utf-8-sig")
    assert list(pipe["stage"])[-1] == "closed" and pipe["complaints"].sum() > 0
