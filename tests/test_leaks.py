"""Leaks (issue #9): no names, emails, raw contact ids or individuals' postcodes, and no pupil rows, in any
derived table, figure or report; participant ids are keyed hashes whose key never lives in the repository.

The scanner (:mod:`cpdeval.leaks`) is first shown to find each kind of leak planted in small files, then
run on every output of the synthetic year, with the watch list built from the synthetic raw inputs.
"""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path

import matplotlib
import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import ROOT, TEST_KEY, copy_project, run_snakemake, write_csv
from cpdeval.config import RunConfig
from cpdeval.contracts import list_contracts
from cpdeval.errors import ConfigError
from cpdeval.leaks import (build_watchlist, column_findings, could_leak, png_text, pupil_row_findings,
                           scan_paths, scan_values)
from cpdeval.pseudonymise import key_info, pseudonymise_value, resolve_key

matplotlib.use("Agg")

HEADER = ("Booking Reference,Contact ID,Contact Name,Contact Email,Job Role,Organisation URN,"
          "Organisation LAESTAB,Organisation Name,Organisation Postcode,Activity Code,Activity Title,"
          "Activity Type,Delivered By,Partnership ID,Region,Start Date,Sessions,CPD Units,Booking Status,"
          "Bursary,Priority School,Led By Practitioner,Fee")
ROWS = [
    "BK1,C5014720,Andrew Lewis,a.lewis@school.sch.uk,Teacher,100001,,Alpha School,AB1 2CD,A1,Forces,Course,"
    "National Centre,,London,01/05/2018,1,1.5,Attended,N,N,N,£120.00",
    "BK2,C2814277,Siobhan O'Brien-Hughes,sob@gmail.com,Teacher,100002,,Beta School,EF3 4GH,A1,Forces,Course,"
    "National Centre,,London,01/05/2018,1,1.5,Attended,N,N,N,£120.00",
]
MEASURES = {"pct_5em", "sci_va", "pupils"}


@pytest.fixture
def watchlist(tmp_path):
    raw = write_csv(tmp_path / "bookings.csv", HEADER, ROWS)
    return build_watchlist([(raw, "utf-8")], list_contracts(), documentation=["e.g. postcode GU1 1AA"])


def kinds(findings):
    return sorted({f.kind for f in findings})


# --------------------------------------------------------------------------- the scanner finds leaks

def test_watchlist_holds_the_declared_personal_values(watchlist):
    assert ("andrew", "lewis") in watchlist.phrases
    assert ("siobhan", "o'brien", "hughes") in watchlist.phrases
    assert watchlist.emails == {"a.lewis@school.sch.uk", "sob@gmail.com"}
    assert watchlist.raw_ids == {"c5014720", "c2814277"}
    assert watchlist.institution_postcodes == {"AB12CD", "EF34GH"}
    assert watchlist.undeclared_personal == []


def test_a_raw_column_with_emails_must_be_declared_personal(tmp_path):
    raw = write_csv(tmp_path / "survey.csv", "Response ID,Contact", ["1,x@y.org", "2,"])
    wl = build_watchlist([(raw, "utf-8")], list_contracts(), documentation=[])
    assert wl.undeclared_personal == [(str(raw), "Contact")]


@pytest.mark.parametrize("text, kind", [
    ("Booked by Andrew Lewis for the school", "personal value (name)"),
    ("ANDREW\n  LEWIS", "personal value (name)"),                       # case and line breaks do not hide it
    ("Siobhan O\u2019Brien-Hughes", "personal value (name)"),            # typographic apostrophe
    ("contact: someone.else@example.org", "email address"),             # any email, watched or not
    ("participant C5014720 attended", "raw (unhashed) participant id"),
    ("lives at ZZ9 9ZZ", "postcode of no school or organisation in the inputs"),
])
def test_scan_finds_each_kind_of_leak(watchlist, text, kind):
    assert kinds(scan_values([text], watchlist, "f", "col")) == [kind]


@pytest.mark.parametrize("text", [
    "Alpha School, AB1 2CD", "ab12cd", "postcode GU1 1AA as in the data dictionary",   # institutions, docs
    "Andrew", "Lewis Academy", "St Andrew's Church School",                          # single words are not names
    "a1b2c3d4e5f60718", "2018-19 units 1,234",                                      # hashed ids, numbers
])
def test_scan_is_quiet_on_public_and_pseudonymised_text(watchlist, text):
    assert scan_values([text], watchlist, "f", "col") == []


