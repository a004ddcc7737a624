# Ingest: read each raw input, map it onto its contract (schemas/), validate it; bad rows go to quarantine,
# and a reconciliation record proves rows in = rows accepted + rows quarantined (+ rows set aside by design).
# Stages: cpdeval.stages.ingest.

from cpdeval.config import TARGETED_INPUTS

TARGETED_TABLES = list(TARGETED_INPUTS.values())
TARGETED_CFG = RUN.data["inputs"].get("targeted") or {}

# the largest ingest, and link, engagement and the survey analysis wait on it: start it first
rule ingest_bookings:
    priority: 10
    input:
        code=stage_code("ingest_bookings"),
        files=RUN.booking_files,
        contract="schemas/bookings.yaml",
    output:
        **ingested("bookings"),
    params:
        quality=RUN.data["quality"],
        sheets=RUN.data["inputs"]["sheets"],
        pseudonymisation=config.get("pseudonymisation"),
        synthetic=RUN.is_synthetic,
        key_fingerprint=KEY.fingerprint,
        file_years=RUN.booking_file_years,
        years=RUN.data["years"],
    log:
        f"logs/{RUN.year}/ingest_bookings.log",
    script:
        RUNNER


rule ingest_register:
    input:
        code=stage_code("ingest_register"),
        register=RUN.data["inputs"]["register"],
        links=RUN.data["inputs"]["links"],
        census=optional(RUN.optional_input("census")),
        contracts=["schemas/register.yaml", "schemas/links.yaml"],
    output:
        **ingested("schools"),
        links_table=f"{DERIVED}/ingest/links.parquet",
        links_quarantine=f"{DERIVED}/quarantine/links.parquet",
        links_reconciliation=f"{DERIVED}/reconciliation/links.json",
    params:
        quality=RUN.data["quality"],
        encoding={k: RUN.data["inputs"][f"{k}_encoding"] for k in ("register", "links", "census")},
    log:
        f"logs/{RUN.year}/ingest_register.log",
    script:
        RUNNER


rule ingest_performance:
    input:
        code=stage_code("ingest_performance"),
        files=lambda w: list(RUN.performance_files(w.ks).values()),
        measures="config/measures.yaml",
        contract="schemas/attainment.yaml",
    output:
        **ingested("attainment_{ks}"),
    params:
        quality=RUN.data["quality"],
        years=lambda w: list(RUN.performance_files(w.ks)),
    wildcard_constraints:
        ks="ks2|ks4",
    log:
        f"logs/{RUN.year}/ingest_performance_{{ks}}.log",
    script:
        RUNNER


rule ingest_surveys:
    input:
        code=stage_code("ingest_surveys"),
        files=list(RUN.survey_files.values()),
        instruments=[f"schemas/instruments/{name}.yaml" for name in RUN.survey_files],
    output:
        **ingested("survey_responses"),
    params:
        quality=RUN.data["quality"],
        sheets=RUN.data["inputs"]["sheets"],
        instruments=list(RUN.survey_files),
    log:
        f"logs/{RUN.year}/ingest_surveys.log",
    script:
        RUNNER


rule ingest_reference:
    input:
        code=stage_code("ingest_reference"),
        **{t: optional(RUN.optional_input(t)) for t in (*REFERENCE_TABLES, "feedback_coded")},
    output:
        **{f"{t}_{k}": v for t in (*REFERENCE_TABLES, "feedback_coded") for k, v in ingested(t).items()},
    params:
        quality=RUN.data["quality"],
        sheets=RUN.data["inputs"]["sheets"],
        pseudonymisation=config.get("pseudonymisation"),
        synthetic=RUN.is_synthetic,
        key_fingerprint=KEY.fingerprint,
    log:
        f"logs/{RUN.year}/ingest_reference.log",
    script:
        RUNNER


# The targeted programme's inputs (inputs.targeted): a year without them gets empty tables.
rule ingest_targeted:
    input:
        code=stage_code("ingest_targeted"),
        **{key: optional(TARGETED_CFG.get(key)) for key in TARGETED_INPUTS},
        codebook="config/codebooks/case_outcomes.yaml",
        contracts=[f"schemas/{t}.yaml" for t in TARGETED_TABLES],
    output:
        **{f"{t}_{k}": v for t in TARGETED_TABLES for k, v in ingested(t).items()},
    params:
        quality=RUN.data["quality"],
    log:
        f"logs/{RUN.year}/ingest_targeted.log",
    script:
        RUNNER
