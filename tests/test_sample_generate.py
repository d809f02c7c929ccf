"""The synthetic sample town, without a database: determinism, sizes and realism."""

from __future__ import annotations

import csv
import gzip
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely

from hardening.errors import UserInputError
from hardening.geo import to_bng
from hardening.importers.addresses import PARTS, address_text
from hardening.sample.files import write_set
from hardening.sample.generate import SampleSet, generate
from hardening.sample.spec import (
    DEFAULT_ADDRESSES,
    DEFAULT_SEED,
    PROVIDERS,
    REFERENCE_DATE,
    TOWNS,
    UPRN_BASE,
)
from hardening.sample.table import TABLE_NAMES
from hardening.sample.works import MEASURES
from hardening.settings import PROJECT_ROOT

COMMITTED = PROJECT_ROOT / "sample_data"
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}$")
POINT = re.compile(r"^SRID=27700;POINT\(([-0-9.]+) ([-0-9.]+)\)$")


@pytest.fixture(scope="module")
def default_set() -> SampleSet:
    return generate(DEFAULT_ADDRESSES, DEFAULT_SEED)


def columns(sample: SampleSet, table: str) -> dict[str, list[Any]]:
    return {k: v.tolist() for k, v in sample.tables[table].data.items()}


def xy(ewkt: list[str]) -> np.ndarray:
    pairs = []
    for text in ewkt:
        match = POINT.match(text)
        assert match, text
        pairs.append((float(match[1]), float(match[2])))
    return np.array(pairs)


def test_committed_set_regenerates_byte_for_byte(default_set: SampleSet, tmp_path: Path) -> None:
    written = write_set(default_set, tmp_path)
    committed = sorted(p.name for p in COMMITTED.iterdir() if p.name != "README.md")
    assert sorted(p.name for p in written) == committed
    for path in written:
        ours, theirs = path.read_bytes(), (COMMITTED / path.name).read_bytes()
        if path.suffix == ".gz":  # the content first: a clearer failure than compressed bytes
            ours_text, theirs_text = gzip.decompress(ours), gzip.decompress(theirs)
            assert ours_text == theirs_text, f"{path.name}: run `hardening sample generate`"
        assert ours == theirs, f"{path.name} differs: run `hardening sample generate`"


def test_committed_files_are_small_and_hold_no_password_hash() -> None:
    for path in COMMITTED.iterdir():
        assert path.stat().st_size < 2 * 1024 * 1024, path.name
    with gzip.open(COMMITTED / "users.csv.gz", "rt", encoding="utf-8") as text:
        content = text.read()
    assert "password" not in content.splitlines()[0]
    assert "$argon2" not in content


def test_same_seed_same_data_other_seed_other_data() -> None:
    first, again, other = generate(1500, 5), generate(1500, 5), generate(1500, 6)
    for name in TABLE_NAMES:
        assert list(first.tables[name].rows()) == list(again.tables[name].rows()), name
    assert columns(first, "addresses")["geom"] != columns(other, "addresses")["geom"]


@pytest.mark.parametrize("n", [1000, 4321])
def test_exact_number_of_addresses_and_every_table_filled(n: int) -> None:
    sample = generate(n, 11)
    assert len(sample.tables["addresses"]) == n
    assert [name for name, count in sample.counts().items() if count == 0] == []


@pytest.mark.parametrize(("n", "seed"), [(10, 1), (999, 1), (3_000_000, 1), (2000, -1)])
def test_sizes_and_seeds_out_of_range_are_refused(n: int, seed: int) -> None:
    with pytest.raises(UserInputError):
        generate(n, seed)


