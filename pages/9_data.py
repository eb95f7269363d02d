"""数据管理 Data: import your own files, see the tables, roll back versions, get templates."""

import pandas as pd
import streamlit as st

from analytics.ops import background, ingest, sample, users
from analytics.ops.ingest.mapping import fields
from analytics.ops.ingest.templates import TEMPLATES_DIR
from analytics.store import warehouse
from ui import data, widgets
from ui.frame import frame

ctx = frame("data", needs_data=False)
labels = ctx.labels
wh = data.warehouse()
st.write(labels("data_intro"))
if done := st.session_state.pop("import_done", None):
    st.success(labels("import_done", **done))
if wh.exists():
    # an import is visible at once; what is kept with it is derived in the background
    derive_state = wh.derive_state()
    if derive_state == "running":
        st.info(labels("derive_running", version=wh.version))
    elif derive_state == "missing":
        st.warning(labels("derive_missing", version=wh.version))
        if ctx.scope.can_import and st.button(labels("derive_button"), key="derive_now"):
            background.derive_later(wh, wh.version)
            st.caption(labels("derive_started"))

tab_import, tab_tables, tab_versions, tab_templates = st.tabs([
    labels("import_title"), labels("data_tables"), labels("data_versions"),
    labels("templates_title")])

with tab_import:
    if not ctx.scope.can_import:
        st.info(labels("admin_only"))
    else:
        target = st.selectbox(labels("import_target"), ingest.TARGETS, key="import_target",
                              format_func=lambda t: labels.value("target", t))
        required = [f.name for f in fields(target) if f.required]
        st.caption(labels("import_target_help_transactions") if target == "transactions" else
                   labels("import_required", fields=", ".join(required)))
        n = st.session_state.setdefault("upload_round", 0)
        upload = st.file_uploader(labels("upload_label"), type=["csv", "txt", "tsv", "xlsx"],
                                  key=f"upload_{n}",
                                  help=labels("upload_limit",
                                              limit=f"{ingest.read.MAX_UPLOAD_MB:g}"))
        if upload is not None:
            payload = upload.getvalue()
            sheet = st.session_state.get(f"sheet_{n}")
            try:
                with st.spinner(labels("import_reading")):
                    raw = data.read_upload(payload, upload.name, sheet)
            except ingest.IngestError as err:
                st.error(labels(f"ingest_{err.code}", **widgets.plain_params(err.params)))
                st.stop()
            if len(raw.sheets) > 1:
                st.selectbox(labels("import_sheet"), raw.sheets, key=f"sheet_{n}")
            st.caption(labels("import_detected", encoding=raw.encoding or "xlsx",
                              delimiter=labels("import_fixed_width")
                              if raw.delimiter == ingest.read.FIXED_WIDTH
                              else repr(raw.delimiter) if raw.delimiter else "—",
                              line=raw.header_row + 1, rows=f"{len(raw.frame):,}",
                              columns=len(raw.frame.columns)))
            columns = list(raw.frame.columns)
            suggested = ingest.mapping_for(wh, columns, target)
            # each field in the user's language with its unit; * = required
            names = {f.name: f"{labels.field(f.name)}{' *' if f.required else ''}"
                     for f in fields(target)}
            none = labels("import_skip_column")
            st.subheader(labels("import_mapping"))
            st.caption(labels("import_mapping_help"))
            sample_values = raw.examples()
            edited = st.data_editor(
                pd.DataFrame({"source_column": columns, "sample": sample_values,
                              "target_field": [names.get(suggested.get(c) or "", none)
                                               for c in columns]}),
                key=f"mapping_{n}_{target}", hide_index=True, disabled=["source_column", "sample"],
                column_config={
                    "source_column": labels.column("source_column"),
                    "sample": labels.column("sample"),
                    "target_field": st.column_config.SelectboxColumn(
                        labels.column("target_field"), options=[none, *names.values()],
                        required=True)})
            back = {v: k for k, v in names.items()}
            mapping = {c: back.get(v) for c, v in zip(columns, edited["target_field"], strict=True)}
            unmapped = [c for c, f in mapping.items() if not f]
            if unmapped:
                st.caption(labels("import_unmapped", columns=widgets.plain("、".join(unmapped))))
            constants: dict[str, str] = {}
            fill = ingest.constant_fields(target, mapping)
            if fill:  # e.g. a futures file of date + close: name its product once
                st.caption(labels("import_constants_help"))
                guess = ingest.guess_constants(upload.name, target)
                boxes = st.columns(len(fill))
                for box, name in zip(boxes, fill, strict=True):
                    constants[name] = box.text_input(labels("import_constant", field=name),
                                                     value=guess.get(name, ""),
                                                     key=f"const_{n}_{target}_{name}")
            mode = st.radio(labels("import_mode"), ingest.load.MODES, horizontal=True,
                            key="import_mode", format_func=lambda m: labels.value("import_mode", m))
            if mode == "replace":
                st.caption(labels("import_replace_tx" if target == "transactions"
                                  else "import_replace_table"))
            decimal = None
            if raw.decimal in (",", "?"):  # the file's numbers use, or may use, a comma
                marks = [".", ","]
                decimal = st.radio(labels("import_decimal_pick"), marks, horizontal=True,
                                   index=None if raw.decimal == "?" else 1,
                                   key=f"decimal_{n}", format_func=lambda m: labels(
                                       "import_decimal_comma" if m == "," else
                                       "import_decimal_dot"))
            keep_repeats = bool(st.session_state.get(f"keep_repeats_{n}", False))
            allow_orphans = bool(st.session_state.get(f"allow_orphans_{n}", False))
            import_again = bool(st.session_state.get(f"import_again_{n}", False))
            with st.spinner(labels("import_checking")):
                plan = data.plan_upload(payload, upload.name, sheet, target,
                                        tuple(mapping.items()), mode, data.version_key(wh),
                                        tuple(constants.items()), decimal=decimal,
                                        keep_repeats=keep_repeats, allow_orphans=allow_orphans,
                                        import_again=import_again)
            for code, params in plan.blocking:
                st.error(labels(f"ingest_{code}", **widgets.plain_params(params)))
                if code == "would_orphan":
                    st.checkbox(labels("import_allow_orphans"), key=f"allow_orphans_{n}")
            if not plan.blocking:
                for code, params in plan.notes:
                    st.caption(labels(f"import_note_{code}", **widgets.plain_params(params)))
                if plan.left_out or keep_repeats or import_again:
                    st.info(labels("import_left_out",
                                   subtotal=labels.number(plan.left_out.get("subtotal_line", 0)),
                                   repeats=labels.number(plan.left_out.get("exact_repeat", 0)),
                                   already=labels.number(plan.left_out.get("already_imported",
                                                                           0))))
                    if plan.left_out.get("exact_repeat") or keep_repeats:
                        st.checkbox(labels("import_keep_repeats"), key=f"keep_repeats_{n}")
                    if (plan.left_out.get("already_imported") or import_again) and \
                            "order_id" not in mapping.values():
                        st.checkbox(labels("import_again"), key=f"import_again_{n}")
                counts = plan.summary()
                k = st.columns(4)
                k[0].metric(labels("import_rows"), f"{counts['rows']:,}")
                k[1].metric(labels("import_good"), f"{counts['good']:,}")
                k[2].metric(labels("import_bad"), f"{counts['bad']:,}")
                k[3].metric(labels("import_warnings"), f"{counts['warnings']:,}")
                if len(plan.problems):
                    st.subheader(labels("import_report"))
                    # what blocks first, grouped by reason with examples; the full list below
                    summary = ingest.problem_summary(plan.problems)
                    summary = summary.assign(
                        problem=labels.coded("problem", summary["problem"]),
                        severity=labels.coded("severity", summary["severity"]))
                    widgets.table(labels, summary, key="import_summary",
                                  filename="import_summary", counts=("problem_lines",))
                    problems = plan.problems

                    def worded(lines: pd.DataFrame) -> pd.DataFrame:
                        # "value" is the cell as the file wrote it (价值 elsewhere: worth)
                        return lines.assign(problem=labels.coded("problem", lines["problem"]),
                                            severity=labels.coded("severity",
                                                                  lines["severity"])
                                            ).rename(columns={"value": "cell_value"})
                    with st.expander(labels("import_report_all", rows=labels.number(
                            len(problems)))):
                        # the lines on screen put into words on each rerun, the whole list
                        # when downloaded (half a million lines took a fifth of a decision)
                        widgets.table(labels, worded(problems.head(widgets.PREVIEW_ROWS)),
                                      key="import_report", filename="import_report",
                                      whole=(lambda: worded(problems), len(problems)))
                main_table = "orders" if target == "transactions" else target
                st.subheader(labels("import_preview"))
                if len(plan.frames[main_table]):
                    st.dataframe(plan.frames[main_table].head(20).rename(columns=labels.column),
                                 hide_index=True, placeholder=widgets.MISSING)
                else:  # an empty grid reads "empty" in English on every page
                    st.caption(labels("import_preview_none"))
                skip = st.checkbox(labels("import_skip_bad", rows=f"{plan.rows_bad:,}"),
                                   key="import_skip") if plan.rows_bad else False
                go, cancel = st.columns([1, 5])
                clicked = go.button(labels("import_button"), type="primary",
                                    disabled=bool(plan.rows_bad and not skip)
                                    or not plan.rows_good)
                if cancel.button(labels("import_cancel")):
                    st.session_state["upload_round"] = n + 1
                    st.rerun()
                if clicked:
                    with st.status(labels("import_running"), expanded=True) as status:
                        bar = st.progress(0.0)
                        try:
                            version = ingest.run_import(
                                wh, plan, columns=columns, user=ctx.scope.user, via="app",
                                skip_bad=skip, background=True,
                                progress=lambda f, what: bar.progress(f, text=labels(
                                    "import_storing") if what == ingest.STORING else what))
                        except ingest.IngestError as err:
                            status.update(state="error")
                            st.error(labels(f"ingest_{err.code}",
                                            **widgets.plain_params(err.params)))
                            st.stop()
                    st.session_state["import_done"] = {"version": version,
                                                       "rows": f"{plan.rows_good:,}"}
                    st.session_state["upload_round"] = n + 1
                    st.rerun()

