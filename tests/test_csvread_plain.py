"""The CSV reader's fast path (plain UTF-8 files go to polars as bytes, only their first lines decoded in Python)
gives exactly what decoding the whole file gives: the same frame, or the same stop with the same message.

Checked on every file of the bad-input corpus in four encodings, on the real DfE, census and GIAS files, and
on generated files mixing what the two paths treat differently (byte order marks, CR-only and CRLF line ends,
``sep=`` lines, blank lines before the header, quoted line breaks, invalid bytes, truncated last rows).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REAL_DATA, requires_real_data
from cpdeval.errors import CpdevalError
from cpdeval.ingest import csvread
from test_bad_input_corpus import corpus


def _outcome(path, **kw):
    try:
        return "frame", csvread.read_text_csv(path, **kw).to_dicts()
    except CpdevalError as exc:
        return "stop", str(exc)


def both_ways(path, **kw):
    """(fast path outcome, decoded outcome) for one file."""
    fast = _outcome(path, **kw)
    plain = csvread._plain_utf8
    csvread._plain_utf8 = lambda *a: None
    try:
        slow = _outcome(path, **kw)
    finally:
        csvread._plain_utf8 = plain
    return fast, slow


def corpus_csvs() -> list[Path]:
    out, _ = corpus()
    return sorted(p for p in out.rglob("*") if p.is_file() and p.suffix.lower() in (".csv", ".txt", ""))


def test_the_fast_path_is_taken_for_a_plain_utf8_file(tmp_path, monkeypatch):
    """(so that the equivalence checks below compare two different readers)"""
    f = tmp_path / "a.csv"
    f.write_bytes("\ufeffURN,Name\n1,É\n".encode())
    seen = []
    plain = csvread._plain_utf8
    monkeypatch.setattr(csvread, "_plain_utf8", lambda *a: seen.append(plain(*a)) or seen[-1])
    assert csvread.read_text_csv(f).to_dicts() == [{"URN": "1", "Name": "É", "source_row": 2}]
    assert seen and seen[0] is not None
    for data in (b"URN,Name\r1,x\r", b"sep=,\nURN,Name\n1,x\n", b"\nURN,Name\n1,x\n", b"URN,Name\n1,\xe9\n"):
        f.write_bytes(data)
        csvread.read_text_csv(f, encoding="auto")
        assert seen[-1] is None, data


@pytest.mark.parametrize("encoding", ["utf-8", "auto", "cp1252", "latin-1"])
def test_every_corpus_file_reads_the_same_both_ways(encoding):
    files = corpus_csvs()
    assert len(files) > 300
    differ = []
    for f in files:
        fast, slow = both_ways(f, encoding=encoding)
        if fast != slow:
            differ.append(f"{f.name}: {str(fast)[:200]} | {str(slow)[:200]}")
    assert not differ, "\n".join(differ[:5])


@requires_real_data()
def test_the_real_files_read_the_same_both_ways():
    files = sorted(p for p in REAL_DATA.rglob("*.csv"))
    assert files
    for f in files:
        for encoding in ("utf-8", "auto"):
            fast, slow = both_ways(f, encoding=encoding)
            assert fast == slow, f


PIECES = st.sampled_from(["URN", "Name", ",", ",", ",", "\n", "\n", "\r\n", "\r", '"', '""', " ", "1", "é",
                          "\u00a0", "sep=,", "sep=;", ";", "\ufeff", "x,y", "\n\n"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.lists(PIECES, min_size=1, max_size=40),
       lead=st.sampled_from(["", "\ufeff", "\n", "\r\n", "sep=,\n", "sep=;\n"]),
       tail=st.sampled_from([b"", b"\xff", b"\xc3", b"\x00"]), encoding=st.sampled_from(["utf-8", "auto"]))
def test_generated_files_read_the_same_both_ways(tmp_path, body, lead, tail, encoding):
    f = tmp_path / "g.csv"
    f.write_bytes((lead + "URN,Name,Phase\n1,a,b\n" + "".join(body)).encode() + tail)
    fast, slow = both_ways(f, encoding=encoding, columns=["URN", "Name"])
    assert fast == slow


def test_a_last_line_holding_a_lone_carriage_return_is_read_not_a_traceback(tmp_path):
    """(found by the generated files above: the truncation check split the last line with the csv module,
    which refused a line end inside it)"""
    f = tmp_path / "cr.csv"
    f.write_bytes(b"URN,Name,Phase\n1,a,b\n\r2,c\xff")
    with pytest.raises(CpdevalError, match="ends in the middle of a record"):
        csvread.read_text_csv(f, encoding="auto")
    f.write_bytes(b"URN,Name,Phase\n1,a,b\n\r2,c,\xff")
    assert csvread.read_text_csv(f, encoding="auto").height == 2


def test_a_head_cut_inside_the_first_records_reads_the_whole_file(tmp_path, monkeypatch):
    """The header checks read the first 22 records; when they do not all end in the decoded head (a quoted field
    of a megabyte near the top), the file is decoded whole, so the checks see what the decoding reader sees."""
    monkeypatch.setattr(csvread, "HEAD_BYTES", 200)
    f = tmp_path / "long.csv"
    f.write_bytes(("Report of schools\n" + 'URN,Name,Phase\n1,"' + "a\n" * 200 + '",b\n'
                   + "".join(f"{i},n,p\n" for i in range(2, 40))).encode())
    assert csvread._plain_utf8(f, "utf-8", ",") is None
    fast, slow = both_ways(f, encoding="utf-8")
    assert fast == slow and fast[0] == "stop" and "title" in fast[1]
    f.write_bytes(("URN,Name,Phase\n" + "".join(f"{i},n,p\n" for i in range(1, 60))).encode())
    assert csvread._plain_utf8(f, "utf-8", ",") is not None      # 22 whole records in the head: read as bytes
    assert both_ways(f, encoding="utf-8")[0] == both_ways(f, encoding="utf-8")[1]