def test_flats_share_their_blocks_uprn_point_and_postcode(default_set: SampleSet) -> None:
    a = columns(default_set, "addresses")
    row = {uprn: i for i, uprn in enumerate(a["uprn"])}
    assert len(row) == len(a["uprn"]) and min(a["uprn"]) == UPRN_BASE
    flats = [i for i, p in enumerate(a["parent_uprn"]) if p is not None]
    assert len(flats) > 1000
    for i in flats:
        block = row[a["parent_uprn"][i]]
        assert a["property_type"][block] == "block" and a["property_type"][i] == "flat"
        for col in ("geom", "street", "house_number", "postcode", "lsoa_code"):
            assert a[col][i] == a[col][block], col
        for col in ("building_name", "locality"):
            assert a[col][i] == a[col][block], col
        assert re.fullmatch(r"(Flat|Apartment) ([A-D]|\d+)", a["sub_building"][i])
        assert a["full_address"][i].startswith(a["sub_building"][i] + ", ")
    assert all(
        t == "flat" or p is None for t, p in zip(a["property_type"], a["parent_uprn"], strict=True)
    )


def test_addresses_read_like_real_ones(default_set: SampleSet) -> None:
    a = columns(default_set, "addresses")
    assert any(
        re.fullmatch(r"Flat 3, 12 Ramsden Street, Barrow-in-Furness, LA14 \d[A-Z]{2}", f)
        for f in a["full_address"]
    )
    assert any(re.fullmatch(r"\d+A", n) for n in a["house_number"] if n is not None)
    assert all(POSTCODE.match(p) for p in a["postcode"])
    outward = {t.name: {nb.outward for nb in t.neighbourhoods} for t in TOWNS}
    assert all(p.split()[0] in outward[t] for p, t in zip(a["postcode"], a["town"], strict=True))
    per_postcode = Counter(a["postcode"]).values()
    assert 10 <= sum(per_postcode) / len(per_postcode) <= 25
    for full, town, postcode in zip(a["full_address"], a["town"], a["postcode"], strict=True):
        assert full.endswith(f", {town}, {postcode}")
    # The text is the parts in the order an import writes them ("Flat 3, Harbour Court, 12
    # Dock Street, Walney, Barrow-in-Furness, LA14 3AB").
    for i, full in enumerate(a["full_address"]):
        assert full == address_text({part: a[part][i] for part in PARTS}), full
    streets_per_town = Counter((t, s) for t, s in zip(a["town"], a["street"], strict=True))
    assert len(streets_per_town) > 300


def test_houses_have_names_most_often_at_the_edge_of_town(default_set: SampleSet) -> None:
    """As in HM Land Registry's addresses: about one house in sixteen is named, more at the
    edge of a town; most names stand alone, some keep their number."""
    a = columns(default_set, "addresses")
    houses = [i for i, t in enumerate(a["property_type"]) if t in ("house", "bungalow")]
    named = [i for i in houses if a["building_name"][i] is not None]
    assert 0.03 < len(named) / len(houses) < 0.12
    alone = [i for i in named if a["house_number"][i] is None]
    assert 0.5 < len(alone) / len(named) < 0.95
    assert any(re.fullmatch(r"[A-Z][a-z ]+, [A-Z][\w ]+, [\w-]+, [A-Z0-9 ]+", a["full_address"][i])
               for i in alone)  # fmt: skip  # "Rose Cottage, Mill Lane, Ulverston, LA12 7AB"
    assert {"Rose Cottage", "Fell View"} <= {a["building_name"][i] for i in named}
    homes = xy(a["geom"])
    centre = {t.name: (t.x, t.y) for t in TOWNS}
    edge = np.zeros(len(homes))
    for town, (x, y) in centre.items():
        idx = np.array([i for i in houses if a["town"][i] == town])
        d = np.hypot(homes[idx, 0] - x, homes[idx, 1] - y)
        edge[idx] = np.argsort(np.argsort(d)) / (len(idx) - 1)
    is_named = np.array([a["building_name"][i] is not None for i in houses])
    outer, inner = edge[houses] > 0.8, edge[houses] < 0.5
    assert is_named[outer].mean() > 3 * is_named[inner].mean()
    # A street never has two houses of one name; names are not numbers.
    on_street = Counter((a["town"][i], a["street"][i], a["building_name"][i]) for i in named)
    assert max(on_street.values()) == 1
    assert not any(any(c.isdigit() for c in a["building_name"][i]) for i in named)


