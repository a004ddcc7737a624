"""The real-year example: synthetic bookings for the real Surrey register, and the pipeline on the real files.

``bookings_for_register`` writes booking exports for the schools of the real GIAS extract (Surrey, LA 936);
``config/surrey-2018-19.yaml`` runs ingest, linking and every chapter on the real register, links
file, census and KS4/KS2 performance tables in ``../shared/real-data/`` with those bookings. Everything is
skipped when ``../shared/real-data`` is not beside the project.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

import polars as pl
import pytest

from conftest import REAL_DATA, SHARED, as_written, copy_project, readme_commands, sh

pytestmark = pytest.mark.skipif(not REAL_DATA.exists(), reason="../shared/real-data is not beside the project")

GIAS = REAL_DATA / "gias" / "gias_2021_surrey_936.csv"
SURREY = REAL_DATA / "dfe-surrey-936"
YEARS = ["2016-17", "2017-18", "2018-19"]
CONFIG = "config/surrey-2018-19.yaml"
OUT = "data/raw/surrey-2018-19"
BOOKING_HEADER = ["Booking Reference", "Contact ID", "Contact Name", "Contact Email", "Job Role", "Organisation URN",
                  "Organisation LAESTAB", "Organisation Name", "Organisation Postcode", "Activity Code",
                  "Activity Title", "Activity Type", "Delivered By", "Partnership ID", "Region", "Start Date",
                  "Sessions", "CPD Units", "Booking Status", "Bursary", "Priority School", "Led By Practitioner", "Fee"]


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def register() -> pl.DataFrame:
    from cpdeval.ingest.register import read_gias

    return read_gias(GIAS, encoding="cp1252")


@pytest.fixture(scope="module")
def surrey(tmp_path_factory) -> tuple[Path, dict]:
    from cpdeval.synthetic.real_register import bookings_for_register

    out = tmp_path_factory.mktemp("surrey_bookings")
    manifest = bookings_for_register(GIAS, out, financial_years=YEARS, seed=7)
    return out, manifest


# ---------------------------------------------------------------------------------------------------------
# (a) the generated exports
# ---------------------------------------------------------------------------------------------------------
def test_layout_and_booking_export_format(surrey):
    out, manifest = surrey
    expected = {f"bookings/booking_export_FY{fy}.csv" for fy in YEARS} | {
        "reference/partnerships.csv", "reference/targets.csv", "reference/trained_leaders.csv",
        "reference/priority_schools.csv", "reference/survey_invited.csv",
        "surveys/participant_impact.csv", "surveys/practitioner_leader.csv", "surveys/subject_leader.csv",
        "surveys/event_feedback.csv", "surveys/feedback_coded.csv"}
    assert {f["path"] for f in manifest["files"]} == expected
    assert json.loads((out / "manifest.json").read_text())["files"] == manifest["files"]
    for fy in YEARS:
        data = (out / f"bookings/booking_export_FY{fy}.csv").read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")                      # UTF-8 with BOM
        assert data.count(b"\r\n") == data.count(b"\n") > 100         # CRLF line ends only
        rows = _rows(out / f"bookings/booking_export_FY{fy}.csv")
        assert list(rows[0]) == BOOKING_HEADER
        start, end = int(fy[:4]), int(fy[:4]) + 1                     # every start date inside its financial year
        for r in rows:
            d, m, y = map(int, r["Start Date"].split("/"))
            assert (y, m) >= (start, 4) and (y, m) <= (end, 3), (fy, r["Start Date"])


def test_every_booking_school_comes_from_the_real_register(surrey, register):
    out, manifest = surrey
    reg = register.filter(pl.col("urn").is_not_null())
    urns = set(reg["urn"].to_list())
    laestabs = set(reg["laestab"].drop_nulls().to_list())
    names = {n.lower() for n in reg["name"].to_list()}
    postcodes = {p.replace(" ", "").lower() for p in reg["postcode"].drop_nulls().to_list()}
    name_of = dict(zip(reg["urn"].to_list(), reg["name"].to_list()))
    from cpdeval.synthetic.lookups import NON_SCHOOL_ORGS

    non_school = set(NON_SCHOOL_ORGS)
    n_urn = n_blank_urn = n_variant = n_pc_variant = n_non_school = 0
    for fy in YEARS:
        for r in _rows(out / f"bookings/booking_export_FY{fy}.csv"):
            urn, laestab, name, pc = (r["Organisation URN"], r["Organisation LAESTAB"], r["Organisation Name"],
                                      r["Organisation Postcode"])
            if name in non_school:                                    # an organisation that is not a school
                assert not urn and not laestab
                n_non_school += 1
                continue
            if urn:
                assert int(urn) in urns, urn
                assert name == name_of[int(urn)]                      # a URN comes with the register's name
                n_urn += 1
            else:
                n_blank_urn += 1
            if laestab:
                assert int(laestab) in laestabs, laestab
            # a typed name is the register's name or a variant of one (case, St/Saint, dropped "School" ...)
            n_variant += name.lower() not in names
            if pc:
                assert pc.replace(" ", "").lower() in postcodes, pc
                n_pc_variant += pc not in {"", *reg["postcode"].drop_nulls().to_list()}
    total = n_urn + n_blank_urn + n_non_school
    assert manifest["schools"] >= 300                                 # Surrey's state-funded schools
    assert 0.55 < n_urn / total < 0.85                                # the realistic gaps of the generator
    assert n_blank_urn > 0.1 * total and n_variant > 0.03 * total and n_pc_variant > 0 and n_non_school > 0.01 * total


def test_schools_are_state_funded_and_reference_data_uses_register_urns(surrey, register):
    out, _ = surrey
    from cpdeval.engagement import state_funded_expr

    state = set(register.filter(state_funded_expr())["urn"].to_list())
    booked = {int(r["Organisation URN"]) for fy in YEARS for r in _rows(out / f"bookings/booking_export_FY{fy}.csv")
              if r["Organisation URN"]}
    assert booked <= state
    leads = {int(r["lead_urn"]) for r in _rows(out / "reference/partnerships.csv") if r["lead_urn"]}
    trained = {int(r["URN"]) for r in _rows(out / "reference/trained_leaders.csv") if r["URN"]}
    assert leads and leads <= state and trained <= state
    assert {r["financial_year"] for r in _rows(out / "reference/targets.csv")} == set(YEARS)


def test_same_seed_gives_identical_files(surrey, tmp_path):
    from cpdeval.synthetic.real_register import bookings_for_register

    out, manifest = surrey
    again = bookings_for_register(GIAS, tmp_path / "again", financial_years=YEARS, seed=7)
    assert _digests(out) == _digests(tmp_path / "again")
    assert again == manifest
    other = bookings_for_register(GIAS, tmp_path / "other", financial_years=YEARS, seed=8)
    assert other["files"] != manifest["files"]


def test_years_are_checked(tmp_path):
    from cpdeval.synthetic.real_register import bookings_for_register

    with pytest.raises(ValueError, match="2018-19"):
        bookings_for_register(GIAS, tmp_path, financial_years=["2018-20"], seed=1)


# ---------------------------------------------------------------------------------------------------------
# (b) end to end: the pipeline on the real Surrey files
# ---------------------------------------------------------------------------------------------------------
def _school_rows(path: Path) -> int:
    """RECTYPE 1 (mainstream) and 2 (special) rows with a URN in a published performance table."""
    return sum(1 for r in _rows(path) if r["RECTYPE"].strip() in ("1", "2") and r["URN"].strip())


@pytest.fixture(scope="module")
def surrey_run(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("surrey_run")
    proj = copy_project(base / "proj")
    (base / "shared").symlink_to(SHARED.resolve(), target_is_directory=True)   # the config reads ../shared/...
    # the README's Surrey example, as written (its own `export` makes the key)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CPDEVAL_HASH_KEY")},
           "PYTHONPATH": str(proj / "src")}
    block = [c for c in readme_commands() if "surrey" in c.lower() or c.startswith("export CPDEVAL_HASH_KEY=$(")]
    assert len(block) == 3 and block[0].startswith(".venv/bin/cpdeval synth-bookings"), block
    result = sh("set -e\n" + "\n".join(as_written(c) for c in block), proj, env=env)
    if result.returncode != 0:
        pytest.fail(f"snakemake failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return proj


@pytest.mark.e2e
def test_surrey_year_runs_on_the_real_files(surrey_run, register):
    derived = surrey_run / "data" / "derived" / "surrey-2018-19"

    rec = pl.read_parquet(derived / "audit" / "reconciliation.parquet")
    assert rec["balanced"].all()
    assert (rec["rows_in"] == rec["rows_accepted"] + rec["rows_quarantined"] + rec["rows_set_aside"]).all()
    assert {"bookings", "schools", "links", "census", "attainment_ks4", "attainment_ks2"} <= set(rec["table"])

    # every school row of the real KS4 tables is read, one school per row
    ks4 = pl.read_parquet(derived / "ingest" / "attainment_ks4.parquet")
    per_year = dict(ks4.group_by("academic_year").agg(pl.col("urn").n_unique()).iter_rows())
    for ay in ("2016-17", "2017-18", "2018-19"):
        start = int(ay[:4])
        expected = _school_rows(SURREY / f"{start}-{start + 1}_936_ks4final.csv")
        assert per_year[ay] == expected > 100, ay
        rec_row = rec.filter((pl.col("table") == "attainment_ks4")
                             & pl.col("source_file").str.contains(f"{start}-{start + 1}_936_ks4final"))
        assert rec_row["rows_accepted"].item() == expected

    bookings = pl.read_parquet(derived / "link" / "bookings_linked.parquet")
    assert bookings.height == rec.filter(pl.col("table") == "bookings")["rows_accepted"].sum() > 0
    assert bookings["urn"].drop_nulls().len() / bookings.height > 0.8

    html = surrey_run / "reports" / "surrey-2018-19" / "methods.html"
    assert html.exists() and html.stat().st_size > 10_000
    # every chapter renders on one local authority's files, and so does the assembled report (issue #20)
    out = surrey_run / "reports" / "surrey-2018-19"
    for name in ("delivery", "operations", "impact", "targeted", "attainment", "report", "index"):
        assert (out / f"{name}.html").exists(), name
    attainment = (out / "attainment.html").read_text(encoding="utf-8")
    # one local authority is one cluster: robust errors instead, said in the text
    assert "every school is in one local authority and errors cannot be clustered by it" in attainment

    # a school followed across an academy conversion: an academy of the register linked to its predecessor
    lineage = pl.read_parquet(derived / "link" / "school_lineage.parquet")
    academies = register.filter(pl.col("type").str.starts_with("Academy"))["urn"]
    linked = lineage.filter(pl.col("linked") & pl.col("urn").is_in(academies.implode()))
    assert linked.height > 0
    key = linked["school_key"][0]
    assert lineage.filter(pl.col("school_key") == key).height >= 2
