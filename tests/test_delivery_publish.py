"""The tables of the "Delivery and reach" chapter (cpdeval.analysis.delivery_publish): shaping (pivots, rows,
labels, column order), headers and notes, and disclosure control, on small hand-made tables with known
answers."""

from __future__ import annotations

import polars as pl
import pytest

from conftest import published_rows

from cpdeval.analysis import delivery_publish as DP

T = 5


pytestmark = pytest.mark.usefixtures("no_links")
rows = published_rows


# -- sentences ------------------------------------------------------------------------------------------------

def test_share_text_needs_base_and_part_at_threshold():
    assert DP.share_text(20, 40, threshold=T) == "half (50%)"
    assert DP.share_text(4, 40, threshold=T) == "too few to quote a share"
    assert DP.share_text(4, 4, threshold=T) == "too few to quote a share"
    assert DP.share_text(5, 5, threshold=T) == "all (100%)"


def test_change_text():
    assert DP.change_text(None) == "no comparison with the previous year is possible"
    assert DP.change_text({"fair_change_pct": None}) == "no comparison with the previous year is possible"
    assert DP.change_text({"fair_change_pct": 12.4, "previous_year": "2016-17", "fair_basis": "full year"}) \
        == "up 12% on 2016-17 (full year)"
    assert DP.change_text({"fair_change_pct": -3.5, "previous_year": "2016-17", "fair_basis": "same terms"}) \
        == "down 4% on 2016-17 (same terms)"


def test_terms_words():
    assert DP.terms_words("autumn") == "autumn term"
    assert DP.terms_words("autumn, spring") == "autumn and spring terms"
    assert DP.terms_words("summer, autumn, spring") == "summer, autumn and spring terms"


def _yoy():
    return pl.DataFrame({
        "financial_year": ["2016-17", "2016-17", "2017-18", "2017-18", "2017-18"],
        "previous_year": ["2015-16", "2015-16", "2016-17", "2016-17", "2016-17"],
        "scope": ["national", "all", "other", "regional", "all"],
        "units_previous": [100.0, 300.0, 10.0, 200.0, 400.0],
        "units": [150.0, 400.0, 12.0, 260.0, 520.0],
        "terms_previous": ["autumn, spring"] * 2 + ["summer, autumn, spring"] * 3,
        "terms": ["summer, autumn, spring"] * 5,
        "equal_windows": [False, False, True, True, True],
        "change_full_pct": [50.0, 33.333, 20.0, 30.0, 30.0],
        "common_terms": ["autumn, spring"] * 2 + ["summer, autumn, spring"] * 3,
        "change_same_terms_pct": [10.0, None, 20.0, 30.0, 30.0],
        "fair_change_pct": [10.0, None, 20.0, 30.0, 30.0],
        "fair_basis": ["same terms", "same terms", "full year", "full year", "full year"],
    })


def test_unequal_comparisons_need_both_changes():
    u = DP.unequal_comparisons(_yoy())
    # the all-providers 2016-17 row has no same-terms change; the 2017-18 rows have equal windows
    assert u.select("financial_year", "scope").rows() == [("2016-17", "national")]


def test_reached_text_follows_the_table():
    shown = {"Technicians": "c", "Schools": "120", "Post-16": "c"}
    assert DP.reached_text({"label": "Schools", "reached": 120}, shown, threshold=T) == "120"
    assert DP.reached_text({"label": "Technicians", "reached": 3}, shown, threshold=T) == "fewer than 5"
    # suppressed only to protect another cell: the text does not give it away either
    assert DP.reached_text({"label": "Post-16", "reached": 9}, shown, threshold=T) == "a number not shown"
    assert DP.reached_text({"label": "Missing", "reached": 0}, shown, threshold=T) == "a number not shown"


# -- delivery volume ------------------------------------------------------------------------------------------

UBY = pl.DataFrame({
    "financial_year": ["2017-18", "2016-17"],
    "units": [60.0, 33.5],
    "units_national": [30.0, 20.0],
    "units_regional": [27.0, 11.5],
    "units_other": [3.0, 2.0],
})

UBT = pl.DataFrame({
    "financial_year": ["2016-17", "2016-17", "2016-17", "2017-18", "2017-18", "2017-18", "2017-18"],
    "term_index": [3, 2, 2, 1, 2, 3, 3],
    "term": ["spring", "autumn", "autumn", "summer", "autumn", "spring", "spring"],
    "provider": ["national", "national", "regional", "national", "national", "national", "other"],
    "units": [13.5, 10.0, 10.0, 20.0, 25.0, 12.0, 3.0],
})


