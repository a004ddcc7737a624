# cpdeval: evaluation pipeline for teacher CPD programmes.
#
#   snakemake --cores 4                                    # the default synthetic reporting year
#   snakemake --cores 4 --configfile config/2015-16.yaml   # a real reporting year
#   snakemake --cores 2 --configfile config/X.yaml reports/X/methods.html   # rebuild one chapter
#
# This file only loads and checks the configuration and includes the rule files; every computation lives
# in src/cpdeval/ (see README.md, "How the pipeline is organised").

import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from snakemake.exceptions import WorkflowError

from cpdeval.config import DEFAULT_CONFIG, REFERENCE_TABLES, RunConfig, load_yaml
from cpdeval.errors import ConfigError

# A --configfile replaces the default config entirely (no silent fallback to synthetic paths).
CONFIG_FILES = [str(p) for p in workflow.overwrite_configfiles] or [str(DEFAULT_CONFIG.relative_to(workflow.basedir))]
if not config:
    config.update(load_yaml(DEFAULT_CONFIG))
try:
    RUN = RunConfig.from_dict(config, source=", ".join(CONFIG_FILES), root=workflow.basedir)
except ConfigError as exc:
    raise WorkflowError(f"cpdeval: {exc}")

DERIVED = f"data/derived/{RUN.year}"
REPORTS = f"reports/{RUN.year}"


include: "rules/common.smk"
include: "rules/synthetic.smk"
include: "rules/ingest.smk"
include: "rules/link.smk"
# chapter rule files (each registers its derived tables in CHAPTER_INPUTS)
include: "rules/targeted.smk"
include: "rules/surveys.smk"
include: "rules/engagement.smk"
include: "rules/attainment.smk"
include: "rules/reports.smk"


rule all:
    input:
        expand(f"{REPORTS}/{{chapter}}.{{fmt}}", chapter=RUN.chapters, fmt=RUN.formats),
        f"{DERIVED}/link/bookings_linked.parquet",
    default_target: True
