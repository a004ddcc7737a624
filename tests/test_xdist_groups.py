"""The full suite runs on two workers (``pytest --full -n 2``, ``--dist loadgroup`` in pyproject.toml). Tests that
share an expensive fixture are put in one xdist group so that the fixture is computed once: ``tests/conftest.py``
groups every test of the shared synthetic run, and the coverage simulations of ``test_estimators.py`` carry their
own group. Nothing fails when grouping stops working, the suite only gets slower (each worker computes the shared
run and the simulations: about 170 s more CPU, 876 s against 759 s for the full suite on 5 December), so this
test checks it: the project's own collection hook, in a small project of its own, must send every test of the
shared run to one worker, and an explicitly grouped test to one worker too."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parent / "conftest.py"


@pytest.mark.slow
def test_the_shared_run_and_the_simulations_each_go_to_one_worker(tmp_path):
    assert importlib.util.find_spec("xdist") is not None
    (tmp_path / "conftest.py").write_text(
        "import importlib.util\n"
        "import pytest\n"
        f"spec = importlib.util.spec_from_file_location('cpdeval_tests_conftest', {str(CONFTEST)!r})\n"
        "project = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(project)\n"
        "pytest_addoption = project.pytest_addoption\n"
        "pytest_collection_modifyitems = project.pytest_collection_modifyitems   # the hook under test\n"
        "\n"
        "@pytest.fixture(scope='session')\n"
        "def synthetic_run():   # stands in for the workflow run\n"
        "    return 1\n", encoding="utf-8")
    (tmp_path / "test_grouped.py").write_text(
        "import pytest\n"
        + "".join(f"def test_run_{i}(synthetic_run):\n    pass\n" for i in range(4))
        + "".join(f"def test_free_{i}():\n    pass\n" for i in range(4))
        + "".join(f"@pytest.mark.xdist_group('simulation')\ndef test_simulated_{i}():\n    pass\n" for i in range(4)),
        encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "pytest", "--full", "-n", "2", "--dist", "loadgroup", "-v",
                          "-p", "no:cacheprovider"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    ran = re.findall(r"\[(gw\d)\] \[\s*\d+%\] PASSED test_grouped\.py::(\w+)(@\w+)?", out.stdout)
    assert len(ran) == 12, out.stdout[-3000:]
    for prefix, group in (("test_run_", "@synthetic_run"), ("test_simulated_", "@simulation")):
        tagged = [(worker, tag) for worker, name, tag in ran if name.startswith(prefix)]
        assert {tag for _, tag in tagged} == {group}, f"{prefix}* not grouped: {tagged}"
        assert len({worker for worker, _ in tagged}) == 1, f"{prefix}* ran on several workers: {tagged}"
