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


def resolve_key(section: dict | None, *, synthetic: bool, root: str | Path | None = None) -> bytes:
    """The pseudonymisation key for a run.

    Synthetic years use the fixed test key from the config. Real years read the key from the environment
    variable named by ``pseudonymisation.key_env``, else from a file named by the environment variable
    ``<key_env>_FILE`` (e.g. ``CPDEVAL_HASH_KEY_FILE``) or by ``pseudonymisation.key_file``. The file must
    be outside the project (``root``, default the working folder, where the workflow runs), so that the key
    cannot be committed with the code. A missing key stops the run, because ids hashed with a known key
    could be reversed by guessing.
    """
    section = section or {"key_env": "CPDEVAL_HASH_KEY"}
    if synthetic and section.get("synthetic_test_key"):
        return section["synthetic_test_key"].encode()
    env = section["key_env"]
    value = os.environ.get(env)
    if value:
        return value.encode()
    for origin, key_file in ((f"environment variable {env}_FILE", os.environ.get(f"{env}_FILE")),
                             ("pseudonymisation.key_file", section.get("key_file"))):
        if key_file:
            return _read_key_file(Path(key_file), origin, root)
    raise ConfigError(
        f"no pseudonymisation key: set the environment variable {env} (or {env}_FILE, or "
        "pseudonymisation.key_file, naming a file kept outside the repository) before running a real "
        "reporting year"
    )


def _read_key_file(path: Path, origin: str, root: str | Path | None) -> bytes:
    from . import PROJECT_ROOT

    resolved = path.expanduser().resolve()
    for project in dict.fromkeys([Path(root or Path.cwd()).resolve(), PROJECT_ROOT]):
        if (project / "Snakefile").exists() and resolved.is_relative_to(project):
            raise ConfigError(f"the pseudonymisation key file {path} (from {origin}) is inside the project "
                              f"{project}: keep it outside the repository, where it cannot be committed")
    if not resolved.is_file():
        raise ConfigError(f"the pseudonymisation key file {path} (from {origin}) does not exist")
    key = resolved.read_bytes().strip()
    if not key:
        raise ConfigError(f"the pseudonymisation key file {path} (from {origin}) is empty")
    return key
