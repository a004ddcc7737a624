"""The polars pre-check that spares a clean frame pandera's import: it may only ever say "surely passes" for a
frame pandera passes too, and it must not change a single quarantine row."""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
import textwrap

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from cpdeval.contracts import contract_from_dict, pandera_failures


def contract(nullable: bool):
    return contract_from_dict({
        "name": "probe", "title": "probe", "grain": "row", "kind": "derived", "reader": "none",
        "columns": [
            {"name": "code", "dtype": "str", "nullable": nullable, "allowed": ["a", "b"]},
            {"name": "n", "dtype": "int", "nullable": nullable, "min": 0, "max": 10},
            {"name": "share", "dtype": "float", "nullable": nullable, "min": 0.0, "max": 1.0},
            {"name": "pid", "dtype": "str", "nullable": nullable, "pattern": r"P\d{2}"},   # pandera anchors it at ^
            {"name": "day", "dtype": "date", "nullable": nullable, "min": "2010-01-01"},
        ]})


codes = st.sampled_from(["a", "b", "c", "", None])
ints = st.one_of(st.none(), st.integers(-3, 13))
floats = st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0, -0.1, 1.5, math.nan, math.inf]))
pids = st.one_of(st.none(), st.sampled_from(["P01", "P123", "xP01", "P1", "p01", "P99 "]))
days = st.one_of(st.none(), st.dates(dt.date(2009, 12, 30), dt.date(2010, 1, 3)))
rows = st.lists(st.tuples(codes, ints, floats, pids, days), max_size=6)


def frame(data):
    return pl.DataFrame(data, schema={"code": pl.Utf8, "n": pl.Int64, "share": pl.Float64, "pid": pl.Utf8,
                                      "day": pl.Date}, orient="row")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows, st.booleans())
def test_surely_passes_only_frames_pandera_passes(data, nullable):
    import pandera.errors

    c, df = contract(nullable), frame(data)
    pandera_ok = True
    try:
        c.pandera_schema().validate(df, lazy=True)
    except pandera.errors.SchemaErrors:
        pandera_ok = False
    if c.surely_passes(df):
        assert pandera_ok, df
    if pandera_ok and not df["share"].is_nan().any():
        assert c.surely_passes(df), df          # and it vouches for every clean frame without NaN


def test_known_answers():
    c = contract(nullable=False)
    good = frame([("a", 0, 0.0, "P01", dt.date(2010, 1, 1)), ("b", 10, 1.0, "P123", dt.date(2020, 5, 1))])
    assert c.surely_passes(good) and c.surely_passes(good.head(0))
    for bad in (("c", 0, 0.0, "P01", dt.date(2010, 1, 1)), ("a", 11, 0.0, "P01", dt.date(2010, 1, 1)),
                ("a", 0, 1.01, "P01", dt.date(2010, 1, 1)), ("a", 0, 0.0, "xP01", dt.date(2010, 1, 1)),
                ("a", 0, 0.0, "P01", dt.date(2009, 12, 31)), (None, 0, 0.0, "P01", dt.date(2010, 1, 1))):
        assert not c.surely_passes(frame([bad])), bad
    assert not c.surely_passes(good.with_columns(pl.col("n").cast(pl.Int32)))      # dtype differs
    assert not c.surely_passes(good.drop("pid"))                                    # column missing
    assert contract(nullable=True).surely_passes(frame([(None, None, None, None, None)]))


def test_failures_are_still_reported_cell_by_cell():
    c = contract(nullable=False)
    df = frame([("a", 0, 0.0, "P01", dt.date(2010, 1, 1)), ("c", 12, 0.5, "P01", dt.date(2010, 1, 1))])
    q = pandera_failures(df.with_columns(pl.Series("source_row", [2, 3])), c)
    assert sorted(q["column"].to_list()) == ["code", "n"] and set(q["source_row"]) == {3}


RUN = textwrap.dedent("""
    import sys
    from cpdeval.contracts import ingest_generic_csv, load_contract
    result = ingest_generic_csv([sys.argv[1]], load_contract("partnerships"))
    print(result.accepted.height, result.quarantine.height, "pandera" in sys.modules)
""")


@pytest.mark.parametrize("lead_urn, expected", [("100001", "2 0 False"), ("99", "1 1 True")])
def test_a_clean_file_is_read_without_starting_pandera(tmp_path, lead_urn, expected):
    path = tmp_path / "partnerships.csv"
    path.write_text("partnership_id,partnership_name,region,lead_urn,lead_from,lead_to\n"
                    "P01,North,North East,100000,2014-04-01,\n"
                    f"P02,South,South East,{lead_urn},2014-04-01,2016-03-31\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", RUN, str(path)], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src")})
    assert out.stdout.strip() == expected
