"""The school register and links file through their contracts: accepted rows, quarantine, reconciliation.

:mod:`cpdeval.ingest.register` and :func:`cpdeval.link.lineage.read_gias_links` read the published GIAS
and census files; this module validates what they read against ``schemas/register.yaml``,
``schemas/census.yaml`` and ``schemas/links.yaml`` so that every row is accounted for. A cell the
reader could not read as its type (named in the reader's ``parse_issue`` column: a date not in dd-mm-yyyy,
text in a number column) quarantines its row with the rule ``type: not ...``, as the generic reader does.
"""

from __future__ import annotations

import polars as pl

from ..config import schema_default
from ..contracts import IngestResult, empty_quarantine, load_contract, reconcile, validate

#: one problem of a reader's ``parse_issue`` text: "<column> <value> is not <what>" (issues joined by "; ")
_ISSUE_RE = r"(\w+) (.*?) is not (a whole number|a number|a dd-mm-yyyy date)(?:; |$)"


def parse_issue_quarantine(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """One quarantine row per cell named in ``parse_issue`` (see :func:`cpdeval.ingest.register.read_gias`)."""
    if "parse_issue" not in df.columns or df["parse_issue"].null_count() == df.height:
        return empty_quarantine()
    issues = (df.filter(pl.col("parse_issue").is_not_null())
              .select("source_file", "source_row", pl.col("parse_issue").str.extract_all(_ISSUE_RE).alias("issue"))
              .explode("issue").filter(pl.col("issue").is_not_null()))
    return issues.select(
        pl.lit(table).alias("table"), pl.col("source_file").cast(pl.Utf8), pl.col("source_row").cast(pl.Int64),
        pl.col("issue").str.extract(_ISSUE_RE, 1).alias("column"),
        (pl.lit("type: not ") + pl.col("issue").str.extract(_ISSUE_RE, 3)).alias("rule"),
        pl.col("issue").str.extract(_ISSUE_RE, 2).alias("value"),
        pl.lit(None, dtype=pl.Utf8).alias("detail"),
    )


def _validated(df: pl.DataFrame, contract_name: str, path: str, table: str,
               set_aside: tuple[int, str] | None = None) -> IngestResult:
    contract = load_contract(contract_name)
    df = df.with_columns(pl.lit(str(path)).alias("source_file"))
    accepted, quarantine = validate(df, contract, pre_quarantine=parse_issue_quarantine(df, contract.name))
    if contract_name != "register":  # the register's contract has parse_issue; the others do not
        accepted = accepted.drop("parse_issue", strict=False)
    n_aside = set_aside[0] if set_aside else 0
    rec = reconcile({str(path): df.height + n_aside}, accepted, quarantine, table,
                    set_aside={str(path): set_aside} if set_aside else None)
    result = IngestResult(accepted, quarantine, rec)
    result.check_balanced()
    return result


def ingest_schools(register_path: str, census_path: str | None = None, *,
                   encoding: str = schema_default("inputs.register_encoding"),
                   census_encoding: str = schema_default("inputs.census_encoding")) -> IngestResult:
    """The register (GIAS extract), completed with census figures where a census file is configured."""
    from .register import build_school_table, read_gias

    census_accepted, extra_q, extra_rec = None, [], []
    if census_path:
        census = ingest_census(census_path, encoding=census_encoding)
        census_accepted, extra_q, extra_rec = census.accepted, [census.quarantine], census.reconciliation
    repaired: list[int] = []
    schools = _validated(build_school_table(read_gias(register_path, encoding=encoding, repaired=repaired),
                                            census_accepted), "register", register_path, "schools")
    if repaired:
        rec = schools.reconciliation[0]
        rec.rows_repaired = len(repaired)
        rec.repair_note = (f"{len(repaired)} row(s) had more fields than the header, all spilling into the last "
                           f"column, which is not read (rows {', '.join(map(str, repaired[:5]))}"
                           + (" ..." if len(repaired) > 5 else "") + ")")
    quarantine = pl.concat([schools.quarantine, *extra_q], how="vertical_relaxed")
    return IngestResult(schools.accepted, quarantine, schools.reconciliation + extra_rec)


def ingest_census(path: str, *, encoding: str = "auto") -> IngestResult:
    """The school census. Total rows (a URN of letters only: ``NAT``) are set aside and counted; a row
    whose URN is blank or neither a number nor letters (``12AB``) is quarantined, not set aside."""
    from .register import read_census

    rows, dropped = read_census(path, encoding=encoding, return_dropped=True)
    is_total = pl.col("urn").str.strip_chars().str.contains(r"^[A-Za-z]+$").fill_null(False)
    totals, bad = dropped.filter(is_total), dropped.filter(~is_total)
    # a bad URN row goes through validation with a null URN and a parse issue naming the cell
    if bad.height:
        bad_rows = bad.select(pl.col("source_row"), pl.when(pl.col("urn").is_not_null()).then(
            pl.lit("urn ") + pl.col("urn").str.slice(0, 40) + pl.lit(" is not a whole number")).alias("parse_issue"))
        rows = pl.concat([rows, bad_rows], how="diagonal_relaxed").sort("source_row")
    return _validated(rows, "census", path, "census",
                      set_aside=(totals.height, "national total rows (URN not a school)") if totals.height else None)


def ingest_links(path: str, *, encoding: str = "auto") -> IngestResult:
    """The GIAS links file (predecessor / successor URNs)."""
    from ..link.lineage import read_gias_links

    return _validated(read_gias_links(path, encoding=encoding), "links", path, "links")