PIECES = ["Andrew", "Lewis", "andrew lewis", "ANDREW  LEWIS", "Siobhan", "O'Brien-Hughes", "o’brien", "Hughes",
          "C5014720", "c5014720x", "AB1 2CD", "ab12cd", "GU1 1AA", "ZZ9 9ZZ", "SW1A1AA", "@", "x@y.org", "a.b@c",
          "EF3 4GH", "ef34gh", "ab1 2cdx", "AB1 2CD.", "ab1\t2cd", "A1 1AA", "ab12 3cd",
          "Alpha School", "Straße", "É", "café", "_", "-", "'", " ", "\n", "Forces", "BK1", "7", "ı", "İ"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map(" ".join), min_size=1, max_size=40))
def test_the_vectorised_prefilter_drops_no_value_with_a_finding(watchlist, monkeypatch, values):
    import cpdeval.leaks as leaks

    monkeypatch.setattr(leaks, "PREFILTER_MIN_VALUES", 0)
    watchlist.personal_postcodes.add("EF34GH")   # an organisation's postcode that is also someone's: personal
    kept = could_leak(values, watchlist)
    assert scan_values(kept, watchlist, "t", "c") == scan_values(values, watchlist, "t", "c")


def test_the_prefilter_leaves_out_what_cannot_hold_a_finding(watchlist):
    values = [f"{i:064x}" for i in range(3000)] + ["Lewis Smith", "Dr Andrew Lewis", "call AB1 2CD", "café",
                                                   "gu1 1aa or ab12cd", "AB1 2CD ZZ9 9ZZ"]
    # no phrase starts "lewis"; AB1 2CD is a school's, GU1 1AA the documentation's, ZZ9 9ZZ nobody's
    assert could_leak(values, watchlist) == ["Dr Andrew Lewis", "café", "AB1 2CD ZZ9 9ZZ"]
    assert could_leak(values[:10], watchlist) == values[:10]                               # small: not filtered
    watchlist.personal_postcodes.add("AB12CD")                     # a school's postcode that is also someone's
    assert could_leak(values, watchlist) == ["Dr Andrew Lewis", "call AB1 2CD", "café", "gu1 1aa or ab12cd",
                                             "AB1 2CD ZZ9 9ZZ"]


def test_columns_identifying_people_or_pupils_are_reported():
    cols = ["participant_id", "school_name", "candidate_names", "pupils", "la_name", "org_postcode",
            "UPN", "pupil_matching_reference", "DateOfBirth", "Contact Email", "contact_name"]
    found = {f.value: f.kind for f in column_findings(cols, "t")}
    assert found == {"UPN": "pupil identifier column", "pupil_matching_reference": "pupil identifier column",
                     "DateOfBirth": "personal column", "Contact Email": "personal column",
                     "contact_name": "personal column"}


def test_attainment_rows_finer_than_school_year_are_pupil_rows():
    schools = pl.DataFrame({"urn": [1, 1, 2], "academic_year": ["2018-19", "2017-18", "2018-19"],
                            "pct_5em": [50.0, 48.0, 61.0]})
    assert pupil_row_findings(schools, "t", MEASURES) == []
    pupils = pl.DataFrame({"urn": [1, 1, 2], "academic_year": ["2018-19"] * 3, "pct_5em": [1.0, 0.0, 1.0]})
    assert kinds(pupil_row_findings(pupils, "t", MEASURES)) == ["rows finer than school x year (pupil rows?)"]
    long = pl.DataFrame({"urn": [1, 1], "academic_year": ["2018-19"] * 2, "measure": ["pct_5em", "sci_va"],
                         "value": [50.0, 0.1]})
    assert pupil_row_findings(long, "t", MEASURES) == []


