"""Reusable page pieces: KPI cards and labelled, downloadable tables."""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from analytics.display import charts, exports
from analytics.display.i18n import MISSING, Labels, in_language
from analytics.ops import users

# KPIs where a rise is bad news: their deltas are coloured the other way round.
RISE_IS_BAD = {"lost_customers", "overdue_receivables_cny", "inventory_days"}


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")




def plain(value: object) -> str:
    """Data-derived text for an element that renders markdown (headers, captions, notes):
    every markdown character escaped and lines joined, so a customer named
    ``![b](http://host/x.png)`` is shown as those characters and fetches nothing."""
    text = " ".join(str(value).split())
    return _MARKDOWN.sub(r"\\\1", text)


def plain_params(params: dict[str, object]) -> dict[str, str]:
    """``plain`` over the values put into a sentence (file columns, names, values)."""
    return {k: plain(v) for k, v in params.items()}


def kpi_cards(labels: Labels, comparison: pd.DataFrame, *, per_row: int = 5,
              notes: dict[str, str] | None = None, gaps: dict[str, str] | None = None) -> None:
    """One st.metric per KPI: value, change vs the previous period, and the YoY change below;
    a KPI without a value says why (``gaps``: KPI → text key)."""
    notes = notes or {}
    gaps = gaps or {}
    # a comparison period with less data than its span: said once, no growth shown
    for column, key in (("previous_days", "compare_previous_partial"),
                        ("year_ago_days", "compare_year_ago_partial")):
        if column in comparison and comparison[column].notna().any():
            days = float(comparison[column].iloc[0])
            # "0 days of data" reads like a bug: no data is said as such
            st.caption(labels(key.replace("_partial", "_none")) if days == 0 else
                       labels(key, days=labels.number(days)))
    rows = [comparison.iloc[i:i + per_row] for i in range(0, len(comparison), per_row)]
    for chunk in rows:
        cols = st.columns(per_row)
        for col, (_, row) in zip(cols, chunk.iterrows(), strict=False):
            name = row["kpi"]
            with col, st.container(border=True):
                delta = labels.change(name, row["vs_previous"])
                help_text = labels(f"help_{name}")
                if name in notes:
                    help_text += " " + notes[name]
                # Streamlit reads the arrow's direction from the delta's first character, so
                # the signed number comes first and the "vs prior" words after it
                st.metric(labels(f"kpi_{name}"), labels.kpi(name, row["value"]),
                          delta=f"{delta} {labels('vs_previous')}" if delta else None,
                          delta_color="inverse" if name in RISE_IS_BAD else "normal",
                          help=help_text)
                yoy = labels.change(name, row["vs_year_ago"])
                if pd.isna(row["value"]) and name in gaps:  # say why, not just "—"
                    st.caption(labels(gaps[name]))
                else:
                    st.caption(f"{labels('vs_year_ago')} {yoy}" if yoy else
                               f"{labels('vs_year_ago')} —")


PREVIEW_ROWS = 200  # rows of a long table shown on screen; its downloads hold them all


