"""Stages of rules/ingest.smk: read each raw input, map it onto its contract (schemas/) and validate it. Bad rows
go to quarantine, and a reconciliation record proves rows in = rows accepted + rows quarantined (+ rows set
aside by design). Library: :mod:`cpdeval.ingest`."""

from __future__ import annotations

from ..logs import step
from .io import Job, job_files, job_value, write_ingest


def _hash_key(job: Job) -> bytes:
    """The run's key, checked against the fingerprint the workflow was planned with (a job on another machine,
    or started after the environment changed, must not hash with another key)."""
    from ..errors import ConfigError
    from ..pseudonymise import key_info

    info = key_info(job.params.pseudonymisation, synthetic=job.params.synthetic)
    planned = job_value(job.params, "key_fingerprint")
    if planned and info.fingerprint != planned:
        raise ConfigError(f"the pseudonymisation key from {info.origin} is not the key this run was planned with "
                          "(its fingerprint differs): give every job the same key, for example through "
                          "CPDEVAL_HASH_KEY_FILE on a shared file system")
    job.logger.info("participant ids hashed with the key from %s (fingerprint %s)", info.origin, info.fingerprint)
    return info.key


def ingest_bookings(job: Job) -> None:
    from ..config import schema_default
    from ..ingest.bookings import read_bookings

    key = _hash_key(job)
    years = job_value(job.params, "years") or {}   # (the benchmark driver passes no years)
    with step(job.logger, f"reading {len(job.input.files)} booking export(s)"):
        result = read_bookings(list(job.input.files), key, file_years=job_value(job.params, "file_years"),
                               delivery_years=years.get("delivery"),
                               start_month=years.get("financial_year_start_month",
                                                     schema_default("years.financial_year_start_month")),
                               sheets=job_value(job.params, "sheets"))
    write_ingest(job, result, "bookings")


def ingest_register(job: Job) -> None:
    from ..ingest.register_validate import ingest_links, ingest_schools

    enc = job.params.encoding
    if isinstance(enc, str):   # one encoding for every file (the benchmark driver's form)
        enc = {"register": enc, "links": enc, "census": "auto"}
    with step(job.logger, f"reading the school register {job.input.register}"):
        census = job.input.census[0] if len(job.input.census) else None
        schools = ingest_schools(job.input.register, census, encoding=enc["register"], census_encoding=enc["census"])
    write_ingest(job, schools, "schools")
    with step(job.logger, f"reading the links file {job.input.links}"):
        links = ingest_links(job.input.links, encoding=enc["links"])
    write_ingest(job, links, "links", prefix="links_")


def ingest_performance(job: Job) -> None:
    from ..ingest.attainment import ingest_attainment

    ks = job.wildcards.ks
    paths = dict(zip(job.params.years, job.input.files))
    with step(job.logger, f"reading {len(paths)} {ks.upper()} performance table(s)"):
        result = ingest_attainment(paths, ks, job.input.measures)
    write_ingest(job, result, f"attainment {ks}")


def ingest_surveys(job: Job) -> None:
    import polars as pl

    from ..contracts import IngestResult, concat_quarantine, load_contract
    from ..ingest.surveys import read_survey

    accepted, quarantines, recs = [], [], []
    for name, path in zip(job.params.instruments, job.input.files):
        with step(job.logger, f"reading survey {name} from {path}"):
            result, long = read_survey(path, name, sheet=(job_value(job.params, "sheets") or {}).get(str(path)))
        accepted.append(long)
        quarantines.append(result.quarantine)
        recs.extend(result.reconciliation)
    schema = load_contract("survey_responses").polars_schema
    table = pl.concat(accepted) if accepted else pl.DataFrame(schema=schema)
    write_ingest(job, IngestResult(table, concat_quarantine(quarantines), recs), "survey responses")


def ingest_reference(job: Job) -> None:
    import polars as pl

    from ..config import REFERENCE_TABLES
    from ..contracts import (
        IngestResult,
        empty_quarantine,
        ingest_generic_csv,
        load_contract,
    )
    from ..ingest.bookings import read_trained_leaders

    for table in (*REFERENCE_TABLES, "feedback_coded"):
        files = job_files(job.input, table)
        contract = load_contract(table)
        if not files:
            job.logger.info("%s: not configured for this year; writing an empty table", table)
            result = IngestResult(pl.DataFrame(schema=contract.polars_schema), empty_quarantine(), [])
        elif table == "trained_leaders":
            result = read_trained_leaders(files[0], _hash_key(job), sheets=job.params.sheets)
        else:
            result = ingest_generic_csv(files, contract, sheets=job.params.sheets)
        write_ingest(job, result, table, prefix=f"{table}_")


def ingest_targeted(job: Job) -> None:
    """The targeted programme's inputs, each through its contract (an empty table where not configured)."""
    from ..ingest.targeted import TARGETED_INPUTS, ingest_targeted, load_codebook

    codebook = load_codebook(job_value(job.input, "codebook") or None)
    paths = {key: job_files(job.input, key) for key in TARGETED_INPUTS}
    with step(job.logger, f"reading {sum(len(v) for v in paths.values())} targeted-programme file(s)"):
        results = ingest_targeted(paths, codebook)
    for table, result in results.items():
        if not result.reconciliation:
            job.logger.info("%s: not configured for this year; writing an empty table", table)
        write_ingest(job, result, table, prefix=f"{table}_")
