"""Real export shapes and realistic mistakes (issues #13 and #20): each case ends in a clean read, a quarantine
row with its rule, or a clear stop naming the file and row, column or key."""

from __future__ import annotations

import copy
import datetime as dt
import gzip

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpdeval.config import RunConfig, load_yaml
from cpdeval.contracts import IngestResult, quarantine_gate
from cpdeval.errors import InputError
from cpdeval.ingest.bookings import read_bookings
from cpdeval.ingest.csvread import read_text_csv
from cpdeval.ingest.register_validate import ingest_links, ingest_schools
from cpdeval.pseudonymise import pseudonymise_value

from conftest import BOOKING_HEADER, GOOD_BOOKING, REAL_DATA, ROOT, requires_real_data

KEY = b"k" * 32
START = BOOKING_HEADER.split(",").index("Start Date")
URN = BOOKING_HEADER.split(",").index("Organisation URN")


def booking(n: int, **cells) -> str:
    fields = GOOD_BOOKING.format(n=n).split(",")
    for name, value in cells.items():
        fields[BOOKING_HEADER.split(",").index(name.replace("_", " "))] = value
    return ",".join(fields)


def accepted_dates(result: IngestResult) -> list[dt.date]:
    return result.accepted.sort("source_row")["start_date"].to_list()


# -- dates and numbers as exports write them ---------------------------------------------------------------

def test_dates_with_a_time_excel_datetimes_iso_and_whole_numbers_as_floats(booking_file):
    path = booking_file([booking(1, Start_Date="02/04/2018 09:30"), booking(2, Start_Date="2018-04-02 00:00:00"),
                         booking(3, Start_Date="2018-04-02"), booking(4, Start_Date="02/04/2018"),
                         booking(5, Organisation_URN="106676.0", Sessions="1.0")])
    result = read_bookings([str(path)], KEY)
    assert result.quarantine.height == 0
    assert accepted_dates(result)[:4] == [dt.date(2018, 4, 2)] * 4
    row = result.accepted.filter(pl.col("booking_id") == "BK5").row(0, named=True)
    assert (row["urn"], row["sessions"]) == (106676, 1)


def test_a_half_number_is_not_a_whole_number(booking_file):
    result = read_bookings([str(booking_file([booking(1, Sessions="1.5")]))], KEY)
    assert result.quarantine["rule"].to_list() == ["type: not a whole number"]


def test_a_file_of_us_dates_is_read_month_first(booking_file):
    """A value above 12 in the second place proves the file writes the month first."""
    path = booking_file([booking(1, Start_Date="04/25/2018"), booking(2, Start_Date="05/02/2018")])
    assert accepted_dates(read_bookings([str(path)], KEY)) == [dt.date(2018, 4, 25), dt.date(2018, 5, 2)]


def test_a_file_mixing_day_and_month_orders_stops(booking_file):
    path = booking_file([booking(1, Start_Date="25/04/2018"), booking(2, Start_Date="04/25/2018")])
    with pytest.raises(InputError, match=r"column 'start_date'.*mix day/month orders: '25/04/2018'.*'04/25/2018'"):
        read_bookings([str(path)], KEY)


# -- dates against the financial year of each export --------------------------------------------------------

def test_bookings_outside_their_exports_financial_year_are_quarantined(booking_file):
    """The issue's US-date export: day and month swapped put bookings of one FY file into three years."""
    path = booking_file([booking(1, Start_Date="01/05/2018"), booking(2, Start_Date="01/02/2019"),
                         booking(3, Start_Date="01/04/2019"), booking(4, Start_Date="31/03/2018")])
    result = read_bookings([str(path)], KEY, file_years={str(path): "2018-19"}, delivery_years=["2018-19"])
    assert result.accepted["booking_id"].to_list() == ["BK1", "BK2"]
    q = result.quarantine
    assert q["source_row"].to_list() == [4, 5]
    assert set(q["rule"]) == {"date outside the financial year of its export (2018-19: 01/04/2018 to 31/03/2019)"}
    assert all(r.balanced for r in result.reconciliation)


