"""The Snakefile's start-up shim: Snakemake's params check asks whether pandas is imported, not installed."""

from __future__ import annotations

import subprocess
import sys

from cpdeval.snakemake_startup import serialise_params_without_importing_pandas


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
