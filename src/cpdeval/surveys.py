"""Survey analysis: item summaries by subgroup, answer distributions, ranks, benchmarks and coded free text.

Everything is driven by the instrument definitions in ``schemas/instruments/`` (items, wording, blocks,
scales with their positive, top and not-substantive answers): a new survey is added by writing its
definition, and this module summarises it without a code change.

Rules (seed 000 §3.5 and §8.4, seed 001 §3.2, seed 002 §3.6)
    * **respondents** to an item: everyone who gave any answer to it, including a not-substantive one
      ("Cannot say", "N/A"). A blank is not an answer and is not counted anywhere for that item.
    * **% positive** (% agree, % high or very high): positive answers over *substantive* answers, i.e.
      not-substantive answers are excluded from the denominator. **% top** (% strongly agree) likewise.
    * **% not substantive** (% cannot say): over *all respondents to the item*.
    * **multi-select** options: % ticked over everyone who answered the question (ticked at least one
      option); options are not forced to add up to 100.
    * Wilson 95% intervals for every percentage (:mod:`cpdeval.stats`); the n behind each is kept.
    * Ranks: standard competition ranks of the *rounded* percentage (what a reader sees), so two items
      shown with the same figure share a rank, "4th=" (seed 002, Table 8).
    * Subgroups: ``role`` (as the respondent gave it), ``phase`` (register ``phase_group`` of the URN
      given), ``provider`` (of the activity the response is about, from the booking data) and ``year``
      (financial year the response was submitted); "Not known" where the survey does not say.

Derived tables keep counts and full-precision percentages; disclosure control and rounding happen when a
chapter publishes them (:func:`cpdeval.tables.publish_table`, helpers at the end of this module).

Free text is coded outside the pipeline with a versioned codebook (``config/codebooks/*.yaml``); rows coded
with another codebook version or with a code the codebook does not list are reported, not counted
(:func:`check_coding`). Benchmarks from other studies are a separate reference table
(``config/benchmarks.yaml``, :func:`load_benchmarks`), never mixed with this survey's results.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import polars as pl

from . import display as d
from .calendar import FY_START_MONTH
from .disclosure import count_label, count_value, percent_shown
from .errors import ConfigError, InputError
from .stats import Z95, counts_giving, rank_label_expr, rounds_to, wilson_exprs

if TYPE_CHECKING:
    from .ingest.surveys import Instrument
    from .tables import PublishedTable

__all__ = [
    "SUBGROUPS", "ALL", "ALL_GROUP", "NOT_KNOWN",
    "load_instruments", "item_catalogue", "response_labels", "prepare_responses", "tally",
    "summarise_items", "level_distribution", "respondent_profile",
    "Codebook", "load_codebook", "check_coding", "code_frequencies",
    "load_benchmarks", "check_published", "check_sums",
    "plan_figures", "draw_figures",
    "run_surveys",
]

#: Subgroups every summary is broken down by (columns added by :func:`prepare_responses`).
SUBGROUPS = ("role", "phase", "provider", "year")
#: Name of the overall "subgroup" and the label of its one group.
ALL = "all"
ALL_GROUP = "All respondents"
#: Group label where the survey does not give the subgroup.
NOT_KNOWN = "Not known"

PHASE_LABELS = {"primary": "Primary", "secondary": "Secondary", "all_through": "All-through",
                "post16": "Post-16", "special": "Special", "other": "Other"}
PROVIDER_LABELS = {"national": "National centre", "regional": "Regional partnership", "other": "Other provider"}
_SUBGROUP_NAMES = {"role": "role", "phase": "phase of school", "provider": "provider", "year": "year"}

_KEYS = ["instrument", "item_id"]


# =========================================================================== instruments

def load_instruments(names: Iterable[str] | None = None, folder: str | Path | None = None
                     ) -> dict[str, "Instrument"]:
    """Instrument definitions by name (all of ``schemas/instruments/`` when ``names`` is None)."""
    from .ingest.surveys import list_instruments, load_instrument

    names = list(names) if names is not None else list_instruments(folder)
    return {n: load_instrument(n, folder) for n in sorted(set(names))}


def _scale_positive(scale: dict) -> list[str]:
    return [str(x) for x in scale.get("positive") or []]


def item_catalogue(instruments: Mapping[str, "Instrument"]) -> pl.DataFrame:
    """One row per item and multi-select option of every instrument, in questionnaire order.

    Columns: instrument, instrument_title, item_id, question_id, kind (single/multi), block, scale,
    item_order, item_text, question_text, rank_set (the items a rank is computed within).
    """
    rows = []
    for name in sorted(instruments):
        inst = instruments[name]
        order = 0
        for item in inst.items:
            rows.append({"instrument": name, "instrument_title": inst.title, "item_id": item["id"],
                         "question_id": item["id"], "kind": "single", "block": item.get("block") or "items",
                         "scale": item["scale"], "item_order": order, "item_text": item["text"],
                         "question_text": item["text"],
                         "rank_set": f"{item.get('block') or 'items'}|{item['scale']}"})
            order += 1
        for q in inst.multi_select:
            for opt in q["options"]:
                rows.append({"instrument": name, "instrument_title": inst.title,
                             "item_id": f"{q['id']}:{opt['id']}", "question_id": q["id"], "kind": "multi",
                             "block": q.get("block") or q["id"], "scale": "ticked", "item_order": order,
                             "item_text": opt["text"], "question_text": q["text"], "rank_set": f"multi|{q['id']}"})
                order += 1
    schema = {"instrument": pl.Utf8, "instrument_title": pl.Utf8, "item_id": pl.Utf8, "question_id": pl.Utf8,
              "kind": pl.Utf8, "block": pl.Utf8, "scale": pl.Utf8, "item_order": pl.Int64,
              "item_text": pl.Utf8, "question_text": pl.Utf8, "rank_set": pl.Utf8}
    return pl.DataFrame(rows, schema=schema, orient="row")


def response_labels(instruments: Mapping[str, "Instrument"]) -> pl.DataFrame:
    """Every answer each item can receive, with its order and what it counts as.

    Columns: instrument, item_id, response, level_order (scale order, best first; not-substantive codes
    after the levels), substantive, positive, top (booleans). Multi-select options: "1" (ticked) is
    substantive, positive and top; "0" (not ticked) is substantive only.
    """
    rows = []
    for name in sorted(instruments):
        inst = instruments[name]
        for item in inst.items:
            scale = inst.scale(item)
            positive, top = set(_scale_positive(scale)), {str(x) for x in scale.get("top") or []}
            levels = [str(x) for x in scale["levels"]]
            for i, lv in enumerate(levels):
                rows.append((name, item["id"], lv, i, True, lv in positive, lv in top))
            for j, ns in enumerate(str(x) for x in scale.get("not_substantive") or []):
                rows.append((name, item["id"], ns, len(levels) + j, False, False, False))
        for q in inst.multi_select:
            for opt in q["options"]:
                iid = f"{q['id']}:{opt['id']}"
                rows.append((name, iid, "1", 0, True, True, True))
                rows.append((name, iid, "0", 1, True, False, False))
    schema = {"instrument": pl.Utf8, "item_id": pl.Utf8, "response": pl.Utf8, "level_order": pl.Int64,
              "substantive": pl.Boolean, "positive": pl.Boolean, "top": pl.Boolean}
    return pl.DataFrame(rows, schema=schema, orient="row")


# =========================================================================== subgroups

def prepare_responses(responses: pl.DataFrame, *, schools: pl.DataFrame | None = None,
                      activities: pl.DataFrame | None = None, fy_start_month: int = FY_START_MONTH) -> pl.DataFrame:
    """The long responses with one column per subgroup (:data:`SUBGROUPS`), "Not known" where unknown.

    ``schools``: the register (``urn``, ``phase_group``); ``activities``: bookings or any table with
    ``activity_id`` and ``provider`` (an activity delivered by several providers takes the most frequent,
    ties to the first alphabetically). Without them phase / provider are "Not known".
    """
    from .calendar import financial_year_expr

    df = responses
    if schools is not None and schools.height:
        ph = (schools.select("urn", "phase_group").drop_nulls("urn").unique("urn", keep="first")
              .with_columns(pl.col("urn").cast(pl.Int64),
                            pl.col("phase_group").replace_strict(PHASE_LABELS, default=pl.col("phase_group"))
                            .alias("phase")))
        df = df.with_columns(pl.col("urn").cast(pl.Int64)).join(ph.select("urn", "phase"), on="urn", how="left")
    else:
        df = df.with_columns(pl.lit(None, dtype=pl.Utf8).alias("phase"))
    if activities is not None and activities.height:
        pv = (activities.select("activity_id", "provider").drop_nulls()
              .group_by("activity_id", "provider").len()
              .sort(["activity_id", "len", "provider"], descending=[False, True, False])
              .unique("activity_id", keep="first", maintain_order=True)
              .with_columns(pl.col("provider").replace_strict(PROVIDER_LABELS, default=pl.col("provider"))))
        df = df.join(pv.select("activity_id", "provider"), on="activity_id", how="left")
    else:
        df = df.with_columns(pl.lit(None, dtype=pl.Utf8).alias("provider"))
    df = df.with_columns(
        pl.when(pl.col("role").str.strip_chars().str.len_chars() > 0).then(pl.col("role").str.strip_chars())
        .otherwise(pl.lit(NOT_KNOWN)).alias("role"),
        pl.col("phase").fill_null(NOT_KNOWN),
        pl.col("provider").fill_null(NOT_KNOWN),
        financial_year_expr("submitted", fy_start_month).fill_null(NOT_KNOWN).alias("year"),
    )
    return df


def _group_orders(groups: pl.DataFrame, instruments: Mapping[str, "Instrument"]) -> pl.DataFrame:
    """Display order of each (instrument, subgroup, group): a defined order, then alphabetical, "Not known" last."""
    rows = []
    phase_order = list(PHASE_LABELS.values())
    provider_order = list(PROVIDER_LABELS.values())
    for (inst, sub), part in groups.group_by(["instrument", "subgroup"], maintain_order=True):
        values = sorted(set(part["group"].to_list()))
        if sub == "role" and inst in instruments:
            defined = [str(r) for r in instruments[inst].definition.get("roles") or []]
        elif sub == "phase":
            defined = phase_order
        elif sub == "provider":
            defined = provider_order
        else:
            defined = []
        ordered = [v for v in defined if v in values] + [v for v in values if v not in defined and v != NOT_KNOWN]
        if NOT_KNOWN in values:
            ordered.append(NOT_KNOWN)
        rows += [(inst, sub, g, i) for i, g in enumerate(ordered)]
    return pl.DataFrame(rows, schema={"instrument": pl.Utf8, "subgroup": pl.Utf8, "group": pl.Utf8,
                                      "group_order": pl.Int64}, orient="row")


def tally(prepared: pl.DataFrame, subgroups: Sequence[str] = SUBGROUPS) -> pl.DataFrame:
    """Answer counts per (instrument, item, response) overall and per value of each subgroup.

    Columns: instrument, item_id, response, subgroup ("all" or a subgroup name), group, count.
    """
    keys = [*_KEYS, "response"]
    fine = prepared.group_by([*keys, *subgroups]).len("count")
    parts = [fine.group_by(keys).agg(pl.col("count").sum())
             .with_columns(pl.lit(ALL).alias("subgroup"), pl.lit(ALL_GROUP).alias("group"))]
    for s in subgroups:
        parts.append(fine.group_by([*keys, s]).agg(pl.col("count").sum())
                     .rename({s: "group"}).with_columns(pl.lit(s).alias("subgroup")))
    cols = [*keys, "subgroup", "group", "count"]
    return pl.concat([p.select(pl.col(c).cast(pl.Utf8) if c != "count" else pl.col(c).cast(pl.Int64)
                               for c in cols) for p in parts])


def _labelled(counts: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    t = counts.join(labels, on=[*_KEYS, "response"], how="left")
    bad = t.filter(pl.col("level_order").is_null())
    if bad.height:
        ex = bad.group_by([*_KEYS, "response"]).agg(pl.col("count").sum()).sort([*_KEYS, "response"]).head(5)
        listing = "; ".join(f"{r['instrument']}.{r['item_id']} = {r['response']!r}" for r in ex.iter_rows(named=True))
        raise InputError("survey responses", f"{bad.height} answer(s) are not labels of their item's scale "
                         f"in the instrument definition (e.g. {listing})",
                         rule="answers must be scale levels or not-substantive codes (schemas/instruments/)")
    return t


def _groups_present(counts: pl.DataFrame) -> pl.DataFrame:
    return counts.select("instrument", "subgroup", "group").unique()


def _check_known_instruments(prepared: pl.DataFrame, instruments: Mapping[str, "Instrument"]) -> None:
    unknown = sorted(set(prepared["instrument"].unique().to_list()) - set(instruments))
    if unknown:
        raise InputError("survey responses", f"responses to instrument(s) {unknown} have no definition",
                         rule="every instrument needs schemas/instruments/<name>.yaml")


# =========================================================================== summaries

def summarise_items(prepared: pl.DataFrame, instruments: Mapping[str, "Instrument"], *,
                    subgroups: Sequence[str] = SUBGROUPS, z: float = Z95, rank_decimals: int = 0,
                    counts: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per item (and multi-select option), overall and by subgroup: n, % positive, % top, % not substantive,
    Wilson intervals and ranks. The table's contract is ``schemas/survey_item_summary.yaml``.

    ``prepared`` comes from :func:`prepare_responses`; ``counts`` (from :func:`tally`) may be passed to
    avoid counting twice. Every item appears for every group of its instrument's respondents (with zeros
    where nobody in the group answered it).
    """
    _check_known_instruments(prepared, instruments)
    counts = tally(prepared, subgroups) if counts is None else counts
    cat = item_catalogue(instruments)
    t = _labelled(counts, response_labels(instruments))
    agg = t.group_by([*_KEYS, "subgroup", "group"]).agg(
        pl.col("count").sum().alias("respondents"),
        pl.col("count").filter(pl.col("substantive")).sum().alias("n_substantive"),
        pl.col("count").filter(pl.col("positive")).sum().alias("n_positive"),
        pl.col("count").filter(pl.col("top")).sum().alias("n_top"),
        pl.col("count").filter(~pl.col("substantive")).sum().alias("n_not_substantive"),
    )
    groups = _groups_present(counts)
    full = (groups.join(cat, on="instrument", how="inner")
            .join(agg, on=[*_KEYS, "subgroup", "group"], how="left")
            .with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in
                          ("respondents", "n_substantive", "n_positive", "n_top", "n_not_substantive"))
            .join(_group_orders(groups, instruments), on=["instrument", "subgroup", "group"], how="left"))
    exprs = []
    for name, k, n in (("pct_positive", "n_positive", "n_substantive"), ("pct_top", "n_top", "n_substantive"),
                       ("pct_not_substantive", "n_not_substantive", "respondents")):
        lo, hi = wilson_exprs(k, n, z, scale=100.0)
        exprs += [pl.when(pl.col(n) > 0).then(100.0 * pl.col(k) / pl.col(n)).otherwise(None).alias(name),
                  lo.alias(f"{name}_lower"), hi.alias(f"{name}_upper")]
    full = full.with_columns(exprs)
    over = ["instrument", "rank_set", "subgroup", "group"]
    for what in ("positive", "top"):
        shown = d.round_half_away_expr(f"pct_{what}", rank_decimals)
        rank = shown.rank(method="min", descending=True).over(over).cast(pl.Int64)
        full = full.with_columns(rank.alias(f"rank_{what}"))
        full = full.with_columns(rank_label_expr(f"rank_{what}", over).alias(f"rank_{what}_label"))
    sub_order = {s: i for i, s in enumerate([ALL, *subgroups])}
    from .contracts import load_contract

    cols = load_contract("survey_item_summary").column_names
    return (full.with_columns(pl.col("subgroup").replace_strict(sub_order, default=99).alias("_so"))
            .sort(["instrument", "_so", "group_order", "item_order"]).select(cols))