def test_units_wide_terms_in_financial_year_order():
    wide, terms = DP.units_wide(UBY, UBT)
    assert terms == ["summer", "autumn", "spring"]          # not alphabetical
    assert wide["financial_year"].to_list() == ["2016-17", "2017-18"]
    assert wide["autumn"].to_list() == [20.0, 25.0]        # summed over providers
    assert wide["spring"].to_list() == [13.5, 15.0]
    assert wide["summer"].to_list() == [None, 20.0]        # no summer delivery in 2016-17


def test_units_by_year_published_in_full():
    t = DP.publish_units_by_year(UBY, UBT, threshold=T)
    assert t.headers == ["Financial year", "National centre", "Regional partnerships", "Other providers",
                         "Summer term", "Autumn term", "Spring term", "All units"]
    # units are a volume: 2 and 3 units are not suppressed; halves round away from zero
    assert rows(t)[1] == ("2017-18", "30", "27", "3", "20", "25", "15", "60")
    assert rows(t)[0][0:4] == ("2016-17", "20", "12", "2")
    assert t.notes[0].startswith("Units are a volume of CPD, not a count of people")


def test_units_note_says_when_rounded_parts_miss_the_total():
    assert "may not add up" not in t_note(UBY)                            # 20 + 12 + 2 = 34, as 33.5 shows
    fractional = UBY.with_columns(units_national=pl.Series([30.0, 20.4]), units_regional=pl.Series([27.0, 11.4]),
                                  units_other=pl.Series([3.0, 1.7]))   # 20 + 11 + 2 = 33, against 34
    assert t_note(fractional).endswith("A unit can be a fraction and each figure is rounded to whole units on its "
                                       "own, so the providers may not add up to the total exactly.")


def t_note(uby):
    return DP.publish_units_by_year(uby, UBT, threshold=T).notes[0]


def test_yoy_rows_latest_year_first_all_providers_first():
    y = DP.yoy_rows(_yoy())
    assert y.select("financial_year", "who").rows() == [
        ("2017-18", "All providers"), ("2017-18", "Regional partnerships"), ("2017-18", "Other providers"),
        ("2016-17", "All providers"), ("2016-17", "National centre")]
    assert y["equal"].to_list() == ["yes", "yes", "yes", "no", "no"]
    assert y["fair_status"].to_list() == ["ok", "ok", "ok", "x", "ok"]


def test_yoy_published():
    t = DP.publish_yoy(_yoy(), threshold=T)
    assert t.headers == ["Year", "Compared with", "Provider", "Units before", "Units", "Full-year change",
                         "Same terms in both years", "Same-terms change", "Fair change", "Fair change compares"]
    assert rows(t)[0] == ("2017-18", "2016-17", "All providers", "400", "520", "30%", "yes", "30%", "30%",
                          "full year")
    fair_all_2016 = rows(t)[3]
    assert fair_all_2016[2] == "All providers" and fair_all_2016[8] == "x"
    assert t.notes[0].startswith("Full-year change compares the two years' totals.")


# -- participants and schools (linked) ------------------------------------------------------------------------

PARTS = pl.DataFrame({
    "financial_year": ["2016-17"] * 4 + ["2017-18"] * 4,
    "role_group": ["teachers", "technicians", "other_staff", "all"] * 2,
    "participants": [40, 3, 7, 50, 60, 12, 8, 80],
    "label": ["Teachers and subject leaders", "Technicians", "Other staff", "All participants"] * 2,
})


def test_role_wide_years_as_columns_with_link_keys():
    w = DP.role_wide(PARTS)
    assert w.columns == ["role_group", "label", "2016-17", "2017-18", "link_row"]
    assert w["link_row"].to_list() == ["participants:teachers", "participants:technicians",
                                       "participants:other_staff", "participants:all"]
    assert w["2016-17"].to_list() == [40, 3, 7, 50]


def test_participants_suppressed_with_the_total():
    t = DP.publish_participants(PARTS, ["2016-17", "2017-18"], threshold=T)
    assert t.headers == ["Role", "2016-17", "2017-18"]
    # 3 technicians is suppressed, and one more role of 2016-17 so that it cannot be worked out from the total
    col = t.data["2016-17"].to_list()
    assert col[1] == "c" and col.count("c") == 2 and col[3] == "50"
    assert t.data["2017-18"].to_list() == ["60", "12", "8", "80"]


PHASES = pl.DataFrame({
    "financial_year": ["2017-18"] * 3,
    "phase": ["primary", "secondary", "all"],
    "schools": [30, 20, 50],
    "label": ["Primary", "Secondary (with all-through)", "All schools and colleges"],
})


