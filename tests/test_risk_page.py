"""The Streamlit risk page, headless (AppTest): the aggregated risk layer and the explanation
panel, on the hand-built street committed for the page's own connections and removed after."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import streamlit as st
from engines import credentialed
from sqlalchemy import Connection, Engine, text
from streamlit.testing.v1 import AppTest
from test_risk_town import AREA, AS_OF, UPRN, build_town
from world import POLICE as POLICE_ORG
from world import World, drop_default_model_if_unused

from hardening.db.engine import Actor, transaction
from hardening.risk import scoring
from hardening.risk.layer import grid
from hardening.risk.model import DEFAULT_VERSION
from hardening.settings import PROJECT_ROOT
from ui.risk import measure_rows

PAGE = str(PROJECT_ROOT / "pages" / "3_Risk.py")


def _delete_town(conn: Connection, had_default: bool) -> None:
    uprns = {"u": list(UPRN.values())}
    for sql in (
        "DELETE FROM risk_explanations WHERE uprn = ANY(:u)",
        "DELETE FROM risk_scores WHERE uprn = ANY(:u)",
        "DELETE FROM risk_runs WHERE area_id = 'risk-town'",
        "DELETE FROM installed_measures WHERE uprn = ANY(:u)",
        "DELETE FROM visits WHERE uprn = ANY(:u)",
        "DELETE FROM incidents WHERE source = 'rt'",
        "DELETE FROM cctv_sites WHERE source = 'rt'",
        "DELETE FROM addresses WHERE uprn = ANY(:u) AND parent_uprn IS NOT NULL",
        "DELETE FROM addresses WHERE uprn = ANY(:u)",
        "DELETE FROM lsoas WHERE area_id = 'risk-town'",
        "DELETE FROM transport_hubs WHERE hub_key = 'rail:RTT'",
        "DELETE FROM areas WHERE area_id = 'risk-town'",
        "DELETE FROM organisations WHERE org_id IN ('rt-housing', 'rt-police')",
    ):
        conn.execute(text(sql), uprns)
    if not had_default:
        drop_default_model_if_unused(conn)


# The world's police agreement is widened to the town for the module: its analyst reads it.
WIDEN = (
    "INSERT INTO agreement_areas (agreement_id, area_id) SELECT agreement_id, :a "
    "FROM sharing_agreements WHERE org_id = :o"
)
NARROW = (
    "DELETE FROM agreement_areas WHERE area_id = :a AND agreement_id IN "
    "(SELECT agreement_id FROM sharing_agreements WHERE org_id = :o)"
)


@pytest.fixture(scope="module")
def committed_town(app_engine: Engine, world: World) -> Iterator[None]:
    with transaction(app_engine, Actor.system()) as conn:
        had_default = bool(
            conn.execute(
                text("SELECT EXISTS (SELECT 1 FROM risk_models WHERE model_version = :v)"),
                {"v": DEFAULT_VERSION},
            ).scalar_one()
        )
        build_town(conn)
        scoring.score(conn, "addresses", AREA, AS_OF)
        conn.execute(text(WIDEN), {"a": AREA, "o": POLICE_ORG})
    try:
        yield
    finally:
        with transaction(app_engine, Actor.system()) as conn:
            conn.execute(text(NARROW), {"a": AREA, "o": POLICE_ORG})
            _delete_town(conn, had_default)


@pytest.fixture
def page(committed_town: None, monkeypatch: pytest.MonkeyPatch, world: World) -> Iterator[AppTest]:
    monkeypatch.syspath_prepend(str(PROJECT_ROOT))  # the page imports ui.session
    st.cache_resource.clear()
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = credentialed(world.actors["analyst"])
    at.session_state["actor_expires_at"] = time.time() + 3600
    yield at
    st.cache_resource.clear()


def test_the_layer_is_cells_not_households(page: AppTest, app_conn: Connection) -> None:
    page.run()
    assert not page.exception
    deck = json.loads(page.get("deck_gl_json_chart")[0].proto.json)
    layer = next(x for x in deck["layers"] if x["id"] == "risk-cells")
    town = grid(app_conn, 250, area_id=AREA)  # the street's cells, as the service gives them
    shown = {(c["lon"], c["lat"]): c for c in layer["data"]}
    assert len(town) >= 3 and sum(c.dwellings for c in town) == 9
    for cell in town:
        assert shown[(cell.lon, cell.lat)]["dwellings"] == cell.dwellings
        assert shown[(cell.lon, cell.lat)]["band"] == cell.band
    assert "polygon" in layer["data"][0] and "uprn" not in layer["data"][0]
    assert deck.get("mapProvider") in (None, "")


def test_the_panel_explains_an_address(page: AppTest) -> None:
    page.run()
    page.number_input[0].set_value(UPRN["A"])
    page.text_input[0].input("checking the street")
    page.button[0].click()
    page.run()
    assert not page.exception
    text_shown = " ".join(m.value for m in page.markdown)
    assert "Band:" in text_shown and "Cuckooing or exploitation has been reported" in text_shown
    measures = page.table[0].value  # the recommended measures, in words
    assert measures.index.name == "Measure" and "spy_hole" not in set(measures.index)
    assert list(measures.columns) == ["Fitted to", "Typical cost", "Effect"]
    assert set(measures["Fitted to"]) <= {"This home", "The block"}
    assert all(cost.startswith("£") for cost in measures["Typical cost"])
    assert all(e.startswith("Lowers the score by ") for e in measures["Effect"])


def test_measures_read_as_words() -> None:
    police = {
        "measure_code": "spy_hole",
        "name": "Spy hole (door viewer)",
        "scope": "dwelling",
        "risk_factor": "protection_door",
        "typical_cost_pence": 4500,
        "logit_change": -0.2231435513,
        "score_after": 41.04,
        "score_reduction": 6.81,
    }
    assert measure_rows([police]) == [{
        "Measure": "Spy hole (door viewer)", "Fitted to": "This home", "Typical cost": "£45",
        "Effect": "Lowers the score by 6.8 points, to 41.0 (odds 20% lower)",
    }]  # fmt: skip
    housing = {k: police[k] for k in ("measure_code", "name", "scope")} | {"scope": "block"}
    assert measure_rows([housing]) == [
        {"Measure": "Spy hole (door viewer)", "Fitted to": "The block"}
    ]
