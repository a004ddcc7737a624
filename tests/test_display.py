"""Display rules: rounding, formatting and wording known answers."""

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpdeval import display as d
from cpdeval.display import (
    DisclosureError,
    count_in_words,
    fmt_count,
    fmt_number,
    fmt_pct,
    pct_in_words,
    round_half_away,
    round_half_away_expr,
    words,
)


# --------------------------------------------------------------------------- rounding

@pytest.mark.parametrize("x, nd, expected", [
    (92.5, 0, 93), (-92.5, 0, -93), (0.5, 0, 1), (-0.5, 0, -1), (1.5, 0, 2), (2.5, 0, 3),
    (2.675, 2, 2.68), (0.125, 2, 0.13), (-0.125, 2, -0.13), (1.005, 2, 1.01), (0.285, 2, 0.29),
    (1.15, 1, 1.2), (85.05, 1, 85.1), (92.4999, 0, 92), (12431, 0, 12431), (0.0, 0, 0),
    (1234.5, -1, 1230), (1235, -1, 1240),
])
def test_round_half_away_known_answers(x, nd, expected):
    assert round_half_away(x, nd) == expected


def test_round_half_away_differs_from_python_round():
    # the reason the helper exists: Python rounds half to even and on the binary value
    assert round(92.5) == 92 and round_half_away(92.5) == 93
    assert round(2.675, 2) == 2.67 and round_half_away(2.675, 2) == 2.68


def test_round_half_away_types_and_missing():
    assert isinstance(round_half_away(92.5), int)
    assert isinstance(round_half_away(92.25, 1), float)
    assert round_half_away(None) is None
    nan = round_half_away(float("nan"))
    assert nan != nan
    assert round_half_away(Decimal("0.125"), 2) == 0.13
    assert round_half_away(-0.4) == 0 and str(round_half_away(-0.4)) == "0"


def test_round_half_away_expr_known_answers():
    df = pl.DataFrame({"x": [92.5, -92.5, 0.5, -0.5, 2.675, 0.125, None, 1.15, -0.4]})
    out = df.select(r0=round_half_away_expr("x", 0), r2=round_half_away_expr(pl.col("x"), 2),
                    r1=round_half_away_expr("x", 1))
    assert out["r0"].to_list() == [93, -93, 1, -1, 3, 0, None, 1, 0]
    assert out["r2"].to_list() == [92.5, -92.5, 0.5, -0.5, 2.68, 0.13, None, 1.15, -0.4]
    assert out["r1"][7] == 1.2
    # -0.4 rounds to 0 without a sign
    assert str(out["r0"][8]) == "0.0"
    # polars' own rounding is half to even: the expression must not be
    assert df.select(pl.col("x").round(0))["x"][0] == 92.0


def test_round_half_away_expr_keeps_the_column_name():
    df = pl.DataFrame({"pct": [0.925]})
    out = df.select(round_half_away_expr(pl.col("pct") * 100, 0))
    assert out.columns == ["pct"] and out["pct"][0] == 93.0


_decimals = st.one_of(
    st.decimals(min_value=-10**6, max_value=10**6, places=3, allow_nan=False, allow_infinity=False),
    st.integers(min_value=-10**6, max_value=10**6).map(lambda k: Decimal(2 * k + 1) / 200),  # exact halves
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_decimals, min_size=1, max_size=30), st.integers(min_value=0, max_value=3))
def test_round_half_away_expr_agrees_with_scalar(values, nd):
    floats = [float(v) for v in values]
    got = pl.DataFrame({"x": floats}).select(round_half_away_expr("x", nd))["x"].to_list()
    assert got == [float(round_half_away(v, nd)) for v in floats]


# --------------------------------------------------------------------------- formatting

def test_formatters():
    assert fmt_count(12431) == "12,431"
    assert fmt_count(4858) == "4,858"
    assert fmt_count(999) == "999"
    assert fmt_count(1234567.5) == "1,234,568"
    assert fmt_pct(92.5) == "93%"
    assert fmt_pct(85.14, 1) == "85.1%"
    assert fmt_pct(45, signed=True) == "+45%"
    assert fmt_pct(-0.4) == "0%"
    assert fmt_number(1234.55, 1) == "1,234.6"
    assert fmt_number(-1234.55, 1) == "-1,234.6"
    assert fmt_number(2.675, 2) == "2.68"
    assert fmt_number(3, 2) == "3.00"
    with pytest.raises(TypeError):
        fmt_count(None)
    with pytest.raises(ValueError):
        fmt_pct(float("nan"))


def test_disclosure_symbols():
    assert (d.SUPPRESSED, d.NOT_APPLICABLE, d.NOT_AVAILABLE) == ("c", "z", "x")


# --------------------------------------------------------------------------- words

