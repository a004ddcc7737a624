"""One function per Snakemake rule: the glue between a job's files and the library.

Each function receives a :class:`Job` (input, output, params, log and a logger), reads its inputs, calls
plain functions from the stage modules (``ingest``, ``link``, ``audit``, ``render`` ...) and writes its
outputs. Heavy libraries are imported inside the function that needs them, because every job is a fresh
Python process and pays for its own imports.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .logs import step


@dataclass
class Job:
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


def _log_result(job: Job, name: str, result) -> None:
    for r in result.reconciliation:
        job.logger.info("%s: %s rows in, %s accepted, %s quarantined%s", name, r.rows_in, r.rows_accepted,
                        r.rows_quarantined, f", {r.rows_set_aside} set aside ({r.set_aside_reason})"
                        if r.rows_set_aside else "")


def _write(job: Job, result, table: str, quarantine: str, reconciliation: str, name: str) -> None:
    from .contracts import quarantine_gate, write_result

    _log_result(job, name, result)
    for note in quarantine_gate(result, getattr(job.params, "quality", None)):
        job.logger.warning("%s", note)
    write_result(result, table, quarantine, reconciliation)


# -- synthetic ----------------------------------------------------------------------------------

def synthesise(job: Job) -> None:
    from .config import RunConfig
    from .synthetic import generate

    p = job.params
    RunConfig.check_synthetic_out_dir(p.out_dir)   # defence in depth: the config check ran when the DAG was built
    with step(job.logger, f"generating the {p.size} synthetic year into {p.out_dir}"):
        generate(p.out_dir, size=p.size, seed=p.seed, config={"years": p.years, "targeted": p.targeted,
                                                               "synthetic": {"size": p.size, "seed": p.seed}})


# -- ingest -------------------------------------------------------------------------------------

def _hash_key(job: Job) -> bytes:
    """The run's key, checked against the fingerprint the workflow was planned with (a job on another machine,
    or started after the environment changed, must not hash with another key)."""
    from .errors import ConfigError
    from .pseudonymise import key_info

    info = key_info(job.params.pseudonymisation, synthetic=job.params.synthetic)
    planned = getattr(job.params, "key_fingerprint", None)
    if planned and info.fingerprint != planned:
        raise ConfigError(f"the pseudonymisation key from {info.origin} is not the key this run was planned with "
                          "(its fingerprint differs): give every job the same key, for example through "
                          "CPDEVAL_HASH_KEY_FILE on a shared file system")
    job.logger.info("participant ids hashed with the key from %s (fingerprint %s)", info.origin, info.fingerprint)
    return info.key


def ingest_bookings(job: Job) -> None:
    from .config import schema_default
    from .ingest.bookings import read_bookings

    key = _hash_key(job)
    years = getattr(job.params, "years", None) or {}   # (the benchmark driver passes no years)
    with step(job.logger, f"reading {len(job.input.files)} booking export(s)"):
        result = read_bookings(list(job.input.files), key, file_years=getattr(job.params, "file_years", None),
                               delivery_years=years.get("delivery"),
                               start_month=years.get("financial_year_start_month",
                                                     schema_default("years.financial_year_start_month")),
                               sheets=getattr(job.params, "sheets", None))
    _write(job, result, job.output.table, job.output.quarantine, job.output.reconciliation, "bookings")


def ingest_register(job: Job) -> None:
    from .ingest.register_validate import ingest_links, ingest_schools

    enc = job.params.encoding
    if isinstance(enc, str):   # one encoding for every file (the benchmark driver's form)
        enc = {"register": enc, "links": enc, "census": "auto"}
    with step(job.logger, f"reading the school register {job.input.register}"):
        census = job.input.census[0] if len(job.input.census) else None
        schools = ingest_schools(job.input.register, census, encoding=enc["register"], census_encoding=enc["census"])
    _write(job, schools, job.output.table, job.output.quarantine, job.output.reconciliation, "schools")
    with step(job.logger, f"reading the links file {job.input.links}"):
        links = ingest_links(job.input.links, encoding=enc["links"])
    _write(job, links, job.output.links_table, job.output.links_quarantine, job.output.links_reconciliation,
           "links")


def ingest_performance(job: Job) -> None:
    from .ingest.attainment import ingest_attainment

    ks = job.wildcards.ks
    paths = dict(zip(job.params.years, job.input.files))
    with step(job.logger, f"reading {len(paths)} {ks.upper()} performance table(s)"):
        result = ingest_attainment(paths, ks, job.input.measures)
    _write(job, result, job.output.table, job.output.quarantine, job.output.reconciliation, f"attainment {ks}")


def ingest_surveys(job: Job) -> None:
    import polars as pl

    from .contracts import IngestResult, concat_quarantine, load_contract
    from .ingest.surveys import read_survey

    accepted, quarantines, recs = [], [], []
    for name, path in zip(job.params.instruments, job.input.files):
        with step(job.logger, f"reading survey {name} from {path}"):
            result, long = read_survey(path, name, sheet=(getattr(job.params, "sheets", None) or {}).get(str(path)))
        accepted.append(long)
        quarantines.append(result.quarantine)
        recs.extend(result.reconciliation)
    schema = load_contract("survey_responses").polars_schema
    table = pl.concat(accepted) if accepted else pl.DataFrame(schema=schema)
    _write(job, IngestResult(table, concat_quarantine(quarantines), recs), job.output.table,
           job.output.quarantine, job.output.reconciliation, "survey responses")


def ingest_reference(job: Job) -> None:
    from .contracts import IngestResult, empty_quarantine, ingest_generic_csv, load_contract
    from .ingest.bookings import read_trained_leaders

    import polars as pl

    from .config import REFERENCE_TABLES

    for table in (*REFERENCE_TABLES, "feedback_coded"):
        files = list(getattr(job.input, table))
        out = {k: getattr(job.output, f"{table}_{k}") for k in ("table", "quarantine", "reconciliation")}
        contract = load_contract(table)
        if not files:
            job.logger.info("%s: not configured for this year; writing an empty table", table)
            result = IngestResult(pl.DataFrame(schema=contract.polars_schema), empty_quarantine(), [])
        elif table == "trained_leaders":
            result = read_trained_leaders(files[0], _hash_key(job), sheets=job.params.sheets)
        else:
            result = ingest_generic_csv(files, contract, sheets=job.params.sheets)
        _write(job, result, out["table"], out["quarantine"], out["reconciliation"], table)


# -- link ---------------------------------------------------------------------------------------

def link(job: Job) -> None:
    from .link.stage import link_bookings

    link_bookings(job.input.bookings, job.input.schools, job.input.links, dict(job.output),
                  min_confidence=job.params.min_confidence, years=job.params.years, logger=job.logger)


# -- audit and reports -----------------------------------------------------------------------------

def audit(job: Job) -> None:
    from .audit import build_audit

    with step(job.logger, "combining reconciliation, quarantine and the data dictionary"):
        build_audit(list(job.input.reconciliation), list(job.input.quarantine), dict(job.output))


def provenance(job: Job) -> None:
    from .audit import build_provenance

    with step(job.logger, f"hashing {len(job.input.raw)} input file(s)"):
        record = build_provenance(list(job.input.raw), job.input.reconciliation, job.params.config_files,
                                  job.params.year, key=dict(job.params.key),
                                  absent=[dict(a) for a in job.params.absent])
    Path(job.output[0]).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def render_chapter(job: Job) -> None:
    from .render import render_document

    import os

    from .tables import PUBLICATION_LOG_ENV

    qmd = Path(job.input.qmd)
    reports = list(job.output.reports)
    out_dir = Path(reports[0]).parent
    formats = [Path(o).suffix.lstrip(".") for o in reports]
    publication = Path(job.output.publication)
    publication.parent.mkdir(parents=True, exist_ok=True)
    publication.write_text("", encoding="utf-8")
    os.environ[PUBLICATION_LOG_ENV] = str(publication.resolve())   # every published table is appended here
    params = {"year": job.params.year, "title": job.params.title,
              "disclosure_min_count": job.params.disclosure_min_count,
              "inputs": {k: str(Path(v).resolve()) for k, v in job.input.items()
                         if k not in ("qmd", "quarto_settings", "code")}}
    with step(job.logger, f"rendering {qmd.name} ({', '.join(formats)}) with engine {job.params.engine}"):
        written = render_document(qmd, out_dir, params=params, engine=job.params.engine, formats=formats,
                                   part=job.output.part)
    for path in written:
        job.logger.info("wrote %s", path)


def disclosure_audit(job: Job) -> None:
    from .audit_disclosure import audit_publications, leak_scan
    from .errors import CpdevalError

    with step(job.logger, f"attacking the tables of {len(job.input.publications)} chapter(s)"):
        tables = audit_publications(list(job.input.publications), job.params.threshold)
    with step(job.logger, "scanning every derived file and report for personal data and pupil rows"):
        leaks = leak_scan(list(job.input.raw), [job.params.derived, job.params.reports])
    summary = {"tables": tables.summary(), "leak_scan": leaks.summary()}
    for line in tables.describe() + leaks.describe():
        job.logger.info("%s", line)
    problems = tables.problems() + leaks.problems()
    if problems:
        raise CpdevalError("the disclosure audit failed, so nothing may be published:\n  - " + "\n  - ".join(problems[:30])
                           + (f"\n  ... and {len(problems) - 30} more" if len(problems) > 30 else ""))
    Path(job.output[0]).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def report(job: Job) -> None:
    from .findings import key_findings, limitations
    from .report import Part, ReportSettings, build, landing_page, write
    from .wording import published_tokens
    from .errors import CpdevalError

    cfg = job.params.config
    chapters = list(job.params.chapters)
    parts = [Part.read(ch, md) for ch, md in zip(chapters, job.input.parts)]
    settings = ReportSettings.from_config(cfg)
    inputs = {k: v for k, v in job.input.items() if k not in ("code", "parts", "audit", "sources", "prose")}
    headline = cfg["attainment"]["headline"]
    with step(job.logger, f"drawing the key findings from {len(inputs)} derived table(s)"):
        found = key_findings(inputs, threshold=job.params.threshold, headline=headline, chapters=chapters)
        limits = limitations(found, inputs, chapters)
    out_dir = Path(job.output.html).parent
    with step(job.logger, f"assembling the report from {len(parts)} chapter(s)"):
        markdown = build(parts, settings, found, limits, root=Path.cwd())
        write(markdown, out_dir, formats=["html", "docx"], root=Path.cwd())
        landing_page(out_dir, settings, [(p.name, p.title) for p in parts], ["html", "docx"])
    problems = [f"{Path(f).name}: {t}" for f in (job.output.html, job.output.docx) for t in published_tokens(f)]
    if problems:
        raise CpdevalError("the report holds words meant for analysts only (file paths, column names, internal "
                           "names); change the chapter or the setting that writes them:\n  - "
                           + "\n  - ".join(problems[:20]))
    job.logger.info("wrote %s, %s and %s (%d key findings)", job.output.html, job.output.docx, job.output.index,
                    len(found))
