"""Display rules: the one place where numbers become text.

Everything a report shows (table cells, figure labels, sentences) is rounded
and worded here, so a table and the sentence quoting it can never disagree.

Rounding
    Half away from zero, as DfE and GSS publications round (92.5 -> 93,
    -92.5 -> -93), applied to the *decimal* form of the number, the shortest
    text that round-trips the float (``repr``).  So 2.675 at 2 dp gives 2.68
    and 0.125 gives 0.13, even though the binary doubles nearest to them lie
    just below.  Python's ``round()`` and polars' ``Expr.round()`` round half
    to even and work on the binary value; never use them for display.
    Derived tables keep full precision; only display rounds.

Percentages
    A *percentage* here is a number on the 0-100 scale (93.4 means 93.4%),
    not a proportion.

Disclosure symbols (GSS)
    :data:`SUPPRESSED` ``"c"``, :data:`NOT_APPLICABLE` ``"z"``,
    :data:`NOT_AVAILABLE` ``"x"``, :data:`BREAK` ``"b"`` (a change across a break
    in the series, not computed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from numbers import Real
from typing import TYPE_CHECKING

from cpdeval.errors import CpdevalError

if TYPE_CHECKING:  # polars is imported lazily; display is also used by light modules
    import polars as pl

__all__ = [
    "SUPPRESSED", "NOT_APPLICABLE", "NOT_AVAILABLE", "BREAK", "SYMBOLS",
    "DisclosureError",
    "round_half_away", "round_half_away_expr",
    "fmt_count", "fmt_pct", "fmt_number", "fmt_small_pct", "fmt_interval", "fmt_p_value", "p_in_text",
    "pct_in_words", "words", "count_in_words", "in_sentence", "sentence_start",
    "ANCHORS", "QUALIFIERS",
]

#: GSS symbol for a value suppressed by disclosure control ("confidential").
SUPPRESSED = "c"
#: GSS symbol for "not applicable".
NOT_APPLICABLE = "z"
#: GSS symbol for "not available" (missing).
NOT_AVAILABLE = "x"
#: GSS symbol for a break in the series: a change across it is not computed (the measures differ).
BREAK = "b"
#: All of them, for checks that a cell holds a symbol rather than a number.
SYMBOLS = frozenset({SUPPRESSED, NOT_APPLICABLE, NOT_AVAILABLE, BREAK})


class DisclosureError(CpdevalError):
    """A figure would be published on a base below the disclosure threshold."""


# --------------------------------------------------------------------------- rounding

def _to_decimal(x) -> Decimal:
    """The decimal number ``x`` stands for: ``repr`` of a float, exact for ints/Decimals."""
    if isinstance(x, Decimal):
        return x
    if isinstance(x, bool):
        raise TypeError("cannot display a bool as a number")
    if isinstance(x, int):
        return Decimal(x)
    if isinstance(x, Real):
        xf = float(x)
        if not math.isfinite(xf):
            raise ValueError(f"cannot round a non-finite number ({x!r})")
        return Decimal(repr(xf))
    if isinstance(x, str):
        try:
            return Decimal(x)
        except InvalidOperation:
            raise ValueError(f"not a number: {x!r}") from None
    raise TypeError(f"expected a number, got {type(x).__name__} ({x!r})")


def _round_dec(x, ndigits: int) -> Decimal:
    """Round half away from zero on the decimal representation; never returns -0."""
    d = _to_decimal(x)
    q = Decimal(1).scaleb(-ndigits)  # 10 ** -ndigits
    with localcontext() as ctx:
        ctx.prec = max(60, d.adjusted() + ndigits + 5)
        r = d.quantize(q, rounding=ROUND_HALF_UP)  # decimal's HALF_UP is half away from zero
    if r.is_zero():
        r = abs(r)
    return r


def round_half_away(x, ndigits: int = 0):
    """Round ``x`` to ``ndigits`` decimal places, halves away from zero.

    Works on the decimal representation of ``x`` (``repr`` of a float), so
    ``round_half_away(2.675, 2) == 2.68`` and ``round_half_away(0.125, 2) == 0.13``.
    Returns an ``int`` when ``ndigits <= 0`` and a ``float`` otherwise;
    ``None`` and NaN pass through unchanged.

    >>> round_half_away(92.5), round_half_away(-92.5), round_half_away(0.5), round_half_away(-0.5)
    (93, -93, 1, -1)
    >>> round_half_away(2.675, 2)
    2.68
    """
    if x is None:
        return None
    if isinstance(x, float) and math.isnan(x):
        return x
    r = _round_dec(x, ndigits)
    return int(r) if ndigits <= 0 else float(r)


def round_half_away_expr(expr: "pl.Expr | str", ndigits: int = 0) -> "pl.Expr":
    """Vectorised :func:`round_half_away` for polars (returns a Float64 expression).

    Works like the scalar function on the decimal text of each value: polars'
    float-to-string cast gives the shortest round-trip digits (as ``repr``
    does); the digits kept are read from that text and the next digit decides
    (5 or more rounds away from zero).  Exact while ``|x| * 10**ndigits < 2**53``
    (beyond that a double has no digits at that place to round, and polars'
    own half-away-from-zero rounding is used).  Nulls, NaN and infinities
    pass through; -0 becomes 0.
    """
    import polars as pl

    if ndigits < 0:
        raise ValueError("ndigits must be >= 0 for the polars variant")
    e = pl.col(expr) if isinstance(expr, str) else expr
    x = e.cast(pl.Float64)
    scale = 10.0 ** ndigits
    text = x.abs().cast(pl.String)
    # plain form "123.456" / "92.0"
    whole = text.str.extract(r"^(\d+)(?:\.\d*)?$", 1)
    frac = text.str.extract(r"^\d+\.(\d*)$", 1).fill_null("")
    # small numbers come as "1.5e-7": rebuild their fraction digits "00000015"
    sci = r"^(\d(?:\.\d+)?)e-(\d+)$"
    mant = text.str.extract(sci, 1).str.replace(".", "", literal=True)
    k = text.str.extract(sci, 2).cast(pl.Int64, strict=False)
    sci_frac = mant.str.pad_start(mant.str.len_chars().cast(pl.Int64) + k - 1, "0")
    is_sci = mant.is_not_null()
    whole = pl.when(is_sci).then(pl.lit("0")).otherwise(whole)
    frac = pl.when(is_sci).then(sci_frac).otherwise(frac).str.pad_end(ndigits + 1, "0")
    kept = (whole + frac.str.slice(0, ndigits)).cast(pl.Float64, strict=False)
    up = (frac.str.slice(ndigits, 1) >= pl.lit("5")).cast(pl.Float64)
    exact = ((kept + up) / scale * x.sign()).round(ndigits)  # round() snaps k/10**n to the nearest double
    fallback = x.round(ndigits, mode="half_away_from_zero")
    usable = kept.is_not_null() & (kept < 2.0 ** 53)
    out = (
        pl.when(x.is_nan() | x.is_infinite()).then(x)
        .when(usable).then(exact)
        .otherwise(fallback)
    )
    # -0.0 becomes 0.0, so formatting never shows "-0"
    return pl.when(out == 0.0).then(pl.lit(0.0)).otherwise(out).alias(_output_name(e))


def _output_name(e: "pl.Expr") -> str:
    try:
        return e.meta.output_name()
    except Exception:  # an expression without a single root column
        return "round_half_away"


# --------------------------------------------------------------------------- formatting

def _group(int_text: str) -> str:
    return f"{int(int_text):,}"


def _fmt_dec(r: Decimal, ndigits: int, signed: bool) -> str:
    sign = "-" if r < 0 else ("+" if signed and r > 0 else "")
    r = abs(r)
    text = f"{r:.{max(ndigits, 0)}f}"
    whole, _, frac = text.partition(".")
    out = _group(whole) + ("." + frac if frac else "")
    return sign + out


def fmt_count(n, *, signed: bool = False) -> str:
    """A count with thousands separators: ``fmt_count(12431) == "12,431"``.

    Non-integral values (e.g. weighted counts) are rounded half away from zero.
    """
    return _fmt_dec(_round_dec(n, 0), 0, signed)


def fmt_number(x, ndigits: int = 1, *, signed: bool = False) -> str:
    """A number rounded half away from zero with thousands separators.

    ``fmt_number(1234.56, 1) == "1,234.6"``; ``signed=True`` adds "+" to
    positive values (for changes). Zero is never shown as "-0".
    """
    return _fmt_dec(_round_dec(x, ndigits), ndigits, signed)


def fmt_pct(p, ndigits: int = 0, *, signed: bool = False) -> str:
    """A percentage (0-100 scale) as text: ``fmt_pct(92.5) == "93%"``, ``fmt_pct(85.14, 1) == "85.1%"``."""
    return fmt_number(p, ndigits, signed=signed) + "%"


def fmt_small_pct(p, ndigits: int = 0) -> str:
    """A percentage that is never shown as zero when it is not: ``fmt_small_pct(0.0006, 2) == "less than
    0.01%"`` (6 rows in a million are not "0.00%"); otherwise as :func:`fmt_pct`."""
    if p is not None and 0 < p and fmt_pct(p, ndigits) == fmt_pct(0, ndigits):
        return "less than " + fmt_pct(10 ** -ndigits, ndigits)
    return fmt_pct(p, ndigits)