def test_bookings_outside_the_delivery_years_are_quarantined_not_dropped(booking_file):
    path = booking_file([booking(1), booking(2, Start_Date="01/05/2031"), booking(3, Start_Date="01/05/2012")])
    result = read_bookings([str(path)], KEY, delivery_years=["2016-17", "2017-18", "2018-19"])
    assert result.accepted["booking_id"].to_list() == ["BK1"]
    assert set(result.quarantine["rule"]) == {"date outside the delivery years (2016-17 to 2018-19)"}
    rec = result.reconciliation[0]
    assert (rec.rows_in, rec.rows_accepted, rec.rows_quarantined) == (3, 1, 2)


# -- duplicates and ids ------------------------------------------------------------------------------------

def test_duplicate_references_are_found_through_case_and_invisible_characters(booking_file):
    a = booking_file([booking(1), booking(2)], name="a.csv")
    b = booking_file([booking(3, Booking_Reference="bk1\u200b"), booking(4, Booking_Reference="\u00a0BK2 ")],
                     name="b.csv")
    q = read_bookings([str(a), str(b)], KEY).quarantine
    assert q["rule"].to_list() == ["duplicate key", "duplicate key"]
    assert q["detail"].to_list() == [f"first seen at row 2 of {a}", f"first seen at row 3 of {a}"]


def test_contact_ids_are_one_person_through_case_and_invisible_characters():
    assert pseudonymise_value("c123\u200b", KEY) == pseudonymise_value(" C123\u00a0", KEY) == \
        pseudonymise_value("C123", KEY)


def test_ids_hashed_in_a_table_match_the_value_function(booking_file):
    path = booking_file([booking(1, Contact_ID="c9\ufeff"), booking(2, Contact_ID="C9")])
    ids = read_bookings([str(path)], KEY).accepted["participant_id"].to_list()
    assert ids == [pseudonymise_value("C9", KEY)] * 2



@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["c1", "C1\u200b", "\u00a0c1 ", "C2", "\u200b", "", " ",
                                                      "c2\ufeff", "É1", "é1", "\x1f", "ß"]),
                          # (up to U+017F: newer letters upper-case differently under Python 3.11's Unicode
                          # tables and polars' newer ones, in both the old and the new code)
                          st.text(st.characters(max_codepoint=0x17F), max_size=6)), max_size=40))
def test_a_column_is_hashed_value_by_value(ids):
    # pseudonymise_column normalises and hashes distinct raw values, then joins back: the same as hashing each
    # row's normalised id, with no id (null, empty, invisible characters only) left null
    from cpdeval.pseudonymise import normalise_id, pseudonymise_column

    out = pseudonymise_column(pl.DataFrame({"participant_id": ids, "row": range(len(ids))},
                                           schema={"participant_id": pl.Utf8, "row": pl.Int64}),
                              "participant_id", KEY)
    expected = [None if v is None or normalise_id(v) == "" else pseudonymise_value(v, KEY) for v in ids]
    assert out["participant_id"].to_list() == expected
    assert out["row"].to_list() == list(range(len(ids)))


@pytest.mark.parametrize("key", [b"k", b"synthetic-year-fixed-test-key", b"x" * 64, b"\xff" * 65, b"y" * 200])
def test_many_ids_hash_exactly_as_the_standard_hmac(key):
    import hashlib
    import hmac

    from cpdeval.pseudonymise import ID_LENGTH, _hmac_many, pseudonymise_value

    values = ["C1", "", "É\u00e9\U0001f600", "C" * 300]
    assert _hmac_many(values, key) == [hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:ID_LENGTH]
                                       for v in values]
    assert pseudonymise_value(" c1\u200b", key) == hmac.new(key, b"C1", hashlib.sha256).hexdigest()[:ID_LENGTH]

# -- workbooks and files that are not CSV ------------------------------------------------------------------

def _workbook(path, rows, title=True, sheet="Bookings"):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append(["Booking export, financial year 2018-19"])
        ws.append([])
    ws.append(BOOKING_HEADER.split(","))
    for r in rows:
        ws.append(r)
    wb.create_sheet("Notes").append(["exported by the CRM"])
    wb.save(path)
    return path


