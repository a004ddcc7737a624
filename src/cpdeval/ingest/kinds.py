"""Every raw input kind, and one function that reads a file as one of them.

``cpdeval validate FILE --as KIND``, the bad-input corpus (``tests/bad_inputs/``) and its benchmark
(``benchmarks/bad_inputs.py``) all read files through :func:`read_input`, so a kind listed here is
checked the same way everywhere. Kinds are named as the run config names the inputs (``inputs.<key>``;
the targeted programme's ``inputs.targeted.<key>``); the targeted inputs also answer to their table
names (``targeted_ofsted``). Any other raw contract in ``schemas/`` read by the generic CSV reader is
accepted under its own name, so a new reference input can be validated as soon as it has a contract.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..contracts import IngestResult, ingest_generic_csv, load_contract
from ..errors import CpdevalError

#: Key used to hash participant ids when a file is only being checked (nothing is written).
VALIDATE_KEY = b"cpdeval-validate-only"

#: kind -> what it is
KINDS: dict[str, str] = {
    "bookings": "CRM booking export (schemas/bookings.yaml)",
    "trained_leaders": "staff trained to lead CPD (schemas/trained_leaders.yaml)",
    "partnerships": "partnerships and lead schools (schemas/partnerships.yaml)",
    "targets": "delivery targets (schemas/targets.yaml)",
    "priority_schools": "priority schools by financial year (schemas/priority_schools.yaml)",
    "survey_invited": "people invited to each survey (schemas/survey_invited.yaml)",
    "feedback_coded": "coded free-text feedback (schemas/feedback_coded.yaml)",
    "register": "GIAS establishment extract, Windows-1252 (schemas/register.yaml)",
    "links": "GIAS links file, Windows-1252 (schemas/links.yaml)",
    "census": "school census (schemas/census.yaml)",
    "ks4": "KS4 performance table (needs the academic year: --academic-year, or a DfE file name)",
    "ks2": "KS2 performance table (needs the academic year: --academic-year, or a DfE file name)",
    "targeted_schools": "targeted programme schools (schemas/targeted_schools.yaml)",
    "ofsted": "Ofsted history of targeted schools (schemas/targeted_ofsted.yaml)",
    "maturity": "STEM maturity ratings (schemas/targeted_maturity.yaml)",
    "self_assessment": "STEM subject self-assessment (schemas/targeted_self_assessment.yaml)",
    "case_outcomes": "coded case outcomes (schemas/targeted_case_outcomes.yaml)",
    "monitoring": "targeted programme monitoring counts (schemas/targeted_monitoring.yaml)",
}

_YEARS_IN_NAME = re.compile(r"(?<!\d)(\d{4})-?(\d{4})(?!\d)")


def kind_names() -> list[str]:
    """Every kind :func:`read_input` reads, surveys as ``survey:<instrument>``."""
    from .surveys import list_instruments

    return list(KINDS) + [f"survey:{name}" for name in list_instruments()]


def academic_year_from_name(path: str | Path) -> str | None:
    """``2018-19`` from a DfE file name such as ``2018-2019_england_ks4final.csv``; None when absent."""
    m = _YEARS_IN_NAME.search(Path(path).name)
    if m and int(m.group(2)) == int(m.group(1)) + 1:
        return f"{m.group(1)}-{m.group(2)[2:]}"
    return None


def _generic_contract(kind: str):
    from .. import SCHEMAS_DIR

    if not re.fullmatch(r"[a-z][a-z0-9_]*", kind) or not (Path(SCHEMAS_DIR) / f"{kind}.yaml").exists():
        return None
    contract = load_contract(kind)
    return contract if contract.kind == "raw" and contract.reader == "generic_csv" else None


def read_input(kind: str, path: str | Path, *, academic_year: str | None = None, encoding: str | None = None,
               hash_key: bytes = VALIDATE_KEY, sheet: str | None = None) -> IngestResult:
    """Read ``path`` as an input of ``kind`` through its reader and contract.

    Returns the ingest result (accepted rows, quarantine, reconciliation). A file that cannot be used
    raises :class:`~cpdeval.errors.InputError`; an unknown kind or a missing academic year raises
    :class:`~cpdeval.errors.CpdevalError`. ``encoding`` overrides the contract's (GIAS files are cp1252).
    """
    path = str(path)
    if kind.startswith("survey:"):
        from .surveys import load_instrument, read_survey

        try:
            inst = load_instrument(kind.split(":", 1)[1])
        except KeyError as exc:
            raise CpdevalError(str(exc).strip("'\"")) from None
        return read_survey(path, inst, sheet=sheet)[0]
    sheets = {path: sheet} if sheet is not None else None
    if kind in ("bookings", "trained_leaders"):
        from .bookings import read_bookings, read_trained_leaders

        return (read_bookings([path], hash_key, sheets=sheets) if kind == "bookings"
                else read_trained_leaders(path, hash_key, sheets=sheets))
    if kind in ("register", "links", "census"):
        from . import register_validate as rv

        enc = encoding or "auto"   # GIAS and DfE publish Windows-1252; re-saved copies are often UTF-8
        if kind == "register":
            return rv.ingest_schools(path, None, encoding=enc)
        return rv.ingest_links(path, encoding=enc) if kind == "links" else rv.ingest_census(path, encoding=enc)
    if kind in ("ks4", "ks2"):
        from .attainment import ingest_attainment

        year = academic_year or academic_year_from_name(path)
        if not year:
            raise CpdevalError(f"{path}: a performance table needs its academic year: give --academic-year "
                               "(e.g. 2018-19) or keep the DfE file name (2018-2019_england_ks4final.csv)")
        return ingest_attainment({year: path}, kind)
    from .targeted import TARGETED_INPUTS, ingest_targeted

    table_to_key = {table: key for key, table in TARGETED_INPUTS.items()}
    if kind in TARGETED_INPUTS or kind in table_to_key:
        key = kind if kind in TARGETED_INPUTS else table_to_key[kind]
        return ingest_targeted({key: [path]})[TARGETED_INPUTS[key]]
    contract = _generic_contract(kind)
    if contract is not None:
        return ingest_generic_csv([path], contract, encoding=encoding, sheets=sheets)
    raise CpdevalError(f"unknown kind {kind!r}; use one of: {', '.join(kind_names())}")
