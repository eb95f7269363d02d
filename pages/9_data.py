"""数据管理 Data: what the warehouse holds, its version history, and table exports."""

import pandas as pd
import streamlit as st

from analytics import warehouse
from ui import data, widgets
from ui.frame import frame

ctx = frame("data")
labels = ctx.labels
st.write(labels("data_intro"))

st.subheader(labels("data_tables"))
summary = pd.DataFrame(ctx.cached_unfiltered(warehouse.table_summary))
summary["table"] = labels.values("table", summary["table"]) + " (" + summary["table"] + ")"
summary["rows"] = summary["rows"].map(lambda n: labels.number(n) if pd.notna(n)
                                      else labels("absent"))
widgets.table(labels, summary, key="tables", filename="tables")

st.subheader(labels("data_versions"))
history = pd.DataFrame([{"version": v.version, "created": v.created,
                         "action": labels.value("action", v.action), "note": v.note,
                         "current": "✔" if v.current else ""}
                        for v in data.warehouse().versions()])
st.dataframe(history.rename(columns=labels.column), hide_index=True, width="stretch")

st.subheader(labels("data_export"))
present = [r["table"] for r in ctx.cached_unfiltered(warehouse.table_summary)
           if r["rows"] is not None]
name = st.selectbox(labels("data_export_pick"), present, key="export_table",
                    format_func=lambda t: f"{labels.value('table', t)} ({t})")
if name:
    frame_ = ctx.cached_unfiltered(warehouse.export_table, name=name)
    st.caption(f"{labels.number(len(frame_))} {labels('col_rows')}")
    widgets.table(labels, frame_, key="export_preview", filename=name, preview_rows=200,
                  translate=False)
