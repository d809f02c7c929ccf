"""`hardening risk ...`: score, explain, export, fit, backtest and re-score, as the system actor
(on the server). Mount name: `risk`."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Connection

from hardening.clikit import JsonOption, emit, info, system_connection, system_engine_scope
from hardening.errors import UserInputError
from hardening.jobs.cli import NoWaitOption, queue_instead
from hardening.risk import backtest as backtests
from hardening.risk import explain as explaining
from hardening.risk import export as exporting
from hardening.risk import factors as fx
from hardening.risk import model as models
from hardening.risk import queue, scoring
from hardening.risk.events import selector_for, split_list
from hardening.risk.incremental import Cause, rescore_after
from hardening.security import audit

app = typer.Typer(
    help="Address risk: score, explain, export, fit and backtest.", no_args_is_help=True
)


class UnitsChoice(StrEnum):
    addresses = "addresses"
    postcodes = "postcodes"


class NearRepeatChoice(StrEnum):
    default = "default"
    knox = "knox"


class FormatChoice(StrEnum):
    csv = "csv"
    geojson = "geojson"


Area = Annotated[str | None, typer.Option("--area", help="Area id (default: every area).")]
UnitsOpt = Annotated[UnitsChoice, typer.Option("--units", help="What to score.")]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="Model version (default: the default model).")
]
Month = Annotated[str, typer.Option(help="YYYY-MM", show_default=False)]
CrimeTypes = Annotated[
    str | None,
    typer.Option("--crime-types", help="Outcome crime types, comma-separated (police.uk labels)."),
]
Categories = Annotated[
    str | None,
    typer.Option("--categories", help="Outcome categories, comma-separated (e.g. cuckooing)."),
]
L2 = Annotated[float, typer.Option("--l2", min=0.0, help="L2 penalty on standardised factors.")]
Horizon = Annotated[
    int, typer.Option("--horizon-months", min=1, max=24, help="Outcome window of the fit.")
]


def _as_of(value: datetime | None) -> datetime | None:
    return None if value is None else scoring.utc(value)


@app.command()
def score(
    area: Area = None,
    units: UnitsOpt = UnitsChoice.addresses,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"], help="Default: now."),
    ] = None,
    model: ModelOpt = None,
    no_wait: NoWaitOption = False,
    as_json: JsonOption = False,
) -> None:
    """Score every address (or postcode unit) of the area, set-based, replacing earlier scores."""
    if no_wait:
        job = {"units": units.value, "area": area, "model": model,
               "as_of": _as_of(as_of)}  # fmt: skip
        queue_instead("risk_score", job, as_json, lambda conn: scoring.check_area(conn, area))
        return
    with system_connection() as conn:
        result = scoring.score(conn, units.value, area, _as_of(as_of), model)
    emit(
        result.to_dict(),
        as_json,
        lambda d: (
            f"scored {d['scored']:,} {d['units']} with {d['model_version']} in "
            f"{d['seconds']:.1f}s: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(d["bands"].items()))
            + (f"; absent: {', '.join(d['absent_factors'])}" if d["absent_factors"] else "")
            + (f"\nnothing scored: {d['note']}" if d["note"] else "")
        ),
    )


@app.command()
def explain(
    uprn: Annotated[int, typer.Argument(min=1, help="The address's UPRN.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why you look (logged in the audit trail).")
    ],
    model: ModelOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Each factor's contribution, the top three reasons and the measures that would help most."""
    with system_connection() as conn:
        result = explaining.explain(conn, uprn, reason, model)
    emit(result, as_json, _explain_text)


def _explain_text(d: dict[str, Any]) -> str:
    lines = [f"UPRN {d['uprn']}: {d.get('score', '?')} ({d['band']}), model {d['model_version']}"]
    lines += [f"  - {r}" for r in d.get("top_reasons", [])]
    lines += [
        f"  {c['contribution']:+.3f}  {c['factor']} (value {c['value']:.3g})"
        for c in d.get("contributions", [])
    ]
    for m in d.get("recommended_measures", []):
        after = f" -> {m['score_after']:.1f}" if "score_after" in m else ""
        lines.append(f"  measure: {m['name']}{after}")
    return "\n".join(lines)


