"""Pseudonymisation of participant identifiers.

Participant ids are replaced by a keyed hash (HMAC-SHA256, first 16 hex characters) as soon as a file is
read, so that the same person has the same id in every input (bookings, trained leaders) while the CRM id
never reaches a derived table. The key comes from the environment (see :meth:`RunConfig.hash_key`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import polars as pl

from .errors import ConfigError

ID_LENGTH = 16


def pseudonymise_value(value: str, key: bytes) -> str:
    return hmac.new(key, value.strip().encode("utf-8"), hashlib.sha256).hexdigest()[:ID_LENGTH]


def pseudonymise_column(df: pl.DataFrame, column: str, key: bytes) -> pl.DataFrame:
    """Replace ``column`` by its keyed hash. Hashes each distinct value once (fast on large exports)."""
    distinct = df.select(pl.col(column).drop_nulls().unique()).to_series().to_list()
    mapping = {v: pseudonymise_value(v, key) for v in distinct}
    return df.with_columns(pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.Utf8))


def resolve_key(section: dict | None, *, synthetic: bool) -> bytes:
    """The pseudonymisation key for a run.

    Synthetic years use the fixed test key from the config. Real years read the key from the environment
    variable named by ``pseudonymisation.key_env`` (or from ``key_file``, kept outside the repository); a
    missing key stops the run, because ids hashed with a known key could be reversed by guessing.
    """
    section = section or {"key_env": "CPDEVAL_HASH_KEY"}
    if synthetic and section.get("synthetic_test_key"):
        return section["synthetic_test_key"].encode()
    value = os.environ.get(section["key_env"])
    if value:
        return value.encode()
    key_file = section.get("key_file")
    if key_file and Path(key_file).exists():
        return Path(key_file).read_bytes().strip()
    raise ConfigError(
        f"no pseudonymisation key: set the environment variable {section['key_env']} (or "
        "pseudonymisation.key_file, a file kept outside the repository) before running a real reporting year"
    )
