"""The monthly report: its numbers are the analytics' numbers, the HTML stands alone, the PDF
has a page per section with Chinese text, the XLSX round-trips, a rep's copy has no profit,
and it arrives by SMTP; the warning digest reaches WeCom and DingTalk robots as they expect."""

from __future__ import annotations

import base64
import email.policy
import hashlib
import hmac
import io
import json
import socket
import subprocess
import threading
import urllib.parse
from datetime import date
from email import message_from_bytes
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from pypdf import PdfReader

from analytics.display import report
from analytics.display.i18n import Labels
from analytics.domain import credit, inventory
from analytics.ops import delivery
from analytics.ops.cli import main
from analytics.store.period import Period
from analytics.store.warehouse import Warehouse

JUNE = Period(date(2025, 6, 1), date(2025, 6, 30))


def _sql(wh: Warehouse, query: str) -> float:
    con = duckdb.connect(str(wh.current_path()), read_only=True)
    try:
        return float(con.execute(query).fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


@pytest.fixture(scope="module")
def june_zh(demo_warehouse: Warehouse) -> report.Report:
    return report.build_report(demo_warehouse.tables(), month=JUNE, labels=Labels("zh"))


def test_month_resolution(demo_warehouse: Warehouse) -> None:
    t = demo_warehouse.tables()
    assert report.month_period("2025-06", t) == JUNE
    # the demo ends on 2025-12-31, a month end: "last" is December itself
    assert report.month_period("last", t) == Period(date(2025, 12, 1), date(2025, 12, 31))


def test_report_numbers_are_the_analytics_numbers(june_zh: report.Report,
                                                  demo_warehouse: Warehouse) -> None:
    n = june_zh.numbers
    assert n["revenue_cny"] == pytest.approx(_sql(
        demo_warehouse, "select sum(amount_cny) from orders where order_date between "
        "'2025-06-01' and '2025-06-30'"))
    assert n["stock_t"] == pytest.approx(_sql(
        demo_warehouse, "select sum(on_hand_t) from inventory where date = '2025-06-30'"))
    t = demo_warehouse.tables()
    ageing = credit.ageing_summary(t, as_of=JUNE.end, by=None)
    assert n["receivables_cny"] == pytest.approx(float(ageing["total"].sum()))
    book = inventory.mark_to_market(t, as_of=JUNE.end)
    assert n["floating_cny"] == pytest.approx(inventory.mtm_total(book)["floating_cny"])
    assert n["what_if_5_cny"] == pytest.approx(0.05 * float(book["market_cny"].sum()))
    labels = Labels("zh")
    head = june_zh.sections[0]
    assert (labels("kpi_revenue_cny"), labels.money(n["revenue_cny"])) == head.kpis[0][:2]
    assert [s.key for s in june_zh.sections] == ["headline", "customers", "risk", "voice",
                                                 "stock", "receivables"]
    assert not any(s.notes for s in june_zh.sections)  # the demo has every table


def test_html_is_self_contained(june_zh: report.Report) -> None:
    page = report.to_html(june_zh, Labels("zh"))
    assert "一、经营概况" in page and "六、应收账龄" in page
    # no external resource: every <script>, <link> and <img> is inline (the parser reads a
    # script's body as text, so strings inside plotly.js do not count)
    class Tags(HTMLParser):
        external: ClassVar[list[tuple[str, str]]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            for name, value in attrs:
                if name in ("src", "href") and value and not value.startswith(("data:", "#")):
                    self.external.append((tag, value))

    tags = Tags()
    tags.feed(page)
    assert tags.external == []
    assert page.count("<section>") == len(june_zh.sections)


def test_pdf_has_a_page_per_section_and_chinese_text(june_zh: report.Report) -> None:
    data = report.to_pdf(report.to_html(june_zh, Labels("zh")))
    pdf = PdfReader(io.BytesIO(data))
    assert len(pdf.pages) == len(june_zh.sections)
    # the text layer as pdftotext (poppler) reads it: it maps the CJK font's glyphs back to
    # the characters (pypdf returns radicals such as ⽉ and ⻛ for some of them)
    text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode("utf-8")
    for heading in ("2025年6月经营月报", "一、经营概况", "三、流失风险与预警",
                    "五、市场、库存与盯市"):
        assert heading in text, heading


def test_xlsx_round_trips(june_zh: report.Report) -> None:
    labels = Labels("zh")
    sheets = pd.read_excel(io.BytesIO(report.to_xlsx(june_zh, labels)), sheet_name=None)
    numbers = sheets[labels("report_numbers")].set_index("key")["value"]
    assert numbers["revenue_cny"] == pytest.approx(june_zh.numbers["revenue_cny"])
    prices = sheets[labels("report_table_prices")]
    assert pd.api.types.is_numeric_dtype(prices[labels.column("price")])
    assert labels.value("category", "rebar") in set(prices[labels.column("product")])


def test_a_reps_report_has_no_profit(tmp_path: Path, demo_warehouse: Warehouse,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.ops import users

    monkeypatch.setenv("STEELSIGHT_USERS", str(tmp_path / "users.yaml"))
    users.add_user("rep", "rep-password-1", level="rep", name="张伟")
    out = tmp_path / "rep.xlsx"
    assert main(["--as-user", "rep", "report", "--month", "2025-06", "-o", str(out)]) == 0
    sheets = pd.read_excel(out, sheet_name=None)
    keys = set(sheets[Labels("zh")("report_numbers")]["key"])
    assert "revenue_cny" in keys
    assert not {"gross_profit_cny", "margin_pct", "floating_cny"} & keys
    headers = " ".join(str(c) for frame in sheets.values() for c in frame.columns)
    assert "毛利" not in headers and "成本" not in headers
    rep_revenue = _sql(demo_warehouse, "select sum(o.amount_cny) from orders o join customers "
                       "c using (customer_id) where c.sales_rep = '张伟' and o.order_date "
                       "between '2025-06-01' and '2025-06-30'")
    assert sheets[Labels("zh")("report_numbers")].set_index("key").loc[
        "revenue_cny", "value"] == pytest.approx(rep_revenue)


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def test_report_by_email(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from analytics.ops import users

    monkeypatch.setenv("STEELSIGHT_USERS", str(tmp_path / "users.yaml"))
    users.add_user("rep", "rep-password-1", level="rep", name="张伟")
    inbox = _Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        config = tmp_path / "settings.toml"
        config.write_text(f"""
[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
sender = "report@steelsight.test"
[smtp.recipients]
executive = ["gm@steelsight.test", "cfo@steelsight.test"]
[smtp.users]
rep = "zw@steelsight.test"
""", encoding="utf-8")
        assert main(["report", "--month", "2025-06", "--email", "--config", str(config)]) == 0
    finally:
        smtp.stop()
    assert sorted(to for m in inbox.messages for to in m[0]) == [
        "cfo@steelsight.test", "gm@steelsight.test", "zw@steelsight.test"]
    for to, raw in inbox.messages:
        mail = message_from_bytes(raw, policy=email.policy.default)
        subject = str(mail["Subject"])
        assert subject == Labels("zh")("report_title", month="2025年6月")
        names = sorted(p.get_filename() for p in mail.walk() if p.get_filename())
        assert names == ["steelsight_report_2025-06_zh.pdf", "steelsight_report_2025-06_zh.xlsx"]
        xlsx = next(p.get_payload(decode=True) for p in mail.walk()
                    if (p.get_filename() or "").endswith(".xlsx"))
        keys = set(pd.read_excel(io.BytesIO(xlsx), sheet_name=0)["key"])
        assert ("gross_profit_cny" in keys) == (to != ["zw@steelsight.test"])


class _Robot(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    answer: ClassVar[dict[str, Any]] = {"errcode": 0, "errmsg": "ok"}

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, json.loads(body.decode("utf-8"))))
        data = json.dumps(type(self).answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def robot() -> Any:
    _Robot.received = []
    _Robot.answer = {"errcode": 0, "errmsg": "ok"}
    server = HTTPServer(("127.0.0.1", 0), _Robot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_alerts_reach_wecom_and_dingtalk_in_their_formats(robot: Any, tmp_path: Path) -> None:
    port = robot.server_address[1]
    secret = "SECtest0123456789"
    config = tmp_path / "settings.toml"
    config.write_text(f"""
[push.wecom]
url = "http://127.0.0.1:{port}/cgi-bin/webhook/send?key=abc"
[push.dingtalk]
url = "http://127.0.0.1:{port}/robot/send?access_token=xyz"
secret = "{secret}"
""", encoding="utf-8")
    assert main(["alerts", "--push", "--config", str(config)]) == 0
    (wecom_path, wecom), (ding_path, ding) = _Robot.received
    assert wecom_path == "/cgi-bin/webhook/send?key=abc"
    assert wecom["msgtype"] == "markdown"
    content = wecom["markdown"]["content"]
    assert len(content.encode("utf-8")) <= delivery.WECOM_LIMIT_BYTES
    assert "超信用额度" in content and "库存与盯市" in content
    assert ding["msgtype"] == "markdown" and ding["markdown"]["title"].startswith("SteelSight")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ding_path).query)
    assert query["access_token"] == ["xyz"]
    expected = base64.b64encode(hmac.new(secret.encode(), f"{query['timestamp'][0]}\n{secret}"
                                         .encode(), hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected]


def test_alerts_on_29_february(capsys: pytest.CaptureFixture[str]) -> None:
    """The digest's stock section looks back a year from a leap day, which the year before
    does not have (it raised ValueError there); its mark-to-market still comes out."""
    assert main(["alerts", "--as-of", "2024-02-29", "--lang", "en"]) == 0
    assert "29 Feb 2024" in capsys.readouterr().out or pytest.fail("no dated digest")


def test_a_refusing_robot_is_a_clear_failure(robot: Any, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _Robot.answer = {"errcode": 310000, "errmsg": "sign not match"}
    config = tmp_path / "settings.toml"
    config.write_text(f'[push.dingtalk]\nurl = "http://127.0.0.1:{robot.server_address[1]}'
                      '/robot/send?access_token=x"\n', encoding="utf-8")
    assert main(["alerts", "--push", "--config", str(config)]) == 2
    assert "sign not match" in capsys.readouterr().err


def test_dingtalk_signature_known_answer() -> None:
    # computed independently: base64(hmac_sha256("SEC1", "1700000000000\\nSEC1"))
    digest = hmac.new(b"SEC1", b"1700000000000\nSEC1", hashlib.sha256).digest()
    url = delivery.dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=t", "SEC1",
                                now_ms=1700000000000)
    assert url.endswith("&timestamp=1700000000000&sign="
                        + urllib.parse.quote_plus(base64.b64encode(digest)))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_overview_makes_the_report(lang: str, demo_warehouse: Warehouse) -> None:
    from tests.test_pages import _app

    at = _app(lang)
    labels = Labels(lang)
    assert at.selectbox(key="report_month").value == "2025-12"
    at.selectbox(key="report_month").set_value("2025-06").run()
    at.button(key="report_make").click().run()
    assert not at.exception
    month, made_lang, made_for, files = at.session_state["report_files"]
    assert (month, made_lang) == ("2025-06", lang)
    assert made_for == "local|admin||"  # the user and scope it was made for (issue 23)
    assert files["pdf"].startswith(b"%PDF") and files["html"].startswith(b"<!doctype html>")
    page = files["html"].decode("utf-8")
    assert labels("report_title", month=labels.month(pd.Timestamp("2025-06-01"))) in page
    buttons = [b.proto.label for b in at.get("download_button")]
    # only the report offers HTML and PDF; its Excel button sits right after them
    i = buttons.index(labels("report_download_html"))
    assert buttons[i:i + 3] == [labels("report_download_html"), labels("report_download_pdf"),
                                labels("report_download_xlsx")]