@app.command()
def export(
    fmt: Annotated[FormatChoice, typer.Option("--format", help="csv or geojson.")],
    units: UnitsOpt = UnitsChoice.addresses,
    area: Area = None,
    model: ModelOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="File (default: stdout).")] = None,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why (required for addresses; logged in the audit trail)."),
    ] = None,
) -> None:
    """Write id, x, y (WGS84), score, band and model version of every stored score (scores of
    addresses: with a reason, audited)."""
    if units is UnitsChoice.addresses:
        audit.require_reason(reason)  # before a file is opened
    with system_connection() as conn:
        if out is None:
            count = exporting.write(
                conn, sys.stdout, fmt.value, units.value, area, model, reason=reason
            )
        else:
            with out.open("w", encoding="utf-8") as handle:
                count = exporting.write(
                    conn, handle, fmt.value, units.value, area, model, reason=reason
                )
    info(f"exported {count:,} {units.value}" + (f" to {out}" if out else ""))


def _spec(
    units: UnitsChoice,
    train: tuple[str, str],
    test: tuple[str, str],
    outcome: tuple[str | None, str | None],
    area: str | None,
    l2: float,
    horizon: int,
    bootstrap: int = 0,
) -> backtests.Spec:
    selector = selector_for(split_list(outcome[0]), split_list(outcome[1]))
    return backtests.Spec(
        units.value, train[0], train[1], test[0], test[1], selector, area, l2, horizon,
        bootstrap=bootstrap,
    )  # fmt: skip


@app.command()
def fit(
    train_start: Month,
    train_end: Month,
    units: UnitsOpt = UnitsChoice.addresses,
    test_start: Annotated[str | None, typer.Option(help="YYYY-MM: validate on this...")] = None,
    test_end: Annotated[str | None, typer.Option(help="...to this month.")] = None,
    crime_types: CrimeTypes = None,
    categories: Categories = None,
    area: Area = None,
    l2: L2 = 1.0,
    horizon: Horizon = 1,
    make_default: Annotated[
        bool, typer.Option("--default", help="Make the new model the default one.")
    ] = False,
    near_repeat: Annotated[
        NearRepeatChoice,
        typer.Option(
            "--near-repeat",
            help="near_repeat radius and window: the defaults (400 m, 60 days) or the training "
            "window's own significant Knox window (hardening risk nearrepeat).",
        ),
    ] = NearRepeatChoice.default,
    as_json: JsonOption = False,
) -> None:
    """Learn coefficients from later outcomes (time split, L2) and store a new model version."""
    if (test_start is None) != (test_end is None):
        raise UserInputError("give both --test-start and --test-end, or neither")
    if crime_types is None and categories is None:
        categories = "cuckooing,exploitation"  # what the default model predicts
    test = (test_start or train_end, test_end or train_end)
    spec = _spec(
        units, (train_start, train_end), test, (crime_types, categories), area, l2, horizon
    )
    with system_connection() as conn:
        window = None
        if near_repeat is NearRepeatChoice.knox:
            params, window = knox_window(conn, spec)
            spec = replace(spec, near_repeat=params)
        result = backtests.fit_and_store(conn, spec, test_start is not None, make_default)
    if window is not None:
        result["near_repeat_window"] = window
    emit(result, as_json, _fit_text)


def _fit_text(d: dict[str, Any]) -> str:
    text = f"stored {d['model_version']}: {d['coefficients']}"
    window = d.get("near_repeat_window")
    if window is not None:
        params = window["near_repeat_parameters"]
        text += (
            f"\nnear repeat: {params['radius_m']:g} m, {params['window_days']} days (Knox)"
            if params
            else f"\nnear repeat: {window['note']}"
        )
    return text


def knox_window(
    conn: Connection, spec: backtests.Spec
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    from hardening.risk.fit import add_months, month_start
    from hardening.risk.nearrepeat import window_for_fit

    start, end = month_start(spec.train_start), add_months(month_start(spec.train_end), 1)
    return window_for_fit(conn, spec.outcome, spec.area_id, start, end)


@app.command()
def backtest(
    train_start: Month,
    train_end: Month,
    test_start: Month,
    test_end: Month,
    units: UnitsOpt = UnitsChoice.addresses,
    crime_types: CrimeTypes = None,
    categories: Categories = None,
    area: Area = None,
    l2: L2 = 1.0,
    horizon: Horizon = 1,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="PNG of PAI against share flagged.")
    ] = Path("artifacts/risk_backtest.png"),
    bootstrap: Annotated[
        int,
        typer.Option(
            "--bootstrap",
            min=0,
            max=20_000,
            help="Replicates of the 95% intervals of PAI@5% and of the model's lead over the "
            "best baseline, month by month (0: none).",
        ),
    ] = 1000,
    as_json: JsonOption = False,
) -> None:
    """Rolling-origin backtest: hit rate, PAI, AUC and Brier of the model and the baselines,
    month by month, with bootstrap intervals of PAI@5%."""
    spec = _spec(
        units, (train_start, train_end), (test_start, test_end), (crime_types, categories),
        area, l2, horizon, bootstrap,
    )  # fmt: skip
    with system_connection() as conn:
        report = backtests.run(conn, spec, chart)
    emit(report, as_json, _backtest_text)


