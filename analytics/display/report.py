"""月度经营报告 The monthly management report: a few pages a general manager reads in five minutes.

Every number comes from the same analytics functions the pages call, on the tables the reader
may see (their scope). The month's KPIs compare with the month before (环比) and the same month a
year earlier (同比); structural views (pyramid, ABC, migration, ageing trend) use the twelve
months ending with the report month; churn, warnings, stock and receivables are as of its last
day. Output: self-contained HTML (plotly.js inlined), PDF (headless Chromium prints that HTML;
fonts-noto-cjk renders the Chinese) and XLSX (one sheet per table, numbers as numbers).
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from analytics.display import charts, churn_words, exports, followup_words, warning_words
from analytics.display.i18n import Labels, in_language
from analytics.domain import (
    abc,
    churn,
    complaints,
    credit,
    customers,
    followups,
    inventory,
    market,
    overview,
    satisfaction,
    warning,
)
from analytics.store.followups import Store
from analytics.store.frames import select
from analytics.store.period import Period
from analytics.store.warehouse import MissingData, Tables

FORMATS = ("html", "pdf", "xlsx")
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-pdf-header-footer")


@dataclass
class Table:
    key: str
    frame: pd.DataFrame                       # raw numbers, canonical column names
    money: tuple[str, ...] = ()
    tonnes: tuple[str, ...] = ()
    percent: tuple[str, ...] = ()


@dataclass
class Section:
    key: str
    title: str
    kpis: list[tuple[str, str, str]] = field(default_factory=list)  # label, value, change
    figures: list[go.Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)      # what is missing or stood in
    about: list[str] = field(default_factory=list)      # how the section was computed


def _churn_settings(tables: Tables, month: Period, labels: Labels) -> list[str]:
    """The settings the early warning's churn model was trained with, in one sentence (no
    training here: the settings follow from the data's span)."""
    from analytics.domain.churn import settings as setting
    from analytics.domain.churn.features import order_span

    first, end = order_span(tables)
    as_of = month.end + timedelta(days=1)
    try:
        chosen = setting.for_scoring(first, end, as_of=as_of)
    except setting.NotEnoughHistory:
        return []
    scores = churn.Scores(as_of, churn.MODELS[0], [], pd.DataFrame(), len(chosen.cutoffs),
                          chosen)
    return [churn_words.score_settings_text(scores, labels)]


@dataclass
class Report:
    month: Period
    lang: str
    title: str
    subtitle: str
    sections: list[Section]
    numbers: dict[str, float]                 # the headline figures, for checks and the XLSX


def month_period(text: str, tables: Tables) -> Period:
    """"2025-06" → June 2025; "last" → the last whole month in the data (the month of the
    latest order if it falls on the month's last day, else the month before)."""
    if text != "last":
        start = pd.Period(text, freq="M")
    else:
        span = overview.data_range(tables)
        if span is None:
            raise MissingData("orders")
        latest = pd.Timestamp(span[1])
        start = latest.to_period("M")
        if not latest.is_month_end:
            start -= 1
    return Period(start.start_time.date(), start.end_time.date())


def _year_to(month: Period) -> Period:
    start = (pd.Timestamp(month.start) - pd.DateOffset(months=11)).date()
    return Period(start, month.end)


def _print_size(fig: go.Figure, height: int = 300) -> go.Figure:
    fig.update_layout(height=height, width=720, margin=dict(l=10, r=10, t=50, b=10))
    return fig


def _guard(section: Section, labels: Labels, build: Callable[[], None]) -> None:
    """A table the reader's data lacks becomes a line in the section, not a failed report."""
    try:
        build()
    except MissingData as missing:
        table = labels.value("table", missing.table)
        section.notes.append(labels("missing_column", table=table, column=missing.column)
                             if missing.column else labels("missing_table", table=table))


