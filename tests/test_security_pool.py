"""No actor context leaks between pooled transactions, and radius look-ups keep their index."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from engines import service_engine_for
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL
from world import HOUSING_A, HOUSING_B, World

from hardening.db.engine import set_actor, transaction

REQUESTS = 1000


def test_alternating_organisations_over_a_small_pool(
    test_db_url: URL, world: World, tokens: dict[str, str]
) -> None:
    """The service's own login, each request acting by its user's token."""
    engine = service_engine_for(test_db_url, pool_size=2)
    engine.pool._max_overflow = 0  # type: ignore[attr-defined]  # exactly two connections
    expected = {HOUSING_A: set(world.homes_a), HOUSING_B: set(world.homes_b)}

    def request(n: int) -> tuple[str, set[int], set[str | None]]:
        if n % 3 == 2:  # a transaction that forgets to set an actor must see nothing
            with engine.begin() as conn:
                seen = conn.execute(text("SELECT uprn FROM addresses")).scalars().all()
                return "none", set(seen), set()
        name = "housing_a" if n % 3 == 0 else "housing_b"
        actor = replace(world.actors[name], credential=tokens[name])
        with transaction(engine, actor) as conn:
            homes = (
                conn.execute(
                    text("SELECT uprn FROM addresses WHERE uprn BETWEEN 5000000000 AND 5000000099")
                )
                .scalars()
                .all()
            )
            providers = conn.execute(text("SELECT provider_org_id FROM work_orders")).scalars()
            return str(actor.org_id), set(homes), set(providers)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(request, range(REQUESTS)))
    engine.dispose()
    assert len(results) == REQUESTS
    for org, homes, providers in results:
        if org == "none":
            assert homes == set()
        else:
            assert homes == expected[org]
            assert providers == {org}


def _plan(conn: Connection, sql: str) -> str:
    return "\n".join(conn.execute(text("EXPLAIN " + sql)).scalars())


def test_nearest_addresses_use_the_gist_index_under_rls(app_conn: Connection, world: World) -> None:
    # Enough rows that a sequential scan would be the planner's natural choice without the index.
    app_conn.execute(
        text(
            "INSERT INTO addresses (uprn, area_id, full_address, property_type, geom) "
            "SELECT 5000100000 + g, 'test-north', g || ' Filler Road', 'house', "
            "ST_SetSRID(ST_MakePoint(420000 + (g % 100) * 40, 520000 + (g / 100) * 40), 27700) "
            "FROM generate_series(1, 5000) g"
        )
    )
    app_conn.execute(text("ANALYZE addresses"))
    set_actor(app_conn, world.actors["control_room"])
    nearest = (
        "SELECT a.uprn, ST_Distance(a.geom, p.geom) AS metres, m.marker_id "
        "FROM (SELECT ST_SetSRID(ST_MakePoint(421000, 520500), 27700) AS geom) p "
        "CROSS JOIN LATERAL (SELECT uprn, geom FROM addresses "
        "  ORDER BY geom <-> p.geom LIMIT 20) a "
        "LEFT JOIN safe_markers m ON m.uprn = a.uprn AND m.status = 'active' "
        "WHERE ST_Distance(a.geom, p.geom) <= 250"
    )
    # Statistics of the shared test database depend on what other tests committed; pricing out
    # the alternatives makes the plan show whether the GiST index is usable under RLS at all
    # (a qual the planner may not push below the policy would block it regardless).
    app_conn.execute(text("SET LOCAL enable_seqscan = off"))
    app_conn.execute(text("SET LOCAL enable_sort = off"))
    plan = _plan(app_conn, nearest)
    assert "addresses_geom_gist" in plan, plan
    rows = app_conn.execute(text(nearest)).all()
    assert rows and all(r.metres <= 250 for r in rows)
