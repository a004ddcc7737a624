"""Name and postcode normalisers, and matching bookings to the register."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpdeval.link.matching import ACCEPTED_METHODS, MATCH_METHODS, match_bookings, match_rates
from cpdeval.link.normalise import (bigrams_expr, name_expr, name_similarity, normalise_name, normalise_postcode,
                                    postcode_district, postcode_expr, similarity_expr)

# -- normalisers: known answers ------------------------------------------------------------------------


@pytest.mark.parametrize("a, b", [
    ("St. Mary's C of E (VA) Primary School", "Saint Marys Church of England Primary"),
    ("ST MARYS CE PRIMARY", "st marys c.e. primary school"),
    ("Holy Trinity R.C. Primary", "Holy Trinity Roman Catholic Primary School"),
    ("Holy Trinity RC Primary", "Holy Trinity Catholic Primary"),
    ("Lyne & Longcross CofE Aided Primary Sch", "Lyne and Longcross C of E Primary School"),
    ("Ecole \u00c9mile Zola", "ecole emile zola"),
    ("The Ridgeway School", "  ridgeway  "),
    ("Fox Hill Jnr Sch", "Fox Hill Junior School"),
    ("Oak Infants'", "Oak Infant School"),
])
def test_names_that_should_be_equal(a, b):
    assert normalise_name(a) == normalise_name(b) is not None


def test_name_known_outputs_and_empties():
    assert normalise_name("St. Mary's C of E (VA) Primary School") == "saint marys ce primary"
    assert normalise_name("The School") is None and normalise_name(None) is None and normalise_name("  ") is None
    assert normalise_name("St Mary's") != normalise_name("St Mark's")


@pytest.mark.parametrize("raw, expected", [
    ("gu15 4ae", "GU15 4AE"), ("GU154AE", "GU15 4AE"), (" g u 1 5-4ae ", "GU15 4AE"), ("SW1A 1AA", "SW1A 1AA"),
    ("ec1a1bb", "EC1A 1BB"), ("W1A 0AX", "W1A 0AX"), ("M1 1AE", "M1 1AE"), ("CR2 6XH", "CR2 6XH"),
    ("GU15 4A", None), ("12345", None), ("XX", None), ("", None), (None, None), ("GU15 4AE X", None),
])
def test_postcodes(raw, expected):
    assert normalise_postcode(raw) == expected
    assert pl.DataFrame({"p": [raw]}, schema={"p": pl.Utf8}).select(postcode_expr("p"))["p"][0] == expected


def test_district_and_similarity():
    assert postcode_district("gu15 4ae") == "GU15" and postcode_district("nonsense") is None
    a = normalise_name("Collingwood College")
    assert name_similarity(a, a) == 1.0
    assert name_similarity(a, normalise_name("College Collingwood")) == 1.0   # word order ignored
    assert name_similarity(a, normalise_name("Colingwood Colege")) > 0.9      # typos
    assert name_similarity(a, normalise_name("Kings International College")) < 0.6
    assert name_similarity(None, a) == 0.0


# -- normalisers: properties ------------------------------------------------------------------------

WORDS = ["st", "saint", "st.", "mary's", "marys", "c", "of", "e", "ce", "cofe", "church", "england", "r", "rc",
         "r.c.", "roman", "catholic", "the", "school", "sch", "primary", "prim", "jnr", "junior", "infants",
         "va", "vc", "aided", "&", "and", "academy", "oak", "hill", "x", "-", "(", ")", "'", "1"]
name_text = st.one_of(
    st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join),
    st.text(alphabet=st.characters(codec="latin-1", exclude_categories=("Cc",)), max_size=30),
    st.text(max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(name_text)
def test_normalise_name_is_idempotent(s):
    once = normalise_name(s)
    assert normalise_name(once) == once


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join),
    st.text(alphabet=st.characters(codec="latin-1", exclude_categories=("Cc",)), max_size=30)), max_size=20))
def test_vectorised_name_equals_scalar(values):
    got = pl.DataFrame({"n": values}, schema={"n": pl.Utf8}).select(name_expr("n"))["n"].to_list()
    assert got == [normalise_name(v) for v in values]


word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10)


@settings(max_examples=200, deadline=None)
@given(st.lists(word, min_size=1, max_size=4).map(" ".join), st.sampled_from(["St", "St.", "ST", "st"]))
def test_st_and_saint_are_equal(rest, st_form):
    assert normalise_name(f"{st_form} {rest}") == normalise_name(f"Saint {rest}")
    assert normalise_name(f"{rest} {st_form} {rest}") == normalise_name(f"{rest} saint {rest}")


postcodes = st.from_regex(r"\A[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}\Z")


@settings(max_examples=200, deadline=None)
@given(postcodes, st.lists(st.sampled_from(["", " ", "  ", "\t"]), min_size=8, max_size=8), st.booleans())
def test_postcode_case_and_spacing_invariant(pc, spaces, lower):
    squashed = pc.replace(" ", "")
    messy = "".join(ch + spaces[i % len(spaces)] for i, ch in enumerate(squashed))
    messy = messy.lower() if lower else messy
    assert normalise_postcode(messy) == normalise_postcode(pc) == pc
    assert normalise_postcode(normalise_postcode(messy)) == pc


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12))
def test_postcode_idempotent_and_vectorised(s):
    once = normalise_postcode(s)
    assert normalise_postcode(once) == once
    assert pl.DataFrame({"p": [s]}).select(postcode_expr("p"))["p"][0] == once


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(WORDS[:30]), min_size=1, max_size=5).map(" ".join),
       st.lists(st.sampled_from(WORDS[:30]), min_size=1, max_size=5).map(" ".join))
def test_vectorised_similarity_equals_scalar(a, b):
    na, nb = normalise_name(a), normalise_name(b)
    if na is None or nb is None:
        return
    df = pl.DataFrame({"a": [na], "b": [nb]}).with_columns(bigrams_expr("a").alias("ba"), bigrams_expr("b").alias("bb"))
    assert df.select(similarity_expr("ba", "bb"))[0, 0] == pytest.approx(name_similarity(na, nb))


# -- matching ------------------------------------------------------------------------------------------

REGISTER = pl.DataFrame({
    "urn": [100001, 100002, 100003, 100004, 100005, 100006, 100007, 136828, 125301, 100010, 100011],
    "laestab": [9361001, 9361002, 9361003, 9361004, 9361005, 9361006, 9361007, 9365401, 9365401, 9361010, 9361011],
    "name": ["St Mary's CE Primary School", "St Mark's CE Primary School", "Hillside Academy", "Oakwood School",
             "Riverside Primary School", "Riverside Primary School", "Lone Farm Infant School", "Collingwood College",
             "Collingwood College", "Beech Green Primary School", "Beech Grove Primary School"],
    "postcode": ["GU1 1AA", "GU1 1AB", "GU2 2BB", "GU3 3CC", "GU4 4DD", "GU4 4DE", "GU5 5EE", "GU15 4AE",
                 "GU15 4AE", "GU7 7GG", "GU7 7GG"],
    "status": ["open"] * 8 + ["closed", "open", "open"],
})
# 125301 converted to academy 136828 (same LAESTAB, same name and postcode)
LINEAGE = pl.DataFrame({"urn": [125301, 136828], "school_key": [136828, 136828], "chain_length": [1, 0],
                        "linked": [True, True], "rule": ["successor_chain", "successor_chain"]})

BOOKINGS = [
    # id, urn, laestab, name, postcode, expected (method, urn, key), reason fragment
    ("B01", 100003, None, "Hillside", "GU2 2BB", "urn", 100003, 100003, "URN in register"),
    ("B02", 125301, None, "x", None, "urn", 125301, 136828, "URN in register"),
    ("B03", None, 9361004, "Oakwood", None, "laestab", 100004, 100004, "LAESTAB 9361004"),
    ("B04", None, 9365401, "Collingwood", None, "laestab", 136828, 136828, "LAESTAB 9365401"),
    ("B05", 999999, None, "Saint Marys C of E Primary", "gu11aa", "name_postcode", 100001, 100001,
     "URN 999999 not in register; same normalised name at postcode GU1 1AA"),
    ("B06", None, None, "St Marys CE Primry", "GU1 1AA", "name_postcode", 100001, 100001, "similar name"),
    ("B07", None, None, "Hilside Academy", "GU2 9ZZ", "name_town", 100003, 100003, "in postcode district GU2"),
    ("B08", None, None, "Riverside Primary", "GU4 9XX", "ambiguous", None, None,
     "2 schools named 'riverside primary' in postcode district GU4"),
    ("B09", None, None, "Beech Gr Primary", "GU7 7GG", "ambiguous", None, None, "score within 0.05"),
    ("B10", None, None, "Totally Different Name", "GU5 5EE", "ambiguous", None, None,
     "below the minimum confidence 0.85"),
    ("B11", None, None, "Unknown School", "ZZ9 9ZZ", "unmatched", None, None, "no school with postcode ZZ9 9ZZ"),
    ("B12", None, None, "Oakwood School", "not a postcode", "unmatched", None, None, "no valid postcode"),
    ("B13", None, None, None, None, "unmatched", None, None, "no usable name or postcode"),
    ("B14", None, 9999999, "Lone Farm Infants", "GU5 5EE", "name_postcode", 100007, 100007,
     "LAESTAB 9999999 not in register; same normalised name"),
    ("B15", None, None, "Hillside Academy", "gu2", "name_town", 100003, 100003,
     "same normalised name in postcode district GU2"),
]


@pytest.fixture(scope="module")
def matched():
    bk = pl.DataFrame([b[:5] for b in BOOKINGS], orient="row",
                      schema={"booking_id": pl.Utf8, "urn": pl.Int64, "laestab": pl.Int64, "org_name": pl.Utf8,
                              "org_postcode": pl.Utf8})
    return bk, match_bookings(bk, REGISTER, LINEAGE)


def test_matching_known_answers(matched):
    bk, (m, review) = matched
    assert m["booking_id"].to_list() == bk["booking_id"].to_list()   # one row per booking, input order
    rows = {r["booking_id"]: r for r in m.to_dicts()}
    for bid, *_, method, urn, key, reason in BOOKINGS:
        r = rows[bid]
        assert (r["match_method"], r["urn"], r["school_key"]) == (method, urn, key), (bid, r)
        assert reason in r["match_reason"], (bid, r["match_reason"])
    conf = {b: rows[b]["match_confidence"] for b in rows}
    assert conf["B01"] == 1.0 and conf["B03"] == 0.98 and conf["B05"] == 0.95
    assert 0.85 <= conf["B06"] < 0.95 and 0.85 <= conf["B07"] < 0.90
    assert conf["B10"] == 0.8 and conf["B11"] is None and conf["B15"] == 0.9
    # accepted matches are at or above the threshold; ambiguous ones carry no URN
    acc = m.filter(pl.col("match_method").is_in(ACCEPTED_METHODS))
    assert acc["match_confidence"].min() >= 0.85 and acc["urn"].null_count() == 0
    assert set(review["booking_id"]) == {"B08", "B09", "B10", "B11", "B12", "B13"}
    b08 = review.filter(pl.col("booking_id") == "B08").to_dicts()[0]
    assert set(map(int, b08["candidate_urns"].split("|"))) == {100005, 100006}
    assert b08["candidate_names"] == "Riverside Primary School|Riverside Primary School"


def test_postcode_only_accepted_with_lower_threshold(matched):
    bk, _ = matched
    m, _ = match_bookings(bk, REGISTER, LINEAGE, min_confidence=0.8)
    r = m.filter(pl.col("booking_id") == "B10").to_dicts()[0]
    assert (r["match_method"], r["urn"], r["match_confidence"]) == ("postcode_only", 100007, 0.8)
    assert "only school at postcode GU5 5EE" in r["match_reason"]


def test_without_lineage_key_is_urn(matched):
    bk, _ = matched
    m, _ = match_bookings(bk, REGISTER)
    r = m.filter(pl.col("booking_id") == "B02").to_dicts()[0]
    assert (r["urn"], r["school_key"]) == (125301, 125301)
    # without lineage the shared LAESTAB names two schools: falls through, and says so
    r = m.filter(pl.col("booking_id") == "B04").to_dicts()[0]
    assert r["match_method"] != "laestab" and "LAESTAB 9365401 matches 2 schools" in r["match_reason"]


def test_match_rates(matched):
    _, (m, _) = matched
    rates = match_rates(m)
    assert rates["match_method"].to_list() == MATCH_METHODS
    got = dict(zip(rates["match_method"].to_list(), rates["n"].to_list()))
    assert got == {"urn": 2, "laestab": 2, "name_postcode": 3, "name_town": 2, "postcode_only": 0,
                   "ambiguous": 3, "unmatched": 3}
    assert rates["total"].unique().to_list() == [15] and rates["rate"].sum() == pytest.approx(1.0)
    by = match_rates(m.with_columns(pl.col("booking_id").str.slice(0, 2).alias("g")), by=["g"])
    assert by.height == 2 * len(MATCH_METHODS)


def test_matches_meet_their_contract(matched):
    from cpdeval.contracts import load_contract

    _, (m, _) = matched
    contract = load_contract("booking_matches")
    assert contract.column_names == m.columns
    contract.pandera_schema().validate(m)
