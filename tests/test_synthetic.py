"""Tests of the synthetic reporting-year generator (cpdeval.synthetic)."""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml

from cpdeval import CONFIG_DIR, SCHEMAS_DIR
from cpdeval.synthetic import generate
from cpdeval.synthetic.__main__ import main

REAL_GIAS = Path("/work/shared/real-data/gias/gias_2021_surrey_936.csv")
CODES = {"SUPP", "NE", "NP", "NA", "LOW", "x", ".."}
BOOKING_HEADER = ["Booking Reference", "Contact ID", "Contact Name", "Contact Email", "Job Role", "Organisation URN",
                  "Organisation LAESTAB", "Organisation Name", "Organisation Postcode", "Activity Code",
                  "Activity Title", "Activity Type", "Delivered By", "Partnership ID", "Region", "Start Date",
                  "Sessions", "CPD Units", "Booking Status", "Bursary", "Priority School", "Led By Practitioner", "Fee"]
# the id and descriptive columns every synthetic performance table carries before the measures
KS_ID_COLUMNS = {"ks4": ["RECTYPE", "LEA", "ESTAB", "URN", "SCHNAME", "TOWN", "PCODE", "ICLOSE", "NFTYPE", "RELDENOM",
                         "AGERANGE", "TOTPUPS"],
                 "ks2": ["RECTYPE", "LEA", "ESTAB", "URN", "SCHNAME", "TOWN", "PCODE", "NFTYPE", "ICLOSE", "RELDENOM",
                         "AGERANGE", "TOTPUPS"]}


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


CONFIG = _yaml(CONFIG_DIR / "config.yaml")
MEASURES = _yaml(CONFIG_DIR / "measures.yaml")
SEED = 4242


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic_small")
    generate(out, size="small", seed=SEED, config=CONFIG)
    return out


@pytest.fixture(scope="module")
def truth(small) -> dict:
    return json.loads((small / "truth.json").read_text(encoding="utf-8"))


def _read(path: Path, encoding: str = "utf-8-sig") -> list[dict]:
    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh))


def _header(path: Path, encoding: str = "utf-8-sig") -> list[str]:
    with open(path, encoding=encoding, newline="") as fh:
        return next(csv.reader(fh))


def _span(label: str) -> str:
    a = int(label[:4])
    return f"{a}-{a + 1}"


def _expected_paths(cfg: dict) -> set[str]:
    years = cfg["years"]
    paths = {f"bookings/booking_export_FY{fy}.csv" for fy in years["delivery"]}
    paths |= {"register/edubasealldata.csv", "register/links_edubasealldata.csv", "register/england_census.csv"}
    for ay in years["attainment"]:
        paths |= {f"performance/{_span(ay)}_england_ks4final.csv", f"performance/{_span(ay)}_england_ks2final.csv"}
    for f in (SCHEMAS_DIR / "instruments").glob("*.yaml"):
        if f.name != "scales.yaml":
            paths.add(f"surveys/{_yaml(f)['name']}.csv")
    paths |= {"surveys/feedback_coded.csv", "reference/partnerships.csv", "reference/targets.csv",
              "reference/trained_leaders.csv", "reference/strategic_judgements.csv",
              "reference/resource_registrations.csv", "reference/priority_schools.csv",
              "reference/survey_invited.csv", "truth.json"}
    paths |= {f"targeted/{n}.csv" for n in ("targeted_schools", "ofsted_inspections", "maturity", "self_assessment",
                                             "case_outcomes", "monitoring")}
    return paths


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------------
def test_every_file_of_the_layout_is_written_and_listed(small):
    manifest = json.loads((small / "manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"]}
    assert listed == _expected_paths(CONFIG)
    on_disk = {str(p.relative_to(small)).replace("\\", "/") for p in small.rglob("*") if p.is_file()}
    assert on_disk == listed | {"manifest.json"}
    for f in manifest["files"]:
        path = small / f["path"]
        assert f["sha256"] == _sha(path), f["path"]
        if f["path"].endswith(".csv"):
            enc = "cp1252" if f["path"].startswith("register/e") or "links" in f["path"] else "utf-8-sig"
            assert f["rows"] == len(_read(path, enc)) > 0, f["path"]


