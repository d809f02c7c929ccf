"""`hardening sample generate|load`: the deterministic synthetic sample town."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from hardening.clikit import JsonOption, emit, info, system_connection
from hardening.errors import UserInputError
from hardening.sample import dating
from hardening.sample.files import file_sources, generated_sources, read_manifest, write_set
from hardening.sample.generate import generate as generate_set
from hardening.sample.loader import load as load_sources
from hardening.sample.spec import DEFAULT_ADDRESSES, DEFAULT_SEED
from hardening.settings import get_settings

app = typer.Typer(help="Generate and load the synthetic sample town.", no_args_is_help=True)

AddressesOption = Annotated[
    int | None,
    typer.Option("--addresses", help=f"Addresses to generate (default {DEFAULT_ADDRESSES:,})."),
]
SeedOption = Annotated[
    int | None, typer.Option("--seed", help=f"Random seed (default {DEFAULT_SEED}).")
]


def _table_text(data: dict[str, Any]) -> str:
    width = max(len(name) for name in data["tables"])
    lines = [f"{k}: {v}" for k, v in data.items() if k not in ("tables", "dating")]
    if "dating" in data:
        lines.append(_dating_text(data["dating"]))
    for name, value in data["tables"].items():
        shown = (
            value if isinstance(value, int) else ", ".join(f"{k} {v:,}" for k, v in value.items())
        )
        lines.append(f"  {name:<{width}}  {shown}")
    return "\n".join(lines)


def _dating_text(d: dict[str, Any]) -> str:
    how = (
        f"kept from the first load on {d['dated_on']}"
        if d["kept_from_earlier_load"]
        else f"moved {d['shift_days']:+,} days from the generator's {d['reference_date']}"
    )
    return f"dated to: {d['town_day']} ({how})"


@app.command()
def generate(
    addresses: AddressesOption = None,
    seed: SeedOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory to write (default sample_data/).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Generate the sample town and write it as gzipped CSV files plus manifest.json."""
    target = out or get_settings().sample_dir
    sample = generate_set(
        DEFAULT_ADDRESSES if addresses is None else addresses,
        DEFAULT_SEED if seed is None else seed,
        progress=info,
    )
    info(f"writing {target}")
    write_set(sample, target)
    emit(
        {
            "dir": str(target),
            "seed": sample.seed,
            "addresses": sample.addresses,
            "tables": sample.counts(),
        },
        as_json,
        _table_text,
    )


@app.command()
def load(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Load this sample directory (default sample_data/)."),
    ] = None,
    addresses: AddressesOption = None,
    seed: SeedOption = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="Date the town to this day (default today; whole weeks, so weekdays stay). "
            "A database keeps the dating of its first load.",
        ),
    ] = None,
    demo_passwords: Annotated[
        bool | None,
        typer.Option(
            "--demo-passwords/--no-demo-passwords",
            help="Give new demo users the public demo password (default: only on the managed "
            "local cluster; on a server named by HARDENING_DATABASE_URL they get none and "
            "cannot sign in until `hardening users passwd NAME`).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Load the committed sample (or --dir, or a freshly generated --addresses N --seed S),
    its dates moved to the week it is first loaded."""
    settings = get_settings()
    if demo_passwords is None:
        demo_passwords = settings.database_url is None
    if directory is not None and (addresses is not None or seed is not None):
        raise UserInputError("give either --dir or --addresses/--seed, not both")
    report: dict[str, Any]
    if addresses is not None or seed is not None:
        sample = generate_set(
            DEFAULT_ADDRESSES if addresses is None else addresses,
            DEFAULT_SEED if seed is None else seed,
            progress=info,
        )
        sources = generated_sources(sample)
        report = {"source": "generated", "seed": sample.seed, "addresses": sample.addresses}
    else:
        where = directory or settings.sample_dir
        manifest = read_manifest(where)
        sources = file_sources(where)
        report = {
            "source": str(where),
            "seed": manifest.get("seed"),
            "addresses": manifest.get("addresses"),
        }
    started = time.perf_counter()
    with system_connection() as conn:
        dated = dating.resolve(conn, None if as_of is None else as_of.date(), dating.today())
        if dated.note:
            info(f"note: {dated.note}")
        info(
            f"loading the sample from {report['source']}, dated to {dated.town_day} "
            f"({dated.shift_days:+,} days)"
        )
        counts = load_sources(
            conn,
            dating.shift_sources(sources, dated.shift_days),
            progress=info,
            demo_passwords=demo_passwords,
        )
    info(f"loaded in {time.perf_counter() - started:.1f}s")
    new_users = counts["users"].inserted if "users" in counts else 0
    if new_users and not demo_passwords:
        info(
            "note: the demo users have no password on this server (not the managed local "
            "cluster); set one with `hardening users passwd NAME`, or load with --demo-passwords"
        )
    report["dating"] = dated.to_dict()
    report["tables"] = {
        name: {"inserted": c.inserted, "updated": c.updated, "unchanged": c.unchanged}
        for name, c in counts.items()
    }
    emit(report, as_json, _table_text)
