"""Operations: known answers on the hand-built world of test_engagement (partnerships P01 and P02), a hand-built
practitioner-leader survey, and the rendered chapter."""

from __future__ import annotations

import json
import logging
import re
from types import SimpleNamespace as NS

import polars as pl
import pytest

from conftest import ROOT, one_row
from cpdeval.analysis.operations import booking_funnel, leader_delivery, partnership_delivery, practitioner_led
from cpdeval.stages.operations import OUTPUTS as OPERATIONS_OUTPUTS, operations_analysis
from cpdeval.engagement import reconcile_engagements
from cpdeval.ingest.surveys import load_instrument
from cpdeval.tables import find_disclosure_breaches
from test_engagement import YEARS, world

PARTNERSHIPS = pl.DataFrame({"partnership_id": ["P01", "P02", "P02"],
                             "partnership_name": ["North Partnership", "City Partnership", "City Partnership"],
                             "region": ["North East", "London", "London"], "lead_urn": [100001, 100004, 100005],
                             "lead_from": ["2013-09-01", "2013-09-01", "2013-09-01"]},
                            ).with_columns(pl.col("lead_from").str.to_date())
TARGETS = pl.DataFrame({"financial_year": ["2015-16", "2016-17", "2016-17", "2016-17"],
                        "scope": ["P01", "P02", "P02", "national"],
                        "metric": ["units", "units", "participants", "units"],
                        "target": [5.0, 4.0, 3.0, 100.0]})

# respondent -> options ticked (R7 skipped the question); delivered_any answers
_TICKS = {"R1": {"own_school", "network"}, "R2": {"own_school"}, "R3": {"other_partnerships"},
          "R4": {"own_school", "other_partnerships"}, "R5": {"intend_not_yet"}, "R6": {"own_school"}}
_ANY = {"R1": ("Yes", "substantive"), "R2": ("Yes", "substantive"), "R3": ("True", "substantive"),
        "R4": ("No", "substantive"), "R5": ("No", "substantive"), "R7": ("Cannot say", "not_substantive")}
OPTIONS = ["own_school", "network", "other_partnerships", "intend_not_yet", "none"]


def make_survey() -> pl.DataFrame:
    """Long survey responses as the survey reader writes them (every option of an answered question, 1 or 0)."""
    rows = []
    for r, ticked in _TICKS.items():
        for o in OPTIONS:
            t = o in ticked
            rows.append(("practitioner_leader", r, f"delivered_where:{o}", "1" if t else "0",
                         "ticked" if t else "not_ticked"))
    for r, (resp, kind) in _ANY.items():
        rows.append(("practitioner_leader", r, "delivered_any", resp, kind))
    rows.append(("participant_impact", "Z1", "delivered_where:own_school", "1", "ticked"))   # other instrument
    return pl.DataFrame(rows, schema={"instrument": pl.Utf8, "respondent_id": pl.Utf8, "item_id": pl.Utf8,
                                      "response": pl.Utf8, "response_kind": pl.Utf8}, orient="row")


@pytest.fixture(scope="module")
def w():
    return world()


def test_partnership_delivery_against_targets(w):
    pt = partnership_delivery(w[3], TARGETS, PARTNERSHIPS, YEARS)
    r = one_row(pt, financial_year="2015-16", partnership_id="P01", metric="units")
    assert (r["reached"], r["target"], r["met"], r["partnership_name"]) == (4.0, 5.0, False, "North Partnership")
    assert r["pct_of_target"] == pytest.approx(80.0)
    assert one_row(pt, financial_year="2015-16", partnership_id="P01", metric="schools")["reached"] == 2
    assert pt.filter((pl.col("financial_year") == "2015-16") & (pl.col("partnership_id") == "P02")).height == 0  # no-show only
    r = one_row(pt, financial_year="2016-17", partnership_id="P02", metric="units")
    assert (r["reached"], r["met"], r["pct_of_target"]) == (4.0, True, 100.0)
    r = one_row(pt, financial_year="2016-17", partnership_id="P02", metric="participants")
    assert (r["reached"], r["target"], r["met"]) == (2, 3, False)
    assert one_row(pt, financial_year="2016-17", partnership_id="P01", metric="units")["target"] is None
    assert "national" not in pt["partnership_id"].to_list()


def test_practitioner_led_share(w):
    led = practitioner_led(w[3], PARTNERSHIPS)
    r = one_row(led, financial_year="2015-16", scope_type="all")
    # B04 has no record of who led it: out of the base
    assert (r["attendances"], r["attendances_known"], r["attendances_unknown"], r["units_known"], r["units_led"]) == \
        (5, 4, 1, 6.0, 0.0)
    assert r["pct_units_led"] == 0.0
    r = one_row(led, financial_year="2016-17", scope_type="all")
    assert (r["units_known"], r["units_led"]) == (8.5, 3.0) and r["pct_units_led"] == pytest.approx(300 / 8.5)
    assert one_row(led, financial_year="2016-17", scope="regional")["pct_units_led"] == pytest.approx(50.0)
    r = one_row(led, financial_year="2016-17", scope="P02")
    assert r["pct_units_led"] == pytest.approx(75.0) and r["label"] == "City Partnership (P02)"
    assert one_row(led, financial_year="2016-17", scope="P01")["pct_units_led"] == 0.0


