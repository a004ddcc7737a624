"""Attainment chapter (issue #7): results of schools that used the programme and of schools that did not.

Two parts, as in the chapter:

* **as published** (seed 000 Figs 5, 9, 11; seed 001 Figs 8-14): the comparisons of user groups listed in
  ``config/attainment_groups.yaml`` (groups are rules on each school's use over the window, see
  :mod:`cpdeval.attainment_groups`): the level of each outcome in the outcome year and its change over the
  window, by group, pupil-weighted and as a mean of schools, with counts, 95% intervals and the difference
  from the comparison's reference group; secondary schools from the KS4 tables, primary schools from KS2;
* **beyond the published method** (seed 000 §8.8): the naive user/non-user difference against adjusted
  estimates (regression with controls, propensity-score matching and weighting, difference-in-differences on
  the school panel), a balance table, an event study, an overlap figure, a dose-response by band of use and
  a sensitivity analysis for unmeasured confounding (E-values).

The window rule (``window_financial_years``): for outcome academic year ``Y0-Y1`` (exams in summer ``Y1``) the
window is the ``window_years`` financial years that *end* (31 March ``Y1`` at the latest) before the outcome
year's exams, i.e. FY ``Y0-Y1`` and the ``window_years - 1`` before it. For 2018-19 with 3 years:
FY 2016-17, 2017-18, 2018-19. The change is the outcome year minus the academic year ``window_years - 1``
earlier (2018-19 minus 2016-17), over schools with both years (a consistent series): the schools left out,
and why, are counted in the ``exclusions`` table.

For the panel, a school is treated from the academic year that starts after its first financial year of
attended use (FY 2015-16 -> from 2016-17), as in :mod:`cpdeval.estimators`.

Schools: state-funded mainstream rows of the performance tables (``rectype`` 1) not in the independent type
group, followed by the lineage's ``school_key`` so an academy conversion keeps one series.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import polars as pl

from .attainment_groups import DEFAULT_PROVIDERS, group_counts, group_membership, parse_group_rules, window_metrics
from .calendar import label_start, year_label
from .config import schema_default, section_defaults
from .errors import ConfigError

if TYPE_CHECKING:   # numpy is imported where it is used: the report and its chapters read this module's labels
    import numpy as np

DEFAULT_MEASURES = schema_default("attainment.measures")
DEFAULT_PRIMARY_MEASURES = schema_default("attainment.primary_measures")
WINDOW_YEARS = schema_default("attainment.window_years")
HEADLINE = schema_default("attainment.headline")


def compares_changes(method_key: str) -> bool:
    """Whether an estimator is a difference-in-differences (``did_*``): it compares each school's change with
    non-users' change over the same years, not levels with similar schools, and is worded so."""
    return method_key.startswith("did")
MEASURE_LABEL = {"pct_ebacc_2sci": "EBacc two sciences (% of pupils)",
                 "pct_5em": "5+ good GCSEs incl. English and maths (% of pupils)",
                 "sci_va": "Science value added (score)",
                 "att8": "Attainment 8 (score)", "p8": "Progress 8 (score)",
                 "pct_triple_sci_entry": "Entered for triple science (% of pupils)",
                 "pct_sci_ta_exp": "KS2 science teacher assessment, expected standard (% of pupils)",
                 "pct_rwm_exp": "KS2 reading, writing and maths, expected standard (% of pupils)",
                 "read_progress": "KS2 reading progress (score)", "mat_progress": "KS2 maths progress (score)"}
KEY_STAGE_LABEL = {"ks4": "secondary (KS4)", "ks2": "primary (KS2)"}
GROUPS = ["both", "national_only", "regional_only", "none"]
CONTROLS = ["ks2_aps", "pct_fsm", "log_pupils", "urban"]
CATEGORICAL = ["ofsted", "region", "type_group"]
# the propensity model (matching, weighting, balance) uses numeric covariates only: with about a hundred
# secondaries a year in the small synthetic year, region and type dummies leave empty cells after trimming
PS_COVARIATES = ["ks2_aps", "pct_fsm", "log_pupils", "urban", "good_ofsted"]
SOURCE = "DfE KS4 performance tables; GIAS register; programme booking records"
SOURCE_KS = {"ks4": SOURCE, "ks2": "DfE KS2 performance tables; GIAS register; programme booking records"}

OUTPUT_TABLES = ("panel", "groups", "window_metrics", "membership", "group_counts", "comparisons", "exclusions",
                 "estimates", "dose_response", "balance", "event_study", "evalues", "confounding")


def window_financial_years(outcome_year: str, window_years: int = WINDOW_YEARS) -> list[str]:
    """Financial years of the window for an outcome academic year (see the module docstring)."""
    y0 = label_start(outcome_year)
    return [year_label(s) for s in range(y0 - window_years + 1, y0 + 1)]


def check_comparisons(comparisons: Sequence[Mapping[str, Any]], rules: Mapping[str, Any]) -> list[dict]:
    """The configured comparisons, checked (ids unique, groups defined, the reference among them)."""
    out, seen = [], set()
    for i, c in enumerate(comparisons or []):
        where = f"attainment comparisons[{i}]"
        cid = str(c.get("id") or "")
        if not cid or not cid.replace("_", "").isalnum() or cid != cid.lower():
            raise ConfigError(f"{where}.id: expected a lower-case identifier, got {c.get('id')!r}")
        if cid in seen:
            raise ConfigError(f"{where}.id: {cid!r} is used twice")
        seen.add(cid)
        if c.get("key_stage") not in ("ks2", "ks4"):
            raise ConfigError(f"{where} ({cid}).key_stage: expected ks2 or ks4, got {c.get('key_stage')!r}")
        groups = list(c.get("groups") or [])
        if len(groups) < 2:
            raise ConfigError(f"{where} ({cid}).groups: name at least two groups")
        missing = [g for g in groups if g not in rules]
        if missing:
            raise ConfigError(f"{where} ({cid}).groups: {missing} not defined under groups")
        if c.get("reference") not in groups:
            raise ConfigError(f"{where} ({cid}).reference: must be one of its groups {groups}")
        measures = list(c.get("measures") or [])
        unknown = [m for m in measures if m not in MEASURE_LABEL]
        if not measures or unknown:
            raise ConfigError(f"{where} ({cid}).measures: unknown or none: {unknown or measures}")
        out.append({"id": cid, "key_stage": c["key_stage"], "groups": groups, "reference": c["reference"],
                    "measures": measures, "title": str(c.get("title") or cid), "source": str(c.get("source") or "")})
    return out


