"""`hardening import police-uk` re-scores the addresses its new or changed incidents reach
(one incremental run), and a re-import that changes nothing re-scores nothing."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

from pyproj import Transformer
from sqlalchemy import Connection, text
from test_risk_town import AREA, AS_OF, DWELLINGS, UPRN, XY, build_town

from hardening.importers import police_uk
from hardening.importers.cli import _police_uk_and_rescore
from hardening.risk import scoring

HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)
TO_WGS84 = Transformer.from_crs(27700, 4326, always_xy=True)


def _csv(path: Path, rows: list[tuple[str, tuple[float, float], str]]) -> Path:
    month = f"{datetime.now(UTC):%Y-%m}"  # this month: inside near repeat's 60 days
    lines = [HEADER]
    for crime_id, (x, y), crime_type in rows:
        lon, lat = TO_WGS84.transform(x, y)
        lines.append(
            f"{crime_id},{month},Cumbria Constabulary,Cumbria Constabulary,{lon:.6f},{lat:.6f},"
            f"On or near Test Street,,,{crime_type},Under investigation,"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _runs(conn: Connection) -> list[tuple[str, dict[str, int], int]]:
    return [
        (r[0], r[1], int(r[2]))
        for r in conn.execute(
            text("SELECT mode, cause, scored FROM risk_runs WHERE units = 'addresses' "
                 "ORDER BY run_id")
        )
    ]  # fmt: skip


def test_import_rescores_exactly_the_addresses_new_incidents_reach(
    app_conn: Connection, tmp_path: Path
) -> None:
    build_town(app_conn)
    scoring.score(app_conn, "addresses", AREA, AS_OF)
    point = (XY["A"][0] + 150, XY["A"][1] - 100)
    far = (XY["D"][0] + 2500, XY["D"][1])  # no dwelling within 400 m
    csv = _csv(tmp_path / "p.csv", [("k22a", point, "Drugs"), ("k22b", far, "Bicycle theft")])
    before = len(_runs(app_conn))
    report = _police_uk_and_rescore(app_conn, police_uk.parse([csv]), False)
    assert report.inserted == 2
    inside = {UPRN[d] for d in DWELLINGS if math.dist(XY[d], point) <= 400}  # near repeat
    assert len(inside) >= 3
    assert report.related == {"risk re-scored": {"addresses": len(inside)}}
    runs = _runs(app_conn)
    assert len(runs) == before + 1 and runs[-1] == ("incremental", {"import": 2}, len(inside))
    # the same file again changes no incident, so nothing is re-scored
    again = _police_uk_and_rescore(app_conn, police_uk.parse([csv]), False)
    assert again.unchanged == 2 and again.related == {} and len(_runs(app_conn)) == before + 1


def test_import_before_any_scoring_rescores_nothing(app_conn: Connection, tmp_path: Path) -> None:
    build_town(app_conn)
    app_conn.execute(text("DELETE FROM risk_runs"))  # no full run: the first one will count them
    csv = _csv(tmp_path / "p.csv", [("k22c", XY["A"], "Drugs")])
    report = _police_uk_and_rescore(app_conn, police_uk.parse([csv]), False)
    assert report.inserted == 1 and report.related == {} and _runs(app_conn) == []


def test_no_risk_factor_reads_safe_markers() -> None:
    """SAFE markers change no factor, so their entry points (markers add/review/revoke, the
    API) have nothing to re-score; a factor that starts reading them must make them re-score
    (as visits do, hardening/visits/rescore.py)."""
    import inspect

    from hardening.risk import factor_sql, factors, worktables

    assert {f.source for f in factors.FACTORS} == {
        "", "events", "visits", "measures", "measures_or_cameras", "transport_hubs", "tenure",
        "imd",
    }  # fmt: skip
    for module in (factor_sql, factors, worktables):
        assert "safe_markers" not in inspect.getsource(module)
