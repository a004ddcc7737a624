"""User groups of the attainment chapter, defined in config and computed from the engagement model.

A school's **window metrics** summarise its use of the programme over the analysis window (the financial
years before the outcome year's exams, :func:`cpdeval.attainment.window_financial_years`):

=====================  ==========================================================================================
metric                 meaning (engagements of the configured ``providers`` only, in the window)
=====================  ==========================================================================================
``attendances``        attended bookings (person x activity), seed 001 "CPD attendances"
``courses``            distinct activities attended by anyone from the school ("Network courses")
``participants``       distinct members of staff who attended ("members of staff involved")
``years_active``       financial years of the window with at least one attendance ("regularly")
``units``              CPD units; ``units_national`` / ``units_regional`` by provider
``partnership_lead``   the school led a partnership at some time in the window (lead periods overlap it;
                       time-varying: the same school may be a lead for one outcome year and not another)
``trained_leader``     a member of staff completed a leading-CPD programme on or before the window's last day
``strategic_score``    planning + embedding + evaluating from the interview judgements (3-12; 1 = strategic on
                       each); null for schools not interviewed
``resource_user``      the school registered with the resource library on or before the window's last day
=====================  ==========================================================================================

Schools are followed by their stable ``school_key`` (lineage), so URNs in the reference files count for the
school they became.

A **group** (config ``attainment.groups``; default ``config/attainment_groups.yaml``) is a named rule:

* ``where``: conditions that must all hold, on the metrics above: ``{min: a}`` (>= a), ``{max: b}`` (<= b),
  ``{gt: a}``, ``{lt: b}`` or a bare value (equality; ``true``/``false`` for the flags). A school with a null
  metric (not interviewed) is never a member of a group that tests it.
* or a **quartile band**: ``{quartile: 1-4, of: metric, among: group}`` - the members of ``among`` in that
  quarter of ``of``, with cut points at the 25th, 50th and 75th percentiles of ``among`` (linear interpolation;
  a value on a cut point goes to the lower band, so ties never split).

Groups may nest (four or more courses is inside at least one course) or partition; each comparison in
``attainment.comparisons`` names the groups it shows, in order, and its reference group.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import polars as pl

from .config import schema_default
from .errors import ConfigError
from .display import join_words

if TYPE_CHECKING:   # numpy is imported where it is used
    import numpy as np

METRICS = ("attendances", "courses", "participants", "years_active", "units", "units_national", "units_regional",
           "partnership_lead", "trained_leader", "strategic_score", "resource_user")
FLAGS = ("partnership_lead", "trained_leader", "resource_user")
OPERATORS = {"min": ">=", "max": "<=", "gt": ">", "lt": "<"}
#: Each metric in words, for the rules the chapter prints ("attendances", "units from the national centre").
METRIC_WORDS = {"attendances": "attendances", "courses": "courses", "participants": "staff taking part",
                "years_active": "years with use", "units": "CPD units", "units_national": "units from the national centre",
                "units_regional": "units from regional partnerships", "strategic_score": "a strategic-use score"}
#: What a flag means when it holds, and when it does not.
FLAG_WORDS = {"partnership_lead": ("led a partnership", "did not lead a partnership"),
              "trained_leader": ("had staff trained to lead CPD", "had no staff trained to lead CPD"),
              "resource_user": ("registered with the resource library", "did not register with the resource library")}


def _condition_words(metric: str, op: str, v: float) -> str:
    """One condition in words: "at least 4 courses", "no units from regional partnerships"."""
    name = METRIC_WORDS.get(metric, metric.replace("_", " "))
    if metric == "strategic_score":
        return {"min": f"{name} of {v:g} or more", "max": f"{name} of {v:g} or less",
                "gt": f"{name} above {v:g}", "lt": f"{name} below {v:g}"}[op]
    if (op == "max" and v == 0) or (op == "lt" and v == 1):
        return f"no {name}"
    if (op == "gt" and v == 0) or (op == "min" and v == 1):
        return f"some {name}" if metric.startswith("units") else f"at least one of the {name}" \
            if metric == "years_active" else f"at least 1 {name.rstrip('s') if name.endswith('s') else name}"
    return {"min": f"at least {v:g} {name}", "max": f"at most {v:g} {name}",
            "gt": f"more than {v:g} {name}", "lt": f"fewer than {v:g} {name}"}[op]
DEFAULT_PROVIDERS = tuple(schema_default("attainment.providers"))


# --------------------------------------------------------------------------- rules

@dataclass(frozen=True)
class GroupRule:
    """One configured group: its name, label and either conditions or a quartile band."""

    name: str
    label: str
    where: Mapping[str, Any] = field(default_factory=dict)
    quartile: int | None = None
    of: str | None = None
    among: str | None = None

    def describe(self, labels: Mapping[str, str] | None = None) -> str:
        """The rule in words, for readers ("at least 4 courses, in 2 or more years"); ``labels`` name the group
        a quartile splits."""
        if self.quartile is not None:
            among = (labels or {}).get(self.among, self.among)
            nth = {1: "lowest", 2: "second", 3: "third", 4: "highest"}[self.quartile]
            return f"The {nth} quarter of {METRIC_WORDS.get(self.of, self.of)} among schools with {among.lower()}"
        parts = []
        for metric, cond in self.where.items():
            if metric in FLAGS:
                parts.append(FLAG_WORDS[metric][0 if cond in (True, 1) or (isinstance(cond, Mapping)
                                                                          and cond.get("gt") == 0) else 1])
            elif isinstance(cond, Mapping):
                parts += [_condition_words(metric, op, v) for op, v in cond.items()]
            else:
                parts.append(f"{METRIC_WORDS.get(metric, metric)} of {cond}")
        text = join_words(parts) if parts else "every school"
        return text[0].upper() + text[1:]


#: The optional reference table each metric rests on (a group using the metric means nothing without it).
METRIC_INPUT = {"partnership_lead": "partnerships", "trained_leader": "trained_leaders",
                "resource_user": "resource_registrations", "strategic_score": "strategic_judgements"}


def metrics_used(name: str, rules: Mapping[str, GroupRule]) -> set[str]:
    """Every metric group ``name`` rests on, through the group a quartile splits."""
    r = rules[name]
    used = set(r.where) | ({r.of} if r.of else set())
    return used | (metrics_used(r.among, rules) if r.among and r.among in rules else set())


def inputs_lacking(groups: Sequence[str], rules: Mapping[str, GroupRule], absent: set[str]) -> list[str]:
    """The absent optional inputs (names as in :data:`METRIC_INPUT`) that any of ``groups`` rests on."""
    needed = {METRIC_INPUT[m] for g in groups if g in rules for m in metrics_used(g, rules) if m in METRIC_INPUT}
    return sorted(needed & set(absent))


def parse_group_rules(cfg: Mapping[str, Any]) -> dict[str, GroupRule]:
    """Group rules from config, checked: every metric known, operators valid, quartile groups well formed.

    Raises :class:`ConfigError` naming the group and the offending key.
    """
    rules: dict[str, GroupRule] = {}
    for name, spec in (cfg or {}).items():
        where_ = f"attainment.groups.{name}"
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where_}: expected a mapping with 'label' and 'where' (or 'quartile')")
        unknown = set(spec) - {"label", "where", "quartile", "of", "among"}
        if unknown:
            raise ConfigError(f"{where_}: unknown key(s) {sorted(unknown)}")
        label = str(spec.get("label") or name)
        if "quartile" in spec:
            q, of, among = spec.get("quartile"), spec.get("of"), spec.get("among")
            if q not in (1, 2, 3, 4):
                raise ConfigError(f"{where_}.quartile: expected 1, 2, 3 or 4, got {q!r}")
            if of not in METRICS or of in FLAGS:
                raise ConfigError(f"{where_}.of: expected a numeric metric ({', '.join(m for m in METRICS if m not in FLAGS)}),"
                                  f" got {of!r}")
            if not among:
                raise ConfigError(f"{where_}.among: name the group whose members are split into quartiles")
            rules[name] = GroupRule(name, label, quartile=int(q), of=of, among=str(among))
            continue
        where = spec.get("where")
        if not isinstance(where, Mapping) or not where:
            raise ConfigError(f"{where_}.where: expected at least one condition")
        for metric, cond in where.items():
            if metric not in METRICS:
                raise ConfigError(f"{where_}.where.{metric}: unknown metric; use one of {', '.join(METRICS)}")
            if isinstance(cond, Mapping):
                bad = set(cond) - set(OPERATORS)
                if bad or not cond:
                    raise ConfigError(f"{where_}.where.{metric}: operators are {', '.join(OPERATORS)}; got {sorted(cond)}")
                if metric in FLAGS:
                    raise ConfigError(f"{where_}.where.{metric}: a flag takes true or false")
                for op, v in cond.items():
                    if isinstance(v, bool) or not isinstance(v, (int, float)):
                        raise ConfigError(f"{where_}.where.{metric}.{op}: expected a number, got {v!r}")
            elif metric in FLAGS and not isinstance(cond, bool):
                raise ConfigError(f"{where_}.where.{metric}: a flag takes true or false, got {cond!r}")
        rules[name] = GroupRule(name, label, where=dict(where))
    for r in rules.values():
        if r.among is not None and r.among not in rules:
            raise ConfigError(f"attainment.groups.{r.name}.among: no group named {r.among!r}")
        if r.among is not None and rules[r.among].quartile is not None:
            raise ConfigError(f"attainment.groups.{r.name}.among: {r.among!r} is itself a quartile group")
    return rules


# --------------------------------------------------------------------------- metrics

def window_dates(window_fys: Sequence[str]) -> tuple[dt.date, dt.date]:
    """First and last day of a run of financial years (1 April of the first to 31 March after the last)."""
    starts = sorted(int(str(f)[:4]) for f in window_fys)
    return dt.date(starts[0], 4, 1), dt.date(starts[-1] + 1, 3, 31)


def _keyed(frame: pl.DataFrame, urn_col: str, lineage: pl.DataFrame | None) -> pl.DataFrame:
    """Add ``school_key`` for a URN column (the URN itself where the lineage does not know it)."""
    if lineage is None or not lineage.height:
        return frame.with_columns(school_key=pl.col(urn_col).cast(pl.Int64))
    lk = lineage.select(pl.col("urn").cast(pl.Int64).alias(urn_col), "school_key")
    return (frame.with_columns(pl.col(urn_col).cast(pl.Int64)).join(lk, on=urn_col, how="left")
            .with_columns(school_key=pl.coalesce("school_key", urn_col)))


#: The engagement columns :func:`window_metrics` reads (the stage reads only these: a national year's
#: engagements have 29 columns and some 160 MB in memory).
ENGAGEMENT_COLUMNS = ("school_key", "financial_year", "provider", "activity_id", "participant_id", "units")


def window_metrics(schools: pl.DataFrame | Sequence[int], engagements: pl.DataFrame, window_fys: Sequence[str], *,
                   providers: Sequence[str] = DEFAULT_PROVIDERS, lineage: pl.DataFrame | None = None,
                   partnerships: pl.DataFrame | None = None, trained_leaders: pl.DataFrame | None = None,
                   judgements: pl.DataFrame | None = None, registrations: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per school key in ``schools`` with every metric of the module docstring (zeros/false for
    schools without engagements; ``strategic_score`` null for schools not interviewed)."""
    keys = schools["school_key"] if isinstance(schools, pl.DataFrame) else pl.Series("school_key", list(schools))
    out = pl.DataFrame({"school_key": keys.unique().sort().cast(pl.Int64)})
    start, end = window_dates(window_fys)
    e = engagements.filter(pl.col("school_key").is_not_null() & pl.col("financial_year").is_in(list(window_fys))
                           & pl.col("provider").is_in(list(providers)))
    use = e.group_by("school_key").agg(
        attendances=pl.len().cast(pl.Int64), courses=pl.col("activity_id").n_unique().cast(pl.Int64),
        participants=pl.col("participant_id").n_unique().cast(pl.Int64),
        years_active=pl.col("financial_year").n_unique().cast(pl.Int64),
        units=pl.col("units").sum().cast(pl.Float64),
        units_national=pl.col("units").filter(pl.col("provider") == "national").sum().cast(pl.Float64),
        units_regional=pl.col("units").filter(pl.col("provider") == "regional").sum().cast(pl.Float64))
    out = out.join(use, on="school_key", how="left").with_columns(
        pl.col("attendances", "courses", "participants", "years_active").fill_null(0),
        pl.col("units", "units_national", "units_regional").fill_null(0.0))

    def flag(name: str, frame: pl.DataFrame | None, urn_col: str, cond: pl.Expr) -> None:
        nonlocal out
        hit: set[int] = set()
        if frame is not None and frame.height:
            k = _keyed(frame.filter(pl.col(urn_col).is_not_null()), urn_col, lineage).filter(cond)
            hit = set(k["school_key"].to_list())
        out = out.with_columns(pl.col("school_key").is_in(sorted(hit)).alias(name))

    flag("partnership_lead", partnerships, "lead_urn",
         (pl.col("lead_from") <= end) & (pl.col("lead_to").is_null() | (pl.col("lead_to") >= start)))
    flag("trained_leader", trained_leaders, "urn", pl.col("completed_on") <= end)
    flag("resource_user", registrations, "urn", pl.col("registered_on") <= end)
    score = pl.DataFrame(schema={"school_key": pl.Int64, "strategic_score": pl.Int64})
    if judgements is not None and judgements.height:
        j = _keyed(judgements, "urn", lineage).with_columns(
            strategic_score=(pl.col("planning") + pl.col("embedding") + pl.col("evaluating")).cast(pl.Int64))
        # a school interviewed twice keeps its latest judgement
        score = (j.sort(["school_key", "interviewed_on"]).group_by("school_key", maintain_order=True).last()
                 .select("school_key", "strategic_score"))
    return out.join(score, on="school_key", how="left").select("school_key", *METRICS)