def test_some_flats_are_in_named_blocks(default_set: SampleSet) -> None:
    """ "Flat 3, Harbour Court, 12 Dock Street", "Apartment 5, Eden Court, Cheviot Walk": a
    named block's flats carry its name (and its number, or none); small conversions ("Flat A,
    14 Cross Street") and the callers' "Flat 3, 12 Ramsden Street" have no name."""
    a = columns(default_set, "addresses")
    row = {uprn: i for i, uprn in enumerate(a["uprn"])}
    blocks = [i for i, t in enumerate(a["property_type"]) if t == "block"]
    named = [i for i in blocks if a["building_name"][i] is not None]
    assert 0.2 < len(named) / len(blocks) < 0.7 and len(named) > 100
    flats = [i for i, p in enumerate(a["parent_uprn"]) if p is not None]
    in_named = [i for i in flats if a["building_name"][row[a["parent_uprn"][i]]] is not None]
    assert 0.2 < len(in_named) / len(flats) < 0.5  # Land Registry: a third of flats
    assert any(a["house_number"][i] is None for i in in_named)
    assert any(a["house_number"][i] is not None for i in in_named)
    assert any(a["sub_building"][i].startswith("Apartment ") for i in in_named)
    for i in in_named:
        assert a["full_address"][i].startswith(f"{a['sub_building'][i]}, {a['building_name'][i]}, ")
    lettered = {
        a["parent_uprn"][i] for i in flats if re.fullmatch(r"Flat [A-D]", a["sub_building"][i])
    }
    assert lettered and all(a["building_name"][row[u]] is None for u in lettered)
    ramsden = [f for f in a["full_address"] if f.startswith("Flat 3, 12 Ramsden Street, ")]
    assert len(ramsden) == 1
    per_town = Counter((a["town"][i], a["building_name"][i]) for i in named)
    assert max(per_town.values()) == 1  # one Harbour Court a town
    assert {"Walney", "Roose", "Stanwix"} <= set(a["locality"]) - {None}


def test_tenure_mix_and_landlords(default_set: SampleSet) -> None:
    a = columns(default_set, "addresses")
    share = {k: v / len(a["tenure"]) for k, v in Counter(a["tenure"]).items()}
    assert set(share) == {
        "owner_occupied",
        "private_rented",
        "social_rented",
        "supported",
        "unknown",
    }
    assert 0.35 < share["owner_occupied"] < 0.6 and 0.1 < share["social_rented"] < 0.35
    providers = {p[0] for p in PROVIDERS}
    for tenure, provider in zip(a["tenure"], a["provider_org_id"], strict=True):
        if tenure in ("social_rented", "supported"):
            assert provider in providers
        else:
            assert provider is None
    towns_of = {
        p: {t for t, q in zip(a["town"], a["provider_org_id"], strict=True) if q == p}
        for p in providers
    }
    assert all(len(towns) >= 2 for towns in towns_of.values())


def test_stations_are_the_real_ones(default_set: SampleSet, open_data_dir: Path) -> None:
    with (open_data_dir / "stations" / "uk_railway_stations.csv").open(encoding="utf-8") as f:
        real = {r["crsCode"]: r for r in csv.DictReader(f)}
    hubs = columns(default_set, "transport_hubs")
    points = xy(hubs["geom"])
    kinds = zip(hubs["code"], points, hubs["kind"], strict=True)
    rail = {c: p for c, p, k in kinds if k == "rail_station"}
    assert set(rail) == {"ROO", "BIF", "DLT", "ULV", "CAR"}
    for code, (x, y) in rail.items():
        ex, ey = to_bng(float(real[code]["long"]), float(real[code]["lat"]))
        assert math.hypot(x - ex, y - ey) < 1.0, code