def fmt_interval(low, high, ndigits: int = 1, unit: str = "", *, signed: bool = False) -> str:
    """An interval "low to high", each end as :func:`fmt_number` with ``unit`` after it. Where two different ends
    round to the same figure ("97% to 97%" says the interval has no width), both get one more decimal place:
    ``fmt_interval(96.84, 97.36, 0, "%") == "96.8% to 97.4%"``."""
    def text(places: int) -> tuple[str, str]:
        return (fmt_number(low, places, signed=signed) + unit, fmt_number(high, places, signed=signed) + unit)

    lo, hi = text(ndigits)
    if lo == hi and low != high:
        lo, hi = text(ndigits + 1)
    return f"{lo} to {hi}"


def fmt_p_value(p, ndigits: int = 3) -> str:
    """A p-value: ``fmt_p_value(0.0423) == "0.042"``; one too small to show at ``ndigits`` places reads
    "<0.001", never "0.000" (which would say the chance is nil)."""
    if p is not None and 0 <= p and fmt_number(p, ndigits) == fmt_number(0, ndigits):
        return "<" + fmt_number(10 ** -ndigits, ndigits)
    return fmt_number(p, ndigits)


def adds_up_as_shown(parts, total, ndigits: int = 0) -> bool:
    """Whether ``parts``, each rounded as published (half away from zero, ``ndigits`` places), add up to
    ``total`` rounded the same way: fractional units rounded one by one can miss their total by one."""
    shown = sum(_round_dec(v, ndigits) for v in parts if v is not None)
    return shown == _round_dec(total, ndigits)


