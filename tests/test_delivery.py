"""Delivery and reach: known answers on the hand-built world (see test_engagement), the seed's unequal-window
comparison, and the seed's published 2015-16 reach figures reproduced through the stage, the table helper and the
rendered chapter."""

from __future__ import annotations

import datetime as dt
import logging
import re
from types import SimpleNamespace as NS

import polars as pl
import pytest

from conftest import ROOT, one_row
from cpdeval.analysis.delivery import (against_targets, participants_by_role, penetration,
                                       reach_counts, reach_long, school_flows, schools_by_phase, units_by_term,
                                       units_by_year, year_on_year)
from cpdeval.engagement import build_engagements, build_school_year
from cpdeval.tables import find_disclosure_breaches, publish_table
from test_engagement import YEARS, make_bookings, make_lineage, make_schools, world

D = dt.date


@pytest.fixture(scope="module")
def w():
    return world()


# --------------------------------------------------------------------------- hand-built world

def test_units_per_year_term_and_provider(w):
    ubt = units_by_term(w[3], YEARS)
    assert ubt.height == 3 * 3 * 3                     # complete grid
    uby = units_by_year(ubt)
    assert uby["units"].to_list() == [6.5, 8.5, 2.0]
    r = one_row(uby, financial_year="2015-16")
    assert (r["units_national"], r["units_regional"], r["units_other"], r["terms_active"]) == (2.5, 4.0, 0.0, 3)
    r = one_row(uby, financial_year="2016-17")
    assert (r["units_national"], r["units_regional"], r["units_other"]) == (1.0, 6.0, 1.5)
    terms = ubt.group_by(["financial_year", "term"]).agg(pl.col("units").sum())
    assert one_row(terms, financial_year="2015-16", term="summer")["units"] == 2.0
    assert one_row(terms, financial_year="2015-16", term="autumn")["units"] == 4.0
    assert one_row(terms, financial_year="2015-16", term="spring")["units"] == 0.5
    assert one_row(terms, financial_year="2016-17", term="summer")["units"] == 3.0
    assert one_row(terms, financial_year="2016-17", term="autumn")["units"] == 3.5
    assert one_row(terms, financial_year="2017-18", term="autumn")["units"] == 0.0
    assert one_row(ubt, financial_year="2016-17", term="spring", provider="regional")["attendances"] == 1
    assert one_row(uby, financial_year="2017-18")["terms_active"] == 1


def test_unique_participants_and_role_groups(w):
    reach = reach_counts(w[3])
    r = one_row(reach, financial_year="2015-16")
    # P4 only missed a booking (no-show); P2 was a technician in 2015-16
    assert (r["participants"], r["teachers"], r["technicians"], r["other_staff"]) == (4, 3, 1, 0)
    r = one_row(reach, financial_year="2016-17")
    # P2 became a teacher (latest booking); P7 is a teaching assistant
    assert (r["participants"], r["teachers"], r["technicians"], r["other_staff"]) == (5, 4, 0, 1)
    assert one_row(reach, financial_year="2017-18")["participants"] == 2
    parts = participants_by_role(reach)
    assert one_row(parts, financial_year="2016-17", role_group="all")["participants"] == 5


def test_unique_schools_by_phase_add_up(w):
    reach = reach_counts(w[3])
    r = one_row(reach, financial_year="2015-16")
    assert (r["schools"], r["schools_primary"], r["schools_secondary"], r["attendances_without_school"]) == (2, 1, 1, 1)
    r = one_row(reach, financial_year="2016-17")
    assert (r["schools"], r["schools_primary"], r["schools_secondary"], r["schools_post16"], r["schools_special"],
            r["schools_priority"]) == (4, 2, 0, 1, 1, 1)
    r = one_row(reach, financial_year="2017-18")
    # all-through 100003 is secondary (once), and serves primary too for the targets
    assert (r["schools"], r["schools_secondary"], r["schools_all_through"], r["schools_serving_primary"],
            r["schools_serving_secondary"]) == (2, 2, 1, 1, 2)
    phases = schools_by_phase(reach)
    for y in YEARS:
        p = phases.filter(pl.col("financial_year") == y)
        assert p.filter(pl.col("phase") != "all")["schools"].sum() == one_row(p, phase="all")["schools"]
    assert one_row(phases, financial_year="2017-18", phase="primary")["schools_serving"] == 1


