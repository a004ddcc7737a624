"""Scaling out (issue #9): the SLURM profile in ``profiles/slurm`` plans the same jobs as a local run.

A dry run needs the SLURM executor plugin (``pip install -e '.[test]'`` installs it) but no cluster: the
SLURM commands are replaced by stubs that fail and record each call, and the tests check that no job was
submitted, queried or cancelled. (When it loads, the plugin reads ``scontrol show config`` to choose its
status command; that read-only probe fails harmlessly here.)
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SNAKEMAKE, copy_project

pytest.importorskip("snakemake_executor_plugin_slurm",
                    reason="the SLURM executor plugin is in the test extra: pip install -e '.[test]'")

PROFILE = ROOT / "profiles" / "slurm"
SLURM_COMMANDS = ("sbatch", "squeue", "sacct", "scancel", "sinfo", "scontrol", "sacctmgr", "srun")


@pytest.fixture
def no_cluster(tmp_path):
    """An environment whose SLURM commands only record that they were called."""
    bin_dir, calls = tmp_path / "fake-slurm", tmp_path / "slurm-calls.txt"
    bin_dir.mkdir()
    for cmd in SLURM_COMMANDS:
        stub = bin_dir / cmd
        stub.write_text(f'#!/bin/sh\necho "{cmd} $*" >> "{calls}"\nexit 1\n')
        stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return env, calls


def job_commands(calls: Path) -> list[str]:
    """Calls of the stubs that would submit, query or cancel jobs."""
    lines = calls.read_text().splitlines() if calls.exists() else []
    return [c for c in lines if c.split()[0] in ("sbatch", "srun", "squeue", "sacct", "scancel")]


def snakemake(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, *args], cwd=project, capture_output=True, text=True, timeout=600, env=env)


def job_stats(output: str) -> dict[str, int]:
    """The first "Job stats" table of a Snakemake run or dry run: rule -> number of jobs."""
    table = output.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


def job_resources(output: str) -> dict[str, list[dict[str, str]]]:
    """Resources of each planned job, by rule, from a dry run's job listing."""
    out: dict[str, list[dict[str, str]]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        res = re.search(r"^\s+resources: (.*)$", block, re.M)
        if rule and res:
            out.setdefault(rule[1], []).append(dict(kv.split("=", 1) for kv in res[1].split(", ")))
    return out


def test_slurm_profile_dry_run_plans_the_same_jobs_as_a_local_run(tmp_path, no_cluster):
    env, calls = no_cluster
    project = copy_project(tmp_path / "project")
    local = snakemake(project, "--cores", "2", "--dry-run", env=env)
    assert local.returncode == 0, local.stderr[-3000:]
    slurm = snakemake(project, "--profile", str(PROFILE), "--dry-run", env=env)
    assert slurm.returncode == 0, slurm.stderr[-3000:]
    text = slurm.stdout + slurm.stderr
    assert f"Using profile {PROFILE}" in text
    assert "This was a dry-run" in text

    planned = job_stats(text)
    assert planned == job_stats(local.stdout + local.stderr)
    assert {"synthesise", "ingest_bookings", "link", "render_chapter", "all"} <= set(planned)
    # every job carries the SLURM settings of the profile (partition, account, time)
    defaults = yaml.safe_load((PROFILE / "config.yaml").read_text())["default-resources"]
    resources = job_resources(text)
    assert set(resources) == set(planned)
    for rule, jobs in resources.items():
        for res in jobs:
            assert res["slurm_partition"] == defaults["slurm_partition"], rule
            assert res["slurm_account"] == defaults["slurm_account"], rule
            assert int(res["runtime"]) >= defaults["runtime"], rule
    assert job_commands(calls) == [], "a dry run submitted or queried SLURM jobs"


def test_every_rule_given_resources_in_the_profile_exists(tmp_path):
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    rules = set(snakemake(copy_project(tmp_path / "project"), "--list-rules").stdout.split())
    assert rules, "snakemake --list-rules listed no rule"
    assert set(profile["set-resources"]) <= rules, set(profile["set-resources"]) - rules
    assert profile["executor"] == "slurm" and profile["rerun-incomplete"] is True


@pytest.mark.e2e
def test_memory_requests_are_computed_from_the_inputs(synthetic_run, no_cluster):
    """With the inputs present, ``mem_mb = max(..., k * input.size_mb)`` evaluates for every job."""
    env, calls = no_cluster
    result = snakemake(synthetic_run, "--profile", str(PROFILE), "--dry-run", "--forceall", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    for rule, jobs in job_resources(result.stdout + result.stderr).items():
        wanted = profile["set-resources"].get(rule, {})
        for res in jobs:
            assert int(res["mem_mb"]) >= 4000, (rule, res)
            if isinstance(wanted.get("mem_mb"), int):
                assert int(res["mem_mb"]) == wanted["mem_mb"], (rule, res)
            for key in ("runtime", "cpus_per_task"):
                if key in wanted:
                    assert int(res[key]) == wanted[key], (rule, key, res)
    assert job_commands(calls) == []
