"""The Snakefile's start-up shims: Snakemake asks whether pandas (and numpy, polars) is imported, not installed,
before it imports one for params."""

from __future__ import annotations

import subprocess
import sys

from cpdeval.snakemake_startup import (holds_converted_objects, serialise_params_without_importing_pandas,
                                       store_script_params_without_importing_libraries)


def _fresh_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_params_are_serialised_as_before_and_pandas_stays_unimported():
    # In a fresh interpreter (pytest itself may have imported pandas): Snakemake's own serialiser on the kinds
    # of value our params hold, against the shimmed one; then whether pandas got imported.
    out = _fresh_python(
        "import sys\n"
        "from snakemake.persistence import PersistenceBase as P\n"
        "P.__abstractmethods__ = frozenset()\n"   # an instance only to call the serialisers on
        "from cpdeval.snakemake_startup import serialise_params_without_importing_pandas as shim\n"
        "values = [0.85, 3, 'x', None, True, {'a': [1, 2.5]}, ['2014-15', '2015-16'], ('t', 1), {1, 2}]\n"
        "p = object.__new__(P)\n"
        "before = [p._serialize_param_builtin(v) for v in values]\n"
        "assert 'pandas' not in sys.modules\n"
        "assert shim() is True\n"
        "p = object.__new__(P)\n"
        "after = [p._serialize_param(v) for v in values]\n"
        "print(before == after, p._serialize_param.__name__, 'pandas' in sys.modules)\n")
    assert out == "True _serialize_param_builtin False"


def test_once_pandas_is_imported_a_dataframe_param_is_still_hashed_by_content():
    out = _fresh_python(
        "import pandas as pd\n"
        "from snakemake.persistence import PersistenceBase as P\n"
        "P.__abstractmethods__ = frozenset()\n"   # an instance only to call the serialisers on
        "from cpdeval.snakemake_startup import serialise_params_without_importing_pandas as shim\n"
        "shim()\n"
        "p = object.__new__(P)\n"
        "a, b = (p._serialize_param(pd.DataFrame({'x': [v]})) for v in (1, 2))\n"
        "print(p._serialize_param.__name__, a != b)\n")
    assert out == "_serialize_param_pandas True"


def test_a_snakemake_laid_out_differently_is_left_alone():
    class Elsewhere:   # no _serialize_param property, no serialisers
        def _serialize_param(self, value):
            return repr(value)

    original = Elsewhere.__dict__["_serialize_param"]
    assert serialise_params_without_importing_pandas(Elsewhere) is False
    assert Elsewhere.__dict__["_serialize_param"] is original


def test_the_shim_only_swaps_the_property():
    class Persistence:
        def _serialize_param_builtin(self, value):
            return ("builtin", value)

        def _serialize_param_pandas(self, value):
            return ("pandas", value)

        @property
        def _serialize_param(self):
            import importlib.util   # what Snakemake 9 does: installed, not imported
            return self._serialize_param_pandas if importlib.util.find_spec("pandas") else None

    assert serialise_params_without_importing_pandas(Persistence) is True
    expected = "pandas" if "pandas" in sys.modules else "builtin"
    assert Persistence()._serialize_param(1) == (expected, 1)


# The kinds of value our rules' params hold (tests/test_workflow.py checks a whole run imports neither library).
STORE_PARAMS = """
import sys
from snakemake.iocontainers import Params, Snakemake
from cpdeval.snakemake_startup import store_script_params_without_importing_libraries as shim
params = Params(fromdict={"quality": {"max_quarantine_share": 0.2}, "years": ["2014-15", "2015-16"],
                          "synthetic": True, "key_fingerprint": "251686168dcaaf6c", "sheets": None})
original = Snakemake.__dict__["_safely_store_params"]
assert shim() is True and shim() is True   # applied once, however often called
shimmed = object.__new__(Snakemake)
shimmed._safely_store_params(params)
imported = sorted(m for m in ("pandas", "polars") if m in sys.modules)
plain = object.__new__(Snakemake)
original(plain, params)
same = (list(shimmed._params_store) == list(plain._params_store)
        and list(shimmed._params_store._get_names()) == list(plain._params_store._get_names())
        and shimmed._params_types == plain._params_types == {})
print(same, imported, shimmed._params_store.years == ["2014-15", "2015-16"])
"""


def test_script_params_are_stored_as_before_without_importing_pandas_or_polars():
    assert _fresh_python(STORE_PARAMS) == "True [] True"


def test_once_polars_is_imported_a_dataframe_param_is_converted_as_snakemake_does():
    out = _fresh_python(
        "import polars as pl\n"
        "from snakemake.iocontainers import Params, Snakemake\n"
        "from cpdeval.snakemake_startup import store_script_params_without_importing_libraries as shim\n"
        "shim()\n"
        "s = object.__new__(Snakemake)\n"
        "s._safely_store_params(Params(fromdict={'table': pl.DataFrame({'x': [1, 2]}), 'n': 3}))\n"
        "print(s._params_types, list(s._params_store))\n")
    assert out == "{0: 'pl.DataFrame'} [{'x': [1, 2]}, 3]"


def test_holds_converted_objects_tells_library_objects_from_plain_values():
    import numpy as np

    assert holds_converted_objects([1, "x", np.array([1, 2])]) is True
    assert holds_converted_objects([1, "x", [1, 2], {"a": None}]) is False


def test_a_snakemake_without_the_store_method_is_left_alone():
    class Elsewhere:   # no _safely_store_params
        pass

    class Params:   # without the naming methods the shim relies on
        pass

    assert store_script_params_without_importing_libraries(Elsewhere, Params) is False
    assert "_safely_store_params" not in Elsewhere.__dict__


def test_a_store_method_that_does_more_is_left_alone():
    from snakemake.iocontainers import Params

    class Newer:   # a later Snakemake might store something more for the script
        def _safely_store_params(self, params):
            self._params_store = Params(toclone=list(params))
            self._params_types = dict()
            self._params_checksum = hash(tuple(params))

    original = Newer.__dict__["_safely_store_params"]
    assert store_script_params_without_importing_libraries(Newer, Params) is False
    assert Newer.__dict__["_safely_store_params"] is original
