"""Words a person reads in place of the codes the service uses: one place for every page.

`word("food_bank")` gives "Food bank"; a code with no entry falls back to its words
("plan_visit_due" -> "Plan visit due"), so a new code never shows with underscores.
Add entries by kind of code; keep each label short and in the reader's words.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final

LABELS: Final[dict[str, str]] = {
    # SAFE marker reasons
    "threat_to_life": "Threat to life",
    "drug_supply": "Drug supply",
    "vulnerable_occupant": "Vulnerable occupant",
    # marker relations and states
    "address": "This address",
    "block": "Its block",
    "flat_in_block": "A flat in this block",
    "nearby": "Neighbouring address",
    "review_due": "Review due",
    # property types (a "block" reads as a relation above: pages say "Block of flats")
    "hmo": "House in multiple occupation",
    # why a visit is due (hardening.visits.due)
    "plan_visit_due": "Protection plan visit due",
    "plan_review_due": "Protection plan review due",
    "marker_review_due": "SAFE marker review due",
    "high_risk_signs": "High risk and signs, no recent visit",
    # visit subjects, signs, referral services and harm reduction kit (hardening.visits.models)
    "class_a_user": "Class A drug user",
    "cuckooed_occupant": "Occupant of a cuckooed home",
    "asb": "Anti-social behaviour",
    "odd_hour_deliveries": "Deliveries at odd hours",
    "substance_misuse": "Substance misuse service",
    "heating_grant": "Heating grant",
    "housing": "Housing",
    "nhs": "NHS",
}


def word(code: str | None) -> str:
    """The label of a code, or its words with a capital when it has none ("" for None)."""
    if code is None:
        return ""
    known = LABELS.get(code)
    if known is not None:
        return known
    text = code.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


_CODE = re.compile(r"[a-z][a-z_ ]*")  # a code a table shows as it is ("substance misuse")


def cell_words(cell: object) -> object:
    """A table cell in words: codes get their label ("low" -> "Low", "council" -> "Council");
    numbers, names and withheld figures ("[c]") stay as they are."""
    if isinstance(cell, str) and _CODE.fullmatch(cell):
        return word(cell.replace(" ", "_"))
    return cell


def day(value: date | datetime | str | None) -> str:
    """A date as people write it, with its year: "7 Dec 2026" ("" for None)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value[:10])
    return f"{value.day} {value:%b %Y}"


def pounds(amount: float | None) -> str:
    """Money in pounds: "£1,250" (pence only below £100)."""
    if amount is None:
        return ""
    return f"£{amount:,.2f}" if abs(amount) < 100 and amount != int(amount) else f"£{amount:,.0f}"
