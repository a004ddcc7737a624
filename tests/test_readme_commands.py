"""Every command the README tells a user to type is run by a test, as written.

Two substitutions only, both stated: ``.venv/bin/`` is the virtual environment running the tests (the README's
``python3 -m venv .venv && .venv/bin/pip install ...`` prefix is what ``.ci/run`` does on a fresh machine), and a
``<year>`` placeholder is the synthetic year, whose config is copied to ``config/synthetic.yaml`` as a user
would copy ``config/2015-16.yaml``. :func:`test_every_readme_command_is_run_somewhere` fails when the README gains
a command that no test runs.
"""

from __future__ import annotations

import re
import shutil

import pytest

from conftest import MAIN_JOB, ROOT, as_written, readme_commands, sh

# Where each README command is run (a regex over the command -> the test or fixture that runs it).
RUN_BY = {
    r"^python3 -m venv \.venv && \.venv/bin/pip install -e \. && \.venv/bin/snakemake --cores 4$":
        "conftest.synthetic_run (the snakemake part, as written) + test_setup_commands_are_what_ci_runs",
    r"^python3 -m venv \.venv && \.venv/bin/pip install -e '\.\[test\]' && \.venv/bin/pytest --full -n 2$":
        ".ci/run on a fresh machine + test_setup_commands_are_what_ci_runs",
    r"^\.venv/bin/pytest( -n 2)?$": "the fast loop: every test it runs is in the full suite .ci/run runs "
                            "(test_the_fast_loop_is_the_full_suite_less_the_marked_tests)",
    r"^\.venv/bin/snakemake --cores 2 reports/<year>/methods\.html --configfile config/<year>\.yaml$":
        "test_a_real_year_as_the_readme_runs_it",
    r"^\.venv/bin/cpdeval describe --configfile config/<year>\.yaml$": "test_a_real_year_as_the_readme_runs_it",
    r"^\.venv/bin/snakemake --cores 4 --configfile config/<year>\.yaml$": "test_a_real_year_as_the_readme_runs_it",
    r"^\.venv/bin/cpdeval validate bookings\.csv --as bookings$": "test_validate_as_written",
    r"^\.venv/bin/cpdeval new-year 2019-20 --from config/2018-19\.yaml$":
        "test_newyear.test_template_and_new_year_run_end_to_end",
    r"^\.venv/bin/cpdeval run-years config/synthetic-2017-18\.yaml config/synthetic-2018-19\.yaml --cores 2 -q$":
        "test_continuity.test_two_consecutive_synthetic_years_in_one_command",
    r"^python3 -c \"import secrets; print\(secrets\.token_urlsafe\(32\)\)\"$": "test_the_key_recipe_makes_a_strong_key",
    r"^export CPDEVAL_HASH_KEY=\.\.\.$": "a placeholder for the user's key (the recipe above is run)",
    r"^export CPDEVAL_HASH_KEY_FILE=/secure/path/cpdeval\.key$":
        "a placeholder path; test_leaks.test_key_from_a_file_outside_the_repository",
    r"^\.venv/bin/cpdeval synth-bookings --register \.\./shared/real-data/gias/gias_2021_surrey_936\.csv --years "
    r"2016-17 2017-18 2018-19 data/raw/surrey-2018-19$": "test_real_year.surrey_run (the README block, as written)",
    r"^export CPDEVAL_HASH_KEY=\$\(python3 -c \"import secrets; print\(secrets\.token_urlsafe\(32\)\)\"\)$":
        "test_real_year.surrey_run (the README block, as written)",
    r"^\.venv/bin/snakemake --cores 2 --configfile config/surrey-2018-19\.yaml$":
        "test_real_year.surrey_run (the README block, as written)",
    r"^snakemake --report report\.html$": "test_reports.test_snakemake_report_includes_the_chapters",
    r"^pip install -e '\.\[slurm\]'$": "the test extra installs the same plugin (pyproject.toml); test_profiles",
    r"^\.venv/bin/snakemake --profile profiles/slurm --configfile config/<year>\.yaml$":
        "test_profiles.test_slurm_profile_dry_run_plans_the_same_jobs_as_a_local_run (no cluster here: a dry run)",
    r"^\.venv/bin/python benchmarks/run_pipeline\.py --size national( --dirty)?$":
        "a benchmark (minutes at national size); test_benchmark_pipeline runs the same script at small size with "
        "--dirty",
    r"^bash \.\./shared/benchmarks/pandas-peer/compare\.sh \. /tmp/peer$":
        "the peer comparison that ../shared provides (minutes at national size); test_stages checks its driver "
        "finds cpdeval's stages",
    r"^\.venv/bin/python benchmarks/bad_inputs\.py$": "test_bad_input_corpus runs the same cases",
    r"^conda env create -f environment\.yml && conda activate cpdeval && pip install -e \. --no-deps && "
    r"snakemake --cores 4$": "not runnable here (no conda channels); test_environment_file_lists_the_dependencies",
}


