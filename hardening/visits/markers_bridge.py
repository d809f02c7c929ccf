"""SAFE marker creation for a visit's support package, through the markers service
(hardening.markers.service.create_marker), which checks the writer, writes the row and its
'collection' audit row. The visit's team organisation is passed for the system actor (CLI)."""

from __future__ import annotations

from sqlalchemy import Connection, text

from hardening.markers.service import create_marker as markers_create
from hardening.visits.models import MarkerRequest


def create_marker(conn: Connection, uprn: int, visit_id: int, request: MarkerRequest) -> int:
    org = conn.execute(
        text("SELECT team_org_id FROM visits WHERE visit_id = :v"), {"v": visit_id}
    ).scalar_one()
    marker = markers_create(
        conn,
        uprn=uprn,
        scope=request.scope,
        reason_category=request.reason_category,
        grading_advice=request.grading_advice,
        review_due=request.review_due,
        visit_id=visit_id,
        org_id=org,
    )
    return int(marker.marker_id)
