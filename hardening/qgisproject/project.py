"""`hardening qgis-project` and the map page's download: a QGIS project (.qgz) holding every
layer the user may see, as OGC API - Features layers of this server plus the CCTV vector tiles,
styled like the web map (`styles`).

The layers name a QGIS authentication configuration (`authcfg`) instead of holding a secret:
the user stores HTTP Basic there once (their username, an API token as the password), so the
file can be shared and keeps nothing that signs in. Which layers are listed is decided like
`/ogc/collections`, in the user's own transaction (`features.collections.readable`).
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, SubElement, tostring

from pyproj import CRS
from sqlalchemy import Connection, text

from hardening.errors import UserInputError
from hardening.features.collections import readable
from hardening.qgisproject import styles
from hardening.tiles.grid import MAX_ZOOM

AUTHCFG: Final = "hardng1"  # the id the user gives their authentication configuration in QGIS
AUTHCFG_PATTERN: Final = re.compile(r"^[a-z0-9]{7}$")  # QGIS's own: seven letters or digits
NEEDS_PURPOSE: Final = frozenset({"safe-markers", "visits", "work-orders"})
# Drawing order, bottom first: squares under points, markers and cameras on top.
ORDER: Final = ("risk-cells", "work-orders", "visits", "anpr-sites", "cctv-sites", "safe-markers")
PURPOSE_NOTE: Final = (
    "Personal data: every read needs a reason. QGIS cannot send one per request, so use a token "
    'with a standing purpose (`hardening users token NAME --purpose "Operation X, ref 123"`): '
    "reads are audited with it. With a token without a purpose this layer does not load."
)


@dataclass(frozen=True)
class Layer:
    layer_id: str
    name: str
    kind: str  # vector or vector-tile
    provider: str
    source: str
    abstract: str
    renderer: Element
    geometry: str = ""
    visible: bool = True


def check_server(server: str) -> str:
    """The API's base URL as clients reach it, without a trailing slash; refused with a
    message when it is not a plain http(s) address (credentials in it would be stored)."""
    parts = urlsplit(server.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserInputError(f"--server must be an http:// or https:// address, not {server!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UserInputError(
            "--server must not hold a username, password, query or fragment: the project "
            "stores no secret (QGIS's authentication configuration holds it)"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def check_authcfg(authcfg: str) -> str:
    if not AUTHCFG_PATTERN.match(authcfg):
        raise UserInputError(
            f"the authentication configuration id must be 7 lower-case letters or digits "
            f"(QGIS's form), not {authcfg!r}"
        )
    return authcfg


def layers(conn: Connection, server: str, authcfg: str = AUTHCFG) -> list[Layer]:
    """The layers the transaction's actor may see, bottom first."""
    found = {source.id: source for source in readable(conn)}
    out = []
    for collection_id in ORDER:
        source = found.get(collection_id)
        if source is None:
            continue
        style = styles.collection_style(collection_id)
        abstract = source.description
        if collection_id in NEEDS_PURPOSE:
            abstract += " " + PURPOSE_NOTE
        out.append(
            Layer(
                # QGIS keeps a layer's id only when it is over 10 characters long.
                layer_id="hardening_" + collection_id.replace("-", "_"),
                name=source.title,
                kind="vector",
                provider="OAPIF",
                source=f"url='{server}/ogc' typename='{collection_id}' authcfg='{authcfg}'",
                abstract=abstract,
                renderer=style.renderer,
                geometry=style.geometry,
            )
        )
    if "cctv-sites" in found:  # the same sites as vector tiles: quick over a whole county
        tiles = f"{server}/v1/tiles/cctv/{{z}}/{{x}}/{{y}}.pbf"
        out.append(
            Layer(
                layer_id="hardening_cctv_tiles",
                name="CCTV sites (vector tiles)",
                kind="vector-tile",
                provider="vectortile",
                source=f"type=xyz&url={tiles}&zmin=0&zmax={MAX_ZOOM}&authcfg={authcfg}",
                abstract="The CCTV sites as Mapbox vector tiles, gathered per grid square when "
                "zoomed out. Off by default: the CCTV sites layer above shows the same sites.",
                renderer=styles.cctv_tile_renderer(),
                visible=False,
            )
        )
    return out


def _srs(parent: Element, epsg: int) -> None:
    crs = CRS.from_epsg(epsg)
    ref = SubElement(parent, "spatialrefsys")
    for tag, value in (("wkt", crs.to_wkt()), ("srid", str(epsg)),
                       ("authid", f"EPSG:{epsg}"), ("description", crs.name)):  # fmt: skip
        SubElement(ref, tag).text = value


def _extent(conn: Connection) -> tuple[float, float, float, float]:
    """The actor's agreement areas in BNG metres (Great Britain without any)."""
    row = conn.execute(
        text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) "
            "AS e FROM areas WHERE app_is_system() OR area_id = ANY(app_areas())) s"
        )
    ).one()
    if row[0] is None:
        return (0.0, 0.0, 700_000.0, 1_300_000.0)
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def project_xml(found: list[Layer], title: str, extent: tuple[float, float, float, float]) -> bytes:
    root = Element("qgis", version="3.22.0", projectname=title)
    SubElement(root, "title").text = title
    _srs(SubElement(root, "projectCrs"), 27700)
    group = SubElement(root, "layer-tree-group")
    top = SubElement(group, "layer-tree-group", name=title, checked="Qt::Checked", expanded="1")
    for layer in reversed(found):  # the tree lists the top layer first
        SubElement(top, "layer-tree-layer", id=layer.layer_id, name=layer.name,
                   source=layer.source, providerKey=layer.provider, expanded="1",
                   checked="Qt::Checked" if layer.visible else "Qt::Unchecked")  # fmt: skip
    canvas = SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    SubElement(canvas, "units").text = "meters"
    box = SubElement(canvas, "extent")
    for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), extent, strict=True):
        SubElement(box, tag).text = repr(value)
    SubElement(canvas, "rotation").text = "0"
    _srs(SubElement(canvas, "destinationsrs"), 27700)
    maps = SubElement(root, "projectlayers")
    for layer in found:
        attrs = {"type": layer.kind}
        if layer.geometry:
            attrs |= {"geometry": layer.geometry, "wkbType": layer.geometry}
        node = SubElement(maps, "maplayer", attrs)
        SubElement(node, "id").text = layer.layer_id
        SubElement(node, "datasource").text = layer.source
        SubElement(node, "layername").text = layer.name
        _srs(SubElement(node, "srs"), 4326 if layer.kind == "vector" else 3857)
        meta = SubElement(node, "resourceMetadata")
        SubElement(meta, "title").text = layer.name
        SubElement(meta, "abstract").text = layer.abstract
        SubElement(node, "provider", encoding="UTF-8").text = layer.provider
        node.append(layer.renderer)
        if layer.geometry == "Polygon":
            SubElement(node, "layerOpacity").text = "0.85"
    body: bytes = tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<!DOCTYPE qgis PUBLIC "http://mrcc.com/qgis.dtd" "SYSTEM">\n' + body


def build(conn: Connection, server: str, username: str, authcfg: str = AUTHCFG) -> bytes:
    """The .qgz (a zip holding one .qgs) for the transaction's actor, named after them."""
    server, authcfg = check_server(server), check_authcfg(authcfg)
    found = layers(conn, server, authcfg)
    if not found:
        raise UserInputError(f"{username} may see no map layer: there is nothing to put in QGIS")
    xml = project_xml(found, f"hardening - {username}", _extent(conn))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as qgz:
        qgz.writestr(f"hardening-{username}.qgs", xml)
    return out.getvalue()
