"""Normalising school names and postcodes for matching bookings to the register.

Each normaliser exists twice, with the same rules: a scalar function (``normalise_name``,
``normalise_postcode``) and a polars expression (``name_expr``, ``postcode_expr``) used on whole columns
(750,000 bookings in a second or two). Tests check that the two agree.

School names (:func:`normalise_name`)
    1. lower case; accents folded (``é`` -> ``e``); ``&`` -> ``and``; apostrophes dropped
       (``Mary's`` -> ``marys``); every other character that is not a letter or digit becomes a space;
    2. the words ``the``, ``school``, ``sch``, ``schl`` and the governance words ``voluntary``, ``aided``,
       ``controlled``, ``va``, ``vc``, ``foundation`` are dropped (they vary between how a school is
       typed and how GIAS names it, and never tell two schools apart by themselves);
    3. phrases are made canonical: ``church of england`` / ``c of e`` / ``cofe`` / ``c e`` -> ``ce``;
       ``roman catholic`` / ``r c`` / ``rc`` -> ``catholic``; ``st`` -> ``saint``; ``jnr`` / ``jun`` /
       ``juniors`` -> ``junior``; ``inf`` / ``infants`` -> ``infant``; ``prim`` / ``pri`` -> ``primary``;
       ``acad`` -> ``academy``; ``coll`` -> ``college``; ``comm`` / ``cmty`` -> ``community``;
       ``tech`` -> ``technology``; ``c p`` / ``cp`` -> ``community primary`` is *not* applied (ambiguous);
    4. spaces collapsed. An empty result is ``None``.

    So "St. Mary's C of E (VA) Primary School" and "Saint Marys Church of England Primary" both become
    ``saint marys ce primary``. Normalising twice gives the same result as once.

Postcodes (:func:`normalise_postcode`)
    Upper case, every non-alphanumeric character removed, then checked against the UK shape (outward code
    ``A9``, ``A99``, ``AA9``, ``AA99``, ``A9A`` or ``AA9A``; inward code digit + two letters) and written
    with one space before the inward code (``gu154ae`` -> ``GU15 4AE``). Anything else is ``None``.
    :func:`postcode_district` gives the outward code (``GU15``); a value that is only an outward code
    (``gu15``) is not a postcode but still gives a district for matching (:func:`outward_only_expr`).

Similarity (:func:`name_similarity`, :func:`similarity_expr`)
    Sørensen-Dice coefficient on the sets of character bigrams of the normalised names with their words
    sorted (so word order does not matter), each word padded with a space: 1.0 for equal names, ~0.9 for
    one typo in a long name, ~0.5 or less for different schools.
"""

from __future__ import annotations

import re
import unicodedata

import polars as pl

__all__ = [
    "normalise_name", "normalise_postcode", "postcode_district", "name_expr", "postcode_expr",
    "district_expr", "outward_only_expr", "name_similarity", "bigrams_expr", "similarity_expr", "sorted_tokens_expr",
]

_STOPWORDS = ["the", "school", "sch", "schl", "voluntary", "aided", "controlled", "va", "vc", "foundation"]

# (pattern, replacement) applied in order, on a string of [a-z0-9 ] words separated by single spaces.
# Patterns use only syntax common to Python `re` and Rust `regex` (polars), so both versions agree.
# Each output is chosen so that it cannot be matched again (one pass is idempotent).
_PHRASES: list[tuple[str, str]] = [
    (r"\bchurch of england\b", "ce"),
    (r"\bc of e\b", "ce"),
    (r"\bcofe\b", "ce"),
    (r"\bc e\b", "ce"),
    (r"\br c\b", "catholic"),
    (r"\brc\b", "catholic"),
    (r"\b(roman )+catholic\b", "catholic"),
    (r"\bst\b", "saint"),
    (r"\b(jnr|jun|juniors)\b", "junior"),
    (r"\b(inf|infants)\b", "infant"),
    (r"\b(prim|pri)\b", "primary"),
    (r"\bacad\b", "academy"),
    (r"\bcoll\b", "college"),
    (r"\b(comm|cmty)\b", "community"),
    (r"\btech\b", "technology"),
]
_STOP_RE = r"\b(" + "|".join(_STOPWORDS) + r")\b"
_APOSTROPHES = "'\u2019\u2018`\u00b4"

_STOP_PY = re.compile(_STOP_RE)
_PHRASES_PY = [(re.compile(p), r) for p, r in _PHRASES]
_NON_ALNUM_PY = re.compile(r"[^a-z0-9]+")
_SPACES_PY = re.compile(r" +")

_POSTCODE_RE = r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$"
_POSTCODE_PY = re.compile(_POSTCODE_RE)
_OUTWARD_RE = r"^[A-Z]{1,2}[0-9][A-Z0-9]?$"


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.lower())
    return "".join(ch for ch in s if unicodedata.category(ch) != "Mn")


