"""The school panel on hand-made performance tables (issue #20): independent schools left out even when the
register lacks them (by the table's own NFTYPE), a merger's predecessors combined pupil-weighted, and the
register's coverage of each key stage checked."""

from __future__ import annotations

import logging

import polars as pl
import pytest

from cpdeval.attainment import combine_urns, register_coverage, school_panel
from cpdeval.errors import InputError


def long_rows(rows):
    """Performance-table rows (urn, year, nftype, {measure: value}) in the ingested long shape."""
    out = []
    for urn, ay, nftype, values in rows:
        for m, v in values.items():
            out.append({"urn": urn, "laestab": 9364000, "academic_year": ay, "key_stage": "ks4", "rectype": 1,
                        "nftype": nftype, "measure": m, "kind": "percent", "bound": "estimate", "value": v,
                        "status": "ok"})
    return pl.DataFrame(out)


def register(urns, independent=()):
    return pl.DataFrame({"urn": list(urns), "la_code": [936] * len(urns), "pct_fsm": [10.0] * len(urns),
                         "pupils": [900] * len(urns), "urban_rural": ["urban"] * len(urns),
                         "ofsted_rating": [2] * len(urns), "region": ["South East"] * len(urns),
                         "type_group": ["Independent schools" if u in independent else "Academies" for u in urns],
                         "status": ["open"] * len(urns)})


def test_independent_schools_are_left_out_even_when_the_register_lacks_them():
    att = long_rows([(100001, "2018-19", "ACC", {"pct_ebacc_2sci": 60.0, "pupils": 100}),
                     (100002, "2018-19", "IND", {"pct_ebacc_2sci": 90.0, "pupils": 50}),      # not in register
                     (100003, "2018-19", "CY", {"pct_ebacc_2sci": 50.0, "pupils": 100}),
                     (100004, "2018-19", "ACC", {"pct_ebacc_2sci": 95.0, "pupils": 40})])     # register: independent
    excl = []
    panel = school_panel(att, register([100001, 100003, 100004], independent=[100004]), None,
                         ["pct_ebacc_2sci"], exclusions=excl)
    assert sorted(panel["school_key"].to_list()) == [100001, 100003]
    assert panel["pct_ebacc_2sci"].mean() == pytest.approx(55.0)        # not 71.7 with the independents in
    reasons = {e["reason"]: e["n_schools"] for e in excl}
    assert reasons["independent school"] == 1
    assert reasons["independent school (not in the register; type from the performance table)"] == 1


def test_a_mergers_predecessors_are_combined_pupil_weighted():
    wide = pl.DataFrame({"urn": [100010, 100011, 100012, 100020], "academic_year": ["2016-17"] * 4,
                         "school_key": [100012, 100012, 100012, 100020],
                         "pct_5em": [60.0, 30.0, None, 70.0], "pupils": [300.0, 97.0, None, 120.0]})
    out = combine_urns(wide, ["pct_5em"])
    merged = out.filter(pl.col("school_key") == 100012).row(0, named=True)
    assert merged["pct_5em"] == pytest.approx((60 * 300 + 30 * 97) / 397)   # the 97-pupil school counts
    assert merged["pupils"] == 397.0 and merged["urn"] == 100012
    assert out.filter(pl.col("school_key") == 100020)["pct_5em"].item() == 70.0
    assert out.height == 2


def test_register_coverage_warns_then_stops(caplog):
    att = long_rows([(100000 + i, "2018-19", "ACC", {"pupils": 100}) for i in range(20)]
                    + [(200000, "2018-19", "IND", {"pupils": 30})])             # an independent: not counted
    log = logging.getLogger("cov")
    full = register_coverage(att, register([100000 + i for i in range(20)]), "ks4", "2018-19", limit=0.5,
                             logger=log)
    assert full["schools"] == 20 and full["not_in_register"] == 0
    with caplog.at_level(logging.WARNING, logger="cov"):
        part = register_coverage(att, register([100000 + i for i in range(17)]), "ks4", "2018-19", limit=0.5,
                                 logger=log)
    assert part["not_in_register"] == 3 and "3 of 20 KS4 schools" in caplog.text
    with pytest.raises(InputError, match=r"18 of 20 KS4 schools .* not in the register .* 90%, above the limit"):
        register_coverage(att, register([100000, 100001]), "ks4", "2018-19", limit=0.5, logger=log)


