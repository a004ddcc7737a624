"""Year on year: this reporting year beside the years published before it (issue #19).

An earlier year is read from the derived folder its run left (``previous_years`` in the config names them, e.g.
``data/derived/2017-18``): what was published then, not recomputed now. Three tables:

``delivery`` (and ``targets``: each year's national targets, reached and met, as published)
    the headline reach of each reporting year's own financial year, as published in that year's run
    (``published``), and what this year's data give for the same financial year (``now``): booking exports are
    revised after a report goes out, so the two can differ and the table says where (``revised``).
``surveys``
    each survey item's % positive in every year it was asked (all respondents), with its 95% Wilson interval,
    and the change from the latest earlier year to this one with a 95% Newcombe (hybrid score) interval: a
    change is flagged only when that interval excludes zero.
``attainment``
    each published comparison's group levels (mean of schools) in this outcome year beside the latest earlier
    run's outcome year, with the difference and a normal 95% interval from the two groups' intervals; across a
    break in the measure (``config/measures.yaml``) no difference is computed and ``not_comparable`` says why.

Every function works on frames and plain records, so it is tested without Snakemake.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import polars as pl

from .config import PREVIOUS_FILES
from .errors import ConfigError

#: The reach metrics compared across years: reach table column -> words.
DELIVERY_METRICS = {"units": "CPD units", "participants": "Participants (all roles)", "schools": "Schools",
                    "schools_serving_primary": "Primary schools (serving the phase)",
                    "schools_serving_secondary": "Secondary schools (serving the phase)",
                    "schools_post16": "Post-16 institutions", "schools_priority": "Priority schools"}
Z95 = 1.959963984540054


def previous_files(folder: str | Path) -> dict[str, Path]:
    """The files of an earlier run's derived folder this comparison reads; stops naming any that is missing."""
    folder = Path(folder)
    files = {k: folder / v for k, v in PREVIOUS_FILES.items()}
    missing = [str(p) for p in files.values() if not p.exists()]
    if missing:
        raise ConfigError(f"previous_years: {folder} is not the derived folder of a finished run (missing "
                          f"{', '.join(missing)}); run that year first (see README: several years)")
    return files


def read_run(files: Mapping[str, str | Path]) -> dict[str, Any]:
    """One run's tables and summaries (``files``: :data:`PREVIOUS_FILES` keys -> paths)."""
    out: dict[str, Any] = {}
    for key, path in files.items():
        path = Path(path)
        out[key] = json.loads(path.read_text(encoding="utf-8")) if path.suffix == ".json" else pl.read_parquet(path)
    return out


