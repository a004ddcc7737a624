"""The tables of the "Targeted programme" chapter (cpdeval.targeted_publish): shaping (pivots, rows, labels,
column order), headers and notes, and disclosure control, on small hand-made tables with known answers."""

from __future__ import annotations

import polars as pl
import pytest

from conftest import published_rows

from cpdeval import targeted_publish as TP

T = 5


pytestmark = pytest.mark.usefixtures("no_links")
rows = published_rows


# -- look-ups -------------------------------------------------------------------------------------------------

def test_one_first_match_or_none():
    df = pl.DataFrame({"a": ["x", "y", "y"], "b": [1, 2, 3]})
    assert TP.one(df, a="y") == {"a": "y", "b": 2}
    assert TP.one(df, a="y", b=3) == {"a": "y", "b": 3}
    assert TP.one(df, a="z") is None


def test_share_suppresses_small_base_and_small_part():
    assert TP.share(3, 4, threshold=T) == "a share that is not published (too few schools)"
    assert TP.share(3, 40, threshold=T) == "fewer than 5"
    assert TP.share(20, 40, threshold=T) == "half (50%)"
    assert TP.share(20, 40, threshold=T, capitalize=True) == "Half (50%)"     # keywords go on to words()


# -- inspection ratings ---------------------------------------------------------------------------------------

BY_PRE = pl.DataFrame({
    "pre_group": ["4", "3", "1", "new_school", "total"],
    "label": ["4 Inadequate", "3 Requires improvement", "1 Outstanding", "New school", "Total"],
    "schools": [12, 13, 5, 3, 33],
    "inspected_since": [9, 8, 0, None, 17],
    "improved": [6, 2, None, None, 8],
    "inspected_status": [None, None, None, "z", None],
    "improved_status": [None, None, "z", "z", None],
    "pct_inspected": [75.0, 8 / 13 * 100, 0.0, None, 17 / 33 * 100],
    "pct_improved": [6 / 9 * 100, 25.0, None, None, 8 / 17 * 100],
})


def test_ofsted_by_pre_headers_values_and_suppression():
    t = TP.publish_ofsted_by_pre(BY_PRE, threshold=T)
    assert t.headers == ["Grade before joining", "Schools", "Inspected since", "% inspected since", "Improved",
                         "% of inspected that improved"]
    # 3 new schools and 2 improved are below the threshold; the total row (33 = 12 + 13 + 5 + 3, 8 = 6 + 2)
    # would give them away, so one more cell of each column goes too; z (not applicable) is never suppressed
    assert rows(t) == [("4 Inadequate", "12", "9", "75%", "c", "c"),
                       ("3 Requires improvement", "13", "8", "62%", "c", "c"),
                       ("1 Outstanding", "c", "0", "c", "z", "z"),
                       ("New school", "c", "z", "z", "z", "z"),
                       ("Total", "33", "17", "52%", "8", "47%")]
    assert len(t.notes) == 1 and t.notes[0].startswith("Grades: 1 outstanding, 2 good")


DIRECTION = pl.DataFrame({
    "scope": ["since_engagement"] * 4 + ["min_days"] * 4,
    "order": [0, 1, 2, 3] * 2,
    "direction": ["improved", "same", "declined", "total"] * 2,
    "n": [11, 7, 2, 20, 4, 5, 1, 10],
    "base": [20] * 4 + [10] * 4,
    "pct": [55.0, 35.0, 10.0, 100.0, 40.0, 50.0, 10.0, 100.0],
})


def test_direction_rows_side_by_side_in_fixed_order():
    # the input order is shuffled: the rows come out better, same, worse, all whatever it is
    d = TP.direction_rows(DIRECTION.sample(fraction=1.0, shuffle=True, seed=3))
    assert d.columns == ["label", "n_all", "base_all", "pct_all", "n_rule", "base_rule", "pct_rule"]
    assert d["label"].to_list() == ["Better grade", "Same grade", "Worse grade", "All"]
    assert d["n_all"].to_list() == [11, 7, 2, 20]
    assert d["n_rule"].to_list() == [4, 5, 1, 10]
    assert d["base_rule"].to_list() == [10] * 4


