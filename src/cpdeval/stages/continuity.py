"""Stage of rules/continuity.smk: this year beside the earlier years' runs (library: :mod:`cpdeval.continuity`)."""

from __future__ import annotations

from ..logs import step
from .io import Job, job_required, job_value, write_tables


def year_on_year(job: Job) -> None:
    from ..config import PREVIOUS_FILES
    from ..continuity import previous_files, read_run, year_on_year as compare
    from ..ingest.performance import load_measure_map, measure_breaks

    folders = list(job_required(job.params, "previous_years"))
    with step(job.logger, f"reading this year's tables and {len(folders)} earlier year(s)"):
        current = read_run({key: job_value(job.input, key) for key in PREVIOUS_FILES})
        previous = [read_run(previous_files(folder)) for folder in folders]
    mm = load_measure_map(job_value(job.input, "measures"))
    breaks = {ks: {m: measure_breaks(mm, ks, m) for m in mm[ks]["measures"]} for ks in ("ks4", "ks2") if ks in mm}
    with step(job.logger, "comparing delivery, survey items and attainment groups across years"):
        tables = compare(current, previous, breaks)
    write_tables(tables, job.output, ["delivery", "targets", "survey_trend", "survey_change", "attainment", "summary"])