def test_an_xlsx_export_reads_like_its_csv(booking_file, tmp_path):
    csv_rows = [booking(1), booking(2, Start_Date="02/05/2018"), booking(3, CPD_Units="lots")]
    csv_result = read_bookings([str(booking_file(csv_rows))], KEY)
    cells = [r.split(",") for r in csv_rows]
    for c in cells:
        c[URN] = int(c[URN])                                          # Excel holds numbers and dates as such
        c[START] = dt.datetime.strptime(c[START], "%d/%m/%Y")
    book = _workbook(tmp_path / "bookings.xlsx", cells)
    xlsx_result = read_bookings([str(book)], KEY)
    cols = ["booking_id", "participant_id", "urn", "start_date", "units", "status"]
    assert xlsx_result.accepted.select(cols).equals(csv_result.accepted.select(cols))
    q = xlsx_result.quarantine.row(0, named=True)
    assert (q["source_row"], q["column"], q["rule"]) == (6, "units", "type: not a number")   # Excel row 6
    assert xlsx_result.reconciliation[0].rows_in == 3


def test_an_xlsx_sheet_is_chosen_by_name_and_a_missing_one_is_named(tmp_path):
    book = _workbook(tmp_path / "b.xlsx", [booking(1).split(",")], title=False, sheet="Export")
    assert read_text_csv(book, sheet="Export").height == 1
    with pytest.raises(InputError, match=r"no sheet 'Bookings' \(its sheets: Export, Notes\)"):
        read_text_csv(book, sheet="Bookings")
    from cpdeval.cli import main

    assert main(["validate", str(book), "--as", "bookings", "--sheet", "Export"]) == 0


@pytest.mark.parametrize("data,match", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, r"Excel 97-2003 workbook \(\.xls\).*save it as"),
    (gzip.compress(b"a,b\n1,2\n", mtime=0), r"gzip-compressed: decompress it first"),
    (b"%PDF-1.7\n...", r"a PDF document"),
])
def test_files_that_are_not_text_exports_say_what_they_are(tmp_path, data, match):
    path = tmp_path / "bookings.csv"
    path.write_bytes(data)
    with pytest.raises(InputError, match=match):
        read_bookings([str(path)], KEY)


