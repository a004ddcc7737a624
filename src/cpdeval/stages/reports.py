"""Stages of rules/reports.smk: the audit tables the methods chapter prints, provenance, one rendered file per
chapter, the disclosure audit of every published table, and the assembled report of the year."""

from __future__ import annotations

from pathlib import Path

from ..logs import step
from .io import Job, write_json


def audit(job: Job) -> None:
    from ..audit import build_audit

    with step(job.logger, "combining reconciliation, quarantine and the data dictionary"):
        build_audit(list(job.input.reconciliation), list(job.input.quarantine), dict(job.output))


def provenance(job: Job) -> None:
    from ..audit import build_provenance

    with step(job.logger, f"hashing {len(job.input.raw)} input file(s)"):
        record = build_provenance(list(job.input.raw), job.input.reconciliation, job.params.config_files,
                                  job.params.year, key=dict(job.params.key),
                                  absent=[dict(a) for a in job.params.absent])
    write_json(record, job.output[0], sort_keys=False)


def render_chapter(job: Job) -> None:
    import os

    from ..render import render_document
    from ..tables import PUBLICATION_LOG_ENV

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
    from concurrent.futures import ThreadPoolExecutor

    from ..audit_disclosure import audit_publications, leak_scan
    from ..errors import CpdevalError

    # The attack on the tables runs in a thread beside the leak scan (which reads and scans files two at a time;
    # the solver and polars work outside Python's lock): national audit, 4 alternated pairs, 5.04 -> 4.68 s.
    with step(job.logger, f"attacking the tables of {len(job.input.publications)} chapter(s) and scanning every "
                          "derived file and report for personal data and pupil rows"):
        with ThreadPoolExecutor(max_workers=1) as pool:
            attack = pool.submit(audit_publications, list(job.input.publications), job.params.threshold)
            # not last run's copy of the assembled report: this run's is scanned in the derived folder, and
            # published (copied over that one) only once this audit has passed
            leaks = leak_scan(list(job.input.raw), [job.params.derived, job.params.reports],
                              exclude=list(job.params.published))
            tables = attack.result()
    summary = {"tables": tables.summary(), "leak_scan": leaks.summary()}
    for line in tables.describe() + leaks.describe():
        job.logger.info("%s", line)
    problems = tables.problems() + leaks.problems()
    if problems:
        raise CpdevalError("the disclosure audit failed, so nothing may be published:\n  - " + "\n  - ".join(problems[:30])
                           + (f"\n  ... and {len(problems) - 30} more" if len(problems) > 30 else ""))
    write_json(summary, job.output[0], sort_keys=False)


def report(job: Job) -> None:
    from ..errors import CpdevalError
    from ..findings import conclusions, key_findings, limitations
    from ..report import Part, ReportSettings, build, landing_page, write
    from ..wording import published_tokens

    cfg = job.params.config
    chapters = list(job.params.chapters)
    parts = [Part.read(ch, md) for ch, md in zip(chapters, job.input.parts)]
    settings = ReportSettings.from_config(cfg)
    inputs = {k: v for k, v in job.input.items() if k not in ("code", "parts", "audit", "sources", "prose")}
    headline = cfg["attainment"]["headline"]
    with step(job.logger, f"drawing the key findings from {len(inputs)} derived table(s)"):
        found = key_findings(inputs, threshold=job.params.threshold, headline=headline, chapters=chapters)
        limits = limitations(found, inputs, chapters, headline=headline)
    out_dir = Path(job.output.html).parent
    with step(job.logger, f"assembling the report from {len(parts)} chapter(s)"):
        markdown = build(parts, settings, found, limits, root=Path.cwd(),
                         conclusions=conclusions(found, headline=headline))
        write(markdown, out_dir, formats=["html", "docx"], root=Path.cwd())
        landing_page(out_dir, settings, [(p.name, p.title) for p in parts], ["html", "docx"])
    problems = [f"{Path(f).name}: {t}" for f in (job.output.html, job.output.docx) for t in published_tokens(f)]
    if problems:
        raise CpdevalError("the report holds words meant for analysts only (file paths, column names, internal "
                           "names); change the chapter or the setting that writes them:\n  - "
                           + "\n  - ".join(problems[:20]))
    job.logger.info("assembled %s, %s and %s (%d key findings); published once the disclosure audit passes",
                    job.output.html, job.output.docx, job.output.index, len(found))


def publish_report(job: Job) -> None:
    """Copy the assembled report and landing page, which the disclosure audit has scanned, to the reports folder."""
    import shutil

    for name in ("html", "docx", "index"):
        shutil.copyfile(job.input[name], job.output[name])   # (a new file: newer than the audit that allows it)
    job.logger.info("published %s, %s and %s", job.output.html, job.output.docx, job.output.index)
