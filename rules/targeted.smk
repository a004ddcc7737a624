# The "Targeted programme" chapter (seed 002): Ofsted change, self-assessment, STEM maturity, outcomes by
# audience, CPD-unit bands and monitoring, with their figures. Its six inputs are read by ingest_targeted
# (rules/ingest.smk). Stage: cpdeval.stages.targeted.

TARGETED = f"{DERIVED}/targeted"
TARGETED_SETTINGS = RUN.data["targeted"]


rule targeted_analysis:
    input:
        code=stage_code("targeted_analysis"),
        **{t: ingested(t)["table"] for t in TARGETED_TABLES},
        bookings=f"{DERIVED}/link/bookings_linked.parquet",
        lineage=f"{DERIVED}/link/school_lineage.parquet",
        codebook="config/codebooks/case_outcomes.yaml",
    output:
        ofsted_by_pre=f"{TARGETED}/ofsted_by_pre_rating.parquet",
        ofsted_transitions=f"{TARGETED}/ofsted_transitions.parquet",
        ofsted_direction=f"{TARGETED}/ofsted_direction.parquet",
        ofsted_funnel=f"{TARGETED}/ofsted_funnel.parquet",
        ofsted_cases=f"{TARGETED}/ofsted_cases.parquet",
        sa_baseline=f"{TARGETED}/self_assessment_baseline.parquet",
        sa_ranks=f"{TARGETED}/self_assessment_ranks.parquet",
        sa_change=f"{TARGETED}/self_assessment_change.parquet",
        maturity=f"{TARGETED}/maturity_change.parquet",
        outcomes_type=f"{TARGETED}/outcomes_by_type.parquet",
        outcomes_audience=f"{TARGETED}/outcomes_by_audience.parquet",
        outcomes_domain=f"{TARGETED}/outcomes_by_domain.parquet",
        outcomes_group=f"{TARGETED}/outcomes_by_group.parquet",
        monitoring=f"{TARGETED}/monitoring.parquet",
        summary=f"{TARGETED}/summary.json",
        fig_outcomes_audience=f"{TARGETED}/figures/outcomes_by_audience.png",
        fig_outcome_types=f"{TARGETED}/figures/outcome_types.png",
        fig_maturity=f"{TARGETED}/figures/maturity_change.png",
    params:
        min_days=TARGETED_SETTINGS["min_days_after_start"],
        unit_bands=TARGETED_SETTINGS["unit_bands"],
        disclosure_min_count=RUN.disclosure_min_count,
        allow_names=RUN.data["render"].get("allow_names", False),
    log:
        f"logs/{RUN.year}/targeted_analysis.log",
    script:
        RUNNER


CHAPTER_INPUTS["targeted"] = {
    **{name: path for name, path in rules.targeted_analysis.output.items()},
    # satisfaction and quality by role: the survey analysis (rules/impact.smk) of the event_feedback instrument
    "survey_summary": f"{DERIVED}/surveys/survey_item_summary.parquet",
    "survey_levels": f"{DERIVED}/surveys/survey_levels.parquet",
    "codebook": "config/codebooks/case_outcomes.yaml",
}
