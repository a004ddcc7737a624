"""A tool nobody can hurt themselves with (issue #13): raw inputs are never written, keys are never weak or
mixed, and config mistakes stop with the key named instead of a traceback or a silently wrong run."""

from __future__ import annotations

import copy
import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from cpdeval.config import RunConfig, load_yaml, validate_config
from cpdeval.errors import ConfigError
from cpdeval.pseudonymise import MAKE_A_KEY, key_fingerprint, key_info
from cpdeval.safety import check_rule_outputs

from conftest import FIRST_RUN_OUTPUT, ROOT, TEST_KEY, copy_project, run_snakemake

SECTION = {"key_env": "CPDEVAL_HASH_KEY", "synthetic_test_key": "synthetic-year-fixed-test-key"}


@pytest.fixture
def cfg():
    return load_yaml(ROOT / "config" / "config.yaml")


@pytest.fixture
def real(cfg):
    """The synthetic config turned into a real year (no `synthetic:` block)."""
    out = copy.deepcopy(cfg)
    del out["synthetic"]
    return out


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# -- duplicate keys, meaning, templates ---------------------------------------------------------------------

def test_a_key_given_twice_in_a_config_stops_with_both_lines(tmp_path):
    text = (ROOT / "config" / "config.yaml").read_text(encoding="utf-8")
    path = tmp_path / "twice.yaml"
    path.write_text(text + "\nthresholds:\n  disclosure_min_count: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"twice\.yaml: the key 'thresholds' appears twice.*line \d+.*line \d+"):
        load_yaml(path)
    nested = tmp_path / "nested.yaml"
    nested.write_text("thresholds:\n  regular_use: 1\n  regular_use: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'regular_use' appears twice.*line 2.*line 3"):
        load_yaml(nested)


@pytest.mark.parametrize("edit,match", [
    (lambda c: c["thresholds"].update(regular_use={"min_years": 4, "of_last": 3}),
     r"thresholds.regular_use': min_years 4 is more than of_last 3"),
    (lambda c: c["years"]["terms"].update(spring=9), r"years.terms': spring and autumn both start in month 9"),
    (lambda c: c["attainment"].update(outcome_year="2019-20"), r"attainment.outcome_year': 2019-20 is not one of"),
    (lambda c: c["attainment"].update(window_years=6), r"attainment.window_years'.*lacks 2013-14"),
    (lambda c: c["years"].update(attainment=["2017-18", "2018-19"]),
     r"attainment.window_years': the change over 3 years to 2018-19 needs performance tables.*lacks 2016-17"),
    (lambda c: c["years"].update(attainment=[]), r"years.attainment': the attainment chapter is listed"),
    (lambda c: c["render"].update(chapters=["methods", "delivry"]),
     r"render.chapters': there is no chapter 'delivry' \(the chapters are: attainment, delivery"),
    (lambda c: c["render"].update(chapters=["methods", "qa"]), r"render.chapters': 'qa' is the analysts' quality"),
    (lambda c: c.update(report={"prose": [{"file": "x.md", "at": "after:impcat"}]}),
     r"report.prose': 'after:impcat' names a chapter that is not in render.chapters"),
    (lambda c: c["inputs"]["surveys"].update(impact_survey="x.csv"),
     r"inputs.surveys.impact_survey': no survey instrument 'impact_survey' \(the instruments are: event_feedback"),
    (lambda c: c["inputs"]["performance"].update(ks4="data/raw/synthetic/{start}-{stop}_ks4.csv"),
     r"inputs.performance.ks4': unknown placeholder \{stop\}.*use \{end\} and \{start\}"),
    (lambda c: c["inputs"].update(bookings="data/raw/synthetic/bookings/FY{year}.csv"),
     r"inputs.bookings': unknown placeholder \{year\}.*use \{fy\}"),
    (lambda c: c["inputs"].update(register="data/raw/synthetic/{register}.csv"),
     r"inputs.register': unknown placeholder \{register\}.*takes no placeholder"),
])
def test_config_mistakes_stop_with_the_key_named(cfg, edit, match):
    bad = copy.deepcopy(cfg)
    edit(bad)
    with pytest.raises(ConfigError, match=match):
        validate_config(bad)


def test_the_shipped_configs_pass_the_checks_of_meaning():
    runs = [p for p in sorted((ROOT / "config").glob("*.yaml")) if "years" in load_yaml(p)]
    assert {p.name for p in runs} >= {"config.yaml", "2015-16.yaml", "2018-19.yaml", "surrey-2018-19.yaml"}
    for path in runs:
        validate_config(load_yaml(path), path.name)


def test_a_run_that_can_go_on_gets_a_warning(cfg):
    cfg["thresholds"]["regular_use"] = {"min_years": 2, "of_last": 8}
    warnings = RunConfig.from_dict(cfg).warnings
    assert any("last 8 years but only 5 delivery year(s)" in w for w in warnings)


def test_a_bookings_glob_that_matches_nothing_is_named(real, tmp_path):
    real["inputs"]["bookings"] = "exports/*.csv"
    run = RunConfig.from_dict(real, root=tmp_path)
    with pytest.raises(ConfigError, match=r"inputs.bookings': the pattern 'exports/\*.csv' matches no file"):
        run.booking_files


def test_the_same_export_listed_twice_stops(real, tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("x\n1\n")
    (tmp_path / "c.csv").write_text("x\n2\n")   # same size, other content: fine
    real["inputs"]["targets"] = "a.csv"
    real["inputs"]["partnerships"] = "a.csv"
    with pytest.raises(ConfigError, match=r"inputs.partnerships and inputs.targets both name a.csv"):
        RunConfig.from_dict(real, root=tmp_path).check_inputs_distinct()
    real["inputs"]["partnerships"] = "b.csv"
    with pytest.raises(ConfigError, match=r"inputs.partnerships and inputs.targets are the same file content"):
        RunConfig.from_dict(real, root=tmp_path).check_inputs_distinct()
    real["inputs"]["partnerships"] = "c.csv"
    RunConfig.from_dict(real, root=tmp_path).check_inputs_distinct()
    real["inputs"]["bookings"] = ["a.csv", "./a.csv"]
    with pytest.raises(ConfigError, match=r"inputs.bookings and inputs.bookings both name ./a.csv"):
        RunConfig.from_dict(real, root=tmp_path).check_inputs_distinct()


def test_financial_year_of_each_booking_export(cfg):
    run = RunConfig.from_dict(cfg)
    years = run.booking_file_years
    assert years["data/raw/synthetic/bookings/booking_export_FY2016-17.csv"] == "2016-17"
    assert list(years.values()) == cfg["years"]["delivery"]


# -- the generator writes only in its own folder -----------------------------------------------------------

def test_a_synthetic_config_pointed_at_real_exports_is_refused(cfg):
    bad = copy.deepcopy(cfg)
    bad["inputs"]["register"] = "data/raw/2018-19/register/edubasealldata.csv"
    bad["inputs"]["bookings"] = "/secure/exports/bookings_FY{fy}.csv"
    with pytest.raises(ConfigError, match=r"synthetic:' block.*6 input\(s\) point elsewhere: inputs.bookings "
                                          r"\(2014-15\) \(/secure.*and 1 more\. For real exports remove the 'synthetic:' block"):
        RunConfig.from_dict(bad)


@pytest.mark.parametrize("out_dir", ["data/raw/2018-19", "/tmp/synthetic", "data/derived/synthetic", "data/raw"])
def test_the_generator_folder_must_be_under_data_raw_synthetic(cfg, out_dir):
    bad = copy.deepcopy(cfg)
    bad["synthetic"]["out_dir"] = out_dir
    with pytest.raises(ConfigError, match=r"synthetic.out_dir'.*only write under data/raw/synthetic\*"):
        RunConfig.from_dict(bad)


def test_no_rule_may_declare_a_raw_input_as_output(tmp_path):
    raw = ["data/raw/y/bookings.csv", "../shared/gias/links.csv"]
    check_rule_outputs({"ingest": ["data/derived/y/ingest/{table}.parquet"],
                        "synthesise": ["data/raw/synthetic/a.csv"]}, raw, tmp_path, "data/raw/synthetic")
    with pytest.raises(ConfigError, match=r"rule copy declares the raw input .*links.csv as an output"):
        check_rule_outputs({"copy": ["../shared/gias/links.csv"]}, raw, tmp_path)
    with pytest.raises(ConfigError, match=r"rule fix declares the raw input .*bookings.csv"):
        check_rule_outputs({"fix": ["data/raw/{year}/bookings.csv"]}, raw, tmp_path)
    with pytest.raises(ConfigError, match=r"rule tidy declares data/raw/y/notes.txt, under data/raw/"):
        check_rule_outputs({"tidy": ["data/raw/y/notes.txt"]}, raw, tmp_path)
    with pytest.raises(ConfigError, match=r"rule synthesise would write data/raw/y/bookings.csv, outside"):
        check_rule_outputs({"synthesise": ["data/raw/y/bookings.csv"]}, raw, tmp_path, "data/raw/synthetic")


def test_cpdeval_synth_refuses_a_folder_of_other_files(tmp_path, capsys):
    from cpdeval.cli import main

    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "bookings.csv").write_text("real export\n")
    assert main(["synth", str(tmp_path / "exports")]) == 1
    assert "did not write (it has no manifest.json)" in capsys.readouterr().err
    assert (tmp_path / "exports" / "bookings.csv").read_text() == "real export\n"


# -- keys ------------------------------------------------------------------------------------------------

@pytest.fixture
def no_key(monkeypatch):
    monkeypatch.delenv("CPDEVAL_HASH_KEY", raising=False)
    monkeypatch.delenv("CPDEVAL_HASH_KEY_FILE", raising=False)
    return monkeypatch


@pytest.mark.parametrize("weak,match", [
    ("x", r"has 1 characters; a key shorter than 32"),
    ("choose-a-long-random-key", r"is an example published with cpdeval"),
    ("synthetic-year-fixed-test-key", r"is an example published with cpdeval"),
    ("a" * 31, r"has 31 characters"),
])
def test_weak_keys_are_refused_with_how_to_make_one(no_key, weak, match):
    no_key.setenv("CPDEVAL_HASH_KEY", weak)
    for synthetic in (False, True):   # a key in the environment is checked even for the synthetic year
        with pytest.raises(ConfigError, match=match) as err:
            key_info(SECTION, synthetic=synthetic)
        assert MAKE_A_KEY in str(err.value)
    no_key.setenv("CPDEVAL_HASH_KEY", "a" * 32)
    assert key_info(SECTION, synthetic=False).key == b"a" * 32


def test_a_weak_key_file_is_refused(no_key, tmp_path):
    key_file = tmp_path / "cpdeval.key"
    key_file.write_text("short\n")
    no_key.setenv("CPDEVAL_HASH_KEY_FILE", str(key_file))
    with pytest.raises(ConfigError, match=r"key file .*cpdeval.key.*has 5 characters"):
        key_info(SECTION, synthetic=False)


def test_the_fingerprint_tells_keys_apart_and_hides_them(no_key):
    no_key.setenv("CPDEVAL_HASH_KEY", TEST_KEY)
    info = key_info(SECTION, synthetic=False)
    assert info.fingerprint == key_fingerprint(TEST_KEY.encode()) != key_fingerprint(TEST_KEY.encode() + b"!")
    assert len(info.fingerprint) == 16 and TEST_KEY not in repr(info)
    assert not info.is_test_key
    no_key.delenv("CPDEVAL_HASH_KEY")
    test = key_info(SECTION, synthetic=True)
    assert test.is_test_key and "public test key" in test.origin


def test_the_methods_chapter_says_when_the_public_test_key_was_used():
    from cpdeval.chapter import key_text

    assert "public test key" in key_text({"is_test_key": True, "fingerprint": "f" * 16, "origin": "x"})
    assert "fingerprint 0123" in key_text({"is_test_key": False, "fingerprint": "0123", "origin": "x"})


# -- through the workflow ---------------------------------------------------------------------------------

def _real_exports(synthetic_run: Path, project: Path) -> Path:
    """The synthetic year's files copied to where an analyst keeps real exports."""
    exports = project / "data" / "raw" / "2018-19"
    shutil.copytree(synthetic_run / "data" / "raw" / "synthetic", exports)
    return exports


@pytest.mark.e2e
def test_a_copied_synthetic_config_never_touches_real_exports(synthetic_run, tmp_path):
    """The issue's blocker: a copy of config/config.yaml (it keeps `synthetic:`) pointed at real files, one of
    them missing. Before, Snakemake scheduled the generator and deleted 33 of 34 real files; now the config is
    refused before any job runs, and every real file is byte-identical."""
    project = copy_project(tmp_path / "proj")
    exports = _real_exports(synthetic_run, project)
    (exports / "surveys" / "subject_leader.csv").unlink()          # the one missing input
    text = (project / "config" / "config.yaml").read_text(encoding="utf-8")
    (project / "config" / "copied.yaml").write_text(text.replace("data/raw/synthetic/", "data/raw/2018-19/")
                                                    .replace("year: synthetic", "year: copied"), encoding="utf-8")
    before = digests(exports)
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("CPDEVAL_HASH_KEY")}
    env["CPDEVAL_HASH_KEY"] = TEST_KEY
    result = run_snakemake(project, "--configfile", "config/copied.yaml", env=env)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "this config has a 'synthetic:' block" in out and "remove the 'synthetic:' block" in out
    assert "Traceback" not in out
    assert digests(exports) == before


