"""Contracts: mapping, typing, validation, quarantine and reconciliation on hand-made inputs."""

import polars as pl
import pytest

from cpdeval.contracts import list_contracts, load_contract
from cpdeval.errors import InputError
from cpdeval.ingest.bookings import read_bookings
from cpdeval.pseudonymise import pseudonymise_value

from conftest import BOOKING_HEADER, GOOD_BOOKING, write_csv

KEY = b"test-key"


def rules_for(result, row):
    q = result.quarantine.filter(pl.col("source_row") == row)
    return {(c, r.split(":")[0].split(" (")[0]) for c, r in zip(q["column"], q["rule"])}


def test_every_contract_loads_and_builds_a_pandera_schema():
    contracts = list_contracts()
    assert {"bookings", "partnerships", "targets", "trained_leaders", "survey_responses"} <= {c.name for c in contracts}
    for c in contracts:
        assert c.columns, c.name
        c.pandera_schema()


def test_good_rows_are_accepted_typed_and_pseudonymised(booking_file):
    path = booking_file([GOOD_BOOKING.format(n=1), GOOD_BOOKING.format(n=2)])
    result = read_bookings([str(path)], KEY)
    acc = result.accepted
    assert acc.height == 2 and result.quarantine.height == 0
    assert acc["role"].to_list() == ["teacher", "teacher"]
    assert acc["provider"].to_list() == ["national", "national"]
    assert acc["start_date"].dtype == pl.Date and str(acc["start_date"][0]) == "2018-05-01"
    assert acc["units"].to_list() == [1.5, 1.5]
    assert acc["fee"].to_list() == [120.0, 120.0]
    assert acc["participant_id"][0] == pseudonymise_value("C1", KEY) != "C1"
    assert acc["source_row"].to_list() == [2, 3]


def test_personal_columns_never_leave_ingest(booking_file):
    result = read_bookings([str(booking_file([GOOD_BOOKING.format(n=1)]))], KEY)
    text = str(result.accepted.to_dicts())
    assert "Name 1" not in text and "p1@example.org" not in text and "'C1'" not in text


@pytest.mark.parametrize("field,value,column,rule", [
    (4, "Wizard", "role", "unknown code"),
    (15, "31/02/2018", "start_date", "type"),
    (15, "1899-01-01", "start_date", "minimum 2000-01-01"),   # ISO is a date; 1899 is before any booking
    (15, "01/01/1899", "start_date", "minimum 2000-01-01"),
    (17, "-1", "units", "minimum 0"),
    (17, "lots", "units", "type"),
    (5, "12", "urn", "minimum 100000"),
    (18, "Maybe", "status", "unknown code"),
    (16, "0", "sessions", "minimum 1"),
    (0, "", "booking_id", "required value missing"),
])
def test_bad_values_are_quarantined_with_their_rule(booking_file, field, value, column, rule):
    fields = GOOD_BOOKING.format(n=2).split(",")
    fields[field] = value
    path = booking_file([GOOD_BOOKING.format(n=1), ",".join(fields)])
    result = read_bookings([str(path)], KEY)
    assert result.accepted.height == 1
    assert (column, rule) in rules_for(result, 3)
    rec = result.reconciliation[0]
    assert (rec.rows_in, rec.rows_accepted, rec.rows_quarantined) == (2, 1, 1) and rec.balanced


def test_duplicate_ids_keep_the_first_and_quarantine_the_rest(booking_file, tmp_path):
    a = booking_file([GOOD_BOOKING.format(n=1), GOOD_BOOKING.format(n=1)], name="a.csv")
    b = booking_file([GOOD_BOOKING.format(n=1)], name="b.csv")
    result = read_bookings([str(a), str(b)], KEY)
    assert result.accepted.height == 1
    q = result.quarantine
    assert q.height == 2 and set(q["column"]) == {"booking_id"}
    assert set(q["rule"]) == {"duplicate key"}
    assert any("of " + str(a) in d for d in q["detail"])  # the other file's duplicate says where it was first seen
    assert all(r.balanced for r in result.reconciliation)


def test_missing_required_column_stops_with_the_file_and_column(tmp_path):
    header = BOOKING_HEADER.replace("Booking Status,", "")
    row = GOOD_BOOKING.format(n=1).replace("Attended,", "")
    path = write_csv(tmp_path / "b.csv", header, [row])
    with pytest.raises(InputError) as err:
        read_bookings([str(path)], KEY)
    assert "Booking Status" in str(err.value) and "b.csv" in str(err.value)


