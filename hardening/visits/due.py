"""Who to visit next: protection plans due a visit or a review, markers due review, and
high-risk addresses showing signs with no recent visit (route.py orders a team's day of them).

A due list names vulnerable people's homes and why they are due, so it is read like the other
personal data: for police roles and partners whose agreement covers visits (others get a 403),
with a reason, and written to the audit log (one consultation row naming the addresses and the
markers it showed). A marker due review is listed only to whom the agreement also covers
markers (row-level security hides the marker too; the query says so itself).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from hardening.errors import PermissionDeniedError, UserInputError
from hardening.geo import to_lon_lat
from hardening.known import require_area
from hardening.security import access, audit

# Lower ranks come first: an overdue plan visit beats a review, a review beats a risk signal.
RANKS = {"plan_visit_due": 1, "marker_review_due": 2, "plan_review_due": 2, "high_risk_signs": 3}
SIGN_CATEGORIES = ("cuckooing", "exploitation", "drug_dealing", "asb", "threat_to_life")

DUE_SQL = """
WITH last_visit AS (
    SELECT uprn, max(visited_on) AS last_on FROM visits WHERE visited_on <= :day GROUP BY uprn
), model AS (
    SELECT model_version FROM risk_models ORDER BY is_default DESC, created_at DESC LIMIT 1
), cases AS (
    SELECT p.uprn, 'plan_visit_due' AS reason,
           coalesce(lv.last_on, p.created_at::date) + p.visit_cadence_days AS due_on,
           NULL::bigint AS marker_id
    FROM protection_plans p LEFT JOIN last_visit lv USING (uprn)
    WHERE p.status = 'active'
      AND coalesce(lv.last_on, p.created_at::date) + p.visit_cadence_days <= :day
    UNION ALL
    SELECT p.uprn, 'plan_review_due', p.review_due, NULL
    FROM protection_plans p WHERE p.status = 'active' AND p.review_due <= :day
    UNION ALL
    SELECT m.uprn, 'marker_review_due', m.review_due, m.marker_id
    FROM safe_markers m
    WHERE (SELECT app_reads_markers())
      AND m.status = 'active' AND marker_state(m.status, m.review_due, m.expires_on, :day)
          = 'review_due'
    UNION ALL
    SELECT rs.uprn, 'high_risk_signs', coalesce(lv.last_on + :recent_days, :day), NULL
    FROM risk_scores rs JOIN model USING (model_version) LEFT JOIN last_visit lv USING (uprn)
    WHERE rs.band IN ('high', 'very_high')
      AND (lv.last_on IS NULL OR lv.last_on < :day - :recent_days)
      AND (EXISTS (SELECT 1 FROM visits v WHERE v.uprn = rs.uprn AND v.signs <> '{}'
                   AND v.visited_on <= :day)
           OR EXISTS (SELECT 1 FROM incidents i WHERE i.uprn = rs.uprn
                      AND i.category = ANY(:categories)
                      AND i.occurred_at >= CAST(:day AS date) - :signs_days
                      AND i.occurred_at < CAST(:day AS date) + 1))
)
SELECT c.uprn, a.area_id, a.town, a.full_address, ST_X(a.geom) AS x, ST_Y(a.geom) AS y,
       array_agg(DISTINCT c.reason ORDER BY c.reason) AS reasons, min(c.due_on) AS due_on,
       (SELECT last_on FROM last_visit lv WHERE lv.uprn = c.uprn) AS last_visit,
       array_remove(array_agg(DISTINCT c.marker_id), NULL) AS marker_ids
FROM cases c JOIN addresses a USING (uprn)
WHERE CAST(:area AS text) IS NULL OR a.area_id = :area
GROUP BY c.uprn, a.area_id, a.town, a.full_address, a.geom
"""


@dataclass
class DueCase:
    uprn: int
    area_id: str | None
    full_address: str
    reasons: list[str]
    due_on: date
    last_visit: date | None
    lon: float
    lat: float
    x: float
    y: float
    town: str | None = None
    marker_ids: tuple[int, ...] = ()  # markers due review here (for the audit row, not shown)

    @property
    def rank(self) -> int:
        return min(RANKS[r] for r in self.reasons)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for hidden in ("x", "y", "marker_ids"):
            out.pop(hidden)
        return out


def audit_details(cases: list[DueCase], **how: Any) -> dict[str, Any]:
    """What an audit row says a due list or route showed: the addresses and the markers."""
    return {
        **how,
        "uprns": [c.uprn for c in cases],
        "marker_ids": sorted({m for c in cases for m in c.marker_ids}),
    }


def who_to_visit_next(
    conn: Connection,
    on_day: date,
    area: str | None = None,
    recent_days: int = 90,
    signs_days: int = 90,
    *,
    reason: str | None,
) -> list[DueCase]:
    """Every due case on a day (one per address, all its reasons), most pressing first; a
    reason is required and the list audited (one consultation row)."""
    why = audit.reason_for(conn, reason)
    cases = due_cases(conn, on_day, area, recent_days, signs_days)
    details = audit_details(cases, on=on_day.isoformat(), area=area)
    audit.record(conn, "consultation", "visits_due", None, why, details=details)
    return cases


def require_visit_reader(conn: Connection) -> None:
    if not access.may(conn, "app_reads_visits"):
        raise PermissionDeniedError(
            "who to visit next is for visit teams and police roles whose sharing agreement "
            "covers visits"
        )


def due_cases(
    conn: Connection,
    on_day: date,
    area: str | None = None,
    recent_days: int = 90,
    signs_days: int = 90,
) -> list[DueCase]:
    """The due cases as `who_to_visit_next` lists them, without its reason and audit row: for
    callers that audit their own read (route.py)."""
    if not (1 <= recent_days <= 730 and 1 <= signs_days <= 730):
        raise UserInputError("recent_days and signs_days must be between 1 and 730")
    require_visit_reader(conn)
    require_area(conn, area)
    rows = conn.execute(
        text(DUE_SQL),
        {
            "day": on_day,
            "area": area,
            "recent_days": recent_days,
            "signs_days": signs_days,
            "categories": list(SIGN_CATEGORIES),
        },
    ).all()
    cases = []
    for r in rows:
        lon, lat = to_lon_lat(r.x, r.y)
        cases.append(
            DueCase(
                r.uprn,
                r.area_id,
                r.full_address,
                list(r.reasons),
                r.due_on,
                r.last_visit,
                lon,
                lat,
                r.x,
                r.y,
                r.town,
                tuple(r.marker_ids),
            )
        )
    cases.sort(key=lambda c: (c.rank, c.due_on, c.uprn))
    return cases