def test_year_on_year_full_and_same_terms(w):
    yoy = year_on_year(units_by_term(w[3], YEARS))
    r = one_row(yoy, financial_year="2016-17", scope="all")
    assert r["change_full_pct"] == pytest.approx(100 * (8.5 - 6.5) / 6.5)
    assert r["equal_windows"] and r["fair_basis"] == "full year"
    r = one_row(yoy, financial_year="2017-18", scope="all")      # only summer delivered in 2017-18
    assert not r["equal_windows"] and r["common_terms"] == "summer"
    assert r["change_same_terms_pct"] == pytest.approx(100 * (2.0 - 3.0) / 3.0)
    assert r["fair_change_pct"] == r["change_same_terms_pct"]
    r = one_row(yoy, financial_year="2016-17", scope="other")     # no delivery before: no change
    assert r["change_full_pct"] is None


def test_seed_unequal_windows_2013_14():
    """The 2015-16 report: 11,971 units in 2013-14 (6,783 by the old centres in summer 2013, 5,188 by the new
    partnerships in autumn and spring), 13,772 in 2014-15; "more than doubled" compares two terms with three."""
    rows, n = [], 0

    def add(units, date, provider):
        nonlocal n
        while units > 0:
            u = min(10.0, units)
            rows.append((f"B{n}", f"P{n % 50}", "teacher", None, "A", "course", provider, None, date, u, "attended",
                         False, False))
            units -= u
            n += 1

    add(6783, D(2013, 6, 1), "other")
    add(2600, D(2013, 10, 1), "regional")
    add(2588, D(2014, 2, 1), "regional")
    add(3772, D(2014, 6, 1), "regional")
    add(5000, D(2014, 10, 1), "regional")
    add(5000, D(2015, 2, 1), "regional")
    eng = build_engagements(make_bookings(rows), make_schools(), None)
    ubt = units_by_term(eng, ["2013-14", "2014-15"])
    uby = units_by_year(ubt)
    assert uby["units"].to_list() == [11971.0, 13772.0]
    assert round(100 * one_row(uby, financial_year="2013-14")["units_other"] / 11971) == 57
    yoy = year_on_year(ubt)
    allp = one_row(yoy, scope="all")
    assert allp["equal_windows"] and round(allp["fair_change_pct"], 1) == 15.0
    reg = one_row(yoy, scope="regional")
    assert reg["units_previous"] == 5188 and reg["terms_previous"] == "autumn, spring"
    assert not reg["equal_windows"] and round(reg["change_full_pct"]) == 165      # "more than doubled"
    assert reg["common_terms"] == "autumn, spring"
    assert reg["fair_change_pct"] == pytest.approx(100 * (10000 - 5188) / 5188)    # like for like: +93%


def test_against_targets_and_penetration(w):
    _, schools, lineage, eng, _ = w
    reach = reach_counts(eng)
    targets = pl.DataFrame({"financial_year": ["2016-17"] * 3, "scope": ["national"] * 3,
                            "metric": ["schools_primary", "post16", "units"], "target": [3.0, 1.0, 8.0]})
    t = against_targets(reach_long(reach), targets).filter(pl.col("financial_year") == "2016-17")
    r = one_row(t, metric="schools_primary")
    assert (r["reached"], r["target"], r["met"]) == (2, 3, False) and r["pct_of_target"] == pytest.approx(200 / 3)
    assert one_row(t, metric="post16")["met"] is True
    assert one_row(t, metric="units")["pct_of_target"] == pytest.approx(100 * 8.5 / 8)
    assert one_row(t, metric="technicians")["target"] is None
    region, la = penetration(eng, schools, lineage, "2016-17")
    e = one_row(region, region="England", reach_phase="all")
    assert (e["eligible"], e["reached"]) == (5, 3)       # 100006 (independent) reached but not eligible
    ne = one_row(region, region="North East", reach_phase="secondary")
    assert (ne["eligible"], ne["reached"], ne["pct"]) == (2, 0, 0.0)
    assert one_row(region, region="London", reach_phase="special")["pct"] == 100.0
    assert one_row(region, region="London", reach_phase="primary")["pct"] is None      # none eligible in 2016-17
    assert sorted((r["la_name"], r["eligible"], r["reached"]) for r in la.iter_rows(named=True)) == \
        [("Aville", 3, 1), ("Bborough", 2, 2)]


