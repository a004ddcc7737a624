"""The audit tables of the "Methods and data" chapter and the analysts' quality report
(cpdeval.audit_publish): shaping (sums, shares, labels, order, placeholder rows) and headers, on small
hand-made tables with known answers. These tables count records processed and are shown in full."""

from __future__ import annotations

import polars as pl
import pytest

from conftest import published_rows

from cpdeval import audit_publish as AP

T = 5
TITLES = {"bookings": "CPD booking export", "schools": "School register (GIAS)"}

title = TITLES.__getitem__      # a table's name in words, as cpdeval.chapter.table_title gives it


pytestmark = pytest.mark.usefixtures("no_links")
rows = published_rows


# -- reconciliation -------------------------------------------------------------------------------------------

REC = pl.DataFrame({
    "table": ["schools", "bookings", "bookings"],
    "source_file": ["register.csv", "b1.csv", "b2.csv"],
    "rows_in": [1200, 3000, 2500],
    "rows_accepted": [1190, 2998, 2500],
    "rows_quarantined": [0, 2, 0],
    "rows_set_aside": [10, 0, 0],
    "rows_repaired": [0, 3, 0],
    "repair_note": ["", "3 dates repaired", ""],
    "balanced": [True, True, False],
})


def test_reconciliation_by_table_sums_files_in_first_seen_order():
    b = AP.reconciliation_by_table(REC, title)
    assert b.columns == ["table", "files", "rows_in", "rows_accepted", "rows_quarantined", "rows_set_aside",
                         "balanced", "ok"]
    assert b.rows() == [("School register (GIAS)", 1, 1200, 1190, 0, 10, True, "yes"),
                        ("CPD booking export", 2, 5500, 5498, 2, 0, False, "NO")]


def test_reconciliation_by_table_default_titles():
    # the default names a table as the chapters do (cpdeval.chapter.table_title)
    assert AP.reconciliation_by_table(REC)["table"].to_list()[0] == "School register (GIAS)"


def test_reconciliation_published_in_full():
    t = AP.publish_reconciliation(REC, threshold=T, title=title)
    assert t.headers == ["Table", "Files", "Rows in", "Accepted", "Quarantined", "Set aside", "Reconciles"]
    # counts of records processed: 1 file and 2 quarantined rows are not suppressed
    assert rows(t) == [("School register (GIAS)", "1", "1,200", "1,190", "0", "10", "yes"),
                       ("CPD booking export", "2", "5,500", "5,498", "2", "0", "NO")]


def test_reconciliation_files():
    t = AP.publish_reconciliation_files(REC, threshold=T)
    assert t.headers == ["Table", "File", "Rows in", "Accepted", "Quarantined", "Set aside", "Repaired"]
    assert rows(t)[1] == ("bookings", "b1.csv", "3,000", "2,998", "2", "0", "3")


# -- quarantine -----------------------------------------------------------------------------------------------

QSUM = pl.DataFrame({
    "table": ["bookings", "schools"],
    "column": ["urn", "postcode"],
    "rule": ["duplicate key", "not a postcode"],
    "rows": pl.Series([3, 1], dtype=pl.UInt32),
    "example": ["b1.csv line 4", "register.csv line 9"],
})


def test_quarantine_rows_titles_or_placeholder():
    assert AP.quarantine_rows(QSUM, title)["table"].to_list() == ["CPD booking export", "School register (GIAS)"]
    empty = AP.quarantine_rows(QSUM.clear(), title)
    assert empty.rows() == [("No problems found", "", 0)]


def test_quarantine_published():
    t = AP.publish_quarantine(QSUM, threshold=T, title=title)
    assert t.headers == ["Input", "Rule broken", "Rows"]
    assert rows(t) == [("CPD booking export", "duplicate key", "3"), ("School register (GIAS)", "not a postcode", "1")]
    assert rows(AP.publish_quarantine(QSUM.clear(), threshold=T, title=title)) == [("No problems found", "", "0")]


def test_quarantine_detail_as_is_or_none():
    t = AP.publish_quarantine_detail(QSUM, threshold=T)
    assert t.headers == ["Table", "Column", "Rule broken", "Rows", "First example"]
    assert rows(t)[0] == ("bookings", "urn", "duplicate key", "3", "b1.csv line 4")
    assert AP.quarantine_detail_rows(QSUM.clear()).rows() == [("(none)", "", "", 0, "")]
    assert rows(AP.publish_quarantine_detail(QSUM.clear(), threshold=T)) == [("(none)", "", "", "0", "")]


# -- matching -------------------------------------------------------------------------------------------------

RATES = pl.DataFrame({
    "provider": ["regional", "regional", "national", "national", "national", "other"],
    "financial_year": ["2017-18", "2017-18", "2017-18", "2017-18", "2016-17", "2017-18"],
    "match_method": ["urn", "unmatched", "urn", "name_postcode", "ambiguous", "postcode_only"],
    "n": [60, 20, 100, 15, 5, 0],
})


