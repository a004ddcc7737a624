"""Small helpers stage functions share: read a job's named inputs or params, write a derived table."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import polars as pl


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
    from .errors import ConfigError

    value = job_value(obj, name)
    if value is None:
        raise ConfigError(f"the rule passes no '{name}' (a required setting; see config/config.yaml)")
    return value


def write_table(df: pl.DataFrame, path: str | Path) -> None:
    """Write a derived table as parquet (folders created; no statistics, so bytes are reproducible)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.write_parquet(path, statistics=False)