with tab_tables:
    if wh.exists():
        summary = pd.DataFrame(ctx.cached_unfiltered(warehouse.table_summary))
        counts = {r["table"]: int(r["rows"]) for r in summary.to_dict("records")
                  if pd.notna(r["rows"])}
        present = list(counts)
        summary["table"] = labels.values("table", summary["table"]) + " (" + \
            summary["table"] + ")"
        summary["rows"] = summary["rows"].map(lambda v: labels.number(v) if pd.notna(v)
                                              else labels("absent"))
        widgets.table(labels, summary, key="tables", filename="tables")
        st.subheader(labels("data_export"))
        name = st.selectbox(labels("data_export_pick"), present, key="export_table",
                            format_func=lambda t: f"{labels.value('table', t)} ({t})")
        if name:
            head = ctx.cached_unfiltered(warehouse.export_table, name=name,
                                         rows=widgets.PREVIEW_ROWS)
            st.caption(f"{labels.number(counts[name])} {labels('col_rows')}")
            # taken now (scoped, unfiltered, like the preview): the download runs at its click
            scoped = data.scoped_tables(ctx.version, ctx.scope, None)
            widgets.table(labels, head, key="export_preview", filename=name, translate=False,
                          whole=(lambda: warehouse.export_table(scoped, name), counts[name]))
    else:
        st.info(labels("no_warehouse"))

