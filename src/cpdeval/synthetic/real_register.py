"""Synthetic bookings for the schools of a *real* GIAS register.

Booking exports and survey responses of a CPD programme are not public, but the DfE and GIAS files are
(``../shared/real-data/``). :func:`bookings_for_register` reads a real GIAS extract and writes booking
exports, programme reference data and survey exports whose schools are the register's state-funded
schools, so that the pipeline's ingest and linking can run on the real register, links file, census and
performance tables (``config/surrey-2018-19.yaml``).

The register is turned into the generator's :class:`~cpdeval.synthetic.schools.World` (one school per
register row, its URN, LAESTAB, name, postcode, phase, size, % FSM, urban/rural and Ofsted rating taken
from the register; only the latent prior attainment and school quality are drawn), and then the
generator's own functions write everything: :func:`~cpdeval.synthetic.usage.build_usage` (who uses the
CPD), :func:`~cpdeval.synthetic.bookings.build_bookings` (the exports, with the same gaps as a synthetic
year: blank URNs, LAESTAB only, names typed with variants, postcode spacing and case, same-named schools in
one town given without a full postcode, bookings from organisations that are not schools),
:func:`~cpdeval.synthetic.reference.write_reference` and :func:`~cpdeval.synthetic.surveys.build_surveys`.

Layout written under ``out_dir`` (formats as in ``data/raw/README.md``)::

    bookings/booking_export_FY<YYYY-YY>.csv   one per financial year (UTF-8 with BOM, CRLF)
    reference/partnerships.csv, targets.csv, trained_leaders.csv, priority_schools.csv, survey_invited.csv
    surveys/<instrument>.csv, surveys/feedback_coded.csv
    manifest.json                              every file with rows and SHA-256, the register's SHA-256

Which schools: open or closed state-funded establishments (as the pipeline defines them,
:func:`cpdeval.engagement.state_funded_expr`) of a school phase (primary, secondary, all-through, 16 plus,
special; and local-authority nursery schools), in a GIAS region, with an establishment number, open at
some point of the financial years asked for. A school opened during the years books only from its open
date (under its own URN); a closed one until its close date. The same register, years and seed give
byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import polars as pl

from . import lookups as L
from ._common import EPOCH, FAR_FUTURE, Writer, Years, load_instruments, stream
from ..calendar import FY_START_MONTH

__all__ = ["bookings_for_register", "register_world", "select_schools", "DEFAULT_SEED"]

DEFAULT_SEED = 20190401
#: bookings a year per selected school when ``bookings_per_year`` is not given (the small synthetic year
#: has about 8 per school)
BOOKINGS_PER_SCHOOL = 8
_FY = re.compile(r"^\d{4}-\d{2}$")
_SMALL = L.SIZES["small"]


def _day(d: dt.date | None, default: int) -> int:
    return default if d is None else (d - EPOCH).days


def _kind(phase_group: str, phase: str | None, type_: str | None) -> str | None:
    """The generator's school kind (``lookups.KINDS``) of a register row, or None when not a school."""
    if type_ == "Local authority nursery school":
        return "nursery"
    if phase_group == "special":
        return "special"
    if phase_group == "post16":
        return "sixteen_plus"
    if phase_group == "primary":
        return "middle_primary" if phase == "Middle deemed primary" else "primary"
    if phase_group == "secondary":
        return "middle_secondary" if phase == "Middle deemed secondary" else "secondary"
    if phase_group == "all_through":
        return "all_through"
    return None


def select_schools(register: pl.DataFrame, years: Years) -> pl.DataFrame:
    """The register rows that get bookings (see the module docstring), sorted by URN, with ``kind``."""
    from ..engagement import state_funded_expr

    win0, win1 = years.window
    reg = register.filter(state_funded_expr() & pl.col("urn").is_not_null()
                          & pl.col("la_code").is_not_null() & pl.col("establishment_number").is_not_null()
                          & pl.col("region").is_in(L.GORS) & pl.col("name").is_not_null())
    reg = reg.with_columns(pl.struct("phase_group", "phase", "type").map_elements(
        lambda r: _kind(r["phase_group"], r["phase"], r["type"]), return_dtype=pl.Utf8).alias("kind"))
    reg = reg.filter(pl.col("kind").is_not_null())
    start = EPOCH + dt.timedelta(days=win0)
    end = EPOCH + dt.timedelta(days=win1)
    alive = ((pl.col("open_date").is_null() | (pl.col("open_date") <= end))
             & (pl.col("close_date").is_null() | (pl.col("close_date") >= start)))
    return reg.filter(alive).unique("urn", keep="first").sort("urn")