def test_scan_paths_reads_every_kind_of_output_file(watchlist, tmp_path):
    import matplotlib.pyplot as plt

    out = tmp_path / "derived"
    (out / "figures").mkdir(parents=True)
    pl.DataFrame({"urn": [100001], "note": ["rang Andrew Lewis"]}).write_parquet(out / "a.parquet")
    pl.DataFrame({"urn": [100001], "tags": [["x", "C5014720"]]}).write_parquet(out / "b.parquet")
    pl.DataFrame({"upn": ["A123"], "urn": [100001]}).write_parquet(out / "c.parquet")
    (out / "d.json").write_text('{"caption": "n = 5", "by": {"sob@gmail.com": 1}}')
    (out / "e.csv").write_text("school,postcode\nAlpha School,AB1 2CD\nhome,ZZ9 9ZZ\n")
    (out / "f.html").write_text('<img src="data:image/png;base64,QUJDQEBAZXhhbXBsZS5vcmc="><p>Siobhan '
                                "O&#39;Brien-Hughes</p>")
    fig, ax = plt.subplots()
    fig.savefig(out / "figures" / "g.png", metadata={"Description": "Andrew Lewis"})
    plt.close(fig)
    pl.DataFrame({"school": ["Alpha School"], "postcode": ["AB1 2CD"]}).write_parquet(out / "clean.parquet")

    result = scan_paths([out], watchlist, MEASURES, relative_to=tmp_path)
    assert result.files == {"parquet": 4, "json": 1, "csv": 1, "html": 1, "png": 1}
    by_file = {}
    for f in result.findings:
        by_file.setdefault(Path(f.path).name, set()).add(f.kind)
    assert by_file == {
        "a.parquet": {"personal value (name)"}, "b.parquet": {"raw (unhashed) participant id"},
        "c.parquet": {"pupil identifier column"}, "d.json": {"email address"},
        "e.csv": {"postcode of no school or organisation in the inputs"},
        "f.html": {"personal value (name)"}, "g.png": {"personal value (name)"}}
    assert "Andrew Lewis" in " ".join(png_text(out / "figures" / "g.png"))


def test_scanning_in_threads_gives_the_findings_in_file_order(watchlist, tmp_path):
    """Files are scanned two at a time; the result is the one-at-a-time result, in the same order."""
    out = tmp_path / "derived"
    out.mkdir()
    for i in range(12):
        name = ["rang Andrew Lewis", "sob@gmail.com", "C5014720", "nothing here"][i % 4]
        pl.DataFrame({"urn": [100000 + i] * 3000, "note": [f"{name} {j}" for j in range(3000)]}
                     ).write_parquet(out / f"t{i:02d}.parquet")
        (out / f"n{i:02d}.json").write_text(f'{{"note": "{name}"}}')
    one = scan_paths([out], watchlist, MEASURES, relative_to=tmp_path, workers=1)
    two = scan_paths([out], watchlist, MEASURES, relative_to=tmp_path, workers=2)
    assert two.files == one.files == {"parquet": 12, "json": 12}
    assert len(one.findings) > 12
    assert two.findings == one.findings
    assert [f.path for f in one.findings] == sorted(f.path for f in one.findings)


def test_files_left_out_of_a_scan_are_not_read(watchlist, tmp_path):
    # the audit leaves out last run's published copy of the assembled report (this run's is scanned elsewhere)
    out = tmp_path / "reports"
    out.mkdir()
    for name in ("report.html", "chapter.html"):
        (out / name).write_text("<p>sob@gmail.com</p>", encoding="utf-8")
    every = scan_paths([out], watchlist, MEASURES, relative_to=tmp_path)
    some = scan_paths([out], watchlist, MEASURES, relative_to=tmp_path, exclude=[out / "report.html"])
    assert sorted({f.path for f in every.findings}) == ["reports/chapter.html", "reports/report.html"]
    assert {f.path for f in some.findings} == {"reports/chapter.html"} and some.files == {"html": 1}

def test_a_watchlist_read_in_threads_is_the_one_read_file_by_file(tmp_path):
    files = []
    for i, rows in enumerate([ROWS, ROWS[1:], ROWS[:1], ROWS[::-1]]):
        files.append((write_csv(tmp_path / f"bookings{i}.csv", HEADER, rows), "utf-8"))
    survey = write_csv(tmp_path / "survey.csv", "Response ID,Contact", ["1,x@y.org", "2,Ann Other"])
    files.insert(2, (survey, "utf-8"))
    one = build_watchlist(files, list_contracts(), documentation=[], workers=1)
    two = build_watchlist(files, list_contracts(), documentation=[], workers=2)
    assert watchlist_contents(two) == watchlist_contents(one)
    assert two.undeclared_personal == one.undeclared_personal == [(str(survey), "Contact")]
    assert one.skipped_single_words == two.skipped_single_words