def test_ofsted_direction_published():
    t = TP.publish_ofsted_direction(DIRECTION, min_days=365, threshold=T)
    assert t.headers == ["Change", "Any time since: schools", "Any time since: %", "At least 365 days after: schools",
                         "At least 365 days after: %"]
    # 2 and 1 worse grades are suppressed; 7 = 20 - 11 - 2 would give the 2 away, and so on
    assert rows(t) == [("Better grade", "11", "55%", "c", "c"), ("Same grade", "c", "c", "c", "c"),
                       ("Worse grade", "c", "c", "c", "c"), ("All", "20", "100%", "10", "100%")]
    assert t.notes[0].startswith("The second pair of columns keeps schools whose latest inspection was at least "
                                 "365 days after their start date (365 days or more")


def _transitions():
    lab = {1: "Outstanding", 2: "Good", 3: "Requires improvement", 4: "Inadequate"}
    recs = []
    for scope, counts in (("min_days", {(4, 3): 6, (4, 4): 7, (3, 2): 8, (3, 3): 2}),
                          ("since_engagement", {(4, 3): 60, (4, 4): 70, (3, 2): 80, (3, 3): 20})):
        for pre in (4, 3):
            for post in (1, 2, 3, 4):
                recs.append({"pre_rating": pre, "post_rating": post, "n": counts.get((pre, post), 0),
                             "pre_label": lab[pre], "post_label": lab[post], "scope": scope})
    return pl.DataFrame(recs).sample(fraction=1.0, shuffle=True, seed=1)


def test_transitions_wide_keeps_the_rule_scope_worst_grade_first():
    wide, cols = TP.transitions_wide(_transitions())
    assert wide["before"].to_list() == ["4 Inadequate", "3 Requires improvement"]
    assert [wide[g].to_list() for g in ("1", "2", "3", "4")] == [[0, 0], [0, 8], [6, 2], [7, 0]]
    assert [c["header"] for c in cols.values()] == ["Grade before", "1 Outstanding", "2 Good",
                                                    "3 Requires improvement", "4 Inadequate"]


def test_ofsted_transitions_published():
    t = TP.publish_ofsted_transitions(_transitions(), min_days=400, threshold=T)
    assert rows(t)[0] == ("4 Inadequate", "0", "0", "6", "7")
    assert rows(t)[1][3] == "c"                               # 2 schools: suppressed
    assert t.notes == ("Schools graded both before and at least 400 days after they began; cells count schools.",)


