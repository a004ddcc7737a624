"""The bad-input corpus (issue #9, item 2): every broken copy of every raw input ends in a quarantine row
with its rule or a clear stop naming file and row or column, never a traceback, and reconciliation holds.

The corpus is written at collection time from a freshly generated synthetic year
(``tests/bad_inputs/make_corpus.py``) into a temporary folder; each case is judged by
``tests/bad_inputs/judge.py`` through the input's real reader (``cpdeval.ingest.kinds.read_input``, what
``cpdeval validate`` runs). A hypothesis test appends random malformed rows to valid files.
"""

from __future__ import annotations

import atexit
import csv
import io
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bad_inputs.judge import judge
from bad_inputs.make_corpus import FORMULAS, Case, base_file, build_corpus, configured_inputs, kind_dir
from cpdeval.cli import KINDS as CLI_KINDS
from cpdeval.cli import main
from cpdeval.contracts import (DEFAULT_MAX_TEXT_LENGTH, coerce, contract_from_dict, formula_like,
                               ingest_generic_csv, load_contract, spreadsheet_safe, validate)
from cpdeval.errors import CpdevalError
from cpdeval.ingest.bookings import read_bookings
from cpdeval.ingest.kinds import KINDS, academic_year_from_name, kind_names, read_input


@lru_cache(maxsize=None)
def corpus() -> tuple[Path, tuple[Case, ...]]:
    out = Path(tempfile.mkdtemp(prefix="cpdeval-bad-inputs-"))
    atexit.register(shutil.rmtree, out, True)
    return out, tuple(build_corpus(out))


CASES = corpus()[1]


# -- every case ------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_ends_in_quarantine_or_a_clear_stop(case):
    outcome = judge(case)
    assert outcome.ok, outcome.describe()


def test_the_corpus_covers_every_configured_input_and_every_variant_family():
    import json

    out, cases = corpus()
    manifest = json.loads((out / "cases.json").read_text(encoding="utf-8"))
    assert manifest["skipped"] == {}, "configured inputs without corpus cases"
    kinds = {c.kind for c in cases}
    assert kinds == set(configured_inputs()), "every configured raw input has a corpus"
    assert set(KINDS) <= kinds and {k for k in kind_names() if k.startswith("survey:")} <= kinds
    families = ("empty", "header_only", "truncated", "semicolon_delimited", "utf16", "crlf_toggled", "cr_line_ends",
                "blank_lines", "trailing_nuls", "trailing_delimiter", "extra_column", "missing_required_column",
                "duplicate_key", "unterminated_quote", "very_long_text", "nul_byte", *FORMULAS)
    for kind in kinds:
        have = {c.variant for c in cases if c.kind == kind}
        assert set(families) <= have, (kind, set(families) - have)
        assert any(v.startswith("wrong_encoding") for v in have), kind
        assert len([c for c in cases if c.kind == kind and c.expect == "quarantine"]) >= 10, kind
    # mixed date formats wherever the input has a date
    for kind in ("bookings", "register", "links", "trained_leaders", "partnerships", "targeted_schools", "ofsted",
                 "survey:participant_impact"):
        assert {"mixed_date_formats", "impossible_date"} <= {c.variant for c in cases if c.kind == kind}, kind


def test_the_judge_fails_a_reader_that_lets_the_problem_through():
    """A case judged against the unbroken base file must fail: the tests above can fail."""
    _, cases = corpus()
    for variant in ("formula_equals", "duplicate_key", "missing_required_column", "truncated"):
        case = next(c for c in cases if c.kind == "bookings" and c.variant == variant)
        planted_on_base = Case(**{**case.__dict__, "path": str(base_file(case))})
        assert not judge(planted_on_base).ok, variant


# -- cpdeval validate ------------------------------------------------------------------------------

def test_cli_lists_every_kind():
    assert set(KINDS) <= set(CLI_KINDS)


