"""Schools of the synthetic England: one *school* (entity) keeps its identity while its URN changes.

Builds the school population (LA, phase, type, size, % FSM, urban/rural, Ofsted, latent prior
attainment and quality), the URN lineage (academy conversions, chains, mergers, closures, new free
schools) and writes the GIAS register, the GIAS links file and the school census.

URN numbering (mirrors GIAS): schools that existed before 2010 hold URNs 100000-135999 (sorted by LA);
academies and free schools opened before the window follow from 136001 in order of opening; URNs opened
during the window follow from the next thousand (140000 at the least), also in order of opening.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from . import lookups as L
from ._common import FAR_FUTURE, Writer, Years, day, fmt_dates, fmt_num

# The GIAS all-data extract: every column, in the published order.
GIAS_COLUMNS = [
    "URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName", "TypeOfEstablishment (name)",
    "EstablishmentTypeGroup (name)", "EstablishmentStatus (name)", "ReasonEstablishmentOpened (name)", "OpenDate",
    "ReasonEstablishmentClosed (name)", "CloseDate", "PhaseOfEducation (name)", "StatutoryLowAge", "StatutoryHighAge",
    "Boarders (name)", "NurseryProvision (name)", "OfficialSixthForm (name)", "Gender (name)",
    "ReligiousCharacter (name)", "ReligiousEthos (name)", "Diocese (name)", "AdmissionsPolicy (name)",
    "SchoolCapacity", "SpecialClasses (name)", "CensusDate", "NumberOfPupils", "NumberOfBoys", "NumberOfGirls",
    "PercentageFSM", "TrustSchoolFlag (name)", "Trusts (name)", "SchoolSponsorFlag (name)", "SchoolSponsors (name)",
    "FederationFlag (name)", "Federations (name)", "UKPRN", "FEHEIdentifier", "FurtherEducationType (name)",
    "OfstedLastInsp", "LastChangedDate", "Street", "Locality", "Address3", "Town", "County (name)", "Postcode",
    "SchoolWebsite", "TelephoneNum", "HeadTitle (name)", "HeadFirstName", "HeadLastName", "HeadPreferredJobTitle",
    "BSOInspectorateName (name)", "InspectorateReport", "DateOfLastInspectionVisit", "NextInspectionVisit",
    "TeenMoth (name)", "TeenMothPlaces", "CCF (name)", "SENPRU (name)", "EBD (name)", "PlacesPRU", "FTProv (name)",
    "EdByOther (name)", "Section41Approved (name)", "SEN1 (name)", "SEN2 (name)", "SEN3 (name)", "SEN4 (name)",
    "SEN5 (name)", "SEN6 (name)", "SEN7 (name)", "SEN8 (name)", "SEN9 (name)", "SEN10 (name)", "SEN11 (name)",
    "SEN12 (name)", "SEN13 (name)", "TypeOfResourcedProvision (name)", "ResourcedProvisionOnRoll",
    "ResourcedProvisionCapacity", "SenUnitOnRoll", "SenUnitCapacity", "GOR (name)", "DistrictAdministrative (name)",
    "AdministrativeWard (name)", "ParliamentaryConstituency (name)", "UrbanRural (name)", "GSSLACode (name)",
    "Easting", "Northing", "CensusAreaStatisticWard (name)", "MSOA (name)", "LSOA (name)", "InspectorateName (name)",
    "SENStat", "SENNoStat", "PropsName", "OfstedRating (name)", "RSCRegion (name)", "Country (name)", "UPRN",
    "SiteName", "QABName (name)", "EstablishmentAccredited (name)", "QABReport", "CHNumber", "MSOA (code)",
    "LSOA (code)",
]
LINKS_COLUMNS = ["URN", "LinkURN", "LinkName", "LinkType", "LinkEstablishedDate"]
CENSUS_COLUMNS = ["URN", "LA", "ESTAB", "SCHOOLTYPE", "NOR", "NORG", "NORB", "PNORG", "PNORB", "TSENELSE", "PSENELSE",
                  "TSENELK", "PSENELK", "NUMEAL", "NUMENGFL", "NUMUNCFL", "PNUMEAL", "PNUMENGFL", "PNUMUNCFL",
                  "NUMFSM", "NUMFSMEVER", "PNUMFSMEVER"]

ACADEMY_TYPES = {"Academy converter", "Academy sponsor led", "Academy special converter",
                 "Academy special sponsor led", "Academy 16-19 converter"}
FREE_TYPES = {"Free schools", "Free schools 16 to 19", "Free schools special"}
_PC_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass
class World:
    """The school population and its URN history. Arrays are indexed by school (entity) number."""
    years: Years
    n: int
    las: list[tuple]                       # selected LA rows of lookups.LA_TABLE
    la_idx: np.ndarray
    kind: np.ndarray                       # index into lookups.KINDS
    low: np.ndarray
    high: np.ndarray
    pupils: np.ndarray
    fsm: np.ndarray                        # % FSM (NaN for independents)
    ur: np.ndarray                         # index into lookups.URBAN_RURAL
    ofsted: np.ndarray                     # index into lookups.OFSTED, -1 blank
    prior: np.ndarray                      # latent prior attainment of intake (standardised)
    quality: np.ndarray                    # latent school effectiveness (standardised)
    school_re: np.ndarray                  # school random effect in outcomes
    place: list[str]
    town: list[str]
    postcode: list[str]
    religion: np.ndarray                   # 0 none, 1 CE, 2 RC
    selective: np.ndarray
    alive_from: np.ndarray                 # first day the school exists (−1 = before the window)
    alive_to: np.ndarray                   # first day it no longer exists (FAR_FUTURE = still open)
    spells: pl.DataFrame                   # one row per URN
    sp_urn: np.ndarray                     # [n, K] URNs live in order
    sp_from: np.ndarray                    # [n, K] day each becomes live (FAR_FUTURE padding)
    links: pl.DataFrame
    anomalies: list[dict]
    duplicate_pairs: list[tuple[int, int]]
    extract_day: int
    events: dict = field(default_factory=dict)

    # -- derived views ------------------------------------------------------------------------
    @property
    def kind_name(self) -> np.ndarray:
        return np.array(L.KINDS, dtype=object)[self.kind]

    @property
    def region(self) -> np.ndarray:
        return np.array([la[2] for la in self.las], dtype=object)[self.la_idx]

    @property
    def la_code(self) -> np.ndarray:
        return np.array([la[0] for la in self.las])[self.la_idx]

    def live_index(self, ent: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Index of the spell live on ``days`` for schools ``ent`` (vectorised)."""
        starts = self.sp_from[ent]
        idx = (starts <= np.asarray(days)[:, None]).sum(axis=1) - 1
        return np.clip(idx, 0, None)

    def live_urn(self, ent: np.ndarray, days: np.ndarray) -> np.ndarray:
        ent = np.asarray(ent)
        return self.sp_urn[ent, self.live_index(ent, days)]

    def first_window_urn(self) -> np.ndarray:
        return self.sp_urn[:, 0]

    def key_urn(self) -> np.ndarray:
        """School key used in truth.json: the earliest URN in the school's lineage."""
        first = self.spells.sort(["entity", "seq"]).group_by("entity", maintain_order=True).first()
        out = np.zeros(self.n, dtype=np.int64)
        out[first["entity"].to_numpy()] = first["urn"].to_numpy()
        return out

    def is_state_mainstream(self) -> np.ndarray:
        k = self.kind_name
        return np.isin(k, ["primary", "secondary", "all_through", "middle_primary", "middle_secondary"])


