"""DfE school performance tables (KS4 and KS2, school level) as a long table of measures.

The published CSVs (``<yyyy>-<yyyy>_<la|england>_ks4final.csv`` ...) are wide: ~300-500 columns, one row
per school plus LA and national totals. The columns that give each canonical measure in each academic
year are listed once, in ``config/measures.yaml`` (the *measure map*); this module never hard-codes a
column name.

:func:`read_performance_table` returns two frames:

``long``
    one row per school x measure x bound (schema ``schemas/attainment.yaml``): ``urn``, ``laestab``,
    ``academic_year``, ``key_stage``, ``rectype``, ``measure``, ``kind``, ``bound`` (``estimate`` for the
    measure itself; ``lower`` / ``upper`` for the 95% confidence bounds the map lists), ``value`` (Float64,
    percentages in percent units 0-100 with the ``%`` stripped; null when the cell holds a code),
    ``status`` (``ok`` or why there is no value, see :data:`STATUS_CODES`), ``raw_value`` (the cell as
    published), ``source_column``, ``basis`` (e.g. ``A*-C`` / ``9-4``), ``source_file``, ``source_row``.
``dropped``
    every input row that is not in ``long``, with the reason: LA/national total rows (RECTYPE not in the
    map's ``school_rectypes``), rows without a URN, non-numeric URNs, repeated URNs. Reconciliation counts
    ``rows in = school rows + dropped rows``.

A measure the map lists for the year but whose column is absent from the file stops the run
(:class:`~cpdeval.errors.InputError` naming the measure, the expected column, the year and the file,
with close column names); so does a year the map does not know.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

import polars as pl
from ..config import safe_yaml

from ..errors import InputError
from .csvread import close_matches, read_header, read_text_csv

__all__ = [
    "STATUS_CODES", "LONG_SCHEMA", "DROPPED_SCHEMA", "load_measure_map", "measure_columns", "measure_breaks",
    "breaks_within",
    "read_performance_table", "read_performance_tables", "wide_measures",
]

#: Codes DfE writes in numeric cells, and the status each becomes (value null).
#: Matched on the trimmed, upper-cased cell (so ``x`` and ``X`` are both "not available"). A blank cell
#: is ``missing``; any other text that is not a number is ``invalid`` (the text is kept in raw_value).
STATUS_CODES: dict[str, str] = {
    "SUPP": "suppressed",        # suppressed: small cohort / disclosure control
    "NE": "no_entries",          # no pupils entered
    "NP": "not_published",       # not published (e.g. progress measures for some school types)
    "NA": "not_applicable",      # not applicable
    "LOW": "low_coverage",       # too few pupils with prior attainment (low coverage)
    "LOWCOV": "low_coverage",    # the same code as written in the 2018-19 KS4 files
    "X": "not_available",        # 'x': not available (GSS symbol)
    "..": "data_unavailable",    # '..': data not available (older GSS/DfE symbol)
    "NEW": "new_school",         # new school, no eligible pupils
    "DNS": "did_not_submit",     # school did not submit data
}
STATUS_VALUES = ["ok", "missing", "invalid", *dict.fromkeys(STATUS_CODES.values())]

LONG_SCHEMA: dict[str, pl.DataType] = {
    "urn": pl.Int64, "laestab": pl.Int64, "academic_year": pl.Utf8, "key_stage": pl.Utf8,
    "rectype": pl.Int64, "nftype": pl.Utf8, "measure": pl.Utf8, "kind": pl.Utf8, "bound": pl.Utf8, "value": pl.Float64,
    "status": pl.Utf8, "raw_value": pl.Utf8, "source_column": pl.Utf8, "basis": pl.Utf8,
    "source_file": pl.Utf8, "source_row": pl.Int64,
}
DROPPED_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.Utf8, "source_row": pl.Int64, "academic_year": pl.Utf8, "key_stage": pl.Utf8,
    "rectype": pl.Utf8, "urn": pl.Utf8, "school_name": pl.Utf8, "reason": pl.Utf8,
}

_YEAR_RE = re.compile(r"^(\d{4})-(\d{2})$")
_KEY_STAGES = ("ks4", "ks2")
_NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


# ---------------------------------------------------------------------------------------------
# Measure map
# ---------------------------------------------------------------------------------------------

def _default_map_path() -> Path:
    from .. import CONFIG_DIR

    return Path(CONFIG_DIR) / "measures.yaml"


def load_measure_map(path: str | Path | None = None) -> dict:
    """The measure map (``config/measures.yaml`` unless ``path`` is given), checked and normalised.

    Years become strings (``"2016-17"``); each key stage has ``id_columns``, ``school_rectypes`` (ints),
    ``no_results`` (year -> why no results were published) and ``measures`` whose ``columns`` / ``lower`` /
    ``upper`` / ``basis`` / ``breaks`` map year -> text. A change of ``basis`` between two listed years with no
    break listed at the later one is refused: it would join two scales silently.
    """
    path = Path(path) if path is not None else _default_map_path()
    try:
        raw = safe_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "measure map not found", rule="config/measures.yaml must exist") from None
    if not isinstance(raw, dict):
        raise InputError(path, "the measure map is not a YAML mapping", rule="measure map format")
    out: dict = {"version": raw.get("version"), "_path": str(path)}
    for ks in _KEY_STAGES:
        if ks not in raw:
            continue
        block = raw[ks] or {}
        for req in ("id_columns", "school_rectypes", "measures"):
            if req not in block:
                raise InputError(path, f"{ks}: the key {req!r} is missing", column=ks, rule="measure map format")
        ids = {str(k): str(v) for k, v in block["id_columns"].items()}
        for req in ("urn", "la", "estab", "rectype"):
            if req not in ids:
                raise InputError(path, f"{ks}.id_columns: {req!r} is missing", column=ks, rule="measure map format")
        no_results = _year_texts(path, f"{ks}.no_results", block.get("no_results"), ks)
        measures = {}
        for name, spec in (block["measures"] or {}).items():
            if not isinstance(spec, dict) or "columns" not in spec:
                raise InputError(path, f"{ks}.measures.{name}: needs `columns` (year -> published column)",
                                 column=name, rule="measure map format")
            m = {"description": spec.get("description", ""), "kind": spec.get("kind", "score")}
            for part in ("columns", "lower", "upper", "basis"):
                m[part] = {str(y): str(c) for y, c in (spec.get(part) or {}).items()}
            for y in m["columns"]:
                if not _YEAR_RE.match(y):
                    raise InputError(path, f"{ks}.measures.{name}.columns: year {y!r} is not written like "
                                     "2016-17", column=name, rule="measure map format")
            m["verified"] = [str(y) for y in (spec.get("verified") or [])]
            m["breaks"] = _year_texts(path, f"{ks}.measures.{name}.breaks", spec.get("breaks"), name)
            _check_basis_breaks(path, ks, str(name), m)
            measures[str(name)] = m
        out[ks] = {"id_columns": ids, "school_rectypes": [int(r) for r in block["school_rectypes"]],
                   "no_results": no_results, "measures": measures}
    return out


def _year_texts(path: Path, where: str, raw, column: str) -> dict[str, str]:
    """A ``year -> reason`` mapping of the measure map, checked (years like 2016-17, a reason for each)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InputError(path, f"{where}: expected a mapping of year -> reason", column=column,
                         rule="measure map format")
    out = {}
    for y, why in raw.items():
        if not _YEAR_RE.match(str(y)):
            raise InputError(path, f"{where}: year {y!r} is not written like 2016-17", column=column,
                             rule="measure map format")
        if not str(why or "").strip():
            raise InputError(path, f"{where}: {y} needs a reason (what changed that year)", column=column,
                             rule="measure map format")
        out[str(y)] = str(why).strip()
    return dict(sorted(out.items()))