def p_in_text(p, ndigits: int = 3) -> str:
    """A p-value in a sentence: "p = 0.042", or "p < 0.001" where it would round to zero."""
    text = fmt_p_value(p, ndigits)
    return f"p < {text[1:]}" if text.startswith("<") else f"p = {text}"


# --------------------------------------------------------------------------- words

@dataclass(frozen=True)
class Anchor:
    """A fraction that prose may name, with how far from it the name may stretch."""

    pct: float          # the fraction as a percentage
    text: str           # how the fraction is written
    window: float | None  # largest |rounded % - pct| at which this tier-1 anchor is used
    tier: int           # 1: none/all/quarters/thirds/half (preferred); 2: 1 in 20 and tenths


#: The fractions that prose names, in two tiers.  Tier 1 is tried first: the
#: nearest tier-1 anchor whose window contains the rounded percentage wins.
#: Otherwise the nearest tier-2 anchor (ties go to the lower one) is used, so
#: every percentage gets a phrase.  "none" and "all" are special: see
#: :func:`pct_in_words`.
ANCHORS: tuple[Anchor, ...] = (
    Anchor(0.0, "none", 4.0, 1),
    Anchor(25.0, "one quarter", 3.0, 1),
    Anchor(100 / 3, "one third", 3.5, 1),
    Anchor(50.0, "half", 5.0, 1),
    Anchor(200 / 3, "two thirds", 3.5, 1),
    Anchor(75.0, "three quarters", 3.0, 1),
    Anchor(100.0, "all", 4.0, 1),
    Anchor(5.0, "one in 20", None, 2),
    Anchor(10.0, "one in 10", None, 2),
    Anchor(20.0, "1 in 5", None, 2),
    Anchor(30.0, "three in 10", None, 2),
    Anchor(40.0, "four in 10", None, 2),
    Anchor(60.0, "six in 10", None, 2),
    Anchor(70.0, "seven in 10", None, 2),
    Anchor(80.0, "eight in 10", None, 2),
    Anchor(90.0, "nine in 10", None, 2),
)