CLI_SAMPLE = [c for c in CASES if c.variant in ("duplicate_key", "formula_equals", "missing_required_column",
                                                "truncated", "wrong_type")]


@pytest.mark.parametrize("case", CLI_SAMPLE, ids=[c.id for c in CLI_SAMPLE])
def test_cpdeval_validate_names_file_row_and_rule(case, capsys):
    args = ["validate", case.path, "--as", case.kind]
    if case.options.get("academic_year"):
        args += ["--academic-year", case.options["academic_year"]]
    code = main(args)
    out, err = capsys.readouterr()
    text = out + err
    assert code == 1 and "Traceback" not in text
    assert Path(case.path).name in text
    if case.expect == "stop":
        assert err.startswith("cpdeval: file ") and not out
        assert "row" in err or "column" in err
    else:
        assert f"{case.data_rows} rows in" in out and "quarantined" in out
        assert f"row {case.row}" in out
        assert any(r in out for r in case.rules), out


def test_cpdeval_validate_targeted_inputs_and_census(capsys):
    out_dir, _ = corpus()
    for kind in ("targeted_schools", "ofsted", "maturity", "self_assessment", "case_outcomes", "monitoring",
                 "targeted_ofsted", "census"):
        base = out_dir / kind_dir(kind.removeprefix("targeted_") if kind == "targeted_ofsted" else kind) / "_base.csv"
        code = main(["validate", str(base), "--as", kind])
        out = capsys.readouterr().out
        assert code == 0 and "no problems found" in out and "_base.csv: 4" in out, (kind, out)


def test_cpdeval_validate_unknown_kind_and_instrument_are_one_message(capsys):
    out_dir, _ = corpus()
    base = out_dir / "targets" / "_base.csv"
    for kind in ("nonsense", "survey:nonsense"):
        assert main(["validate", str(base), "--as", kind]) == 1
        err = capsys.readouterr().err
        assert err.startswith("cpdeval: ") and "Traceback" not in err and "nonsense" in err


def test_performance_year_from_the_dfe_file_name(tmp_path):
    assert academic_year_from_name("2018-2019_england_ks4final.csv") == "2018-19"
    assert academic_year_from_name("ks4_201819.csv") is None
    assert academic_year_from_name("broken.csv") is None
    with pytest.raises(CpdevalError, match="academic year"):
        read_input("ks4", tmp_path / "broken.csv")


# -- the text rules of the contract layer -------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("=cmd|' /C calc'!A0", True), ("+cmd|' /C calc'!A0", True), ("-2+3+cmd|' /C calc'!A0", True),
    ("@SUM(1+1)", True), ("  =1+1", True), ("\uff1d1+1", True), ("+44 20 7946 0000", True),
    ("-0.5", False), ("+12", False), ("1,234.5%", False), ("-", False), ("--", False), ("St Mary's", False),
    ("a=b", False), ("", False),
])
def test_formula_like(text, expected):
    assert pl.DataFrame({"t": [text]}).select(formula_like(pl.col("t"))).item() is expected


def test_formula_prefilter_is_the_stripped_start_for_every_code_point():
    """The text rules' cheap pass (one anchored regex on the raw text) must agree with stripping white space and
    then looking at the first character, for every leading character there is; otherwise a formula behind some
    unusual space would pass unseen."""
    from cpdeval.contracts import FORMULA_PREFIXES, starts_like_formula

    df = pl.DataFrame({"t": [chr(i) + "=x" for i in range(0x110000) if not 0xD800 <= i < 0xE000]
                       + [chr(i) + "\u3000 -x" for i in range(0x2000, 0x2100)]})
    stripped_start = pl.col("t").str.strip_chars().str.slice(0, 1).is_in(list(FORMULA_PREFIXES))
    differ = df.filter(starts_like_formula(pl.col("t")) != stripped_start)
    assert differ.is_empty(), differ["t"].to_list()[:10]


