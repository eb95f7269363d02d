"""跟进 Follow-ups: my open follow-ups first (overdue in red), the team's for a manager, done
with an outcome in a few taps, reassigned, and whether following up worked."""

from datetime import date, timedelta

import streamlit as st

from analytics.display import followup_words
from analytics.domain import followups
from analytics.store import followups as store
from ui import widgets
from ui.frame import frame

ctx = frame("followups")
labels = ctx.labels
desk = ctx.followup_desk()
today = date.today()
try:
    # the open ones: a page's lists and forms (the done and the comparison read theirs when
    # opened: 200,000 follow-ups take seconds to read, the open ones milliseconds)
    rows = desk.frame(status="open")
except store.FollowUpError as err:  # a damaged or unreadable store: one sentence, no trace
    st.error(labels(f"fu_error_{err.code}"))
    st.stop()
work = followups.work_list(rows, today=today, mine=desk.mine)
mine = work[work["mine"]]


def _written(message: str) -> None:
    st.session_state["fu_message"] = message
    st.rerun()


if (message := st.session_state.pop("fu_message", None)) is not None:
    st.success(message)

st.subheader(labels("fu_mine"))
# one line, not three cards: on a phone the list and the form must show without scrolling
st.markdown(labels("fu_counts", mine=f"{len(mine):,}", late=f"{int(mine['overdue'].sum()):,}",
                   seen=f"{len(work):,}"))
if mine.empty:
    st.caption(labels("fu_none_mine"))
else:
    widgets.table(labels, followups.shown(mine), key="fu_mine_list", filename="my_followups",
                  alert="days_late", counts=("days_late",))
    labelled = {int(r["id"]): followup_words.picker_label(labels, r)
                for r in mine.to_dict("records")}
    with st.form("fu_done_form", clear_on_submit=True, border=True):
        st.markdown(f"**{labels('fu_record')}**")
        picked = st.selectbox(labels("fu_pick"), list(labelled), format_func=labelled.get,
                              key="fu_done_pick")
        outcome = st.selectbox(labels("fu_outcome"), store.OUTCOMES, key="fu_done_outcome",
                               format_func=lambda o: labels.value("fu_outcome", o))
        note = st.text_input(labels("fu_outcome_note"), max_chars=store.MAX_NOTE,
                             key="fu_done_note")
        if st.form_submit_button(labels("fu_done_button"), type="primary",
                                 width="stretch"):
            try:
                desk.done(int(picked), outcome=outcome, note=note)
            except store.FollowUpError as err:
                st.error(labels(f"fu_error_{err.code}"))
            else:
                _written(labels("fu_done_saved"))

if desk.can_assign:
    team = work[~work["mine"]]
    st.subheader(labels("fu_team"))
    counts = followups.open_by_rep(rows, today=today)
    if counts.empty:
        st.caption(labels("fu_none_team"))
    else:
        widgets.table(labels, counts, key="fu_by_rep", filename="followups_by_rep",
                      counts=("open_followups", "overdue_followups"))
        widgets.table(labels, followups.shown(team), key="fu_team_list", filename="team_followups",
                      alert="days_late", counts=("days_late",), preview_rows=200)
        every = {int(r["id"]): f"{followup_words.picker_label(labels, r)} · {r['assignee']}"
                 for r in work.to_dict("records")}
        with st.form("fu_reassign_form", border=True):
            st.markdown(f"**{labels('fu_reassign')}**")
            which = st.selectbox(labels("fu_pick"), list(every), format_func=every.get,
                                 key="fu_re_pick")
            to = st.selectbox(labels("fu_assignee"), desk.assignable(), key="fu_re_to")
            if st.form_submit_button(labels("fu_reassign_button")):
                try:
                    desk.reassign(int(which), to=to)
                except store.FollowUpError as err:
                    st.error(labels(f"fu_error_{err.code}"))
                else:
                    _written(labels("fu_reassigned", name=to))