def _backtest_text(d: dict[str, Any]) -> str:
    lines = [f"{d['n_units']:,} {d['units']}; mean over {len(d['origins'])} origin(s):"]
    for method, figures in d["summary"].items():
        lines.append(
            f"  {method:<12} PAI@1% {figures['pai@1%']:>6}  PAI@5% {figures['pai@5%']:>6}  "
            f"PAI@10% {figures['pai@10%']:>6}  AUC {figures['auc']}  Brier {figures['brier']}"
        )
    stability: dict[str, Any] = d.get("stability") or {}
    if stability:
        lines.append(f"PAI@5% with bootstrap 95% intervals ({stability['replicates']} replicates):")
    rows = [*stability["months"], stability["mean_over_months"]] if stability else []
    for m in rows:
        lines.append(
            f"  {m.get('month', 'mean'):<8} model {_ci(m['model'])}, "
            f"{stability['best_baseline']} {_ci(m['best_baseline'])}, "
            f"lead {_ci(m['difference'])}"
        )
    if "chart" in d:
        lines.append(f"chart: {d['chart']}")
    return "\n".join(lines)


def _ci(f: dict[str, float]) -> str:
    return f"{f['estimate']:.2f} [{f['low']:.2f}, {f['high']:.2f}]"


@app.command()
def rescore(
    incident: Annotated[int | None, typer.Option(help="After this incident was added.")] = None,
    visit: Annotated[int | None, typer.Option(help="After this visit was recorded.")] = None,
    measure: Annotated[int | None, typer.Option(help="After this measure was installed.")] = None,
    camera: Annotated[int | None, typer.Option(help="After this CCTV site was added.")] = None,
    model: ModelOpt = None,
    as_json: JsonOption = False,
) -> None:
    """Re-score only the addresses inside one event's influence."""
    options: tuple[tuple[Cause, int | None], ...] = (
        ("incident", incident),
        ("visit", visit),
        ("measure", measure),
        ("camera", camera),
    )
    given = [(cause, v) for cause, v in options if v is not None]
    if len(given) != 1:
        raise UserInputError("give exactly one of --incident, --visit, --measure, --camera")
    with system_connection() as conn:
        result, _ = rescore_after(conn, given[0][0], given[0][1], model_version=model)
    emit(result.to_dict(), as_json, lambda d: f"re-scored {d['scored']} addresses")


@app.command()
def drain(
    watch: Annotated[
        float | None,
        typer.Option(
            "--watch", min=0.5, help="Keep going, looking for new requests every N seconds."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Do the re-scores people's work asked for (a visit, a completed order): the system worker.
    Once by default; with --watch until stopped (`make run` starts one)."""
    if watch is not None:
        with system_engine_scope() as engine:
            queue.drain_forever(engine, watch, info)
        return
    with system_connection() as conn:
        done = queue.drain(conn, limit=10_000)
    emit(
        [d.__dict__ for d in done],
        as_json,
        lambda ds: (
            "\n".join(f"{d['cause']} {d['object_id']}: {d['outcome']}" for d in ds)
            or "nothing waiting"
        ),
    )


@app.command("models")
def list_models(as_json: JsonOption = False) -> None:
    """Stored model versions, the default marked."""
    with system_connection() as conn:
        models.load(conn)  # the built-in default exists once anything asks for it
        rows = models.listing(conn)
    said = "\n".join(f"{'*' if r.is_default else ' '} {r.model_version}  {r.units}" for r in rows)
    emit([r.as_dict() for r in rows], as_json, lambda _: said)


@app.command("factors")
def list_factors(as_json: JsonOption = False) -> None:
    """Every factor: what it measures, its units, sign and default parameters."""
    rows = [
        {
            "name": f.name,
            "label": f.label,
            "raises_risk": f.sign > 0,
            "units": sorted(f.units),
            "default_coefficient": models.DEFAULT_COEFFICIENTS.get(f.name),
            "parameters": f.defaults,
            "doc": f.doc,
        }
        for f in fx.FACTORS
    ]
    emit(rows, as_json, lambda rs: "\n".join(f"{r['name']:<20} {r['doc']}" for r in rs))


from hardening.risk import toolkit_cli  # noqa: E402, F401  (registers nearrepeat, audit)
