"""Engagement model: known answers on a hand-built world of 15 bookings, and reconciliation on the synthetic year.

The hand-built world (``world()``; also used by test_delivery and test_operations):

=====  ====  ==============  ======  ========  ==========  ===========  =====  =========  ==================
book   who   role            school  activity  provider    date         units  status     note
=====  ====  ==============  ======  ========  ==========  ===========  =====  =========  ==================
B01    P1    teacher         100001  A1 course national    2015-04-10   1.0    attended   FY15-16 summer
B02    P1    teacher         100001  A2 course regional    2015-10-05   2.0    attended   autumn
B03    P2    technician      100012  A2 course regional    2015-10-05   2.0    attended   predecessor of 100002
B04    P3    teacher         100002  A3 conf.  national    2016-01-20   0.5    attended   spring 2016
B05    P3    teacher         100002  A3 conf.  national    2016-01-20   0.5    cancelled
B06    P4    subject_leader  100003  A4 netw.  regional    2016-03-31   1.0    no_show    last day of FY15-16
B07    P5    teacher         (none)  A1 course national    2015-04-10   1.0    attended   school not identified
B08    P6    teacher         100004  A5 lead   regional    2016-04-01   3.0    attended   FY16-17, practitioner-led
B09    P1    teacher         100001  A6 online other       2016-09-01   1.5    attended   autumn 2016
B10    P7    teaching_asst   100005  A2 course regional    2016-12-31   2.0    attended   priority school
B11    P2    teacher         100004  A7 besp.  regional    2017-01-15   1.0    attended   P2 now a teacher
B12    P8    teacher         100006  A1 course national    2017-03-15   1.0    attended   independent school
B13    P9    teacher         100003  A3 conf.  national    2017-06-01   1.0    attended   FY17-18, all-through
B14    P3    teacher         100002  A3 conf.  national    2017-07-01   1.0    cancelled
B15    P3    teacher         100002  A1 course national    2017-05-10   1.0    attended   100002 returns
=====  ====  ==============  ======  ========  ==========  ===========  =====  =========  ==================

Register: 100001 primary (LA, North East, Aville), 100002 academy converter secondary opened 2015-09-01 (its
predecessor 100012 closed 2015-08-31; lineage 100012 -> 100002), 100003 all-through, 100004 FE college,
100005 community special, 100006 independent 3-11 (phase "Not applicable"), 100007 primary opened
2017-09-01 (never reached).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cpdeval.calendar import financial_year_expr, term_index_expr, term_label_expr, terms_in_year, with_date_columns
from cpdeval.engagement import (build_engagements, build_school_year, eligible_schools, reconcile_engagements,
                                school_attributes)
from cpdeval.ingest.register import phase_group_expr

YEARS = ["2015-16", "2016-17", "2017-18"]
D = dt.date

_BOOKINGS = [
    # id, participant, role, urn, activity, type, provider, partnership, date, units, status, priority, led
    ("B01", "P1", "teacher", 100001, "A1", "course", "national", None, D(2015, 4, 10), 1.0, "attended", False, False),
    ("B02", "P1", "teacher", 100001, "A2", "course", "regional", "P01", D(2015, 10, 5), 2.0, "attended", False, False),
    ("B03", "P2", "technician", 100012, "A2", "course", "regional", "P01", D(2015, 10, 5), 2.0, "attended", False, False),
    ("B04", "P3", "teacher", 100002, "A3", "conference", "national", None, D(2016, 1, 20), 0.5, "attended", False, None),
    ("B05", "P3", "teacher", 100002, "A3", "conference", "national", None, D(2016, 1, 20), 0.5, "cancelled", False, None),
    ("B06", "P4", "subject_leader", 100003, "A4", "network_meeting", "regional", "P02", D(2016, 3, 31), 1.0, "no_show", False, True),
    ("B07", "P5", "teacher", None, "A1", "course", "national", None, D(2015, 4, 10), 1.0, "attended", False, False),
    ("B08", "P6", "teacher", 100004, "A5", "leading_cpd", "regional", "P02", D(2016, 4, 1), 3.0, "attended", False, True),
    ("B09", "P1", "teacher", 100001, "A6", "online_course", "other", None, D(2016, 9, 1), 1.5, "attended", False, False),
    ("B10", "P7", "teaching_assistant", 100005, "A2", "course", "regional", "P01", D(2016, 12, 31), 2.0, "attended", True, False),
    ("B11", "P2", "teacher", 100004, "A7", "bespoke", "regional", "P02", D(2017, 1, 15), 1.0, "attended", False, False),
    ("B12", "P8", "teacher", 100006, "A1", "course", "national", None, D(2017, 3, 15), 1.0, "attended", False, False),
    ("B13", "P9", "teacher", 100003, "A3", "conference", "national", None, D(2017, 6, 1), 1.0, "attended", False, False),
    ("B14", "P3", "teacher", 100002, "A3", "conference", "national", None, D(2017, 7, 1), 1.0, "cancelled", False, False),
    ("B15", "P3", "teacher", 100002, "A1", "course", "national", None, D(2017, 5, 10), 1.0, "attended", False, False),
]

_SCHOOLS = [
    # urn, phase, type, type_group, low, high, region, la, status, open, close
    (100001, "Primary", "Community school", "Local authority maintained schools", 4, 11, "North East", "Aville",
     "open", None, None),
    (100002, "Secondary", "Academy converter", "Academies", 11, 16, "North East", "Aville", "open", D(2015, 9, 1), None),
    (100012, "Secondary", "Community school", "Local authority maintained schools", 11, 16, "North East", "Aville",
     "closed", None, D(2015, 8, 31)),
    (100003, "All-through", "Community school", "Local authority maintained schools", 4, 18, "North East", "Aville",
     "open", None, None),
    (100004, "16 plus", "Further education", "Colleges", 16, 99, "London", "Bborough", "open", None, None),
    (100005, "Not applicable", "Community special school", "Special schools", 5, 19, "London", "Bborough", "open",
     None, None),
    (100006, "Not applicable", "Other independent school", "Independent schools", 3, 11, "London", "Bborough", "open",
     None, None),
    (100007, "Primary", "Community school", "Local authority maintained schools", 4, 11, "London", "Bborough",
     "open", D(2017, 9, 1), None),
]


def make_schools(rows=_SCHOOLS) -> pl.DataFrame:
    """A register in the shape of ingest/schools.parquet (the columns the engagement model reads)."""
    df = pl.DataFrame(rows, schema={"urn": pl.Int64, "phase": pl.Utf8, "type": pl.Utf8, "type_group": pl.Utf8,
                                    "low_age": pl.Int64, "high_age": pl.Int64, "region": pl.Utf8, "la_name": pl.Utf8,
                                    "status": pl.Utf8, "open_date": pl.Date, "close_date": pl.Date}, orient="row")
    return df.with_columns(phase_group_expr().alias("phase_group"))


def make_lineage(pairs: dict[int, int], urns) -> pl.DataFrame:
    keys = [pairs.get(u, u) for u in urns]
    return pl.DataFrame({"urn": list(urns), "school_key": keys}, schema={"urn": pl.Int64, "school_key": pl.Int64})


def make_bookings(rows=_BOOKINGS, lineage: pl.DataFrame | None = None) -> pl.DataFrame:
    """Bookings in the shape of link/bookings_linked.parquet."""
    df = pl.DataFrame(rows, schema={
        "booking_id": pl.Utf8, "participant_id": pl.Utf8, "role": pl.Utf8, "urn": pl.Int64, "activity_id": pl.Utf8,
        "activity_type": pl.Utf8, "provider": pl.Utf8, "partnership_id": pl.Utf8, "start_date": pl.Date,
        "units": pl.Float64, "status": pl.Utf8, "priority_school": pl.Boolean, "led_by_practitioner": pl.Boolean},
        orient="row")
    key = (df.join(lineage, on="urn", how="left")["school_key"] if lineage is not None else df["urn"])
    return df.with_columns(
        key.alias("school_key"),
        pl.when(pl.col("urn").is_null()).then(pl.lit("unmatched")).otherwise(pl.lit("urn")).alias("match_method"),
        pl.lit(None, dtype=pl.Utf8).alias("region"), pl.lit(1).alias("sessions"), pl.lit(False).alias("bursary"),
        pl.lit(0.0).alias("fee"), pl.lit("export.csv").alias("source_file"),
        (pl.int_range(pl.len()) + 2).cast(pl.Int64).alias("source_row"),
        pl.lit("x").alias("activity_title"),
    )


def world():
    """(bookings, schools, lineage, engagements, school_year) of the hand-built world."""
    schools = make_schools()
    lineage = make_lineage({100012: 100002}, schools["urn"].to_list())
    bookings = make_bookings(lineage=lineage)
    eng = build_engagements(bookings, schools, lineage)
    sy = build_school_year(eng, delivery_years=YEARS, regular_min_years=2, regular_of_last=3)
    return bookings, schools, lineage, eng, sy


@pytest.fixture(scope="module")
def w():
    return world()


# --------------------------------------------------------------------------- calendar

def test_terms_and_years_from_the_calendar():
    assert terms_in_year() == ["summer", "autumn", "spring"]
    assert terms_in_year(start_month=9) == ["autumn", "spring", "summer"]
    df = pl.DataFrame({"d": [D(2016, 3, 31), D(2016, 4, 1), D(2016, 8, 31), D(2016, 9, 1), D(2017, 1, 1)]})
    out = df.with_columns(term_index_expr("d").alias("i"), term_label_expr("d").alias("l"))
    assert out["i"].to_list() == [3, 1, 1, 2, 3]
    assert out["l"].to_list() == ["spring 2016", "summer 2016", "summer 2016", "autumn 2016", "spring 2017"]


def test_date_columns_computed_once_per_date_keep_every_row_in_order():
    # repeated dates out of order, a missing date, and other columns that must stay with their rows
    dates = [D(2017, 1, 1), D(2016, 4, 1), None, D(2017, 1, 1), D(2016, 3, 31), D(2016, 4, 1)] * 50
    df = pl.DataFrame({"row": range(len(dates)), "d": dates})
    out = with_date_columns(df, "d", financial_year_expr("d").alias("fy"), term_label_expr("d").alias("l"))
    assert out.columns == ["row", "d", "fy", "l"]
    assert out["row"].to_list() == list(range(len(dates)))
    assert out["fy"].to_list()[:6] == ["2016-17", "2016-17", None, "2016-17", "2015-16", "2016-17"]
    assert out["l"].to_list()[:6] == ["spring 2017", "summer 2016", None, "spring 2017", "spring 2016", "summer 2016"]
    assert out.equals(df.with_columns(financial_year_expr("d").alias("fy"), term_label_expr("d").alias("l")))
    # a column of the same name is replaced in place, as with_columns replaces it
    stale = df.with_columns(pl.lit("stale").alias("fy"), pl.lit(0).alias("after"))
    again = with_date_columns(stale, "d", financial_year_expr("d").alias("fy"))
    assert again.columns == ["row", "d", "fy", "after"] and again["fy"].equals(out["fy"])


# --------------------------------------------------------------------------- engagements

def test_only_attended_bookings_are_engagements_once_each(w):
    bookings, _, _, eng, _ = w
    assert sorted(eng["booking_id"]) == ["B01", "B02", "B03", "B04", "B07", "B08", "B09", "B10", "B11", "B12",
                                         "B13", "B15"]
    assert eng["booking_id"].is_unique().all()
    assert not set(eng["booking_id"]) & {"B05", "B06", "B14"}


def test_financial_year_term_and_phase_of_each_engagement(w):
    eng = w[3].sort("booking_id")
    row = {r["booking_id"]: r for r in eng.iter_rows(named=True)}
    assert (row["B01"]["financial_year"], row["B01"]["term"], row["B01"]["term_index"]) == ("2015-16", "summer", 1)
    assert (row["B04"]["financial_year"], row["B04"]["term_label"], row["B04"]["term_index"]) == ("2015-16", "spring 2016", 3)
    assert (row["B08"]["financial_year"], row["B08"]["term_label"]) == ("2016-17", "summer 2016")
    assert (row["B10"]["financial_year"], row["B10"]["term_label"]) == ("2016-17", "autumn 2016")
    # the predecessor URN takes the successor's key and attributes
    assert (row["B03"]["urn"], row["B03"]["school_key"], row["B03"]["reach_phase"]) == (100012, 100002, "secondary")
    assert (row["B13"]["phase_group"], row["B13"]["reach_phase"]) == ("all_through", "secondary")
    assert (row["B12"]["phase_group"], row["B12"]["reach_phase"]) == ("primary", "primary")   # 3-11 independent
    assert row["B10"]["reach_phase"] == "special"
    assert row["B08"]["reach_phase"] == "post16"
    assert row["B07"]["school_key"] is None and row["B07"]["reach_phase"] is None
    assert row["B10"]["role_group"] == "other_staff" and row["B03"]["role_group"] == "technicians"


def test_school_attributes_take_the_key_row():
    schools = make_schools()
    attrs = school_attributes(schools, make_lineage({100012: 100002}, schools["urn"].to_list()))
    assert attrs.height == 7                       # 8 establishments, 7 schools
    a = attrs.filter(pl.col("school_key") == 100002).row(0, named=True)
    assert (a["key_urn"], a["type"]) == (100002, "Academy converter")


def test_reconciliation_balances_and_catches_double_counting(w):
    bookings, _, _, eng, sy = w
    rec = reconcile_engagements(bookings, eng, sy)
    assert (rec["bookings"], rec["attended"], rec["cancelled"], rec["no_show"]) == (15, 12, 2, 1)
    assert (rec["engagements_with_school"], rec["engagements_without_school"]) == (11, 1)
    assert rec["units_engagements"] == 17.0 and rec["school_year_attendances"] == 11
    with pytest.raises(ValueError, match="attended bookings"):
        reconcile_engagements(bookings, pl.concat([eng, eng.head(1)]), sy)


# --------------------------------------------------------------------------- school x year

def _sy(sy, key, year):
    return sy.filter((pl.col("school_key") == key) & (pl.col("financial_year") == year)).row(0, named=True)


def test_school_year_rows_and_counts(w):
    sy = w[4]
    assert sy.height == 8
    assert sorted(zip(sy["school_key"], sy["financial_year"])) == [
        (100001, "2015-16"), (100001, "2016-17"), (100002, "2015-16"), (100002, "2017-18"), (100003, "2017-18"),
        (100004, "2016-17"), (100005, "2016-17"), (100006, "2016-17")]
    r = _sy(sy, 100001, "2015-16")
    assert (r["attendances"], r["participants"], r["activities"], r["units"]) == (2, 1, 2, 3.0)
    assert (r["units_national"], r["units_regional"], r["units_other"], r["provider_mix"]) == (1.0, 2.0, 0.0, "both")
    r = _sy(sy, 100002, "2015-16")
    assert (r["attendances"], r["participants"], r["technicians"], r["units"], r["provider_mix"]) == (2, 2, 1, 2.5, "both")
    assert _sy(sy, 100001, "2016-17")["provider_mix"] == "neither"
    r = _sy(sy, 100004, "2016-17")
    assert (r["attendances"], r["participants"], r["units"], r["units_practitioner_led"], r["provider_mix"]) == \
        (2, 2, 4.0, 3.0, "regional_only")
    assert _sy(sy, 100005, "2016-17")["priority"] is True
    assert _sy(sy, 100006, "2016-17")["provider_mix"] == "national_only"


def test_first_last_years_regularity_and_staff_count(w):
    sy = w[4]
    r = _sy(sy, 100001, "2015-16")
    assert (r["first_year"], r["last_year"], r["years_used"], r["years_used_to_date"]) == ("2015-16", "2016-17", 2, 1)
    assert (r["years_in_window"], r["regular"], r["regular_window_complete"]) == (1, False, False)
    r = _sy(sy, 100001, "2016-17")
    assert (r["years_used_to_date"], r["years_in_window"], r["regular"], r["regular_window_complete"]) == (2, 2, True, False)
    assert r["staff_to_date"] == 1                 # P1 both years
    r = _sy(sy, 100002, "2017-18")                 # used 2015-16 and 2017-18: 2 of the last 3 years
    assert (r["years_in_window"], r["regular"], r["regular_window_complete"], r["staff_to_date"]) == (2, True, True, 2)
    r = _sy(sy, 100003, "2017-18")
    assert (r["years_in_window"], r["regular"], r["regular_window_complete"]) == (1, False, True)
    strict = build_school_year(w[3], delivery_years=YEARS, regular_min_years=2, regular_of_last=2)
    assert _sy(strict, 100002, "2017-18")["regular"] is False     # not used in 2016-17


def test_eligible_schools_for_penetration():
    schools = make_schools()
    lineage = make_lineage({100012: 100002}, schools["urn"].to_list())
    e1617 = eligible_schools(schools, lineage, "2016-17")
    # independent 100006 is not state-funded; 100007 opened after the year; 100012 is part of 100002
    assert e1617["school_key"].to_list() == [100001, 100002, 100003, 100004, 100005]
    assert eligible_schools(schools, lineage, "2017-18")["school_key"].to_list() == [100001, 100002, 100003, 100004,
                                                                                      100005, 100007]


# --------------------------------------------------------------------------- the synthetic year

@pytest.fixture(scope="module")
def synthetic_year(tmp_path_factory):
    """The small synthetic year, ingested and linked with the library functions (no Snakemake)."""
    from cpdeval.config import DEFAULT_CONFIG, load_yaml
    from cpdeval.ingest.bookings import read_bookings
    from cpdeval.ingest.register_validate import ingest_links, ingest_schools
    from cpdeval.link.lineage import build_lineage
    from cpdeval.link.matching import link_bookings
    from cpdeval.pseudonymise import resolve_key

    from cpdeval import synthetic
    cfg = load_yaml(DEFAULT_CONFIG)
    root = tmp_path_factory.mktemp("synthetic")
    raw = root / "raw"
    synthetic.generate(raw, size="small", seed=cfg["synthetic"]["seed"], config={"years": cfg["years"]})
    files = sorted(str(p) for p in (raw / "bookings").glob("*.csv"))
    key = resolve_key(cfg["pseudonymisation"], synthetic=True)
    bookings = read_bookings(files, key)
    schools = ingest_schools(str(raw / "register" / "edubasealldata.csv"), str(raw / "register" / "england_census.csv"),
                             encoding=cfg["inputs"]["register_encoding"])
    links = ingest_links(str(raw / "register" / "links_edubasealldata.csv"), encoding=cfg["inputs"]["register_encoding"])
    b, s, lk = bookings.accepted, schools.accepted, links.accepted
    urns = pl.concat([s["urn"], b["urn"].drop_nulls(), lk["urn"], lk["link_urn"]]).unique()
    lineage, _ = build_lineage(lk, urns.sort().to_list())
    linked, _, _ = link_bookings(b, s, lineage, min_confidence=0.85,
                                 fy_start_month=cfg["years"]["financial_year_start_month"])
    return {"cfg": cfg, "files": files, "quarantine": bookings.quarantine, "bookings": linked,
            "schools": s, "lineage": lineage}


def test_synthetic_year_reconciles_with_the_booking_export(synthetic_year):
    """Every attended booking of the export is an engagement exactly once; cancelled ones never."""
    from cpdeval.analysis.delivery import reach_counts, units_by_term

    s = synthetic_year
    years = s["cfg"]["years"]
    eng = build_engagements(s["bookings"], s["schools"], s["lineage"],
                            fy_start_month=years["financial_year_start_month"], terms=years["terms"])
    sy = build_school_year(eng, delivery_years=years["delivery"])
    rec = reconcile_engagements(s["bookings"], eng, sy)
    # straight from the CSV export, without the pipeline's readers
    raw = pl.concat([pl.read_csv(f, infer_schema=False).with_columns(pl.lit(f).alias("_file"),
                                                                       (pl.int_range(pl.len()) + 2).alias("_row"))
                     for f in s["files"]])
    q = s["quarantine"].select(pl.col("source_file").alias("_file"), pl.col("source_row").cast(pl.Int64).alias("_row")).unique()
    ok = raw.with_columns(pl.col("_row").cast(pl.Int64)).join(q, on=["_file", "_row"], how="anti")
    attended = ok.filter(pl.col("Booking Status") == "Attended")
    assert eng.height == attended.height == rec["attended"] > 1000
    assert set(eng["booking_id"]) == set(attended["Booking Reference"])
    not_attended = set(ok.filter(pl.col("Booking Status") != "Attended")["Booking Reference"])
    assert not_attended and not (not_attended & set(eng["booking_id"]))
    assert eng["units"].sum() == pytest.approx(attended["CPD Units"].cast(pl.Float64).sum())
    # analyses count each engagement once: per-term attendances and per-year participants add back up
    ubt = units_by_term(eng, years["delivery"], years["terms"], years["financial_year_start_month"])
    assert ubt["attendances"].sum() == eng.height
    assert ubt["units"].sum() == pytest.approx(eng["units"].sum())
    reach = reach_counts(eng)
    raw_fy = attended.with_columns(pl.col("Start Date").str.to_date("%d/%m/%Y").alias("_d")).with_columns(
        pl.when(pl.col("_d").dt.month() >= 4).then(pl.col("_d").dt.year()).otherwise(pl.col("_d").dt.year() - 1)
        .alias("_fy"))
    for r in reach.iter_rows(named=True):
        sub = raw_fy.filter(pl.col("_fy") == int(r["financial_year"][:4]))
        assert r["participants"] == sub["Contact ID"].n_unique()
        assert r["teachers"] + r["technicians"] + r["other_staff"] == r["participants"]
        assert sum(r[f"schools_{p}"] for p in ("primary", "secondary", "post16", "special", "other")) == r["schools"]
    assert sy["attendances"].sum() == rec["engagements_with_school"]


# --------------------------------------------------------------------------- the priority-school list

def test_priority_list_decides_instead_of_the_booking_flag(w):
    """The list names 100012 (100002's predecessor: found after the conversion) and 100001 for FY 2015-16, and
    100004 for 2016-17. The bookings flag only 100005 (B10, 2016-17): with the list, B10 is not a priority school."""
    from cpdeval.engagement import apply_priority_list

    _, _, lineage, eng, _ = w
    listed = pl.DataFrame({"urn": [100012, 100001, 100004], "financial_year": ["2015-16", "2015-16", "2016-17"]})
    out, basis = apply_priority_list(eng, listed, lineage)
    assert basis == "list" and out.columns == eng.columns and out.height == eng.height
    got = dict(zip(out["booking_id"], out["priority_school"]))
    assert got["B01"] is True and got["B02"] is True        # 100001 in 2015-16
    assert got["B03"] is True and got["B04"] is True        # 100012 -> school 100002, both its bookings in 2015-16
    assert got["B07"] is None                               # no school: unknown
    assert got["B08"] is True and got["B11"] is True        # 100004 in 2016-17
    assert got["B09"] is False and got["B10"] is False      # 2016-17, not listed (the bookings' flag is not used)
    assert got["B13"] is None and got["B15"] is None        # 2017-18: the list does not cover it
    sy = build_school_year(out, delivery_years=YEARS, regular_min_years=2, regular_of_last=3)
    assert _sy(sy, 100005, "2016-17")["priority"] is False


def test_without_a_list_the_flag_decides_and_without_both_nothing_is_known(w):
    from cpdeval.engagement import apply_priority_list

    _, _, lineage, eng, _ = w
    same, basis = apply_priority_list(eng, None, lineage)
    assert basis == "bookings" and same.equals(eng)
    empty = pl.DataFrame(schema={"urn": pl.Int64, "financial_year": pl.Utf8})
    assert apply_priority_list(eng, empty, lineage)[1] == "bookings"
    unflagged = eng.with_columns(pl.lit(None, dtype=pl.Boolean).alias("priority_school"))
    assert apply_priority_list(unflagged, None, lineage)[1] == "none"
