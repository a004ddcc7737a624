"""Few clusters, few treated units, clustered matching, quarterly periods (issue #18).

Known answers: the fast wild cluster bootstrap against a brute-force one that refits every draw, the
placebo p-value against hand-counted ranks, the organ-donation panel's published placebo answer (5 of 27).
"""

import math

import numpy as np
import polars as pl
import pytest

from cpdeval import estimators as est
from cpdeval.estimators.small_sample import _weights, placebo_p_value, wild_cluster_bootstrap


def _clustered(seed=3, G=8, n=200):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, G, n)
    x = rng.normal(size=n) + 0.5 * (g < 3)
    z = rng.normal(size=n)
    y = 1 + 0.3 * x + z + rng.normal(size=G)[g] + rng.normal(size=n)
    return np.column_stack([np.ones(n), x, z]), y, g


def _brute_p(X, y, g, column, tau0, V):
    """Restricted wild cluster bootstrap the slow way: impose the null, draw, refit, studentise (CR1)."""
    n, k = X.shape
    G = V.shape[0]

    def fit(yv):
        A = np.linalg.inv(X.T @ X)
        b = A @ X.T @ yv
        u = yv - X @ b
        S = np.zeros((G, k))
        np.add.at(S, g, X * u[:, None])
        return b[column], math.sqrt((G / (G - 1) * (n - 1) / (n - k) * A @ S.T @ S @ A)[column, column])

    b, se = fit(y)
    others = np.delete(X, column, axis=1)
    br = np.linalg.lstsq(others, y - tau0 * X[:, column], rcond=None)[0]
    fitted = others @ br + tau0 * X[:, column]
    u = y - fitted
    hits = 0
    for d in range(V.shape[1]):
        bs, ses = fit(fitted + u * V[g, d])
        hits += abs(bs - tau0) / ses >= abs(b - tau0) / se - 1e-12
    return hits / V.shape[1]


def test_fast_wild_cluster_bootstrap_equals_refitting_every_draw():
    X, y, g = _clustered()
    r = wild_cluster_bootstrap(X, y, g, 1, draws=299, seed=5)
    V = _weights(r["kind"], 8, 299, np.random.default_rng(5))
    assert r["kind"] == "webb"                       # 8 clusters: six-point weights
    assert r["p_value"] == pytest.approx(_brute_p(X, y, g, 1, 0.0, V), abs=1e-12)
    # the interval's ends are where the test turns: rejected just outside, not just inside
    eps = 1e-3
    assert _brute_p(X, y, g, 1, r["ci_low"] - eps, V) <= 0.05 < _brute_p(X, y, g, 1, r["ci_low"] + eps, V)
    assert _brute_p(X, y, g, 1, r["ci_high"] + eps, V) <= 0.05 < _brute_p(X, y, g, 1, r["ci_high"] - eps, V)