def test_booking_funnel(w):
    f = booking_funnel(w[0], YEARS)
    r = one_row(f, financial_year="2015-16", activity_type="all")
    assert (r["booked"], r["attended"], r["cancelled"], r["no_show"], r["not_cancelled"]) == (7, 5, 1, 1, 6)
    assert r["pct_attended"] == pytest.approx(500 / 7) and r["pct_no_show_of_expected"] == pytest.approx(100 / 6)
    r = one_row(f, financial_year="2015-16", activity_type="conference")
    assert (r["booked"], r["attended"], r["cancelled"], r["pct_no_show_of_expected"]) == (2, 1, 1, 0.0)
    r = one_row(f, financial_year="2015-16", activity_type="network_meeting")
    assert (r["booked"], r["no_show"], r["pct_no_show_of_expected"]) == (1, 1, 100.0)
    assert one_row(f, financial_year="2015-16", activity_type="course")["pct_attended"] == 100.0
    r = one_row(f, financial_year="2017-18", activity_type="all")
    assert (r["booked"], r["attended"], r["cancelled"], r["no_show"]) == (3, 2, 1, 0)
    assert f.filter(pl.col("activity_type") == "all")["booked"].sum() == w[0].height


def test_where_trained_leaders_delivered_multi_select():
    ld = leader_delivery(make_survey(), load_instrument("practitioner_leader").definition)
    opts = ld.filter(pl.col("question") == "delivered_where")
    assert opts["option"].to_list() == OPTIONS                   # instrument order
    assert set(opts["respondents"]) == {6}                        # R7 did not answer; other instruments ignored
    assert dict(zip(opts["option"], opts["ticked"])) == {"own_school": 4, "network": 1, "other_partnerships": 2,
                                                         "intend_not_yet": 1, "none": 0}
    assert one_row(opts, option="own_school")["pct"] == pytest.approx(400 / 6)
    assert opts["pct"].sum() > 100                                # several answers allowed
    anyr = one_row(ld, question="delivered_any")
    assert (anyr["ticked"], anyr["respondents"]) == (3, 5)        # "Cannot say" is not in the base


@pytest.fixture(scope="module")
def stage_run(w, tmp_path_factory):
    out = tmp_path_factory.mktemp("operations")
    bookings, _, _, eng, sy = w
    paths = {"engagements": out / "eng.parquet", "bookings": out / "bookings.parquet",
             "targets": out / "targets.parquet", "partnerships": out / "partnerships.parquet",
             "survey_responses": out / "survey.parquet"}
    for name, df in (("engagements", eng), ("bookings", bookings), ("targets", TARGETS),
                     ("partnerships", PARTNERSHIPS), ("survey_responses", make_survey())):
        df.write_parquet(paths[name])
    outputs = {k: out / "ops" / v for k, v in OPERATIONS_OUTPUTS.items()}
    years = {"financial_year_start_month": 4, "delivery": YEARS, "reporting": "2016-17",
             "terms": {"autumn": 9, "spring": 1, "summer": 4}}
    operations_analysis(NS(input=NS(**paths), output=NS(**outputs), params=NS(years=years, disclosure_min_count=1),
                      logger=logging.getLogger("test")))
    rec = out / "reconciliation.json"
    rec.write_text(json.dumps(reconcile_engagements(bookings, eng, sy)))
    return out, outputs, rec


def test_stage_writes_every_output(stage_run):
    _, outputs, _ = stage_run
    for name, path in outputs.items():
        assert path.exists(), name
    meta = json.loads((outputs["fig_leaders"].with_name(outputs["fig_leaders"].name + ".json")).read_text())
    assert "do not add up to 100%" in meta["caption"] and meta["n"] == 6


def _rows(html, table_id):
    m = re.search(rf'<div id="{table_id}"[^>]*>(.*?)</table>', html, flags=re.S)
    assert m, table_id
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, flags=re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", m.group(1), flags=re.S)]


@pytest.mark.parametrize("threshold", [1, 5])
def test_rendered_chapter(stage_run, threshold):
    from cpdeval.render import render_document

    out, outputs, rec = stage_run
    inputs = {k: str(v) for k, v in outputs.items()} | {"engagement_reconciliation": str(rec)}
    html = render_document(ROOT / "reports" / "operations.qmd", out / f"html{threshold}",
                           params={"year": "test", "title": "t", "disclosure_min_count": threshold, "inputs": inputs},
                           engine="builtin")[0].read_text(encoding="utf-8")
    assert find_disclosure_breaches(html, threshold) == []
    leaders = {r[0]: r for r in _rows(html, "tbl-leaders")[1:]}
    funnel = {r[0]: r for r in _rows(html, "tbl-funnel-years")[1:]}
    if threshold == 1:
        assert leaders["In my own school"][1:] == ["4", "67%", "6"]
        assert leaders["Delivered any CPD since training"][1:] == ["3", "60%", "5"]
        assert funnel["2015-16"][1:] == ["7", "71%", "14%", "14%"]
        assert "shares do not add up to 100%" in re.sub(r"<[^>]+>", "", html)
    else:
        assert leaders["In my own school"][1:] == ["c", "c", "6"]
        # 14% of 7 is one cancellation and one no-show: with the attended share they pin each other, so the
        # base is hidden too and nothing in the row gives them away
        assert funnel["2015-16"][1:] == ["c", "c", "c", "c"]
