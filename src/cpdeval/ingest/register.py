"""The school register: GIAS establishment extract, school census and LA/region codes.

:func:`read_gias` reads a Get Information About Schools download (``edubasealldata*.csv``: ~110 columns,
``(name)`` columns for coded fields, ``dd-mm-yyyy`` dates, Windows-1252 text) into one row per
establishment (schema ``schemas/register.yaml``). :func:`read_census` reads the school census
(``england_census.csv``), :func:`build_school_table` joins the two.

Phase rule (``phase_group``)
----------------------------
Every establishment gets exactly one of ``primary``, ``secondary``, ``post16``, ``all_through``,
``special``, ``other``. The first rule that applies wins:

1. **special**: the establishment type group is "Special schools", or the type name contains "special"
   (community/foundation special, non-maintained special, academy special converter/sponsor led, free
   schools special, other independent special, special post 16 institution). The type decides whatever
   the phase or age range says: special schools are counted as their own group.
2. **other**: not a school in the programme's sense: pupil referral units and alternative provision,
   children's centres, universities/HE institutions, Welsh establishments, online providers, and the
   "Other types" group (secure units, service children's education, offshore and overseas schools,
   miscellaneous).
3. **post16**: phase "16 plus", or a college (type group "Colleges": further education, sixth form
   centres) or a 16-19 academy / free school.
4. By GIAS phase: "Primary" and "Middle deemed primary" -> primary; "Secondary" and "Middle deemed
   secondary" -> secondary; "All-through" -> all_through; "Nursery" -> other (early years).
5. Phase "Not applicable" or blank (most independent schools), by statutory age range: no ages -> other;
   high age <= 5 -> other (early years only); low age >= 16 -> post16; low age >= 9 -> secondary
   (11-16, 11-18, 13-18, 10-19 ...); high age <= 13 -> primary (3-11, 2-13 prep schools ...); otherwise
   (low < 9 and high >= 14, e.g. 3-18) -> all_through.

Other derived fields
--------------------
* ``status``: open / closed / open_proposed_to_close / proposed_to_open (raw label kept in
  ``status_label``).
* ``urban_rural``: ``urban`` or ``rural`` from the first word after the "(England/Wales)" prefix of the
  2011 rural-urban classification; raw label in ``urban_rural_label``.
* ``ofsted_rating``: 1 Outstanding, 2 Good, 3 Requires improvement (and the older "Satisfactory"),
  4 Inadequate, "Serious Weaknesses" and "Special Measures" (both inadequate judgements); raw label in
  ``ofsted_label``.
* ``laestab`` = LA code x 10000 + establishment number.
* ``parse_issue``: text naming any cell that could not be read as its type (e.g. a date not in
  dd-mm-yyyy); null when the row read cleanly. The value itself is set to null, and
  :mod:`cpdeval.ingest.register_validate` quarantines such rows.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..errors import InputError
from .csvread import read_text_csv

__all__ = [
    "GIAS_COLUMNS", "PHASE_GROUPS", "read_gias", "phase_group_expr", "phase_group", "read_census",
    "read_la_region_codes", "build_school_table", "OFSTED_RATINGS",
]

#: GIAS headers the reader uses (all must be present) and the canonical name each becomes.
GIAS_COLUMNS: dict[str, str] = {
    "URN": "urn",
    "LA (code)": "la_code",
    "LA (name)": "la_name",
    "EstablishmentNumber": "establishment_number",
    "EstablishmentName": "name",
    "TypeOfEstablishment (name)": "type",
    "EstablishmentTypeGroup (name)": "type_group",
    "EstablishmentStatus (name)": "status_label",
    "OpenDate": "open_date",
    "CloseDate": "close_date",
    "PhaseOfEducation (name)": "phase",
    "StatutoryLowAge": "low_age",
    "StatutoryHighAge": "high_age",
    "OfficialSixthForm (name)": "sixth_form_label",
    "NumberOfPupils": "pupils",
    "PercentageFSM": "pct_fsm",
    "Street": "street",
    "Town": "town",
    "Postcode": "postcode",
    "GOR (name)": "region",
    "UrbanRural (name)": "urban_rural_label",
    "OfstedRating (name)": "ofsted_label",
    "OfstedLastInsp": "ofsted_date",
}

PHASE_GROUPS = ["primary", "secondary", "post16", "all_through", "special", "other"]

STATUS_VALUES = {
    "Open": "open",
    "Closed": "closed",
    "Open, but proposed to close": "open_proposed_to_close",
    "Proposed to open": "proposed_to_open",
}

OFSTED_RATINGS = {
    "Outstanding": 1,
    "Good": 2,
    "Requires improvement": 3,
    "Satisfactory": 3,
    "Inadequate": 4,
    "Serious Weaknesses": 4,
    "Special Measures": 4,
}

_INT_COLS = ["urn", "la_code", "establishment_number", "low_age", "high_age", "pupils"]
_DATE_COLS = ["open_date", "close_date", "ofsted_date"]
_OTHER_TYPE_GROUPS = ["Children's Centres", "Universities", "Welsh schools", "Other types", "Online provider"]
_OTHER_TYPE_RE = (r"(?i)pupil referral|alternative provision|children's centre|higher education|"
                  r"welsh establishment|secure unit|miscellaneous|offshore|overseas|service children|"
                  r"funded by other government")
_POST16_TYPE_RE = r"(?i)16[ -]?(to|-)[ ]?19|further education|sixth form centre"


def phase_group_expr(phase: str = "phase", type_: str = "type", type_group: str = "type_group",
                     low_age: str = "low_age", high_age: str = "high_age") -> pl.Expr:
    """The phase rule (module docstring) as a polars expression over GIAS-derived columns."""
    ph = pl.col(phase).fill_null("")
    ty = pl.col(type_).fill_null("")
    tg = pl.col(type_group).fill_null("")
    lo, hi = pl.col(low_age), pl.col(high_age)
    by_age = (pl.when(lo.is_null() | hi.is_null()).then(pl.lit("other"))
              .when(hi <= 5).then(pl.lit("other"))
              .when(lo >= 16).then(pl.lit("post16"))
              .when(lo >= 9).then(pl.lit("secondary"))
              .when(hi <= 13).then(pl.lit("primary"))
              .otherwise(pl.lit("all_through")))
    return (pl.when((tg == "Special schools") | ty.str.to_lowercase().str.contains("special"))
            .then(pl.lit("special"))
            .when(tg.is_in(_OTHER_TYPE_GROUPS) | ty.str.contains(_OTHER_TYPE_RE)).then(pl.lit("other"))
            .when((ph == "16 plus") | (tg == "Colleges") | ty.str.contains(_POST16_TYPE_RE)).then(pl.lit("post16"))
            .when(ph.is_in(["Primary", "Middle deemed primary"])).then(pl.lit("primary"))
            .when(ph.is_in(["Secondary", "Middle deemed secondary"])).then(pl.lit("secondary"))
            .when(ph == "All-through").then(pl.lit("all_through"))
            .when(ph == "Nursery").then(pl.lit("other"))
            .otherwise(by_age))


def phase_group(phase: str | None, type_: str | None, type_group: str | None,
                low_age: int | None, high_age: int | None) -> str:
    """Scalar version of :func:`phase_group_expr` (same rule; for tests and one-off use)."""
    df = pl.DataFrame({"phase": [phase], "type": [type_], "type_group": [type_group],
                       "low_age": [low_age], "high_age": [high_age]},
                      schema={"phase": pl.Utf8, "type": pl.Utf8, "type_group": pl.Utf8,
                              "low_age": pl.Int64, "high_age": pl.Int64})
    return df.select(phase_group_expr())[0, 0]


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    t = expr.str.strip_chars()
    return pl.when(t == "").then(None).otherwise(t)


def _typed(raw: pl.DataFrame) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """Typed expressions and per-cell problem flags (text) for the GIAS columns."""
    exprs, issues = [], []
    for c in _INT_COLS:
        t = _blank_to_null(pl.col(c))
        val = t.str.replace_all(",", "").cast(pl.Int64, strict=False)
        exprs.append(val.alias(c))
        issues.append(pl.when(t.is_not_null() & val.is_null())
                      .then(pl.lit(f"{c} ") + t.str.slice(0, 40) + pl.lit(" is not a whole number")))
    t = _blank_to_null(pl.col("pct_fsm"))
    val = t.str.replace_all("%", "").cast(pl.Float64, strict=False)
    val = pl.when(val.is_finite()).then(val)  # "NaN" and "inf" are not percentages
    exprs.append(val.alias("pct_fsm"))
    issues.append(pl.when(t.is_not_null() & val.is_null())
                  .then(pl.lit("pct_fsm ") + t.str.slice(0, 40) + pl.lit(" is not a number")))
    for c in _DATE_COLS:
        t = _blank_to_null(pl.col(c))
        val = t.str.to_date("%d-%m-%Y", strict=False)
        exprs.append(val.alias(c))
        issues.append(pl.when(t.is_not_null() & val.is_null())
                      .then(pl.lit(f"{c} ") + t.str.slice(0, 40) + pl.lit(" is not a dd-mm-yyyy date")))
    return exprs, issues


def read_gias(path: str | Path, encoding: str = "auto", repaired: list[int] | None = None) -> pl.DataFrame:
    """One row per establishment of a GIAS extract (see the module docstring for the derived fields).

    With a ``repaired`` list, rows whose extra fields spill only into the last column (GIAS's free-text
    "linked establishments", which is not read) are read and their line numbers appended to it; without one
    they stop the run like any misaligned row."""
    path = Path(path)
    raw = read_text_csv(path, encoding=encoding, columns=list(GIAS_COLUMNS), require=list(GIAS_COLUMNS),
                        what="GIAS establishment extract", encoding_setting="inputs.register_encoding",
                        repaired=repaired)
    raw = raw.rename(GIAS_COLUMNS).with_columns(
        [_blank_to_null(pl.col(c)).alias(c) for c in GIAS_COLUMNS.values()])
    typed, issues = _typed(raw)
    df = raw.with_columns(*typed, pl.concat_str(issues, separator="; ", ignore_nulls=True).alias("parse_issue"))
    df = df.with_columns(pl.when(pl.col("parse_issue") == "").then(None).otherwise(pl.col("parse_issue"))
                         .alias("parse_issue"))
    ur = pl.col("urban_rural_label").str.replace(r"^\([^)]*\)\s*", "").str.to_lowercase()
    df = df.with_columns(
        (pl.col("la_code") * 10000 + pl.col("establishment_number")).alias("laestab"),
        pl.col("status_label").replace_strict(STATUS_VALUES, default=None).alias("status"),
        phase_group_expr().alias("phase_group"),
        pl.col("sixth_form_label").replace_strict({"Has a sixth form": True, "Does not have a sixth form": False},
                                                  default=None, return_dtype=pl.Boolean).alias("sixth_form"),
        pl.when(ur.str.starts_with("urban")).then(pl.lit("urban"))
        .when(ur.str.starts_with("rural")).then(pl.lit("rural")).otherwise(None).alias("urban_rural"),
        pl.col("ofsted_label").replace_strict(OFSTED_RATINGS, default=None, return_dtype=pl.Int64)
        .alias("ofsted_rating"),
        pl.lit(str(path)).alias("source_file"),
    )
    # an unknown status label is kept visible rather than silently null
    df = df.with_columns(pl.when(pl.col("status").is_null() & pl.col("status_label").is_not_null())
                         .then(pl.lit("other")).otherwise(pl.col("status")).alias("status"))
    return df.select(
        "urn", "la_code", "la_name", "establishment_number", "laestab", "name", "type", "type_group",
        "status", "status_label", "open_date", "close_date", "phase", "phase_group", "low_age", "high_age",
        "sixth_form", "pupils", "pct_fsm", "street", "town", "postcode", "region", "urban_rural",
        "urban_rural_label", "ofsted_rating", "ofsted_label", "ofsted_date", "parse_issue", "source_file",
        "source_row",
    )


# ---------------------------------------------------------------------------------------------
# Census and LA codes
# ---------------------------------------------------------------------------------------------

#: Census headers used and the canonical names (``NA`` cells become null).
CENSUS_COLUMNS = {
    "URN": "urn", "LA": "la_code", "ESTAB": "establishment_number", "SCHOOLTYPE": "census_school_type",
    "NOR": "pupils", "NUMFSMEVER": "num_fsm_ever", "PNUMFSMEVER": "pct_fsm_ever", "NUMFSM": "num_fsm",
    "PNUMEAL": "pct_eal", "PSENELK": "pct_sen_support", "PSENELSE": "pct_sen_ehcp",
}
_CENSUS_REQUIRED = ["URN", "NOR", "PNUMFSMEVER"]
_CENSUS_FLOATS = ["pct_fsm_ever", "pct_eal", "pct_sen_support", "pct_sen_ehcp"]
_CENSUS_NUMBERS = {c: (pl.Float64 if c in _CENSUS_FLOATS else pl.Int64) for c in
                   ["urn", "la_code", "establishment_number", "pupils", "num_fsm_ever", "num_fsm", *_CENSUS_FLOATS]}


def read_census(path: str | Path, *, encoding: str = "auto",
                return_dropped: bool = False) -> pl.DataFrame | tuple[pl.DataFrame, pl.DataFrame]:
    """The school census (one row per school): pupils on roll, % FSM ever (6 years), % EAL, % SEN.

    Rows whose URN is not a number (national totals ``NAT``) are not schools and are left out; with
    ``return_dropped=True`` they come back as a second frame (``source_row``, ``urn``, ``reason``).
    ``parse_issue`` names any number cell that is neither a number nor a suppression code (the value is
    then null), as :func:`read_gias` does; the contract layer quarantines such rows.
    """
    path = Path(path)
    raw = read_text_csv(path, encoding=encoding, columns=list(CENSUS_COLUMNS), require=_CENSUS_REQUIRED,
                        what="school census", encoding_setting="inputs.census_encoding")
    present = {k: v for k, v in CENSUS_COLUMNS.items() if k in raw.columns}
    raw = raw.rename(present)
    for v in CENSUS_COLUMNS.values():
        if v not in raw.columns:
            raw = raw.with_columns(pl.lit(None, dtype=pl.Utf8).alias(v))

    def num(c, dtype):
        t = _blank_to_null(pl.col(c))
        t = pl.when(t.str.to_uppercase().is_in(["NA", "SUPP", "X", ".."])).then(None).otherwise(t)
        return t.str.replace_all(r"[,%]", "").cast(dtype, strict=False).alias(c)

    def issue(c, dtype):
        t = _blank_to_null(pl.col(c))
        return pl.when(t.is_not_null() & ~t.str.to_uppercase().is_in(["NA", "SUPP", "X", ".."])
                       & ~num(c, dtype).is_finite().fill_null(False)).then(
            pl.lit(f"{c} ") + t.str.slice(0, 40)
            + pl.lit(" is not a whole number" if dtype == pl.Int64 else " is not a number"))

    urn_txt = _blank_to_null(pl.col("urn"))
    ok = urn_txt.str.contains(r"^\d+$")
    dropped = raw.filter(~ok.fill_null(False)).select(
        pl.col("source_row"), pl.col("urn"),
        pl.lit("not a school row (URN is not a number: national or phase total)").alias("reason"))
    df = raw.filter(ok.fill_null(False)).select(
        num("urn", pl.Int64), num("la_code", pl.Int64), num("establishment_number", pl.Int64),
        _blank_to_null(pl.col("census_school_type")).alias("census_school_type"),
        num("pupils", pl.Int64), num("num_fsm_ever", pl.Int64), num("pct_fsm_ever", pl.Float64),
        num("num_fsm", pl.Int64), num("pct_eal", pl.Float64), num("pct_sen_support", pl.Float64),
        num("pct_sen_ehcp", pl.Float64), pl.col("source_row"),
        pl.concat_str([issue(c, dt) for c, dt in _CENSUS_NUMBERS.items()], separator="; ", ignore_nulls=True)
        .replace("", None).alias("parse_issue"),
    ).with_columns((pl.col("la_code") * 10000 + pl.col("establishment_number")).alias("laestab"),
                   *[pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in _CENSUS_FLOATS])
    return (df, dropped) if return_dropped else df


def read_la_region_codes(path: str | Path, *, encoding: str = "utf-8") -> pl.DataFrame:
    """DfE LA and region code list: ``la_code``, ``la_name``, ``region_code``, ``region_name``."""
    path = Path(path)
    cols = {"LEA": "la_code", "LA Name": "la_name", "REGION": "region_code", "REGION NAME": "region_name"}
    raw = read_text_csv(path, encoding=encoding, columns=list(cols), require=list(cols),
                        what="LA and region code list")
    return raw.rename(cols).select(
        _blank_to_null(pl.col("la_code")).cast(pl.Int64, strict=False).alias("la_code"),
        _blank_to_null(pl.col("la_name")).alias("la_name"),
        _blank_to_null(pl.col("region_code")).cast(pl.Int64, strict=False).alias("region_code"),
        _blank_to_null(pl.col("region_name")).alias("region_name"),
        "source_row",
    )


def build_school_table(gias: pl.DataFrame, census: pl.DataFrame | None = None) -> pl.DataFrame:
    """The register with census figures where the census has the school.

    ``pupils`` is the census number on roll (NOR) where present, else GIAS ``NumberOfPupils``;
    ``pupils_source`` says which (``census`` / ``gias`` / null). ``pct_fsm`` stays GIAS's % currently
    eligible for free school meals; ``pct_fsm_ever`` (FSM in the last 6 years) comes only from the census,
    ``pct_fsm_ever_source`` is ``census`` where it has a value. ``pupils_gias`` keeps the GIAS count.
    """
    df = gias.rename({"pupils": "pupils_gias"})
    if census is None:
        return df.with_columns(
            pl.col("pupils_gias").alias("pupils"),
            pl.when(pl.col("pupils_gias").is_not_null()).then(pl.lit("gias")).otherwise(None).alias("pupils_source"),
            pl.lit(None, dtype=pl.Float64).alias("pct_fsm_ever"),
            pl.lit(None, dtype=pl.Utf8).alias("pct_fsm_ever_source"),
        )
    if census["urn"].is_duplicated().any():
        dup = census.filter(pl.col("urn").is_duplicated())
        raise InputError("school census", f"URN {dup['urn'][0]} appears more than once",
                         row=int(dup["source_row"][0]), column="URN", rule="one census row per school")
    c = census.select("urn", pl.col("pupils").alias("__pupils_census"), pl.col("pct_fsm_ever"))
    df = df.join(c, on="urn", how="left")
    return df.with_columns(
        pl.coalesce("__pupils_census", "pupils_gias").alias("pupils"),
        pl.when(pl.col("__pupils_census").is_not_null()).then(pl.lit("census"))
        .when(pl.col("pupils_gias").is_not_null()).then(pl.lit("gias")).otherwise(None).alias("pupils_source"),
        pl.when(pl.col("pct_fsm_ever").is_not_null()).then(pl.lit("census")).otherwise(None)
        .alias("pct_fsm_ever_source"),
    ).drop("__pupils_census")