def _check_basis_breaks(path: Path, ks: str, name: str, m: Mapping) -> None:
    years = sorted(m["basis"])
    for before, after in zip(years, years[1:]):
        if m["basis"][before] != m["basis"][after] and not any(before < b <= after for b in m["breaks"]):
            raise InputError(path, f"{ks}.measures.{name}: the basis changes from {m['basis'][before]} in {before} "
                             f"to {m['basis'][after]} in {after} but no break is listed; add `breaks: {{{after}: "
                             "<what changed>}}` so that no change is computed across it", column=name,
                             rule="every change of basis is a break in comparability")


def measure_breaks(measure_map: Mapping, key_stage: str, measure: str) -> dict[str, str]:
    """Year -> reason for every year from which ``measure`` cannot be compared with the years before: the
    measure's own breaks and the key stage's years without results (a series cannot run through them)."""
    block = _ks_block(measure_map, key_stage)
    spec = block["measures"].get(measure)
    if spec is None:
        raise InputError(measure_map.get("_path", "config/measures.yaml"),
                         f"the {key_stage} measure map has no measure {measure!r}", column=measure,
                         rule="every measure used must be in the measure map")
    return dict(sorted({**block.get("no_results", {}), **spec.get("breaks", {})}.items()))


def breaks_within(breaks: Mapping[str, str], first_year: str, last_year: str) -> dict[str, str]:
    """The breaks that separate academic year ``first_year`` from ``last_year`` (a break in year Y separates
    every year before Y from Y and after): those with ``first_year < Y <= last_year``."""
    lo, hi = sorted((str(first_year), str(last_year)))
    return {y: why for y, why in breaks.items() if lo < y <= hi}


