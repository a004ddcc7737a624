"""URN lineage: real GIAS links files, hand-made awkward graphs, and property tests on random graphs."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpdeval.link.lineage import (apply_lineage, build_lineage, lineage_edges, read_gias_links,
                                  summarise_lineage)

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-data" / "gias"


def links_frame(rows: list[tuple[int, int, str]], dates: list[str | None] | None = None) -> pl.DataFrame:
    dates = dates or [None] * len(rows)
    return pl.DataFrame(
        {"urn": [r[0] for r in rows], "link_urn": [r[1] for r in rows], "link_type": [r[2] for r in rows],
         "link_date": [None if d is None else pl.Series([d]).str.to_date()[0] for d in dates]},
        schema={"urn": pl.Int64, "link_urn": pl.Int64, "link_type": pl.Utf8, "link_date": pl.Date})


def keys(lineage: pl.DataFrame) -> dict[int, int]:
    return dict(zip(lineage["urn"].to_list(), lineage["school_key"].to_list()))


@pytest.fixture(scope="module")
def links_2021():
    return read_gias_links(REAL / "gias_links_2021.csv")  # Windows-1252, not valid UTF-8


@pytest.fixture(scope="module")
def links_2025():
    return read_gias_links(REAL / "gias_links_20250422.csv")


# -- real files -------------------------------------------------------------------------------------

def test_read_real_links(links_2021, links_2025):
    assert links_2021.height == 29817  # 29,817 records after the header (no line break after the last)
    assert links_2025.height == 33801
    row = links_2021.filter(pl.col("source_row") == 4104).to_dicts()[0]
    assert row["link_name"].startswith("St Thomas \u00e0 Becket")  # the cp1252 byte 0xe0
    assert links_2021.schema["link_date"] == pl.Date and links_2021["urn"].null_count() == 0


def test_surrey_academy_conversions(links_2021, links_2025):
    # Collingwood College (Surrey, GIAS 2021): maintained URN 125301 -> academy converter 136828 on 01-07-2011
    #   links 2021 line 12892: 125301,136828,"Collingwood College","Successor","30-06-2011"
    #   links 2021 line 20127: 136828,125301,"Collingwood College","Predecessor","01-07-2011"
    lin, _ = build_lineage(links_2021, urns=[125301, 136828, 999999])
    k = keys(lin)
    assert k[125301] == k[136828] == 136828 and k[999999] == 999999
    row = lin.filter(pl.col("urn") == 125301).to_dicts()[0]
    assert (row["chain_length"], row["linked"], row["rule"]) == (1, True, "successor_chain")
    assert lin.filter(pl.col("urn") == 999999)["rule"].to_list() == ["own_urn"]
    # Kingswood Primary School, open in the 2021 Surrey extract as URN 124937, became academy 150678 in 2024
    #   links 2025 line 14183: 124937,150678,"Kingswood Primary School","Successor","30-04-2024"
    lin25, _ = build_lineage(links_2025, urns=[124937, 150678, 125301, 136828])
    k = keys(lin25)
    assert k[124937] == k[150678] == 150678
    assert k[125301] == k[136828] == 136828


def test_real_cycle_is_broken_and_reported(links_2025):
    # In the 2025 file 121064 -> 142855 (2016 conversion), 142855 -> 146558 (2024 merger) and both 121064 and
    # 146558 also record 146558 -> 121064: a cycle. Every URN on it gets the highest URN, 146558.
    lin, issues = build_lineage(links_2025)
    k = keys(lin)
    assert k[121064] == k[142855] == k[146558] == k[121109] == 146558
    cyc = issues.filter(pl.col("issue") == "cycle")
    assert cyc.height == 1 and cyc["urn"][0] == 146558
    assert "121064" in cyc["detail"][0] and "142855" in cyc["detail"][0]


def test_real_links_fast_and_total(links_2025):
    t = time.perf_counter()
    lin, issues = build_lineage(links_2025)
    elapsed = time.perf_counter() - t
    assert elapsed < 1.0
    named = set(links_2025["urn"].to_list()) | set(links_2025["link_urn"].to_list())
    assert lin["urn"].n_unique() == lin.height
    assert set(lin["urn"].to_list()) <= named
    # a key is its own key
    k = keys(lin)
    assert all(k.get(v, v) == v for v in set(k.values()))
    assert set(issues["issue"].unique()) <= {"not_followed", "undirected_link", "contradictory_direction",
                                             "missing_twin", "split", "cycle"}
    summary = dict(summarise_lineage(lin, issues).select("metric", "value").rows())
    assert summary["urns"] == lin.height and summary["school_keys"] < lin.height


# -- hand-made graphs -------------------------------------------------------------------------------

def test_chain_merge_split_and_link_types():
    rows = [
        (1001, 1002, "Successor"), (1002, 1001, "Predecessor"),               # conversion
        (1002, 1003, "Successor - merged"), (1003, 1002, "Predecessor - merged"),  # then merged into 1003
        (1004, 1003, "Successor - merged"), (1003, 1004, "Predecessor - merged"),  # merge: second predecessor
        (2001, 2003, "Successor - Split School"), (2001, 2002, "Successor - Split School"),  # split
        (3001, 3002, "Result of Amalgamation"), (3002, 3001, "Result of Amalgamation"),
        (4001, 4002, "Sixth Form Centre Link"),
        (5001, 5002, "Successor"),                                            # no Predecessor twin
    ]
    dates = [None] * 6 + ["2019-09-01", "2020-09-01"] + [None] * 4
    lin, issues = build_lineage(links_frame(rows, dates), urns=[1001, 2002, 6001])
    assert keys(lin) == {1001: 1003, 2002: 2002, 6001: 6001}
    full, _ = build_lineage(links_frame(rows, dates))
    k = keys(full)
    assert k[1001] == k[1002] == k[1003] == k[1004] == 1003
    assert k[2001] == 2003  # earliest link date wins, not the lowest URN
    assert k[2002] == 2002
    assert k[3001] == k[3002] == 3002
    assert 4001 not in k and 4002 not in k  # a sixth-form link does not make one school
    assert k[5001] == 5002
    assert full.filter(pl.col("urn") == 1001)["chain_length"].to_list() == [2]
    assert full.filter(pl.col("urn") == 2001)["rule"].to_list() == ["split_choice"]
    got = set(zip(issues["issue"].to_list(), issues["urn"].to_list()))
    assert {("split", 2001), ("undirected_link", 3001), ("not_followed", 4001), ("missing_twin", 5001)} <= got


def test_contradiction_and_cycle_are_reported_not_looped():
    rows = [
        (10, 11, "Successor"), (11, 10, "Successor"),              # each says the other is its successor
        (20, 21, "Successor"), (21, 22, "Successor"), (22, 20, "Successor"),  # a 3-cycle
        (19, 20, "Successor"),                                     # leads into the cycle
    ]
    lin, issues = build_lineage(links_frame(rows))
    k = keys(lin)
    assert k[10] == k[11] == 11                        # oriented low -> high
    assert k[20] == k[21] == k[22] == k[19] == 22      # highest URN on the cycle
    assert set(lin.filter(pl.col("urn").is_in([19, 20, 21, 22]))["rule"]) == {"cycle_broken"}
    kinds = issues.group_by("issue").len()
    assert dict(kinds.rows())["contradictory_direction"] == 1 and dict(kinds.rows())["cycle"] == 1
    assert lin.filter(pl.col("urn") == 20)["chain_length"].to_list() == [2]  # 20 -> 21 -> 22


def test_apply_lineage_keeps_rows_and_fills_own_urn():
    lin, _ = build_lineage(links_frame([(1, 2, "Successor")]))
    df = pl.DataFrame({"urn": [2, None, 1, 7], "x": [1, 2, 3, 4]}, schema={"urn": pl.Int64, "x": pl.Int64})
    out = apply_lineage(df, lin)
    assert out["school_key"].to_list() == [2, None, 2, 7] and out["x"].to_list() == [1, 2, 3, 4]
    s = dict(summarise_lineage(lin, present=df.drop_nulls()).select("metric", "value").rows())
    assert s["keys_joined_in_data"] == 1 and s["urns_joined_in_data"] == 2


# -- properties on random graphs ----------------------------------------------------------------------

LINK_TYPES = ["Successor", "Predecessor", "Successor - merged", "Predecessor - merged", "Result of Amalgamation",
              "Successor - Split School", "Sixth Form Centre Link", "Other"]

graphs = st.lists(
    st.tuples(st.integers(100000, 100015), st.integers(100000, 100015), st.sampled_from(LINK_TYPES),
              st.one_of(st.none(), st.dates(min_value=dt.date(2010, 1, 1), max_value=dt.date(2024, 1, 1)))),
    min_size=0, max_size=40)


def frame_of(rows) -> pl.DataFrame:
    return pl.DataFrame(
        {"urn": [r[0] for r in rows], "link_urn": [r[1] for r in rows], "link_type": [r[2] for r in rows],
         "link_date": [r[3] for r in rows]},
        schema={"urn": pl.Int64, "link_urn": pl.Int64, "link_type": pl.Utf8, "link_date": pl.Date})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=graphs, seed=st.integers(0, 10_000))
def test_every_urn_gets_one_stable_key(rows, seed):
    links = frame_of(rows)
    universe = list(range(100000, 100016))
    lin, issues = build_lineage(links, urns=universe)
    # exactly one key per URN asked for
    assert sorted(lin["urn"].to_list()) == universe
    k = keys(lin)
    full, _ = build_lineage(links)
    kf = keys(full)
    # a key is its own key (the chain ends there), and keys are URNs of the graph or the URN itself
    for u, key in kf.items():
        assert kf.get(key, key) == key
    for u in universe:
        assert k[u] == kf.get(u, u)
    # the same links in another order give the same keys and the same issues
    shuffled = links.sample(fraction=1.0, shuffle=True, seed=seed)
    lin2, issues2 = build_lineage(shuffled, urns=universe)
    assert lin2.equals(lin)
    assert issues2.sort(["issue", "urn", "link_urn", "detail"]).equals(issues.sort(["issue", "urn", "link_urn", "detail"]))


@settings(max_examples=40, deadline=None)
@given(order=st.permutations(list(range(100000, 100010))), n_links=st.integers(1, 9))
def test_simple_chains_end_at_the_last_successor(order, n_links):
    chain = order[: n_links + 1]
    rows = []
    for a, b in zip(chain, chain[1:]):
        rows += [(a, b, "Successor", None), (b, a, "Predecessor", None)]
    lin, issues = build_lineage(frame_of(rows))
    assert set(lin["school_key"].to_list()) == {chain[-1]}
    assert dict(zip(lin["urn"].to_list(), lin["chain_length"].to_list()))[chain[0]] == n_links
    assert issues.height == 0
    edges, _ = lineage_edges(frame_of(rows))
    assert edges.height == n_links


def test_links_and_lineage_meet_their_contracts(links_2021):
    from cpdeval.contracts import load_contract, validate

    accepted, quarantine = validate(links_2021.with_columns(pl.lit("links").alias("source_file")),
                                    load_contract("links"))
    assert quarantine.height == 0 and accepted.height == links_2021.height
    lin, _ = build_lineage(links_2021)
    load_contract("school_lineage").pandera_schema().validate(lin)
