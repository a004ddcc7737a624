"""The job runner every rule's ``script:`` calls: a data error is one readable line; any other failure is
logged with its traceback to the rule's log file as well as the terminal."""

import sys
from types import SimpleNamespace

from cpdeval.runner import main


class _Params(dict):
    def __getattr__(self, name):
        return self[name]


def _job(tmp_path, monkeypatch, body: str):
    (tmp_path / "fake_stage.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("fake_stage", None)
    log = tmp_path / "logs" / "fake.log"
    smk = SimpleNamespace(input=[], output=[], params=_Params(stage="fake_stage:run"), log=[str(log)],
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
