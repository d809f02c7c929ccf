"""The sample's tables: what each holds (columns, natural key) and a columnar container.

Tables are built as NumPy column arrays (object arrays hold None for NULL) and streamed as rows
only when written or loaded, so a million addresses never exist as a million Python tuples at
once. Arrays (roles, skills...) travel as PostgreSQL array literals, booleans as 't'/'f',
timestamps as ISO text with an offset: the same text goes to CSV and to COPY.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

CHUNK_ROWS: Final = 50_000


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]  # the natural key the load upserts on
    identity: str | None = None  # GENERATED ALWAYS column whose values the rows carry


def _spec(name: str, columns: str, key: str, identity: str | None = None) -> TableSpec:
    return TableSpec(name, tuple(columns.split()), tuple(key.split()), identity)


# In foreign-key order: the loader writes them top to bottom in one transaction.
SPECS: Final = (
    _spec("areas", "area_id name geom", "area_id"),
    _spec("organisations", "org_id name kind", "org_id"),
    _spec(
        "sharing_agreements",
        "agreement_id org_id title data_classes starts_on ends_on review_on",
        "org_id title",
        "agreement_id",
    ),
    _spec("agreement_areas", "agreement_id area_id", "agreement_id area_id"),
    # No password_hash: the database hashes the demo password at load time (loader.py).
    _spec(
        "users",
        "user_id org_id username display_name roles active created_at",
        "username",
        "user_id",
    ),
    _spec("lsoas", "lsoa_code name imd_decile area_id geom", "lsoa_code"),
    _spec("imd_deciles", "lsoa_code imd_decile", "lsoa_code"),
    _spec(
        "postcode_units",
        "postcode positional_quality admin_district area_id geom",
        "postcode",
    ),
    _spec(
        "roads",
        "road_id source_ref name ref road_class oneway area_id geom",
        "source_ref",
        "road_id",
    ),
    _spec("transport_hubs", "hub_id hub_key kind name code area_id geom", "hub_key", "hub_id"),
    _spec(
        "addresses",
        "uprn parent_uprn area_id full_address sub_building building_name house_number street "
        "locality town postcode property_type tenure provider_org_id lsoa_code source geom",
        "uprn",
    ),
    _spec("buildings", "source_ref uprn area_id geom", "source_ref"),
    _spec("county_lines", "line_id name area_id origin first_seen last_seen", "name", "line_id"),
    _spec("county_line_status", "line_id status valid_from note", "line_id valid_from"),
    _spec(
        "incidents",
        "incident_id source source_ref kind category crime_type occurred_at time_precision "
        "grading uprn location_text lsoa_code county_line_id outcome area_id geom",
        "source source_ref",
        "incident_id",
    ),
    _spec(
        "operatives",
        "operative_id provider_org_id name skills work_start work_end working_days area_id base",
        "provider_org_id name",
        "operative_id",
    ),
    _spec(
        "visits",
        "visit_id area_id uprn visited_on team_org_id team_user_ids subject_ref subject_type "
        "signs occupant_vulnerable calling_card outcome intelligence_count "
        "intelligence_grading review_due created_by created_at",
        "visit_id",
        "visit_id",
    ),
    _spec("harm_reduction_items", "visit_id item quantity", "visit_id item"),
    _spec(
        "protection_plans",
        "plan_id visit_id uprn subject_ref visit_cadence_days review_due status area_id created_at",
        "plan_id",
        "plan_id",
    ),
    _spec(
        "referrals",
        "referral_id visit_id partner_org_id service status outcome made_on updated_at version "
        "area_id",
        "referral_id",
        "referral_id",
    ),
    _spec(
        "safe_markers",
        "marker_id uprn scope reason_category grading_advice org_id author_user_id visit_id "
        "created_at review_due expires_on status revoked_at revoked_reason version area_id",
        "marker_id",
        "marker_id",
    ),
    _spec(
        "marker_reviews",
        "review_id marker_id reviewed_by reviewed_at decision reason new_review_due",
        "review_id",
        "review_id",
    ),
    _spec(
        "work_orders",
        "work_order_id provider_org_id uprn measure_code priority status due_at "
        "scheduled_start scheduled_end operative_id tenant_window_start tenant_window_end "
        "cost_pence no_access_attempts created_at updated_at completed_at version area_id",
        "work_order_id",
        "work_order_id",
    ),
    _spec(
        "installed_measures",
        "installed_id uprn measure_code installed_on status provider_org_id work_order_id area_id",
        "uprn measure_code",
        "installed_id",
    ),
    _spec(
        "cctv_sites",
        "site_id source source_ref name owner_org_id bearing_deg fov_deg range_m status "
        "area_id geom installed_on removed_on",
        "source source_ref",
        "site_id",
    ),
    _spec(
        "anpr_sites",
        "site_id source source_ref name owner_org_id road_id road_name direction status "
        "area_id geom installed_on removed_on",
        "source source_ref",
        "site_id",
    ),
    _spec(
        "training_sessions",
        "session_id area_id delivered_on partner_org_id partner_type topic attendees "
        "created_by created_at",
        "session_id",
        "session_id",
    ),
)
SPEC_BY_NAME: Final = {spec.name: spec for spec in SPECS}
TABLE_NAMES: Final = tuple(spec.name for spec in SPECS)

Column = npt.NDArray[Any]


def _objects(values: Sequence[Any] | Column) -> Column:
    """An object array of Python values (ints stay ints, None stays None)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return out


@dataclass
class Table:
    """One table's rows as equal-length columns, in the order of its spec."""

    spec: TableSpec
    data: dict[str, Column]

    def __post_init__(self) -> None:
        missing = set(self.spec.columns) ^ set(self.data)
        if missing:
            raise ValueError(f"{self.spec.name}: columns differ from the spec: {sorted(missing)}")
        lengths = {len(col) for col in self.data.values()}
        if len(lengths) > 1:
            raise ValueError(f"{self.spec.name}: columns of different lengths {lengths}")

    @classmethod
    def of(cls, table: str, /, **columns: Sequence[Any] | Column) -> Table:
        return cls(SPEC_BY_NAME[table], {k: _objects(v) for k, v in columns.items()})

    @property
    def name(self) -> str:
        return self.spec.name

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def rows(self, chunk: int = CHUNK_ROWS) -> Iterator[tuple[Any, ...]]:
        """Python values row by row (str, int, float or None), a chunk of columns at a time."""
        cols = [self.data[c] for c in self.spec.columns]
        for start in range(0, len(self), chunk):
            yield from zip(*(col[start : start + chunk].tolist() for col in cols), strict=True)
