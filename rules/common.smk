# Shared definitions for the rule files: the job runner and the paths of derived tables.

# Every rule runs the same script, which calls the function named after the rule in the stage module named after
# the rule's file: rule `x` of rules/f.smk runs cpdeval.stages.f.x (src/cpdeval/stages/f.py).
RUNNER = "../src/cpdeval/runner.py"

from cpdeval.codedeps import stage_files
from cpdeval.stages import module_of


def stage_code(rule):
    """Source files of rule `rule`'s stage function and of the cpdeval modules it imports. Listed as the rule's
    `code=` input, an edit to any of them re-runs the rule (the RUNNER script never changes, so Snakemake's own
    code trigger does not see the library; see cpdeval.codedeps)."""
    root = Path(workflow.basedir).resolve()
    return [str(p.relative_to(root)) for p in stage_files(f"cpdeval.stages.{module_of(rule)}:{rule}", root / "src")]


def ingested(table):
    """Accepted table, quarantine and reconciliation written by an ingest rule."""
    return {
        "table": f"{DERIVED}/ingest/{table}.parquet",
        "quarantine": f"{DERIVED}/quarantine/{table}.parquet",
        "reconciliation": f"{DERIVED}/reconciliation/{table}.json",
    }


def optional(path):
    """A configured input that may be absent from a reporting year's config."""
    return [path] if path else []


# What each chapter reads: chapter name -> {input name: derived file}. Each chapter's rule file adds its
# entry; the render rule (rules/reports.smk) rebuilds a chapter only when these or its .qmd change.
CHAPTER_INPUTS = {}