def test_sizes_are_about_right(small, truth):
    schools = truth["schools"]
    assert 550 <= len(schools) <= 650
    kinds = [s["kind"] for s in schools.values()]
    assert 0.6 < kinds.count("primary") / len(kinds) < 0.78
    assert 0.1 < kinds.count("secondary") / len(kinds) < 0.2
    per_year = truth["bookings"]["per_year"]
    assert set(per_year) == set(CONFIG["years"]["delivery"])
    assert 3500 < np.mean(list(per_year.values())) < 6500
    assert len({s["region"] for s in schools.values()}) == 9


def test_same_seed_gives_identical_files_and_another_seed_does_not(small, tmp_path):
    again = tmp_path / "again"
    generate(again, size="small", seed=SEED, config=CONFIG)
    assert (again / "manifest.json").read_bytes() == (small / "manifest.json").read_bytes()
    for f in json.loads((small / "manifest.json").read_text())["files"]:
        assert _sha(again / f["path"]) == f["sha256"], f["path"]
    other = tmp_path / "other"
    generate(other, size="small", seed=SEED + 1, config=CONFIG)
    rel = f"bookings/booking_export_FY{CONFIG['years']['reporting']}.csv"
    assert _sha(other / rel) != _sha(small / rel)


def _measure_columns(ks: str, label: str) -> list[str]:
    cols = []
    for spec in MEASURES[ks]["measures"].values():
        for part in ("columns", "lower", "upper"):
            c = (spec.get(part) or {}).get(label)
            if c and c not in cols:
                cols.append(c)
    return cols


@pytest.mark.parametrize("ks", ["ks4", "ks2"])
def test_performance_headers_follow_the_measure_map(small, ks):
    seen = set()
    for label in CONFIG["years"]["attainment"]:
        path = small / f"performance/{_span(label)}_england_{ks}final.csv"
        header = _header(path)
        assert header == KS_ID_COLUMNS[ks] + _measure_columns(ks, label), label
        assert set(MEASURES[ks]["id_columns"].values()) <= set(header)
        seen.add(tuple(header))
    assert len(seen) > 1, "columns should appear, end or be renamed between years"


def test_performance_cells_look_published(small):
    ks4 = small / f"performance/{_span(CONFIG['years']['attainment'][-1])}_england_ks4final.csv"
    raw = ks4.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    cells: list[str] = []
    rectypes = set()
    for path in sorted((small / "performance").glob("*.csv")):
        for row in _read(path):
            rectypes.add(row["RECTYPE"])
            cells += list(row.values())
    assert "SUPP" in cells
    assert len(CODES & set(cells)) >= 5
    assert any(c.endswith("%") and c[:-1].replace(".", "").isdigit() for c in cells)
    assert {"1", "2", "4", "7"} <= rectypes          # schools, special schools, LA and national totals
    rows = _read(ks4)
    nat = [r for r in rows if r["RECTYPE"] == "7"]
    assert len(nat) == 1 and nat[0]["URN"] == ""
    # scores are plain decimals with bounds around them
    p8 = [(float(r["P8CILOW"]), float(r["P8MEA"]), float(r["P8CIUPP"])) for r in rows
          if r["RECTYPE"] == "1" and r["P8MEA"] not in CODES | {""} and r["P8CILOW"] not in CODES | {""}]
    assert p8 and all(lo <= v <= hi for lo, v, hi in p8)


def test_gias_register_is_windows_1252_with_the_real_columns(small):
    path = small / "register/edubasealldata.csv"
    raw = path.read_bytes()
    text = raw.decode("cp1252")                      # strict
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")                          # é and ’ are single cp1252 bytes
    header = next(csv.reader(io.StringIO(text)))
    assert len(header) == 110
    if REAL_GIAS.exists():
        assert header == _header(REAL_GIAS, "cp1252")
    lines = text.split("\r\n")
    assert all(line.startswith('"') and line.endswith('"') for line in lines if line)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["EstablishmentStatus (name)"] for r in rows} >= {"Open", "Closed"}
    assert {r["PhaseOfEducation (name)"] for r in rows} >= {"Primary", "Secondary", "All-through", "16 plus",
                                                            "Not applicable"}
    assert any(r["UrbanRural (name)"].startswith("(England/Wales) Rural") for r in rows)
    dated = [r["CloseDate"] for r in rows if r["CloseDate"]]
    assert dated and all(len(d) == 10 and d[2] == d[5] == "-" for d in dated)
    conv = [r for r in rows if r["ReasonEstablishmentClosed (name)"] == "Academy Converter"]
    assert len(conv) > 0.05 * len(rows)


