"""Sign-in for the Streamlit pages: the same users as the API, a session that expires, and the
one way a page gets its engine and actor."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy import Connection, Engine

from hardening.db.engine import Actor, app_engine, transaction
from hardening.errors import AuthenticationError, DatabaseUnavailableError
from hardening.security.users import authenticate_password
from hardening.settings import get_settings

SESSION_SECONDS = 8 * 3600  # one shift
_ACTOR = "actor"
_EXPIRES = "actor_expires_at"


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
    """Forget the user and everything the pages kept for them (a look-up, a plan, a schedule):
    the next person on this browser tab must not see or re-run it as themselves."""
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
    with st.form("sign_in"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        try:
            with transaction(engine(), Actor(None, None)) as conn:
                actor = authenticate_password(conn, username.strip(), password)
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


@contextmanager
def as_actor(actor: Actor) -> Iterator[Connection]:
    """One transaction as the signed-in user: pages call service functions inside it."""
    with transaction(engine(), actor) as conn:
        yield conn
