# Shared definitions for the rule files: the job runner and the paths of derived tables.

RUNNER = "../src/cpdeval/runner.py"   # every rule's script: hands the job to cpdeval.stages.<rule>


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
