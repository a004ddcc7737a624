"""The published table of each attainment comparison, shared by the chapter and its figure.

One function shapes a comparison (levels with both weightings, the difference from the reference group, the
change over the window) into the table the chapter shows, with its disclosure structure: when the groups share
no school they add up to "All these schools", measure by measure, so secondary suppression protects any small
group. The figure of the comparison draws only the groups whose count the table shows, so a chart never gives
away a count the table hides.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import polars as pl

from .attainment import KEY_STAGE_LABEL, MEASURE_LABEL
from .display import in_sentence, sentence_start

ALL_LABEL = "All these schools"


def groups_disjoint(membership: pl.DataFrame, comparison: Mapping[str, Any]) -> bool:
    """Whether a comparison's groups share no school (then they add up to all these schools)."""
    m = membership.filter((pl.col("key_stage") == comparison["key_stage"])
                          & pl.col("group").is_in(list(comparison["groups"])))
    return not m["school_key"].is_duplicated().any()


def comparison_table(rows: pl.DataFrame, comparison: Mapping[str, Any], labels: Mapping[str, str],
                     membership: pl.DataFrame, *, outcome_year: str, base_year: str, window: Sequence[str],
                     threshold: int, source_text: str, record: bool = True):
    """The published table of one comparison (``rows``: its rows of the comparisons table)."""
    from .tables import ColumnSum, publish_table

    c = comparison
    wide = None
    for stat in ("level", "change"):
        for w in ("schools", "pupils"):
            part = (rows.filter((pl.col("stat") == stat) & (pl.col("weighting") == w))
                    .select("measure", "group",
                            *([pl.col("n_schools").alias(f"n_{stat}")] if w == "schools" else []),
                            *([pl.col("diff").alias(f"diff_{stat}"), pl.col("diff_ci_low").alias(f"diff_{stat}_lo"),
                               pl.col("diff_ci_high").alias(f"diff_{stat}_hi")] if w == "schools" else []),
                            pl.col("mean").alias(f"{stat}_{w}"), pl.col("ci_low").alias(f"{stat}_{w}_lo"),
                            pl.col("ci_high").alias(f"{stat}_{w}_hi")))
            wide = part if wide is None else wide.join(part, on=["measure", "group"], how="left")
    ref_n = wide.filter(pl.col("group") == c["reference"]).select("measure", pl.col("n_level").alias("ref_n"))
    order = {g: i for i, g in enumerate([*c["groups"], "all"])}
    morder = {m: i for i, m in enumerate(c["measures"])}
    wide = (wide.join(ref_n, on="measure", how="left")
            .with_columns(n_diff=pl.min_horizontal("n_level", "ref_n"),
                          label=pl.col("group").replace_strict({**labels, "all": ALL_LABEL}, default=pl.col("group")),
                          mlab=pl.col("measure").replace_strict(MEASURE_LABEL, default=pl.col("measure")),
                          o=pl.col("group").replace_strict(order, default=99, return_dtype=pl.Int64),
                          mo=pl.col("measure").replace_strict(morder, default=99, return_dtype=pl.Int64))
            .sort("mo", "o"))
    oy, base = outcome_year, base_year
    reference = in_sentence(labels.get(c["reference"], c["reference"]))
    cols = {"mlab": {"kind": "label", "header": "Measure"},
            "label": {"kind": "label", "header": "Group"},
            "n_level": {"kind": "count", "header": "Schools"},
            "level_schools": {"kind": "number", "decimals": 1, "base": "n_level", "header": f"{oy} (mean of schools)"},
            "level_schools_ci": {"kind": "ci", "lower": "level_schools_lo", "upper": "level_schools_hi",
                                 "base": "n_level", "decimals": 1, "header": "95% CI"},
            "level_pupils": {"kind": "number", "decimals": 1, "base": "n_level", "header": f"{oy} (pupil-weighted)"},
            # (numerator: a difference is suppressed with its group's count, or it would give the mean away)
            "diff_level": {"kind": "number", "decimals": 1, "base": "n_diff", "numerator": "n_level",
                           "header": f"Difference from {reference}"},
            "diff_level_ci": {"kind": "ci", "lower": "diff_level_lo", "upper": "diff_level_hi", "base": "n_diff",
                              "numerator": "n_level", "decimals": 1, "header": "95% CI of difference"},
            "n_change": {"kind": "count", "header": f"Schools with every year {base} to {oy}"},
            "change_schools": {"kind": "number", "decimals": 1, "base": "n_change",
                               "header": f"Change since {base} (mean of schools)"},
            "change_schools_ci": {"kind": "ci", "lower": "change_schools_lo", "upper": "change_schools_hi",
                                  "base": "n_change", "decimals": 1, "header": "95% CI of change"},
            "change_pupils": {"kind": "number", "decimals": 1, "base": "n_change",
                              "header": f"Change since {base} (pupil-weighted)"}}
    # the reference group has no difference from itself, nor the row of all schools: not applicable, not missing
    wide = wide.with_columns(pl.when(pl.col("group").is_in([c["reference"], "all"])).then(pl.lit("z"))
                             .otherwise(pl.lit("ok")).alias("ref_status"))
    for k in ("diff_level", "diff_level_ci"):
        cols[k]["status"] = "ref_status"
    sums = ([ColumnSum("label", ALL_LABEL, within="mlab", columns=("n_level", "n_change"))]
            if groups_disjoint(membership, c) else [])
    return publish_table(wide, columns=cols, threshold=threshold, sums=sums, record=record, notes=[
        f"{sentence_start(KEY_STAGE_LABEL[c['key_stage']])} schools; groups from use of the programme in the "
        f"financial years {', '.join(window)}"
        + ("; a school can be in more than one group" if not sums else "; each school is in one group")
        + ". Percentages in % of pupils, differences and changes in percentage points; scores in points. "
        f"Change: {oy} minus {base}, schools with the measure in every year between. Plain averages, as "
        f"published: no adjustment for differences between schools. The comparison follows {source_text}."])


def shown_groups(table, measure_label: str) -> dict[str, str]:
    """Group label -> the "Schools" cell the published table shows for one measure ("c" where hidden)."""
    d = table.data
    return {g: n for m, g, n in zip(d["Measure"], d["Group"], d["Schools"]) if m == measure_label}
