"""The scoring model: p = sigmoid(b0 + sum(b_i * f_i)), shown as 0-100 and a band.

Models are versioned rows of risk_models (params = coefficients, factor parameters, bands,
outcome). The built-in default's coefficients are set by hand from the literature (rationale
below and in docs/risk.md); `hardening risk fit` learns others from later outcomes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from hardening.errors import NotFoundError, UserInputError
from hardening.models import Result
from hardening.risk.events import Selector
from hardening.risk.factors import BY_NAME, FACTORS, NAMES
from hardening.risk.worktables import Units

DEFAULT_VERSION = "default-v1"
BANDS = ("low", "medium", "high", "very_high")
LOGIT_CLAMP = 30.0  # |logit| beyond this is 0 or 100 at display precision

DEFAULT_COEFFICIENTS: dict[str, float] = {
    "prior_here": 2.0,
    "prior_block": 0.8,
    "incidents_here": 0.6,
    "near_repeat": 0.7,
    "drug_market": 0.5,
    "transport": 0.6,
    "deprivation": 0.4,
    "vulnerability": 1.5,
    "social_housing": 0.6,
    "flat_in_block": 0.4,
    "hmo": 0.5,
    "protection_door": -0.8,
    "protection_entry": -0.5,
    "protection_cctv": -0.4,
    "protection_lighting": -0.2,
    "protection_notice": -0.3,
}
DEFAULT_RATIONALE = """\
No validated cuckooing model exists; these are priors, to be replaced by `hardening risk fit`
once outcomes are recorded. Scale: the intercept (-5.0, p = 0.7%) is a dwelling with nothing
known against it; a coefficient b multiplies the odds by e^b per unit of its factor.
- prior_here 2.0: repeat victimisation is the strongest predictor in every crime type
  studied, and cuckooed homes are re-used; one recent report (f ~ 0.64) multiplies the odds ~3.6.
- prior_block 0.8: blocks share entrances and dealers move between flats (weaker than at the
  address itself).
- incidents_here 0.6: ASB and violence at an address are the signs housing officers report first.
- near_repeat 0.7: prospective hotspotting shows raised risk ~400 m / ~8 weeks after an event.
- drug_market 0.5: Risk Terrain Modeling finds drug-market intensity a top environmental factor;
  kept below the address-level evidence.
- transport 0.6: county lines runners travel by train and bus; station proximity is a standard
  RTM factor (relative risk ~1.5-2 at the station).
- deprivation 0.4: +-0.4 from the most to the least deprived decile (~2.2x odds across it).
- vulnerability 1.5: a vulnerable occupant is what cuckooing targets; the largest known factor
  after prior reports.
- social_housing 0.6, flat_in_block 0.4, hmo 0.5: where cuckooing is found in practice
  (social and supported tenancies, flats with shared entrances, multiple occupation).
- protection (door -0.8 for f = 1 - 0.5^n, entry -0.5, cctv -0.4, lighting -0.2, notice -0.3):
  target hardening cuts burglary risk roughly in half for the best combinations; evidence for
  cuckooing is thinner (access is often by invitation or coercion), so the effects are smaller.
