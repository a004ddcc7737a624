"""The stage layer's one convention: rule ``x`` of ``rules/f.smk`` runs ``cpdeval.stages.f.x``; every stage
module has its rule file and holds exactly that file's rules; the library below it does no job I/O."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from conftest import ROOT
from cpdeval import stages

RULES = ROOT / "rules"
STAGES = ROOT / "src" / "cpdeval" / "stages"


def rules_of(smk_file) -> set[str]:
    return set(re.findall(r"^\s*rule (\w+):", smk_file.read_text(encoding="utf-8"), flags=re.M))


def stage_functions(module: str) -> set[str]:
    return set(re.findall(r"^def ([a-z]\w*)\(job", (STAGES / f"{module}.py").read_text(encoding="utf-8"), flags=re.M))


def test_every_rule_file_has_its_stage_module_and_back():
    files = {p.stem for p in RULES.glob("*.smk")} - {"common"}
    assert files == set(stages.RULE_FILES)
    modules = {p.stem for p in STAGES.glob("*.py")} - {"__init__", "io"}
    assert modules == set(stages.RULE_FILES)


@pytest.mark.parametrize("rule_file", stages.RULE_FILES)
def test_a_stage_module_holds_exactly_its_rule_files_rules(rule_file):
    rules = rules_of(RULES / f"{rule_file}.smk")
    assert rules and rules == stage_functions(rule_file)
    for rule in rules:
        assert stages.module_of(rule) == rule_file
        assert callable(stages.stage_function(rule))


def test_every_rule_takes_the_same_route():
    """One runner, no per-rule stage names, the code input of each rule is its own stage function's."""
    for smk in RULES.glob("*.smk"):
        text = smk.read_text(encoding="utf-8")
        assert "stage=" not in text and "run_" not in text, smk.name
        for rule in rules_of(smk) - {"synthesise"}:
            block = text[text.index(f"rule {rule}:"):]
            block = block[:block.index("script:")]
            assert f'code=stage_code("{rule}")' in block, f"{smk.name}: rule {rule}"
        assert text.count("script:") == len(re.findall(r"script:\s*\n\s*RUNNER\n", text)), smk.name


def test_an_unknown_or_doubly_defined_rule_is_named(monkeypatch):
    with pytest.raises(LookupError, match="no_such_rule.*in no stage module"):
        stages.module_of("no_such_rule")
    monkeypatch.setattr(stages, "_defined", lambda m: frozenset({"twice"}) if m in ("link", "ingest") else frozenset())
    with pytest.raises(LookupError, match=r"in 2 stage modules \(ingest, link\)"):
        stages.module_of("twice")


def test_the_library_below_the_stages_does_no_job_io():
    """Analysis modules take and return DataFrames: no job object, no parquet written outside the stages (the
    ingest result writer and the audit tables are the I/O helpers they are)."""
    src = ROOT / "src" / "cpdeval"
    offenders = []
    for path in src.rglob("*.py"):
        rel = path.relative_to(src).as_posix()
        if rel.startswith(("stages/", "synthetic/")) or rel in ("runner.py",):
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"\bjob\.(input|output|params)\b|def run_\w+\(job", text):
            offenders.append(rel)
    assert offenders == []


def test_the_stage_package_imports_nothing_heavy():
    """The Snakefile reads the stage layer while it builds the DAG: importing it must not pull in polars."""
    code = ("import sys; import cpdeval.stages, cpdeval.stages.delivery, cpdeval.stages.operations; "
            "print(sorted(m for m in ('polars', 'pandera', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src")})
    assert out.stdout.strip() == "[]"


def test_drivers_outside_the_workflow_find_stages_by_rule_name():
    """``cpdeval.stages.<rule>`` and ``cpdeval.stages.Job`` (the pandas-peer benchmark's one-process driver)."""
    code = ("from cpdeval import stages; from cpdeval.engagement import run_engagement; "
            "fs = [stages.ingest_bookings, stages.ingest_register, stages.link, run_engagement]; "
            "print([f.__module__ + '.' + f.__name__ for f in fs], stages.Job.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src")})
    assert out.stdout.split() == ["['cpdeval.stages.ingest.ingest_bookings',",
                                  "'cpdeval.stages.ingest.ingest_register',", "'cpdeval.stages.link.link',",
                                  "'cpdeval.stages.engagement.engagement']", "cpdeval.stages.io"]
    with pytest.raises(AttributeError):
        stages.no_such_rule   # noqa: B018


def test_a_stage_reads_optional_params_from_a_mapping_too(tmp_path):
    """A job built from a dict (as the peer benchmark's driver builds it) lacks the optional params; the stage
    takes them as absent instead of failing on a KeyError."""
    import logging

    from conftest import GOOD_BOOKING, BOOKING_HEADER, write_csv
    from cpdeval.stages.io import Job

    class NS(dict):
        __getattr__ = dict.__getitem__

    path = write_csv(tmp_path / "b.csv", BOOKING_HEADER, [GOOD_BOOKING.format(n=1), GOOD_BOOKING.format(n=2)])
    out = NS(table=str(tmp_path / "t.parquet"), quarantine=str(tmp_path / "q.parquet"),
             reconciliation=str(tmp_path / "r.json"))
    params = NS(pseudonymisation={"key_env": "NO_SUCH_KEY_VARIABLE", "synthetic_test_key": "a-test-key"},
                synthetic=True)
    stages.ingest_bookings(Job(input=NS(files=[str(path)]), output=out, params=params, log=[],
                               logger=logging.getLogger("t"), rule="ingest_bookings"))
    assert (tmp_path / "t.parquet").is_file() and '"rows_accepted": 2' in (tmp_path / "r.json").read_text()



def test_read_optional_reads_the_named_columns_the_table_has(tmp_path):
    """The attainment stage reads the performance tables by the columns the library uses; ``nftype`` is read
    where the table has it and simply left out where it does not."""
    import polars as pl

    from cpdeval.stages.io import read_optional

    path = tmp_path / "t.parquet"
    pl.DataFrame({"urn": [1, 2], "value": [0.5, 1.5], "raw_value": ["0.5", "1.5"]}).write_parquet(path)
    assert read_optional(path, ("urn", "nftype", "value")).columns == ["urn", "value"]
    assert read_optional(path).columns == ["urn", "value", "raw_value"]
    assert read_optional(None, ("urn",)) is None
