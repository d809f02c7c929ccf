"""What the yearly report may show: every count of people, households or cases goes through
disclosure control (under 10 suppressed, the rest rounded to 5). A breakdown of a published
total (referrals by partner and service, visits by subject, months, risk bands) also gets
secondary suppression (suppress.py), so a suppressed cell cannot be worked out from the totals.
Counts of lines, camera sites, training sessions and attendees (professionals) and money are
not about individuals and are shown as they are. Year-on-year change is computed from
published values only, so a suppressed figure cannot be recovered from a change."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, text

from hardening.errors import PermissionDeniedError
from hardening.reports.kpi import Kpi, compute
from hardening.reports.risk_change import BANDS
from hardening.reports.suppress import protect, protect_breakdown
from hardening.security.disclosure import publishable

# One mark for every withheld figure, whether under 10 or withheld to protect one: two marks
# would tell which withheld cells are under 10.
SUPPRESSED = "[c]"
LEGEND = (
    "[c]: withheld, being a count of people, households or cases under 10 or a figure from "
    "which one could be worked out; other counts are rounded to the nearest 5."
)


def _change(a: int | None, b: int | None) -> float | None:
    return None if a is None or b is None or b == 0 else round(100.0 * (a - b) / b, 1)


def _diff(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a - b


def _pair(this: int, previous: int) -> dict[str, Any]:
    a, b = publishable(this), publishable(previous)
    return {"this": a, "previous": b, "change_pct": _change(a, b)}


def _works(row: dict[str, Any]) -> dict[str, Any]:
    """A cost beside a suppressed count would give the count away (cost / typical cost)."""
    completed = publishable(int(row["completed"]))
    cost = None if completed is None else round(int(row["cost_pence"]) / 100)
    return {"completed": completed, "cost_pounds": cost}


def _referrals(kpi: Kpi) -> dict[str, Any]:
    """Partner x service cells, each year protected with its partner, service and grand
    totals (all three are published)."""
    rows = kpi.referrals_by_partner_service
    keys = [(r["partner_org_id"], r["service"]) for r in rows]
    partners = sorted({k[0] for k in keys})
    services = sorted({k[1] for k in keys})
    groups = [[k for k in keys if k[0] == p] for p in partners]
    groups += [[k for k in keys if k[1] == s] for s in services]
    groups.append(keys)
    out: dict[str, Any] = {"rows": [], "by_partner": [], "by_service": []}
    done = {}
    for year in ("this", "previous"):
        done[year] = protect({k: int(r[year]) for k, r in zip(keys, rows, strict=True)}, groups)
    for k, r in zip(keys, rows, strict=True):
        a, b = done["this"].cells[k], done["previous"].cells[k]
        out["rows"].append(
            {
                "partner": r["partner_name"],
                "partner_kind": r["partner_kind"],
                "service": r["service"],
                "this": a,
                "previous": b,
                "change_pct": _change(a, b),
            }
        )
    names = {r["partner_org_id"]: r["partner_name"] for r in rows}
    for g, (label, what) in enumerate(
        [("partner", names[p]) for p in partners] + [("service", s) for s in services]
    ):
        a, b = done["this"].totals[g], done["previous"].totals[g]
        out[f"by_{label}"].append(
            {label: what, "this": a, "previous": b, "change_pct": _change(a, b)}
        )
    a, b = done["this"].totals[-1], done["previous"].totals[-1]
    out["total"] = {"this": a, "previous": b, "change_pct": _change(a, b)}
    return out


def _breakdown(counts: dict[str, int]) -> tuple[dict[str, int | None], int | None]:
    """A breakdown and its total (withheld only when from 1 to 9)."""
    done = protect_breakdown(counts)
    return done.cells, done.totals[0]


def _monthly(kpi: Kpi) -> list[dict[str, Any]]:
    months = [str(r["month"]) for r in kpi.monthly]
    cols: dict[str, dict[str, int | None]] = {}
    for key in ("visits", "referrals"):
        counts = {m: int(r[key]) for m, r in zip(months, kpi.monthly, strict=True)}
        cols[key] = protect_breakdown(counts).cells
    return [
        {"month": r["month"], "visits": cols["visits"][m], "referrals": cols["referrals"][m]}
        for m, r in zip(months, kpi.monthly, strict=True)
    ]


def _coverage(raw: dict[str, Any]) -> dict[str, Any]:
    """Per area and in all: households in view of CCTV (rounded, shares of the rounded
    figures) and the ANPR cordon."""
    out: dict[str, Any] = {
        k: raw[k] for k in ("start", "end", "sites_start", "sites_end", "area_names")
    }
    if raw["areas"] is None:
        return {**out, "areas": None, "cctv": None, "anpr": None}
    sums: dict[str, int] = defaultdict(int)
    out["areas"] = {}
    for area, parts in raw["areas"].items():
        one: dict[str, Any] = {"cctv": None, "anpr": None}
        if parts["cctv"]:
            c = parts["cctv"]
            for key in ("households", "covered_start", "covered_end"):
                sums[key] += c[key]
            one["cctv"] = _cctv_shares(c)
        if parts["anpr"]:
            a = parts["anpr"]
            for key in ("entry_routes", "captured_start", "captured_end"):
                sums[key] += a[key]
            one["anpr"] = _anpr_shares(a)
        out["areas"][area] = one
    out["cctv"] = _cctv_shares(sums) if sums["households"] else None
    out["anpr"] = _anpr_shares(sums) if sums["entry_routes"] else None
    return out


def _count(n: int) -> int | None:
    """A household count: zero shows, 1-9 is withheld, the rest rounded."""
    return 0 if n == 0 else publishable(n)


def _share(part: int | None, whole: int | None) -> float | None:
    return None if part is None or not whole else round(100.0 * part / whole, 1)


def _cctv_shares(c: dict[str, Any]) -> dict[str, Any]:
    """Shares from the published (rounded) counts: a share of the raw ones would give a
    withheld count away (share x published households)."""
    households = _count(c["households"])
    start, end = _count(c["covered_start"]), _count(c["covered_end"])
    share_start, share_end = _share(start, households), _share(end, households)
    return {
        "households": households,
        "covered_start": start,
        "covered_end": end,
        "share_start_pct": share_start,
        "share_end_pct": share_end,
        "change_points": None
        if share_start is None or share_end is None
        else round(share_end - share_start, 1),
    }


def _anpr_shares(a: dict[str, Any]) -> dict[str, Any]:
    """Routes are not people: their counts and shares are shown as they are."""
    start = _share(a["captured_start"], a["entry_routes"]) or 0.0
    end = _share(a["captured_end"], a["entry_routes"]) or 0.0
    return {
        "entry_routes": a["entry_routes"],
        "cordon_start_pct": start,
        "cordon_end_pct": end,
        "change_points": round(end - start, 1),
    }


def _risk(raw: dict[str, Any]) -> dict[str, Any]:
    if not raw.get("available"):
        return {"available": False, "model": None, "bands": []}
    start = protect_breakdown(raw["start"]).cells
    end = protect_breakdown(raw["end"]).cells
    bands = []
    for b in BANDS:
        a, z = start[b], end[b]
        bands.append({"band": b, "start": a, "end": z, "change": _diff(z, a)})
    return {"available": True, "model": raw["model"], "bands": bands}


def _fairness(raw: dict[str, Any]) -> dict[str, Any]:
    """Flagged homes and outcome reports per group are counts of households and cases: each
    grouping is a breakdown of the same totals, suppressed as such; a group's shares and ratio
    are shown only where both its counts are."""
    if not raw.get("available"):
        return {"available": False, "groupings": []}
    out = []
    for name, table in raw["by"].items():
        rows = table["groups"]
        flagged = protect_breakdown({r["group"]: r["flagged"] for r in rows}).cells
        events = protect_breakdown({r["group"]: r["outcome_events"] for r in rows}).cells
        published = []
        for r in rows:
            f, e = flagged[r["group"]], events[r["group"]]
            both = f is not None and e is not None
            published.append(
                {
                    "group": r["group"],
                    "flagged": f,
                    "outcome_events": e,
                    "share_of_flagged": r["share_of_flagged"] if both else None,
                    "share_of_outcomes": r["share_of_outcomes"] if both else None,
                    "flag_ratio": r["flag_ratio"] if both else None,
                    "over_flagged": r["over_flagged"] if both else None,
                }
            )
        out.append({"grouping": name, "groups": published})
    return {
        "available": True,
        "model": raw["model"],
        "outcome": raw["outcome"],
        "share_flagged": raw["share_flagged"],
        "over_flagged_above": raw["over_flagged_above"],
        "groupings": out,
    }


def publish(kpi: Kpi) -> dict[str, Any]:
    """The report's figures after disclosure control (None = suppressed)."""
    referrals = _referrals(kpi)
    by_subject, visits_total = _breakdown(kpi.visits_by_subject)  # sums to the year's visits
    visits = _pair(kpi.visits["this"], kpi.visits["previous"])
    visits["this"] = visits_total
    visits["change_pct"] = _change(visits_total, visits["previous"])
    return {
        "year": kpi.year,
        "area": kpi.area,
        "lines": {"active_start": kpi.lines_active_start, "active_end": kpi.lines_active_end},
        "threats_to_life": _pair(kpi.threats_to_life["this"], kpi.threats_to_life["previous"]),
        "visits": visits,
        "visits_by_subject": by_subject,
        "referrals": referrals["total"],
        "referrals_by_partner_service": referrals["rows"],
        "referrals_by_partner": referrals["by_partner"],
        "referrals_by_service": referrals["by_service"],
        "intelligence": {
            "from_visits": _pair(
                kpi.intelligence["from_visits"], kpi.intelligence["from_visits_previous"]
            ),
            "logged": _pair(kpi.intelligence["logged"], kpi.intelligence["logged_previous"]),
        },
        "training": kpi.training_by_partner_type,
        "markers": {
            "placed": _pair(kpi.markers["placed"], kpi.markers["placed_previous"]),
            "reviews": _pair(kpi.markers["reviews"], kpi.markers["reviews_previous"]),
        },
        "works_by_measure": [{"measure": r["name"], **_works(r)} for r in kpi.works_by_measure],
        "cost_by_provider": [{"provider": r["name"], **_works(r)} for r in kpi.cost_by_provider],
        "coverage": _coverage(kpi.coverage),
        "risk_distribution": _risk(kpi.risk_distribution),
        "risk_fairness": _fairness(kpi.risk_fairness),
        "monthly": _monthly(kpi),
    }