def test_the_first_unreadable_raw_file_is_the_one_named(tmp_path):
    good = write_csv(tmp_path / "bookings.csv", HEADER, ROWS)
    bad1, bad2 = tmp_path / "first.csv", tmp_path / "second.csv"
    bad1.write_bytes(b"")
    bad2.write_bytes(b"")
    files = [(good, "utf-8"), (bad1, "utf-8"), (good, "utf-8"), (bad2, "utf-8")]
    with pytest.raises(Exception) as one:
        build_watchlist(files, list_contracts(), documentation=[], workers=1)
    with pytest.raises(Exception) as two:
        build_watchlist(files, list_contracts(), documentation=[], workers=2)
    assert "first.csv" in str(one.value)
    assert type(two.value) is type(one.value) and str(two.value) == str(one.value)


# --------------------------------------------------------------------------- the synthetic year's outputs

def _raw_inputs(project: Path) -> list[tuple[str, str]]:
    run = RunConfig.load(project / "config" / "config.yaml", root=project)
    register_encoding = run.data["inputs"].get("register_encoding", "utf-8")
    register_files = {run.data["inputs"]["register"], run.data["inputs"]["links"]}
    return [(str(project / f), register_encoding if f in register_files else "utf-8")
            for f in run.configured_input_files()]


@pytest.mark.e2e
def test_no_personal_data_or_pupil_rows_in_any_derived_file_or_report(synthetic_run):
    wl = build_watchlist(_raw_inputs(synthetic_run))
    # the watch list is not empty: the synthetic exports hold thousands of names, emails and contact ids
    assert len(wl.phrases) > 1000 and len(wl.emails) > 1000 and len(wl.raw_ids) > 1000
    assert len(wl.institution_postcodes) > 100
    assert wl.undeclared_personal == [], "raw columns holding emails that no contract lists under personal:"

    result = scan_paths([synthetic_run / "data" / "derived" / "synthetic", synthetic_run / "reports" / "synthetic",
                         synthetic_run / "logs" / "synthetic"], wl, relative_to=synthetic_run)
    chapters = yaml.safe_load((synthetic_run / "config" / "config.yaml").read_text())["render"]["chapters"]
    assert result.files.get("html", 0) >= len(chapters)
    assert result.files.get("parquet", 0) >= 50 and result.files.get("png", 0) >= 10
    assert result.findings == [], "\n".join(map(str, result.findings[:30]))


@pytest.mark.e2e
def test_participant_ids_are_keyed_hashes_of_the_contact_ids(synthetic_run):
    cfg = yaml.safe_load((synthetic_run / "config" / "config.yaml").read_text())
    key = resolve_key(cfg["pseudonymisation"], synthetic=True)
    raw = pl.concat([pl.read_csv(f, infer_schema=False, columns=["Contact ID"])
                     for f in sorted((synthetic_run / "data" / "raw" / "synthetic" / "bookings").glob("*.csv"))])
    contact_ids = set(raw["Contact ID"].drop_nulls())
    derived = set(pl.read_parquet(synthetic_run / "data" / "derived" / "synthetic" / "ingest" / "bookings.parquet")
                  ["participant_id"].drop_nulls())
    assert derived and derived <= {pseudonymise_value(c, key) for c in contact_ids}
    assert not derived & contact_ids
    # the hash depends on the key: another key gives other ids
    assert not derived & {pseudonymise_value(c, b"another-key") for c in contact_ids}


# --------------------------------------------------------------------------- where the key comes from

SECTION = {"key_env": "CPDEVAL_HASH_KEY", "synthetic_test_key": "synthetic-year-fixed-test-key"}


@pytest.fixture
def no_key(monkeypatch):
    monkeypatch.delenv("CPDEVAL_HASH_KEY", raising=False)
    monkeypatch.delenv("CPDEVAL_HASH_KEY_FILE", raising=False)
    return monkeypatch


def test_a_real_year_without_a_key_stops_naming_the_variable(no_key):
    with pytest.raises(ConfigError, match=r"CPDEVAL_HASH_KEY\b.*CPDEVAL_HASH_KEY_FILE.*outside the repository"):
        resolve_key(SECTION, synthetic=False)


def test_a_key_in_the_environment_wins_even_for_the_synthetic_year(no_key):
    assert resolve_key(SECTION, synthetic=True) == b"synthetic-year-fixed-test-key"   # no key given: test key
    no_key.setenv("CPDEVAL_HASH_KEY", TEST_KEY)
    assert resolve_key(SECTION, synthetic=True) == TEST_KEY.encode()
    assert key_info(SECTION, synthetic=True).origin == "environment variable CPDEVAL_HASH_KEY"


