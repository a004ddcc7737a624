# Link: URN lineage across academy conversions and mergers, and every booking matched to a school.

rule link:
    input:
        code=stage_code("link"),
        bookings=ingested("bookings")["table"],
        schools=ingested("schools")["table"],
        links=f"{DERIVED}/ingest/links.parquet",
    output:
        lineage=f"{DERIVED}/link/school_lineage.parquet",
        lineage_issues=f"{DERIVED}/link/lineage_issues.parquet",
        bookings=f"{DERIVED}/link/bookings_linked.parquet",
        unmatched=f"{DERIVED}/link/unmatched_bookings.parquet",
        match_rates=f"{DERIVED}/link/match_rates.parquet",
    params:
        min_confidence=RUN.data["thresholds"]["match_min_confidence"],
        years=RUN.data["years"],
    log:
        f"logs/{RUN.year}/link.log",
    script:
        RUNNER
