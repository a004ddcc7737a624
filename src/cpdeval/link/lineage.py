"""URN lineage: one stable school id across academy conversions, mergers and re-openings.

A school that converts to an academy, is re-brokered to another trust, or amalgamates gets a new URN;
GIAS records the old and new URNs in its links file (``URN``, ``LinkURN``, ``LinkType``,
``LinkEstablishedDate``; a row says what ``LinkURN`` is *to* ``URN``). :func:`build_lineage` turns the file
into one ``school_key`` per URN so that a school's attainment and engagement series continues across
URNs.

Rules
-----
Directed links (predecessor -> successor) are taken from the link types:

* ``Successor``, ``Successor - merged``, ``Successor - amalgamated``, ``Successor - Split School``:
  ``URN -> LinkURN``;
* ``Predecessor``, ``Predecessor - merged``, ``Predecessor - amalgamated``, ``Predecessor - Split School``:
  ``LinkURN -> URN``;
* ``Result of Amalgamation`` (no direction in GIAS): oriented from the lower to the higher URN, as URNs
  are issued in increasing order (the newer establishment has the higher URN); reported as
  ``undirected_link``;
* every other type (``Sixth Form Centre School`` / ``Link``, ``Other``, ``Expansion``, ``Closure``,
  ``Merged - ...``) does not change which school it is and is not followed (reported as
  ``not_followed``).

Each GIAS link is normally written twice (A says successor B, B says predecessor A); the pair counts once.
A link written from one side only is used but reported (``missing_twin``). Two URNs that each call the
other their successor (or predecessor) contradict each other: the link is kept, oriented lower -> higher
URN, and reported (``contradictory_direction``).

The key
-------
``school_key`` is the URN of the **latest successor**: follow successor links until a URN with no
successor. Merges (several predecessors, one successor) give every predecessor the successor's key.
A split (one URN with several successors) follows one successor, chosen by the earliest link date
(undated links last), then the lowest URN; the choice is reported (``split``), and the other successors
keep their own keys. A cycle (A -> B -> ... -> A, which should not exist) is broken: every URN on it
takes the highest URN on the cycle as key, and it is reported (``cycle``). Resolution is iterative with a
visited set (no recursion), runs once per URN, and does not depend on the order of the rows.

``rule`` says how each URN's key was reached: ``own_urn`` (no links), ``successor_chain`` (followed
links, or is the end of a chain others follow), ``split_choice`` (a split was resolved on the way),
``cycle_broken`` (a cycle was broken on the way). ``chain_length`` is the number of links followed from
the URN to its key (0 for a key itself). ``linked`` is true when the key groups more than one URN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import polars as pl


__all__ = [
    "LINEAGE_SCHEMA", "ISSUES_SCHEMA", "SUCCESSOR_TYPES", "PREDECESSOR_TYPES", "UNDIRECTED_TYPES",
    "read_gias_links", "lineage_edges", "build_lineage", "apply_lineage", "summarise_lineage",
]

SUCCESSOR_TYPES = frozenset({"Successor", "Successor - merged", "Successor - amalgamated",
                             "Successor - Split School"})
PREDECESSOR_TYPES = frozenset({"Predecessor", "Predecessor - merged", "Predecessor - amalgamated",
                               "Predecessor - Split School"})
UNDIRECTED_TYPES = frozenset({"Result of Amalgamation"})

LINEAGE_SCHEMA = {"urn": pl.Int64, "school_key": pl.Int64, "chain_length": pl.Int64, "linked": pl.Boolean,
                  "rule": pl.Utf8}
ISSUES_SCHEMA = {"urn": pl.Int64, "link_urn": pl.Int64, "issue": pl.Utf8, "detail": pl.Utf8}
#: Each kind of problem in words, for published tables.
ISSUE_LABELS = {"not_followed": "Link of a type that is not followed", "missing_twin": "Recorded by one school only",
                "contradictory_direction": "The two schools disagree on which came first",
                "undirected_link": "No direction recorded", "split": "One school with several successors",
                "cycle": "Links that go round in a circle"}
LINKS_SCHEMA = {"urn": pl.Int64, "link_urn": pl.Int64, "link_name": pl.Utf8, "link_type": pl.Utf8,
                "link_date": pl.Date, "source_row": pl.Int64}

_RULE_RANK = {"own_urn": 0, "successor_chain": 1, "split_choice": 2, "cycle_broken": 3}


def read_gias_links(path: str | Path, encoding: str = "auto") -> pl.DataFrame:
    """The GIAS links file: ``urn``, ``link_urn`` (Int64), ``link_name``, ``link_type``, ``link_date`` (Date),
    ``source_row``, ``parse_issue``. Rows whose URN or LinkURN is not a number keep a null there (the contract
    quarantines them); :func:`build_lineage` ignores them. A date not in dd-mm-yyyy is null and named in
    ``parse_issue`` (null when the row read cleanly), which the contract layer quarantines."""
    from ..ingest.csvread import read_text_csv

    cols = {"URN": "urn", "LinkURN": "link_urn", "LinkName": "link_name", "LinkType": "link_type",
            "LinkEstablishedDate": "link_date"}
    raw = read_text_csv(path, encoding=encoding, columns=list(cols), require=["URN", "LinkURN", "LinkType"],
                        encoding_setting="inputs.links_encoding",
                        what="GIAS links file")
    for c in cols:
        if c not in raw.columns:
            raw = raw.with_columns(pl.lit(None, dtype=pl.Utf8).alias(c))
    raw = raw.rename(cols)
    txt = {c: pl.col(c).str.strip_chars() for c in cols.values()}
    return raw.select(
        pl.when(txt["urn"].str.contains(r"^\d+$")).then(txt["urn"].cast(pl.Int64, strict=False)).alias("urn"),
        pl.when(txt["link_urn"].str.contains(r"^\d+$")).then(txt["link_urn"].cast(pl.Int64, strict=False))
        .alias("link_urn"),
        txt["link_name"].alias("link_name"),
        txt["link_type"].alias("link_type"),
        txt["link_date"].str.to_date("%d-%m-%Y", strict=False).alias("link_date"),
        pl.col("source_row"),
        pl.when(txt["link_date"].is_not_null() & (txt["link_date"] != "")
                & txt["link_date"].str.to_date("%d-%m-%Y", strict=False).is_null())
        .then(pl.lit("link_date ") + txt["link_date"].str.slice(0, 40) + pl.lit(" is not a dd-mm-yyyy date"))
        .alias("parse_issue"),
    )


def _empty_issues() -> pl.DataFrame:
    return pl.DataFrame(schema=ISSUES_SCHEMA)


def lineage_edges(links: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Directed predecessor -> successor edges (``pred``, ``succ``, ``link_date``) and the issues found.

    One row per distinct (pred, succ) pair; ``link_date`` is the earliest date given for the pair.
    """
    need = {"urn", "link_urn", "link_type"}
    if not need <= set(links.columns):
        raise ValueError(f"links needs columns {sorted(need)} (use read_gias_links); has {links.columns}")
    lk = links.select(
        pl.col("urn").cast(pl.Int64), pl.col("link_urn").cast(pl.Int64),
        pl.col("link_type").cast(pl.Utf8).str.strip_chars(),
        (pl.col("link_date").cast(pl.Date) if "link_date" in links.columns
         else pl.lit(None, dtype=pl.Date)).alias("link_date"),
    ).filter(pl.col("urn").is_not_null() & pl.col("link_urn").is_not_null()
             & (pl.col("urn") != pl.col("link_urn")))
    lt = pl.col("link_type")
    is_succ, is_pred = lt.is_in(list(SUCCESSOR_TYPES)), lt.is_in(list(PREDECESSOR_TYPES))
    is_undirected = lt.is_in(list(UNDIRECTED_TYPES))
    lo, hi = pl.min_horizontal("urn", "link_urn"), pl.max_horizontal("urn", "link_urn")
    directed = lk.filter(is_succ | is_pred | is_undirected).with_columns(
        pl.when(is_succ).then(pl.col("urn")).when(is_pred).then(pl.col("link_urn")).otherwise(lo).alias("pred"),
        pl.when(is_succ).then(pl.col("link_urn")).when(is_pred).then(pl.col("urn")).otherwise(hi).alias("succ"),
        is_undirected.alias("undirected"),
        # which side of the pair wrote the row (the URN column)
        pl.col("urn").alias("writer"),
    )
    issues = []
    not_followed = lk.filter(~(is_succ | is_pred | is_undirected))
    if not_followed.height:
        issues.append(not_followed.select(
            "urn", pl.col("link_urn"), pl.lit("not_followed").alias("issue"),
            (pl.lit("link type '") + pl.col("link_type").fill_null("") + pl.lit("' does not change the school; "
             "not used for the key")).alias("detail")))
    # contradictions: both directions asserted for the same unordered pair (by the directed types)
    dd = directed.filter(~pl.col("undirected")).with_columns(lo.alias("a"), hi.alias("b"))
    pairs = dd.group_by("a", "b").agg(
        pl.col("pred").n_unique().alias("n_dirs"),
        pl.col("writer").n_unique().alias("n_writers"),
        pl.col("writer").min().alias("writer"),
        pl.col("link_type").unique().sort().str.join(" / ").alias("types"),
        pl.col("pred").min().alias("pred1"),
        pl.col("succ").min().alias("succ1"),
    )
    contra = pairs.filter(pl.col("n_dirs") > 1).sort(["a", "b"])
    if contra.height:
        issues.append(contra.select(
            pl.col("a").alias("urn"), pl.col("b").alias("link_urn"), pl.lit("contradictory_direction").alias("issue"),
            (pl.lit("the two URNs disagree on which is the successor (") + pl.col("types")
             + pl.lit("): kept as ") + pl.col("a").cast(pl.Utf8) + pl.lit(" -> ") + pl.col("b").cast(pl.Utf8)
             + pl.lit(" (higher URN taken as the successor)")).alias("detail")))
    one_sided = pairs.filter((pl.col("n_dirs") == 1) & (pl.col("n_writers") == 1)).sort(["a", "b"])
    if one_sided.height:
        issues.append(one_sided.select(
            pl.col("writer").alias("urn"),
            pl.when(pl.col("writer") == pl.col("a")).then(pl.col("b")).otherwise(pl.col("a")).alias("link_urn"),
            pl.lit("missing_twin").alias("issue"),
            (pl.lit("only URN ") + pl.col("writer").cast(pl.Utf8) + pl.lit(" records this link ('")
             + pl.col("types") + pl.lit("'); the other URN has no matching row. Used as ")
             + pl.col("pred1").cast(pl.Utf8) + pl.lit(" -> ") + pl.col("succ1").cast(pl.Utf8)).alias("detail")))
    # final edges: directed pairs as asserted (contradictory ones oriented low -> high), then undirected
    # pairs that no directed row describes, oriented low -> high
    contra_pairs = contra.select("a", "b")
    directed_pairs = dd.select("a", "b").unique()
    und = (directed.filter(pl.col("undirected")).with_columns(lo.alias("a"), hi.alias("b"))
           .join(directed_pairs, on=["a", "b"], how="anti"))
    if und.height:
        issues.append(und.unique(["a", "b"]).sort(["a", "b"]).select(
            pl.col("a").alias("urn"), pl.col("b").alias("link_urn"), pl.lit("undirected_link").alias("issue"),
            (pl.lit("'Result of Amalgamation' has no direction: oriented ") + pl.col("a").cast(pl.Utf8)
             + pl.lit(" -> ") + pl.col("b").cast(pl.Utf8) + pl.lit(" (higher URN taken as the successor)"))
            .alias("detail")))
    edges = pl.concat([
        dd.join(contra_pairs, on=["a", "b"], how="anti").select("pred", "succ", "link_date"),
        dd.join(contra_pairs, on=["a", "b"], how="semi").select(
            pl.col("a").alias("pred"), pl.col("b").alias("succ"), "link_date"),
        und.select(pl.col("a").alias("pred"), pl.col("b").alias("succ"), "link_date"),
    ])
    edges = edges.group_by("pred", "succ").agg(pl.col("link_date").min()).sort(["pred", "succ"])
    issue_df = pl.concat([i.select([pl.col(k).cast(v) for k, v in ISSUES_SCHEMA.items()]) for i in issues]) \
        if issues else _empty_issues()
    return edges, issue_df


