"""Stage of rules/engagement.smk: linked bookings -> engagements, schools x years and their reconciliation
(library: :mod:`cpdeval.engagement`)."""

from __future__ import annotations

from ..logs import step
from .io import Job, job_value, read_optional, read_table, write_json, write_table


def engagement(job: Job) -> None:
    import polars as pl

    from ..contracts import load_contract
    from ..engagement import (BOOKING_COLUMNS, apply_priority_list, build_engagements, build_school_year,
                              reconcile_engagements)

    p = job.params
    years = dict(p.years)
    regular = dict(p.regular_use)
    with step(job.logger, "reading linked bookings, the register and the URN lineage"):
        bookings = read_table(job_value(job.input, "bookings"), columns=list(BOOKING_COLUMNS))
        schools, lineage = (read_table(job_value(job.input, k)) for k in ("schools", "lineage"))
    with step(job.logger, f"building the engagement table from {bookings.height} bookings"):
        eng = build_engagements(bookings, schools, lineage, fy_start_month=int(years["financial_year_start_month"]),
                                terms=years.get("terms"))
        eng, priority_basis = apply_priority_list(eng, read_optional(job_value(job.input, "priority_schools")),
                                                  lineage)
    with step(job.logger, "aggregating schools x years"):
        sy = build_school_year(eng, delivery_years=years.get("delivery"),
                               regular_min_years=int(regular["min_years"]), regular_of_last=int(regular["of_last"]))
    rec = {**reconcile_engagements(bookings, eng, sy), "priority_basis": priority_basis}
    for name, df in (("engagements", eng), ("school_year", sy)):
        contract = load_contract(name)
        missing = [c for c in contract.column_names if c not in df.columns]
        if missing:
            raise RuntimeError(f"{name}: columns {missing} of schemas/{name}.yaml are missing")
        df = df.select([pl.col(c.name).cast(c.polars_dtype) for c in contract.columns])
        contract.check(df)
        write_table(df, job_value(job.output, name))
    write_json(rec, job_value(job.output, "reconciliation"))
    job.logger.info("%d attended bookings (of %d) are engagements; %d without an identified school; "
                    "%d school-years", rec["engagements"], rec["bookings"], rec["engagements_without_school"],
                    sy.height)
