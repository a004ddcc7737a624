# Attainment chapter (issue #7): KS4 and KS2 outcomes by user group as published, then adjusted estimates.
# Stage: cpdeval.stages.attainment; library: cpdeval.attainment (tables and estimates), attainment_groups (the
# group rules) and attainment_figures; the groups and comparisons are config (attainment.definitions).

ATTAINMENT = f"{DERIVED}/attainment"
ATTAINMENT_DEFINITIONS = RUN.data["attainment"]["definitions"]
ATTAINMENT_COMPARISONS = [c["id"] for c in load_yaml(ATTAINMENT_DEFINITIONS).get("comparisons") or []]


rule attainment_analysis:
    input:
        code=stage_code("attainment_analysis"),
        definitions=ATTAINMENT_DEFINITIONS,
        measures="config/measures.yaml",
        attainment=ingested("attainment_ks4")["table"],
        attainment_ks2=ingested("attainment_ks2")["table"],
        schools=ingested("schools")["table"],
        lineage=f"{DERIVED}/link/school_lineage.parquet",
        school_year=f"{DERIVED}/engagement/school_year.parquet",
        engagements=f"{DERIVED}/engagement/engagements.parquet",
        partnerships=ingested("partnerships")["table"],
        trained_leaders=ingested("trained_leaders")["table"],
        strategic_judgements=ingested("strategic_judgements")["table"],
        resource_registrations=ingested("resource_registrations")["table"],
    output:
        panel=f"{ATTAINMENT}/school_panel.parquet",
        groups=f"{ATTAINMENT}/user_groups.parquet",
        window_metrics=f"{ATTAINMENT}/window_metrics.parquet",
        membership=f"{ATTAINMENT}/group_membership.parquet",
        group_counts=f"{ATTAINMENT}/group_counts.parquet",
        comparisons=f"{ATTAINMENT}/comparisons.parquet",
        exclusions=f"{ATTAINMENT}/exclusions.parquet",
        estimates=f"{ATTAINMENT}/estimates.parquet",
        dose_response=f"{ATTAINMENT}/dose_response.parquet",
        balance=f"{ATTAINMENT}/balance.parquet",
        event_study=f"{ATTAINMENT}/event_study.parquet",
        evalues=f"{ATTAINMENT}/evalues.parquet",
        confounding=f"{ATTAINMENT}/confounding.parquet",
        summary=f"{ATTAINMENT}/summary.json",
        fig_event_study=f"{ATTAINMENT}/figures/event_study.png",
        fig_overlap=f"{ATTAINMENT}/figures/overlap.png",
        fig_dose_response=f"{ATTAINMENT}/figures/dose_response.png",
        fig_sensitivity=f"{ATTAINMENT}/figures/sensitivity.png",
        fig_top_quartile=f"{ATTAINMENT}/figures/top_quartile.png",
        **{f"fig_{cid}": f"{ATTAINMENT}/figures/{cid}.png" for cid in ATTAINMENT_COMPARISONS},
    params:
        years=RUN.data["years"],
        attainment=RUN.data["attainment"],
        disclosure_min_count=RUN.disclosure_min_count,
    log:
        f"logs/{RUN.year}/attainment_analysis.log",
    script:
        RUNNER


CHAPTER_INPUTS["attainment"] = {name: path for name, path in rules.attainment_analysis.output.items()}