def build_lineage(links: pl.DataFrame, urns: Iterable[int] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lineage, issues): one ``school_key`` per URN, and every problem met on the way (module docstring).

    ``urns``: the URNs to report (e.g. every URN in the register, attainment data and bookings); URNs with
    no links map to themselves. Without it, every URN named in the links file is reported.
    """
    edges, issues = lineage_edges(links)
    # choose one successor per URN: earliest link date (undated last), then lowest URN
    ranked = edges.sort(["pred", pl.col("link_date").is_null(), "link_date", "succ"])
    preds = ranked["pred"].to_list()
    succs = ranked["succ"].to_list()
    dates = ranked["link_date"].to_list()
    succ_of: dict[int, int] = {}
    options: dict[int, list[tuple[int, object]]] = {}
    for p, s, d in zip(preds, succs, dates):
        if p not in succ_of:
            succ_of[p] = s
        options.setdefault(p, []).append((s, d))
    extra_issues = []
    split_nodes = set()
    for p, opts in options.items():
        if len(opts) > 1:
            split_nodes.add(p)
            listed = ", ".join(f"{s} ({d.isoformat() if d else 'no date'})" for s, d in opts)
            extra_issues.append({"urn": p, "link_urn": succ_of[p], "issue": "split",
                                 "detail": f"{len(opts)} successors: {listed}; followed {succ_of[p]} (earliest "
                                           "link date, then lowest URN); the others keep their own keys"})

    key: dict[int, int] = {}
    depth: dict[int, int] = {}
    rule: dict[int, str] = {}
    nodes = set(succ_of) | set(succs)
    for start in sorted(nodes):
        if start in key:
            continue
        path: list[int] = []          # unresolved URNs, each followed by its chosen successor
        on_path: dict[int, int] = {}
        n = start
        while True:
            if n in key:               # reached a resolved URN
                break
            if n in on_path:           # came back to a URN on this path: a cycle
                i = on_path[n]
                cycle = path[i:]
                m = len(cycle)
                j = cycle.index(max(cycle))
                k = cycle[j]
                for pos, c in enumerate(cycle):
                    key[c], rule[c], depth[c] = k, "cycle_broken", (j - pos) % m
                ordered = " -> ".join(str(c) for c in cycle[j:] + cycle[:j] + [k])
                extra_issues.append({"urn": k, "link_urn": succ_of[k], "issue": "cycle",
                                     "detail": f"successor links form a cycle {ordered}; every URN on it takes "
                                               f"the highest URN {k} as key"})
                del path[i:]
                break
            nxt = succ_of.get(n)
            if nxt is None:            # the latest successor: the key
                key[n], depth[n], rule[n] = n, 0, "successor_chain"
                break
            on_path[n] = len(path)
            path.append(n)
            n = nxt
        for m_ in reversed(path):      # unwind: each URN takes its chosen successor's key
            s_ = succ_of[m_]
            key[m_] = key[s_]
            depth[m_] = depth[s_] + 1
            r = rule[s_]
            if m_ in split_nodes and _RULE_RANK["split_choice"] > _RULE_RANK[r]:
                r = "split_choice"
            rule[m_] = r

    lineage = pl.DataFrame({"urn": list(key), "school_key": list(key.values()),
                            "chain_length": [depth[u] for u in key], "rule": [rule[u] for u in key]},
                           schema={"urn": pl.Int64, "school_key": pl.Int64, "chain_length": pl.Int64,
                                   "rule": pl.Utf8})
    if urns is not None:
        wanted = pl.DataFrame({"urn": list(urns)}, schema={"urn": pl.Int64}).drop_nulls().unique()
        lineage = wanted.join(lineage, on="urn", how="left").with_columns(
            pl.coalesce("school_key", "urn").alias("school_key"),
            pl.col("chain_length").fill_null(0),
            pl.col("rule").fill_null("own_urn"),
        )
    # linked: the key groups more than one URN (counting every URN the links resolve, not only `urns`)
    group_sizes = pl.DataFrame({"school_key": list(key.values())}, schema={"school_key": pl.Int64}) \
        .group_by("school_key").len()
    lineage = lineage.join(group_sizes, on="school_key", how="left").with_columns(
        (pl.col("len").fill_null(1) > 1).alias("linked")).drop("len")
    lineage = lineage.select([pl.col(k).cast(v) for k, v in LINEAGE_SCHEMA.items()]).sort("urn")
    if extra_issues:
        issues = pl.concat([issues, pl.DataFrame(extra_issues, schema=ISSUES_SCHEMA)])
    issues = issues.sort(["issue", "urn", "link_urn", "detail"], nulls_last=True)
    return lineage, issues


def apply_lineage(df: pl.DataFrame, lineage: pl.DataFrame, urn_col: str = "urn",
                  key_col: str = "school_key") -> pl.DataFrame:
    """``df`` with ``key_col`` added: the lineage key of ``urn_col`` (a URN absent from the lineage is its
    own key; a null URN has a null key). Row order and count are unchanged."""
    if key_col in df.columns:
        df = df.drop(key_col)
    lk = lineage.select(pl.col("urn").alias("__lk_urn"), pl.col("school_key").alias(key_col))
    out = df.join(lk, left_on=urn_col, right_on="__lk_urn", how="left", maintain_order="left")
    return out.with_columns(pl.coalesce(pl.col(key_col), pl.col(urn_col).cast(pl.Int64)).alias(key_col))


def summarise_lineage(lineage: pl.DataFrame, issues: pl.DataFrame | None = None,
                      present: pl.DataFrame | None = None, urn_col: str = "urn") -> pl.DataFrame:
    """Counts for the methods chapter, as (``metric``, ``value``, ``description``) rows.

    ``present``: a table of the URNs actually in the data (e.g. attainment rows with ``urn``); with it,
    ``keys_joined_in_data`` counts schools whose series in the data spans more than one URN (the series that
    lineage joins).
    """
    rows = [
        ("urns", lineage.height, "URNs in the lineage table"),
        ("school_keys", lineage["school_key"].n_unique(), "distinct school keys"),
        ("urns_linked", int(lineage["linked"].sum()), "URNs whose key groups more than one URN"),
        ("urns_with_other_key", int((lineage["urn"] != lineage["school_key"]).sum()),
         "URNs mapped to a later URN (a successor)"),
        ("keys_grouping_several_urns",
         lineage.group_by("school_key").len().filter(pl.col("len") > 1).height,
         "school keys that group two or more of these URNs"),
        ("max_chain_length", int(lineage["chain_length"].max() or 0), "longest chain of links followed"),
    ]
    for r in ["own_urn", "successor_chain", "split_choice", "cycle_broken"]:
        rows.append((f"rule_{r}", int((lineage["rule"] == r).sum()), f"URNs whose key came by rule {r}"))
    if issues is not None:
        for issue, n in sorted(issues.group_by("issue").len().rows()):
            rows.append((f"issue_{issue}", n, f"links reported as {issue}"))
    if present is not None:
        p = apply_lineage(present.select(pl.col(urn_col).alias("urn")).drop_nulls().unique(), lineage)
        joined = p.group_by("school_key").agg(pl.col("urn").n_unique().alias("n")).filter(pl.col("n") > 1)
        rows.append(("keys_joined_in_data", joined.height,
                     "schools whose series in the data spans more than one URN"))
        rows.append(("urns_joined_in_data", int(joined["n"].sum() or 0),
                     "URNs in the data that share a school key with another URN in the data"))
    return pl.DataFrame(rows, schema={"metric": pl.Utf8, "value": pl.Int64, "description": pl.Utf8}, orient="row")
