"""Matching booking institutions to the school register.

A booking names its school by URN where the CRM has it, else by LAESTAB, else by the name and postcode
someone typed. :func:`match_bookings` tries, in order:

=================  ==========  ====================================================================
method             confidence  rule
=================  ==========  ====================================================================
``urn``            1.00        the booking's URN is in the register
``laestab``        0.98        the booking's LAESTAB is in the register and names one school (one
                               school key; predecessor and successor sharing a LAESTAB count as one)
``name_postcode``  0.95 x s    a register school at the same (normalised) postcode; ``s`` is the name
                               similarity (1 for equal normalised names, so exact = 0.95)
``name_town``      0.90 x s    a register school in the same postcode district (outward code, e.g.
                               ``GU15``; also when only the outward code was typed) with a similar name
                               (exact normalised name = 0.90)
``postcode_only``  0.80        the postcode holds exactly one school (one key) but the name does not
                               match it well enough (below 0.80 on ``name_postcode``)
``ambiguous``      (best)      candidates exist but the best scores below ``min_confidence``, or a second
                               school scores less than ``margin`` (0.05) below the best
``unmatched``      null        no candidate at all
=================  ==========  ====================================================================

``s`` is :func:`~cpdeval.link.normalise.name_similarity` (Dice coefficient of character bigrams of the
normalised names, word order ignored); candidates with ``s`` below ``min_similarity`` (0.5) are not
considered for the name methods. URN and LAESTAB are tried first; when the booking gives a URN or
LAESTAB that is not in the register, matching falls through to the name methods and ``match_reason``
says so ("URN 123456 not in register; ..."). A match scoring below ``min_confidence`` (default 0.85,
``thresholds.match_min_confidence`` in the config) is never accepted silently: it is reported as
``ambiguous`` with its best candidate, for a person to review.

When several register rows share a school key (a school before and after academy conversion), the
matched ``urn`` is the best-scoring row, ties broken by open status then the highest (latest) URN.

Matching works on distinct (name, postcode) pairs, so 750,000 bookings cost about as much as the number
of different ways schools are typed.
"""

from __future__ import annotations

import polars as pl

from .lineage import apply_lineage
from .normalise import bigrams_expr, district_expr, name_expr, outward_only_expr, postcode_expr, similarity_expr

__all__ = ["MATCH_METHODS", "ACCEPTED_METHODS", "MATCHES_SCHEMA", "REVIEW_SCHEMA", "CONFIDENCE",
           "prepare_register", "match_bookings", "match_rates"]

MATCH_METHODS = ["urn", "laestab", "name_postcode", "name_town", "postcode_only", "ambiguous", "unmatched"]
ACCEPTED_METHODS = ["urn", "laestab", "name_postcode", "name_town", "postcode_only"]
#: Each method in words, for published tables.
METHOD_LABELS = {"urn": "URN given in the booking", "laestab": "LA and establishment number",
                 "name_postcode": "School name and postcode", "name_town": "School name and town",
                 "postcode_only": "Postcode only", "ambiguous": "Ambiguous (not linked)", "unmatched": "Not matched"}
CONFIDENCE = {"urn": 1.0, "laestab": 0.98, "name_postcode": 0.95, "name_town": 0.90, "postcode_only": 0.80}

MATCHES_SCHEMA = {"booking_id": pl.Utf8, "urn": pl.Int64, "school_key": pl.Int64, "match_method": pl.Utf8,
                  "match_confidence": pl.Float64, "match_reason": pl.Utf8}
REVIEW_SCHEMA = {"booking_id": pl.Utf8, "given_urn": pl.Int64, "given_laestab": pl.Int64, "org_name": pl.Utf8,
                 "org_postcode": pl.Utf8, "match_method": pl.Utf8, "match_confidence": pl.Float64,
                 "match_reason": pl.Utf8, "candidate_urns": pl.Utf8, "candidate_names": pl.Utf8}

_OPEN = ["open", "open_proposed_to_close"]
_METHOD_PRIORITY = {"urn": 0, "laestab": 1, "name_postcode": 2, "name_town": 3, "postcode_only": 4}


