"""Synthetic reporting year: every raw input of the pipeline, with planted truths.

``generate(out_dir, size=..., seed=...)`` writes the layout described in ``data/raw/README.md``
(bookings, GIAS register and links, census, KS4/KS2 performance tables, surveys, reference data,
targeted-programme inputs),
then ``truth.json`` (what was planted: selection model, treatment effects, URN lineage, match styles;
read by tests only, never by the pipeline) and ``manifest.json`` (every file with rows and SHA-256).

The same seed and size give byte-identical files. Column sets of the performance tables come from
``config/measures.yaml`` and survey columns from ``schemas/instruments/`` at generation time.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl

from . import lookups as L
from ._common import Writer, Years, load_config, load_instruments, load_measures, stream, to_date, year_start

__all__ = ["generate", "SIZES"]
SIZES = L.SIZES
DEFAULT_SEED = 20190401


def _resolve(size, seed, cfg):
    syn = cfg.get("synthetic") or {}
    size = size or syn.get("size") or "small"
    seed = int(seed if seed is not None else syn.get("seed", DEFAULT_SEED))
    if size not in L.SIZES:
        raise ValueError(f"unknown synthetic size {size!r}; choose one of {', '.join(L.SIZES)}")
    return size, seed


def generate(out_dir: Path | str, *, size: str | None = None, seed: int | None = None, config: dict | None = None,
             progress: Callable[[str], None] | None = None) -> dict:
    """Write a synthetic reporting year into ``out_dir`` and return its manifest.

    ``size`` and ``seed`` default to the config's ``synthetic`` section, else ``small`` and 20190401.
    ``config`` is the parsed run configuration (default: ``config/config.yaml``); its ``years`` decide the
    delivery (financial) and attainment (academic) years generated.
    """
    from .bookings import build_bookings, write_bookings
    from .performance import build_performance, write_performance
    from .reference import write_reference, write_school_judgements
    from .schools import build_world, write_census, write_register
    from .surveys import build_surveys, write_surveys
    from .targeted import write_targeted
    from .usage import build_usage

    cfg = load_config(config)
    size, seed = _resolve(size, seed, cfg)
    size_cfg = L.SIZES[size]
    years = Years.from_config(cfg)
    measures = load_measures()
    instruments, scales = load_instruments()
    writer = Writer(Path(out_dir))
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()

    def done(family: str, counts: dict, t_start: float):
        say(f"{family}: {len(counts)} file{'s' if len(counts) != 1 else ''}, {sum(counts.values()):,} rows "
            f"({time.perf_counter() - t_start:.1f} s)")

    t = time.perf_counter()
    world = build_world(stream(seed, "schools"), size_cfg, years)
    usage = build_usage(stream(seed, "usage"), world, years, size_cfg)
    counts = write_register(world, writer, stream(seed, "register"))
    counts["register/england_census.csv"] = write_census(world, writer, stream(seed, "census"))
    done("register", counts, t)

    t = time.perf_counter()
    bd = build_bookings(stream(seed, "bookings"), world, usage, years, size_cfg)
    counts = write_bookings(bd, years, writer)
    done("bookings", counts, t)

    t = time.perf_counter()
    frames, perf_truth = build_performance(seed, world, usage, years, measures)
    counts = write_performance(frames, writer)
    done("performance", counts, t)

    t = time.perf_counter()
    ref_counts, trained, act = write_reference(stream(seed, "reference"), world, usage, bd, years, writer)
    ref_counts.update(write_school_judgements(stream(seed, "judgements"), world, usage, years, writer))
    done("reference", ref_counts, t)

    t = time.perf_counter()
    sframes, coded, survey_truth = build_surveys(seed, world, bd, trained, years, size_cfg, instruments, scales)
    counts = write_surveys(sframes, coded, writer)
    done("surveys", counts, t)

    t = time.perf_counter()
    done("targeted", write_targeted(stream(seed, "targeted"), world, bd, years, cfg, writer), t)

    t = time.perf_counter()
    truth = _truth(world, usage, bd, years, size, seed, measures, perf_truth, survey_truth, act, trained)
    data = (json.dumps(truth, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    writer.write_bytes("truth.json", data, None)
    manifest = {"generator": "cpdeval.synthetic", "size": size, "seed": seed,
                "files": sorted(({k: v for k, v in f.items() if k != "bytes"} for f in writer.files),
                                key=lambda f: f["path"])}
    mdata = (json.dumps(manifest, sort_keys=True, indent=1) + "\n").encode("utf-8")
    (Path(out_dir) / "manifest.json").write_bytes(mdata)
    say(f"truth and manifest: 2 files ({time.perf_counter() - t:.1f} s); total {time.perf_counter() - t0:.1f} s")
    return manifest


def _r(x, nd=6):
    return None if x is None or (isinstance(x, float) and not np.isfinite(x)) else round(float(x), nd)


def _truth(w, u, bd, years: Years, size, seed, measures, perf_truth, survey_truth, act, trained) -> dict:
    from .performance import EFFECTS, MODELS
    from .usage import COEF, PHASE_INTERCEPT, TARGET_EVER_SHARE, covariates

    key = w.key_urn()
    kind = w.kind_name
    fy_labels = years.delivery
    first_label = [None if f < 0 else fy_labels[f] for f in u.first_fy]

    def treated_from(f):
        if f < 0:
            return None
        a = year_start(fy_labels[f]) + 1
        return f"{a}-{str(a + 1)[2:]}"

    spells = w.spells.sort(["entity", "seq"])
    urns_of: dict[int, list[int]] = {}
    for e, urn in zip(spells["entity"].to_list(), spells["urn"].to_list()):
        urns_of.setdefault(e, []).append(int(urn))
    cov = covariates(w)
    eligible = w.is_state_mainstream() & (kind != "independent")
    region, la_code = w.region, w.la_code
    schools = {}
    for e in range(w.n):
        schools[str(int(key[e]))] = {
            "urns": urns_of[e], "kind": kind[e], "la": int(la_code[e]), "region": region[e],
            "first_use_fy": first_label[e], "first_treated_attainment_year": treated_from(int(u.first_fy[e])),
            "ever_user": bool(u.first_fy[e] >= 0), "propensity": _r(u.propensity[e]), "priority": bool(u.priority[e]),
            "partnership_lead": bool(u.lead[e]), "prior": _r(w.prior[e]), "quality": _r(w.quality[e]),
            "fsm": _r(w.fsm[e], 1), "pupils": int(w.pupils[e]), "urban": bool(cov["urban"][e]),
            "ofsted": None if w.ofsted[e] < 0 else L.OFSTED[w.ofsted[e]],
            "effect_eligible": bool(eligible[e]),
            "active_years": [fy_labels[t] for t in np.flatnonzero(u.active[e])],
        }
    urn_to_school = {str(u_): str(int(key[e])) for e, us in urns_of.items() for u_ in us}

    f = bd.frame
    contacts = bd.contacts
    c_key = np.where(contacts["entity"].to_numpy() >= 0, key[np.maximum(contacts["entity"].to_numpy(), 0)], 0)
    contact_school = {cid: (str(int(k)) if k else None) for cid, k in zip(contacts["contact_id"].to_list(), c_key)}
    style_counts = dict(f.group_by("_style").len().sort("_style").iter_rows())
    urn_rows = f.filter(pl.col("_style") == 0)
    stale = int((urn_rows["Organisation URN"].cast(pl.Int64) != urn_rows["_live_urn"]).sum())
    from .bookings import STYLES
    effects = {}
    for ks in ("ks4", "ks2"):
        effects[ks] = {m: EFFECTS.get(ks, {}).get(m, 0.0) for m in measures[ks]["measures"]}
    conv = w.events["conversions"]
    return {
        "generator": "cpdeval.synthetic", "size": size, "seed": seed,
        "years": {"delivery": years.delivery, "attainment": years.attainment, "reporting": years.reporting},
        "register_extract_date": str(to_date(w.extract_day)),
        "treatment": {
            "unit": "school, followed across URN changes (keys of 'schools' are the earliest URN of each school)",
            "first_use": "first financial year (April-March) with at least one booking whose Booking Status is "
                         "'Attended', by a participant of the school (any provider, any activity type)",
            "treated_from": "the academic (attainment) year starting in the September after the end of that "
                            "financial year, and every later year: first use 2015-16 -> treated from 2016-17",
            "effect_applies_to": "state-funded mainstream schools (performance-table RECTYPE 1, not independent); "
                                 "special and independent schools carry no planted effect",
            "no_use_before_window": True,
            "dose": "constant effect: intensity and regularity of use do not change the effect",
        },
        "effects": effects,
        "effect_units": "percentage points for percent measures; score points for scores",
        "realised_effect": perf_truth["realised_effect"],
        "treated_school_years": perf_truth["treated_school_years"],
        "outcome_model": {ks: {m: {k: v for k, v in spec.items()} for m, spec in MODELS[ks].items()} for ks in MODELS},
        "selection_model": {
            "form": "logit P(ever uses the CPD in the delivery window) = intercept + sum(coef * covariate) + phase intercept",
            "intercept": u.b0, "coefficients": COEF, "phase_intercepts": PHASE_INTERCEPT,
            "target_ever_share": TARGET_EVER_SHARE,
            "covariates": {
                "prior": "standardised intake prior attainment; KS4 schools: KS2APS = 28.7 + 1.4 * prior (+ noise sd 0.12 "
                         "+ sampling); not published for primary schools (their pre-treatment attainment proxies it)",
                "fsm_minus_15": "GIAS PercentageFSM minus 15 (independent schools: 0)",
                "log_relative_size": "log(NumberOfPupils / median for the school's kind)",
                "urban": "UrbanRural (name) is an Urban category",
                "ofsted_good_or_outstanding": "OfstedRating (name) is Good or Outstanding",
            },
            "adoption": "first year ~ truncated geometric with yearly hazard logistic(-1.3 + 0.5 * centred linear predictor)",
            "regularity": "after the first year, active each year with probability logistic(0.6 + 0.9 * centred predictor)",
            "intensity": "bookings per active year = 1 + Poisson(c_year * lambda), log lambda = 0.45 * centred predictor "
                         "+ phase factor + 0.3 * log relative size (+ lead schools x4)",
            "partnership_leads": "always users from the first year",
            "ever_users": int(u.ever.sum()), "schools": w.n,
        },
        "schools": schools,
        "urn_to_school": urn_to_school,
        "lineage": {
            "conversions": len(conv),
            "chains": [str(int(key[e])) for e in w.events["chains"]],
            "mergers": [{"closed": str(int(key[a])), "continuing": str(int(key[b])), "date": str(to_date(d)),
                         "variant": "absorbed into the continuing URN" if v == 0 else "new URN for the merged school"}
                        for a, b, d, v in w.events["mergers"]],
            "closures": [str(int(key[e])) for e in sorted(w.events["closures"])],
            "new_schools": [str(int(key[e])) for e in sorted(w.events["new_schools"])],
            "links_anomalies": w.anomalies,
            "duplicate_name_pairs": [[str(int(key[a])), str(int(key[b]))] for a, b in w.duplicate_pairs],
        },
        "bookings": {
            "rows": f.height,
            "per_year": {fy_labels[t]: n for t, n in f.group_by("_fy").len().sort("_fy").iter_rows()},
            "status": dict(f.group_by("Booking Status").len().sort("Booking Status").iter_rows()),
            "match_styles": {STYLES[k]: v for k, v in style_counts.items()},
            "match_styles_note": "urn: Organisation URN given (some stale: the pre-conversion URN); laestab: LAESTAB "
                                 "only; name_postcode: typed name and postcode (with typos); ambiguous: name shared by "
                                 "two schools in one town, no full postcode; no_school: not a school in the register",
            "stale_urn_bookings": stale,
            "contact_school": contact_school,
            "ambiguous_contacts": sorted(c for c, s in zip(contacts["contact_id"].to_list(), contacts["style"].to_list()) if s == "ambiguous"),
            "no_school_contacts": sorted(c for c, s in zip(contacts["contact_id"].to_list(), contacts["style"].to_list()) if s == "no_school"),
        },
        "partnerships": [{"id": p["id"], "region": p["region"], "leads": [
            {"school": None if ld["entity"] is None else str(int(key[ld["entity"]])), "urn": ld["urn"],
             "from": str(to_date(ld["from"])), "to": None if ld["to"] is None else str(to_date(ld["to"]))}
            for ld in p["leads"]]} for p in u.partnerships],
        "priority_schools": sorted(str(int(key[e])) for e in np.flatnonzero(u.priority)),
        "delivery_actuals": act.to_dicts(),
        "trained_leaders": trained.height,
        "surveys": survey_truth,
    }
