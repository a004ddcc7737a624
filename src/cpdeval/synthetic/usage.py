"""Who uses the CPD, when, and how much: the planted selection model, partnerships and lead schools.

Selection is on observables only (so that adjusted estimators can recover the planted effect):

    logit P(school ever uses the CPD in the window) = b0 + b_prior * prior + b_fsm * (PercentageFSM - 15)
        + b_size * log(NumberOfPupils / median of its kind) + b_urban * urban + b_ofsted * (Good or Outstanding)
        + phase intercept

``prior`` is the school's standardised intake prior attainment; for schools with key stage 4 it is what
KS2APS measures (KS2APS = 28.7 + 1.4 * prior + small noise). Users adopt earlier and use more when the
linear predictor is higher. The first financial year with an attended booking is the treatment start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import lookups as L
from ._common import FAR_FUTURE, Years, day
from .schools import World

COEF = {"prior": 0.35, "fsm_minus_15": -0.015, "log_relative_size": 0.30, "urban": 0.25,
        "ofsted_good_or_outstanding": 0.30}
PHASE_INTERCEPT = {"primary": -0.35, "secondary": 0.9, "all_through": 0.6, "middle_primary": 0.0,
                   "middle_secondary": 0.2, "sixteen_plus": -0.3, "special": -1.0, "nursery": -1.8,
                   "independent": -2.0}
TARGET_EVER_SHARE = 0.45


@dataclass
class Usage:
    lin: np.ndarray
    propensity: np.ndarray
    b0: float
    ever: np.ndarray
    first_fy: np.ndarray          # index into years.delivery, −1 never
    active: np.ndarray            # [n, T] bool: at least one attended booking that year
    lam: np.ndarray               # relative intensity
    theta_national: np.ndarray    # share of bookings with the National Centre
    bespoke_share: np.ndarray
    priority: np.ndarray
    home_partnership: np.ndarray  # index into partnerships
    partnerships: list[dict]
    lead: np.ndarray              # bool: ever a partnership lead school
    alive_fy: np.ndarray          # [n, T] school exists for the whole financial year


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def covariates(w: World) -> dict[str, np.ndarray]:
    kind = w.kind_name
    med = np.array([L.KIND_SIZE[k][0] for k in kind], dtype=float)
    return {
        "prior": w.prior,
        "fsm_minus_15": np.nan_to_num(w.fsm, nan=15.0) - 15.0,
        "log_relative_size": np.log(w.pupils / med),
        "urban": (w.ur <= 2).astype(float),
        "ofsted_good_or_outstanding": np.isin(w.ofsted, [0, 1]).astype(float),
    }


def build_usage(rng: np.random.Generator, w: World, years: Years, size_cfg: dict) -> Usage:
    n, T = w.n, len(years.delivery)
    kind = w.kind_name
    cov = covariates(w)
    lin0 = sum(COEF[k] * cov[k] for k in COEF) + np.array([PHASE_INTERCEPT[k] for k in kind])

    bounds = [years.fy_bounds(fy) for fy in years.delivery]
    alive_fy = np.stack([(w.alive_from <= s) & (w.alive_to > e) for s, e in bounds], axis=1)
    alive_any = alive_fy.any(axis=1)

    lo, hi = -8.0, 8.0                      # intercept giving the target share of ever-users
    for _ in range(60):
        mid = (lo + hi) / 2
        if _sigmoid(lin0 + mid)[alive_any].mean() < TARGET_EVER_SHARE:
            lo = mid
        else:
            hi = mid
    b0 = round((lo + hi) / 2, 6)
    lin = lin0 + b0
    prop = _sigmoid(lin)
    centred = lin - lin[alive_any].mean()

    # priority schools: the lowest-attaining 5% of state-funded mainstream schools (a fixed DfE list)
    mainstream = w.is_state_mainstream() & alive_fy[:, -1]
    score = 0.7 * w.prior + 0.5 * w.quality
    cut = np.quantile(score[mainstream], 0.05) if mainstream.any() else -np.inf
    priority = mainstream & (score <= cut)

    partnerships, home = _partnerships(rng, w, years, size_cfg, prop)
    lead = np.zeros(n, dtype=bool)
    for p in partnerships:
        for ld in p["leads"]:
            if ld["entity"] is not None:
                lead[ld["entity"]] = True

    ever = (rng.random(n) < prop) & alive_any
    ever |= lead
    h = _sigmoid(-1.3 + 0.5 * centred)
    # first year: truncated geometric over the years the school exists
    u = rng.random(n)
    first = np.full(n, -1)
    probs = np.zeros((n, T))
    for t in range(T):
        probs[:, t] = h * (1 - h) ** t * alive_fy[:, t]
    tot = probs.sum(axis=1)
    cdf = np.cumsum(probs, axis=1) / np.where(tot > 0, tot, 1)[:, None]
    pick = (u[:, None] > cdf).sum(axis=1)
    first = np.where(ever & (tot > 0), np.minimum(pick, T - 1), -1)
    first = np.where(lead, np.argmax(alive_fy, axis=1), first)
    regular = _sigmoid(0.6 + 0.9 * centred)
    act = (rng.random((n, T)) < regular[:, None]) & alive_fy
    tt = np.arange(T)[None, :]
    active = np.where(first[:, None] < 0, False, np.where(tt == first[:, None], True, (tt > first[:, None]) & act))
    active |= lead[:, None] & alive_fy

    kind_factor = {"primary": 1.0, "secondary": 2.4, "all_through": 2.2, "middle_primary": 1.1,
                   "middle_secondary": 1.3, "sixteen_plus": 1.4, "special": 0.6, "nursery": 0.4, "independent": 0.7}
    med = np.array([L.KIND_SIZE[k][0] for k in kind], dtype=float)
    lam = np.exp(0.45 * centred) * np.array([kind_factor[k] for k in kind]) * (w.pupils / med) ** 0.3
    lam = lam * np.where(lead, 4.0, 1.0) * rng.lognormal(0, 0.4, n)

    mix = rng.random(n)
    theta = np.where(mix < 0.15, rng.beta(8, 1, n), np.where(mix < 0.42, 0.0, rng.beta(1.5, 6, n)))
    bespoke = np.where(np.isin(kind, ["primary", "middle_primary", "nursery"]), rng.beta(0.8, 2.5, n), rng.beta(0.5, 4, n))
    bespoke = np.where(rng.random(n) < 0.3, 0.0, bespoke)
    return Usage(lin=lin, propensity=prop, b0=b0, ever=first >= 0, first_fy=first, active=active, lam=lam,
                 theta_national=theta, bespoke_share=bespoke, priority=priority, home_partnership=home,
                 partnerships=partnerships, lead=lead, alive_fy=alive_fy)


def _partnerships(rng, w: World, years: Years, size_cfg: dict, prop: np.ndarray):
    """Partnerships by region, each with one or two lead schools; a few change lead mid-window."""
    n_p = int(size_cfg["partnerships"])
    region = w.region
    gors = [g for g in L.GORS if (region == g).any()]
    counts = np.array([(region == g).sum() for g in gors], dtype=float)
    alloc = np.ones(len(gors), dtype=int)
    for _ in range(n_p - len(gors)):    # next partnership to the region with most schools per partnership
        alloc[np.argmax(counts / alloc)] += 1
    y0 = int(str(years.delivery[0])[:4])
    start = day(y0 - 1, 9, 1)
    win0, win1 = years.window
    home = np.zeros(w.n, dtype=int)
    partnerships: list[dict] = []
    pid = 0
    for g, k in zip(gors, alloc):
        members = np.flatnonzero(region == g)
        la_ids = sorted(set(w.la_idx[members].tolist()))
        first_p = pid
        for j in range(k):
            pid += 1
            partnerships.append({"id": f"P{pid:02d}", "region": g, "leads": [], "index": pid - 1})
        if len(la_ids) >= k:
            for i, la in enumerate(la_ids):
                home[members[w.la_idx[members] == la]] = first_p + (i % k)
        else:
            home[members] = first_p + rng.integers(0, k, len(members))
    kind = w.kind_name
    alive_all = (w.alive_from < 0) & (w.alive_to >= FAR_FUTURE)
    used: set[int] = set()
    for p in partnerships:
        cands = np.flatnonzero((home == p["index"]) & np.isin(kind, ["secondary", "all_through"]) & alive_all)
        cands = np.array([c for c in cands if c not in used], dtype=int)
        towns = [w.town[c] for c in cands]
        p["name"] = f"{(towns[0] if towns else p['region'])} Science Learning Partnership"
        if len(cands) == 0:
            p["leads"].append({"entity": None, "from": start, "to": None})
            continue
        wts = prop[cands] ** 2
        n_leads = 2 if (rng.random() < 0.2 and len(cands) > 1) else 1
        chosen = rng.choice(cands, size=n_leads, replace=False, p=wts / wts.sum())
        for c in chosen:
            used.add(int(c))
            p["leads"].append({"entity": int(c), "from": start, "to": None})
        p["name"] = f"{w.town[int(chosen[0])]} Science Learning Partnership"
    # one partnership led by a non-school organisation (a university)
    last = partnerships[-1]
    last["leads"] = [{"entity": None, "from": start, "to": None}]
    last["name"] = f"{last['region']} University Science Learning Partnership"
    # lead changes mid-window
    singles = [p for p in partnerships[:-1] if len(p["leads"]) == 1 and p["leads"][0]["entity"] is not None]
    n_change = min(int(size_cfg["lead_changes"]), len(singles))
    for i in rng.choice(len(singles), size=n_change, replace=False) if n_change else []:
        p = singles[int(i)]
        cands = np.flatnonzero((home == p["index"]) & np.isin(kind, ["secondary", "all_through"]) & alive_all)
        cands = np.array([c for c in cands if c not in used], dtype=int)
        if len(cands) == 0:
            continue
        c = int(rng.choice(cands))
        used.add(c)
        d = day(int(rng.integers(y0 + 1, y0 + 4)), int(rng.choice([1, 4, 9])), 1)
        p["leads"][0]["to"] = d - 1
        p["leads"].append({"entity": c, "from": d, "to": None})
    for p in partnerships:
        for ld in p["leads"]:
            e = ld["entity"]
            ld["urn"] = None if e is None else int(w.live_urn(np.array([e]), np.array([max(ld["from"], win0)]))[0])
    return partnerships, home
