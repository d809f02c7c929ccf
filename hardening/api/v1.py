"""The `/v1` API: capability routers are included here as they arrive."""

from __future__ import annotations

from fastapi import APIRouter

from hardening.addresses import api as addresses
from hardening.api import layers
from hardening.budget import api as budget
from hardening.coverage import api as coverage
from hardening.features import api as exports
from hardening.jobs import api as jobs
from hardening.markers import api as markers
from hardening.reports import api as reports
from hardening.risk import api as risk
from hardening.tiles import api as tiles
from hardening.visits import api as visits
from hardening.works import api as works

router = APIRouter(
    prefix="/v1",
    responses={
        401: {"description": "Missing, invalid, expired or revoked API token (Bearer or Basic)"}
    },
)
router.include_router(layers.router)
router.include_router(coverage.router)
router.include_router(budget.router)
router.include_router(risk.router)
router.include_router(works.router)
router.include_router(markers.router)
router.include_router(addresses.router)
router.include_router(visits.router)
router.include_router(reports.router)
router.include_router(exports.router)
router.include_router(tiles.router)
router.include_router(jobs.router)
