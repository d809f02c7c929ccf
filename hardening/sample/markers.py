"""SAFE markers from first visits, reviewed every 90 days: some overdue, some expired, a few
revoked; flats in blocks sometimes get a block-wide marker on the block's UPRN."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import numpy as np

from hardening.sample.addresses import Addresses
from hardening.sample.casework import Visits
from hardening.sample.events import DAYS
from hardening.sample.partners import POLICE, USER_IDS
from hardening.sample.spec import WINDOW_START
from hardening.sample.table import Table
from hardening.sample.util import choose, day_text, local_moment, local_text, nullable

MARKER_P: Final = (0.3, 0.1, 0.5, 0.8, 0.15)  # by subject type (casework.SUBJECTS)
REASONS: Final = (  # per subject type: (reasons, weights)
    (("vulnerable_occupant", "cuckooing"), (4, 1)),
    (("exploitation", "drug_supply"), (3, 1)),
    (("drug_supply", "weapons"), (3, 2)),
    (("cuckooing", "vulnerable_occupant", "threat_to_life"), (7, 2, 1)),
    (("other", "threat_to_life", "vulnerable_occupant"), (3, 1, 2)),
)
ADVICE: Final = {
    "cuckooing": "Home believed taken over by dealers. Attend in pairs; speak to the occupant "
    "alone; do not accept an answer at the door from a third party.",
    "vulnerable_occupant": "Vulnerable occupant (learning disability / mental ill-health). Use "
    "plain language; check who else is present; consider welfare check.",
    "threat_to_life": "Threat to life notice served. Immediate deployment; armed support to be "
    "considered; do not delay attendance.",
    "drug_supply": "Suspected supply from the address. Expect visitors and lookouts; no lone "
    "attendance.",
    "weapons": "Weapons reported at the address (knives). Two officers minimum; control room "
    "to consider Taser-trained attendance.",
    "exploitation": "Young person at risk of criminal exploitation linked here. Safeguarding "
    "referral on any contact.",
    "other": "Partnership interest; check the protection plan before attending.",
}
BLOCK_SCOPE_P: Final = 0.35
REVIEW_DAYS: Final = 90
REVOKE_REASONS: Final = (
    "Occupant moved out",
    "Risk no longer present after review",
    "Line disrupted; occupant safe",
)


def markers(rng: np.random.Generator, v: Visits, addr: Addresses) -> tuple[Table, Table]:
    take = np.flatnonzero(v.first & (rng.random(len(v.day)) < np.array(MARKER_P)[v.subject]))
    n = len(take)
    a = v.address[take]
    block = (addr.parent[a] >= 0) & (rng.random(n) < BLOCK_SCOPE_P)
    target = np.where(block, np.maximum(addr.parent[a], 0), a)
    reason = np.empty(n, dtype=object)
    for s, (options, weights) in enumerate(REASONS):
        m = v.subject[take] == s
        reason[m] = choose(rng, options, weights, int(m.sum()))
    made = np.minimum(v.day[take] + rng.integers(0, 3, size=n), DAYS - 1)
    life = np.where(rng.random(n) < 0.8, 365, 180)  # from the last review
    revoked = (rng.random(n) < 0.08) & (made < DAYS - 2)
    revoke_day = made + 1 + (rng.random(n) * np.maximum(1, DAYS - 2 - made)).astype(np.int64)
    end = np.where(revoked, revoke_day, DAYS - 1)
    due_cycles = (end - made) // REVIEW_DAYS  # reviews that fell due before the end
    skipped = (~revoked) & (rng.random(n) < 0.25)  # overdue: last review not done yet
    done = np.where(revoked, due_cycles, np.maximum(0, due_cycles - skipped))
    # A few were never reviewed and have lapsed: still on the system, past their expiry.
    lapsed = (~revoked) & (DAYS - made > 270) & (rng.random(n) < 0.1)
    done[lapsed] = 0
    # Reviews: one row per retained review, and a 'revoke' review for revoked markers.
    mk = np.repeat(np.arange(n), done)
    j = np.arange(len(mk)) - np.repeat(np.cumsum(done) - done, done)
    r_day = made[mk] + REVIEW_DAYS * (j + 1) - rng.integers(0, 10, size=len(mk))
    rv_mk = np.flatnonzero(revoked)
    all_mk = np.concatenate([mk, rv_mk])
    all_day = np.concatenate([r_day, revoke_day[rv_mk]])
    decision = np.array(["retain"] * len(mk) + ["revoke"] * len(rv_mk), dtype=object)
    o = np.lexsort((all_mk, all_day))
    all_mk, all_day, decision = all_mk[o], all_day[o], decision[o]
    minutes = rng.integers(540, 1020, size=len(all_mk))
    reviewed_at = [
        local_moment(WINDOW_START + timedelta(days=int(d)), int(m))
        for d, m in zip(all_day.tolist(), minutes.tolist(), strict=True)
    ]
    retain = decision == "retain"
    reviews = Table.of(
        "marker_reviews",
        review_id=np.arange(1, len(all_mk) + 1),
        marker_id=all_mk + 1,
        reviewed_by=choose(
            rng, (USER_IDS["demo.visits"], USER_IDS["demo.analyst"]), (3, 1), len(all_mk)
        ),
        reviewed_at=local_text(reviewed_at),
        decision=decision,
        reason=np.where(retain, "Risk persists; marker retained", "Risk no longer present").astype(
            object
        ),
        new_review_due=nullable(day_text(all_day + REVIEW_DAYS, WINDOW_START), retain),
    )
    created = [local_moment(WINDOW_START + timedelta(days=int(d)), 16 * 60) for d in made.tolist()]
    revoked_at = [
        local_moment(WINDOW_START + timedelta(days=int(d)), 12 * 60) if r else None
        for d, r in zip(revoke_day.tolist(), revoked.tolist(), strict=True)
    ]
    table = Table.of(
        "safe_markers",
        marker_id=np.arange(1, n + 1),
        uprn=addr.uprn[target],
        scope=np.where(block, "block", "address").astype(object),
        reason_category=reason,
        grading_advice=np.array([ADVICE[r] for r in reason], dtype=object),
        org_id=np.full(n, POLICE, dtype=object),
        author_user_id=np.full(n, USER_IDS["demo.visits"], dtype=object),
        visit_id=take + 1,
        created_at=local_text(created),
        review_due=day_text(made + REVIEW_DAYS * (done + 1), WINDOW_START),
        expires_on=day_text(made + REVIEW_DAYS * done + np.where(lapsed, 180, life), WINDOW_START),
        status=np.where(revoked, "revoked", "active").astype(object),
        revoked_at=local_text(revoked_at),
        revoked_reason=nullable(choose(rng, REVOKE_REASONS, (2, 2, 1), n), revoked),
        version=(1 + done + revoked).astype(object),
        area_id=v.table.data["area_id"][take],
    )
    return table, reviews
