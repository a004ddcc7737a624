# Reports: the audit tables the methods chapter prints, provenance, and one rendered file per chapter.

INGESTED_TABLES = ["bookings", "schools", "links", "attainment_ks4", "attainment_ks2", "survey_responses",
                   *REFERENCE_TABLES, "feedback_coded", *TARGETED_TABLES]

CHAPTER_INPUTS["methods"] = {
    "reconciliation": f"{DERIVED}/audit/reconciliation.parquet",
    "quarantine_summary": f"{DERIVED}/audit/quarantine_summary.parquet",
    "match_rates": f"{DERIVED}/link/match_rates.parquet",
    "lineage_issues": f"{DERIVED}/link/lineage_issues.parquet",
    "lineage": f"{DERIVED}/link/school_lineage.parquet",
    "schools": ingested("schools")["table"],
}

# The analysts' quality report: checks, contracts and provenance, never part of the published report.
CHAPTER_INPUTS["qa"] = {
    "reconciliation": f"{DERIVED}/audit/reconciliation.parquet",
    "quarantine_summary": f"{DERIVED}/audit/quarantine_summary.parquet",
    "data_dictionary": f"{DERIVED}/audit/data_dictionary.parquet",
    "published_checks": f"{SURVEYS}/published_checks.parquet",
    "disclosure_audit": f"{DERIVED}/audit/disclosure_audit.json",
}


rule audit:
    input:
        code=stage_code("cpdeval.stages:audit"),
        reconciliation=[ingested(t)["reconciliation"] for t in INGESTED_TABLES],
        quarantine=[ingested(t)["quarantine"] for t in INGESTED_TABLES],
        contracts=sorted(str(p) for p in Path(workflow.basedir, "schemas").glob("*.yaml")),
    output:
        reconciliation=f"{DERIVED}/audit/reconciliation.parquet",
        quarantine_summary=f"{DERIVED}/audit/quarantine_summary.parquet",
        data_dictionary=f"{DERIVED}/audit/data_dictionary.parquet",
    log:
        f"logs/{RUN.year}/audit.log",
    benchmark:
        f"logs/{RUN.year}/benchmarks/audit.tsv",
    script:
        RUNNER


rule provenance:
    input:
        code=stage_code("cpdeval.stages:provenance"),
        raw=RUN.configured_input_files(),
        reconciliation=f"{DERIVED}/audit/reconciliation.parquet",
    output:
        f"{DERIVED}/audit/provenance.json",
    params:
        config_files=CONFIG_FILES,
        year=RUN.year,
        key={"origin": KEY.origin, "fingerprint": KEY.fingerprint, "is_test_key": KEY.is_test_key},
    log:
        f"logs/{RUN.year}/provenance.log",
    benchmark:
        f"logs/{RUN.year}/benchmarks/provenance.tsv",
    script:
        RUNNER


rule render_chapter:
    input:
        # every chapter ends with what it was built from, so every chapter reads the provenance record
        unpack(lambda w: {**CHAPTER_INPUTS[w.chapter], "provenance": f"{DERIVED}/audit/provenance.json"}),
        code=stage_code("cpdeval.stages:render_chapter"),
        qmd="reports/{chapter}.qmd",
        quarto_settings="reports/_quarto.yml",
    output:
        reports=[report(f"{REPORTS}/{{chapter}}.{fmt}", category="Chapters", caption="../reports/captions/chapter.rst")
                 for fmt in RUN.formats],
        # every table the chapter publishes, with its totals, for the disclosure audit
        publication=f"{DERIVED}/publication/{{chapter}}.jsonl",
    params:
        engine=RUN.data["render"]["engine"],
        year=RUN.year,
        title=RUN.data.get("title", RUN.year),
        disclosure_min_count=RUN.disclosure_min_count,
    wildcard_constraints:
        chapter="|".join(CHAPTER_INPUTS),
    log:
        f"logs/{RUN.year}/render_{{chapter}}.log",
    benchmark:
        f"logs/{RUN.year}/benchmarks/render_{{chapter}}.tsv",
    script:
        RUNNER


rule disclosure_audit:
    """The attacker's check of every published table (no suppressed cell recoverable from the totals and
    percentages published beside it) and the personal-data leak scan of every derived file and report."""
    input:
        code=stage_code("cpdeval.stages:disclosure_audit"),
        publications=expand(f"{DERIVED}/publication/{{chapter}}.jsonl", chapter=RUN.chapters),
        reports=expand(f"{REPORTS}/{{chapter}}.{{fmt}}", chapter=RUN.chapters, fmt=RUN.formats),
        raw=RUN.configured_input_files(),
    output:
        f"{DERIVED}/audit/disclosure_audit.json",
    params:
        derived=DERIVED,
        reports=REPORTS,
        threshold=RUN.disclosure_min_count,
    log:
        f"logs/{RUN.year}/disclosure_audit.log",
    benchmark:
        f"logs/{RUN.year}/benchmarks/disclosure_audit.tsv",
    script:
        RUNNER
