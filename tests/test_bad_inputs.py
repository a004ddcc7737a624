"""Broken copies of each input: each ends in a quarantine row with its rule or a clear stop naming the
file (and row or column), never a bare traceback, and reconciliation still holds."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import polars as pl
import pytest

from cpdeval.contracts import ingest_generic_csv, load_contract
from cpdeval.errors import InputError
from cpdeval.ingest.attainment import ingest_attainment
from cpdeval.ingest.bookings import read_bookings
from cpdeval.ingest.register_validate import ingest_links, ingest_schools
from cpdeval.ingest.surveys import read_survey
from cpdeval.synthetic import generate

from conftest import copy_project, run_snakemake

KEY = b"test-key"


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    out = tmp_path_factory.mktemp("raw")
    generate(out, size="small", seed=7)
    return out


def rewrite(src, dest, edit, encoding="utf-8"):
    """Copy a CSV applying ``edit(header, rows) -> (header, rows)``; returns the number of data rows."""
    text = src.read_bytes().decode(encoding).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = edit(rows[0], rows[1:])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *body])
    dest.write_bytes(buf.getvalue().encode(encoding))
    return len(body)


def set_cell(column, row_index, value):
    def edit(header, rows):
        rows[row_index][header.index(column)] = value
        return header, rows
    return edit


def balanced(result):
    return all(r.balanced for r in result.reconciliation)


def quarantined(result, column_part, rule_part):
    q = result.quarantine
    return q.filter(pl.col("column").str.contains(column_part, literal=True)
                    & pl.col("rule").str.contains(rule_part, literal=True)).height


# -- bookings -----------------------------------------------------------------------------------

@pytest.mark.parametrize("column,value,rule", [
    ("Job Role", "Headteacher", "unknown code"),
    ("Start Date", "31/13/2018", "type"),
    ("Start Date", "01/01/1890", "minimum"),
    ("CPD Units", "-2", "minimum 0"),
    ("Booking Status", "Maybe", "unknown code"),
    ("Organisation URN", "12AB", "type"),
])
def test_bookings_bad_values(raw, tmp_path, column, value, rule):
    src = sorted((raw / "bookings").glob("*.csv"))[0]
    dest = tmp_path / src.name
    n = rewrite(src, dest, set_cell(column, 3, value))
    result = read_bookings([str(dest)], KEY)
    assert quarantined(result, "", rule) >= 1
    assert result.accepted.height + result.reconciliation[0].rows_quarantined == n and balanced(result)


def test_bookings_duplicate_ids(raw, tmp_path):
    src = sorted((raw / "bookings").glob("*.csv"))[0]
    dest = tmp_path / src.name
    rewrite(src, dest, lambda h, r: (h, r + [r[0], r[1]]))
    result = read_bookings([str(dest)], KEY)
    assert quarantined(result, "booking_id", "duplicate key") == 2 and balanced(result)


def test_bookings_missing_column_and_wrong_encoding_stop_clearly(raw, tmp_path):
    src = sorted((raw / "bookings").glob("*.csv"))[0]
    dest = tmp_path / "missing.csv"
    rewrite(src, dest, lambda h, r: ([c for c in h if c != "CPD Units"],
                                     [[v for c, v in zip(h, row) if c != "CPD Units"] for row in r]))
    with pytest.raises(InputError, match="CPD Units") as err:
        read_bookings([str(dest)], KEY)
    assert "missing.csv" in str(err.value)
    latin = tmp_path / "latin.csv"
    rewrite(src, latin, set_cell("Organisation Name", 5, "École Sainte-Thérèse"), encoding="cp1252")
    with pytest.raises(InputError, match="utf-8") as err:
        read_bookings([str(latin)], KEY)
    assert err.value.row == 7  # header is row 1, so data row index 5 is line 7


def test_several_exports_keep_their_order_and_the_first_broken_file_is_named(raw, tmp_path):
    # the exports are read two at a time: rows must still come in the files' order, and when two files are
    # broken the error must name the first of them (as reading one at a time would), whichever finishes first
    srcs = sorted((raw / "bookings").glob("*.csv"))[:3]
    result = read_bookings([str(p) for p in srcs], KEY)
    assert result.accepted["source_file"].unique(maintain_order=True).to_list() == [str(p) for p in srcs]
    assert [r.source_file for r in result.reconciliation] == [str(p) for p in srcs]
    drop = lambda h, r: ([c for c in h if c != "CPD Units"],   # noqa: E731
                         [[v for c, v in zip(h, row) if c != "CPD Units"] for row in r])
    broken = []
    for i, src in enumerate(srcs):
        dest = tmp_path / f"{i}-{src.name}"
        rewrite(src, dest, drop if i else lambda h, r: (h, r))
        broken.append(str(dest))
    for order in (broken, [broken[0], broken[2], broken[1]]):
        with pytest.raises(InputError, match="CPD Units") as err:
            read_bookings(order, KEY)
        assert order[1] in str(err.value) and all(p not in str(err.value) for p in order[2:])


# -- surveys and reference data ----------------------------------------------------------------------

def test_survey_bad_label_duplicate_and_missing_item(raw, tmp_path):
    src = raw / "surveys" / "participant_impact.csv"
    dest = tmp_path / "participant_impact.csv"
    rewrite(src, dest, lambda h, r: (h, [r[0][:h.index("Q1")] + ["Brilliant"] + r[0][h.index("Q1") + 1:]]
                                     + r[1:] + [r[2]]))
    result, long = read_survey(str(dest), "participant_impact")
    assert quarantined(result, "overall_impact", "allowed values") == 1
    assert quarantined(result, "respondent_id", "duplicate key") == 1 and balanced(result)
    assert long["respondent_id"].n_unique() == result.accepted.height
    gone = tmp_path / "no_q2.csv"
    rewrite(src, gone, lambda h, r: ([c for c in h if c != "Q2_1"], [[v for c, v in zip(h, row) if c != "Q2_1"]
                                                                      for row in r]))
    with pytest.raises(InputError, match="Q2_1"):
        read_survey(str(gone), "participant_impact")


def test_targets_negative_and_unknown_metric(raw, tmp_path):
    src = raw / "reference" / "targets.csv"
    dest = tmp_path / "targets.csv"
    rewrite(src, dest, lambda h, r: (h, [r[0][:h.index("target")] + ["-10"] + r[0][h.index("target") + 1:],
                                         r[1][:h.index("metric")] + ["hugs"] + r[1][h.index("metric") + 1:]]
                                     + r[2:]))
    result = ingest_generic_csv([str(dest)], load_contract("targets"))
    assert quarantined(result, "target", "minimum 0") == 1
    assert quarantined(result, "metric", "allowed values") == 1 and balanced(result)


# -- register, links, performance tables ------------------------------------------------------------

def test_register_duplicate_urn_and_missing_column(raw, tmp_path):
    src = raw / "register" / "edubasealldata.csv"
    dest = tmp_path / "gias.csv"
    rewrite(src, dest, lambda h, r: (h, r + [r[10]]), encoding="cp1252")
    result = ingest_schools(str(dest), None, encoding="cp1252")
    assert quarantined(result, "urn", "duplicate key") == 1 and balanced(result)
    broken = tmp_path / "gias_no_phase.csv"
    col = "PhaseOfEducation (name)"
    rewrite(src, broken, lambda h, r: ([c for c in h if c != col], [[v for c, v in zip(h, row) if c != col]
                                                                     for row in r]), encoding="cp1252")
    with pytest.raises(InputError, match="PhaseOfEducation"):
        ingest_schools(str(broken), None, encoding="cp1252")


def test_links_bad_urn(raw, tmp_path):
    src = raw / "register" / "links_edubasealldata.csv"
    dest = tmp_path / "links.csv"
    rewrite(src, dest, set_cell("LinkURN", 0, "unknown"), encoding="cp1252")
    result = ingest_links(str(dest), encoding="cp1252")
    assert quarantined(result, "link_urn", "required value missing") == 1 and balanced(result)


def test_performance_duplicate_school_row_and_renamed_measure(raw, tmp_path):
    src = raw / "performance" / "2018-2019_england_ks4final.csv"
    dest = tmp_path / "2018-2019_england_ks4final.csv"
    rewrite(src, dest, lambda h, r: (h, r + [r[0]]))
    result = ingest_attainment({"2018-19": str(dest)}, "ks4")
    assert quarantined(result, "URN", "duplicate URN") == 1 and balanced(result)
    renamed = tmp_path / "renamed.csv"
    rewrite(src, renamed, lambda h, r: ([("ATT8SCR_NEW" if c == "ATT8SCR" else c) for c in h], r))
    with pytest.raises(InputError, match="att8"):
        ingest_attainment({"2018-19": str(renamed)}, "ks4")


# -- the workflow: a clear stop, not a traceback ---------------------------------------------------------

@pytest.mark.e2e
def test_workflow_stops_with_a_readable_message(raw, tmp_path):
    proj = copy_project(tmp_path / "proj")
    synth = proj / "data" / "raw" / "synthetic"
    result = subprocess.run([sys.executable, "-m", "cpdeval.synthetic", "--size", "small", str(synth)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    victim = sorted((synth / "bookings").glob("*.csv"))[1]
    rewrite(victim, victim, lambda h, r: ([c for c in h if c != "Booking Status"],
                                          [[v for c, v in zip(h, row) if c != "Booking Status"] for row in r]))
    result = run_snakemake(proj, "data/derived/synthetic/ingest/bookings.parquet")
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert "Booking Status" in text and victim.name in text
    assert "Traceback (most recent call last)" not in text


@pytest.mark.e2e
def test_an_export_without_the_priority_flag_publishes_priority_reach_as_not_available(raw, tmp_path):
    """The Priority School column is optional; without it (and without a list of priority schools) the delivery
    chapter and the report say the priority target could not be assessed, never 0 priority schools or a target
    not met."""
    import re

    proj = copy_project(tmp_path / "proj")
    synth = proj / "data" / "raw" / "synthetic"
    result = subprocess.run([sys.executable, "-m", "cpdeval.synthetic", "--size", "small", str(synth)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for victim in sorted((synth / "bookings").glob("*.csv")):
        rewrite(victim, victim, lambda h, r: ([c for c in h if c != "Priority School"],
                                              [[v for c, v in zip(h, row) if c != "Priority School"] for row in r]))
    cfg = proj / "config" / "config.yaml"                    # and no list of priority schools either
    text = cfg.read_text(encoding="utf-8")
    line = "  priority_schools: data/raw/synthetic/reference/priority_schools.csv\n"
    assert line in text
    cfg.write_text(text.replace(line, ""), encoding="utf-8")
    result = run_snakemake(proj, "reports/synthetic/delivery.html", "reports/synthetic/report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    chapter = (proj / "reports" / "synthetic" / "delivery.html").read_text(encoding="utf-8")
    row = re.search(r"<tr[^>]*>\s*<td[^>]*>Priority schools</td>(.*?)</tr>", chapter, re.S)
    assert row and [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>.*?</td>", row.group(1), re.S)
                    ][0] == "x" and "not available" in row.group(1)
    report = (proj / "reports" / "synthetic" / "report.html").read_text(encoding="utf-8")
    assert "priority schools target could not be assessed" in report
