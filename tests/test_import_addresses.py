"""Addresses through a column map: parents, providers, types and tenures are checked row by
row; area and LSOA come from containment once the boundaries are loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from hardening.importers import addresses, lsoa
from hardening.importers.core import ImportRejectedError

HEADER = "UPRN,Parent,Text,Postcode,Type,Tenure,Provider,Lon,Lat\n"
MAPS = [
    "uprn=UPRN",
    "parent_uprn=Parent",
    "address=Text",
    "postcode=Postcode",
    "property_type=Type",
    "tenure=Tenure",
    "provider=Provider",
    "x=Lon",
    "y=Lat",
]
GOOD = [
    "100,,1-8 Abbey Court Barrow,la14 1aa,Block,Social rented,north-homes,-3.2270,54.1190",
    "101,100,Flat 1 Abbey Court,LA14 1AA,flat,social_rented,north-homes,-3.2270,54.1190",
    "102,100,Flat 2 Abbey Court,LA14 1AA,Apartment,,north-homes,-3.2270,54.1190",
    "103,900,2 Abbey Road,LA14 1AB,house,owner-occupied,,-3.2280,54.1195",
]
BAD = {
    6: ("104,,3 Abbey Road,,castle,,,-3.2281,54.1196", "type 'castle' is not one of"),
    7: ("105,,4 Abbey Road,,house,,other-homes,-3.2282,54.1196", "provider organisation"),
    8: ("106,555,5 Abbey Road,,house,,,-3.2283,54.1196", "parent UPRN 555 is not in"),
    9: ("107,107,6 Abbey Road,,house,,,-3.2284,54.1196", "UPRN 107 is its own parent"),
    10: ("101,,Again,,house,,,-3.2285,54.1196", "UPRN 101 repeats line 3"),
    11: ("abc,,7 Abbey Road,,house,,,-3.2286,54.1196", "UPRN 'abc' is not a number"),
    12: ("108,,8 Abbey Road,,house,,,54.1196,-3.2287", "look swapped"),
    13: ("109,,8 Abbey Road,,house,renting,,-3.2288,54.1196", "tenure 'renting' is not"),
    14: ("110,,8 Abbey Road,XX,house,,,-3.2289,54.1196", "postcode 'XX' is not a UK postcode"),
    15: ("111,,x,,house,,,-3.2290,54.1196", "must be 3 to 300 characters"),
    16: ("112,106,Child of a bad row,,house,,,-3.2291,54.1196", "parent UPRN 106 is not in"),
}


@pytest.fixture
def provider(app_conn: Connection) -> Connection:
    app_conn.execute(
        text(
            "INSERT INTO organisations (org_id, name, kind) VALUES "
            "('north-homes', 'North Homes', 'housing_provider')"
        )
    )
    app_conn.execute(
        text(
            "INSERT INTO addresses (uprn, full_address, property_type, geom) VALUES "
            "(900, '1 Abbey Road', 'house', 'SRID=27700;POINT(319800 469500)')"
        )
    )
    return app_conn


def register(conn: Connection) -> list[tuple[object, ...]]:
    rows = conn.execute(
        text(
            "SELECT uprn, parent_uprn, postcode, property_type, tenure, provider_org_id, source "
            "FROM addresses WHERE uprn <> 900 AND uprn < 1000000000 ORDER BY uprn"  # own rows only
        )
    ).all()
    return [tuple(r) for r in rows]


def test_good_file_loads_and_reloads_unchanged(provider: Connection, tmp_path: Path) -> None:
    path = tmp_path / "homes.csv"
    path.write_text(HEADER + "\n".join(GOOD) + "\n", "utf-8")
    first = addresses.import_file(provider, path, MAPS)
    assert (first.inserted, first.updated, first.unchanged) == (4, 0, 0)
    assert register(provider) == [
        (100, None, "LA14 1AA", "block", "social_rented", "north-homes", "homes"),
        (101, 100, "LA14 1AA", "flat", "social_rented", "north-homes", "homes"),
        (102, 100, "LA14 1AA", "flat", "unknown", "north-homes", "homes"),
        (103, 900, "LA14 1AB", "house", "owner_occupied", None, "homes"),
    ]
    again = addresses.import_file(provider, path, MAPS)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)


def test_bad_rows_are_refused_then_skipped(provider: Connection, tmp_path: Path) -> None:
    path = tmp_path / "homes.csv"
    path.write_text(HEADER + "\n".join(GOOD + [row for row, _ in BAD.values()]) + "\n", "utf-8")
    with pytest.raises(ImportRejectedError) as caught:
        addresses.import_file(provider, path, MAPS)
    rejects = caught.value.report.rejects
    assert [e.origin.line for e in rejects] == sorted(BAD)
    for error in rejects:
        assert BAD[error.origin.line][1] in error.reason, error
    assert register(provider) == []
    report = addresses.import_file(provider, path, MAPS, skip_bad=True)
    assert (report.inserted, len(report.rejects)) == (4, len(BAD))
    assert [r[0] for r in register(provider)] == [100, 101, 102, 103]


def test_address_from_parts_and_containment(
    app_conn: Connection, open_data_dir: Path, tmp_path: Path
) -> None:
    lsoa.import_files(app_conn, open_data_dir / "boundaries" / "cumbriaLSOA.shp")
    path = tmp_path / "parts.csv"
    path.write_text(
        "uprn,house_number,street,town,postcode,longitude,latitude\n"
        "200,12,Dalton Road,Barrow-in-Furness,LA14 1JA,-3.2290,54.1160\n"
        "201,1,Market Square,Bath,BA1 1AA,-2.3590,51.3810\n",
        "utf-8",
    )
    report = addresses.import_file(app_conn, path, source="council-list")
    assert report.inserted == 2
    rows = app_conn.execute(
        text(
            "SELECT uprn, full_address, area_id, lsoa_code IS NOT NULL, property_type, source "
            "FROM addresses WHERE uprn < 1000000000 ORDER BY uprn"
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        (
            200,
            "12 Dalton Road, Barrow-in-Furness, LA14 1JA",
            "south-cumbria",
            True,
            "other",
            "council-list",
        ),
        (201, "1 Market Square, Bath, BA1 1AA", None, False, "other", "council-list"),
    ]
    inside = app_conn.execute(
        text("SELECT ST_Covers(l.geom, a.geom) FROM addresses a JOIN lsoas l USING (lsoa_code)")
    ).scalar_one()
    assert inside is True
