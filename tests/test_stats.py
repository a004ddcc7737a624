"""Known-answer tests for cpdeval.stats: Wilson intervals, competition ranks, published-figure checks."""

from __future__ import annotations

import math
import random

import polars as pl
import pytest

from cpdeval.display import round_half_away
from cpdeval.stats import (competition_rank, counts_giving, ordinal, rank_label_expr, rank_labels, rounds_to,
                           wilson_exprs, wilson_interval)

# Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score, no continuity correction)
NEWCOMBE = [
    ((81, 263), (0.2553, 0.3662)),
    ((15, 148), (0.0624, 0.1605)),
    ((0, 20), (0.0000, 0.1611)),
    ((1, 29), (0.0061, 0.1718)),
]


@pytest.mark.parametrize("kn,expected", NEWCOMBE)
def test_wilson_matches_newcombe_table(kn, expected):
    lo, hi = wilson_interval(*kn)
    assert lo == pytest.approx(expected[0], abs=5e-5)
    assert hi == pytest.approx(expected[1], abs=5e-5)


@pytest.mark.parametrize("k,n", [(88, 95), (1, 3), (39, 43), (34, 35), (5, 5), (0, 1), (410, 1366)])
@pytest.mark.parametrize("z", [1.96, 2.576])
def test_wilson_bounds_solve_the_score_equation(k, n, z):
    """The Wilson bounds are the p at which (phat - p)^2 = z^2 p (1 - p) / n (independent of the formula)."""
    lo, hi = wilson_interval(k, n, z)
    phat = k / n
    for p in (lo, hi):
        if p in (0.0, 1.0) and (k == 0 or k == n):
            continue
        assert (phat - p) ** 2 == pytest.approx(z * z * p * (1 - p) / n, rel=1e-9, abs=1e-15)
    assert lo <= phat <= hi


def test_wilson_edges_and_symmetry():
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == 1.0
    lo, hi = wilson_interval(0, 0)
    assert math.isnan(lo) and math.isnan(hi)
    lo, hi = wilson_interval(3, 17)
    lo2, hi2 = wilson_interval(14, 17)
    assert lo == pytest.approx(1 - hi2) and hi == pytest.approx(1 - lo2)
    narrow, wide = wilson_interval(30, 60, 1.0), wilson_interval(30, 60, 2.576)
    assert wide[0] < narrow[0] and wide[1] > narrow[1]


@pytest.mark.parametrize("bad", [(-1, 5), (6, 5), (1.5, 5), (1, -2), (True, 3)])
def test_wilson_rejects_impossible_counts(bad):
    with pytest.raises(ValueError):
        wilson_interval(*bad)


def test_wilson_expressions_agree_with_the_scalar_function():
    rng = random.Random(7)
    ns = [rng.randint(0, 400) for _ in range(300)]
    ks = [rng.randint(0, n) for n in ns]
    df = pl.DataFrame({"k": ks, "n": ns})
    lo, hi = wilson_exprs("k", "n", scale=100.0)
    out = df.with_columns(lo.alias("lo"), hi.alias("hi"))
    for k, n, a, b in out.iter_rows():
        if n == 0:
            assert a is None and b is None
        else:
            wl, wh = wilson_interval(k, n)
            assert a == pytest.approx(100 * wl, abs=1e-9) and b == pytest.approx(100 * wh, abs=1e-9)


def test_competition_rank_as_seed_002_table_8():
    # % agreeing strongly as published: organised 68, relevant 66, met 65, practice 60, students 60, share 59, skills 56
    assert competition_rank([68, 66, 65, 60, 60, 59, 56]) == [1, 2, 3, 4, 4, 6, 7]
    assert rank_labels([1, 2, 3, 4, 4, 6, 7]) == ["1st", "2nd", "3rd", "4th=", "4th=", "6th", "7th"]
    assert competition_rank([5, None, 5, 9]) == [2, None, 2, 1]
    assert competition_rank([3, 1, 2], descending=False) == [3, 1, 2]
    assert rank_labels([1, 1, 1, None]) == ["1st=", "1st=", "1st=", None]


@pytest.mark.parametrize("n,text", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
                                    (13, "13th"), (21, "21st"), (22, "22nd"), (23, "23rd"), (101, "101st"),
                                    (111, "111th"), (112, "112th")])
def test_ordinal(n, text):
    assert ordinal(n) == text


def test_rank_label_expression_matches_rank_labels():
    ranks = [1, 2, 2, 4, 11, 11, 13, 21, 22, None]
    df = pl.DataFrame({"g": ["a"] * len(ranks), "r": ranks}, schema={"g": pl.Utf8, "r": pl.Int64})
    got = df.select(rank_label_expr("r", ["g"]))["r"].to_list()
    assert got == rank_labels(ranks)


@pytest.mark.parametrize("pct,n,expected", [
    (93, 95, [88]), (95, 45, []), (91, 43, [39]), (97, 35, [34]),
    (68, 56, [38]), (16, 56, [9]), (20, 56, [11]), (46, 56, [26]), (30, 56, [17]),
    (73, 56, [41]), (55, 56, [31]), (5, 56, [3]), (37, 56, []), (40, 56, []),
    (63, 102, [64]), (0, 10, [0]), (100, 10, [10]), (50, 4, [2]),
])
def test_counts_giving_published_figures(pct, n, expected):
    assert counts_giving(pct, n) == expected


def test_counts_giving_agrees_with_the_display_rounding_rule():
    """Exhaustive against the house rule (display.round_half_away on 100 k / n) for every n up to 150."""
    for n in range(1, 151):
        by_pct: dict[int, list[int]] = {}
        for k in range(n + 1):
            by_pct.setdefault(round_half_away(100 * k / n), []).append(k)
        for pct in range(101):
            assert counts_giving(pct, n) == by_pct.get(pct, []), (pct, n)


def test_counts_giving_at_one_decimal_and_rounds_to():
    assert counts_giving("92.6", 95, 1) == [88]
    assert counts_giving("12.5", 8, 1) == [1]
    assert rounds_to(1, 8, 13) and not rounds_to(1, 8, 12)     # 12.5 rounds half away from zero
    assert rounds_to(110, 1366, 8) and not rounds_to(110, 1366, 30)
    with pytest.raises(ValueError):
        counts_giving(50, 0)


def test_holm_known_answer():
    from cpdeval.stats import holm

    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.01, None, 0.5, float("nan")]) == [pytest.approx(0.02), None, pytest.approx(0.5), None]
    assert holm([]) == []
    # statsmodels gives the same on a longer family
    from statsmodels.stats.multitest import multipletests

    ps = [0.001, 0.2, 0.012, 0.049, 0.03, 0.8]
    assert holm(ps) == pytest.approx(list(multipletests(ps, method="holm")[1]))
