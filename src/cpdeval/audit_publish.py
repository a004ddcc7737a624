"""What the "Methods and data" chapter and the analysts' quality report print from the audit tables: published
tables (reconciliation, quarantine, match rates, lineage problems, data dictionary, checks of the source
reports' figures) and the counts their sentences share.

One ``publish_*`` function per table. Each takes the derived table(s) of :mod:`cpdeval.audit` (and of the
linking and survey stages) as the chapters read them, reshapes them for the page and returns a
:class:`cpdeval.tables.PublishedTable` with the chapter's headers. These tables count records processed, not
people or schools, so every count is a ``number`` shown in full. The chapters keep the prose and call these in
the same order as before, so the publication log sees the same tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import polars as pl

from .link.lineage import ISSUE_LABELS
from .link.matching import METHOD_LABELS

if TYPE_CHECKING:
    from .tables import PublishedTable

__all__ = [
    "NOT_MATCHED", "PROVIDER_NAMES",
    "reconciliation_by_table", "quarantine_rows", "match_methods", "matched_bookings", "match_method_rows",
    "match_rates_by_provider", "year_lineage_issues", "joined_schools", "lineage_issue_counts",
    "figure_checks", "discrepancy_rows", "quarantine_detail_rows",
    "publish_reconciliation", "publish_quarantine", "publish_match_methods", "publish_match_rates",
    "publish_lineage_issues", "publish_discrepancies", "publish_reconciliation_files",
    "publish_quarantine_detail", "publish_dictionary",
]

#: Match methods that leave a booking without a school.
NOT_MATCHED = ["unmatched", "ambiguous"]

#: Providers of the match-rate table, by code.
PROVIDER_NAMES = {"national": "National centre", "regional": "Regional partnerships", "other": "Other providers"}


def _title(title: Callable[[str], str] | None) -> Callable[[str], str]:
    if title is not None:
        return title
    from .chapter import table_title

    return table_title


def _n(header: str, decimals: int = 0, **kw: Any) -> dict[str, Any]:
    return {"kind": "number", "decimals": decimals, "header": header, **kw}


def _label(header: str) -> dict[str, Any]:
    return {"kind": "label", "header": header}


# -- inputs and reconciliation (methods) ----------------------------------------------------------------------

def reconciliation_by_table(rec: pl.DataFrame, title: Callable[[str], str] | None = None) -> pl.DataFrame:
    """The reconciliation summed over each table's files (tables in first-seen order, named by ``title``,
    default :func:`cpdeval.chapter.table_title`): files, rows in, accepted, quarantined and set aside,
    ``balanced`` when every file balances, and ``ok`` ("yes" or "NO")."""
    return (rec.with_columns(pl.col("table").map_elements(_title(title), return_dtype=pl.Utf8))
            .group_by("table", maintain_order=True)
            .agg(pl.len().alias("files"), pl.col("rows_in").sum(), pl.col("rows_accepted").sum(),
                 pl.col("rows_quarantined").sum(), pl.col("rows_set_aside").sum(),
                 pl.col("balanced").all())
            .with_columns(pl.when(pl.col("balanced")).then(pl.lit("yes")).otherwise(pl.lit("NO")).alias("ok")))


def publish_reconciliation(rec: pl.DataFrame, *, threshold: int,
                           title: Callable[[str], str] | None = None) -> "PublishedTable":
    """Rows read, accepted, quarantined and set aside, by table."""
    from .tables import publish_table

    return publish_table(reconciliation_by_table(rec, title), columns={
        "table": _label("Table"),
        "files": _n("Files"),
        "rows_in": _n("Rows in"),
        "rows_accepted": _n("Accepted"),
        "rows_quarantined": _n("Quarantined"),
        "rows_set_aside": _n("Set aside"),
        "ok": _label("Reconciles"),
    }, threshold=threshold)


def quarantine_rows(qsum: pl.DataFrame, title: Callable[[str], str] | None = None) -> pl.DataFrame:
    """The quarantine summary with each table named by ``title``, or one "No problems found" row when it is
    empty."""
    if not qsum.height:
        return pl.DataFrame({"table": ["No problems found"], "rule": [""], "rows": [0]})
    return qsum.with_columns(pl.col("table").map_elements(_title(title), return_dtype=pl.Utf8))


def publish_quarantine(qsum: pl.DataFrame, *, threshold: int,
                       title: Callable[[str], str] | None = None) -> "PublishedTable":
    """Rules broken by quarantined rows (one row may break several rules)."""
    from .tables import publish_table

    return publish_table(quarantine_rows(qsum, title), columns={
        "table": _label("Input"),
        "rule": _label("Rule broken"),
        "rows": _n("Rows"),
    }, threshold=threshold)


# -- linking bookings to schools (methods) --------------------------------------------------------------------

def match_methods(rates: pl.DataFrame) -> pl.DataFrame:
    """Bookings by match method (summed over providers and years), methods with none left out, most bookings
    first."""
    return (rates.group_by("match_method").agg(pl.col("n").sum().alias("bookings"))
            .filter(pl.col("bookings") > 0).sort(["bookings", "match_method"], descending=[True, False]))


def matched_bookings(methods: pl.DataFrame) -> tuple[int, int]:
    """All bookings and those matched to a school (not unmatched or ambiguous), from :func:`match_methods`."""
    return (int(methods["bookings"].sum()),
            int(methods.filter(~pl.col("match_method").is_in(NOT_MATCHED))["bookings"].sum()))


def match_method_rows(rates: pl.DataFrame) -> pl.DataFrame:
    """:func:`match_methods` with each method's share of all bookings (%) and its label (``method``)."""
    return match_methods(rates).with_columns(
        (100 * pl.col("bookings") / pl.col("bookings").sum()).alias("share"),
        pl.col("bookings").sum().alias("all_bookings"),
        pl.col("match_method").replace_strict(METHOD_LABELS, default=pl.col("match_method")).alias("method"))