def test_incidents_cluster_around_hot_spots_in_space_and_time(default_set: SampleSet) -> None:
    inc = columns(default_set, "incidents")
    pts = xy(inc["geom"])
    homes = xy(columns(default_set, "addresses")["geom"])
    spots = default_set.hot_spots
    centres = shapely.points(spots.x, spots.y)

    def near(p: np.ndarray) -> np.ndarray:
        d = shapely.distance(shapely.points(p)[:, None], centres[None, :]).min(axis=1)
        return np.asarray(d < 300.0)

    inside = near(pts).sum() / near(homes).sum()  # incidents per home near the hot spots
    outside = (~near(pts)).sum() / (~near(homes)).sum()
    assert inside > 3 * outside
    # Near repeats (a Knox test): more pairs close in space are also close in time than the
    # same places would give with their dates shuffled.
    days = np.array([np.datetime64(t[:19]) for t in inc["occurred_at"]], dtype="datetime64[s]")
    days = days.astype(np.int64) / 86400.0
    tree = shapely.STRtree(shapely.points(pts))
    i, j = tree.query(shapely.points(pts), predicate="dwithin", distance=100.0)
    i, j = i[i < j], j[i < j]
    close = int((np.abs(days[i] - days[j]) < 14).sum())
    rng = np.random.default_rng(0)
    shuffled = [
        int((np.abs(d[i] - d[j]) < 14).sum()) for d in (rng.permutation(days) for _ in range(5))
    ]
    assert close > 1.15 * np.mean(shuffled)


def test_deprived_zones_sit_near_centres_and_stations(default_set: SampleSet) -> None:
    zones = columns(default_set, "lsoas")
    assert all(re.fullmatch(r"SX\d{3}", c) for c in zones["lsoa_code"])
    cx = {t.area_id: (t.x, t.y) for t in TOWNS}
    shapes = shapely.from_wkt([g.split(";", 1)[1] for g in zones["geom"]])
    assert all(shapely.is_valid(shapes))
    centroids = shapely.centroid(shapes)
    town_xy = np.array([(t.x, t.y) for t in TOWNS])
    d = shapely.distance(centroids[:, None], shapely.points(town_xy)[None, :]).min(axis=1)
    deciles = np.array(zones["imd_decile"])
    assert d[deciles <= 2].mean() < d[deciles >= 9].mean()
    assert set(deciles.tolist()) == set(range(1, 11)) and cx


def test_casework_and_works_cover_every_state(default_set: SampleSet) -> None:
    ref = REFERENCE_DATE.isoformat()
    assert set(columns(default_set, "referrals")["status"]) == {
        "made",
        "accepted",
        "engaged",
        "closed",
    }
    orders = columns(default_set, "work_orders")
    assert set(orders["status"]) == {
        "requested",
        "approved",
        "scheduled",
        "in_progress",
        "completed",
        "no_access",
        "cancelled",
    }
    m = columns(default_set, "safe_markers")
    active = [s == "active" for s in m["status"]]
    assert (
        sum(a and r < ref for a, r in zip(active, m["review_due"], strict=True)) > 5
    )  # due for review
    assert sum(a and e < ref for a, e in zip(active, m["expires_on"], strict=True)) > 2  # expired
    revoked = [i for i, s in enumerate(m["status"]) if s == "revoked"]
    assert revoked and all(m["revoked_at"][i] and m["revoked_reason"][i] for i in revoked)
    assert "block" in m["scope"]
    installed = columns(default_set, "installed_measures")
    pairs = list(zip(installed["uprn"], installed["measure_code"], strict=True))
    assert len(pairs) == len(set(pairs))
    skills = {s for s, *_ in MEASURES.values()}
    for held in columns(default_set, "operatives")["skills"]:
        assert set(held.strip("{}").split(",")) <= skills
    for table in ("cctv_sites", "anpr_sites"):
        assert "faulty" in columns(default_set, table)["status"]
    assert "planned" in columns(default_set, "cctv_sites")["status"]
