"""Reading booking exports onto the ``bookings`` contract."""

from __future__ import annotations

from ..contracts import IngestResult, ingest_generic_csv, load_contract
from ..pseudonymise import pseudonymise_column


def read_bookings(paths: list[str], hash_key: bytes) -> IngestResult:
    """Read, pseudonymise and validate one or more booking exports.

    Contact names and emails are never read into the result; the CRM contact id becomes a keyed hash.
    """
    contract = load_contract("bookings")
    return ingest_generic_csv(paths, contract,
                              transform=lambda df: pseudonymise_column(df, "participant_id", hash_key))


def read_trained_leaders(path: str, hash_key: bytes) -> IngestResult:
    """Read the list of staff trained to lead CPD, hashing contact ids with the bookings' key."""
    contract = load_contract("trained_leaders")
    return ingest_generic_csv([path], contract,
                              transform=lambda df: pseudonymise_column(df, "participant_id", hash_key))