def register_world(schools: pl.DataFrame, years: Years, rng: np.random.Generator):
    """A :class:`~cpdeval.synthetic.schools.World` whose schools are the rows of ``schools``
    (from :func:`select_schools`): one URN each, as recorded in the register."""
    from .schools import World

    n = schools.height
    if n == 0:
        raise ValueError("the register has no state-funded school open during the years asked for")
    win0, win1 = years.window
    kind_names = schools["kind"].to_list()
    kind = np.array([L.KINDS.index(k) for k in kind_names])

    # local authorities as the generator's LA rows: (code, name, region, postcode area, metropolitan)
    la_rows = (schools.group_by("la_code", maintain_order=False)
               .agg(pl.col("la_name").first(), pl.col("region").first(), pl.col("postcode").drop_nulls().first())
               .sort("la_code"))
    las = [(int(c), str(nm or c), str(rg), re.sub(r"[^A-Z].*$", "", str(pc or "").upper()), False)
           for c, nm, rg, pc in la_rows.iter_rows()]
    la_pos = {la[0]: i for i, la in enumerate(las)}
    la_idx = np.array([la_pos[int(c)] for c in schools["la_code"].to_list()])

    low = schools["low_age"].fill_null(0).to_numpy().astype(int)
    high = schools["high_age"].fill_null(0).to_numpy().astype(int)
    med = np.array([L.KIND_SIZE[k][0] for k in kind_names], dtype=float)
    pupils = schools["pupils"].cast(pl.Float64).to_numpy()
    pupils = np.where(np.isfinite(pupils) & (pupils > 0), pupils, med).round().astype(int)
    fsm = schools["pct_fsm"].cast(pl.Float64).fill_null(float("nan")).to_numpy()

    labels = schools["urban_rural_label"].to_list()
    ur_simple = schools["urban_rural"].to_list()
    ur = np.array([L.URBAN_RURAL.index(lb) if lb in L.URBAN_RURAL else (3 if s == "rural" else 2)
                   for lb, s in zip(labels, ur_simple)])
    ofsted_idx = {lb: i for i, lb in enumerate(L.OFSTED)} | {"Inadequate": 4}
    ofsted = np.array([ofsted_idx.get(lb, -1) for lb in schools["ofsted_label"].to_list()])

    # latent intake prior attainment and school quality (not in the register): as build_world draws them
    lf = np.log1p(np.where(np.isfinite(fsm), fsm, np.nanmedian(fsm) if np.isfinite(fsm).any() else 15.0))
    fz = (lf - lf.mean()) / (lf.std() or 1.0)
    prior = -0.6 * fz + rng.normal(0, 0.8, n)
    prior = (prior - prior.mean()) / (prior.std() or 1.0)
    quality = 0.35 * prior + rng.normal(0, 0.94, n)
    school_re = rng.normal(0, 1, n)

    town = [str(t or "") for t in schools["town"].to_list()]
    postcode = [str(p or "") for p in schools["postcode"].to_list()]
    names = schools["name"].to_list()

    opens = schools["open_date"].to_list()
    closes = schools["close_date"].to_list()
    open_day = np.array([_day(d, -1) for d in opens], dtype=np.int64)
    alive_from = np.where(open_day > win0, open_day, -1)
    alive_to = np.array([FAR_FUTURE if d is None else _day(d, 0) + 1 for d in closes], dtype=np.int64)

    urn = schools["urn"].to_numpy().astype(np.int64)
    estab = schools["establishment_number"].to_numpy().astype(int)
    spells = pl.DataFrame({
        "entity": np.arange(n), "seq": np.zeros(n, dtype=np.int64), "pool": ["register"] * n, "name": names,
        "type": schools["type"].to_list(), "open": open_day,
        "close": np.array([-1 if d is None else _day(d, 0) for d in closes], dtype=np.int64),
        "reason_open": [""] * n, "reason_close": [""] * n, "low": low, "high": high, "urn": urn, "estab": estab,
    })

    # schools of one name in one town: the matcher must call a booking without a full postcode ambiguous
    key = [(t.lower(), nm.lower()) for t, nm in zip(town, names)]
    first_of: dict[tuple, int] = {}
    duplicate_pairs: list[tuple[int, int]] = []
    for e, k in enumerate(key):
        if k in first_of:
            duplicate_pairs.append((first_of[k], e))
        else:
            first_of[k] = e

    links = pl.DataFrame(schema={"URN": pl.Int64, "LinkURN": pl.Int64, "LinkName": pl.Utf8, "LinkType": pl.Utf8,
                                 "date": pl.Int64})
    return World(
        years=years, n=n, las=las, la_idx=la_idx, kind=kind, low=low, high=high, pupils=pupils, fsm=fsm, ur=ur,
        ofsted=ofsted, prior=prior, quality=quality, school_re=school_re, place=town, town=town,
        postcode=postcode, religion=np.zeros(n, dtype=int),
        selective=np.zeros(n, dtype=bool), alive_from=alive_from, alive_to=alive_to, spells=spells,
        sp_urn=urn[:, None].copy(), sp_from=np.full((n, 1), -1, dtype=np.int64), links=links, anomalies=[],
        duplicate_pairs=duplicate_pairs, extract_day=win1 + 92,
        events={"conversions": {}, "chains": [], "mergers": [], "closures": {}, "new_schools": {}},
    )