def test_an_export_without_the_priority_flag_gives_priority_reach_not_available(w, tmp_path):
    """No priority-school column (all nulls after mapping) is not 0 priority schools and a missed target: the
    count is not available, the target is not assessed, and every published form says so."""
    from cpdeval.analysis.delivery_figures import fig_targets
    from cpdeval.analysis.delivery_publish import publish_targets, target_rows, targets_met_text

    _, _, _, eng, _ = w
    targets = pl.DataFrame({"financial_year": ["2016-17"] * 2, "scope": ["national"] * 2,
                            "metric": ["schools_priority", "post16"], "target": [1.0, 1.0]})
    flagged = against_targets(reach_long(reach_counts(eng)), targets)
    assert one_row(flagged.filter(pl.col("financial_year") == "2016-17"), metric="schools_priority")["met"] is True
    unflagged = eng.with_columns(pl.lit(None, dtype=pl.Boolean).alias("priority_school"))
    reach = reach_counts(unflagged)
    assert reach["schools_priority"].null_count() == reach.height and reach["schools"].min() > 0
    t = against_targets(reach_long(reach), targets)
    p = one_row(t.filter(pl.col("financial_year") == "2016-17"), metric="schools_priority")
    assert (p["reached"], p["met"], p["pct_of_target"]) == (None, None, None)
    assert one_row(target_rows(t, "2016-17"), metric="schools_priority")["met_text"] == "not available"
    assert targets_met_text(t, "2016-17") == ("The one assessed national target for 2016-17 was met; the priority "
                                              "schools target could not be assessed (not available in this year's "
                                              "data)")
    assert targets_met_text(against_targets(reach_long(reach), targets.with_columns(pl.lit(9.0).alias("target"))),
                            "2016-17").startswith("The one assessed national target for 2016-17 was not met;")
    assert targets_met_text(targets_met_only := t.filter(pl.col("metric") != "post16"), "2016-17").startswith(
        "No national target for 2016-17 could be assessed")
    assert targets_met_only.height and targets_met_text(t, "2000-01") is None
    table = publish_targets(t, "2016-17", threshold=1)
    row = dict(zip(table.headers, next(r for r in table.data.rows() if r[0] == "Priority schools")))
    assert (row["Reached 2016-17"], row["% of target"], row["Met"]) == ("x", "x", "not available")
    png = fig_targets(t, "2016-17", 1, tmp_path / "targets.png")
    import json
    meta = json.loads(png.with_name("targets.png.json").read_text())
    assert "Priority schools n/a" in meta["alt_text"]


def test_new_retained_returning_lapsed(w):
    flows = school_flows(w[4], YEARS)
    f = {r["financial_year"]: r for r in flows.iter_rows(named=True)}
    assert f["2015-16"]["status"] == "z" and f["2015-16"]["new"] is None and f["2015-16"]["reached"] == 2
    assert (f["2016-17"]["reached"], f["2016-17"]["new"], f["2016-17"]["retained"], f["2016-17"]["returning"],
            f["2016-17"]["lapsed"]) == (4, 3, 1, 0, 1)
    assert (f["2017-18"]["reached"], f["2017-18"]["new"], f["2017-18"]["retained"], f["2017-18"]["returning"],
            f["2017-18"]["lapsed"]) == (2, 1, 0, 1, 4)
    for y in YEARS[1:]:
        assert f[y]["new"] + f[y]["retained"] + f[y]["returning"] == f[y]["reached"]
        assert f[y]["retained"] + f[y]["lapsed"] == f[y]["reached_previous"]


