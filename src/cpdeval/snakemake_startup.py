"""Keep Snakemake from importing pandas while it checks whether a rule's params changed.

Before Snakemake decides what to run, it serialises each job's params to compare them with the ones recorded
at the job's last run (the "params" re-run trigger). Snakemake 9 picks its serialiser by asking whether pandas
is *installed* (``importlib.util.find_spec("pandas")``) and, when it is, imports pandas in case a param is a
DataFrame. pandas is installed here (statsmodels needs it), so every ``snakemake`` command, a no-op and
``--dry-run`` included, paid about 0.23 s of a 1.2 s no-op importing a library none of our params use.

A param can only be a pandas object if pandas has been imported already, so the question that matters is
whether pandas is *imported*. :func:`serialise_params_without_importing_pandas` asks that instead. The
serialised params are the same (Snakemake's pandas serialiser hands every non-pandas value to its built-in
one), so the same jobs re-run when a param changes (``tests/test_workflow.py`` checks both: the re-run on a
changed threshold, and that a dry-run no longer imports pandas).

The Snakefile calls it once, before the DAG is built. It changes Snakemake's ``PersistenceBase`` class in the
Snakemake process only, and does nothing if a Snakemake version lays this out differently (then Snakemake
behaves as it always does, a little slower).
"""

from __future__ import annotations

import sys

__all__ = ["serialise_params_without_importing_pandas"]

_SERIALISERS = ("_serialize_param_builtin", "_serialize_param_pandas")


def _serialiser(persistence):
    """The serialiser Snakemake would pick, decided by whether pandas is imported rather than installed."""
    if "pandas" in sys.modules:
        return persistence._serialize_param_pandas
    return persistence._serialize_param_builtin


def serialise_params_without_importing_pandas(persistence_class=None) -> bool:
    """Make Snakemake's params check import pandas only when pandas is already imported. Return True when
    applied, False when this Snakemake does not have the layout it applies to (nothing is changed)."""
    if persistence_class is None:
        try:
            from snakemake.persistence import PersistenceBase as persistence_class
        except ImportError:
            return False
    current = persistence_class.__dict__.get("_serialize_param")
    if not isinstance(current, property) or not all(hasattr(persistence_class, n) for n in _SERIALISERS):
        return False
    persistence_class._serialize_param = property(_serialiser, doc=_serialiser.__doc__)
    return True
