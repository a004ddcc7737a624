"""Stage of rules/operations.smk: the "Operations" chapter's tables and figures: partnerships against targets,
the practitioner-led share, the booking funnel and trained leaders' delivery (library:
:mod:`cpdeval.analysis.operations`, figures :mod:`cpdeval.analysis.operations_figures`)."""

from __future__ import annotations

from ..logs import step
from .io import Job, job_required, job_value, read_table, write_tables

#: output name -> file under the year's derived operations folder (the rule's outputs are built from this)
OUTPUTS = {"partnership_targets": "partnership_targets.parquet", "practitioner_led": "practitioner_led.parquet",
           "funnel": "booking_funnel.parquet", "leader_delivery": "leader_delivery.parquet", "summary": "summary.json",
           "fig_partnerships": "figures/partnership_targets.png", "fig_practitioner": "figures/practitioner_led.png",
           "fig_funnel": "figures/booking_funnel.png", "fig_leaders": "figures/leader_delivery.png"}


def operations_analysis(job: Job) -> None:
    from ..analysis import operations_figures as figs
    from ..analysis.operations import BOOKING_COLUMNS, ENGAGEMENT_COLUMNS, SURVEY_COLUMNS, operations_tables
    from ..ingest.surveys import load_instrument

    p, inp, out = job.params, job.input, job.output
    years = dict(job_required(p, "years"))
    threshold = int(job_required(p, "disclosure_min_count"))
    # only the columns the tables use: the whole engagements, bookings and survey tables took about 700 MB more
    # at peak (national synthetic year) and every filter copied all of their columns
    columns = {"engagements": ENGAGEMENT_COLUMNS, "bookings": BOOKING_COLUMNS, "survey_responses": SURVEY_COLUMNS}
    with step(job.logger, "reading engagements, bookings, targets, partnerships and survey responses"):
        eng, bookings, targets, partnerships, survey = (
            read_table(job_value(inp, k), columns=list(columns[k]) if k in columns else None)
            for k in ("engagements", "bookings", "targets", "partnerships", "survey_responses"))
    try:
        instrument = load_instrument("practitioner_leader").definition
    except KeyError:
        instrument = None
    with step(job.logger, "computing the operations tables"):
        t = operations_tables(eng, bookings, targets, partnerships, survey, years=years, instrument=instrument)
    write_tables(t, out, [name for name in OUTPUTS if not name.startswith("fig_")])
    rep = t["summary"]["reporting_year"]
    with step(job.logger, "drawing figures"):
        figs.fig_partnership_targets(t["partnership_targets"], rep, job_value(out, "fig_partnerships"))
        figs.fig_practitioner_led(t["practitioner_led"], rep, threshold, job_value(out, "fig_practitioner"))
        figs.fig_funnel(t["funnel"], rep, threshold, job_value(out, "fig_funnel"))
        figs.fig_leader_delivery(t["leader_delivery"], threshold, job_value(out, "fig_leaders"))
