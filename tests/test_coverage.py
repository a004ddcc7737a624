"""The chapter's intervals in a small seeded version of ``benchmarks/coverage.py`` (the full run is in
docs/statistics.md): every interval the chapter prints covers its estimator's target in most samples under
clustered uptake, heterogeneous effects and few clusters."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def coverage():
    spec = importlib.util.spec_from_file_location("coverage_sim", ROOT / "benchmarks" / "coverage.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_one_sample_runs_the_chapters_calls_with_local_authority_clusters(coverage):
    rows = coverage.replicate("few_clusters", 7)
    by_key = {r["key"]: r for r in rows}
    assert set(by_key) == {"naive_schools", "naive_pupils", "regression", "psm", "psm_no_replacement", "ipw_att",
                           "did_twfe", "did_etwfe"}
    for key in ("naive_schools", "naive_pupils", "regression", "ipw_att"):     # 20 authorities: fewer than 30
        assert by_key[key]["method"].startswith("wild cluster bootstrap"), key
    for key in ("psm", "psm_no_replacement"):
        assert "cluster-robust by la_code" in by_key[key]["method"]


def test_users_in_two_authorities_refuse_the_adjusted_cross_section_and_the_summary_counts_it(coverage):
    import numpy as np

    seed = next(i for i in range(100) if len(set(
        (s := coverage.draw("few_clusters", np.random.default_rng(i)))["la"][s["user"]])) == 2)
    rows = coverage.replicate("few_clusters", seed)
    refused = {r["key"] for r in rows if "refused" in r}
    assert refused == {"regression", "psm", "psm_no_replacement", "ipw_att"}
    assert all("users are in 2 of 20 local authorities" in r["refused"] for r in rows if "refused" in r)
    table = coverage.summarise(rows + coverage.replicate("few_clusters", seed + 1))
    assert table.filter(table["key"] == "regression")["refused"].item() >= 1


@pytest.mark.slow
def test_small_coverage_run(coverage):
    table = coverage.run(40, ("clustered", "heterogeneous"), seed=2)
    low = table.filter(table["coverage"] < 0.85)
    assert low.height == 0, coverage.markdown(low)