# --------------------------------------------------------------------------- membership

def _condition(metric: str, cond: Any) -> pl.Expr:
    col = pl.col(metric)
    if isinstance(cond, Mapping):
        expr = pl.lit(True)
        for op, v in cond.items():
            expr = expr & {"min": col >= v, "max": col <= v, "gt": col > v, "lt": col < v}[op]
        return expr.fill_null(False)
    return (col == cond).fill_null(False)


def quartile_cuts(values: np.ndarray) -> np.ndarray:
    """The 25th, 50th and 75th percentiles (linear interpolation) of ``values``."""
    import numpy as np

    return np.quantile(np.asarray(values, dtype=float), [0.25, 0.5, 0.75])


def quartile_band(values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Band 1-4 of each value; a value on a cut point goes to the lower band."""
    import numpy as np

    return np.searchsorted(cuts, np.asarray(values, dtype=float), side="left") + 1


def group_membership(metrics: pl.DataFrame, rules: Mapping[str, GroupRule],
                     names: Sequence[str] | None = None) -> pl.DataFrame:
    """Long table ``school_key, group``: one row per school and group it belongs to (groups may overlap)."""
    wanted = list(names) if names is not None else list(rules)
    members: dict[str, pl.Series] = {}

    def of(name: str) -> pl.Series:
        if name in members:
            return members[name]
        r = rules[name]
        if r.quartile is None:
            expr = pl.lit(True)
            for metric, cond in r.where.items():
                expr = expr & _condition(metric, cond)
            keys = metrics.filter(expr)["school_key"]
        else:
            base = metrics.filter(pl.col("school_key").is_in(of(r.among).implode()))
            vals = base[r.of].cast(pl.Float64).to_numpy()
            if vals.size == 0:
                keys = base["school_key"]
            else:
                band = quartile_band(vals, quartile_cuts(vals))
                keys = base["school_key"].filter(pl.Series(band == r.quartile))
        members[name] = keys.sort()
        return members[name]

    frames = []
    for name in wanted:
        if name not in rules:
            raise ConfigError(f"attainment: comparison uses group {name!r}, which attainment.groups does not define")
        frames.append(pl.DataFrame({"school_key": of(name), "group": pl.Series([name] * len(of(name)), dtype=pl.Utf8)}))
    if not frames:
        return pl.DataFrame(schema={"school_key": pl.Int64, "group": pl.Utf8})
    return pl.concat(frames)


def group_counts(membership: pl.DataFrame, rules: Mapping[str, GroupRule], phase: str) -> pl.DataFrame:
    """Schools per group (one phase), with each group's label and rule in words."""
    n = dict(membership.group_by("group").len().iter_rows())
    labels = {g: r.label for g, r in rules.items()}
    return pl.DataFrame([{"phase": phase, "group": g, "label": r.label, "rule": r.describe(labels),
                          "n_schools": int(n.get(g, 0))} for g, r in rules.items()],
                        schema={"phase": pl.Utf8, "group": pl.Utf8, "label": pl.Utf8, "rule": pl.Utf8,
                                "n_schools": pl.Int64}, orient="row")
