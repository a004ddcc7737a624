"""The job runner every rule's ``script:`` calls: a data error is one readable line; any other failure is
logged with its traceback to the rule's log file as well as the terminal."""

import sys
from types import SimpleNamespace

from cpdeval.runner import main


class _Params(dict):
    def __getattr__(self, name):
        return self[name]


def _job(tmp_path, monkeypatch, body: str):
    """A job of rule ``fake_rule`` whose stage function is ``run`` in a module written from ``body``."""
    import importlib

    import cpdeval.stages

    (tmp_path / "fake_stage.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("fake_stage", None)
    fake = importlib.import_module("fake_stage")
    monkeypatch.setattr(cpdeval.stages, "stage_function", lambda rule: {"fake_rule": fake.run}[rule])
    log = tmp_path / "logs" / "fake.log"
    smk = SimpleNamespace(input=[], output=[], params=_Params(), log=[str(log)],
                          wildcards={}, rule="fake_rule", scriptdir=None)
    return smk, log


def test_an_unexpected_error_reaches_the_rules_log_with_its_traceback(tmp_path, monkeypatch, capsys):
    smk, log = _job(tmp_path, monkeypatch, "def run(job):\n    return {}['missing key']\n")
    assert main(smk) == 1
    text = log.read_text()
    assert "fake_rule failed unexpectedly" in text
    assert "Traceback" in text and "KeyError: 'missing key'" in text and "fake_stage.py" in text
    assert "KeyError" in capsys.readouterr().err                  # and on the terminal


def test_a_data_error_is_one_line_without_a_traceback(tmp_path, monkeypatch):
    smk, log = _job(tmp_path, monkeypatch, "from cpdeval.errors import CpdevalError\n"
                                           "def run(job):\n    raise CpdevalError('bookings.csv row 7: no date')\n")
    assert main(smk) == 1
    text = log.read_text()
    assert "bookings.csv row 7: no date" in text and "Traceback" not in text


def test_a_rule_without_a_stage_function_is_named(tmp_path):
    log = tmp_path / "no_stage.log"
    smk = SimpleNamespace(input=[], output=[], params=_Params(), log=[str(log)], wildcards={}, rule="no_such_rule",
                          scriptdir=None)
    assert main(smk) == 2
    assert "rule 'no_such_rule'" in log.read_text() and "src/cpdeval/stages/<file>.py" in log.read_text()


def test_every_job_records_its_own_time_and_memory(tmp_path, monkeypatch):
    import json

    smk, log = _job(tmp_path, monkeypatch, "def run(job):\n    sum(range(3_000_000))\n")
    smk.wildcards = _Params(chapter="delivery")
    assert main(smk) == 0
    usage = json.loads((log.parent / "usage" / "fake.json").read_text())
    assert usage["rule"] == "fake_rule" and usage["wildcards"] == {"chapter": "delivery"}
    assert usage["exit_status"] == 0
    assert usage["wall_s"] > 0 and usage["cpu_s"] > 0 and usage["peak_rss_mib"] > 10
    smk, log = _job(tmp_path, monkeypatch, "def run(job):\n    raise KeyError('x')\n")
    assert main(smk) == 1
    assert json.loads((log.parent / "usage" / "fake.json").read_text())["exit_status"] == 1


def test_exit_now_keeps_the_log_and_the_terminal_output(tmp_path):
    """The fast exit skips the interpreter's shutdown, not the flushing: a log line, text left in stdout's
    buffer (a pipe, so block-buffered) and the status all arrive."""
    import subprocess

    log = tmp_path / "job.log"
    code = ("import sys\n"
            "from cpdeval.logs import job_logger\n"
            "from cpdeval.runner import exit_now\n"
            f"job_logger('fake_rule', {str(log)!r}).info('last line of the job')\n"
            "sys.stdout.write('no newline, still buffered')\n"
            "exit_now(3)\n"
            "print('never reached')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert done.stdout == "no newline, still buffered"
    assert "fake_rule: last line of the job" in log.read_text(encoding="utf-8")
    assert "last line of the job" in done.stderr