@pytest.mark.parametrize("pct, expected", [
    (93, "over nine in 10 (93%)"),
    (90, "nine in 10 (90%)"),
    (91, "nine in 10 (91%)"),
    (80, "eight in 10 (80%)"),
    (68, "just over two thirds (68%)"),
    (67, "two thirds (67%)"),
    (76, "three quarters (76%)"),
    (75, "three quarters (75%)"),
    (46, "almost half (46%)"),
    (50, "half (50%)"),
    (54, "over half (54%)"),
    (30, "just under one third (30%)"),
    (33, "one third (33%)"),
    (20, "1 in 5 (20%)"),
    (25, "one quarter (25%)"),
    (10, "one in 10 (10%)"),
    (97, "almost all (97%)"),
    (100, "all (100%)"),
    (0, "none (0%)"),
    (2, "very few (2%)"),
    (15, "over one in 10 (15%)"),
    (29, "three in 10 (29%)"),
    (92.5, "over nine in 10 (93%)"),     # wording follows the rounded figure
    (67.5, "just over two thirds (68%)"),
])
def test_pct_in_words_known_answers(pct, expected):
    assert pct_in_words(pct) == expected


def test_pct_in_words_variants():
    assert pct_in_words(76, hedge=True) == "around three quarters (76%)"
    assert pct_in_words(75, hedge=True) == "three quarters (75%)"
    assert pct_in_words(93, capitalize=True) == "Over nine in 10 (93%)"
    assert pct_in_words(85.14, 1) == "almost nine in 10 (85.1%)"
    assert pct_in_words(99.6) == "almost all (100%)"  # rounds to 100 but is not all
    with pytest.raises(ValueError):
        pct_in_words(0.93 * 1000)
    with pytest.raises(ValueError):
        pct_in_words(None)


def test_words_from_counts_match_the_table_figure():
    # the seed's n = 56 survey: 38/56 = 67.86% -> 68%
    assert words(38, 56) == "just over two thirds (68%)"
    assert words(26, 56) == "almost half (46%)"
    assert words(17, 56) == "just under one third (30%)"
    assert words(11, 56) == "1 in 5 (20%)"
    assert words(185, 200) == "over nine in 10 (93%)"  # 92.5 exactly, rounded away from zero
    assert words(5, 5) == "all (100%)"
    assert words(0, 7) == "none (0%)"
    assert words(199, 200) == "almost all (100%)"


def test_words_refuses_small_bases_and_bad_input():
    with pytest.raises(DisclosureError):
        words(2, 3, threshold=5)
    assert words(4, 5, threshold=5) == "eight in 10 (80%)"
    with pytest.raises(ValueError):
        words(6, 5)
    with pytest.raises(ValueError):
        words(1, 0)


def test_count_in_words():
    assert count_in_words(3) == "three"
    assert count_in_words(9) == "nine"
    assert count_in_words(10) == "10"
    assert count_in_words(12) == "12"
    assert count_in_words(12431) == "12,431"
    assert count_in_words(0) == "zero"
    assert count_in_words(7, capitalize=True) == "Seven"
    with pytest.raises(ValueError):
        count_in_words(-1)


def test_dates_read_one_way_everywhere():
    import datetime as dt

    from cpdeval.display import fmt_date
    from cpdeval.render.builtin import format_date

    assert fmt_date("2026-12-04") == fmt_date(dt.date(2026, 12, 4)) == "4 December 2026"
    assert fmt_date(dt.datetime(2026, 1, 31, 23, 59)) == "31 January 2026"
    assert fmt_date("2026-12-04T10:00:00+00:00") == "4 December 2026"
    assert fmt_date("spring term") == "spring term"
    assert format_date("2026-12-04") == "4 December 2026"       # the report's cover date, by the same rule


def test_a_small_share_is_never_printed_as_zero():
    from cpdeval.display import fmt_small_pct

    assert fmt_small_pct(100 * 6 / 1_070_463, 2) == "less than 0.01%"      # not "0.00%"
    assert fmt_small_pct(0.0, 2) == "0.00%" and fmt_small_pct(0.005, 2) == "0.01%"   # half away from zero
    assert fmt_small_pct(12.345, 1) == "12.3%" and fmt_small_pct(0.4) == "less than 1%"


def test_an_interval_whose_ends_round_alike_gets_one_more_place():
    assert d.fmt_interval(96.84, 97.36, 0, "%") == "96.8% to 97.4%"        # not "97% to 97%"
    assert d.fmt_interval(0.051, 0.149, 1) == "0.05 to 0.15"                # not "0.1 to 0.1"
    assert d.fmt_interval(0.012, 0.038, 1) == "0.01 to 0.04"                # not "0.0 to 0.0"
    assert d.fmt_interval(45.2, 47.8, 0, "%") == "45% to 48%"               # ends apart: as they are
    assert d.fmt_interval(100.0, 100.0, 0, "%") == "100% to 100%"           # no width at all: nothing to add
    assert d.fmt_interval(2.5, 2.54, 0) == "2.5 to 2.5"                     # one place only, half away from zero
    assert d.fmt_interval(-0.04, 0.04, 1, signed=True) == "-0.04 to +0.04"


def test_p_values_never_read_as_nil():
    assert d.fmt_p_value(0.0423) == "0.042" and d.fmt_p_value(0.0005) == "0.001"   # half away from zero
    assert d.fmt_p_value(0.0004) == "<0.001" and d.fmt_p_value(0.0) == "<0.001"
    assert d.fmt_p_value(0.04, 2) == "0.04" and d.fmt_p_value(0.004, 2) == "<0.01"
    assert d.p_in_text(0.0004) == "p < 0.001" and d.p_in_text(0.25) == "p = 0.250"
