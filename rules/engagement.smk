# Engagement: attended bookings as engagements (one per booking, with its school's stable key, term and units),
# then schools x years with first, regular and lapsed use. Stage: cpdeval.stages.engagement.

ENGAGEMENT = f"{DERIVED}/engagement"


rule engagement:
    input:
        code=stage_code("engagement"),
        bookings=f"{DERIVED}/link/bookings_linked.parquet",
        schools=ingested("schools")["table"],
        lineage=f"{DERIVED}/link/school_lineage.parquet",
        priority_schools=ingested("priority_schools")["table"],
        contracts=["schemas/engagements.yaml", "schemas/school_year.yaml"],
    output:
        engagements=f"{ENGAGEMENT}/engagements.parquet",
        school_year=f"{ENGAGEMENT}/school_year.parquet",
        reconciliation=f"{ENGAGEMENT}/reconciliation.json",
    params:
        years=RUN.data["years"],
        regular_use=RUN.data["thresholds"]["regular_use"],
    log:
        f"logs/{RUN.year}/engagement.log",
    script:
        RUNNER