def test_wrong_encoding_stops_with_the_row(tmp_path):
    row = GOOD_BOOKING.format(n=1).replace("Alpha School", "Ecole Ã©")
    clean = GOOD_BOOKING.format(n=2).replace("£120.00", "0")
    path = write_csv(tmp_path / "b.csv", BOOKING_HEADER, [clean, row], bom=False,
                     encoding="cp1252")
    with pytest.raises(InputError) as err:
        read_bookings([str(path)], KEY)
    assert err.value.row == 3 and "b.csv" in str(err.value)


def test_empty_file_stops(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_bookings([str(path)], KEY)


def test_contract_dictionary_text():
    units = load_contract("bookings").column("units")
    assert units.rules_text() == "required value; >= 0; <= 100"


# --------------------------------------------------------------------------- duplicate keys, against a plain loop

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cpdeval.contracts import contract_from_dict, duplicate_key_rows, normalise_id_expr  # noqa: E402

_KEYED = contract_from_dict({"name": "keyed", "key": ["ref", "n"], "columns": [
    {"name": "ref", "dtype": "str"}, {"name": "n", "dtype": "int"}]})


def _duplicates_by_loop(df: pl.DataFrame) -> list[tuple]:
    """Second and later rows of each (normalised ref, n), keys with a null skipped: (file, row, value, detail)."""
    norm = df.select(normalise_id_expr(pl.col("ref")))["ref"].to_list()
    first: dict = {}
    out = []
    for ref, key_ref, n, row, src in zip(df["ref"], norm, df["n"], df["source_row"], df["source_file"]):
        key = (key_ref, n)
        if key not in first:
            first[key] = (row, src)
        elif key_ref is not None and n is not None:
            row0, src0 = first[key]
            detail = f"first seen at row {row0}" + (f" of {src0}" if src0 != src else "")
            out.append((src, row, f"{ref}|{n}", detail))
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["BK1", "bk1\u200b", " BK1", "BK2", "bk2", None]),
                          st.sampled_from([1, 2, None]), st.sampled_from(["a.csv", "b.csv"])), max_size=14))
def test_duplicate_keys_match_a_plain_loop(rows):
    df = pl.DataFrame({"ref": [r[0] for r in rows], "n": [r[1] for r in rows],
                       "source_file": [r[2] for r in rows], "source_row": list(range(2, len(rows) + 2))},
                      schema={"ref": pl.Utf8, "n": pl.Int64, "source_file": pl.Utf8, "source_row": pl.Int64})
    q = duplicate_key_rows(df, _KEYED, "source_file")
    got = list(zip(q["source_file"], q["source_row"], q["value"], q["detail"]))
    assert sorted(got, key=lambda r: r[1]) == _duplicates_by_loop(df)
    assert set(q["column"]) <= {"ref, n"} and set(q["rule"]) <= {"duplicate key"}


def test_reconcile_counts_each_input_row_once_per_file():
    from cpdeval.contracts import empty_quarantine, reconcile

    # a long table: input row 2 of a.csv gave two rows; row 4 of a.csv has two bad cells
    accepted = pl.DataFrame({"source_file": ["a.csv", "a.csv", "a.csv", "b.csv"], "source_row": [2, 2, 3, 5]})
    quarantine = pl.concat([empty_quarantine(), pl.DataFrame(
        {"table": ["t"] * 3, "source_file": ["a.csv", "a.csv", "b.csv"], "source_row": [4, 4, 6],
         "column": ["x", "y", "x"], "rule": ["r"] * 3, "value": ["1"] * 3, "detail": [None] * 3},
        schema=empty_quarantine().schema)])
    recs = reconcile({"a.csv": 3, "b.csv": 2, "c.csv": 0}, accepted, quarantine, "t",
                     set_aside={"c.csv": (0, "")})
    got = {r.source_file: (r.rows_in, r.rows_accepted, r.rows_quarantined) for r in recs}
    assert got == {"a.csv": (3, 2, 1), "b.csv": (2, 1, 1), "c.csv": (0, 0, 0)}
    assert all(r.balanced for r in recs)
    # a table without a file column counts nothing as accepted (the reconciliation then does not balance)
    (lone,) = reconcile({"a.csv": 1}, pl.DataFrame({"source_row": [2]}), empty_quarantine(), "t")
    assert (lone.rows_accepted, lone.balanced) == (0, False)
