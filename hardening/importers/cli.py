"""`hardening import ...`: load public and partner files, all-or-nothing unless --skip-bad.

Each command validates every row first (reasons with line numbers), then writes in one
transaction as the system actor. `--json` prints the report (counts and every reject) on stdout,
also when the file is refused; progress goes to stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Connection

from hardening.clikit import JsonOption, emit, info, system_connection
from hardening.importers import addresses, codepoint, lsoa, police_uk, roads, sites, stations
from hardening.importers.core import Batch, ImportRejectedError, ImportReport
from hardening.risk import imported

app = typer.Typer(
    help="Import public and partner datasets (idempotent; all-or-nothing unless --skip-bad).",
    no_args_is_help=True,
)

Files = Annotated[list[Path], typer.Argument(help="One or more files.", show_default=False)]
File = Annotated[Path, typer.Argument(help="The file to import.", show_default=False)]
SkipBad = Annotated[
    bool, typer.Option("--skip-bad", help="Load the good rows and report the bad ones.")
]
Crs = Annotated[
    str | None,
    typer.Option("--crs", help="EPSG code of the coordinates (default EPSG:4326, or the file's)."),
]
Maps = Annotated[
    list[str] | None,
    typer.Option("--map", help="target=column, repeatable (e.g. --map x=lon --map id=cam_id)."),
]
Source = Annotated[
    str | None, typer.Option("--source", help="Source name stored with the rows (default: stem).")
]
Layer = Annotated[
    str | None,
    typer.Option("--layer", help="Layer of a file that holds several (e.g. a GeoPackage)."),
]
SHOWN_REJECTS = 20


class SiteKind(StrEnum):
    cctv = "cctv"
    anpr = "anpr"


def _run(load: Callable[[Connection], ImportReport], js: bool) -> None:
    """Load in one transaction; the loader checks ids against the database, then refuses the
    whole file if any row is bad (unless skipping), so every reason is reported at once."""
    try:
        with system_connection() as conn:
            report = load(conn)
    except ImportRejectedError as exc:
        if js:
            emit({**exc.report.to_dict(), "error": str(exc).splitlines()[0]}, True)
        raise
    for error in report.rejects[:SHOWN_REJECTS]:
        info(f"rejected {error.describe(len(report.files) > 1)}")
    if len(report.rejects) > SHOWN_REJECTS:
        info(f"... and {len(report.rejects) - SHOWN_REJECTS} more rejects (--json lists them all)")
    emit(report.to_dict(), js, lambda _: report.summary())


@app.command("police-uk")
def police_uk_command(files: Files, skip_bad: SkipBad = False, as_json: JsonOption = False) -> None:
    """police.uk street-level crime CSVs (lon/lat) -> incidents; the addresses whose risk
    factors the new or changed incidents feed are re-scored in the same transaction."""
    batch = police_uk.parse(files, progress=info)
    _run(lambda c: _police_uk_and_rescore(c, batch, skip_bad), as_json)


def _police_uk_and_rescore(conn: Connection, batch: Batch, skip_bad: bool) -> ImportReport:
    refs = [str(r.values["source_ref"]) for r in batch.records]
    imported.snapshot(conn, police_uk.SOURCE, refs)
    report = police_uk.load(conn, batch, skip_bad=skip_bad)
    run = imported.rescore_incidents(conn, imported.changed(conn, police_uk.SOURCE, refs))
    if run is not None:
        report.related["risk re-scored"] = {"addresses": run.scored}
    return report


@app.command("postcodes")
def postcodes_command(files: Files, skip_bad: SkipBad = False, as_json: JsonOption = False) -> None:
    """OS Code-Point Open CSVs (no header row, BNG) -> postcode units."""
    batch = codepoint.parse(files, progress=info)
    _run(lambda c: codepoint.load(c, batch, skip_bad=skip_bad), as_json)


@app.command("lsoa")
def lsoa_command(
    file: File,
    imd: Annotated[Path | None, typer.Option("--imd", help="IMD deciles CSV (lsoa,imd10).")] = None,
    crs: Crs = None,
    skip_bad: SkipBad = False,
    as_json: JsonOption = False,
) -> None:
    """LSOA polygons (shapefile, GeoJSON, GeoPackage ...) and IMD deciles -> lsoas, areas."""
    polygons = lsoa.parse_polygons(file, crs, progress=info)
    deciles = lsoa.parse_imd(imd) if imd is not None else None
    _run(lambda c: lsoa.load(c, polygons, deciles, skip_bad=skip_bad), as_json)


@app.command("stations")
def stations_command(file: File, skip_bad: SkipBad = False, as_json: JsonOption = False) -> None:
    """Railway stations CSV (stationName,lat,long,crsCode) -> transport hubs `rail:<CRS>`."""
    batch = stations.parse(file, progress=info)
    _run(lambda c: stations.load(c, batch, skip_bad=skip_bad), as_json)


@app.command("roads")
def roads_command(
    file: File,
    crs: Crs = None,
    id_field: Annotated[
        str | None, typer.Option("--id-field", help="OSM id field (default: osm_id, id ...).")
    ] = None,
    skip_bad: SkipBad = False,
    as_json: JsonOption = False,
) -> None:
    """OSM road lines (any OGR format) -> roads."""
    batch = roads.parse(file, crs, id_field, progress=info)
    _run(lambda c: roads.load(c, batch, skip_bad=skip_bad), as_json)


@app.command("sites")
def sites_command(
    kind: Annotated[SiteKind, typer.Argument(help="cctv or anpr.")],
    file: File,
    maps: Maps = None,
    crs: Crs = None,
    source: Source = None,
    layer: Layer = None,
    skip_bad: SkipBad = False,
    as_json: JsonOption = False,
) -> None:
    """CCTV or ANPR sites from a CSV, GeoJSON or GeoPackage with a column map.

    Targets: id, x, y, name, bearing, fov, range, status, road, direction, owner, source.

    CCTV defaults: bearing 0, fov 360, range 50 m, status working. A file written by
    `hardening export cctv-sites|anpr-sites` imports back as it is (no --map needed).
    """
    name: sites.Kind = "cctv" if kind is SiteKind.cctv else "anpr"
    batch = sites.parse(name, file, maps, crs, source, progress=info, layer=layer)
    _run(lambda c: sites.load(c, name, batch, skip_bad=skip_bad), as_json)


@app.command("addresses")
def addresses_command(
    file: File,
    maps: Maps = None,
    crs: Crs = None,
    source: Source = None,
    layer: Layer = None,
    skip_bad: SkipBad = False,
    as_json: JsonOption = False,
) -> None:
    """Addresses from a CSV, GeoJSON or GeoPackage with a column map.

    Targets: uprn, parent_uprn, address, property_type, tenure, provider, x, y, and the
    parts sub_building, building_name, house_number, street, locality, town, postcode, or
    Land Registry's paon (a house number, a name or both: "Saffron Court, 50") and saon (the
    flat), which are split into those parts. Named houses and flats are then matched by name.

    No address column? The text is joined from the parts.
    """
    batch = addresses.parse(file, maps, crs, source, progress=info, layer=layer)
    _run(lambda c: addresses.load(c, batch, skip_bad=skip_bad), as_json)
