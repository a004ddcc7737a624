# cpdeval: evaluation pipeline for teacher CPD programmes.
#
#   snakemake --cores 4                                    # the default synthetic reporting year
#   snakemake --cores 4 --configfile config/2015-16.yaml   # a real reporting year
#   snakemake --cores 2 reports/X/methods.html --configfile config/X.yaml   # rebuild one chapter
#
# This file only loads and checks the configuration and includes the rule files; every computation lives
# in src/cpdeval/ (see README.md, "How the pipeline is organised").

import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from snakemake.exceptions import WorkflowError

from cpdeval.snakemake_startup import (serialise_params_without_importing_pandas,
                                       store_script_params_without_importing_libraries)

serialise_params_without_importing_pandas()   # 0.23 s off every run, dry-run and no-op (see the module)
store_script_params_without_importing_libraries()   # and 0.5 s before the first job of a run starts

from cpdeval.config import COMPARATORS, DEFAULT_CONFIG, REFERENCE_TABLES, RunConfig, load_yaml
from cpdeval.errors import ConfigError

# A --configfile replaces the default config entirely (no silent fallback to synthetic paths).
CONFIG_FILES = [str(p) for p in workflow.overwrite_configfiles] or [str(DEFAULT_CONFIG.relative_to(workflow.basedir))]
try:
    for _file in workflow.overwrite_configfiles or [DEFAULT_CONFIG]:
        load_yaml(_file)   # Snakemake's own reading keeps the last of two equal keys silently; this one stops
    if not config:
        config.update(load_yaml(DEFAULT_CONFIG))
    RUN = RunConfig.from_dict(config, source=", ".join(CONFIG_FILES), root=workflow.basedir)
    RUN.check_inputs_distinct()
    # the key is resolved (and a weak one refused) before anything runs; its fingerprint is a param of every
    # rule that hashes ids, so a run with another key re-hashes everything instead of mixing ids
    KEY = RUN.key_info()
except ConfigError as exc:
    raise WorkflowError(f"cpdeval: {exc}")
for _warning in RUN.warnings:
    print(f"cpdeval: warning: {_warning}", file=sys.stderr)

DERIVED = f"data/derived/{RUN.year}"
REPORTS = f"reports/{RUN.year}"


include: "rules/common.smk"
include: "rules/synthetic.smk"
include: "rules/ingest.smk"
include: "rules/link.smk"
include: "rules/engagement.smk"
# chapter rule files (each registers its derived tables in CHAPTER_INPUTS)
include: "rules/delivery.smk"
include: "rules/operations.smk"
include: "rules/impact.smk"
include: "rules/targeted.smk"
include: "rules/attainment.smk"
include: "rules/continuity.smk"
include: "rules/reports.smk"


rule all:
    input:
        expand(f"{REPORTS}/{{chapter}}.{{fmt}}", chapter=RUN.chapters, fmt=RUN.formats),
        f"{DERIVED}/link/bookings_linked.parquet",
        f"{DERIVED}/audit/disclosure_audit.json",
        f"{REPORTS}/qa.html",
        f"{REPORTS}/report.html",
    default_target: True


# Raw inputs are read-only: no rule but the generator (inside its own folder) may declare one as an output.
from cpdeval.safety import check_rule_outputs

try:
    check_rule_outputs({r.name: [str(o) for o in r.output] for r in workflow.rules}, RUN.configured_input_files(),
                       workflow.basedir, RUN.synthetic_dir)
except ConfigError as exc:
    raise WorkflowError(f"cpdeval: {exc}")


onsuccess:
    from cpdeval.runsummary import summary_lines

    for line in summary_lines(DERIVED, REPORTS, RUN.formats):
        print(line)


onerror:
    print(f"cpdeval: the run stopped; the failing job's log is under logs/{RUN.year}/ (Snakemake names it above). "
          "Raw inputs are never written by the pipeline: they are as they were.", file=sys.stderr)