def test_urns_are_unique_and_lineage_is_consistent(small, truth):
    reg = _read(small / "register/edubasealldata.csv", "cp1252")
    urns = [r["URN"] for r in reg]
    assert len(set(urns)) == len(urns)
    assert set(truth["urn_to_school"]) == set(urns)
    for key, school in truth["schools"].items():
        assert school["urns"][0] == int(key)
        assert all(truth["urn_to_school"][str(u)] == key for u in school["urns"])
        assert school["urns"] == sorted(school["urns"])      # URNs are issued in order of opening


def test_links_have_twins_except_the_planted_anomalies(small, truth):
    text = (small / "register/links_edubasealldata.csv").read_bytes().decode("cp1252")
    rows = list(csv.DictReader(io.StringIO(text)))
    have = {(r["URN"], r["LinkURN"], r["LinkType"]) for r in rows}
    planted = truth["lineage"]["links_anomalies"]
    assert {a["kind"] for a in planted} >= {"cycle", "missing_twin", "dangling"}
    exempt = {tuple(map(str, a["urns"])) for a in planted if a["kind"] in ("missing_twin", "dangling")}
    missing = {(r["URN"], r["LinkURN"]) for r in rows
               if r["LinkType"] == "Successor" and (r["LinkURN"], r["URN"], "Predecessor") not in have}
    assert missing == exempt
    for a in planted:
        if a["kind"] == "cycle":
            x, y = map(str, a["urns"])
            assert (x, y, "Successor") in have and (y, x, "Successor") in have
    merged = [r for r in rows if r["LinkType"] == "Successor - merged"]
    assert merged and all((r["LinkURN"], r["URN"], "Predecessor - merged") in have for r in merged)
    register = {r["URN"] for r in _read(small / "register/edubasealldata.csv", "cp1252")}
    dangling = {str(a["urns"][1]) for a in planted if a["kind"] == "dangling"}
    assert {r["LinkURN"] for r in rows} - register == dangling


def test_bookings_use_only_allowed_labels(small):
    contract = _yaml(SCHEMAS_DIR / "bookings.yaml")
    allowed = {c["source"]: set(c["values"]) for c in contract["columns"] if "values" in c}
    rows = []
    for fy in CONFIG["years"]["delivery"]:
        path = small / f"bookings/booking_export_FY{fy}.csv"
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
        assert _header(path) == BOOKING_HEADER
        rows += _read(path)
    for col, labels in allowed.items():
        assert {r[col] for r in rows} <= labels, col
    status = [r["Booking Status"] for r in rows]
    assert 0.78 < status.count("Attended") / len(status) < 0.9
    roles = [r["Job Role"] for r in rows]
    assert 0.03 < roles.count("Technician") / len(roles) < 0.1
    assert len({r["Booking Reference"] for r in rows}) == len(rows)
    blank = sum(r["Organisation URN"] == "" for r in rows) / len(rows)
    assert 0.2 < blank < 0.4
    assert all(r["Bursary"] in "YN" and r["Priority School"] in "YN" for r in rows)
    assert any(r["Fee"].startswith("£") for r in rows) and any(r["Fee"] == "0" for r in rows)
    assert {r["Partnership ID"] for r in rows if r["Delivered By"] == "National Centre"} == {""}


def test_booking_organisations_point_into_the_register(small, truth):
    reg = _read(small / "register/edubasealldata.csv", "cp1252")
    urns = {r["URN"] for r in reg}
    laestab = {r["LA (code)"] + r["EstablishmentNumber"].zfill(4) for r in reg}
    rows = _read(small / f"bookings/booking_export_FY{CONFIG['years']['reporting']}.csv")
    assert {r["Organisation URN"] for r in rows if r["Organisation URN"]} <= urns
    assert {r["Organisation LAESTAB"] for r in rows if r["Organisation LAESTAB"]} <= laestab
    contact_school = truth["bookings"]["contact_school"]
    assert {r["Contact ID"] for r in rows} <= set(contact_school)
    # a URN written in a booking belongs to the school the truth says the participant is from
    u2s = truth["urn_to_school"]
    assert all(u2s[r["Organisation URN"]] == contact_school[r["Contact ID"]] for r in rows if r["Organisation URN"])
    for rel in ("register/england_census.csv", "reference/trained_leaders.csv"):
        got = {r["URN"] for r in _read(small / rel)} - {"NAT", ""}
        assert got and got <= urns, rel
    for label in CONFIG["years"]["attainment"]:
        got = {r["URN"] for r in _read(small / f"performance/{_span(label)}_england_ks4final.csv")} - {"", " "}
        assert got <= urns


