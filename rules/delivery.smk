# The "Delivery and reach" chapter: CPD units by term and year, participants and schools reached, targets,
# penetration and school flows, with their figures. Stage: cpdeval.stages.delivery (its OUTPUTS name the files).

from cpdeval.stages.delivery import OUTPUTS as DELIVERY_OUTPUTS

DELIVERY = f"{DERIVED}/delivery"


rule delivery_analysis:
    input:
        code=stage_code("delivery_analysis"),
        engagements=f"{ENGAGEMENT}/engagements.parquet",
        school_year=f"{ENGAGEMENT}/school_year.parquet",
        schools=ingested("schools")["table"],
        lineage=f"{DERIVED}/link/school_lineage.parquet",
        targets=ingested("targets")["table"],
    output:
        **{name: f"{DELIVERY}/{file}" for name, file in DELIVERY_OUTPUTS.items()},
    params:
        years=RUN.data["years"],
        disclosure_min_count=RUN.disclosure_min_count,
    log:
        f"logs/{RUN.year}/delivery_analysis.log",
    script:
        RUNNER


CHAPTER_INPUTS["delivery"] = {
    **{name: path for name, path in rules.delivery_analysis.output.items()},
    "engagement_reconciliation": f"{ENGAGEMENT}/reconciliation.json",
}
