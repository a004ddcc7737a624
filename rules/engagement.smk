# Engagement model, then the analyses of the "Delivery and reach" and "Operations" chapters.
# Logic lives in src/cpdeval/engagement.py and src/cpdeval/analysis/{delivery,operations}.py; each rule names its
# stage function in params.stage, which the shared runner calls.

ENGAGEMENT = f"{DERIVED}/engagement"
DELIVERY = f"{DERIVED}/delivery"
OPERATIONS = f"{DERIVED}/operations"


rule engagement:
    input:
        code=stage_code("cpdeval.engagement:run_engagement"),
        bookings=f"{DERIVED}/link/bookings_linked.parquet",
        schools=ingested("schools")["table"],
        lineage=f"{DERIVED}/link/school_lineage.parquet",
        contracts=["schemas/engagements.yaml", "schemas/school_year.yaml"],
    output:
        engagements=f"{ENGAGEMENT}/engagements.parquet",
        school_year=f"{ENGAGEMENT}/school_year.parquet",
        reconciliation=f"{ENGAGEMENT}/reconciliation.json",
    params:
        stage="cpdeval.engagement:run_engagement",
        years=RUN.data["years"],
        regular_use=RUN.data["thresholds"]["regular_use"],
    log:
        f"logs/{RUN.year}/engagement.log",
    benchmark:
        f"logs/{RUN.year}/benchmarks/engagement.tsv",
    script:
        RUNNER


rule delivery_analysis:
    input:
        code=stage_code("cpdeval.analysis.delivery:run_delivery"),
        engagements=f"{ENGAGEMENT}/engagements.parquet",
        school_year=f"{ENGAGEMENT}/school_year.parquet",
        schools=ingested("schools")["table"],
        lineage=f"{DERIVED}/link/school_lineage.parquet",
        targets=ingested("targets")["table"],
    output:
        units_by_term=f"{DELIVERY}/units_by_term.parquet",
        units_by_year=f"{DELIVERY}/units_by_year.parquet",
        units_yoy=f"{DELIVERY}/units_yoy.parquet",
        reach=f"{DELIVERY}/reach.parquet",
        participants=f"{DELIVERY}/participants_by_role.parquet",
        schools_phase=f"{DELIVERY}/schools_by_phase.parquet",
        targets=f"{DELIVERY}/reach_targets.parquet",
        penetration_region=f"{DELIVERY}/penetration_region.parquet",
        penetration_la=f"{DELIVERY}/penetration_la.parquet",
        flows=f"{DELIVERY}/school_flows.parquet",
        summary=f"{DELIVERY}/summary.json",
        fig_units=f"{DELIVERY}/figures/units_by_year.png",
        fig_terms=f"{DELIVERY}/figures/units_by_term.png",
        fig_participants=f"{DELIVERY}/figures/participants.png",
        fig_schools=f"{DELIVERY}/figures/schools.png",
        fig_targets=f"{DELIVERY}/figures/targets.png",
        fig_penetration=f"{DELIVERY}/figures/penetration_la.png",
        fig_flows=f"{DELIVERY}/figures/school_flows.png",
    params:
        stage="cpdeval.analysis.delivery:run_delivery",
        years=RUN.data["years"],
        disclosure_min_count=RUN.disclosure_min_count,
    log:
        f"logs/{RUN.year}/delivery_analysis.log",
    benchmark:
        f"logs/{RUN.year}/benchmarks/delivery_analysis.tsv",
    script:
        RUNNER


rule operations_analysis:
    input:
        code=stage_code("cpdeval.analysis.operations:run_operations"),
        engagements=f"{ENGAGEMENT}/engagements.parquet",
        bookings=f"{DERIVED}/link/bookings_linked.parquet",
        targets=ingested("targets")["table"],
        partnerships=ingested("partnerships")["table"],
        survey_responses=ingested("survey_responses")["table"],
        instrument="schemas/instruments/practitioner_leader.yaml",
    output:
        partnership_targets=f"{OPERATIONS}/partnership_targets.parquet",
        practitioner_led=f"{OPERATIONS}/practitioner_led.parquet",
        funnel=f"{OPERATIONS}/booking_funnel.parquet",
        leader_delivery=f"{OPERATIONS}/leader_delivery.parquet",
        summary=f"{OPERATIONS}/summary.json",
        fig_partnerships=f"{OPERATIONS}/figures/partnership_targets.png",
        fig_practitioner=f"{OPERATIONS}/figures/practitioner_led.png",
        fig_funnel=f"{OPERATIONS}/figures/booking_funnel.png",
        fig_leaders=f"{OPERATIONS}/figures/leader_delivery.png",
    params:
        stage="cpdeval.analysis.operations:run_operations",
        years=RUN.data["years"],
        disclosure_min_count=RUN.disclosure_min_count,
    log:
        f"logs/{RUN.year}/operations_analysis.log",
    benchmark:
        f"logs/{RUN.year}/benchmarks/operations_analysis.tsv",
    script:
        RUNNER


CHAPTER_INPUTS["delivery"] = {
    **{name: path for name, path in rules.delivery_analysis.output.items()},
    "engagement_reconciliation": f"{ENGAGEMENT}/reconciliation.json",
}

CHAPTER_INPUTS["operations"] = {
    **{name: path for name, path in rules.operations_analysis.output.items()},
    "engagement_reconciliation": f"{ENGAGEMENT}/reconciliation.json",
}
