"""Coverage of the attainment chapter's intervals in seeded simulations: does a 95% interval cover 95% of the time?

Every replication draws a synthetic population of secondary schools in local authorities (LAs) and runs
exactly the calls the chapter makes (``cpdeval.attainment.estimator_calls``), then asks whether each
interval covers the estimator's own target in that sample:

* regression: the OLS coefficient on the noise-free outcomes (a weighted average of school effects; with
  a constant effect, the effect itself);
* matching: the mean effect of the treated schools it matched; weighting: the mean effect of all users;
* TWFE: its coefficient on the noise-free panel; extended TWFE: the mean effect over treated school-years;
* naive differences: the population difference in expected outcomes between users and non-users (they
  describe the population, not this sample's covariates; pooled over 1,000 further draws of the design).

Designs (all with an LA effect on the outcome and selection into use on prior attainment, FSM, size,
urban and Ofsted):

a. ``current``: 1,000 schools in 60 LAs, uptake independent across schools, effect 2.0 for every user.
b. ``clustered``: as (a) but uptake clusters by LA (an LA propensity shift, SD 1 on the logit, independent
   of the LA's outcome effect: no confounding, only correlated errors).
c. ``heterogeneous``: as (b) with an effect that grows with prior attainment (2.0 + 1.5 per SD).
d. ``few_clusters``: 600 schools in 20 LAs, users only in 2 to 5 of them: the naive differences', the
   regression's and the weighting's intervals come from the wild cluster bootstrap (fewer than 30 LAs);
   matching uses t with G-1 df. With users in only 2 LAs the chapter refuses the adjusted cross-sectional
   estimates (fewer than ``min_user_authorities``, 3): those replications count under "refused".
e. ``few_treated``: a panel of 400 schools of which 12 are users: the DiD's placebo (randomisation) test
   of the true effect, beside the analytic interval.

Run: ``python benchmarks/coverage.py --reps 500`` (about 10 minutes on 2 cores; writes
``benchmarks/results/coverage.json`` and prints a markdown table with Monte Carlo errors). The test suite
runs a small version (``tests/test_coverage.py``). Everything is seeded.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

YEARS = [2014, 2015, 2016, 2017, 2018]
OUTCOME_YEAR = 2018
DESIGNS = ("current", "clustered", "heterogeneous", "few_clusters", "few_treated")


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


def draw(design: str, rng: np.random.Generator) -> dict:
    """One sample: the cross-section and panel the chapter's calls take, each school's true effect, and the
    noise-free outcomes (for the estimators' own targets)."""
    n, n_la = {"few_clusters": (600, 20), "few_treated": (400, 40)}.get(design, (1000, 60))
    la = rng.integers(0, n_la, n)
    la_effect = rng.normal(0, 2.0, n_la)[la]
    ks2 = rng.normal(28, 2, n)
    fsm = np.clip(rng.normal(15, 8, n), 0, 80)
    logp = rng.normal(6.8, 0.3, n)
    urban = (rng.random(n) < 0.7).astype(float)
    ofsted = rng.choice([1, 2, 3, 4], n, p=[0.2, 0.5, 0.25, 0.05])
    good = (ofsted <= 2).astype(float)
    logit = -0.2 + 0.6 * _z(ks2) - 0.4 * _z(fsm) + 0.3 * _z(logp) + 0.3 * urban + 0.3 * good
    if design in ("clustered", "heterogeneous"):
        logit = logit + rng.normal(0, 1.0, n_la)[la]
    user = rng.random(n) < 1 / (1 + np.exp(-logit))
    if design == "few_clusters":
        treated_las = rng.choice(n_la, rng.integers(2, 6), replace=False)
        user &= np.isin(la, treated_las)
    if design == "few_treated":
        user = np.zeros(n, dtype=bool)
        user[rng.choice(n, 12, replace=False, p=(w := np.exp(0.5 * _z(ks2))) / w.sum())] = True
    tau = 2.0 + (1.5 * _z(ks2) if design == "heterogeneous" else np.zeros(n))
    first = np.where(user, rng.choice([2016, 2017, 2018], n), np.nan)
    base = 50 + 3 * _z(ks2) - 2 * _z(fsm) + 1.0 * _z(logp) + 1.0 * urban + 1.5 * good + la_effect
    school = rng.normal(0, 3.0, n)
    year_effect = dict(zip(YEARS, [0.0, 0.5, 1.0, 0.8, 1.5]))
    rows_u = np.repeat(np.arange(n), len(YEARS))
    rows_t = np.tile(YEARS, n)
    treated_now = ~np.isnan(first[rows_u]) & (rows_t >= np.nan_to_num(first[rows_u], nan=1e9))
    mean = base[rows_u] + school[rows_u] + np.vectorize(year_effect.get)(rows_t) + tau[rows_u] * treated_now
    y = mean + rng.normal(0, 3.0, rows_u.size)
    # the systematic part (covariates, year, effect): what an estimator's target is computed from; school and
    # LA effects are noise to a cross-section, so they stay out of it
    systematic = (base - la_effect)[rows_u] + np.vectorize(year_effect.get)(rows_t) + tau[rows_u] * treated_now
    pan = pl.DataFrame({"school_key": rows_u, "year": rows_t, "treated_from": first[rows_u], "y": y,
                        "y_mean": systematic})
    cs = pan.filter(pl.col("year") == OUTCOME_YEAR).sort("school_key").with_columns(
        user=pl.Series(user.astype(np.int64)), la_code=pl.Series([f"LA{c:02d}" for c in la]),
        ks2_aps=pl.Series(ks2), pct_fsm=pl.Series(fsm), log_pupils=pl.Series(logp), urban=pl.Series(urban),
        good_ofsted=pl.Series(good), ofsted=pl.Series(ofsted.astype(str)),
        region=pl.Series([f"R{c % 9}" for c in la]), type_group=pl.Series(rng.choice(["academy", "la"], n)),
        pupils=pl.Series(np.round(np.exp(logp)).astype(np.int64)), tau=pl.Series(tau))
    return {"cs": cs, "pan": pan.with_columns(tau=pl.Series(tau[rows_u]), treated_now=pl.Series(treated_now)),
            "tau": tau, "user": user, "la": la, "design": design}


@functools.cache
def population_naive_target(design: str, key: str, draws: int = 1000) -> float:
    """Expected outcome of users less that of non-users in the design's population (means of schools, or
    pupil-weighted): each group's weighted sum of noise-free outcomes and its weight, pooled over ``draws``
    samples drawn from seeds no replication uses."""
    sums = np.zeros(4)
    for i in range(draws):
        cs = draw(design, np.random.default_rng(9_000_000 + i))["cs"]
        w = cs["pupils"].to_numpy().astype(float) if key == "naive_pupils" else np.ones(cs.height)
        m, u = cs["y_mean"].to_numpy(), cs["user"].to_numpy() == 1
        sums += [(w[u] * m[u]).sum(), w[u].sum(), (w[~u] * m[~u]).sum(), w[~u].sum()]
    return float(sums[0] / sums[1] - sums[2] / sums[3])


def targets(key: str, r, s: dict) -> float:
    """The value estimator ``key`` aims at in this sample (see the module docstring)."""
    from cpdeval import estimators as est

    cs, pan = s["cs"], s["pan"]
    if key.startswith("naive"):
        return population_naive_target(s["design"], key)
    if key == "regression":
        from cpdeval.attainment import CATEGORICAL, CONTROLS

        return est.regression_adjusted(cs.with_columns(y=pl.col("y_mean")), "y", "user", CONTROLS,
                                       CATEGORICAL).estimate
    if key.startswith("psm"):
        matched = (np.asarray(r.weights) == 1.0) & s["user"]
        return float(s["tau"][matched].mean())
    if key == "ipw_att":
        return float(s["tau"][s["user"]].mean())
    if key == "did_twfe":
        return est.did_panel(pan, "y_mean", "school_key", "year", "treated_from").estimate
    if key == "did_etwfe":
        used = pan.filter(pl.col("treated_now"))
        return float(used["tau"].mean())
    raise KeyError(key)


def replicate(design: str, seed: int) -> list[dict]:
    from cpdeval.attainment import estimator_calls

    rng = np.random.default_rng(seed)
    s = draw(design, rng)
    out = []
    if design == "few_treated":
        # the placebo test of the true effect: is 2.0 rejected once the effect is taken out?
        from cpdeval import estimators as est

        shifted = s["pan"].with_columns(y=pl.col("y") - pl.col("tau") * pl.col("treated_now"))
        for method in ("twfe", "etwfe"):
            r = est.did_panel(shifted, "y", "school_key", "year", "treated_from", method=method, placebo_draws=199,
                              seed=seed)
            out.append({"design": design, "key": f"did_{method}", "covered": bool(r.covers(0.0)),
                        "placebo_covered": bool(r.diagnostics["placebo"]["p_value"] > 0.05),
                        "estimate": r.estimate + 2.0, "target": 2.0, "se": r.std_error})
        return out
    calls = estimator_calls(s["cs"], s["pan"], "y", small_sample={"bootstrap_draws": 999})
    for key, call in calls.items():
        try:
            r = call()
        except ValueError as exc:          # a refusal (e.g. separation) is not a miss; count it
            out.append({"design": design, "key": key, "refused": str(exc)[:80]})
            continue
        t = targets(key, r, s)
        out.append({"design": design, "key": key, "covered": bool(r.ci_low <= t <= r.ci_high),
                    "estimate": r.estimate, "target": t, "se": r.std_error, "method": r.se_method})
    return out


def summarise(rows: list[dict]) -> pl.DataFrame:
    df = pl.DataFrame([r for r in rows if "covered" in r], infer_schema_length=None)
    aggs = [pl.len().alias("reps"), pl.col("covered").mean().alias("coverage"),
            (pl.col("estimate") - pl.col("target")).mean().alias("bias"),
            pl.col("estimate").std().alias("sd_estimate"), pl.col("se").mean().alias("mean_se")]
    if "placebo_covered" in df.columns:
        aggs.append(pl.col("placebo_covered").mean().alias("placebo_coverage"))
    out = df.group_by("design", "key", maintain_order=True).agg(aggs)
    refused = pl.DataFrame([{"design": r["design"], "key": r["key"]} for r in rows if "refused" in r],
                           schema={"design": pl.Utf8, "key": pl.Utf8}).group_by("design", "key").agg(
        pl.len().cast(pl.Int64).alias("refused"))
    return (out.join(refused, on=["design", "key"], how="left").with_columns(pl.col("refused").fill_null(0))
            .with_columns(mc_error=(pl.col("coverage") * (1 - pl.col("coverage")) / pl.col("reps")).sqrt()))


def run(reps: int, designs=DESIGNS, seed: int = 1, progress=None) -> pl.DataFrame:
    rows = []
    for d in designs:
        t0 = time.perf_counter()
        for i in range(reps):
            rows += replicate(d, seed * 100_000 + DESIGNS.index(d) * 10_000 + i)
        if progress:
            progress(f"{d}: {reps} replications in {time.perf_counter() - t0:.0f} s")
    return summarise(rows)


def markdown(table: pl.DataFrame) -> str:
    lines = ["| design | estimator | coverage (± MC error) | bias | SD of estimates | mean SE | refused |",
             "|---|---|---|---|---|---|---|"]
    for r in table.iter_rows(named=True):
        cov = f"{100 * r['coverage']:.1f}% (± {100 * r['mc_error']:.1f})"
        if r.get("placebo_coverage") is not None and not math.isnan(r["placebo_coverage"]):
            cov += f"; placebo test {100 * r['placebo_coverage']:.1f}%"
        lines.append(f"| {r['design']} | {r['key']} | {cov} | {r['bias']:.2f} | {r['sd_estimate']:.2f} | "
                     f"{r['mean_se']:.2f} | {r['refused']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--designs", nargs="*", default=list(DESIGNS), choices=DESIGNS)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "coverage.json")
    a = ap.parse_args(argv)
    table = run(a.reps, a.designs, progress=lambda m: print(m, file=sys.stderr, flush=True))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"reps": a.reps, "rows": table.to_dicts()}, indent=1))
    print(markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
