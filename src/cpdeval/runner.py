"""Entry point of every Snakemake job (``script:`` in the rules).

Snakemake injects a ``snakemake`` object (input, output, params, log, rule). This shim hands it to the
function of the same name in the stage module named after the rule's file (rule ``x`` of ``rules/f.smk`` runs
``cpdeval.stages.f.x``), logs to the rule's log file and to the terminal, and turns a
:class:`~cpdeval.errors.CpdevalError` into one readable message and exit status 1 instead of a traceback; any
other exception is logged with its traceback (file and terminal) and exits 1. The rules therefore stay
declarative: input, output, params, log and this script.
"""

import sys
from pathlib import Path


def main(smk) -> int:
    # This project's src/ first: in a copy of the project (tests, benchmarks) the job runs the copy's code,
    # not the tree the package is installed from (pip install -e), which may be mid-edit.
    scriptdir = getattr(smk, "scriptdir", None)
    if scriptdir and (Path(scriptdir).parent / "cpdeval" / "stages" / "__init__.py").is_file():
        sys.path.insert(0, str(Path(scriptdir).parent))
    from cpdeval.errors import CpdevalError
    from cpdeval.logs import job_logger
    from cpdeval.stages import stage_function
    from cpdeval.stages.io import Job

    log_path = smk.log[0] if len(smk.log) else None
    logger = job_logger(smk.rule, log_path)
    try:
        func = stage_function(smk.rule)
    except LookupError as exc:
        logger.error("%s", exc)
        return 2
    status = 1
    try:
        func(Job.from_snakemake(smk, logger))
        status = 0
    except CpdevalError as exc:
        logger.error("%s", exc)
    except Exception:
        # an unexpected failure: the traceback goes to the rule's log as well as the terminal, so the log
        # Snakemake points to says what happened
        logger.exception("%s failed unexpectedly (a fault in cpdeval, not in the data: please report it)",
                         smk.rule)
    finally:
        if log_path:
            _record_usage(smk, log_path, status)
    return status


def _record_usage(smk, log_path: str, status: int) -> None:
    """The job's own wall time, CPU and peak memory, beside its log (logs/<year>/usage/<log name>.json): the
    benchmark reads these rather than Snakemake's benchmark files, whose CPU time misses the job's threads."""
    import json

    from cpdeval.logs import process_usage

    wildcards = getattr(smk, "wildcards", None)
    record = {"rule": smk.rule, "wildcards": dict(wildcards.items()) if hasattr(wildcards, "items") else {},
              "exit_status": status,
              **process_usage()}
    path = Path(log_path).parent / "usage" / (Path(log_path).stem + ".json")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    except OSError:
        pass   # a measurement that cannot be written never fails the job


def exit_now(status: int) -> None:
    """End the job's process with ``status`` once its log and terminal output are flushed, skipping the
    interpreter's own shutdown.

    That shutdown tears down every module and object one by one: 0.25 s in the operations job, 0.5 s in the
    attainment job (matplotlib, scipy and statsmodels loaded), about 4 s of CPU over a national run's jobs,
    for nothing a job needs. By the time the stage function has returned, its outputs are written and closed
    (each through a ``with`` block or a call that closes the file), its thread pools joined and its temporary
    folders removed; what remains is the log, flushed here."""
    import logging
    import os

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):   # a closed or broken stream: nothing more can be said on it
            pass
    os._exit(status)


if __name__ == "__main__" and "snakemake" in globals():
    exit_now(main(globals()["snakemake"]))
