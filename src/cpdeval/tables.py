"""Publishing tables: the one helper every table in a report goes through.

:func:`publish_table` takes a derived table (full precision, any dtypes) and
returns a :class:`PublishedTable` of display strings, after

* **disclosure control**: a count below the threshold becomes ``c``; a
  percentage, mean or interval whose base count is below the threshold
  becomes ``c`` (so does one whose base is missing: it cannot be checked);
* **missing values**: null or NaN becomes ``x`` (not available), unless the
  column's status column says ``z`` (not applicable) -- a status can also force
  ``x`` or ``c`` (e.g. secondary suppression decided by the analyst);
* **rounding** with :func:`cpdeval.display.round_half_away` and thousands
  separators, via the formatters in :mod:`cpdeval.display`.

Zero counts are shown, as DfE shows them (a zero identifies nobody); a count
from 1 to one below the threshold is ``c``, and so is any further cell that
secondary suppression hides so that no ``c`` can be worked out from the
totals published beside it (:mod:`cpdeval.disclosure`).

A published table renders as a pandoc pipe table (``to_markdown``) or an HTML
table (``to_html``).  Either form is wrapped in an element carrying
``data-cpdeval-table`` and a ``data-cpdeval-columns`` list of column kinds, so
:func:`find_disclosure_breaches` can later scan a rendered report, know which
cells are counts and which statistics rest on which count, and flag any table
that did not come through this helper.
"""

from __future__ import annotations

import html
from contextlib import contextmanager
import math
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Mapping, Sequence

import polars as pl

from cpdeval import display as d

__all__ = [
    "ColumnSpec", "PublishedTable", "publish_table", "RowSum", "ColumnSum", "CellSum",
    "LinkedSum", "Breach", "find_disclosure_breaches", "KINDS", "TABLE_FORMAT_VERSION",
]

#: Column kinds a published table understands (``target``: a configured number, never suppressed).
KINDS = ("label", "count", "percent", "number", "ci", "target")
#: Value of the ``data-cpdeval-table`` attribute (bumped if the markup changes).
TABLE_FORMAT_VERSION = "1"

_DEFAULT_DECIMALS = {"label": 0, "count": 0, "percent": 0, "number": 1, "ci": 1, "target": 0}

_STATUS_VALUES = {
    None: None, "": None, "ok": None,
    "z": d.NOT_APPLICABLE, "not applicable": d.NOT_APPLICABLE, "not_applicable": d.NOT_APPLICABLE,
    "x": d.NOT_AVAILABLE, "not available": d.NOT_AVAILABLE, "not_available": d.NOT_AVAILABLE,
    "c": d.SUPPRESSED, "suppressed": d.SUPPRESSED,
    "b": d.BREAK, "break": d.BREAK,
}


@dataclass(frozen=True)
class ColumnSpec:
    """How one published column is built.

    name
        Column of the input frame (for ``ci``: the key of the published column;
        its values come from ``lower`` and ``upper``).
    kind
        ``label`` (text, left-aligned), ``count``, ``percent`` (0-100 unless
        ``proportion``), ``number`` (a mean, score, rate...), ``ci`` (interval
        "lower to upper").
    header
        Column heading shown (default: ``name``).
    decimals
        Decimal places (default: count 0, percent 0, number 1, ci 1).
    base
        The count column a percent/number/ci is built on; required for
        ``percent`` and ``ci``.  It need not be published itself.
    numerator
        Optional count column of a percentage's numerator: the percentage is
        also suppressed when the numerator is below the threshold.
    lower, upper
        For ``ci``: the columns holding the bounds.
    suffix
        Text after each number (default "%" for percent, "" otherwise; a ci of
        percentages shows "85% to 95%" with ``suffix="%"``).
    proportion
        Values are 0-1 proportions: multiplied by 100 for display.
    status
        A column whose value forces a symbol in this column: ``z`` / "not
        applicable", ``x`` / "not available", ``c`` / "suppressed", ``b`` /
        "break" (a change across a break in the series); null, ""
        or "ok" leave the cell alone.
    point
        For ``ci``: the percentage column the interval is around. The interval
        is suppressed whenever that percentage would be (an interval from a
        small count gives the count away as surely as the percentage).
    key
        The column's name in other tables that repeat its counts (``link``).
    p_value
        For a ``number``: a p-value, shown "<0.001" (at 3 decimals) where it would round to zero.
    spare
        For a count that only gives a base (respondents beside the substantive
        answers): when secondary suppression needs a complement, take it here
        first, so the counts the table is about stay shown.
    """

    name: str
    kind: str
    header: str | None = None
    decimals: int | None = None
    base: str | None = None
    numerator: str | None = None
    lower: str | None = None
    upper: str | None = None
    suffix: str | None = None
    proportion: bool = False
    status: str | None = None
    point: str | None = None     # ci: the point estimate (a percentage) whose implied count decides suppression
    key: str | None = None       # the column's name across linked tables (default: its header)
    spare: bool = False          # count: suppress these cells first when a complement is needed
    p_value: bool = False        # number: a p-value ("<0.001", never "0.000")

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.kind in ("percent", "ci") and not self.base:
            raise ValueError(
                f"{self.kind} column {self.name!r} needs base= (the count column it was computed from) "
                "so that disclosure control can be applied; for a percentage that is not built on a "
                "count (e.g. a growth rate) use kind='number' with suffix='%'")
        if self.kind == "ci" and not (self.lower and self.upper):
            raise ValueError(f"ci column {self.name!r} needs lower= and upper= column names")
        if self.decimals is not None and self.decimals < 0:
            raise ValueError(f"column {self.name!r}: decimals must be >= 0")

    @property
    def title(self) -> str:
        return self.header if self.header is not None else self.name

    @property
    def places(self) -> int:
        return self.decimals if self.decimals is not None else _DEFAULT_DECIMALS[self.kind]

    @property
    def unit(self) -> str:
        if self.suffix is not None:
            return self.suffix
        return "%" if self.kind == "percent" else ""

    @property
    def numeric(self) -> bool:
        return self.kind != "label"