def test_wild_bootstrap_holds_its_size_where_cr1_does_not():
    """Six clusters, the regressor constant within cluster (three 'treated' authorities): CR1 with G-1 df rejects
    a true null too often; the restricted wild bootstrap does not."""
    rng = np.random.default_rng(11)
    rej_cr1 = rej_wcr = 0
    reps = 150
    for _ in range(reps):
        G, n = 6, 120
        g = np.repeat(np.arange(G), n // G)
        x = (g < 3).astype(float) + rng.normal(0, 0.1, n)
        y = rng.normal(0, 1, G)[g] * np.where(g == 0, 3, 1) + rng.normal(size=n)
        X = np.column_stack([np.ones(n), x])
        r = wild_cluster_bootstrap(X, y, g, 1, draws=399, seed=int(rng.integers(1e9)))
        t = r["estimate"] / r["se_cr1"]
        from scipy import stats
        rej_cr1 += 2 * stats.t.sf(abs(t), G - 1) < 0.05
        rej_wcr += r["p_value"] < 0.05
    assert rej_wcr / reps <= 0.08
    assert rej_cr1 > rej_wcr


def test_regression_uses_the_bootstrap_below_the_cluster_threshold():
    X, y, g = _clustered(G=10, n=300)
    df = pl.DataFrame({"y": y, "t": (X[:, 1] > 0.3).astype(int), "z": X[:, 2], "la": g})
    plain = est.regression_adjusted(df, "y", "t", ["z"], cluster="la")
    boot = est.regression_adjusted(df, "y", "t", ["z"], cluster="la", few_clusters=30, bootstrap_draws=999)
    same = est.regression_adjusted(df, "y", "t", ["z"], cluster="la", few_clusters=10)   # 10 is not fewer
    assert (boot.estimate, boot.std_error) == (plain.estimate, plain.std_error)
    assert "wild cluster bootstrap" in boot.se_method and "10 clusters" in boot.se_method
    assert boot.diagnostics["analytic"]["ci_low"] == plain.ci_low
    assert boot.ci_low < boot.estimate < boot.ci_high and boot.ci_low != plain.ci_low
    assert boot.smd_ci_low == pytest.approx(boot.ci_low / boot.sd_outcome)
    assert same == plain and same.se_method == plain.se_method
    again = est.regression_adjusted(df, "y", "t", ["z"], cluster="la", few_clusters=30, bootstrap_draws=999)
    assert (again.ci_low, again.ci_high, again.p_value) == (boot.ci_low, boot.ci_high, boot.p_value)   # seeded


def test_dose_response_bands_use_the_bootstrap_with_few_clusters():
    rng = np.random.default_rng(2)
    n = 240
    df = pl.DataFrame({"y": rng.normal(size=n), "band": rng.choice(["none", "low", "high"], n),
                       "z": rng.normal(size=n), "la": rng.integers(0, 9, n)})
    r = est.dose_response(df, "y", "band", ["z"], reference_band="none", cluster="la", few_clusters=30,
                          bootstrap_draws=499)
    assert all("wild cluster bootstrap" in e.se_method for e in r.estimates)
    assert r.table.filter(~pl.col("is_reference"))["ci_low"].to_list() == [e.ci_low for e in r.estimates]


# --------------------------------------------------------------------------- placebo (randomisation) p-values

def test_placebo_p_value_is_the_rank_of_the_real_estimate_among_every_assignment():
    effects = {0: 5.0, 1: 1.0, 2: -2.0, 3: 0.5, 4: 3.0}   # estimate if unit k were the treated one
    g = np.array([2016.0, np.nan, np.nan, np.nan, np.nan])    # unit 0 is treated

    def estimate_for(a):
        return effects[int(np.flatnonzero(~np.isnan(a))[0])]

    r = placebo_p_value(estimate_for, g, draws=999)
    assert r["exact"] and r["n_placebos"] == 5
    assert r["p_value"] == pytest.approx(1 / 5)            # 5.0 is the largest |estimate| of five
    g2 = np.array([np.nan, np.nan, 2016.0, np.nan, np.nan])   # unit 2 (-2.0): |5|, |3| and |-2| reach it
    assert placebo_p_value(estimate_for, g2)["p_value"] == pytest.approx(3 / 5)


def _one_treated_panel(effect, seed=0, units=10, years=6):
    rng = np.random.default_rng(seed)
    u = np.repeat(np.arange(units), years)
    t = np.tile(np.arange(2010, 2010 + years), units)
    first = np.where(u == 0, 2013.0, np.nan)
    y = rng.normal(size=units)[u] + 0.2 * t + effect * ((u == 0) & (t >= 2013)) + rng.normal(0, 0.3, u.size)
    return pl.DataFrame({"u": u, "t": t, "first": first, "y": y})


def test_did_with_one_treated_unit_reports_the_exact_placebo_p_value():
    null = est.did_panel(_one_treated_panel(0.0), "y", "u", "t", "first", placebo_draws=999)
    big = est.did_panel(_one_treated_panel(5.0), "y", "u", "t", "first", placebo_draws=999)
    assert null.diagnostics["placebo"]["exact"] and null.diagnostics["placebo"]["n_placebos"] == 10
    assert big.diagnostics["placebo"]["p_value"] == pytest.approx(0.1)   # the smallest possible with 10 units
    assert null.diagnostics["placebo"]["p_value"] > 0.1
    assert "placebo" not in est.did_panel(_one_treated_panel(0.0), "y", "u", "t", "first").diagnostics


def test_organ_donation_panel_analytic_and_placebo_answers():
    """Kessler and Roth's organ-donation panel (California's active-choice law from 2011 Q3; 27 states, 6
    quarters): the clustered test calls the effect highly significant, placebo in space does not (5 of 27
    states have an estimate as large)."""
    causaldata = pytest.importorskip("causaldata")
    d = pl.from_pandas(causaldata.organ_donations.load_pandas().data).with_columns(
        first=pl.when(pl.col("State") == "California").then(pl.lit("Q32011")).otherwise(None))
    r = est.did_panel(d, "Rate", "State", "Quarter", "first", placebo_draws=999)
    assert r.estimate == pytest.approx(-0.0225, abs=5e-5)
    assert r.p_value < 0.002
    assert r.diagnostics["placebo"]["p_value"] == pytest.approx(5 / 27)
    assert r.diagnostics["placebo"]["exact"]


# --------------------------------------------------------------------------- periods

def test_quarter_labels_are_running_quarters_and_mixtures_are_refused():
    from cpdeval.estimators._core import period_numbers

    v, kind = period_numbers(pl.Series("q", ["Q42010", "Q12011", "2011Q2", "2011-Q3", "Q4 2011", None]), "x")
    assert kind == "quarter"
    assert np.diff(v[:5]).tolist() == [1, 1, 1, 1] and np.isnan(v[5])
    v, kind = period_numbers(pl.Series("y", ["2016-17", "2017/18", "201819"]), "x")
    assert v.tolist() == [2016.0, 2017.0, 2018.0] and kind == "year"
    with pytest.raises(ValueError, match="mixes years .* and quarters"):
        period_numbers(pl.Series("p", ["2016", "Q12017"]), "x")
    with pytest.raises(ValueError, match="'spring 2016'.*quarter label"):
        period_numbers(pl.Series("p", ["spring 2016"]), "x")


def test_did_refuses_quarterly_time_with_a_yearly_first_treated_period():
    d = pl.DataFrame({"u": [1, 1, 2, 2], "t": ["Q12011", "Q22011"] * 2, "first": ["2011", "2011", None, None],
                      "y": [1.0, 2.0, 1.0, 1.5]})
    with pytest.raises(ValueError, match="count periods the same way.*quarter label"):
        est.did_panel(d, "y", "u", "t", "first")


# --------------------------------------------------------------------------- clustered matching

def _clustered_schools(seed, n=1500, n_la=50, la_uptake_sd=1.0):
    rng = np.random.default_rng(seed)
    la = rng.integers(0, n_la, n)
    x = rng.normal(size=n)
    t = rng.random(n) < 1 / (1 + np.exp(-(0.5 * x + rng.normal(0, la_uptake_sd, n_la)[la])))
    y = 2 * x + rng.normal(0, 2, n_la)[la] + 1.0 * t + rng.normal(size=n)
    return pl.DataFrame({"y": y, "t": t.astype(int), "x": x, "la": la, "own": np.arange(n)})


def test_matching_with_every_school_its_own_cluster_agrees_with_the_unclustered_variance():
    df = _clustered_schools(1, la_uptake_sd=0.0)
    for replace in (True, False):
        a = est.psm_match(df, "y", "t", ["x"], replace=replace)
        b = est.psm_match(df, "y", "t", ["x"], replace=replace, cluster="own")
        assert b.estimate == a.estimate
        assert b.std_error == pytest.approx(a.std_error, rel=0.15)
        assert "cluster-robust by own" in b.se_method


def test_clustered_matching_widens_the_interval_under_clustered_uptake_and_names_one_cluster():
    df = _clustered_schools(2)
    a = est.psm_match(df, "y", "t", ["x"], replace=True)
    b = est.psm_match(df, "y", "t", ["x"], replace=True, cluster="la")
    assert b.std_error > 1.3 * a.std_error and b.df == 49 and b.diagnostics["n_clusters"] == 50
    one = est.psm_match(df.with_columns(la=pl.lit(1)), "y", "t", ["x"], replace=True, cluster="la")
    assert one.std_error == a.std_error and "cannot be clustered" in one.se_method



# --------------------------------------------------------------------------- naive differences and weighting, few clusters

def _areas(seed=4, G=10, n=300):
    rng = np.random.default_rng(seed)
    la = rng.integers(0, G, n)
    x = rng.normal(size=n) + 0.4 * (la < 4)
    t = (rng.random(n) < 1 / (1 + np.exp(-(x - 0.3)))).astype(int)
    y = 2 + 0.8 * x + 0.5 * t + rng.normal(size=G)[la] + rng.normal(size=n)
    return pl.DataFrame({"y": y, "t": t, "x": x, "la": la, "pupils": rng.integers(50, 250, n)})


def test_clustered_naive_difference_is_the_cluster_robust_regression_on_the_indicator_alone():
    import statsmodels.api as sm

    df = _areas()
    for weight in (None, "pupils"):
        plain = est.naive_difference(df, "y", "t", weight=weight)
        r = est.naive_difference(df, "y", "t", weight=weight, cluster="la")
        X = sm.add_constant(df["t"].to_numpy().astype(float))
        model = (sm.WLS(df["y"].to_numpy(), X, weights=df["pupils"].to_numpy()) if weight
                 else sm.OLS(df["y"].to_numpy(), X))
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": df["la"].to_numpy()}, use_t=True)
        assert r.estimate == pytest.approx(plain.estimate, abs=1e-12) == pytest.approx(fit.params[1], abs=1e-12)
        assert r.std_error == pytest.approx(fit.bse[1], rel=1e-10) and r.df == 9
        assert r.ci_low == pytest.approx(fit.conf_int()[1, 0], rel=1e-10)
        assert "cluster-robust by la" in r.se_method and "Welch" in plain.se_method
    one = est.naive_difference(df.with_columns(la=pl.lit(1)), "y", "t", cluster="la")
    assert one.std_error == est.naive_difference(df, "y", "t").std_error and "cannot be clustered" in one.se_method


def test_naive_difference_and_weighting_use_the_bootstrap_below_the_cluster_threshold():
    from cpdeval.estimators.small_sample import wild_cluster_bootstrap

    df = _areas()
    nv = est.naive_difference(df, "y", "t", cluster="la", few_clusters=30, bootstrap_draws=999)
    assert "wild cluster bootstrap" in nv.se_method and nv.ci_low != nv.diagnostics["analytic"]["ci_low"]
    w = est.ipw(df, "y", "t", ["x"], cluster="la")
    wb = est.ipw(df, "y", "t", ["x"], cluster="la", few_clusters=30, bootstrap_draws=999)
    assert (wb.estimate, wb.std_error) == (w.estimate, w.std_error)
    assert "wild cluster bootstrap" in wb.se_method and wb.diagnostics["analytic"]["se_method"] == w.se_method
    # the bootstrap is of the weighted regression on the indicator, whose coefficient is the IPW estimate
    t = df["t"].to_numpy().astype(float)
    b = wild_cluster_bootstrap(np.column_stack([np.ones(df.height), t]), df["y"].to_numpy(), df["la"].to_numpy(),
                               1, weights=w.weights, draws=999)
    assert b["estimate"] == pytest.approx(w.estimate, abs=1e-10)
    assert (wb.ci_low, wb.ci_high, wb.p_value) == (b["ci_low"], b["ci_high"], b["p_value"])
    assert est.ipw(df, "y", "t", ["x"], cluster="la", few_clusters=10) == w       # 10 clusters is not fewer


def test_adjusted_estimates_are_refused_when_users_sit_in_too_few_authorities():
    from cpdeval.attainment import estimator_calls

    df = _areas(G=8)
    rng = np.random.default_rng(0)
    cs = df.with_columns(user=pl.when(pl.col("la") < 2).then(pl.col("t")).otherwise(0),
                         la_code=pl.col("la").cast(pl.Utf8), z=pl.Series(rng.normal(size=df.height)))
    pan = pl.DataFrame({"school_key": [1], "year": [2018], "treated_from": [None], "y": [0.0]})
    calls = estimator_calls(cs, pan, "y", controls=["x"], categorical=[])
    with pytest.raises(ValueError, match="users are in 2 of 8 local authorities, fewer than 3"):
        calls["regression"]()
    for key in ("psm", "psm_no_replacement", "ipw_att"):
        with pytest.raises(ValueError, match="cannot be told apart"):
            calls[key]()
    assert "wild cluster bootstrap" in calls["naive_schools"]().se_method      # descriptive: still made
    # users in three authorities, or a year from one authority (nothing to cluster), are estimated
    three = cs.with_columns(user=pl.when(pl.col("la") < 3).then(pl.col("t")).otherwise(0))
    assert estimator_calls(three, pan, "y", controls=["x"], categorical=[])["regression"]().n_treated > 0
    one = cs.with_columns(la_code=pl.lit("E1"))
    assert estimator_calls(one, pan, "y", controls=["x"], categorical=[])["regression"]().n_treated > 0
    off = estimator_calls(cs, pan, "y", controls=["x"], categorical=[], small_sample={"min_user_authorities": 0})
    assert off["regression"]().n_treated > 0


def test_the_chapter_learns_how_many_users_matching_left_out():
    from cpdeval.attainment import unmatched_users

    rng = np.random.default_rng(8)
    n = 300
    x = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-3 * x))).astype(int)        # strong selection: some users unmatched
    df = pl.DataFrame({"y": x + rng.normal(size=n), "t": t, "x": x})
    fitted = {"psm": est.psm_match(df, "y", "t", ["x"], replace=True, caliper=0.05),
              "psm_no_replacement": est.psm_match(df, "y", "t", ["x"], replace=False)}
    out = unmatched_users(fitted)
    for key, r in fitted.items():
        assert out[key]["users"] == int(t.sum())
        assert out[key]["unmatched"] == int(t.sum()) - r.n_treated
    assert out["psm_no_replacement"]["unmatched"] > 0
    assert unmatched_users({"regression": fitted["psm"]}) == {}