def settings(cfg: Mapping[str, Any] | None, attainment_years: Sequence[str],
             definitions: Mapping[str, Any] | None = None, measure_map: Mapping[str, Any] | None = None) -> dict:
    """The ``attainment:`` config section with its defaults filled in, the groups and comparisons of the
    definitions file (parsed and checked; none when ``definitions`` is not given) and, from the measure map
    (``config/measures.yaml`` unless given), each measure's breaks in comparability (``breaks``: key stage ->
    measure -> year -> reason, see :func:`cpdeval.ingest.performance.measure_breaks`)."""
    from .ingest.performance import load_measure_map, measure_breaks

    cfg = {**section_defaults("attainment"), **(cfg or {})}
    measure_map = measure_map if measure_map is not None else load_measure_map()
    breaks = {ks: {m: measure_breaks(measure_map, ks, m) for m in measure_map[ks]["measures"]}
              for ks in ("ks4", "ks2") if ks in measure_map}
    years = sorted(attainment_years)
    defs = dict(definitions or {})
    rules = parse_group_rules(defs.get("groups") or {})
    dose = dict(defs.get("dose_response") or {})
    if dose:
        bad = [g for g in dose.get("groups", []) if g not in rules]
        if bad or dose.get("reference") not in dose.get("groups", []):
            raise ConfigError(f"attainment dose_response: groups {bad} undefined or reference not among its groups")
    top = dict(defs.get("top_quartile") or {})
    if top and top.get("group") not in rules:
        raise ConfigError(f"attainment top_quartile.group: no group named {top.get('group')!r}")
    return {"outcome_year": cfg.get("outcome_year") or years[-1],
            "window_years": int(cfg["window_years"]),
            "measures": list(cfg["measures"]),
            "primary_measures": list(cfg["primary_measures"]),
            "providers": list(cfg["providers"]),
            "groups": rules, "comparisons": check_comparisons(defs.get("comparisons") or [], rules),
            "dose_response": dose, "top_quartile": top,
            "max_unregistered_share": float(cfg["max_unregistered_share"]),
            "min_schools": int(cfg["min_schools"]),
            "small_sample": small_sample_settings(cfg),
            "headline": str(cfg["headline"]), "breaks": breaks}


#: The optional reference tables, as :func:`attainment_tables` names them -> the rule's input (and config) name.
REFERENCE_INPUTS = {"partnerships": "partnerships", "trained_leaders": "trained_leaders",
                    "judgements": "strategic_judgements", "registrations": "resource_registrations"}

#: Fewer schools than this in either group of an adjusted comparison (or in a band of use): no estimate.
MIN_SCHOOLS = schema_default("attainment.min_schools")

#: The config keys of the adjusted estimates' small-sample inference (their defaults are in the config schema).
SMALL_SAMPLE_KEYS = ("bootstrap_below_clusters", "placebo_below_treated", "bootstrap_draws", "placebo_draws",
                     "min_user_authorities")


def small_sample_settings(cfg: Mapping[str, Any] | None) -> dict[str, int]:
    """When the LA-clustered estimates get a wild cluster bootstrap (or are refused), when the DiD gets a placebo
    p-value, and with how many draws: ``cfg``'s values, the config schema's defaults for the rest."""
    cfg = {**section_defaults("attainment"), **(cfg or {})}
    return {k: int(cfg[k]) for k in SMALL_SAMPLE_KEYS}

#: Above this share of a key stage's schools missing from the register, the run warns (and names the cause).
UNREGISTERED_WARN = 0.05


def register_coverage(attainment: pl.DataFrame, register: pl.DataFrame, key_stage: str, outcome_year: str,
                      *, limit: float, logger=None) -> dict:
    """Share of the key stage's state-funded schools with results in the outcome year that the register lacks.

    Schools missing from the register have no characteristics (region, free school meals, Ofsted), so the
    adjusted estimates leave them out; many missing means the register extract does not cover the performance
    tables' area. Above 5% the run warns; above ``limit`` (``attainment.max_unregistered_share``) it stops.
    """
    from .errors import InputError

    a = attainment.filter((pl.col("key_stage") == key_stage) & (pl.col("rectype") == 1)
                          & (pl.col("academic_year") == outcome_year))
    if "nftype" in a.columns:
        a = a.filter(~pl.col("nftype").fill_null("").is_in(list(INDEPENDENT_NFTYPES)))
    urns = a["urn"].unique()
    missing = urns.filter(~urns.is_in(register["urn"].implode()))
    share = missing.len() / urns.len() if urns.len() else 0.0
    out = {"key_stage": key_stage, "schools": int(urns.len()), "not_in_register": int(missing.len()),
           "share": share}
    what = (f"{missing.len()} of {urns.len()} {key_stage.upper()} schools with results in {outcome_year} are not in "
            f"the register (for example URN {', '.join(str(u) for u in missing.sort().head(3).to_list())})")
    if share > limit:
        raise InputError("register", f"{what}: {share:.0%}, above the limit of {limit:.0%}. The register extract "
                         "probably covers a smaller area than the performance tables (another local authority, or "
                         "open schools only); use a GIAS extract of every school the tables list, or raise "
                         "attainment.max_unregistered_share if this is intended", rule="register coverage")
    if share > UNREGISTERED_WARN and logger is not None:
        logger.warning("%s: %.0f%%; they have no school characteristics, so the adjusted estimates leave them out",
                       what, 100 * share)
    return out


# --------------------------------------------------------------------------- the school panel

def combine_urns(wide: pl.DataFrame, measures: Sequence[str]) -> pl.DataFrame:
    """One row per school key and year: where several URNs of one key report in the same year (two schools
    that merged, both with results before the merger), their results are combined, each measure weighted by
    the pupils of the URNs that have it, and the pupils added up. A URN without a pupil count counts only when
    no URN of the group has one."""
    w = pl.col("pupils")

    def weighted(m: str) -> pl.Expr:
        has = pl.col(m).is_not_null() & w.is_not_null() & (w > 0)
        den = w.filter(has).sum()
        return (pl.when(den > 0).then((pl.col(m) * w).filter(has).sum() / den)
                .otherwise(pl.col(m).drop_nulls().mean()).alias(m))

    single = wide.filter(pl.len().over(["school_key", "academic_year"]) == 1)
    several = wide.filter(pl.len().over(["school_key", "academic_year"]) > 1)
    if not several.height:
        return single.sort(["school_key", "academic_year"])
    merged = several.group_by(["school_key", "academic_year"]).agg(
        pl.col("urn").sort().last(),            # the newest URN of the group
        *[weighted(m) for m in measures],
        pl.when(w.is_not_null().any()).then(w.sum()).otherwise(None).alias("pupils"))
    return pl.concat([single, merged.select(single.columns)], how="vertical_relaxed").sort(["school_key",
                                                                                           "academic_year"])


#: Performance-table school types (NFTYPE) of independent schools, which are not state-funded.
INDEPENDENT_NFTYPES = ("IND", "INDSPEC")

#: The columns of the ingested performance tables that :func:`school_panel` and :func:`register_coverage` read
#: (``nftype`` when the table has it); the stage reads only these, not the provenance columns (source file, row
#: and column, raw value), about half of each table in memory.
PERFORMANCE_COLUMNS = ("urn", "academic_year", "key_stage", "rectype", "nftype", "measure", "bound", "value",
                       "status")


