"""cpdeval: evaluation-analysis pipeline for teacher CPD programmes.

Every computation lives here as plain functions on DataFrames; the Snakemake
rules under ``rules/`` only wire files to these functions.
"""

from pathlib import Path

__version__ = "0.1.0"

#: Root of the project checkout (holds Snakefile, config/, schemas/, reports/).
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCHEMAS_DIR = PROJECT_ROOT / "schemas"
CONFIG_DIR = PROJECT_ROOT / "config"
