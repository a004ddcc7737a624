"""Targeted programme inputs (seed 002) for the synthetic year: ``<out>/targeted/*.csv``.

A programme recruits about 10% of state-funded mainstream schools, drawn at random from the most
disadvantaged third (by % FSM in the register), in two cohorts: cohort 1 from October of the third-last
delivery year, cohort 2 eleven months later; the programme ends with the delivery window. Schools form
delivery partnerships of 3-10 schools within a local authority, one cohort per partnership.

Written (formats in ``data/raw/README.md``, contracts ``schemas/targeted_*.yaml``):

* ``targeted_schools.csv``: URN (live at engagement), engagement start, partnership, cohort, phase, status
  (about 93% active), case code and kind of case evidence for the case-study schools, name;
* ``ofsted_inspections.csv``: graded inspections before engagement (some schools with two), graded
  inspections since for roughly half (RI and inadequate schools more often), ungraded monitoring visits,
  ``new_school`` rows for recently opened schools and a few ``not_inspected`` rows. One reinspected school
  is planted at exactly N - 1 days after it began and one at exactly N days (N =
  ``targeted.min_days_after_start`` of the config, default 365);
* ``maturity.csv``: start and end levels (1-5) on six aspects for the interviewed case schools (mean
  change planted per aspect: :data:`MATURITY_CHANGE`); one interviewed school has no end ratings;
* ``self_assessment.csv``: start scores (1-4) per subject x criterion for the action-plan schools, blank
  where the subject is not taught or the criterion not rated; end scores for about half of them;
* ``case_outcomes.csv``: coded outcomes of the case schools, more for deeper evidence and (planted dose
  effect :data:`DOSE_PER_UNIT`) for more CPD units since engagement; audiences and types in proportion to
  seed 002's Table 11;
* ``monitoring.csv``: participant and event counts by cohort x phase (specialisms add up to teachers).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ._common import Writer, Years, day, fmt_dates, year_start
from .bookings import BookingData
from .schools import World

TARGET_SHARE = 0.10            # of state-funded mainstream schools
POOL_SHARE = 1 / 3             # drawn from the most disadvantaged third by % FSM
STATUS_P = {"active": 0.93, "less_active": 0.05, "withdrawn": 0.02}
#: planted mean change in maturity level per aspect
MATURITY_CHANGE = {"cpd_for_teachers": 2.0, "enrichment": 1.8, "collaboration": 1.5, "stem_teaching": 1.3,
                   "subject_leadership": 1.2, "careers_education": 1.0}
MATURITY_START_SHIFT = {"subject_leadership": 0.5, "stem_teaching": 0.4}
#: expected outcomes per case school x evidence depth, and the dose effect per CPD unit since engagement
OUTCOMES_BASE = 4.0
EVIDENCE_DEPTH = {"complete_journey": 2.0, "partial_journey": 1.0, "ofsted_case": 0.8, "self_case_study": 1.0,
                  "el_case_study": 1.1}
DOSE_PER_UNIT = 0.03
SUBJECTS = ["science", "design_technology", "maths", "computer_science", "engineering", "non_stem"]
CRITERIA = ["quality_of_teaching", "pupil_learning", "subject_leading", "careers_education"]
#: probability a school teaches (and rates) a subject, by phase group
TAUGHT = {"primary": {"science": 1.0, "design_technology": 0.8, "maths": 1.0, "computer_science": 0.95,
                      "engineering": 0.35, "non_stem": 0.9},
          "secondary": {"science": 1.0, "design_technology": 0.9, "maths": 1.0, "computer_science": 0.85,
                        "engineering": 0.6, "non_stem": 0.9}}
SUBJECT_SHIFT = {"science": 0.15, "design_technology": 0.0, "maths": -0.2, "computer_science": 0.2,
                 "engineering": 0.05, "non_stem": -0.25}
CRITERION_SHIFT = {"quality_of_teaching": -0.1, "pupil_learning": 0.15, "subject_leading": -0.15,
                   "careers_education": 0.6}
# Table 11 of seed 002 (outcome type -> count): the proportions used for audiences and types
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
DOMAINS = ["cognitive", "affective", "skills", "behavioural"]
SPECIALISM_P = {"primary": [0.2, 0.08, 0.02, 0.2, 0.08, 0.42], "secondary": [0.3, 0.1, 0.04, 0.2, 0.08, 0.28]}
SPECIALISMS = ["science", "technology", "engineering", "maths", "computing", "other"]
EVENT_P = [0.38, 0.07, 0.035, 0.15, 0.125, 0.155, 0.085]
EVENT_AREAS = ["science", "technology", "engineering", "maths", "computing", "leadership", "other"]


def _phase(kind: str, low: int, high: int) -> str:
    if kind == "primary":
        return "infant" if high <= 7 else ("junior" if low >= 7 else "primary")
    if kind in ("middle_primary", "middle_secondary"):
        return "middle"
    return {"secondary": "secondary", "all_through": "all_through"}[kind]


def _group(phase: str) -> str:
    return "primary" if phase in ("primary", "infant", "junior") else "secondary"


def _codes(prefix: str, n: int) -> list[str]:
    width = 2 if n < 100 else 3
    return [f"{prefix}{i + 1:0{width}d}" for i in range(n)]


def _units_since(bd: BookingData, ents: np.ndarray, starts: np.ndarray) -> np.ndarray:
    f = bd.frame.filter((pl.col("_status") == 0) & (pl.col("_entity") >= 0)).select("_entity", "_date", "_units")
    lookup = pl.DataFrame({"_entity": ents.astype(np.int64), "_start": starts.astype(np.int64), "_i": np.arange(len(ents))})
    j = (f.join(lookup, on="_entity", how="inner").filter(pl.col("_date") >= pl.col("_start"))
         .group_by("_i").agg(pl.col("_units").sum()))
    out = np.zeros(len(ents))
    out[j["_i"].to_numpy()] = j["_units"].to_numpy()
    return out


def build_targeted(rng: np.random.Generator, w: World, bd: BookingData, years: Years, cfg: dict) -> dict[str, pl.DataFrame]:
    """The six targeted-programme tables as raw text frames (columns as written to CSV)."""
    from ..config import section_defaults

    min_days = int({**section_defaults("targeted"), **(cfg.get("targeted") or {})}["min_days_after_start"])
    label = years.delivery[-3] if len(years.delivery) >= 3 else years.delivery[0]
    s = year_start(label)
    c_start = {1: day(s, 10, 1), 2: day(s + 1, 9, 1)}
    end = years.window[1]

    # -- schools -------------------------------------------------------------------------------
    kind = w.kind_name
    eligible = w.is_state_mainstream() & (w.alive_from <= c_start[1]) & (w.alive_to > end) & np.isfinite(w.fsm)
    idx = np.flatnonzero(eligible)
    n_target = max(6, int(round(TARGET_SHARE * len(idx))))
    cut = np.quantile(w.fsm[idx], 1 - POOL_SHARE)
    pool = idx[w.fsm[idx] >= cut]
    ents = np.sort(rng.choice(pool, size=min(n_target, len(pool)), replace=False))
    n = len(ents)
    # partnerships: within an LA, clusters of 3-10 schools (small LAs joined to the next one)
    order = ents[np.lexsort((ents, w.la_idx[ents]))]
    part = np.zeros(n, dtype=np.int64)
    pos = {int(e): i for i, e in enumerate(ents)}
    pid, run = 0, []
    for e in order:
        run.append(int(e))
        if len(run) >= int(rng.integers(3, 11)):
            for x in run:
                part[pos[x]] = pid
            pid, run = pid + 1, []
    for x in run:   # the remainder joins the last partnership (or forms the first)
        part[pos[x]] = max(pid - 1, 0) if pid else 0
    n_part = int(part.max()) + 1
    part_cohort = np.where(rng.random(n_part) < 0.45, 1, 2)
    cohort = part_cohort[part]
    start = np.array([c_start[int(c)] for c in cohort]) + rng.integers(0, 60, n)
    urn = w.live_urn(ents, start)
    phase = np.array([_phase(kind[e], int(w.low[e]), int(w.high[e])) for e in ents], dtype=object)
    group = np.array([_group(p) for p in phase], dtype=object)
    status = rng.choice(list(STATUS_P), size=n, p=list(STATUS_P.values()))
    active = status == "active"
    names = dict(zip(w.spells["urn"].to_list(), w.spells["name"].to_list()))

    units = _units_since(bd, ents, start)
    evidence = np.full(n, None, dtype=object)

    # -- Ofsted history --------------------------------------------------------------------------
    quality = w.quality[ents]
    latent = -0.9 * quality + rng.normal(0, 0.8, n)
    pre = np.digitize(latent, [-1.9, -0.25, 0.95]) + 1            # 1..4, mostly 2-3
    new = ((w.alive_from[ents] >= 0) & (w.alive_from[ents] > start - 1100)) | (rng.random(n) < 0.06)
    never = ~new & (rng.random(n) < 0.02)
    pre = np.where(new | never, 0, pre)
    p_since = np.array([0.1, 0.05, 0.3, 0.6, 0.6])[pre]
    since = rng.random(n) < p_since
    span = np.maximum(end - start, 30)
    days_after = np.minimum((rng.random(n) * span).astype(np.int64) + 15, span)
    trans = {1: ([1, 2], [0.8, 0.2]), 2: ([1, 2, 3, 4], [0.05, 0.84, 0.09, 0.02]),
             3: ([1, 2, 3, 4], [0.02, 0.45, 0.46, 0.07]), 4: ([2, 3, 4], [0.15, 0.6, 0.25]),
             0: ([1, 2, 3, 4], [0.05, 0.55, 0.32, 0.08])}
    post = np.zeros(n, dtype=np.int64)
    for i in range(n):
        vals, p = trans[int(pre[i])]
        post[i] = rng.choice(vals, p=p)
    # planted boundary: two reinspected active schools with a rating before, at N - 1 and N days
    cand = np.flatnonzero(active & (pre > 0) & since & (span >= min_days))
    for j, dd in zip(cand[:2], (min_days - 1, min_days)):
        days_after[j] = dd
    rows = []
    for i in range(n):
        u = int(urn[i])
        if new[i]:
            rows.append((u, None, None, None, "new_school"))
        elif never[i]:
            rows.append((u, None, None, None, "not_inspected"))
        else:
            d_pre = int(start[i] - rng.integers(60, 1400))
            if rng.random() < 0.3:
                older = int(np.clip(pre[i] + rng.choice([-1, 1]), 1, 4))
                rows.append((u, d_pre - int(rng.integers(700, 1500)), "full", older, "inspected"))
            rows.append((u, d_pre, "full" if pre[i] != 2 or rng.random() < 0.5 else "short", int(pre[i]), "inspected"))
        if since[i]:
            d_post = int(start[i] + days_after[i])
            typ = "short" if post[i] <= 2 and pre[i] == 2 and rng.random() < 0.5 else "full"
            if pre[i] >= 3 and rng.random() < 0.3 and days_after[i] > 120:
                rows.append((u, int(start[i] + rng.integers(20, days_after[i] - 60)), "monitoring", None, "inspected"))
            rows.append((u, d_post, typ, int(post[i]), "inspected"))
    of = pl.DataFrame(rows, schema={"urn": pl.Int64, "_d": pl.Int64, "inspection_type": pl.Utf8,
                                    "overall_effectiveness": pl.Int64, "status": pl.Utf8}, orient="row")
    of = of.with_columns(fmt_dates(of["_d"].fill_null(-1).to_numpy(), "%Y-%m-%d").alias("inspection_date")).select(
        "urn", "inspection_date", "inspection_type", "overall_effectiveness", "status")

    # Ofsted case analyses first: up to six active schools reinspected at least N days after they began
    ofs = np.flatnonzero(active & (pre > 0) & since & (days_after >= min_days))
    evidence[rng.permutation(ofs)[:6]] = "ofsted_case"
    # then the other case evidence among the remaining active schools
    rest = rng.permutation(np.flatnonzero(active & (evidence == None)))  # noqa: E711
    n_act = int(active.sum())
    sizes = [max(6, int(round(0.12 * n_act))), max(2, int(round(0.04 * n_act))), max(8, int(round(0.2 * n_act))),
             max(3, int(round(0.06 * n_act)))]
    cuts = np.cumsum([0] + sizes)
    for a, b, ev in zip(cuts[:-1], cuts[1:], ["complete_journey", "partial_journey", "self_case_study",
                                             "el_case_study"]):
        evidence[rest[a:b]] = ev
    case_code = np.full(n, None, dtype=object)
    for ev, prefix in (("complete_journey", "C"), ("partial_journey", "P"), ("ofsted_case", "O"),
                       ("self_case_study", "S"), ("el_case_study", "E")):
        members = np.flatnonzero(evidence == ev)
        case_code[members] = _codes(prefix, len(members))

    schools = pl.DataFrame({
        "urn": urn.astype(np.int64), "engagement_start": fmt_dates(start, "%Y-%m-%d"),
        "partnership": [f"DP{p + 1:02d}" for p in part], "cohort": cohort.astype(np.int64),
        "phase": list(phase), "status": list(status), "case_code": list(case_code), "evidence": list(evidence),
        "school_name": [names.get(int(u)) for u in urn],
    }).sort("urn")

    # -- self-assessment -------------------------------------------------------------------------
    plan = np.flatnonzero(active & ((evidence != None) | (rng.random(n) < 0.25)))  # noqa: E711
    re_assessed = set(rng.choice(plan, size=len(plan) // 2, replace=False).tolist()) if len(plan) else set()
    sa_rows = []
    for i in plan:
        g = group[i]
        base = 2.6 - 0.35 * quality[i] + rng.normal(0, 0.25)
        dose = min(units[i], 30) / 30
        for sub in SUBJECTS:
            taught = rng.random() < TAUGHT[g][sub]
            for cr in CRITERIA:
                rated = taught and not (cr == "careers_education" and rng.random() < (0.25 if g == "primary" else 0.1))
                sc = int(np.clip(np.round(base + SUBJECT_SHIFT[sub] + CRITERION_SHIFT[cr] + rng.normal(0, 0.45)), 1, 4)) \
                    if rated else None
                sa_rows.append((int(urn[i]), sub, cr, "start", sc))
                if i in re_assessed:
                    better = int(rng.binomial(2, 0.3 + 0.3 * dose)) if sub != "non_stem" else int(rng.binomial(1, 0.2))
                    sa_rows.append((int(urn[i]), sub, cr, "end", None if sc is None else max(1, sc - better)))
    sa = pl.DataFrame(sa_rows, schema={"urn": pl.Int64, "subject": pl.Utf8, "criterion": pl.Utf8,
                                       "timepoint": pl.Utf8, "score": pl.Int64}, orient="row")

    # -- maturity ----------------------------------------------------------------------------------
    interviewed = np.flatnonzero(np.isin(evidence, ["complete_journey", "partial_journey", "el_case_study"]))
    no_end = int(interviewed[-1]) if len(interviewed) else -1
    mat_rows = []
    for i in interviewed:
        st0 = 1 + (rng.random() < 0.35) + (rng.random() < 0.12)
        for asp, mu in MATURITY_CHANGE.items():
            a = int(np.clip(st0 + (rng.random() < MATURITY_START_SHIFT.get(asp, 0.0)) - (rng.random() < 0.2), 1, 4))
            b = int(np.clip(a + max(0, round(rng.normal(mu, 0.7))), a, 5))
            mat_rows.append((int(urn[i]), asp, "start", a))
            if i != no_end:
                mat_rows.append((int(urn[i]), asp, "end", b))
    mat = pl.DataFrame(mat_rows, schema={"urn": pl.Int64, "aspect": pl.Utf8, "timepoint": pl.Utf8, "level": pl.Int64},
                       orient="row")

    # -- case outcomes -------------------------------------------------------------------------------
    from ..ingest.targeted import load_codebook

    cb = load_codebook()
    types = {t["id"]: t for t in cb["outcome_types"]}
    tids = list(TABLE11)
    weights = np.array([TABLE11[t] + 0.3 for t in tids], dtype=float)
    weights /= weights.sum()
    oc_rows, k = [], 0
    for i in np.flatnonzero(evidence != None):  # noqa: E711
        lam = OUTCOMES_BASE * EVIDENCE_DEPTH[evidence[i]] * (1 + DOSE_PER_UNIT * min(units[i], 40))
        for _ in range(int(rng.poisson(lam))):
            t = types[tids[int(rng.choice(len(tids), p=weights))]]
            dom = t["domain"] if (t["domain"] and rng.random() < 0.85) else DOMAINS[int(rng.integers(0, 4))]
            k += 1
            oc_rows.append((f"OC{k:05d}", int(urn[i]), t["audience"], t["id"], dom, evidence[i], cb["version"]))
    oc = pl.DataFrame(oc_rows, schema={"outcome_id": pl.Utf8, "urn": pl.Int64, "audience": pl.Utf8,
                                       "outcome_type": pl.Utf8, "domain": pl.Utf8, "evidence": pl.Utf8,
                                       "codebook_version": pl.Utf8}, orient="row")

    # -- monitoring -----------------------------------------------------------------------------------
    mon_rows = []
    for c in (1, 2):
        for g in ("primary", "secondary"):
            members = np.flatnonzero((cohort == c) & (group == g) & (status != "withdrawn"))
            if not len(members):
                continue
            teachers = int(sum(rng.poisson(8 if g == "primary" else 14) for _ in members))
            mon_rows.append((c, g, "slt", "all", int(rng.binomial(teachers, 0.22))))
            mon_rows.append((c, g, "teachers", "all", teachers))
            for cat, v in zip(SPECIALISMS, rng.multinomial(teachers, SPECIALISM_P[g])):
                mon_rows.append((c, g, "specialism", cat, int(v)))
            events = int(sum(rng.poisson(14) for _ in members))
            for cat, v in zip(EVENT_AREAS, rng.multinomial(events, EVENT_P)):
                mon_rows.append((c, g, "cpd_events", cat, int(v)))
        mon_rows.append((c, "all", "community_events", "all", int(rng.poisson(0.4 * max(1, (cohort == c).sum())))))
    mon = pl.DataFrame(mon_rows, schema={"cohort": pl.Int64, "phase": pl.Utf8, "measure": pl.Utf8,
                                         "category": pl.Utf8, "count": pl.Int64}, orient="row")
    return {"targeted_schools": schools, "ofsted_inspections": of.sort(["urn", "inspection_date"], nulls_last=True),
            "maturity": mat.sort(["urn", "aspect", "timepoint"], descending=[False, False, True]),
            "self_assessment": sa.sort(["urn", "subject", "criterion", "timepoint"], descending=[False, False, False, True]),
            "case_outcomes": oc, "monitoring": mon}


def write_targeted(rng: np.random.Generator, w: World, bd: BookingData, years: Years, cfg: dict,
                   writer: Writer) -> dict[str, int]:
    """Build and write ``targeted/*.csv``; returns rows per file."""
    frames = build_targeted(rng, w, bd, years, cfg)
    return {f"targeted/{name}.csv": writer.write_csv(f"targeted/{name}.csv", df) for name, df in frames.items()}