def school_panel(attainment: pl.DataFrame, register: pl.DataFrame, lineage: pl.DataFrame | None,
                 measures: Sequence[str] = DEFAULT_MEASURES, *, key_stage: str = "ks4",
                 exclusions: list | None = None) -> pl.DataFrame:
    """One row per school_key and academic year: the measures (estimates with status ok), pupils, ks2_aps and
    the register controls. Where two URNs of one key report in the same year (a merger), their results are
    combined, pupil-weighted (:func:`combine_urns`). Independent schools are left out: by the register, or by
    the table's own school type (NFTYPE) for a school the register lacks. ``exclusions``, when given, receives a
    row per academic year and reason for result rows left out or combined.
    """
    keep = sorted(set(measures) | {"pupils", "ks2_aps"})
    a = attainment.filter((pl.col("key_stage") == key_stage) & (pl.col("rectype") == 1)
                          & (pl.col("bound") == "estimate") & (pl.col("status") == "ok")
                          & pl.col("measure").is_in(keep) & pl.col("value").is_not_null())
    wide = (a.group_by(["urn", "academic_year", "measure"]).agg(pl.col("value").first())
            .pivot(on="measure", index=["urn", "academic_year"], values="value"))
    for m in keep:
        if m not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(m))
    # pivot orders the measure columns as the (parallel, unordered) group_by met them: fix the order
    wide = wide.select("urn", "academic_year", *keep)
    reg = register.select("urn", "la_code", "pct_fsm", pl.col("pupils").alias("pupils_register"), "urban_rural",
                          "ofsted_rating", "region", "type_group", "status")
    # independent schools are not state-funded: known from the register, or, for a school the register lacks,
    # from the type the performance table itself publishes (NFTYPE)
    indep = reg.filter(pl.col("type_group").fill_null("").str.contains("(?i)independent"))["urn"]
    nftype = (a.group_by(["urn", "academic_year"]).agg(pl.col("nftype").drop_nulls().first())
              if "nftype" in a.columns else
              wide.select("urn", "academic_year", pl.lit(None, dtype=pl.Utf8).alias("nftype")))
    wide = wide.join(nftype, on=["urn", "academic_year"], how="left")
    in_register = pl.col("urn").is_in(reg["urn"].implode())
    by_register = pl.col("urn").is_in(indep.implode())
    by_table = ~in_register & pl.col("nftype").is_in(list(INDEPENDENT_NFTYPES))
    dropped_indep = wide.filter(by_register)
    dropped_indep_table = wide.filter(by_table)
    wide = wide.filter(~by_register & ~by_table).drop("nftype")
    if lineage is not None and lineage.height:
        wide = wide.join(lineage.select("urn", "school_key"), on="urn", how="left")
        wide = wide.with_columns(pl.coalesce("school_key", "urn").alias("school_key"))
    else:
        wide = wide.with_columns(school_key=pl.col("urn"))
    n_before = wide.group_by("academic_year").len()
    wide = combine_urns(wide, [m for m in keep if m != "pupils"])
    if exclusions is not None:
        merged = n_before.join(wide.group_by("academic_year").len(), on="academic_year", suffix="_after")
        for frame, reason in ((dropped_indep, "independent school"),
                              (dropped_indep_table, "independent school (not in the register; type from the "
                                                    "performance table)")):
            for ay, n in frame.group_by("academic_year").len().sort("academic_year").iter_rows():
                exclusions.append({"key_stage": key_stage, "academic_year": ay, "measure": None,
                                   "reason": reason, "n_schools": int(n)})
        for ay, n0, n1 in merged.sort("academic_year").iter_rows():
            if n0 > n1:
                exclusions.append({"key_stage": key_stage, "academic_year": ay, "measure": None,
                                   "reason": "results of a school's predecessors in one year (a merger): combined "
                                             "into one row, pupil-weighted", "n_schools": int(n0 - n1)})
    # register controls: one row per key, preferring an open establishment, then the newest URN
    if lineage is not None and lineage.height:
        reg = reg.join(lineage.select("urn", "school_key"), on="urn", how="left")
        reg = reg.with_columns(pl.coalesce("school_key", "urn").alias("school_key"))
    else:
        reg = reg.with_columns(school_key=pl.col("urn"))
    reg = (reg.with_columns(_open=(pl.col("status") == "open"))
           .sort(["school_key", "_open", "urn"], descending=[False, True, True])
           .unique("school_key", keep="first", maintain_order=True)
           .select("school_key", "la_code", "pct_fsm", "pupils_register", "urban_rural", "ofsted_rating", "region",
                   "type_group"))
    panel = wide.drop("urn").join(reg, on="school_key", how="left")
    pupils = pl.coalesce(pl.col("pupils"), pl.col("pupils_register").cast(pl.Float64))
    return (panel.with_columns(
        key_stage=pl.lit(key_stage),
        year=pl.col("academic_year").str.slice(0, 4).cast(pl.Int64),
        log_pupils=pl.when(pupils > 0).then(pupils.log()).otherwise(None),
        urban=pl.when(pl.col("urban_rural").is_null()).then(None)
        .otherwise((pl.col("urban_rural") == "urban").cast(pl.Float64)),
        ofsted=pl.col("ofsted_rating").cast(pl.Utf8).fill_null("none"),
        good_ofsted=pl.when(pl.col("ofsted_rating").is_null()).then(None)
        .otherwise((pl.col("ofsted_rating") <= 2).cast(pl.Float64)),
        region=pl.col("region").fill_null("unknown"),
        type_group=pl.col("type_group").fill_null("unknown"))
        .sort(["school_key", "academic_year"]))


# --------------------------------------------------------------------------- users and first use

def user_groups(school_year: pl.DataFrame, schools: pl.DataFrame | Sequence[int], outcome_year: str,
                window_years: int = WINDOW_YEARS, providers: Sequence[str] = DEFAULT_PROVIDERS) -> pl.DataFrame:
    """Provider group, user flag and first use of each school for the window before ``outcome_year``.

    ``schools``: the school keys to classify (a frame with ``school_key`` or a list). Group: ``both`` (units
    from the national and the regional parts in the window), ``national_only``, ``regional_only``, ``none``
    (no national or regional units; other providers only count as none). ``user``: units from any of
    ``providers`` in the window (the treatment of the adjusted estimates; the same providers as the group
    metrics, so with the default a user is exactly a school outside the configured ``none`` group).
    ``units_window``: all attended units in the window.
    ``first_use_fy``/``treated_from``: first financial year of use in the data and the academic year (start
    year) from which the school counts as treated in the panel.
    """
    keys = schools["school_key"] if isinstance(schools, pl.DataFrame) else pl.Series("school_key", list(schools))
    keys = pl.DataFrame({"school_key": keys.unique().sort().cast(pl.Int64)})
    win = window_financial_years(outcome_year, window_years)
    sy = school_year.filter(pl.col("financial_year").is_in(win))
    agg = sy.group_by("school_key").agg(units_national=pl.col("units_national").sum(),
                                        units_regional=pl.col("units_regional").sum(),
                                        units_programme=pl.sum_horizontal(
                                            [pl.col(f"units_{p}") for p in providers]).sum(),
                                        units_window=pl.col("units").sum())
    first = (school_year.filter(pl.col("units") > 0).group_by("school_key")
             .agg(first_use_fy=pl.col("financial_year").min()))
    g = (keys.join(agg, on="school_key", how="left").join(first, on="school_key", how="left")
         .with_columns(pl.col("units_national", "units_regional", "units_programme", "units_window").fill_null(0.0)))
    nat, regl = pl.col("units_national") > 0, pl.col("units_regional") > 0
    g = g.with_columns(group=pl.when(nat & regl).then(pl.lit("both")).when(nat).then(pl.lit("national_only"))
                       .when(regl).then(pl.lit("regional_only")).otherwise(pl.lit("none")))
    g = g.with_columns(user=pl.col("units_programme") > 0,
                       treated_from=pl.col("first_use_fy").str.slice(0, 4).cast(pl.Int64) + 1)
    return g.select("school_key", "group", "user", "units_national", "units_regional", "units_window",
                    "first_use_fy", "treated_from")