def _panel(n_users: int, n=120, seed=1):
    """A two-year school panel: ``n_users`` schools start using the programme before the outcome year."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows, groups = [], []
    for k in range(n):
        user = k < n_users
        base = rng.normal(50, 5)
        for year, ay in ((2017, "2017-18"), (2018, "2018-19")):
            rows.append({"school_key": 100000 + k, "year": year, "academic_year": ay, "la_code": 800 + k % 12,
                         "pct_5em": base + (2.0 if user and year == 2018 else 0) + rng.normal(0, 1),
                         "ks2_aps": rng.normal(28, 1), "pct_fsm": rng.uniform(5, 30), "log_pupils": rng.normal(6.5, .2),
                         "urban": float(k % 3 > 0), "good_ofsted": float(k % 4 > 0), "ofsted": "good",
                         "region": "South East" if k % 2 else "London", "type_group": "Academies",
                         "pupils": 150.0})
        groups.append({"school_key": 100000 + k, "group": "both" if user else "none", "user": user,
                       "units_window": 5.0 if user else 0.0, "treated_from": 2018 if user else None})
    return pl.DataFrame(rows), pl.DataFrame(groups, schema_overrides={"treated_from": pl.Int64})


def test_an_estimate_on_too_few_user_schools_is_not_made():
    from cpdeval.attainment import _Missed, adjusted_estimates

    panel, groups = _panel(n_users=4)
    log = _Missed(None)
    est, _ = adjusted_estimates(panel, groups, "2018-19", ["pct_5em"], min_schools=10, logger=log)
    assert est.height == 0
    assert {m["what"].split(" for ")[0] for m in log.missed} >= {"regression", "did_twfe", "ipw_att"}
    assert any("4 user and 116 comparison schools, fewer than 10" in m["reason"] for m in log.missed)
    panel, groups = _panel(n_users=30)
    est, _ = adjusted_estimates(panel, groups, "2018-19", ["pct_5em"], min_schools=10, logger=_Missed(None))
    assert {"regression", "did_twfe"} <= set(est["method_key"])
    did = est.filter(pl.col("method_key") == "did_twfe").row(0, named=True)
    assert did["ci_low"] < 2.0 < did["ci_high"]                      # the planted +2 is inside the interval


def test_the_dose_figure_draws_a_band_without_an_estimate(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from cpdeval.attainment_figures import dose_response_figure

    dose = pl.DataFrame({"measure": ["pct_5em"] * 3, "band": ["none", "q1", "q2"], "n": [60, 12, 11],
                         "estimate": [0.0, 1.5, None], "ci_low": [None, 0.2, None], "ci_high": [None, 2.8, None],
                         "is_reference": [True, False, False], "equal_p": [0.4] * 3})
    out = tmp_path / "dose.png"
    dose_response_figure(dose, {"none": "No CPD", "q1": "Q1", "q2": "Q2"}, "pct_5em", out, threshold=5)
    assert out.exists() and out.stat().st_size > 1000


def test_holm_adjusts_the_secondary_estimates_only():
    from cpdeval.attainment import with_holm

    est = pl.DataFrame({"method_key": ["naive_schools", "regression", "did_twfe", "did_etwfe", "regression"],
                        "p_value": [0.001, 0.01, 0.002, 0.04, 0.03]})
    out = with_holm(est, "did_twfe")
    assert out["method_key"].to_list() == est["method_key"].to_list()           # order kept
    assert out["p_holm"].to_list()[0] is None and out["p_holm"].to_list()[2] is None
    assert out["p_holm"].to_list()[1] == pytest.approx(0.03)                   # 3 x 0.01
    assert out["p_holm"].to_list()[3] == pytest.approx(0.06)
    assert out["p_holm"].to_list()[4] == pytest.approx(0.06)
