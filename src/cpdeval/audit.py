"""The audit trail a methods chapter prints: reconciliation, quarantine summary, data dictionary, provenance."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

import polars as pl

from .contracts import concat_quarantine, list_contracts

RECONCILIATION_SCHEMA = {
    "table": pl.Utf8, "source_file": pl.Utf8, "rows_in": pl.Int64, "rows_accepted": pl.Int64,
    "rows_quarantined": pl.Int64, "rows_set_aside": pl.Int64, "set_aside_reason": pl.Utf8, "rows_repaired": pl.Int64,
    "repair_note": pl.Utf8, "balanced": pl.Boolean,
}

#: Packages whose versions a chapter's provenance records.
PROVENANCE_PACKAGES = ["cpdeval", "snakemake", "polars", "pyarrow", "pandera", "numpy", "scipy", "statsmodels",
                       "matplotlib", "pypandoc_binary", "PyYAML"]


def combine_reconciliation(paths: list[str]) -> pl.DataFrame:
    rows = []
    for p in paths:
        rows.extend({"rows_repaired": 0, "repair_note": "", **r} for r in json.loads(Path(p).read_text(encoding="utf-8")))
    if not rows:
        return pl.DataFrame(schema=RECONCILIATION_SCHEMA)
    return pl.DataFrame(rows, schema=RECONCILIATION_SCHEMA).sort(["table", "source_file"])


def summarise_quarantine(paths: list[str]) -> pl.DataFrame:
    """Quarantined rows grouped by table, column and rule, with the first row as an example."""
    q = concat_quarantine([pl.read_parquet(p) for p in paths])
    if not q.height:
        return pl.DataFrame(schema={"table": pl.Utf8, "column": pl.Utf8, "rule": pl.Utf8, "rows": pl.UInt32,
                                    "example": pl.Utf8})
    return (q.sort(["table", "source_file", "source_row"])
            .group_by(["table", "column", "rule"], maintain_order=True)
            .agg(pl.len().alias("rows"),
                 (pl.col("source_file").first().map_elements(lambda s: Path(s).name, return_dtype=pl.Utf8)
                  + pl.lit(" row ") + pl.col("source_row").first().cast(pl.Utf8)).alias("example"))
            .sort(["table", "rows", "column", "rule"], descending=[False, True, False, False]))


def data_dictionary(schemas_dir: str | None = None) -> pl.DataFrame:
    rows = []
    for c in list_contracts(schemas_dir):
        for col in c.columns:
            rows.append({"table": c.name, "table_title": c.title, "kind": c.kind, "grain": c.grain,
                         "column": col.name, "source": col.source or "", "dtype": col.dtype,
                         "rules": col.rules_text(), "description": col.description,
                         "key": col.name in c.key})
    return pl.DataFrame(rows)


def build_audit(reconciliation_paths: list[str], quarantine_paths: list[str], outputs: dict) -> None:
    from .parquet import write_parquet

    for p in outputs.values():
        Path(p).parent.mkdir(parents=True, exist_ok=True)
    write_parquet(combine_reconciliation(reconciliation_paths), outputs["reconciliation"])
    write_parquet(summarise_quarantine(quarantine_paths), outputs["quarantine_summary"])
    write_parquet(data_dictionary(), outputs["data_dictionary"])


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PROVENANCE_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def build_provenance(raw_files: list[str], reconciliation_path: str, config_files: list[str], year: str,
                     today: dt.date | None = None, key: dict | None = None, absent: list | None = None) -> dict:
    """What a run was built from: config files, input files (rows, bytes, SHA-256), package versions, date,
    the pseudonymisation key's origin and fingerprint (``key``; never the key itself), and the optional inputs
    the year does not have (``absent``)."""
    rec = pl.read_parquet(reconciliation_path)
    rows_by_file = dict(zip(rec["source_file"].to_list(), rec["rows_in"].to_list()))
    inputs = []
    for f in raw_files:
        p = Path(f)
        inputs.append({"path": str(f), "bytes": p.stat().st_size, "sha256": sha256_file(p),
                       "rows": rows_by_file.get(str(f))})
    configs = [{"path": c, "sha256": sha256_file(c)} for c in config_files if Path(c).exists()]
    return {"year": year, "built_on": (today or dt.date.today()).isoformat(), "config_files": configs,
            "inputs": inputs, "packages": package_versions(), "pseudonymisation_key": key,
            "absent_inputs": list(absent or [])}