def test_published_counts_go_through_disclosure_control(w):
    reach = reach_counts(w[3])
    t = publish_table(schools_by_phase(reach).filter(pl.col("financial_year") == "2016-17"),
                      columns={"label": "label", "schools": "count",
                               "pct": {"kind": "percent", "base": "base"}}, threshold=5)
    assert set(t.data["schools"]) <= {"c", "0"} and set(t.data["pct"]) <= {"c", "0%", "x"}   # zeros are shown


# --------------------------------------------------------------------------- the seed's 2015-16 figures

SEED = {"participants": 12431, "schools": 4858, "primary_only": 2617, "secondary_only": 2054, "all_through": 54,
        "post16": 133, "technicians": 790, "priority": 201}


def seed_world():
    """Bookings and register reproducing the 2015-16 report: 12,431 teachers and technicians from 4,858 schools
    (2,617 primary + 2,054 secondary + 54 all-through + 133 post-16), 790 technicians, 201 priority schools; plus
    the units history 18,147 (2012-13), 11,971 (2013-14), 13,772 (2014-15), 19,969 (2015-16, +45%)."""
    kinds = (["primary"] * SEED["primary_only"] + ["secondary"] * SEED["secondary_only"]
             + ["all_through"] * SEED["all_through"] + ["post16"] * SEED["post16"] + ["primary"] * 400)  # 400 not reached
    spec = {"primary": ("Primary", "Community school", "Local authority maintained schools", 4, 11),
            "secondary": ("Secondary", "Academy converter", "Academies", 11, 16),
            "all_through": ("All-through", "Academy converter", "Academies", 4, 18),
            "post16": ("16 plus", "Further education", "Colleges", 16, 99)}
    regions = ["North East", "North West", "Yorkshire and the Humber", "East Midlands", "West Midlands",
               "East of England", "London", "South East", "South West"]
    rows = [(100000 + i, *spec[k], regions[i % 9], f"LA {i % 45:02d}", "open", None, None) for i, k in enumerate(kinds)]
    schools = make_schools(rows)
    urns = schools["urn"].to_list()[:SEED["schools"]]
    b, n = [], 0
    fy1516 = [D(2015, 5, 12), D(2015, 11, 3), D(2016, 2, 9)]
    techs = 0
    for p in range(SEED["participants"]):
        urn = urns[p] if p < len(urns) else urns[(p * 7) % len(urns)]
        role = "technician" if p % 15 == 7 and techs < SEED["technicians"] else "teacher"
        techs += role == "technician"
        units = 2.0 if p < 19969 - SEED["participants"] else 1.0
        b.append((f"S{p}", f"T{p}", role, urn, f"A{p % 300}", "course", "regional" if p % 5 else "national", None,
                  fy1516[p % 3], units, "attended", p < SEED["priority"], p % 2 == 0))
    # a cancelled booking and a no-show for a person and a school not otherwise reached: never counted
    b.append(("X1", "NOBODY", "teacher", 100000 + len(kinds) - 1, "A1", "course", "national", None, D(2015, 6, 1), 5.0,
              "cancelled", False, False))
    b.append(("X2", "NOBODY2", "technician", 100000 + len(kinds) - 2, "A1", "course", "national", None, D(2015, 6, 1),
              5.0, "no_show", False, False))
    # units history (participants and schools irrelevant here; spread over reached schools)

    def add(units, date, provider):
        nonlocal n
        while units > 0:
            u = min(10.0, units)
            b.append((f"H{n}", f"H{n % 997}", "teacher", urns[n % len(urns)], "H", "course", provider, None, date, u,
                      "attended", False, False))
            units -= u
            n += 1

    for date in (D(2012, 6, 1), D(2012, 10, 1), D(2013, 2, 1)):
        add(6049, date, "other")
    add(6783, D(2013, 6, 1), "other")
    add(2600, D(2013, 10, 1), "regional")
    add(2588, D(2014, 2, 1), "regional")
    for u, date in ((3772, D(2014, 6, 1)), (5000, D(2014, 10, 1)), (5000, D(2015, 2, 1))):
        add(u, date, "regional")
    bookings = make_bookings(b, lineage=None)
    lineage = make_lineage({}, schools["urn"].to_list())
    targets = pl.DataFrame({"financial_year": ["2015-16"] * 4, "scope": ["national"] * 4,
                            "metric": ["schools_primary", "schools_secondary", "post16", "schools_priority"],
                            "target": [2250.0, 1350.0, 200.0, 250.0]})
    return bookings, schools, lineage, targets


