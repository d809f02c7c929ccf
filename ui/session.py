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
    """A page and who may use it: a role among `roles` and, from the organisation's current
    sharing agreement, a data class among `classes` (the rule its service functions and the
    row-level security policies apply: `app_may(roles, class)`). No roles: everyone."""

    slug: str  # its URL path ("" for the map, app.py's own page)
    script: str  # the file beside app.py ("" for the map)
    title: str  # the menu entry
    roles: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()

    def allows(self, roles: tuple[str, ...], classes: frozenset[str]) -> bool:
        if not self.roles:
            return True
        return bool(self.roles & set(roles)) and bool(self.classes & classes)


def _rule(slug: str, script: str, title: str, roles: str = "", classes: str = "") -> PageRule:
    return PageRule(slug, script, title, frozenset(roles.split()), frozenset(classes.split()))


# The one place that says who uses which page, in menu order (the map first).
PAGES: Final[tuple[PageRule, ...]] = (
    _rule("", "", "Map"),
    # markers.records.require_police: police roles whose agreement covers markers
    _rule("Control_room", "pages/2_Control_room.py", "Control room",
          "control_room visit_team analyst admin", "markers"),
    # risk_scores policy: the risk_band class; planners get aggregates on the Planning page
    _rule("Risk", "pages/3_Risk.py", "Risk",
          "control_room visit_team analyst admin housing", "risk_band"),
    # coverage.data.planning_areas: planner, analyst, admin in their agreement's areas
    _rule("Planning", "pages/4_Planning.py", "Planning",
          "planner analyst admin", "sites aggregates_only"),
    # visits.service.may_record: the visit team (and admins) with a visits agreement
    _rule("Visits", "pages/5_Visits.py", "Visits", "visit_team admin", "visits"),
    # referrals policies: police visit teams, analysts (to read) and admins in their areas;
    # a partner (its visit workers) the referrals made to it. Not the control room.
    _rule("Referrals", "pages/6_Referrals.py", "Referrals",
          "visit_team analyst admin", "visits referrals"),
    # reports.publish.published_kpi: app_may('{analyst,admin,visit_team}', 'visits')
    _rule("KPI", "pages/7_KPI.py", "KPI", "analyst admin visit_team", "visits"),
    # work orders and operatives policies: app_may('{housing}', 'works')
    _rule("Housing_works", "pages/8_Housing_works.py", "Housing works", "housing", "works"),
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
def agreement_classes(actor: Actor) -> frozenset[str]:
    """The data classes of the actor's organisation's current sharing agreements (none when
    the database cannot say: the map alone is offered, and it says what is wrong)."""
    try:
        with as_actor(actor) as conn:
            found = conn.execute(text("SELECT app_classes()")).scalar_one()
    except HardeningError:
        return frozenset()
    return frozenset(found or ())


def usable_pages(actor: Actor) -> list[PageRule]:
    """The pages this user may use, in menu order: the map, then what their roles and their
    organisation's agreement allow."""
    classes = agreement_classes(actor)
    return [page for page in PAGES if page.allows(actor.roles, classes)]


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