# --------------------------------------------------------------------------------------------------
# Building the population
# --------------------------------------------------------------------------------------------------
def _pick(rng, options: list[tuple], n: int):
    weights = np.array([o[-1] for o in options], dtype=float)
    return rng.choice(len(options), size=n, p=weights / weights.sum())


def _town_name(rng) -> str:
    return str(rng.choice(L.TOWN_HEADS)) + str(rng.choice(L.TOWN_TAILS))


# metropolitan LAs named after their main town or city (others, e.g. Kirklees, are not towns)
_CITY_LAS = {"Gateshead", "Newcastle upon Tyne", "Sunderland", "Bolton", "Bury", "Manchester", "Oldham", "Rochdale",
             "Salford", "Stockport", "Wigan", "Liverpool", "St. Helens", "Barnsley", "Bradford", "Doncaster", "Leeds",
             "Rotherham", "Sheffield", "Wakefield", "Birmingham", "Coventry", "Wolverhampton", "Solihull", "Walsall"}


def _metro_town(la_name: str, gor: str) -> str | None:
    if gor == "London":
        return "London"
    if la_name not in _CITY_LAS:
        return None
    return {"St. Helens": "St Helens"}.get(la_name, la_name)


def _place(rng, town: str, city: bool = False) -> str:
    r = rng.random()
    if r < 0.22 and not city:
        return town
    if city and r >= 0.85:
        r = 0.5
    if r < 0.6:
        return str(rng.choice(L.PLACE_PREFIX)) + str(rng.choice(["field", "wood", "lands", "brook", "mead", "croft",
                                                                     "dale", "hurst", "ley", "side", "bank"]))
    if r < 0.85:
        return f"{rng.choice(L.PLACE_PREFIX)} {rng.choice(L.PLACE_FEATURES)}"
    return f"{town} {rng.choice(L.PLACE_FEATURES)}"


def _apos(rng) -> str:
    return "’" if rng.random() < 0.04 else "'"


# faith primary schools' names (religion code 1 Church of England, 2 Roman Catholic): the name pattern drawn with
# its cumulative probability, and the dedications a pattern may draw from
_FAITH_PRIMARY_NAMES = {
    1: ((0.35, "{saint} CofE {stage}"), (0.55, "{place} Church of England {stage}"), (0.7, "{place} C of E {stage}"),
        (0.85, "{dedication} CofE {stage}"), (1.0, "{place} CofE {stage}")),
    2: ((0.6, "{saint} Catholic {stage}"), (0.75, "{dedication} Catholic {stage}"),
        (0.82, "St Thérèse of Lisieux Catholic {stage}"), (1.0, "{saint} RC {stage}")),
}
_DEDICATIONS = {1: ["Holy Trinity", "Christ Church", "All Saints", "St Michael and All Angels"],
                2: ["Our Lady of Lourdes", "Sacred Heart", "Holy Family", "English Martyrs"]}


def _drawn_per_kind(rng, kind: np.ndarray, options: dict):
    """For each school kind in turn: the positions of its schools and an option drawn for each from
    ``options[kind name]`` (one draw per kind, in the order of ``L.KINDS``)."""
    for k, name in enumerate(L.KINDS):
        idx = np.flatnonzero(kind == k)
        opts = options[name]
        yield idx, [opts[i] for i in _pick(rng, opts, len(idx))]


def _school_name(rng, kind: str, typ: str, low: int, high: int, place: str, town: str, religion: int,
                 selective: bool) -> str:
    academy = typ in ACADEMY_TYPES or typ in FREE_TYPES
    saint = f"St {rng.choice(L.SAINTS)}{_apos(rng)}s"
    if kind in ("primary", "middle_primary"):
        stage = "Primary School"
        if kind == "middle_primary":
            stage = "Middle School"
        elif high <= 7:
            stage = "Infant School"
        elif low >= 7:
            stage = "Junior School"
        elif academy and rng.random() < 0.35:
            stage = "Primary Academy"
        if religion in _FAITH_PRIMARY_NAMES:
            r = rng.random()
            template = next(t for bound, t in _FAITH_PRIMARY_NAMES[religion] if r < bound)
            dedication = rng.choice(_DEDICATIONS[religion]) if "{dedication}" in template else None
            return template.format(saint=saint, place=place, stage=stage, dedication=dedication)
        if stage == "Primary School" and rng.random() < 0.12:
            return f"{place} Community Primary School"
        return f"{place} {stage}"
    if kind == "middle_secondary":
        return f"{place} Middle School"
    if kind in ("secondary", "all_through"):
        if religion == 2:
            return f"{saint} Catholic {rng.choice(['High School', 'School', 'College', 'Academy'])}"
        if religion == 1:
            return f"{rng.choice([saint, 'Bishop ' + str(rng.choice(L.LAST_NAMES))])} Church of England {rng.choice(['School', 'Academy', 'High School'])}"
        if selective:
            return f"{town} Grammar School" + (" for Girls" if rng.random() < 0.3 else "")
        if kind == "all_through" and rng.random() < 0.4:
            return f"{place} All-Through School"
        options = ["High School", "School", "Community College", "Academy" if academy else "High School",
                   "School and Sixth Form" if high > 16 else "School", "College"]
        return f"{place} {rng.choice(options)}"
    if kind == "sixteen_plus":
        if typ == "Further education":
            return f"{town} College" if rng.random() < 0.7 else f"{place} College of Further Education"
        if typ == "Sixth form centres":
            return f"{town} Sixth Form Centre"
        return f"{town} Sixth Form College"
    if kind == "special":
        return f"{place} {rng.choice(['School', 'Special School', 'House School', 'Academy', 'Centre'])}"
    if kind == "nursery":
        return f"{place} Nursery School"
    # independent
    r = rng.random()
    if r < 0.03:
        return f"École Française de {town}"
    if r < 0.05:
        return f"Lycée {place}"
    if high <= 13:
        return f"{place} {rng.choice(['Preparatory School', 'Prep School', 'Hall School', 'House School'])}"
    return f"{rng.choice([place, town, saint])} {rng.choice(['School', 'College', 'High School for Girls', 'Independent School'])}"