def test_every_readme_command_is_run_somewhere():
    commands = readme_commands()
    assert len(commands) >= 15
    uncovered = [c for c in commands if not any(re.search(p, c) for p in RUN_BY)]
    assert not uncovered, f"README commands that no test runs (add one to RUN_BY and run it): {uncovered}"
    unused = [p for p in RUN_BY if not any(re.search(p, c) for c in commands)]
    assert not unused, f"RUN_BY names commands the README no longer has: {unused}"


def test_setup_commands_are_what_ci_runs():
    """The two fresh-machine commands: CI performs the same setup, then the README's test command."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert '"$PY" -m venv .venv' in ci and "pip install --quiet -e '.[test]'" in ci
    test_command = next(c for c in readme_commands() if c.startswith("python3 -m venv") and "pytest" in c)
    assert re.search(rf"^{re.escape(test_command.split(' && ')[-1])}\b", ci.replace(" -q", ""), re.M)
    main_job = next(c for c in readme_commands() if c.endswith("snakemake --cores 4") and "venv" in c)
    assert main_job.split(" && ")[-1] == ".venv/bin/snakemake --cores 4"
    assert MAIN_JOB() == ".venv/bin/snakemake --cores 4"   # what the shared synthetic run runs


def _collected(*args: str) -> set[str]:
    import subprocess
    import sys

    # --assert=plain: collecting runs no assert, and rewriting every test module's asserts was half of each
    # collection (where PYTHONDONTWRITEBYTECODE is set, as on these machines, it is redone in every process)
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          "--assert=plain", *args],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return {line for line in out.stdout.splitlines() if "::" in line}


@pytest.mark.slow
def test_the_fast_loop_is_the_full_suite_less_the_marked_tests():
    """The README's two test commands: the fast loop runs a subset of what CI runs, and leaves out exactly the
    end-to-end and slow tests (the deselected ones are counted in its summary)."""
    fast, full = _collected(), _collected("--full")
    marked = _collected("--full", "-m", "e2e or slow")
    assert fast < full and len(fast) > 1000
    assert full - fast == marked and marked
    assert any("test_determinism" in t for t in marked) and not any("test_determinism" in t for t in fast)


def test_environment_file_lists_the_dependencies():
    import tomllib

    import yaml

    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    listed = " ".join(str(d) for d in env["dependencies"] if isinstance(d, str)).lower()
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    for dep in deps:
        name = re.split(r"[<>=\[ ]", dep)[0].lower().replace("pypandoc-binary", "pandoc")
        assert name.split("-")[0] in listed or name in str(env).lower(), f"{name} missing from environment.yml"
    assert "quarto" in listed


def test_the_key_recipe_makes_a_strong_key(tmp_path):
    from cpdeval.pseudonymise import check_key_strength

    recipe = next(c for c in readme_commands() if c.startswith("python3 -c \"import secrets"))
    out = sh(recipe, tmp_path)
    assert out.returncode == 0
    key = out.stdout.strip().encode()
    assert check_key_strength(key, "the README recipe") == key


def test_validate_as_written(synthetic_run, tmp_path):
    shutil.copy(sorted((synthetic_run / "data" / "raw" / "synthetic" / "bookings").glob("*.csv"))[-1],
                tmp_path / "bookings.csv")
    command = next(c for c in readme_commands() if "validate bookings.csv" in c)
    out = sh(as_written(command), tmp_path)
    assert out.returncode == 0, out.stderr
    assert "bookings.csv:" in out.stdout and "no problems found" in out.stdout


@pytest.mark.e2e
def test_a_real_year_as_the_readme_runs_it(synthetic_run, tmp_path):
    """Steps 3 and 5 of "Running a real reporting year" and the reviewer's command, on config/synthetic.yaml
    (in a copy of the finished synthetic run, so that the shared run is left as it was)."""
    project = tmp_path / "proj"
    shutil.copytree(synthetic_run, project, symlinks=True)
    shutil.copy(project / "config" / "config.yaml", project / "config" / "synthetic.yaml")
    methods = project / "reports" / "synthetic" / "methods.html"
    methods.unlink()
    for needle in ("cpdeval describe --configfile", "reports/<year>/methods.html --configfile",
                   "snakemake --cores 4 --configfile config/<year>"):
        command = next(c for c in readme_commands() if needle in c)
        out = sh(as_written(command), project)
        assert out.returncode == 0, f"{command}\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
        if "describe" in command:
            assert "0 missing input file(s)" in out.stdout
        if "methods.html" in command:
            assert methods.exists()
