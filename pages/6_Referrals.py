"""Referrals tracker: visit teams see their areas' referrals, a partner only those made to it,
and moves them on (made -> accepted -> engaged -> closed)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from hardening.errors import HardeningError
from hardening.visits.models import REFERRAL_STATUSES, ReferralUpdate
from hardening.visits.referrals import NEXT, list_referrals, update_referral
from ui.session import as_actor, require_actor

actor = require_actor()
st.title("Referrals")
status = st.selectbox(
    "Status",
    [None, *REFERRAL_STATUSES],
    format_func=lambda s: "any" if s is None else s,
    key="status",
)
try:
    with as_actor(actor) as conn:
        rows = list_referrals(conn, "referrals tracker: work queue", status=status)
except HardeningError as exc:
    st.error(str(exc))
    st.stop()
st.caption(f"{len(rows)} referrals you may see")
if not rows:
    st.info("No referrals to show.")
    st.stop()
frame = pd.DataFrame(rows)
st.dataframe(
    frame[["referral_id", "made_on", "partner_name", "service", "status", "outcome"]],
    hide_index=True,
)
open_rows = [r for r in rows if NEXT[r["status"]]]
if open_rows:
    st.subheader("Move a referral on")
    by_id = {r["referral_id"]: r for r in open_rows}
    chosen = st.selectbox(
        "Referral",
        list(by_id),
        key="chosen",
        format_func=lambda i: (
            f"{i}: {by_id[i]['service'].replace('_', ' ')} ({by_id[i]['status']})"
        ),
    )
    current = by_id[chosen]
    new_status = st.selectbox("New status", NEXT[current["status"]], key="new_status")
    outcome = st.text_input("Outcome", key="outcome")
    if st.button("Update", type="primary", key="update"):
        try:
            with as_actor(actor) as conn:
                update_referral(
                    conn,
                    chosen,
                    ReferralUpdate(
                        status=new_status, outcome=outcome or None, version=current["version"]
                    ),
                )
        except HardeningError as exc:
            st.error(str(exc))
        else:
            st.success(f"Referral {chosen} is now {new_status}.")
