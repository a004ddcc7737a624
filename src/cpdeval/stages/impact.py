"""Stage of rules/impact.smk: the "Impact" chapter's survey results: item summaries overall and by role, phase,
provider and year (with Wilson intervals and ranks), answer distributions, respondent profiles, coded free-text
reasons, benchmarks, checks of the source reports' published figures, and the survey figures (library:
:mod:`cpdeval.surveys`, figures :mod:`cpdeval.surveys_figures`)."""

from __future__ import annotations

from pathlib import Path

from ..logs import step
from .io import Job, job_required, job_value, read_table, write_json, write_table


def impact_analysis(job: Job) -> None:
    import polars as pl

    from .. import surveys as S
    from ..contracts import load_contract
    from ..surveys_figures import CHAPTER_FIGURES, draw_figures, plan_figures

    p, inp, out = job.params, job.input, job.output
    threshold = int(job_required(p, "disclosure_min_count"))
    subgroups = tuple(job_value(p, "subgroups") or S.SUBGROUPS)
    responses = read_table(job_value(inp, "responses"))
    instruments = S.load_instruments(folder=job_value(p, "instruments_dir") or None)
    schools = read_table(job_value(inp, "schools"), columns=["urn", "phase_group"])
    activities = read_table(job_value(inp, "bookings"), columns=["activity_id", "provider"])
    with step(job.logger, f"summarising {responses.height:,} answers to "
                          f"{responses['instrument'].n_unique()} instrument(s)"):
        prepared = S.prepare_responses(responses, schools=schools, activities=activities,
                                       fy_start_month=int(job_required(p, "fy_start_month")))
        counts = S.tally(prepared, subgroups)
        summary = S.summarise_items(prepared, instruments, subgroups=subgroups, counts=counts)
        levels = S.level_distribution(prepared, instruments, subgroups=subgroups, counts=counts)
        profile = S.respondent_profile(prepared, instruments, subgroups=subgroups)
    load_contract("survey_item_summary").check(summary)
    for name, df in (("summary", summary), ("levels", levels), ("profile", profile)):
        write_table(df, job_value(out, name), statistics=True)

    codebook = S.load_codebook(job_value(inp, "codebook"))
    coded = read_table(job_value(inp, "coded"))
    respondents = prepared.filter(pl.col("instrument") == codebook.instrument) if codebook.instrument else prepared
    issues = S.check_coding(coded, codebook, respondents["respondent_id"].unique().to_list())
    for r in issues.iter_rows(named=True):
        job.logger.warning("coded feedback: %s", r["detail"])
    freq = S.code_frequencies(coded, codebook, prepared, subgroups=subgroups, instruments=instruments)
    write_table(freq, job_value(out, "codes"), statistics=True)
    write_table(issues, job_value(out, "coding_issues"), statistics=True)

    ref = S.load_benchmarks(job_value(inp, "benchmarks"), instruments,
                            {k: job_value(inp, f"comparator_{k}") for k in S.COMPARATORS})
    write_table(ref["benchmarks"], job_value(out, "benchmarks"), statistics=True)
    checks = S.published_checks(ref)
    write_table(checks, job_value(out, "published"), statistics=True)
    job.logger.info("published figures: %d checked, %d cannot be reproduced as printed",
                    checks.filter(pl.col("check") != "note").height,
                    checks.filter(~pl.col("consistent") & (pl.col("check") != "note")).height)

    planned = plan_figures(summary, instruments, subgroups=subgroups, threshold=threshold)
    specs = [s for s in planned if s.key in CHAPTER_FIGURES]
    with step(job.logger, f"drawing the {len(specs)} survey figures the chapter shows (of {len(planned)} the "
                          f"answers allow)"):
        manifest = draw_figures(specs, summary, levels, instruments, job_value(out, "figures"), threshold=threshold,
                                year=str(job_required(p, "year")))
        write_json(manifest, Path(job_value(out, "figures")) / "manifest.json", ensure_ascii=False)
    job.logger.info("wrote %d summary rows, %d figures", summary.height, len(manifest))