SEED_YEARS = {"financial_year_start_month": 4, "delivery": ["2012-13", "2013-14", "2014-15", "2015-16"],
              "reporting": "2015-16", "terms": {"autumn": 9, "spring": 1, "summer": 4}}


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    """The seed world through the engagement and delivery stages, as the workflow runs them."""
    from cpdeval.stages.delivery import OUTPUTS, delivery_analysis

    out = tmp_path_factory.mktemp("seed")
    bookings, schools, lineage, targets = seed_world()
    eng = build_engagements(bookings, schools, lineage)
    sy = build_school_year(eng, delivery_years=SEED_YEARS["delivery"])
    paths = {"engagements": out / "eng.parquet", "school_year": out / "sy.parquet", "schools": out / "schools.parquet",
             "lineage": out / "lineage.parquet", "targets": out / "targets.parquet"}
    for name, df in (("engagements", eng), ("school_year", sy), ("schools", schools), ("lineage", lineage),
                     ("targets", targets)):
        df.write_parquet(paths[name])
    outputs = {k: out / "delivery" / v for k, v in OUTPUTS.items()}
    delivery_analysis(NS(input=NS(**paths), output=NS(**outputs),
                      params=NS(years=SEED_YEARS, disclosure_min_count=5), logger=logging.getLogger("test")))
    rec = out / "reconciliation.json"
    from cpdeval.engagement import reconcile_engagements
    import json
    rec.write_text(json.dumps(reconcile_engagements(bookings, eng, sy)))
    return out, outputs, rec


def test_seed_figures_in_the_derived_tables(seed_run):
    _, outputs, _ = seed_run
    reach = one_row(pl.read_parquet(outputs["reach"]), financial_year="2015-16")
    assert (reach["participants"], reach["schools"], reach["technicians"]) == (12431, 4858, 790)
    assert reach["schools_primary"] + reach["schools_secondary"] + reach["schools_post16"] == 4858   # adds up
    t = pl.read_parquet(outputs["targets"]).filter(pl.col("financial_year") == "2015-16")
    got = {r["metric"]: (r["reached"], r["target"]) for r in t.iter_rows(named=True)}
    assert got["schools_primary"] == (2671, 2250)
    assert got["schools_secondary"] == (2108, 1350)
    assert got["post16"] == (133, 200)
    assert got["schools_priority"] == (201, 250)
    assert got["schools"] == (4858, None)
    assert round(one_row(t, metric="schools_primary")["pct_of_target"], 1) == 118.7
    units = pl.read_parquet(outputs["units_by_year"])["units"].to_list()
    assert units == [18147.0, 11971.0, 13772.0, 19969.0]
    yoy = one_row(pl.read_parquet(outputs["units_yoy"]), financial_year="2015-16", scope="all")
    assert round(yoy["fair_change_pct"]) == 45


def _table_rows(html: str, table_id: str) -> list[list[str]]:
    m = re.search(rf'<div id="{table_id}"[^>]*>(.*?)</table>', html, flags=re.S)
    assert m, f"no table {table_id}"
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", m.group(1), flags=re.S):
        rows.append([re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, flags=re.S)])
    return rows


