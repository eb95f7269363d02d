"""审计日志 Audit log: logins, failures, lockouts, imports, rollbacks, exports (admins only)."""

import pandas as pd
import streamlit as st

from analytics.ops import users
from ui import widgets
from ui.frame import frame

ctx = frame("audit", needs_data=False)
labels = ctx.labels
if ctx.scope.level != "admin":
    st.info(labels("admin_only"))
    st.stop()
if ctx.scope.single_user:
    st.caption(labels("audit_single_user"))
events = pd.DataFrame(users.read_audit())
if events.empty:
    st.info(labels("audit_empty"))
    st.stop()
kinds = sorted(events["event"].unique())
chosen = st.multiselect(labels("audit_events"), kinds, default=kinds, key="audit_events")
shown = events[events["event"].isin(chosen)].fillna("")
widgets.table(labels, shown, key="audit", filename="audit_log", preview_rows=500)
