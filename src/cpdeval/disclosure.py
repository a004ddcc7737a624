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
* **The attacker** (:func:`attack`) solves the published equations by linear programming (HiGHS): for each suppressed
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
    todo = [cell for cell in targets if cell in constrained]
    if not todo:
        return breaches
    lower = [1.0 if c in problem.suppressed else 0.0 for c in unknown]
    solver = _BoundSolver(lower, a_eq, b_eq, a_ub, b_ub)
    for cell in todo:
        lo, hi = solver.bounds(index[cell])
        if hi - lo < threshold - 1e-9:
            breaches.append(Breach(cell, lo, hi))
    return breaches


class _BoundSolver:
    """The least and greatest value of each unknown under the published equations and percentage bounds, by
    linear programming with HiGHS (``highspy``, the solver scipy's ``linprog(method="highs")`` wraps).

    One model per attack, its objective changed from cell to cell: each solve starts from the last one's basis
    instead of a fresh presolve, and the job imports ``highspy`` (a tenth of a second) rather than
    ``scipy.optimize`` (about a second on the CI machines, paid by every job that publishes a table)."""

    def __init__(self, lower: list[float], a_eq, b_eq, a_ub, b_ub):
        import highspy
        import numpy as np

        self._status = highspy.HighsModelStatus
        rows = list(a_eq) + list(a_ub)
        n = len(lower)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, len(rows)
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = np.asarray(lower, dtype=float)
        lp.col_upper_ = np.full(n, highspy.kHighsInf)
        lp.row_lower_ = np.asarray(list(b_eq) + [-highspy.kHighsInf] * len(a_ub), dtype=float)
        lp.row_upper_ = np.asarray(list(b_eq) + list(b_ub), dtype=float)
        starts, index, value = [0], [], []
        for row in rows:
            nz = np.flatnonzero(row)
            index.extend(nz.tolist())
            value.extend(np.asarray(row)[nz].tolist())
            starts.append(len(index))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, len(rows)
        lp.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.asarray(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.asarray(value, dtype=float)
        # the bare binding: highspy.Highs() prints HiGHS's banner to the process's stdout when first made
        self._highs = highspy._Highs()
        self._highs.setOptionValue("output_flag", False)
        if self._highs.passModel(lp) != highspy.HighsStatus.kOk:
            raise RuntimeError("the disclosure attacker's linear programme was refused by HiGHS")

    def bounds(self, i: int) -> tuple[float, float]:
        out = []
        for sign in (1.0, -1.0):
            status, value = self._solve(i, sign)
            if status == self._status.kUnbounded:
                out.append(UNBOUNDED if sign < 0 else 0.0)
            elif status != self._status.kOptimal:
                # infeasible: the published numbers contradict each other; nothing is pinned
                return 0.0, UNBOUNDED
            else:
                out.append(sign * value)
        return out[0], out[1]

    def _solve(self, i: int, sign: float):
        h = self._highs
        h.changeColCost(i, sign)
        try:
            h.run()
            status = h.getModelStatus()
            if status == self._status.kUnboundedOrInfeasible:
                # presolve could not tell which: solve again without it for a definite answer
                h.setOptionValue("presolve", "off")
                h.clearSolver()
                h.run()
                status = h.getModelStatus()
                h.setOptionValue("presolve", "choose")
            return status, h.getInfo().objective_function_value
        finally:
            h.changeColCost(i, 0.0)


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