def shown(value: int | None, hidden: str = SUPPRESSED) -> str:
    return hidden if value is None else f"{value:,}"


def require_kpi_reader(conn: Connection) -> None:
    """The yearly report is for police analysts, admins and visit teams (and the system)."""
    allowed = conn.execute(
        text("SELECT app_is_system() OR app_may('{analyst,admin,visit_team}', 'visits')")
    ).scalar_one()
    if not allowed:
        raise PermissionDeniedError(
            "the yearly report is for police analysts, admins and visit teams"
        )


def published_kpi(conn: Connection, year: int, area: str | None = None) -> dict[str, Any]:
    """The yearly report for conn's actor, published figures only (small counts suppressed);
    the caller's RLS view is counted, so a partner gets figures over what it may see."""
    require_kpi_reader(conn)
    return publish(compute(conn, year, area))


def system_report(
    conn: Connection, year: int, area: str | None, raw: bool = False
) -> tuple[dict[str, Any], str]:
    """The report as the system makes it (the CLI): published figures, or raw ones for
    analysts, and the area's display name for the HTML report's title."""
    figures = compute(conn, year, area)
    name = "All areas"
    if area is not None:
        name = conn.execute(
            text("SELECT name FROM areas WHERE area_id = :a"), {"a": area}
        ).scalar_one()
    return (figures.as_dict() if raw else publish(figures)), name
