# The "Impact" chapter: survey item summaries overall and by role, phase, provider and year (with Wilson intervals
# and ranks), answer distributions, respondent profiles, coded free-text reasons, benchmarks, checks of the source
# reports' published figures, and the survey figures. Stage: cpdeval.stages.impact.

SURVEYS = f"{DERIVED}/surveys"

rule impact_analysis:
    input:
        code=stage_code("impact_analysis"),
        responses=ingested("survey_responses")["table"],
        coded=ingested("feedback_coded")["table"],
        schools=ingested("schools")["table"],
        bookings=ingested("bookings")["table"],
        codebook="config/codebooks/feedback_reasons.yaml",
        benchmarks="config/benchmarks.yaml",
        **{f"comparator_{k}": v for k, v in COMPARATORS.items()},
        comparator_contracts=["schemas/benchmarks.yaml", "schemas/benchmark_sources.yaml"],
        instruments=sorted(str(p) for p in Path(workflow.basedir, "schemas", "instruments").glob("*.yaml")),
        contract="schemas/survey_item_summary.yaml",
    output:
        summary=f"{SURVEYS}/survey_item_summary.parquet",
        levels=f"{SURVEYS}/survey_levels.parquet",
        profile=f"{SURVEYS}/survey_respondents.parquet",
        codes=f"{SURVEYS}/feedback_code_frequencies.parquet",
        coding_issues=f"{SURVEYS}/feedback_coding_issues.parquet",
        benchmarks=f"{SURVEYS}/survey_benchmarks.parquet",
        published=f"{SURVEYS}/published_checks.parquet",
        figures=directory(f"{DERIVED}/figures/surveys"),
    params:
        disclosure_min_count=RUN.disclosure_min_count,
        fy_start_month=RUN.data["years"]["financial_year_start_month"],
        year=RUN.year,
        instruments_dir="schemas/instruments",
    log:
        f"logs/{RUN.year}/impact_analysis.log",
    script:
        RUNNER


CHAPTER_INPUTS["impact"] = {
    "survey_summary": f"{SURVEYS}/survey_item_summary.parquet",
    "survey_levels": f"{SURVEYS}/survey_levels.parquet",
    "survey_respondents": f"{SURVEYS}/survey_respondents.parquet",
    "survey_invited": ingested("survey_invited")["table"],
    "feedback_codes": f"{SURVEYS}/feedback_code_frequencies.parquet",
    "feedback_coding_issues": f"{SURVEYS}/feedback_coding_issues.parquet",
    "survey_benchmarks": f"{SURVEYS}/survey_benchmarks.parquet",
    "survey_figures": f"{DERIVED}/figures/surveys",
    "codebook": "config/codebooks/feedback_reasons.yaml",
    "scales": "schemas/instruments/scales.yaml",          # the chapter reads the instrument definitions beside it
}
