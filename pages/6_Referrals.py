"""Referrals tracker: visit teams see their areas' referrals, a partner only those made to it,
and move them on (made -> accepted -> engaged -> closed). Analysts read them; only the visit
team and the partner the referral was made to may move one on (`referrals.movable`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hardening.errors import HardeningError
from hardening.visits.models import REFERRAL_STATUSES, ReferralUpdate
from hardening.visits.referrals import NEXT, list_referrals, movable, update_referral
from ui.labels import day, word
from ui.session import as_actor, require_actor

COLUMNS = {  # the service's keys -> the table's headings
    "referral_id": "Referral",
    "made_on": "Made on",
    "partner_name": "Partner",
    "service": "Service",
    "status": "Status",
    "outcome": "Outcome",
}

actor = require_actor()
st.title("Referrals")
status = st.selectbox(
    "Status",
    [None, *REFERRAL_STATUSES],
    format_func=lambda s: "any" if s is None else word(s),
    key="status",
)
try:
    with as_actor(actor) as conn:
        rows = list_referrals(conn, "referrals tracker: work queue", status=status)
        may_move = movable(conn, [r.referral_id for r in rows if NEXT[r.status]])
except HardeningError as exc:
    st.error(str(exc))
    st.stop()
st.caption(f"{len(rows)} referrals you may see")
if not rows:
    st.info("No referrals to show.")
    st.stop()
frame = pd.DataFrame([r.as_dict() for r in rows])[list(COLUMNS)]
frame["made_on"] = frame["made_on"].map(day)
frame["service"] = frame["service"].map(word)
frame["status"] = frame["status"].map(word)
frame["referral_id"] = frame["referral_id"].astype(str)
st.dataframe(
    frame,
    hide_index=True,
    column_config={key: st.column_config.Column(label) for key, label in COLUMNS.items()},
)
open_rows = [r for r in rows if r.referral_id in may_move]
if not open_rows:
    st.caption(
        "You may read these referrals; the visit team that made one and the partner it was "
        "made to move it on."
    )
    st.stop()
st.subheader("Move a referral on")
by_id = {r.referral_id: r for r in open_rows}
chosen = st.selectbox(
    "Referral",
    list(by_id),
    key="chosen",
    format_func=lambda i: (
        f"{i}: {word(by_id[i].service).lower()} ({by_id[i].status}, {day(by_id[i].made_on)})"
    ),
)
current = by_id[chosen]
new_status = st.selectbox("New status", NEXT[current.status], format_func=word, key="new_status")
outcome = st.text_input("Outcome", key="outcome")
if st.button("Update", type="primary", key="update"):
    try:
        with as_actor(actor) as conn:
            update_referral(
                conn,
                chosen,
                ReferralUpdate(status=new_status, outcome=outcome or None, version=current.version),
            )
    except HardeningError as exc:
        st.error(str(exc))
    else:
        st.success(f"Referral {chosen} is now {new_status}.")
