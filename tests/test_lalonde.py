"""External check on the Lalonde data (``benchmarks/lalonde.py``; results in docs/statistics.md): the NSW
experiment's analytic and randomisation answers, and the observational estimators against the experimental
benchmark and Dehejia and Wahba's placebo (NSW controls against the CPS, true effect 0)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lalonde():
    pytest.importorskip("causaldata")
    spec = importlib.util.spec_from_file_location("lalonde_check", ROOT / "benchmarks" / "lalonde.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_randomisation_test_known_answer(lalonde):
    # 4 units, 2 treated: of the 6 labellings, the real one and its mirror give |difference| 2, so p = 1/3
    r = lalonde.randomisation_test(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1, 1, 0, 0]), draws=9999)
    assert r["estimate"] == -2.0 and r["p_value"] == pytest.approx(1 / 3, abs=0.015)


def test_randomisation_interval_is_where_the_test_turns(lalonde):
    rng = np.random.default_rng(1)
    t = np.repeat([1, 0], 30)
    y = rng.normal(size=60) + 0.8 * t
    r = lalonde.randomisation_test(y, t, draws=1999)
    assert r["ci_low"] < r["estimate"] < r["ci_high"] and r["p_value"] < 0.05
    shifted = lalonde.randomisation_test(y - r["ci_low"] * t, t, draws=1999)   # the lower end as the null
    assert shifted["p_value"] == pytest.approx(0.05, abs=0.01)


@pytest.mark.slow
def test_lalonde_experiment_observational_and_placebo_answers(lalonde):
    res = lalonde.run(draws=1999)
    exp = res["experiment"]
    assert exp["analytic"]["estimate"] == pytest.approx(1794.34, abs=0.01)          # the benchmark
    assert exp["analytic"]["p_value"] == pytest.approx(0.0079, abs=0.0005)
    assert exp["randomisation"]["p_value"] < 0.01
    assert exp["randomisation"]["ci_low"] < 1794.34 < exp["randomisation"]["ci_high"]
    obs, placebo = res["observational"], res["placebo"]
    assert obs["naive"]["estimate"] < -8000                                    # the CPS selection, unadjusted
    for key in ("regression", "psm", "psm_no_replacement", "ipw_att"):
        assert obs[key]["ci_low"] < 1794.34 < obs[key]["ci_high"], key         # the benchmark is inside
        assert placebo[key]["ci_low"] < 0 < placebo[key]["ci_high"], key       # the placebo finds nothing
    assert not placebo["naive"]["ci_low"] < 0 < placebo["naive"]["ci_high"]