@dataclass(frozen=True)
class RowSum:
    """In every row, column ``total`` is the sum of columns ``parts`` (a part may be a column the table does
    not publish: it is then unknown to a reader, but still ties the others together)."""

    total: str
    parts: tuple[str, ...]

    def __init__(self, total: str, parts):
        object.__setattr__(self, "total", total)
        object.__setattr__(self, "parts", tuple(parts))


@dataclass(frozen=True)
class ColumnSum:
    """The row whose ``label`` column reads ``total`` is the sum of the ``members`` rows (default: every other
    row but those in ``exclude``), in each count column (or in ``columns``).

    With ``within`` (a column), each block of rows sharing its value (or only the blocks in ``blocks``) adds
    up on its own: to the block's own ``total`` row, else to the table's, else to a total the table does not
    show (known by the block's value, so a linked table that shows it ties the two together)."""

    label: str
    total: str
    members: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    columns: tuple[str, ...] | None = None
    within: str | None = None
    blocks: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CellSum:
    """One equation between named cells: ``total`` and each of ``parts`` are (label value, column), the row
    being the one whose ``label`` column holds that value (e.g. last year's reached = this year's retained +
    lapsed)."""

    label: str
    total: tuple[str, str]
    parts: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class LinkedSum:
    """A count that a linked table shows, and this one does not, is the sum of named cells of this table: the
    count is known by its row label ``row`` and column key ``column`` in the linked table, each part by (label
    value in column ``label``, column) here (a transition table whose cells below the diagonal add up to the
    "better grade" count of a table published before it)."""

    row: str
    column: str
    label: str
    parts: tuple[tuple[str, str], ...]

    def __init__(self, row: str, column: str, label: str, parts):
        object.__setattr__(self, "row", row)
        object.__setattr__(self, "column", column)
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "parts", tuple(tuple(p) for p in parts))


#: Count cells published so far in each group of linked tables: link name -> {(row labels, column): value,
#: or None where the cell was suppressed}.
_LINKED: dict[str, dict[tuple, float | None]] = {}
#: Environment variable naming a file to which every published table is appended (JSON lines), for the
#: pipeline's disclosure audit. Set by the render stage.
PUBLICATION_LOG_ENV = "CPDEVAL_PUBLICATION_LOG"
#: The chapter cell being run (its label and caption), set by the built-in renderer, so that the publication
#: log names each table as the report does.
_CONTEXT: dict[str, str | None] = {"label": None, "caption": None}


def set_publication_context(label: str | None = None, caption: str | None = None) -> None:
    _CONTEXT.update(label=label, caption=caption)


@contextmanager
def separate_links():
    """Publish tables inside as if no table had been published before (no linked cells), and forget what they
    link on exit: how a stage works out which cells a chapter will hide (so that a figure does not show a
    count its table hides), whatever else its process has published."""
    saved = {k: dict(v) for k, v in _LINKED.items()}
    _LINKED.clear()
    try:
        yield
    finally:
        _LINKED.clear()
        _LINKED.update(saved)


