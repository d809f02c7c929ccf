"""What each kind of job does, as three steps: read (a transaction as the asking user), solve
(no connection held) and write (a second transaction). Params are the JSON the job was asked
with; each step rebuilds what it needs from them, so a job can run in any process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from hardening.budget.inputs import BudgetInputs, BudgetParams, read_budget
from hardening.budget.plan import BudgetResult, solve_budget
from hardening.budget.store import name_places, save_budget_plan
from hardening.coverage.anpr import read_anpr, solve_anpr
from hardening.coverage.cctv import CctvParams, read_cctv, solve_cctv
from hardening.coverage.plans import save_plan
from hardening.db.engine import Actor
from hardening.errors import PermissionDeniedError, UserInputError
from hardening.reports.publish import published_kpi
from hardening.risk import scoring
from hardening.works import plan as works_plan

Params = dict[str, Any]
Reader = Callable[[Connection, Actor, Params], Any]
Solver = Callable[[Any, Params], Any]
Writer = Callable[[Connection, Actor, Params, Any], dict[str, Any]]


@dataclass(frozen=True)
class JobKind:
    title: str  # what people call it: "CCTV siting plan"
    read: Reader
    solve: Solver | None = None
    write: Writer | None = None
    solving: str = "working"  # the step people see while it solves


def _fields_of(cls: type, p: Params) -> Params:
    """The job's params that are fields of the dataclass cls (the rest are the page's)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in p.items() if k in names}


def cctv_params(p: Params) -> CctvParams:
    return CctvParams(**_fields_of(CctvParams, p))


def _save(conn: Connection, p: Params, result: dict[str, Any], saved: Params) -> dict[str, Any]:
    if p.get("name"):
        result["plan_id"] = save_plan(conn, p["name"], result, saved)
    return result


def budget_params(p: Params) -> BudgetParams:
    """BudgetParams from a job's JSON (pairs arrive as lists)."""
    given = _fields_of(BudgetParams, p)
    for pair_field in ("owner_budgets", "costs"):
        given[pair_field] = tuple((str(k), float(v)) for k, v in given.get(pair_field, ()))
    if "effects" in given:
        given["effects"] = tuple(given["effects"])
    return BudgetParams(**given)


def _solve_budget(inputs: BudgetInputs, p: Params) -> BudgetResult:
    result = solve_budget(inputs, budget_params(p))
    result.doc["org_names"] = {o: name for o, (name, _) in inputs.orgs.items()}
    return result


def _save_budget(conn: Connection, p: Params, result: BudgetResult) -> dict[str, Any]:
    name_places(conn, result.doc)
    if p.get("name"):
        saved = asdict(budget_params(p))
        result.doc["plan_id"] = save_budget_plan(conn, p["name"], result, saved)
    return result.doc


def _provider(actor: Actor, p: Params) -> str:
    provider = p.get("provider") or actor.org_id
    if not provider:
        raise PermissionDeniedError("a schedule is for a housing provider's users")
    return str(provider)


def _score(conn: Connection, actor: Actor, p: Params) -> dict[str, Any]:
    if not actor.is_system:
        raise PermissionDeniedError("full scoring is the system's work (hardening risk score)")
    as_of = scoring.utc(datetime.fromisoformat(p["as_of"])) if p.get("as_of") else None
    return scoring.score(conn, p.get("units", "addresses"), p.get("area"), as_of,
                         p.get("model")).to_dict()  # fmt: skip


KINDS: dict[str, JobKind] = {
    "cctv_plan": JobKind(
        "CCTV siting plan",
        read=lambda conn, actor, p: read_cctv(conn, p["area"], cctv_params(p)),
        solve=lambda inputs, p: solve_cctv(inputs, cctv_params(p)),
        write=lambda conn, actor, p, r: _save(conn, p, r, asdict(cctv_params(p))),
        solving="choosing camera sites",
    ),
    "anpr_plan": JobKind(
        "ANPR siting plan",
        read=lambda conn, actor, p: read_anpr(conn, p["area"], p["new_sites"], p["destinations"]),
        solve=lambda inputs, p: solve_anpr(
            inputs[0], inputs[1], p["area"], p["new_sites"], p["destinations"], p["time_limit_s"]
        ),
        write=lambda conn, actor, p, r: _save(conn, p, r, p),
        solving="choosing road links",
    ),
    "works_schedule": JobKind(
        "works schedule",
        read=lambda conn, actor, p: works_plan.read_schedule(
            conn, _provider(actor, p), date.fromisoformat(p["start"]), p["days"]
        ),
        solve=lambda problem, p: works_plan.solve_schedule(problem, p["seconds"]),
        solving="planning the operatives' days",
    ),
    "kpi_report": JobKind(
        "yearly KPI report",
        read=lambda conn, actor, p: published_kpi(conn, p["year"], p.get("area")),
    ),
    "budget_plan": JobKind(
        "budget plan",
        read=lambda conn, actor, p: read_budget(conn, p["area"], budget_params(p)),
        solve=_solve_budget,
        write=lambda conn, actor, p, result: _save_budget(conn, p, result),
        solving="weighing cameras against works",
    ),
    "risk_score": JobKind("full risk scoring", read=_score),
}


def job_kind(kind: str) -> JobKind:
    try:
        return KINDS[kind]
    except KeyError:
        raise UserInputError(
            f"unknown kind of job {kind!r}: kinds are {', '.join(sorted(KINDS))}"
        ) from None