def test_key_from_a_file_outside_the_repository(no_key, tmp_path):
    key_file = tmp_path / "secrets" / "cpdeval.key"
    key_file.parent.mkdir()
    key_file.write_text("a-long-random-key-kept-outside-the-project\n")
    no_key.setenv("CPDEVAL_HASH_KEY_FILE", str(key_file))
    assert resolve_key(SECTION, synthetic=False) == b"a-long-random-key-kept-outside-the-project"
    no_key.delenv("CPDEVAL_HASH_KEY_FILE")
    assert resolve_key({**SECTION, "key_file": str(key_file)}, synthetic=False) == b"a-long-random-key-kept-outside-the-project"
    no_key.setenv("CPDEVAL_HASH_KEY", TEST_KEY)         # the variable itself wins
    assert resolve_key({**SECTION, "key_file": str(key_file)}, synthetic=False) == TEST_KEY.encode()


def test_a_key_file_inside_the_project_is_refused(no_key, tmp_path):
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "Snakefile").write_text("")
    inside = project / "config" / "hash.key"
    inside.write_text("committed-by-mistake")
    with pytest.raises(ConfigError, match="inside the project.*outside the repository"):
        resolve_key({**SECTION, "key_file": str(inside)}, synthetic=False, root=project)
    no_key.chdir(project)                               # the workflow runs in the project folder
    no_key.setenv("CPDEVAL_HASH_KEY_FILE", "config/hash.key")
    with pytest.raises(ConfigError, match="CPDEVAL_HASH_KEY_FILE.*inside the project"):
        resolve_key(SECTION, synthetic=False)
    no_key.delenv("CPDEVAL_HASH_KEY_FILE")
    with pytest.raises(ConfigError, match="inside the project"):  # this checkout too, from anywhere
        resolve_key({**SECTION, "key_file": str(ROOT / "config" / "hash.key")}, synthetic=False, root=tmp_path)


def test_a_missing_or_empty_key_file_is_named(no_key, tmp_path):
    with pytest.raises(ConfigError, match=r"key file .*nowhere\.key \(from pseudonymisation\.key_file\) does not"):
        resolve_key({**SECTION, "key_file": str(tmp_path / "nowhere.key")}, synthetic=False)
    (tmp_path / "empty.key").write_text("\n")
    no_key.setenv("CPDEVAL_HASH_KEY_FILE", str(tmp_path / "empty.key"))
    with pytest.raises(ConfigError, match="empty"):
        resolve_key(SECTION, synthetic=False)


def test_the_config_schema_accepts_a_key_file():
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["pseudonymisation"]["key_file"] = "/secure/cpdeval.key"
    RunConfig.from_dict(cfg)


@pytest.mark.e2e
def test_a_real_year_run_without_a_key_stops_before_hashing(synthetic_run, tmp_path):
    """Through the workflow: a config without ``synthetic:`` needs a key; with a key file it runs."""
    project = copy_project(tmp_path / "real")
    shutil.copytree(synthetic_run / "data" / "raw" / "synthetic", project / "data" / "raw" / "synthetic")
    cfg = yaml.safe_load((project / "config" / "config.yaml").read_text())
    real = copy.deepcopy(cfg)
    del real["synthetic"]
    real["year"] = "keytest"
    (project / "config" / "keytest.yaml").write_text(yaml.safe_dump(real))
    target = "data/derived/keytest/ingest/bookings.parquet"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPDEVAL_HASH_KEY")}

    result = run_snakemake(project, target, "--configfile", "config/keytest.yaml", env=env)
    assert result.returncode != 0
    assert "no pseudonymisation key: set the environment variable CPDEVAL_HASH_KEY" in result.stdout + result.stderr
    assert not (project / target).exists()

    key_file = tmp_path / "outside" / "cpdeval.key"
    key_file.parent.mkdir()
    key_file.write_text("a-long-random-key-kept-outside-the-project")
    result = run_snakemake(project, target, "--configfile", "config/keytest.yaml",
                           env={**env, "CPDEVAL_HASH_KEY_FILE": str(key_file)})
    assert result.returncode == 0, result.stderr[-3000:]
    ids = set(pl.read_parquet(project / target)["participant_id"])
    raw = pl.concat([pl.read_csv(f, infer_schema=False, columns=["Contact ID"])
                     for f in sorted((project / "data" / "raw" / "synthetic" / "bookings").glob("*.csv"))])
    assert ids <= {pseudonymise_value(c, b"a-long-random-key-kept-outside-the-project") for c in raw["Contact ID"].drop_nulls()}
    synthetic_ids = set(pl.read_parquet(synthetic_run / "data" / "derived" / "synthetic" / "ingest" /
                                        "bookings.parquet")["participant_id"])
    assert ids and not ids & synthetic_ids, "a real key must give other ids than the synthetic test key"


