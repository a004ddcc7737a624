"""End to end: the Snakemake workflow on the small synthetic year, in a temporary copy of the project."""

from __future__ import annotations

import json
import subprocess
import sys

import polars as pl
import pytest

from conftest import copy_project, run_snakemake

pytestmark = pytest.mark.e2e

@pytest.fixture(scope="module")
def project(synthetic_run):
    return synthetic_run


def run(project, *args):
    return run_snakemake(project, *args)


def test_outputs_exist_and_reconcile(project):
    derived = project / "data" / "derived" / "synthetic"
    rec = pl.read_parquet(derived / "audit" / "reconciliation.parquet")
    assert rec.height >= 10
    assert rec["balanced"].all()
    assert (rec["rows_in"] == rec["rows_accepted"] + rec["rows_quarantined"] + rec["rows_set_aside"]).all()
    tables = set(rec["table"])
    assert {"bookings", "schools", "links", "attainment_ks4", "attainment_ks2"} <= tables
    bookings = pl.read_parquet(derived / "link" / "bookings_linked.parquet")
    accepted = pl.read_parquet(derived / "ingest" / "bookings.parquet")
    assert bookings.height == accepted.height > 0
    assert bookings["urn"].drop_nulls().len() / bookings.height > 0.8
    html = project / "reports" / "synthetic" / "methods.html"
    assert html.exists() and html.stat().st_size > 10_000
    text = html.read_text(encoding="utf-8")
    assert "Reconciliation" in text or "reconciliation" in text


def test_no_personal_data_in_derived_tables(project):
    derived = project / "data" / "derived" / "synthetic"
    for path in derived.rglob("*.parquet"):
        df = pl.read_parquet(path)
        for col, dtype in df.schema.items():
            if dtype == pl.Utf8:
                vals = df[col].drop_nulls()
                assert not vals.str.contains("@").any(), f"{path.name}:{col} holds an email-like value"
            assert "email" not in col.lower() and "contact" not in col.lower(), f"{path.name}:{col}"


def test_second_run_is_a_no_op(project):
    result = run(project, "--dry-run")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def test_a_changed_threshold_reruns_the_rule_that_uses_it(project, tmp_path):
    # the params re-run trigger, which the Snakefile's start-up shim (cpdeval.snakemake_startup) touches
    text = (project / "config" / "config.yaml").read_text(encoding="utf-8")
    assert "match_min_confidence: 0.85" in text
    changed = tmp_path / "config.yaml"
    changed.write_text(text.replace("match_min_confidence: 0.85", "match_min_confidence: 0.86"), encoding="utf-8")
    result = run(project, "--dry-run", "--configfile", str(changed))
    log = result.stdout + result.stderr
    link = log.split("rule link:", 1)[1].split("\nrule ", 1)[0]
    assert "Params have changed" in link and "before: 0.85 now: 0.86" in link
    assert "rule ingest_bookings:" not in log


# Snakemake in one process as the README's main job's venv runs it (`pip install -e .`: no SLURM executor
# plugin, whose module imports pandas when Snakemake collects its plugins); says which of the dataframe
# libraries Snakemake would import for params its process imported (numpy it imports for itself anyway).
SNAKEMAKE_WITHOUT_SLURM_PLUGIN = """
import pkgutil, sys
every_module = pkgutil.iter_modules
pkgutil.iter_modules = lambda *a, **k: (m for m in every_module(*a, **k)
                                        if not m.name.startswith("snakemake_executor_plugin_slurm"))
sys.argv = ["snakemake", "--cores", "2", *sys.argv[1:]]
from snakemake.cli import main
try:
    main()
finally:
    print("imported:", sorted(m for m in ("pandas", "polars") if m in sys.modules), file=sys.stderr)
"""


def snakemake_in_one_process(project, *args):
    result = subprocess.run([sys.executable, "-c", SNAKEMAKE_WITHOUT_SLURM_PLUGIN, *args], cwd=project,
                            capture_output=True, text=True, timeout=600)
    return result.returncode, result.stdout + result.stderr


def test_a_dry_run_does_not_import_pandas(project):
    # Snakemake imports pandas to check params when it is installed; the start-up shim saves that 0.23 s
    code, log = snakemake_in_one_process(project, "--dry-run")
    assert "Nothing to be done" in log
    assert "imported: []" in log


def test_starting_a_script_job_imports_no_dataframe_library_in_snakemake(tmp_path):
    # Snakemake imports pandas, numpy and polars when it starts the first script job, in case a param is one of
    # their objects; the Snakefile's shim saves that (a run's first job starts about 0.5 s sooner)
    project = copy_project(tmp_path / "proj")
    code, log = snakemake_in_one_process(project, "data/raw/synthetic/manifest.json")
    assert code == 0, log[-3000:]
    assert (project / "data" / "raw" / "synthetic" / "manifest.json").exists()
    assert "imported: []" in log


def test_editing_a_stage_module_reruns_its_rule(project):
    stats = project / "src" / "cpdeval" / "stats.py"   # imported by the survey analysis
    text = stats.read_text(encoding="utf-8")
    stats.write_text(text + "\n# an edit\n", encoding="utf-8")
    try:
        result = run(project, "--dry-run")
    finally:
        stats.write_text(text, encoding="utf-8")   # same content again: Snakemake's checksum says unchanged
    log = result.stdout + result.stderr
    assert "rule impact_analysis" in log and "Updated input files: src/cpdeval/stats.py" in log
    assert "ingest_bookings" not in log


def test_provenance_records_inputs(project):
    prov = json.loads((project / "data" / "derived" / "synthetic" / "audit" / "provenance.json").read_text())
    assert prov["year"] == "synthetic"
    assert all(len(i["sha256"]) == 64 for i in prov["inputs"])
    assert prov["packages"]["polars"] != "not installed"


def test_bad_config_key_is_named(project, tmp_path):
    bad = tmp_path / "bad.yaml"
    text = (project / "config" / "config.yaml").read_text().replace("disclosure_min_count", "disclosure_min_cnt")
    bad.write_text(text)
    result = run(project, "--configfile", str(bad), "--dry-run")
    assert result.returncode != 0
    assert "disclosure_min_cnt" in result.stdout + result.stderr