def test_survey_columns_and_answers_follow_the_instruments(small):
    scales = _yaml(SCHEMAS_DIR / "instruments" / "scales.yaml")

    def labels(values):
        return {("Yes" if v else "No") if isinstance(v, bool) else str(v) for v in values or []}

    ids = set()
    for f in sorted((SCHEMAS_DIR / "instruments").glob("*.yaml")):
        if f.name == "scales.yaml":
            continue
        spec = _yaml(f)
        path = small / f"surveys/{spec['name']}.csv"
        header = _header(path, "utf-8")
        respondent = [v for k, v in spec["respondent"].items() if not k.endswith("_format")]
        items = [it["column"] for it in spec.get("items", [])]
        options = [op["column"] for ms in spec.get("multi_select", []) for op in ms["options"]]
        free = [ft["column"] for ft in spec.get("free_text", [])]
        assert header == respondent + items + options + free, spec["name"]
        rows = _read(path, "utf-8")
        rid = [r[spec["respondent"]["id"]] for r in rows]
        assert len(set(rid)) == len(rid)
        ids |= set(rid)
        for it in spec.get("items", []):
            sc = scales[it["scale"]]
            ok = labels(sc["levels"]) | labels(sc.get("not_substantive")) | {""}
            got = {r[it["column"]] for r in rows}
            assert got <= ok, (spec["name"], it["column"], got - ok)
            assert len(got - {""}) >= 2
        for col in options:
            assert {r[col] for r in rows} <= {"1", ""}
        if options:
            ticks = [sum(r[c] == "1" for c in options) for r in rows]
            assert max(ticks) >= 2
        urns = [r[spec["respondent"]["urn"]] for r in rows]
        assert "" in urns and any(urns)
    coded = _read(small / "surveys/feedback_coded.csv", "utf-8")
    assert _header(small / "surveys/feedback_coded.csv", "utf-8") == ["Response ID", "code", "codebook_version"]
    assert {r["Response ID"] for r in coded} <= ids
    per = {}
    for r in coded:
        per.setdefault(r["Response ID"], []).append(r["code"])
    assert max(len(v) for v in per.values()) >= 2
    assert len({(r["Response ID"], r["code"]) for r in coded}) == len(coded)


def test_planted_survey_shares(small):
    rows = _read(small / "surveys/participant_impact.csv", "utf-8")
    q1 = [r["Q1"] for r in rows if r["Q1"]]
    assert np.mean([a in ("Very high", "High") for a in q1]) > 0.85
    q42 = [r["Q4_2"] for r in rows]
    assert 0.15 < np.mean([a == "Cannot say" for a in q42]) < 0.45


def test_truth_has_positive_effects_and_planted_selection(small, truth):
    assert truth["effects"]["ks4"]["pct_ebacc_2sci"] > 0 and truth["effects"]["ks4"]["pct_5em"] > 0
    assert truth["effects"]["ks4"]["sci_va"] > 0 and truth["effects"]["ks2"]["pct_sci_ta_exp"] > 0
    assert set(truth["effects"]["ks4"]) == set(MEASURES["ks4"]["measures"])
    for ks, measures in truth["realised_effect"].items():
        for m, years in measures.items():
            for y, r in years.items():
                if r["n_treated_school_rows"] >= 20:
                    assert abs(r["mean_written_minus_counterfactual"] - r["planted"]) < 0.25 * r["planted"] + 0.05
    assert {"intercept", "coefficients"} <= set(truth["selection_model"])
    assert truth["seed"] == SEED and truth["size"] == "small"
    first = [s["first_use_fy"] for s in truth["schools"].values()]
    assert None in first and len({f for f in first if f}) >= 3      # staggered adoption and never-users
    # treated schools have higher prior attainment (KS2APS) than untreated ones: the planted selection
    u2s, schools = truth["urn_to_school"], truth["schools"]
    label = CONFIG["years"]["attainment"][0]
    users, others = [], []
    for r in _read(small / f"performance/{_span(label)}_england_ks4final.csv"):
        if r["RECTYPE"] != "1" or r["KS2APS"] in CODES | {""}:
            continue
        (users if schools[u2s[r["URN"]]]["ever_user"] else others).append(float(r["KS2APS"]))
    assert len(users) > 20 and len(others) > 10
    assert np.mean(users) > np.mean(others) + 0.2


