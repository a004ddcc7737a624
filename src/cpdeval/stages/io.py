"""All file I/O of the stage functions: the job a rule hands over, its named inputs and params, and the writing
of derived tables, JSON records and ingest results (parquet without statistics, so bytes are reproducible)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping


@dataclass
class Job:
    """What a rule hands its stage function: Snakemake's input, output, params and log, and a logger."""

    input: Any
    output: Any
    params: Any
    log: Any
    logger: logging.Logger
    wildcards: Any = None
    rule: str = ""

    @classmethod
    def from_snakemake(cls, smk, logger: logging.Logger) -> "Job":
        return cls(input=smk.input, output=smk.output, params=smk.params, log=smk.log, logger=logger,
                   wildcards=smk.wildcards, rule=smk.rule)


def job_value(obj: Any, name: str, default: Any = None) -> Any:
    """``obj[name]`` or ``obj.name`` (a dict in tests, a Snakemake namedlist in a job), else ``default``."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    try:
        return getattr(obj, name)
    except AttributeError:
        return default


def job_required(obj: Any, name: str) -> Any:
    """``job_value(obj, name)``, stopping with the name when the rule does not give it (a required config value
    has no default to fall back on)."""
    from ..errors import ConfigError

    value = job_value(obj, name)
    if value is None:
        raise ConfigError(f"the rule passes no '{name}' (a required setting; see config/config.yaml)")
    return value


def job_files(obj: Any, name: str) -> list[str]:
    """The files of input ``name`` as a list (none when the input is absent or empty)."""
    v = job_value(obj, name, [])
    if v is None:
        return []
    if isinstance(v, (str, Path)):
        return [str(v)]
    return [str(x) for x in v]


def read_table(path: str | Path, columns: list[str] | None = None):
    """A derived table (parquet)."""
    import polars as pl

    return pl.read_parquet(path, columns=columns)


def read_optional(path, columns=None):
    """A derived table, or None when the rule gives no such input. ``columns``: read only those of them the
    table has (an optional column, such as the performance tables' ``nftype``, may be absent; a required one
    that is missing is reported by the function that uses it)."""
    if not path:
        return None
    if columns is None:
        return read_table(path)
    import polars as pl

    present = pl.read_parquet_schema(path)
    return read_table(path, columns=[c for c in columns if c in present])


def write_table(df, path: str | Path, *, statistics: bool = False) -> None:
    """Write a derived table as parquet (folders created; settings: :mod:`cpdeval.parquet`). Column statistics
    are left out unless asked for (the survey tables have always carried them)."""
    from ..parquet import write_parquet

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_parquet(df, path, statistics=statistics)


def write_tables(tables: Mapping[str, Any], output: Any, names) -> None:
    """Write ``tables[name]`` to output ``name`` for each of ``names``: a DataFrame as parquet, a dict as JSON."""
    for name in names:
        if isinstance(tables[name], Mapping):
            write_json(tables[name], job_value(output, name))
        else:
            write_table(tables[name], job_value(output, name))


def write_json(record: Any, path: str | Path, *, sort_keys: bool = True, ensure_ascii: bool = True) -> None:
    """Write a JSON record (indented, keys sorted unless told otherwise, one final newline)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=2, sort_keys=sort_keys, default=str, ensure_ascii=ensure_ascii)
                          + "\n", encoding="utf-8")


def write_ingest(job: Job, result, name: str, prefix: str = "") -> None:
    """Log an ingest result's reconciliation, apply the quarantine gate (``params.quality``), then write the
    accepted table, the quarantine and the reconciliation to outputs ``<prefix>table``, ``<prefix>quarantine``
    and ``<prefix>reconciliation``."""
    from ..contracts import quarantine_gate, write_result

    for r in result.reconciliation:
        job.logger.info("%s: %s rows in, %s accepted, %s quarantined%s", name, r.rows_in, r.rows_accepted,
                        r.rows_quarantined, f", {r.rows_set_aside} set aside ({r.set_aside_reason})"
                        if r.rows_set_aside else "")
    for note in quarantine_gate(result, job_value(job.params, "quality")):
        job.logger.warning("%s", note)
    out = job.output
    write_result(result, job_value(out, f"{prefix}table"), job_value(out, f"{prefix}quarantine"),
                 job_value(out, f"{prefix}reconciliation"))