def test_text_rules_find_a_formula_behind_unusual_spaces():
    from cpdeval.contracts import FORMULA_RULE, load_contract, text_rule_failures

    contract = load_contract("targets")
    col = next(c.name for c in contract.columns if c.dtype == "str")
    values = ["plain", "\u00a0=HYPERLINK(1)", "\u3000+cmd", "-12", "x"]
    df = pl.DataFrame({col: values, "source_row": list(range(2, 7))})
    q = text_rule_failures(df, contract)
    assert q.filter(pl.col("rule") == FORMULA_RULE)["source_row"].to_list() == [3, 4]


def test_quarantine_values_are_spreadsheet_safe():
    df = pl.DataFrame({"v": ["=cmd|' /C calc'!A0", "x" * 5000, "a\x00b", "12AB"]})
    safe = df.select(spreadsheet_safe(pl.col("v")).alias("v"))["v"].to_list()
    assert safe[0] == "'=cmd|' /C calc'!A0"
    assert safe[1].startswith("x" * 200) and safe[1].endswith("(5000 characters)") and len(safe[1]) < 230
    assert safe[2] == "a\ufffdb" and safe[3] == "12AB"


def test_max_length_from_the_contract_and_by_default(tmp_path):
    contract = contract_from_dict({"name": "t", "columns": [
        {"name": "code", "source": "code", "dtype": "str", "max_length": 5},
        {"name": "note", "source": "note", "dtype": "str"}]})
    assert contract.column("code").rules_text() == "at most 5 characters"
    p = tmp_path / "t.csv"
    p.write_text(f"code,note\nabcde,ok\nabcdef,ok\nab,{'n' * DEFAULT_MAX_TEXT_LENGTH}\nab,{'n' * 1001}\n",
                 encoding="utf-8")
    result = ingest_generic_csv([str(p)], contract)
    q = result.quarantine
    assert q.select("source_row", "column", "rule").rows() == [
        (3, "code", "text longer than 5 characters"), (5, "note", "text longer than 1000 characters")]
    assert q["detail"].to_list() == ["6 characters", "1001 characters"]
    assert result.accepted.height == 2 and all(r.balanced for r in result.reconciliation)


def test_text_rules_do_not_report_a_cell_twice():
    """A formula in a coded column is reported once, as the unknown code it is."""
    contract = load_contract("bookings")
    df = pl.DataFrame({c: ["x"] for c in contract.column_names}).with_columns(
        pl.lit("=1+1").alias("role"), pl.lit(2).alias("source_row"))
    typed, pre = coerce(df, contract, "f.csv")
    _, q = validate(typed.with_columns(pl.lit("f.csv").alias("source_file")), contract, pre_quarantine=pre)
    rules = q.filter(pl.col("column") == "role")["rule"].to_list()
    assert len(rules) == 1 and rules[0].startswith("unknown code"), rules


# -- random malformed rows (hypothesis) -----------------------------------------------------------------

SPECIAL_CELLS = [
    "", " ", ",", ";", "\t", '"', '""', "'", "\n", "\r\n", "\r", "\\", "\x00", "\ufeff", "\u202e", "é", "😀",
    "=cmd|' /C calc'!A0", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)", "=HYPERLINK(\"http://x\")",
    "9" * 40, "-" + "9" * 25, "1e999", "-1e999", "NaN", "inf", "-0", "0x1F", "1,000,000", "£1,234.50", "12%",
    "31/02/2018", "2018-13-45", "00/00/0000", "1/5/2018", "2018-05-01", "01/05/2018 10:00", "N/A", "NULL", "None",
    "Attended", "Teacher", "Course", "National Centre", "Y", "N", "P01", "units", "national", "2018-19",
    "x" * 1001,
]
CELL = st.one_of(st.sampled_from(SPECIAL_CELLS), st.text(max_size=12),
                 st.integers(min_value=-10**20, max_value=10**20).map(str),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr))


@lru_cache(maxsize=None)
def _valid_rows(base: Path) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(r) for r in list(csv.reader(io.StringIO(base.read_text(encoding="utf-8-sig"),
                                                               newline="")))[1:] if r)