def _coerce_specs(columns) -> list[ColumnSpec]:
    if isinstance(columns, Mapping):
        specs = []
        for name, spec in columns.items():
            if isinstance(spec, ColumnSpec):
                specs.append(spec)
            elif isinstance(spec, str):
                specs.append(ColumnSpec(name=name, kind=spec))
            elif isinstance(spec, Mapping):
                specs.append(ColumnSpec(name=name, **spec))
            else:
                raise TypeError(f"column {name!r}: spec must be a kind, a dict or a ColumnSpec")
        return specs
    specs = list(columns)
    for s in specs:
        if not isinstance(s, ColumnSpec):
            raise TypeError(f"columns must be ColumnSpec objects or a dict, got {s!r}")
    return specs


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _status_symbol(value, column: str) -> str | None:
    key = value.strip().lower() if isinstance(value, str) else value
    if key not in _STATUS_VALUES:
        raise ValueError(
            f"status column {column!r} holds {value!r}; expected one of "
            "z / not applicable, x / not available, c / suppressed, b / break, or empty")
    return _STATUS_VALUES[key]


def _format_cell(spec: ColumnSpec, row: Mapping[str, Any], threshold: int, hidden: set[str] = frozenset()) -> str:
    """One published cell. ``hidden`` names the count columns suppressed in this row (primary or secondary)."""
    if spec.status:
        forced = _status_symbol(row[spec.status], spec.status)
        if forced:
            return forced
    if spec.kind == "ci":
        lo, hi = row[spec.lower], row[spec.upper]
        if _missing(lo) or _missing(hi):
            return d.NOT_AVAILABLE
    else:
        v = row[spec.name]
        if _missing(v):
            return d.NOT_AVAILABLE
    if spec.kind == "label":
        return str(v)
    if spec.kind == "target":
        return d.fmt_count(v)
    if spec.kind == "count":
        if 0 < v < threshold or spec.name in hidden:
            return d.SUPPRESSED
        return d.fmt_count(v)
    # statistics: suppressed when their base (or numerator) is small, unknown or suppressed
    for col in (spec.base, spec.numerator):
        if col:
            b = row[col]
            if _missing(b) or 0 < b < threshold or col in hidden:
                return d.SUPPRESSED
    k = 100 if spec.proportion else 1
    # the count a percentage of a published base gives away (for an interval: its point estimate's)
    pct = v if spec.kind == "percent" else (row[spec.point] if spec.kind == "ci" and spec.point else None)
    if pct is not None and not _missing(pct) and spec.base and not spec.numerator and not _missing(row[spec.base]):
        from .disclosure import percent_shown

        if not percent_shown(pct * k, row[spec.base], threshold):
            return d.SUPPRESSED
    if spec.kind == "ci":
        return d.fmt_interval(lo * k, hi * k, spec.places, spec.unit)
    if spec.p_value:
        return d.fmt_p_value(v, spec.places) + spec.unit
    return d.fmt_number(v * k, spec.places) + spec.unit


