"""Stage of rules/targeted.smk: the "Targeted programme" chapter's tables, figures and summary (library:
:mod:`cpdeval.targeted`, figures :mod:`cpdeval.targeted_figures`; its inputs are read by ``ingest_targeted``)."""

from __future__ import annotations

from ..logs import step
from .io import Job, job_required, job_value, read_table, write_tables


def targeted_analysis(job: Job) -> None:
    from ..ingest.targeted import TARGETED_TABLES, load_codebook
    from ..targeted import BOOKING_COLUMNS, targeted_tables
    from ..targeted_figures import (
        fig_maturity,
        fig_outcome_types,
        fig_outcomes_by_audience,
    )
    from ..targeted_publish import outcome_counts_shown

    p, i, o = job.params, job.input, job.output
    read = {t: read_table(job_value(i, t)) for t in TARGETED_TABLES}
    bookings = read_table(job_value(i, "bookings"), columns=list(BOOKING_COLUMNS))
    lineage_path = job_value(i, "lineage")
    lineage = read_table(lineage_path) if lineage_path else None
    codebook = load_codebook(job_value(i, "codebook") or None)
    threshold = int(job_required(p, "disclosure_min_count"))
    with step(job.logger, "targeted programme tables"):
        t = targeted_tables(read["targeted_schools"], read["targeted_ofsted"], read["targeted_maturity"],
                            read["targeted_self_assessment"], read["targeted_case_outcomes"],
                            read["targeted_monitoring"], bookings, lineage, codebook=codebook,
                            min_days=int(job_required(p, "min_days")), unit_bands=list(job_required(p, "unit_bands")),
                            allow_names=bool(job_value(p, "allow_names", False)))
    write_tables(t, o, t.keys())   # every table as parquet, the summary as JSON
    with step(job.logger, "targeted programme figures"):
        # the counts the chapter's outcome tables hide (below the threshold, or to protect one) are hidden here too
        by_audience, by_type = t["outcomes_audience"], t["outcomes_type"]
        shown_audience, shown_type = outcome_counts_shown(by_audience, by_type, threshold=threshold)
        fig_outcomes_by_audience(by_audience, threshold, job_value(o, "fig_outcomes_audience"), shown_audience)
        fig_outcome_types(by_type, threshold, job_value(o, "fig_outcome_types"), shown_type)
        fig_maturity(t["maturity"], threshold, job_value(o, "fig_maturity"))
    for c in t["summary"]["checks"]:
        if not c["ok"]:
            job.logger.warning("data check: %s: %s", c["check"], c["found"])