def build_report(tables: Tables, *, month: Period, labels: Labels, sees_profit: bool = True,
                 followups: pd.DataFrame | None = None) -> Report:
    """The monthly report; ``followups`` (the store's rows in the reader's scope) adds the
    follow-up section: done in the month, their outcomes, and whether following up worked."""
    year = _year_to(month)
    numbers: dict[str, float] = {}
    sections: list[Section] = []

    head = Section("headline", labels("report_headline"))
    comparison = overview.kpi_comparison(tables, month)
    comparison = overview.kpis_for(comparison, sees_profit=sees_profit)
    for row in comparison.itertuples():
        name = str(row.kpi)
        numbers[name] = float(row.value)  # type: ignore[arg-type]
        mom = labels.change(name, float(row.vs_previous))  # type: ignore[arg-type]
        yoy = labels.change(name, float(row.vs_year_ago))  # type: ignore[arg-type]
        head.kpis.append((labels(f"kpi_{name}"), labels.kpi(name, float(row.value)),  # type: ignore[arg-type]
                          f"{labels('report_mom')} {mom or '—'} · {labels('report_yoy')} "
                          f"{yoy or '—'}"))
    head.figures.append(_print_size(charts.monthly_volume_profit(
        overview.monthly(tables, year), labels)))
    sections.append(head)

    cust = Section("customers", labels("report_customers"))

    def _customers() -> None:
        metric = "gross_profit_cny" if sees_profit else "revenue_cny"
        if metric not in customers.available_metrics(tables):
            # as the pages do: by revenue when the orders carry no cost, and say so
            metric = "revenue_cny"
            cust.notes.append(labels("report_by_revenue"))
        tiers = customers.pyramid(tables, period=year, metric=metric)
        summary = customers.tier_summary(tiers)
        cust.figures.append(_print_size(charts.pyramid(summary, labels, value_label=labels(
            f"kpi_{metric}")), 280))
        moves = customers.tier_migration(tables, period=year, metric=metric)
        down = customers.moved_down(moves).head(8)
        numbers["moved_down"] = float(len(customers.moved_down(moves)))
        cust.kpis.append((labels("report_moved_down"), labels.number(numbers["moved_down"]),
                          ""))
        cust.tables.append(Table("moved_down", select(down, (
            "name", "tier_previous", "tier_current", "value_previous", "value_current")),
            money=("value_previous", "value_current")))
        classes = abc.class_summary(abc.abc_customers(tables, period=year, metric=metric))
        a = classes[classes["abc_class"] == "A"]
        if len(a):
            numbers["abc_a_customers"] = float(a["items"].iloc[0])
            numbers["abc_a_share"] = float(a["value_share"].iloc[0]) * 100
            cust.kpis.append((labels("report_abc_a"), labels.number(numbers["abc_a_customers"]),
                              labels("report_abc_a_share",
                                     share=labels.percent(numbers["abc_a_share"]))))

    _guard(cust, labels, _customers)
    sections.append(cust)

    risk = Section("risk", labels("report_risk"))

    def _risk() -> None:
        status = churn.status_summary(churn.status_view(tables, period=month))
        for row in status.itertuples():
            numbers[f"status_{row.status}"] = float(row.customers)  # type: ignore[arg-type]
            risk.kpis.append((labels.value("status", row.status),
                              labels.number(float(row.customers)),  # type: ignore[arg-type]
                              labels("report_value_12m", value=labels.money(float(
                                  row.value_12m)))))  # type: ignore[arg-type]
        alerts = warning.early_warning(tables, as_of=month.end).head(10)
        numbers["warnings"] = float(len(alerts))
        if alerts.attrs.get("churn_basis") == "rules":
            risk.notes.append(labels("warning_rules"))
        else:
            risk.about.extend(_churn_settings(tables, month, labels))
        if len(alerts):
            alerts = alerts.assign(reasons=[warning_words.describe(r, labels)
                                            for r in alerts["reasons"]])
            risk.tables.append(Table("warnings", alerts[["name", "money_at_stake_cny",
                                                         "reasons"]],
                                     money=("money_at_stake_cny",)))

    _guard(risk, labels, _risk)
    sections.append(risk)

    voice = Section("voice", labels("report_voice"))

    def _voice() -> None:
        quarter = Period((pd.Timestamp(month.start) - pd.DateOffset(months=2)).date(), month.end)
        sat = satisfaction.summary(tables, period=quarter)
        numbers["satisfaction_index"], numbers["nps"] = sat["index"], sat["nps"]
        voice.kpis.append((labels("report_satisfaction"), labels.number(sat["index"], 2),
                           labels("report_nps", nps=labels.number(sat["nps"], 0))))
        comp = complaints.summary(tables, period=month)
        for key in ("complaints", "per_1000_t", "within_target_pct"):
            if key in comp:
                numbers[f"complaints_{key}"] = float(comp[key])
                voice.kpis.append((labels(f"report_complaints_{key}"),
                                   labels.number(float(comp[key]), 1 if key != "complaints"
                                                 else 0), ""))

    _guard(voice, labels, _voice)
    sections.append(voice)

    stock = Section("stock", labels("report_stock"))

    def _stock() -> None:
        board = market.price_board(tables, as_of=month.end)
        spot = board[~board["market"].isin(market.FUTURES_MARKETS)]
        stock.tables.append(Table("prices", spot[["product", "price", "price_change_pct",
                                                  "mom_pct", "yoy_pct"]],
                                  money=("price",), percent=("price_change_pct", "mom_pct",
                                                             "yoy_pct")))
        st = inventory.status(tables, as_of=month.end)
        numbers["stock_t"] = float(st["on_hand_t"].sum())
        numbers["below_safety"] = float((st["stock_status"] == "below_safety").sum())
        stock.kpis.append((labels("col_on_hand_t"), labels.tonnes(numbers["stock_t"]),
                           labels("report_below_safety", n=int(numbers["below_safety"]))))
        if sees_profit:
            book = inventory.mark_to_market(tables, as_of=month.end)
            total = inventory.mtm_total(book)
            loss = float(inventory.what_if(book, fall_pct=5.0)["loss_cny"].sum())
            numbers["floating_cny"], numbers["what_if_5_cny"] = total["floating_cny"], loss
            stock.kpis.append((labels("col_floating_cny"), labels.money(total["floating_cny"]),
                               labels("report_what_if", loss=labels.money(loss))))
            history = inventory.mtm_history(tables, period=year)
            if len(history):
                stock.figures.append(_print_size(charts.mtm_chart(history, labels), 260))

    _guard(stock, labels, _stock)
    sections.append(stock)

    money = Section("receivables", labels("report_receivables"))

    def _receivables() -> None:
        total = credit.ageing_summary(tables, as_of=month.end, by=None)
        numbers["receivables_cny"] = float(total["total"].sum())
        numbers["overdue_cny"] = float(total["overdue"].sum())
        money.kpis.append((labels("report_receivables_total"),
                           labels.money(numbers["receivables_cny"]),
                           labels("report_overdue", value=labels.money(numbers["overdue_cny"]))))
        buckets = total[list(credit.BUCKETS)].T.reset_index()
        buckets.columns = ["bucket", "open_cny"]
        money.tables.append(Table("ageing", buckets, money=("open_cny",)))
        money.figures.append(_print_size(charts.dso_chart(credit.dso_trend(tables, period=year),
                                                          labels), 260))

    _guard(money, labels, _receivables)
    sections.append(money)

    if followups is not None:
        sections.append(_followup_section(tables, followups, month, labels, numbers))

    title = labels("report_title", month=labels.month(pd.Timestamp(month.start)))
    subtitle = labels("report_subtitle", start=labels.date(year.start), end=labels.date(month.end),
                      made=labels.date(date.today()))
    return Report(month, labels.lang, title, subtitle, sections, numbers)


