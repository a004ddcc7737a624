"""Reading the targeted programme's six inputs (seed 002) through their contracts, and its case-outcomes codebook.

Each input goes through its contract (``schemas/targeted_*.yaml``) like every other raw file; rows that break a
rule spanning columns (an inspected row without a date, a monitoring visit with a grade) or the codebook (an
unknown outcome type, another codebook version) are quarantined as well, and the reconciliation still balances.
An input a year's config does not give becomes an empty table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import polars as pl

from .. import CONFIG_DIR
from ..config import TARGETED_INPUTS

TARGETED_TABLES = list(TARGETED_INPUTS.values())
CODEBOOK = CONFIG_DIR / "codebooks" / "case_outcomes.yaml"


# =============================================================================================
# Codebook
# =============================================================================================

def load_codebook(path: str | Path | None = None) -> dict:
    """The case-outcomes codebook (``config/codebooks/case_outcomes.yaml``), checked for consistency."""
    from ..config import safe_yaml

    p = Path(path) if path else CODEBOOK
    cb = safe_yaml(p.read_text(encoding="utf-8"))
    audiences = [a["id"] for a in cb["audiences"]]
    domains = [x["id"] for x in cb["domains"]]
    allowed = {"outcome_types": {"id", "audience", "domain", "label", "other", "description"},
               "audiences": {"id", "label"}, "domains": {"id", "label", "description"},
               "evidence": {"id", "label"}}
    for section, keys in allowed.items():
        for entry in cb.get(section) or []:
            extra = set(entry) - keys
            if extra or not isinstance(entry.get("label"), str):
                # e.g. an unquoted label with a comma inside {...} splits into a stray key
                raise ValueError(f"{p}: {section} entry {entry.get('id')!r} has unexpected keys {sorted(extra)} or no "
                                 "text label (quote labels that contain commas)")
    seen = set()
    for t in cb["outcome_types"]:
        if t["id"] in seen:
            raise ValueError(f"{p}: outcome type {t['id']} is listed twice")
        seen.add(t["id"])
        if t["audience"] not in audiences:
            raise ValueError(f"{p}: outcome type {t['id']} has unknown audience {t['audience']}")
        if t.get("domain") is not None and t["domain"] not in domains:
            raise ValueError(f"{p}: outcome type {t['id']} has unknown domain {t['domain']}")
    cb["version"] = str(cb["version"])
    return cb


def codebook_types(codebook: Mapping[str, Any]) -> pl.DataFrame:
    """One row per outcome type: audience (with label and order), type label and order, default domain."""
    aud = {a["id"]: (i, a["label"]) for i, a in enumerate(codebook["audiences"])}
    rows = [{"audience": t["audience"], "audience_label": aud[t["audience"]][1],
             "audience_order": aud[t["audience"]][0], "outcome_type": t["id"], "label": t["label"],
             "type_order": i, "default_domain": t.get("domain"), "other": bool(t.get("other", False))}
            for i, t in enumerate(codebook["outcome_types"])]
    return pl.DataFrame(rows, schema={"audience": pl.Utf8, "audience_label": pl.Utf8, "audience_order": pl.Int64,
                                      "outcome_type": pl.Utf8, "label": pl.Utf8, "type_order": pl.Int64,
                                      "default_domain": pl.Utf8, "other": pl.Boolean})


# =============================================================================================
# Ingest
# =============================================================================================

def _problems(df: pl.DataFrame, table: str, cond: pl.Expr, column: str, rule: str,
              value: pl.Expr | None = None) -> pl.DataFrame:
    bad = df.filter(cond)
    return bad.select(
        pl.lit(table).alias("table"), pl.col("source_file").cast(pl.Utf8), pl.col("source_row").cast(pl.Int64),
        pl.lit(column).alias("column"), pl.lit(rule).alias("rule"),
        (value if value is not None else pl.col(column)).cast(pl.Utf8).alias("value"),
        pl.lit(None, dtype=pl.Utf8).alias("detail"))


def _post_check_problems(table: str, df: pl.DataFrame, codebook: Mapping[str, Any]) -> list[pl.DataFrame]:
    """Rules that span columns or need the codebook (the contract checks one column at a time)."""
    if not df.height:
        return []
    out = []
    if table == "targeted_ofsted":
        out.append(_problems(df, table, (pl.col("status") == "inspected") & pl.col("inspection_date").is_null(),
                             "inspection_date", "an inspected row needs an inspection date"))
        out.append(_problems(df, table, (pl.col("status") == "inspected") & pl.col("inspection_type").is_null(),
                             "inspection_type", "an inspected row needs an inspection type"))
        out.append(_problems(df, table, (pl.col("status") != "inspected")
                             & (pl.col("inspection_date").is_not_null() | pl.col("overall_effectiveness").is_not_null()),
                             "status", "a new_school or not_inspected row carries no inspection date or grade"))
        out.append(_problems(df, table, (pl.col("inspection_type") == "monitoring")
                             & pl.col("overall_effectiveness").is_not_null(),
                             "overall_effectiveness", "a monitoring visit carries no overall effectiveness grade"))
    elif table == "targeted_case_outcomes":
        types = codebook_types(codebook)
        version = codebook["version"]
        known = types["outcome_type"].to_list()
        out.append(_problems(df, table, ~pl.col("outcome_type").is_in(known), "outcome_type",
                             f"outcome type not in the case-outcomes codebook (version {version})"))
        own = df.join(types.select("outcome_type", pl.col("audience").alias("_type_audience")),
                      on="outcome_type", how="inner")
        out.append(_problems(own, table, pl.col("audience") != pl.col("_type_audience"), "audience",
                             "outcome type belongs to another audience in the codebook"))
        out.append(_problems(df, table, pl.col("codebook_version") != version, "codebook_version",
                             f"coded with another codebook version (this run uses {version})"))
    return [p for p in out if p.height]


def ingest_targeted(paths: Mapping[str, Sequence[str]], codebook: Mapping[str, Any] | None = None) -> dict:
    """Read every configured targeted input through its contract; ``{table: IngestResult}``.

    ``paths`` maps the ``inputs.targeted`` keys (:data:`TARGETED_INPUTS`) to lists of files; an input with
    no file gives an empty table. Rows breaking a cross-column rule or the codebook are quarantined too,
    and the reconciliation still balances.
    """
    from ..contracts import (
        QUARANTINE_SCHEMA,
        IngestResult,
        empty_quarantine,
        ingest_generic_csv,
        load_contract,
        reconcile,
    )

    cb = codebook or load_codebook()
    results = {}
    for key, table in TARGETED_INPUTS.items():
        files = [str(f) for f in (paths.get(key) or [])]
        contract = load_contract(table)
        if not files:
            results[table] = IngestResult(pl.DataFrame(schema=contract.polars_schema), empty_quarantine(), [])
            continue
        res = ingest_generic_csv(files, contract)
        problems = _post_check_problems(table, res.accepted, cb)
        if problems:
            extra = pl.concat([p.select([pl.col(k).cast(v) for k, v in QUARANTINE_SCHEMA.items()]) for p in problems])
            quarantine = pl.concat([res.quarantine, extra]).sort(["source_file", "source_row", "column", "rule"])
            bad = extra.select("source_file", "source_row").unique()
            accepted = res.accepted.join(bad, on=["source_file", "source_row"], how="anti")
            counts = {r.source_file: r.rows_in for r in res.reconciliation}
            res = IngestResult(accepted, quarantine, reconcile(counts, accepted, quarantine, table))
            res.check_balanced()
        results[table] = res
    return results
