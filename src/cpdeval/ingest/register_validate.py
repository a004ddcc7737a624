"""The school register and links file through their contracts: accepted rows, quarantine, reconciliation.

:mod:`cpdeval.ingest.register` and :func:`cpdeval.link.lineage.read_gias_links` read the published GIAS
and census files; this module validates what they read against ``schemas/register.yaml``,
``schemas/census.yaml`` and ``schemas/links.yaml`` so that every row is accounted for.
"""

from __future__ import annotations

import polars as pl

from ..contracts import IngestResult, load_contract, reconcile, validate


def _validated(df: pl.DataFrame, contract_name: str, path: str, table: str,
               set_aside: tuple[int, str] | None = None) -> IngestResult:
    contract = load_contract(contract_name)
    df = df.with_columns(pl.lit(str(path)).alias("source_file"))
    accepted, quarantine = validate(df, contract)
    n_aside = set_aside[0] if set_aside else 0
    rec = reconcile({str(path): df.height + n_aside}, accepted, quarantine, table,
                    set_aside={str(path): set_aside} if set_aside else None)
    result = IngestResult(accepted, quarantine, rec)
    result.check_balanced()
    return result


def ingest_schools(register_path: str, census_path: str | None = None, *, encoding: str = "cp1252") -> IngestResult:
    """The register (GIAS extract), completed with census figures where a census file is configured."""
    from .register import build_school_table, read_census, read_gias

    census_accepted, extra_q, extra_rec = None, [], []
    if census_path:
        rows, totals = read_census(census_path, return_dropped=True)
        census = _validated(rows, "census", census_path, "census",
                            set_aside=(totals.height, "national total rows (URN not a school)") if totals.height
                            else None)
        census_accepted, extra_q, extra_rec = census.accepted, [census.quarantine], census.reconciliation
    schools = _validated(build_school_table(read_gias(register_path, encoding=encoding), census_accepted),
                         "register", register_path, "schools")
    quarantine = pl.concat([schools.quarantine, *extra_q], how="vertical_relaxed")
    return IngestResult(schools.accepted, quarantine, schools.reconciliation + extra_rec)


def ingest_links(path: str, *, encoding: str = "cp1252") -> IngestResult:
    """The GIAS links file (predecessor / successor URNs)."""
    from ..link.lineage import read_gias_links

    return _validated(read_gias_links(path, encoding=encoding), "links", path, "links")