def prepare_register(register: pl.DataFrame, lineage: pl.DataFrame | None = None) -> pl.DataFrame:
    """Register columns used for matching: urn, laestab, name, postcode, school_key, normalised name,
    postcode and district, bigrams, and a preference rank (open first, then the highest URN)."""
    missing = [c for c in ("urn", "name", "postcode") if c not in register.columns]
    if missing:
        raise ValueError(f"register needs columns {missing} (use cpdeval.ingest.register.read_gias)")
    cols = [pl.col("urn").cast(pl.Int64), pl.col("name").cast(pl.Utf8), pl.col("postcode").cast(pl.Utf8)]
    cols.append(pl.col("laestab").cast(pl.Int64) if "laestab" in register.columns
                else pl.lit(None, dtype=pl.Int64).alias("laestab"))
    cols.append(pl.col("status").cast(pl.Utf8) if "status" in register.columns
                else pl.lit(None, dtype=pl.Utf8).alias("status"))
    reg = register.select(cols).filter(pl.col("urn").is_not_null()).unique("urn", keep="first").sort("urn")
    if lineage is not None:
        reg = apply_lineage(reg, lineage, "urn")
    else:
        reg = reg.with_columns(pl.col("urn").alias("school_key"))
    # a lazy plan, not with_columns on the frame: name_expr is a chain of more than twenty text passes and ends by
    # reusing its own result (null when empty), which eager evaluation computes twice and on one thread; the
    # plan computes it once, in parallel (33,015 register names: 0.34 -> 0.09 s)
    reg = reg.lazy().with_columns(
        name_expr("name").alias("r_name"),
        postcode_expr("postcode").alias("r_pc"),
        pl.col("status").is_in(_OPEN).fill_null(False).alias("r_open"),
    ).with_columns(district_expr("r_pc").alias("r_district")).collect()
    # preference within a school key: open first, then the latest URN
    reg = reg.with_columns(
        pl.struct([(~pl.col("r_open")).cast(pl.Int8).alias("a"), (-pl.col("urn")).alias("b")])
        .rank("dense").cast(pl.Int64).alias("r_pref"))
    return reg


def _fmt(x: pl.Expr) -> pl.Expr:
    return x.round(2).cast(pl.Utf8)


