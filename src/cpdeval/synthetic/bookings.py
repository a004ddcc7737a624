"""CRM booking exports: participants of schools booking activities, one file per financial year.

Vectorised throughout: bookings are generated as arrays (school, year, status), then given an activity
from a pool (National Centre, the school's partnership, other providers, or an in-school bespoke
activity), a participant from the school's staff, and organisation fields in the style of the
participant's CRM record (URN, LAESTAB only, typed name and postcode, ambiguous, or no school at all).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import polars as pl

from . import lookups as L
from ._common import Writer, Years, fmt_dates, fmt_money, fmt_num
from .schools import World
from .usage import Usage

COLUMNS = ["Booking Reference", "Contact ID", "Contact Name", "Contact Email", "Job Role", "Organisation URN",
           "Organisation LAESTAB", "Organisation Name", "Organisation Postcode", "Activity Code", "Activity Title",
           "Activity Type", "Delivered By", "Partnership ID", "Region", "Start Date", "Sessions", "CPD Units",
           "Booking Status", "Bursary", "Priority School", "Led By Practitioner", "Fee"]
STATUS = np.array(["Attended", "Cancelled", "No Show"], dtype=object)
ROLES = ["Teacher", "Technician", "Subject Leader", "Teaching Assistant", "Other"]
PROVIDERS = np.array(["National Centre", "Regional Partnership", "Other Provider"], dtype=object)
STYLES = ["urn", "laestab", "name_postcode", "ambiguous", "no_school"]
NON_SCHOOL_SHARE = 0.03
ATTENDED_SHARE = 0.85


@dataclass
class BookingData:
    frame: pl.DataFrame           # one row per booking: output columns + hidden helper columns (prefixed _)
    contacts: pl.DataFrame        # one row per participant: id, entity (−1 none), role, style
    activities: pl.DataFrame


def _frame(cols: dict) -> pl.DataFrame:
    """DataFrame from numpy columns; object (text) arrays become Utf8 with None as null."""
    out = {}
    for k, v in cols.items():
        v = np.asarray(v)
        if v.dtype == object or v.dtype.kind == "U":
            out[k] = pl.Series(k, v.tolist(), dtype=pl.Utf8)
        else:
            out[k] = pl.Series(k, v)
    return pl.DataFrame(out)


def _weekday(days):
    return (np.asarray(days) + 3) % 7      # Monday = 0


def _dates_in_fy(rng, n: int, start: int, end: int) -> np.ndarray:
    """Working days in a financial year with term-time seasonality."""
    import datetime as dt
    from ._common import to_date
    s = to_date(start)
    month_starts, weights = [], []
    for k in range(12):
        m = (s.month - 1 + k) % 12 + 1
        y = s.year + (s.month - 1 + k) // 12
        month_starts.append((dt.date(y, m, 1) - dt.date(1970, 1, 1)).days)
        weights.append(L.MONTH_WEIGHTS.get(m, 1.0))
    month_starts.append(end + 1)
    weights = np.array(weights) / sum(weights)
    mi = rng.choice(12, size=n, p=weights)
    ms = np.array(month_starts)
    d = ms[mi] + np.floor(rng.random(n) * (ms[mi + 1] - ms[mi])).astype(np.int64)
    wd = _weekday(d)
    moved = d - wd + rng.integers(0, 5, n)          # weekends move to a weekday of the same week
    moved = np.where(moved < start, moved + 7, moved)
    return np.where(wd >= 5, moved, d)


def _ascii(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


def name_variant(rng, name: str) -> str:
    """A name as someone might type it: St/Saint, CofE/C of E, case, dropped words, spacing."""
    out = name
    subs = [(r"\bSt\.? ", ["Saint ", "St. "]), (r"\bSaint ", ["St "]), (r" CofE ", [" C of E ", " Church of England ", " C.E. "]),
            (r" C of E ", [" CofE ", " C.O.E. "]), (r" Church of England ", [" CofE ", " C of E "]),
            (r"['’]s\b", ["s", "'s"]), (r" & ", [" and "]), (r" and ", [" & "]),
            (r" Primary School$", [" Primary", " Primary Sch", " Primary School "]), (r" School$", ["", " Sch"]),
            (r" Catholic ", [" RC ", " Roman Catholic "])]
    order = rng.permutation(len(subs))
    applied = 0
    for i in order:
        pat, repl = subs[int(i)]
        if re.search(pat, out):
            out = re.sub(pat, str(rng.choice(repl)), out, count=1)
            applied += 1
            if applied >= 1 + int(rng.random() < 0.4):
                break
    r = rng.random()
    if r < 0.12:
        out = out.upper()
    elif r < 0.22:
        out = out.lower()
    elif r < 0.27:
        out = out.replace(" ", "  ", 1)
    if out == name:
        out = name.lower()
    return out


def postcode_variant(rng, pc: str) -> str:
    r = rng.random()
    if r < 0.3:
        return pc.replace(" ", "")
    if r < 0.45:
        return pc.lower()
    if r < 0.55:
        return ""
    if r < 0.6:
        return pc + " "
    return pc


def build_bookings(rng: np.random.Generator, w: World, u: Usage, years: Years, size_cfg: dict) -> BookingData:
    n, T = w.n, len(years.delivery)
    growth = np.interp(np.arange(T), np.arange(len(L.YEAR_GROWTH)), L.YEAR_GROWTH)
    per_year = size_cfg["bookings_per_year"] * growth
    kind = w.kind_name
    region = w.region

    # ---- how many bookings: attended per active school-year, then cancellations and no-shows ----
    att = np.zeros((n, T), dtype=np.int64)
    for t in range(T):
        target = per_year[t] * (1 - NON_SCHOOL_SHARE) * ATTENDED_SHARE
        act = u.active[:, t]
        c = max(target - act.sum(), 0.0) / max(u.lam[act].sum(), 1e-9)
        att[act, t] = 1 + rng.poisson(c * u.lam[act])
    nonatt = rng.poisson(att * (1 - ATTENDED_SHARE) / ATTENDED_SHARE)
    cancelled_only = (~u.active) & u.alive_fy & (rng.random((n, T)) < 0.03)
    nonatt += cancelled_only * rng.integers(1, 3, (n, T))

    def expand(counts):
        flat = counts.ravel()
        idx = np.repeat(np.arange(n * T), flat)
        return idx // T, idx % T

    e_a, t_a = expand(att)
    e_n, t_n = expand(nonatt)
    st_n = np.where(rng.random(len(e_n)) < 0.66, 1, 2)
    n_ns = np.round(per_year * NON_SCHOOL_SHARE).astype(int)
    t_ns = np.repeat(np.arange(T), n_ns)
    st_ns = rng.choice(3, size=len(t_ns), p=[ATTENDED_SHARE, 0.1, 0.05])
    ent = np.concatenate([e_a, e_n, np.full(len(t_ns), -1)])
    fy = np.concatenate([t_a, t_n, t_ns])
    status = np.concatenate([np.zeros(len(e_a), dtype=int), st_n, st_ns])
    nb = len(ent)
    school = ent >= 0
    es = np.where(school, ent, 0)

    # ---- provider, partnership, bespoke --------------------------------------------------------
    P = len(u.partnerships)
    p_region = np.array([p["region"] for p in u.partnerships], dtype=object)
    r = rng.random(nb)
    theta = np.where(school, u.theta_national[es], 0.3)
    prov = np.where(r < theta, 0, np.where(r < theta + 0.05, 2, 1))          # 0 national, 1 regional, 2 other
    part = np.where(school, u.home_partnership[es], rng.integers(0, P, nb))
    move = rng.random(nb) < 0.1                                             # a neighbouring partnership
    if move.any():
        same = [np.flatnonzero(p_region == p_region[p]) for p in range(P)]
        size_same = np.array([len(x) for x in same])
        flat_same = np.concatenate(same)
        off_same = np.concatenate([[0], np.cumsum(size_same)[:-1]])
        pm = part[move]
        part[move] = flat_same[off_same[pm] + np.floor(rng.random(len(pm)) * size_same[pm]).astype(int)]
    part = np.where(prov == 1, part, -1)
    bespoke = school & (prov == 1) & (rng.random(nb) < u.bespoke_share[es])
    g_index = {g: i for i, g in enumerate(L.GORS)}
    school_gor = np.array([g_index[g] for g in region])[es]
    booking_gor = np.where(school, school_gor, rng.integers(0, len(L.GORS), nb))

    # ---- activities: pools per year ------------------------------------------------------------
    n_pool_local = 1 + len(L.GORS) + P
    local = np.where(prov == 0, 0, np.where(prov == 2, 1 + booking_gor, 1 + len(L.GORS) + np.maximum(part, 0)))
    pool = fy * n_pool_local + local
    pooled = ~bespoke
    counts = np.bincount(pool[pooled], minlength=T * n_pool_local)
    avg = np.array([12.0] + [10.0] * len(L.GORS) + [9.0] * P)
    n_act = np.ceil(counts / np.tile(avg, T)).astype(int)
    offset = np.concatenate([[0], np.cumsum(n_act)[:-1]])
    act_idx = np.full(nb, -1, dtype=np.int64)
    act_idx[pooled] = offset[pool[pooled]] + np.floor(rng.random(pooled.sum()) * n_act[pool[pooled]]).astype(np.int64)
    n_pool_acts = int(n_act.sum())
    a_pool = np.repeat(np.arange(T * n_pool_local), n_act)
    a_fy = a_pool // n_pool_local
    a_local = a_pool % n_pool_local
    a_prov = np.where(a_local == 0, 0, np.where(a_local <= len(L.GORS), 2, 1))
    a_part = np.where(a_prov == 1, a_local - 1 - len(L.GORS), -1)
    a_gor = np.where(a_prov == 2, a_local - 1, -1)

    # bespoke activities: one per school and year (split when large)
    b_idx = np.flatnonzero(bespoke)
    key = es[b_idx] * T + fy[b_idx]
    uk, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
    split = np.floor(rng.random(len(b_idx)) * np.ceil(cnt[inv] / 15)).astype(int)
    key2 = key * 1000 + split
    uk2, inv2 = np.unique(key2, return_inverse=True)
    act_idx[b_idx] = n_pool_acts + inv2
    b_ent = (uk2 // 1000) // T
    b_fy = (uk2 // 1000) % T
    nb_act = len(uk2)

    A = n_pool_acts + nb_act
    a_fy = np.concatenate([a_fy, b_fy])
    a_prov = np.concatenate([a_prov, np.ones(nb_act, dtype=int)])
    a_part = np.concatenate([a_part, u.home_partnership[b_ent]])
    a_gor = np.concatenate([a_gor, np.full(nb_act, -1)])
    a_bespoke = np.concatenate([np.zeros(n_pool_acts, dtype=bool), np.ones(nb_act, dtype=bool)])
    a_type = np.empty(A, dtype=object)
    for pv, pname in ((0, "national"), (1, "regional"), (2, "other")):
        m = (a_prov == pv) & ~a_bespoke
        mix = L.POOL_MIX[pname]
        a_type[m] = rng.choice(list(mix), size=m.sum(), p=np.array(list(mix.values())) / sum(mix.values()))
    a_type[a_bespoke] = "Bespoke / In-school"
    a_date = np.zeros(A, dtype=np.int64)
    for t, fyl in enumerate(years.delivery):
        m = a_fy == t
        s, e_ = years.fy_bounds(fyl)
        a_date[m] = _dates_in_fy(rng, int(m.sum()), s, e_)
    units = np.zeros(A)
    sessions = np.ones(A, dtype=int)
    fee = np.zeros(A)
    ru = rng.random(A)

    def setm(mask, uvals, up, svals, sp, fvals, fp):
        k = int(mask.sum())
        if k == 0:
            return
        units[mask] = rng.choice(uvals, size=k, p=up)
        sessions[mask] = rng.choice(svals, size=k, p=sp)
        fee[mask] = rng.choice(fvals, size=k, p=fp)

    nat, reg, oth = a_prov == 0, (a_prov == 1) & ~a_bespoke, a_prov == 2
    setm(nat & (a_type == "Course"), [3, 4, 6], [0.3, 0.3, 0.4], [2, 3, 4], [0.3, 0.4, 0.3],
         [650, 795, 1150, 1480.5], [0.3, 0.3, 0.25, 0.15])
    setm(nat & (a_type == "Online Course"), [1, 2, 3], [0.4, 0.4, 0.2], [3, 4, 6], [0.3, 0.4, 0.3], [0, 45], [0.8, 0.2])
    setm(nat & (a_type == "Conference"), [1], [1], [1], [1], [95, 0], [0.6, 0.4])
    setm(nat & (a_type == "Leading CPD Training"), [3], [1], [3], [1], [0], [1])
    setm(reg & (a_type == "Course"), [1, 1.5, 2, 3], [0.35, 0.25, 0.25, 0.15], [1, 2, 3, 4], [0.4, 0.3, 0.2, 0.1],
         [0, 60, 95, 120, 150], [0.25, 0.2, 0.2, 0.25, 0.1])
    setm(reg & (a_type == "Network Meeting"), [0.5], [1], [1], [1], [0], [1])
    setm(reg & (a_type == "Conference"), [1], [1], [1], [1], [0, 45], [0.5, 0.5])
    setm(reg & (a_type == "Leading CPD Training"), [3], [1], [3], [1], [0], [1])
    setm(reg & (a_type == "Online Course"), [1, 2], [0.6, 0.4], [2, 4], [0.5, 0.5], [0], [1])
    setm(oth & (a_type == "Course"), [1, 2], [0.6, 0.4], [1, 2], [0.7, 0.3], [75, 120, 180], [0.4, 0.4, 0.2])
    setm(oth & (a_type == "Conference"), [1], [1], [1], [1], [60, 0], [0.7, 0.3])
    setm(a_bespoke, [1, 2, 3, 4, 6, 8, 10], [0.3, 0.25, 0.15, 0.12, 0.1, 0.05, 0.03], [1, 2, 3], [0.5, 0.3, 0.2],
         [0, 35, 60], [0.6, 0.25, 0.15])
    sessions = np.where(a_bespoke, np.maximum(1, np.ceil(units / 2)).astype(int), sessions)
    led = np.where(a_prov == 1, ru < np.where(a_bespoke, 0.4, 0.3), False)
    a_urn_place = np.array(w.place, dtype=object)
    topics = rng.integers(0, len(L.SUBJECT_TOPICS), A)
    topic = np.array(L.SUBJECT_TOPICS, dtype=object)[topics]
    title = np.empty(A, dtype=object)
    for i in range(A):
        tp = a_type[i]
        if tp == "Leading CPD Training":
            title[i] = L.LEADING_PROGRAMMES["national" if a_prov[i] == 0 else "regional"]
        elif tp == "Network Meeting":
            title[i] = f"Network meeting: {topic[i]}"
        elif tp == "Conference":
            title[i] = f"Science conference {years.delivery[a_fy[i]]}"
        elif tp == "Bespoke / In-school":
            title[i] = f"In-school: {topic[i]} ({a_urn_place[b_ent[i - n_pool_acts]]})"
        elif tp == "Online Course":
            title[i] = f"Online: {topic[i]}"
        else:
            title[i] = f"{topic[i]}{' (residential)' if a_prov[i] == 0 else ''}"
    # activity codes: provider prefix, year and a running number
    yy = np.array([f"{fy_[2:4]}{fy_[5:7]}" for fy_ in years.delivery], dtype=object)[a_fy]
    pref = np.where(a_prov == 0, "NC", np.where(a_prov == 2, "OP", np.array([p["id"] for p in u.partnerships] + [""],
                                                                               dtype=object)[a_part]))
    seqno = np.zeros(A, dtype=int)
    order = np.lexsort((a_date, pref))
    grp_first = np.r_[True, pref[order][1:] != pref[order][:-1]]
    run = np.arange(A) - np.maximum.accumulate(np.where(grp_first, np.arange(A), 0))
    seqno[order] = run + 1
    code = np.array([f"{p}-{y}-{'B' if b else ''}{s:04d}" for p, y, b, s in zip(pref, yy, a_bespoke, seqno)], dtype=object)
    activities = _frame({
        "code": code, "title": title, "type": a_type.astype(str), "provider": a_prov, "partnership": a_part,
        "gor": a_gor, "fy": a_fy, "date": a_date, "units": units, "sessions": sessions, "fee": fee, "led": led,
    })

    # ---- participants ---------------------------------------------------------------------------
    pupils = w.pupils.astype(float)
    slots = np.select(
        [np.isin(kind, ["secondary", "middle_secondary"]), kind == "all_through", kind == "sixteen_plus",
         kind == "special", kind == "nursery", kind == "independent"],
        [10 + pupils / 90, 12 + pupils / 100, 8 + pupils / 150, 4 + pupils / 30, 3 + 0 * pupils, 4 + pupils / 60],
        np.maximum(3, pupils / 22)).round().astype(int)
    s_off = np.concatenate([[0], np.cumsum(slots)[:-1]])
    n_slots = int(slots.sum())
    ur_ = rng.random(nb)
    k = np.where(bespoke, np.floor(slots[es] * ur_), np.floor(slots[es] * ur_ ** 1.7)).astype(np.int64)
    n_ns_contacts = max(20, int(len(t_ns) / 5))
    gcid = np.where(school, s_off[es] + k, n_slots + rng.integers(0, n_ns_contacts, nb))
    uniq, cidx = np.unique(gcid, return_inverse=True)
    nc = len(uniq)
    c_school = uniq < n_slots
    c_ent = np.where(c_school, np.searchsorted(s_off, uniq, side="right") - 1, -1)
    c_k = np.where(c_school, uniq - s_off[np.maximum(c_ent, 0)], 0)
    ck = np.where(c_school, kind[np.maximum(c_ent, 0)], "none")
    role_p = {
        "sec": [0.83, 0.07, 0.05, 0.01, 0.04], "pri": [0.79, 0.01, 0.02, 0.13, 0.05],
        "post16": [0.80, 0.09, 0.03, 0.0, 0.08], "special": [0.62, 0.02, 0.02, 0.3, 0.04],
        "none": [0.5, 0.0, 0.0, 0.0, 0.5],
    }
    grp = np.select([np.isin(ck, ["secondary", "all_through", "middle_secondary", "independent"]),
                     ck == "sixteen_plus", np.isin(ck, ["special", "nursery"]), ck == "none"],
                    ["sec", "post16", "special", "none"], "pri")
    role = np.empty(nc, dtype=object)
    for gname, probs in role_p.items():
        m = grp == gname
        role[m] = rng.choice(ROLES, size=int(m.sum()), p=np.array(probs) / sum(probs))
    lead_slot = c_school & (c_k == 0) & (rng.random(nc) < 0.7)
    role[lead_slot] = "Subject Leader"
    cid_num = 1_000_000 + rng.choice(8_999_999, size=nc, replace=False)
    contact_id = np.array([f"C{x}" for x in cid_num], dtype=object)
    first = rng.choice(L.FIRST_NAMES, nc)
    last = rng.choice(L.LAST_NAMES, nc)
    cname = np.char.add(np.char.add(first.astype(str), " "), last.astype(str)).astype(object)
    asc_first = {f: _ascii(f).lower() for f in L.FIRST_NAMES}
    asc_last = {x: re.sub(r"[^a-z]", "", _ascii(x).lower()) for x in L.LAST_NAMES}
    domain_school = np.array([re.sub(r"[^a-z0-9]+", "", _ascii(nm).lower())[:18] + ".sch.uk"
                              for nm in w.spells.sort(["entity", "seq"]).group_by("entity", maintain_order=True)
                              .last()["name"].to_list()], dtype=object)
    personal = rng.choice(["gmail.com", "hotmail.co.uk", "outlook.com", "yahoo.co.uk", "btinternet.com"], nc)
    use_personal = (~c_school) | (rng.random(nc) < 0.3)
    num = rng.integers(1, 99, nc)
    email = np.array([
        (f"{asc_first[f]}.{asc_last[l_]}{nn}@{pd}" if up else f"{asc_first[f][0]}.{asc_last[l_]}@{domain_school[max(e_, 0)]}")
        for f, l_, nn, pd, up, e_ in zip(first, last, num, personal, use_personal, c_ent)], dtype=object)

    # CRM record style per participant
    dup_ents = {x for pr in w.duplicate_pairs for x in pr}
    rs = rng.random(nc)
    style = np.where(rs < 0.70, 0, np.where(rs < 0.83, 1, 2))
    in_dup = np.isin(c_ent, list(dup_ents)) & c_school
    style = np.where(in_dup, np.where(rng.random(nc) < 0.6, 3, 0), style)
    style = np.where(c_school, style, 4)
    stale = (style == 0) & (rng.random(nc) < 0.15)
    give_laestab = (style == 1) | ((style == 0) & (rng.random(nc) < 0.45))

    # ---- per booking fields -------------------------------------------------------------------
    date = a_date[act_idx]
    li = w.live_index(es, date)
    li = np.where(school, li, 0)
    live_urn = w.sp_urn[es, li]
    c_of_b = cidx
    b_style = style[c_of_b]
    b_stale = stale[c_of_b]
    org_urn = np.where(b_stale, w.sp_urn[es, 0], live_urn)
    name_of = dict(zip(w.spells["urn"].to_list(), w.spells["name"].to_list()))
    estab_of = dict(zip(w.spells["urn"].to_list(), w.spells["estab"].to_list()))
    uu = np.unique(org_urn[school])
    nm_arr = np.array([name_of.get(int(x), "") for x in uu], dtype=object)
    es_arr = np.array([estab_of.get(int(x), 0) for x in uu])
    pos = np.searchsorted(uu, org_urn)
    pos = np.clip(pos, 0, len(uu) - 1)
    clean_name = np.where(school, nm_arr[pos], None)
    laestab = np.where(school, w.la_code[es] * 10000 + es_arr[pos], 0)
    pc_clean = np.array(w.postcode, dtype=object)[es]

    # typed names and postcodes, fixed per participant (as first entered in the CRM)
    first_b = np.full(nc, -1, dtype=np.int64)
    order_b = np.lexsort((date, c_of_b))
    firsts = np.r_[True, c_of_b[order_b][1:] != c_of_b[order_b][:-1]]
    first_b[c_of_b[order_b][firsts]] = order_b[firsts]
    typed_name = np.empty(nc, dtype=object)
    typed_pc = np.empty(nc, dtype=object)
    for c in range(nc):
        b = first_b[c]
        sty = style[c]
        if sty == 4:
            typed_name[c] = str(rng.choice(L.NON_SCHOOL_ORGS))
            typed_pc[c] = str(rng.choice(L.NON_SCHOOL_POSTCODES))
        elif sty == 0:
            continue
        else:
            nm = clean_name[b]
            pc = pc_clean[b]
            if sty == 1:
                typed_name[c] = name_variant(rng, nm) if rng.random() < 0.4 else nm
                typed_pc[c] = pc if rng.random() < 0.6 else ""
            elif sty == 2:
                typed_name[c] = name_variant(rng, nm) if rng.random() < 0.8 else nm
                typed_pc[c] = postcode_variant(rng, pc)
            else:
                typed_name[c] = nm
                typed_pc[c] = "" if rng.random() < 0.6 else pc.split(" ")[0]
    pc_given = rng.random(nc) < 0.9
    b_name = np.where(b_style == 0, clean_name, typed_name[c_of_b])
    b_pc = np.where(b_style == 0, np.where(pc_given[c_of_b], pc_clean, ""), typed_pc[c_of_b])
    b_urn = np.where(b_style == 0, org_urn.astype(str), "")
    b_laestab = np.where(give_laestab[c_of_b] & school & (b_style <= 1), laestab.astype(str), "")

    prio = np.where(school, u.priority[es], False)
    bprov = a_prov[act_idx]
    burs = np.where(bprov == 0, rng.random(nb) < 0.2 + 0.5 * prio, rng.random(nb) < 0.04 + 0.35 * prio)
    b_fee = np.where(rng.random(nb) < 0.03, np.nan, fee[act_idx])
    bpart = a_part[act_idx]
    p_ids = np.array([p["id"] for p in u.partnerships] + [""], dtype=object)
    b_region = np.where(bprov == 1, p_region[np.maximum(bpart, 0)].astype(object),
                        np.array(L.GORS, dtype=object)[booking_gor])

    # booking references follow creation order (≈ date order)
    order = np.lexsort((rng.random(nb), act_idx, date))
    ref = np.empty(nb, dtype=np.int64)
    ref[order] = 1_000_000 + np.cumsum(rng.integers(1, 4, nb))

    frame = _frame({
        "Booking Reference": np.char.add("BK", ref.astype(str)).astype(object),
        "Contact ID": contact_id[c_of_b], "Contact Name": cname[c_of_b], "Contact Email": email[c_of_b],
        "Job Role": role[c_of_b], "Organisation URN": b_urn.astype(object), "Organisation LAESTAB": b_laestab.astype(object),
        "Organisation Name": b_name, "Organisation Postcode": b_pc,
        "Activity Code": code[act_idx], "Activity Title": title[act_idx], "Activity Type": a_type[act_idx],
        "Delivered By": PROVIDERS[bprov], "Partnership ID": p_ids[bpart], "Region": b_region,
        "Start Date": fmt_dates(date, "%d/%m/%Y").to_numpy(), "Sessions": sessions[act_idx].astype(str),
        "CPD Units": fmt_num(units[act_idx], 2), "Booking Status": STATUS[status],
        "Bursary": np.where(burs, "Y", "N"), "Priority School": np.where(prio, "Y", "N"),
        "Led By Practitioner": np.where(led[act_idx], "Y", "N"), "Fee": fmt_money(b_fee),
        "_ref": ref, "_entity": ent, "_fy": fy, "_status": status, "_contact": c_of_b, "_activity": act_idx,
        "_date": date, "_live_urn": np.where(school, live_urn, 0), "_units": units[act_idx], "_provider": bprov,
        "_partnership": bpart, "_style": b_style,
    })
    frame = frame.sort("_ref")
    contacts = _frame({"contact_id": contact_id, "entity": c_ent, "role": role.astype(str),
                             "style": np.array(STYLES, dtype=object)[style], "stale_urn": stale})
    return BookingData(frame=frame, contacts=contacts, activities=activities)


def write_bookings(bd: BookingData, years: Years, writer: Writer) -> dict[str, int]:
    out = {}
    for t, fyl in enumerate(years.delivery):
        part = bd.frame.filter(pl.col("_fy") == t).select(COLUMNS)
        rel = f"bookings/booking_export_FY{fyl}.csv"
        out[rel] = writer.write_csv(rel, part, bom=True, crlf=True)
    return out