Bands (score = p x 100): medium >= 2, high >= 8, very high >= 25.
"""


@dataclass(frozen=True)
class Model:
    version: str
    intercept: float
    coefficients: dict[str, float]
    bands: tuple[float, float, float]  # score thresholds of medium, high, very_high
    factors: dict[str, dict[str, Any]] = field(default_factory=dict)  # parameter overrides
    outcome: dict[str, Any] = field(default_factory=dict)
    rationale: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    units: str = "any"

    def coefficient(self, name: str) -> float:
        return float(self.coefficients.get(name, 0.0))

    def params(self, units: Units) -> dict[str, dict[str, Any]]:
        """Every factor's parameters (defaults, overridden by the model's) for these units.
        incidents_here counts what prior_here does not, so no event counts twice."""
        out: dict[str, dict[str, Any]] = {}
        for factor in FACTORS:
            if factor.applies_to(units) and self.coefficient(factor.name) != 0.0:
                out[factor.name] = {**factor.defaults, **self.factors.get(factor.name, {})}
        if "incidents_here" in out:
            prior = {
                **BY_NAME["prior_here"].defaults,
                **self.factors.get("prior_here", {}),
            }
            events = Selector.parse(out["incidents_here"]["events"])
            out["incidents_here"]["events"] = events.excluding(
                Selector.parse(prior["events"])
            ).to_json()
        return out

    def logit(self, values: Mapping[str, float]) -> float:
        return self.intercept + sum(self.coefficient(n) * float(v) for n, v in values.items())

    def band(self, score: float) -> str:
        medium, high, very_high = self.bands
        if score >= very_high:
            return "very_high"
        if score >= high:
            return "high"
        return "medium" if score >= medium else "low"

    def to_params(self) -> dict[str, Any]:
        return {
            "intercept": self.intercept,
            "coefficients": self.coefficients,
            "bands": dict(zip(BANDS[1:], self.bands, strict=True)),
            "factors": self.factors,
            "outcome": self.outcome,
            "units": self.units,
        }

    @classmethod
    def from_row(
        cls, version: str, params: Mapping[str, Any], metrics: Any, rationale: str | None
    ) -> Model:
        try:
            bands = params.get("bands", {})
            coefficients = {str(k): float(v) for k, v in params["coefficients"].items()}
            model = cls(
                version=version,
                intercept=float(params["intercept"]),
                coefficients=coefficients,
                bands=(
                    float(bands.get("medium", 2)),
                    float(bands.get("high", 8)),
                    float(bands.get("very_high", 25)),
                ),
                factors=dict(params.get("factors", {})),
                outcome=dict(params.get("outcome", {})),
                rationale=rationale or "",
                metrics=dict(metrics or {}),
                units=str(params.get("units", "any")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UserInputError(f"risk model {version} has unusable parameters ({exc})") from exc
        unknown = set(model.coefficients) - set(NAMES)
        if unknown:
            raise UserInputError(f"risk model {version} names unknown factors: {sorted(unknown)}")
        return model


DEFAULT_MODEL = Model(
    version=DEFAULT_VERSION,
    intercept=-5.0,
    coefficients=DEFAULT_COEFFICIENTS,
    bands=(2.0, 8.0, 25.0),
    outcome={
        "events": {"categories": ["cuckooing", "exploitation"]},
        "horizon_days": 365,
        "meaning": "a cuckooing or exploitation report at the address within 12 months",
    },
    rationale=DEFAULT_RATIONALE,
    units="any",
)


def sigmoid(z: float) -> float:
    z = max(-LOGIT_CLAMP, min(LOGIT_CLAMP, z))
    return 1.0 / (1.0 + math.exp(-z))


def save(conn: Connection, model: Model, make_default: bool = False) -> None:
    """Store a new model version; make_default moves the default flag to it."""
    if make_default:
        conn.execute(text("UPDATE risk_models SET is_default = false WHERE is_default"))
    conn.execute(
        text(
            "INSERT INTO risk_models (model_version, params, metrics, rationale, is_default) "
            "VALUES (:v, CAST(:p AS jsonb), CAST(:m AS jsonb), :r, :d)"
        ),
        {
            "v": model.version,
            "p": json.dumps(model.to_params()),
            "m": json.dumps(model.metrics),
            "r": model.rationale,
            "d": make_default,
        },
    )


def load(conn: Connection, version: str | None = None, store: bool = True) -> Model:
    """The named model, else the default one; the built-in default is stored on first use
    (store=False: readers get it without writing)."""
    if version is None:
        row = conn.execute(
            text(
                "SELECT model_version, params, metrics, rationale FROM risk_models WHERE is_default"
            )
        ).first()
        if row is None:
            version = DEFAULT_VERSION
        else:
            return Model.from_row(row[0], row[1], row[2], row[3])
    row = conn.execute(
        text(
            "SELECT model_version, params, metrics, rationale FROM risk_models "
            "WHERE model_version = :v"
        ),
        {"v": version},
    ).first()
    if row is not None:
        return Model.from_row(row[0], row[1], row[2], row[3])
    if version != DEFAULT_VERSION:
        known = conn.execute(
            text("SELECT model_version FROM risk_models ORDER BY created_at DESC, model_version")
        ).scalars()
        raise NotFoundError(
            f"no risk model {version!r}: models are {', '.join(known) or 'none yet'} "
            "(see `hardening risk models`)"
        )
    if not store:
        return DEFAULT_MODEL
    has_default = conn.execute(text("SELECT EXISTS (SELECT 1 FROM risk_models WHERE is_default)"))
    save(conn, DEFAULT_MODEL, make_default=not has_default.scalar_one())
    return DEFAULT_MODEL


@dataclass(frozen=True)
class StoredModel(Result):
    model_version: str
    created_at: datetime
    is_default: bool
    units: str | None  # addresses or cells
    metrics: dict[str, Any] | None  # the backtest's, when it was fitted


def listing(conn: Connection) -> list[StoredModel]:
    rows = conn.execute(
        text(
            "SELECT model_version, created_at, is_default, params->>'units' AS units, metrics "
            "FROM risk_models ORDER BY created_at, model_version"
        )
    ).mappings()
    return [StoredModel(**r) for r in rows]
