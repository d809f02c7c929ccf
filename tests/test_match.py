"""Address matching: normalisation, postcode parsing, typo tolerance, and the hard cases on a
real PostGIS register (same street in two towns, 12 vs 12a vs 21, flats in one block, a
postcode typo), as the control room under row-level security."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection
from test_control_room_town import Town, build_town
from typer.testing import CliRunner
from world import World

from hardening.addresses.cli import register
from hardening.addresses.fuzzy import FuzzyIndex, osa_distance, within_one
from hardening.addresses.match import match, match_many
from hardening.addresses.normalise import number_key, tokens
from hardening.addresses.parse import parse
from hardening.addresses.scoring import confidence
from hardening.clikit import DomainErrorGroup
from hardening.db.engine import set_actor
from hardening.errors import UserInputError


# -- text --------------------------------------------------------------------------------------
def test_tokens_fold_case_punctuation_and_abbreviations() -> None:
    assert tokens("Flat 3, 12 Ramsden St., Barrow-in-Furness") == [
        "flat", "3", "12", "ramsden", "st", "barrow", "in", "furness",
    ]  # fmt: skip
    assert tokens("5 Cedar Rd") == tokens("5 cedar road") == ["5", "cedar", "road"]
    assert tokens("Apt 2, 9 Oak Ave") == ["flat", "2", "9", "oak", "avenue"]
    assert tokens("St John's Ct") == ["st", "johns", "court"]
    assert tokens("Saint Johns Court") == ["st", "johns", "court"]
    assert tokens("12 a Ramsden Street") == ["12a", "ramsden", "street"]
    assert tokens("3 / 12 Ramsden Street") == ["3/12", "ramsden", "street"]
    assert number_key("12 A") == "12a" and number_key("Flat 3") == "3"
    assert number_key("Flat A") == "a" and number_key(None) is None


def test_parse_flat_forms_and_postcodes() -> None:
    q = parse("Flat 3, 12 Ramsden St, Barrow LA14 1XX")
    assert (q.flat, q.numbers, q.postcode) == ("3", ("12",), "LA141XX")
    assert q.words == ("ramsden", "st", "barrow")
    slash = parse("3/12 ramsden st")
    assert (slash.flat, slash.slash_house, slash.numbers) == ("3", "12", ())
    trailing = parse("12 Ramsden Street flat 3")
    assert (trailing.flat, trailing.numbers) == ("3", ("12",))
    assert parse("apartment 4 2 high st").flat == "4"
    assert parse("Flat A, 12 Ramsden St").flat == "a"
    assert parse("12a ramsden st").numbers == ("12a",)
    assert parse("12 ramsden st la141xx").postcode == "LA141XX"  # no space
    assert parse("12 ramsden st la14 1x").postcode_attempt == "LA141X"  # damaged
    assert parse("12 ramsden st lai4 1xx").postcode_attempt == "LAI41XX"  # letter for digit
    assert parse("12 ramsden st LA14").outward == "LA14"
    assert parse("12 ramsden st").postcode is None


def _reference_osa(a: str, b: str) -> int:
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


@given(st.text("abcd", max_size=7), st.text("abcd", max_size=7))
def test_edit_distance_agrees_with_the_textbook_table(a: str, b: str) -> None:
    expected = _reference_osa(a, b)
    assert within_one(a, b) == (expected <= 1)
    assert min(osa_distance(a, b, 2), 3) == min(expected, 3)


def test_fuzzy_index_finds_typos_within_reach_only() -> None:
    index = FuzzyIndex(["ramsden", "eden", "cedar", "road"])
    assert index.lookup("rmasden") == {"ramsden": 1}  # swapped letters
    assert index.lookup("ramsdn") == {"ramsden": 1}
    assert index.lookup("edn") == {"eden": 1}
    assert "road" not in index.lookup("rd")  # too short to guess
    postcodes = FuzzyIndex(["LA141XX", "LA141XY", "CA11AA"], edits=1)
    assert postcodes.lookup("LA141XZ") == {"LA141XX": 1, "LA141XY": 1}
    assert postcodes.lookup("LA14XX") == {"LA141XX": 1}


def test_confidence_rises_with_score_and_lead() -> None:
    assert confidence(6.0, 3.0) > 0.99
    assert confidence(4.0, 0.0) < 0.7
    assert confidence(4.0, 1.0) > confidence(4.0, 0.2) > confidence(4.0, 0.0)


# -- the register ------------------------------------------------------------------------------
@pytest.fixture
def town(app_conn: Connection, world: World) -> Town:
    built = build_town(app_conn, world)
    set_actor(app_conn, world.actors["control_room"])
    return built


CASES = [
    ("12 Ramsden Street, Testbury", "block"),
    ("12 ramsden st otherton", "other12"),
    ("12a ramsden st testbury", "rs12a"),
    ("12 A Ramsden Street, Testbury", "rs12a"),
    ("21 ramsden street testbury", "rs21"),
    ("Flat 2, 12 Ramsden St, Testbury", "flat2"),
    ("2/12 ramsden street testbury", "flat2"),
    ("apartment 2 12 ramsden st testbury", "flat2"),
    ("12 Ramsden Street Testbury flat 3", "flat3"),
    ("1 12 ramsden street testbury", "flat1"),
    ("12a ramsden st tb1 1ab", "rs12a"),  # postcode one character off, no town
    ("12a ramsden st TB11AA", "rs12a"),  # no space
    ("12 rmasden st otherton", "other12"),  # swapped letters
    ("12 RAMSDN STREET OT2 2BB", "other12"),
    ("5 cedar ave testbury", "cedar_ave"),
    ("5 cedar rd testbury", "cedar_rd"),
]


@pytest.mark.parametrize(("said", "meant"), CASES)
def test_hard_cases_match_with_high_confidence(
    app_conn: Connection, town: Town, said: str, meant: str
) -> None:
    result = match(app_conn, said)
    assert result.uprn == town[meant], result.as_dict()
    assert result.status == "matched" and result.confidence >= 0.9


def test_same_street_in_two_towns_without_town_or_postcode_is_ambiguous(
    app_conn: Connection, town: Town
) -> None:
    result = match(app_conn, "12 ramsden street")
    assert result.status == "ambiguous"
    assert {c.uprn for c in result.candidates[:2]} == {town["block"], town["other12"]}
    assert result.confidence < 0.9


def test_numbers_must_agree(app_conn: Connection, town: Town) -> None:
    """12 is not 12a nor 21; a number the street does not have matches nothing."""
    twelve = match(app_conn, "12 ramsden st testbury")
    assert twelve.uprn == town["block"]
    assert town["rs12a"] not in {c.uprn for c in twelve.candidates}
    assert town["rs21"] not in {c.uprn for c in twelve.candidates}
    assert match(app_conn, "99 ramsden street testbury").status == "no_match"
    assert match(app_conn, "flat 9, 12 ramsden street testbury").uprn != town["flat1"]


def test_flats_rank_below_their_block_when_no_flat_is_said(
    app_conn: Connection, town: Town
) -> None:
    result = match(app_conn, "12 ramsden street tb1 1aa", top=5)
    assert result.uprn == town["block"] and result.status == "matched"
    assert result.candidates[0].score > max(c.score for c in result.candidates[1:])


def test_batch_matches_like_single_queries(app_conn: Connection, town: Town) -> None:
    texts = [said for said, _ in CASES] + ["12 ramsden street", "nothing like an address"]
    batch = match_many(app_conn, texts)
    single = [match(app_conn, t) for t in texts]
    assert [r.as_dict() for r in batch] == [r.as_dict() for r in single]


def test_housing_sees_no_candidates_outside_its_homes(
    app_conn: Connection, town: Town, world: World
) -> None:
    set_actor(app_conn, world.actors["housing_a"])
    assert match(app_conn, "12 Ramsden Street, Testbury").status == "no_match"


def test_text_only_register_rows_are_found_by_trigram(app_conn: Connection, world: World) -> None:
    # The test world's addresses have no parts: only "7 Test Street".
    set_actor(app_conn, world.actors["control_room"])
    result = match(app_conn, "7 test street")
    assert result.uprn == world.homes_a[6], result.as_dict()


def test_empty_and_oversized_text_is_refused(app_conn: Connection) -> None:
    with pytest.raises(UserInputError):
        match(app_conn, "   ")
    with pytest.raises(UserInputError):
        match(app_conn, "x" * 301)


# -- the command -------------------------------------------------------------------------------
def _cli() -> typer.Typer:
    """The root app as `hardening` has it: a group (domain errors -> exit 1) with `match`."""
    root = typer.Typer(cls=DomainErrorGroup)
    register(root)

    @root.command("other")
    def other() -> None:  # a second command keeps the root a group, as in hardening.cli
        pass

    return root


def test_cli_matches_one_address_and_a_csv_file(tmp_path: Path, test_db_url: object) -> None:
    runner = CliRunner()
    # The session database holds the test world (text-only addresses "N Test Street").
    one = runner.invoke(_cli(), ["match", "7 Test Street", "--json"])
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout)["uprn"] == 5_000_000_006
    source = tmp_path / "calls.csv"
    source.write_text("id,address\nA,7 Test Street\nB,\nC,3 test st\n", encoding="utf-8")
    out = tmp_path / "matched.csv"
    batch = runner.invoke(
        _cli(),
        ["match", "--input", str(source), "--column", "address", "--output", str(out), "--json"],
    )
    assert batch.exit_code == 0, batch.output
    assert json.loads(batch.stdout)["rows"] == 3
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == ["A", "B", "C"]
    assert rows[0]["uprn"] == "5000000006" and rows[1]["status"] == "no_match"
    assert set(rows[0]) >= {"confidence", "runner_up_uprn", "matched_address"}


def test_cli_names_a_missing_column(tmp_path: Path, test_db_url: object) -> None:
    source = tmp_path / "calls.csv"
    source.write_text("id,text\n1,7 Test Street\n", encoding="utf-8")
    result = CliRunner().invoke(
        _cli(), ["match", "--input", str(source), "--output", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 1
    assert "no column 'address'" in result.output
    assert CliRunner().invoke(_cli(), ["match"]).exit_code == 1