def _rule_scope(counts: dict[tuple[int, int], int]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Transitions (days-rule scope, the same counts any time since) and the change table they add up to."""
    lab = {1: "Outstanding", 2: "Good", 3: "Requires improvement", 4: "Inadequate"}
    recs = [{"pre_rating": pre, "post_rating": post, "n": counts.get((pre, post), 0), "pre_label": lab[pre],
             "post_label": lab[post], "scope": scope}
            for scope in ("min_days", "since_engagement") for pre in (4, 3, 2, 1) for post in (1, 2, 3, 4)]
    n = {k: sum(v for (pre, post), v in counts.items() if f(pre, post)) for k, f in (
        ("improved", lambda a, b: b < a), ("same", lambda a, b: b == a), ("declined", lambda a, b: b > a),
        ("total", lambda a, b: True))}
    direction = pl.DataFrame([{"scope": scope, "order": i, "direction": k, "n": n[k], "base": n["total"],
                               "pct": 100 * n[k] / n["total"]}
                              for scope in ("since_engagement", "min_days")
                              for i, k in enumerate(("improved", "same", "declined", "total"))])
    return pl.DataFrame(recs), direction


def test_transition_cells_hidden_cannot_be_worked_out_from_the_change_table():
    """A reader with the change table beside the transition table: better, same and worse are the cells below,
    on and above the diagonal. Before the two were linked, the 1 outstanding-to-outstanding school was the one
    hidden cell of the diagonal (186 - 25 - 97 - 63), and so on for the other two groups."""
    from cpdeval.disclosure import Problem, attack
    from cpdeval.tables import _parse_number

    counts = {(4, 2): 21, (4, 3): 85, (4, 4): 25, (3, 1): 2, (3, 2): 88, (3, 3): 97, (3, 4): 11, (2, 1): 6,
              (2, 2): 63, (2, 3): 8, (2, 4): 3, (1, 1): 1}          # the national synthetic year's counts
    transitions, direction = _rule_scope(counts)
    change = TP.publish_ofsted_direction(direction, min_days=365, threshold=T)
    matrix = TP.publish_ofsted_transitions(transitions, min_days=365, threshold=T)
    assert [r[3] for r in rows(change)] == ["202", "186", "22", "410"]
    problem = Problem()
    cells = {}
    for before, *shown in rows(matrix):
        for after, text in zip(matrix.headers[1:], shown):
            cell = (int(before[0]), int(after[0]))
            cells[cell] = text
            if text == "c":
                problem.suppressed.add(cell)
            else:
                problem.published[cell] = _parse_number(text)
    assert {c for c, v in counts.items() if 0 < v < T} <= problem.suppressed
    for (change_label, *_, n_rule, _), f in zip(rows(change), (lambda a, b: b < a, lambda a, b: b == a,
                                                                lambda a, b: b > a, lambda a, b: True)):
        problem.equations.append((("change", change_label), tuple(c for c in cells if f(*c))))
        problem.published[("change", change_label)] = _parse_number(n_rule)
    assert attack(problem, T) == []


def test_transitions_too_few_to_protect_beside_the_change_table_are_not_shown_one_by_one():
    """The small synthetic year: 10 schools, six non-zero transitions of 1 or 2. Beside the change table's total of
    10, six hidden counts of at least 1 each are at most 5: no count is left to hide (zeros are shown), so the
    table gives a note instead of cells."""
    counts = {(4, 3): 2, (4, 4): 2, (3, 2): 2, (3, 3): 1, (3, 4): 1, (2, 2): 2}
    transitions, direction = _rule_scope(counts)
    change = TP.publish_ofsted_direction(direction, min_days=365, threshold=T)
    assert [r[3] for r in rows(change)] == ["c", "c", "c", "10"]
    matrix = TP.publish_ofsted_transitions(transitions, min_days=365, threshold=T)
    assert matrix.headers == ["Note"]
    assert rows(matrix)[0][0].startswith("Too few schools were graded both before and at least 365 days after they "
                                         "began to show their grades one by one")


def test_ofsted_funnel():
    funnel = pl.DataFrame({"step": ["recruited", "active", "min_days"],
                           "label": ["Schools recruited", "Active schools", "At least"], "schools": [50, 48, 3]})
    t = TP.publish_ofsted_funnel(funnel, threshold=T)
    assert t.headers == ["Schools", "Number"]
    assert rows(t) == [("Schools recruited", "50"), ("Active schools", "48"), ("At least", "c")]


CASES = pl.DataFrame({"case_code": ["O01", "O02", "O03"], "direction": ["same", None, "improved"],
                      "days_after": [365, 120, 430], "meets_min_days": [True, False, True]})


def test_ofsted_cases_by_code_without_names():
    t = TP.publish_ofsted_cases(CASES, min_days=365, threshold=T)
    assert t.headers == ["Case", "Days after start", "At least 365 days"]
    assert rows(t) == [("O01", "365", "yes"), ("O02", "120", "no"), ("O03", "430", "yes")]


def test_ofsted_cases_internal_draft_shows_names():
    t = TP.publish_ofsted_cases(CASES.with_columns(pl.Series("school_name", ["A", "B", "C"])), min_days=30,
                                threshold=T)
    assert t.headers == ["Case", "School (internal draft)", "Days after start", "At least 30 days"]
    assert rows(t)[1] == ("O02", "B", "120", "no")


# -- self-assessment ------------------------------------------------------------------------------------------

def _baseline():
    subj_label = {"science": "Science", "design_technology": "Design and technology", "maths": "Maths",
                  "computer_science": "Computer science", "engineering": "Engineering", "stem_mean": "STEM mean",
                  "non_stem": "Non-STEM subjects"}
    crit = [("pupil_learning", "Pupil learning", 1), ("quality_of_teaching", "Quality of teaching", 0)]
    recs = []
    for ci, (c, cl, co) in enumerate(crit):
        for si, s in enumerate(TP.SA_SUBJECTS):
            n = 3 if (s == "engineering" and c == "pupil_learning") else 10 + si + ci
            recs.append({"subject": s, "subject_label": subj_label[s], "criterion": c, "criterion_label": cl,
                         "criterion_order": co, "n": n, "mean": 1.0 + si / 10 + ci / 100})
    return pl.DataFrame(recs)


def test_sa_wide_one_row_per_criterion_in_order():
    mw, labels = TP.sa_wide(_baseline())
    assert mw["criterion_label"].to_list() == ["Quality of teaching", "Pupil learning"]   # criterion_order
    assert mw["science"].to_list() == [1.01, 1.0]
    assert mw["n_engineering"].to_list() == [15, 3]
    assert labels["stem_mean"] == "STEM mean" and labels["non_stem"] == "Non-STEM subjects"
    assert {f"n_{s}" for s in TP.SA_SUBJECTS} <= set(mw.columns)


def test_sa_baseline_and_n_published():
    t = TP.publish_sa_baseline(_baseline(), threshold=T)
    assert t.headers == ["Criterion", "Science", "Design and technology", "Maths", "Computer science", "Engineering",
                         "STEM mean", "Non-STEM subjects"]
    assert rows(t)[0] == ("Quality of teaching", "1.01", "1.11", "1.21", "1.31", "1.41", "1.51", "1.61")
    assert rows(t)[1][5] == "c"                               # engineering, pupil learning: 3 schools
    assert rows(t)[1][1] == "1.00"
    n = TP.publish_sa_n(_baseline(), threshold=T)
    assert n.headers == t.headers
    assert rows(n)[0] == ("Quality of teaching", "11", "12", "13", "14", "15", "16", "17")
    assert rows(n)[1][5] == "c"
    assert n.notes[0].startswith("For a derived mean")


def test_sa_ranks_side_by_side():
    ranks = pl.DataFrame({
        "group": ["non_stem", "non_stem", "stem_mean", "stem_mean"],
        "criterion_label": ["B crit", "A crit", "A crit", "B crit"],
        "n": [30, 30, 12, 4], "mean": [2.3, 2.4, 2.55, 3.48], "rank": [1, 2, 1, 2]})
    t = TP.publish_sa_ranks(ranks, threshold=T)
    assert t.headers == ["Rank", "STEM subjects", "STEM subjects: mean", "Non-STEM subjects", "Non-STEM subjects: mean"]
    assert rows(t) == [("1", "A crit", "2.55", "B crit", "2.30"), ("2", "B crit", "c", "A crit", "2.40")]
    only_stem = TP.publish_sa_ranks(ranks.filter(pl.col("group") == "stem_mean"), threshold=T)
    assert only_stem.headers == ["Rank", "STEM subjects", "STEM subjects: mean"]


def test_sa_change_rows_stem_first_then_subjects():
    change = pl.DataFrame({
        "subject": ["science", "stem_mean", "maths", "stem_mean", "science", "stem_mean"],
        "subject_label": ["Science", "STEM mean", "Maths", "STEM mean", "Science", "STEM mean"],
        "subject_order": [0, 6, 2, 6, 0, 6],
        "criterion": ["subject_mean", "subject_mean", "subject_mean", "pupil_learning", "pupil_learning",
                      "quality_of_teaching"],
        "criterion_label": ["Subject mean", "Subject mean", "Subject mean", "Pupil learning", "Pupil learning",
                            "Quality of teaching"],
        "criterion_order": [4, 4, 4, 1, 1, 0],
        "n_paired": [15, 6, 3, 6, 15, 6],
        "mean_start_paired": [3.0, 2.5, 2.0, 2.8, 3.1, 2.54],
        "mean_end_paired": [2.0, 1.8, 1.5, 2.3, 2.4, 1.82],
        "mean_change": [-1.0, -0.7, -0.5, -0.5, -0.7, -0.72]})
    ch = TP.sa_change_rows(change)
    assert ch["row"].to_list() == ["STEM mean: Quality of teaching", "STEM mean: Pupil learning", "All STEM subjects",
                                   "Science", "Maths"]       # a subject's criterion cell is not a row
    t = TP.publish_sa_change(change, threshold=T)
    assert t.headers == ["Subject or criterion", "Schools", "Start", "End", "Change"]
    assert rows(t)[0] == ("STEM mean: Quality of teaching", "6", "2.54", "1.82", "-0.72")
    assert rows(t)[-1] == ("Maths", "c", "c", "c", "c")      # 3 schools


# -- maturity -------------------------------------------------------------------------------------------------

def test_maturity_path_below_threshold_reads_c():
    mat = pl.DataFrame({"aspect": ["cpd", "enrichment", "overall"], "label": ["CPD", "Enrichment", "Overall"],
                        "n_paired": [10, 10, 10], "mean_start": [1.3, 1.3, 1.3], "mean_end": [3.9, 3.2, 3.55],
                        "mean_change": [2.6, 1.9, 2.25], "typical_path": ["Beginning to Maturity",
                                                                            "Beginning to Results",
                                                                            "Beginning to Results"],
                        "typical_n": [6, 3, 14]})
    t = TP.publish_maturity(mat, threshold=T)
    assert t.headers == ["Aspect", "Schools", "Start (mean level)", "End (mean level)", "Average change",
                         "Most common path", "Schools on that path"]
    assert rows(t)[0] == ("CPD", "10", "1.3", "3.9", "2.6", "Beginning to Maturity", "6")
    assert rows(t)[1][5:] == ("c", "c")                       # 3 schools on the path: path and count withheld
    assert rows(t)[2][5:] == ("Beginning to Results", "14")


# -- outcomes -------------------------------------------------------------------------------------------------

AUDIENCE = pl.DataFrame({"audience": ["leaders", "teachers", "students", "total"],
                         "audience_label": ["Leaders", "Teachers", "Students", "All audiences"],
                         "n": [23, 49, 3, 75], "schools": [13, 20, 2, 27], "total": [75] * 4,
                         "pct": [23 / 75 * 100, 49 / 75 * 100, 4.0, 100.0]})


def test_outcomes_audience():
    t = TP.publish_outcomes_audience(AUDIENCE, threshold=T)
    assert t.headers == ["Audience", "Outcomes", "% of outcomes", "Schools with one or more"]
    # 3 outcomes for students are suppressed, and 23 leaders' too (3 = 75 - 23 - 49)
    assert rows(t) == [("Leaders", "c", "c", "13"), ("Teachers", "49", "65%", "20"), ("Students", "c", "c", "c"),
                       ("All audiences", "75", "100%", "27")]


def test_outcomes_type_within_audience():
    by_type = pl.DataFrame({"audience_label": ["Leaders", "Leaders", "Teachers", "Teachers"],
                            "label": ["Curricula", "Other (leaders)", "Use of knowledge", "Confidence"],
                            "n": [18, 0, 14, 9]})
    t = TP.publish_outcomes_type(by_type, threshold=T)
    assert t.headers == ["Audience", "Outcome type", "Outcomes"]
    assert rows(t) == [("Leaders", "Curricula", "18"), ("Leaders", "Other (leaders)", "0"),
                       ("Teachers", "Use of knowledge", "14"), ("Teachers", "Confidence", "9")]
    assert t.notes == ("Every type of the codebook is listed, including those not observed.",)


def test_outcome_figures_hide_what_the_tables_hide(tmp_path):
    """Teachers' 49 outcomes are published in the audience table; of their types, 3 is below the threshold, so
    the type table hides 6 too (else 49 - 40 - 6 gives the 3). The audience table hides Leaders' 23 (to protect
    Students' 3), so the type table must not show both of Leaders' types (17 + 6 would give the 23, and then
    75 - 49 - 23 the 3). The figures must not draw what the tables hide."""
    import json

    from cpdeval import targeted_figures as TF

    audience = AUDIENCE.with_columns(pl.Series("audience_order", [0, 1, 2, 3]))
    by_type = pl.DataFrame({"audience_label": ["Leaders", "Leaders", "Teachers", "Teachers", "Teachers", "Students"],
                            "label": ["Curricula", "Careers", "Use of knowledge", "Confidence", "Practical work",
                                      "Progress"],
                            "n": [17, 6, 40, 6, 3, 3], "audience_order": [0, 0, 1, 1, 1, 2],
                            "type_order": [0, 1, 0, 1, 2, 0]})
    shown_audience, shown_type = TP.outcome_counts_shown(audience, by_type, threshold=T)
    assert shown_audience == [False, True, False, True]                    # as test_outcomes_audience
    assert shown_type == [True, False, True, False, False, False]
    TF.fig_outcome_types(by_type, T, tmp_path / "types.png", shown_type)
    meta = json.loads((tmp_path / "types.png.json").read_text())
    assert "Use of knowledge: 40" in meta["alt_text"] and "Curricula: 17" in meta["alt_text"]
    assert "Confidence" not in meta["alt_text"] and "Careers" not in meta["alt_text"]
    assert meta["caption"].startswith("Outcome types observed in the case evidence, coloured by audience. Four "
                                      "other types with fewer than 5 outcomes, or hidden")
    TF.fig_outcomes_by_audience(audience, T, tmp_path / "audiences.png", shown_audience)
    meta = json.loads((tmp_path / "audiences.png.json").read_text())
    assert "Leaders suppressed" in meta["alt_text"] and "Teachers 49" in meta["alt_text"]   # 23 hidden, as in the table
    with pytest.raises(ValueError, match="flags for a table of 6 rows"):
        TF.fig_outcome_types(by_type, T, tmp_path / "x.png", shown_type[:-1])


def _by_domain():
    recs = []
    for a, al, ao, counts in (("teachers", "Teachers", 1, [12, 11, 2, 14]), ("leaders", "Leaders", 0, [5, 6, 7, 8]),
                              ("total", "All audiences", 9, [17, 17, 9, 22])):
        for (d, dl, do), k in zip((("skills", "Skills", 2), ("cognitive", "Cognitive", 0),
                                   ("affective", "Affective", 1), ("behavioural", "Behavioural", 3)),
                                  (counts[2], counts[0], counts[1], counts[3])):
            recs.append({"audience": a, "audience_label": al, "audience_order": ao, "domain": d, "domain_label": dl,
                         "domain_order": do, "base": sum(counts), "n": k})
    return pl.DataFrame(recs)


def test_domain_wide_rows_by_audience_columns_by_domain():
    dw, cols = TP.domain_wide(_by_domain())
    assert dw["audience_label"].to_list() == ["Leaders", "Teachers", "All audiences"]
    assert list(cols) == ["audience_label", "cognitive", "affective", "skills", "behavioural", "base"]
    assert [cols[k]["header"] for k in cols] == ["Audience", "Cognitive", "Affective", "Skills", "Behavioural",
                                                 "All domains"]
    assert dw.filter(pl.col("audience") == "teachers").select("cognitive", "affective", "skills", "behavioural",
                                                               "base").row(0) == (12, 11, 2, 14, 39)


def test_outcomes_domain_suppresses_small_cell_and_its_complement():
    t = TP.publish_outcomes_domain(_by_domain(), threshold=T)
    # 2 skills outcomes for teachers: suppressed, with a second cell in its row and in its column
    assert rows(t) == [("Leaders", "5", "c", "c", "8", "26"), ("Teachers", "12", "c", "c", "14", "39"),
                       ("All audiences", "17", "17", "9", "22", "65")]


def test_dose_groups_labelled_and_note_lists_bands():
    by_group = pl.DataFrame({
        "grouping": ["all", "unit_band", "unit_band", "phase", "phase"],
        "group": ["All case schools", "<10", "10–20", "Primary", "Secondary"],
        "schools": [27, 24, 3, 20, 7], "outcomes": [151, 130, 21, 111, 40],
        "mean_outcomes": [151 / 27, 130 / 24, 7.0, 5.55, 40 / 7], "mean_units": [28.7, 0.8, 13.5, 3.05, 101.86]})
    t = TP.publish_dose(by_group, band_labels=["<10", "10–20", ">20"], threshold=T)
    assert t.headers == ["Grouped by", "Group", "Case schools", "Outcomes", "Outcomes per school",
                         "CPD units per school"]
    # 3 schools in the 10-20 band: suppressed with their means, and the other band with it (27 = 24 + 3)
    assert rows(t) == [("All", "All case schools", "27", "151", "5.6", "28.7"),
                       ("CPD units", "<10", "c", "130", "c", "c"),
                       ("CPD units", "10–20", "c", "21", "c", "c"),
                       ("Phase", "Primary", "20", "111", "5.6", "3.1"),
                       ("Phase", "Secondary", "7", "40", "5.7", "101.9")]
    assert t.notes[0].startswith("Bands of CPD units: <10, 10–20, >20 (a school on a bound")


# -- feedback -------------------------------------------------------------------------------------------------

def _survey():
    recs = []
    for item in ("satisfaction", "quality"):
        for sub, grp, go, n in (("role", "Teacher", 1, 60), ("all", "All respondents", 0, 64), ("role", "Leader", 0, 4)):
            recs.append({"instrument": "event_feedback", "item_id": item, "subgroup": sub, "group": grp,
                         "group_order": go, "n_substantive": n, "n_positive": n - 2, "pct_positive": (n - 2) / n * 100,
                         "n_top": n // 2, "pct_top": (n // 2) / n * 100})
    recs.append({**recs[0], "instrument": "participant_impact"})     # another survey: left out
    recs.append({**recs[0], "item_id": "relevance"})                 # another item: left out
    recs.append({**recs[0], "subgroup": "phase", "group": "Primary"})  # another breakdown: left out
    return pl.DataFrame(recs)


def test_feedback_rows_filters_instrument_item_and_subgroup():
    fb = TP.feedback_rows(_survey())
    assert fb.height == 6
    assert set(fb["item_id"]) == {"satisfaction", "quality"} and set(fb["subgroup"]) == {"all", "role"}


def test_feedback_wide_all_first_then_roles_in_order():
    fr = TP.feedback_wide(_survey())
    assert fr["group"].to_list() == ["All respondents", "Leader", "Teacher"]
    assert fr["s_n"].to_list() == [64, 4, 60] and fr["q_pos"].to_list() == [62, 2, 58]


def test_feedback_role_published_and_small_role_suppressed():
    t = TP.publish_feedback_role(_survey(), threshold=T)
    assert t.headers == ["Role", "Satisfaction: respondents", "Good or better", "Excellent", "Quality: respondents",
                         "Good or very good", "Very good"]
    assert rows(t)[0] == ("All respondents", "64", "97%", "50%", "64", "97%", "50%")
    assert rows(t)[1][1] == "c" and rows(t)[1][2] == "c"      # 4 leaders
    assert rows(t)[2][1] == "c"                               # secondary: 60 = 64 - 4


def test_feedback_role_without_feedback_is_an_empty_table():
    t = TP.publish_feedback_role(_survey().filter(pl.col("instrument") == "none"), threshold=T)
    assert t.data.height == 0
    assert t.headers[0] == "Role"


# -- monitoring -----------------------------------------------------------------------------------------------

MONITORING = pl.DataFrame({
    "measure": ["teachers", "specialism", "specialism", "cpd_events", "community_events"],
    "measure_label": ["Teachers (including senior leaders)", "Teachers by subject specialism",
                      "Teachers by subject specialism", "CPD events by subject area", "Community events"],
    "category": ["all", "science", "design_technology", "science", "all"],
    "c1_primary": [40, 30, 10, 20, None], "c1_all": [None, None, None, None, 7],
    "c2_primary": [3, 2, 1, 9, None], "c2_all": [None, None, None, None, 2],
    "total": [43, 32, 11, 29, 9]})


def test_monitoring_matrix_columns_and_categories():
    matrix, cols = TP.monitoring_matrix(MONITORING)
    assert list(cols) == ["measure_label", "category", "c1_primary", "c2_primary", "total"]   # empty c*_all out
    assert cols["c2_primary"]["header"] == "Cohort 2 primary"
    assert matrix["category"].to_list() == ["All", "Science", "Design Technology", "Science"]


def test_monitoring_published_with_small_cells_suppressed():
    t = TP.publish_monitoring(MONITORING, threshold=T)
    assert t.headers == ["Measure", "Category", "Cohort 1 primary", "Cohort 2 primary", "Total"]
    # 3 teachers in cohort 2: suppressed, and 40 with it (43 = 40 + 3); teachers = the specialisms, so those
    # columns go too; the CPD events stand on their own
    assert rows(t) == [("Teachers (including senior leaders)", "All", "c", "c", "43"),
                       ("Teachers by subject specialism", "Science", "c", "c", "32"),
                       ("Teachers by subject specialism", "Design Technology", "c", "c", "11"),
                       ("CPD events by subject area", "Science", "20", "9", "29")]
    assert t.notes == ("As returned by the programme.",)


def test_community_events_by_cohort():
    assert TP.monitoring_cohorts(MONITORING) == ["1", "2"]
    assert TP.community_rows(MONITORING).rows() == [("Cohort 1", 7), ("Cohort 2", 2)]
    t = TP.publish_community(MONITORING, threshold=T)
    assert t.headers == ["Cohort", "Community events"]
    assert rows(t) == [("Cohort 1", "7"), ("Cohort 2", "c")]
    none = TP.community_rows(MONITORING.filter(pl.col("measure") != "community_events"))
    assert none.rows() == [("Cohort 1", None), ("Cohort 2", None)]