#: Qualifier by d = rounded percentage - anchor percentage (the bounds are inclusive
#: where written with <=).  Taken from the source reports: 46% is "almost half"
#: (d = -4), 30% "just under one third" (d = -3.3), 76% "three quarters" (d = +1),
#: 68% "just over two thirds" (d = +1.3), 93% "over nine in 10" (d = +3).
QUALIFIERS: tuple[tuple[str, str], ...] = (
    ("d < -3.5", "almost"),
    ("-3.5 <= d < -1", "just under"),
    ("-1 <= d <= 1", "(none; 'around' with hedge=True when d != 0)"),
    ("1 < d <= 2.5", "just over"),
    ("d > 2.5", "over"),
)


def _qualifier(d: float, hedge: bool) -> str:
    # compare at a fixed precision so thirds (33.33...) behave like the documented bounds
    d = round(d, 9)
    if d < -3.5:
        return "almost "
    if d < -1:
        return "just under "
    if d <= 1:
        return "around " if (hedge and d != 0) else ""
    if d <= 2.5:
        return "just over "
    return "over "


def _choose_anchor(r: float) -> Anchor:
    tier1 = [a for a in ANCHORS if a.tier == 1 and abs(r - a.pct) <= a.window + 1e-9]
    if tier1:
        return min(tier1, key=lambda a: (abs(r - a.pct), a.pct))
    tier2 = [a for a in ANCHORS if a.tier == 2]
    return min(tier2, key=lambda a: (round(abs(r - a.pct), 9), a.pct))


def _phrase(pct, ndigits: int, hedge: bool, exact_all: bool | None, exact_none: bool | None,
            capitalize: bool) -> str:
    if pct is None or (isinstance(pct, float) and math.isnan(pct)):
        raise ValueError("no percentage to put into words (value is missing)")
    p = float(_to_decimal(pct))
    if p < 0 or p > 100:
        raise ValueError(f"percentage out of range 0-100: {pct!r} (pass a percentage, not a proportion)")
    r_dec = _round_dec(pct, ndigits)
    r = float(r_dec)
    shown = fmt_pct(pct, ndigits)
    is_all = (p == 100) if exact_all is None else exact_all
    is_none = (p == 0) if exact_none is None else exact_none
    anchor = _choose_anchor(r)
    if anchor.text == "all":
        text = "all" if is_all else "almost all"
    elif anchor.text == "none":
        text = "none" if is_none else "very few"
    else:
        text = _qualifier(r - anchor.pct, hedge) + anchor.text
    if capitalize:
        text = text[0].upper() + text[1:]
    return f"{text} ({shown})"


def pct_in_words(pct, ndigits: int = 0, *, hedge: bool = False, capitalize: bool = False) -> str:
    """Put a percentage (0-100) into words as the source reports do.

    The number in brackets is :func:`fmt_pct` of the same value, i.e. exactly
    what a table shows; the wording is chosen from that *rounded* figure.

    Anchors (:data:`ANCHORS`): tier 1 is none (0%), one quarter (25%),
    one third (33.3%), half (50%), two thirds (66.7%), three quarters (75%),
    all (100%), each used while the rounded percentage is within its window
    (none/all 4 points, quarters 3, thirds 3.5, half 5).  Otherwise tier 2,
    the nearest of one in 20 (5%), one in 10, 1 in 5 (20%, written as the
    source writes it), three/four/six/seven/eight/nine in 10; a tie goes to
    the lower anchor (15% is "over one in 10").

    Qualifier, by d = rounded % minus the anchor (:data:`QUALIFIERS`):
    d < -3.5 "almost"; -3.5 <= d < -1 "just under"; -1 <= d <= 1 none
    ("around" if ``hedge``); 1 < d <= 2.5 "just over"; d > 2.5 "over".
    "all" and "none" are only said of exactly 100% / 0%; near them the
    phrases are "almost all" (96-99%, or 99.5% rounding to 100) and
    "very few" (1-4%, or under 0.5%).

    >>> pct_in_words(93), pct_in_words(90), pct_in_words(68), pct_in_words(67)
    ('over nine in 10 (93%)', 'nine in 10 (90%)', 'just over two thirds (68%)', 'two thirds (67%)')
    >>> pct_in_words(76), pct_in_words(46), pct_in_words(30), pct_in_words(20)
    ('three quarters (76%)', 'almost half (46%)', 'just under one third (30%)', '1 in 5 (20%)')
    """
    return _phrase(pct, ndigits, hedge, None, None, capitalize)