def test_a_person_named_like_a_school_is_not_a_leak_where_the_school_name_stands(tmp_path):
    """The real links file of all England holds "Richard Hill Primary School"; a participant called Richard Hill
    must still be found alone, but not inside the public school name (seen on the Surrey real year)."""
    bookings = write_csv(tmp_path / "bookings.csv", "Contact Name,Contact Email,Organisation Name",
                         ["Richard Hill,r.hill@x.org,Alpha School"])
    links = write_csv(tmp_path / "links.csv", "URN,LinkURN,LinkName,LinkType",
                      ["100001,100002,Richard Hill Primary School,Successor"])
    wl = build_watchlist([(bookings, "utf-8"), (links, "utf-8")], list_contracts(), documentation=[])
    assert scan_values(["Richard Hill Primary School"], wl, "f", "link_name") == []
    assert kinds(scan_values(["booked by Richard Hill"], wl, "f", "note")) == ["personal value (name)"]


def test_initials_alone_are_not_watched_but_the_name_is(tmp_path):
    """A real Surrey head teacher is "Mr C C Muller": two initials in a row read like two suppressed cells
    ("c c") in every published table, and identify nobody; the name with its surname is still watched."""
    register = write_csv(tmp_path / "edubasealldata.csv", "URN,HeadTitle (name),HeadFirstName,HeadLastName",
                         ["100001,Mr,C C,Muller"])
    wl = build_watchlist([(register, "utf-8")], list_contracts(), documentation=[])
    assert scan_values(["| Trainee | c | c | 12 |"], wl, "f", "table") == []
    assert kinds(scan_values(["a talk by C Muller"], wl, "f", "note")) == ["personal value (name)"]


# --------------------------------------------------------------------------- reading the raw inputs for the watch list

READINGS = [   # (bytes, encoding, read by polars directly)
    (b"Name,Email\r\nJos\xc3\xa9 \xc3\x81lvarez,j@x.org\r\n", "auto", True),             # UTF-8, CRLF
    (b"\xef\xbb\xbfName,Email\nJos\xc3\xa9,j@x.org\n", "cp1252", True),                   # a BOM says UTF-8
    (b"Name,Email\nJos\xe9 \x93Jo\x94,j@x.org\n", "auto", True),                          # Windows-1252
    (b"Name,Email\nJos\xe9 \x93Jo\x94,j@x.org\n", "utf-8", True),                         # ... whatever was said
    (b"Name,Email\nJos\xe9 \x93Jo\x94,j@x.org\n", "latin-1", True),                       # latin-1 when asked
    (b"Name,Email\nJos\xc3\xa9,j@x.org\n", "cp1252", True),                               # UTF-8 text is UTF-8
    (b'"Name","Email"\n"Ann\nLee","",x\n', "auto", False),                                 # ragged: refused
    (b'"Name","Email"\n"Ann\nLee",""\n\n"Bo Li",b@x.org\n', "auto", True),                 # quoted line break
    (b"Name,Email\nJos\x81,j@x.org\n", "auto", False),                                     # undecodable
    (b"sep=,\nName,Email\nAnn Lee,a@x.org\n", "auto", False),
    (b"\nName,Email\nAnn Lee,a@x.org\n", "auto", False),                                   # blank line first
    (b"Report of 2019\nName,Email,Role\nAnn Lee,a@x.org,T\n", "auto", False),              # title line
    (b"Name,Name\nAnn Lee,a@x.org\n", "auto", False),                                      # repeated name
    (b"Name,Email\n\n\n", "auto", False),                                                  # no data rows
    (b"Name,Email\nAnn Lee,a@x.org\nBo", "auto", False),                                   # truncated
    (b"Name,Email\rAnn Lee,a@x.org\r", "auto", False),                                     # CR line ends
    (b"Name;Email\nAnn Lee;a@x.org\n", "auto", False),                                     # semicolons
    (b"\xff\xfeN\x00a\x00", "auto", False),                                                # UTF-16
]