def normalise_name(s: str | None) -> str | None:
    """A school name in canonical form for matching (rules in the module docstring); ``None`` if empty."""
    if s is None:
        return None
    s = _fold(str(s))
    s = s.replace("&", " and ")
    for ch in _APOSTROPHES:
        s = s.replace(ch, "")
    s = _NON_ALNUM_PY.sub(" ", s)
    s = _SPACES_PY.sub(" ", s).strip()
    s = _STOP_PY.sub(" ", s)
    s = _SPACES_PY.sub(" ", s).strip()
    for pat, rep in _PHRASES_PY:
        s = pat.sub(rep, s)
    s = _SPACES_PY.sub(" ", s).strip()
    return s or None


def name_expr(expr: pl.Expr | str) -> pl.Expr:
    """:func:`normalise_name` as a polars expression."""
    e = pl.col(expr) if isinstance(expr, str) else expr
    e = e.cast(pl.Utf8).str.to_lowercase().str.normalize("NFKD").str.replace_all(r"\p{Mn}", "")
    e = e.str.replace_all("&", " and ", literal=True)
    e = e.str.replace_all("[" + _APOSTROPHES + "]", "")
    e = e.str.replace_all(r"[^a-z0-9]+", " ")
    e = e.str.replace_all(r" +", " ").str.strip_chars(" ")
    e = e.str.replace_all(_STOP_RE, " ")
    e = e.str.replace_all(r" +", " ").str.strip_chars(" ")
    for pat, rep in _PHRASES:
        e = e.str.replace_all(pat, rep)
    e = e.str.replace_all(r" +", " ").str.strip_chars(" ")
    return pl.when(e != "").then(e)


def normalise_postcode(s: str | None) -> str | None:
    """A UK postcode as ``OUT IN`` (``GU15 4AE``), or ``None`` if it cannot be one."""
    if s is None:
        return None
    squashed = re.sub(r"[^A-Z0-9]", "", str(s).upper())
    m = _POSTCODE_PY.match(squashed)
    return f"{m.group(1)} {m.group(2)}" if m else None


def postcode_expr(expr: pl.Expr | str) -> pl.Expr:
    """:func:`normalise_postcode` as a polars expression."""
    e = pl.col(expr) if isinstance(expr, str) else expr
    squashed = e.cast(pl.Utf8).str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    ok = squashed.str.contains(_POSTCODE_RE)
    return pl.when(ok).then(squashed.str.replace(_POSTCODE_RE, "${1} ${2}"))


def postcode_district(s: str | None) -> str | None:
    """The outward code (postcode district) of a postcode, e.g. ``GU15``; ``None`` if not a postcode."""
    pc = normalise_postcode(s)
    return pc.split(" ")[0] if pc else None


def district_expr(expr: pl.Expr | str) -> pl.Expr:
    """:func:`postcode_district` on an already normalised postcode column (``postcode_expr`` output)."""
    e = pl.col(expr) if isinstance(expr, str) else expr
    return e.str.split(" ").list.first()


def outward_only_expr(expr: pl.Expr | str) -> pl.Expr:
    """The district of a raw value that is *only* an outward code (someone typed ``gu15``); else null."""
    e = pl.col(expr) if isinstance(expr, str) else expr
    squashed = e.cast(pl.Utf8).str.to_uppercase().str.replace_all(r"[^A-Z0-9]", "")
    return pl.when(squashed.str.contains(_OUTWARD_RE)).then(squashed)


# ---------------------------------------------------------------------------------------------
# Similarity
# ---------------------------------------------------------------------------------------------

def _bigrams(name: str) -> set[str]:
    s = " " + " ".join(sorted(name.split(" "))) + " "
    return {s[i:i + 2] for i in range(len(s) - 1)}


def name_similarity(a: str | None, b: str | None) -> float:
    """Dice coefficient of the bigram sets of two *normalised* names (0..1; 0 if either is missing).

    Equal names score 1 (and are treated as exact by the matcher); note that two different strings can
    also score 1 when they have the same bigram set (a dropped repeated letter: "colingwood college").
    """
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    x, y = _bigrams(a), _bigrams(b)
    return 2 * len(x & y) / (len(x) + len(y))


def sorted_tokens_expr(expr: pl.Expr | str) -> pl.Expr:
    e = pl.col(expr) if isinstance(expr, str) else expr
    return e.str.split(" ").list.sort().list.join(" ")


def bigrams_expr(expr: pl.Expr | str) -> pl.Expr:
    """Set of character bigrams of a normalised name column (words sorted, padded with a space), each
    hashed to a UInt64 so that set operations on millions of pairs stay cheap."""
    s = pl.lit(" ") + sorted_tokens_expr(expr) + pl.lit(" ")
    pairs = s.str.split("").list.eval(pl.element() + pl.element().shift(-1)).list.drop_nulls()
    return pairs.list.eval(pl.element().hash()).list.unique()


def similarity_expr(a_bigrams: str, b_bigrams: str) -> pl.Expr:
    """Dice coefficient between two list columns made by :func:`bigrams_expr`."""
    inter = pl.col(a_bigrams).list.set_intersection(pl.col(b_bigrams)).list.len()
    total = pl.col(a_bigrams).list.len() + pl.col(b_bigrams).list.len()
    return pl.when(total > 0).then(2 * inter / total).otherwise(0.0).cast(pl.Float64)