def build_world(rng: np.random.Generator, size_cfg: dict, years: Years) -> World:
    n = int(size_cfg["schools"])
    win0, win1 = years.window
    extract_day = win1 + 92            # register extracted about three months after the window

    # ---- local authorities -----------------------------------------------------------------
    codes = size_cfg["las"]
    las = [la for la in L.LA_TABLE if codes is None or la[0] in codes]
    if codes is not None:
        las.sort(key=lambda la: codes.index(la[0]))
    w = np.array([L.LA_WEIGHT_BIG.get(la[0], 1.0) * L.LA_WEIGHT_SMALL.get(la[0], 1.0) for la in las])
    if codes is not None:                                # small: keep LAs comparable in size
        w = 1.0 + (w - 1.0) * 0.15
    w = w * rng.lognormal(0.0, 0.25, len(las))
    counts = rng.multinomial(n, w / w.sum())
    la_idx = np.repeat(np.arange(len(las)), counts)

    kinds = np.array(list(L.KIND_SHARES.values()))
    kind = rng.choice(len(L.KINDS), size=n, p=kinds / kinds.sum())
    kind_names = np.array(L.KINDS, dtype=object)[kind]

    # ages
    low = np.zeros(n, dtype=int)
    high = np.zeros(n, dtype=int)
    for idx, drawn in _drawn_per_kind(rng, kind, L.KIND_AGES):
        low[idx] = [o[0] for o in drawn]
        high[idx] = [o[1] for o in drawn]

    # governance type at the start of the window
    types = np.empty(n, dtype=object)
    for idx, drawn in _drawn_per_kind(rng, kind, L.KIND_TYPES):
        types[idx] = [o[0] for o in drawn]

    metro = np.array([la[4] for la in las])[la_idx]

    # urban / rural
    ur = np.where(metro, _pick(rng, [(p,) for p in L.URBAN_RURAL_P_METRO], n),
                  _pick(rng, [(p,) for p in L.URBAN_RURAL_P_SHIRE], n))
    ur = np.where(np.isin(kind_names, ["secondary", "all_through", "sixteen_plus"]) & (ur >= 4), 3, ur)
    rural = ur >= 3

    # size
    med = np.array([L.KIND_SIZE[k][0] for k in kind_names], dtype=float)
    sdl = np.array([L.KIND_SIZE[k][1] for k in kind_names], dtype=float)
    span_adj = np.where((kind_names == "primary") & (high <= 7), 0.6, 1.0)
    span_adj = np.where((kind_names == "primary") & (low >= 7), 0.75, span_adj)
    pupils = med * span_adj * np.exp(rng.normal(0, 1, n) * sdl) * np.where(rural & (kind_names == "primary"), 0.55, 1.0)
    pupils = np.clip(np.round(pupils), 12, 4800).astype(int)

    # FSM and latent attainment
    la_fsm = np.array([L.GOR_FSM[la[2]] for la in las]) * rng.lognormal(0, 0.22, len(las))
    fsm = la_fsm[la_idx] * rng.lognormal(-0.12, 0.5, n) * np.where(ur == 0, 1.12, np.where(rural, 0.7, 1.0))
    fsm = np.clip(fsm, 0.0, 68.0)
    is_indep = np.isin(types, list(L.INDEPENDENT_TYPES))
    selective = (kind_names == "secondary") & (rng.random(n) < 0.04) & ~is_indep
    fz = (np.log1p(fsm) - np.log1p(fsm).mean()) / np.log1p(fsm).std()
    prior = -0.6 * fz + rng.normal(0, 0.8, n)
    prior = prior + np.where(is_indep, 1.0, 0.0) + np.where(selective, 1.6, 0.0)
    prior = (prior - prior.mean()) / prior.std()
    quality = 0.35 * prior + rng.normal(0, 0.94, n)
    school_re = rng.normal(0, 1, n)
    fsm = np.where(is_indep, np.nan, np.round(fsm, 1))
    selective_sec = selective & (fsm > 8)
    fsm = np.where(selective_sec, np.round(fsm * 0.3, 1), fsm)

    score = quality + 0.25 * prior + rng.normal(0, 0.5, n)
    cuts = np.quantile(score, [0.015, 0.025, 0.12, 0.79])   # SM, SW, RI, Good / Outstanding
    ofsted = np.select([score < cuts[0], score < cuts[1], score < cuts[2], score < cuts[3]], [4, 3, 2, 1], 0)
    ofsted = np.where(is_indep & (rng.random(n) < 0.6), -1, ofsted)
    ofsted = np.where(rng.random(n) < 0.01, -1, ofsted)
    # sponsored academies come from weaker schools
    weak = ofsted >= 2
    swap = (types == "Academy sponsor led") & ~weak & (rng.random(n) < 0.5)
    types[swap] = "Academy converter"

    religion = np.zeros(n, dtype=int)
    va_vc = np.isin(types, ["Voluntary aided school", "Voluntary controlled school"])
    religion[va_vc] = np.where(rng.random(va_vc.sum()) < 0.62, 1, 2)
    religion[types == "Voluntary controlled school"] = 1
    ac = np.isin(types, ["Academy converter", "Academy sponsor led"]) & np.isin(kind_names, ["primary", "secondary"])
    religion[ac & (rng.random(n) < 0.2)] = 1
    religion[ac & (rng.random(n) < 0.06)] = 2

    # ---- towns, places, postcodes, names ------------------------------------------------------
    area_counter: dict[str, int] = {}
    town = [""] * n
    postcode = [""] * n
    place = [""] * n
    district_of_town: dict[tuple[int, str], list[str]] = {}
    used_pc: set[str] = set()
    for li, la in enumerate(las):
        idx = np.flatnonzero(la_idx == li)
        if len(idx) == 0:
            continue
        n_towns = max(2, int(round(len(idx) / 22)))
        main = _metro_town(la[1], la[2]) if la[4] else None
        if main:
            names = [main] * 2 + [_town_name(rng) for _ in range(max(0, n_towns // 4))]
        else:
            names = list(dict.fromkeys(_town_name(rng) for _ in range(n_towns)))
        tw = rng.zipf(1.6, len(idx)) - 1
        tw = np.minimum(tw, len(names) - 1)
        for j, e in enumerate(idx):
            t = names[tw[j]]
            town[e] = t
            key = (li, t)
            if key not in district_of_town:
                districts = []
                for _ in range(int(rng.integers(1, 4))):
                    c = area_counter.get(la[3], 0) + 1
                    area_counter[la[3]] = c
                    districts.append(f"{la[3]}{c}")
                district_of_town[key] = districts
            while True:
                d = district_of_town[key][int(rng.integers(len(district_of_town[key])))]
                pc = f"{d} {rng.integers(1, 10)}{_PC_LETTERS[rng.integers(20)]}{_PC_LETTERS[rng.integers(20)]}"
                if pc not in used_pc:
                    used_pc.add(pc)
                    break
            postcode[e] = pc
            place[e] = _place(rng, t, city=(t == main))

    # infant + junior pairs on one site share a place name (candidates for mergers)
    infant = np.flatnonzero((kind_names == "primary") & (high <= 7))
    junior = np.flatnonzero((kind_names == "primary") & (low >= 7))
    pairs: list[tuple[int, int]] = []
    free_j: dict[int, list[int]] = {}
    for j in junior:
        free_j.setdefault(int(la_idx[j]), []).append(int(j))
    for i in infant:
        cands = free_j.get(int(la_idx[i]), [])
        if cands and rng.random() < 0.6:
            j = cands.pop(int(rng.integers(len(cands))))
            town[j] = town[i]
            place[j] = place[i]
            pairs.append((int(i), int(j)))

    names = np.empty(n, dtype=object)
    seen: set[tuple[str, str]] = set()
    for e in range(n):
        for attempt in range(30):
            nm = _school_name(rng, kind_names[e], types[e], low[e], high[e], place[e], town[e], religion[e],
                              bool(selective[e]))
            if attempt > 20:
                nm = f"{nm} ({rng.choice(L.PLACE_FEATURES)})"
            if (town[e], nm.lower()) not in seen:
                break
            if attempt >= 3 and attempt < 20:
                place[e] = _place(rng, town[e], city=True)
        seen.add((town[e], nm.lower()))
        names[e] = nm

    # a few names that need Windows-1252 beyond ASCII (é), as in real GIAS extracts
    n_accent = max(1, n // 1000)
    for pool_, make in ((np.flatnonzero(kind_names == "independent"), lambda e: f"École Française de {town[e]}"),
                        (np.flatnonzero((kind_names == "primary") & (religion == 2) & (high >= 11)),
                         lambda e: "St Thérèse of Lisieux Catholic Primary School")):
        for e in pool_[:n_accent]:
            if (town[e], make(e).lower()) not in seen:
                seen.discard((town[e], names[e].lower()))
                names[e] = make(e)
                seen.add((town[e], names[e].lower()))

    # planted same-name pairs in one town (the booking matcher must call these ambiguous)
    dup_pairs: list[tuple[int, int]] = []
    cand = np.flatnonzero((kind_names == "primary") & (low < 7) & (high >= 11) & ~is_indep)
    rng.shuffle(cand)
    used: set[int] = set()
    for a in cand:
        if len(dup_pairs) >= size_cfg["duplicate_name_pairs"]:
            break
        if a in used:
            continue
        for b in cand:
            if b != a and b not in used and la_idx[b] == la_idx[a] and town[b] == town[a]:
                saint = f"St {rng.choice(L.SAINTS)}'s"
                nm = f"{saint} Catholic Primary School" if rng.random() < 0.5 else f"{saint} CofE Primary School"
                names[a] = names[b] = nm
                religion[a] = religion[b] = 2 if "Catholic" in nm else 1
                # the two share a postcode district
                postcode[b] = postcode[a].split(" ")[0] + " " + postcode[b].split(" ")[1]
                used.update([a, b])
                dup_pairs.append((int(a), int(b)))
                break

    # ---- lineage ------------------------------------------------------------------------------
    alive_from = np.full(n, -1, dtype=np.int64)
    alive_to = np.full(n, FAR_FUTURE, dtype=np.int64)
    first_open = np.full(n, -1, dtype=np.int64)        # open date of the first URN (−1 blank)
    pre_academy = np.isin(types, list(ACADEMY_TYPES))
    pre_free = np.isin(types, list(FREE_TYPES))
    y0 = int(str(years.delivery[0])[:4])
    months = [(y, m) for y in range(2010, y0 + 1) for m in range(1, 13) if (2010, 9) <= (y, m) <= (y0, 3)]
    conv_pre = np.full(n, -1, dtype=np.int64)
    for e in np.flatnonzero(pre_academy):
        y, m = months[int(rng.integers(len(months)))]
        conv_pre[e] = day(y, m, 1)
    for e in np.flatnonzero(pre_free):
        first_open[e] = day(int(rng.integers(2011, y0)), 9, 1)
    old = ~pre_free & (rng.random(n) < 0.4)
    first_open[old] = [day(int(y), 9, 1) for y in rng.integers(1950, 2009, old.sum())]

    # in-window events
    months_in = []
    for fy in years.delivery:
        s = int(str(fy)[:4])
        for mm in range(5, 16):
            yy, m2 = (s, mm) if mm <= 12 else (s + 1, mm - 12)
            months_in.append(day(yy, m2, 1))
    sept = [day(int(str(fy)[:4]), 9, 1) for fy in years.delivery]
    eligible = np.isin(types, list(L.MAINTAINED)) & np.isin(kind_names, ["primary", "secondary", "special",
                                                                          "middle_primary", "middle_secondary"])
    in_pairs = {x for p in pairs for x in p} | {x for p in dup_pairs for x in p}
    eligible &= ~np.isin(np.arange(n), list(in_pairs))
    n_conv = int(round(0.08 * n))
    wconv = eligible * np.where(np.isin(kind_names, ["secondary"]), 2.5, 1.0) * np.where(ofsted <= 1, 1.3, 1.0)
    conv = rng.choice(n, size=min(n_conv, int(eligible.sum())), replace=False, p=wconv / wconv.sum())
    conv = np.sort(conv)
    conv_day = {int(e): int(months_in[int(rng.integers(len(months_in)))]) for e in conv}
    early = [e for e in conv if conv_day[int(e)] <= day(y0 + 2, 9, 1)]
    chain = set(int(x) for x in rng.choice(early, size=min(size_cfg["chains"], len(early)), replace=False)) if early else set()
    chain_day = {e: conv_day[e] + int(rng.integers(12, 26)) * 30 for e in chain}
    chain_day = {e: day(*_first_of_month(d)) for e, d in chain_day.items()}

    pairs_free = [p for p in pairs if p[0] not in conv_day and p[1] not in conv_day]
    n_merge = min(size_cfg["mergers"], len(pairs_free))
    merge_pick = rng.choice(len(pairs_free), size=n_merge, replace=False) if n_merge else []
    mergers = [(pairs_free[i][0], pairs_free[i][1], int(sept[int(rng.integers(1, len(sept)))]), k % 2)
               for k, i in enumerate(sorted(merge_pick))]
    taken = set(conv_day) | {m[0] for m in mergers} | {m[1] for m in mergers} | in_pairs
    pool = np.array([e for e in range(n) if e not in taken and kind_names[e] in ("primary", "independent", "special")])
    n_close = max(2, int(round(0.008 * n)))
    closes = {int(e): int(sept[int(rng.integers(1, len(sept)))]) for e in rng.choice(pool, size=n_close, replace=False)}
    taken |= set(closes)
    pool = np.array([e for e in range(n) if e not in taken and kind_names[e] in ("primary", "secondary")
                     and not pre_academy[e] and not pre_free[e]])
    n_new = max(2, int(round(0.012 * n)))
    news = {int(e): int(sept[int(rng.integers(0, len(sept)))]) for e in rng.choice(pool, size=n_new, replace=False)}
    for e in news:
        types[e] = "Free schools"
        names[e] = re.sub(r" (Primary|High) School$", r" \1 Free School", names[e]) if rng.random() < 0.4 else names[e]
        first_open[e] = news[e]
        alive_from[e] = news[e]
        religion[e] = 0
        ofsted[e] = -1 if news[e] > day(y0 + 3, 9, 1) else ofsted[e]
    for e, d in closes.items():
        alive_to[e] = d
    for a, b, d, _v in mergers:
        alive_to[a] = d

    # ---- spells ---------------------------------------------------------------------------------
    rows = []     # entity, seq, urn_pool, name, type, open, close, reason_open, reason_close, low, high, estab_key
    for e in range(n):
        seq = 0
        t_now = types[e]
        nm = names[e]
        lo, hi = int(low[e]), int(high[e])
        if pre_academy[e]:
            pred_type = "Community school" if t_now != "Academy special converter" and "special" not in t_now else "Community special school"
            if t_now == "Academy 16-19 converter":
                pred_type = "Further education"
            if t_now in ("Academy converter",) and religion[e] == 1:
                pred_type = "Voluntary controlled school"
            if religion[e] == 2:
                pred_type = "Voluntary aided school"
            rows.append([e, seq, "old", _maintained_name(nm), pred_type, int(first_open[e]), conv_pre[e] - 1,
                         "Not applicable", "Academy Converter" if "sponsor" not in t_now else "Academy Sponsor Led", lo, hi])
            seq += 1
            reason = "Academy Converter" if "sponsor" not in t_now else "Academy Sponsor Led"
            rows.append([e, seq, "pre", nm if "Academy" in nm else _academy_name(rng, nm), t_now, int(conv_pre[e]), -1,
                         reason, "", lo, hi])
            names[e] = rows[-1][3]
            nm = names[e]
            seq += 1
        elif pre_free[e] or e in news:
            rows.append([e, seq, "pre" if pre_free[e] else "new", nm, t_now, int(first_open[e]), -1,
                         "Academy Free School" if e in news or rng.random() < 0.5 else "New Provision", "", lo, hi])
            seq += 1
        else:
            rows.append([e, seq, "old", nm, t_now, int(first_open[e]), -1,
                         "Not applicable" if first_open[e] < 0 or rng.random() < 0.6 else "New Provision", "", lo, hi])
            seq += 1
        if e in conv_day:
            d = conv_day[e]
            sponsor = ofsted[e] >= 2 and rng.random() < 0.7
            newt = ("Academy special sponsor led" if sponsor else "Academy special converter") if kind_names[e] == "special" \
                else ("Academy sponsor led" if sponsor else "Academy converter")
            reason = "Academy Sponsor Led" if sponsor else "Academy Converter"
            rows[-1][6] = d - 1
            rows[-1][8] = reason
            nm2 = _academy_name(rng, nm) if rng.random() < 0.3 else nm
            rows.append([e, seq, "new", nm2, newt, d, -1, reason, "", lo, hi])
            seq += 1
            if e in chain:
                d2 = chain_day[e]
                rows[-1][6] = d2 - 1
                rows[-1][8] = "Academy Sponsor Led"
                nm3 = _academy_name(rng, nm2, force=True)
                rows.append([e, seq, "new", nm3, "Academy sponsor led", d2, -1, "Academy Sponsor Led", "", lo, hi])
                seq += 1
        if e in closes:
            rows[-1][6] = closes[e] - 1
            rows[-1][8] = "For Other Reasons"
    merge_new: dict[int, int] = {}
    for a, b, d, variant in mergers:
        ra = [r for r in rows if r[0] == a][-1]
        ra[6], ra[8] = d - 1, "Result of Amalgamation/Merger"
        rb = [r for r in rows if r[0] == b][-1]
        merged_name = re.sub(r"(Junior|Infant)", "Primary", rb[3])
        if variant == 0:       # the junior school takes the infants in, keeping its URN
            rb[3], rb[9] = merged_name, int(low[a])
        else:                  # both close; a new primary opens
            rb[6], rb[8] = d - 1, "Result of Amalgamation/Merger"
            rows.append([b, rb[1] + 1, "new", merged_name, rb[4], d, -1, "Result of Amalgamation", "", int(low[a]), int(high[b])])
            merge_new[b] = len(rows) - 1
        low[b] = low[a]

    spells = pl.DataFrame(rows, schema=["entity", "seq", "pool", "name", "type", "open", "close", "reason_open",
                                        "reason_close", "low", "high"], orient="row")
    spells = spells.sort(["entity", "seq"])

    # ---- URNs -------------------------------------------------------------------------------------
    ent = spells["entity"].to_numpy()
    pool_col = spells["pool"].to_numpy()
    opens = spells["open"].to_numpy()
    urn = np.zeros(spells.height, dtype=np.int64)
    old_idx = np.flatnonzero(pool_col == "old")
    order = np.lexsort((rng.random(len(old_idx)), la_idx[ent[old_idx]]))
    urn[old_idx[order]] = 100000 + np.sort(rng.choice(36000, size=len(old_idx), replace=False))
    base = 136000
    for pname in ("pre", "new"):     # URNs opened later are higher, and never reused
        idx = np.flatnonzero(pool_col == pname)
        order = np.lexsort((rng.random(len(idx)), opens[idx]))
        gaps = rng.integers(1, 3, len(idx))
        urn[idx[order]] = base + np.cumsum(gaps)
        base = max(140000, int(np.ceil((urn.max() + 1) / 1000) * 1000))
    spells = spells.with_columns(pl.Series("urn", urn))

    # estab numbers: per LA and range, kept across conversions
    estab = np.zeros(n, dtype=int)
    base = {"primary": 2000, "middle_primary": 2400, "middle_secondary": 4300, "secondary": 4000,
            "all_through": 4500, "sixteen_plus": 8600, "special": 7000, "nursery": 1000, "independent": 6000}
    counters: dict[tuple[int, int], int] = {}
    for e in np.lexsort((rng.random(n), la_idx)):
        b = base[kind_names[e]] + (600 if types[e] in ("Voluntary aided school",) and kind_names[e] == "secondary" else 0)
        b = b + (1300 if religion[e] and kind_names[e] == "primary" else 0)
        key = (int(la_idx[e]), b)
        c = counters.get(key, b) + int(rng.integers(1, 4))
        counters[key] = c
        estab[e] = c
    spells = spells.with_columns(pl.Series("estab", estab[ent]))

    # live-URN lookup: spells that are live at some point in or after the window start
    s_ent = spells["entity"].to_numpy()
    s_open, s_close, s_urn = spells["open"].to_numpy(), spells["close"].to_numpy(), spells["urn"].to_numpy()
    is_last = np.r_[s_ent[1:] != s_ent[:-1], True]
    live = (s_close < 0) | (s_close >= win0) | is_last
    le, lo_, lu = s_ent[live], s_open[live], s_urn[live]
    first_live = np.r_[True, le[1:] != le[:-1]]
    start_pos = np.maximum.accumulate(np.where(first_live, np.arange(len(le)), 0))
    k_live = np.arange(len(le)) - start_pos
    K = int(k_live.max()) + 1
    sp_urn = np.zeros((n, K), dtype=np.int64)
    sp_from = np.full((n, K), FAR_FUTURE, dtype=np.int64)
    sp_urn[le, k_live] = lu
    sp_from[le, k_live] = np.where(k_live == 0, -1, lo_)

    links, anomalies = _links(rng, spells, mergers, merge_new, size_cfg, win1)

    return World(
        years=years, n=n, las=las, la_idx=la_idx, kind=kind, low=low, high=high, pupils=pupils, fsm=fsm, ur=ur,
        ofsted=ofsted, prior=prior, quality=quality, school_re=school_re, place=place, town=town, postcode=postcode,
        religion=religion, selective=selective, alive_from=alive_from, alive_to=alive_to, spells=spells,
        sp_urn=sp_urn, sp_from=sp_from, links=links, anomalies=anomalies, duplicate_pairs=dup_pairs,
        extract_day=extract_day,
        events={"conversions": {int(k): v for k, v in conv_day.items()}, "chains": sorted(chain),
                "mergers": mergers, "closures": closes, "new_schools": news},
    )


def _first_of_month(d: int) -> tuple[int, int, int]:
    from ._common import to_date
    x = to_date(d)
    return x.year, x.month, 1


def _maintained_name(name: str) -> str:
    """The name a school had before it became an academy."""
    out = re.sub(r" (Primary|Infant|Junior) Academy$", r" \1 School", name)
    out = re.sub(r" Academy$", " School", out)
    return out.replace(" Academy ", " School ")


def _academy_name(rng, name: str, force: bool = False) -> str:
    """Name after conversion: often unchanged, sometimes 'Academy' added or swapped in."""
    r = rng.random()
    if not force and r < 0.5:
        return name
    if name.endswith("Primary School"):
        return name[: -len("Primary School")] + "Primary Academy"
    if name.endswith(" School") and not name.endswith("Nursery School"):
        return name[: -len(" School")] + " Academy"
    if name.endswith("Academy"):
        return name.replace("Academy", "Academy Trust") if force else name
    return name + " Academy"


def _links(rng, spells: pl.DataFrame, mergers, merge_new, size_cfg, win1):
    """The GIAS links file plus the planted anomalies (cycles, missing twins, dangling links)."""
    rows = []
    ent, urns, names_ = spells["entity"].to_list(), spells["urn"].to_list(), spells["name"].to_list()
    opens, reasons = spells["open"].to_list(), spells["reason_open"].to_list()
    by_ent: dict[int, list[int]] = {}
    for i, e in enumerate(ent):
        by_ent.setdefault(e, []).append(i)
        if i == 0 or ent[i - 1] != e or reasons[i] == "Result of Amalgamation":
            continue
        d = opens[i]
        blank = rng.random() < 0.08
        rows.append([urns[i - 1], urns[i], names_[i], "Successor", -1 if blank else d])
        rows.append([urns[i], urns[i - 1], names_[i - 1], "Predecessor", -1 if blank else d])
    for a, b, d, variant in mergers:
        ia, ib = by_ent[a], by_ent[b]
        ua, na = urns[ia[-1]], names_[ia[-1]]
        if variant == 0:
            ub, nb = urns[ib[-1]], names_[ib[-1]]
            rows.append([ua, ub, nb, "Successor - merged", d])
            rows.append([ub, ua, na, "Predecessor - merged", d])
        else:
            ub_old, nb_old = urns[ib[-2]], names_[ib[-2]]
            unew, nnew = urns[ib[-1]], names_[ib[-1]]
            for uo, no in ((ua, na), (ub_old, nb_old)):
                rows.append([uo, unew, nnew, "Successor - merged", d])
                rows.append([unew, uo, no, "Predecessor - merged", d])
    links = pl.DataFrame(rows, schema=["URN", "LinkURN", "LinkName", "LinkType", "date"], orient="row")

    # planted anomalies, drawn from plain conversions
    conv = links.filter(pl.col("LinkType") == "Successor")
    order = rng.permutation(conv.height)
    anomalies = []
    pos = 0
    drop_keys = []
    extra = []
    all_urns = set(spells["urn"].to_list())
    for kind, count in size_cfg["anomalies"].items():
        for _ in range(count):
            if pos >= len(order):
                break
            r = conv.row(int(order[pos]), named=True)
            pos += 1
            a, b = int(r["URN"]), int(r["LinkURN"])
            name_a = spells.filter(pl.col("urn") == a)["name"][0]
            if kind == "cycle":          # the successor also claims the predecessor as its successor
                extra.append([b, a, name_a, "Successor", r["date"]])
                extra.append([a, b, r["LinkName"], "Predecessor", r["date"]])
                anomalies.append({"kind": "cycle", "urns": [a, b],
                                  "note": f"{a} and {b} each list the other as Successor (and as Predecessor); "
                                          f"the register dates say {a} closed and {b} opened"})
            elif kind == "missing_twin":  # the Predecessor row of the successor is missing
                drop_keys.append((b, a, "Predecessor"))
                anomalies.append({"kind": "missing_twin", "urns": [a, b],
                                  "note": f"{a} -> {b} Successor has no Predecessor row at {b}"})
            else:                         # a successor URN that is not in the register
                ghost = int(max(all_urns)) + 1000 + int(rng.integers(0, 900))
                while ghost in all_urns:
                    ghost += 1
                all_urns.add(ghost)
                extra.append([a, ghost, "Unknown establishment", "Successor", -1])
                anomalies.append({"kind": "dangling", "urns": [a, ghost],
                                  "note": f"{a} -> {ghost} Successor, but {ghost} is not in the register"})
    if drop_keys:
        keys = pl.DataFrame(drop_keys, schema=["URN", "LinkURN", "LinkType"], orient="row")
        links = links.join(keys, on=["URN", "LinkURN", "LinkType"], how="anti", maintain_order="left")
    if extra:
        links = pl.concat([links, pl.DataFrame(extra, schema=links.columns, orient="row")])
    links = links.sort(["URN", "LinkURN", "LinkType"])
    return links, anomalies


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------
def _slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.lower().replace("’", "").replace("'", "")).strip("-")
    return s[:40].strip("-")


def register_frame(w: World, rng: np.random.Generator) -> pl.DataFrame:
    sp = w.spells
    e = sp["entity"].to_numpy()
    nrow = sp.height
    kind = w.kind_name[e]
    typ = sp["type"].to_numpy()
    close = sp["close"].to_numpy()
    closed = (close >= 0) & (close < w.extract_day)
    status = np.where(closed, "Closed", "Open").astype(object)
    proposed = (~closed) & (rng.random(nrow) < 0.003)
    status[proposed] = "Open, but proposed to close"
    la_code = w.la_code[e]
    la_name = np.array([la[1] for la in w.las], dtype=object)[w.la_idx[e]]
    gor = w.region[e]
    phase = np.array([L.KIND_PHASE[k] for k in kind], dtype=object)
    low, high = sp["low"].to_numpy(), sp["high"].to_numpy()
    is_ind = np.isin(typ, list(L.INDEPENDENT_TYPES))
    pupils = w.pupils[e].astype(float)
    girls_share = np.clip(rng.normal(0.49, 0.03, nrow), 0, 1)
    single = rng.random(nrow)
    gender = np.where((kind == "secondary") & (single < 0.05), "Girls",
                      np.where((kind == "secondary") & (single > 0.95), "Boys", "Mixed")).astype(object)
    girls_share = np.where(gender == "Girls", 1.0, np.where(gender == "Boys", 0.0, girls_share))
    girls = np.round(pupils * girls_share)
    has_census = ~closed & (kind != "sixteen_plus")
    fsm = w.fsm[e]

    def blank_where(mask, arr):
        out = np.asarray(arr, dtype=object).copy()
        out[mask] = None
        return out

    rel = w.religion[e]
    rel_name = np.where(rel == 1, "Church of England", np.where(rel == 2, "Roman Catholic", "Does not apply")).astype(object)
    rel_name[is_ind] = "None"
    dio = np.where(rel == 1, rng.choice(L.DIOCESE_CE, nrow), np.where(rel == 2, rng.choice(L.DIOCESE_RC, nrow),
                                                                        "Not applicable")).astype(object)
    sixth = np.where(high >= 18, "Has a sixth form", np.where(np.isin(kind, ["nursery", "sixteen_plus"]),
                                                              "Not applicable", "Does not have a sixth form")).astype(object)
    nursery = np.where(low <= 3, "Has Nursery Classes", "No Nursery Classes").astype(object)
    nursery[np.isin(kind, ["sixteen_plus"])] = "Not applicable"
    academy = np.isin(typ, list(ACADEMY_TYPES | FREE_TYPES))
    trust_flag = np.where(academy, np.where(rng.random(nrow) < 0.8, "Supported by a multi-academy trust",
                                            "Supported by a single-academy trust"), "Not applicable").astype(object)
    trust_name = np.where(academy, [f"The {L.TOWN_HEADS[i % len(L.TOWN_HEADS)]} Learning Trust" for i in
                                    rng.integers(0, 10_000, nrow)], None).astype(object)
    sponsored = np.isin(typ, ["Academy sponsor led", "Academy special sponsor led"])
    sponsor_flag = np.where(sponsored, "Linked to a sponsor", np.where(academy, "-", "Not applicable")).astype(object)
    sponsor_name = np.where(sponsored, trust_name, None).astype(object)
    place = np.array(w.place, dtype=object)[e]
    town = np.array(w.town, dtype=object)[e]
    pcs = np.array(w.postcode, dtype=object)[e]
    street = np.array([f"{p.split(' ')[0]} {st}" for p, st in zip(place, rng.choice(L.STREET_TYPES, nrow))], dtype=object)
    names = sp["name"].to_numpy().astype(object)
    website = np.array([f"www.{_slug(nm)}.{'sch.uk' if not ind else 'co.uk'}" for nm, ind in zip(names, is_ind)], dtype=object)
    tel = np.array([f"0{a}{b:06d}" for a, b in zip(rng.integers(1100, 1999, nrow), rng.integers(0, 999999, nrow))], dtype=object)
    head_first = rng.choice(L.FIRST_NAMES, nrow).astype(object)
    head_last = rng.choice(L.LAST_NAMES, nrow).astype(object)
    head_title = rng.choice(["Mrs", "Mr", "Miss", "Ms", "Dr"], nrow, p=[0.42, 0.3, 0.12, 0.13, 0.03]).astype(object)
    district = np.where(np.array([la[4] for la in w.las])[w.la_idx[e]], la_name, town).astype(object)
    ex, nx = (np.array([L.GOR_EN[g][i] for g in gor]) for i in (0, 1))
    easting = (ex + rng.normal(0, 25000, nrow)).round().astype(int)
    northing = (nx + rng.normal(0, 25000, nrow)).round().astype(int)
    msoa_n = rng.integers(1, 40, nrow)
    msoa = np.array([f"{d} {m:03d}" for d, m in zip(district, msoa_n)], dtype=object)
    lsoa = np.array([f"{m}{'ABCDE'[i]}" for m, i in zip(msoa, rng.integers(0, 5, nrow))], dtype=object)
    ofsted = np.where(w.ofsted[e] >= 0, np.array(L.OFSTED + [""], dtype=object)[w.ofsted[e]], None).astype(object)
    ofsted[closed] = None
    insp_day = w.extract_day - rng.integers(60, 6 * 365, nrow)
    gss_prefix = {True: "E08", False: "E10"}
    gss = np.array([("E09" if la[2] == "London" else gss_prefix[la[4]]) + f"{(la[0] * 7) % 1000:06d}"
                    for la in w.las], dtype=object)[w.la_idx[e]]
    fsm_txt = fmt_num(fsm, 1)
    fsm_txt = np.where(is_ind & (rng.random(nrow) < 0.5), "0.0", fsm_txt)
    census_day = w.extract_day - 170      # January census before the extract
    open_days = sp["open"].to_numpy()
    last_changed = np.maximum(np.maximum(open_days, close), w.extract_day - rng.integers(5, 700, nrow))
    last_changed = np.minimum(last_changed, w.extract_day)
    na = np.full(nrow, "Not applicable", dtype=object)
    cols: dict[str, object] = {c: np.full(nrow, None, dtype=object) for c in GIAS_COLUMNS}
    cols.update({
        "URN": sp["urn"].to_numpy(), "LA (code)": la_code, "LA (name)": la_name, "EstablishmentNumber": sp["estab"].to_numpy(),
        "EstablishmentName": names, "TypeOfEstablishment (name)": typ,
        "EstablishmentTypeGroup (name)": np.array([L.TYPE_GROUP[t] for t in typ], dtype=object),
        "EstablishmentStatus (name)": status, "ReasonEstablishmentOpened (name)": sp["reason_open"].to_numpy(),
        "OpenDate": fmt_dates(open_days, "%d-%m-%Y").to_numpy(),
        "ReasonEstablishmentClosed (name)": np.where(sp["reason_close"].to_numpy() == "", "Not applicable",
                                                     sp["reason_close"].to_numpy()),
        "CloseDate": fmt_dates(np.where(closed, close, -1), "%d-%m-%Y").to_numpy(),
        "PhaseOfEducation (name)": phase, "StatutoryLowAge": low, "StatutoryHighAge": high,
        "Boarders (name)": np.where(is_ind & (rng.random(nrow) < 0.3), "Boarding school", "No boarders"),
        "NurseryProvision (name)": nursery, "OfficialSixthForm (name)": sixth, "Gender (name)": gender,
        "ReligiousCharacter (name)": rel_name, "ReligiousEthos (name)": np.where(rel > 0, "Does not apply", "Does not apply"),
        "Diocese (name)": dio,
        "AdmissionsPolicy (name)": np.where(w.selective[e], "Selective",
                                            np.where(kind == "secondary", "Non-selective", "Not applicable")),
        "SchoolCapacity": blank_where(np.isin(kind, ["sixteen_plus"]), (np.ceil(pupils * rng.uniform(1.0, 1.25, nrow) / 5) * 5).astype(int)),
        "SpecialClasses (name)": np.where(rng.random(nrow) < 0.12, "Has Special Classes", "No Special Classes"),
        "CensusDate": blank_where(~has_census, fmt_dates(np.full(nrow, census_day), "%d-%m-%Y").to_numpy()),
        "NumberOfPupils": blank_where(~has_census, pupils.astype(int)),
        "NumberOfBoys": blank_where(~has_census, (pupils - girls).astype(int)),
        "NumberOfGirls": blank_where(~has_census, girls.astype(int)),
        "PercentageFSM": blank_where(~has_census, fsm_txt),
        "TrustSchoolFlag (name)": trust_flag, "Trusts (name)": trust_name, "SchoolSponsorFlag (name)": sponsor_flag,
        "SchoolSponsors (name)": sponsor_name,
        "FederationFlag (name)": np.where(academy, "Not applicable", "Not under a federation"),
        "UKPRN": (10000000 + sp["urn"].to_numpy() * 7 % 99991).astype(int),
        "FurtherEducationType (name)": np.where(typ == "Further education", "General Further Education College", "Not applicable"),
        "OfstedLastInsp": blank_where(~(w.ofsted[e] >= 0) | closed, fmt_dates(insp_day, "%d-%m-%Y").to_numpy()),
        "LastChangedDate": fmt_dates(last_changed, "%d-%m-%Y").to_numpy(),
        "Street": street, "Town": town, "Postcode": pcs, "SchoolWebsite": website, "TelephoneNum": tel,
        "HeadTitle (name)": head_title, "HeadFirstName": head_first, "HeadLastName": head_last,
        "HeadPreferredJobTitle": np.where(rng.random(nrow) < 0.85, "Headteacher", "Principal"),
        "BSOInspectorateName (name)": na, "TeenMoth (name)": na, "CCF (name)": na, "SENPRU (name)": na, "EBD (name)": na,
        "EdByOther (name)": na, "Section41Approved (name)": np.where(is_ind, "Not approved", "Not applicable"),
        "TypeOfResourcedProvision (name)": np.where(rng.random(nrow) < 0.05, "SEN unit", None),
        "GOR (name)": gor, "DistrictAdministrative (name)": district,
        "AdministrativeWard (name)": np.array([f"{p.split(' ')[0]} Ward" for p in place], dtype=object),
        "ParliamentaryConstituency (name)": np.array([f"{d} {s}" for d, s in zip(district, rng.choice(["North", "South", "East", "West", "Central"], nrow))], dtype=object),
        "UrbanRural (name)": np.array(L.URBAN_RURAL, dtype=object)[w.ur[e]], "GSSLACode (name)": gss,
        "Easting": easting, "Northing": northing, "MSOA (name)": msoa, "LSOA (name)": lsoa,
        "InspectorateName (name)": np.where(is_ind, np.where(rng.random(nrow) < 0.6, "ISI", "Ofsted"), None),
        "OfstedRating (name)": ofsted, "RSCRegion (name)": np.array([L.GOR_RSC[g] for g in gor], dtype=object),
        "Country (name)": np.where(is_ind, "United Kingdom", None),
        "UPRN": (100000000000 + sp["urn"].to_numpy() * 104729 % 900000000).astype(np.int64),
        "QABName (name)": na, "EstablishmentAccredited (name)": na,
        "MSOA (code)": np.array([f"E02{x:06d}" for x in rng.integers(0, 7000, nrow)], dtype=object),
        "LSOA (code)": np.array([f"E01{x:06d}" for x in rng.integers(0, 34000, nrow)], dtype=object),
    })
    df = pl.DataFrame({c: pl.Series(c, [None if v is None else str(v) for v in np.asarray(cols[c], dtype=object)],
                                    dtype=pl.Utf8) for c in GIAS_COLUMNS})
    return df.sort(pl.col("URN").cast(pl.Int64))


def write_register(w: World, writer: Writer, rng: np.random.Generator) -> dict[str, int]:
    reg = register_frame(w, rng)
    n1 = writer.write_csv("register/edubasealldata.csv", reg, encoding="cp1252", crlf=True, quote_all=True)
    links = w.links.with_columns(fmt_dates(w.links["date"].to_numpy(), "%d-%m-%Y").alias("LinkEstablishedDate"))
    links = links.select(LINKS_COLUMNS)
    n2 = writer.write_csv("register/links_edubasealldata.csv", links, encoding="cp1252", crlf=True, quote_all=True)
    return {"register/edubasealldata.csv": n1, "register/links_edubasealldata.csv": n2}


def write_census(w: World, writer: Writer, rng: np.random.Generator) -> int:
    """School census of the reporting year (January), one row per open school."""
    rep = w.years.reporting
    census_day = day(int(rep[:4]) + 1, 1, 17)
    kind = w.kind_name
    sp = w.spells
    alive = (w.alive_from <= census_day) & (w.alive_to > census_day)
    ents = np.arange(w.n)
    urn = w.live_urn(ents, np.full(w.n, census_day))
    # the type of the live spell
    typ_of = dict(zip(sp["urn"].to_list(), sp["type"].to_list()))
    estab_of = dict(zip(sp["urn"].to_list(), sp["estab"].to_list()))
    typ = np.array([typ_of[u] for u in urn], dtype=object)
    keep = alive & ~np.isin(typ, ["Further education", "Sixth form centres"])
    ents = ents[keep]
    urn, typ = urn[keep], typ[keep]
    k = kind[ents]
    stype = np.select(
        [np.isin(typ, list(L.INDEPENDENT_TYPES)) & (k == "independent"),
         np.isin(typ, ["Other independent special school", "Non-maintained special school"]),
         k == "special", k == "nursery",
         np.isin(k, ["primary", "middle_primary"])],
        ["Independent school", "Independent school", "State-funded special school", "State-funded nursery",
         "State-funded primary"], "State-funded secondary")
    stype = np.where(typ == "Non-maintained special school", "Non-maintained special school", stype)
    nor = np.round(w.pupils[ents] * rng.normal(1.0, 0.02, len(ents))).astype(int)
    g = np.clip(rng.normal(0.49, 0.03, len(ents)), 0.0, 1.0)
    norg = np.round(nor * g).astype(int)
    norb = nor - norg
    sen_ehc = np.where(k == "special", nor * rng.uniform(0.9, 1.0, len(ents)), nor * rng.gamma(2, 0.008, len(ents)))
    sen_k = np.where(k == "special", 0, nor * rng.gamma(4, 0.03, len(ents)))
    gor = w.region[ents]
    eal_share = np.clip(np.array([L.GOR_EAL[x] for x in gor]) / 100 * rng.lognormal(0, 0.6, len(ents)), 0, 0.97)
    numeal = np.round(nor * eal_share)
    uncl = np.round(nor * rng.uniform(0, 0.006, len(ents)))
    numeng = nor - numeal - uncl
    fsm = np.nan_to_num(w.fsm[ents]) / 100
    numfsm = np.round(nor * fsm)
    fsmever = np.minimum(np.round(numfsm * rng.uniform(1.3, 1.6, len(ents))), nor)  # ever-FSM cannot exceed the roll
    indep = np.isin(stype, ["Independent school", "Non-maintained special school"])
    nursery = stype == "State-funded nursery"

    def pct(a, b):
        return fmt_num(np.where(b > 0, 100 * a / np.maximum(b, 1), 0), 1)

    def na_where(mask, arr):
        out = np.asarray(arr, dtype=object).copy()
        out[mask] = "NA"
        return out

    cols = {
        "URN": urn.astype(str), "LA": w.la_code[ents].astype(str), "ESTAB": np.array([str(estab_of[u]) for u in urn]),
        "SCHOOLTYPE": stype, "NOR": nor.astype(str), "NORG": norg.astype(str), "NORB": norb.astype(str),
        "PNORG": pct(norg, nor), "PNORB": pct(norb, nor),
        "TSENELSE": np.round(sen_ehc).astype(int).astype(str), "PSENELSE": pct(np.round(sen_ehc), nor),
        "TSENELK": np.round(sen_k).astype(int).astype(str), "PSENELK": pct(np.round(sen_k), nor),
        "NUMEAL": na_where(indep, numeal.astype(int).astype(str)), "NUMENGFL": na_where(indep, numeng.astype(int).astype(str)),
        "NUMUNCFL": na_where(indep, uncl.astype(int).astype(str)), "PNUMEAL": na_where(indep, pct(numeal, nor)),
        "PNUMENGFL": na_where(indep, pct(numeng, nor)), "PNUMUNCFL": na_where(indep, pct(uncl, nor)),
        "NUMFSM": na_where(indep, numfsm.astype(int).astype(str)),
        "NUMFSMEVER": na_where(indep | nursery, fsmever.astype(int).astype(str)),
        "PNUMFSMEVER": na_where(indep | nursery, pct(fsmever, nor)),
    }
    df = pl.DataFrame({c: pl.Series(c, np.asarray(cols[c], dtype=object).astype(str), dtype=pl.Utf8) for c in CENSUS_COLUMNS})
    df = df.sort(pl.col("URN").cast(pl.Int64))
    # national totals, as in the published file
    nat = []
    for code, label in (("PRI", "State-funded primary"), ("SEC", "State-funded secondary"), ("SPE", "State-funded special school")):
        m = stype == label
        tot = {c: float(np.sum(v[m])) for c, v in (("NOR", nor), ("NORG", norg), ("NORB", norb), ("TSENELSE", np.round(sen_ehc)),
                                                  ("TSENELK", np.round(sen_k)), ("NUMEAL", numeal), ("NUMENGFL", numeng),
                                                  ("NUMUNCFL", uncl), ("NUMFSM", numfsm), ("NUMFSMEVER", fsmever))}
        den = max(tot["NOR"], 1)
        row = {"URN": "NAT", "LA": "", "ESTAB": code, "SCHOOLTYPE": label}
        for c in ("NOR", "NORG", "NORB", "TSENELSE", "TSENELK", "NUMEAL", "NUMENGFL", "NUMUNCFL", "NUMFSM", "NUMFSMEVER"):
            row[c] = str(int(tot[c]))
        for c, src in (("PNORG", "NORG"), ("PNORB", "NORB"), ("PSENELSE", "TSENELSE"), ("PSENELK", "TSENELK"),
                       ("PNUMEAL", "NUMEAL"), ("PNUMENGFL", "NUMENGFL"), ("PNUMUNCFL", "NUMUNCFL"), ("PNUMFSMEVER", "NUMFSMEVER")):
            row[c] = fmt_num([100 * tot[src] / den], 1)[0]
        nat.append(row)
    df = pl.concat([df, pl.DataFrame(nat, schema={c: pl.Utf8 for c in CENSUS_COLUMNS})])
    writer.write_csv("register/england_census.csv", df, bom=True)
    return df.height
