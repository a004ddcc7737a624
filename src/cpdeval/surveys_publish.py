"""What the "Impact" chapter prints from the survey tables: published tables (suppressed and rounded by the
display rules), the sentences that quote an item, and the figure references."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import polars as pl

from . import display as d
from .disclosure import count_label, count_text
from .surveys import ALL, NOT_KNOWN, SUBGROUP_NAMES, item_catalogue, level_label, scale_positive, summary_row

if TYPE_CHECKING:
    from .ingest.surveys import Instrument
    from .tables import PublishedTable

#: Link of the tables that show how many answered a post-event feedback item, by role: the quality-by-role
#: table of the Impact chapter and the satisfaction-and-quality table of the targeted programme's chapter.
#: The second (with its total and "Not known") is suppressed knowing what the first shows, and the disclosure
#: audit attacks the two together.
FEEDBACK_ROLE_LINK = "feedback answers by role"


def answers_key(item_id: str) -> str:
    """The identity of a column of the number answering ``item_id`` in the tables of :data:`FEEDBACK_ROLE_LINK`."""
    return f"answers to {item_id}"


def publish_group_bases(summary: pl.DataFrame, instrument: str, item_id: str, *, subgroup: str, threshold: int,
                        link: str, record: bool = False) -> "PublishedTable":
    """The number answering ``item_id`` in each group of ``subgroup``, with all respondents and "Not known", as the
    base column of :func:`publish_level_matrix` with ``by_group_item`` shows it: what a linked table in another
    chapter replays (unrecorded) before it publishes, so that it hides what this one hides and takes nothing this
    one shows as a complement."""
    from .tables import publish_table

    rows = (_by_group(summary.filter((pl.col("instrument") == instrument) & (pl.col("item_id") == item_id)),
                      subgroup).sort("group_order").select("group", "group_order", "n_substantive"))
    return publish_table(rows, columns=_group_base_columns(item_id, link), threshold=threshold, link=link,
                         record=record, sums=_group_sums(rows))


def _by_group(rows: pl.DataFrame, subgroup: str) -> pl.DataFrame:
    """The rows of one item by ``subgroup``, all respondents first (their order set to -1) and "Not known" last,
    as a table by group shows them (the groups and "Not known" add up to all respondents)."""
    return (rows.filter(pl.col("subgroup").is_in([subgroup, ALL]))
            .with_columns(pl.when(pl.col("subgroup") == ALL).then(-1).otherwise(pl.col("group_order"))
                          .alias("group_order")))


def _group_sums(rows: pl.DataFrame) -> list:
    """The total of a table by group: its all-respondents row (order -1, from :func:`_by_group`), if it has one."""
    from .tables import ColumnSum

    total = rows.filter(pl.col("group_order") == -1)["group"]
    return [ColumnSum("group", total[0], columns=("n_substantive",))] if total.len() else []


def _group_base_columns(item_id: str, link: str | None) -> dict[str, Any]:
    """Row label and base of a table by group, the base known across ``link`` by :func:`answers_key`."""
    return {"group": {"kind": "label", "header": "Group"},
            "n_substantive": {"kind": "count", "header": "Base", **({"key": answers_key(item_id)} if link else {})}}


def figure_markdown(figures_dir: str | Path, key: str, label: str, caption: str | None = None) -> str | None:
    """Markdown that includes a figure drawn by the survey stage (None if this year's answers did not allow it).

    ``key`` must be one of :data:`cpdeval.surveys_figures.CHAPTER_FIGURES`, the figures the stage draws: any
    other key stops here, rather than printing that the year had no answers for it."""
    from .surveys_figures import CHAPTER_FIGURES

    if key not in CHAPTER_FIGURES:
        raise ValueError(f"the survey stage does not draw the figure {key!r}: add it to CHAPTER_FIGURES in "
                         "cpdeval/surveys_figures.py to show it in the chapter")
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


def respondents(profile: pl.DataFrame, instrument: str) -> int:
    """How many people answered an instrument (0 when it has no respondents this year)."""
    rows = profile.filter(pl.col("instrument") == instrument)
    return int(rows["all_respondents"].max()) if rows.height else 0


def block_rows(summary: pl.DataFrame, instrument: str, block: str) -> pl.DataFrame:
    """The overall rows of a block of single-answer items, in questionnaire order."""
    return (summary.filter((pl.col("instrument") == instrument) & (pl.col("subgroup") == ALL)
                           & (pl.col("block") == block) & (pl.col("kind") == "single"))
            .sort("item_order"))


def pct_span(rows: pl.DataFrame, threshold: int, col: str = "pct_positive") -> str:
    """The range of a percentage over the rows whose base can be published: "from 76% to 98%", one value when
    they round alike, or "too few answers to report"."""
    ok = rows.filter(pl.col("n_substantive") >= threshold)
    if not ok.height:
        return "too few answers to report"
    lo, hi = d.fmt_pct(ok[col].min()), d.fmt_pct(ok[col].max())
    return lo if lo == hi else f"from {lo} to {hi}"


def pct_range(rows: pl.DataFrame, threshold: int, col: str = "pct_positive") -> str:
    """:func:`pct_span` as a verb phrase: "ranged from 62% to 66%", "was 97% for each" when they round alike, or
    "could not be reported (too few answers)"."""
    span = pct_span(rows, threshold, col)
    if span.startswith("from "):
        return "ranged " + span
    if span == "too few answers to report":
        return "could not be reported (too few answers)"
    return f"was {span} for each"


def n_text(row: Mapping[str, Any] | None, threshold: int) -> str:
    """An item's n for prose: the count of substantive answers, "fewer than T" when too small to publish, or
    "none" for an item with no row."""
    if row is None:
        return "none"
    return count_text(row["n_substantive"], threshold)


def item_row(summary: pl.DataFrame, instrument: str, item_id: str, subgroup: str = ALL,
             group: str | None = None) -> dict | None:
    """One summary row as a dict (None when the item or group is absent)."""
    return summary_row(summary, instrument, item_id, subgroup, group)


def say(row: Mapping[str, Any] | None, what: str = "positive", *, threshold: int, capitalize: bool = False,
        hedge: bool = False) -> str:
    """A percentage of a summary row in words ("over nine in 10 (93%)"), or a note that it is suppressed.

    ``what``: positive, top (over substantive answers), not_substantive (over all respondents), or
    positive_of_all / negative_of_all (the positive, or the other substantive, answers over all respondents: with
    not_substantive they add up to everyone who answered).
    """
    if row is None:
        return "not asked this year"
    k, n = {"positive": (row["n_positive"], row["n_substantive"]), "top": (row["n_top"], row["n_substantive"]),
            "not_substantive": (row["n_not_substantive"], row["respondents"]),
            "positive_of_all": (row["n_positive"], row["respondents"]),
            "negative_of_all": (row["n_substantive"] - row["n_positive"], row["respondents"])}[what]
    if n < threshold:
        return "too few answers to report" if n else "no answers"
    return d.words(k, n, threshold=threshold, capitalize=capitalize, hedge=hedge)


def _scale_header(scale: dict, which: str) -> str:
    if which == "positive":
        labels = [level_label(scale, x) for x in scale_positive(scale)]
    elif which == "top":
        labels = [level_label(scale, str(x)) for x in scale.get("top") or []]
    else:
        labels = [level_label(scale, str(x)) for x in scale.get("not_substantive") or []]
    return "% " + " or ".join(labels) if labels else "%"


def _placeholder(message: str, threshold: int, caption: str | None = None) -> "PublishedTable":
    from .tables import publish_table

    return publish_table(pl.DataFrame({"note": [message]}), columns={"note": {"kind": "label", "header": "Note"}},
                         threshold=threshold, caption=caption)


def _items_expr(subgroup: str, group: str | None = None, block: str | None = None,
                items: Sequence[str] | None = None) -> pl.Expr:
    """Rows of one subgroup, narrowed to a group, a block of the questionnaire or named items when given."""
    f = pl.col("subgroup") == subgroup
    if group is not None:
        f = f & (pl.col("group") == group)
    if block is not None:
        f = f & (pl.col("block") == block)
    if items is not None:
        f = f & pl.col("item_id").is_in(list(items))
    return f


def _publish_or_note(df: pl.DataFrame, empty: str, *, columns: Mapping[str, dict], threshold: int,
                     caption: str | None, notes: Sequence[str] | None) -> "PublishedTable":
    """``df`` as a published table, or a one-cell note saying ``empty`` when it has no rows."""
    from .tables import publish_table

    if not df.height:
        return _placeholder(empty, threshold, caption)
    return publish_table(df, columns=columns, threshold=threshold, caption=caption, notes=list(notes or []))


def publish_items(summary: pl.DataFrame, instruments: Mapping[str, "Instrument"], instrument: str, *,
                  block: str | None = None, items: Sequence[str] | None = None, threshold: int,
                  subgroup: str = ALL, group: str | None = None, rank: str | None = None,
                  caption: str | None = None, notes: Sequence[str] | None = None) -> "PublishedTable":
    """An item table: wording, n answering, n substantive, % positive with its 95% CI, % top, % not
    substantive and (optionally) the rank. Headers come from the scale ("% Strongly agree or Agree")."""
    from .tables import RowSum, publish_table

    rows = summary.filter((pl.col("instrument") == instrument)
                          & _items_expr(subgroup, group, block, items)).sort("item_order")
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
        "group": {"kind": "label", "header": SUBGROUP_NAMES.get(subgroup, subgroup).capitalize()},
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
                        caption: str | None = None, invited: pl.DataFrame | None = None) -> "PublishedTable":
    """Respondents to each instrument this year (instruments with no responses show a count of 0) and, when
    ``invited`` (``instrument, invited``: schemas/survey_invited.yaml) has rows, the number invited and the
    response rate. An instrument without an invited count has ``x`` for both; more respondents than invited is
    a wrong count, not a rate above 100%: ``x`` and a note. An instrument the definitions do not know stops."""
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
    columns = {
        "title": {"kind": "label", "header": "Survey"},
        "description": {"kind": "label", "header": "Who answers it"},
        "items": {"kind": "number", "decimals": 0, "header": "Items (options)"},
        "all_respondents": {"kind": "count", "header": "Respondents this year"},
    }
    notes = []
    if invited is not None and invited.height:
        unknown = sorted(set(invited["instrument"]) - set(instruments))
        if unknown:
            raise ValueError(f"the invited counts name {', '.join(unknown)}, not a survey of this year (the surveys "
                             f"are {', '.join(sorted(instruments))}): correct the instrument names in the invited "
                             "counts file")
        frame = frame.join(invited.select("instrument", pl.col("invited").cast(pl.Int64)), on="instrument",
                           how="left")
        over = frame.filter(pl.col("invited").is_not_null() & (pl.col("all_respondents") > pl.col("invited")))
        frame = frame.with_columns(
            pl.when(pl.col("invited").is_null()).then(pl.lit("x"))
            .when(pl.col("all_respondents") > pl.col("invited")).then(pl.lit("x")).otherwise(pl.lit("ok"))
            .alias("rate_status"))
        columns["invited"] = {"kind": "count", "header": "Invited"}
        columns["response_rate"] = {"kind": "percent", "header": "Response rate", "numerator": "all_respondents",
                                    "base": "invited", "status": "rate_status"}
        frame = frame.with_columns(
            pl.when(pl.col("invited") > 0).then(pl.col("all_respondents") / pl.col("invited") * 100)
            .alias("response_rate"))
        notes.append("Response rate: respondents as a percentage of the people invited.")
        if over.height:
            notes.append(f"{' and '.join(over['title'].to_list())}: more respondents than invited, so the invited "
                         "count cannot be right and no rate is given.")
        missing = frame.filter(pl.col("invited").is_null())["title"].to_list()
        if missing:
            notes.append(f"No invited count for {' or '.join(missing)}: no response rate.")
    return publish_table(frame, columns=columns, threshold=threshold, caption=caption, notes=notes or None)


def publish_levels(levels: pl.DataFrame, instruments: Mapping[str, "Instrument"], instrument: str, item_id: str,
                   *, threshold: int, caption: str | None = None, notes: Sequence[str] | None = None,
                   of_all: bool = False) -> "PublishedTable":
    """A frequency table of one item's answers (seed 002, Tables 6 and 7): answer, count, %, and the total.

    Substantive answers are % of substantive answers; a not-substantive answer is % of all respondents. With
    ``of_all`` every answer, "cannot say" included, is % of everyone who answered the item, and they add up to
    100% (seed 000's commitment of trained leaders: yes, no, cannot say)."""
    from .tables import ColumnSum, publish_table

    rows = levels.filter((pl.col("instrument") == instrument) & (pl.col("item_id") == item_id)
                         & (pl.col("subgroup") == ALL)).sort("level_order")
    if not rows.height or instrument not in instruments:
        return _placeholder("No responses to this survey in this year's data.", threshold, caption)
    scale = instruments[instrument].scales[rows["scale"][0]]
    n = rows["respondents"][0] if of_all else rows["n_substantive"][0]
    in_base = pl.lit(True) if of_all else pl.col("substantive")       # the answers that add up to the total
    own_base = pl.col("substantive") & pl.lit(not of_all)               # % of substantive answers
    body = rows.with_columns(
        pl.col("response").map_elements(lambda v: level_label(scale, v), return_dtype=pl.Utf8).alias("answer"),
        pl.when(own_base).then(pl.col("n_substantive")).otherwise(pl.col("respondents")).alias("base"),
        pl.when(own_base).then(pl.col("pct_of_substantive"))
        .otherwise(pl.col("pct_of_respondents")).alias("pct"),
    ).select("answer", "count", "base", "pct")
    total = pl.DataFrame({"answer": ["Total (N)"], "count": [n], "base": [n], "pct": [100.0 if n else None]},
                         schema=body.schema)
    in_total = rows.with_columns(in_base.alias("__in"))["__in"].to_list()
    substantive = tuple(a for a, i in zip(body["answer"], in_total) if i)
    outside = [a for a, i in zip(body["answer"], in_total) if not i]
    notes = list(notes or [])
    if outside:
        # the total sits under the answers it adds up; an answer outside it ("cannot say") comes after, and says
        # what its % is of (a reader adding the column otherwise finds 103%)
        body = pl.concat([body.filter(pl.Series(in_total)), total, body.filter(~pl.Series(in_total))])
        # (no count of everyone who answered: with the total it would give a hidden "cannot say" away)
        notes.append(f"{d.join_words(outside)}: not in the total; % of everyone who answered the question.")
    else:
        body = pl.concat([body, total])
    return publish_table(body, columns={
        "answer": {"kind": "label", "header": "Answer"},
        "count": {"kind": "count", "header": "No."},
        "pct": {"kind": "percent", "base": "base", "numerator": "count", "header": "%"},
    }, threshold=threshold, caption=caption, notes=notes,
        sums=[ColumnSum("answer", "Total (N)", members=substantive)])


def shown_levels(table: "PublishedTable") -> dict[str, str]:
    """Answer -> the % a frequency table of :func:`publish_levels` shows for it, for the answers whose count and
    % it shows: the words about a table quote only these, so a sentence never gives away a cell the table
    suppresses (a percentage of a shown total is the count itself)."""
    d_ = table.data
    if "Answer" not in d_.columns:
        return {}
    return {a: pct for a, n, pct in zip(d_["Answer"], d_["No."], d_["%"])
            if a != "Total (N)" and n != d.SUPPRESSED and pct != d.SUPPRESSED}


def publish_level_matrix(levels: pl.DataFrame, summary: pl.DataFrame, instruments: Mapping[str, "Instrument"],
                         instrument: str, *, block: str | None = None, items: Sequence[str] | None = None,
                         threshold: int, rank: str | None = "top", subgroup: str = ALL, group: str | None = None,
                         by_group_item: str | None = None, caption: str | None = None,
                         notes: Sequence[str] | None = None, worst_first: bool = True,
                         link: str | None = None) -> "PublishedTable":
    """A % of each answer table (seed 002, Table 8): one row per item (or, with ``by_group_item``, one row
    per group of ``subgroup`` for that item, as the quality-by-role cross-tab), columns per answer, base
    and rank. With ``link`` (by group only), the bases are shared with the other tables of that link, as
    :func:`publish_group_bases` replays them."""
    from .tables import publish_table

    f = (pl.col("instrument") == instrument) & pl.col("substantive")
    if by_group_item:
        f = f & (pl.col("item_id") == by_group_item)
        row_key, row_label = "group", "group"
        rows = _by_group(levels.filter(f), subgroup)
    else:
        f = f & _items_expr(subgroup, group, block, items)
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
    if link and not by_group_item:
        raise ValueError("publish_level_matrix: only a table by group (by_group_item) can be linked")
    base_cols = _group_base_columns(by_group_item or "", link)
    cols: dict[str, Any] = {row_label: base_cols["group"] if by_group_item else {"kind": "label",
                                                                                  "header": "Statement"}}
    for i, name in enumerate(lv):
        if f"lv_{i}" in wide.columns:
            cols[f"lv_{i}"] = {"kind": "percent", "base": "n_substantive", "header": level_label(scale, name)}
    cols["n_substantive"] = base_cols["n_substantive"]
    if rank and not by_group_item:
        rf = (pl.col("instrument") == instrument) & (pl.col("subgroup") == subgroup)
        if group is not None:
            rf = rf & (pl.col("group") == group)
        ranks = summary.filter(rf).select("item_id", f"rank_{rank}_label")
        wide = wide.join(ranks, on="item_id", how="left")
        cols[f"rank_{rank}_label"] = {"kind": "label", "header": "Rank"}
    return publish_table(wide, columns=cols, threshold=threshold, caption=caption, notes=list(notes or []),
                         link=link, sums=_group_sums(wide) if by_group_item else ())


def publish_profile(profile: pl.DataFrame, instrument: str, subgroup: str = "role", *, threshold: int,
                    caption: str | None = None, notes: Sequence[str] | None = None) -> "PublishedTable":
    """Respondents by one subgroup (seed 002, Table 5): group, number, % of those for whom it is known."""
    from .tables import ColumnSum, publish_table

    rows = profile.filter((pl.col("instrument") == instrument) & (pl.col("subgroup") == subgroup)).sort("group_order")
    if not rows.height:
        return _placeholder("No responses to this survey in this year's data.", threshold, caption)
    known = rows.filter(pl.col("group") != NOT_KNOWN)
    k = int(known["respondents"].sum())
    total = pl.DataFrame({"group": [f"Total ({SUBGROUP_NAMES.get(subgroup, subgroup)} known)"], "respondents": [k],
                          "known": [k], "pct": [100.0 if k else None]})
    body = pl.concat([known.select("group", "respondents", "known", "pct"), total.cast(known.select(
        "group", "respondents", "known", "pct").schema)])
    nk = rows.filter(pl.col("group") == NOT_KNOWN)
    if nk.height:
        body = pl.concat([body, nk.select("group", "respondents", "known", pl.lit(None, dtype=pl.Float64).alias("pct"))])
    # "Not known" has no share: the percentages are of those whose group is known (not applicable, z)
    body = body.with_columns(pct_status=pl.when(pl.col("group") == NOT_KNOWN).then(pl.lit("z")).otherwise(pl.lit("ok")))
    return publish_table(body, columns={
        "group": {"kind": "label", "header": SUBGROUP_NAMES.get(subgroup, subgroup).capitalize()},
        "respondents": {"kind": "count", "header": "No."},
        "pct": {"kind": "percent", "base": "known", "numerator": "respondents", "header": "%", "status": "pct_status"},
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
    # the base row has no share of itself worth printing (a comment can carry several codes): not applicable
    body = pl.concat([rows.select(total.columns).cast(total.schema), total]).with_columns(
        pct_status=pl.when(pl.col("label") == total["label"][0]).then(pl.lit("z")).otherwise(pl.lit("ok")))
    return publish_table(body, columns={
        "rank_label": {"kind": "label", "header": "Rank"},
        "label": {"kind": "label", "header": "Reason"},
        "description": {"kind": "label", "header": "What it covers"},
        "comments": {"kind": "count", "header": "Comments"},
        "pct": {"kind": "percent", "base": "base", "numerator": "comments", "header": "% of coded comments",
                "status": "pct_status"},
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
    return _publish_or_note(bench, "No benchmarks are configured.", threshold=threshold, caption=caption,
                            notes=notes, columns={
        "source_short": {"kind": "label", "header": "Source"},
        "period": {"kind": "label", "header": "Period"},
        "item": {"kind": "label", "header": "Item"},
        "measure": {"kind": "label", "header": "Measure"},
        "value": {"kind": "number", "decimals": 0, "suffix": "%", "header": "Published value"},
        "scale": {"kind": "label", "header": "Scale"},
        "respondents": {"kind": "label", "header": "Respondents"},
    })


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
    """This survey's items beside the benchmarks compared with them (:func:`benchmark_comparison`)."""
    return _publish_or_note(comparison, "No benchmarks are compared with this survey.", threshold=threshold,
                            caption=caption, notes=notes, columns={
        "this_item": {"kind": "label", "header": "This survey: item"},
        "this_n": {"kind": "count", "header": "This survey: n (smallest)"},
        "this_low": {"kind": "percent", "base": "this_n", "header": "This survey: % positive (lowest)"},
        "this_high": {"kind": "percent", "base": "this_n", "header": "This survey: % positive (highest)"},
        "bench_source": {"kind": "label", "header": "Benchmark (other study)"},
        "bench_period": {"kind": "label", "header": "Benchmark period"},
        "bench_measure": {"kind": "label", "header": "Benchmark measure"},
        "bench_value": {"kind": "number", "decimals": 0, "suffix": "%", "header": "Benchmark value"},
        "bench_respondents": {"kind": "label", "header": "Benchmark respondents"},
    })