def test_semicolons_with_decimal_commas_are_named(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("Booking Reference;CPD Units;Fee\nBK1;1,5;120\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"separated by semicolons with decimal commas.*'\.' as the decimal"):
        read_text_csv(path)


def test_a_sep_line_is_honoured_and_a_title_line_is_named(booking_file, tmp_path):
    plain = booking_file([booking(1)])
    with_sep = tmp_path / "sep.csv"
    with_sep.write_text("sep=,\n" + plain.read_text(encoding="utf-8-sig"), encoding="utf-8")
    result = read_bookings([str(with_sep)], KEY)
    assert result.accepted.height == 1 and result.accepted["source_row"].to_list() == [3]
    other = tmp_path / "semi.csv"
    other.write_text("sep=;\na;b\n1;2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"first line says sep=;: the file is separated by semicolons"):
        read_text_csv(other)
    titled = tmp_path / "titled.csv"
    titled.write_text("Booking export FY2018-19\n\n" + plain.read_text(encoding="utf-8-sig"), encoding="utf-8")
    with pytest.raises(InputError, match=r"title, not the header: the table's header seems to be on line 3"):
        read_bookings([str(titled)], KEY)


def test_a_renamed_survey_column_is_named_with_the_new_header(tmp_path):
    from cpdeval.ingest.surveys import load_instrument, read_survey

    inst = load_instrument("participant_impact")
    r = inst.definition["respondent"]
    items = [i["column"] for i in inst.items]
    header = [r["id"], r["submitted"], r["role"], *[("Q2.2" if c == "Q2_2" else c) for c in items]]
    path = tmp_path / "survey.csv"
    path.write_text(",".join(header) + "\nR1,01/06/2018 10:00,Teacher" + ",Agree" * len(items) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"'Q2_2' \(.+\): the file has 'Q2.2' instead.*renamed"):
        read_survey(str(path), inst)


# -- register, links and census as published ---------------------------------------------------------------

@requires_real_data()
def test_a_utf8_register_beside_the_cp1252_links_file(tmp_path):
    gias = REAL_DATA / "gias" / "gias_2021_surrey_936.csv"
    utf8 = tmp_path / "register_utf8.csv"
    utf8.write_text(gias.read_text(encoding="cp1252"), encoding="utf-8")
    links = REAL_DATA / "gias" / "gias_links_2021.csv"
    assert not links.read_bytes().isascii() or True          # published as Windows-1252
    a = ingest_schools(str(gias)).accepted                   # encoding auto: cp1252 detected
    b = ingest_schools(str(utf8)).accepted                   # encoding auto: UTF-8 detected
    assert a.drop("source_file").equals(b.drop("source_file"))
    assert ingest_links(str(links)).accepted.height > 10_000
    names = a.filter(pl.col("name").str.contains("[^\\x00-\\x7f]"))["name"]
    assert names.len() == 0 or all("Ã" not in n for n in names)


def test_an_explicit_wrong_encoding_names_the_setting(tmp_path):
    from cpdeval.ingest.register import read_gias

    path = tmp_path / "gias.csv"
    path.write_text("URN,Name\n1,Caf\u00e9\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"set inputs.register_encoding to utf-8 \(or auto\)"):
        read_gias(path, encoding="cp1252")


@requires_real_data()
def test_gias_rows_spilling_into_the_unread_last_column_are_repaired_and_counted(tmp_path):
    src = (REAL_DATA / "gias" / "gias_2021_surrey_936.csv").read_text(encoding="cp1252").splitlines()
    lines = [src[0] + ',"Linked establishments"']
    for i, line in enumerate(src[1:], 1):
        lines.append(line + (",Linked to 1, 2, 3" if i in (5, 40, 41) else ',"none"'))   # unquoted commas
    path = tmp_path / "gias_ragged.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp1252")
    result = ingest_schools(str(path))
    rec = result.reconciliation[0]
    assert rec.balanced and rec.rows_accepted == 590 and rec.rows_repaired == 3
    assert "rows 6, 41, 42" in rec.repair_note
    clean = ingest_schools(str(REAL_DATA / "gias" / "gias_2021_surrey_936.csv")).accepted
    assert result.accepted.drop("source_file").equals(clean.drop("source_file"))
    # a shifted row (a comma inside a read column) still stops, naming its line
    lines[7] = lines[7].replace(",", ",x,", 1)
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp1252")
    with pytest.raises(InputError, match=r"row 8.*has 112 fields but the header has 111"):
        ingest_schools(str(path))


def test_lowcov_is_a_status_code_not_an_invalid_value(tmp_path):
    from cpdeval.ingest.performance import STATUS_CODES

    assert STATUS_CODES["LOWCOV"] == STATUS_CODES["LOW"] == "low_coverage"


@requires_real_data()
def test_a_ks4_cell_written_lowcov_reads_as_low_coverage(tmp_path):
    """DfE's 2018-19 KS4 files write low coverage as LOWCOV (seven cells in the national provisional file)."""
    import csv
    import io

    from cpdeval.ingest.attainment import ingest_attainment
    from cpdeval.ingest.performance import load_measure_map, measure_columns

    src = REAL_DATA / "dfe-surrey-936" / "2018-2019_936_ks4final.csv"
    rows = list(csv.reader(io.StringIO(src.read_text(encoding="utf-8-sig"), newline="")))
    column = next(s["source_column"] for s in measure_columns(load_measure_map(), "ks4", "2018-19")
                  if s["measure"] == "p8")
    i = next(i for i, r in enumerate(rows[1:], 1) if r[rows[0].index("RECTYPE")] == "1")
    rows[i][rows[0].index(column)] = "LOWCOV"
    out = tmp_path / "2018-2019_936_ks4final.csv"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    out.write_text(buf.getvalue(), encoding="utf-8")
    result = ingest_attainment({"2018-19": str(out)}, "ks4")
    cell = result.accepted.filter((pl.col("raw_value") == "LOWCOV"))
    assert cell.height == 1 and cell["status"].item() == "low_coverage" and cell["value"].item() is None
    assert result.quarantine.height == 0


def test_a_census_of_another_year_is_named(tmp_path):
    cfg = load_yaml(ROOT / "config" / "surrey-2018-19.yaml")
    assert not RunConfig.from_dict(copy.deepcopy(cfg)).warnings
    cfg["years"]["reporting"] = "2017-18"
    warnings = RunConfig.from_dict(copy.deepcopy(cfg)).warnings
    assert any("inputs.census: the census is for 2018-19 but the reporting year is 2017-18" in w for w in warnings)
    cfg["inputs"]["census_year"] = "2018-19"      # said deliberately: no warning
    assert not RunConfig.from_dict(cfg).warnings


# -- quarantine gates --------------------------------------------------------------------------------------

def test_a_file_mostly_quarantined_stops_with_its_top_rules(booking_file):
    rows = [booking(i, Start_Date="2018/04/02") for i in range(1, 20)] + [booking(20)]
    path = booking_file(rows)
    result = read_bookings([str(path)], KEY)
    assert result.accepted.height == 1
    with pytest.raises(InputError, match=r"19 of 20 rows \(95.0%\) were quarantined, above the limit of 5%.*"
                                         r"start_date: type: not a date .*19 rows, e.g. row 2: '2018/04/02'.*"
                                         r"quality.accept") as err:
        quarantine_gate(result, {"max_quarantine_share": 0.05, "accept": {}}, "bookings")
    assert str(path) in str(err.value)
    notes = quarantine_gate(result, {"max_quarantine_share": 0.05, "accept": {str(path): "old export, rows unused"}})
    assert notes and "accepted in the config: old export, rows unused" in notes[0]
    assert quarantine_gate(result, {"max_quarantine_share": 0.99, "accept": {}}) == []


def test_the_gate_default_is_in_the_config_schema():
    cfg = load_yaml(ROOT / "config" / "config.yaml")
    assert RunConfig.from_dict(cfg).data["quality"] == {"max_quarantine_share": 0.05, "accept": {}}


@pytest.mark.e2e
def test_a_survey_export_of_unknown_labels_stops_the_run_instead_of_reporting_no_responses(synthetic_run, tmp_path):
    """The issue's case: lower-cased labels quarantined every response, and the chapter said "no responses"."""
    import os
    import shutil

    import yaml

    from conftest import TEST_KEY, copy_project, run_snakemake

    project = copy_project(tmp_path / "proj")
    exports = project / "data" / "raw" / "2018-19"
    shutil.copytree(synthetic_run / "data" / "raw" / "synthetic", exports)
    survey = exports / "surveys" / "participant_impact.csv"
    head, body = survey.read_text(encoding="utf-8-sig").split("\n", 1)
    survey.write_text(head + "\n" + body.lower(), encoding="utf-8")
    cfg = yaml.safe_load((project / "config" / "config.yaml").read_text(encoding="utf-8"))
    del cfg["synthetic"]
    cfg["year"] = "gated"
    cfg["inputs"] = yaml.safe_load(yaml.safe_dump(cfg["inputs"]).replace("data/raw/synthetic/", "data/raw/2018-19/"))
    (project / "config" / "gated.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    env = {**os.environ, "CPDEVAL_HASH_KEY": TEST_KEY}
    target = "data/derived/gated/ingest/survey_responses.parquet"
    result = run_snakemake(project, target, "--configfile", "config/gated.yaml", env=env)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "participant_impact.csv" in out and "were quarantined, above the limit of 5%" in out
    assert "Traceback" not in out
    cfg["quality"] = {"accept": {"data/raw/2018-19/surveys/participant_impact.csv": "a test of the accept list"}}
    (project / "config" / "gated.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    result = run_snakemake(project, target, "--configfile", "config/gated.yaml", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "accepted in the config: a test of the accept list" in result.stdout + result.stderr
