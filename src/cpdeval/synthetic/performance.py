"""DfE KS4 and KS2 school performance tables, one file per key stage and academic year.

Each school-year outcome is

    level(year) + b_prior * prior + b_quality * quality + b_fsm * fsm_z + b_school * school effect
        + year noise + sampling noise (k / sqrt(cohort)) + EFFECT * treated

``treated`` is 1 from the first academic year that starts after the end of the school's first financial
year with an attended booking (and stays 1). Effects are planted only in state-funded mainstream schools.
Which columns a file has in a year comes from ``config/measures.yaml``; the values are written as the DfE
publishes them (integer percentages with '%', decimals for scores, SUPP / NE / NP / NA / LOW / x / .. codes).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from . import lookups as L
from ._common import Writer, Years, day, fmt_int, fmt_num, fmt_pct, stream, year_start
from .schools import World
from .usage import Usage

EFFECTS = {"ks4": {"pct_ebacc_2sci": 2.0, "pct_5em": 1.5, "sci_va": 0.10},
           "ks2": {"pct_sci_ta_exp": 2.5}}

# measure -> model: levels by academic year, coefficients, noise sd, sampling constant k, decimals
MODELS = {
    "ks4": {
        "ks2_aps": dict(level={"*": 28.7}, b_p=1.4, b_q=0.0, b_f=0.0, b_u=0.0, sd=0.12, k=0.5, dp=1),
        "pct_ebacc_2sci": dict(level={"2014-15": 62.0, "2015-16": 63.0, "2016-17": 64.0, "2017-18": 60.0,
                                      "2018-19": 61.0}, b_p=11.0, b_q=4.5, b_f=-2.0, b_u=5.0, sd=3.5, k=45.0),
        "pct_5em": dict(level={"2014-15": 56.5, "2015-16": 57.5, "2016-17": 63.5, "2017-18": 63.9,
                               "2018-19": 64.6}, b_p=10.0, b_q=4.0, b_f=-2.5, b_u=4.0, sd=3.0, k=45.0),
        "sci_va": dict(level={"*": 0.0}, b_p=0.03, b_q=0.30, b_f=0.0, b_u=0.15, sd=0.12, k=1.0, dp=2, ci=1.45),
        "pct_triple_sci_entry": dict(level={"2016-17": 27.0, "2017-18": 28.0, "2018-19": 29.0}, b_p=9.0, b_q=4.0,
                                     b_f=-1.0, b_u=9.0, sd=4.0, k=40.0),
        "att8": dict(level={"2015-16": 48.5, "2016-17": 46.3, "2017-18": 46.5, "2018-19": 46.7}, b_p=6.5,
                     b_q=2.5, b_f=-1.2, b_u=2.0, sd=1.5, k=14.0, dp=1),
        "p8": dict(level={"*": -0.03}, b_p=0.05, b_q=0.35, b_f=-0.04, b_u=0.12, sd=0.10, k=1.2, dp=2, ci=1.25),
    },
    "ks2": {
        "pct_sci_ta_exp": dict(level={"2015-16": 81.0, "2016-17": 82.0, "2017-18": 82.5, "2018-19": 82.7},
                               b_p=4.5, b_q=2.0, b_f=-1.0, b_u=2.5, sd=2.0, k=38.0),
        "pct_rwm_exp": dict(level={"2015-16": 53.0, "2016-17": 61.0, "2017-18": 64.0, "2018-19": 65.0},
                            b_p=9.0, b_q=4.0, b_f=-2.5, b_u=4.0, sd=3.0, k=48.0),
        "read_progress": dict(level={"*": 0.0}, b_p=0.0, b_q=1.3, b_f=-0.2, b_u=1.0, sd=0.5, k=6.0, dp=1),
        "mat_progress": dict(level={"*": 0.0}, b_p=0.0, b_q=1.4, b_f=-0.2, b_u=1.0, sd=0.5, k=6.0, dp=1),
    },
}
GENERIC = {"percent": dict(level={"*": 50.0}, b_p=8.0, b_q=3.0, b_f=-1.0, b_u=3.0, sd=3.0, k=40.0),
           "score": dict(level={"*": 0.0}, b_p=0.1, b_q=0.3, b_f=0.0, b_u=0.1, sd=0.1, k=1.0, dp=2)}

ID_COLUMNS = {"ks4": ["RECTYPE", "LEA", "ESTAB", "URN", "SCHNAME", "TOWN", "PCODE", "ICLOSE", "NFTYPE", "RELDENOM",
                      "AGERANGE", "TOTPUPS"],
              "ks2": ["RECTYPE", "LEA", "ESTAB", "URN", "SCHNAME", "TOWN", "PCODE", "NFTYPE", "ICLOSE", "RELDENOM",
                      "AGERANGE", "TOTPUPS"]}
# record types of the total rows, as published: KS4 4 = LA, 5 = England all schools, 7 = England state-funded;
# KS2 3 = LA, 4 = England all schools, 5 = England state-funded
TOTAL_RECTYPES = {"ks4": (4, 5, 7), "ks2": (3, 4, 5)}
RANDOM_CODES = [("NE", 0.008), ("NP", 0.003), ("NA", 0.002), ("LOW", 0.002), ("x", 0.002), ("..", 0.002), ("", 0.004)]


def measure_columns(ks_map: dict, label: str) -> list[str]:
    """Columns the measure map lists for one key stage and year, in map order (main, lower, upper)."""
    cols: list[str] = []
    for spec in ks_map["measures"].values():
        for part in ("columns", "lower", "upper"):
            c = (spec.get(part) or {}).get(label)
            if c and c not in cols:
                cols.append(c)
    return cols


def file_columns(ks: str, ks_map: dict, label: str) -> list[str]:
    ids = list(ID_COLUMNS[ks])
    for c in ks_map.get("id_columns", {}).values():     # every id column the readers need is present
        if c not in ids:
            ids.append(c)
    return ids + [c for c in measure_columns(ks_map, label) if c not in ids]


def _stage(w: World, ks: str) -> tuple[np.ndarray, np.ndarray]:
    k = w.kind_name
    lo, hi = w.low, w.high
    indep = np.isin(_current_types(w), list(L.INDEPENDENT_TYPES))
    if ks == "ks4":
        m = np.isin(k, ["secondary", "all_through"]) | (np.isin(k, ["special", "independent"]) & (hi >= 16) & (lo <= 14))
    else:
        m = ((k == "primary") & (hi >= 11)) | np.isin(k, ["middle_primary", "middle_secondary"]) \
            | ((k == "all_through") & (lo <= 7)) | ((k == "special") & (lo <= 10) & (hi >= 11))
        m &= ~indep
    rectype = np.where(k == "special", 2, 1)
    return m, rectype


def _current_types(w: World) -> np.ndarray:
    last = w.spells.group_by("entity", maintain_order=True).last().sort("entity")
    out = np.empty(w.n, dtype=object)
    out[last["entity"].to_numpy()] = last["type"].to_numpy()
    return out


def _cohort(w: World, ks: str) -> np.ndarray:
    lo, hi = w.low.astype(float), np.minimum(w.high, 18).astype(float)
    span = np.maximum(hi - lo, 1.0)
    if ks == "ks4":
        return np.where(w.kind_name == "secondary", w.pupils * np.where(w.high > 16, 0.82, 1.0) / np.maximum(16 - lo, 1),
                        w.pupils / span)
    years_ks2 = np.where(np.isin(w.kind_name, ["middle_primary", "middle_secondary"]), 4.0,
                         np.where(lo >= 7, 4.0, np.minimum(11 - np.maximum(lo, 4), 7) + 0.0))
    return np.where(np.isin(w.kind_name, ["all_through", "special"]), w.pupils / span, w.pupils / np.maximum(years_ks2, 1))


def build_performance(seed: int, w: World, u: Usage, years: Years, measures: dict) -> tuple[dict, dict]:
    """Frames per output file and the realised-effect truth."""
    frames: dict[str, pl.DataFrame] = {}
    truth: dict = {"realised_effect": {}, "treated_school_years": {}, "levels": {}}
    sp = w.spells
    info = {r["urn"]: r for r in sp.select(["urn", "name", "type", "estab", "close", "low", "high"]).iter_rows(named=True)}
    fsm = np.nan_to_num(w.fsm, nan=np.nanmean(w.fsm))
    fz = (np.log1p(fsm) - np.log1p(fsm).mean()) / np.log1p(fsm).std()
    types_now = _current_types(w)
    indep = np.isin(types_now, list(L.INDEPENDENT_TYPES))
    eff_ok = w.is_state_mainstream() & ~indep
    first_start = np.where(u.first_fy >= 0, np.array([year_start(y) for y in years.delivery])[np.maximum(u.first_fy, 0)], 9999)
    la_codes = np.array([la[0] for la in w.las])
    la_names = np.array([la[1] for la in w.las], dtype=object)

    for ks in ("ks4", "ks2"):
        ks_map = measures[ks]
        stage, rectype = _stage(w, ks)
        base_cohort = _cohort(w, ks)
        blank = " " if ks == "ks2" else ""
        truth["realised_effect"][ks] = {}
        truth["treated_school_years"][ks] = {}
        for label in years.attainment:
            A = year_start(label)
            exam = day(A + 1, 6, 15)
            min_open = day(A - (4 if ks == "ks4" else 3), 9, 1)
            rows = stage & (w.alive_from <= min_open) & (w.alive_to > exam)
            ents = np.flatnonzero(rows)
            ne = len(ents)
            yr = stream(seed, f"perf/{ks}/{label}/rows")
            urn = w.live_urn(ents, np.full(ne, exam))
            n = np.maximum(np.round(base_cohort[ents] * yr.normal(1.0, 0.05, w.n)[ents]), 1).astype(int)
            treated = (first_start[ents] + 1 <= A)
            eff_mask = treated & eff_ok[ents]
            special = rectype[ents] == 2
            prior = w.prior[ents] - np.where(special, 2.5, 0.0)
            cols: dict[str, np.ndarray] = {}
            numeric: dict[str, np.ndarray] = {}      # for total rows
            kinds: dict[str, str] = {}
            for mname, spec in ks_map["measures"].items():
                col = (spec.get("columns") or {}).get(label)
                if not col:
                    continue
                kind = spec.get("kind", "percent")
                gen = stream(seed, f"perf/{ks}/{mname}/{label}")
                school = stream(seed, f"perf/{ks}/{mname}/school").normal(0, 1, w.n)
                re_m = 0.7 * w.school_re + 0.714 * school
                if mname == "pupils":
                    vals = n.astype(float)
                    cf = vals
                    txt = fmt_int(vals)
                elif mname == "pct_fsm6":
                    mult, add = (1.45, 4.0) if ks == "ks4" else (1.25, 3.0)
                    vals = np.clip(np.round(mult * fsm[ents] + add + gen.normal(0, 2.0, w.n)[ents]), 0, 95)
                    cf = vals
                    txt = fmt_pct(vals)
                else:
                    model = MODELS[ks].get(mname) or GENERIC["percent" if kind == "percent" else "score"]
                    lv = model["level"].get(label, model["level"].get("*"))
                    if lv is None:
                        lv = float(np.mean(list(model["level"].values())))
                    eps = gen.normal(0, 1, w.n)[ents]
                    eps2 = gen.normal(0, 1, w.n)[ents]
                    base = (lv + model["b_p"] * prior + model["b_q"] * w.quality[ents] + model["b_f"] * fz[ents]
                            + model["b_u"] * re_m[ents] + model["sd"] * eps + model["k"] / np.sqrt(n) * eps2)
                    effect = EFFECTS.get(ks, {}).get(mname, 0.0)
                    vals = base + effect * eff_mask
                    cf = base
                    if kind == "percent":
                        vals, cf = np.round(np.clip(vals, 0, 100)), np.round(np.clip(cf, 0, 100))
                        txt = fmt_pct(vals)
                    else:
                        dp = model.get("dp", 2)
                        vals, cf = np.round(vals, dp), np.round(cf, dp)
                        txt = fmt_num(vals, dp)
                    if "ci" in model:
                        half = 1.96 * model["ci"] / np.sqrt(n)
                        for part, sign in (("lower", -1), ("upper", 1)):
                            bcol = (spec.get(part) or {}).get(label)
                            if bcol:
                                cols[bcol] = fmt_num(vals + sign * half, dp)
                cols[col] = np.asarray(txt, dtype=object)
                numeric[col] = vals.astype(float)
                kinds[col] = kind
                codes = _codes(gen, ks, mname, kind, n, special, indep[ents], w.n, ents)
                coded = codes != None  # noqa: E711
                cols[col][coded] = codes[coded]
                numeric[col][coded] = np.nan
                for part in ("lower", "upper"):
                    bcol = (spec.get(part) or {}).get(label)
                    if bcol and bcol in cols:
                        cols[bcol][coded] = codes[coded]
                effect = EFFECTS.get(ks, {}).get(mname, 0.0)
                if effect:
                    ok = eff_mask & ~coded
                    diff = (vals - cf)[ok]
                    truth["realised_effect"][ks].setdefault(mname, {})[label] = {
                        "planted": effect, "mean_written_minus_counterfactual": round(float(diff.mean()), 6) if ok.any() else None,
                        "n_treated_school_rows": int(ok.sum())}
            truth["treated_school_years"][ks][label] = int(eff_mask.sum())
            # id columns
            names = np.array([info[x]["name"] for x in urn], dtype=object)
            typs = np.array([info[x]["type"] for x in urn], dtype=object)
            closes = np.array([info[x]["close"] for x in urn])
            rel = np.where(w.religion[ents] == 1, "Church of England", np.where(w.religion[ents] == 2, "Roman Catholic",
                                                                                 np.where(indep[ents], "None", "Does not apply")))
            ids = {
                "RECTYPE": rectype[ents].astype(str), "LEA": w.la_code[ents].astype(str),
                "ESTAB": np.array([str(info[x]["estab"]) for x in urn], dtype=object), "URN": urn.astype(str),
                "SCHNAME": names, "TOWN": np.array(w.town, dtype=object)[ents],
                "PCODE": np.array(w.postcode, dtype=object)[ents],
                "ICLOSE": np.where((closes >= 0) & (closes <= day(A + 1, 8, 31)), "1", "0"),
                "NFTYPE": np.array([L.NFTYPE.get(t, "") for t in typs], dtype=object), "RELDENOM": rel.astype(object),
                "AGERANGE": np.array([f"{info[x]['low']}-{info[x]['high']}" for x in urn], dtype=object),
                "TOTPUPS": fmt_int(np.round(w.pupils[ents] * yr.normal(1.0, 0.02, w.n)[ents])),
            }
            header = file_columns(ks, ks_map, label)
            data = {c: (ids[c] if c in ids else cols.get(c, np.full(ne, None, dtype=object))) for c in header}
            df = pl.DataFrame({c: pl.Series(c, [None if v is None else str(v) for v in data[c]], dtype=pl.Utf8)
                               for c in header})
            df = df.with_columns(pl.Series("_la", w.la_code[ents]), pl.Series("_estab", ids["ESTAB"].astype(int)),
                                 pl.Series("_order", np.zeros(ne, dtype=int)))
            totals = _totals(ks, label, header, w.la_code[ents], n, numeric, kinds, indep[ents], special,
                             la_codes, la_names, blank, w.pupils[ents], ks_map)
            out = pl.concat([df, totals], how="vertical").sort(["_order", "_la", "_estab"]).drop(["_la", "_estab", "_order"])
            rel_path = f"performance/{A}-{A + 1}_england_{ks}final.csv"
            frames[rel_path] = out
    return frames, truth


def _codes(gen, ks, mname, kind, n, special, indep, size, ents) -> np.ndarray:
    """Status codes of one measure column (None where a value is published)."""
    ne = len(ents)
    codes = np.full(ne, None, dtype=object)
    if mname == "pupils":
        return codes
    r = gen.random(size)[ents]
    acc = 0.0
    for code, p in RANDOM_CODES:
        m = (r >= acc) & (r < acc + p)
        codes[m] = code
        acc += p
    if ks == "ks4":
        if mname in ("pct_fsm6", "ks2_aps", "sci_va", "p8"):
            codes[indep] = "NP"
        if mname in ("pct_ebacc_2sci", "pct_triple_sci_entry"):
            codes[special & (gen.random(size)[ents] < 0.6)] = "NE"
        if mname == "sci_va":
            codes[special & (gen.random(size)[ents] < 0.5)] = "NP"
    codes[n < 6] = "SUPP"
    return codes


def _totals(ks, label, header, la, n, numeric, kinds, indep, special, la_codes, la_names, blank, pupils, ks_map):
    """LA and England rows: pupil-weighted means of published school values."""
    rt_la, rt_all, rt_state = TOTAL_RECTYPES[ks]
    score_cols_no_total = set()
    lower_upper = set()
    for spec in ks_map["measures"].values():
        for part in ("lower", "upper"):
            c = (spec.get(part) or {}).get(label)
            if c:
                lower_upper.add(c)
        if spec.get("kind") == "score" and (spec.get("lower") or {}).get(label) and "VA" in (spec["columns"].get(label) or ""):
            score_cols_no_total.add(spec["columns"][label])
    groups = []
    state = ~indep
    for code in sorted(set(la.tolist())):
        groups.append((rt_la, code, (la == code) & state))
    groups.append((rt_all, None, np.ones(len(la), dtype=bool)))
    groups.append((rt_state, None, state))
    rows = []
    for rt, code, m in groups:
        row = {c: blank for c in header}
        row["RECTYPE"] = str(rt)
        if code is not None:
            row["LEA"] = str(code)
            if ks == "ks2":
                row["SCHNAME"] = str(la_names[list(la_codes).index(code)])
        row["TOTPUPS"] = str(int(pupils[m].sum()))
        for c, vals in numeric.items():
            if c in lower_upper or c in score_cols_no_total:
                continue
            ok = m & np.isfinite(vals)
            if kinds[c] == "count":
                row[c] = str(int(np.nansum(np.where(m, vals, 0))))
                continue
            if not ok.any():
                continue
            v = float(np.average(vals[ok], weights=n[ok]))
            if kinds[c] == "percent":
                dp = 2 if (ks == "ks4" and label == "2016-17") else 0
                row[c] = f"{v:.{dp}f}%"
            else:
                if ks == "ks2" and code is None:
                    continue
                row[c] = fmt_num([v], 2)[0]
        row["_la"] = code if code is not None else 99999
        row["_estab"] = 99999
        row["_order"] = 0 if code is not None else 1
        rows.append(row)
    schema = {c: pl.Utf8 for c in header} | {"_la": pl.Int64, "_estab": pl.Int64, "_order": pl.Int64}
    return pl.DataFrame(rows, schema=schema)


def write_performance(frames: dict, writer: Writer) -> dict[str, int]:
    out = {}
    for rel in sorted(frames):
        out[rel] = writer.write_csv(rel, frames[rel], bom=True, crlf=True)
    return out