def _name_candidates(combos: pl.DataFrame, reg: pl.DataFrame, min_similarity: float) -> pl.DataFrame:
    """Scored candidates (cid, urn, school_key, name, r_pref, method, sim, conf) for distinct
    name/postcode combinations (``cid``, ``b_name``, ``b_pc``, ``b_district``)."""
    reg_small = reg.select("urn", "school_key", "name", "r_name", "r_pc", "r_district", "r_pref")
    # Exact normalised name at the exact postcode, naming one school key: the best score any candidate
    # can reach (0.95), and no other school can come within the margin, so these need no fuzzy scoring.
    exact = (combos.filter(pl.col("b_name").is_not_null() & pl.col("b_pc").is_not_null())
             .join(reg_small, left_on=["b_name", "b_pc"], right_on=["r_name", "r_pc"], how="inner"))
    exact_ok = exact.group_by("cid").agg(pl.col("school_key").n_unique().alias("nk")).filter(pl.col("nk") == 1)
    exact = exact.join(exact_ok.select("cid"), on="cid", how="semi").select(
        "cid", "urn", "school_key", "name", "r_pref", pl.lit("name_postcode").alias("method"),
        pl.lit(1.0).alias("sim"), pl.lit(CONFIDENCE["name_postcode"]).alias("conf"))
    todo = combos.join(exact_ok.select("cid"), on="cid", how="anti")

    # schools at the booking's postcode, and (named bookings only) in its postcode district
    at_pc = todo.filter(pl.col("b_pc").is_not_null()).join(
        reg_small.select("urn", "r_pc"), left_on="b_pc", right_on="r_pc", how="inner").select("cid", "urn")
    in_district = todo.filter(pl.col("b_district").is_not_null() & pl.col("b_name").is_not_null()).join(
        reg_small.select("urn", "r_district"), left_on="b_district", right_on="r_district",
        how="inner").select("cid", "urn")
    n_keys_pc = (at_pc.join(reg_small.select("urn", "school_key"), on="urn")
                 .group_by("cid").agg(pl.col("school_key").n_unique().alias("n_keys_at_pc")))
    pairs = (pl.concat([at_pc, in_district]).unique()
             .join(todo.select("cid", "b_name", "b_pc"), on="cid")
             .join(reg_small, on="urn")
             .join(n_keys_pc, on="cid", how="left"))
    # similarity: 1 for equal names; else bigram Dice, computed only where it can reach min_similarity
    # (Dice <= 2 min(|A|, |B|) / (|A| + |B|), with |A| about the name length + 1)
    la = pl.col("b_name").str.len_chars() + 1
    lb = pl.col("r_name").str.len_chars() + 1
    reachable = (2 * pl.min_horizontal(la, lb) / (la + lb)) >= min_similarity
    pairs = pairs.with_columns(
        pl.when(pl.col("b_name").is_null() | pl.col("r_name").is_null()).then(pl.lit(0))
        .when(pl.col("b_name") == pl.col("r_name")).then(pl.lit(1))
        .when(reachable).then(pl.lit(2)).otherwise(pl.lit(0)).alias("__how"))
    fuzzy = pairs.filter(pl.col("__how") == 2)
    if fuzzy.height:
        c_bg = (fuzzy.select("cid", "b_name").unique("cid")
                .select("cid", bigrams_expr("b_name").alias("b_bg")))
        r_bg = fuzzy.select("urn", "r_name").unique("urn").select("urn", bigrams_expr("r_name").alias("r_bg"))
        fuzzy = (fuzzy.join(c_bg, on="cid").join(r_bg, on="urn")
                 .with_columns(similarity_expr("b_bg", "r_bg").alias("sim")).drop("b_bg", "r_bg"))
    else:
        fuzzy = fuzzy.with_columns(pl.lit(None, dtype=pl.Float64).alias("sim"))
    pairs = pl.concat([
        pairs.filter(pl.col("__how") != 2).with_columns(
            pl.when(pl.col("__how") == 1).then(1.0).otherwise(0.0).alias("sim")),
        fuzzy,
    ], how="vertical_relaxed").drop("__how")
    same_pc = pl.col("b_pc").is_not_null() & (pl.col("b_pc") == pl.col("r_pc"))
    score = pl.when(same_pc).then(CONFIDENCE["name_postcode"]).otherwise(CONFIDENCE["name_town"]) * pl.col("sim")
    single = same_pc & (pl.col("n_keys_at_pc") == 1)
    pairs = pairs.with_columns(
        pl.when(single & (score < CONFIDENCE["postcode_only"])).then(pl.lit("postcode_only"))
        .when(same_pc).then(pl.lit("name_postcode")).otherwise(pl.lit("name_town")).alias("method"),
        pl.when(single).then(pl.max_horizontal(score, pl.lit(CONFIDENCE["postcode_only"])))
        .otherwise(score).alias("conf"),
    )
    keep = (pl.col("method") == "postcode_only") | (pl.col("sim") >= min_similarity)
    pairs = pairs.filter(keep).select("cid", "urn", "school_key", "name", "r_pref", "method", "sim", "conf")
    return pl.concat([exact, pairs], how="vertical_relaxed")


