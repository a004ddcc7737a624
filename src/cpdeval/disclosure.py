"""Disclosure control that survives arithmetic: primary and secondary suppression, and the attacker that checks it.

Every count that reaches a report passes through here (tables through :func:`cpdeval.tables.publish_table`,
sentences through :func:`count_text` and :func:`protect_parts`).

The rules
---------
* **Primary suppression.** A count from 1 to one below the threshold (``thresholds.disclosure_min_count``,
  default 5) is shown as ``c``. A zero is shown, as DfE publishes zeros: it identifies nobody, and it is
  never used to protect another cell, so a ``c`` always stands for at least one. A percentage, rate or mean
  built on a suppressed count (its base or its numerator), and a percentage whose implied count
  (percentage x base) is from 1 to one below the threshold, are ``c``.
* **Secondary suppression.** A table declares which of its cells add up to which (row totals, total rows,
  totals shared with another table). No suppressed cell may then be recoverable by addition or subtraction:
  while any suppressed cell's feasible range, given every published number, is narrower than the threshold,
  the smallest published cell of an equation holding it is suppressed too (deterministic: smallest value,
  then first in reading order; a total only when no other cell is left).
* **The attacker** (:func:`attack`) solves the published equations by linear programming: for each suppressed
  cell the least and greatest value it can take (a suppressed cell is at least 1, an unpublished one at least
  0; a published percentage bounds its numerator to the interval its rounding allows). A cell whose interval is narrower than the threshold is
  disclosed. Secondary suppression runs the attacker until nothing is disclosed; the pipeline's
  ``disclosure_audit`` rule runs it again on every published table.
* Targets, thresholds and other configured numbers are never suppressed (column kind ``target``).

Cells are identified by any hashable key (a table uses ``(row, column)``); an equation is
``(total, (part, part, ...))``; a *hidden* cell is one that takes part in an equation but is never published
(a count the table does not show, such as the respondents who answered "cannot say").
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

Cell = Hashable
Equation = tuple[Cell, tuple[Cell, ...]]

#: Widest feasible interval the attacker can report (an unbounded cell).
UNBOUNDED = math.inf


class CannotProtect(RuntimeError):
    """Secondary suppression found a suppressed cell the published numbers still pin down, and no count left to
    hide beside it: every cell tied to it is suppressed already, zero (a zero is always shown) or shown by a
    linked table. The table cannot be published as it is; its caller may publish less (fewer rows, a note)."""


@dataclass(frozen=True)
class PercentBound:
    """A published percentage ``percent`` (rounded to ``decimals``) of ``numerator`` over ``base``."""

    numerator: Cell
    base: Cell
    percent: float
    decimals: int = 0


@dataclass(frozen=True)
class Breach:
    """A suppressed cell the attacker can pin to an interval narrower than the threshold."""

    cell: Cell
    low: float
    high: float

    def describe(self) -> str:
        return f"cell {self.cell} lies between {self.low:g} and {self.high:g}"


@dataclass
class Problem:
    """What the attacker sees: published values, suppressed and hidden cells, equations, percentage bounds."""

    published: dict[Cell, float] = field(default_factory=dict)
    suppressed: set[Cell] = field(default_factory=set)
    hidden: set[Cell] = field(default_factory=set)
    equations: list[Equation] = field(default_factory=list)
    percents: list[PercentBound] = field(default_factory=list)

    def unknowns(self) -> list[Cell]:
        cells = [c for c in self._cells_in_order() if c in self.suppressed or c in self.hidden]
        return list(dict.fromkeys(cells))

    def _cells_in_order(self):
        for total, parts in self.equations:
            yield total
            yield from parts
        for p in self.percents:
            yield p.numerator
            yield p.base
        yield from sorted(self.suppressed, key=repr)


def attack(problem: Problem, threshold: int, cells: Iterable[Cell] | None = None) -> list[Breach]:
    """Bounds of each suppressed cell (or of ``cells``) given everything published; the narrow ones.

    A suppressed cell in no equation and no percentage cannot be narrowed and is skipped."""
    import numpy as np

    unknown = problem.unknowns()
    if not unknown:
        return []
    index = {c: i for i, c in enumerate(unknown)}
    a_eq, b_eq = [], []
    for total, parts in problem.equations:
        row = np.zeros(len(unknown))
        rhs = 0.0
        for cell, sign in [(total, -1.0)] + [(p, 1.0) for p in parts]:
            if cell in index:
                row[index[cell]] += sign
            elif cell in problem.published:
                rhs -= sign * problem.published[cell]
            else:   # a cell neither published nor declared hidden: the equation says nothing
                break
        else:
            if row.any():
                a_eq.append(row)
                b_eq.append(rhs)
    a_ub, b_ub = [], []
    for p in problem.percents:
        if p.numerator not in index or p.base not in problem.published:
            continue
        half = 0.5 * 10 ** -p.decimals
        base = problem.published[p.base]
        row = np.zeros(len(unknown))
        row[index[p.numerator]] = 1.0
        a_ub += [row, -row]
        b_ub += [(p.percent + half) / 100 * base + 1e-9, -((p.percent - half) / 100 * base) + 1e-9]
    wanted = set(cells if cells is not None else problem.suppressed)
    targets = [c for c in unknown if c in wanted]   # in a fixed order: the same breach is found first every run
    constrained = set()
    for row in a_eq + a_ub:
        constrained |= {unknown[i] for i in np.flatnonzero(row)}
    breaches = []
    for cell in targets:
        if cell not in constrained:
            continue
        lower = [1.0 if c in problem.suppressed else 0.0 for c in unknown]
        lo, hi = _bounds(index[cell], lower, a_eq, b_eq, a_ub, b_ub)
        if hi - lo < threshold - 1e-9:
            breaches.append(Breach(cell, lo, hi))
    return breaches


def _bounds(i: int, lower: list[float], a_eq, b_eq, a_ub, b_ub) -> tuple[float, float]:
    import numpy as np
    from scipy.optimize import linprog

    n = len(lower)
    c = np.zeros(n)
    out = []
    for sign in (1.0, -1.0):
        c[i] = sign
        res = linprog(c, A_eq=np.array(a_eq) if a_eq else None, b_eq=np.array(b_eq) if b_eq else None,
                      A_ub=np.array(a_ub) if a_ub else None, b_ub=np.array(b_ub) if b_ub else None,
                      bounds=[(lo, None) for lo in lower], method="highs")
        if res.status == 3:        # unbounded
            out.append(UNBOUNDED if sign < 0 else 0.0)
        elif res.status != 0:      # infeasible: the published numbers contradict each other; nothing is pinned
            return 0.0, UNBOUNDED
        else:
            out.append(sign * res.fun)
    return out[0], out[1]


def primary(values: Mapping[Cell, float], threshold: int) -> set[Cell]:
    """Counts from 1 to one below the threshold (a zero is shown; see the module docstring)."""
    return {c for c, v in values.items() if not _missing(v) and 0 < v < threshold}


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def suppress(values: Mapping[Cell, float], equations: Sequence[Equation], threshold: int, *,
             hidden: Mapping[Cell, float] | None = None, percents: Sequence[PercentBound] = (),
             already: Iterable[Cell] = (), order: Sequence[Cell] | None = None,
             protect: Iterable[Cell] = (), prefer: Iterable[Cell] = (), fixed: Iterable[Cell] = ()) -> set[Cell]:
    """Primary then secondary suppression of ``values`` (count cells) under ``equations``.

    ``hidden`` cells take part in equations but are never shown; ``percents`` are published percentages
    (their numerators are bounded by them); ``already`` are cells suppressed for another reason (a linked
    table); ``protect`` are hidden cells as small as a suppressed count (the numerator of a percentage shown as
    ``c``), guarded like one; ``prefer`` are cells to suppress first when a complement is needed (a base such
    as "respondents", before the counts a table is about); ``fixed`` are cells a reader already has from a linked
    table that showed them, never taken as a complement (hiding them here would hide nothing). ``order`` is the
    reading order used to break ties
    (default: the order of ``values``). Returns every suppressed count cell; the attacker then finds nothing
    narrower than the threshold."""
    out = primary(values, threshold) | {c for c in already if c in values}
    protect = {c for c in protect if c in (hidden or {})}
    if not equations:
        return out
    rank = {c: i for i, c in enumerate(order or list(values))}
    totals = {t for t, _ in equations}
    hidden = dict(hidden or {})
    prefer = set(prefer)
    fixed = set(fixed)

    def problem() -> Problem:
        pub = {c: float(v) for c, v in values.items() if c not in out and not _missing(v)}
        pct = [p for p in percents if p.numerator not in out and p.base not in out]
        return Problem(published=pub, suppressed=set(out) | protect, hidden=set(hidden) - protect,
                       equations=list(equations), percents=pct)

    # quick pass: no equation may hold exactly one suppressed (unknown) cell
    changed = True
    while changed:
        changed = False
        for total, parts in equations:
            members = [total, *parts]
            unknown = [c for c in members if c in out or c in hidden]
            if len(unknown) == 1 and (unknown[0] in out or unknown[0] in protect):
                pick = _complement(members, values, out, totals, rank, prefer, fixed)
                if pick is not None:
                    out.add(pick)
                    changed = True
    # then the attacker decides
    for _ in range(len(values) + 1):
        breaches = attack(problem(), threshold)
        if not breaches:
            return out
        pick = _nearest_complement(breaches[0].cell, equations, values, out, totals, rank, prefer, fixed)
        if pick is None:   # every non-zero cell tied to it is suppressed already and it is still pinned
            raise CannotProtect(f"cannot protect cell {breaches[0].cell}: every cell tied to it is suppressed, zero "
                                "or shown elsewhere")
        out.add(pick)
    raise RuntimeError("secondary suppression did not converge")


def _nearest_complement(cell: Cell, equations: Sequence[Equation], values: Mapping[Cell, float], out: set[Cell],
                        totals: set[Cell], rank: Mapping[Cell, int], prefer: set[Cell] = frozenset(),
                        fixed: set[Cell] = frozenset()) -> Cell | None:
    """A complement for a pinned ``cell``: from its own equations, else from the equations of the suppressed
    cells they hold, and so on outwards (a cell whose equations hold only zeros and suppressed cells)."""
    seen, frontier = {cell}, [cell]
    while frontier:
        members = [m for c in frontier for t, parts in equations if c in (t, *parts) for m in (t, *parts)]
        pick = _complement(members, values, out, totals, rank, prefer, fixed)
        if pick is not None:
            return pick
        frontier = [m for m in dict.fromkeys(members) if m in out and m not in seen]
        seen.update(frontier)
    return None


def _complement(members: Iterable[Cell], values: Mapping[Cell, float], out: set[Cell], totals: set[Cell],
                rank: Mapping[Cell, int], prefer: set[Cell] = frozenset(),
                fixed: set[Cell] = frozenset()) -> Cell | None:
    """The smallest published non-zero count among ``members`` (not one a linked table shows): a preferred cell
    first, then not a total while another cell is left."""
    free = [c for c in dict.fromkeys(members)
            if c in values and c not in out and c not in fixed and not _missing(values[c]) and values[c] > 0]
    if not free:
        return None
    inner = [c for c in free if c in prefer] or [c for c in free if c not in totals] or free
    return min(inner, key=lambda c: (values[c], rank.get(c, len(rank))))


def percent_shown(pct, base, threshold: int) -> bool:
    """Whether a percentage of ``base`` may be printed (a table cell, a chart label): the base is 0 or at least
    the threshold, and the count it implies is 0 or at least the threshold (80% of 5 gives 4 away)."""
    from .display import round_half_away

    if _missing(pct) or _missing(base) or 0 < base < threshold:
        return False
    implied = round_half_away(pct / 100 * base)
    return not (0 < implied < threshold)


# -- sentences ---------------------------------------------------------------------------------------------

def count_text(n, threshold: int, fmt=None) -> str:
    """A count for prose: the number (through ``fmt``, default :func:`cpdeval.display.fmt_count`), or "fewer
    than T" where a table would show ``c``."""
    from . import display as d

    if _missing(n) or 0 < n < threshold:
        return f"fewer than {threshold}"
    return (fmt or d.fmt_count)(n)


