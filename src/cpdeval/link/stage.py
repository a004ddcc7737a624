"""The link stage: URN lineage, then every booking matched to a school and given its stable school key."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from ..calendar import financial_year_expr
from ..logs import step


def link_bookings(bookings_path: str, schools_path: str, links_path: str, outputs: dict, *,
                  min_confidence: float, years: dict, logger: logging.Logger | None = None) -> None:
    """Write the lineage table and its issues, bookings with their school, the unmatched list, match rates."""
    from .lineage import build_lineage
    from .matching import match_bookings, match_rates

    logger = logger or logging.getLogger("cpdeval.link")
    bookings = pl.read_parquet(bookings_path)
    schools = pl.read_parquet(schools_path)
    links = pl.read_parquet(links_path)
    with step(logger, f"building URN lineage from {links.height} links"):
        urns = pl.concat([schools["urn"], bookings["urn"].drop_nulls(), links["urn"], links["link_urn"]]).unique()
        lineage, issues = build_lineage(links, urns.sort().to_list())
    with step(logger, f"matching {bookings.height} bookings to {schools.height} schools"):
        matches, unmatched = match_bookings(bookings, schools, lineage, min_confidence=min_confidence)
    linked = bookings.drop(["urn"]).join(
        matches.select("booking_id", "urn", "school_key", "match_method", "match_confidence"),
        on="booking_id", how="left", validate="1:1",
    ).with_columns(financial_year_expr("start_date", years["financial_year_start_month"]).alias("financial_year"))
    if linked.height != bookings.height:
        raise RuntimeError(f"linking changed the number of bookings: {bookings.height} -> {linked.height}")
    rates = match_rates(linked, by=["provider", "financial_year"])
    for p in outputs.values():
        Path(p).parent.mkdir(parents=True, exist_ok=True)
    lineage.write_parquet(outputs["lineage"], statistics=False)
    issues.write_parquet(outputs["lineage_issues"], statistics=False)
    linked.write_parquet(outputs["bookings"], statistics=False)
    unmatched.write_parquet(outputs["unmatched"], statistics=False)
    rates.write_parquet(outputs["match_rates"], statistics=False)
    matched = linked.filter(pl.col("urn").is_not_null()).height
    logger.info("matched %d of %d bookings (%.1f%%); %d lineage issues reported", matched, linked.height,
                100 * matched / max(linked.height, 1), issues.height)
