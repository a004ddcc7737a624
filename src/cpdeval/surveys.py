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
(:func:`check_coding`). Benchmarks from other studies are a separate reference table (the comparator files
``config/comparators/*.csv`` with their citations, :func:`load_benchmarks`), never mixed with this survey's results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import polars as pl

from . import display as d
from .calendar import FY_START_MONTH
from .config import COMPARATORS
from .errors import ConfigError, InputError
from .stats import Z95, counts_giving, rank_label_expr, rounds_to, wilson_exprs

if TYPE_CHECKING:
    from .ingest.surveys import Instrument

__all__ = [
    "SUBGROUPS", "ALL", "ALL_GROUP", "NOT_KNOWN",
    "load_instruments", "item_catalogue", "response_labels", "prepare_responses", "tally",
    "summarise_items", "level_distribution", "respondent_profile",
    "Codebook", "load_codebook", "check_coding", "code_frequencies",
    "load_benchmarks", "check_published", "check_sums", "published_checks",
    "level_label", "summary_row", "scale_positive",
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
SUBGROUP_NAMES = {"role": "role", "phase": "phase of school", "provider": "provider", "year": "year"}

_KEYS = ["instrument", "item_id"]


# =========================================================================== instruments

def load_instruments(names: Iterable[str] | None = None, folder: str | Path | None = None
                     ) -> dict[str, "Instrument"]:
    """Instrument definitions by name (all of ``schemas/instruments/`` when ``names`` is None)."""
    from .ingest.surveys import list_instruments, load_instrument

    names = list(names) if names is not None else list_instruments(folder)
    return {n: load_instrument(n, folder) for n in sorted(set(names))}


def scale_positive(scale: dict) -> list[str]:
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
            positive, top = set(scale_positive(scale)), {str(x) for x in scale.get("top") or []}
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


def level_label(scale: dict, level: str) -> str:
    """The words of an answer level on its scale (the level itself when the scale has no label for it)."""
    labels = scale.get("labels") or {}
    return str(labels.get(level, level))


def summary_row(summary: pl.DataFrame, instrument: str, item_id: str, subgroup: str = ALL, group: str | None = None
                ) -> dict | None:
    """One item's row of the summary (overall, or of one subgroup's group), or None."""
    f = (pl.col("instrument") == instrument) & (pl.col("item_id") == item_id) & (pl.col("subgroup") == subgroup)
    if group is not None:
        f = f & (pl.col("group") == group)
    rows = summary.filter(f)
    return rows.row(0, named=True) if rows.height else None


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

_BENCH_SCHEMA = {"id": pl.Utf8, "source": pl.Utf8, "source_short": pl.Utf8, "period": pl.Utf8,
                 "cited_in": pl.Utf8, "item": pl.Utf8, "measure": pl.Utf8, "value": pl.Float64,
                 "scale": pl.Utf8, "respondents": pl.Utf8, "n": pl.Int64, "compare_instrument": pl.Utf8,
                 "compare_item": pl.Utf8, "compare_block": pl.Utf8, "note": pl.Utf8, "citation": pl.Utf8,
                 "quoted_in": pl.Utf8, "published": pl.Int64}


def read_comparators(benchmarks_csv: str | Path, sources_csv: str | Path) -> pl.DataFrame:
    """The benchmark figures joined to their sources, read through ``schemas/benchmarks.yaml`` and
    ``schemas/benchmark_sources.yaml``. These files are the team's own reference data: any row a contract
    would quarantine stops with the file, row, column and rule instead, and so does a benchmark naming a
    source the sources file lacks."""
    from .contracts import ingest_generic_csv, load_contract

    frames = {}
    for name, path in (("benchmarks", benchmarks_csv), ("benchmark_sources", sources_csv)):
        if not Path(path).exists():
            raise ConfigError(f"comparator file {path} not found")
        result = ingest_generic_csv([str(path)], load_contract(name))
        if result.quarantine.height:
            problems = "; ".join(f"row {r['source_row']}, column {r['column']}: {r['rule']} ({r['value']!r})"
                                 for r in result.quarantine.head(5).iter_rows(named=True))
            raise ConfigError(f"{path}: {result.quarantine.height} row problem(s): {problems}")
        frames[name] = result.accepted
    bench, sources = frames["benchmarks"], frames["benchmark_sources"]
    unknown = sorted(set(bench["source_id"]) - set(sources["source_id"]))
    if unknown:
        raise ConfigError(f"{benchmarks_csv}: source_id {', '.join(unknown)} not in {sources_csv}")
    return bench.join(sources.drop("source_file", "source_row", strict=False), on="source_id", how="left")


def load_benchmarks(path: str | Path, instruments: Mapping[str, "Instrument"] | None = None,
                    comparators: Mapping[str, str | Path] | None = None) -> dict[str, pl.DataFrame]:
    """The comparison figures (``comparators``: the CSV files of :data:`COMPARATORS`, read by
    :func:`read_comparators`) and, from ``path`` (``config/benchmarks.yaml``), the checks of the source
    reports' published figures: ``benchmarks``, ``published``, ``sums`` and ``notes`` as frames.

    Checks that benchmark ids are unique and (given ``instruments``) that each benchmark's instrument, item or
    block exists.
    """
    from . import PROJECT_ROOT
    from .config import safe_yaml

    path = Path(path)
    try:
        data = safe_yaml(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"benchmarks file {path} not found") from None
    given = {**{k: PROJECT_ROOT / v for k, v in COMPARATORS.items()}, **{k: v for k, v in (comparators or {}).items()
                                                                           if v}}
    files = {k: Path(v) for k, v in given.items()}
    where = files["benchmarks"]
    table = read_comparators(files["benchmarks"], files["sources"])
    dup = table.filter(pl.col("id").is_duplicated())["id"].unique().to_list()
    if dup:
        raise ConfigError(f"{where}: benchmark id {dup[0]!r} is used twice")
    rows = []
    for b in table.iter_rows(named=True):
        cw = {k: b[f"compare_{k}"] for k in ("instrument", "item", "block") if b[f"compare_{k}"]}
        if cw and instruments is not None:
            inst = instruments.get(cw.get("instrument"))
            if inst is None:
                raise ConfigError(f"{where}: benchmark {b['id']!r} compares with unknown instrument "
                                  f"{cw.get('instrument')!r}")
            items = {it["id"] for it in inst.items}
            blocks = {it.get("block") for it in inst.items} | {q.get("block") for q in inst.multi_select}
            if cw.get("item") and cw["item"] not in items:
                raise ConfigError(f"{where}: benchmark {b['id']!r} compares with unknown item "
                                  f"{cw['instrument']}.{cw['item']}")
            if cw.get("block") and cw["block"] not in blocks:
                raise ConfigError(f"{where}: benchmark {b['id']!r} compares with unknown block "
                                  f"{cw['instrument']}.{cw['block']}")
        rows.append({**{k: b.get(k) for k in _BENCH_SCHEMA}, "item": " ".join(str(b["item"]).split()),
                     "note": " ".join(str(b.get("note") or "").split()) or None})
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


def published_checks(ref: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Every check of the source reports' published figures in one table (:func:`load_benchmarks`' parts):
    percentages against their bases, sums against their totals, and the notes kept beside them."""
    return pl.concat([
        check_published(ref["published"]).select(
            "source", "statement", pl.lit("percentage").alias("check"), "consistent", "finding", "note"),
        check_sums(ref["sums"]).select(
            "source", "statement", pl.lit("sum").alias("check"), "consistent", "finding", "note"),
        ref["notes"].select("source", pl.col("note").alias("statement"), pl.lit("note").alias("check"),
                            pl.lit(False).alias("consistent"), pl.lit("").alias("finding"),
                            pl.lit(None, dtype=pl.Utf8).alias("note")),
    ])