def test_seed_figures_in_the_rendered_chapter(seed_run):
    """The chapter (built-in renderer) shows the 2015-16 report's numbers, with disclosure control intact."""
    from cpdeval.render import render_document

    out, outputs, rec = seed_run
    inputs = {k: str(v) for k, v in outputs.items()} | {"engagement_reconciliation": str(rec)}
    html_path = render_document(ROOT / "reports" / "delivery.qmd", out / "html",
                                params={"year": "2015-16", "title": "seed", "disclosure_min_count": 5,
                                        "inputs": inputs}, engine="builtin")[0]
    html = html_path.read_text(encoding="utf-8")
    rows = {r[0]: r for r in _table_rows(html, "tbl-targets")[1:]}
    assert rows["Primary schools"][1:4] == ["2,671", "2,250", "119%"]
    assert rows["Secondary schools"][1:4] == ["2,108", "1,350", "156%"]
    assert rows["Post-16 institutions"][1:5] == ["133", "200", "67%", "not met"]
    assert rows["Priority schools"][1:5] == ["201", "250", "80%", "not met"]
    assert rows["All schools and colleges"][1:3] == ["4,858", "z"]
    assert rows["Participants (all roles)"][1] == "12,431"
    assert rows["Technicians"][1] == "790"
    phases = {r[0]: r for r in _table_rows(html, "tbl-schools")[1:]}
    assert phases["Primary"][-1] == "2,617" and phases["Secondary (with all-through)"][-1] == "2,108"
    assert phases["Post-16"][-1] == "133" and phases["All schools and colleges"][-1] == "4,858"
    text = re.sub(r"<[^>]+>", "", html)
    assert "12,431 teachers, technicians and other staff took part, from 4,858 schools and colleges" in text
    assert "up 45% on 2014-15" in text
    assert ("In 2013-14 regional partnerships delivered in the autumn and spring terms only, and in 2014-15 in the "
            "summer, autumn and spring terms: comparing the two totals (5,188 and 13,772 units, +165%)") in text
    assert "(autumn and spring terms: +93%)" in text
    assert find_disclosure_breaches(html, 5) == []


def test_a_priority_list_replaces_the_flag_in_the_chapter(synthetic_run, tmp_path):
    """A list of twelve schools that took part in the reporting year (whatever the bookings flag): that year's
    priority reach is those twelve, the years the list does not cover become "x", and the chapter says which
    source decided."""
    import html
    import shutil

    from conftest import run_snakemake

    project = tmp_path / "proj"
    shutil.copytree(synthetic_run, project, symlinks=True)
    derived = project / "data" / "derived" / "synthetic"
    eng = pl.read_parquet(derived / "engagement" / "engagements.parquet")
    listed = (eng.filter((pl.col("financial_year") == "2018-19") & pl.col("school_key").is_not_null())
              .select(pl.col("school_key").alias("urn")).unique().sort("urn").head(12)
              .with_columns(pl.lit("2018-19").alias("financial_year")))
    assert listed.height == 12
    # another list in place of the year's (a synthetic year reads its inputs only from its own folder)
    listed.write_csv(project / "data" / "raw" / "synthetic" / "reference" / "priority_schools.csv")
    result = run_snakemake(project, "reports/synthetic/delivery.html")
    assert result.returncode == 0, result.stderr[-3000:]
    after = pl.read_parquet(derived / "delivery" / "reach.parquet")
    prio = dict(zip(after["financial_year"], after["schools_priority"]))
    assert prio["2018-19"] == 12
    assert prio["2017-18"] is None and prio["2014-15"] is None
    chapter = (project / "reports" / "synthetic" / "delivery.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", chapter))).replace("\u2019", "'")
    assert text.count("Priority schools: schools on the programme's list of priority schools") == 2  # note, definition
    assert "flagged as from a priority school" not in text
