"""DfE performance tables: the shared CSV reader, the measure map and the long attainment table.

Known answers were read by hand from the published Surrey (LA 936) files in shared/real-data: the line
number, URN and the exact cell are quoted next to each assertion.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from cpdeval.errors import InputError
from cpdeval.ingest.csvread import read_header, read_text_csv, require_columns
from cpdeval.ingest.performance import (load_measure_map, measure_columns, read_performance_table,
                                        read_performance_tables, wide_measures)

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-data"
SURREY = REAL / "dfe-surrey-936"


def surrey(ks: str, year: str) -> Path:
    return SURREY / f"{year[:4]}-20{year[5:]}_936_{ks}final.csv"


@pytest.fixture(scope="module")
def mm():
    return load_measure_map()


@pytest.fixture(scope="module")
def ks4(mm):
    return {y: read_performance_table(surrey("ks4", y), "ks4", y, mm) for y in ("2016-17", "2017-18", "2018-19")}


@pytest.fixture(scope="module")
def ks2(mm):
    return {y: read_performance_table(surrey("ks2", y), "ks2", y, mm) for y in ("2016-17", "2017-18", "2018-19")}


def cell(long: pl.DataFrame, urn: int, measure: str, bound: str = "estimate") -> dict:
    rows = long.filter((pl.col("urn") == urn) & (pl.col("measure") == measure) & (pl.col("bound") == bound))
    assert rows.height == 1, (urn, measure, bound, rows)
    return rows.to_dicts()[0]


# -- the shared CSV reader -------------------------------------------------------------------------

def test_read_text_csv_bom_crlf_quotes_and_line_numbers(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes(b'\xef\xbb\xbfa,b,c\r\n1,"x, y",3\r\n4,"two\r\nlines",6\r\n\r\n7,"",\r\n')
    df = read_text_csv(p)
    assert df.columns == ["a", "b", "c", "source_row"]
    assert df.schema["a"] == pl.Utf8
    assert df["b"].to_list() == ["x, y", "two\r\nlines", None]
    assert df["c"].to_list() == ["3", "6", None]
    # header = 1; the quoted line break makes the record span lines 3-4; line 5 is blank
    assert df["source_row"].to_list() == [2, 3, 6]


def test_read_text_csv_cp1252_and_undecodable_byte(tmp_path):
    p = tmp_path / "w.csv"
    p.write_bytes("urn,name\n1,Ecole \u00e9t\u00e9\n2,St Thomas \u00e0 Becket\n".encode("cp1252"))
    df = read_text_csv(p, encoding="cp1252")
    assert df["name"].to_list() == ["Ecole \u00e9t\u00e9", "St Thomas \u00e0 Becket"]
    with pytest.raises(InputError) as err:
        read_text_csv(p, encoding="utf-8")
    assert err.value.row == 2 and "w.csv" in str(err.value) and "cp1252" in str(err.value)


def test_real_links_file_is_not_utf8():
    # the national links file has 'St Thomas \xe0 Becket' (cp1252) on line 4104
    with pytest.raises(InputError) as err:
        read_text_csv(REAL / "gias" / "gias_links_2021.csv")
    assert err.value.row == 4104


@pytest.mark.parametrize("content, problem", [
    (b"", "empty"),
    (b"a,b\r\n", "no data rows"),
    (b"a,a\n1,2\n", "repeats"),
    (b"a,b\n1,2\n3,4,5\n", "3 fields"),
])
def test_read_text_csv_unusable_files(tmp_path, content, problem):
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(InputError, match=problem):
        read_text_csv(p)


def test_require_columns_lists_all_missing_with_close_matches():
    df = pl.DataFrame({"URN": ["1"], "LinkURN": ["2"]})
    with pytest.raises(InputError) as err:
        require_columns(df, ["URN", "LinkUrn", "LinkType"], "links.csv", "GIAS links file")
    msg = str(err.value)
    assert "'LinkUrn' (did you mean 'LinkURN'" in msg and "'LinkType'" in msg and "links.csv" in msg
    require_columns(df, ["URN"], "links.csv", "GIAS links file")  # no error


# -- measure map ---------------------------------------------------------------------------------

def test_measure_map_years_and_bounds(mm):
    specs = measure_columns(mm, "ks4", "2017-18")
    by = {(s["measure"], s["bound"]): s for s in specs}
    assert by[("pct_ebacc_2sci", "estimate")]["source_column"] == "PTEBAC2SCI_94"
    assert by[("sci_va", "lower")]["source_column"] == "SCIVALOW_PTQ_EE"
    assert by[("sci_va", "upper")]["source_column"] == "SCIVAUPP_PTQ_EE"
    # a measure that starts later is simply absent from earlier years
    assert ("pct_triple_sci_entry", "estimate") not in {(s["measure"], s["bound"])
                                                         for s in measure_columns(mm, "ks4", "2014-15")}


def test_year_not_in_map_says_where_to_add_it(mm):
    with pytest.raises(InputError) as err:
        read_performance_table(surrey("ks4", "2018-19"), "ks4", "2030-31", mm)
    msg = str(err.value)
    assert "2030-31" in msg and "config/measures.yaml" in msg and "ks4" in msg


# -- real files: counts -----------------------------------------------------------------------------

# School rows (RECTYPE 1 or 2, with a URN) counted in the published files; LA/national rows are dropped.
KS4_SCHOOLS = {"2016-17": 94 + 33, "2017-18": 92 + 35, "2018-19": 94 + 36}
KS2_SCHOOLS = {"2016-17": 219 + 13, "2017-18": 222 + 13, "2018-19": 223 + 16}


@pytest.mark.parametrize("year", sorted(KS4_SCHOOLS))
def test_ks4_school_rows_and_dropped_totals(ks4, year):
    long, dropped = ks4[year]
    assert long["urn"].n_unique() == KS4_SCHOOLS[year]
    assert long.select("source_row").n_unique() == KS4_SCHOOLS[year]
    # RECTYPE 4, 5 and 7 are national / LA totals: set aside with their reason, never in the long table
    assert sorted(dropped["rectype"].to_list()) == ["4", "5", "7"]
    assert dropped["reason"].str.starts_with("not a school record").all()
    n_lines = len(surrey("ks4", year).read_bytes().splitlines()) - 1
    assert long.select("source_row").n_unique() + dropped.height == n_lines  # reconciliation
    # every school has every measure the map lists for the year
    n_specs = len(measure_columns(load_measure_map(), "ks4", year))
    assert long.height == KS4_SCHOOLS[year] * n_specs


@pytest.mark.parametrize("year", sorted(KS2_SCHOOLS))
def test_ks2_school_rows(ks2, year):
    long, dropped = ks2[year]
    assert long["urn"].n_unique() == KS2_SCHOOLS[year]
    assert sorted(dropped["rectype"].to_list()) == ["3", "4", "5"]
    assert set(long["rectype"].unique()) == {1, 2}


# -- real files: hand-read cells ----------------------------------------------------------------

def test_collingwood_college_ks4_values(ks4):
    long17, _ = ks4["2017-18"]
    # 2017-2018_936_ks4final.csv line 42, URN 136828 Collingwood College:
    # PTEBAC2SCI_94 = "72%", SCIVAMEA_PTQ_EE = "-0.12" (LOW -0.29, UPP 0.05), ATT8SCR = "49.3", PTtripleSci_E = "34%"
    c = cell(long17, 136828, "pct_ebacc_2sci")
    assert (c["value"], c["status"], c["raw_value"], c["source_column"], c["basis"], c["source_row"]) == \
        (72.0, "ok", "72%", "PTEBAC2SCI_94", "9-4", 42)
    assert c["laestab"] == 9365401 and c["rectype"] == 1
    assert cell(long17, 136828, "sci_va")["value"] == pytest.approx(-0.12)
    assert cell(long17, 136828, "sci_va", "lower")["value"] == pytest.approx(-0.29)
    assert cell(long17, 136828, "sci_va", "upper")["value"] == pytest.approx(0.05)
    assert cell(long17, 136828, "att8")["value"] == pytest.approx(49.3)
    assert cell(long17, 136828, "pct_triple_sci_entry")["value"] == 34.0
    # 2016-2017 line 2: PTEBAC2SCI_PTQ_EE = "57%" on the old A*-C basis; SCIVAMEA_PTQ_EE = "-0.56"; ATT8SCR "53.5"
    long16, _ = ks4["2016-17"]
    c = cell(long16, 136828, "pct_ebacc_2sci")
    assert (c["value"], c["source_column"], c["basis"]) == (57.0, "PTEBAC2SCI_PTQ_EE", "A*-C")
    assert cell(long16, 136828, "sci_va")["value"] == pytest.approx(-0.56)
    assert cell(long16, 136828, "att8")["value"] == pytest.approx(53.5)


def test_status_codes_from_real_cells(ks4, ks2):
    long17, _ = ks4["2017-18"]
    # line 103, URN 125385 Moon Hall School: PTEBAC2SCI_94 = "SUPP", ATT8SCR = "29", SCIVAMEA_PTQ_EE = "NP"
    c = cell(long17, 125385, "pct_ebacc_2sci")
    assert (c["value"], c["status"], c["raw_value"]) == (None, "suppressed", "SUPP")
    assert cell(long17, 125385, "att8")["value"] == 29.0
    assert cell(long17, 125385, "sci_va")["status"] == "not_published"
    # line 27, URN 131976 Jigsaw CABAS School (special, RECTYPE 2): PTEBAC2SCI_94 = "NE"
    c = cell(long17, 131976, "pct_ebacc_2sci")
    assert (c["value"], c["status"], c["rectype"]) == (None, "no_entries", 2)
    # KS2 2018-19 line 2, URN 145543 Wyke Primary: PTSCITA_EXP = "100%", READPROG = "1.7", TELIG = "27"
    long2, _ = ks2["2018-19"]
    c = cell(long2, 145543, "pct_sci_ta_exp")
    assert (c["value"], c["status"], c["raw_value"], c["basis"]) == (100.0, "ok", "100%", "expected standard")
    assert cell(long2, 145543, "read_progress")["value"] == pytest.approx(1.7)
    assert cell(long2, 145543, "pupils")["value"] == 27.0
    # line 209, URN 125284 Hawkedale Primary: blank cells -> missing
    assert cell(long2, 125284, "pct_sci_ta_exp")["status"] == "missing"
    # KS2 2017-18 line 184, URN 141533 Pond Meadow School: READPROG = "NA"
    assert cell(ks2["2017-18"][0], 141533, "read_progress")["status"] == "not_applicable"
    # KS2 2016-17 line 228, URN 125474 Portesbery School: PTSCITA_EXP = "SUPP"
    c = cell(ks2["2016-17"][0], 125474, "pct_sci_ta_exp")
    assert (c["status"], c["value"], c["source_row"]) == ("suppressed", None, 228)


def test_values_are_null_exactly_when_status_is_not_ok(ks4, ks2):
    for long, _ in [*ks4.values(), *ks2.values()]:
        assert long.filter((pl.col("status") == "ok") != pl.col("value").is_not_null()).height == 0
        pct = long.filter((pl.col("kind") == "percent") & (pl.col("status") == "ok"))
        assert pct["value"].min() >= 0 and pct["value"].max() <= 100


def test_basis_changes_between_years(mm):
    long, _ = read_performance_tables({y: surrey("ks4", y) for y in ("2016-17", "2017-18", "2018-19")}, "ks4", mm)
    basis = (long.filter(pl.col("measure") == "pct_ebacc_2sci").select("academic_year", "basis").unique()
             .sort("academic_year"))
    assert basis.rows() == [("2016-17", "A*-C"), ("2017-18", "9-4"), ("2018-19", "9-4")]
    wide = wide_measures(long)
    assert wide.filter(pl.col("urn") == 136828).sort("academic_year")["att8"].to_list() == [53.5, 49.3, 49.8]


# -- broken copies ----------------------------------------------------------------------------------

def test_renamed_column_names_the_measure(tmp_path, mm):
    src = surrey("ks4", "2017-18")
    dst = tmp_path / "2017-2018_936_ks4final.csv"
    data = src.read_bytes()
    header, rest = data.split(b"\n", 1)
    dst.write_bytes(header.replace(b",PTEBAC2SCI_94,", b",PTEBAC2SCI94,") + b"\n" + rest)
    with pytest.raises(InputError) as err:
        read_performance_table(dst, "ks4", "2017-18", mm)
    msg = str(err.value)
    assert "pct_ebacc_2sci" in msg and "'PTEBAC2SCI_94'" in msg and "2017-18" in msg
    assert str(dst) in msg and "PTEBAC2SCI94" in msg  # the close column name is suggested
    assert err.value.row == 1


def test_codes_percent_signs_and_dropped_rows(tmp_path):
    (tmp_path / "m.yaml").write_text(
        "ks4:\n  id_columns: {urn: URN, la: LEA, estab: ESTAB, rectype: RECTYPE, name: SCHNAME}\n"
        "  school_rectypes: [1, 2]\n  measures:\n"
        "    m: {kind: percent, columns: {2018-19: M}}\n"
        "    s: {kind: score, columns: {2018-19: S}, lower: {2018-19: SL}, upper: {2018-19: SU}}\n",
        encoding="utf-8")
    mm = load_measure_map(tmp_path / "m.yaml")
    rows = ["RECTYPE,LEA,ESTAB,URN,SCHNAME,M,S,SL,SU",
            "1,936,4001,100001,A,12.5%,LOW,1,2",        # line 2
            "1,936,4002,100002,B,x,..,,",               # line 3
            "2,936,7001,100003,C, NEW ,abc,-1.5,0",     # line 4
            "1,936,4004,,D,5%,1,1,1",                   # line 5: no URN
            "4,,,,,50%,0,0,0",                          # line 6: national total
            "1,936,4001,100001,A again,1%,1,1,1",       # line 7: repeated URN
            "1,936,4005,12x,E,1%,1,1,1"]                # line 8: URN not a number
    p = tmp_path / "t.csv"
    p.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8-sig")
    long, dropped = read_performance_table(p, "ks4", "2018-19", mm)
    got = {(r["urn"], r["measure"], r["bound"]): (r["value"], r["status"]) for r in long.to_dicts()}
    assert got[(100001, "m", "estimate")] == (12.5, "ok")
    assert got[(100001, "s", "estimate")] == (None, "low_coverage")
    assert got[(100002, "m", "estimate")] == (None, "not_available")
    assert got[(100002, "s", "estimate")] == (None, "data_unavailable")
    assert got[(100002, "s", "lower")] == (None, "missing")
    assert got[(100003, "m", "estimate")] == (None, "new_school")
    assert got[(100003, "s", "estimate")] == (None, "invalid")
    assert got[(100003, "s", "lower")] == (-1.5, "ok")
    reasons = dict(zip(dropped["source_row"].to_list(), dropped["reason"].to_list()))
    assert set(reasons) == {5, 6, 7, 8}
    assert reasons[5] == "school record without a URN"
    assert reasons[6].startswith("not a school record: RECTYPE 4")
    assert reasons[7] == "duplicate URN: first row 2 kept"
    assert reasons[8] == "URN is not a number: 12x"
    assert long.select("source_row").n_unique() + dropped.height == len(rows) - 1


def test_identifier_column_missing(tmp_path, mm):
    dst = tmp_path / "k.csv"
    shutil.copy(surrey("ks4", "2018-19"), dst)
    data = dst.read_bytes()
    dst.write_bytes(data.replace(b",URN,", b",URN_X,", 1))
    with pytest.raises(InputError, match="URN"):
        read_performance_table(dst, "ks4", "2018-19", mm)
    assert "URN_X" in read_header(dst)


def test_long_table_meets_its_contract(ks4, ks2):
    from cpdeval.contracts import load_contract, validate
    from cpdeval.ingest.performance import STATUS_VALUES

    contract = load_contract("attainment")
    assert set(contract.column("status").allowed) == set(STATUS_VALUES)
    long = pl.concat([lg for lg, _ in [*ks4.values(), *ks2.values()]])
    assert set(contract.column_names) <= set(long.columns)
    accepted, quarantine = validate(long, contract)
    assert quarantine.height == 0 and accepted.height == long.height