def match_bookings(bookings: pl.DataFrame, register: pl.DataFrame, lineage: pl.DataFrame | None = None,
                   min_confidence: float = 0.85, *, margin: float = 0.05,
                   min_similarity: float = 0.5) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Match each booking to a register school (rules in the module docstring).

    ``bookings``: ``booking_id``, ``urn`` (Int64, nullable), ``laestab`` (Int64, nullable), ``org_name``,
    ``org_postcode``. ``register``: one row per URN with ``urn``, ``name``, ``postcode`` and, where
    available, ``laestab`` and ``status`` (the output of :func:`cpdeval.ingest.register.read_gias`).
    ``lineage``: the :func:`~cpdeval.link.lineage.build_lineage` table, for ``school_key`` (else the key is
    the URN).

    Returns ``(matches, review)``: ``matches`` has one row per booking, in input order (schema
    ``schemas/booking_matches.yaml``); ``review`` lists the ambiguous and unmatched bookings with their
    candidates, for a person to resolve.
    """
    need = ["booking_id", "urn", "laestab", "org_name", "org_postcode"]
    missing = [c for c in need if c not in bookings.columns]
    if missing:
        raise ValueError(f"bookings need columns {missing}")
    reg = prepare_register(register, lineage)
    b = bookings.select(
        pl.col("booking_id").cast(pl.Utf8), pl.col("urn").cast(pl.Int64).alias("given_urn"),
        pl.col("laestab").cast(pl.Int64).alias("given_laestab"), pl.col("org_name").cast(pl.Utf8),
        pl.col("org_postcode").cast(pl.Utf8),
    ).with_row_index("__i")

    # 1. URN in the register
    by_urn = reg.select(pl.col("urn").alias("given_urn"), pl.col("urn").alias("m_urn"),
                        pl.col("school_key").alias("m_key"))
    b = b.join(by_urn, on="given_urn", how="left", maintain_order="left")
    note = (pl.when(pl.col("given_urn").is_not_null() & pl.col("m_urn").is_null())
            .then(pl.lit("URN ") + pl.col("given_urn").cast(pl.Utf8) + pl.lit(" not in register"))
            .otherwise(None))
    b = b.with_columns(
        pl.when(pl.col("m_urn").is_not_null()).then(pl.lit("urn")).otherwise(None).alias("m_method"),
        pl.when(pl.col("m_urn").is_not_null()).then(pl.lit(CONFIDENCE["urn"])).otherwise(None)
        .cast(pl.Float64).alias("m_conf"),
        pl.when(pl.col("m_urn").is_not_null()).then(pl.lit("URN in register")).otherwise(None).alias("m_reason"),
        note.alias("note"),
    )

    # 2. LAESTAB in the register, naming one school key
    la = (reg.filter(pl.col("laestab").is_not_null()).sort("r_pref")
          .group_by("laestab", maintain_order=True)
          .agg(pl.col("urn").first().alias("la_urn"), pl.col("school_key").first().alias("la_key"),
               pl.col("school_key").n_unique().alias("la_nkeys"),
               pl.col("urn").sort().cast(pl.Utf8).str.join(", ").alias("la_urns")))
    b = b.join(la, left_on="given_laestab", right_on="laestab", how="left", maintain_order="left")
    try_la = pl.col("m_method").is_null() & pl.col("given_laestab").is_not_null()
    la_ok = try_la & (pl.col("la_nkeys") == 1)
    la_note = (pl.when(try_la & pl.col("la_nkeys").is_null())
               .then(pl.lit("LAESTAB ") + pl.col("given_laestab").cast(pl.Utf8) + pl.lit(" not in register"))
               .when(try_la & (pl.col("la_nkeys") > 1))
               .then(pl.lit("LAESTAB ") + pl.col("given_laestab").cast(pl.Utf8) + pl.lit(" matches ")
                     + pl.col("la_nkeys").cast(pl.Utf8) + pl.lit(" schools (URNs ") + pl.col("la_urns") + pl.lit(")"))
               .otherwise(None))
    b = b.with_columns(
        pl.when(la_ok).then(pl.col("la_urn")).otherwise(pl.col("m_urn")).alias("m_urn"),
        pl.when(la_ok).then(pl.col("la_key")).otherwise(pl.col("m_key")).alias("m_key"),
        pl.when(la_ok).then(pl.lit("laestab")).otherwise(pl.col("m_method")).alias("m_method"),
        pl.when(la_ok).then(pl.lit(CONFIDENCE["laestab"])).otherwise(pl.col("m_conf")).alias("m_conf"),
        pl.when(la_ok).then(pl.lit("LAESTAB ") + pl.col("given_laestab").cast(pl.Utf8) + pl.lit(" in register"))
        .otherwise(pl.col("m_reason")).alias("m_reason"),
        pl.concat_str([pl.col("note"), la_note], separator="; ", ignore_nulls=True).alias("note"),
    ).drop("la_urn", "la_key", "la_nkeys", "la_urns")
    b = b.with_columns(pl.when(pl.col("note") == "").then(None).otherwise(pl.col("note")).alias("note"))

    # 3. names and postcodes, on distinct combinations
    # (normalised once per distinct typed name / postcode, not per booking; in lazy plans, as in prepare_register)
    rest = b.filter(pl.col("m_method").is_null())
    names = rest.select("org_name").unique().lazy().with_columns(name_expr("org_name").alias("b_name")).collect()
    pcs = (rest.select("org_postcode").unique().lazy().with_columns(postcode_expr("org_postcode").alias("b_pc"))
           .with_columns(pl.coalesce(district_expr("b_pc"), outward_only_expr("org_postcode")).alias("b_district"))
           .collect())
    rest = (rest.join(names, on="org_name", how="left", nulls_equal=True)
            .join(pcs, on="org_postcode", how="left", nulls_equal=True))
    combos = (rest.select("b_name", "b_pc", "b_district").unique(maintain_order=True)
              .with_row_index("cid"))
    cands = _name_candidates(combos, reg, min_similarity)
    prio = pl.col("method").replace_strict(_METHOD_PRIORITY, return_dtype=pl.Int64)
    # best row per (combo, school key), then rank keys within a combo
    per_key = (cands.sort(["cid", "school_key", pl.col("conf"), prio, "r_pref"],
                          descending=[False, False, True, False, False])
               .group_by(["cid", "school_key"], maintain_order=True).first())
    ranked = (per_key.sort(["cid", "conf", prio, "r_pref", "urn"], descending=[False, True, False, False, False])
              .with_columns(pl.int_range(pl.len()).over("cid").alias("rank")))
    top = ranked.filter(pl.col("rank") <= 2)
    best = top.filter(pl.col("rank") == 0).select(
        "cid", pl.col("urn").alias("c_urn"), pl.col("school_key").alias("c_key"), pl.col("name").alias("c_name"),
        pl.col("method").alias("c_method"), pl.col("conf").alias("c_conf"), pl.col("sim").alias("c_sim"))
    second = top.filter(pl.col("rank") == 1).select(
        "cid", pl.col("urn").alias("s_urn"), pl.col("name").alias("s_name"), pl.col("conf").alias("s_conf"))
    close_cands = (top.join(best.select("cid", "c_conf"), on="cid")
                   .filter((pl.col("c_conf") - pl.col("conf")).round(9) < margin)
                   .group_by("cid", maintain_order=True)
                   .agg(pl.col("urn").cast(pl.Utf8).str.join("|").alias("cand_urns"),
                        pl.col("name").str.join("|").alias("cand_names"),
                        pl.len().alias("n_close")))
    n_at_pc = (combos.filter(pl.col("b_pc").is_not_null())
               .join(reg.select("r_pc", "school_key"), left_on="b_pc", right_on="r_pc", how="inner")
               .group_by("cid").agg(pl.col("school_key").n_unique().alias("n_pc")))
    res = (combos.join(best, on="cid", how="left").join(second, on="cid", how="left")
           .join(close_cands, on="cid", how="left").join(n_at_pc, on="cid", how="left")
           .with_columns(pl.col("n_pc").fill_null(0)))

    where = (pl.when(pl.col("c_method") == "name_town")
             .then(pl.lit("in postcode district ") + pl.col("b_district"))
             .otherwise(pl.lit("at postcode ") + pl.col("b_pc")))
    contested = pl.col("s_conf").is_not_null() & ((pl.col("c_conf") - pl.col("s_conf")).round(9) < margin)
    accepted = pl.col("c_conf").is_not_null() & (pl.col("c_conf") >= min_confidence) & ~contested
    exact_tie = contested & (pl.col("c_sim") == 1.0) & (pl.col("s_conf") == pl.col("c_conf"))
    ok_reason = (pl.when(pl.col("c_method") == "postcode_only")
                 .then(pl.lit("only school at postcode ") + pl.col("b_pc") + pl.lit(" (name similarity ")
                       + _fmt(pl.col("c_sim")) + pl.lit(")"))
                 .when(pl.col("c_sim") == 1.0).then(pl.lit("same normalised name ") + where)
                 .otherwise(pl.lit("similar name (") + _fmt(pl.col("c_sim")) + pl.lit(") ") + where))
    amb_reason = (
        pl.when(exact_tie)
        .then(pl.col("n_close").cast(pl.Utf8) + pl.lit(" schools named '") + pl.col("b_name") + pl.lit("' ") + where
              + pl.lit(" (URNs ") + pl.col("cand_urns").str.replace_all("|", ", ", literal=True) + pl.lit(")"))
        .when(contested)
        .then(pl.col("n_close").cast(pl.Utf8) + pl.lit(" schools score within ") + pl.lit(f"{margin:.2f}")
              + pl.lit(" of each other ") + where + pl.lit(": ") + pl.col("c_name") + pl.lit(" (URN ")
              + pl.col("c_urn").cast(pl.Utf8) + pl.lit(", ") + _fmt(pl.col("c_conf")) + pl.lit("), ")
              + pl.col("s_name") + pl.lit(" (URN ") + pl.col("s_urn").cast(pl.Utf8) + pl.lit(", ")
              + _fmt(pl.col("s_conf")) + pl.lit(")"))
        .otherwise(pl.lit("best candidate ") + pl.col("c_name") + pl.lit(" (URN ") + pl.col("c_urn").cast(pl.Utf8)
                   + pl.lit(", ") + pl.col("c_method") + pl.lit(") scores ") + _fmt(pl.col("c_conf"))
                   + pl.lit(f", below the minimum confidence {min_confidence:.2f}")))
    none_reason = (
        pl.when(pl.col("b_name").is_null() & pl.col("b_pc").is_null())
        .then(pl.lit("no usable name or postcode to match on"))
        .when(pl.col("b_pc").is_null() & pl.col("b_district").is_null())
        .then(pl.lit("no valid postcode: name matching needs a postcode or postcode district"))
        .when(pl.col("n_pc") > 1)
        .then(pl.col("n_pc").cast(pl.Utf8) + pl.lit(" schools at postcode ") + pl.col("b_pc")
              + pl.lit(" but none with a similar name"))
        .when(pl.col("b_name").is_null())
        .then(pl.lit("no name given and no school at postcode ") + pl.col("b_pc"))
        .otherwise(pl.lit("no school with postcode ") + pl.col("b_pc")
                   + pl.lit(" and no similar name in postcode district ") + pl.col("b_district")))
    res = res.with_columns(
        pl.when(accepted).then(pl.col("c_method"))
        .when(pl.col("c_conf").is_not_null()).then(pl.lit("ambiguous"))
        .otherwise(pl.lit("unmatched")).alias("r_method"),
        pl.when(accepted).then(ok_reason).when(pl.col("c_conf").is_not_null()).then(amb_reason)
        .otherwise(none_reason).alias("r_reason"),
    ).with_columns(
        pl.when(pl.col("r_method") == "unmatched").then(pl.lit("")).otherwise(
            pl.coalesce(pl.col("cand_urns"), pl.col("c_urn").cast(pl.Utf8))).alias("cand_urns"),
        pl.when(pl.col("r_method") == "unmatched").then(pl.lit("")).otherwise(
            pl.coalesce(pl.col("cand_names"), pl.col("c_name"))).alias("cand_names"),
    )
    rest = rest.join(res.select("b_name", "b_pc", "b_district", "r_method", "r_reason", "c_urn", "c_key", "c_conf",
                                "cand_urns", "cand_names"),
                     on=["b_name", "b_pc", "b_district"], how="left", nulls_equal=True)
    acc = pl.col("r_method").is_in(ACCEPTED_METHODS)
    rest = rest.select(
        "__i",
        pl.when(acc).then(pl.col("c_urn")).otherwise(None).alias("n_urn"),
        pl.when(acc).then(pl.col("c_key")).otherwise(None).alias("n_key"),
        pl.col("r_method").alias("n_method"),
        pl.col("c_conf").alias("n_conf"),
        pl.col("r_reason").alias("n_reason"),
        pl.col("cand_urns"), pl.col("cand_names"),
    )
    out = b.join(rest, on="__i", how="left", maintain_order="left").sort("__i")
    method = pl.coalesce("m_method", "n_method")
    reason = pl.coalesce("m_reason", "n_reason")
    out = out.with_columns(
        pl.coalesce("m_urn", "n_urn").alias("urn"),
        pl.coalesce("m_key", "n_key").alias("school_key"),
        method.alias("match_method"),
        pl.coalesce("m_conf", "n_conf").alias("match_confidence"),
        pl.when(pl.col("note").is_not_null())
        .then(pl.col("note") + pl.lit("; ") + reason).otherwise(reason).alias("match_reason"),
    )
    matches = out.select([pl.col(k).cast(v) for k, v in MATCHES_SCHEMA.items()])
    review = (out.filter(pl.col("match_method").is_in(["ambiguous", "unmatched"]))
              .select("booking_id", "given_urn", "given_laestab", "org_name", "org_postcode", "match_method",
                      "match_confidence", "match_reason",
                      pl.col("cand_urns").replace("", None).alias("candidate_urns"),
                      pl.col("cand_names").replace("", None).alias("candidate_names"))
              .select([pl.col(k).cast(v) for k, v in REVIEW_SCHEMA.items()]))
    return matches, review


def match_rates(matches: pl.DataFrame, by: list[str] | None = None) -> pl.DataFrame:
    """Bookings by match method (every method listed, zeros included), with the share of the group.

    ``by``: grouping columns already on ``matches`` (e.g. join provider and financial year first).
    Columns: ``*by``, ``match_method``, ``accepted`` (the method is a match), ``n``, ``total``, ``rate``.
    """
    by = list(by or [])
    methods = pl.DataFrame({"match_method": MATCH_METHODS})
    counts = matches.group_by(by + ["match_method"]).agg(pl.len().alias("n"))
    if by:
        groups = matches.select(by).unique()
        grid = groups.join(methods, how="cross")
    else:
        grid = methods
    out = (grid.join(counts, on=by + ["match_method"], how="left", nulls_equal=True)
           .with_columns(pl.col("n").fill_null(0).cast(pl.Int64)))
    out = out.with_columns((pl.col("n").sum().over(by) if by else pl.col("n").sum()).alias("total"))
    order = pl.col("match_method").replace_strict({m: i for i, m in enumerate(MATCH_METHODS)},
                                                  return_dtype=pl.Int64)
    return (out.with_columns(
                pl.col("match_method").is_in(ACCEPTED_METHODS).alias("accepted"),
                pl.when(pl.col("total") > 0).then(pl.col("n") / pl.col("total")).otherwise(None).alias("rate"))
            .sort(by + [order])
            .select(*by, "match_method", "accepted", "n", "total", "rate"))


def link_bookings(bookings: pl.DataFrame, schools: pl.DataFrame, lineage: pl.DataFrame, *, min_confidence: float,
                  fy_start_month: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Every booking with its matched school (``urn``, ``school_key``, method, confidence) and financial year,
    the unmatched list, and match rates by provider and financial year. The booking count never changes."""
    from ..calendar import financial_year_expr, with_date_columns

    matches, unmatched = match_bookings(bookings, schools, lineage, min_confidence=min_confidence)
    # matches has one row per booking in input order: set side by side, checked, instead of joined on the id
    if matches.height != bookings.height or not matches["booking_id"].equals(bookings["booking_id"].cast(pl.Utf8)):
        raise RuntimeError(f"linking changed the bookings: {bookings.height} in, {matches.height} matched, "
                           "or not in input order")
    linked = with_date_columns(bookings.drop(["urn"]).with_columns(
        matches.select("urn", "school_key", "match_method", "match_confidence"),
    ), "start_date", financial_year_expr("start_date", fy_start_month).alias("financial_year"))
    return linked, unmatched, match_rates(linked, by=["provider", "financial_year"])