def _followup_section(tables: Tables, rows: pd.DataFrame, month: Period, labels: Labels,
                      numbers: dict[str, float]) -> Section:
    section = Section("followups", labels("report_followups"))
    visible = set(tables.get("orders").select("customer_id").distinct().to_pandas()
                  ["customer_id"])
    rows = rows[[c in visible for c in rows["customer_id"]]]
    done = followups.outcomes(rows, start=month.start, end=month.end)
    numbers["followups_done"] = float(done["followups"].sum()) if len(done) else 0.0
    opened = rows[(rows["created_at"].dt.date >= month.start)
                  & (rows["created_at"].dt.date <= month.end)]
    section.kpis.append((labels("report_followups_done"), labels.number(
        numbers["followups_done"]), labels("report_followups_assigned", n=len(opened))))
    if len(done):
        section.tables.append(Table("followup_outcomes", done.rename(
            columns={"followups": "followed"})))
    effect = followups.effect(followups.matched_in(tables, rows))
    said = followup_words.statement(labels, effect)
    if said:
        head = effect[effect["window_days"] == followups.HEADLINE_WINDOW].iloc[0]
        numbers["followup_difference_pts"] = float(head["difference_pts"])
        section.notes.append(said)
    section.notes.append(followup_words.verdict(labels, effect))
    return section


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------
def _display(table: Table, labels: Labels) -> pd.DataFrame:
    out = table.frame.copy()
    for c in table.money:
        out[c] = [labels.money(float(v)) if pd.notna(v) else "—" for v in out[c]]
    for c in table.tonnes:
        out[c] = [labels.tonnes(float(v)) if pd.notna(v) else "—" for v in out[c]]
    for c in table.percent:
        out[c] = [f"{float(v):+.2f}%" if pd.notna(v) else "—" for v in out[c]]
    return in_language(labels, out)


