# The "Operations" chapter: partnerships against their targets, the practitioner-led share, the booking funnel and
# trained leaders' own delivery, with their figures. Stage: cpdeval.stages.operations (its OUTPUTS name the files).

from cpdeval.stages.operations import OUTPUTS as OPERATIONS_OUTPUTS

OPERATIONS = f"{DERIVED}/operations"


rule operations_analysis:
    input:
        code=stage_code("operations_analysis"),
        engagements=f"{ENGAGEMENT}/engagements.parquet",
        bookings=f"{DERIVED}/link/bookings_linked.parquet",
        targets=ingested("targets")["table"],
        partnerships=ingested("partnerships")["table"],
        survey_responses=ingested("survey_responses")["table"],
        instrument="schemas/instruments/practitioner_leader.yaml",
    output:
        **{name: f"{OPERATIONS}/{file}" for name, file in OPERATIONS_OUTPUTS.items()},
    params:
        years=RUN.data["years"],
        disclosure_min_count=RUN.disclosure_min_count,
    log:
        f"logs/{RUN.year}/operations_analysis.log",
    script:
        RUNNER


CHAPTER_INPUTS["operations"] = {
    **{name: path for name, path in rules.operations_analysis.output.items()},
    "engagement_reconciliation": f"{ENGAGEMENT}/reconciliation.json",
}
