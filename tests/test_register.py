"""GIAS register, census and the phase rule, against the real Surrey extract and hand-made copies."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from cpdeval.errors import InputError
from cpdeval.ingest.register import (GIAS_COLUMNS, build_school_table, phase_group, read_census, read_gias,
                                     read_la_region_codes)

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-data"
GIAS = REAL / "gias" / "gias_2021_surrey_936.csv"
CENSUS = REAL / "dfe-national-2018-19" / "england_census.csv"


@pytest.fixture(scope="module")
def gias():
    return read_gias(GIAS)


@pytest.fixture(scope="module")
def raw_rows():
    with GIAS.open(encoding="cp1252", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_establishment_read(gias, raw_rows):
    # 590 records (the file has 591 lines: header + 590, no final line break)
    assert len(raw_rows) == 590
    assert gias.height == 590 and gias["urn"].n_unique() == 590
    assert gias["source_row"].to_list() == list(range(2, 592))
    assert gias["parse_issue"].null_count() == 590


def test_known_school_fields(gias):
    # URN 136828 Collingwood College: academy converter, Secondary, 11-18, opened 01-07-2011, GU15 4AE
    row = gias.filter(pl.col("urn") == 136828).to_dicts()[0]
    assert row["name"] == "Collingwood College"
    assert row["la_code"] == 936 and row["establishment_number"] == 5401 and row["laestab"] == 9365401
    assert row["type"] == "Academy converter" and row["type_group"] == "Academies"
    assert row["open_date"] == dt.date(2011, 7, 1) and row["close_date"] is None
    assert row["phase"] == "Secondary" and row["phase_group"] == "secondary"
    assert (row["low_age"], row["high_age"], row["sixth_form"]) == (11, 18, True)
    assert row["postcode"] == "GU15 4AE" and row["region"] == "South East" and row["status"] == "open"


def test_dates_and_closing_schools(gias, raw_rows):
    # the Surrey extract holds open schools only; five are "Open, but proposed to close" with a CloseDate
    closing = gias.filter(pl.col("status") == "open_proposed_to_close")
    assert closing.height == sum(r["EstablishmentStatus (name)"] == "Open, but proposed to close" for r in raw_rows)
    assert closing["close_date"].null_count() == 0
    eng = gias.filter(pl.col("urn") == 125101).to_dicts()[0]   # Englefield Green Infant School, CloseDate 31-08-2021
    assert eng["close_date"] == dt.date(2021, 8, 31)
    assert gias.schema["open_date"] == pl.Date and gias.schema["ofsted_date"] == pl.Date
    n_open_dates = sum(bool(r["OpenDate"]) for r in raw_rows)
    assert gias["open_date"].is_not_null().sum() == n_open_dates
    assert gias["close_date"].is_not_null().sum() == 5


def test_phase_groups_match_hand_count(gias, raw_rows):
    # Hand count from the file's type x phase x age table:
    #   special  = 12 community special + 5 non-maintained special + 15 other independent special
    #              + 9 academy special converter + 3 academy special sponsor led + 2 special post 16 = 46
    #   other    = 70 children's centres (+ linked sites) + 8 PRUs + 4 LA nursery + 3 HEIs + 1 misc
    #              + 1 independent aged 1-5 = 87
    #   post16   = 4 academy 16-19 converters + 3 further education = 7
    #   primary  = 300 phase Primary + 48 independent with high age <= 13 = 348
    #   secondary= 55 phase Secondary + 19 independent with low age >= 9 = 74
    #   all_through = 2 phase All-through + 26 independent (low < 9, high >= 14) = 28
    counts = dict(gias.group_by("phase_group").len().rows())
    assert counts == {"special": 46, "other": 87, "post16": 7, "primary": 348, "secondary": 74, "all_through": 28}
    assert gias["phase_group"].null_count() == 0
    # independent cross-checks straight from the CSV
    assert counts["special"] == sum("special" in r["TypeOfEstablishment (name)"].lower() for r in raw_rows)
    assert counts["post16"] == sum(r["PhaseOfEducation (name)"] == "16 plus" for r in raw_rows)
    phase_primary = sum(r["PhaseOfEducation (name)"] == "Primary" for r in raw_rows)
    indep = [r for r in raw_rows if r["TypeOfEstablishment (name)"] == "Other independent school"]
    assert counts["primary"] == phase_primary + sum(
        int(r["StatutoryLowAge"]) < 9 and 5 < int(r["StatutoryHighAge"]) <= 13 for r in indep)


@pytest.mark.parametrize("phase, type_, group, lo, hi, expected", [
    ("Middle deemed primary", "Community school", "Local authority maintained schools", 8, 12, "primary"),
    ("Middle deemed secondary", "Community school", "Local authority maintained schools", 9, 13, "secondary"),
    ("16 plus", "Sixth form centres", "Colleges", 16, 19, "post16"),
    ("Not applicable", "Further education", "Colleges", 16, 99, "post16"),
    ("Not applicable", "Academy 16 to 19 sponsor led", "Academies", 16, 19, "post16"),
    ("Secondary", "Academy special converter", "Special schools", 11, 19, "special"),
    ("Not applicable", "Foundation special school", "Special schools", 2, 19, "special"),
    ("Not applicable", "Pupil referral unit", "Local authority maintained schools", 11, 16, "other"),
    ("Secondary", "Academy alternative provision converter", "Academies", 11, 16, "other"),
    ("Nursery", "Local authority nursery school", "Local authority maintained schools", 2, 5, "other"),
    ("All-through", "Academy converter", "Academies", 4, 18, "all_through"),
    ("Not applicable", "Other independent school", "Independent schools", 3, 18, "all_through"),
    ("Not applicable", "Other independent school", "Independent schools", 13, 18, "secondary"),
    ("Not applicable", "Other independent school", "Independent schools", 2, 13, "primary"),
    ("Not applicable", "Other independent school", "Independent schools", None, None, "other"),
    (None, "Children's centre", "Children's Centres", None, None, "other"),
])
def test_phase_rule_cases(phase, type_, group, lo, hi, expected):
    assert phase_group(phase, type_, group, lo, hi) == expected


def test_urban_rural_and_ofsted(gias, raw_rows):
    assert set(gias["urban_rural"].unique()) == {"urban", "rural"}
    n_rural = sum(r["UrbanRural (name)"].startswith("(England/Wales) Rural") for r in raw_rows)
    assert gias["urban_rural"].eq("rural").sum() == n_rural
    by_label = dict(gias.select("ofsted_label", "ofsted_rating").unique().drop_nulls().rows())
    assert by_label == {"Outstanding": 1, "Good": 2, "Requires improvement": 3, "Serious Weaknesses": 4,
                        "Special Measures": 4}
    assert gias["ofsted_rating"].null_count() == sum(not r["OfstedRating (name)"] for r in raw_rows)


def test_cp1252_copy_with_closed_school_and_bad_date(tmp_path, raw_rows):
    header = list(raw_rows[0])
    rows = [dict(raw_rows[0]), dict(raw_rows[1]), dict(raw_rows[2])]
    rows[0].update({"EstablishmentName": "\u00c9cole Saint-\u00c9tienne", "EstablishmentStatus (name)": "Closed",
                    "CloseDate": "31-08-2019"})
    rows[1]["OpenDate"] = "2019/09/01"  # not dd-mm-yyyy
    p = tmp_path / "edubasealldata.csv"
    with p.open("w", encoding="cp1252", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)
    df = read_gias(p)
    assert df["name"][0] == "\u00c9cole Saint-\u00c9tienne"
    assert (df["status"][0], df["close_date"][0]) == ("closed", dt.date(2019, 8, 31))
    assert df["open_date"][1] is None and "open_date 2019/09/01" in df["parse_issue"][1]
    with pytest.raises(InputError) as err:   # the same file read as UTF-8 names the line
        read_gias(p, encoding="utf-8")
    assert err.value.row == 2


def test_missing_gias_column(tmp_path):
    p = tmp_path / "g.csv"
    cols = [c for c in GIAS_COLUMNS if c != "PhaseOfEducation (name)"] + ["PhaseOfEducation"]
    p.write_text(",".join(f'"{c}"' for c in cols) + "\n" + ",".join('"1"' for _ in cols) + "\n", encoding="cp1252")
    with pytest.raises(InputError) as err:
        read_gias(p)
    assert "PhaseOfEducation (name)" in str(err.value) and "did you mean 'PhaseOfEducation'" in str(err.value)


def test_census_and_school_table(gias):
    census, dropped = read_census(CENSUS, return_dropped=True)
    assert dropped["urn"].to_list() == ["NAT", "NAT", "NAT"]
    assert census.height == 23942 - 3
    # england_census.csv line 2: URN 100000, NOR 285, PNUMFSMEVER 16.2; line 3 URN 100001: FSM columns 'NA'
    first = census.filter(pl.col("urn") == 100000).to_dicts()[0]
    assert (first["pupils"], first["pct_fsm_ever"], first["laestab"], first["source_row"]) == (285, 16.2, 2013614, 2)
    assert census.filter(pl.col("urn") == 100001)["pct_fsm_ever"].to_list() == [None]
    table = build_school_table(gias, census)
    assert table.height == gias.height
    src = table.group_by("pupils_source").len()
    assert set(src["pupils_source"].drop_nulls()) <= {"census", "gias"}
    both = table.filter(pl.col("pupils_source") == "census").join(census.select("urn", "pupils"), on="urn")
    assert (both["pupils"] == both["pupils_right"]).all()
    only_gias = table.filter(pl.col("pupils_source") == "gias")
    assert (only_gias["pupils"] == only_gias["pupils_gias"]).all()
    assert (table["pct_fsm_ever_source"].is_not_null() == table["pct_fsm_ever"].is_not_null()).all()
    no_census = build_school_table(gias)
    assert no_census["pupils_source"].drop_nulls().unique().to_list() == ["gias"]


def test_la_region_codes():
    codes = read_la_region_codes(REAL / "dfe-national-2018-19" / "la_and_region_codes_meta.csv")
    row = codes.filter(pl.col("la_code") == 841).to_dicts()[0]   # line 2: 841,Darlington,1,North East A
    assert (row["la_name"], row["region_code"], row["region_name"]) == ("Darlington", 1, "North East A")
    assert codes["la_code"].n_unique() == codes.height


def test_register_and_census_meet_their_contracts(gias):
    from cpdeval.contracts import load_contract, validate

    census = read_census(CENSUS)
    table = build_school_table(gias, census)
    for name, df in [("register", table), ("census", census.with_columns(pl.lit(str(CENSUS)).alias("source_file")))]:
        contract = load_contract(name)
        assert set(contract.column_names) <= set(df.columns), name
        accepted, quarantine = validate(df, contract)
        assert quarantine.height == 0 and accepted.height == df.height, (name, quarantine)
