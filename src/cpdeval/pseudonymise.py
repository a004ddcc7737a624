"""Pseudonymisation of participant identifiers.

Participant ids are replaced by a keyed hash (HMAC-SHA256, first 16 hex characters) as soon as a file is
read, so that the same person has the same id in every input (bookings, trained leaders) while the CRM id
never reaches a derived table. The key comes from the environment (see :meth:`RunConfig.hash_key`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    import polars as pl

ID_LENGTH = 16


_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")


#: What polars' ``str.strip_chars()`` trims (Unicode White_Space); Python's ``str.strip()`` also trims the
#: control characters U+001C to U+001F, which polars keeps.
_WHITE_SPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
                + "\u2028\u2029\u202f\u205f\u3000")


def normalise_id(value: str) -> str:
    """An id as hashed: invisible characters removed, no-break spaces as spaces, trimmed, upper case (the same
    rule as :func:`cpdeval.contracts.normalise_id_expr`), so ``c123`` and ``C123\u200b`` are one person."""
    return _INVISIBLE.sub("", value).replace("\u00a0", " ").strip(_WHITE_SPACE).upper()


def _hmac_many(values: list[str], key: bytes) -> list[str]:
    """HMAC-SHA256 of each value under ``key``, first :data:`ID_LENGTH` hex characters (the digests of
    ``hmac.new``): the key's inner and outer SHA-256 states are made once and copied per value, as HMAC is
    defined (RFC 2104), which halves the cost of 145,000 ids."""
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    out = []
    for v in values:
        i, o = inner.copy(), outer.copy()
        i.update(v.encode("utf-8"))
        o.update(i.digest())
        out.append(o.hexdigest()[:ID_LENGTH])
    return out


def pseudonymise_value(value: str, key: bytes) -> str:
    return _hmac_many([normalise_id(value)], key)[0]


def pseudonymise_column(df: pl.DataFrame, column: str, key: bytes) -> pl.DataFrame:
    """Replace ``column`` by the keyed hash of its normalised ids. Normalises and hashes each distinct id once."""
    import polars as pl

    from .contracts import normalise_id_expr

    # The distinct raw values first (145,000 of 755,000 national bookings), so the text is normalised on those
    # alone; raw values that normalise alike ("c123", "C123\u200b") get the same hash.
    raw = df.select(pl.col(column).unique().alias("__raw"))
    ids = normalise_id_expr(pl.col("__raw"))
    raw = raw.with_columns(pl.when(ids == "").then(None).otherwise(ids).alias("__id"))   # invisible only: no id
    distinct = raw["__id"].drop_nulls().unique()
    lookup = pl.DataFrame({"__id": distinct, "__hash": _hmac_many(distinct.to_list(), key)},
                          schema={"__id": pl.Utf8, "__hash": pl.Utf8})
    by_raw = raw.join(lookup, on="__id", how="left").select("__raw", "__hash")
    # joins, not replace_strict: polars' replace with 145,000 keys takes 1.1 s on 755,000 rows, a join 0.15 s
    # (joined on the id column alone, so no other column is copied; a null id matches nothing and stays null)
    hashed = df.select(pl.col(column).alias("__raw")).join(by_raw, on="__raw", how="left",
                                                           maintain_order="left")["__hash"]
    return df.with_columns(hashed.alias(column))


#: Keys published with the project (its README example and the synthetic year's fixed key): never a real key.
PUBLIC_KEYS = frozenset({b"choose-a-long-random-key", b"synthetic-year-fixed-test-key"})
MIN_KEY_LENGTH = 32
MAKE_A_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
_FINGERPRINT_MESSAGE = b"cpdeval pseudonymisation key fingerprint v1"


@dataclass(frozen=True)
class KeyInfo:
    """The pseudonymisation key of a run, where it came from, and its fingerprint.

    The fingerprint is an HMAC of a fixed text under the key: it tells two keys apart (so a run with another
    key re-hashes everything instead of mixing ids) and reveals nothing about the key."""

    key: bytes = field(repr=False)
    origin: str
    is_test_key: bool = False

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.key)


def key_fingerprint(key: bytes) -> str:
    return hmac.new(key, _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:ID_LENGTH]


def check_key_strength(key: bytes, origin: str) -> bytes:
    """Refuse a key a person could guess: shorter than 32 characters, or one printed in the project's docs."""
    if key in PUBLIC_KEYS:
        raise ConfigError(f"the pseudonymisation key from {origin} is an example published with cpdeval, so "
                          f"anyone could reverse the hashed ids; make a key of your own with: {MAKE_A_KEY}")
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(f"the pseudonymisation key from {origin} has {len(key)} characters; a key shorter than "
                          f"{MIN_KEY_LENGTH} can be found by trying keys, which would reveal participant ids. "
                          f"Make one with: {MAKE_A_KEY}")
    return key


def key_info(section: dict | None, *, synthetic: bool, root: str | Path | None = None) -> KeyInfo:
    """The pseudonymisation key for a run.

    A key given in the environment variable named by ``pseudonymisation.key_env`` always wins; otherwise a
    file named by the environment variable ``<key_env>_FILE`` (e.g. ``CPDEVAL_HASH_KEY_FILE``) or by
    ``pseudonymisation.key_file``. Either must be at least 32 characters and not an example from the docs.
    The file must be outside the project (``root``, default the working folder, where the workflow runs),
    so that the key cannot be committed with the code. Only a synthetic year with no key given falls back
    to the config's fixed test key (and the reports say so). A real year without a key stops, because ids
    hashed with a known key could be reversed by guessing.
    """
    section = section or {"key_env": "CPDEVAL_HASH_KEY"}
    env = section["key_env"]
    value = os.environ.get(env)
    if value:
        origin = f"environment variable {env}"
        return KeyInfo(check_key_strength(value.encode(), origin), origin)
    for origin, key_file in ((f"environment variable {env}_FILE", os.environ.get(f"{env}_FILE")),
                             ("pseudonymisation.key_file", section.get("key_file"))):
        if key_file:
            key = _read_key_file(Path(key_file), origin, root)
            return KeyInfo(check_key_strength(key, f"the key file {key_file} ({origin})"),
                           f"a key file ({origin})")
    if synthetic and section.get("synthetic_test_key"):
        return KeyInfo(section["synthetic_test_key"].encode(), "the synthetic year's public test key",
                       is_test_key=True)
    raise ConfigError(
        f"no pseudonymisation key: set the environment variable {env} (or {env}_FILE, or "
        "pseudonymisation.key_file, naming a file kept outside the repository) before running a real "
        f"reporting year; make a key with: {MAKE_A_KEY}"
    )


def resolve_key(section: dict | None, *, synthetic: bool, root: str | Path | None = None) -> bytes:
    """The key bytes of :func:`key_info`."""
    return key_info(section, synthetic=synthetic, root=root).key


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
