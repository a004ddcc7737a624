"""Stage of rules/delivery.smk: the "Delivery and reach" chapter's tables and figures (library:
:mod:`cpdeval.analysis.delivery`, figures :mod:`cpdeval.analysis.delivery_figures`)."""

from __future__ import annotations

from ..logs import step
from .io import Job, job_required, job_value, read_table, write_tables

#: output name -> file under the year's derived delivery folder (the rule's outputs are built from this)
OUTPUTS = {
    "units_by_term": "units_by_term.parquet", "units_by_year": "units_by_year.parquet",
    "units_yoy": "units_yoy.parquet", "reach": "reach.parquet", "participants": "participants_by_role.parquet",
    "schools_phase": "schools_by_phase.parquet",
    "targets": "reach_targets.parquet", "penetration_region": "penetration_region.parquet",
    "penetration_la": "penetration_la.parquet", "flows": "school_flows.parquet", "summary": "summary.json",
    # figures
    "fig_units": "figures/units_by_year.png", "fig_terms": "figures/units_by_term.png",
    "fig_participants": "figures/participants.png", "fig_schools": "figures/schools.png",
    "fig_targets": "figures/targets.png", "fig_penetration": "figures/penetration_la.png",
    "fig_flows": "figures/school_flows.png",
}


def delivery_analysis(job: Job) -> None:
    from ..analysis import delivery_figures as figs
    from ..analysis.delivery import ENGAGEMENT_COLUMNS, delivery_tables
    from ..analysis.delivery_publish import la_shares_shown

    p, inp, out = job.params, job.input, job.output
    years = dict(job_required(p, "years"))
    threshold = int(job_required(p, "disclosure_min_count"))
    with step(job.logger, "reading the engagement tables and the register"):
        eng = read_table(job_value(inp, "engagements"), columns=list(ENGAGEMENT_COLUMNS))
        sy, schools, lineage, targets = (read_table(job_value(inp, k)) for k in
                                         ("school_year", "schools", "lineage", "targets"))
    with step(job.logger, f"computing delivery and reach for {len(years['delivery'])} years"):
        t = delivery_tables(eng, sy, schools, lineage, targets, years=years)
    write_tables(t, out, [name for name in OUTPUTS if not name.startswith("fig_")])
    rep = t["summary"]["reporting_year"]
    with step(job.logger, "drawing figures"):
        figs.fig_units_by_year(t["units_by_year"], t["units_yoy"], t["targets"], rep, job_value(out, "fig_units"))
        figs.fig_units_by_term(t["units_by_term"], rep, job_value(out, "fig_terms"))
        figs.fig_participants(t["participants"], rep, threshold, job_value(out, "fig_participants"))
        figs.fig_schools(t["schools_phase"], rep, threshold, job_value(out, "fig_schools"))
        figs.fig_targets(t["targets"], rep, threshold, job_value(out, "fig_targets"))
        # the authorities the chapter's table hides (below the threshold, or to protect one) are hidden here too
        shown = la_shares_shown(t["penetration_region"], t["penetration_la"], threshold=threshold)
        figs.fig_penetration_la(t["penetration_la"], t["penetration_region"], threshold,
                                job_value(out, "fig_penetration"), shown)
        figs.fig_school_flows(t["flows"], rep, threshold, job_value(out, "fig_flows"))
    if t["summary"]["attended_bookings_outside_years"]:
        job.logger.warning("%d attended bookings fall outside the configured delivery years and are not counted",
                           t["summary"]["attended_bookings_outside_years"])