def _size_cfg(n_schools: int, bookings_per_year: int) -> dict:
    """Generator settings for a register of ``n_schools`` (survey sizes scale with the bookings)."""
    scale = bookings_per_year / _SMALL["bookings_per_year"]
    return {
        "schools": n_schools, "las": None,
        "partnerships": int(max(3, min(_SMALL["partnerships"], round(n_schools / 120)))),
        "bookings_per_year": bookings_per_year,
        "surveys": {k: max(20, int(round(v * scale))) for k, v in _SMALL["surveys"].items()},
        "default_survey_n": max(20, int(round(_SMALL["default_survey_n"] * scale))),
        "anomalies": {}, "chains": 0, "mergers": 0, "lead_changes": 1, "duplicate_name_pairs": 0,
    }


def bookings_for_register(gias_path: str | Path, out_dir: str | Path, *, financial_years: list[str],
                          seed: int = DEFAULT_SEED, encoding: str = "cp1252",
                          bookings_per_year: int | None = None, fy_start_month: int = FY_START_MONTH) -> dict:
    """Write booking exports, reference data and survey exports for the schools of a real GIAS extract.

    ``financial_years`` are the delivery years (``["2016-17", "2017-18", "2018-19"]``), the last one the
    reporting year (surveys are about it). ``bookings_per_year`` is the average number of bookings a year
    (default: 8 per selected school; volume grows over the years as in a synthetic year). Returns the
    manifest (also written to ``out_dir/manifest.json``).
    """
    from ..ingest.register import read_gias
    from .bookings import build_bookings, write_bookings
    from .reference import write_reference
    from .surveys import build_surveys, write_surveys
    from .usage import build_usage

    fys = [str(y) for y in financial_years]
    bad = [y for y in fys if not _FY.match(y) or (int(y[:4]) + 1) % 100 != int(y[5:])]
    if not fys or bad:
        raise ValueError(f"financial years must be written like 2018-19 (a year and the next); got {bad or fys}")
    fys = sorted(set(fys))
    years = Years(delivery=fys, attainment=[], reporting=fys[-1], fy_month=int(fy_start_month))
    gias_path = Path(gias_path)
    register = read_gias(gias_path, encoding=encoding)
    schools = select_schools(register, years)
    world = register_world(schools, years, stream(seed, "real_register/world"))
    if bookings_per_year is None:
        bookings_per_year = BOOKINGS_PER_SCHOOL * world.n
    size_cfg = _size_cfg(world.n, int(bookings_per_year))

    writer = Writer(Path(out_dir))
    usage = build_usage(stream(seed, "usage"), world, years, size_cfg)
    bd = build_bookings(stream(seed, "bookings"), world, usage, years, size_cfg)
    write_bookings(bd, years, writer)
    _, trained, _ = write_reference(stream(seed, "reference"), world, usage, bd, years, writer)
    instruments, scales = load_instruments()
    frames, coded, _ = build_surveys(seed, world, bd, trained, years, size_cfg, instruments, scales)
    write_surveys(frames, coded, writer)

    styles = dict(bd.frame.group_by("_style").len().sort("_style").iter_rows())
    from .bookings import STYLES
    manifest = {
        "generator": "cpdeval.synthetic.real_register", "seed": int(seed), "financial_years": fys,
        "register": {"file": gias_path.name, "encoding": encoding,
                     "sha256": hashlib.sha256(gias_path.read_bytes()).hexdigest(), "rows": register.height},
        "schools": world.n, "bookings_per_year": int(bookings_per_year),
        "match_styles": {STYLES[k]: int(v) for k, v in styles.items()},
        "files": sorted(({k: v for k, v in f.items() if k != "bytes"} for f in writer.files),
                        key=lambda f: f["path"]),
    }
    data = (json.dumps(manifest, sort_keys=True, indent=1) + "\n").encode("utf-8")
    Path(out_dir, "manifest.json").write_bytes(data)
    return manifest