@dataclass(frozen=True)
class PublishedTable:
    """A table ready for a report: display strings only, plus caption and notes.

    ``data`` is a polars DataFrame of strings whose column names are the
    published headers.  Render it with :meth:`to_markdown` or :meth:`to_html`;
    in a Quarto (Jupyter) or built-in render, displaying the object is enough.
    """

    data: pl.DataFrame
    columns: tuple[ColumnSpec, ...]
    threshold: int
    caption: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def headers(self) -> list[str]:
        return [c.title for c in self.columns]

    @property
    def kinds(self) -> list[str]:
        return [c.kind for c in self.columns]

    def cell(self, row: int, column: str) -> str:
        """The published text of one cell (``column`` is the header)."""
        return self.data[column][row]

    # -- markup ----------------------------------------------------------------
    def _column_codes(self) -> str:
        """``label,count,percent@1``: kind, and index of the base when it is published."""
        index = {c.name: i for i, c in enumerate(self.columns)}
        codes = []
        for c in self.columns:
            code = c.kind
            if c.base and c.base in index and self.columns[index[c.base]].kind == "count":
                code += f"@{index[c.base]}"
            codes.append(code)
        return ",".join(codes)

    def _attrs(self) -> dict[str, str]:
        return {
            "data-cpdeval-table": TABLE_FORMAT_VERSION,
            "data-cpdeval-columns": self._column_codes(),
            "data-cpdeval-threshold": str(self.threshold),
        }

    def to_markdown(self, *, caption: str | None = None, id: str | None = None) -> str:
        """A pandoc pipe table (numbers right-aligned) in a marked fenced div.

        ``caption`` overrides the table's own caption (the built-in renderer
        passes "Table 1: ..." here); ``id`` becomes the div's identifier.
        """
        cap = self.caption if caption is None else caption
        attrs = " ".join(f'{k}="{v}"' for k, v in self._attrs().items())
        ident = f"#{id} " if id else ""
        lines = [f"::: {{{ident}.cpdeval-table {attrs}}}", ""]
        lines.append("| " + " | ".join(_md_escape(h) for h in self.headers) + " |")
        # pandoc sizes the columns of a long table by these dashes: as wide as the header's longest word and
        # the cells (up to a limit), so no word is broken and short numbers do not take a wide column
        widths = [max(3, max((len(w) for w in c.title.split()), default=3),
                      min(36, max((len(v) for v in self.data[c.title].to_list()), default=3)))
                  for c in self.columns]
        lines.append("|" + "|".join(("-" * (w - 1) + ":") if c.numeric else (":" + "-" * (w - 1))
                                    for c, w in zip(self.columns, widths)) + "|")
        for row in self.data.iter_rows():
            lines.append("| " + " | ".join(_md_escape(v) for v in row) + " |")
        if cap:
            lines += ["", f": {cap}"]
        if self.notes:
            lines += ["", "::: {.table-notes}"]
            for note in self.notes:
                lines += [note, ""]
            lines.append(":::")
        lines += ["", ":::", ""]
        return "\n".join(lines)

    def to_html(self, *, caption: str | None = None, id: str | None = None) -> str:
        """An HTML table (numbers right-aligned) in a marked ``<div>``."""
        cap = self.caption if caption is None else caption
        attrs = "".join(f' {k}="{html.escape(v)}"' for k, v in self._attrs().items())
        ident = f' id="{html.escape(id)}"' if id else ""
        out = [f'<div{ident} class="cpdeval-table"{attrs}>', "<table>"]
        if cap:
            out.append(f"<caption>{html.escape(cap)}</caption>")
        align = ["right" if c.numeric else "left" for c in self.columns]
        out.append("<thead>\n<tr>" + "".join(
            f'<th style="text-align: {a};">{html.escape(h)}</th>' for h, a in zip(self.headers, align))
            + "</tr>\n</thead>")
        out.append("<tbody>")
        for row in self.data.iter_rows():
            out.append("<tr>" + "".join(
                f'<td style="text-align: {a};">{html.escape(v)}</td>' for v, a in zip(row, align)) + "</tr>")
        out.append("</tbody>\n</table>")
        if self.notes:
            out.append('<div class="table-notes">' + "".join(
                f"<p>{html.escape(n)}</p>" for n in self.notes) + "</div>")
        out.append("</div>")
        return "\n".join(out)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        return self.to_markdown()


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~^$@])")


