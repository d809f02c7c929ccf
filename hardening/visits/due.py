"""Who to visit next: protection plans due a visit or a review, markers due review, and
high-risk addresses showing signs with no recent visit (route.py orders a team's day of them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, text

from hardening.errors import UserInputError
from hardening.geo import to_lon_lat

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
           coalesce(lv.last_on, p.created_at::date) + p.visit_cadence_days AS due_on
    FROM protection_plans p LEFT JOIN last_visit lv USING (uprn)
    WHERE p.status = 'active'
      AND coalesce(lv.last_on, p.created_at::date) + p.visit_cadence_days <= :day
    UNION ALL
    SELECT p.uprn, 'plan_review_due', p.review_due
    FROM protection_plans p WHERE p.status = 'active' AND p.review_due <= :day
    UNION ALL
    SELECT m.uprn, 'marker_review_due', m.review_due
    FROM safe_markers m
    WHERE m.status = 'active' AND marker_state(m.status, m.review_due, m.expires_on, :day)
          = 'review_due'
    UNION ALL
    SELECT rs.uprn, 'high_risk_signs', coalesce(lv.last_on + :recent_days, :day)
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
       (SELECT last_on FROM last_visit lv WHERE lv.uprn = c.uprn) AS last_visit
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

    @property
    def rank(self) -> int:
        return min(RANKS[r] for r in self.reasons)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("x")
        out.pop("y")
        return out


def who_to_visit_next(
    conn: Connection,
    on_day: date,
    area: str | None = None,
    recent_days: int = 90,
    signs_days: int = 90,
) -> list[DueCase]:
    """Every due case on a day (one per address, all its reasons), most pressing first."""
    if not (1 <= recent_days <= 730 and 1 <= signs_days <= 730):
        raise UserInputError("recent_days and signs_days must be between 1 and 730")
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
            )
        )
    cases.sort(key=lambda c: (c.rank, c.due_on, c.uprn))
    return cases