with st.expander(labels("fu_new"), icon="📝"):
    st.caption(labels("fu_new_hint"))
    pickable = desk.pickable
    with st.form("fu_new_form", clear_on_submit=True, border=False):
        customer = st.selectbox(labels("fu_customer"), list(pickable), index=None,
                                placeholder=labels("fu_customer_hint"),
                                format_func=pickable.__getitem__, key="fu_new_customer")
        c1, c2 = st.columns(2)
        action = c1.selectbox(labels("fu_action"), store.ACTIONS, key="fu_new_action",
                              format_func=lambda a: labels.value("fu_action", a))
        due = c2.date_input(labels("fu_due"), value=today + timedelta(days=7),
                            min_value=today, key="fu_new_due")
        options = desk.assignable()
        assignee = st.selectbox(labels("fu_assignee"), options, key="fu_new_assignee")
        note = st.text_input(labels("fu_note"), max_chars=store.MAX_NOTE, key="fu_new_note")
        if st.form_submit_button(labels("fu_add_button"), type="primary"):
            if customer is None:
                st.error(labels("fu_error_customer"))
            else:
                try:
                    desk.add(store.New(customer_id=customer, assignee=assignee, due=due,
                                       action=action, note=note, source="followups"))
                except store.FollowUpError as err:
                    st.error(labels(f"fu_error_{err.code}"))
                else:
                    _written(labels("fu_added", name=desk.names.get(customer, customer)))

done_list = st.expander(labels("fu_done_list"), key="fu_done_open", on_change="rerun")
if done_list.open:
    with done_list:
        done = desk.frame(status="done")
        st.caption(labels("fu_done_count", n=f"{len(done):,}"))
        widgets.table(labels, followups.shown(done, followups.SHOWN_DONE),
                      key="fu_done_table", filename="followups_done", preview_rows=200)

st.header(labels("fu_effect_title"))
st.caption(labels("fu_effect_intro"))
if desk.store.empty():  # nothing to judge: say so at once, not behind a click
    st.info(labels("fu_effect_empty"))
    st.stop()
# computed when opened (seconds on a large book, once per version and scope): the lists above
# are what most visits come for, and they must not wait for it
judged = st.expander(labels("fu_effect_open"), icon="📊", key="fu_effect_open",
                     on_change="rerun")
if not judged.open:
    st.stop()
with judged:
    asked = desk.frame(columns=followups.JUDGED)
    if asked.empty:  # nothing to judge, and nothing to compute
        st.info(labels("fu_effect_empty"))
        st.stop()
    # only who was followed up by the data's end, how and by whom renews it (not an outcome
    # recorded, nor today's follow-ups: their windows end after the data)
    with st.spinner(labels("fu_effect_running")):
        overall, by_action_rows, by_rep_rows = ctx.cached(
            followups.effect_tables, store=str(desk.store.path),
            mark=followups.judged_mark(asked, end=ctx.data_end))
    if overall["followed"].max() == 0:
        st.info(labels("fu_effect_none"))
        st.stop()
    said = followup_words.statement(labels, overall)
    if said:
        st.markdown(said)
    st.info(followup_words.verdict(labels, overall))
    PCT = ("followed_pct", "comparable_pct", "difference_pts", "low_pts", "high_pts")
    widgets.table(labels, overall, key="fu_effect", filename="followup_effect", percent=PCT,
                  signed=("difference_pts",), counts=("followed", "comparable"))
    by_action, by_rep = st.tabs([labels("fu_by_action"), labels("fu_by_rep")])
    with by_action:
        widgets.table(labels, by_action_rows.rename(columns={"action": "fu_action"}),
                      key="fu_effect_action", filename="followup_effect_by_action",
                      percent=PCT, signed=("difference_pts",),
                      counts=("followed", "comparable"))
    with by_rep:
        widgets.table(labels, by_rep_rows, key="fu_effect_rep",
                      filename="followup_effect_by_rep", percent=PCT,
                      signed=("difference_pts",), counts=("followed", "comparable"))
    st.caption(labels("fu_effect_caveat", least=followups.MIN_FOLLOWED))