@pytest.mark.e2e
def test_a_failing_run_leaves_every_raw_file_byte_identical(synthetic_run, tmp_path):
    project = copy_project(tmp_path / "proj")
    exports = _real_exports(synthetic_run, project)
    victim = exports / "bookings" / "booking_export_FY2016-17.csv"
    victim.write_bytes(victim.read_bytes().replace(b"Booking Status", b"Booking State", 1))  # a renamed column
    cfg = yaml.safe_load((project / "config" / "config.yaml").read_text(encoding="utf-8"))
    del cfg["synthetic"]
    cfg["year"] = "failing"
    cfg["inputs"] = yaml.safe_load(yaml.safe_dump(cfg["inputs"]).replace("data/raw/synthetic/", "data/raw/2018-19/"))
    (project / "config" / "failing.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    before = digests(exports)
    env = {**__import__("os").environ, "CPDEVAL_HASH_KEY": TEST_KEY}
    result = run_snakemake(project, "--configfile", "config/failing.yaml", "--keep-going", env=env)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-2000:]
    assert "Raw inputs are never written by the pipeline" in out
    assert digests(exports) == before


@pytest.mark.e2e
def test_another_key_rehashes_every_table_that_holds_ids(synthetic_run, tmp_path):
    """Changing the key between runs must not mix hashes: every rule that hashes ids runs again."""
    project = copy_project(tmp_path / "proj")
    _real_exports(synthetic_run, project)
    cfg = yaml.safe_load((project / "config" / "config.yaml").read_text(encoding="utf-8"))
    del cfg["synthetic"]
    cfg["year"] = "rekey"
    cfg["inputs"] = yaml.safe_load(yaml.safe_dump(cfg["inputs"]).replace("data/raw/synthetic/", "data/raw/2018-19/"))
    (project / "config" / "rekey.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    targets = ["data/derived/rekey/ingest/bookings.parquet", "data/derived/rekey/ingest/trained_leaders.parquet"]
    env = {**__import__("os").environ, "CPDEVAL_HASH_KEY": TEST_KEY}
    assert run_snakemake(project, *targets, "--configfile", "config/rekey.yaml", env=env).returncode == 0
    same = run_snakemake(project, *targets, "--configfile", "config/rekey.yaml", "-n", env=env)
    assert "Nothing to be done" in same.stdout + same.stderr
    other = run_snakemake(project, *targets, "--configfile", "config/rekey.yaml", "-n",
                          env={**env, "CPDEVAL_HASH_KEY": TEST_KEY[::-1]})
    plan = other.stdout + other.stderr
    assert other.returncode == 0
    assert "ingest_bookings" in plan and "ingest_reference" in plan and "params" in plan.lower()


@pytest.mark.e2e
def test_a_weak_key_stops_the_workflow_before_any_job(synthetic_run, tmp_path):
    project = copy_project(tmp_path / "proj")
    env = {**__import__("os").environ, "CPDEVAL_HASH_KEY": "choose-a-long-random-key"}
    result = run_snakemake(project, "-n", env=env)
    out = result.stdout + result.stderr
    assert result.returncode != 0 and "is an example published with cpdeval" in out and "Traceback" not in out


@pytest.mark.e2e
def test_the_run_ends_with_where_the_reports_are_and_data_quality(synthetic_run):
    out = (synthetic_run / FIRST_RUN_OUTPUT).read_text(encoding="utf-8")
    assert "cpdeval: reports in reports/synthetic/ (" in out and "methods.html" in out
    line = next(l for l in out.splitlines() if l.startswith("cpdeval: data quality (rows):"))
    assert "bookings" in line and " accepted / " in line and " quarantined" in line
