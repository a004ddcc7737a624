"""Stage of rules/link.smk: URN lineage across academy conversions and mergers, then every booking matched to
a school and given its stable school key (library: :mod:`cpdeval.link`)."""

from __future__ import annotations

from ..logs import step
from .io import Job, job_value, read_table, write_table


def link(job: Job) -> None:
    import polars as pl

    from ..link.lineage import build_lineage
    from ..link.matching import link_bookings

    bookings, schools, links = (read_table(job_value(job.input, k)) for k in ("bookings", "schools", "links"))
    with step(job.logger, f"building URN lineage from {links.height} links"):
        urns = pl.concat([schools["urn"], bookings["urn"].drop_nulls(), links["urn"], links["link_urn"]]).unique()
        lineage, issues = build_lineage(links, urns.sort().to_list())
    with step(job.logger, f"matching {bookings.height} bookings to {schools.height} schools"):
        linked, unmatched, rates = link_bookings(bookings, schools, lineage,
                                                 min_confidence=job.params.min_confidence,
                                                 fy_start_month=job.params.years["financial_year_start_month"])
    out = job.output
    for name, df in (("lineage", lineage), ("lineage_issues", issues), ("bookings", linked),
                     ("unmatched", unmatched), ("match_rates", rates)):
        write_table(df, job_value(out, name))
    matched = linked.height - linked["urn"].null_count()   # (counted on the column: a filter would copy the table)
    job.logger.info("matched %d of %d bookings (%.1f%%); %d lineage issues reported", matched, linked.height,
                    100 * matched / max(linked.height, 1), issues.height)