def _md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def publish_table(df: pl.DataFrame, *, columns: list[ColumnSpec] | Mapping[str, Any], threshold: int,
                  caption: str | None = None, notes: list[str] | None = None,
                  sums: Sequence["RowSum | ColumnSum | CellSum | LinkedSum"] = (), link: str | None = None,
                  row_key: str | None = None, record: bool = True) -> PublishedTable:
    """Format a derived table for publication, applying disclosure control (:mod:`cpdeval.disclosure`).

    ``columns`` lists the published columns in order, as :class:`ColumnSpec`
    objects or a dict ``{name: kind}`` / ``{name: {"kind": ..., "base": ...}}``.
    ``threshold`` is the configured minimum count (``thresholds.disclosure_min_count``).
    ``sums`` declares the table's totals (:class:`RowSum`, :class:`ColumnSum`, :class:`CellSum`, and
    :class:`LinkedSum` for a total shown in a linked table): secondary suppression then
    hides further cells until no suppressed cell can be worked out from them. Tables sharing a ``link``
    name repeat the same counts (a table and its total elsewhere): a cell suppressed in one is suppressed in
    the others, a cell is known across them by its row labels and column (header, or the column's ``key``),
    or by the value of the ``row_key`` column where the same count has another label in each table.
    ``record=False`` keeps a table that is only read (for the text), not shown, out of the publication log.

    >>> t = publish_table(pl.DataFrame({"g": ["A", "B"], "n": [40, 4], "p": [92.5, 75.0]}),
    ...                   columns={"g": "label", "n": "count", "p": {"kind": "percent", "base": "n"}},
    ...                   threshold=5)
    >>> t.data.rows()
    [('A', '40', '93%'), ('B', 'c', 'c')]
    """
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
        raise ValueError(f"threshold must be a non-negative integer, got {threshold!r}")
    specs = _coerce_specs(columns)
    if not specs:
        raise ValueError("a published table needs at least one column")
    titles = [s.title for s in specs]
    dupes = sorted({t for t in titles if titles.count(t) > 1})
    if dupes:
        raise ValueError(f"duplicate column headers: {dupes}")
    needed: list[str] = []
    for s in specs:
        refs = [s.lower, s.upper] if s.kind == "ci" else [s.name]
        refs += [s.base, s.numerator, s.status, s.point]
        needed += [r for r in refs if r]
    missing = sorted({c for c in needed if c not in df.columns})
    if missing:
        raise ValueError(f"publish_table: column(s) {missing} not in the table (it has {df.columns})")
    for s in specs:
        for col in ([s.name] if s.kind in ("count", "percent", "number") else []) + \
                   [c for c in (s.base, s.numerator) if c] + \
                   ([s.lower, s.upper] if s.kind == "ci" else []):
            dt = df.schema[col]
            if not (dt.is_numeric() or dt == pl.Null):
                raise ValueError(f"publish_table: column {col!r} must be numeric for {s.kind} "
                                 f"column {s.name!r}, it is {dt}")
    structure = _Structure.build(df, specs, sums, threshold, row_key)
    already = structure.linked_cells(link)
    suppressed = structure.suppress(threshold, already, link)
    structure.register_link(link, suppressed)
    by_row: dict[int, set[str]] = {}
    for i, col in suppressed:
        by_row.setdefault(i, set()).add(col)
    rows = df.select(sorted(set(needed))).to_dicts()
    cells = {s.title: [_format_cell(s, r, threshold, by_row.get(i, set())) for i, r in enumerate(rows)]
             for s in specs}
    data = pl.DataFrame(cells, schema={t: pl.String for t in titles})
    table = PublishedTable(data=data, columns=tuple(specs), threshold=threshold,
                           caption=caption, notes=tuple(notes or ()))
    if record:
        _record_publication(table, structure, link)
    return table