@pytest.mark.parametrize("data, encoding, plain", READINGS)
def test_the_watchlist_reads_raw_files_as_the_ingest_reader_does(tmp_path, data, encoding, plain):
    """Ordinary CSV files go to polars directly; every other file through the defensive reader, with its errors."""
    from cpdeval.errors import InputError
    from cpdeval.leaks import _read_defensive, _read_plain_csv, _read_raw

    path = tmp_path / "raw.csv"
    path.write_bytes(data)
    assert (_read_plain_csv(path, encoding) is not None) == plain
    try:
        expected = _read_defensive(path, encoding)
    except InputError as exc:
        with pytest.raises(InputError) as got:
            _read_raw(path, encoding)
        assert str(got.value) == str(exc)
        return
    got = _read_raw(path, encoding)
    non_blank = ~pl.all_horizontal(pl.all().is_null())   # blank lines: dropped there, rows of nulls here
    assert got.columns == expected.columns
    assert got.filter(non_blank).rows() == expected.filter(non_blank).rows()


# --------------------------------------------------------------------------- the vectorised watch list

def reference_watchlist(files, contracts):
    """The watch list built value by value in Python (as it was before it was vectorised): the reference."""
    from cpdeval.leaks import (EMAIL, INSTITUTION_NAME_COLUMNS, INSTITUTION_POSTCODE_COLUMNS,
                               PSEUDONYMISED_COLUMNS, Watchlist, _read_raw, normalise_postcode, words)

    personal = {col for c in contracts for col in c.personal}
    raw_id_cols = {col.source for c in contracts for col in c.columns if col.name in PSEUDONYMISED_COLUMNS}
    wl, names = Watchlist(), set()
    for path in files:
        df = _read_raw(Path(path), "utf-8")
        split = [c for c in df.columns if c in personal]
        if len(split) > 1:
            joined = df.select(pl.concat_str([pl.when(~pl.col(c).str.contains(EMAIL.pattern)).then(pl.col(c))
                                              for c in split], separator=" ", ignore_nulls=True)).to_series()
            for text in joined.drop_nulls().unique().to_list():
                w = words(text)
                wl.phrases.update(tuple(w[i:j]) for i in range(len(w)) for j in range(i + 2, len(w) + 1)
                                  if any(len(x) > 1 for x in w[i:j]))
        for col in df.columns:
            series = df[col].drop_nulls().str.strip_chars()
            values = series.filter(series.str.len_chars() > 0).unique().to_list()
            if col in personal:
                for v in values:
                    wl.add_personal(v)
            elif any(EMAIL.search(v) for v in values):
                wl.undeclared_personal.append((str(path), col))
            if col in raw_id_cols:
                wl.raw_ids.update(v.casefold() for v in values)
            if col in INSTITUTION_POSTCODE_COLUMNS:
                wl.institution_postcodes.update(normalise_postcode(v) for v in values)
            if col in INSTITUTION_NAME_COLUMNS:
                names.update(tuple(words(v)) for v in values)
    for name in names:
        for k in range(2, min(len(name), wl.max_words) + 1):
            for i in range(len(name) - k + 1):
                if name[i:i + k] in wl.phrases:
                    wl.institution_names.setdefault(name[i:i + k], []).append(name)
    return wl


def watchlist_contents(wl):
    return {**{f: getattr(wl, f) for f in ("phrases", "emails", "raw_ids", "personal_postcodes",
                                            "institution_postcodes", "skipped_single_words", "undeclared_personal")},
            "institution_names": {k: sorted(v) for k, v in wl.institution_names.items()}}


TRICKY = ["José Álvarez", "O'Brien Smith", "Siobhan O\u2019Brien-Hughes", "STRASSE Straße", "ß ss", "İstanbul Kaya",
          "ı i", "  padded  name  ", "\u00a0nbsp name\u00a0", "x\x1cy z", "\x1fA B\x1f", "Ann\x0bLee", "a@b.org",
          "A.B@C.ORG", " x.y@z.co.uk ", "ab1 2cd", "AB12CD", "ab1  2cd", "SW1A 1AA", "sw1a1aa\u2003", "Dr C C Muller",
          "C C", "A", "Mr", "ＡＢ Ｃd", "ǅemal Džaja", "K\u212a Lee", "ﬁne ﬂow", "e\u0301t\u00e9 Ré", "Ann\tLee",
          "Richard Hill", "Richard Hill Primary School", "St Richard Hill's", "o'", "'a b'", "_x_ y_z", "C5014720",
          "c5014720", "Č1 Ž2", "12 34", "Lee Lee Lee", "O''Brien Ann"]
