"""Named scenarios: a plan's parameters and results saved per organisation, and compared."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from hardening.errors import ConflictError, NotFoundError, UserInputError
from hardening.known import require_area


def save_plan(conn: Connection, name: str, result: dict[str, Any], params: dict[str, Any]) -> int:
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise UserInputError("a plan name must be 1 to 120 characters")
    try:
        with conn.begin_nested():
            plan_id = conn.execute(
                text(
                    "INSERT INTO coverage_plans (name, kind, area_id, params, results) "
                    "VALUES (:n, :k, :a, CAST(:p AS jsonb), CAST(:r AS jsonb)) RETURNING plan_id"
                ),
                {
                    "n": name,
                    "k": result["kind"],
                    "a": result["area_id"],
                    "p": json.dumps(params),
                    "r": json.dumps(result),
                },
            ).scalar_one()
    except IntegrityError as exc:
        raise ConflictError(f"a plan named {name!r} already exists") from exc
    return int(plan_id)


def list_plans(conn: Connection, area_id: str | None = None) -> list[dict[str, Any]]:
    require_area(conn, area_id)
    rows = conn.execute(
        text(
            "SELECT plan_id, name, kind, area_id, created_at, "
            "results->>'objective', results->>'coverage_after', results->>'cost' "
            "FROM coverage_plans WHERE (CAST(:a AS text) IS NULL OR area_id = :a) "
            "ORDER BY created_at DESC, plan_id DESC"
        ),
        {"a": area_id},
    ).all()
    return [
        {
            "plan_id": r[0],
            "name": r[1],
            "kind": r[2],
            "area_id": r[3],
            "created_at": r[4],
            "objective": _num(r[5]),
            "coverage_after": _num(r[6]),
            "cost": _num(r[7]),
        }
        for r in rows
    ]


def _num(v: str | None) -> float | None:
    return None if v is None else float(v)


def get_plan(conn: Connection, plan_id: int) -> dict[str, Any]:
    row = conn.execute(
        text(
            "SELECT plan_id, name, kind, area_id, created_at, params, results "
            "FROM coverage_plans WHERE plan_id = :i"
        ),
        {"i": plan_id},
    ).first()
    if row is None:
        raise NotFoundError(f"no plan {plan_id}")
    return {
        "plan_id": row[0],
        "name": row[1],
        "kind": row[2],
        "area_id": row[3],
        "created_at": row[4],
        "params": row[5],
        "results": row[6],
    }


def compare_plans(conn: Connection, a: int, b: int) -> dict[str, Any]:
    """Two scenarios side by side: coverage gained over today, cost, and sites in common."""
    pa, pb = get_plan(conn, a), get_plan(conn, b)

    def side(p: dict[str, Any]) -> dict[str, Any]:
        r = p["results"]
        return {
            "plan_id": p["plan_id"],
            "name": p["name"],
            "kind": p["kind"],
            "area_id": p["area_id"],
            "objective": r.get("objective"),
            "coverage_before": r.get("coverage_before"),
            "coverage_after": r.get("coverage_after"),
            "coverage_gained": None  # withheld figures stay withheld (coverage/cctv.py)
            if r.get("coverage_after") is None or r.get("coverage_before") is None
            else round(r["coverage_after"] - r["coverage_before"], 4),
            "cost": r.get("cost"),
            "sites": len(r.get("chosen", [])),
        }

    def keys(p: dict[str, Any]) -> set[tuple[Any, ...]]:
        return {(c.get("road_id"), c["lon"], c["lat"]) for c in p["results"].get("chosen", [])}

    left, right = side(pa), side(pb)
    return {
        "a": left,
        "b": right,
        "coverage_gained_difference": None
        if left["coverage_gained"] is None or right["coverage_gained"] is None
        else round(right["coverage_gained"] - left["coverage_gained"], 4),
        "cost_difference": None
        if left["cost"] is None or right["cost"] is None
        else round(right["cost"] - left["cost"], 3),
        "sites_in_common": len(keys(pa) & keys(pb)),
    }
