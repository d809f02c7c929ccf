"""Sign-in for the Streamlit pages: the same users as the API, a server-side session that the
database checks in every transaction (it ends after 30 idle minutes, 8 hours, a sign-out, or
when the user is deactivated), the one way a page gets its engine and actor, and which pages a
signed-in user may use (`PAGES`, `usable_pages`: app.py lists only those in the sidebar)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

import streamlit as st
from sqlalchemy import Connection, Engine, text

from hardening.db.engine import NOBODY, Actor, app_engine, transaction
from hardening.errors import AuthenticationError, DatabaseUnavailableError, HardeningError
from hardening.security.users import sign_in, sign_out
from hardening.settings import get_settings

SESSION_SECONDS = 8 * 3600  # one shift (the database's limit too: auth_session_lifetime)
_ACTOR = "actor"
_EXPIRES = "actor_expires_at"
_ENDED = "session_ended"
ACCESS_TTL_S = 60  # an agreement that ends (or a new one) shows in the menu within a minute


@dataclass(frozen=True)
class PageRule:
    """A page and who may use it: `may` is an SQL condition over the named access predicates
    and role sets of sql/029 (the ones its service functions and the row-level security
    policies call), asked of the database as the user. No condition: everyone."""

    slug: str  # its URL path ("" for the map, app.py's own page)
    script: str  # the file beside app.py ("" for the map)
    title: str  # the menu entry
    may: str = "true"


# The one place that says who uses which page, in menu order (the map first).
PAGES: Final[tuple[PageRule, ...]] = (
    PageRule("", "", "Map"),
    # markers.records.require_police
    PageRule("Control_room", "pages/2_Control_room.py", "Control room", "app_reads_markers()"),
    # the risk_scores policy; planners get aggregates on the Planning page
    PageRule("Risk", "pages/3_Risk.py", "Risk", "app_sees_scores()"),
    # coverage.data.planning_areas
    PageRule("Planning", "pages/4_Planning.py", "Planning",
             "app_has_any_role(app_planning_roles())"
             " AND app_classes() && '{sites,aggregates_only}'"),
    # visits.service.may_record
    PageRule("Visits", "pages/5_Visits.py", "Visits", "app_writes_visits()"),
    # referrals policies: police case workers in their areas; a partner's visit workers the
    # referrals made to it. Not the control room.
    PageRule("Referrals", "pages/6_Referrals.py", "Referrals",
             "app_has_any_role(app_casework_roles()) AND app_classes() && '{visits,referrals}'"),
    # reports.publish.published_kpi
    PageRule("KPI", "pages/7_KPI.py", "KPI", "app_may(app_casework_roles(), 'visits')"),
    # work orders and operatives policies
    PageRule("Housing_works", "pages/8_Housing_works.py", "Housing works",
             "app_may('{housing}', 'works')"),
)  # fmt: skip


@st.cache_resource
def engine() -> Engine:
    """One pooled application-role engine per Streamlit server process."""
    return app_engine(get_settings())


def current_actor() -> Actor | None:
    actor = st.session_state.get(_ACTOR)
    if actor is None:
        return None
    if time.time() >= st.session_state.get(_EXPIRES, 0):
        logout()
        return None
    return actor  # type: ignore[no-any-return]


def logout() -> None:
    """End the session and forget the user and everything the pages kept for them (a look-up,
    a plan, a schedule): the next person on this browser tab must not see or re-run it."""
    actor = st.session_state.get(_ACTOR)
    if actor is not None:
        try:
            with transaction(engine(), NOBODY) as conn:
                sign_out(conn, actor)
        except HardeningError:
            pass  # the session ends by itself (idle limit); forgetting it here is what matters
    st.session_state.clear()


def require_actor() -> Actor:
    """The signed-in user; otherwise show the sign-in form and stop the page."""
    actor = current_actor()
    if actor is not None:
        with st.sidebar:
            st.caption(f"Signed in as **{actor.username}** ({', '.join(actor.roles)})")
            if st.button("Sign out", key="sign_out"):
                logout()
                st.rerun()
        return actor
    st.title("Sign in")
    if st.session_state.pop(_ENDED, False):
        st.info("Your session has ended (30 minutes without activity, or your account changed).")
    with st.form("sign_in"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            actor = sign_in(engine(), username.strip(), password)
        except AuthenticationError as exc:
            st.error(str(exc))
        except DatabaseUnavailableError:
            st.error("The database is not reachable; try again shortly or call the service desk.")
        else:
            st.session_state[_ACTOR] = actor
            st.session_state[_EXPIRES] = time.time() + SESSION_SECONDS
            st.rerun()
    st.stop()
    raise AssertionError("unreachable: st.stop() ends the script run")


@st.cache_data(ttl=ACCESS_TTL_S, show_spinner=False)
def usable_pages(actor: Actor) -> list[PageRule]:
    """The pages this user may use, in menu order: the map, then what the database says their
    roles and their organisation's current agreement allow (only the map when the database
    cannot say: it says what is wrong)."""
    checks = ", ".join(f"({page.may})" for page in PAGES)
    try:
        with as_actor(actor) as conn:
            allowed = conn.execute(text(f"SELECT {checks}")).one()
    except HardeningError:
        return [PAGES[0]]
    return [page for page, ok in zip(PAGES, allowed, strict=True) if ok]


@contextmanager
def as_actor(actor: Actor) -> Iterator[Connection]:
    """One transaction as the signed-in user: pages call service functions inside it. When the
    database no longer accepts the session, back to the sign-in form, saying why."""
    try:
        with transaction(engine(), actor) as conn:
            yield conn
    except AuthenticationError:
        st.session_state.clear()
        st.session_state[_ENDED] = True
        st.rerun()
