"""Pages on the least data a user can bring: a transactions file of customer, date, amount.

Every page renders in both languages without a traceback, shows what it can, and says which
table or column would unlock the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.display.i18n import Labels
from analytics.ops import ingest
from analytics.store.warehouse import Warehouse
from ui.nav import PAGES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def minimal_warehouse(demo_frames: dict[str, pd.DataFrame],
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    orders = demo_frames["orders"]
    names = demo_frames["customers"].set_index("customer_id")["name"]
    per_order = orders.groupby(["order_id", "order_date", "customer_id"], as_index=False)[
        "amount_cny"].sum()
    frame = pd.DataFrame({"客户名称": per_order["customer_id"].map(names),
                          "日期": pd.to_datetime(per_order["order_date"]).dt.strftime("%Y/%m/%d"),
                          "金额": per_order["amount_cny"].round(2)})
    data = frame.to_csv(index=False).encode("gbk")
    root = tmp_path_factory.mktemp("minimal")
    raw = ingest.read_file(data, "transactions.csv")
    plan = ingest.plan_import(raw, "transactions", ingest.suggest_mapping(
        list(raw.frame.columns), "transactions"), data=data, mode="replace")
    ingest.apply_import(Warehouse(root), plan)
    yield root


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_works_on_a_transactions_file(lang: str, minimal_warehouse: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEELSIGHT_WAREHOUSE", f"duckdb://{minimal_warehouse}")
    labels = Labels(lang)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception
    shown = {m.label: m.value for m in at.metric}
    assert shown[labels("kpi_revenue_cny")] not in ("—", "0元", "¥0")
    assert shown[labels("kpi_gross_profit_cny")] == "—"  # no costs: unknown, never revenue
    assert shown[labels("kpi_overdue_receivables_cny")] == "—"
    captions = [c.value for c in at.caption]
    # each "—" says what to import (issue 20)
    for gap in ("gap_no_cost", "gap_no_invoices", "gap_no_inventory", "gap_no_volume"):
        assert labels(gap) in captions, (gap, captions)
    for page in PAGES[1:]:
        at.switch_page(page.path).run()
        assert not at.exception, (page.path, at.exception)
    at.switch_page("pages/2_abc.py").run()
    messages = [i.value for i in at.info]
    assert any(labels("missing_column", table=labels.value("table", "orders"),
                      column="category") == m for m in messages), messages
    # the credit page says why its exposure list is empty, and what to import
    at.switch_page("pages/8_credit.py").run()
    assert labels("exposure_none") in [i.value for i in at.info]


def test_pyramid_offers_revenue_only(minimal_warehouse: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEELSIGHT_WAREHOUSE", f"duckdb://{minimal_warehouse}")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["lang"] = "en"
    at.run().switch_page("pages/1_pyramid.py").run()
    assert not at.exception
    assert at.radio(key="pyramid_metric").options == ["Revenue"]
    assert at.dataframe[0].value["Customers"].sum() > 100


CLI_COMMANDS = [
    ["tables"], ["export", "orders"], ["export", "invoices"], ["pyramid"],
    ["pyramid", "--summary"], ["pyramid", "--migration"], ["abc"],
    ["abc", "--products", "category"], ["grades"], ["grades", "--factors"],
    ["satisfaction"], ["satisfaction", "trend"], ["complaints"], ["complaints", "open"],
    ["ageing"], ["market"], ["market", "history"], ["market", "spreads"], ["inventory"],
    ["inventory", "mtm"], ["products"], ["products", "monthly"], ["products", "negative"],
    ["team"], ["team", "resellers"], ["report", "--format", "html"],
    ["report", "--format", "html", "--lang", "en"], ["alerts"], ["alerts", "--lang", "en"],
    ["churn", "status"], ["churn", "score"], ["churn", "backtest"], ["versions", "list"],
    ["versions", "check"], ["users", "status"],
]


@pytest.mark.parametrize("which", ["transactions-only", "empty"])
def test_every_cli_command_answers_without_a_traceback(
        which: str, minimal_warehouse: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Each command either works (exit 0, falling back as the pages do and saying so on
    stderr) or exits with one sentence; an exception escaping main() fails the test."""
    from analytics.ops.cli import main

    root = minimal_warehouse if which == "transactions-only" else tmp_path / "empty"
    monkeypatch.setenv("STEELSIGHT_WAREHOUSE", f"duckdb://{root}")
    outcomes = {}
    for command in CLI_COMMANDS:
        try:
            code = main([*command, "-o", str(tmp_path / "out")] if command[0] not in (
                "tables", "alerts", "versions", "users", "churn") else command)
        except SystemExit as stop:  # raise SystemExit("one sentence") or argparse
            code = stop.code if isinstance(stop.code, int) else 2
            if not isinstance(stop.code, int):
                assert str(stop.code) and "\n" not in str(stop.code).strip(), command
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err, (command, captured.err)
        if code:
            lines = [ln for ln in captured.err.splitlines() if ln.strip()]
            assert len(lines) <= 3 or command[0] == "churn", (command, captured.err)
        outcomes[" ".join(command)] = code
    if which == "transactions-only":
        # what a transactions file can give works, falling back from gross profit to revenue
        for command in ("pyramid", "pyramid --migration", "abc", "pyramid --summary",
                        "tables", "export orders", "churn status", "versions list"):
            assert outcomes[command] == 0, (command, outcomes)


def test_the_report_on_a_transactions_file_ranks_by_revenue_and_says_so(
        minimal_warehouse: Path) -> None:
    from analytics.display import report

    labels = Labels("zh")
    tables = Warehouse(minimal_warehouse).tables()
    built = report.build_report(tables, month=report.month_period("last", tables),
                                labels=labels)
    customers = next(s for s in built.sections if s.key == "customers")
    assert labels("report_by_revenue") in customers.notes
    assert customers.figures  # the pyramid is there, by revenue