def count_label(n, threshold: int, suppressed: str | None = None) -> str:
    """A count on a figure (a bar label, an axis note, alt text): the number, or below ``threshold`` the
    suppression symbol ``c`` (or ``suppressed``, e.g. the word "suppressed" in alt text)."""
    from . import display as d

    return d.fmt_count(n) if n >= threshold else (d.SUPPRESSED if suppressed is None else suppressed)


def count_value(n, threshold: int):
    """A count in a figure's sidecar record: the number itself, or ``c`` below ``threshold``."""
    from . import display as d

    return n if n >= threshold else d.SUPPRESSED


def parts_in_words(parts: Mapping[str, float], total: float | None, threshold: int, fmt=None) -> dict[str, str]:
    """Each part of a total as a sentence may state it beside the total (:func:`protect_parts`): the number,
    "fewer than T" for a small part, or "some" for a part withheld so that a small one cannot be worked out."""
    said = protect_parts(parts, total, threshold)
    return {k: (count_text(v, threshold, fmt) if said[k] or (not _missing(v) and 0 < v < threshold) else "some")
            for k, v in parts.items()}


def protect_parts(parts: Mapping[str, float], total: float | None, threshold: int) -> dict[str, bool]:
    """Which parts of a total a sentence may state (True) when it also states the total: the same primary and
    secondary suppression as a table, so "fewer than 5 had none" never sits beside numbers that give it away.
    A part marked False is written without its number (or as "fewer than T" when it is itself small)."""
    cells = dict(parts)
    equations = [("__total__", tuple(cells))] if total is not None else []
    values = {**cells, **({"__total__": total} if total is not None else {})}
    hidden = {}
    if total is not None and sum(v for v in cells.values() if not _missing(v)) != total:
        hidden = {"__rest__": None}     # the parts do not exhaust the total: the rest is unknown
        equations = [("__total__", (*cells, "__rest__"))]
    out = suppress(values, equations, threshold, hidden=hidden, order=list(values))
    if "__total__" in out and not _missing(total) and total >= threshold:
        out.discard("__total__")
    return {k: k not in out for k in cells}
