"""客户评级 Grading: the method's weighted factor table, what-if weights, value view, funnel."""

import pandas as pd
import streamlit as st

from analytics.display import charts
from analytics.domain import customers, grading
from analytics.store.frames import select
from ui import widgets
from ui.frame import frame

ctx = frame("grading")
labels, period = ctx.labels, ctx.filters.period
st.caption(labels("grading_intro"))

# -- weights (what-if) and cut-offs -------------------------------------------------------
version = st.session_state.setdefault("grading_weights_version", 0)
coverage = ctx.cached(grading.factor_coverage, period=period)
left, right = st.columns([3, 2])
with left:
    st.subheader(labels("grading_weights"))
    editor = pd.DataFrame({
        "factor": [labels.value("factor", f) for f in coverage["factor"]],
        "source": [labels.value("source", s) for s in coverage["source"]],
        "weight": [w for _, w in grading.DEFAULT_WEIGHTS],
        "coverage": coverage["coverage"] * 100,
        "status": [labels("has_data") if h else labels("no_data") for h in coverage["has_data"]],
    })
    edited = st.data_editor(
        editor, key=f"grading_weights_{version}", hide_index=True,
        disabled=["factor", "source", "coverage", "status"], height=35 * 14 + 3,
        column_config={c: labels.column(c) for c in ("factor", "source", "status")} | {
            "weight": st.column_config.NumberColumn(labels.column("weight"), min_value=0,
                                                    max_value=100, step=1),
            "coverage": st.column_config.NumberColumn(labels.column("coverage"),
                                                      format="%.0f")})
    if st.button(labels("reset_weights"), key="reset_weights"):
        st.session_state["grading_weights_version"] = version + 1
        st.rerun()
weights = tuple(zip(grading.FACTOR_KEYS, edited["weight"].fillna(0).astype(float),
                    strict=True))
with right:
    st.subheader(labels("grading_cutoffs"))
    mode = st.radio(labels("band_mode"), ("quantile", "absolute"), horizontal=True,
                    key="grading_mode", format_func=lambda m: labels.value("band_mode", m))
    bands: list[tuple[str, tuple[float, float, float]]] = []
    if mode == "absolute":
        for f in grading.FACTORS:
            if f.bands_wan is None:
                continue
            cols = st.columns(3)
            cuts = tuple(col.number_input(f"{labels.value('factor', f.key)} L{lv} (万元)",
                                          min_value=0.0, value=float(v), step=1.0,
                                          key=f"band_{f.key}_{lv}")
                         for col, lv, v in zip(cols, (2, 3, 4), f.bands_wan, strict=True))
            if not cuts[0] <= cuts[1] <= cuts[2]:
                st.error(labels("threshold_order"))
                st.stop()
            bands.append((f.key, cuts))  # type: ignore[arg-type]

result = ctx.cached(grading.grade, period=period, weights=weights, mode=mode,
                    bands_wan=tuple(bands))
if sum(w for _, w in weights) <= 0 or result.customers["score"].notna().sum() == 0:
    st.warning(labels("no_weights"))
    st.stop()
with right:
    st.dataframe(pd.DataFrame([{labels.column("factor"): labels.value("factor", k),
                                "L2": labels.money(c[0]), "L3": labels.money(c[1]),
                                "L4": labels.money(c[2])} for k, c in result.cutoffs.items()]),
                 hide_index=True)
    st.caption(labels("cutoffs_note"))
    used = result.factors[result.factors["effective_weight"] > 0]
    st.caption(labels("effective_weights") + " " + " · ".join(
        f"{labels.value('factor', f)} {w:.0%}" for f, w in zip(used["factor"],
                                                              used["effective_weight"],
                                                              strict=True)))

# -- grades and classes ---------------------------------------------------------------------
graded = result.customers
counts = grading.grade_counts(graded)
g1, g2 = st.columns(2)
g1.plotly_chart(charts.grade_bars(counts, labels), key="grade_bars")
with g2:
    st.subheader(labels("class_summary"))
    widgets.table(labels, grading.grade_summary(graded), key="class_summary",
                  filename="grading_classes", money=("sales_cny", "gross_profit_cny"))
st.subheader(labels("graded_customers"))
with_data = [f for f, has in zip(result.factors["factor"], result.factors["has_data"],
                                 strict=True) if has]  # no empty columns (a rep has no profit)
columns = ["customer_id", "name", "type", "sales_rep", "grade", "class", "score",
           "factors_used", *with_data]
widgets.customer_table(labels, select(grading.graded_only(graded), columns).rename(
    columns={k: labels.value("factor", k) for k in grading.FACTOR_KEYS}),
    key="graded_customers", filename="grades", preview_rows=widgets.PREVIEW_ROWS)

tiers = ctx.cached(customers.pyramid, period=period,
                   metric=ctx.cached(customers.available_metrics)[0])
gaps = grading.disagreements(graded, tiers)
st.subheader(labels("disagreements_title", n=len(gaps)))
st.caption(labels("disagreements_intro"))
widgets.customer_table(labels, select(gaps, ("customer_id", "name", "grade", "tier", "gap",
                                                "score")),
                       key="disagreements", filename="grade_tier_disagreements",
                       preview_rows=widgets.PREVIEW_ROWS)

# -- current value / future value -----------------------------------------------------------
st.header(labels("value_view_title"))
st.caption(labels("value_view_intro"))
with st.expander(labels("value_weights")):
    cols = st.columns(6)
    value_weights = tuple((k, col.number_input(labels.value("value_factor", k), 0.0, 1.0,
                                               float(w), 0.05, key=f"vv_{k}"))
                          for col, (k, w) in zip(cols, grading.VALUE_WEIGHTS, strict=True))
view = ctx.cached(grading.value_view, period=period, weights=value_weights)
v1, v2 = st.columns([3, 2])
v1.plotly_chart(charts.value_quadrants(view, labels), key="value_quadrants")
with v2:
    widgets.table(labels, grading.quadrant_counts(view), key="quadrants",
                  filename="value_quadrants")
    st.plotly_chart(charts.stage_funnel(ctx.cached(grading.stage_funnel), labels),
                    key="stage_funnel")
