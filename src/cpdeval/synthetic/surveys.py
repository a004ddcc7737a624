"""Survey exports (one wide CSV per instrument in ``schemas/instruments/``) and coded free-text feedback.

The columns come from the instrument definition: its respondent columns, one column per item (answers
as scale labels, a not-substantive label such as "Cannot say", or blank when skipped), one column per
multi-select option ("1" ticked, blank not) and one per free-text question. A new instrument needs no
code: items without a planted profile below get their scale's default distribution.

Answers are correlated within a respondent (a latent positivity shared by all items).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from . import lookups as L
from ._common import Writer, Years, fmt_dates, stream
from .bookings import BookingData
from .schools import World

# planted distributions resembling the seed reports: % positive among substantive answers, % top
# category among substantive answers, % not-substantive over all respondents, % skipped
ITEM_PROFILES = {
    # participant impact survey (seed 000, Figs 4, 6-8)
    "overall_impact": (0.93, 0.45, 0.0, 0.04),
    "fulfilled_aims": (0.97, 0.45, 0.01, 0.02), "confidence": (0.98, 0.46, 0.01, 0.02),
    "knowledge_skills": (0.98, 0.47, 0.01, 0.02), "practice": (0.98, 0.44, 0.01, 0.02),
    "career": (0.76, 0.25, 0.11, 0.03),
    "shared_learning": (0.93, 0.40, 0.04, 0.03), "colleagues_practice": (0.90, 0.30, 0.18, 0.03),
    "subject_priorities": (0.63, 0.18, 0.30, 0.03), "evaluating_practice": (0.66, 0.20, 0.27, 0.03),
    "pupil_engagement": (0.91, 0.33, 0.21, 0.03), "pupil_progress": (0.92, 0.33, 0.30, 0.03),
    "pupil_further_study": (0.80, 0.25, 0.38, 0.03),
    # practitioner-leader survey (seed 000, Figs 10 and 14)
    "leader_confidence": (0.95, 0.50, 0.09, 0.4), "leader_career": (0.91, 0.40, 0.12, 0.42),
    "leader_recipients": (0.97, 0.45, 0.20, 0.45), "leader_school_attitudes": (0.72, 0.22, 0.15, 0.42),
    "delivered_any": (0.68, 0.68, 0.0, 0.25), "committed_to_deliver": (0.42, 0.42, 0.05, 0.2),
    "heard_via": (0.73, 0.45, 0.04, 0.2), "follow_up": (0.37, 0.37, 0.03, 0.2),
    # subject-leader survey (seed 001, Annex A: 1 = very high)
    "cpd_importance": (0.94, 0.53, 0.0, 0.01), "science_cpd_importance": (0.68, 0.27, 0.0, 0.01),
    "clarity_of_purpose": (0.80, 0.30, 0.02, 0.02), "support_on_return": (0.68, 0.20, 0.02, 0.02),
    "expectation_to_share": (0.88, 0.51, 0.01, 0.02), "impact_participants": (0.88, 0.37, 0.03, 0.02),
    "impact_colleagues": (0.63, 0.20, 0.06, 0.02), "impact_retention": (0.60, 0.18, 0.11, 0.02),
    "impact_pupils": (0.82, 0.28, 0.05, 0.02), "impact_other_schools": (0.30, 0.08, 0.33, 0.02),
    # post-event feedback (seed 002, Tables 6-8)
    "satisfaction": (0.99, 0.31, 0.0, 0.10), "quality": (0.985, 0.69, 0.0, 0.05),
    "fb_new_knowledge": (0.98, 0.56, 0.0, 0.01), "fb_confidence": (0.99, 0.60, 0.0, 0.01),
    "fb_apply": (0.99, 0.60, 0.0, 0.01), "fb_share": (0.99, 0.59, 0.0, 0.02), "fb_pupils": (0.99, 0.60, 0.0, 0.02),
    "fb_well_organised": (1.0, 0.68, 0.0, 0.01), "fb_recommend": (0.99, 0.66, 0.0, 0.01),
}
SCALE_DEFAULTS = {"agree4": (0.90, 0.40, 0.05, 0.03), "agree4_feedback": (0.97, 0.55, 0.0, 0.02),
                  "impact4": (0.90, 0.40, 0.0, 0.03), "rating1to4": (0.75, 0.30, 0.05, 0.02),
                  "satisfaction5": (0.95, 0.30, 0.0, 0.05), "quality4": (0.95, 0.60, 0.0, 0.03),
                  "yes_no": (0.70, 0.70, 0.03, 0.03)}
FALLBACK = (0.85, 0.35, 0.0, 0.03)
OPTION_PROFILES = {"own_school": 0.46, "network": 0.20, "other_partnerships": 0.30, "intend_not_yet": 0.16,
                   "none": 0.08}
EXCLUSIVE_OPTIONS = {"none"}
FREE_TEXT_RATE = 0.72
ROLE_BLANK = {"event_feedback": 0.15}
# respondent pools: who answers an instrument (default: participants who attended in the reporting year)
POOLS = {"practitioner_leader": "trained_leaders", "subject_leader": "schools"}
RHO = 0.55


def _phi(x):
    from scipy.special import ndtr
    return ndtr(x)


def _level_probs(levels: list, positive: list, top: list, pos: float, ptop: float) -> np.ndarray:
    k = len(levels)
    probs = np.zeros(k)
    pos_idx = [i for i, lv in enumerate(levels) if lv in positive]
    neg_idx = [i for i in range(k) if i not in pos_idx]
    top_idx = [i for i, lv in enumerate(levels) if lv in top]
    if not pos_idx:
        return np.full(k, 1.0 / k)
    ptop = min(ptop, pos)
    for i in top_idx:
        probs[i] = ptop / len(top_idx)
    rest = [i for i in pos_idx if i not in top_idx]
    if rest:
        wts = 0.65 ** np.arange(len(rest))
        probs[rest] = (pos - ptop) * wts / wts.sum()
    else:
        probs[top_idx] += (pos - ptop) / len(top_idx)
    if neg_idx:
        wts = 0.3 ** np.arange(len(neg_idx))
        probs[neg_idx] = (1 - pos) * wts / wts.sum()
    probs = np.clip(probs, 0, None)
    return probs / probs.sum()


def respondent_columns(spec: dict) -> list[tuple[str, str]]:
    """(field, column) pairs of the respondent block, in definition order (format keys excluded)."""
    return [(k, v) for k, v in (spec.get("respondent") or {}).items() if not k.endswith("_format")]


def instrument_columns(spec: dict) -> list[str]:
    cols = [c for _, c in respondent_columns(spec)]
    cols += [it["column"] for it in spec.get("items") or []]
    for ms in spec.get("multi_select") or []:
        cols += [op["column"] for op in ms["options"]]
    cols += [ft["column"] for ft in spec.get("free_text") or []]
    return cols


def build_surveys(seed: int, w: World, bd: BookingData, trained: pl.DataFrame, years: Years, size_cfg: dict,
                  instruments: dict, scales: dict) -> tuple[dict, pl.DataFrame, dict]:
    rep = years.delivery.index(years.reporting)
    rep_start, rep_end = years.fy_bounds(years.reporting)
    f = bd.frame
    att = f.filter((pl.col("_fy") == rep) & (pl.col("_status") == 0))
    frames: dict[str, pl.DataFrame] = {}
    coded_rows: list[tuple[str, str, str]] = []
    truth: dict = {}
    for k_inst, (name, spec) in enumerate(instruments.items()):
        rng = stream(seed, f"survey/{name}")
        n_resp = int(size_cfg["surveys"].get(name, size_cfg["default_survey_n"]))
        fields = dict(respondent_columns(spec))
        pool = "bookings" if "activity" in fields else POOLS.get(name, "participants")
        ent, date, role_src, act, cid = _sample_pool(rng, pool, att, trained, bd, n_resp, rep_start, rep_end)
        n_resp = len(ent)
        # completion date and time
        sub_day = np.minimum(date + rng.integers(1, 60, n_resp), rep_end + 90)
        minutes = rng.integers(7 * 60, 23 * 60, n_resp)
        fmt = spec.get("respondent", {}).get("submitted_format", "%d/%m/%Y %H:%M")
        dates = fmt_dates(sub_day, "%Y-%m-%d").to_numpy()
        stamp = np.array([_fmt_stamp(d, m, fmt) for d, m in zip(dates, minutes)], dtype=object)
        school = ent >= 0
        urn = np.where(school, w.live_urn(np.maximum(ent, 0), sub_day), 0)
        urn_txt = np.where(school & (rng.random(n_resp) > 0.06), urn.astype(str), "").astype(object)
        roles = list(spec.get("roles") or [])
        role = _roles(rng, roles, role_src, n_resp, ROLE_BLANK.get(name, 0.03))
        ids = 10_000_000_000 + (k_inst + 1) * 100_000_000 + np.sort(rng.choice(99_999_999, n_resp, replace=False))
        resp_id = ids.astype(str).astype(object)
        cols: dict[str, np.ndarray] = {}
        for field, col in respondent_columns(spec):
            cols[col] = {"id": resp_id, "submitted": stamp, "role": role, "urn": urn_txt,
                         "activity": act}.get(field, np.full(n_resp, None, dtype=object))
        eta = rng.normal(0, 1, n_resp)
        inst_truth = {"respondents": n_resp, "pool": pool, "items": {}}
        for it in spec.get("items") or []:
            scale = scales[it["scale"]]
            prof = ITEM_PROFILES.get(it["id"]) or SCALE_DEFAULTS.get(it["scale"], FALLBACK)
            pos, ptop, pns, pskip = prof
            probs = _level_probs(scale["levels"], scale.get("positive", []), scale.get("top", []), pos, ptop)
            z = RHO * eta + math.sqrt(1 - RHO ** 2) * rng.normal(0, 1, n_resp)
            uu = 1.0 - _phi(z)                  # best answers for the most positive respondents
            cdf = np.cumsum(probs)
            li = np.minimum(np.searchsorted(cdf, uu, side="right"), len(probs) - 1)
            ans = np.array(scale["levels"], dtype=object)[li]
            ns = scale.get("not_substantive") or []
            if ns and pns > 0:
                ans[rng.random(n_resp) < pns] = ns[0]
            ans[rng.random(n_resp) < pskip] = None
            cols[it["column"]] = ans
            inst_truth["items"][it["id"]] = {"positive": pos, "top": ptop, "not_substantive": pns, "skipped": pskip}
        for ms in spec.get("multi_select") or []:
            answered = rng.random(n_resp) > 0.05
            ticks = {}
            margin = {}
            for op in ms["options"]:
                p = OPTION_PROFILES.get(op["id"], 0.3)
                z = RHO * eta + math.sqrt(1 - RHO ** 2) * rng.normal(0, 1, n_resp)
                if op["id"] in EXCLUSIVE_OPTIONS:      # "nowhere" goes with the least positive respondents
                    z = -z
                margin[op["id"]] = z - _probit(1 - p)
                ticks[op["id"]] = (margin[op["id"]] > 0) & answered
            # a respondent who answers ticks at least one option: the one closest to being ticked
            none_ticked = answered & ~np.any(np.stack(list(ticks.values())), axis=0)
            best = np.argmax(np.stack(list(margin.values())), axis=0)
            for j, oid in enumerate(margin):
                ticks[oid] = ticks[oid] | (none_ticked & (best == j))
            excl = np.zeros(n_resp, dtype=bool)
            for oid in EXCLUSIVE_OPTIONS & set(ticks):
                excl |= ticks[oid]
            for op in ms["options"]:
                t = ticks[op["id"]] if op["id"] in EXCLUSIVE_OPTIONS else ticks[op["id"]] & ~excl
                cols[op["column"]] = np.where(t, "1", None).astype(object)
                inst_truth["items"][f"{ms['id']}:{op['id']}"] = {"ticked": OPTION_PROFILES.get(op["id"], 0.3)}
        for ft in spec.get("free_text") or []:
            has = rng.random(n_resp) < FREE_TEXT_RATE
            texts = np.full(n_resp, None, dtype=object)
            codes_all = list(L.FEEDBACK_CODES)
            wts = np.array([L.FEEDBACK_CODE_WEIGHTS[c] for c in codes_all])
            for i in np.flatnonzero(has):
                k = 1 + int(rng.random() < 0.45) + int(rng.random() < 0.15)
                chosen = rng.choice(len(codes_all), size=k, replace=False, p=wts / wts.sum())
                phrases = [str(rng.choice(L.FEEDBACK_CODES[codes_all[c]])) for c in chosen]
                texts[i] = "; ".join(phrases)
                if rng.random() < 0.93:             # a few comments are not coded
                    for c in sorted(chosen):
                        coded_rows.append((resp_id[i], codes_all[c], L.CODEBOOK_VERSION))
            cols[ft["column"]] = texts
        header = instrument_columns(spec)
        frames[f"surveys/{name}.csv"] = pl.DataFrame(
            {c: pl.Series(c, [None if v is None else str(v) for v in cols[c]], dtype=pl.Utf8) for c in header})
        truth[name] = inst_truth
    coded = pl.DataFrame(coded_rows, schema={"Response ID": pl.Utf8, "code": pl.Utf8, "codebook_version": pl.Utf8},
                         orient="row").unique(maintain_order=True).sort(["Response ID", "code"])
    return frames, coded, truth


def _probit(p: float) -> float:
    """Inverse normal CDF."""
    from statistics import NormalDist
    return NormalDist().inv_cdf(min(max(p, 1e-9), 1 - 1e-9))


def _fmt_stamp(iso: str, minutes: int, fmt: str) -> str:
    import datetime as dt
    d = dt.datetime.fromisoformat(iso) + dt.timedelta(minutes=int(minutes))
    return d.strftime(fmt)


def _roles(rng, roles: list[str], src: np.ndarray, n: int, blank: float) -> np.ndarray:
    if not roles:
        return np.full(n, None, dtype=object)
    wts = 0.45 ** np.arange(len(roles))
    drawn = np.array(roles, dtype=object)[rng.choice(len(roles), size=n, p=wts / wts.sum())]
    keep = np.isin(src, roles) & (rng.random(n) < 0.85)
    out = np.where(keep, src, drawn).astype(object)
    out[rng.random(n) < blank] = None
    return out


def _sample_pool(rng, pool: str, att: pl.DataFrame, trained: pl.DataFrame, bd: BookingData, n: int,
                 rep_start: int, rep_end: int):
    """Respondents: (school, reference day, role, activity code, contact) arrays."""
    if pool == "bookings":
        idx = rng.choice(att.height, size=min(n, att.height), replace=False)
        idx.sort()
        sub = att[idx]
        return (sub["_entity"].to_numpy(), sub["_date"].to_numpy(), sub["Job Role"].to_numpy().astype(object),
                sub["Activity Code"].to_numpy().astype(object), sub["Contact ID"].to_numpy())
    if pool == "trained_leaders" and trained.height:
        idx = np.sort(rng.choice(trained.height, size=min(n, trained.height), replace=False))
        sub = trained[idx]
        days = np.full(len(idx), rep_start) + rng.integers(0, rep_end - rep_start, len(idx))
        return (sub["_entity"].to_numpy(), days, sub["_role"].to_numpy().astype(object),
                np.full(len(idx), None, dtype=object), sub["Contact ID"].to_numpy())
    if pool == "schools":
        per = att.filter(pl.col("_entity") >= 0).group_by("_entity").agg(pl.col("_date").min()).sort("_entity")
        idx = np.sort(rng.choice(per.height, size=min(n, per.height), replace=False))
        sub = per[idx]
        role = np.where(rng.random(len(idx)) < 0.75, "Subject Leader", None).astype(object)
        return (sub["_entity"].to_numpy(), sub["_date"].to_numpy(), role, np.full(len(idx), None, dtype=object),
                np.full(len(idx), None, dtype=object))
    per = att.group_by("_contact").agg(pl.col("_entity").first(), pl.col("_date").max(), pl.col("Job Role").first(),
                                       pl.col("Contact ID").first()).sort("_contact")
    idx = np.sort(rng.choice(per.height, size=min(n, per.height), replace=False))
    sub = per[idx]
    return (sub["_entity"].to_numpy(), sub["_date"].to_numpy(), sub["Job Role"].to_numpy().astype(object),
            np.full(len(idx), None, dtype=object), sub["Contact ID"].to_numpy())


#: The share of those invited who answer each survey (a survey not listed: 30%); the invited counts follow.
RESPONSE_RATE = {"participant_impact": 0.34, "practitioner_leader": 0.46, "subject_leader": 0.27,
                 "event_feedback": 0.58}


def invited_frame(frames: dict) -> pl.DataFrame:
    """People invited to each survey, from its responses and :data:`RESPONSE_RATE` (rounded up)."""
    import math

    rows = []
    for rel in sorted(frames):
        name = rel.removeprefix("surveys/").removesuffix(".csv")
        rows.append({"instrument": name, "invited": math.ceil(frames[rel].height / RESPONSE_RATE.get(name, 0.3)),
                     "note": "survey links sent by email"})
    return pl.DataFrame(rows, schema={"instrument": pl.Utf8, "invited": pl.Int64, "note": pl.Utf8})


def write_surveys(frames: dict, coded: pl.DataFrame, writer: Writer) -> dict[str, int]:
    out = {}
    for rel in sorted(frames):
        out[rel] = writer.write_csv(rel, frames[rel])
    out["surveys/feedback_coded.csv"] = writer.write_csv("surveys/feedback_coded.csv", coded)
    out["reference/survey_invited.csv"] = writer.write_csv("reference/survey_invited.csv", invited_frame(frames))
    return out
