"""Shared test helpers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REAL_DATA = SHARED / "real-data"

BOOKING_HEADER = ("Booking Reference,Contact ID,Contact Name,Contact Email,Job Role,Organisation URN,"
                  "Organisation LAESTAB,Organisation Name,Organisation Postcode,Activity Code,Activity Title,"
                  "Activity Type,Delivered By,Partnership ID,Region,Start Date,Sessions,CPD Units,Booking Status,"
                  "Bursary,Priority School,Led By Practitioner,Fee")

GOOD_BOOKING = ("BK{n},C{n},Name {n},p{n}@example.org,Teacher,100001,,Alpha School,AB1 2CD,A1,Forces,Course,"
                "National Centre,,London,01/05/2018,1,1.5,Attended,N,N,N,£120.00")


#: A key of the required strength, for tests that run a real (non-synthetic) year; never used for real data.
TEST_KEY = "cpdeval-tests-only-key-0123456789abcdef"


def write_csv(path: Path, header: str, rows: list[str], *, bom: bool = True, crlf: bool = True,
              encoding: str = "utf-8") -> Path:
    nl = "\r\n" if crlf else "\n"
    text = nl.join([header, *rows]) + nl
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path


@pytest.fixture
def booking_file(tmp_path):
    def make(rows: list[str], name: str = "bookings.csv", **kw) -> Path:
        return write_csv(tmp_path / name, BOOKING_HEADER, rows, **kw)
    return make


def one_row(df, **eq):
    """The single row of ``df`` whose columns equal ``eq`` (fails if there is not exactly one)."""
    import polars as pl

    for k, v in eq.items():
        df = df.filter(pl.col(k) == v)
    assert df.height == 1, eq
    return df.row(0, named=True)


def requires_real_data():
    return pytest.mark.skipif(not REAL_DATA.exists(), reason="../shared/real-data not beside the project")


from cpdeval.workspace import copy_project  # noqa: E402  (re-exported for the tests)

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


# -- the two test loops -----------------------------------------------------------------------------------
# `pytest` is the fast loop: no workflow run, no slow statistical check. `pytest --full` runs everything (CI).

#: Fixtures that run the workflow: a test using one, directly or through another fixture, is end-to-end.
WORKFLOW_FIXTURES = {"synthetic_run"}
_FAST = {"on": False, "deselected": 0}


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true",
                     help="the whole suite: end-to-end (workflow), slow and browser tests too (what CI runs)")


@pytest.hookimpl(tryfirst=True)   # before xdist's own, which reads the group marks to send a group to one worker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if WORKFLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
            # on two workers (pytest -n 2), every test of the shared run goes to one worker, so the workflow
            # runs once; the other worker takes the rest
            item.add_marker(pytest.mark.xdist_group("synthetic_run"))
    if config.getoption("--full") or config.getoption("markexpr"):   # a -m expression is the user's choice
        return
    _FAST["on"] = True
    later = [i for i in items if i.get_closest_marker("e2e") or i.get_closest_marker("slow")]
    if later:
        config.hook.pytest_deselected(items=later)
        items[:] = [i for i in items if not (i.get_closest_marker("e2e") or i.get_closest_marker("slow"))]
    _FAST["deselected"] = len(later)


def pytest_terminal_summary(terminalreporter):
    if _FAST["on"]:
        terminalreporter.write_line(f"fast loop: {_FAST['deselected']} end-to-end and slow tests not run; "
                                    "`pytest --full` runs the whole suite (CI does)")


def _refuse_workflow_in_fast_loop() -> None:
    if _FAST["on"]:
        pytest.fail("this test runs the workflow but is not marked e2e (the fast loop runs none): add "
                    "@pytest.mark.e2e or use the synthetic_run fixture")


def run_snakemake(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    _refuse_workflow_in_fast_loop()
    return subprocess.run([*SNAKEMAKE, "--cores", "2", *args], cwd=project, capture_output=True, text=True,
                          timeout=1200, env=env)


README = ROOT / "README.md"
VENV_BIN = str(Path(sys.executable).parent) + "/"


def readme_commands() -> list[str]:
    """Each command of the README: lines of ```bash blocks (a trailing backslash joins lines, a trailing
    comment is dropped) and inline code spans that start with a command."""
    import re

    text = README.read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", re.sub(r"\s+", " ", line)).strip()
            if line:
                commands.append(line)
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    starts = r"(?:\.venv/bin/|snakemake |cpdeval |python3? |pip |conda |export )"
    commands += [c.strip() for c in re.findall(rf"`({starts}[^`]+)`", prose)]
    return commands


def as_written(command: str, year: str = "synthetic") -> str:
    """A README command as run by the tests: ``.venv/bin/`` is the environment running them, ``<year>`` a year."""
    return command.replace(".venv/bin/", VENV_BIN).replace("<year>", year)


def sh(command: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    if "snakemake" in command:
        _refuse_workflow_in_fast_loop()
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=1200,
                          env=env)


def main_job() -> str:
    """The README's main job after the setup that CI does on a fresh machine: ``.venv/bin/snakemake --cores 4``."""
    first = next(c for c in readme_commands() if c.startswith("python3 -m venv .venv") and "snakemake" in c)
    return first.split(" && ")[-1]


MAIN_JOB = main_job


@pytest.fixture(scope="session")
def synthetic_run(tmp_path_factory):
    """The whole workflow run once on the small synthetic year, shared by the end-to-end tests: the README's
    main job, as written."""
    proj = copy_project(tmp_path_factory.mktemp("cpdeval"))
    result = sh(as_written(MAIN_JOB()), proj)
    if result.returncode != 0:
        pytest.fail(f"snakemake failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    (proj / FIRST_RUN_OUTPUT).write_text(result.stdout + result.stderr, encoding="utf-8")
    return proj


#: What the shared synthetic run printed (kept beside the project copy for tests of the terminal output).
FIRST_RUN_OUTPUT = "first-run-output.txt"


@pytest.fixture
def no_links(monkeypatch):
    """For tests of a chapter's published tables: linked tables (``link=``) remember cells across calls, so each
    test starts and ends without any, and its tables stay out of any publication log."""
    from cpdeval.tables import _LINKED, PUBLICATION_LOG_ENV

    monkeypatch.delenv(PUBLICATION_LOG_ENV, raising=False)
    _LINKED.clear()
    yield
    _LINKED.clear()


def published_rows(t) -> list[tuple]:
    """The cells of a published table as the page shows them, row by row."""
    return t.data.rows()
