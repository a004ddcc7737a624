"""Entry point of every Snakemake job (``script:`` in the rules).

Snakemake injects a ``snakemake`` object (input, output, params, log, rule). This shim hands it to the
stage function of the same name in :mod:`cpdeval.stages` (or to the function a rule names in its
``stage`` param, ``"module:function"``, for stages that live beside their analysis module), logs to the rule's log file and to the terminal,
and turns a :class:`~cpdeval.errors.CpdevalError` into one readable message and exit status 1 instead of a
traceback; any other exception is logged with its traceback (file and terminal) and exits 1. The rules therefore stay declarative: input, output, params, log and this script.
"""

import sys
from pathlib import Path


def main(smk) -> int:
    # This project's src/ first: in a copy of the project (tests, benchmarks) the job runs the copy's code,
    # not the tree the package is installed from (pip install -e), which may be mid-edit.
    scriptdir = getattr(smk, "scriptdir", None)
    if scriptdir and (Path(scriptdir).parent / "cpdeval" / "stages.py").is_file():
        sys.path.insert(0, str(Path(scriptdir).parent))
    from cpdeval import stages
    from cpdeval.errors import CpdevalError
    from cpdeval.logs import job_logger

    log_path = smk.log[0] if len(smk.log) else None
    logger = job_logger(smk.rule, log_path)
    target = smk.params.get("stage") if hasattr(smk.params, "get") else None
    if target:
        import importlib

        module, _, name = target.partition(":")
        func = getattr(importlib.import_module(module), name, None)
    else:
        func = getattr(stages, smk.rule, None)
    if func is None:
        logger.error("no stage function %s for rule %s", target or f"cpdeval.stages.{smk.rule}", smk.rule)
        return 2
    try:
        func(stages.Job.from_snakemake(smk, logger))
    except CpdevalError as exc:
        logger.error("%s", exc)
        return 1
    except Exception:
        # an unexpected failure: the traceback goes to the rule's log as well as the terminal, so the log
        # Snakemake points to says what happened
        logger.exception("%s failed unexpectedly (a fault in cpdeval, not in the data: please report it)",
                         smk.rule)
        return 1
    return 0


if __name__ == "__main__" and "snakemake" in globals():
    sys.exit(main(globals()["snakemake"]))