def words(k, n, *, ndigits: int = 0, threshold: int | None = None, hedge: bool = False,
          capitalize: bool = False) -> str:
    """``k`` out of ``n`` in words: ``words(93, 100) == "over nine in 10 (93%)"``.

    "all"/"none" are used only when ``k == n`` / ``k == 0``.  With
    ``threshold``, a base ``n`` below it raises :class:`DisclosureError`
    (prose must not quote a percentage that a table would suppress).
    """
    if n is None or k is None:
        raise ValueError("words() needs both k and n")
    if n <= 0:
        raise ValueError(f"words() needs a positive base, got n={n!r}")
    if k < 0 or k > n:
        raise ValueError(f"words() needs 0 <= k <= n, got k={k!r}, n={n!r}")
    if threshold is not None and n < threshold:
        raise DisclosureError(
            f"a percentage on a base of {n} is below the disclosure threshold ({threshold}); "
            f"it would be suppressed ({SUPPRESSED!r}) in a table, so it cannot be quoted in text")
    pct = 100 * Decimal(k) / Decimal(n) if isinstance(k, int) and isinstance(n, int) else 100 * k / n
    return _phrase(pct, ndigits, hedge, k == n, k == 0, capitalize)


_SMALL = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def count_in_words(n, *, capitalize: bool = False) -> str:
    """A count as GSS style writes it in text: words for zero to nine, numerals from 10.

    ``count_in_words(3) == "three"``, ``count_in_words(12) == "12"``,
    ``count_in_words(12431) == "12,431"``.
    """
    r = _round_dec(n, 0)
    if r < 0:
        raise ValueError(f"a count cannot be negative: {n!r}")
    text = _SMALL[int(r)] if r < 10 else fmt_count(r)
    if capitalize and text[0].isalpha():
        text = text[0].upper() + text[1:]
    return text


def in_sentence(label: str) -> str:
    """A label inside running text: first letter lower-cased unless the first word starts with an acronym.

    ``in_sentence("No programme CPD") == "no programme CPD"``; ``in_sentence("EBacc two sciences")``,
    ``in_sentence("KS2 science")``, ``in_sentence("DiD, two-way fixed effects")`` and ``in_sentence("STEM
    support")`` are unchanged (a capital after the first letter of the first word marks a name or an acronym), and
    so are ``in_sentence("Attainment 8 (score)")`` and ``in_sentence("Q3")`` (a number in the first word, or as
    the second word, makes a name).
    """
    words = label.split(" ", 2) if label else [""]
    first = words[0]
    named = (any(ch.isupper() for ch in first[1:]) or any(ch.isdigit() for ch in first)
             or (len(words) > 1 and words[1][:1].isdigit()))
    return label if not label or named else label[0].lower() + label[1:]


def sentence_start(text: str) -> str:
    """Text at the start of a sentence: first letter upper-cased, the rest unchanged (unlike ``str.capitalize``)."""
    return text[:1].upper() + text[1:]


def join_words(items: list[str], conjunction: str = "and") -> str:
    """Items of a list in a sentence: ``join_words(["a", "b", "c"]) == "a, b and c"`` (no serial comma)."""
    items = [i for i in items if i]
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def fmt_date(value) -> str:
    """A date as readers see it everywhere: "4 December 2026" (from a date, a datetime or an ISO text; any other
    text is returned as it is)."""
    import datetime as _dt

    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = _dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return value
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"