@dataclass
class _Structure:
    """The count cells of a table, its equations and its percentages, as :mod:`cpdeval.disclosure` sees them."""

    values: dict[tuple[int, str], float]
    hidden: dict[tuple[int, str], float]
    equations: list
    percents: list
    keys: dict[tuple[int, str], tuple]      # cell -> (row labels, column): its identity across linked tables
    protect: set = field(default_factory=set)   # hidden numerators of percentages shown as c
    prefer: set = field(default_factory=set)    # cells of spare columns

    @classmethod
    def build(cls, df: pl.DataFrame, specs: list[ColumnSpec], sums, threshold: int,
              row_key: str | None = None) -> "_Structure":
        from .disclosure import PercentBound

        counts = [s.name for s in specs if s.kind == "count"]
        labels = [s.name for s in specs if s.kind == "label"]
        values = {(i, c): v for c in counts for i, v in enumerate(df[c].to_list())}
        for sp in specs:   # a cell forced to "z" or "b" counts nothing: a reader takes it as 0 in a sum
            if sp.kind == "count" and sp.status:
                for i, st in enumerate(df[sp.status].to_list()):
                    if _STATUS_VALUES.get(st.strip().lower() if isinstance(st, str) else st) in (d.NOT_APPLICABLE,
                                                                                                  d.BREAK):
                        values[(i, sp.name)] = 0
        key_cols = [row_key] if row_key else labels
        label_rows = list(zip(*[df[c].cast(pl.Utf8).to_list() for c in key_cols])) if key_cols else [()] * df.height
        titles = {s.name: s.key or s.title for s in specs}
        keys = {(i, c): (tuple(label_rows[i]), titles.get(c, c)) for (i, c) in values}
        hidden: dict[tuple[int, str], float] = {}

        def cell(i: int, col: str):
            if col not in df.columns:
                raise ValueError(f"publish_table: sums name column {col!r}, not in the table")
            if (i, col) not in values:
                hidden[(i, col)] = df[col][i]
            return (i, col)

        equations = []
        for sm in sums:
            if isinstance(sm, RowSum):
                for i in range(df.height):
                    equations.append((cell(i, sm.total), tuple(cell(i, p) for p in sm.parts)))
            elif isinstance(sm, ColumnSum):
                lab = df[sm.label].cast(pl.Utf8).to_list()
                blk = df[sm.within].cast(pl.Utf8).to_list() if sm.within else [None] * df.height
                blocks = [b for b in dict.fromkeys(blk) if sm.blocks is None or b in sm.blocks]
                for b in blocks:
                    rows = [i for i in range(df.height) if blk[i] == b]
                    own = [i for i in rows if lab[i] == sm.total]
                    anywhere = [i for i, v in enumerate(lab) if v == sm.total]
                    t = own[0] if own else (anywhere[0] if anywhere else None)
                    if t is None and not sm.within:
                        raise ValueError(f"publish_table: no row {sm.total!r} in column {sm.label!r} to total")
                    members = [i for i in rows if i != t and lab[i] not in sm.exclude and lab[i] != sm.total
                               and (sm.members is None or lab[i] in sm.members)]
                    for col in sm.columns or counts:
                        if t is None:   # the block's total is shown in a linked table, not here
                            total = ("block", b, col)
                            hidden[total] = None
                            keys[total] = ((b,), titles.get(col, col))
                        else:
                            total = cell(t, col)
                        equations.append((total, tuple(cell(i, col) for i in members)))
            elif isinstance(sm, (CellSum, LinkedSum)):
                lab = df[sm.label].cast(pl.Utf8).to_list()

                def named(ref, sm=sm, lab=lab):
                    if ref[0] not in lab:
                        raise ValueError(f"publish_table: no row {ref[0]!r} in column {sm.label!r}")
                    return cell(lab.index(ref[0]), ref[1])

                if isinstance(sm, CellSum):
                    total = named(sm.total)
                else:   # the total is a linked table's cell: unknown here unless that table shows it
                    total = ("block", sm.row, sm.column)
                    hidden[total] = None
                    keys[total] = ((sm.row,), sm.column)
                equations.append((total, tuple(named(r) for r in sm.parts)))
            else:
                raise TypeError(f"sums takes RowSum, ColumnSum, CellSum and LinkedSum, not {sm!r}")
        percents = []   # (the percentage's own cell, what it bounds)
        protect = set()
        for s in specs:
            if s.kind == "percent" and s.numerator and s.base:
                k = 100 if s.proportion else 1
                for i, v in enumerate(df[s.name].to_list()):
                    num = df[s.numerator][i]
                    if (i, s.numerator) in hidden and not _missing(num) and 0 < num < threshold:
                        protect.add((i, s.numerator))    # a small count behind a c: guarded like a shown c
                    if v is not None and not _missing(v):
                        percents.append(((i, s.title), PercentBound(cell(i, s.numerator), cell(i, s.base),
                                                                    v * k, s.places)))
        prefer = {c for c in values if any(sp.spare and sp.name == c[1] for sp in specs)}
        return cls(values, hidden, equations, percents, keys, protect, prefer)

    def suppress(self, threshold: int, already, link: str | None = None) -> set[tuple[int, str]]:
        from .disclosure import primary, suppress

        if not self.equations:
            return primary(self.values, threshold) | set(already)
        # a total this table does not show but a linked table does is known to a reader
        shown_elsewhere = _LINKED.get(link or "", {})
        values = dict(self.values)
        hidden = {}
        protect = set(self.protect)
        # a count a linked table shows is known to a reader: hiding it here as a complement would hide nothing
        fixed = {c for c in self.values if shown_elsewhere.get(self.keys.get(c)) is not None}
        for c, v in self.hidden.items():
            key = self.keys.get(c)
            known = shown_elsewhere.get(key) if c in self.keys else None
            if known is not None:
                values[c] = known
                fixed.add(c)
            else:
                hidden[c] = v
                if key in shown_elsewhere:
                    # a total a linked table suppressed: this table must not give it away by its parts (a type
                    # table whose types add up to an audience the audience table hides), so it is guarded like
                    # a suppressed cell: no equation may leave it the one unknown
                    protect.add(c)
        out = suppress(values, self.equations, threshold, hidden=hidden,
                       percents=[p for _, p in self.percents], already=already, protect=protect,
                       prefer=self.prefer, fixed=fixed)
        return {c for c in out if c in self.values}

    def linked_cells(self, link: str | None) -> set[tuple[int, str]]:
        """Cells of this table that a linked table already suppressed."""
        if not link:
            return set()
        seen = _LINKED.get(link, {})
        return {c for c, k in self.keys.items() if c in self.values and k in seen and seen[k] is None}

    def register_link(self, link: str | None, suppressed: set) -> None:
        if link:
            group = _LINKED.setdefault(link, {})
            for c, k in self.keys.items():
                if c in self.values:
                    group[k] = None if (c in suppressed or group.get(k, 0) is None) else self.values[c]


