"""Stage of rules/attainment.smk: the "Attainment" chapter's tables (parquet), summary (JSON) and figures
(library: :mod:`cpdeval.attainment`, groups :mod:`cpdeval.attainment_groups`, figures
:mod:`cpdeval.attainment_figures`)."""

from __future__ import annotations

from ..logs import step
from .io import Job, job_required, job_value, read_optional, write_tables


def attainment_analysis(job: Job) -> None:
    from .. import attainment_figures as figs
    from ..attainment import (
        OUTPUT_TABLES,
        PERFORMANCE_COLUMNS,
        REFERENCE_INPUTS,
        attainment_tables,
        settings,
    )
    from ..attainment_groups import ENGAGEMENT_COLUMNS
    from ..config import load_yaml
    from ..ingest.performance import load_measure_map

    p, inp, out = job.params, job.input, job.output
    years = dict(job_required(p, "years"))
    cfg = settings(job_required(p, "attainment"), years.get("attainment") or [],
                   load_yaml(job_value(inp, "definitions")), load_measure_map(job_value(inp, "measures")))
    with step(job.logger, "reading attainment, register, lineage, engagements and reference tables"):
        names = {"attainment_ks4": "attainment", "attainment_ks2": "attainment_ks2", "schools": "schools",
                 "lineage": "lineage", "school_year": "school_year", "engagements": "engagements",
                 **REFERENCE_INPUTS}
        # the large tables by the columns the library reads (less to read, and its filters copy less)
        columns = {"attainment_ks4": PERFORMANCE_COLUMNS, "attainment_ks2": PERFORMANCE_COLUMNS,
                   "engagements": ENGAGEMENT_COLUMNS}
        data = {k: read_optional(job_value(inp, v), columns.get(k)) for k, v in names.items()}
    with step(job.logger, f"attainment comparisons and estimates for {cfg['outcome_year']}"):
        t = attainment_tables(data, cfg, logger=job.logger)
    write_tables(t, out, [*OUTPUT_TABLES, "summary"])
    with step(job.logger, "drawing figures"):
        figs.draw_all(t, cfg, {k: job_value(out, k) for k in out.keys()},
                      threshold=int(job_required(p, "disclosure_min_count")))
