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