def table(labels: Labels, frame: pd.DataFrame, *, key: str, filename: str,
          money: tuple[str, ...] = (), tonnes: tuple[str, ...] = (),
          percent: tuple[str, ...] = (), preview_rows: int | None = None,
          translate: bool = True, selectable: bool = False,
          signed: tuple[str, ...] = (), counts: tuple[str, ...] = (),
          whole: tuple[Callable[[], pd.DataFrame], int] | None = None,
          alert: str | None = None) -> int | None:
    """A table with labelled headers and values, formatted numbers, CSV and XLSX downloads.

    ``preview_rows`` shows only the first rows on screen; the downloads are always complete.
    ``translate=False`` keeps canonical headers and values (a table export that can be
    imported again). ``selectable`` lets the user pick a row; its position is returned.
    ``signed`` columns show a + sign and the language's rise / fall colours (红涨绿跌 in
    Chinese, green up / red down in English).
    ``counts`` are whole numbers shown with thousands separators (502,000, not 502000).
    ``whole`` is (a function giving the whole table, its row count) when ``frame`` is only its
    first rows: the downloads load the whole table when clicked, not on every rerun.
    ``alert`` is a numeric column: the rows where it is above zero are shown in red (an
    overdue follow-up).
    """
    def rounded_(table: pd.DataFrame) -> pd.DataFrame:
        out = table.copy(deep=False)  # copy-on-write: the caller's frame stays as it is
        for cols, digits in ((money, 0), (tonnes, 1), (percent, 1)):
            for c in cols:
                if c in out:  # signed percentages are price changes: two decimals, as quoted
                    out[c] = out[c].astype(float).round(2 if c in signed and digits == 1
                                                        else digits)
        return out
    rounded = rounded_(frame)
    # only the rows on screen are put into words on each rerun; the downloads put the whole
    # table into words when clicked (half a million report lines took seconds per rerun)
    on_screen = rounded if preview_rows is None else rounded.head(preview_rows)
    on_screen = in_language(labels, on_screen) if translate else on_screen

    def shown() -> pd.DataFrame:
        full = rounded if whole is None else rounded_(whole[0]())
        return in_language(labels, full) if translate else full
    rows_out = len(frame) if whole is None else whole[1]
    if len(on_screen) < rows_out:  # say the grid is a preview, not the whole list
        st.caption(labels("table_preview", n=f"{len(on_screen):,}", total=f"{rows_out:,}"))
    config: dict[str, st.column_config.Column] = {}
    for cols, fmt in ((money, "localized"), (tonnes, "localized"), (percent, "%.1f"),
                      (counts, "localized")):
        for c in cols:
            if c in frame:
                name = labels.column(c) if translate else c
                config[name] = st.column_config.NumberColumn(format=fmt)
    for c in signed:
        if c in frame and c not in money:  # money keeps its thousands separators
            digits = 2 if c in percent else 0
            name = labels.column(c) if translate else c
            config[name] = st.column_config.NumberColumn(format=f"%+.{digits}f")
    styled = _signed_style(labels, on_screen, [labels.column(c) if translate else c
                                               for c in signed if c in frame])
    if alert is not None and alert in frame:
        styled = _alert_style(styled, labels.column(alert) if translate else alert)
    # tall enough for up to 25 rows without an inner scrollbar; longer tables scroll
    height = min(len(on_screen), 25) * 35 + 38
    # a missing value reads "—" as everywhere else, not the grid's grey "None"
    event = st.dataframe(styled, hide_index=True, column_config=config, width="stretch",
                         height=height, key=key, placeholder=MISSING,
                         **({"on_select": "rerun", "selection_mode": "single-row"}
                            if selectable else {}))
    buttons = st.container(horizontal=True)
    # the files are made when the button is clicked, not on every rerun: on a large book an
    # XLSX of tens of thousands of rows costs seconds each time the page redraws
    buttons.download_button(labels("download_csv"), lambda: exports.to_csv(shown()),
                            file_name=f"{filename}.csv", mime="text/csv", key=f"{key}_csv",
                            on_click=_audit_export, args=(f"{filename}.csv", rows_out))
    buttons.download_button(labels("download_xlsx"),
                            lambda: exports.to_xlsx(shown(), sheet=filename),
                            file_name=f"{filename}.xlsx", key=f"{key}_xlsx",
                            on_click=_audit_export, args=(f"{filename}.xlsx", rows_out),
                          mime="application/vnd.openxmlformats-officedocument."
                               "spreadsheetml.sheet")
    if selectable and event is not None:
        rows = event.selection.rows  # type: ignore[attr-defined]
        return int(rows[0]) if rows else None
    return None


def _signed_style(labels: Labels, frame: pd.DataFrame, columns: list[str]
                  ) -> pd.DataFrame | Styler:
    if not columns:
        return frame
    up, down = charts.up_down(labels)

    def colour(v: object) -> str:
        if not isinstance(v, (int, float)) or v != v or v == 0:
            return ""
        return f"color: {up if v > 0 else down}"

    return frame.style.map(colour, subset=columns)


ALERT = "color: #c62828; font-weight: 600"  # red in both languages: late is never good news