def publish_match_methods(rates: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Bookings by how they were matched to a school."""
    from .tables import publish_table

    return publish_table(match_method_rows(rates), columns={
        "method": _label("Match method"),
        "bookings": _n("Bookings"),
        "share": _n("Share", 1, suffix="%"),
    }, threshold=threshold)


def match_rates_by_provider(rates: pl.DataFrame) -> pl.DataFrame:
    """Bookings, those matched to a school and the match rate (%) by provider (named) and financial year,
    sorted by provider name and year."""
    return (rates.with_columns(pl.col("match_method").is_in(NOT_MATCHED).not_().alias("m"))
            .group_by(["provider", "financial_year"])
            .agg(pl.col("n").sum().alias("bookings"),
                 pl.col("n").filter(pl.col("m")).sum().alias("matched"))
            .with_columns((100 * pl.col("matched") / pl.col("bookings")).alias("rate"),
                          pl.col("provider").replace_strict(PROVIDER_NAMES, default=pl.col("provider"))
                          .alias("provider"))
            .sort(["provider", "financial_year"]))


def publish_match_rates(rates: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Share of bookings matched to a school, by provider and financial year."""
    from .tables import publish_table

    return publish_table(match_rates_by_provider(rates), columns={
        "provider": _label("Provider"),
        "financial_year": _label("Financial year"),
        "bookings": _n("Bookings"),
        "rate": _n("Matched", 1, suffix="%"),
    }, threshold=threshold)


def year_lineage_issues(issues: pl.DataFrame, year_urns: Any) -> pl.DataFrame:
    """The link problems touching the year's schools (either URN of the link among ``year_urns``)."""
    return issues.filter(pl.col("urn").is_in(year_urns) | pl.col("link_urn").is_in(year_urns))


def joined_schools(lineage: pl.DataFrame, year_urns: Any = None) -> int:
    """Distinct schools with a series joined across more than one URN: among the year's schools when
    ``year_urns`` is given, otherwise across the whole links file."""
    linked = pl.col("linked") if year_urns is None else pl.col("linked") & pl.col("urn").is_in(year_urns)
    return lineage.filter(linked).select(pl.col("school_key").n_unique()).item()


def lineage_issue_counts(year_issues: pl.DataFrame) -> pl.DataFrame:
    """Link records by problem (labelled), most first, or one "No problem found" row when there is none."""
    if not year_issues.height:
        return pl.DataFrame({"issue": ["No problem found"], "links": [0]})
    return (year_issues.group_by("issue").agg(pl.len().alias("links"))
            .sort(["links", "issue"], descending=[True, False])
            .with_columns(pl.col("issue").replace_strict(ISSUE_LABELS, default=pl.col("issue"))))


def publish_lineage_issues(year_issues: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Problems found in the register's links file, for links touching the year's schools."""
    from .tables import publish_table

    return publish_table(lineage_issue_counts(year_issues), columns={
        "issue": _label("Problem"),
        "links": _n("Link records"),
    }, threshold=threshold)


# -- analysts' quality report (qa) ----------------------------------------------------------------------------

def figure_checks(checks: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The checks of the source reports' figures (not the notes), and those that cannot be reproduced."""
    fig_checks = checks.filter(pl.col("check") != "note")
    return fig_checks, fig_checks.filter(~pl.col("consistent"))


def discrepancy_rows(checks: pl.DataFrame) -> pl.DataFrame:
    """Source, published figure, check and likely explanation: the figures that cannot be reproduced, then the
    other discrepancies noted in the reports (a note's text is its check)."""
    _, bad = figure_checks(checks)
    return pl.concat([
        bad.select("source", "statement", pl.col("finding").alias("detail"), pl.col("note").fill_null("")),
        checks.filter(pl.col("check") == "note").select("source", pl.col("statement").alias("detail"),
                                                          pl.lit("").alias("statement"), pl.lit("").alias("note"))
        .select("source", "statement", "detail", "note"),
    ])


def publish_discrepancies(checks: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Published figures that cannot be reproduced as printed, and other known discrepancies."""
    from .tables import publish_table

    return publish_table(discrepancy_rows(checks), columns={
        "source": _label("Source"),
        "statement": _label("Published figure"),
        "detail": _label("Check"),
        "note": _label("Likely explanation"),
    }, threshold=threshold)


def publish_reconciliation_files(rec: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Rows read, accepted, quarantined, set aside and repaired, by input file."""
    from .tables import publish_table

    return publish_table(rec, columns={
        "table": _label("Table"),
        "source_file": _label("File"),
        "rows_in": _n("Rows in"),
        "rows_accepted": _n("Accepted"),
        "rows_quarantined": _n("Quarantined"),
        "rows_set_aside": _n("Set aside"),
        "rows_repaired": _n("Repaired"),
    }, threshold=threshold)


def quarantine_detail_rows(qsum: pl.DataFrame) -> pl.DataFrame:
    """The quarantine summary as it is, or one "(none)" row when it is empty."""
    if qsum.height:
        return qsum
    return pl.DataFrame({"table": ["(none)"], "column": [""], "rule": [""], "rows": [0], "example": [""]})


def publish_quarantine_detail(qsum: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Quarantined rows by table, column and rule, with the first example."""
    from .tables import publish_table

    return publish_table(quarantine_detail_rows(qsum), columns={
        "table": _label("Table"),
        "column": _label("Column"),
        "rule": _label("Rule broken"),
        "rows": _n("Rows"),
        "example": _label("First example"),
    }, threshold=threshold)


def publish_dictionary(dictionary: pl.DataFrame, *, threshold: int) -> "PublishedTable":
    """Columns of every table, with their type and rules."""
    from .tables import publish_table

    return publish_table(dictionary, columns={
        "table": _label("Table"),
        "column": _label("Column"),
        "dtype": _label("Type"),
        "rules": _label("Rules"),
        "description": _label("Meaning"),
    }, threshold=threshold)