with tab_versions:
    # the history names files and who imported them: the data owner's business only
    versions = wh.versions() if ctx.scope.can_import else []
    if not ctx.scope.can_import:
        st.info(labels("versions_admin_only", version=wh.version))
    history = pd.DataFrame([{"version": v.version, "created": v.created,
                             "action": labels.value("action", v.action), "note": v.note,
                             "user": v.user, "current": "✔" if v.current else ""}
                            for v in versions])
    if len(history):
        st.dataframe(history.rename(columns=labels.column), hide_index=True, width="stretch",
                     placeholder=widgets.MISSING)
        older = [v.version for v in versions if not v.current]
        if older and ctx.scope.can_import:
            pick = st.selectbox(labels("rollback_pick"), older, key="rollback_pick")
            if st.button(labels("rollback_button"), key="rollback_button"):
                wh.rollback(pick)
                users.audit("rollback", user=ctx.scope.user, version=pick)
                st.session_state["import_done"] = {"version": pick, "rows": "—"}
                st.rerun()
    if ctx.scope.can_import and st.button(labels("restore_demo"), key="restore_demo"):
        with st.status(labels("restore_running")):
            bar = st.progress(0.0)
            # the demo's follow-up history comes back with it (users' own follow-ups stay)
            version = sample.build(wh, progress=lambda f, what: bar.progress(f, text=what),
                                   followups=data.followup_store())
        users.audit("restore_demo", user=ctx.scope.user, version=version)
        st.session_state["import_done"] = {"version": version, "rows": labels("demo_rows")}
        st.rerun()

with tab_templates:
    st.caption(labels("templates_help"))
    folder = TEMPLATES_DIR
    for target in ingest.TARGETS:
        cols = st.columns([3, 1, 1])
        cols[0].write(f"**{labels.value('target', target)}** ({target})")
        for col, suffix in zip(cols[1:], ("csv", "xlsx"), strict=True):
            path = folder / f"{target}.{suffix}"
            if path.exists():
                col.download_button(suffix.upper(), path.read_bytes(), file_name=path.name,
                                    key=f"template_{target}_{suffix}")
