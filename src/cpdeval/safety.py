"""Raw inputs are read-only to the pipeline: checks made when the workflow is built.

Snakemake deletes a job's existing outputs before it runs the job. A rule whose output is a raw export would
therefore destroy the analyst's file the moment it is scheduled. :func:`check_rule_outputs` refuses a workflow
in which any rule (other than the synthetic generator, inside its own folder) declares a raw input, or any
path under ``data/raw/``, as an output.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from .errors import ConfigError

#: The only rule allowed to write raw files, and only inside the synthetic folder.
GENERATOR_RULE = "synthesise"
RAW_DIR = Path("data/raw")


def _norm(path: str | Path, root: Path) -> str:
    p = Path(path)
    return os.path.normpath(p if p.is_absolute() else root / p)


def _pattern(output: str, root: Path) -> re.Pattern:
    """A rule output with wildcards as a regex over normalised absolute paths."""
    text = _norm(output, root)
    parts = re.split(r"(\{[^{}]+\})", text)
    return re.compile("".join(".+" if part.startswith("{") else re.escape(part) for part in parts))


def check_rule_outputs(outputs: Mapping[str, Iterable[str]], raw_inputs: Iterable[str], root: str | Path,
                       synthetic_dir: str | None = None) -> None:
    """Stop when a rule could overwrite or delete a raw input.

    ``outputs`` maps each rule name to its output paths (patterns may hold ``{wildcards}``); ``raw_inputs``
    are the configured input files. The generator rule may write only inside ``synthetic_dir``; every other
    rule may write neither a raw input nor anything under ``data/raw/``.
    """
    root = Path(root)
    raw = {_norm(f, root) for f in raw_inputs}
    raw_dir = _norm(RAW_DIR, root)
    problems = []
    for rule, paths in outputs.items():
        for out in paths:
            out = str(out)
            if rule == GENERATOR_RULE and synthetic_dir:
                inside = Path(_norm(out, root)).is_relative_to(_norm(synthetic_dir, root))
                if not inside:
                    problems.append(f"rule {rule} would write {out}, outside the synthetic folder {synthetic_dir}")
                continue
            if "{" in out:   # a pattern: any raw input it can match
                pattern = _pattern(out, root)
                hits = sorted(f for f in raw if pattern.fullmatch(f))
            else:            # a plain path (most outputs; compiling 160 patterns was a third of this check)
                hits = [f] if (f := _norm(out, root)) in raw else []
            if hits:
                problems.append(f"rule {rule} declares the raw input {hits[0]} as an output")
            elif Path(_norm(out, root)).is_relative_to(raw_dir):
                problems.append(f"rule {rule} declares {out}, under {RAW_DIR}/, as an output")
    if problems:
        raise ConfigError("raw inputs are read-only to the pipeline, but " + "; ".join(problems)
                          + " (Snakemake deletes a rule's outputs before running it)")