def _by_year(runs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Runs in order of their reporting year; two runs of one reporting year stop."""
    years = [r["delivery_summary"]["reporting_year"] for r in runs]
    dup = sorted({y for y in years if years.count(y) > 1})
    if dup:
        raise ConfigError(f"previous_years: two runs report on {', '.join(dup)}; name each earlier year once")
    return [r for _, r in sorted(zip(years, runs), key=lambda t: t[0])]


def delivery_year_on_year(current: Mapping[str, Any], previous: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """One row per metric x reporting year (earlier years, then this one): ``published`` (that run's count for
    its own reporting financial year), ``now`` (this run's count for the same financial year, null when this
    run's delivery years do not reach back to it) and ``revised`` (both known and different)."""
    now = current["reach"]
    rows = []
    for run in [*_by_year(previous), current]:
        year = run["delivery_summary"]["reporting_year"]
        published = run["reach"].filter(pl.col("financial_year") == year)
        here = now.filter(pl.col("financial_year") == year)
        for order, (metric, label) in enumerate(DELIVERY_METRICS.items()):
            p = published[metric][0] if published.height and metric in published.columns else None
            n = here[metric][0] if here.height and metric in here.columns else None
            rows.append({"metric": metric, "label": label, "metric_order": order, "reporting_year": year,
                         "current": run is current, "published": None if p is None else float(p),
                         "now": None if n is None else float(n),
                         "revised": None if p is None or n is None else bool(abs(p - n) > 1e-9)})
    return pl.DataFrame(rows, schema={"metric": pl.Utf8, "label": pl.Utf8, "metric_order": pl.Int64,
                                      "reporting_year": pl.Utf8, "current": pl.Boolean, "published": pl.Float64,
                                      "now": pl.Float64, "revised": pl.Boolean}, orient="row")


def targets_year_on_year(current: Mapping[str, Any], previous: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """The national targets of each reporting year's own financial year as that year's run published them:
    one row per metric x reporting year with ``target``, ``reached`` and ``met`` (null where the data could not
    say, as published)."""
    rows = []
    for run in [*_by_year(previous), current]:
        year = run["delivery_summary"]["reporting_year"]
        t = run["targets"].filter((pl.col("financial_year") == year) & (pl.col("scope") == "national")
                                  & pl.col("target").is_not_null())
        for r in t.iter_rows(named=True):
            rows.append({"metric": r["metric"], "label": r["label"], "reporting_year": year, "current": run is current,
                         "target": r["target"], "reached": r["reached"], "met": r["met"]})
    return pl.DataFrame(rows, schema={"metric": pl.Utf8, "label": pl.Utf8, "reporting_year": pl.Utf8,
                                      "current": pl.Boolean, "target": pl.Float64, "reached": pl.Float64,
                                      "met": pl.Boolean}, orient="row")


def newcombe_difference(p1: float, lo1: float, hi1: float, p2: float, lo2: float, hi2: float
                        ) -> tuple[float, float, float]:
    """p1 - p2 with Newcombe's hybrid score interval from each proportion's Wilson interval (any common scale,
    e.g. percentages): Newcombe (1998), method 10."""
    d = p1 - p2
    return (d, d - math.sqrt((p1 - lo1) ** 2 + (hi2 - p2) ** 2), d + math.sqrt((hi1 - p1) ** 2 + (p2 - lo2) ** 2))


_SURVEY_KEYS = ["instrument", "item_id"]
_SURVEY_COLS = ["n_substantive", "n_positive", "pct_positive", "pct_positive_lower", "pct_positive_upper"]


def surveys_year_on_year(current: Mapping[str, Any], previous: Sequence[Mapping[str, Any]]
                         ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(trend, change). ``trend``: every item x reporting year it was asked (all respondents): counts, % positive
    and its interval. ``change``: for items asked this year and in the latest earlier year, the difference in %
    positive (this minus then) with its Newcombe interval and ``changed`` (the interval excludes zero)."""
    runs = [*_by_year(previous), current]
    parts = []
    for run in runs:
        s = run["survey_summary"]
        parts.append(s.filter((pl.col("subgroup") == "all") & (pl.col("n_substantive") > 0))
                     .select(*_SURVEY_KEYS, "item_text", "item_order", *_SURVEY_COLS)
                     .with_columns(pl.lit(run["delivery_summary"]["reporting_year"]).alias("reporting_year")))
    trend = pl.concat(parts).sort("instrument", "item_order", "reporting_year")
    this_year = current["delivery_summary"]["reporting_year"]
    schema = {"instrument": pl.Utf8, "item_id": pl.Utf8, "item_text": pl.Utf8, "item_order": pl.Int64,
              "last_year": pl.Utf8, "last_n": pl.Int64, "last_k": pl.Int64, "last_pct": pl.Float64,
              "this_year": pl.Utf8, "this_n": pl.Int64, "this_k": pl.Int64, "this_pct": pl.Float64,
              "diff": pl.Float64, "diff_lower": pl.Float64, "diff_upper": pl.Float64, "changed": pl.Boolean}
    if len(runs) < 2:
        return trend, pl.DataFrame(schema=schema)
    last_year = runs[-2]["delivery_summary"]["reporting_year"]
    now = trend.filter(pl.col("reporting_year") == this_year)
    then = trend.filter(pl.col("reporting_year") == last_year).select(
        *_SURVEY_KEYS, *[pl.col(c).alias(f"then_{c}") for c in _SURVEY_COLS])
    rows = []
    for r in now.join(then, on=_SURVEY_KEYS, how="inner").iter_rows(named=True):
        d, lo, hi = newcombe_difference(r["pct_positive"], r["pct_positive_lower"], r["pct_positive_upper"],
                                        r["then_pct_positive"], r["then_pct_positive_lower"],
                                        r["then_pct_positive_upper"])
        rows.append({"instrument": r["instrument"], "item_id": r["item_id"], "item_text": r["item_text"],
                     "item_order": r["item_order"], "last_year": last_year, "last_n": r["then_n_substantive"],
                     "last_k": r["then_n_positive"], "last_pct": r["then_pct_positive"], "this_year": this_year,
                     "this_n": r["n_substantive"], "this_k": r["n_positive"], "this_pct": r["pct_positive"],
                     "diff": d, "diff_lower": lo, "diff_upper": hi, "changed": bool(lo > 0 or hi < 0)})
    return trend, pl.DataFrame(rows, schema=schema, orient="row").sort("instrument", "item_order")


def attainment_year_on_year(current: Mapping[str, Any], previous: Sequence[Mapping[str, Any]],
                            breaks: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None) -> pl.DataFrame:
    """Each comparison x measure x group's level (mean of schools) in this outcome year beside the latest
    earlier run's, with the difference and a normal 95% interval (each group's standard error from its
    interval); a measure with a break between the two outcome years (``breaks``: key stage -> measure -> year ->
    reason) gets ``not_comparable`` instead of a difference. Empty without an earlier run, or when the earlier
    run's outcome year is this one's."""
    from .attainment import change_break

    schema = {"comparison": pl.Utf8, "key_stage": pl.Utf8, "measure": pl.Utf8, "group": pl.Utf8,
              "last_year": pl.Utf8, "last_n": pl.Int64, "last_mean": pl.Float64, "this_year": pl.Utf8,
              "this_n": pl.Int64, "this_mean": pl.Float64, "diff": pl.Float64, "diff_lower": pl.Float64,
              "diff_upper": pl.Float64, "changed": pl.Boolean, "not_comparable": pl.Utf8}
    runs = _by_year(previous)
    if not runs:
        return pl.DataFrame(schema=schema)
    last = runs[-1]
    last_year, this_year = last["attainment_summary"]["outcome_year"], current["attainment_summary"]["outcome_year"]
    if last_year == this_year:
        return pl.DataFrame(schema=schema)

    def levels(run):
        return (run["comparisons"].filter((pl.col("stat") == "level") & (pl.col("weighting") == "schools"))
                .select("comparison", "key_stage", "measure", "group", "n_schools", "mean", "ci_low", "ci_high"))

    joined = levels(current).join(levels(last), on=["comparison", "key_stage", "measure", "group"], how="inner",
                                  suffix="_last")
    rows = []
    for r in joined.iter_rows(named=True):
        why = change_break((breaks or {}).get(r["key_stage"]), r["measure"], last_year, this_year)
        d = lo = hi = None
        if not why and None not in (r["mean"], r["mean_last"], r["ci_low"], r["ci_high"], r["ci_low_last"],
                                    r["ci_high_last"]):
            se = math.hypot((r["ci_high"] - r["ci_low"]) / (2 * Z95), (r["ci_high_last"] - r["ci_low_last"]) / (2 * Z95))
            d = r["mean"] - r["mean_last"]
            lo, hi = d - Z95 * se, d + Z95 * se
        rows.append({"comparison": r["comparison"], "key_stage": r["key_stage"], "measure": r["measure"],
                     "group": r["group"], "last_year": last_year, "last_n": r["n_schools_last"],
                     "last_mean": r["mean_last"], "this_year": this_year, "this_n": r["n_schools"],
                     "this_mean": r["mean"], "diff": d, "diff_lower": lo, "diff_upper": hi,
                     "changed": None if d is None else bool(lo > 0 or hi < 0), "not_comparable": why})
    return pl.DataFrame(rows, schema=schema, orient="row")


def year_on_year(current: Mapping[str, Any], previous: Sequence[Mapping[str, Any]],
                 breaks: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every table of the comparison and its summary (the years compared)."""
    trend, change = surveys_year_on_year(current, previous)
    runs = _by_year(previous)
    return {"delivery": delivery_year_on_year(current, previous), "targets": targets_year_on_year(current, previous),
            "survey_trend": trend, "survey_change": change,
            "attainment": attainment_year_on_year(current, previous, breaks),
            "summary": {"reporting_year": current["delivery_summary"]["reporting_year"],
                        "previous_years": [r["delivery_summary"]["reporting_year"] for r in runs],
                        "outcome_year": current["attainment_summary"]["outcome_year"],
                        "previous_outcome_year": runs[-1]["attainment_summary"]["outcome_year"] if runs else None}}