def _record_publication(table: PublishedTable, structure: _Structure, link: str | None) -> None:
    """Append the published table, with its equations, to the publication log the disclosure audit reads."""
    import json
    import os

    path = os.environ.get(PUBLICATION_LOG_ENV)
    if not path:
        return
    title = {s.name: s.title for s in table.columns}

    def ident(c):
        if c[0] == "block":   # a block total the table does not show: ["block", block value, column]
            return ["block", c[1], title.get(c[2], c[2])]
        i, col = c
        return [i, title.get(col, col)]

    shown = {(i, s.name): table.data[s.title][i] for s in table.columns if s.kind == "count"
             for i in range(table.data.height)}
    record = {
        "caption": table.caption or _CONTEXT["caption"], "label": _CONTEXT["label"],
        "threshold": table.threshold, "link": link,
        "headers": table.headers, "kinds": table.kinds, "rows": table.data.rows(),
        "cells": [{"cell": ident(c), "shown": shown.get(c), "key": [list(k[0]), k[1]]}
                  for c, k in structure.keys.items()],
        "hidden": [ident(c) for c in structure.hidden],
        "protected": sorted((ident(c) for c in structure.protect), key=repr),
        "equations": [[ident(t), [ident(p) for p in parts]] for t, parts in structure.equations],
        "percents": [{"numerator": ident(p.numerator), "base": ident(p.base), "percent": p.percent,
                      "decimals": p.decimals} for (i, header), p in structure.percents
                     if table.data[header][i] not in d.SYMBOLS],
    }
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=str) + "\n")


# =========================================================================== breach scanner

@dataclass(frozen=True)
class Breach:
    """One disclosure problem found in a rendered table."""

    table: int            # 1-based position of the table in the document
    row: int | None       # 1-based body row (None for table-level problems)
    column: str | None    # header text
    value: str | None
    reason: str
    caption: str | None = None

    def __str__(self) -> str:
        where = f"table {self.table}"
        if self.caption:
            where += f" ({self.caption!r})"
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        val = f", value {self.value!r}" if self.value is not None else ""
        return f"{where}{val}: {self.reason}"


@dataclass
class _Table:
    managed: bool
    codes: list[str] | None = None
    threshold: int | None = None
    caption: str | None = None
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _parse_number(text: str) -> float | None:
    t = text.strip().replace(",", "").replace("%", "").replace("\u2212", "-")
    try:
        return float(t)
    except ValueError:
        return None


def _check_table(t: _Table, index: int, threshold: int, allow_unmanaged: bool) -> list[Breach]:
    out: list[Breach] = []
    if not t.managed:
        if not allow_unmanaged:
            out.append(Breach(index, None, None, None,
                              "table was not produced by cpdeval.tables.publish_table "
                              "(no data-cpdeval-table marker), so it had no disclosure control",
                              t.caption))
        return out
    if t.threshold is not None and t.threshold < threshold:
        out.append(Breach(index, None, None, str(t.threshold),
                          f"table was published with threshold {t.threshold}, below {threshold}", t.caption))
    codes = t.codes or []
    for r, row in enumerate(t.rows, start=1):
        for j, code in enumerate(codes):
            if j >= len(row):
                continue
            kind, _, base = code.partition("@")
            cell = row[j].strip()
            header = t.header[j] if j < len(t.header) else str(j)
            if cell in d.SYMBOLS:
                continue
            if kind == "count":
                v = _parse_number(cell)
                if v is None:
                    out.append(Breach(index, r, header, cell, "count cell is neither a number nor a symbol",
                                      t.caption))
                elif 0 < v < threshold:
                    out.append(Breach(index, r, header, cell,
                                      f"count below the disclosure threshold ({threshold})", t.caption))
            elif base and kind in ("percent", "number", "ci"):
                b = int(base)
                bcell = row[b].strip() if b < len(row) else ""
                bv = _parse_number(bcell)
                if bcell == d.SUPPRESSED or (bv is not None and 0 < bv < threshold):
                    out.append(Breach(index, r, header, cell,
                                      f"{kind} published on a base below the threshold "
                                      f"(base column {t.header[b]!r} is {bcell!r})", t.caption))
    return out


