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
        code=stage_code("audit"),
        reconciliation=[ingested(t)["reconciliation"] for t in INGESTED_TABLES],
        quarantine=[ingested(t)["quarantine"] for t in INGESTED_TABLES],
        contracts=sorted(str(p) for p in Path(workflow.basedir, "schemas").glob("*.yaml")),
    output:
        reconciliation=f"{DERIVED}/audit/reconciliation.parquet",
        quarantine_summary=f"{DERIVED}/audit/quarantine_summary.parquet",
        data_dictionary=f"{DERIVED}/audit/data_dictionary.parquet",
    log:
        f"logs/{RUN.year}/audit.log",
    script:
        RUNNER


rule provenance:
    input:
        code=stage_code("provenance"),
        raw=RUN.configured_input_files(),
        reconciliation=f"{DERIVED}/audit/reconciliation.parquet",
    output:
        f"{DERIVED}/audit/provenance.json",
    params:
        config_files=CONFIG_FILES,
        year=RUN.year,
        key={"origin": KEY.origin, "fingerprint": KEY.fingerprint, "is_test_key": KEY.is_test_key},
        absent=RUN.absent_inputs(),
    log:
        f"logs/{RUN.year}/provenance.log",
    script:
        RUNNER


rule render_chapter:
    input:
        # every chapter ends with what it was built from, so every chapter reads the provenance record
        unpack(lambda w: {**CHAPTER_INPUTS[w.chapter], "provenance": f"{DERIVED}/audit/provenance.json",
                          "sources": RUN.data["report"]["sources"]}),
        code=stage_code("render_chapter"),
        qmd="reports/{chapter}.qmd",
        quarto_settings="reports/_quarto.yml",
    output:
        reports=[report(f"{REPORTS}/{{chapter}}.{fmt}", category="Chapters", caption="../reports/captions/chapter.rst")
                 for fmt in RUN.formats],
        # every table the chapter publishes, with its totals, for the disclosure audit
        publication=f"{DERIVED}/publication/{{chapter}}.jsonl",
        # the executed chapter, before numbering, for the assembled report
        part=f"{DERIVED}/publication/{{chapter}}.md",
    params:
        engine=RUN.data["render"]["engine"],
        year=RUN.year,
        title=RUN.data.get("title", RUN.year),
        disclosure_min_count=RUN.disclosure_min_count,
    wildcard_constraints:
        chapter="|".join(CHAPTER_INPUTS),
    log:
        f"logs/{RUN.year}/render_{{chapter}}.log",
    script:
        RUNNER


# The assembled report is made in the derived folder, scanned there by the audit with everything else, and copied
# to the reports folder only once the audit has passed (publish_report).
ASSEMBLED = {"html": f"{DERIVED}/report/report.html", "docx": f"{DERIVED}/report/report.docx",
             "index": f"{DERIVED}/report/index.html"}
PUBLISHED = {"html": f"{REPORTS}/report.html", "docx": f"{REPORTS}/report.docx", "index": f"{REPORTS}/index.html"}


rule disclosure_audit:
    """The attacker's check of every published table (no suppressed cell recoverable from the totals and
    percentages published beside it) and the personal-data leak scan of every derived file and report, the
    assembled report (not yet published) included."""
    input:
        code=stage_code("disclosure_audit"),
        publications=expand(f"{DERIVED}/publication/{{chapter}}.jsonl", chapter=RUN.chapters),
        reports=expand(f"{REPORTS}/{{chapter}}.{{fmt}}", chapter=RUN.chapters, fmt=RUN.formats),
        assembled=list(ASSEMBLED.values()),
        raw=RUN.configured_input_files(),
    output:
        f"{DERIVED}/audit/disclosure_audit.json",
    params:
        derived=DERIVED,
        reports=REPORTS,
        # last run's published copies of what is scanned now in the derived folder
        published=list(PUBLISHED.values()),
        threshold=RUN.disclosure_min_count,
    log:
        f"logs/{RUN.year}/disclosure_audit.log",
    script:
        RUNNER


# What the key findings of the assembled report are drawn from, for the chapters this year has.
FINDINGS_INPUTS = {}
if "delivery" in RUN.chapters:
    FINDINGS_INPUTS |= {"delivery_summary": CHAPTER_INPUTS["delivery"]["summary"],
                        "delivery_reach": CHAPTER_INPUTS["delivery"]["reach"],
                        "delivery_yoy": CHAPTER_INPUTS["delivery"]["units_yoy"],
                        "delivery_targets": CHAPTER_INPUTS["delivery"]["targets"]}
if "impact" in RUN.chapters:
    FINDINGS_INPUTS["survey_summary"] = CHAPTER_INPUTS["impact"]["survey_summary"]
if "operations" in RUN.chapters:
    FINDINGS_INPUTS["operations_funnel"] = CHAPTER_INPUTS["operations"]["funnel"]
if "attainment" in RUN.chapters:
    FINDINGS_INPUTS |= {"attainment_estimates": CHAPTER_INPUTS["attainment"]["estimates"],
                        "attainment_summary": CHAPTER_INPUTS["attainment"]["summary"]}


rule report:
    """One assembled report of the year (HTML and Word), and the landing page, in the derived folder: the
    disclosure audit scans them before publish_report copies them to the reports folder."""
    input:
        code=stage_code("report"),
        parts=expand(f"{DERIVED}/publication/{{chapter}}.md", chapter=RUN.chapters),
        sources=RUN.data["report"]["sources"],
        prose=[p["file"] for p in RUN.data["report"]["prose"]],
        **FINDINGS_INPUTS,
    output:
        **ASSEMBLED,
    params:
        config=RUN.data,
        chapters=RUN.chapters,
        threshold=RUN.disclosure_min_count,
    log:
        f"logs/{RUN.year}/report.log",
    script:
        RUNNER


rule publish_report:
    """The assembled report and landing page, copied to the reports folder once the disclosure audit has passed."""
    input:
        code=stage_code("publish_report"),
        audit=f"{DERIVED}/audit/disclosure_audit.json",
        **ASSEMBLED,
    output:
        html=report(PUBLISHED["html"], category="Report", caption="../reports/captions/report.rst"),
        docx=PUBLISHED["docx"],
        index=PUBLISHED["index"],
    log:
        f"logs/{RUN.year}/publish_report.log",
    script:
        RUNNER