def malformed_rows(base: Path, n_cols: int):
    """Rows of random cells, or valid rows of ``base`` with one to three cells replaced by random ones
    (so that a row can pass every other rule and only the random cell decides)."""
    random_row = st.lists(CELL, min_size=0, max_size=n_cols + 1)

    @st.composite
    def mutated(draw):
        row = list(draw(st.sampled_from(_valid_rows(base))))
        for _ in range(draw(st.integers(1, 3))):
            row[draw(st.integers(0, len(row) - 1))] = draw(CELL)
        return row

    return st.lists(st.one_of(random_row, mutated()), min_size=1, max_size=4)


def _appended(base: Path, rows: list[list[str]], dest: Path) -> int:
    """``base`` with ``rows`` appended as CSV records; the number of data records in the result."""
    data = base.read_bytes()
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    dest.write_bytes(data + buf.getvalue().encode("utf-8"))
    header_and_rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    return len([r for r in header_and_rows[1:] if r]) + len([r for r in rows if r])


def _check(read, base: Path, rows: list[list[str]], n_cols: int):
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp) / "fuzzed.csv"
        n_records = _appended(base, rows, dest)
        try:
            result = read(dest)
        except CpdevalError as exc:   # a clear stop is allowed; it must name the file and a row or column
            assert dest.name in str(exc) and ("row" in str(exc) or "column" in str(exc)), str(exc)
            return
        recs = result.reconciliation
        assert all(r.balanced for r in recs), [r.as_dict() for r in recs]
        assert sum(r.rows_in for r in recs) == n_records
        q = result.quarantine
        assert q.filter(pl.col("rule").is_null() | (pl.col("rule").str.strip_chars() == "")).height == 0
        for c, dtype in result.accepted.schema.items():
            if dtype == pl.Utf8 and c != "source_file":
                assert not result.accepted.select(formula_like(pl.col(c)).fill_null(False).any()).item(), c
        # every appended record with more fields than the header would have stopped the read
        assert all(len(r) <= n_cols for r in rows)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_malformed_booking_rows(data):
    base = corpus()[0] / "bookings" / "_base.csv"
    n_cols = 23
    rows = data.draw(malformed_rows(base, n_cols))
    _check(lambda p: read_bookings([str(p)], b"fuzz-key"), base, rows, n_cols)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_malformed_reference_rows(data):
    base = corpus()[0] / "partnerships" / "_base.csv"
    n_cols = 6
    rows = data.draw(malformed_rows(base, n_cols))
    _check(lambda p: ingest_generic_csv([str(p)], load_contract("partnerships")), base, rows, n_cols)


def test_cheap_text_conditions_agree_with_the_rules():
    # text_rule_failures asks a cheap condition first on the whole table; it must hold wherever the rule does
    from cpdeval.contracts import _CONTROL_CHARS, _CONTROL_RE, CONTROL_RULE, text_rule_failures

    df = pl.DataFrame({"t": [f"a{chr(i)}b" for i in range(0x110000) if not 0xD800 <= i < 0xE000]})
    listed = df.select(pl.col("t").str.contains_any(_CONTROL_CHARS))["t"]
    matched = df.select(pl.col("t").str.contains(_CONTROL_RE))["t"]
    assert listed.equals(matched) and matched.sum() == 30
    # length: 600 two-byte characters are 1,200 bytes but within 1,000 characters; 1,001 of them are not
    contract = contract_from_dict({"name": "t", "columns": [{"name": "note", "source": "note", "dtype": "str"}]})
    notes = pl.DataFrame({"note": ["é" * 600, "é" * 1001, "ok\x01", "€" * 400], "source_row": [2, 3, 4, 5]})
    q = text_rule_failures(notes, contract)
    assert q.select("source_row", "rule", "detail").rows() == [
        (3, "text longer than 1000 characters", "1001 characters"), (4, CONTROL_RULE, None)]
