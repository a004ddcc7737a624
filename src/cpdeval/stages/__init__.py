"""The stage layer: one module per rule file, one function per rule, named after it.

    rules/<file>.smk   rule <name>   ->   cpdeval.stages.<file>.<name>(job)   ->   library functions

Every rule's script is the shared runner (``src/cpdeval/runner.py``); it calls :func:`stage_function` with the
rule's name, which finds the function in the stage module named after the rule's file. A stage function reads
its inputs, calls plain functions of the library (which take and return DataFrames) and writes its outputs, all
file I/O going through :mod:`cpdeval.stages.io`. Heavy libraries are imported inside the function that needs
them, because every job is a fresh Python process and pays for its own imports; for the same reason this
package imports nothing at start (the Snakefile reads :func:`module_of` while it builds the DAG).

``cpdeval.stages.<rule>`` (and ``cpdeval.stages.Job``) also resolve here, for drivers that call stages in one
process (``../shared/benchmarks/pandas-peer/cpdeval_stages.py``). Once a stage module is imported, a rule named
like its module (``link``, ``engagement``) is shadowed by the module as an attribute; code in this repository
always goes through :func:`stage_function`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent

# rule files (rules/<name>.smk) in the order data flows through them; each has a stage module of the same name
RULE_FILES = ("synthetic", "ingest", "link", "engagement", "delivery", "operations", "impact", "targeted",
              "attainment", "continuity", "reports")


@lru_cache(maxsize=None)
def _defined(module: str) -> frozenset[str]:
    """Names of the top-level functions of stage module ``module`` (read as text: nothing is imported)."""
    text = (HERE / f"{module}.py").read_text(encoding="utf-8")
    return frozenset(re.findall(r"^def ([a-z]\w*)\(job", text, flags=re.M))


def module_of(rule: str) -> str:
    """The stage module that holds rule ``rule``'s function (``"delivery"`` for ``delivery_analysis``)."""
    found = [m for m in RULE_FILES if rule in _defined(m)]
    if len(found) != 1:
        where = f"in {len(found)} stage modules ({', '.join(found)})" if found else "in no stage module"
        raise LookupError(f"rule {rule!r}: a function of that name is {where}; each rule in rules/<file>.smk "
                          "needs one function of its name in src/cpdeval/stages/<file>.py")
    return found[0]


def stage_function(rule: str) -> Callable:
    """The function that runs rule ``rule``."""
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module_of(rule)}"), rule)


def __getattr__(name: str):
    if name == "Job":
        from .io import Job

        return Job
    try:
        return stage_function(name)
    except LookupError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