def test_match_methods_most_first_and_empty_methods_dropped():
    m = AP.match_methods(RATES)
    assert m.rows() == [("urn", 160), ("unmatched", 20), ("name_postcode", 15), ("ambiguous", 5)]
    assert AP.matched_bookings(m) == (200, 175)


def test_match_methods_published():
    r = AP.match_method_rows(RATES)
    assert r["share"].to_list() == [80.0, 10.0, 7.5, 2.5]
    assert r["all_bookings"].to_list() == [200] * 4
    t = AP.publish_match_methods(RATES, threshold=T)
    assert t.headers == ["Match method", "Bookings", "Share"]
    assert rows(t) == [("URN given in the booking", "160", "80.0%"), ("Not matched", "20", "10.0%"),
                       ("School name and postcode", "15", "7.5%"), ("Ambiguous (not linked)", "5", "2.5%")]


def test_match_rates_by_provider():
    r = AP.match_rates_by_provider(RATES)
    # sorted by the provider's name, then year; ambiguous and unmatched bookings are not matched
    assert r.select("provider", "financial_year", "bookings", "matched").rows() == [
        ("National centre", "2016-17", 5, 0), ("National centre", "2017-18", 115, 115),
        ("Other providers", "2017-18", 0, 0), ("Regional partnerships", "2017-18", 80, 60)]
    assert r["rate"].to_list()[3] == 75.0
    t = AP.publish_match_rates(RATES, threshold=T)
    assert t.headers == ["Provider", "Financial year", "Bookings", "Matched"]
    assert rows(t)[0] == ("National centre", "2016-17", "5", "0.0%")
    assert rows(t)[3] == ("Regional partnerships", "2017-18", "80", "75.0%")


# -- lineage --------------------------------------------------------------------------------------------------

ISSUES = pl.DataFrame({
    "urn": [100, 200, 300, 400, 500],
    "link_urn": [900, 100, 301, 401, 501],
    "issue": ["split", "missing_twin", "missing_twin", "cycle", "new_kind"],
    "detail": [""] * 5,
})

LINEAGE = pl.DataFrame({
    "urn": [100, 101, 200, 300, 301],
    "school_key": [101, 101, 200, 301, 301],
    "linked": [True, True, False, True, True],
})


def test_year_lineage_issues_either_urn():
    y = AP.year_lineage_issues(ISSUES, pl.Series([100, 401]).implode())
    assert y["urn"].to_list() == [100, 200, 400]
    assert AP.year_lineage_issues(ISSUES, [300])["urn"].to_list() == [300]


def test_joined_schools_year_or_national():
    assert AP.joined_schools(LINEAGE, pl.Series([100, 200]).implode()) == 1
    assert AP.joined_schools(LINEAGE) == 2


def test_lineage_issue_counts_labelled_most_first():
    c = AP.lineage_issue_counts(ISSUES)
    assert c.rows() == [("Recorded by one school only", 2), ("Links that go round in a circle", 1),
                        ("new_kind", 1), ("One school with several successors", 1)]
    assert AP.lineage_issue_counts(ISSUES.clear()).rows() == [("No problem found", 0)]
    t = AP.publish_lineage_issues(ISSUES, threshold=T)
    assert t.headers == ["Problem", "Link records"]
    assert rows(t)[0] == ("Recorded by one school only", "2")


# -- published checks -----------------------------------------------------------------------------------------

CHECKS = pl.DataFrame({
    "source": ["Report A", "Report A", "Report B", "Report B"],
    "statement": ["93% agreed", "95% of 45", "Total of 120", "Table 2 and Table 3 disagree"],
    "check": ["percentage", "percentage", "total", "note"],
    "consistent": [True, False, False, None],
    "finding": ["88 of 95 gives 93%", "no count of 45 gives 95%", "parts add to 118", None],
    "note": [None, "Probably 43 of 45", None, None],
})


def test_figure_checks_leave_out_notes():
    figs, bad = AP.figure_checks(CHECKS)
    assert figs.height == 3
    assert bad["statement"].to_list() == ["95% of 45", "Total of 120"]


def test_discrepancy_rows_checks_then_notes():
    d = AP.discrepancy_rows(CHECKS)
    assert d.columns == ["source", "statement", "detail", "note"]
    assert d.rows() == [("Report A", "95% of 45", "no count of 45 gives 95%", "Probably 43 of 45"),
                        ("Report B", "Total of 120", "parts add to 118", ""),
                        ("Report B", "", "Table 2 and Table 3 disagree", "")]
    t = AP.publish_discrepancies(CHECKS, threshold=T)
    assert t.headers == ["Source", "Published figure", "Check", "Likely explanation"]
    assert rows(t) == d.rows()


def test_dictionary_published():
    dic = pl.DataFrame({"table": ["bookings"], "table_title": ["CPD booking export"], "column": ["urn"],
                        "dtype": ["int"], "rules": [">= 100000"], "description": ["School URN"], "key": [False]})
    t = AP.publish_dictionary(dic, threshold=T)
    assert t.headers == ["Table", "Column", "Type", "Rules", "Meaning"]
    assert rows(t) == [("bookings", "urn", "int", ">= 100000", "School URN")]