def level_distribution(prepared: pl.DataFrame, instruments: Mapping[str, "Instrument"], *,
                       subgroups: Sequence[str] = SUBGROUPS, counts: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every answer of every single-answer item, overall and by subgroup, with its count and percentages.

    One row per (instrument, item, subgroup, group, answer), including answers nobody gave (count 0), so a
    published frequency table shows every category (seed 002, Tables 6 to 8). Columns: instrument,
    item_id, block, scale, item_order, item_text, subgroup, group, group_order, response, level_order,
    substantive, positive, top, count, respondents, n_substantive, pct_of_substantive (null for
    not-substantive answers), pct_of_respondents.
    """
    _check_known_instruments(prepared, instruments)
    counts = tally(prepared, subgroups) if counts is None else counts
    labels = response_labels(instruments)
    cat = item_catalogue(instruments).filter(pl.col("kind") == "single")
    t = _labelled(counts, labels).select([*_KEYS, "subgroup", "group", "response", "count"])
    groups = _groups_present(counts)
    full = (groups.join(cat.select("instrument", "item_id", "block", "scale", "item_order", "item_text"),
                        on="instrument", how="inner")
            .join(labels, on=_KEYS, how="inner")
            .join(t, on=[*_KEYS, "subgroup", "group", "response"], how="left")
            .with_columns(pl.col("count").fill_null(0).cast(pl.Int64)))
    item_keys = [*_KEYS, "subgroup", "group"]
    full = full.with_columns(
        pl.col("count").sum().over(item_keys).alias("respondents"),
        pl.col("count").filter(pl.col("substantive")).sum().over(item_keys).alias("n_substantive"),
    ).with_columns(
        pl.when(pl.col("substantive") & (pl.col("n_substantive") > 0))
        .then(100.0 * pl.col("count") / pl.col("n_substantive")).otherwise(None).alias("pct_of_substantive"),
        pl.when(pl.col("respondents") > 0).then(100.0 * pl.col("count") / pl.col("respondents"))
        .otherwise(None).alias("pct_of_respondents"),
    ).join(_group_orders(groups, instruments), on=["instrument", "subgroup", "group"], how="left")
    sub_order = {s: i for i, s in enumerate([ALL, *subgroups])}
    return (full.with_columns(pl.col("subgroup").replace_strict(sub_order, default=99).alias("_so"))
            .sort(["instrument", "_so", "group_order", "item_order", "level_order"])
            .select("instrument", "item_id", "block", "scale", "item_order", "item_text", "subgroup", "group",
                    "group_order", "response", "level_order", "substantive", "positive", "top", "count",
                    "respondents", "n_substantive", "pct_of_substantive", "pct_of_respondents"))


def respondent_profile(prepared: pl.DataFrame, instruments: Mapping[str, "Instrument"], *,
                       subgroups: Sequence[str] = SUBGROUPS, z: float = Z95) -> pl.DataFrame:
    """Who answered each instrument: respondents per value of each subgroup (seed 002, Table 5).

    ``pct`` is over the respondents whose value is known (Table 5's base is those who gave a role);
    "Not known" rows carry their count and a null percentage. Columns: instrument, subgroup, group,
    group_order, respondents, known (the base), all_respondents, pct, pct_lower, pct_upper.
    """
    people = prepared.select("instrument", "respondent_id", *subgroups).unique(["instrument", "respondent_id"],
                                                                               keep="first")
    parts = []
    for s in subgroups:
        parts.append(people.group_by("instrument", s).len("respondents").rename({s: "group"})
                     .with_columns(pl.lit(s).alias("subgroup")))
    cols = ["instrument", "subgroup", "group", "respondents"]
    empty = pl.DataFrame(schema={"instrument": pl.Utf8, "subgroup": pl.Utf8, "group": pl.Utf8,
                                 "respondents": pl.Int64})
    prof = pl.concat([p.select(pl.col(c).cast(empty.schema[c]) for c in cols) for p in parts]) if parts else empty
    prof = prof.with_columns(
        pl.col("respondents").sum().over("instrument", "subgroup").alias("all_respondents"),
        pl.col("respondents").filter(pl.col("group") != NOT_KNOWN).sum().over("instrument", "subgroup")
        .alias("known"),
    )
    lo, hi = wilson_exprs("respondents", "known", z, scale=100.0)
    known_row = (pl.col("group") != NOT_KNOWN) & (pl.col("known") > 0)
    prof = prof.with_columns(
        pl.when(known_row).then(100.0 * pl.col("respondents") / pl.col("known")).otherwise(None).alias("pct"),
        pl.when(known_row).then(lo).otherwise(None).alias("pct_lower"),
        pl.when(known_row).then(hi).otherwise(None).alias("pct_upper"),
    ).join(_group_orders(prof.select("instrument", "subgroup", "group"), instruments),
           on=["instrument", "subgroup", "group"], how="left")
    sub_order = {s: i for i, s in enumerate(subgroups)}
    return (prof.with_columns(pl.col("subgroup").replace_strict(sub_order, default=99).alias("_so"))
            .sort(["instrument", "_so", "group_order"])
            .select("instrument", "subgroup", "group", "group_order", "respondents", "known", "all_respondents",
                    "pct", "pct_lower", "pct_upper"))


# =========================================================================== coded free text

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Codebook:
    """A versioned codebook for one free-text question."""

    version: str
    title: str
    codes: tuple[dict, ...]
    instrument: str | None = None
    question: str | None = None
    path: str = ""
    history: tuple[dict, ...] = field(default_factory=tuple)

    @property
    def ids(self) -> list[str]:
        return [c["id"] for c in self.codes]

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame({"code": self.ids, "label": [c.get("label") or c["id"] for c in self.codes],
                             "description": [" ".join(str(c.get("description") or "").split()) for c in self.codes],
                             "code_order": list(range(len(self.codes)))},
                            schema={"code": pl.Utf8, "label": pl.Utf8, "description": pl.Utf8,
                                    "code_order": pl.Int64})


def load_codebook(path: str | Path) -> Codebook:
    """Read and check a codebook YAML (version, title, codes with id, label, description)."""
    from .config import safe_yaml

    path = Path(path)
    try:
        data = safe_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"codebook {path} not found") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a codebook is a mapping with version, title and codes")
    version = data.get("version")
    if version is None or not str(version).strip():
        raise ConfigError(f"{path}: the codebook has no 'version'")
    codes = data.get("codes") or []
    if not codes:
        raise ConfigError(f"{path}: the codebook lists no codes")
    seen = set()
    for i, c in enumerate(codes, start=1):
        cid = c.get("id") if isinstance(c, dict) else None
        if not cid or not _CODE_RE.match(str(cid)):
            raise ConfigError(f"{path}: code {i} needs an id in lower_snake_case (got {cid!r})")
        if cid in seen:
            raise ConfigError(f"{path}: code {cid!r} is listed twice")
        if not str(c.get("description") or "").strip():
            raise ConfigError(f"{path}: code {cid!r} has no description")
        seen.add(cid)
    return Codebook(version=str(version), title=str(data.get("title") or path.stem), codes=tuple(codes),
                    instrument=data.get("instrument"), question=data.get("question"), path=str(path),
                    history=tuple(data.get("history") or ()))


_ISSUE_SCHEMA = {"issue": pl.Utf8, "codebook_version": pl.Utf8, "code": pl.Utf8, "rows": pl.Int64,
                 "responses": pl.Int64, "counted": pl.Boolean, "detail": pl.Utf8}


def check_coding(coded: pl.DataFrame, codebook: Codebook, respondent_ids: Iterable[str] | None = None
                 ) -> pl.DataFrame:
    """Problems in the coded responses, one row per problem (empty when there are none).

    * ``version_mismatch``: rows coded with another codebook version (not counted: their codes cannot
      be read with this codebook);
    * ``unknown_code``: rows of this version whose code the codebook does not list (not counted);
    * ``unknown_response``: coded responses that have no answers in the survey responses (counted, but
      their subgroups are not known) -- only checked when ``respondent_ids`` is given.
    """
    rows = []
    c = coded.select("response_id", "code", pl.col("codebook_version").cast(pl.Utf8))
    other = c.filter(pl.col("codebook_version") != codebook.version)
    for (ver,), part in other.group_by(["codebook_version"], maintain_order=True):
        rows.append(("version_mismatch", ver, None, part.height, part["response_id"].n_unique(), False,
                     f"{part.height} code(s) on {part['response_id'].n_unique()} response(s) were applied with "
                     f"codebook version {ver}; this codebook ({codebook.path or codebook.title}) is version "
                     f"{codebook.version}. They are not counted: re-code them or map them to version "
                     f"{codebook.version}."))
    same = c.filter(pl.col("codebook_version") == codebook.version)
    unknown = same.filter(~pl.col("code").is_in(codebook.ids))
    for (code,), part in unknown.group_by(["code"], maintain_order=True):
        rows.append(("unknown_code", codebook.version, code, part.height, part["response_id"].n_unique(), False,
                     f"code {code!r} is not in codebook version {codebook.version} "
                     f"({part.height} row(s)); it is not counted. Known codes: {', '.join(codebook.ids)}."))
    if respondent_ids is not None:
        valid = same.filter(pl.col("code").is_in(codebook.ids))
        known = pl.DataFrame({"response_id": list(respondent_ids)}, schema={"response_id": pl.Utf8}).unique()
        orphan = valid.join(known, on="response_id", how="anti")
        if orphan.height:
            rows.append(("unknown_response", codebook.version, None, orphan.height,
                         orphan["response_id"].n_unique(), True,
                         f"{orphan['response_id'].n_unique()} coded response(s) have no answers in the "
                         f"{codebook.instrument or 'survey'} responses; they are counted, with every subgroup "
                         f"'{NOT_KNOWN}'."))
    out = pl.DataFrame(rows, schema=_ISSUE_SCHEMA, orient="row")
    return out.sort(["issue", "codebook_version", "code"], nulls_last=True)


def code_frequencies(coded: pl.DataFrame, codebook: Codebook, prepared: pl.DataFrame | None = None, *,
                     subgroups: Sequence[str] = SUBGROUPS, z: float = Z95,
                     instruments: Mapping[str, "Instrument"] | None = None) -> pl.DataFrame:
    """How often each code was applied, overall and by subgroup (seed 002, Tables 9 and 10).

    Counts only rows coded with the codebook's version and a code it lists (see :func:`check_coding`).
    ``comments`` = responses given the code; ``base`` = coded responses in the group (a response with
    several codes counts once in the base and once under each code, so percentages can add up to more
    than 100). Every code appears in every group, with zeros. Ranks are competition ranks of the count.
    Subgroups come from the respondents of ``codebook.instrument`` in ``prepared``.
    """
    valid = (coded.filter((pl.col("codebook_version").cast(pl.Utf8) == codebook.version)
                          & pl.col("code").is_in(codebook.ids))
             .select("response_id", "code").unique())
    if prepared is not None and prepared.height:
        people = prepared
        if codebook.instrument:
            people = people.filter(pl.col("instrument") == codebook.instrument)
        people = (people.select(pl.col("respondent_id").alias("response_id"), *subgroups)
                  .unique("response_id", keep="first"))
        valid = valid.join(people, on="response_id", how="left")
    else:
        valid = valid.with_columns(pl.lit(None, dtype=pl.Utf8).alias(s) for s in subgroups)
    valid = valid.with_columns(pl.col(s).fill_null(NOT_KNOWN) for s in subgroups)
    parts = [valid.with_columns(pl.lit(ALL).alias("subgroup"), pl.lit(ALL_GROUP).alias("group"))]
    for s in subgroups:
        parts.append(valid.with_columns(pl.lit(s).alias("subgroup"), pl.col(s).alias("group")))
    long = pl.concat([p.select("response_id", "code", "subgroup", "group") for p in parts])
    base = long.group_by("subgroup", "group").agg(pl.col("response_id").n_unique().alias("base"))
    counts = long.group_by("subgroup", "group", "code").agg(pl.col("response_id").n_unique().alias("comments"))
    cb = codebook.frame()
    if base.height == 0:
        base = pl.DataFrame({"subgroup": [ALL], "group": [ALL_GROUP], "base": [0]},
                            schema={"subgroup": pl.Utf8, "group": pl.Utf8, "base": pl.Int64})
    full = (base.join(cb, how="cross").join(counts, on=["subgroup", "group", "code"], how="left")
            .with_columns(pl.col("comments").fill_null(0).cast(pl.Int64), pl.col("base").cast(pl.Int64)))
    lo, hi = wilson_exprs("comments", "base", z, scale=100.0)
    full = full.with_columns(
        pl.when(pl.col("base") > 0).then(100.0 * pl.col("comments") / pl.col("base")).otherwise(None).alias("pct"),
        lo.alias("pct_lower"), hi.alias("pct_upper"),
        pl.col("comments").rank(method="min", descending=True).over("subgroup", "group").cast(pl.Int64)
        .alias("rank"),
    ).with_columns(rank_label_expr("rank", ["subgroup", "group"]).alias("rank_label"))
    groups = full.select(pl.lit(codebook.instrument or "coded").alias("instrument"), "subgroup", "group").unique()
    orders = _group_orders(groups, instruments or {}).drop("instrument")
    sub_order = {s: i for i, s in enumerate([ALL, *subgroups])}
    return (full.join(orders, on=["subgroup", "group"], how="left")
            .with_columns(pl.col("subgroup").replace_strict(sub_order, default=99).alias("_so"),
                          pl.lit(codebook.version).alias("codebook_version"))
            .sort(["_so", "group_order", "rank", "code_order"])
            .select("codebook_version", "subgroup", "group", "group_order", "code", "label", "description",
                    "code_order", "comments", "base", "pct", "pct_lower", "pct_upper", "rank", "rank_label"))


# =========================================================================== benchmarks and published figures

_BENCH_REQUIRED = ("id", "source", "item", "measure", "value", "scale", "respondents")
_BENCH_SCHEMA = {"id": pl.Utf8, "source": pl.Utf8, "source_short": pl.Utf8, "period": pl.Utf8,
                 "cited_in": pl.Utf8, "item": pl.Utf8, "measure": pl.Utf8, "value": pl.Float64,
                 "scale": pl.Utf8, "respondents": pl.Utf8, "n": pl.Int64, "compare_instrument": pl.Utf8,
                 "compare_item": pl.Utf8, "compare_block": pl.Utf8, "note": pl.Utf8}


def load_benchmarks(path: str | Path, instruments: Mapping[str, "Instrument"] | None = None
                    ) -> dict[str, pl.DataFrame]:
    """Read ``config/benchmarks.yaml``: ``benchmarks``, ``published``, ``sums`` and ``notes`` as frames.

    Checks that every benchmark has its source, item, measure, value (0-100), scale and respondents, that
    ids are unique, and (given ``instruments``) that ``compare_with`` names an existing item or block.
    """
    from .config import safe_yaml

    path = Path(path)
    try:
        data = safe_yaml(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"benchmarks file {path} not found") from None
    rows, seen = [], set()
    for i, b in enumerate(data.get("benchmarks") or [], start=1):
        missing = [k for k in _BENCH_REQUIRED if b.get(k) in (None, "")]
        if missing:
            raise ConfigError(f"{path}: benchmark {i} ({b.get('id', '?')}) lacks {', '.join(missing)}")
        if b["id"] in seen:
            raise ConfigError(f"{path}: benchmark id {b['id']!r} is used twice")
        seen.add(b["id"])
        value = b["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
            raise ConfigError(f"{path}: benchmark {b['id']!r} value must be a percentage 0-100, got {value!r}")
        cw = b.get("compare_with") or {}
        if cw and instruments is not None:
            inst = instruments.get(cw.get("instrument"))
            if inst is None:
                raise ConfigError(f"{path}: benchmark {b['id']!r} compares with unknown instrument "
                                  f"{cw.get('instrument')!r}")
            items = {it["id"] for it in inst.items}
            blocks = {it.get("block") for it in inst.items} | {q.get("block") for q in inst.multi_select}
            if cw.get("item") and cw["item"] not in items:
                raise ConfigError(f"{path}: benchmark {b['id']!r} compares with unknown item "
                                  f"{cw['instrument']}.{cw['item']}")
            if cw.get("block") and cw["block"] not in blocks:
                raise ConfigError(f"{path}: benchmark {b['id']!r} compares with unknown block "
                                  f"{cw['instrument']}.{cw['block']}")
        rows.append({"id": b["id"], "source": b["source"], "source_short": b.get("source_short") or b["source"],
                     "period": str(b.get("period") or "not stated"), "cited_in": b.get("cited_in"),
                     "item": " ".join(str(b["item"]).split()), "measure": b["measure"], "value": float(value),
                     "scale": str(b["scale"]), "respondents": b["respondents"], "n": b.get("n"),
                     "compare_instrument": cw.get("instrument"), "compare_item": cw.get("item"),
                     "compare_block": cw.get("block"), "note": " ".join(str(b.get("note") or "").split()) or None})
    bench = pl.DataFrame(rows, schema=_BENCH_SCHEMA)
    published = pl.DataFrame(
        [{"source": p["source"], "statement": p["statement"], "pct": float(p["pct"]), "n": int(p["n"]),
          "k": p.get("k"), "decimals": int(p.get("decimals", 0)), "note": p.get("note")}
         for p in data.get("published") or []],
        schema={"source": pl.Utf8, "statement": pl.Utf8, "pct": pl.Float64, "n": pl.Int64, "k": pl.Int64,
                "decimals": pl.Int64, "note": pl.Utf8})
    sums = pl.DataFrame(
        [{"source": s["source"], "statement": s["statement"], "parts": [float(x) for x in s["parts"]],
          "total": float(s["total"]), "note": s.get("note")} for s in data.get("sums") or []],
        schema={"source": pl.Utf8, "statement": pl.Utf8, "parts": pl.List(pl.Float64), "total": pl.Float64,
                "note": pl.Utf8})
    notes = pl.DataFrame([{"source": n["source"], "note": " ".join(str(n["note"]).split())}
                          for n in data.get("notes") or []], schema={"source": pl.Utf8, "note": pl.Utf8})
    return {"benchmarks": bench, "published": published, "sums": sums, "notes": notes}


def _num(x: float) -> str:
    return d.fmt_count(x) if float(x).is_integer() else d.fmt_number(x, 1)


def check_published(published: pl.DataFrame) -> pl.DataFrame:
    """For each published percentage with its base: can it have arisen, and from which counts?

    Adds ``consistent`` (bool), ``counts`` (the whole counts of n that give it, half away from zero) and
    ``finding`` (words: "88/95 = 92.6%" or "no count of 45 gives 95%: 42/45 = 93.3%, 43/45 = 95.6%").
    Where the report prints the count k too, consistent means k/n gives the percentage.
    """
    out = []
    for r in published.iter_rows(named=True):
        pct, n, k, nd = r["pct"], r["n"], r["k"], r["decimals"]
        ptxt = str(int(pct)) if float(pct).is_integer() else str(pct)
        ks = counts_giving(ptxt, n, nd)
        if k is not None:
            ok = rounds_to(k, n, ptxt, nd)
            shown = d.fmt_pct(100 * k / n, max(nd, 1))
            finding = (f"{d.fmt_count(k)}/{d.fmt_count(n)} = {shown}, which rounds to {ptxt}%" if ok else
                       f"{d.fmt_count(k)}/{d.fmt_count(n)} = {shown}, which does not round to {ptxt}%"
                       + (f"; the counts that do are {_span(ks)}" if ks else ""))
        else:
            ok = bool(ks)
            if ok:
                finding = f"{_span(ks)} of {d.fmt_count(n)} gives {ptxt}%"
            else:
                lo = max((j for j in range(n + 1) if 100 * j / n < pct), default=None)
                hi = min((j for j in range(n + 1) if 100 * j / n > pct), default=None)
                near = ", ".join(f"{j}/{n} = {d.fmt_pct(100 * j / n, 1)}" for j in (lo, hi) if j is not None)
                finding = f"no count of {d.fmt_count(n)} gives {ptxt}% ({near})"
        out.append({**r, "consistent": ok, "counts": _span(ks) if ks else "", "finding": finding})
    schema = {**published.schema, "consistent": pl.Boolean, "counts": pl.Utf8, "finding": pl.Utf8}
    return pl.DataFrame(out, schema=schema)


def _span(ks: list[int]) -> str:
    if not ks:
        return ""
    if len(ks) == 1:
        return d.fmt_count(ks[0])
    return f"{d.fmt_count(ks[0])} to {d.fmt_count(ks[-1])}"


def check_sums(sums: pl.DataFrame) -> pl.DataFrame:
    """Whether published parts add up to their published total; adds ``sum``, ``consistent``, ``finding``."""
    out = []
    for r in sums.iter_rows(named=True):
        s = sum(r["parts"])
        ok = abs(s - r["total"]) < 1e-9
        finding = (f"the parts add up to {_num(s)}" + ("" if ok else f", not {_num(r['total'])}"))
        out.append({**r, "sum": s, "consistent": ok, "finding": finding})
    return pl.DataFrame(out, schema={**sums.schema, "sum": pl.Float64, "consistent": pl.Boolean,
                                     "finding": pl.Utf8})


# =========================================================================== figures

@dataclass(frozen=True)
class FigureSpec:
    """One figure the survey stage draws."""

    key: str                 # unique; also the file stem (dots become "__")
    kind: str                # diverging | levels | ordered | multiples
    instrument: str
    block: str
    items: tuple[str, ...]   # item ids in display order
    subgroup: str = ALL

    @property
    def file(self) -> str:
        return self.key.replace(".", "__") + ".png"


def plan_figures(summary: pl.DataFrame, instruments: Mapping[str, "Instrument"], *,
                 subgroups: Sequence[str] = SUBGROUPS, threshold: int) -> list[FigureSpec]:
    """Which figures to draw, from the instrument definitions and the data.

    Per block, items sharing a scale of three or more levels: a **diverging stacked bar** when there are
    several (agreement and 1-4 ratings), **ordered level bars** when there is one (an overall rating, a
    satisfaction rating). Yes/no items and multi-select options: **ordered bars** of % yes / % ticked.
    For each of those, **small multiples** by every subgroup with at least two groups (other than "Not
    known") of ``threshold`` or more respondents.
    """
    specs: list[FigureSpec] = []
    overall = summary.filter(pl.col("subgroup") == ALL)
    present = set(overall.filter(pl.col("respondents") > 0)["instrument"].unique().to_list())
    for name in sorted(instruments):
        if name not in present:
            continue
        inst = instruments[name]
        cat = item_catalogue({name: inst})
        for block in cat["block"].unique(maintain_order=True).to_list():
            part = cat.filter(pl.col("block") == block)
            singles = part.filter(pl.col("kind") == "single")
            main: list[FigureSpec] = []
            small_scale_items: list[str] = []
            for scale in singles["scale"].unique(maintain_order=True).to_list():
                ids = singles.filter(pl.col("scale") == scale)["item_id"].to_list()
                n_levels = len(inst.scales[scale]["levels"])
                if n_levels >= 3 and len(ids) >= 2:
                    main.append(FigureSpec(f"{name}.{block}.{scale}", "diverging", name, block, tuple(ids)))
                elif n_levels >= 3:
                    main.append(FigureSpec(f"{name}.{ids[0]}", "levels", name, block, tuple(ids)))
                else:
                    small_scale_items += ids
            small_scale_items += part.filter(pl.col("kind") == "multi")["item_id"].to_list()
            if small_scale_items:
                main.append(FigureSpec(f"{name}.{block}.ordered", "ordered", name, block, tuple(small_scale_items)))
            for spec in main:
                has = overall.filter((pl.col("instrument") == name) & pl.col("item_id").is_in(list(spec.items))
                                     & (pl.col("respondents") > 0))
                if not has.height:
                    continue
                specs.append(spec)
                for s in subgroups:
                    sub = summary.filter((pl.col("instrument") == name) & (pl.col("subgroup") == s)
                                         & (pl.col("group") != NOT_KNOWN) & pl.col("item_id").is_in(list(spec.items)))
                    reportable = sub.group_by("group").agg(pl.col("n_substantive").max()) \
                        .filter(pl.col("n_substantive") >= threshold)
                    if reportable.height >= 2:
                        specs.append(FigureSpec(f"{spec.key}.by_{s}", "multiples", name, block, spec.items, s))
    return specs


_POS_COLOURS = ("#0072B2", "#56B4E9", "#A9D6F5", "#D6ECFA")   # strongest first (Okabe-Ito blue family)
_NEG_COLOURS = ("#D55E00", "#E69F00", "#F3C77A", "#F7DDB0")   # strongest first (vermillion, orange)


def _wrap(text: str, width: int = 44) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _levels_of(inst: "Instrument", item_id: str) -> tuple[list[str], list[str], list[str]]:
    item = next(it for it in inst.items if it["id"] == item_id)
    scale = inst.scale(item)
    return ([str(x) for x in scale["levels"]], _scale_positive(scale), [str(x) for x in scale.get("not_substantive") or []])


def _label_of(scale: dict, level: str) -> str:
    labels = scale.get("labels") or {}
    return str(labels.get(level, level))


def _positive_phrase(scale: dict) -> str:
    """The positive answers as words: "strongly agree or agree", "1 or 2"."""
    pos = [_label_of(scale, p) for p in _scale_positive(scale)]
    return " or ".join(p if p.isdigit() else p.lower() for p in pos)


def _answered(scale: dict) -> str:
    """Verb phrase for giving a positive answer: "answered strongly agree or agree", "gave a rating of 1 or 2"."""
    pos = [_label_of(scale, p) for p in _scale_positive(scale)]
    if pos and all(p.isdigit() for p in pos):
        return "gave a rating of " + _positive_phrase(scale)
    return "answered " + _positive_phrase(scale)


def _row(summary: pl.DataFrame, instrument: str, item_id: str, subgroup: str = ALL, group: str | None = None
         ) -> dict | None:
    f = (pl.col("instrument") == instrument) & (pl.col("item_id") == item_id) & (pl.col("subgroup") == subgroup)
    if group is not None:
        f = f & (pl.col("group") == group)
    rows = summary.filter(f)
    return rows.row(0, named=True) if rows.height else None


class _FigureRows:
    """The summary and answer rows the figures read, indexed once for all figures (filtering the tables
    again for every item of every figure took a tenth of the drawing time)."""

    def __init__(self, summary: pl.DataFrame, levels: pl.DataFrame):
        #: (instrument, item_id) -> the item's overall summary row
        self.overall: dict[tuple[str, str], dict] = {}
        for r in summary.filter(pl.col("subgroup") == ALL).iter_rows(named=True):
            self.overall.setdefault((r["instrument"], r["item_id"]), r)
        #: (instrument, subgroup) -> summary rows of its groups other than "Not known", in table order
        self.grouped: dict[tuple[str, str], list[dict]] = {}
        for r in summary.filter((pl.col("subgroup") != ALL) & (pl.col("group") != NOT_KNOWN)).iter_rows(named=True):
            self.grouped.setdefault((r["instrument"], r["subgroup"]), []).append(r)
        #: (instrument, item_id) -> overall rows of its substantive answers, in scale order
        self.answers: dict[tuple[str, str], list[dict]] = {}
        for r in (levels.filter((pl.col("subgroup") == ALL) & pl.col("substantive"))
                  .sort("level_order", maintain_order=True).iter_rows(named=True)):
            self.answers.setdefault((r["instrument"], r["item_id"]), []).append(r)


def _draw_diverging(spec: FigureSpec, inst: "Instrument", data: _FigureRows, threshold, source):
    from . import figures as F

    lv_all, positive, _ = _levels_of(inst, spec.items[0])
    scale = inst.scale(next(it for it in inst.items if it["id"] == spec.items[0]))
    pos_levels = [lv for lv in lv_all if lv in positive]
    neg_levels = [lv for lv in lv_all if lv not in positive]
    items = list(spec.items)
    fig, ax = F.new_figure("barh", height_cm=2.2 + 1.35 * len(items))
    ylabels, n_info, alt_parts = [], {}, []
    shown_rows = []
    for y, iid in enumerate(items):
        s = data.overall.get((spec.instrument, iid))
        pct = {r["response"]: r["pct_of_substantive"] for r in data.answers.get((spec.instrument, iid), [])}
        n = s["n_substantive"] if s else 0
        n_info[iid] = n
        ns_txt = ""
        ns_codes = _levels_of(inst, iid)[2]
        if s and ns_codes and s["n_not_substantive"] and s["respondents"] >= threshold:
            ns_txt = f"; {ns_codes[0].lower()} {d.fmt_pct(s['pct_not_substantive'])}"
        ylabels.append(f"{_wrap(s['item_text'] if s else iid)}\n(n = {count_label(n, threshold)}{ns_txt})")
        if n < threshold:
            ax.text(0, y, "c: too few answers to show", ha="center", va="center", fontsize=8, color=F.GREY)
            alt_parts.append(f"{s['item_text'] if s else iid}: suppressed")
            continue
        left = 0.0
        for k, lv in enumerate(reversed(pos_levels)):             # weakest positive next to zero
            w = pct.get(lv) or 0.0
            colour = _POS_COLOURS[len(pos_levels) - 1 - k] if len(pos_levels) - 1 - k < len(_POS_COLOURS) else _POS_COLOURS[-1]
            ax.barh(y, w, left=left, color=colour, height=0.62, label=_label_of(scale, lv) if y == 0 else None)
            if w >= 7 and percent_shown(w, n, threshold):
                ax.text(left + w / 2, y, d.fmt_pct(w), ha="center", va="center",
                        color="white" if k == len(pos_levels) - 1 else "black")
            left += w
        ax.text(left + 1.5, y, d.fmt_pct(s["pct_positive"]) if percent_shown(s["pct_positive"], n, threshold)
                else d.SUPPRESSED, ha="left", va="center", fontweight="bold")
        right = 0.0
        for k, lv in enumerate(neg_levels):                       # mildest negative next to zero
            w = pct.get(lv) or 0.0
            colour = _NEG_COLOURS[len(neg_levels) - 1 - k] if len(neg_levels) - 1 - k < len(_NEG_COLOURS) else _NEG_COLOURS[-1]
            ax.barh(y, -w, left=-right, color=colour, height=0.62, label=_label_of(scale, lv) if y == 0 else None)
            if w >= 7 and percent_shown(w, n, threshold):
                ax.text(-right - w / 2, y, d.fmt_pct(w), ha="center", va="center")
            right += w
        shown_rows.append(s)
        alt_parts.append(f"{s['item_text']}: {d.fmt_pct(s['pct_positive'])} {_answered(scale)} (n = {n})")
    ax.set_yticks(range(len(items)), ylabels, fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="#444444", linewidth=0.8)
    worst = max([0.0] + [r["pct_positive"] is not None and 100 - r["pct_positive"] for r in shown_rows])
    left = 25 * max(1, -(-int(worst + 1) // 25))
    ax.set_xlim(-left, 114)
    ticks = [t for t in (-100, -75, -50, -25, 0, 25, 50, 75, 100) if t >= -left]
    ax.set_xticks(ticks, [f"{abs(t)}%" for t in ticks])
    ax.set_xlabel("% of substantive answers (not-substantive answers excluded)")
    handles, labels_ = ax.get_legend_handles_labels()
    order = [labels_.index(_label_of(scale, lv)) for lv in reversed(lv_all) if _label_of(scale, lv) in labels_]
    if order:
        digits = all(str(lv).isdigit() for lv in lv_all)
        ax.legend([handles[i] for i in order], [labels_[i] for i in order], loc="upper center",
                  bbox_to_anchor=(0.45, -0.16 - 0.02 * (6 - min(len(items), 6))), ncol=len(order), fontsize=8,
                  title=f"Rating ({lv_all[0]} = best)" if digits else None, title_fontsize=8)
    if shown_rows:
        hi = max(shown_rows, key=lambda r: (r["pct_positive"], -r["item_order"]))
        lo = min(shown_rows, key=lambda r: (r["pct_positive"], r["item_order"]))
        if len(shown_rows) > 1 and d.round_half_away(hi["pct_positive"]) != d.round_half_away(lo["pct_positive"]):
            title = (f"Between {d.fmt_pct(lo['pct_positive'])} and {d.fmt_pct(hi['pct_positive'])} "
                     f"{_answered(scale)}; most for '{hi['item_text'].rstrip('.')}'")
        else:
            title = (f"{d.pct_in_words(hi['pct_positive'], capitalize=True)} {_answered(scale)}"
                     + (" to each statement" if len(shown_rows) > 1 else ""))
    else:
        title = "Too few answers to show"
    F.finding_title(ax, _wrap(title, 70))
    caption = (f"{inst.title}: answers to {len(items)} items ({spec.block.replace('_', ' ')} block), as % of "
               f"substantive answers; the bold figure is the % who {_answered(scale)}. Not-substantive answers "
               f"are excluded from the bars and given beside the n. Source: {source}.")
    alt = "Diverging stacked bar chart. " + "; ".join(alt_parts) + "."
    return fig, title, caption, alt, n_info


def _draw_levels(spec: FigureSpec, inst: "Instrument", data: _FigureRows, threshold, source):
    from . import figures as F

    iid = spec.items[0]
    item = next(it for it in inst.items if it["id"] == iid)
    scale = inst.scale(item)
    s = data.overall.get((spec.instrument, iid))
    dist = data.answers.get((spec.instrument, iid), [])
    pcts = [r["pct_of_substantive"] for r in dist]
    n = s["n_substantive"] if s else 0
    fig, ax = F.new_figure("barh", height_cm=2.5 + 0.9 * len(dist))
    names = [_label_of(scale, r["response"]) for r in dist]
    if n >= threshold:
        colours = [F.BLUE if r["positive"] else F.GREY for r in dist]
        bars = ax.barh(range(len(dist)), pcts, color=colours, height=0.62)
        F.label_bars(ax, bars, values=[p if percent_shown(p, n, threshold) else None for p in pcts])
        title = f"{d.pct_in_words(s['pct_positive'], capitalize=True)} {_answered(scale)}"
        alt = (f"Bar chart of answers to '{item['text']}' (n = {n}): "
               + "; ".join(f"{nm} {d.fmt_pct(p)}" for nm, p in zip(names, pcts)) + ".")
    else:
        ax.text(50, (len(dist) - 1) / 2, "c: too few answers to show", ha="center", va="center", color=F.GREY)
        title = "Too few answers to show"
        alt = f"Answers to '{item['text']}' are suppressed (fewer than {threshold})."
    ax.set_yticks(range(len(dist)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 105)
    ax.set_xlabel(f"% of respondents (n = {count_label(n, threshold)})")
    F.finding_title(ax, _wrap(f"{item['text']}: {title[0].lower() + title[1:]}", 70))
    caption = (f"{inst.title}: {item['text'].rstrip('.')}, % of respondents giving each answer "
               f"(n = {count_label(n, threshold)}). Source: {source}.")
    return fig, title, caption, alt, {iid: n}


def _draw_ordered(spec: FigureSpec, inst: "Instrument", data: _FigureRows, threshold, source):
    from . import figures as F

    rows = [r for r in (data.overall.get((spec.instrument, iid)) for iid in spec.items) if r]
    # questions in questionnaire order, answers within a question by % (descending)
    by_q: dict[str, list[dict]] = {}
    for r in rows:
        by_q.setdefault(r["question_id"], []).append(r)
    ordered = []
    for q, rs in by_q.items():
        ordered += sorted(rs, key=lambda r: (-(r["pct_positive"] or -1), r["item_order"]))
    fig, ax = F.new_figure("barh", height_cm=2.5 + 0.95 * len(ordered))
    labels_, alt_parts, n_info = [], [], {}
    for y, r in enumerate(ordered):
        n = r["n_substantive"]
        n_info[r["item_id"]] = n
        text = r["item_text"] if r["kind"] == "multi" else f"{r['item_text']} (yes)"
        labels_.append(f"{_wrap(text, 46)}\n(n = {count_label(n, threshold)})")
        if n >= threshold:
            colour = F.BLUE if r["kind"] == "multi" else F.BLUISH_GREEN
            ax.barh(y, r["pct_positive"], color=colour, height=0.62)
            lo, hi = r["pct_positive_lower"], r["pct_positive_upper"]
            ax.plot([lo, hi], [y, y], color="#333333", linewidth=1)
            ax.text(max(hi, r["pct_positive"]) + 1.5, y, d.fmt_pct(r["pct_positive"])
                    if percent_shown(r["pct_positive"], n, threshold) else d.SUPPRESSED, va="center")
            alt_parts.append(f"{text}: {d.fmt_pct(r['pct_positive'])} (n = {n})")
        else:
            ax.text(2, y, "c", va="center", color=F.GREY)
            alt_parts.append(f"{text}: suppressed")
    ax.set_yticks(range(len(ordered)), labels_, fontsize=8)
    ax.set_ylim(len(ordered) - 0.5, -0.5)
    ax.set_xlim(0, 110)
    ax.set_xlabel("% of respondents to the question (lines: 95% confidence intervals)")
    multi = [r for r in ordered if r["kind"] == "multi" and r["n_substantive"] >= threshold]
    pick = max(multi or [r for r in ordered if r["n_substantive"] >= threshold] or [None],
               key=lambda r: -1 if r is None else r["pct_positive"])
    lead = "Most often ticked" if multi else "Most common yes"
    title = (f"{lead}: {pick['item_text'].rstrip('.?')[0].lower()}{pick['item_text'].rstrip('.?')[1:]} "
             f"({d.fmt_pct(pick['pct_positive'])})" if pick else "Too few answers to show")
    F.finding_title(ax, _wrap(title, 70))
    caption = (f"{inst.title}: % answering yes, and % ticking each option of a tick-all-that-apply question "
               f"(over respondents to that question, so options do not add up to 100). Source: {source}.")
    alt = "Horizontal bar chart. " + "; ".join(alt_parts) + "."
    return fig, title, caption, alt, n_info


def _draw_multiples(spec: FigureSpec, inst: "Instrument", data: _FigureRows, threshold, source):
    from . import figures as F
    import matplotlib.pyplot as plt

    by_item: dict[str, list[dict]] = {iid: [] for iid in spec.items}
    for r in data.grouped.get((spec.instrument, spec.subgroup), []):
        if r["item_id"] in by_item:
            by_item[r["item_id"]].append(r)
    groups = [g for _, g in sorted({(r["group_order"], r["group"]) for rs in by_item.values() for r in rs
                                    if r["n_substantive"] >= threshold})]
    items = list(spec.items)
    ncols = 1 if len(items) == 1 else 2
    nrows = -(-len(items) // ncols)
    F.apply_house_style()
    axis_cm, gap_cm = 0.3 + 0.5 * len(groups), 1.3
    top_cm, bottom_cm = 1.9, 1.1
    height_cm = top_cm + bottom_cm + nrows * axis_cm + (nrows - 1) * gap_cm
    fig, axes = plt.subplots(nrows, ncols, figsize=(F.REPORT_WIDTH_CM * F.CM, height_cm * F.CM),
                             sharex=True, sharey=True, squeeze=False)
    # fixed margins instead of tight_layout (which draws the figure an extra time)
    fig.subplots_adjust(left=0.22, right=0.98, top=1 - top_cm / height_cm, bottom=bottom_cm / height_cm,
                        hspace=gap_cm / axis_cm, wspace=0.12)
    best_gap, alt_parts, n_info = None, [], {}
    for idx, iid in enumerate(items):
        ax = axes[idx // ncols][idx % ncols]
        ax.grid(False, axis="y")
        ax.tick_params(axis="y", length=0, labelsize=7.5)
        ax.tick_params(axis="x", labelsize=7.5)
        rows = {r["group"]: r for r in by_item[iid]}
        text = next(iter(rows.values()))["item_text"] if rows else iid
        # y=1.0 fixes the panel title where matplotlib's automatic placement puts it (no ticks above the
        # panel) without it measuring the y tick labels again at every draw
        ax.set_title(_wrap(text, 40 if ncols == 2 else 84), fontsize=8, loc="left", fontweight="normal", y=1.0)
        shown = []
        for y, g in enumerate(groups):
            r = rows.get(g)
            n = r["n_substantive"] if r else 0
            n_info[f"{iid}|{g}"] = n
            if r and n >= threshold and percent_shown(r["pct_positive"], n, threshold):
                ax.plot([r["pct_positive_lower"], r["pct_positive_upper"]], [y, y], color=F.GREY, linewidth=1.2)
                ax.plot([r["pct_positive"]], [y], "o", color=F.BLUE, markersize=4.5)
                ax.text(104, y, f"{d.fmt_pct(r['pct_positive'])} ({d.fmt_count(n)})", va="center")
                shown.append(r)
            else:
                ax.text(104, y, d.SUPPRESSED, va="center", color=F.GREY)
        if len(shown) >= 2:
            hi = max(shown, key=lambda r: r["pct_positive"])
            lo = min(shown, key=lambda r: r["pct_positive"])
            gap = hi["pct_positive"] - lo["pct_positive"]
            if best_gap is None or gap > best_gap[0]:
                best_gap = (gap, text, hi, lo)
        alt_parts.append(text + ": " + ", ".join(f"{r['group']} {d.fmt_pct(r['pct_positive'])}" for r in shown))
    axes[0][0].set_yticks(range(len(groups)), [_wrap(g, 22) for g in groups])
    axes[0][0].set_ylim(len(groups) - 0.5, -0.5)
    axes[0][0].set_xlim(0, 135)
    axes[0][0].set_xticks([0, 50, 100])
    for idx in range(len(items), nrows * ncols):
        axes[idx // ncols][idx % ncols].set_visible(False)
        if idx - ncols >= 0:
            axes[(idx - ncols) // ncols][(idx - ncols) % ncols].tick_params(labelbottom=True)
    last = axes[(len(items) - 1) // ncols][(len(items) - 1) % ncols]
    last.set_xlabel("% positive, 95% CI (n)", fontsize=8)
    what = _SUBGROUP_NAMES.get(spec.subgroup, spec.subgroup)
    if best_gap and d.round_half_away(best_gap[0]) >= 1:
        gap, text, hi, lo = best_gap
        title = (f"Largest gap by {what}: {hi['group']} {d.fmt_pct(hi['pct_positive'])} against "
                 f"{lo['group']} {d.fmt_pct(lo['pct_positive'])} ({text.rstrip('.')})")
    elif best_gap:
        title = f"Every {what} group gave the same rounded percentage"
    else:
        title = f"Answers by {what}"
    fig.suptitle(_wrap(title, 84), x=0.01, y=1 - 0.25 / height_cm, ha="left", va="top", fontsize=10,
                 fontweight="bold")
    caption = (f"{inst.title}: % positive by {what}, with Wilson 95% confidence intervals and n in brackets; "
               f"groups with fewer than {threshold} answers to every item and '{NOT_KNOWN}' are not shown, and "
               f"'{d.SUPPRESSED}' marks an item with fewer than {threshold} answers in a group. Source: {source}.")
    alt = f"Small multiples, one panel per item, by {what}. " + "; ".join(alt_parts) + "."
    return fig, title, caption, alt, n_info


_DRAW = {"diverging": _draw_diverging, "levels": _draw_levels, "ordered": _draw_ordered,
         "multiples": _draw_multiples}


def draw_figures(specs: Sequence[FigureSpec], summary: pl.DataFrame, levels: pl.DataFrame,
                 instruments: Mapping[str, "Instrument"], out_dir: str | Path, *, threshold: int,
                 year: str = "") -> list[dict]:
    """Draw every planned figure into ``out_dir`` (PNG + sidecar via :func:`cpdeval.figures.save_figure`).

    Returns the manifest: one dict per figure with key, kind, instrument, block, subgroup, items, file,
    title, caption, alt_text and n.
    """
    from . import figures as F

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = []
    data = _FigureRows(summary, levels)
    for spec in specs:
        inst = instruments[spec.instrument]
        source = f"{inst.title}, {year}".rstrip(", ") if year else inst.title
        fig, title, caption, alt, n_info = _DRAW[spec.kind](spec, inst, data, threshold, source)
        path = F.save_figure(fig, out_dir / spec.file, alt_text=alt, caption=caption, source=source,
                             n={k: count_value(v, threshold) for k, v in n_info.items()})
        manifest.append({"key": spec.key, "kind": spec.kind, "instrument": spec.instrument, "block": spec.block,
                         "subgroup": spec.subgroup, "items": list(spec.items), "file": path.name, "title": title,
                         "caption": caption, "alt_text": alt})
    return manifest


# =========================================================================== chapter helpers

def figure_markdown(figures_dir: str | Path, key: str, label: str, caption: str | None = None) -> str | None:
    """Markdown that includes a figure drawn by the survey stage (None if it was not drawn)."""
    figures_dir = Path(figures_dir)
    manifest = json.loads((figures_dir / "manifest.json").read_text(encoding="utf-8"))
    entry = next((m for m in manifest if m["key"] == key), None)
    if entry is None:
        return None
    cap = (caption or entry["caption"]).replace("[", "(").replace("]", ")")
    alt = entry["alt_text"].replace('"', "'")
    return f"![{cap}]({(figures_dir / entry['file']).as_posix()}){{#{label} fig-alt=\"{alt}\"}}"


def figure_keys(figures_dir: str | Path) -> list[dict]:
    """The manifest of the figures the survey stage drew."""
    return json.loads((Path(figures_dir) / "manifest.json").read_text(encoding="utf-8"))


def item_row(summary: pl.DataFrame, instrument: str, item_id: str, subgroup: str = ALL,
             group: str | None = None) -> dict | None:
    """One summary row as a dict (None when the item or group is absent)."""
    return _row(summary, instrument, item_id, subgroup, group)


def say(row: Mapping[str, Any] | None, what: str = "positive", *, threshold: int, capitalize: bool = False,
        hedge: bool = False) -> str:
    """A percentage of a summary row in words ("over nine in 10 (93%)"), or a note that it is suppressed.

    ``what``: positive, top (over substantive answers) or not_substantive (over all respondents).
    """
    if row is None:
        return "not asked this year"
    k, n = {"positive": (row["n_positive"], row["n_substantive"]), "top": (row["n_top"], row["n_substantive"]),
            "not_substantive": (row["n_not_substantive"], row["respondents"])}[what]
    if n < threshold:
        return "too few answers to report" if n else "no answers"
    return d.words(k, n, threshold=threshold, capitalize=capitalize, hedge=hedge)


def _scale_header(scale: dict, which: str) -> str:
    if which == "positive":
        labels = [_label_of(scale, x) for x in _scale_positive(scale)]
    elif which == "top":
        labels = [_label_of(scale, str(x)) for x in scale.get("top") or []]
    else:
        labels = [_label_of(scale, str(x)) for x in scale.get("not_substantive") or []]
    return "% " + " or ".join(labels) if labels else "%"


def _placeholder(message: str, threshold: int, caption: str | None = None) -> "PublishedTable":
    from .tables import publish_table

    return publish_table(pl.DataFrame({"note": [message]}), columns={"note": {"kind": "label", "header": "Note"}},
                         threshold=threshold, caption=caption)


def publish_items(summary: pl.DataFrame, instruments: Mapping[str, "Instrument"], instrument: str, *,
                  block: str | None = None, items: Sequence[str] | None = None, threshold: int,
                  subgroup: str = ALL, group: str | None = None, rank: str | None = None,
                  caption: str | None = None, notes: Sequence[str] | None = None) -> "PublishedTable":
    """An item table: wording, n answering, n substantive, % positive with its 95% CI, % top, % not
    substantive and (optionally) the rank. Headers come from the scale ("% Strongly agree or Agree")."""
    from .tables import RowSum, publish_table

    f = (pl.col("instrument") == instrument) & (pl.col("subgroup") == subgroup)
    if group is not None:
        f = f & (pl.col("group") == group)
    if block is not None:
        f = f & (pl.col("block") == block)
    if items is not None:
        f = f & pl.col("item_id").is_in(list(items))
    rows = summary.filter(f).sort("item_order")
    if not rows.height or instrument not in instruments:
        return _placeholder("No responses to this survey in this year's data.", threshold, caption)
    inst = instruments[instrument]
    first = rows.row(0, named=True)
    scale = inst.scales[first["scale"]]
    has_ns = bool(rows["n_not_substantive"].sum()) or bool(scale.get("not_substantive"))
    cols: dict[str, Any] = {
        "item_text": {"kind": "label", "header": "Item"},
        "respondents": {"kind": "count", "header": "Respondents", "spare": True},
    }
    if has_ns:
        cols["n_substantive"] = {"kind": "count", "header": "Substantive answers (n)"}
    cols["pct_positive"] = {"kind": "percent", "base": "n_substantive", "header": _scale_header(scale, "positive")}
    cols["ci"] = {"kind": "ci", "base": "n_substantive", "lower": "pct_positive_lower", "upper": "pct_positive_upper",
                  "point": "pct_positive", "suffix": "%", "decimals": 0, "header": "95% CI"}
    if first["kind"] == "single" and scale.get("top") != scale.get("positive"):
        cols["pct_top"] = {"kind": "percent", "base": "n_substantive", "header": _scale_header(scale, "top")}
    if has_ns:
        cols["pct_not_substantive"] = {"kind": "percent", "base": "respondents", "numerator": "n_not_substantive",
                                       "header": _scale_header(scale, "not_substantive") + " (of respondents)"}
    if rank:
        cols[f"rank_{rank}_label"] = {"kind": "label", "header": "Rank"}
    # respondents = substantive answers + "cannot say" (not shown, but bounded by its percentage)
    sums = [RowSum("respondents", ["n_substantive", "n_not_substantive"])] if has_ns else []
    return publish_table(rows, columns=cols, threshold=threshold, caption=caption, notes=list(notes or []), sums=sums)


def publish_by_group(summary: pl.DataFrame, instruments: Mapping[str, "Instrument"], instrument: str,
                     subgroup: str, *, block: str | None = None, items: Sequence[str] | None = None,
                     threshold: int, caption: str | None = None, notes: Sequence[str] | None = None
                     ) -> "PublishedTable":
    """Items by the groups of one subgroup, long form (every row keeps its own n): item, group, n,
    % positive with its 95% CI, % not substantive. "Not known" groups are left out."""
    from .tables import RowSum, publish_table

    f = ((pl.col("instrument") == instrument) & (pl.col("subgroup") == subgroup)
         & (pl.col("group") != NOT_KNOWN))
    if block is not None:
        f = f & (pl.col("block") == block)
    if items is not None:
        f = f & pl.col("item_id").is_in(list(items))
    rows = summary.filter(f).sort(["item_order", "group_order"])
    if not rows.height or instrument not in instruments:
        return _placeholder("No responses to this survey in this year's data.", threshold, caption)
    scale = instruments[instrument].scales[rows["scale"][0]]
    first_of_item = pl.col("item_order") != pl.col("item_order").shift(1)
    rows = rows.with_columns(pl.when(first_of_item.fill_null(True)).then(pl.col("item_text"))
                             .otherwise(pl.lit("")).alias("item_shown"))
    cols: dict[str, Any] = {
        "item_shown": {"kind": "label", "header": "Item"},
        "group": {"kind": "label", "header": _SUBGROUP_NAMES.get(subgroup, subgroup).capitalize()},
        "n_substantive": {"kind": "count", "header": "n"},
        "pct_positive": {"kind": "percent", "base": "n_substantive", "header": _scale_header(scale, "positive")},
        "ci": {"kind": "ci", "base": "n_substantive", "lower": "pct_positive_lower", "upper": "pct_positive_upper",
               "point": "pct_positive", "suffix": "%", "decimals": 0, "header": "95% CI"},
    }
    sums = []
    if scale.get("not_substantive"):
        cols["respondents"] = {"kind": "count", "header": "Respondents", "spare": True}
        cols["pct_not_substantive"] = {"kind": "percent", "base": "respondents", "numerator": "n_not_substantive",
                                       "header": _scale_header(scale, "not_substantive") + " (of respondents)"}
        sums = [RowSum("respondents", ["n_substantive", "n_not_substantive"])]
    return publish_table(rows, columns=cols, threshold=threshold, caption=caption, notes=list(notes or []), sums=sums)


def publish_instruments(profile: pl.DataFrame, instruments: Mapping[str, "Instrument"], *, threshold: int,
                        caption: str | None = None) -> "PublishedTable":
    """Respondents to each instrument this year (instruments with no responses show a count of 0)."""
    from .tables import publish_table

    totals = profile.group_by("instrument").agg(pl.col("all_respondents").max())
    cat = item_catalogue(instruments).group_by("instrument").agg(pl.len().alias("items"))
    rows = [{"instrument": name, "title": inst.title, "description": " ".join(str(inst.definition.get("description")
                                                                                     or "").split())}
            for name, inst in sorted(instruments.items())]
    frame = (pl.DataFrame(rows).join(cat, on="instrument", how="left")
             .join(totals, on="instrument", how="left")
             .with_columns(pl.col("all_respondents").fill_null(0).cast(pl.Int64),
                           pl.col("items").cast(pl.Int64)))
    return publish_table(frame, columns={
        "title": {"kind": "label", "header": "Survey"},
        "description": {"kind": "label", "header": "Who answers it"},
        "items": {"kind": "number", "decimals": 0, "header": "Items (options)"},
        "all_respondents": {"kind": "count", "header": "Respondents this year"},
    }, threshold=threshold, caption=caption)


def publish_levels(levels: pl.DataFrame, instruments: Mapping[str, "Instrument"], instrument: str, item_id: str,
                   *, threshold: int, caption: str | None = None, notes: Sequence[str] | None = None
                   ) -> "PublishedTable":
    """A frequency table of one item's answers (seed 002, Tables 6 and 7): answer, count, %, and the total.

    Substantive answers are % of substantive answers; a not-substantive answer is % of all respondents."""
    from .tables import ColumnSum, publish_table

    rows = levels.filter((pl.col("instrument") == instrument) & (pl.col("item_id") == item_id)
                         & (pl.col("subgroup") == ALL)).sort("level_order")
    if not rows.height or instrument not in instruments:
        return _placeholder("No responses to this survey in this year's data.", threshold, caption)
    scale = instruments[instrument].scales[rows["scale"][0]]
    n = rows["n_substantive"][0]
    body = rows.with_columns(
        pl.col("response").map_elements(lambda v: _label_of(scale, v), return_dtype=pl.Utf8).alias("answer"),
        pl.when(pl.col("substantive")).then(pl.col("n_substantive")).otherwise(pl.col("respondents")).alias("base"),
        pl.when(pl.col("substantive")).then(pl.col("pct_of_substantive")).otherwise(pl.col("pct_of_respondents")).alias("pct"),
    ).select("answer", "count", "base", "pct")
    total = pl.DataFrame({"answer": ["Total (N)"], "count": [n], "base": [n], "pct": [100.0 if n else None]},
                         schema=body.schema)
    substantive = tuple(rows.filter(pl.col("substantive"))["response"].map_elements(
        lambda v: _label_of(scale, v), return_dtype=pl.Utf8))
    return publish_table(pl.concat([body, total]), columns={
        "answer": {"kind": "label", "header": "Answer"},
        "count": {"kind": "count", "header": "No."},
        "pct": {"kind": "percent", "base": "base", "numerator": "count", "header": "%"},
    }, threshold=threshold, caption=caption, notes=list(notes or []),
        sums=[ColumnSum("answer", "Total (N)", members=substantive)])


def publish_level_matrix(levels: pl.DataFrame, summary: pl.DataFrame, instruments: Mapping[str, "Instrument"],
                         instrument: str, *, block: str | None = None, items: Sequence[str] | None = None,
                         threshold: int, rank: str | None = "top", subgroup: str = ALL, group: str | None = None,
                         by_group_item: str | None = None, caption: str | None = None,
                         notes: Sequence[str] | None = None, worst_first: bool = True) -> "PublishedTable":
    """A % of each answer table (seed 002, Table 8): one row per item (or, with ``by_group_item``, one row
    per group of ``subgroup`` for that item, as the quality-by-role cross-tab), columns per answer, base
    and rank."""
    from .tables import publish_table

    f = (pl.col("instrument") == instrument) & pl.col("substantive")
    if by_group_item:
        f = f & (pl.col("item_id") == by_group_item) & (pl.col("subgroup") == subgroup) \
            & (pl.col("group") != NOT_KNOWN)
        row_key, row_label = "group", "group"
    else:
        f = f & (pl.col("subgroup") == subgroup)
        if group is not None:
            f = f & (pl.col("group") == group)
        if block is not None:
            f = f & (pl.col("block") == block)
        if items is not None:
            f = f & pl.col("item_id").is_in(list(items))
        row_key, row_label = "item_id", "item_text"
    rows = levels.filter(f)
    if not rows.height or instrument not in instruments:
        return _placeholder("No responses to this survey in this year's data.", threshold, caption)
    scale = instruments[instrument].scales[rows["scale"][0]]
    lv = [str(x) for x in scale["levels"]]
    if worst_first:
        lv = list(reversed(lv))
    order_col = "group_order" if by_group_item else "item_order"
    wide = (rows.pivot(on="response", index=[row_key, row_label, order_col, "n_substantive"],
                       values="pct_of_substantive", aggregate_function="first")
            .sort(order_col))
    wide = wide.rename({c: f"lv_{lv.index(c)}" for c in wide.columns if c in lv})
    cols: dict[str, Any] = {row_label: {"kind": "label", "header": "Group" if by_group_item else "Statement"}}
    for i, name in enumerate(lv):
        if f"lv_{i}" in wide.columns:
            cols[f"lv_{i}"] = {"kind": "percent", "base": "n_substantive", "header": _label_of(scale, name)}
    cols["n_substantive"] = {"kind": "count", "header": "Base"}
    if rank and not by_group_item:
        rf = (pl.col("instrument") == instrument) & (pl.col("subgroup") == subgroup)
        if group is not None:
            rf = rf & (pl.col("group") == group)
        ranks = summary.filter(rf).select("item_id", f"rank_{rank}_label")
        wide = wide.join(ranks, on="item_id", how="left")
        cols[f"rank_{rank}_label"] = {"kind": "label", "header": "Rank"}
    return publish_table(wide, columns=cols, threshold=threshold, caption=caption, notes=list(notes or []))


def publish_profile(profile: pl.DataFrame, instrument: str, subgroup: str = "role", *, threshold: int,
                    caption: str | None = None, notes: Sequence[str] | None = None) -> "PublishedTable":
    """Respondents by one subgroup (seed 002, Table 5): group, number, % of those for whom it is known."""
    from .tables import ColumnSum, publish_table

    rows = profile.filter((pl.col("instrument") == instrument) & (pl.col("subgroup") == subgroup)).sort("group_order")
    if not rows.height:
        return _placeholder("No responses to this survey in this year's data.", threshold, caption)
    known = rows.filter(pl.col("group") != NOT_KNOWN)
    k = int(known["respondents"].sum())
    total = pl.DataFrame({"group": [f"Total ({_SUBGROUP_NAMES.get(subgroup, subgroup)} known)"], "respondents": [k],
                          "known": [k], "pct": [100.0 if k else None]})
    body = pl.concat([known.select("group", "respondents", "known", "pct"), total.cast(known.select(
        "group", "respondents", "known", "pct").schema)])
    nk = rows.filter(pl.col("group") == NOT_KNOWN)
    if nk.height:
        body = pl.concat([body, nk.select("group", "respondents", "known", pl.lit(None, dtype=pl.Float64).alias("pct"))])
    return publish_table(body, columns={
        "group": {"kind": "label", "header": _SUBGROUP_NAMES.get(subgroup, subgroup).capitalize()},
        "respondents": {"kind": "count", "header": "No."},
        "pct": {"kind": "percent", "base": "known", "numerator": "respondents", "header": "%"},
    }, threshold=threshold, caption=caption, notes=list(notes or []),
        sums=[ColumnSum("group", total["group"][0], exclude=(NOT_KNOWN,))])


def publish_codes(freq: pl.DataFrame, *, threshold: int, subgroup: str = ALL, group: str | None = None,
                  caption: str | None = None, notes: Sequence[str] | None = None) -> "PublishedTable":
    """Code frequencies (seed 002, Table 9): rank, reason, description, comments, % of coded comments."""
    from .tables import publish_table

    f = pl.col("subgroup") == subgroup
    if group is not None:
        f = f & (pl.col("group") == group)
    rows = freq.filter(f).sort(["rank", "code_order"])
    if not rows.height:
        return _placeholder("No coded comments in this year's data.", threshold, caption)
    base = int(rows["base"][0])
    total = pl.DataFrame({"rank_label": [""], "label": ["Coded comments (base)"], "description": [""],
                          "comments": [base], "base": [base], "pct": [None]},
                         schema={"rank_label": pl.Utf8, "label": pl.Utf8, "description": pl.Utf8,
                                 "comments": pl.Int64, "base": pl.Int64, "pct": pl.Float64})
    body = pl.concat([rows.select(total.columns).cast(total.schema), total])
    return publish_table(body, columns={
        "rank_label": {"kind": "label", "header": "Rank"},
        "label": {"kind": "label", "header": "Reason"},
        "description": {"kind": "label", "header": "What it covers"},
        "comments": {"kind": "count", "header": "Comments"},
        "pct": {"kind": "percent", "base": "base", "numerator": "comments", "header": "% of coded comments"},
    }, threshold=threshold, caption=caption, notes=list(notes or []))


def publish_codes_by_group(freq: pl.DataFrame, subgroup: str, *, threshold: int, caption: str | None = None,
                           notes: Sequence[str] | None = None) -> "PublishedTable":
    """Code frequencies by group (seed 002, Table 10 as numbers): one row per reason, a % column per group
    (each on that group's base of coded comments), and a row of bases."""
    from .tables import publish_table

    rows = freq.filter((pl.col("subgroup") == subgroup) & (pl.col("group") != NOT_KNOWN))
    if not rows.height:
        return _placeholder("No coded comments in this year's data.", threshold, caption)
    groups = rows.select("group", "group_order", "base").unique().sort("group_order")
    order = freq.filter(pl.col("subgroup") == ALL).sort(["rank", "code_order"]).select("code", "label")
    wide = order
    cols: dict[str, Any] = {"label": {"kind": "label", "header": "Reason"}}
    for i, g in enumerate(groups.iter_rows(named=True)):
        part = rows.filter(pl.col("group") == g["group"]).select(
            "code", pl.col("pct").alias(f"p{i}"), pl.col("base").alias(f"b{i}"))
        wide = wide.join(part, on="code", how="left")
        cols[f"p{i}"] = {"kind": "percent", "base": f"b{i}",
                         "header": f"{g['group']} (n = {count_label(g['base'], threshold)})"}
    return publish_table(wide, columns=cols, threshold=threshold, caption=caption, notes=list(notes or []))


def publish_benchmarks(bench: pl.DataFrame, *, threshold: int, caption: str | None = None,
                       notes: Sequence[str] | None = None) -> "PublishedTable":
    """The benchmarks reference table: source, period, item, measure, value, scale, respondents."""
    from .tables import publish_table

    if not bench.height:
        return _placeholder("No benchmarks are configured.", threshold, caption)
    return publish_table(bench, columns={
        "source_short": {"kind": "label", "header": "Source"},
        "period": {"kind": "label", "header": "Period"},
        "item": {"kind": "label", "header": "Item"},
        "measure": {"kind": "label", "header": "Measure"},
        "value": {"kind": "number", "decimals": 0, "suffix": "%", "header": "Published value"},
        "scale": {"kind": "label", "header": "Scale"},
        "respondents": {"kind": "label", "header": "Respondents"},
    }, threshold=threshold, caption=caption, notes=list(notes or []))


def benchmark_comparison(summary: pl.DataFrame, bench: pl.DataFrame, instruments: Mapping[str, "Instrument"],
                         instrument: str) -> pl.DataFrame:
    """This survey's items beside the benchmarks compared with them, in separate columns (one row per
    benchmark): item (or block), this survey's smallest n and lowest and highest % positive (equal for one
    item), and the benchmark's source, period, measure, value and respondents."""
    b = bench.filter(pl.col("compare_instrument") == instrument)
    overall = summary.filter((pl.col("instrument") == instrument) & (pl.col("subgroup") == ALL))
    rows = []
    for r in b.iter_rows(named=True):
        if r["compare_item"]:
            ours = overall.filter(pl.col("item_id") == r["compare_item"])
            label = ours["item_text"][0] if ours.height else r["compare_item"]
        else:
            ours = overall.filter((pl.col("block") == r["compare_block"]) & (pl.col("kind") == "single"))
            label = f"All {ours.height} items of the {r['compare_block'].replace('_', ' ')} block"
        n = int(ours["n_substantive"].min()) if ours.height else 0
        low = ours["pct_positive"].min() if ours.height else None
        high = ours["pct_positive"].max() if ours.height else None
        rows.append({"this_item": label, "this_n": n, "this_low": low, "this_high": high,
                     "bench_source": r["source_short"],
                     "bench_period": r["period"], "bench_item": r["item"], "bench_measure": r["measure"],
                     "bench_value": r["value"], "bench_respondents": r["respondents"]})
    return pl.DataFrame(rows, schema={"this_item": pl.Utf8, "this_n": pl.Int64, "this_low": pl.Float64,
                                      "this_high": pl.Float64,
                                      "bench_source": pl.Utf8, "bench_period": pl.Utf8, "bench_item": pl.Utf8,
                                      "bench_measure": pl.Utf8, "bench_value": pl.Float64,
                                      "bench_respondents": pl.Utf8})


def publish_benchmark_comparison(comparison: pl.DataFrame, *, threshold: int, caption: str | None = None,
                                 notes: Sequence[str] | None = None) -> "PublishedTable":
    from .tables import publish_table

    if not comparison.height:
        return _placeholder("No benchmarks are compared with this survey.", threshold, caption)
    return publish_table(comparison, columns={
        "this_item": {"kind": "label", "header": "This survey: item"},
        "this_n": {"kind": "count", "header": "This survey: n (smallest)"},
        "this_low": {"kind": "percent", "base": "this_n", "header": "This survey: % positive (lowest)"},
        "this_high": {"kind": "percent", "base": "this_n", "header": "This survey: % positive (highest)"},
        "bench_source": {"kind": "label", "header": "Benchmark (other study)"},
        "bench_period": {"kind": "label", "header": "Benchmark period"},
        "bench_measure": {"kind": "label", "header": "Benchmark measure"},
        "bench_value": {"kind": "number", "decimals": 0, "suffix": "%", "header": "Benchmark value"},
        "bench_respondents": {"kind": "label", "header": "Benchmark respondents"},
    }, threshold=threshold, caption=caption, notes=list(notes or []))


# =========================================================================== the Snakemake stage

def _read_optional(path) -> pl.DataFrame | None:
    if not path:
        return None
    p = Path(str(path))
    return pl.read_parquet(p) if p.exists() else None


def run_surveys(job) -> None:
    """Stage ``survey_analysis``: summaries, answer distributions, respondent profiles, coded reasons,
    benchmarks, published-figure checks and figures, from the ingested survey tables."""
    from .contracts import load_contract
    from .logs import step

    p = job.params
    threshold = int(p.disclosure_min_count)
    subgroups = tuple(getattr(p, "subgroups", None) or SUBGROUPS)
    responses = pl.read_parquet(job.input.responses)
    instruments = load_instruments(folder=getattr(p, "instruments_dir", None) or None)
    schools = pl.read_parquet(job.input.schools, columns=["urn", "phase_group"])
    activities = pl.read_parquet(job.input.bookings, columns=["activity_id", "provider"])
    with step(job.logger, f"summarising {responses.height:,} answers to "
                          f"{responses['instrument'].n_unique()} instrument(s)"):
        prepared = prepare_responses(responses, schools=schools, activities=activities,
                                     fy_start_month=int(p.fy_start_month))
        counts = tally(prepared, subgroups)
        summary = summarise_items(prepared, instruments, subgroups=subgroups, counts=counts)
        levels = level_distribution(prepared, instruments, subgroups=subgroups, counts=counts)
        profile = respondent_profile(prepared, instruments, subgroups=subgroups)
    load_contract("survey_item_summary").pandera_schema().validate(summary)
    summary.write_parquet(job.output.summary)
    levels.write_parquet(job.output.levels)
    profile.write_parquet(job.output.profile)

    codebook = load_codebook(job.input.codebook)
    coded = pl.read_parquet(job.input.coded)
    respondents = prepared.filter(pl.col("instrument") == codebook.instrument) if codebook.instrument else prepared
    issues = check_coding(coded, codebook, respondents["respondent_id"].unique().to_list())
    for r in issues.iter_rows(named=True):
        job.logger.warning("coded feedback: %s", r["detail"])
    freq = code_frequencies(coded, codebook, prepared, subgroups=subgroups, instruments=instruments)
    freq.write_parquet(job.output.codes)
    issues.write_parquet(job.output.coding_issues)

    ref = load_benchmarks(job.input.benchmarks, instruments)
    ref["benchmarks"].write_parquet(job.output.benchmarks)
    checks = pl.concat([
        check_published(ref["published"]).select(
            "source", "statement", pl.lit("percentage").alias("check"), "consistent", "finding", "note"),
        check_sums(ref["sums"]).select(
            "source", "statement", pl.lit("sum").alias("check"), "consistent", "finding", "note"),
        ref["notes"].select("source", pl.col("note").alias("statement"), pl.lit("note").alias("check"),
                            pl.lit(False).alias("consistent"), pl.lit("").alias("finding"),
                            pl.lit(None, dtype=pl.Utf8).alias("note")),
    ])
    checks.write_parquet(job.output.published)
    bad = checks.filter(~pl.col("consistent") & (pl.col("check") != "note"))
    job.logger.info("published figures: %d checked, %d cannot be reproduced as printed",
                    checks.filter(pl.col("check") != "note").height, bad.height)

    fig_subgroups = tuple(getattr(p, "figure_subgroups", None) or ("role", "phase", "provider"))
    with step(job.logger, "drawing survey figures"):
        specs = plan_figures(summary, instruments, subgroups=[s for s in fig_subgroups if s in subgroups],
                             threshold=threshold)
        manifest = draw_figures(specs, summary, levels, instruments, job.output.figures, threshold=threshold,
                                year=str(p.year))
        (Path(job.output.figures) / "manifest.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    job.logger.info("wrote %d summary rows, %d figures", summary.height, len(manifest))