class _HTMLTables(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[_Table] = []
        self._markers: list[tuple[int, dict]] = []  # (depth, attrs) of open marked elements
        self._depth = 0
        self._table: _Table | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_caption = False
        self._in_head = False
        self._row_th = False

    _VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
             "track", "wbr"}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in self._VOID:
            self._depth += 1
        if "data-cpdeval-table" in a:
            self._markers.append((self._depth, a))
        if tag == "table":
            if self._markers:
                m = self._markers[-1][1]
                thr = m.get("data-cpdeval-threshold")
                self._table = _Table(True, (m.get("data-cpdeval-columns") or "").split(","),
                                     int(thr) if thr and thr.isdigit() else None)
            else:
                self._table = _Table(False)
        elif self._table is not None:
            if tag == "thead":
                self._in_head = True
            elif tag == "tr":
                self._row = []
                self._row_th = False
            elif tag in ("td", "th"):
                self._cell = []
                self._row_th = self._row_th or tag == "th"
            elif tag == "caption":
                self._in_caption = True
                self._table.caption = ""

    def handle_endtag(self, tag):
        if self._table is not None:
            if tag in ("td", "th") and self._cell is not None and self._row is not None:
                self._row.append("".join(self._cell).strip())
                self._cell = None
            elif tag == "tr" and self._row is not None:
                if self._in_head or (self._row_th and not self._table.header and not self._table.rows):
                    self._table.header = self._row
                else:
                    self._table.rows.append(self._row)
                self._row = None
            elif tag == "thead":
                self._in_head = False
            elif tag == "caption":
                self._in_caption = False
                self._table.caption = (self._table.caption or "").strip() or None
            elif tag == "table":
                self.tables.append(self._table)
                self._table = None
        if tag not in self._VOID:
            while self._markers and self._markers[-1][0] >= self._depth:
                self._markers.pop()
            self._depth -= 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        elif self._in_caption and self._table is not None:
            self._table.caption = (self._table.caption or "") + data


_DIV_OPEN = re.compile(r"^(:{3,})\s*\{(?P<attrs>[^}]*)\}\s*$")
_DIV_CLOSE = re.compile(r"^:{3,}\s*$")
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


def _split_pipe_row(line: str) -> list[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    cells = re.split(r"(?<!\\)\|", s)
    return [re.sub(r"\\(.)", r"\1", c).strip() for c in cells]


def _markdown_tables(text: str) -> list[_Table]:
    tables: list[_Table] = []
    stack: list[dict | None] = []  # attrs of open fenced divs (None for unmarked)
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _DIV_OPEN.match(line.strip())
        if m:
            attrs = dict(_ATTR.findall(m.group("attrs")))
            stack.append(attrs if "data-cpdeval-table" in attrs else None)
            i += 1
            continue
        if _DIV_CLOSE.match(line.strip()) and stack:
            stack.pop()
            i += 1
            continue
        if line.lstrip().startswith("|") and i + 1 < len(lines) and \
                re.match(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$", lines[i + 1]):
            marker = next((a for a in reversed(stack) if a), None)
            if marker:
                thr = marker.get("data-cpdeval-threshold")
                t = _Table(True, marker.get("data-cpdeval-columns", "").split(","),
                           int(thr) if thr and thr.isdigit() else None)
            else:
                t = _Table(False)
            t.header = _split_pipe_row(line)
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                t.rows.append(_split_pipe_row(lines[i]))
                i += 1
            j = i
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and lines[j].startswith(": "):
                t.caption = lines[j][2:].strip()
            tables.append(t)
            continue
        i += 1
    return tables


def find_disclosure_breaches(text: str, threshold: int, *, allow_unmanaged: bool = False) -> list[Breach]:
    """Scan rendered HTML or markdown for disclosure breaches; an empty list means clean.

    Reports (as :class:`Breach` objects):

    * a number below ``threshold`` in a count column;
    * a percentage / number / interval shown although its (published) base
      count is suppressed or below ``threshold``;
    * a table published with a lower threshold than ``threshold``;
    * any table not produced by :func:`publish_table` (no ``data-cpdeval-table``
      marker), unless ``allow_unmanaged``.

    Count columns and bases are read from the ``data-cpdeval-columns`` marker
    that :meth:`PublishedTable.to_markdown` / :meth:`PublishedTable.to_html`
    write, and which pandoc and Quarto carry through to the HTML.
    """
    is_html = bool(re.search(r"<table\b", text, flags=re.I))
    if is_html:
        p = _HTMLTables()
        p.feed(text)
        p.close()
        tables = p.tables
    else:
        tables = _markdown_tables(text)
    out: list[Breach] = []
    for i, t in enumerate(tables, start=1):
        out += _check_table(t, i, threshold, allow_unmanaged)
    return out

