"""A module's own migrated database with world.py's partnership (for tests whose server reads
committed rows, which must not leak into other tests), and the API under uvicorn on it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from world import World
from world import build as build_world

from hardening.api.app import create_app
from hardening.db.engine import Actor, ensure_database, make_engine, set_actor
from hardening.db.migrate import migrate
from hardening.db.urls import libpq_conninfo
from hardening.settings import Settings


def _drop(url: URL) -> None:
    with psycopg.connect(libpq_conninfo(url.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@contextmanager
def own_database(test_db_url: URL, suffix: str) -> Iterator[tuple[URL, Engine, World]]:
    """A migrated database named after the session's with `suffix`, holding the world; its
    owner engine; dropped afterwards."""
    url = test_db_url.set(database=f"{test_db_url.database}_{suffix}")
    _drop(url)
    ensure_database(Settings(), url)
    migrate(url)
    owner = make_engine(url, pool_size=2)
    try:
        with owner.begin() as conn:
            set_actor(conn, Actor.system())
            world = build_world(conn)
        yield url, owner, world
    finally:
        owner.dispose()
        _drop(url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(url: URL) -> Iterator[str]:
    """A real uvicorn server in a thread on the database at url; yields its base URL."""
    port = free_port()
    settings = Settings(database_url=url.render_as_string(hide_password=False))
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