def test_phase_wide_and_schools_table():
    w = DP.phase_wide(PHASES)
    assert w.columns == ["phase", "label", "2017-18", "link_row"]
    assert w["link_row"].to_list() == ["schools:primary", "schools:secondary", "schools:all"]
    t = DP.publish_schools(PHASES, ["2017-18"], threshold=T)
    assert t.headers == ["Phase", "2017-18"]
    assert rows(t) == [("Primary", "30"), ("Secondary (with all-through)", "20"),
                       ("All schools and colleges", "50")]
    assert t.notes == ("All-through schools are counted as secondary; the phases add up to the total.",)


# -- targets --------------------------------------------------------------------------------------------------

TARGETS = pl.DataFrame({
    "financial_year": ["2017-18"] * 4 + ["2016-17"],
    "metric": ["units", "technicians", "schools", "priority", "units"],
    "reached": [500.0, 3.0, 50.0, 12.0, 400.0],
    "target": [450.0, 10.0, None, 10.0, 300.0],
    "label": ["CPD units", "Technicians", "All schools", "Priority schools", "CPD units"],
    "pct_of_target": [111.1, 30.0, None, 120.0, 133.3],
    "met": [True, False, None, True, True],
})


def test_target_rows_status_link_and_met_text():
    r = DP.target_rows(TARGETS, "2017-18")
    assert r["label"].to_list() == ["CPD units", "Technicians", "All schools", "Priority schools"]
    assert r["t_status"].to_list() == ["ok", "ok", "z", "ok"]
    assert r["link_row"].to_list() == ["units", "participants:technicians", "schools:all", "priority"]
    assert r["met_text"].to_list() == ["met", "not met", "no target", "met"]


def test_targets_published_with_caption_and_suppression():
    t = DP.publish_targets(TARGETS, "2017-18", threshold=T)
    assert t.headers == ["Measure", "Reached 2017-18", "Target", "% of target", "Met"]
    assert t.caption == "Reach and delivery against the national targets"
    assert t.data["Reached 2017-18"].to_list()[1] == "c"          # 3 technicians
    assert t.data["% of target"].to_list()[1] == "c"              # built on the 3
    assert t.data["Target"].to_list()[2] == "z"
    assert DP.shown_reach(t, "2017-18")["Technicians"] == "c"
    assert DP.shown_reach(t, "2017-18")["Priority schools"] == "12"


def test_targets_share_suppression_with_the_participants_table():
    # the participants table suppresses 7 other staff beside the 3 technicians; the same count of the targets
    # table (its link_row) is suppressed there too
    DP.publish_participants(PARTS.filter(pl.col("financial_year") == "2017-18")
                            .with_columns(pl.Series("participants", [60, 3, 17, 80])), ["2017-18"], threshold=T)
    t = DP.publish_targets(TARGETS, "2017-18", threshold=T)
    assert t.data["Reached 2017-18"].to_list()[1] == "c"


# -- share of eligible schools reached ------------------------------------------------------------------------

def _pen_region():
    recs = []
    for region, counts in (("North East", {"primary": (20, 8), "secondary": (10, 4), "post16": (0, 0),
                                           "special": (6, 0), "all": (36, 12)}),
                           ("England", {"primary": (20, 8), "secondary": (10, 4), "post16": (0, 0),
                                        "special": (6, 0), "all": (36, 12)})):
        for phase, (e, r) in counts.items():
            recs.append({"financial_year": "2017-18", "region": region, "reach_phase": phase, "eligible": e,
                         "reached": r, "pct": 100 * r / e if e else None})
    return pl.DataFrame(recs)


def test_penetration_wide_columns_and_status():
    w = DP.penetration_wide(_pen_region())
    assert w["region"].to_list() == ["North East", "England"]
    assert w["eligible_all"].to_list() == [36, 36]
    assert w["status_post16"].to_list() == ["z", "z"]
    assert w["status_primary"].to_list() == ["ok", "ok"]
    assert {f"status_{p}" for p in DP.PHASE_NAMES} <= set(w.columns)


def test_penetration_published():
    t = DP.publish_penetration(_pen_region(), threshold=T)
    assert t.headers == ["Region", "Primary %", "Secondary %", "Post-16 %", "Special %", "All %",
                         "Eligible schools", "Schools reached"]
    ne = rows(t)[0]
    assert ne[0] == "North East"
    assert ne[1] == "40%"          # 8 of 20
    assert ne[2] == "c"            # 4 reached, below the threshold
    assert ne[3] == "z"            # no eligible post-16 schools
    assert ne[5:] == ("33%", "36", "12")
    assert t.notes[0].endswith("when fewer than 5 schools were eligible or reached; z: no eligible schools of the "
                               "phase.")


