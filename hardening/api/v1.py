"""The `/v1` API: capability routers are included here as they arrive."""

from __future__ import annotations

from fastapi import APIRouter

from hardening.api import layers
from hardening.coverage import api as coverage
from hardening.risk import api as risk
from hardening.works import api as works

router = APIRouter(
    prefix="/v1",
    responses={401: {"description": "Missing, invalid, expired or revoked bearer token"}},
)
router.include_router(layers.router)
router.include_router(coverage.router)
router.include_router(risk.router)
router.include_router(works.router)