CSS = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       color: #222; max-width: 760px; margin: 24px auto; }
h1 { font-size: 24px; margin-bottom: 2px; } h2 { font-size: 18px; border-bottom: 2px solid
#F58518; padding-bottom: 3px; margin-top: 0; }
.sub { color: #777; font-size: 12px; margin-bottom: 12px; }
.kpis { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.kpi { border: 1px solid #ddd; border-radius: 6px; padding: 6px 10px; min-width: 160px; }
.kpi .l { font-size: 11px; color: #666; } .kpi .v { font-size: 18px; font-weight: 600; }
.kpi .c { font-size: 11px; color: #555; }
table { border-collapse: collapse; font-size: 11px; margin: 6px 0; width: 100%; }
th, td { border-bottom: 1px solid #e5e5e5; padding: 3px 6px; text-align: left; }
th { background: #f6f6f6; } .note { font-size: 11px; color: #888; }
section { break-before: page; } section:first-of-type { break-before: auto; }
"""


def to_html(report: Report, labels: Labels) -> str:
    """One self-contained page: styles and plotly.js inline, no network needed to open it."""
    from plotly.offline import get_plotlyjs

    parts = [f"<!doctype html><html lang=\"{'zh-CN' if report.lang == 'zh' else 'en'}\">"
             f"<head><meta charset=\"utf-8\"><title>{html.escape(report.title)}</title>"
             f"<style>{CSS}</style><script>{get_plotlyjs()}</script></head><body>"]
    for i, section in enumerate(report.sections):
        parts.append("<section>")
        if i == 0:
            parts.append(f"<h1>{html.escape(report.title)}</h1>"
                         f"<div class=\"sub\">{html.escape(report.subtitle)}</div>")
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.kpis:
            parts.append("<div class=\"kpis\">" + "".join(
                f"<div class=\"kpi\"><div class=\"l\">{html.escape(lab)}</div>"
                f"<div class=\"v\">{html.escape(val)}</div><div class=\"c\">"
                f"{html.escape(chg)}</div></div>" for lab, val, chg in section.kpis) + "</div>")
        for fig in section.figures:
            parts.append(fig.to_html(full_html=False, include_plotlyjs=False,
                                     config={"staticPlot": True}))
        for table in section.tables:
            parts.append(_display(table, labels).to_html(index=False, escape=True,
                                                         border=0))
        for note in section.notes + section.about:
            parts.append(f"<p class=\"note\">{html.escape(note)}</p>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "".join(parts)


def chromium_path() -> str:
    """Debian's Chromium (or $STEELSIGHT_CHROMIUM): prints the HTML to PDF, no download."""
    for candidate in (os.environ.get("STEELSIGHT_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser"),
                      shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("PDF needs Chromium: apt-get install chromium fonts-noto-cjk")


def to_pdf(page: str) -> bytes:
    """The HTML printed by headless Chromium (A4; each section starts a page)."""
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        source.write_text(page, encoding="utf-8")
        subprocess.run([chromium_path(), *CHROMIUM_ARGS, f"--user-data-dir={tmp}/profile",
                        "--virtual-time-budget=20000", f"--print-to-pdf={target}",
                        source.as_uri()], check=True, capture_output=True, timeout=180)
        return target.read_bytes()


def to_xlsx(report: Report, labels: Labels) -> bytes:
    """Sheet 1: the headline numbers; then one sheet per table, headers in the reader's
    language, numbers as numbers."""
    sheets = {labels("report_numbers"): pd.DataFrame(
        {"key": list(report.numbers), "value": list(report.numbers.values())})}
    for section in report.sections:
        for table in section.tables:
            sheets[labels(f"report_table_{table.key}")] = in_language(labels, table.frame)
    return exports.to_xlsx_sheets(sheets)


def render(report: Report, labels: Labels, fmt: str) -> bytes:
    if fmt == "html":
        return to_html(report, labels).encode("utf-8")
    if fmt == "pdf":
        return to_pdf(to_html(report, labels))
    if fmt == "xlsx":
        return to_xlsx(report, labels)
    raise ValueError(f"format must be one of {FORMATS}")


def render_all(tables: Tables, *, month: str, lang: str, sees_profit: bool = True,
               formats: tuple[str, ...] = FORMATS,
               followups_at: tuple[str, str] | None = None) -> dict[str, bytes]:
    """The report for ``month`` ("YYYY-MM" or "last") in every format, built once;
    ``followups_at`` is (the follow-up store's path, its change mark) for the follow-up
    section."""
    labels = Labels(lang)
    rows = Store(Path(followups_at[0])).frame() if followups_at else None
    built = build_report(tables, month=month_period(month, tables), labels=labels,
                         sees_profit=sees_profit, followups=rows)
    return {fmt: render(built, labels, fmt) for fmt in formats}