def test_first_use_matches_attended_bookings(small, truth):
    """The truth's first financial year of use is the first year with an attended booking."""
    contact_school = truth["bookings"]["contact_school"]
    first: dict[str, str] = {}
    for fy in CONFIG["years"]["delivery"]:
        for r in _read(small / f"bookings/booking_export_FY{fy}.csv"):
            k = contact_school[r["Contact ID"]]
            if r["Booking Status"] == "Attended" and k and k not in first:
                first[k] = fy
    planted = {k: s["first_use_fy"] for k, s in truth["schools"].items() if s["first_use_fy"]}
    assert first == planted


def test_reference_files(small, truth):
    parts = _read(small / "reference/partnerships.csv", "utf-8")
    assert _header(small / "reference/partnerships.csv", "utf-8") == [
        "partnership_id", "partnership_name", "region", "lead_urn", "lead_from", "lead_to"]
    ids = {p["partnership_id"] for p in parts}
    assert len(ids) == 16
    assert any(p["lead_to"] for p in parts) and any(p["lead_urn"] == "" for p in parts)
    targets = _read(small / "reference/targets.csv", "utf-8")
    metrics = {t["metric"] for t in targets if t["scope"] == "national"}
    assert metrics == {"units", "participants", "technicians", "schools_primary", "schools_secondary", "post16",
                       "schools_priority"}
    assert {t["financial_year"] for t in targets} == set(CONFIG["years"]["delivery"])
    assert {t["scope"] for t in targets} - {"national"} <= ids
    trained = _read(small / "reference/trained_leaders.csv", "utf-8")
    assert trained and len({(t["Contact ID"], t["programme"]) for t in trained}) == len(trained)
    assert {t["Contact ID"] for t in trained} <= set(truth["bookings"]["contact_school"])


def test_census_has_the_real_header(small):
    header = _header(small / "register/england_census.csv")
    real = Path("/work/shared/real-data/dfe-national-2018-19/england_census.csv")
    if real.exists():
        assert header == _header(real)
    rows = _read(small / "register/england_census.csv")
    assert [r["URN"] for r in rows[-3:]] == ["NAT"] * 3
    urns = [r["URN"] for r in rows]
    assert len(set(urns[:-3])) == len(urns) - 3


def test_years_come_from_the_config(tmp_path):
    cfg = copy.deepcopy(CONFIG)
    cfg["years"]["delivery"] = ["2016-17", "2017-18", "2018-19"]
    cfg["years"]["attainment"] = ["2017-18", "2018-19"]
    generate(tmp_path, size="small", seed=3, config=cfg)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert {f["path"] for f in manifest["files"]} == _expected_paths(cfg)


def test_command_line_prints_progress(tmp_path, capsys):
    assert main(["--size", "small", "--seed", "11", str(tmp_path / "cli")]) == 0
    out = capsys.readouterr().out
    for family in ("register", "bookings", "performance", "reference", "surveys"):
        assert any(line.startswith(f"{family}:") and "rows" in line and line.endswith("s)")
                   for line in out.splitlines()), family
    assert (tmp_path / "cli" / "manifest.json").exists()


def test_unknown_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown synthetic size"):
        generate(tmp_path, size="huge", config=CONFIG)


def test_priority_list_and_invited_counts_agree_with_the_rest(small, truth):
    """The priority list names every priority school (truth) in every delivery year, under a URN of its own;
    each survey's invited count is at least its responses."""
    prio = pl.read_csv(small / "reference" / "priority_schools.csv")
    assert prio.columns == ["urn", "financial_year"]
    years = CONFIG["years"]["delivery"]
    assert sorted(prio["financial_year"].unique().to_list()) == sorted(years)
    per_year = prio.group_by("financial_year").len()
    assert per_year["len"].n_unique() == 1 and per_year["len"][0] == len(truth["priority_schools"])
    invited = pl.read_csv(small / "reference" / "survey_invited.csv")
    for row in invited.iter_rows(named=True):
        answered = pl.read_csv(small / "surveys" / f"{row['instrument']}.csv", infer_schema=False).height
        assert answered <= row["invited"] < 4 * answered, row
