"""Next year's config from this year's (issue #19): ``cpdeval new-year`` and the real-year template.

Known answers on the shipped template and the synthetic config; the end-to-end tests run the template on
generated exports and a new-year'd synthetic config through the whole pipeline, and the README's command as
written."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys

import pytest

from cpdeval.config import load_yaml, safe_yaml, validate_config
from cpdeval.errors import ConfigError
from cpdeval.newyear import inputs_to_collect, next_year, shift_year_labels
from cpdeval.workspace import copy_project

from conftest import ROOT, as_written, readme_commands, run_snakemake, sh

TEMPLATE = ROOT / "config" / "2018-19.yaml"
CPDEVAL = [sys.executable, "-m", "cpdeval.cli"]


def test_shift_moves_year_labels_only():
    text = "FY 2016-17 to 2018-19; data/raw/2018-19/x_2017-18.csv; 20180901; 2018-20; 12018-19; 2018-2019"
    assert shift_year_labels(text, 1) == ("FY 2017-18 to 2019-20; data/raw/2019-20/x_2018-19.csv; 20180901; "
                                          "2018-20; 12018-19; 2018-2019")
    assert shift_year_labels("1999-00", 1) == "2000-01"
    # another year's config file named in a comment stays; the file itself moves with the year
    assert shift_year_labels("see config/2015-16.yaml, run config/2018-19.yaml", 1,
                             keep_configs_other_than="2018-19") == "see config/2015-16.yaml, run config/2019-20.yaml"


def test_template_has_every_chapter_and_input():
    cfg = load_yaml(TEMPLATE)
    validate_config(cfg, "template", ROOT)
    assert cfg["render"]["chapters"] == ["methods", "delivery", "operations", "impact", "targeted", "attainment"]
    schema = load_yaml(ROOT / "schemas" / "config.schema.yaml")["properties"]["inputs"]["properties"]
    text = TEMPLATE.read_text(encoding="utf-8")
    for key in schema:                                   # every input is there, set or as a commented example
        assert f"{key}:" in text, key
    from cpdeval.config import survey_instruments

    assert set(cfg["inputs"]["surveys"]) == set(survey_instruments())
    assert set(cfg["inputs"]["targeted"]) == set(schema["targeted"]["properties"])


def test_next_year_of_the_template():
    new = next_year(TEMPLATE.read_text(encoding="utf-8"), "2019-20", root=ROOT)
    cfg = safe_yaml(new.text)
    assert (new.label, new.reporting, cfg["year"]) == ("2019-20", "2019-20", "2019-20")
    assert cfg["title"].endswith("2019-20")
    assert cfg["years"]["delivery"] == ["2015-16", "2016-17", "2017-18", "2018-19", "2019-20"]
    assert cfg["years"]["reporting"] == "2019-20"
    # 2019-20 had no exams: the attainment chapter keeps the years with results and reports on the last of them
    assert cfg["years"]["attainment"] == ["2015-16", "2016-17", "2017-18", "2018-19"]
    assert cfg["attainment"]["outcome_year"] == "2018-19"
    assert any("2019-20 (exams cancelled" in c for c in new.changes)
    assert cfg["inputs"]["register"] == "data/raw/2019-20/register/edubasealldata.csv"
    # last year's results, beside this year's in the Year on year chapter
    assert cfg["render"]["chapters"] == [*load_yaml(TEMPLATE)["render"]["chapters"], "trends"]
    assert cfg["previous_years"] == ["data/derived/2018-19"]
    assert "--configfile config/2019-20.yaml" in new.text and "config/2018-19" not in new.text
    # comments kept, in place
    assert new.text.count("\n#") == TEMPLATE.read_text(encoding="utf-8").count("\n#")


def test_three_years_on_skips_both_cancelled_years():
    new = next_year(TEMPLATE.read_text(encoding="utf-8"), "2021-22", root=ROOT)
    cfg = safe_yaml(new.text)
    assert cfg["years"]["attainment"] == ["2017-18", "2018-19", "2021-22"]
    assert cfg["attainment"]["outcome_year"] == "2021-22"          # published again: kept
    assert not any("outcome_year" in c for c in new.changes)


def test_a_label_without_a_year_gets_its_own_folder():
    new = next_year((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"), "2019-20", root=ROOT)
    cfg = safe_yaml(new.text)
    assert cfg["year"] == new.label == "synthetic-2019-20"
    assert cfg["synthetic"]["out_dir"] == "data/raw/synthetic-2019-20"
    assert all(str(v).startswith("data/raw/synthetic-2019-20/") for k, v in cfg["inputs"].items()
               if isinstance(v, str) and k != "register_encoding")
    assert "(the template: config/2018-19.yaml)" in new.text       # a reference to another file, left alone


@pytest.mark.parametrize("year, problem", [("2018-19", "must be later"), ("2017-18", "must be later"),
                                           ("2019-2020", "written like 2019-20"), ("2019-21", "written like")])
def test_bad_new_year(year, problem):
    with pytest.raises(ConfigError, match=problem):
        next_year(TEMPLATE.read_text(encoding="utf-8"), year, root=ROOT)


def test_inputs_to_collect_sorts_new_from_again():
    text = TEMPLATE.read_text(encoding="utf-8")
    lists = inputs_to_collect(text, next_year(text, "2019-20", root=ROOT), ROOT)
    assert [k for k, _, _ in lists["new"]] == ["inputs.bookings (2019-20)"]
    again = {k: (f, last) for k, f, last in lists["again"]}
    assert again["inputs.register"] == ("data/raw/2019-20/register/edubasealldata.csv",
                                        "data/raw/2018-19/register/edubasealldata.csv")
    assert "inputs.performance.ks4 (2014-15)" not in again and "inputs.performance.ks4 (2018-19)" in again
    assert lists["same"] == []


def test_cli_writes_and_never_overwrites(tmp_path):
    src = tmp_path / "config" / "2018-19.yaml"
    src.parent.mkdir()
    shutil.copy(TEMPLATE, src)
    run = subprocess.run([*CPDEVAL, "new-year", "2019-20", "--from", str(src)], cwd=ROOT, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    out = tmp_path / "config" / "2019-20.yaml"
    assert out.exists() and f"wrote {out}" in run.stdout
    assert "New for 2019-20 (1):" in run.stdout and "last year: data/raw/2018-19/register/" in run.stdout
    before = out.read_bytes()
    again = subprocess.run([*CPDEVAL, "new-year", "2019-20", "--from", str(src)], cwd=ROOT, capture_output=True,
                           text=True)
    assert again.returncode != 0 and "already exists; it is not overwritten" in again.stderr
    assert out.read_bytes() == before


@pytest.mark.e2e
def test_template_and_new_year_run_end_to_end(tmp_path):
    """The template on generated exports in its own folder layout through the whole pipeline, then the README's
    new-year command as written on it, and new-year on the synthetic config."""
    project = copy_project(tmp_path / "proj")
    gen = sh(as_written(".venv/bin/cpdeval synth data/raw/2018-19"), project)
    assert gen.returncode == 0, gen.stderr
    env = {**os.environ, "CPDEVAL_HASH_KEY": secrets.token_urlsafe(32)}
    run = run_snakemake(project, "-q", "--configfile", "config/2018-19.yaml", env=env)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    for chapter in ("methods", "delivery", "operations", "impact", "targeted", "attainment", "report"):
        assert (project / "reports" / "2018-19" / f"{chapter}.html").exists(), chapter

    command = next(c for c in readme_commands() if "cpdeval new-year" in c)
    made = sh(as_written(command), project)
    assert made.returncode == 0, made.stderr
    assert safe_yaml((project / "config" / "2019-20.yaml").read_text())["years"]["reporting"] == "2019-20"

    syn = sh(as_written(".venv/bin/cpdeval new-year 2019-20 --from config/config.yaml"), project)
    assert syn.returncode == 0 and "the pipeline generates its" in syn.stdout, syn.stderr
    # a new-year'd synthetic config runs end to end: config/synthetic-2018-19.yaml is one (test_continuity checks
    # it is exactly new-year's output and builds it after its year before)