CHUNKS = TRICKY + ["", " ", "-", "'", "\u2019", ",", "\n", "\u00a0", "\x1d", "@", ".org", "Ä", "ǈ", "ΣΑΣ", "ς"]
COLUMNS = ["Contact ID", "Contact Name", "Contact Email", "HeadFirstName", "HeadLastName", "Job Role",
           "EstablishmentName", "Organisation Name", "Postcode", "Organisation Postcode"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.lists(st.sampled_from(CHUNKS), max_size=3).map("".join),
                         min_size=len(COLUMNS), max_size=len(COLUMNS)), min_size=1, max_size=12))
@example([[v] * len(COLUMNS) for v in TRICKY])
def test_the_vectorised_watchlist_equals_the_value_by_value_one(rows):
    import csv
    import tempfile

    contracts = list_contracts()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "raw.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, quoting=csv.QUOTE_ALL).writerows([COLUMNS, *rows])
        got = build_watchlist([(path, "utf-8")], contracts, documentation=[])
        assert watchlist_contents(got) == watchlist_contents(reference_watchlist([path], contracts))


@pytest.mark.parametrize("n", [10, 3000])   # below and above the size from which tables are pre-filtered
def test_a_table_is_scanned_as_each_of_its_text_values_would_be(watchlist, tmp_path, n):
    """All text columns of a table, filtered in one query, give the findings of every distinct value scanned."""
    from cpdeval.leaks import scan_file

    texts = [f"{i:016x}" for i in range(n)] + ["rang Andrew Lewis", "C5014720", "café", "x@y.org", "ZZ9 9ZZ",
                                               "Mrs O\u2019Brien-Hughes"]   # (a phrase only Python sees)
    k = len(texts)
    df = pl.DataFrame({"id": list(range(k)), "text": texts,
                       "cat": pl.Series(texts[::-1], dtype=pl.Categorical),
                       "enum": pl.Series(["Siobhan O'Brien-Hughes", "none"] * (k // 2) + ["none"] * (k % 2),
                                         dtype=pl.Enum(["Siobhan O'Brien-Hughes", "none"])),
                       "tags": [[t, "ANDREW LEWIS"] if i % 7 == 0 else None for i, t in enumerate(texts)],
                       "nums": [[i] for i in range(k)]})
    df.write_parquet(tmp_path / "t.parquet")
    _, found = scan_file(tmp_path / "t.parquet", watchlist, MEASURES, "t")
    expected = []
    for col in ("text", "cat", "enum", "tags"):
        s = df[col].explode() if col == "tags" else df[col]
        expected += scan_values(s.cast(pl.Utf8).drop_nulls().unique().to_list(), watchlist, "t", col)
    assert sorted(map(str, found)) == sorted(map(str, expected))
    assert {f.where for f in found} == {"text", "cat", "enum", "tags"}


@pytest.mark.e2e
def test_a_name_in_the_report_prose_stops_the_run_before_the_report_is_published(synthetic_run, tmp_path):
    # text written by people reaches only the assembled report: the audit must scan this run's report, before it
    # is published (it used to scan the copy the previous run had published)
    project = tmp_path / "proj"
    shutil.copytree(synthetic_run, project, symlinks=True)
    export = sorted((project / "data" / "raw" / "synthetic" / "bookings").glob("*.csv"))[0]
    name = pl.read_csv(export, infer_schema=False)["Contact Name"].drop_nulls()[0]
    (project / "foreword.md").write_text(f"We thank {name} for her help with this report.\n", encoding="utf-8")
    config = project / "config" / "config.yaml"
    text = config.read_text(encoding="utf-8")
    assert "  prose: []" in text
    config.write_text(text.replace("  prose: []", "  prose: [{file: foreword.md, at: foreword}]", 1),
                      encoding="utf-8")
    published = project / "reports" / "synthetic" / "report.html"
    before = published.read_bytes()
    result = run_snakemake(project)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "the disclosure audit failed" in out and "data/derived/synthetic/report/report.html" in out
    assert f"personal value (name): {name.lower()}" in out.lower()
    assert published.read_bytes() == before and name not in before.decode("utf-8")   # not published
    assert name in (project / "data" / "derived" / "synthetic" / "report" / "report.html").read_text("utf-8")
