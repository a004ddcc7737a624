"""External check on the Lalonde data: the NSW job-training experiment and its observational re-creation.

Three comparisons, each with its analytic answer beside a resampling one:

1. **The experiment** (NSW treated 185, NSW controls 260; Dehejia-Wahba sample): the difference in 1978
   earnings, 1,794 dollars, is the benchmark. Analytic: Welch. Resampling: Fisher's randomisation test
   (the treatment labels permuted; the interval is the set of constant effects the test does not reject,
   found by inverting it with the same permutations).
2. **The observational re-creation** (the same 185 treated against 15,992 CPS adults): the chapter's
   estimators with their analytic intervals, against the experimental 1,794. A permutation of labels is not
   valid here (users and CPS adults are not exchangeable), so the resampling answer is the placebo in 3.
3. **The placebo** (NSW's own 260 controls against the CPS, true effect 0; Dehejia and Wahba's check):
   every interval should cover 0 if the estimator removes the selection the CPS comparison brings.

Controls: age, age squared, years of education, its square, married, no degree, black, hispanic, 1974 and
1975 earnings and whether each was zero (Dehejia and Wahba 1999). Data from the ``causaldata`` package
(``nsw_mixtape``, ``cps_mixtape``; read with pandas, as the package does).

Run: ``python benchmarks/lalonde.py`` (about a minute; prints markdown tables, writes
``benchmarks/results/lalonde.json``). Seeded; ``tests/test_lalonde.py`` checks the answers.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import polars as pl

SEED = 20181
COVARIATES = ["age", "age2", "educ", "educ2", "marr", "nodegree", "black", "hisp", "re74", "re75", "u74", "u75"]


def load() -> dict[str, pl.DataFrame]:
    """The experimental sample and the CPS comparison, with the Dehejia-Wahba covariates added."""
    import causaldata.cps_mixtape as cps
    import causaldata.nsw_mixtape as nsw

    def prep(pdf) -> pl.DataFrame:
        df = pl.from_pandas(pdf.drop(columns=["data_id"]))
        df = df.with_columns(pl.col("re74", "re75", "re78").cast(pl.Float64))
        return df.with_columns(pl.col("treat").cast(pl.Int64), age2=pl.col("age") ** 2,
                               educ2=pl.col("educ") ** 2, u74=(pl.col("re74") == 0).cast(pl.Int64),
                               u75=(pl.col("re75") == 0).cast(pl.Int64))

    exp, cps_ = prep(nsw.load_pandas().data), prep(cps.load_pandas().data)
    return {"experiment": exp,
            "observational": pl.concat([exp.filter(pl.col("treat") == 1), cps_], how="vertical_relaxed"),
            "placebo": pl.concat([exp.filter(pl.col("treat") == 0).with_columns(treat=pl.lit(1, pl.Int64)),
                                  cps_], how="vertical_relaxed")}


def randomisation_test(y: np.ndarray, t: np.ndarray, *, draws: int = 9999, seed: int = SEED,
                       level: float = 0.95) -> dict:
    """Fisher's randomisation test of the difference in means (two-sided, studentised by nothing: the
    difference itself) and the interval of constant effects it does not reject."""
    rng = np.random.default_rng(seed)
    perms = np.array([rng.permutation(t.size) for _ in range(draws)])
    n1 = int(t.sum())

    def p_at(tau0: float) -> float:
        y0 = y - tau0 * t                                      # outcomes with the effect tau0 taken out
        obs = y0[t == 1].mean() - y0[t == 0].mean()
        s1 = t[perms] @ y0                                     # the treated total under each relabelling
        diffs = s1 / n1 - (y0.sum() - s1) / (t.size - n1)
        return float((1 + np.sum(np.abs(diffs) >= abs(obs) - 1e-9)) / (1 + draws))

    est = float(y[t == 1].mean() - y[t == 0].mean())
    alpha = 1 - level

    def end(sign: int) -> float:
        inside, outside = est, est + sign * 10 * y.std()
        for _ in range(50):
            mid = (inside + outside) / 2
            inside, outside = (mid, outside) if p_at(mid) > alpha else (inside, mid)
        return float((inside + outside) / 2)

    return {"estimate": est, "p_value": p_at(0.0), "ci_low": end(-1), "ci_high": end(+1), "draws": draws}


def estimates(df: pl.DataFrame) -> dict:
    """The chapter's estimators on one comparison (robust errors: no clusters in these data)."""
    from cpdeval import estimators as est

    calls = {"naive": lambda: est.naive_difference(df, "re78", "treat"),
             "regression": lambda: est.regression_adjusted(df, "re78", "treat", COVARIATES),
             "psm": lambda: est.psm_match(df, "re78", "treat", COVARIATES, replace=True),
             "psm_no_replacement": lambda: est.psm_match(df, "re78", "treat", COVARIATES, replace=False),
             "ipw_att": lambda: est.ipw(df, "re78", "treat", COVARIATES, estimand="ATT")}
    out = {}
    for key, call in calls.items():
        r = call()
        out[key] = {"estimate": r.estimate, "ci_low": r.ci_low, "ci_high": r.ci_high, "p_value": r.p_value,
                    "n_treated": r.n_treated, "n_control": r.n_control, "se_method": r.se_method}
    return out


def run(draws: int = 9999) -> dict:
    data = load()
    exp = data["experiment"]
    y, t = exp["re78"].to_numpy(), exp["treat"].to_numpy()
    return {"experiment": {"analytic": estimates(exp)["naive"], "randomisation": randomisation_test(y, t, draws=draws)},
            "observational": estimates(data["observational"]), "placebo": estimates(data["placebo"])}


def _money(x: float) -> str:
    return "−∞" if x == -math.inf else "∞" if x == math.inf else f"{x:,.0f}"


def markdown(res: dict) -> str:
    e = res["experiment"]
    lines = ["| experiment (185 vs 260) | estimate | 95% interval | p |", "|---|---|---|---|"]
    for name, r in (("Welch (analytic)", e["analytic"]),
                    (f"randomisation ({e['randomisation']['draws']:,} permutations)", e["randomisation"])):
        lines.append(f"| {name} | {_money(r['estimate'])} | {_money(r['ci_low'])} to {_money(r['ci_high'])} | "
                     f"{r['p_value']:.4f} |")
    lines += ["", "| estimator | NSW vs CPS (benchmark 1,794) | 95% interval | NSW controls vs CPS (truth 0) | "
                  "95% interval | covers 0 |", "|---|---|---|---|---|---|"]
    for key, o in res["observational"].items():
        p = res["placebo"][key]
        lines.append(f"| {key} | {_money(o['estimate'])} | {_money(o['ci_low'])} to {_money(o['ci_high'])} | "
                     f"{_money(p['estimate'])} | {_money(p['ci_low'])} to {_money(p['ci_high'])} | "
                     f"{'yes' if p['ci_low'] <= 0 <= p['ci_high'] else 'no'} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=9999)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "lalonde.json")
    a = ap.parse_args(argv)
    res = run(a.draws)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1))
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
