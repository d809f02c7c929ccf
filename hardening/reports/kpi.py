"""The yearly indicators, raw (unsuppressed). Each is one set-based query over the year and the
year before, filtered by area when asked. Days are counted in UK local time. Camera coverage,
the risk distribution at both ends of the year and the fairness of the risk ranking come from
coverage_change.py, risk_change.py and risk_fairness.py.

`publish.py` turns these into what may be shown; only analysts see the raw figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from hardening.errors import UserInputError
from hardening.known import require_area
from hardening.models import Result
from hardening.reports.coverage_change import coverage_change
from hardening.reports.risk_change import risk_change
from hardening.reports.risk_fairness import risk_fairness
from hardening.visits.lines import active_lines_on

TZ = "Europe/London"
AREA = "(CAST(:area AS text) IS NULL OR {t}.area_id = :area)"


def _local_day(column: str) -> str:
    return f"({column} AT TIME ZONE '{TZ}')::date"


@dataclass
class Kpi(Result):
    year: int
    area: str | None
    lines_active_start: int
    lines_active_end: int
    threats_to_life: dict[str, int]  # {"this": n, "previous": m}
    visits: dict[str, int]
    visits_by_subject: dict[str, int]
    referrals: dict[str, int]
    referrals_by_partner_service: list[dict[str, Any]]
    intelligence: dict[str, int]
    training_by_partner_type: list[dict[str, Any]]
    markers: dict[str, int]
    works_by_measure: list[dict[str, Any]]
    cost_by_provider: list[dict[str, Any]]
    coverage: dict[str, Any]  # coverage_change: sites, CCTV households, ANPR entry routes
    risk_distribution: dict[str, Any]  # risk_change: bands scored as of both ends of the year
    monthly: list[dict[str, Any]] = field(default_factory=list)
    # risk_fairness.py: the model's flagged 5% by group against the year's outcomes
    risk_fairness: dict[str, Any] = field(default_factory=lambda: {"available": False})


def _year_counts(conn: Connection, sql: str, params: dict[str, Any]) -> dict[str, int]:
    """`sql` selects one count for :start..:end; run for the year and the year before."""
    this = conn.execute(text(sql), params).scalar_one()
    prev = conn.execute(
        text(sql), {**params, "start": params["prev_start"], "end": params["prev_end"]}
    ).scalar_one()
    return {"this": int(this or 0), "previous": int(prev or 0)}


def compute(conn: Connection, year: int, area: str | None = None) -> Kpi:
    if not 2000 <= year <= 2100:
        raise UserInputError(f"year {year} is out of range")
    require_area(conn, area)
    p: dict[str, Any] = {
        "area": area,
        "start": date(year, 1, 1),
        "end": date(year, 12, 31),
        "prev_start": date(year - 1, 1, 1),
        "prev_end": date(year - 1, 12, 31),
    }
    in_year = "BETWEEN :start AND :end"
    ttl = _year_counts(
        conn,
        f"SELECT count(*) FROM incidents i WHERE i.category = 'threat_to_life' AND "
        f"{_local_day('i.occurred_at')} {in_year} AND {AREA.format(t='i')}",
        p,
    )
    visits = _year_counts(
        conn,
        f"SELECT count(*) FROM visits v WHERE v.visited_on {in_year} AND {AREA.format(t='v')}",
        p,
    )
    by_subject = {
        str(r[0]): int(r[1])
        for r in conn.execute(
            text(
                f"SELECT subject_type, count(*) FROM visits v WHERE v.visited_on {in_year} "
                f"AND {AREA.format(t='v')} GROUP BY 1 ORDER BY 1"
            ),
            p,
        )
    }
    referrals = _year_counts(
        conn,
        f"SELECT count(*) FROM referrals r WHERE r.made_on {in_year} AND {AREA.format(t='r')}",
        p,
    )
    by_partner = conn.execute(
        text(
            "SELECT r.partner_org_id, o.name AS partner_name, o.kind AS partner_kind, r.service, "
            "count(*) FILTER (WHERE r.made_on BETWEEN :start AND :end) AS this, "
            "count(*) FILTER (WHERE r.made_on BETWEEN :prev_start AND :prev_end) AS previous "
            "FROM referrals r JOIN organisations o ON o.org_id = r.partner_org_id "
            f"WHERE r.made_on BETWEEN :prev_start AND :end AND {AREA.format(t='r')} "
            "GROUP BY 1, 2, 3, 4 ORDER BY 2, 4"
        ),
        p,
    )
    intel_visits = _year_counts(
        conn,
        "SELECT coalesce(sum(intelligence_count), 0) FROM visits v "
        f"WHERE v.visited_on {in_year} AND {AREA.format(t='v')}",
        p,
    )
    intel_logged = _year_counts(
        conn,
        "SELECT count(*) FROM incidents i WHERE i.kind = 'intelligence' AND "
        f"{_local_day('i.occurred_at')} {in_year} AND {AREA.format(t='i')}",
        p,
    )
    training = conn.execute(
        text(
            "SELECT partner_type, count(*) AS sessions, sum(attendees) AS attendees "
            f"FROM training_sessions t WHERE t.delivered_on {in_year} AND {AREA.format(t='t')} "
            "GROUP BY 1 ORDER BY 1"
        ),
        p,
    )
    placed = _year_counts(
        conn,
        "SELECT count(*) FROM safe_markers m WHERE "
        f"{_local_day('m.created_at')} {in_year} AND {AREA.format(t='m')}",
        p,
    )
    reviewed = _year_counts(
        conn,
        "SELECT count(*) FROM marker_reviews mr JOIN safe_markers m USING (marker_id) WHERE "
        f"{_local_day('mr.reviewed_at')} {in_year} AND {AREA.format(t='m')}",
        p,
    )
    works = conn.execute(
        text(
            "SELECT w.measure_code, c.name, count(*) AS completed, "
            "coalesce(sum(w.cost_pence), 0) AS cost_pence FROM work_orders w "
            "JOIN measures_catalogue c USING (measure_code) WHERE w.status = 'completed' AND "
            f"{_local_day('w.completed_at')} {in_year} AND {AREA.format(t='w')} "
            "GROUP BY 1, 2 ORDER BY 1"
        ),
        p,
    )
    cost = conn.execute(
        text(
            "SELECT w.provider_org_id, o.name, count(*) AS completed, "
            "coalesce(sum(w.cost_pence), 0) AS cost_pence FROM work_orders w "
            "JOIN organisations o ON o.org_id = w.provider_org_id WHERE w.status = 'completed' "
            f"AND {_local_day('w.completed_at')} {in_year} AND {AREA.format(t='w')} "
            "GROUP BY 1, 2 ORDER BY 1"
        ),
        p,
    )
    return Kpi(
        year=year,
        area=area,
        lines_active_start=len(active_lines_on(conn, p["start"], area)),
        lines_active_end=len(active_lines_on(conn, p["end"], area)),
        threats_to_life=ttl,
        visits=visits,
        visits_by_subject=by_subject,
        referrals=referrals,
        referrals_by_partner_service=[dict(r._mapping) for r in by_partner],
        intelligence={
            "from_visits": intel_visits["this"],
            "from_visits_previous": intel_visits["previous"],
            "logged": intel_logged["this"],
            "logged_previous": intel_logged["previous"],
        },
        training_by_partner_type=[
            {**dict(r._mapping), "attendees": int(r.attendees)} for r in training
        ],
        markers={
            "placed": placed["this"],
            "placed_previous": placed["previous"],
            "reviews": reviewed["this"],
            "reviews_previous": reviewed["previous"],
        },
        works_by_measure=[dict(r._mapping) for r in works],
        cost_by_provider=[dict(r._mapping) for r in cost],
        coverage=coverage_change(conn, year, area),
        risk_distribution=risk_change(conn, year, area),
        risk_fairness=risk_fairness(conn, year, area),
        monthly=_monthly(conn, p),
    )


def _monthly(conn: Connection, p: dict[str, Any]) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT m::date AS month, "
            "(SELECT count(*) FROM visits v WHERE date_trunc('month', v.visited_on) = m "
            f" AND {AREA.format(t='v')}) AS visits, "
            "(SELECT count(*) FROM referrals r WHERE date_trunc('month', r.made_on) = m "
            f" AND {AREA.format(t='r')}) AS referrals "
            "FROM generate_series(CAST(:start AS timestamp), CAST(:end AS timestamp), "
            "interval '1 month') AS m ORDER BY m"
        ),
        p,
    )
    return [dict(r._mapping) for r in rows]