def _ks_block(measure_map: Mapping, key_stage: str) -> Mapping:
    if key_stage not in _KEY_STAGES:
        raise ValueError(f"key_stage must be one of {_KEY_STAGES}, not {key_stage!r}")
    if key_stage not in measure_map:
        where = measure_map.get("_path", "config/measures.yaml")
        raise InputError(where, f"the measure map has no {key_stage} section", column=key_stage,
                         rule="measure map format")
    return measure_map[key_stage]


def measure_columns(measure_map: Mapping, key_stage: str, academic_year: str) -> list[dict]:
    """The (measure, bound, source_column, basis, kind) specs the map lists for one year.

    Raises :class:`InputError` if the year is in no measure's ``columns`` (it must be added to the map).
    """
    block = _ks_block(measure_map, key_stage)
    if not _YEAR_RE.match(str(academic_year)):
        raise ValueError(f"academic_year must be written like 2016-17, not {academic_year!r}")
    specs = []
    for name, m in block["measures"].items():
        col = m["columns"].get(academic_year)
        if col is None:
            continue
        basis = m["basis"].get(academic_year)
        specs.append({"measure": name, "bound": "estimate", "source_column": col, "basis": basis,
                      "kind": m["kind"]})
        for bound in ("lower", "upper"):
            bcol = m[bound].get(academic_year)
            if bcol is not None:
                specs.append({"measure": name, "bound": bound, "source_column": bcol, "basis": basis,
                              "kind": m["kind"]})
    if not specs:
        where = measure_map.get("_path", "config/measures.yaml")
        known = sorted({y for m in block["measures"].values() for y in m["columns"]})
        raise InputError(where, f"academic year {academic_year} is not in the {key_stage} measure map "
                         f"(years listed: {', '.join(known) or 'none'}); add a {academic_year} entry to the "
                         f"`columns` of each {key_stage} measure in config/measures.yaml, naming the published "
                         "column, before reading that year's file", column=key_stage,
                         rule="every academic year read must be in the measure map")
    return specs


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------

