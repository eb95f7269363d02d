"""The follow-up pieces a page other than the follow-up page shows: the customer card's
history and its "follow up" form, which keeps why the customer was on the list it was opened
from (widgets.followup_context)."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from analytics.domain import followups as fu
from analytics.store import followups as store
from ui import widgets
from ui.frame import Context


def card_section(ctx: Context, customer_id: str, name: str | None) -> None:
    labels = ctx.labels
    desk = ctx.followup_desk()
    came = st.session_state.get("card_followup") or {}
    came = came if came.get("customer_id") == customer_id else {}
    try:
        mine = desk.of_customer(customer_id)
    except store.FollowUpError as err:  # the card stands without its follow-ups
        st.caption(labels(f"fu_error_{err.code}"))
        return
    open_n = int((mine["status"] == "open").sum())
    today = date.today()
    message = st.session_state.pop("card_fu_message", None)
    with st.expander(labels("fu_card_title", n=open_n), icon="📋",
                     expanded=bool(came) or message is not None):
        if message:
            st.success(message)
        if came:
            st.caption(labels("fu_card_from", source=labels.value("fu_source", came["source"]),
                              reason=widgets.plain(labels.value("fu_reason", came["reason"]))))
        if len(mine):
            shown = fu.shown(fu.with_lateness(mine, today=today),
                             ("id", "created_at", "fu_action", "assignee", "due", "days_late",
                              "done_at", "outcome", "outcome_note", "note"))
            widgets.table(labels, shown, key="card_followups", filename=f"{customer_id}_followups",
                          alert="days_late", counts=("days_late",))
        with st.form("card_fu_form", clear_on_submit=True, border=False):
            c1, c2, c3 = st.columns(3)
            action = c1.selectbox(labels("fu_action"), store.ACTIONS, key="card_fu_action",
                                  format_func=lambda a: labels.value("fu_action", a))
            due = c2.date_input(labels("fu_due"), value=today + timedelta(days=7),
                                min_value=today, key="card_fu_due")
            options = desk.assignable()
            owner = desk.owners.get(customer_id)
            assignee = c3.selectbox(labels("fu_assignee"), options, key="card_fu_assignee",
                                    index=options.index(owner) if owner in options else 0)
            note = st.text_input(labels("fu_note"), max_chars=store.MAX_NOTE, key="card_fu_note")
            if st.form_submit_button(labels("fu_add_button"), type="primary"):
                new = store.New(customer_id=customer_id, customer_name=name, assignee=assignee,
                                due=due, action=action, note=note,
                                source=str(came.get("source") or "card"),
                                reason=came.get("reason"), probability=came.get("probability"),
                                risk_band=came.get("risk_band"), tier=came.get("tier"))
                try:
                    desk.add(new)
                except store.FollowUpError as err:
                    st.error(labels(f"fu_error_{err.code}"))
                else:
                    st.session_state.pop("card_followup", None)
                    st.session_state["card_fu_message"] = labels(
                        "fu_added", name=widgets.plain(name or customer_id))
                    st.rerun()