def test_penetration_la_sorted_and_suppressed():
    la = pl.DataFrame({"financial_year": ["2017-18"] * 3, "region": ["South", "North", "North"],
                       "la_name": ["Kent", "York", "Leeds"], "eligible": [40, 30, 4], "reached": [10, 3, 2],
                       "pct": [25.0, 10.0, 50.0]})
    t = DP.publish_penetration_la(la, threshold=T)
    assert t.headers == ["Region", "Local authority", "Eligible", "Reached", "Share reached"]
    assert rows(t) == [("North", "Leeds", "c", "c", "c"), ("North", "York", "30", "c", "c"),
                       ("South", "Kent", "40", "10", "25%")]


def test_penetration_la_does_not_give_away_what_the_region_total_would():
    """The region table shows North East's 36 eligible and 12 reached. Alone, the authorities' table would hide
    only Hartlepool (4 eligible) and Darlington's 2 reached, and 36 - 20 - 12 and 12 - 8 would give them back
    (a reader's review found London less its other boroughs giving the City of London back). Published after
    the region table, as the chapter does, it hides a second cell in each column."""
    from cpdeval.tables import separate_links

    la = pl.DataFrame({"financial_year": ["2017-18"] * 3, "region": ["North East"] * 3,
                       "la_name": ["Durham", "Darlington", "Hartlepool"], "eligible": [20, 12, 4],
                       "reached": [8, 2, 2], "pct": [40.0, 100 * 2 / 12, 50.0]})
    with separate_links():
        DP.publish_penetration(_pen_region(), threshold=T)
        t = DP.publish_penetration_la(la, threshold=T)
    assert rows(t) == [("North East", "Darlington", "c", "c", "c"), ("North East", "Durham", "20", "c", "c"),
                       ("North East", "Hartlepool", "c", "c", "c")]


def test_la_dot_chart_hides_the_authorities_the_table_hides(tmp_path):
    """Durham's 8 reached is hidden in the table to protect Darlington's 2; a dot at Durham's 40% beside its
    20 eligible would give the 8 back, so the chart leaves out every authority the table hides."""
    import json

    from cpdeval.analysis.delivery_figures import fig_penetration_la

    la = pl.DataFrame({"financial_year": ["2017-18"] * 4, "region": ["North East"] * 3 + ["North West"],
                       "la_name": ["Durham", "Darlington", "Hartlepool", "Bolton"], "eligible": [20, 12, 4, 50],
                       "reached": [8, 2, 2, 20], "pct": [40.0, 100 * 2 / 12, 50.0, 40.0]})
    region = pl.concat([_pen_region(), _pen_region().filter(pl.col("region") == "North East")
                        .with_columns(pl.lit("North West").alias("region"), eligible=pl.col("eligible") * 0 + 50,
                                      reached=pl.col("reached") * 0 + 20, pct=pl.lit(40.0))])
    assert DP.la_shares_shown(region, la, threshold=T) == {("North West", "Bolton")}
    fig_penetration_la(la, region, T, tmp_path / "la.png", DP.la_shares_shown(region, la, threshold=T))
    meta = json.loads((tmp_path / "la.png.json").read_text())
    assert meta["n"] == 1
    assert meta["caption"].endswith("Three local authorities with fewer than 5 eligible or reached schools, or "
                                    "hidden to protect one, are not shown (disclosure control).")


# -- flows ----------------------------------------------------------------------------------------------------

FLOWS = pl.DataFrame({
    "financial_year": ["2016-17", "2017-18"],
    "reached": [40, 50],
    "new": [None, 12],
    "retained": [None, 35],
    "returning": [None, 3],
    "lapsed": [None, 5],
    "status": ["z", "ok"],
})


def test_flows_published_with_row_and_cross_year_sums():
    t = DP.publish_flows(FLOWS, threshold=T)
    assert t.headers == ["Year", "Reached", "New", "Retained", "Returning", "Lapsed"]
    assert rows(t)[0] == ("2016-17", "40", "z", "z", "z", "z")
    r = rows(t)[1]
    # 3 returning is suppressed; new + retained + returning = reached gives it away unless one more goes
    assert r[0:2] == ("2017-18", "50") and r[4] == "c" and r[2:4].count("c") == 1
    # retained + lapsed = last year's reached: if retained went, lapsed must go too (40 = 35 + 5)
    if r[3] == "c":
        assert r[5] == "c"
    assert t.notes == ("z: not applicable (the first year of the data has nothing to compare with).",)