def _status_and_value(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    text = raw.str.strip_chars()
    upper = text.str.to_uppercase()
    cleaned = text.str.replace_all(r"[%,\s]", "")
    # a number too large for a float ("1e999", a 400-digit string) is not a published figure
    is_number = cleaned.str.contains(_NUMBER_RE) & cleaned.cast(pl.Float64, strict=False).is_finite()
    code_status = upper.replace_strict(STATUS_CODES, default=None, return_dtype=pl.Utf8)
    status = (pl.when(text.is_null() | (text == "")).then(pl.lit("missing"))
              .when(is_number).then(pl.lit("ok"))
              .when(code_status.is_not_null()).then(code_status)
              .otherwise(pl.lit("invalid")))
    value = pl.when(is_number).then(cleaned.cast(pl.Float64, strict=False)).otherwise(None)
    return status, value


def _int_or_null(expr: pl.Expr) -> pl.Expr:
    t = expr.str.strip_chars()
    return pl.when(t.str.contains(r"^\d+$")).then(t.cast(pl.Int64, strict=False)).otherwise(None)


def read_performance_table(path: str | Path, key_stage: str, academic_year: str,
                           measure_map: Mapping | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read one published performance table into (long table, dropped rows). See the module docstring."""
    path = Path(path)
    measure_map = measure_map if measure_map is not None else load_measure_map()
    block = _ks_block(measure_map, key_stage)
    specs = measure_columns(measure_map, key_stage, academic_year)
    ids = block["id_columns"]
    header = read_header(path)
    if not header:
        raise InputError(path, "the file is empty (no header row)", row=1, rule="a CSV file with a header row")
    have = set(header)
    missing_ids = [ids[k] for k in ("urn", "la", "estab", "rectype") if ids[k] not in have]
    if missing_ids:
        hints = "; ".join(f"{c!r}" + (f" (close: {', '.join(close_matches(c, header))})"
                                      if close_matches(c, header) else "") for c in missing_ids)
        raise InputError(path, f"{key_stage.upper()} {academic_year} performance table: identifier column(s) "
                         f"missing: {hints}", row=1, column=missing_ids[0],
                         rule="id_columns in config/measures.yaml")
    missing = [s for s in specs if s["source_column"] not in have]
    if missing:
        lines = []
        for s in missing:
            near = close_matches(s["source_column"], header, n=4, cutoff=0.5)
            what = s["measure"] + ("" if s["bound"] == "estimate" else f" ({s['bound']} bound)")
            lines.append(f"measure {what}: expected column {s['source_column']!r}"
                         + (f" (close column names in the file: {', '.join(near)})" if near else ""))
        raise InputError(path, f"{key_stage.upper()} {academic_year}: {len(missing)} measure column(s) listed in "
                         "config/measures.yaml are not in the file: " + "; ".join(lines)
                         + f". Correct the {academic_year} entry of each measure in config/measures.yaml "
                         "(columns are renamed between years) or check the file is the right year",
                         row=1, column=missing[0]["source_column"],
                         rule=f"measure map: {missing[0]['measure']} in {academic_year}")

    optional_ids = [ids[k] for k in ("name", "nftype") if k in ids and ids[k] in have]
    value_cols = list(dict.fromkeys(s["source_column"] for s in specs))
    wanted = list(dict.fromkeys([ids["rectype"], ids["urn"], ids["la"], ids["estab"], *optional_ids, *value_cols]))
    raw = read_text_csv(path, columns=wanted)
    src = str(path)
    school_rectypes = block["school_rectypes"]

    rectype_txt = pl.col(ids["rectype"]).str.strip_chars()
    urn_txt = pl.col(ids["urn"]).str.strip_chars()
    name_expr = (pl.col(ids["name"]).str.strip_chars().replace("", None) if ids.get("name") in optional_ids
                 else pl.lit(None, dtype=pl.Utf8))
    # the school's type as the table publishes it (IND, INDSPEC, ACC, CY, ...): where the register lacks a
    # school, this is how an independent school is still recognised
    nftype_expr = (pl.col(ids["nftype"]).str.strip_chars().str.to_uppercase().replace("", None)
                   if ids.get("nftype") in optional_ids else pl.lit(None, dtype=pl.Utf8))
    base = raw.with_columns(
        rectype_txt.alias("__rectype_raw"),
        _int_or_null(pl.col(ids["rectype"])).alias("__rectype"),
        pl.when(urn_txt == "").then(None).otherwise(urn_txt).alias("__urn_raw"),
        _int_or_null(pl.col(ids["urn"])).alias("__urn"),
        name_expr.alias("__name"),
        nftype_expr.alias("__nftype"),
    )
    reason = (
        pl.when(pl.col("__rectype").is_null())
        .then(pl.lit("RECTYPE missing or not a number"))
        .when(~pl.col("__rectype").is_in(school_rectypes))
        .then(pl.lit("not a school record: RECTYPE ") + pl.col("__rectype").cast(pl.Utf8)
              + pl.lit(" (local authority or national total)"))
        .when(pl.col("__urn_raw").is_null()).then(pl.lit("school record without a URN"))
        .when(pl.col("__urn").is_null()).then(pl.lit("URN is not a number: ") + pl.col("__urn_raw"))
        .otherwise(None)
    )
    base = base.with_columns(reason.alias("__reason"))
    # a URN repeated in one file: the first school row is kept, later ones dropped with a pointer to it
    ok = pl.col("__reason").is_null()
    first_row = pl.col("source_row").filter(ok).min().over("__urn")
    base = base.with_columns(
        pl.when(ok & pl.col("__urn").is_not_null() & (pl.col("source_row") != first_row))
        .then(pl.lit("duplicate URN: first row ") + first_row.cast(pl.Utf8) + pl.lit(" kept"))
        .otherwise(pl.col("__reason")).alias("__reason"))

    dropped = base.filter(pl.col("__reason").is_not_null()).select(
        pl.lit(src).alias("source_file"), pl.col("source_row"), pl.lit(academic_year).alias("academic_year"),
        pl.lit(key_stage).alias("key_stage"), pl.col("__rectype_raw").alias("rectype"),
        pl.col("__urn_raw").alias("urn"), pl.col("__name").alias("school_name"), pl.col("__reason").alias("reason"),
    )
    schools = base.filter(pl.col("__reason").is_null())
    la = _int_or_null(pl.col(ids["la"]))
    estab = _int_or_null(pl.col(ids["estab"]))
    schools = schools.select(
        pl.col("__urn").alias("urn"),
        (la * 10000 + estab).alias("laestab"),
        pl.col("__rectype").alias("rectype"),
        pl.col("__nftype").alias("nftype"),
        pl.col("source_row"),
        *[pl.col(c) for c in value_cols],
    )
    spec_df = pl.DataFrame(specs, schema={"measure": pl.Utf8, "bound": pl.Utf8, "source_column": pl.Utf8,
                                          "basis": pl.Utf8, "kind": pl.Utf8})
    long = schools.unpivot(index=["urn", "laestab", "rectype", "nftype", "source_row"], on=value_cols,
                           variable_name="source_column", value_name="raw_value")
    long = long.join(spec_df, on="source_column", how="inner")
    status, value = _status_and_value(pl.col("raw_value"))
    long = long.with_columns(status.alias("status"), value.alias("value"),
                             pl.lit(academic_year).alias("academic_year"), pl.lit(key_stage).alias("key_stage"),
                             pl.lit(src).alias("source_file"))
    bound_order = pl.col("bound").replace_strict({"estimate": 0, "lower": 1, "upper": 2}, return_dtype=pl.Int8)
    long = long.sort(["source_row", "measure", bound_order]).select(
        [pl.col(k).cast(v) for k, v in LONG_SCHEMA.items()])
    return long, dropped.select([pl.col(k).cast(v) for k, v in DROPPED_SCHEMA.items()])


def read_performance_tables(paths_by_year: Mapping[str, str | Path], key_stage: str,
                            measure_map: Mapping | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read several academic years (``{"2016-17": path, ...}``) and stack them (years in order)."""
    measure_map = measure_map if measure_map is not None else load_measure_map()
    longs, drops = [], []
    for year in sorted(paths_by_year):
        lg, dr = read_performance_table(paths_by_year[year], key_stage, year, measure_map)
        longs.append(lg)
        drops.append(dr)
    long = pl.concat(longs) if longs else pl.DataFrame(schema=LONG_SCHEMA)
    dropped = pl.concat(drops) if drops else pl.DataFrame(schema=DROPPED_SCHEMA)
    return long, dropped


def wide_measures(long: pl.DataFrame, *, bound: str = "estimate") -> pl.DataFrame:
    """One row per school x year x key stage, one column per measure (values; codes become null)."""
    sub = long.filter(pl.col("bound") == bound)
    return (sub.pivot(on="measure", index=["urn", "laestab", "academic_year", "key_stage"], values="value",
                      aggregate_function="first")
            .sort(["key_stage", "academic_year", "urn"]))