# --------------------------------------------------------------------------- comparisons as published

def _mean_ci(y: np.ndarray, w: np.ndarray | None, level: float = 0.95) -> tuple[float, float, float]:
    """Mean (weighted when w is given) and a t interval on n-1 df; linearised variance for the weighted mean."""
    import numpy as np
    from scipy import stats

    n = y.size
    if n == 0:
        return math.nan, math.nan, math.nan
    if w is None:
        m = float(y.mean())
        se = float(y.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    else:
        m = float(np.sum(w * y) / np.sum(w))
        se = float(math.sqrt(n / (n - 1) * np.sum(w ** 2 * (y - m) ** 2) / np.sum(w) ** 2)) if n > 1 else math.nan
    if not math.isfinite(se):
        return m, math.nan, math.nan
    t = float(stats.t.ppf(0.5 + level / 2, n - 1))
    return m, m - t * se, m + t * se


COMPARISON_SCHEMA = {"measure": pl.Utf8, "stat": pl.Utf8, "group": pl.Utf8, "weighting": pl.Utf8,
                     "n_schools": pl.Int64, "n_pupils": pl.Int64, "mean": pl.Float64, "ci_low": pl.Float64,
                     "ci_high": pl.Float64, "diff": pl.Float64, "diff_ci_low": pl.Float64,
                     "diff_ci_high": pl.Float64, "not_comparable": pl.Utf8}


def change_break(breaks: Mapping[str, Mapping[str, str]] | None, measure: str, first_year: str,
                 last_year: str) -> str | None:
    """Why ``measure`` cannot be compared between academic years ``first_year`` and ``last_year`` (the breaks
    between them, worded for a reader: "in 2017-18 science GCSEs were first graded 9 to 1 (...)"), or None when it can."""
    from .ingest.performance import breaks_within

    crossed = breaks_within((breaks or {}).get(measure) or {}, first_year, last_year)
    return "; ".join(f"in {y} {why}" for y, why in crossed.items()) or None


def consistent_series(panel: pl.DataFrame, measure: str, first_year: int, last_year: int) -> pl.Series:
    """School keys with ``measure`` in every academic year from ``first_year`` to ``last_year`` (start years):
    the consistent series the published change comparisons required (seed 001 Fig 11)."""
    span = last_year - first_year + 1
    ok = panel.filter(pl.col("year").is_between(first_year, last_year) & pl.col(measure).is_not_null()
                      & pl.col(measure).is_not_nan())
    return (ok.group_by("school_key").agg(pl.col("year").n_unique().alias("n"))
            .filter(pl.col("n") == span)["school_key"].sort())


def compare_groups(panel: pl.DataFrame, membership: pl.DataFrame, outcome_year: str, window_years: int = WINDOW_YEARS,
                   measures: Sequence[str] = DEFAULT_MEASURES, *, order: Sequence[str] = GROUPS,
                   reference: str = "none", breaks: Mapping[str, Mapping[str, str]] | None = None) -> pl.DataFrame:
    """Level in the outcome year and change over the window, by group and over all of them ("all"), per measure.

    ``membership``: ``school_key, group`` (a school may be in several groups: nested groups are allowed).
    One row per measure x stat (``level``/``change``) x group (``order``, then ``all``) x weighting
    (``schools``: mean of schools; ``pupils``: weighted by the outcome year's pupils): ``n_schools``,
    ``n_pupils``, ``mean`` with a 95% t interval, and for groups other than the reference the difference from
    ``reference`` (``diff`` with a Welch interval from :func:`cpdeval.estimators.naive_difference`; a school in
    both groups counts in each). The change (outcome year minus the base year, ``window_years - 1`` earlier)
    uses the schools with the measure in every year from the base year to the outcome year
    (:func:`consistent_series`). "all" counts each school once.

    ``breaks`` (measure -> year -> reason, from the measure map): a measure with a break between the base year
    and the outcome year gets no change: its change rows have no schools and no values, and
    ``not_comparable`` says why (it is null on every other row).
    """
    from .estimators import naive_difference

    y0 = label_start(outcome_year)
    base_year = y0 - (window_years - 1)
    crossed = {m: change_break(breaks, m, year_label(base_year), outcome_year) for m in measures}
    cur = panel.filter(pl.col("year") == y0)
    base = panel.filter(pl.col("year") == base_year)
    mem = membership.select("school_key", "group").filter(pl.col("group").is_in(list(order)))
    rows = []
    for m in measures:
        if m not in panel.columns:
            continue
        lvl = cur.select("school_key", "pupils", pl.col(m).alias("y"))
        series = consistent_series(panel, m, base_year, y0)
        chg = (cur.select("school_key", "pupils", pl.col(m).alias("y1"))
               .join(base.select("school_key", pl.col(m).alias("y0")), on="school_key", how="inner")
               .filter(pl.col("school_key").is_in(series.implode()))
               .select("school_key", "pupils", (pl.col("y1") - pl.col("y0")).alias("y")))
        for stat, frame in (("level", lvl), ("change", chg)):
            not_comparable = crossed[m] if stat == "change" else None
            if not_comparable:
                frame = frame.clear()
            valid = frame.filter(pl.col("y").is_not_null() & pl.col("y").is_not_nan() & pl.col("pupils").is_not_null()
                                 & (pl.col("pupils") > 0))
            f = valid.join(mem, on="school_key", how="inner")
            ref = f.filter(pl.col("group") == reference)
            for grp in [*order, "all"]:
                sub = f.unique("school_key", keep="first", maintain_order=True) if grp == "all" \
                    else f.filter(pl.col("group") == grp)
                y, w = sub["y"].to_numpy().astype(float), sub["pupils"].to_numpy().astype(float)
                for weighting in ("schools", "pupils"):
                    mean, lo, hi = _mean_ci(y, w if weighting == "pupils" else None)
                    d = (math.nan, math.nan, math.nan)
                    if grp not in (reference, "all") and sub.height >= 2 and ref.height >= 2:
                        pair = pl.concat([sub.with_columns(t=pl.lit(True)), ref.with_columns(t=pl.lit(False))])
                        r = naive_difference(pair, "y", "t", weight="pupils" if weighting == "pupils" else None)
                        d = (r.estimate, r.ci_low, r.ci_high)
                    rows.append({"measure": m, "stat": stat, "group": grp, "weighting": weighting,
                                 "n_schools": int(sub.height), "n_pupils": int(w.sum()) if w.size else 0,
                                 "mean": mean, "ci_low": lo, "ci_high": hi,
                                 "diff": d[0], "diff_ci_low": d[1], "diff_ci_high": d[2],
                                 "not_comparable": not_comparable})
    out = pl.DataFrame(rows, schema=COMPARISON_SCHEMA, orient="row")
    return out.with_columns(pl.col(c).fill_nan(None) for c in ("mean", "ci_low", "ci_high", "diff", "diff_ci_low",
                                                                "diff_ci_high"))


def series_exclusions(panel: pl.DataFrame, outcome_year: str, window_years: int, measures: Sequence[str],
                      key_stage: str, breaks: Mapping[str, Mapping[str, str]] | None = None) -> list[dict]:
    """Schools with results in the outcome year left out of a measure's level or change, by reason (a measure
    with a break in the window, see :func:`compare_groups`, leaves every school out of its change)."""
    y0 = label_start(outcome_year)
    base_year = y0 - (window_years - 1)
    cur = panel.filter(pl.col("year") == y0)
    rows = []
    for m in measures:
        if m not in panel.columns:
            continue
        has = cur.filter(pl.col(m).is_not_null() & pl.col(m).is_not_nan())
        series = consistent_series(panel, m, base_year, y0)
        no_pupils = has.filter(pl.col("pupils").is_null() | (pl.col("pupils") <= 0)).height
        no_series = has.filter(~pl.col("school_key").is_in(series.implode())).height
        crossed = change_break(breaks, m, year_label(base_year), outcome_year)
        change_reason = ((f"no change computed, the measure cannot be compared between {year_label(base_year)} and "
                          f"{outcome_year}: {crossed}", has.height) if crossed else
                         (f"a year from {year_label(base_year)} to {outcome_year} without a result: left out of the "
                          "change (no consistent series)", no_series))
        for reason, n in ((f"no result in {outcome_year} (suppressed, not published or not applicable)",
                           cur.height - has.height),
                          ("no pupil count in the outcome year", no_pupils), change_reason):
            rows.append({"key_stage": key_stage, "academic_year": outcome_year, "measure": m, "reason": reason,
                         "n_schools": int(n)})
    return rows


# --------------------------------------------------------------------------- adjusted estimates

def cross_section(panel: pl.DataFrame, groups: pl.DataFrame, outcome_year: str) -> pl.DataFrame:
    """The outcome year's schools with their group, user flag and controls (complete cases on the controls)."""
    y0 = label_start(outcome_year)
    need = sorted(set(CONTROLS) | set(PS_COVARIATES) | set(CATEGORICAL))
    return (panel.filter(pl.col("year") == y0).drop_nulls(need)
            .join(groups.select("school_key", "group", "user", "units_window"), on="school_key", how="inner")
            .with_columns(user=pl.col("user").cast(pl.Int64)))


class _Missed:
    """A logger that also keeps what could not be estimated (``what``, reason), for the chapter to say."""

    def __init__(self, logger):
        self.logger, self.missed = logger, []

    def warning(self, msg, *args):
        if msg == "%s not estimated: %s" and len(args) == 2:
            self.missed.append({"what": str(args[0]), "reason": str(args[1])})
        if self.logger is not None:
            self.logger.warning(msg, *args)

    def info(self, *args, **kw):
        if self.logger is not None:
            self.logger.info(*args, **kw)


def adjusted_reason(cs: pl.DataFrame) -> str:
    """Why no adjusted estimate could be made, in words: no users, no comparison schools, or too few of either."""
    users = int(cs["user"].sum()) if cs.height and "user" in cs.columns else 0
    others = cs.height - users
    if not cs.height:
        return "no school has results in the outcome year"
    if others == 0:
        return "every school with results used the programme, so there are no comparison schools"
    if users == 0:
        return "no school with results used the programme in the window"
    return (f"only {users} user and {others} comparison schools have every measure and characteristic the "
            "estimators need, too few to fit them")


def _safe(log, what, f):
    try:
        return f()
    except Exception as exc:  # an estimator that cannot run on this year's data is reported, not fatal
        if log is not None:
            log.warning("%s not estimated: %s", what, exc)
        return None


def adjusted_estimates(panel: pl.DataFrame, groups: pl.DataFrame, outcome_year: str,
                       measures: Sequence[str] = DEFAULT_MEASURES, *, controls: Sequence[str] = CONTROLS,
                       categorical: Sequence[str] = CATEGORICAL, min_schools: int = MIN_SCHOOLS,
                       headline: str = HEADLINE, small_sample: Mapping[str, int] | None = None,
                       logger=None) -> tuple[pl.DataFrame, dict]:
    """Naive and adjusted user/non-user estimates per measure (one results_frame row each, plus ``measure``
    and ``method_key``), and the fitted objects of the first measure for the balance table and figures.

    An estimate resting on fewer than ``min_schools`` schools in either group is not made (it is logged as not
    estimated, with the counts): with a handful of treated schools a cluster-robust or sandwich interval
    rejects a true null far more often than it says (one treated school: about 78% at 5%). Above that, the
    small-sample methods of ``small_sample`` (see :func:`estimator_calls`) take over where clusters or treated
    schools are still few; ``p_placebo`` is the difference-in-differences' randomisation p-value, where made.
    """
    from . import estimators as est

    cs = cross_section(panel, groups, outcome_year)
    pan = panel.join(groups.select("school_key", "treated_from"), on="school_key", how="inner")
    y_last = label_start(outcome_year)
    pan = pan.filter(pl.col("year") <= y_last)
    frames, fitted = [], {}
    for m in measures:
        if m not in cs.columns:
            continue
        runs = estimator_calls(cs, pan, m, controls=controls, categorical=categorical, small_sample=small_sample)
        results = {}
        for key, f in runs.items():
            r = _safe(logger, f"{key} for {m}", f)
            if r is not None and min(r.n_treated, r.n_control) < min_schools:
                if logger is not None:
                    logger.warning("%s not estimated: %s", f"{key} for {m}",
                                   f"{r.n_treated} user and {r.n_control} comparison schools, fewer than "
                                   f"{min_schools} in a group")
                r = None
            if r is not None:
                results[key] = r
        if not results:
            continue
        keys = list(results)
        frames.append(est.results_frame([results[k] for k in keys])
                      .with_columns(measure=pl.lit(m), method_key=pl.Series(keys)))
        if not fitted:
            fitted = {"measure": m, "cross_section": cs, "panel": pan, **results}
        frames[-1] = frames[-1].with_columns(p_placebo=pl.Series(
            [(results[k].diagnostics.get("placebo") or {}).get("p_value") for k in keys], dtype=pl.Float64))
    cols = [c for c in ESTIMATES_SCHEMA if c != "p_holm"]
    table = pl.concat(frames).select(cols) if frames else pl.DataFrame(schema=ESTIMATES_SCHEMA)
    return with_holm(table, headline), fitted


def estimator_calls(cs: pl.DataFrame, pan: pl.DataFrame, measure: str, *, controls: Sequence[str] = CONTROLS,
                    categorical: Sequence[str] = CATEGORICAL, small_sample: Mapping[str, int] | None = None) -> dict:
    """The chapter's estimators for one measure, as calls (method key -> function of no arguments): exactly what
    the chapter runs, so the coverage simulations in ``benchmarks/`` can run the same calls.

    The naive differences, the regression and weighting cluster by local authority, with a wild cluster
    bootstrap interval below ``bootstrap_below_clusters`` authorities; matching clusters by local authority too
    (uptake clusters by area). With users in fewer than ``min_user_authorities`` authorities the adjusted
    cross-sectional calls raise (refused, with the reason) instead of estimating; the panel estimators cluster by school and, below ``placebo_below_treated`` treated
    schools, add a placebo-in-space p-value.
    """
    from . import estimators as est

    ss = small_sample_settings(small_sample)
    boot = {"few_clusters": ss["bootstrap_below_clusters"], "bootstrap_draws": ss["bootstrap_draws"]}
    n_treated_panel = pan.filter(pl.col("treated_from").is_not_null())["school_key"].n_unique()
    placebo = ss["placebo_draws"] if n_treated_panel < ss["placebo_below_treated"] else 0
    m = measure
    few_areas = _few_user_authorities(cs, m, ss["min_user_authorities"])

    def by_area(call):
        """An adjusted cross-sectional call, refused when users sit in too few authorities to separate the
        programme from the authority (the naive differences stay: they describe, with a wide interval)."""
        def run():
            if few_areas:
                raise ValueError(few_areas)
            return call()
        return run

    return {
        "naive_schools": lambda: est.naive_difference(cs, m, "user", cluster="la_code", **boot),
        "naive_pupils": lambda: est.naive_difference(cs, m, "user", weight="pupils", cluster="la_code", **boot),
        "regression": by_area(lambda: est.regression_adjusted(cs, m, "user", list(controls), list(categorical),
                                                              cluster="la_code", **boot)),
        "psm": by_area(lambda: est.psm_match(cs, m, "user", PS_COVARIATES, replace=True, cluster="la_code")),
        "psm_no_replacement": by_area(lambda: est.psm_match(cs, m, "user", PS_COVARIATES, replace=False,
                                                            cluster="la_code")),
        "ipw_att": by_area(lambda: est.ipw(cs, m, "user", PS_COVARIATES, estimand="ATT", cluster="la_code",
                                           **boot)),
        "did_twfe": lambda: est.did_panel(pan, m, "school_key", "year", "treated_from", method="twfe",
                                          placebo_draws=placebo),
        "did_etwfe": lambda: est.did_panel(pan, m, "school_key", "year", "treated_from", method="etwfe",
                                           placebo_draws=placebo),
    }


def _few_user_authorities(cs: pl.DataFrame, measure: str, minimum: int) -> str | None:
    """Why the LA-clustered adjusted estimates cannot be made (users with a result in fewer than ``minimum``
    local authorities, of two or more), or ``None``. With users in one or two authorities any interval that
    clusters by authority is either far too narrow (the analytic ones cover about 75%) or uninformative (the
    bootstrap's is some 30 points wide); a year from one authority is not clustered at all and passes."""
    rows = cs.filter(pl.col(measure).is_not_null() & pl.col("la_code").is_not_null())
    n_all = rows["la_code"].n_unique()
    n_users = rows.filter(pl.col("user") == 1)["la_code"].n_unique()
    if n_all < 2 or n_users >= minimum:
        return None
    return (f"users are in {n_users} of {n_all} local authorities, fewer than {minimum}: the programme cannot be "
            "told apart from the authorities")


def unmatched_users(fitted: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """For each matching estimate of the first measure: users with no non-user within the caliper, of all users
    (matching then estimates the effect on the matched users only, and the chapter says how many that leaves)."""
    out = {}
    for key in ("psm", "psm_no_replacement"):
        r = fitted.get(key)
        if r is not None and "n_unmatched_caliper" in r.diagnostics:
            n = int(r.diagnostics["n_unmatched_caliper"])
            out[key] = {"unmatched": n, "users": int(r.n_treated) + n}
    return out


def with_holm(estimates: pl.DataFrame, headline: str) -> pl.DataFrame:
    """``p_holm``: Holm-adjusted p-values over the family of secondary results (every adjusted estimate of every
    measure except the headline estimator chosen in advance; naive differences are descriptive and left out)."""
    from .stats import holm

    secondary = ~pl.col("method_key").str.starts_with("naive") & (pl.col("method_key") != headline)
    est = estimates.drop("p_holm", strict=False).with_row_index("_i")
    fam = est.filter(secondary)
    adj = pl.DataFrame({"_i": fam["_i"], "p_holm": pl.Series(holm(fam["p_value"].to_list()), dtype=pl.Float64)})
    return est.join(adj, on="_i", how="left").sort("_i").drop("_i")


#: Columns of the estimates table, typed (an empty table keeps its numbers numeric, so the chapter can say
#: "not estimated" instead of failing on a column of text).
ESTIMATES_SCHEMA = {"measure": pl.Utf8, "method_key": pl.Utf8, "method": pl.Utf8, "outcome": pl.Utf8,
                    "estimate": pl.Float64, "std_error": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                    "p_value": pl.Float64, "n_treated": pl.Int64, "n_control": pl.Int64, "sd_outcome": pl.Float64,
                    "smd": pl.Float64, "smd_ci_low": pl.Float64, "smd_ci_high": pl.Float64, "level": pl.Float64,
                    "df": pl.Float64, "se_method": pl.Utf8, "p_placebo": pl.Float64, "p_holm": pl.Float64}


def balance(fitted: Mapping[str, Any], controls: Sequence[str] = PS_COVARIATES,
            categorical: Sequence[str] = ()) -> pl.DataFrame:
    """Balance table (SMD before and after IPW ATT weighting, and after PSM) for the first measure's sample."""
    from . import estimators as est

    cs = fitted.get("cross_section")
    if cs is None:
        return pl.DataFrame()
    frames = []
    for key in ("ipw_att", "psm"):
        r = fitted.get(key)
        if r is None or r.weights is None or len(r.weights) != cs.height:
            continue
        frames.append(est.balance_table(cs, "user", list(controls), r, list(categorical)).with_columns(
            adjustment=pl.lit(key)))
    if not frames:
        frames.append(est.balance_table(cs, "user", list(controls), None, list(categorical))
                      .with_columns(adjustment=pl.lit("none")))
    return pl.concat(frames, how="diagonal_relaxed")


def dose_response_table(cross_section_: pl.DataFrame, membership: pl.DataFrame, dose: Mapping[str, Any],
                        measures: Sequence[str], *, min_schools: int = MIN_SCHOOLS,
                        small_sample: Mapping[str, int] | None = None, logger=None) -> pl.DataFrame:
    """Adjusted differences of each band of use from the reference band (regression with the chapter's controls,
    errors clustered by local authority), one block of rows per measure; ``joint_p`` (all bands equal the
    reference) and ``equal_p`` (the using bands equal each other) repeat on each row of a block."""
    from . import estimators as est

    ss = small_sample_settings(small_sample)
    schema = {"measure": pl.Utf8, "band": pl.Utf8, "n": pl.Int64, "mean": pl.Float64, "estimate": pl.Float64,
              "std_error": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "p_value": pl.Float64,
              "smd": pl.Float64, "smd_ci_low": pl.Float64, "smd_ci_high": pl.Float64, "is_reference": pl.Boolean,
              "joint_p": pl.Float64, "equal_p": pl.Float64}
    if not dose:
        return pl.DataFrame(schema=schema)
    bands = list(dose["groups"])
    mem = membership.filter(pl.col("group").is_in(bands))
    twice = mem.group_by("school_key").len().filter(pl.col("len") > 1)
    if twice.height:
        raise ConfigError(f"attainment dose_response: bands must not overlap; {twice.height} school(s) are in two "
                          f"of {bands}")
    cs = cross_section_.join(mem.rename({"group": "band"}), on="school_key", how="inner")
    frames = []
    for m in measures:
        if m not in cs.columns:
            continue
        r = _safe(logger, f"dose-response for {m}", lambda: est.dose_response(
            cs, m, "band", CONTROLS, reference_band=dose["reference"], categorical=CATEGORICAL, cluster="la_code",
            order=bands, few_clusters=ss["bootstrap_below_clusters"], bootstrap_draws=ss["bootstrap_draws"]))
        if r is not None:
            # a band of fewer than min_schools schools gets no estimate (a one-school band gave p = 1e-15 on noise)
            small = (pl.col("n") < min_schools) & ~pl.col("is_reference")
            table = r.table.with_columns([pl.when(small).then(None).otherwise(pl.col(c)).alias(c)
                                          for c in ("estimate", "std_error", "ci_low", "ci_high", "p_value", "smd",
                                                    "smd_ci_low", "smd_ci_high")])
            frames.append(table.with_columns(measure=pl.lit(m), joint_p=pl.lit(r.joint_p, dtype=pl.Float64),
                                             equal_p=pl.lit(r.equal_p, dtype=pl.Float64)))
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames).select(list(schema))


#: The estimates whose E-values the chapter tabulates (first measure), in this order; the headline's is added.
E_VALUE_METHODS = ("regression", "ipw_att", "did_etwfe")


def sensitivity(fitted: Mapping[str, Any], *, headline: str = HEADLINE, logger=None
                ) -> tuple[pl.DataFrame, pl.DataFrame, Any]:
    """E-values of the regression, weighting, DiD and headline estimates of the first measure; the confounding table
    (confounder strengths needed to explain away) and the E-value object of the estimate the chapter calls the
    headline, for the sensitivity figure: the configured ``headline`` (``attainment.headline``, the estimate the
    key findings quote), else the extended TWFE, else the first of the others that was made. The method is
    returned with it, and the chapter names it."""
    from . import estimators as est

    rows, evs = [], {}
    for key in dict.fromkeys((*E_VALUE_METHODS, headline)):
        r = fitted.get(key) if fitted else None
        if r is None:
            continue
        ev = _safe(logger, f"E-value for {key}", lambda: est.e_value_from_estimate(r))
        if ev is None:
            continue
        evs[key] = ev
        rows.append({"measure": fitted["measure"], "method_key": key, "e_value": float(ev.e_value),
                     "e_value_ci": None if ev.e_value_ci is None else float(ev.e_value_ci)})
    pick = next((k for k in (headline, "did_etwfe", *E_VALUE_METHODS) if k in evs), None)
    head = (pick, evs[pick]) if pick else None
    evalues = pl.DataFrame(rows, schema={"measure": pl.Utf8, "method_key": pl.Utf8, "e_value": pl.Float64,
                                         "e_value_ci": pl.Float64})
    conf = pl.DataFrame(schema={"method_key": pl.Utf8, "rr_eu": pl.Float64, "rr_ud_estimate": pl.Float64,
                                "rr_ud_ci": pl.Float64})
    if head is not None:
        conf = est.confounding_table(head[1]).select(pl.lit(head[0]).alias("method_key"), pl.all())
    return evalues, conf, head


# --------------------------------------------------------------------------- stage

def attainment_tables(inputs: Mapping[str, pl.DataFrame | None], cfg: Mapping[str, Any], *, logger=None) -> dict:
    """Every table of the chapter (see :data:`OUTPUT_TABLES`) plus the fitted objects and a summary.

    ``inputs``: ``attainment_ks4``, ``attainment_ks2``, ``schools`` (register), ``lineage``, ``school_year``,
    ``engagements`` and the optional reference tables ``partnerships``, ``trained_leaders``, ``judgements``,
    ``registrations`` (None or empty when not configured).
    """
    from . import estimators as est

    s = cfg
    oy, wy = s["outcome_year"], s["window_years"]
    lineage, register = inputs.get("lineage"), inputs["schools"]
    excl: list[dict] = []
    ks_measures = {"ks4": list(dict.fromkeys([*s["measures"], *(m for c in s["comparisons"] if c["key_stage"] == "ks4"
                                                               for m in c["measures"])])),
                   "ks2": list(dict.fromkeys([*s["primary_measures"], *(m for c in s["comparisons"]
                                                                       if c["key_stage"] == "ks2" for m in c["measures"])]))}
    panels = {ks: school_panel(inputs[f"attainment_{ks}"], register, lineage, ks_measures[ks], key_stage=ks,
                               exclusions=excl) for ks in ("ks4", "ks2")}
    coverage = [register_coverage(inputs[f"attainment_{ks}"], register, ks, oy, limit=s["max_unregistered_share"],
                                  logger=logger) for ks in ("ks4", "ks2") if inputs.get(f"attainment_{ks}") is not None]
    panel = panels["ks4"]
    win = window_financial_years(oy, wy)
    all_keys = pl.concat([p.select("school_key") for p in panels.values()]).unique()
    metrics = window_metrics(all_keys, inputs["engagements"], win, providers=s["providers"], lineage=lineage,
                             partnerships=inputs.get("partnerships"), trained_leaders=inputs.get("trained_leaders"),
                             judgements=inputs.get("judgements"), registrations=inputs.get("registrations"))
    rules = s["groups"]
    from .attainment_groups import inputs_lacking

    absent = {name for key, name in REFERENCE_INPUTS.items()
              if inputs.get(key) is None or not inputs[key].height}     # not supplied (or supplied empty)
    # a comparison whose groups rest on a reference table this year lacks is left out (not "every school: no")
    lacking = {c["id"]: inputs_lacking([*c["groups"], c["reference"]], rules, absent) for c in s["comparisons"]}
    lacking = {cid: v for cid, v in lacking.items() if v}
    if lacking and logger is not None:
        for cid, v in lacking.items():
            logger.info("comparison %s left out: no %s this year", cid, ", ".join(v))
    s = {**s, "comparisons": [c for c in s["comparisons"] if c["id"] not in lacking]}
    usable = [g for g in rules if not inputs_lacking([g], rules, absent)]
    membership, counts, comparisons = [], [], []
    for ks, p in panels.items():
        keys = p.filter(pl.col("year") == label_start(oy)).select("school_key").unique()
        mem = group_membership(metrics.filter(pl.col("school_key").is_in(keys["school_key"].implode())), rules,
                               names=usable)
        membership.append(mem.with_columns(key_stage=pl.lit(ks)))
        counts.append(group_counts(mem, {g: rules[g] for g in usable}, ks))
        excl += series_exclusions(p, oy, wy, ks_measures[ks], ks, s["breaks"].get(ks))
    membership = pl.concat(membership)
    for c in s["comparisons"]:
        mem = membership.filter(pl.col("key_stage") == c["key_stage"])
        comparisons.append(compare_groups(panels[c["key_stage"]], mem, oy, wy, c["measures"], order=c["groups"],
                                          reference=c["reference"], breaks=s["breaks"].get(c["key_stage"]))
                           .select(pl.lit(c["id"]).alias("comparison"), pl.lit(c["key_stage"]).alias("key_stage"),
                                   pl.all()))
    comparisons = (pl.concat(comparisons) if comparisons else
                   pl.DataFrame(schema={"comparison": pl.Utf8, "key_stage": pl.Utf8, **COMPARISON_SCHEMA}))
    groups = user_groups(inputs["school_year"], panel, oy, wy, s["providers"])
    logger = _Missed(logger)      # what could not be estimated, said in the chapter in words
    estimates, fitted = adjusted_estimates(panel, groups, oy, s["measures"], min_schools=s["min_schools"],
                                           headline=s["headline"], small_sample=s["small_sample"], logger=logger)
    cs = cross_section(panel, groups, oy)
    dose = dose_response_table(cs, membership.filter(pl.col("key_stage") == "ks4"),
                               s["dose_response"], s["measures"], min_schools=s["min_schools"],
                               small_sample=s["small_sample"], logger=logger)
    bal = _safe(logger, "balance table", lambda: balance(fitted)) if fitted else None
    es = None
    if fitted:
        m = fitted["measure"]
        es = _safe(logger, "event study", lambda: est.event_study(fitted["panel"], m, "school_key", "year",
                                                                   "treated_from", window=(-3, 3)))
    es_table = pl.DataFrame()
    if es is not None:
        es_table = es.table if isinstance(getattr(es, "table", None), pl.DataFrame) else pl.DataFrame()
    evalues, confounding, head_ev = sensitivity(fitted, headline=s["headline"], logger=logger)
    in_oy = panel.filter(pl.col("year") == label_start(oy)).select("school_key").unique()
    base_label = year_label(label_start(oy) - (wy - 1))
    summary = {"outcome_year": oy, "window_years": wy, "window_financial_years": win,
               "base_year": base_label,
               "measures": s["measures"], "primary_measures": s["primary_measures"], "providers": s["providers"],
               "first_measure": fitted.get("measure") if fitted else None,
               "n_schools_panel": int(panel["school_key"].n_unique()),
               "n_schools_outcome_year": int(in_oy.height),
               "n_schools_outcome_year_ks2": int(panels["ks2"].filter(pl.col("year") == label_start(oy)).height),
               "panel_years": sorted(panel["academic_year"].unique().to_list()),
               # breaks in comparability (config/measures.yaml) of the measures used, and the ones crossed by the
               # change over the window and by the panel of the adjusted estimates, worded for the chapter
               "breaks": {ks: {m: s["breaks"].get(ks, {}).get(m, {}) for m in ms} for ks, ms in ks_measures.items()},
               "change_breaks": {ks: {m: why for m in ms
                                      if (why := change_break(s["breaks"].get(ks), m, base_label, oy))}
                                 for ks, ms in ks_measures.items()},
               "top_quartile_break": (change_break(s["breaks"].get(s["top_quartile"].get("key_stage", "ks4")),
                                                   s["top_quartile"]["measure"], year_label(label_start(oy) - 1), oy)
                                      if s["top_quartile"] else None),
               "panel_breaks": {m: why for m in s["measures"] if panel.height and
                                (why := change_break(s["breaks"].get("ks4"), m, panel["academic_year"].min(), oy))},
               "comparisons": s["comparisons"], "comparisons_lacking_input": lacking,
               "dose_response": s["dose_response"],
               "top_quartile": s["top_quartile"],
               "group_labels": {g: r.label for g, r in rules.items()},
               "group_rules": {g: r.describe({k: v.label for k, v in rules.items()}) for g, r in rules.items()},
               "sensitivity_method": head_ev[0] if head_ev else None,
               "propensity_auc": None, "pretrend_p": None,
               "adjusted_reason": None if estimates.height else adjusted_reason(cs),
               "not_estimated": logger.missed, "register_coverage": coverage, "min_schools": s["min_schools"],
               "headline": s["headline"],
               "small_sample": {**s["small_sample"], "n_local_authorities": int(cs["la_code"].drop_nulls().n_unique())},
               "unmatched_users": unmatched_users(fitted)}
    if es is not None:
        summary["pretrend_p"] = getattr(es, "pretrend_p", None)
    if fitted:
        ps = _safe(logger, "propensity scores",
                   lambda: est.propensity_scores(fitted["cross_section"], "user", PS_COVARIATES))
        fitted["scores"] = ps
        if ps is not None:
            summary["propensity_auc"] = float(ps.auc)
    return {"panel": pl.concat([panel, panels["ks2"]], how="diagonal_relaxed"), "groups": groups,
            "window_metrics": metrics, "membership": membership, "group_counts": pl.concat(counts),
            "comparisons": comparisons,
            "exclusions": pl.DataFrame(excl, schema={"key_stage": pl.Utf8, "academic_year": pl.Utf8,
                                                     "measure": pl.Utf8, "reason": pl.Utf8, "n_schools": pl.Int64},
                                       orient="row"),
            "estimates": estimates, "dose_response": dose,
            "balance": bal if bal is not None else pl.DataFrame(), "event_study": es_table, "evalues": evalues,
            "confounding": confounding, "summary": summary, "fitted": fitted, "event_study_result": es,
            "e_value_result": head_ev, "panels": panels}
