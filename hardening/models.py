"""Shapes shared by the capabilities and every face (API, CLI, Streamlit). In: `InputModel`
validates JSON as its schema says and refuses NaN, infinity and NUL, so bad input is refused
the same way whichever face it came through. Out: services return `Result` dataclasses, whose
`as_dict()` is the JSON document the API and `--json` print (field order is the contract)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, time
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, field_validator

from hardening.jsontypes import has_nul, iso_date, iso_time, json_mismatch, type_error

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# The largest id a JSON number carries exactly (clients parse numbers as doubles; a bound of
# 2**63 reads as 9.223372036854776e18 and lets 2**63 + 190 look valid).
MAX_ID = 2**53 - 1

# Dates and times in query strings: pydantic alone reads `?on=0` as 1970-01-01.
IsoDate = Annotated[date, BeforeValidator(iso_date)]
IsoTime = Annotated[time, BeforeValidator(iso_time)]


class InputModel(BaseModel):
    """A JSON request body: finite numbers only, no unknown fields, and each value of the JSON
    type its schema says (`true` is not 1, `"5"` is not 5, `0` is not a date)."""

    model_config = ConfigDict(allow_inf_nan=False, extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _json_types(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and (reason := json_mismatch(field.annotation, value)):
            raise type_error(reason)
        if has_nul(value):
            raise ValueError("text may not contain NUL characters")
        return value


class Result:
    """Mixin of a service's typed result (a dataclass, frozen or not): its fields in the order
    its JSON document lists them."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(cast("DataclassInstance", self))


class Feature(BaseModel):
    """A GeoJSON Feature in WGS84, as `/v1/layers` answers it (OGC items add their `id`:
    `hardening.ogc.models.OgcFeature`)."""

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any]
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]
