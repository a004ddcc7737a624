# Attainment chapter (issue #7): KS4 outcomes by user group as published, then adjusted estimates.
# Logic lives in src/cpdeval/attainment.py (stage run_attainment); the window rule is documented there.

ATTAINMENT = f"{DERIVED}/attainment"


rule attainment_analysis:
    input:
        attainment=ingested("attainment_ks4")["table"],
        schools=ingested("schools")["table"],
        lineage=f"{DERIVED}/link/school_lineage.parquet",
        school_year=f"{DERIVED}/engagement/school_year.parquet",
    output:
        panel=f"{ATTAINMENT}/school_panel.parquet",
        groups=f"{ATTAINMENT}/user_groups.parquet",
        descriptive=f"{ATTAINMENT}/descriptive.parquet",
        descriptive_intensity=f"{ATTAINMENT}/descriptive_intensity.parquet",
        estimates=f"{ATTAINMENT}/estimates.parquet",
        balance=f"{ATTAINMENT}/balance.parquet",
        event_study=f"{ATTAINMENT}/event_study.parquet",
        evalues=f"{ATTAINMENT}/evalues.parquet",
        summary=f"{ATTAINMENT}/summary.json",
        fig_event_study=f"{ATTAINMENT}/figures/event_study.png",
        fig_overlap=f"{ATTAINMENT}/figures/overlap.png",
    params:
        stage="cpdeval.attainment:run_attainment",
        years=RUN.data["years"],
        attainment=RUN.data.get("attainment", {}),
        disclosure_min_count=RUN.disclosure_min_count,
    log:
        f"logs/{RUN.year}/attainment_analysis.log",
    benchmark:
        f"logs/{RUN.year}/benchmarks/attainment_analysis.tsv"
    script:
        RUNNER


CHAPTER_INPUTS["attainment"] = {name: path for name, path in rules.attainment_analysis.output.items()}
