"""QGIS renderers (project XML) styled like the web map: CCTV by status, ANPR, SAFE markers, visits,
work orders by their SLA clock, risk squares by their share of high-risk homes with the
disclosure-control note, and the CCTV vector tiles. Colours are the pages' own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from xml.etree.ElementTree import Element, SubElement

Colour = tuple[int, int, int, int]

# app.py's CCTV_STATUS and ANPR; ui/control_room.py's marker red; pages/8_Housing_works.py's
# clock and pages/3_Risk.py's bands.
CCTV_STATUS: Final[dict[str, tuple[str, Colour]]] = {
    "working": ("Working", (24, 150, 78, 255)),
    "faulty": ("Faulty", (214, 40, 40, 255)),
    "planned": ("Planned", (80, 120, 220, 255)),
}
ANPR: Final[Colour] = (128, 50, 170, 255)
MARKER: Final[Colour] = (200, 30, 30, 230)
VISIT: Final[Colour] = (224, 120, 0, 255)  # pages/5_Visits.py's stops
WHITE: Final[Colour] = (255, 255, 255, 255)
DARK: Final[Colour] = (35, 35, 35, 255)
# The works page's SLA clock: amber when under a quarter of the time allowed is left.
DUE = 'to_datetime("due_at")'
LEFT_S = f"second({DUE} - now())"
ALLOWED_S = f'second({DUE} - to_datetime("created_at"))'
WORK_CLOCK: Final[tuple[tuple[str, str, Colour], ...]] = (
    ("Completed", "\"status\" = 'completed' OR \"completed_at\" IS NOT NULL", (140, 140, 140, 255)),
    ("Overdue", f"{LEFT_S} < 0", (198, 40, 40, 255)),
    ("Due soon (under a quarter of the time left)", f"{LEFT_S} < 0.25 * {ALLOWED_S}",
     (239, 108, 0, 255)),
    ("On time", "ELSE", (46, 125, 50, 255)),
)  # fmt: skip
WITHHELD_NOTE: Final = (
    "High-risk count withheld: fewer than 10 homes (disclosure control; counts rounded to 5)"
)
RISK_SHARE: Final[tuple[tuple[str, str, Colour], ...]] = (
    (WITHHELD_NOTE, '"high_share" IS NULL', (190, 190, 190, 110)),
    ("Under 10% of homes high risk", '"high_share" < 0.1', (255, 237, 160, 150)),
    ("10-25%", '"high_share" < 0.25', (245, 195, 50, 170)),
    ("25-50%", '"high_share" < 0.5', (238, 118, 28, 190)),
    ("Half or more", "ELSE", (200, 30, 30, 210)),
)


def _rgba(colour: Colour) -> str:
    return ",".join(map(str, colour))


def _options(parent: Element, values: dict[str, str]) -> None:
    box = SubElement(parent, "Option", type="Map")
    for name, value in values.items():
        SubElement(box, "Option", type="QString", name=name, value=value)


def marker(name: str, colour: Colour, shape: str = "circle", size: float = 3.0,
           outline: Colour = WHITE) -> Element:  # fmt: skip
    symbol = Element("symbol", type="marker", name=name, alpha="1", clip_to_extent="1",
                     force_rhr="0")  # fmt: skip
    layer = SubElement(symbol, "layer", {"class": "SimpleMarker", "enabled": "1", "pass": "0",
                                         "locked": "0"})  # fmt: skip
    _options(layer, {
        "color": _rgba(colour), "name": shape, "size": str(size), "size_unit": "MM",
        "outline_color": _rgba(outline), "outline_style": "solid", "outline_width": "0.4",
        "outline_width_unit": "MM", "scale_method": "diameter", "angle": "0",
    })  # fmt: skip
    return symbol


def fill(name: str, colour: Colour, outline: Colour = (255, 255, 255, 160)) -> Element:
    symbol = Element("symbol", type="fill", name=name, alpha="1", clip_to_extent="1",
                     force_rhr="0")  # fmt: skip
    layer = SubElement(symbol, "layer", {"class": "SimpleFill", "enabled": "1", "pass": "0",
                                         "locked": "0"})  # fmt: skip
    _options(layer, {
        "color": _rgba(colour), "style": "solid", "outline_color": _rgba(outline),
        "outline_style": "solid", "outline_width": "0.2", "outline_width_unit": "MM",
    })  # fmt: skip
    return symbol


def _renderer(kind: str, attr: str | None = None) -> Element:
    renderer = Element("renderer-v2", type=kind, forceraster="0", symbollevels="0",
                       enableorderby="0", referencescale="-1")  # fmt: skip
    if attr is not None:
        renderer.set("attr", attr)
    return renderer


def single(symbol: Element) -> Element:
    renderer = _renderer("singleSymbol")
    symbol.set("name", "0")
    SubElement(renderer, "symbols").append(symbol)
    return renderer


def categorized(attr: str, categories: list[tuple[str, str, Element]]) -> Element:
    renderer = _renderer("categorizedSymbol", attr=attr)
    cats, symbols = SubElement(renderer, "categories"), SubElement(renderer, "symbols")
    for i, (value, label, symbol) in enumerate(categories):
        SubElement(cats, "category", render="true", symbol=str(i), value=value, label=label)
        symbol.set("name", str(i))
        symbols.append(symbol)
    return renderer


def rules(entries: list[tuple[str, str, Element]]) -> Element:
    """First matching rule wins (an "ELSE" rule catches the rest)."""
    renderer = _renderer("RuleRenderer")
    root = SubElement(renderer, "rules", key="root")
    symbols = SubElement(renderer, "symbols")
    previous: list[str] = []
    for i, (label, expression, symbol) in enumerate(entries):
        if expression == "ELSE":
            attrs = {"filter": "ELSE"}
        else:
            taken = " AND ".join(f"NOT coalesce({p}, false)" for p in previous)
            attrs = {"filter": f"({expression})" + (f" AND {taken}" if taken else "")}
            previous.append(f"({expression})")
        SubElement(root, "rule", {"key": f"rule{i}", "symbol": str(i), "label": label, **attrs})
        symbol.set("name", str(i))
        symbols.append(symbol)
    return renderer


@dataclass(frozen=True)
class Style:
    renderer: Element
    geometry: str  # Point or Polygon


def collection_style(collection_id: str) -> Style:
    if collection_id == "cctv-sites":
        return Style(categorized("status", [(v, label, marker(v, c)) for v, (label, c)
                                            in CCTV_STATUS.items()]), "Point")  # fmt: skip
    if collection_id == "anpr-sites":
        return Style(single(marker("0", ANPR, "square", 3.5, DARK)), "Point")
    if collection_id == "visits":
        return Style(single(marker("0", VISIT, "circle", 3.0)), "Point")
    if collection_id == "safe-markers":
        return Style(single(marker("0", MARKER, "diamond", 4.5)), "Point")
    if collection_id == "work-orders":
        clock = [(label, rule, marker(label, c, "triangle", 3.5)) for label, rule, c in WORK_CLOCK]
        return Style(rules(clock), "Point")
    if collection_id == "risk-cells":
        return Style(rules([(label, rule, fill(label, c)) for label, rule, c in RISK_SHARE]),
                     "Polygon")  # fmt: skip
    raise KeyError(collection_id)


def cctv_tile_renderer() -> Element:
    """The CCTV vector tiles: sites by status from the point zoom, clusters (grey) below it."""
    renderer = Element("renderer", type="basic")
    styles = SubElement(renderer, "styles")
    entries = [(label, f"\"status\" = '{v}'", c) for v, (label, c) in CCTV_STATUS.items()]
    entries.append(("Cluster of sites", "\"kind\" = 'cluster'", (110, 110, 110, 230)))
    for label, expression, colour in entries:
        style = SubElement(styles, "style", {"name": label, "layer": "cctv", "geometry": "0",
                                             "enabled": "1", "expression": expression,
                                             "min-zoom": "-1", "max-zoom": "-1"})  # fmt: skip
        SubElement(style, "symbols").append(marker("0", colour))
    return renderer
