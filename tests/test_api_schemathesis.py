"""schemathesis over the whole OpenAPI document: every operation, every check, authenticated.

The document is the contract: each response must be a status it lists, with its media type and
body schema; valid input is never refused as malformed and invalid input never accepted; no
5xx ever. The fuzzer writes (markers, visits, orders, plans), so it runs against a database of
its own (migrated here, dropped after), holding the access-control world from `world.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fuzzkit import actor_for, bearer, dedicated_database, examples, fuzz_settings, world_app
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from hardening.api.app import create_app
from hardening.settings import Settings

Contract = tuple[FastAPI, dict[str, dict[str, str]], Engine]


@pytest.fixture(scope="module")
def contract(test_db_url: URL) -> Iterator[Contract]:
    with dedicated_database(test_db_url, "contract") as url:
        app, owner, _ = world_app(url)
        headers = {name: bearer(owner, name) for name in ("admin", "housing_a")}
        yield app, headers, owner
        owner.dispose()


# The document is read from an app that never connects; requests go to the fixture's app.
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20240909,
        # The bearer token is the fixture's: not a generated (or mutated) header.
        "generation": {"with-security-parameters": False},
        "checks": {
            # 400 is this API's answer to well-formed input that breaks a rule a schema cannot
            # state (bbox corners in order, lon/lat not swapped, one of uprn/q/point): see
            # ACTING_ERRORS in hardening/api/openapi.py. A 422 for schema-valid input still
            # fails: the document would be wrong.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409"]
            },
        },
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(Settings()), config=CONFIG)


# Per operation; schemathesis's coverage phase adds its own boundary cases on top.
@schema.parametrize()
@fuzz_settings(examples(10))
def test_api_conforms_to_its_openapi_document(
    case: schemathesis.Case[Any], contract: Contract
) -> None:
    app, headers, owner = contract
    with owner.begin() as conn:  # the per-user cap on unfinished jobs is tests/test_jobs.py's
        conn.execute(text("UPDATE jobs SET status = 'cancelled' WHERE status = 'queued'"))
    case.call_and_validate(app=app, headers=headers[actor_for(case.path)])
