"""Heavy work under a connection budget: siting plans, schedules and the yearly KPIs.

A heavy request never holds a database connection while a solver thinks. It reads its inputs
in one short transaction on its own small pool (`heavy_pool_size`, waiting at most
`heavy_pool_timeout_s`), releases the connection, solves in a niced worker process (or in its
thread), then writes in another short transaction as the same user: the bearer token
authenticates each transaction again. Look-ups and the control room keep the main pool.

Admission: at most `heavy_in_flight` heavy requests at once and `heavy_per_user` per user;
beyond either, or with the heavy pool exhausted, the answer is 503 with Retry-After.

The three steps are plain functions (read, solve, write), so a job queue can later run the
same steps in a worker and answer 202 instead of waiting here.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, create_engine

from hardening.api.settings import ApiSettings
from hardening.db.engine import NOBODY, Actor, authenticate, transaction
from hardening.db.urls import app_url_for, owner_url
from hardening.errors import OverloadedError
from hardening.settings import Settings

In = TypeVar("In")
Out = TypeVar("Out")
Result = TypeVar("Result")


class Budget:
    """Admission for heavy requests: a cap in all and a cap per user, refused at once (503)."""

    def __init__(self, in_flight: int, per_user: int, retry_after_s: int) -> None:
        self.in_flight, self.per_user, self.retry_after_s = in_flight, per_user, retry_after_s
        self._lock = threading.Lock()
        self._users: Counter[int | None] = Counter()

    @property
    def busy(self) -> int:
        return sum(self._users.values())

    @contextmanager
    def admit(self, user_id: int | None) -> Iterator[None]:
        with self._lock:
            if self._users[user_id] >= self.per_user:
                raise OverloadedError(
                    f"you already have {self._users[user_id]} heavy request(s) in flight "
                    f"(at most {self.per_user} per user): try again when one has finished",
                    self.retry_after_s,
                )
            if self.busy >= self.in_flight:
                raise OverloadedError(
                    "the service is busy with heavy work: try again shortly", self.retry_after_s
                )
            self._users[user_id] += 1
        try:
            yield
        finally:
            with self._lock:
                self._users[user_id] -= 1
                if self._users[user_id] <= 0:
                    del self._users[user_id]


def _nice(increment: int) -> None:
    if increment:
        os.nice(increment)


def solver_pool(processes: int, nice: int) -> Executor | None:
    """Worker processes for solvers (spawned: the server is threaded), started on first use."""
    if processes < 1:
        return None
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(processes, context, _nice, (nice,))


@dataclass
class Heavy:
    """What heavy routes share: their pool, the admission budget and the solver processes."""

    engine: Engine
    budget: Budget
    solvers: Executor | None

    @classmethod
    def create(cls, settings: Settings, api: ApiSettings) -> Heavy:
        url = app_url_for(owner_url(settings), settings)
        engine = create_engine(
            url,
            pool_size=api.heavy_pool_size,
            max_overflow=0,
            pool_timeout=api.heavy_pool_timeout_s,
            pool_pre_ping=True,
        )
        budget = Budget(api.heavy_in_flight, api.heavy_per_user, api.retry_after_s)
        return cls(engine, budget, solver_pool(api.solver_processes, api.solver_nice))

    def close(self) -> None:
        if self.solvers is not None:
            self.solvers.shutdown(wait=False, cancel_futures=True)
        self.engine.dispose()

    def solve(self, fn: Callable[..., Result], *args: Any) -> Result:
        """fn(*args) in a solver process (fn and args pickle), else in this thread."""
        if self.solvers is None:
            return fn(*args)
        return self.solvers.submit(fn, *args).result()

    def run(
        self,
        token: str,
        read: Callable[[Connection, Actor], In],
        solve: Callable[[In], Out],
        write: Callable[[Connection, Actor, Out], Out] | None = None,
    ) -> Out:
        """read in one transaction (authenticating the token, then admitting its user), solve
        with no connection held, write in another transaction as the same user."""
        with ExitStack() as admitted:
            with transaction(self.engine, NOBODY) as conn:
                actor = authenticate(conn, token)
                admitted.enter_context(self.budget.admit(actor.user_id))
                inputs = read(conn, actor)
            result = solve(inputs)
            if write is None:
                return result
            with transaction(self.engine, actor) as conn:
                return write(conn, actor, result)


def get_heavy(request: Request) -> Heavy:
    heavy: Heavy = request.app.state.heavy
    return heavy


HeavyDep = Annotated[Heavy, Depends(get_heavy)]
