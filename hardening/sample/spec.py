"""Fixed facts of the sample town: dates, real places, towns, neighbourhoods and main roads.

Coordinates are British National Grid metres (EPSG:27700) unless named lon/lat. The five
stations are the real ones (uk-railway-stations, looked up once); town and neighbourhood centres
are rounded from the medians of their real postcode sectors; main roads follow the real routes
at a few hundred metres' resolution. Everything else in the sample is invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

# 2: open no-access orders and visit reviews are recent; 3: house and block names, localities
GENERATOR_VERSION: Final = 3
DEFAULT_ADDRESSES: Final = 20_000
DEFAULT_SEED: Final = 42
MIN_ADDRESSES: Final = 1_000
MAX_ADDRESSES: Final = 2_000_000
# The sample ends on a fixed day (never `today`) so a seed always gives the same data.
REFERENCE_DATE: Final = date(2026, 10, 31)
WINDOW_START: Final = date(2024, 11, 1)  # 24 months of events up to the reference date
UPRN_BASE: Final = 990_000_000_001
DEMO_PASSWORD: Final = "hardening-demo"
SOURCE: Final = "sample"

# (crs code, name, lat, lon): the real station coordinates.
RAIL_STATIONS: Final = (
    ("ROO", "Roose", 54.115157, -3.19457),
    ("BIF", "Barrow-in-Furness", 54.118879, -3.22614),
    ("DLT", "Dalton", 54.15424, -3.179031),
    ("ULV", "Ulverston", 54.191872, -3.097327),
    ("CAR", "Carlisle", 54.890257, -2.933047),
)
# (key, name, town key, x, y): bus stations near the centres (approximate).
BUS_STATIONS: Final = (
    ("bus:BARROW", "Barrow-in-Furness bus station", "barrow", 319870, 469330),
    ("bus:ULVERSTON", "Ulverston bus station", "ulverston", 328640, 478330),
    ("bus:CARLISLE", "Carlisle bus station", "carlisle", 340330, 555830),
)


@dataclass(frozen=True)
class Neighbourhood:
    name: str
    x: float
    y: float
    weight: float  # share of the town's addresses
    outward: str  # real outward code of the postcode district
    sectors: tuple[int, ...]  # sector digits of its (synthetic) postcodes, disjoint per outward
    character: str  # one of CHARACTERS: street layout, housing mix and tenure
    link_road: str  # the road joining it to the town centre
    locality: str | None = None  # written under the street, as Royal Mail does ("Walney")


@dataclass(frozen=True)
class Town:
    key: str
    name: str  # postal town, as in full addresses
    area_id: str
    district: str  # local authority district, as in LSOA names
    district_code: str
    share: float  # share of all sample addresses
    x: float
    y: float
    neighbourhoods: tuple[Neighbourhood, ...]
    real_streets: tuple[str, ...]  # given to the centre's streets first


CHARACTERS: Final = ("centre", "terraces", "estate", "suburb")

# fmt: off
N = Neighbourhood
TOWNS: Final = (
    Town("barrow", "Barrow-in-Furness", "south-cumbria", "Barrow-in-Furness", "E07000027",
         0.42, 319950, 469450, (
             N("Town Centre", 319950, 469450, 0.10, "LA14", (1, 9), "centre", "Duke Street"),
             N("Hindpool", 319990, 470350, 0.14, "LA14", (5,), "terraces", "Hindpool Road"),
             N("Barrow Island", 319350, 468700, 0.06, "LA14", (2,), "terraces",
               "Michaelson Road"),
             N("Salthouse", 320650, 468950, 0.10, "LA14", (6,), "estate", "Salthouse Road"),
             N("Walney", 318200, 468850, 0.14, "LA14", (3, 7), "estate", "Walney Promenade",
               "Walney"),
             N("Hawcoat", 320350, 472050, 0.12, "LA14", (4, 8), "suburb", "Hawcoat Lane"),
             N("Ormsgill", 319500, 471300, 0.08, "LA14", (0,), "estate", "Ormsgill Lane"),
             N("Newbarns", 321150, 469900, 0.12, "LA13", (9, 8), "suburb", "Abbey Road"),
             N("Roose", 322300, 469700, 0.12, "LA13", (0, 1), "terraces", "Roose Road", "Roose"),
         ),
         ("Ramsden Street", "Cavendish Street", "Greengate Street", "Rawlinson Street",
          "Holker Street", "Market Street", "Scott Street", "Buccleuch Street",
          "Forshaw Street", "Harrison Street", "Church Street", "Paxton Street")),
    Town("dalton", "Dalton-in-Furness", "south-cumbria", "Barrow-in-Furness", "E07000027",
         0.07, 322700, 474000, (
             N("Dalton Centre", 322700, 474000, 0.50, "LA15", (8,), "centre", "Market Street"),
             N("Dalton North", 322500, 474650, 0.25, "LA15", (9, 0), "suburb", "Goose Green"),
             N("Dalton South", 323250, 473450, 0.25, "LA15", (7, 6), "estate", "Station Road"),
         ),
         ("Tudor Square", "Skelgate", "Church Street", "Nelson Street", "Ulverston Road")),
    Town("ulverston", "Ulverston", "south-cumbria", "South Lakeland", "E07000031",
         0.10, 328750, 478450, (
             N("Ulverston Centre", 328700, 478550, 0.35, "LA12", (7,), "centre", "King Street"),
             N("Dragley Beck", 329000, 477300, 0.35, "LA12", (9, 8), "estate", "Priory Road"),
             N("Lund", 328150, 479050, 0.30, "LA12", (0, 6), "suburb", "Springfield Road"),
         ),
         ("Queen Street", "Soutergate", "Union Street", "Brogden Street", "Theatre Street",
          "Fountain Street")),
    Town("carlisle", "Carlisle", "carlisle", "Carlisle", "E07000028",
         0.41, 340150, 555900, (
             N("City Centre", 340150, 555900, 0.06, "CA3", (8,), "centre", "English Street"),
             N("Warwick Road", 341000, 555950, 0.08, "CA1", (1, 9), "terraces", "Warwick Road"),
             N("Botcherby", 341450, 555450, 0.09, "CA1", (2,), "estate", "Greystone Road"),
             N("Harraby", 342450, 554050, 0.12, "CA1", (3,), "estate", "Edgehill Road"),
             N("Currock and Upperby", 340550, 553900, 0.12, "CA2", (4,), "terraces",
               "Currock Road"),
             N("Denton Holme", 339550, 555250, 0.09, "CA2", (5,), "terraces", "Dalston Road"),
             N("Morton", 338250, 554500, 0.10, "CA2", (6,), "estate", "Wigton Road"),
             N("Raffles", 338550, 555950, 0.06, "CA2", (7,), "estate", "Newtown Road"),
             N("Belle Vue", 337700, 555400, 0.08, "CA2", (9, 8), "suburb", "Orton Road"),
             N("Stanwix", 339700, 557450, 0.10, "CA3", (9,), "suburb", "Scotland Road",
               "Stanwix"),
             N("Belah and Kingstown", 339600, 558700, 0.10, "CA3", (0,), "suburb",
               "Kingstown Road"),
         ),
         ("Botchergate", "Lowther Street", "Scotch Street", "Castle Street", "Fisher Street",
          "Abbey Street", "Devonshire Street", "Bank Street", "Cecil Street")),
)

# Area polygons (rough force-area sub-divisions, generous around the towns; they do not overlap).
AREA_POLYGONS: Final[dict[str, tuple[tuple[float, float], ...]]] = {
    "south-cumbria": ((300000, 455000), (345000, 455000), (352000, 480000), (345000, 505000),
                      (320000, 505000), (300000, 485000)),
    "west-cumbria": ((282000, 498000), (299000, 486000), (319000, 506000), (330000, 520000),
                     (335000, 545000), (300000, 548000), (288000, 530000)),
    "carlisle": ((338000, 546000), (362000, 540000), (370000, 560000), (356000, 578000),
                 (328000, 574000), (320000, 558000)),
}
# fmt: on


@dataclass(frozen=True)
class MainRoute:
    ref: str
    road_class: str
    area_id: str
    points: tuple[tuple[float, float], ...]
    names: tuple[str, ...]  # names of the route's stretches inside towns (first to last)


# fmt: off
MAIN_ROUTES: Final = (
    MainRoute("A590", "trunk", "south-cumbria",
              ((319300, 469400), (319900, 471200), (320100, 473700), (321300, 474500),
               (322500, 474900), (325400, 475900), (327500, 477600), (328800, 478300),
               (329400, 478700), (330800, 480600), (331800, 483000), (334900, 484200)),
              ("Hindpool Road", "Park Road", "Abbey Road")),
    MainRoute("A5087", "primary", "south-cumbria",
              ((319700, 469000), (320400, 468800), (322100, 468300), (324000, 467100),
               (325600, 468400), (327100, 469700), (328600, 472100), (329500, 473300),
               (330500, 475400), (329700, 476700), (329100, 477500)),
              ("Salthouse Road", "Roose Road", "Coast Road")),
    MainRoute("A595", "primary", "south-cumbria",
              ((322500, 474900), (322400, 475900), (322300, 477600), (322600, 479400),
               (322900, 481000), (323300, 482700)),
              ("Askam Road",)),
    MainRoute("A6", "primary", "carlisle",
              ((347200, 545100), (346300, 546800), (345000, 549400), (344200, 551200),
               (343200, 552400), (341900, 554000), (341100, 554900), (340300, 555600)),
              ("London Road", "Botchergate")),
    MainRoute("A7", "primary", "carlisle",
              ((340300, 555600), (340200, 556300), (340000, 557300), (339700, 558500),
               (339400, 560100), (339300, 562500), (339300, 564900)),
              ("Scotland Road", "Kingstown Road")),
    MainRoute("A69", "trunk", "carlisle",
              ((340400, 556000), (341500, 555900), (343300, 556000), (346000, 556500),
               (347600, 556900), (349900, 558100)),
              ("Warwick Road",)),
    MainRoute("A595", "trunk", "carlisle",
              ((340100, 556400), (339300, 555900), (338000, 554700), (336900, 553300),
               (332400, 550600), (330000, 548600)),
              ("Wigton Road", "Church Street")),
    MainRoute("A689", "secondary", "carlisle",
              ((336500, 554500), (336400, 555400), (338000, 558300), (338400, 559500),
               (341000, 560000), (342700, 559100)),
              ("Carlisle Northern Development Route",)),
    MainRoute("M6", "motorway", "carlisle",
              ((344100, 545100), (343000, 548300), (343400, 550600), (343900, 553200),
               (343300, 555200), (343100, 557100), (342200, 558200), (340600, 559900),
               (337700, 561800), (335500, 565000)),
              ()),
)
# fmt: on

# The three FICTIONAL housing providers (org id, name, short name for demo usernames).
PROVIDERS: Final = (
    ("harbourlight-homes", "Harbourlight Homes", "harbourlight"),
    ("fellgate-housing", "Fellgate Housing Association", "fellgate"),
    ("northwind-living", "Northwind Living", "northwind"),
)
# Each town's social landlords and their shares of its social homes (order of PROVIDERS).
TOWN_PROVIDERS: Final[dict[str, tuple[float, float, float]]] = {
    "barrow": (0.60, 0.25, 0.15),
    "dalton": (0.50, 0.50, 0.0),
    "ulverston": (0.30, 0.70, 0.0),
    "carlisle": (0.10, 0.20, 0.70),
}
