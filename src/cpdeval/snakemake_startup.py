"""Keep Snakemake from importing pandas, numpy and polars for params none of our rules has.

Snakemake imports these libraries in its own process in two places, in case a rule's param is one of their
objects:

* Before it decides what to run, it serialises each job's params to compare them with the ones recorded at
  the job's last run (the "params" re-run trigger). Snakemake 9 picks its serialiser by asking whether pandas
  is *installed* (``importlib.util.find_spec("pandas")``) and, when it is, imports pandas. pandas is installed
  here (statsmodels needs it), so every ``snakemake`` command, a no-op and ``--dry-run`` included, paid about
  0.23 s of a 1.2 s no-op importing it. :func:`serialise_params_without_importing_pandas` fixes that.
* When it starts the first job of a ``script:`` rule, it stores the job's params for the script
  (``Snakemake._safely_store_params``), and to convert any pandas, numpy or polars object there it imports all
  three: about a second of imports (0.97 s in a fresh interpreter here) in a process that never uses them,
  while the first job of every run (the bookings) waits. :func:`store_script_params_without_importing_libraries`
  fixes that: the first four rules of the national year then take 11.1 s instead of 11.6 s (median of 4
  alternated runs each, in a venv as the README's main job makes it).

An object of a library can only exist once that library has been imported, so both shims ask whether the
library is *imported*: when it is, Snakemake does exactly what it always does; when it is not, no param can be
one of its objects, and the result is the same without importing it (``tests/test_snakemake_startup.py``
compares the two on the kinds of value our params hold; ``tests/test_workflow.py`` checks that a changed
threshold still re-runs its rule and that neither a dry run nor a real one imports pandas).

The Snakefile applies both once, before the DAG is built. They change Snakemake's classes in the Snakemake
process only, and each does nothing if a Snakemake version lays its class out differently, or (the second)
if its method uses any name Snakemake 9's does not, since it might then store more than the shim knows of
(Snakemake then behaves as it always does, a little slower).
"""

from __future__ import annotations

import sys

__all__ = ["serialise_params_without_importing_pandas", "store_script_params_without_importing_libraries"]

_SERIALISERS = ("_serialize_param_builtin", "_serialize_param_pandas")

#: The objects ``Snakemake._safely_store_params`` converts, by library.
_CONVERTED_TYPES = {"pandas": ("DataFrame", "Series"), "numpy": ("ndarray",),
                    "polars": ("LazyFrame", "DataFrame", "Series")}
#: Every name Snakemake 9's ``_safely_store_params`` uses. A version whose method uses any other (it might store
#: something more for the script) is left alone.
_STORE_PARAMS_NAMES = frozenset({
    "DataFrame", "LazyFrame", "ModuleNotFoundError", "Params", "Series", "_get_names", "_params_store",
    "_params_types", "_take_names", "collect", "dict", "enumerate", "isinstance", "list", "name", "ndarray",
    "numpy", "pandas", "polars", "to_dict", "to_list", "tolist"})


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


def holds_converted_objects(values) -> bool:
    """Whether any of ``values`` is a pandas, numpy or polars object that Snakemake converts for a script,
    asking only the libraries already imported (an object of a library nobody imported cannot exist)."""
    for library, names in _CONVERTED_TYPES.items():
        module = sys.modules.get(library)
        if module is None:
            continue
        types = tuple(t for t in (getattr(module, name, None) for name in names) if isinstance(t, type))
        if types and any(isinstance(value, types) for value in values):
            return True
    return False


def store_script_params_without_importing_libraries(snakemake_class=None, params_class=None) -> bool:
    """Make Snakemake store a script job's params without importing pandas, numpy and polars when no param
    is one of their objects. Return True when applied, False when this Snakemake does not have the layout it
    applies to (nothing is changed)."""
    if snakemake_class is None or params_class is None:
        try:
            from snakemake import iocontainers
        except ImportError:
            return False
        snakemake_class = snakemake_class or getattr(iocontainers, "Snakemake", None)
        params_class = params_class or getattr(iocontainers, "Params", None)
    original = snakemake_class.__dict__.get("_safely_store_params") if snakemake_class else None
    if getattr(original, "__wrapped__", None) is not None:   # applied already
        return True
    code = getattr(original, "__code__", None)
    if (code is None or not set(code.co_names) <= _STORE_PARAMS_NAMES
            or not all(hasattr(params_class, n) for n in ("_take_names", "_get_names"))):
        return False

    def _safely_store_params(self, params):
        if holds_converted_objects(params):
            return original(self, params)
        # what Snakemake's own method stores when it converts nothing
        self._params_store = params_class(toclone=list(params))
        self._params_types = dict()
        self._params_store._take_names(params._get_names())

    _safely_store_params.__wrapped__ = original
    _safely_store_params.__doc__ = store_script_params_without_importing_libraries.__doc__
    snakemake_class._safely_store_params = _safely_store_params
    return True