def _alert_style(frame: pd.DataFrame | Styler, column: str) -> Styler:
    styler = frame if isinstance(frame, Styler) else frame.style

    def rows(row: pd.Series) -> list[str]:
        late = row[column]
        return [ALERT if isinstance(late, (int, float)) and late > 0 else ""] * len(row)

    return styler.apply(rows, axis=1)


def report_downloads(labels: Labels, files: dict[str, bytes], *, stem: str) -> None:
    """The monthly report's files as download buttons (each logged as an export)."""
    mimes = {"html": "text/html", "pdf": "application/pdf",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    row = st.container(horizontal=True)
    for fmt, data in files.items():
        row.download_button(labels(f"report_download_{fmt}"), data, file_name=f"{stem}.{fmt}",
                            mime=mimes[fmt], key=f"report_{fmt}", on_click=_audit_export,
                            args=(f"{stem}.{fmt}", 0))


def _audit_export(file: str, rows: int) -> None:
    users.audit("export", user=st.session_state.get("auth_user", "local"), file=file,
                rows=rows)


CARD_PAGE = "pages/4_customer.py"


def open_card(customer_id: str) -> None:
    """Go to the customer card of ``customer_id`` (kept in the session across the switch)."""
    st.session_state["card_customer"] = customer_id
    st.session_state["card_query"] = ""  # an old search must not hide the chosen customer
    st.switch_page(CARD_PAGE)


def customer_table(labels: Labels, frame: pd.DataFrame, *, key: str, filename: str,
                   money: tuple[str, ...] = (), tonnes: tuple[str, ...] = (),
                   percent: tuple[str, ...] = (), preview_rows: int | None = None,
                   shown: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> None:
    """A table of customers: selecting a row opens that customer's card (``preview_rows``
    as for ``table``). ``shown`` makes rows of ``frame`` ready to show (their reasons in
    words): applied to the first ``PREVIEW_ROWS`` on each rerun, to the whole list only when
    a download is clicked."""
    st.caption(labels("click_row_for_card"))
    whole = None
    if shown is not None:
        whole = ((lambda: shown(frame)), len(frame))
        frame = shown(frame.head(PREVIEW_ROWS))
    picked = table(labels, frame, key=key, filename=filename, money=money, tonnes=tonnes,
                   percent=percent, preview_rows=preview_rows, selectable=True, whole=whole)
    if picked is not None and "customer_id" in frame:
        row = frame.iloc[picked]
        # the card offers a follow-up that keeps why the customer was on this list
        st.session_state["card_followup"] = followup_context(key, row, percent=percent)
        open_card(str(row["customer_id"]))


def followup_context(source: str, row: pd.Series, *, percent: tuple[str, ...] = ()
                     ) -> dict[str, object]:
    """What a list knew about a customer when someone picked it: kept with a follow-up.
    ``percent`` names the columns the list shows in percent (the risk list's probability)."""
    def get(col: str) -> object:
        value = row.get(col)
        return None if value is None or (isinstance(value, float) and value != value) \
            else value
    if isinstance(get("reasons"), str):  # the early warning's reasons, as the list wrote them
        reason = get("reasons")
    elif get("status") is not None:
        reason = f"status_{get('status')}"
    else:
        reason = source
    p = get("probability")
    probability = None if not isinstance(p, (int, float)) else \
        float(p) / (100 if "probability" in percent else 1)
    return {"customer_id": str(row["customer_id"]), "source": source, "reason": reason,
            "probability": probability, "risk_band": get("band"), "tier": get("tier")}


def shares_editor(labels: Labels, *, key: str, names: tuple[str, ...],
                  defaults: tuple[float, ...], field: str) -> tuple[float, ...] | None:
    """Percent inputs for shares that must add up to 100; None (with a message) otherwise."""
    cols = st.columns(len(names))
    values = [col.number_input(labels.value(field, n) + " %", min_value=0.0, max_value=100.0,
                               value=d * 100, step=1.0, key=f"{key}_{n}")
              for col, n, d in zip(cols, names, defaults, strict=True)]
    if abs(sum(values) - 100) > 1e-6:
        st.error(labels("shares_must_sum", total=f"{sum(values):g}"))
        return None
    return tuple(v / 100 for v in values)
