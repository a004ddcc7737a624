"""Targeted programme (seed 002): reproduction of the published tables, known inconsistencies, edge cases.

The fixtures below are school-level inputs *built from the published tables* of seed 002 (Tables 1, 2, 11, 13,
14, 16, Appendices 3 and 4). Where the report publishes only aggregates, the school-level values are chosen
to be consistent with every published aggregate (the comments say how). Schools are identified by case
code and made-up URNs; no school is named.

Three groups of tests:
* reproduction: the analysis functions, run on the fixtures, give the published numbers;
* inconsistencies: assertions that the inconsistencies listed in the spec (§8.2 and §4 [CHECK]s) exist in
  the published numbers, so they are recorded as such rather than "fixed";
* edge cases and ingest: 364 vs 365 days, a subject not taught, a school with no end rating, contracts and
  the codebook, determinism.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import polars as pl
import pytest

from cpdeval import display as dsp
from cpdeval import targeted as tg
from cpdeval import targeted_figures as tgf
from cpdeval.ingest import targeted as tgi
from cpdeval.tables import find_disclosure_breaches, publish_table

CODEBOOK = tgi.load_codebook()
COHORT_START = {1: dt.date(2017, 10, 1), 2: dt.date(2018, 9, 1)}


def r2(x: float) -> float:
    """Round half up to 2 dp (the report's display rule)."""
    return float(Decimal(repr(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def r1(x: float) -> float:
    return float(Decimal(repr(x)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def pct0(k: int, n: int) -> int:
    return int(Decimal(100 * k / n).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


# =============================================================================================
# Published numbers (seed 002)
# =============================================================================================

# Table 16: case code, evidence, cohort, CPD units, phase, partnership, rating before, rating since, days after.
# (Codes: C = complete journey, numbered as the report's case studies 1-7; P partial journey; O Ofsted case
# analysis, numbered as "Ofsted 1-6"; S school's own case study; E educational lead's case study.)
TABLE16 = [
    ("C05", "complete_journey", 1, 5.4, "secondary", "Knowsley", 3, 3, 175),
    ("E01", "el_case_study", 2, 36.8, "primary", "Scunthorpe", 2, None, None),
    ("S01", "self_case_study", 2, 17.48, "secondary", "Cumbria", 3, 2, 292),
    ("C02", "complete_journey", 2, 3.8, "middle", "West Somerset", 3, 3, 190),
    ("C07", "complete_journey", 2, 1.8, "infant", "Milton Keynes", 2, None, None),
    ("C04", "complete_journey", 2, 13.1, "secondary", "Salford", 2, None, None),
    ("S02", "self_case_study", 1, 13.53, "secondary", "Knowsley", 2, None, None),
    ("C01", "complete_journey", 2, 9.6, "secondary", "St Helens", 3, 4, 328),
    ("P01", "partial_journey", 1, 0.0, "secondary", "Coventry", "new", 2, 713),
    ("S03", "self_case_study", 2, 5.0, "secondary", "Salford", 4, None, None),
    ("S04", "self_case_study", 1, 7.1, "secondary", "Knowsley", 4, 3, 393),
    ("S05", "self_case_study", 1, 9.43, "secondary", "Knowsley", 3, 3, 500),
    ("C06", "complete_journey", 1, 0.9, "primary", "Scunthorpe", 3, 3, 149),
    ("P02", "partial_journey", 1, 26.2, "primary", "Luton", 3, 2, 21),
    ("S06", "self_case_study", 1, 0.0, "secondary", "Knowsley", 3, 4, 491),
    ("S07", "self_case_study", 1, 13.59, "secondary", "Stoke-on-Trent", 2, None, None),
    ("C03", "complete_journey", 2, 20.63, "secondary", "St Helens", 3, 3, 299),
    ("S08", "self_case_study", 1, 9.8, "secondary", "Blackpool", 3, None, None),
    ("S09", "self_case_study", 2, 3.3, "primary", "Milton Keynes", 2, None, None),
    ("E02", "el_case_study", 2, 1.8, "primary", "Scunthorpe", 3, 2, 356),
    ("E03", "el_case_study", 2, 7.0, "infant", "Scunthorpe", 3, 2, 365),
    ("S10", "self_case_study", 1, 10.44, "secondary", "Stoke-on-Trent", 3, 3, 357),
    ("S11", "self_case_study", 2, 6.3, "primary", "Wolverhampton", 2, 2, 346),
    ("O01", "ofsted_case", 1, 32.79, "secondary", "Blackpool", 3, 3, 712),
    ("O02", "ofsted_case", 1, 16.8, "secondary", "Derby", 4, 4, 435),
    ("O03", "ofsted_case", 1, 10.7, "secondary", "Derby", 4, 2, 419),
    ("O04", "ofsted_case", 2, 16.3, "secondary", "South Humber", 3, 2, 492),
    ("O05", "ofsted_case", 2, 1.0, "secondary", "Nottingham", 3, 3, 393),
    ("O06", "ofsted_case", 1, 1.8, "secondary", "Blackpool", 3, 3, 364),
]

# Table 1 (191 active schools) and Appendix 3 (transitions among the 82 reinspected).
TABLE1 = {"4": (23, 12, 11), "3": (84, 55, 28), "2": (61, 15, 0), "1": (1, 0, None), "new_school": (22, None, None),
          "total": (191, 82, 39)}
APPENDIX3 = {(4, 3): 9, (4, 2): 2, (3, 2): 27, (3, 1): 1, (2, 1): 0, (4, 4): 1, (3, 3): 24, (2, 2): 13, (1, 1): 0,
             (3, 4): 3, (2, 4): 1, (2, 3): 1}
DIRECTION = {"improved": (39, 48), "same": (38, 46), "declined": (5, 6)}
MIN_DAYS_SAMPLE = 39      # "a full inspection report at least 1 year after their engagement"
OFSTED_CASES = 6

# Table 2 (start, 15 schools) as published; subject x criterion.
TABLE2 = {
    "quality_of_teaching": {"science": 2.67, "design_technology": 2.29, "maths": 2.20, "computer_science": 2.62,
                            "engineering": 2.40, "stem_mean": 2.43, "non_stem": 2.21},
    "pupil_learning": {"science": 2.93, "design_technology": 2.57, "maths": 2.40, "computer_science": 2.85,
                       "engineering": 2.60, "stem_mean": 2.67, "non_stem": 2.36},
    "subject_leading": {"science": 2.40, "design_technology": 2.36, "maths": 2.13, "computer_science": 2.54,
                        "engineering": 2.20, "stem_mean": 2.33, "non_stem": 2.29},
    "careers_education": {"science": 3.00, "design_technology": 3.33, "maths": 3.08, "computer_science": 3.08,
                          "engineering": 3.33, "stem_mean": 3.17, "non_stem": 3.00},
    "subject_mean": {"science": 2.75, "design_technology": 2.64, "maths": 2.45, "computer_science": 2.77,
                     "engineering": 2.63, "stem_mean": 2.65, "non_stem": 2.46},
}
TABLE3 = {"stem_mean": ["subject_leading", "quality_of_teaching", "pupil_learning", "careers_education"],
          "non_stem": ["quality_of_teaching", "subject_leading", "pupil_learning", "careers_education"]}
# The (n, sum of scores) of each Table 2 cell: n schools that rated it. The published means fix the sums;
# n is the only choice consistent with all the published means (including 3.17 for the STEM careers mean,
# which needs maths careers at 37/12, not 40/13).
TABLE2_CELLS = {
    "science": {"quality_of_teaching": (15, 40), "pupil_learning": (15, 44), "subject_leading": (15, 36),
                "careers_education": (15, 45)},
    "design_technology": {"quality_of_teaching": (14, 32), "pupil_learning": (14, 36), "subject_leading": (14, 33),
                          "careers_education": (12, 40)},
    "maths": {"quality_of_teaching": (15, 33), "pupil_learning": (15, 36), "subject_leading": (15, 32),
              "careers_education": (12, 37)},
    "computer_science": {"quality_of_teaching": (13, 34), "pupil_learning": (13, 37), "subject_leading": (13, 33),
                         "careers_education": (13, 40)},
    "engineering": {"quality_of_teaching": (5, 12), "pupil_learning": (5, 13), "subject_leading": (5, 11),
                    "careers_education": (3, 10)},
    "non_stem": {"quality_of_teaching": (14, 31), "pupil_learning": (14, 33), "subject_leading": (14, 32),
                 "careers_education": (14, 42)},
}
# Table 14 (school C01): start / end per subject, criteria in CRITERIA order.
TABLE14 = {
    "science": ([3, 4, 2, 4], [1, 2, 1, 2]),
    "design_technology": ([2, 3, 2, 4], [1, 1, 1, 2]),
    "maths": ([3, 3, 3, 4], [1, 1, 2, 2]),
    "computer_science": ([3, 3, 3, 4], [1, 1, 1, 2]),
    "engineering": ([2, 3, 2, 4], [1, 1, 1, 2]),
}
TABLE14_STEM_MEAN = {"quality_of_teaching": (2.6, 1.0), "pupil_learning": (3.2, 1.2), "subject_leading": (2.4, 1.2),
                     "careers_education": (4.0, 2.0), "subject_mean": (3.05, 1.35)}
TABLE14_SUBJECT_MEAN = {"science": (3.25, 1.5), "design_technology": (2.75, 1.25), "maths": (3.25, 1.5),
                        "computer_science": (3.25, 1.25), "engineering": (2.75, 1.25)}

# Table 11 counts by outcome type (codebook ids).
TABLE11 = {
    "leaders_developing_curricula": 8, "leaders_use_leadership_skills": 6, "leaders_leadership_knowledge": 6,
    "leaders_stem_curricula": 6, "leaders_careers_awareness": 2, "leaders_data_confidence": 2, "leaders_other": 1,
    "teachers_use_knowledge": 15, "teachers_enthusiasm_confidence": 15, "teachers_pedagogical_knowledge": 12,
    "teachers_technical_skills": 5, "teachers_subject_knowledge": 5, "teachers_other": 0,
    "school_quality_of_teaching": 12, "school_sharing_practice": 9, "school_stem_profile": 6,
    "school_stem_leadership": 4, "school_progress_attainment": 3, "school_students_taking_stem": 1,
    "school_support_other_departments": 1, "school_other": 1, "school_careers_capacity": 0,
    "school_students_considering_stem": 0,
    "students_progress": 14, "students_confidence_engagement": 14, "students_attainment": 9, "students_other": 8,
    "students_vulnerable_engagement": 6, "students_behaviour_safety": 0,
    "community_partnerships_trusts": 7, "community_communities": 6,
}
TABLE11_AUDIENCE = {"leaders": 31, "teachers": 52, "colleagues_school": 37, "students": 51, "wider_communities": 13}
EXEC_SUMMARY_SHARES = {"teachers": 28, "students": 28, "colleagues_school": 20, "leaders": 17, "wider_communities": 7}
COMPLETE_JOURNEY_OUTCOMES = 78          # "78 of these outcomes (42%) ... 7 schools"

# Table 13: average change per aspect (1 dp), overall 1.6, modal shift 2.
TABLE13 = {"cpd_for_teachers": 2.1, "enrichment": 2.0, "collaboration": 1.6, "stem_teaching": 1.4,
           "subject_leadership": 1.4, "careers_education": 1.1, "overall": 1.6}
# School-level start -> end paths for the 7 complete journeys (C01..C07), consistent with Table 13's means
# and the distributions in the report's maturity boxes (7.1-7.4):
#  leadership: 2 schools beginning -> early progress, 4 results -> maturity (the mean 1.4 then needs +4 for the 7th);
#  teaching: 5 start at beginning, 2 at early progress, 4 end at results or higher;
#  enrichment: 6 start at beginning, all 7 end at results or higher;
#  careers: 5 start at beginning; at the end 1 still there, 3 at early progress, 3 at results or higher;
#  CPD: all from a low start to at least early progress, most to results, 2 to maturity.
MATURITY_PATHS = {
    "subject_leadership": [(1, 2), (1, 2), (3, 4), (3, 4), (3, 4), (3, 4), (1, 5)],
    "stem_teaching": [(1, 3), (1, 3), (1, 3), (2, 4), (1, 2), (1, 2), (2, 2)],
    "enrichment": [(1, 3), (1, 3), (1, 3), (1, 3), (1, 3), (1, 3), (2, 4)],
    "careers_education": [(1, 1), (1, 2), (1, 2), (1, 2), (1, 3), (2, 3), (2, 4)],
    "cpd_for_teachers": [(1, 3), (1, 3), (1, 3), (1, 3), (1, 4), (1, 4), (2, 3)],
    "collaboration": [(1, 3), (1, 3), (1, 3), (1, 3), (1, 2), (1, 2), (1, 2)],
}

# Appendix 4: (cohort, phase) columns C1 primary, C1 secondary, C2 primary, C2 secondary.
APPENDIX4 = {
    ("slt", "all"): (75, 129, 195, 242),
    ("teachers", "all"): (320, 687, 672, 1123),
    ("specialism", "science"): (77, 232, 139, 421), ("specialism", "technology"): (27, 84, 51, 103),
    ("specialism", "engineering"): (7, 23, 6, 51), ("specialism", "maths"): (69, 151, 130, 245),
    ("specialism", "computing"): (27, 62, 57, 95), ("specialism", "other"): (113, 135, 289, 208),
    ("cpd_events", "science"): (99, 293, 211, 474), ("cpd_events", "technology"): (37, 73, 44, 55),
    ("cpd_events", "engineering"): (10, 32, 22, 37), ("cpd_events", "maths"): (75, 104, 102, 154),
    ("cpd_events", "computing"): (62, 95, 67, 135), ("cpd_events", "leadership"): (68, 129, 97, 152),
    ("cpd_events", "other"): (26, 68, 54, 77),
}
COMMUNITY_EVENTS = {1: 39, 2: 40}


# =============================================================================================
# Fixture builders
# =============================================================================================

def _fill(n: int, total: int, fixed: list[int] = ()) -> list[int]:
    """n integer scores (1-4) summing to ``total``, starting with ``fixed``, the rest as even as possible."""
    rest_n, rest = n - len(fixed), total - sum(fixed)
    base, extra = divmod(rest, rest_n)
    vals = list(fixed) + [base + 1] * extra + [base] * (rest_n - extra)
    assert len(vals) == n and sum(vals) == total and all(1 <= v <= 4 for v in vals), (n, total, fixed)
    return vals


class Seed:
    """The seed-002 inputs, school level, as canonical (ingested) tables."""

    def __init__(self):
        self.urn = {}
        rows, ofsted, next_urn = [], [], [700001]

        def new_urn():
            next_urn[0] += 1
            return next_urn[0]

        def add_school(code, evidence, cohort, phase, partnership, pre, post, days, status="active",
                       monitoring_after=False):
            urn = new_urn()
            start = COHORT_START[cohort]
            rows.append({"urn": urn, "engagement_start": start, "partnership": partnership, "cohort": cohort,
                         "phase": phase, "status": status, "case_code": code, "evidence": evidence,
                         "school_name": f"Name of {code}" if code else None})
            if code:
                self.urn[code] = urn
            if pre == "new":
                ofsted.append({"urn": urn, "inspection_date": None, "inspection_type": None,
                               "overall_effectiveness": None, "status": "new_school"})
            elif pre is not None:
                # an older inspection with another grade, then the latest one before engagement
                ofsted.append({"urn": urn, "inspection_date": start - dt.timedelta(days=1400), "inspection_type": "full",
                               "overall_effectiveness": min(4, pre + 1) if pre < 4 else 3, "status": "inspected"})
                ofsted.append({"urn": urn, "inspection_date": start - dt.timedelta(days=300), "inspection_type": "full",
                               "overall_effectiveness": pre, "status": "inspected"})
            if post is not None:
                ofsted.append({"urn": urn, "inspection_date": start + dt.timedelta(days=days), "inspection_type": "full",
                               "overall_effectiveness": post, "status": "inspected"})
                if monitoring_after:   # an ungraded monitoring visit after the graded one changes nothing
                    ofsted.append({"urn": urn, "inspection_date": start + dt.timedelta(days=days + 90),
                                   "inspection_type": "monitoring", "overall_effectiveness": None,
                                   "status": "inspected"})
            return urn

        for code, ev, coh, units, phase, dp, pre, post, days in TABLE16:
            add_school(code, ev, coh, phase, dp, pre, post, days, monitoring_after=code in ("O02", "C05"))

        # the other active schools, filling Table 1 and Appendix 3 around the 29 of Table 16
        in16 = Counter()
        for row in TABLE16:
            pre, post = row[6], row[7]
            if pre == "new":
                in16[("new", post)] += 1
            else:
                in16[(pre, post)] += 1
        fill = []
        for (pre, post), n in APPENDIX3.items():
            fill += [(pre, post)] * (n - in16[(pre, post)])
        for pre in (4, 3, 2, 1):
            not_insp = TABLE1[str(pre)][0] - TABLE1[str(pre)][1]
            fill += [(pre, None)] * (not_insp - in16[(pre, None)])
        fill += [("new", None)] * (TABLE1["new_school"][0] - sum(v for k, v in in16.items() if k[0] == "new"))
        # days after for the reinspected fillers: 39 inspected at least 365 days after in all (9 from Table 16)
        t16_rule = sum(1 for r in TABLE16 if r[8] is not None and r[6] != "new" and r[8] >= 365)
        need_rule = MIN_DAYS_SAMPLE - t16_rule
        k = 0
        for i, (pre, post) in enumerate(fill):
            days = None
            if post is not None:
                days = 400 + 3 * k if k < need_rule else 30 + 4 * (k - need_rule)
                k += 1
            add_school(None, None, 1 + i % 2, "primary" if i % 3 else "secondary", f"DP{i % 30:02d}", pre, post, days)
        # recruited but not active (206 - 191): some with inspections, which must not count
        for i in range(10):
            add_school(None, None, 1, "primary", "DP90", 3, 2, 500, status="less_active")
        for i in range(5):
            add_school(None, None, 2, "secondary", "DP91", 4, 2, 400, status="withdrawn")
        self.schools = pl.DataFrame(rows, schema={
            "urn": pl.Int64, "engagement_start": pl.Date, "partnership": pl.Utf8, "cohort": pl.Int64, "phase": pl.Utf8,
            "status": pl.Utf8, "case_code": pl.Utf8, "evidence": pl.Utf8, "school_name": pl.Utf8})
        self.ofsted = pl.DataFrame(ofsted, schema={"urn": pl.Int64, "inspection_date": pl.Date, "inspection_type": pl.Utf8,
                                                   "overall_effectiveness": pl.Int64, "status": pl.Utf8})
        self.self_assessment = self._self_assessment()
        self.maturity = self._maturity()
        self.outcomes = self._outcomes()
        self.bookings = self._bookings()
        self.monitoring = self._monitoring()

    def _self_assessment(self) -> pl.DataFrame:
        # 15 action-plan schools: C01 (the only re-assessed school) and 14 others
        urns = [self.urn["C01"]] + [self.urn[c] for c in ("C02", "C03", "C05", "C06", "C07", "S01", "S02", "S03", "S04",
                                                          "S05", "S06", "S07", "S08", "S09")]
        rows = []
        for subject in tg.SUBJECTS:
            for ci, criterion in enumerate(tg.CRITERIA):
                n, total = TABLE2_CELLS[subject][criterion]
                if subject == "non_stem":
                    raters, fixed = urns[1:1 + n], []          # C01 gave no non-STEM rating
                else:
                    raters, fixed = urns[:n], [TABLE14[subject][0][ci]]
                scores = _fill(n, total, fixed)
                for u in urns:
                    score = scores[raters.index(u)] if u in raters else None   # blank: not taught / not rated
                    rows.append({"urn": u, "subject": subject, "criterion": criterion, "timepoint": "start",
                                 "score": score})
                if subject != "non_stem":
                    rows.append({"urn": urns[0], "subject": subject, "criterion": criterion, "timepoint": "end",
                                 "score": TABLE14[subject][1][ci]})
        return pl.DataFrame(rows, schema={"urn": pl.Int64, "subject": pl.Utf8, "criterion": pl.Utf8,
                                          "timepoint": pl.Utf8, "score": pl.Int64})

    def _maturity(self) -> pl.DataFrame:
        rows = []
        for aspect, paths in MATURITY_PATHS.items():
            for i, (a, b) in enumerate(paths):
                u = self.urn[f"C0{i + 1}"]
                rows.append({"urn": u, "aspect": aspect, "timepoint": "start", "level": a})
                rows.append({"urn": u, "aspect": aspect, "timepoint": "end", "level": b})
        return pl.DataFrame(rows, schema={"urn": pl.Int64, "aspect": pl.Utf8, "timepoint": pl.Utf8, "level": pl.Int64})

    def _outcomes(self) -> pl.DataFrame:
        types = {t["id"]: t for t in CODEBOOK["outcome_types"]}
        items = [tid for tid, n in TABLE11.items() for _ in range(n)]
        cj = [f"C0{i}" for i in range(1, 8)]
        others = [r[0] for r in TABLE16 if r[0] not in cj]
        # 78 outcomes over the 7 complete journeys, 106 over the other 22 schools
        quota = dict(zip(cj, [11] * 6 + [12]))
        quota.update(dict(zip(others, [5] * 18 + [4] * 4)))
        assert sum(quota.values()) == len(items) == 184
        seq = [c for c in quota for _ in range(quota[c])]
        seq = seq[::2] + seq[1::2]   # interleave so that audiences spread over schools
        ev = {r[0]: r[1] for r in TABLE16}
        rows = []
        for i, (tid, code) in enumerate(zip(items, seq)):
            t = types[tid]
            rows.append({"outcome_id": f"OC{i + 1:04d}", "urn": self.urn[code], "audience": t["audience"],
                         "outcome_type": tid, "domain": t["domain"] or "behavioural", "evidence": ev[code],
                         "codebook_version": CODEBOOK["version"]})
        return pl.DataFrame(rows)

    def _bookings(self) -> pl.DataFrame:
        rows = []
        for code, _, coh, units, *_ in TABLE16:
            u = self.urn[code]
            start = COHORT_START[coh]
            if units:
                rows.append({"urn": u, "school_key": u, "units": units, "status": "attended",
                             "start_date": start + dt.timedelta(days=30), "activity_id": f"A{code}"})
            # neither a cancelled booking nor one before the school began counts
            rows.append({"urn": u, "school_key": u, "units": 3.0, "status": "cancelled",
                         "start_date": start + dt.timedelta(days=40), "activity_id": "AX"})
            rows.append({"urn": u, "school_key": u, "units": 4.0, "status": "attended",
                         "start_date": start - dt.timedelta(days=1), "activity_id": "AY"})
        return pl.DataFrame(rows, schema={"urn": pl.Int64, "school_key": pl.Int64, "units": pl.Float64, "status": pl.Utf8,
                                          "start_date": pl.Date, "activity_id": pl.Utf8})

    def _monitoring(self) -> pl.DataFrame:
        rows = []
        cols = [(1, "primary"), (1, "secondary"), (2, "primary"), (2, "secondary")]
        for (measure, category), vals in APPENDIX4.items():
            for (cohort, phase), v in zip(cols, vals):
                rows.append({"cohort": cohort, "phase": phase, "measure": measure, "category": category, "count": v})
        for cohort, v in COMMUNITY_EVENTS.items():
            rows.append({"cohort": cohort, "phase": "all", "measure": "community_events", "category": "all", "count": v})
        return pl.DataFrame(rows, schema={"cohort": pl.Int64, "phase": pl.Utf8, "measure": pl.Utf8, "category": pl.Utf8,
                                          "count": pl.Int64})


@pytest.fixture(scope="module")
def seed() -> Seed:
    return Seed()


@pytest.fixture(scope="module")
def tables(seed) -> dict:
    return tg.targeted_tables(seed.schools, seed.ofsted, seed.maturity, seed.self_assessment, seed.outcomes,
                              seed.monitoring, seed.bookings, None, codebook=CODEBOOK, min_days=365,
                              unit_bands=[10, 20])


def _cell(df: pl.DataFrame, **eq):
    sub = df
    for k, v in eq.items():
        sub = sub.filter(pl.col(k) == v)
    assert sub.height == 1, eq
    return sub.row(0, named=True)


# =============================================================================================
# Reproduction: Ofsted (Table 1, Appendix 3, funnel 191 -> 82 -> 39 -> 6)
# =============================================================================================

def test_table1_reproduces(tables):
    t = tables["ofsted_by_pre"]
    for key, (schools, inspected, improved) in TABLE1.items():
        row = _cell(t, pre_group=key)
        assert row["schools"] == schools, key
        assert row["inspected_since"] == inspected, key
        assert row["improved"] == improved, key
    assert _cell(t, pre_group="1")["improved_status"] == "z"
    assert _cell(t, pre_group="new_school")["inspected_status"] == "z"
    assert "not_inspected" not in t["pre_group"].to_list()


def test_appendix3_transitions_and_direction_reproduce(tables):
    tr = tables["ofsted_transitions"].filter(pl.col("scope") == "since_engagement")
    for (pre, post), n in APPENDIX3.items():
        assert _cell(tr, pre_rating=pre, post_rating=post)["n"] == n, (pre, post)
    assert tr["n"].sum() == 82
    dr = tables["ofsted_direction"].filter(pl.col("scope") == "since_engagement")
    for k, (n, pct) in DIRECTION.items():
        row = _cell(dr, direction=k)
        assert row["n"] == n and row["base"] == 82
        assert dsp.round_half_away(row["pct"]) == pct
    # endnote 14: the five declines were 3 -> 4 (three), 2 -> 3 (one), 2 -> 4 (one)
    dec = {(r["pre_rating"], r["post_rating"]): r["n"] for r in tr.filter(pl.col("direction") == "declined")
           .filter(pl.col("n") > 0).iter_rows(named=True)}
    assert dec == {(3, 4): 3, (2, 3): 1, (2, 4): 1}


def test_text_figures_on_ofsted_reproduce(tables):
    s = tables["summary"]["ofsted"]
    assert s["active"] == 191
    # "82 (43%)" reinspected, "109 (57%)" not
    assert s["inspected_since"] == 82 and pct0(82, 191) == 43 and pct0(191 - 82, 191) == 57
    # "107 (56%) of the 191" RI or inadequate before; 67 of them inspected since, 39 (58%) improved
    ri = s["ri_or_inadequate"]
    assert (ri["schools"], ri["inspected_since"], ri["improved"]) == (107, 67, 39)
    assert pct0(107, 191) == 56 and pct0(39, 67) == 58
    # endnote 7: "61 (32%)" good, 1 outstanding, "22 (12%)" new schools
    assert pct0(61, 191) == 32 and pct0(22, 191) == 12 and s["new_school"] == 22


def test_funnel_191_82_39_6(tables):
    f = {r["step"]: r["schools"] for r in tables["ofsted_funnel"].iter_rows(named=True)}
    assert f["recruited"] == 206
    assert f["active"] == 191
    assert f["inspected_before_and_since"] == 82
    assert f["min_days"] == MIN_DAYS_SAMPLE
    assert f["ofsted_cases"] == OFSTED_CASES


def test_table12_case_schools_by_code(tables):
    c = tables["ofsted_cases"]
    assert c["case_code"].to_list() == ["O01", "O02", "O03", "O04", "O05", "O06"]
    assert "school_name" not in c.columns and "urn" not in c.columns
    assert c["direction"].to_list() == ["same", "same", "improved", "improved", "same", "same"]


def test_names_only_when_allowed(seed):
    st = tg.ofsted_status(seed.schools, seed.ofsted, 365)
    named = tg.ofsted_cases(seed.schools, st, allow_names=True)
    assert named["school_name"].to_list()[0] == "Name of O01"
    so = tg.school_outcomes(seed.schools, seed.outcomes, tg.cpd_units_by_school(seed.schools, seed.bookings))
    assert "school_name" not in so.columns


# =============================================================================================
# Reproduction: self-assessment (Tables 2, 3, 14)
# =============================================================================================

def test_table2_reproduces_with_per_cell_n(tables):
    m = tables["sa_baseline"]
    for criterion, by_subject in TABLE2.items():
        for subject, published in by_subject.items():
            row = _cell(m, subject=subject, criterion=criterion)
            assert r2(row["mean"]) == published, (subject, criterion, row["mean"])
    for subject, cells in TABLE2_CELLS.items():
        for criterion, (n, _) in cells.items():
            assert _cell(m, subject=subject, criterion=criterion)["n"] == n
    # a derived mean carries its smallest component n as its base
    assert _cell(m, subject="stem_mean", criterion="careers_education")["n"] == 3
    assert tables["summary"]["self_assessment"]["schools_start"] == 15


def test_table3_ranks_reproduce(tables):
    r = tables["sa_ranks"]
    for group, order in TABLE3.items():
        got = r.filter(pl.col("group") == group).sort("rank")["criterion"].to_list()
        assert got == order, group
        assert r.filter(pl.col("group") == group)["rank"].to_list() == [1, 2, 3, 4]


def test_table14_reproduces(seed):
    ch = tg.self_assessment_change(seed.self_assessment, urns=[seed.urn["C01"]])
    for criterion, (s, e) in TABLE14_STEM_MEAN.items():
        row = _cell(ch, subject="stem_mean", criterion=criterion)
        assert (r2(row["mean_start_paired"]), r2(row["mean_end_paired"])) == (s, e), criterion
    for subject, (s, e) in TABLE14_SUBJECT_MEAN.items():
        row = _cell(ch, subject=subject, criterion="subject_mean")
        assert (row["mean_start_paired"], row["mean_end_paired"]) == (s, e), subject
    for subject, (starts, ends) in TABLE14.items():
        for ci, criterion in enumerate(tg.CRITERIA):
            row = _cell(ch, subject=subject, criterion=criterion)
            assert (row["mean_start_paired"], row["mean_end_paired"], row["n_paired"]) == (starts[ci], ends[ci], 1)
    # "none rated a 3 or a 4" at the end
    cc = tg.self_assessment_cell_counts(seed.self_assessment)
    assert cc.row(0, named=True)["end_3_or_4"] == 0


def test_self_assessment_change_pairs_only_reassessed_schools(tables):
    ch = tables["sa_change"]
    row = _cell(ch, subject="science", criterion="quality_of_teaching")
    assert (row["n_start"], row["n_end"], row["n_paired"]) == (15, 1, 1)
    assert row["mean_change"] == -2.0       # 3 -> 1: two grades better
    assert _cell(ch, subject="non_stem", criterion="quality_of_teaching")["n_paired"] == 0


# =============================================================================================
# Reproduction: maturity (Table 13)
# =============================================================================================

def test_table13_reproduces(tables):
    m = tables["maturity"]
    for aspect, published in TABLE13.items():
        assert r1(_cell(m, aspect=aspect)["mean_change"]) == published, aspect
    overall = _cell(m, aspect="overall")
    assert overall["mode_change"] == 2 and overall["modes"] == "2"        # "a modal shift in maturity of 2"
    assert m["aspect"].to_list()[:2] == ["cpd_for_teachers", "enrichment"] and m["aspect"][-1] == "overall"
    assert _cell(m, aspect="careers_education")["typical_path"] == "Beginning to Early progress"
    assert _cell(m, aspect="enrichment")["typical_path"] == "Beginning to Results"
    assert _cell(m, aspect="enrichment")["typical_n"] == 6 and _cell(m, aspect="enrichment")["typical_majority"]
    # "4 or more of the 7": results -> maturity is the path of four schools for subject leadership
    assert _cell(m, aspect="subject_leadership")["typical_path"] == "Results to Maturity"
    assert all(_cell(m, aspect=a)["n_paired"] == 7 for a in tg.ASPECTS)


# =============================================================================================
# Reproduction: outcomes (Table 11, executive summary), units, monitoring (Appendix 4)
# =============================================================================================

def test_table11_reproduces(tables):
    t = tables["outcomes_type"]
    assert t.height == 31
    for tid, n in TABLE11.items():
        assert _cell(t, outcome_type=tid)["n"] == n, tid
    a = tables["outcomes_audience"]
    for aud, n in TABLE11_AUDIENCE.items():
        assert _cell(a, audience=aud)["n"] == n
    assert _cell(a, audience="total")["n"] == 184
    for aud, pct in EXEC_SUMMARY_SHARES.items():
        assert dsp.round_half_away(_cell(a, audience=aud)["pct"]) == pct, aud
    assert tables["summary"]["outcomes"]["types_observed"] == 27          # "184 outcomes, across 27 typologies"
    assert tables["summary"]["outcomes"]["case_schools"] == 29
    dom = tables["outcomes_domain"].filter(pl.col("audience") == "total")
    assert dom["n"].sum() == 184


def test_outcomes_per_school_and_evidence_depth(tables):
    g = tables["outcomes_group"]
    allr = _cell(g, grouping="all")
    assert (allr["schools"], allr["outcomes"]) == (29, 184)
    assert dsp.round_half_away(allr["mean_outcomes"]) == 6            # "an average of 6 per school"
    cj = _cell(g, grouping="evidence", group="Complete journey")
    assert (cj["schools"], cj["outcomes"]) == (7, COMPLETE_JOURNEY_OUTCOMES)
    assert pct0(COMPLETE_JOURNEY_OUTCOMES, 184) == 42


def test_cpd_units_and_bands_reproduce(seed, tables):
    units = tg.cpd_units_by_school(seed.schools, seed.bookings)
    case = units.join(seed.schools.filter(pl.col("case_code").is_not_null()).select("urn", "case_code"), on="urn")
    assert round(case["units"].sum(), 2) == 302.39
    cj = case.filter(pl.col("case_code").str.starts_with("C"))
    assert round(cj["units"].sum(), 2) == 55.23                         # "55.2 CPD units (276 CPD hours)"
    assert dsp.round_half_away(cj["hours"].sum()) == 276
    assert _cell(case, case_code="C03")["hours"] == pytest.approx(103.15)   # 20.63 units = 103 hours
    bands = tables["outcomes_group"].filter(pl.col("grouping") == "unit_band")
    assert bands["group"].to_list() == ["<10", "10–20", ">20"]
    assert bands["schools"].to_list() == [17, 8, 4]


def test_appendix4_monitoring_reproduces(tables):
    m = tables["monitoring"]
    assert _cell(m, measure="teachers")["total"] == 2802
    assert _cell(m, measure="slt")["total"] == 641
    events = m.filter(pl.col("measure") == "cpd_events")
    assert events["total"].sum() == 2852
    assert [events[c].sum() for c in ("c1_primary", "c1_secondary", "c2_primary", "c2_secondary")] == [377, 794, 597, 1084]
    assert pct0(377 + 597, 2852) == 34                                  # "34% ... to primary"
    assert round(100 * _cell(m, measure="cpd_events", category="science")["total"] / 2852, 1) == 37.8
    spec = m.filter(pl.col("measure") == "specialism")
    assert {r["category"]: r["total"] for r in spec.iter_rows(named=True)} == {
        "science": 869, "maths": 595, "technology": 265, "computing": 241, "engineering": 87, "other": 745}
    checks = [c for c in tables["summary"]["checks"] if c["check"].startswith("specialisms")]
    assert len(checks) == 4 and all(c["ok"] for c in checks)


# =============================================================================================
# Inconsistencies in the published numbers (recorded, not fixed)
# =============================================================================================

def test_inconsistency_communities_12_in_text_13_in_table():
    text = {**TABLE11_AUDIENCE, "wider_communities": 12}
    assert sum(TABLE11_AUDIENCE.values()) == 184
    assert sum(text.values()) == 183 != 184


def test_inconsistency_number_of_outcome_types():
    rows = len(TABLE11)
    nonzero = sum(1 for n in TABLE11.values() if n)
    framework = 25                     # "identified 25 possible outcomes"
    chapter6 = 25                      # "25 different types of outcome observed"
    assert (rows, nonzero) == (31, 27)
    assert chapter6 != nonzero and framework != rows


def test_inconsistency_table2_stem_means_not_reproducible_from_rounded_cells():
    # recomputed from the published (rounded) cells the STEM means would be 2.44 and 3.16, not 2.43 and 3.17;
    # the school-level fixture, with per-cell n, gives the published values (test_table2_reproduces)
    teach = sum(TABLE2["quality_of_teaching"][s] for s in tg.STEM_SUBJECTS) / 5
    careers = sum(TABLE2["careers_education"][s] for s in tg.STEM_SUBJECTS) / 5
    assert r2(teach) == 2.44 != TABLE2["quality_of_teaching"]["stem_mean"]
    assert r2(careers) == 3.16 != TABLE2["careers_education"]["stem_mean"]


def test_inconsistency_non_stem_mean_246_in_table_247_in_text(tables):
    text_value = 2.47
    assert TABLE2["subject_mean"]["non_stem"] == 2.46 != text_value
    assert r2(_cell(tables["sa_baseline"], subject="non_stem", criterion="subject_mean")["mean"]) == 2.46


def test_inconsistency_table14_denominator_16_not_20(tables):
    s = tables["summary"]["self_assessment"]
    assert s["cells_paired"] == 20 != 16       # the grid has 5 subjects x 4 criteria
    assert s["cells_start_3_or_4"] == 15        # "15 out 16 ... (94%)": 15 of 20 is 75%
    assert s["cells_end_1"] == 13               # "13 of 16 criteria": 13 of 20
    assert pct0(15, 16) == 94 and pct0(15, 20) == 75


def test_inconsistency_unit_band_means_cannot_give_184():
    # exec summary: <10 units -> 6 outcomes per school, 10-20 -> 4, >20 -> 8; Table 16 puts 17, 8 and 4 schools
    # in those bands. Means that round (half up) to 6, 4 and 8 allow at most 17*6.5 + 8*4.5 + 4*8.5 = 180.5
    # outcomes in all, fewer than the 184 published.
    bands = Counter("<10" if r[3] < 10 else ("10–20" if r[3] <= 20 else ">20") for r in TABLE16)
    assert (bands["<10"], bands["10–20"], bands[">20"]) == (17, 8, 4)
    upper = bands["<10"] * 6.5 + bands["10–20"] * 4.5 + bands[">20"] * 8.5
    assert upper < 184


def test_inconsistency_fleetwood_boundary_ofsted_case_outside_one_year_rule(tables, seed):
    # the six Ofsted cases were drawn for their inspections "at least 1 year" after engagement, but one sits at
    # 364 days: under an exact 365-day rule it is not in the 39
    f = {r["step"]: r["schools"] for r in tables["ofsted_funnel"].iter_rows(named=True)}
    assert f["ofsted_cases_min_days"] == 5 != OFSTED_CASES
    assert _cell(tables["ofsted_cases"], case_code="O06")["days_after"] == 364
    st = tg.ofsted_status(seed.schools, seed.ofsted, 364)
    assert tg.ofsted_funnel(seed.schools, st, 364).filter(pl.col("step") == "ofsted_cases_min_days")["schools"][0] == 6


def test_inconsistency_table12_cases_do_not_match_table16():
    table12 = [(3, 3), (4, 4), (4, 2), (3, 2), (4, 3), (3, 3)]       # cases 1-6 as narrated
    table16 = [(r[6], r[7]) for r in TABLE16 if r[1] == "ofsted_case"]
    assert Counter(table12) != Counter(table16)
    assert (4, 3) in table12 and (4, 3) not in table16                # case 5 matches no Table 16 row


def test_inconsistency_monitoring_events_and_cohorts(tables):
    m = tables["monitoring"]
    cpd = m.filter(pl.col("measure") == "cpd_events")["total"].sum()
    community = _cell(m, measure="community_events")["total"]
    # "2,852 CPD events and community events": the CPD categories alone make 2,852
    assert cpd == 2852 and cpd + community == 2931
    # cohort split: text 801 / 2,001; Appendix 4 1,007 / 1,795 (both sum to 2,802)
    t = _cell(m, measure="teachers")
    assert (t["c1_primary"] + t["c1_secondary"], t["c2_primary"] + t["c2_secondary"]) == (1007, 1795)
    assert (801, 2001) != (1007, 1795) and 801 + 2001 == 2802
    # "a minimum of 9,000 CPD hours" against 1,787 units x 5 = 8,935
    assert 1787 * tg.HOURS_PER_UNIT == 8935 < 9000


def test_inconsistency_cohort_mixed_within_a_partnership(tables):
    # "Schools in the same partnership all belonged to the same cohort", yet Table 16 puts one Scunthorpe school
    # (C06) in cohort 1 and the other three in cohort 2
    chk = [c for c in tables["summary"]["checks"] if c["check"].startswith("partnerships whose")]
    assert chk[0]["found"] == 1 and not chk[0]["ok"]
    scun = [r[2] for r in TABLE16 if r[5] == "Scunthorpe"]
    assert sorted(scun) == [1, 2, 2, 2]


def test_inconsistency_new_school_with_a_rating_before():
    # C04 is listed with a rating of 2 before the programme and also as a new academy with no report
    c04 = [r for r in TABLE16 if r[0] == "C04"][0]
    assert c04[6] == 2 and c04[7] is None


# =============================================================================================
# Edge cases
# =============================================================================================

def _one(urn, start, rows):
    schools = pl.DataFrame({"urn": [urn], "engagement_start": [start], "partnership": ["X"]})
    ofsted = pl.DataFrame(rows, schema={"urn": pl.Int64, "inspection_date": pl.Date, "inspection_type": pl.Utf8,
                                        "overall_effectiveness": pl.Int64, "status": pl.Utf8})
    return schools, ofsted


@pytest.mark.parametrize("days,meets", [(364, False), (365, True), (366, True), (0, False)])
def test_inspection_364_and_365_days_after(days, meets):
    start = dt.date(2018, 9, 1)
    schools, ofsted = _one(800001, start, [
        {"urn": 800001, "inspection_date": dt.date(2016, 1, 1), "inspection_type": "full", "overall_effectiveness": 3,
         "status": "inspected"},
        {"urn": 800001, "inspection_date": start + dt.timedelta(days=days), "inspection_type": "full",
         "overall_effectiveness": 2, "status": "inspected"}])
    st = tg.ofsted_status(schools, ofsted, 365)
    row = st.row(0, named=True)
    assert row["days_after"] == days and row["direction"] == "improved" and row["inspected_since"]
    assert row["meets_min_days"] is meets
    assert tg.ofsted_transitions(st, 365)["n"].sum() == int(meets)
    # the rule follows the configuration
    assert tg.ofsted_status(schools, ofsted, days)["meets_min_days"][0]


def test_inspection_day_before_engagement_is_a_rating_before():
    start = dt.date(2018, 9, 1)
    schools, ofsted = _one(800002, start, [
        {"urn": 800002, "inspection_date": start - dt.timedelta(days=1), "inspection_type": "full",
         "overall_effectiveness": 4, "status": "inspected"},
        {"urn": 800002, "inspection_date": start + dt.timedelta(days=200), "inspection_type": "monitoring",
         "overall_effectiveness": None, "status": "inspected"}])
    row = tg.ofsted_status(schools, ofsted, 365).row(0, named=True)
    assert row["pre_rating"] == 4 and not row["inspected_since"] and row["direction"] is None


def test_new_and_never_inspected_schools():
    start = dt.date(2018, 9, 1)
    schools = pl.DataFrame({"urn": [1, 2], "engagement_start": [start, start], "partnership": ["X", "X"]})
    ofsted = pl.DataFrame({"urn": [1], "inspection_date": [None], "inspection_type": [None],
                           "overall_effectiveness": [None], "status": ["new_school"]},
                          schema={"urn": pl.Int64, "inspection_date": pl.Date, "inspection_type": pl.Utf8,
                                  "overall_effectiveness": pl.Int64, "status": pl.Utf8})
    st = tg.ofsted_status(schools, ofsted, 365)
    assert st["pre_status"].to_list() == ["new_school", "not_inspected"]
    t1 = tg.ofsted_by_pre_rating(st)
    assert _cell(t1, pre_group="not_inspected")["schools"] == 1
    assert _cell(t1, pre_group="total")["inspected_since"] == 0


def test_subject_not_taught():
    rows = []
    for u in (1, 2, 3):
        for s in tg.SUBJECTS:
            for c in tg.CRITERIA:
                score = None if (s == "engineering" and u != 1) else 2 + (u == 3)
                rows.append({"urn": u, "subject": s, "criterion": c, "timepoint": "start", "score": score})
    sa = pl.DataFrame(rows, schema={"urn": pl.Int64, "subject": pl.Utf8, "criterion": pl.Utf8, "timepoint": pl.Utf8,
                                    "score": pl.Int64})
    m = tg.self_assessment_means(sa)
    eng = _cell(m, subject="engineering", criterion="quality_of_teaching")
    assert (eng["n"], eng["mean"]) == (1, 2.0)          # only the school that teaches it
    sci = _cell(m, subject="science", criterion="quality_of_teaching")
    assert sci["n"] == 3 and sci["mean"] == pytest.approx(7 / 3)
    assert _cell(m, subject="stem_mean", criterion="quality_of_teaching")["n"] == 1
    # a subject nobody teaches: no mean, n 0, and it drops out of the STEM mean
    none = sa.with_columns(pl.when(pl.col("subject") == "engineering").then(None).otherwise(pl.col("score")).alias("score"))
    m2 = tg.self_assessment_means(none)
    assert _cell(m2, subject="engineering", criterion="pupil_learning")["n"] == 0
    assert _cell(m2, subject="engineering", criterion="pupil_learning")["mean"] is None
    assert _cell(m2, subject="stem_mean", criterion="pupil_learning")["mean"] == pytest.approx(7 / 3)


def test_school_with_no_end_rating(seed):
    extra = pl.DataFrame([{"urn": 999999, "aspect": a, "timepoint": "start", "level": 1} for a in tg.ASPECTS] +
                         [{"urn": 999998, "aspect": a, "timepoint": tp, "level": lv} for a in tg.ASPECTS
                          for tp, lv in (("start", 2), ("end", None))],
                         schema=seed.maturity.schema)
    m = tg.maturity_change(pl.concat([seed.maturity, extra]))
    for aspect, published in TABLE13.items():
        assert r1(_cell(m, aspect=aspect)["mean_change"]) == published      # unchanged: not paired
    row = _cell(m, aspect="enrichment")
    assert (row["n_start"], row["n_paired"], row["n_no_end"]) == (9, 7, 2)
    assert _cell(m, aspect="overall")["n_no_end"] == 2
    sa = pl.DataFrame([{"urn": 1, "subject": "science", "criterion": "pupil_learning", "timepoint": "start", "score": 3}],
                      schema=seed.self_assessment.schema)
    ch = tg.self_assessment_change(sa)
    row = _cell(ch, subject="science", criterion="pupil_learning")
    assert (row["n_start"], row["n_end"], row["n_paired"], row["mean_change"]) == (1, 0, 0, None)


@pytest.mark.parametrize("units,band", [(0.0, "<10"), (9.99, "<10"), (10.0, "10–20"), (20.0, "10–20"),
                                        (20.01, ">20"), (36.8, ">20")])
def test_unit_band_boundaries(units, band):
    label, _ = tg.unit_band_expr("u", [10, 20])
    assert pl.DataFrame({"u": [units]}).select(label)["unit_band"][0] == band


def test_unit_band_labels_follow_config():
    assert tg.unit_band_labels([10, 20]) == ["<10", "10–20", ">20"]
    assert tg.unit_band_labels([5]) == ["<5", "5 or more"]
    assert tg.unit_band_labels([5, 10, 20]) == ["<5", "5 to under 10", "10–20", ">20"]
    label, _ = tg.unit_band_expr("u", [5, 10, 20])
    got = pl.DataFrame({"u": [4.9, 5.0, 9.9, 10.0, 20.0, 20.5]}).select(label)["unit_band"].to_list()
    assert got == ["<5", "5 to under 10", "5 to under 10", "10–20", "10–20", ">20"]


def test_units_follow_the_school_across_urn_changes():
    start = dt.date(2018, 9, 1)
    schools = pl.DataFrame({"urn": [111111], "engagement_start": [start], "partnership": ["X"]})
    lineage = pl.DataFrame({"urn": [111111, 222222], "school_key": [222222, 222222]})
    bookings = pl.DataFrame({"urn": [222222, 111111], "school_key": [222222, 222222], "units": [2.0, 1.5],
                             "status": ["attended", "attended"], "start_date": [start, start],
                             "activity_id": ["A", "B"]})
    u = tg.cpd_units_by_school(schools, bookings, lineage).row(0, named=True)
    assert (u["units"], u["hours"], u["bookings"], u["activities"]) == (3.5, 17.5, 2, 2)
    assert tg.cpd_units_by_school(schools, bookings.head(0), lineage)["units"][0] == 0.0


def test_empty_inputs_give_empty_tables_not_errors():
    from cpdeval.contracts import load_contract

    empty = {t: pl.DataFrame(schema=load_contract(t).polars_schema) for t in tgi.TARGETED_TABLES}
    bookings = pl.DataFrame(schema={"urn": pl.Int64, "school_key": pl.Int64, "units": pl.Float64, "status": pl.Utf8,
                                    "start_date": pl.Date, "activity_id": pl.Utf8})
    t = tg.targeted_tables(empty["targeted_schools"], empty["targeted_ofsted"], empty["targeted_maturity"],
                           empty["targeted_self_assessment"], empty["targeted_case_outcomes"],
                           empty["targeted_monitoring"], bookings, None, codebook=CODEBOOK)
    assert _cell(t["ofsted_by_pre"], pre_group="total")["schools"] == 0
    assert t["outcomes_type"].height == 31 and t["outcomes_type"]["n"].sum() == 0
    json.dumps(t["summary"])


# =============================================================================================
# Ingest: contracts, codebook, quarantine
# =============================================================================================

def _csv(path: Path, df: pl.DataFrame) -> str:
    df.with_columns([pl.col(c).cast(pl.Utf8) for c in df.columns]).write_csv(path)
    return str(path)


def test_seed_fixture_passes_the_contracts(seed, tmp_path):
    frames = {"targeted_schools": seed.schools, "ofsted": seed.ofsted, "maturity": seed.maturity,
              "self_assessment": seed.self_assessment, "case_outcomes": seed.outcomes, "monitoring": seed.monitoring}
    paths = {k: [_csv(tmp_path / f"{k}.csv", v)] for k, v in frames.items()}
    res = tgi.ingest_targeted(paths, CODEBOOK)
    for table, r in res.items():
        assert r.quarantine.height == 0, (table, r.quarantine.head())
        assert r.accepted.height == frames[[k for k, v in tgi.TARGETED_INPUTS.items() if v == table][0]].height
    t = tg.targeted_tables(res["targeted_schools"].accepted, res["targeted_ofsted"].accepted,
                           res["targeted_maturity"].accepted, res["targeted_self_assessment"].accepted,
                           res["targeted_case_outcomes"].accepted, res["targeted_monitoring"].accepted,
                           seed.bookings, codebook=CODEBOOK)
    assert _cell(t["ofsted_by_pre"], pre_group="total")["improved"] == 39
    assert _cell(t["outcomes_audience"], audience="total")["n"] == 184


def test_ingest_quarantines_rows_against_the_codebook_and_cross_column_rules(tmp_path):
    o = tmp_path / "o.csv"
    o.write_text("outcome_id,urn,audience,outcome_type,domain,evidence,codebook_version\n"
                 f"A1,100001,teachers,teachers_use_knowledge,behavioural,self_case_study,{CODEBOOK['version']}\n"
                 f"A2,100001,leaders,teachers_use_knowledge,behavioural,,{CODEBOOK['version']}\n"
                 f"A3,100001,teachers,made_up_type,skills,,{CODEBOOK['version']}\n"
                 "A4,100001,teachers,teachers_use_knowledge,skills,,2019.0\n"
                 f"A5,100001,teachers,teachers_use_knowledge,feelings,,{CODEBOOK['version']}\n")
    f = tmp_path / "f.csv"
    f.write_text("urn,inspection_date,inspection_type,overall_effectiveness,status\n"
                 "100001,2018-01-01,full,3,inspected\n"
                 "100001,,full,2,inspected\n"
                 "100002,,,3,new_school\n"
                 "100001,2019-01-01,monitoring,3,inspected\n"
                 "100003,,,,not_inspected\n")
    res = tgi.ingest_targeted({"case_outcomes": [str(o)], "ofsted": [str(f)]}, CODEBOOK)
    oc = res["targeted_case_outcomes"]
    assert oc.accepted["outcome_id"].to_list() == ["A1"]
    rules = oc.quarantine.sort("source_row")["rule"].to_list()
    assert "outcome type belongs to another audience in the codebook" in rules
    assert any(r.startswith("outcome type not in the case-outcomes codebook") for r in rules)
    assert any(r.startswith("coded with another codebook version") for r in rules)
    assert any(r.startswith("allowed values") for r in rules)
    assert all(r.balanced for r in oc.reconciliation)
    of = res["targeted_ofsted"]
    assert of.accepted.height == 2 and of.quarantine.select("source_row").n_unique() == 3
    assert all(r.balanced for r in of.reconciliation)
    assert res["targeted_maturity"].accepted.height == 0 and res["targeted_maturity"].reconciliation == []


def test_codebook_is_consistent():
    types = tgi.codebook_types(CODEBOOK)
    assert types.height == 31 and types["outcome_type"].n_unique() == 31
    assert set(types["audience"]) == set(TABLE11_AUDIENCE)
    assert set(TABLE11) == set(types["outcome_type"])


# =============================================================================================
# Publication: disclosure control of the chapter's tables, and figures
# =============================================================================================

def test_published_table1_applies_disclosure_control(tables):
    t = publish_table(tables["ofsted_by_pre"], columns={
        "label": {"kind": "label"}, "schools": {"kind": "count"},
        "inspected_since": {"kind": "count", "status": "inspected_status"},
        "improved": {"kind": "count", "status": "improved_status"},
        "pct_improved": {"kind": "percent", "base": "inspected_since", "numerator": "improved",
                         "status": "improved_status"}}, threshold=5)
    assert t.cell(3, "schools") == "c"                     # the one outstanding school
    assert t.cell(2, "improved") == "0"                    # zero improved among good schools: zeros are shown
    assert t.cell(4, "inspected_since") == "z"             # new schools
    assert t.cell(5, "pct_improved") == "48%"
    assert find_disclosure_breaches(t.to_html(), 5) == []


def test_figures_are_written_with_sidecars(tables, tmp_path):
    from cpdeval.targeted_publish import outcome_counts_shown

    shown_audience, shown_type = outcome_counts_shown(tables["outcomes_audience"], tables["outcomes_type"],
                                                      threshold=5)
    p1 = tgf.fig_outcomes_by_audience(tables["outcomes_audience"], 5, tmp_path / "a.png", shown_audience)
    p2 = tgf.fig_outcome_types(tables["outcomes_type"], 5, tmp_path / "b.png", shown_type)
    p3 = tgf.fig_maturity(tables["maturity"], 5, tmp_path / "c.png")
    for p in (p1, p2, p3):
        meta = json.loads(p.with_name(p.name + ".json").read_text())
        assert meta["alt_text"] and "Source:" in meta["caption"] and meta["n"]
    assert _TITLES["c.png"].startswith("CPD for STEM teachers moved furthest, 2.1")
    assert _TITLES["a.png"] == "Teachers were the audience with the most outcomes"
    # small counts are not drawn: five types with 1-4 outcomes are left out and said so
    meta = json.loads((tmp_path / "b.png.json").read_text())
    assert "with fewer than 5 outcomes, or hidden so that such a count cannot be worked out" in meta["caption"]
    again = tgf.fig_maturity(tables["maturity"], 5, tmp_path / "c2.png")
    assert again.read_bytes() == p3.read_bytes()


#: finding titles of the figures drawn in a test, by file name (recorded by the fixture below)
_TITLES: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _capture_titles(monkeypatch):
    import cpdeval.figures as figs

    real_title, real_save = figs.finding_title, figs.save_figure

    def title(ax, text):
        ax.figure._cpdeval_title = text
        real_title(ax, text)

    def save(fig, path, **kw):
        _TITLES[Path(path).name] = getattr(fig, "_cpdeval_title", "")
        return real_save(fig, path, **kw)

    monkeypatch.setattr(figs, "finding_title", title)
    monkeypatch.setattr(figs, "save_figure", save)


def test_codebook_rejects_a_label_split_at_a_comma(tmp_path):
    bad = (tgi.CODEBOOK.read_text(encoding="utf-8")
           .replace('label: "Confidence, motivation and engagement in lessons"',
                    "label: Confidence, motivation and engagement in lessons"))
    path = tmp_path / "cb.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ValueError, match="quote labels"):
        tgi.load_codebook(path)


def test_every_targeted_input_is_a_config_key_with_a_contract():
    from cpdeval.config import TARGETED_INPUTS

    root = Path(tg.__file__).resolve().parents[2]
    schema = (root / "schemas" / "config.schema.yaml").read_text(encoding="utf-8")
    for key, table in TARGETED_INPUTS.items():
        assert key in schema and (root / "schemas" / f"{table}.yaml").is_file()


# =============================================================================================
# Synthetic inputs and the whole workflow
# =============================================================================================

@pytest.fixture(scope="module")
def synthetic_targeted(tmp_path_factory):
    from cpdeval.synthetic import generate

    out = tmp_path_factory.mktemp("syn_targeted")
    generate(out, size="small", seed=777)
    files = {"targeted_schools": "targeted_schools", "ofsted": "ofsted_inspections", "maturity": "maturity",
             "self_assessment": "self_assessment", "case_outcomes": "case_outcomes", "monitoring": "monitoring"}
    res = tgi.ingest_targeted({k: [str(out / "targeted" / f"{v}.csv")] for k, v in files.items()}, CODEBOOK)
    return out, res


def test_synthetic_targeted_inputs_pass_their_contracts(synthetic_targeted):
    out, res = synthetic_targeted
    for table, r in res.items():
        assert r.quarantine.height == 0, table
        assert r.accepted.height > 0, table
    schools = res["targeted_schools"].accepted
    # about 10% of state-funded mainstream schools, from the most disadvantaged
    assert 35 <= schools.height <= 70
    assert schools.filter(pl.col("evidence") == "ofsted_case").height == 6
    # one cohort per partnership
    assert schools.group_by("partnership").agg(pl.col("cohort").n_unique())["cohort"].max() == 1


def test_synthetic_targeted_plants_the_edge_cases(synthetic_targeted):
    _, res = synthetic_targeted
    a = {t: r.accepted for t, r in res.items()}
    st = tg.ofsted_status(a["targeted_schools"], a["targeted_ofsted"], 365)
    assert {364, 365} <= set(st.filter(pl.col("direction").is_not_null())["days_after"].to_list())
    m = tg.maturity_change(a["targeted_maturity"])
    assert _cell(m, aspect="overall")["n_no_end"] >= 1
    sa = a["targeted_self_assessment"]
    assert sa.filter(pl.col("score").is_null()).height > 0            # subjects not taught
    assert sa.filter(pl.col("timepoint") == "end").select("urn").n_unique() >= 5
    # planted: deeper evidence gives more outcomes per school
    so = tg.school_outcomes(a["targeted_schools"], a["targeted_case_outcomes"],
                            tg.cpd_units_by_school(a["targeted_schools"], pl.DataFrame(
                                schema={"urn": pl.Int64, "units": pl.Float64, "status": pl.Utf8,
                                        "start_date": pl.Date})))
    by = so.group_by("evidence").agg(pl.col("n_outcomes").mean())
    cj = by.filter(pl.col("evidence") == "complete_journey")["n_outcomes"][0]
    self_ = by.filter(pl.col("evidence") == "self_case_study")["n_outcomes"][0]
    assert cj > self_


@pytest.mark.e2e
def test_chapter_renders_without_disclosure_breaches_or_names(synthetic_run):
    html = (synthetic_run / "reports" / "synthetic" / "targeted.html").read_text(encoding="utf-8")
    assert find_disclosure_breaches(html, 5) == []
    assert "Targeted programme" in html and "O01" in html
    names = pl.read_csv(synthetic_run / "data" / "raw" / "synthetic" / "targeted" / "targeted_schools.csv",
                        infer_schema_length=0)["school_name"].drop_nulls().to_list()
    assert names and not any(n in html for n in names)
    derived = synthetic_run / "data" / "derived" / "synthetic" / "targeted"
    assert "school_name" not in pl.read_parquet(derived / "ofsted_cases.parquet").columns
    rec = pl.read_parquet(synthetic_run / "data" / "derived" / "synthetic" / "audit" / "reconciliation.parquet")
    assert set(tgi.TARGETED_TABLES) <= set(rec["table"])
    # the maturity paragraph counts the schools its averages rest on, as the table does (not every school
    # interviewed: with the table's count that would give away how many gave no end rating)
    import re

    from cpdeval.display import count_in_words, fmt_count

    paired = pl.read_parquet(derived / "maturity_change.parquet").filter(pl.col("aspect") == "overall")["n_paired"][0]
    assert "At least N days" not in html and "At least 365 days after" in html   # the definition names the rule
    said = re.search(r"The ([\d,]+|\w+) schools that rated both moved up", html)
    assert said and said.group(1) in (fmt_count(paired), count_in_words(paired)), said


def test_derived_tables_are_deterministic(seed, tmp_path):
    def write(folder):
        t = tg.targeted_tables(seed.schools.sample(fraction=1.0, shuffle=True, seed=1), seed.ofsted, seed.maturity,
                               seed.self_assessment, seed.outcomes.reverse(), seed.monitoring, seed.bookings,
                               codebook=CODEBOOK)
        folder.mkdir()
        for name, df in t.items():
            if name != "summary":
                df.write_parquet(folder / f"{name}.parquet", statistics=False)
        so = tg.school_outcomes(seed.schools, seed.outcomes.reverse(), tg.cpd_units_by_school(seed.schools, seed.bookings))
        so.write_parquet(folder / "school_outcomes.parquet", statistics=False)
        return {p.name: p.read_bytes() for p in folder.iterdir()}

    a, b = write(tmp_path / "a"), write(tmp_path / "b")
    base = tg.targeted_tables(seed.schools, seed.ofsted, seed.maturity, seed.self_assessment, seed.outcomes,
                              seed.monitoring, seed.bookings, codebook=CODEBOOK)
    assert a == b
    # input row order does not change any result either
    rev = tg.targeted_tables(seed.schools.reverse(), seed.ofsted.reverse(), seed.maturity.reverse(),
                             seed.self_assessment.reverse(), seed.outcomes.reverse(), seed.monitoring.reverse(),
                             seed.bookings.reverse(), codebook=CODEBOOK)
    for name, df in base.items():
        assert (rev[name] == df) if name == "summary" else rev[name].equals(df), name
