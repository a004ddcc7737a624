"""The built-in renderer: executes a ``.qmd`` file's Python cells in-process and
turns the result into one self-contained HTML file (and optionally ``.docx``)
with pandoc from the ``pypandoc-binary`` wheel.

Steps
1. :func:`cpdeval.render.qmd.parse_qmd` splits the document and refuses
   unsupported features (before anything runs).
2. Cells run in order in one namespace (``exec``; no Jupyter kernel), with the
   working directory set to the document's folder.  stdout, :func:`display`
   calls, the value of a final expression and new matplotlib figures (Agg
   backend) become output; inline `` `{python} expr` `` values are evaluated
   where they stand.
3. A post-pass over the assembled markdown turns callouts into classed divs,
   numbers sections (``number-sections``), numbers figures and tables in order
   of appearance ("Figure 1: caption", "Table 1: caption") and resolves
   ``@fig-``/``@tbl-``/``@sec-`` references into links.
4. pandoc writes ``--standalone`` HTML with the CSS below (and a table of
   contents with ``toc: true``), which :func:`embed_resources` makes one
   self-contained file, and ``.docx`` on request.

Output is deterministic: figure files are named after their cell, PNGs carry
no timestamps, no random ids are generated.  Only the date line (``date:
today``) changes from day to day; ``SOURCE_DATE_EPOCH`` fixes it.
"""

from __future__ import annotations

import ast
import builtins
import datetime as _dt
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
import warnings
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

from cpdeval.display import fmt_date
import cpdeval.render as _render
from cpdeval.render.qmd import (
    CALLOUT_TYPES,
    DIV_CLOSE_RE,
    DIV_OPEN_RE,
    Cell,
    CellError,
    CrossRefError,
    Document,
    RenderError,
    Text,
    UnsupportedFeature,
    Verbatim,
    _div_problem,
    check_markdown,
    mask_code,
    parse_div_attrs,
    parse_qmd,
)

__all__ = ["render_builtin", "build_markdown", "pandoc_path", "CSS", "BuiltMarkdown", "OMIT_SECTION",
           "number_and_resolve", "raw_markdown", "segments_from_raw", "build_day", "format_date"]

#: Stylesheet embedded in every HTML output.
CSS = """\
:root { --text: #0b0c0c; --muted: #505a5f; --rule: #b1b4b6; --link: #1d70b8; }
html { font-size: 100%; }
body { font-family: "Helvetica Neue", Arial, sans-serif; color: var(--text); line-height: 1.5;
       max-width: 48em; margin: 0 auto; padding: 1.5em 1em 4em; hyphens: none; }
a { color: var(--link); }
h1, h2, h3, h4 { line-height: 1.25; margin-top: 1.6em; }
header#title-block-header { margin-bottom: 2em; border-bottom: 1px solid var(--rule); }
header#title-block-header .subtitle { font-size: 1.2em; color: var(--muted); margin-top: 0; }
header#title-block-header .author, header#title-block-header .date { color: var(--muted); margin: .2em 0; }
nav#TOC { border: 1px solid var(--rule); padding: .5em 1.5em; margin-bottom: 2em; }
nav#TOC > ul { padding-left: 1em; }
.header-section-number { margin-right: .4em; }
figure { margin: 1.5em 0; }
figure img, img { max-width: 100%; height: auto; }
figcaption { font-size: .95em; color: var(--text); margin-top: .4em; }
table { border-collapse: collapse; margin: 1em 0; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: .4em; }
th, td { padding: .3em .7em; border-bottom: 1px solid var(--rule); vertical-align: top; }
thead th { border-bottom: 2px solid var(--text); }
.table-notes { font-size: .9em; color: var(--muted); }
.table-notes p { margin: .2em 0; }
.callout { border-left: .35em solid var(--rule); background: #f8f8f8; padding: .2em 1em; margin: 1.2em 0; }
.callout-title { font-weight: bold; margin-top: .6em; }
.callout-note { border-left-color: #1d70b8; }
.callout-tip { border-left-color: #00703c; }
.callout-important { border-left-color: #d4351c; }
.callout-warning { border-left-color: #f47738; }
.callout-caution { border-left-color: #912b88; }
pre { background: #f3f2f1; padding: .6em .8em; overflow-x: auto; font-size: .9em; }
.cell-output pre { background: #fff; border: 1px solid var(--rule); }
.cpdeval-table { overflow-x: auto; max-width: 100%; }
th { vertical-align: bottom; }
td, th { overflow-wrap: normal; word-break: normal; hyphens: none; }
@media (max-width: 600px) { body { padding: 1em .6em 3em; } th, td { padding: .25em .4em; } }
@media print { body { max-width: none; } nav#TOC { display: none; } .cpdeval-table { overflow: visible; } }
"""

_PH_OPEN, _PH_CLOSE = "\ue010", "\ue011"   # placeholder for a figure/table number: \ue010fig-x\ue011
_NAME = r"[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*"
_REF_BRACKET_RE = re.compile(r"\[(?P<minus>-?)@(?P<label>(?:[Ff]ig|[Tt]bl|[Ss]ec)-" + _NAME + r")\]")
_REF_RE = re.compile(r"(?<![\w\\@/.])@(?P<label>(?:[Ff]ig|[Tt]bl|[Ss]ec)-" + _NAME + r")")
_PLACEHOLDER_RE = re.compile(_PH_OPEN + r"(?P<label>[^" + _PH_CLOSE + r"]+)" + _PH_CLOSE)
_IMAGE_RE = re.compile(r"!\[(?P<cap>(?:[^\[\]]|\[[^\]]*\])*)\]\((?P<src>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)"
                       r"(?:\{(?P<attrs>[^}]*)\})?")
_INLINE_EXPR_RE = re.compile(r"`\{python\}\s+(?P<expr>[^`]*)`")
_HEADING_RE = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<title>.*?)[ \t]*(?:\{(?P<attrs>[^}]*)\})?[ \t]*$")
_SETEXT_RE = re.compile(r"^(=+|-+)[ \t]*$")
_KIND_WORD = {"fig": "Figure", "tbl": "Table", "sec": "Section"}


# =========================================================================== segments

@dataclass
class Seg:
    """A piece of the markdown being assembled.

    ``md`` segments are processed by the post-pass; ``verbatim`` ones (code,
    text output, raw HTML) are passed to pandoc untouched.  ``lines`` maps each
    line of ``text`` to the line of the ``.qmd`` it came from.
    """

    kind: str
    text: str
    lines: list[int]
    cell: Cell | None = None

    @classmethod
    def at(cls, kind: str, text: str, line: int, *, cell: Cell | None = None, spread: bool = False):
        n = text.count("\n") + 1
        return cls(kind, text, [line + i if spread else line for i in range(n)], cell)

    def line_of(self, pos: int) -> int:
        k = self.text.count("\n", 0, pos)
        return self.lines[min(k, len(self.lines) - 1)]


def _fence_for(text: str, char: str = "`") -> str:
    runs = [len(m.group(0)) for m in re.finditer(re.escape(char) + "+", text)]
    return char * max(3, max(runs, default=0) + 1)


def _output_block(text: str, classes: str) -> str:
    fence = _fence_for(text)
    return f"::: {{{classes}}}\n{fence}\n{text.rstrip(chr(10))}\n{fence}\n:::"


def _attr_value(text: str) -> str:
    return " ".join(str(text).replace('"', "'").split())


# =========================================================================== execution

class _Stdout(io.TextIOBase):
    def __init__(self, events: list):
        self.events = events

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if s:
            if self.events and self.events[-1][0] == "stdout":
                self.events[-1] = ("stdout", self.events[-1][1] + s)
            else:
                self.events.append(("stdout", s))
        return len(s)


def _is_matplotlib(obj) -> bool:
    mod = type(obj).__module__ or ""
    if mod.startswith("matplotlib"):
        return True
    if isinstance(obj, (list, tuple)) and obj:
        return all((type(o).__module__ or "").startswith("matplotlib") for o in obj)
    return False


def _is_figure(obj) -> bool:
    return type(obj).__name__ in ("Figure", "SubFigure") and (type(obj).__module__ or "").startswith("matplotlib")


def _is_published_table(obj) -> bool:
    return type(obj).__name__ == "PublishedTable" and type(obj).__module__ == "cpdeval.tables"


def _is_raw_frame(obj) -> bool:
    mod = (type(obj).__module__ or "").split(".")[0]
    return mod in ("polars", "pandas") and type(obj).__name__ in ("DataFrame", "LazyFrame", "Series")


def _ipython_like_display(*objs):
    """``display`` as a Jupyter kernel provides it (a str is shown as text)."""
    for obj in objs:
        if _render._capture is not None:
            _render._capture(obj)
        else:  # pragma: no cover - only outside a render
            print(repr(obj))


def build_day() -> _dt.date:
    """The day of the build: today, or the day ``SOURCE_DATE_EPOCH`` fixes (for reproducible outputs)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return _dt.datetime.fromtimestamp(int(epoch), tz=_dt.timezone.utc).date()
    return _dt.date.today()


def format_date(value) -> str | None:
    """A document's ``date:`` as readers see it (:func:`cpdeval.display.fmt_date`); "today", "now" and
    "last-modified" are the build day, other text that is not a date is kept as written."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip() in ("today", "now", "last-modified"):
        value = build_day()
    return fmt_date(value) if isinstance(value, (str, _dt.date)) else str(value)


class _Executor:
    """Runs one document's cells and inline expressions, collecting segments."""

    def __init__(self, doc: Document, params: Mapping[str, Any] | None, build_dir: Path):
        self.doc = doc
        self.path = str(doc.path)
        self.build_dir = build_dir
        self.fig_dir = build_dir / "figures"
        meta = doc.meta
        ex = dict(meta.get("execute") or {})
        self.defaults = {"echo": False, "eval": True, "include": True, "output": True, "warning": True}
        self.defaults.update(ex)
        declared = dict(meta.get("params") or {})
        self.overrides = dict(params or {})
        self.ns: dict[str, Any] = {
            "__name__": "__main__",
            "__builtins__": builtins,
            "params": {**declared, **self.overrides},
            "display": _ipython_like_display,
        }
        self.declared = declared
        self.param_cell = next((c for c in doc.cells if "parameters" in (c.options.get("tags") or [])), None)
        self.segs: list[Seg] = []
        self.events: list[tuple[str, Any]] | None = None
        self.preexisting_figs: set[int] = set()

    # -- helpers -----------------------------------------------------------------
    def _pyplot(self):
        return sys.modules.get("matplotlib.pyplot")

    def _open_figs(self) -> list[int]:
        plt = self._pyplot()
        return list(plt.get_fignums()) if plt else []

    def _on_display(self, obj):
        if self.events is None:  # pragma: no cover
            raise RenderError("display() called outside a cell")
        self.events.append(("display", obj))

    def _apply_overrides(self, after: Cell | None):
        # As Quarto does, every override becomes a variable (declared or not) and joins ``params``.
        for k, v in self.overrides.items():
            self.ns[k] = v
        self.ns["params"] = {**self.declared, **self.overrides}

    # -- running -----------------------------------------------------------------
    def run(self) -> list[Seg]:
        old_backend_env = os.environ.get("MPLBACKEND")
        self._setup_matplotlib()
        if self.param_cell is None:
            self._apply_overrides(None)
        old_cwd = os.getcwd()
        doc_dir = str(self.doc.path.parent)
        sys.path.insert(0, doc_dir)
        _render._set_capture(self._on_display)
        try:
            if self.doc.path.parent.is_dir():
                os.chdir(doc_dir)
            for piece in self.doc.pieces:
                if isinstance(piece, Text):
                    self.segs.append(Seg.at("md", self._inline(piece), piece.line, spread=True))
                elif isinstance(piece, Verbatim):
                    self.segs.append(Seg.at("verbatim", piece.text, piece.line, spread=True))
                else:
                    self.segs.extend(self._run_cell(piece))
        finally:
            _render._set_capture(None)
            os.chdir(old_cwd)
            if old_backend_env is None:
                os.environ.pop("MPLBACKEND", None)
            else:
                os.environ["MPLBACKEND"] = old_backend_env
            try:
                sys.path.remove(doc_dir)
            except ValueError:  # pragma: no cover
                pass
            self._close_new_figs()
        return self.segs

    def _setup_matplotlib(self):
        if "matplotlib" not in sys.modules:
            os.environ["MPLBACKEND"] = "Agg"
        else:
            import matplotlib

            if matplotlib.get_backend().lower() != "agg":
                matplotlib.use("Agg", force=True)
        self.preexisting_figs = set(self._open_figs())

    def _close_new_figs(self):
        plt = self._pyplot()
        if plt:
            for n in self._open_figs():
                if n not in self.preexisting_figs:
                    plt.close(n)

    def _inline(self, piece: Text) -> str:
        text = piece.text

        def value(m: re.Match) -> str:
            expr = m.group("expr").strip()
            line = piece.line + text.count("\n", 0, m.start())
            try:
                code = compile(expr, f"{self.path}:{line}", "eval")
                v = eval(code, self.ns)
            except Exception as e:
                raise CellError(f"{self.path}:{line}: inline expression `{{python}} {expr}` failed: "
                                f"{type(e).__name__}: {e}", file=self.path, label=None, index=None,
                                line=line) from None
            if _is_published_table(v) or _is_raw_frame(v) or _is_figure(v):
                raise CellError(f"{self.path}:{line}: inline expression `{{python}} {expr}` gives a "
                                f"{type(v).__name__}; inline values must be text or numbers",
                                file=self.path, label=None, index=None, line=line)
            md = getattr(v, "_repr_markdown_", None)
            return md() if md else str(v)

        return _INLINE_EXPR_RE.sub(value, text)

    def _cell_error(self, cell: Cell, e: BaseException) -> CellError:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == self.path]
        at = frames[-1].lineno if frames else cell.line
        lines = [f"  line {f.lineno}: {(f.line or '').strip()}" for f in frames[-5:]]
        msg = (f"{self.path}:{at}: error in cell {cell.name} (cell {cell.index}, starting at line "
               f"{cell.line}): {type(e).__name__}: {e}")
        if lines:
            msg += "\n" + "\n".join(lines)
        return CellError(msg, file=self.path, label=cell.label, index=cell.index, line=at)

    def _exec(self, cell: Cell) -> list[tuple[str, Any]]:
        src = cell.source
        try:
            tree = ast.parse(src, filename=self.path, mode="exec")
        except SyntaxError as e:
            line = cell.code_line + (e.lineno or 1) - 1
            raise CellError(f"{self.path}:{line}: syntax error in cell {cell.name} (cell {cell.index}): "
                            f"{e.msg}", file=self.path, label=cell.label, index=cell.index, line=line) from None
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            node = tree.body[-1]
            rest = src.split("\n")[node.end_lineno - 1][node.end_col_offset:]
            if not rest.lstrip().startswith(";"):
                last = ast.Expression(tree.body.pop().value)
        ast.increment_lineno(tree, cell.code_line - 1)
        if last is not None:
            ast.increment_lineno(last, cell.code_line - 1)
        events: list[tuple[str, Any]] = []
        self.events = events
        try:
            with redirect_stdout(_Stdout(events)), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("default")
                warnings.filterwarnings("ignore", category=DeprecationWarning)
                warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
                warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
                warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")
                warnings.filterwarnings("ignore", message=".*FigureCanvasAgg is non-interactive.*")
                exec(compile(tree, self.path, "exec"), self.ns)
                if last is not None:
                    v = eval(compile(last, self.path, "eval"), self.ns)
                    if v is not None and not _is_matplotlib(v):
                        events.append(("display", v))
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: BLE001 - user code; SystemExit included
            raise self._cell_error(cell, e) from None
        finally:
            self.events = None
        for w in caught:
            events.append(("warning", f"{w.category.__name__}: {w.message}"))
        shown = {id(o) for k, o in events if k == "display" and _is_figure(o)}
        plt = self._pyplot()
        if plt:
            for n in self._open_figs():
                if n in self.preexisting_figs:
                    continue
                fig = plt.figure(n)
                if id(fig) not in shown:
                    events.append(("figure", fig))
        return events

    def _run_cell(self, cell: Cell) -> list[Seg]:
        o = {**self.defaults, **cell.options}
        segs: list[Seg] = []
        if o["echo"] and o["include"]:
            code = "\n".join(ln for ln in cell.source.split("\n") if not ln.startswith("#|")).strip("\n")
            fence = _fence_for(code)
            segs.append(Seg.at("verbatim", f"{fence}{{.python .cell-code}}\n{code}\n{fence}", cell.line))
        if not o["eval"]:
            return segs if o["include"] else []
        from ..tables import set_publication_context

        set_publication_context(label=cell.label, caption=o.get("tbl-cap"))
        events = self._exec(cell)
        if cell is self.param_cell:
            self._apply_overrides(cell)
        try:
            if not o["include"]:
                return []
            if o["output"] is False:
                return segs
            segs += self._outputs(cell, o, events)
            return segs
        finally:
            plt = self._pyplot()
            if plt:
                for kind, obj in events:
                    if kind in ("figure", "display") and _is_figure(obj):
                        plt.close(obj)

    # -- outputs -----------------------------------------------------------------
    def _outputs(self, cell: Cell, o: dict, events: list) -> list[Seg]:
        label = cell.label or ""
        fig_label = label if label.startswith("fig-") else None
        tbl_label = label if label.startswith("tbl-") else None
        figs = [obj for k, obj in events if k in ("figure", "display") and _is_figure(obj)]
        tables = [obj for k, obj in events if k == "display" and _is_published_table(obj)]
        where = f"{self.path}:{cell.line}"
        if any(k == "stdout" and str(obj).strip() == OMIT_SECTION for k, obj in events):
            # the cell leaves out its section (its input is missing this year): nothing else it shows counts
            return [Seg.at("md", OMIT_SECTION, cell.line, cell=cell)]
        if fig_label and not figs:
            raise RenderError(f"{where}: cell '{fig_label}' is labelled as a figure but draws no figure")
        if tbl_label and not tables:
            raise RenderError(f"{where}: cell '{tbl_label}' is labelled as a table but displays no "
                              "table (display a cpdeval.tables.PublishedTable)")
        if len(figs) > 1 and (fig_label or o.get("fig-cap")):
            raise UnsupportedFeature(f"several figures in one captioned cell (sub-figures) in cell {cell.name}",
                                     self.path, cell.line)
        if len(tables) > 1 and (tbl_label or o.get("tbl-cap")):
            raise UnsupportedFeature(f"several tables in one captioned cell (sub-tables) in cell {cell.name}",
                                     self.path, cell.line)
        asis = o["output"] == "asis"
        segs: list[Seg] = []
        nfig = 0
        for kind, obj in events:
            if kind == "stdout":
                if asis:
                    segs.append(Seg.at("md", obj, cell.line, cell=cell))
                else:
                    segs.append(Seg.at("verbatim", _output_block(obj, ".cell-output .cell-output-stdout"),
                                       cell.line))
            elif kind == "warning":
                if o["warning"]:
                    segs.append(Seg.at("verbatim", _output_block(obj, ".cell-output .cell-output-stderr"),
                                       cell.line))
            elif _is_figure(obj):
                nfig += 1
                segs.append(Seg.at("md", self._figure_md(cell, o, obj, nfig, fig_label), cell.line, cell=cell))
            elif _is_published_table(obj):
                cap = o.get("tbl-cap") or obj.caption
                if tbl_label:
                    cap = f"Table {_PH_OPEN}{tbl_label}{_PH_CLOSE}" + (f": {cap}" if cap else "")
                segs.append(Seg.at("md", obj.to_markdown(caption=cap, id=tbl_label), cell.line, cell=cell))
            elif _is_raw_frame(obj):
                raise CellError(
                    f"{where}: cell {cell.name} displays a {type(obj).__module__.split('.')[0]} "
                    f"{type(obj).__name__} directly; publish tables with cpdeval.tables.publish_table so "
                    "that rounding and disclosure control are applied",
                    file=self.path, label=cell.label, index=cell.index, line=cell.line)
            elif hasattr(obj, "_repr_markdown_"):
                segs.append(Seg.at("md", obj._repr_markdown_(), cell.line, cell=cell))
            elif hasattr(obj, "_repr_html_"):
                html = obj._repr_html_()
                fence = _fence_for(html)
                segs.append(Seg.at("verbatim", f"{fence}{{=html}}\n{html}\n{fence}", cell.line))
            else:
                segs.append(Seg.at("verbatim", _output_block(repr(obj), ".cell-output .cell-output-display"),
                                   cell.line))
        return segs

    def _figure_md(self, cell: Cell, o: dict, fig, k: int, fig_label: str | None) -> str:
        from cpdeval.figures import DPI, PNG_COMPRESS_LEVEL

        self.fig_dir.mkdir(parents=True, exist_ok=True)
        name = f"{cell.label or f'cell-{cell.index}'}-{k}.png"
        fig.savefig(self.fig_dir / name, format="png", dpi=DPI, bbox_inches="tight",
                    metadata={"Software": None}, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
        cap = o.get("fig-cap") or ""
        alt = _attr_value(o.get("fig-alt") or cap or "Figure")
        src = f"figures/{name}"
        if fig_label:
            return f"![{cap}]({src}){{#{fig_label} alt=\"{alt}\"}}"
        if cap:
            return f"![{cap}]({src}){{alt=\"{alt}\"}}"
        return f"![{alt}]({src})\\"  # trailing backslash: an image, not an (uncaptioned) figure


# =========================================================================== post-pass

@dataclass
class _Numbers:
    figs: dict[str, int] = field(default_factory=dict)
    tbls: dict[str, int] = field(default_factory=dict)
    secs: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # id -> (number, title)


#: A cell that prints this line removes the section it stands in (its heading and everything up to the next
#: heading of the same or a higher level): how a chapter leaves out a section whose input this year lacks.
OMIT_SECTION = "<!-- cpdeval:omit-section -->"


def _omit_sections(segs: list[Seg]) -> int:
    """Remove every section holding an :data:`OMIT_SECTION` line; the number removed."""
    flat = []   # (seg index, line index, heading level or 0, is marker)
    for si, seg in enumerate(segs):
        lines = seg.text.split("\n")
        masked = mask_code(seg.text).split("\n") if seg.kind == "md" else [""] * len(lines)
        for li, (line, ml) in enumerate(zip(lines, masked)):
            m = _HEADING_RE.match(ml) if seg.kind == "md" else None
            flat.append((si, li, len(m.group("hashes")) if m else 0, seg.kind == "md" and line.strip() == OMIT_SECTION))
    drop: set[int] = set()
    removed = 0
    for k, (_, _, _, marker) in enumerate(flat):
        if not marker or k in drop:
            continue
        start = next((j for j in range(k, -1, -1) if flat[j][2]), None)
        if start is None:               # no heading above: only the marker goes
            drop.add(k)
            continue
        level = flat[start][2]
        end = next((j for j in range(k + 1, len(flat)) if flat[j][2] and flat[j][2] <= level), len(flat))
        drop.update(range(start, end))
        removed += 1
    if drop:
        keep: dict[int, list[int]] = {}
        for k, (si, li, _, _) in enumerate(flat):
            if k not in drop:
                keep.setdefault(si, []).append(li)
        for si, seg in enumerate(segs):
            lines = seg.text.split("\n")
            kept = keep.get(si, [])
            seg.text = "\n".join(lines[i] for i in kept)
            seg.lines = [seg.lines[min(i, len(seg.lines) - 1)] for i in kept] or seg.lines[:1]
    return removed


def _callouts(segs: list[Seg], path: str) -> None:
    stack: list[str] = []
    for seg in segs:
        if seg.kind != "md":
            continue
        lines = seg.text.split("\n")
        masked = mask_code(seg.text).split("\n")
        out: list[str] = []
        out_lines: list[int] = []
        k = 0

        def emit(text: str, src: int):
            out.append(text)
            out_lines.append(src)

        while k < len(lines):
            src = seg.lines[min(k, len(seg.lines) - 1)]
            ml = masked[k].strip()
            m = DIV_OPEN_RE.match(ml)
            if m:
                a = parse_div_attrs(m.group("attrs"))
                problem = _div_problem(a)
                if problem:
                    raise UnsupportedFeature(problem, path, src)
                ctype = next((c[len("callout-"):] for c in a.classes
                              if c.startswith("callout-") and c[len("callout-"):] in CALLOUT_TYPES), None)
                if ctype:
                    title = a.kv.get("title")
                    n = k + 1
                    while n < len(lines) and not lines[n].strip():
                        n += 1
                    if title is None and n < len(lines):
                        hm = _HEADING_RE.match(masked[n])
                        if hm:
                            title = lines[n][hm.start("title"):hm.end("title")]
                            for skip in range(k + 1, n + 1):
                                masked[skip] = lines[skip] = "\x00skip"
                    title = title or ctype.capitalize()
                    for t in (f"::: {{.callout .callout-{ctype}}}", "", "::: {.callout-title}", title, ":::",
                              "", "::: {.callout-body}", ""):
                        emit(t, src)
                    stack.append("callout")
                else:
                    emit(lines[k], src)
                    stack.append("div")
            elif DIV_CLOSE_RE.match(ml) and stack:
                if stack.pop() == "callout":
                    for t in ("", ":::", "", ":::"):
                        emit(t, src)
                else:
                    emit(lines[k], src)
            elif lines[k] != "\x00skip":
                emit(lines[k], src)
            k += 1
        seg.text = "\n".join(out)
        seg.lines = out_lines or [seg.lines[0]]


def _sections(segs: list[Seg], number_sections: bool, path: str) -> dict[str, tuple[str | None, str]]:
    found = []  # (seg, line index, level, numbered, id, match)
    for seg in segs:
        if seg.kind != "md":
            continue
        lines = seg.text.split("\n")
        masked = mask_code(seg.text).split("\n")
        for i, ml in enumerate(masked):
            prev_blank = i == 0 or not masked[i - 1].strip()
            prev = masked[i - 1].strip() if i > 0 else ""
            if number_sections and _SETEXT_RE.match(ml) and prev and not prev.startswith(("|", ":", "#")) \
                    and not re.match(r"^([-*+]|\d+[.)])\s", prev):
                raise UnsupportedFeature("setext (underlined) heading with number-sections; use '#' headings",
                                         path, seg.lines[min(i, len(seg.lines) - 1)])
            m = _HEADING_RE.match(ml)
            if not m or not prev_blank:
                continue
            a = parse_div_attrs("{" + (m.group("attrs") or "") + "}")
            numbered = "unnumbered" not in a.classes
            found.append((seg, i, len(m.group("hashes")), numbered, a.id, m))
    secs: dict[str, tuple[str | None, str]] = {}
    levels = [lv for _, _, lv, numbered, _, _ in found if numbered]
    top = min(levels) if levels else 1
    counters = [0] * 7
    appendix = 0        # top-level headings with class .appendix are lettered: Appendix A, A.1, A.2, Appendix B
    edits: dict[int, list[tuple[int, str]]] = {}
    for seg, i, level, numbered, ident, m in found:
        lines = seg.text.split("\n")
        title = lines[i][m.start("title"):m.end("title")]
        number = None
        if number_sections and numbered:
            depth = max(level - top, 0)
            shown = None
            if depth == 0 and "appendix" in parse_div_attrs("{" + (m.group("attrs") or "") + "}").classes:
                appendix += 1
            counters[depth] += 1
            for j in range(depth + 1, 7):
                counters[j] = 0
            parts = [str(c) for c in counters[:depth + 1]]
            if appendix:
                parts[0] = chr(ord("A") + appendix - 1)
                shown = f"Appendix {parts[0]}" if depth == 0 else None
            number = ".".join(parts)
            edits.setdefault(id(seg), []).append(
                (i, lines[i][:m.start("title")] + f"[{shown or number}]{{.header-section-number}} "
                 + lines[i][m.start("title"):]))
            if shown:
                number = shown
        if ident:
            if ident in secs:
                raise RenderError(f"{path}:{seg.lines[min(i, len(seg.lines) - 1)]}: duplicate heading id '{ident}'")
            secs[ident] = (number, title)
    for seg in segs:
        if id(seg) in edits:
            lines = seg.text.split("\n")
            for i, new in edits[id(seg)]:
                lines[i] = new
            seg.text = "\n".join(lines)
    return secs


def _replace_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _figures_and_tables(segs: list[Seg], path: str, search_dirs: list[Path]) -> tuple[dict, dict]:
    figs: dict[str, int] = {}
    tbls: dict[str, int] = {}
    for seg in segs:
        if seg.kind != "md":
            continue
        masked = mask_code(seg.text)
        spans = []
        for ln_i, ml in enumerate(masked.split("\n")):
            m = DIV_OPEN_RE.match(ml.strip())
            if m:
                a = parse_div_attrs(m.group("attrs"))
                if a.id and a.id.startswith("tbl-") and "cpdeval-table" in a.classes:
                    if a.id in tbls:
                        raise RenderError(f"{path}:{seg.lines[min(ln_i, len(seg.lines) - 1)]}: "
                                          f"duplicate table label '{a.id}'")
                    tbls[a.id] = len(tbls) + 1
        for m in _IMAGE_RE.finditer(masked):
            line = seg.line_of(m.start())
            src = seg.text[m.start("src"):m.end("src")]
            _check_image(src, path, line, search_dirs)
            attrs = seg.text[m.start("attrs"):m.end("attrs")] if m.group("attrs") is not None else ""
            a = parse_div_attrs("{" + attrs + "}")
            new_attrs = attrs
            if "fig-alt" in a.kv:
                new_attrs = re.sub(r"\bfig-alt=", "alt=", attrs)
            if a.id and a.id.startswith("fig-"):
                if a.id in figs:
                    raise RenderError(f"{path}:{line}: duplicate figure label '{a.id}'")
                figs[a.id] = len(figs) + 1
                cap = seg.text[m.start("cap"):m.end("cap")]
                new_cap = f"Figure {_PH_OPEN}{a.id}{_PH_CLOSE}" + (f": {cap}" if cap.strip() else "")
                if "alt" not in parse_div_attrs("{" + new_attrs + "}").kv:
                    new_attrs += f' alt="{_attr_value(re.sub(r"[*_`]", "", cap) or "Figure")}"'
                spans.append((m.start("cap"), m.end("cap"), new_cap))
            if new_attrs != attrs:
                spans.append((m.start("attrs"), m.end("attrs"), new_attrs))
        seg.text = _replace_spans(seg.text, spans)
    return figs, tbls


def _check_image(src: str, path: str, line: int, search_dirs: list[Path]) -> None:
    if re.match(r"^[a-zA-Z][\w+.-]*:", src) or src.startswith("#"):
        return  # URL or data: URI
    target = src.split("#")[0].split("?")[0]
    from urllib.parse import unquote

    target = unquote(target)
    if Path(target).is_absolute():
        if Path(target).exists():
            return
    elif any((d / target).exists() for d in search_dirs):
        return
    raise RenderError(f"{path}:{line}: image '{src}' not found (looked in "
                      f"{', '.join(str(d) for d in search_dirs)})")


def _resolve_refs(segs: list[Seg], nums: _Numbers, path: str) -> None:
    def lookup(label: str, line: int) -> tuple[str, str, str]:
        """(label, "Figure 1", "1") for a reference; sections without numbers use their title."""
        kind = label.split("-", 1)[0].lower()
        label = kind + label[len(kind):]
        table = {"fig": nums.figs, "tbl": nums.tbls, "sec": nums.secs}[kind]
        if label not in table:
            raise CrossRefError(label, path, line, sorted(table))
        if kind == "sec":
            number, title = nums.secs[label]
            if number and number.startswith("Appendix "):
                return label, number, number
            return (label, f"Section {number}", number) if number else (label, title, title)
        return label, f"{_KIND_WORD[kind]} {table[label]}", str(table[label])

    for seg in segs:
        if seg.kind != "md":
            continue
        masked = mask_code(seg.text)
        spans = []
        taken: list[tuple[int, int]] = []
        for m in _REF_BRACKET_RE.finditer(masked):
            label, full, bare = lookup(m.group("label"), seg.line_of(m.start()))
            spans.append((m.start(), m.end(), f"[{bare if m.group('minus') else full}](#{label})"))
            taken.append((m.start(), m.end()))
        for m in _REF_RE.finditer(masked):
            if any(s <= m.start() < e for s, e in taken):
                continue
            label, full, _ = lookup(m.group("label"), seg.line_of(m.start()))
            spans.append((m.start(), m.end(), f"[{full}](#{label})"))
        for m in _PLACEHOLDER_RE.finditer(seg.text):
            label = m.group("label")
            table = nums.figs if label.startswith("fig-") else nums.tbls
            spans.append((m.start(), m.end(), str(table[label])))
        seg.text = _replace_spans(seg.text, spans)


# =========================================================================== assembly

@dataclass
class BuiltMarkdown:
    """The pandoc input for one document, plus what pandoc needs to know."""

    text: str
    meta: dict[str, Any]
    toc: bool
    toc_depth: int
    numbers: _Numbers
    raw: str = ""        # the executed body before callouts, numbering and references (for an assembled report)


def _doc_options(meta: Mapping[str, Any], fmt: str) -> dict[str, Any]:
    opts = {k: meta.get(k) for k in ("toc", "toc-depth", "toc-title", "number-sections")}
    fmt_meta = meta.get("format")
    if isinstance(fmt_meta, dict) and isinstance(fmt_meta.get(fmt), dict):
        for k in ("toc", "toc-depth", "toc-title", "number-sections"):
            if k in fmt_meta[fmt]:
                opts[k] = fmt_meta[fmt][k]
    return opts


def number_and_resolve(segs: list[Seg], path: str, *, number_sections: bool, search: list[Path]) -> _Numbers:
    """The post-pass over executed segments: callouts, section numbers, figure and table numbers and captions,
    then cross-references resolved (a chapter, or the assembled report of several)."""
    _callouts(segs, path)
    nums = _Numbers()
    nums.secs = _sections(segs, number_sections, path)
    nums.figs, nums.tbls = _figures_and_tables(segs, path, search)
    _resolve_refs(segs, nums, path)
    return nums


_VERBATIM = re.compile(r"\x00verbatim\n(.*?)\n\x00end", re.S)


def raw_markdown(segs: list[Seg]) -> str:
    """Executed segments as one text, verbatim blocks (code, text output) marked so that
    :func:`segments_from_raw` gives them back untouched."""
    return "\n\n".join((s.text if s.kind == "md" else f"\x00verbatim\n{s.text}\n\x00end").strip("\n")
                        for s in segs if s.text.strip())


def segments_from_raw(markdown: str) -> list[Seg]:
    """The inverse of :func:`raw_markdown` (line numbers are not kept)."""
    return [Seg("verbatim" if i % 2 else "md", piece, [1] * (piece.count("\n") + 1))
            for i, piece in enumerate(_VERBATIM.split(markdown)) if piece.strip()]


def build_markdown(doc: Document, *, params: Mapping[str, Any] | None, build_dir: Path,
                   resource_dirs: Iterable[str | Path] | None = None) -> BuiltMarkdown:
    """Execute ``doc`` and assemble the pandoc markdown (figures are written under ``build_dir``)."""
    path = str(doc.path)
    segs = _Executor(doc, params, build_dir).run()
    for seg in segs:  # markdown produced by cells gets the same checks as the source
        if seg.kind == "md" and seg.cell is not None:
            check_markdown(seg.text, path, seg.lines[0])
    _omit_sections(segs)
    raw = raw_markdown(segs)
    opts = _doc_options(doc.meta, "html")
    search = [build_dir, doc.path.parent] + [Path(d).resolve() for d in (resource_dirs or [])]
    nums = number_and_resolve(segs, path, number_sections=bool(opts.get("number-sections")), search=search)
    body = "\n\n".join(s.text.strip("\n") for s in segs if s.text.strip())
    meta = doc.meta
    out_meta: dict[str, Any] = {}
    for key in ("title", "subtitle"):
        if meta.get(key):
            out_meta[key] = str(meta[key])
    author = meta.get("author")
    if author:
        names = author if isinstance(author, list) else [author]
        out_meta["author"] = [str(a.get("name", "")) if isinstance(a, dict) else str(a) for a in names]
    date = format_date(meta.get("date"))
    if date:
        out_meta["date"] = date
    out_meta["lang"] = str(meta.get("lang") or "en-GB")
    out_meta["toc-title"] = str(opts.get("toc-title") or "Contents")
    if not meta.get("title"):
        out_meta["pagetitle"] = doc.path.stem
    header = "---\n" + yaml.safe_dump(out_meta, allow_unicode=True, sort_keys=True) + "---\n\n"
    return BuiltMarkdown(header + body + "\n", out_meta, bool(opts.get("toc")), int(opts.get("toc-depth") or 3),
                         nums, raw)


def save_part(built: BuiltMarkdown, build_dir: Path, dest_md: Path, *, root: Path | None = None) -> Path:
    """Keep a chapter's executed markdown for the assembled report (:mod:`cpdeval.report`): the body before
    numbering (labels unresolved), its title, and the figures its cells drew (copied beside it). Paths under
    ``root`` (the project, where the workflow runs) are written relative to it, so the file is the same on
    every machine."""
    import json

    dest_md.parent.mkdir(parents=True, exist_ok=True)
    files = dest_md.with_name(dest_md.stem + "_files")
    shutil.rmtree(files, ignore_errors=True)
    text = built.raw
    if (build_dir / "figures").is_dir():
        files.mkdir(parents=True)
        for png in sorted((build_dir / "figures").glob("*.png")):
            shutil.copy2(png, files / png.name)
        text = text.replace("](figures/", f"]({files.as_posix()}/")
    if root is not None:
        text = text.replace(f"({Path(root).resolve().as_posix()}/", "(")
        text = text.replace(f"({files.resolve().as_posix()}/", f"({files.as_posix()}/")
    dest_md.write_text(text + "\n", encoding="utf-8")
    meta = {k: built.meta.get(k) for k in ("title", "subtitle")}
    dest_md.with_suffix(".json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return dest_md


# =========================================================================== pandoc

def pandoc_path() -> str:
    """The pandoc binary shipped by ``pypandoc-binary`` (or on PATH)."""
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except Exception:
        exe = shutil.which("pandoc")
        if not exe:
            raise RenderError("pandoc not found: install the pypandoc-binary wheel") from None
        return exe


#: An image element, and its source and alternative text (either quote style: raw HTML may use either).
_IMG = re.compile(r"<img\b[^>]*>", re.S)
_SRC = re.compile(r"""\bsrc=(["'])(.*?)\1""", re.S)
_ALT = re.compile(r"""\balt=(["'])(.*?)\1""", re.S)
#: A style sheet link as pandoc writes it for ``--css``.
_STYLESHEET = re.compile(r"""<link rel="stylesheet" href="([^"]+)" />""")
#: A script or style sheet that would still be fetched when the page is opened.
_FETCHED = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)=["'](?!data:)[^"']+["']""", re.S)
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                ".svg": "image/svg+xml"}


def embed_resources(html_file: Path, search: Sequence[Path], what: str) -> None:
    """Make the HTML pandoc wrote self-contained, as its ``--embed-resources`` would: each image becomes a
    ``data:`` URI of the file found first in ``search`` (pandoc's resource path, in its order) and is labelled
    for screen readers by its alternative text (``role="img" aria-label=...``), and each style sheet link
    becomes a ``<style>`` element. Stops on an image or style sheet that is missing, on the web or of an
    unknown type, and on any script the page would fetch.

    pandoc parses and re-writes the whole page to do this: 0.7 of the 1.45 s it takes for the assembled
    report's HTML, against a few hundredths here. Our pages hold figures and one style sheet only."""
    import base64
    from html import unescape
    from urllib.parse import unquote

    def local_file(src: str, kind: str) -> Path:
        if re.match(r"[a-z][a-z0-9+.-]*:", src, re.I):
            raise RenderError(f"{what}: the {kind} {src} is not a local file; a report must hold its {kind}s "
                              "(save the file beside the document)")
        rel = unquote(src)
        found = next((d / rel for d in search if (d / rel).is_file()), None)
        if found is None:
            raise RenderError(f"{what}: the {kind} {src} was not found (looked in {', '.join(map(str, search))})")
        return found

    def image(m: re.Match) -> str:
        tag = m.group(0)
        src = _SRC.search(tag)
        if src is None or src.group(2).startswith("data:"):
            return tag
        found = local_file(unescape(src.group(2)), "image")
        kind = _IMAGE_TYPES.get(found.suffix.lower())
        if kind is None:
            raise RenderError(f"{what}: the image {src.group(2)} is not a PNG, JPEG, GIF or SVG file")
        # the label is read before the picture goes in: searched for through the base64 text, the alternative
        # text took 0.35 s for the national report's 41 figures (and a payload may end in "alt=")
        alt = _ALT.search(tag)
        label = (f" aria-label={alt.group(1)}{alt.group(2)}{alt.group(1)}"
                 if alt and "aria-label=" not in tag else "")
        role = ' role="img"' if "role=" not in tag else ""
        quote = src.group(1)
        payload = base64.b64encode(found.read_bytes()).decode("ascii")
        tag = tag[:src.start()] + f"src={quote}data:{kind};base64,{payload}{quote}" + tag[src.end():]
        return "<img" + role + label + tag[len("<img"):]

    def style(m: re.Match) -> str:
        css = local_file(unescape(m.group(1)), "style sheet").read_text(encoding="utf-8")
        return f'<style type="text/css">{css}</style>'

    text = _STYLESHEET.sub(style, _IMG.sub(image, html_file.read_text(encoding="utf-8")))
    fetched = _FETCHED.search(text)
    if fetched:
        raise RenderError(f"{what}: the page would fetch a file when opened ({fetched.group(0)}...); "
                          "a report must be self-contained")
    html_file.write_text(text, encoding="utf-8")


def _pandoc(args: list[str], cwd: Path, what: str) -> None:
    _pandoc_together([args], cwd, what)


def pandoc_env() -> dict[str, str]:
    """The environment pandoc runs in: this process's, with ``SOURCE_DATE_EPOCH`` set to midnight (UTC) of
    :func:`build_day`. Pandoc dates a Word file's zip entries and its created and modified properties to it (and
    the entries of the default reference document it prints), so the same report built twice on a day is
    byte-identical; HTML output does not use it."""
    day = build_day()
    midnight = _dt.datetime(day.year, day.month, day.day, tzinfo=_dt.timezone.utc)
    return {**os.environ, "SOURCE_DATE_EPOCH": str(int(midnight.timestamp()))}


def _pandoc_together(runs: list[list[str]], cwd: Path, what: str) -> None:
    """Run pandoc once per argument list, all at the same time (each run is one process on its own core: the
    report's HTML and Word versions take about as long together as the slower alone); the first failure is
    raised once all have ended. Each run is dated to the build day (:func:`pandoc_env`)."""
    exe = pandoc_path()
    env = pandoc_env()
    procs = [subprocess.Popen([exe, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env)
             for args in runs]
    failures = []
    for proc in procs:
        _out, err = proc.communicate()
        if proc.returncode != 0:
            failures.append(f"{what}: pandoc failed (exit {proc.returncode}): {err.strip()}")
    if failures:
        raise RenderError(failures[0])


def render_builtin(qmd: str | Path, out_dir: str | Path, *, params: Mapping[str, Any] | None = None,
                   formats: Sequence[str] = ("html",), resource_dirs: Iterable[str | Path] | None = None,
                   keep_intermediate: bool = False, part: str | Path | None = None) -> list[Path]:
    """Render ``qmd`` with the built-in renderer; returns ``[<stem>.html, <stem>.docx]`` as requested.

    ``keep_intermediate`` keeps the pandoc input (``<stem>_build/doc.md`` and
    its figures) in ``out_dir`` for inspection.
    """
    doc = parse_qmd(qmd)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    resource_dirs = [Path(d).resolve() for d in (resource_dirs or [])]
    build = Path(tempfile.mkdtemp(prefix=f".{doc.path.stem}-", dir=out))
    try:
        built = build_markdown(doc, params=params, build_dir=build, resource_dirs=resource_dirs)
        if part is not None:
            save_part(built, build, Path(part), root=Path.cwd())
        (build / "doc.md").write_text(built.text, encoding="utf-8")
        (build / "cpdeval.css").write_text(CSS, encoding="utf-8")
        resource_path = [".", str(doc.path.parent), *map(str, resource_dirs)]   # pandoc's, relative to build/
        rpath = os.pathsep.join(resource_path)
        common = ["doc.md", "--from", "markdown", "--resource-path", rpath]
        written = []
        for fmt in formats:
            opts = _doc_options(doc.meta, fmt)
            toc = ["--toc", f"--toc-depth={int(opts.get('toc-depth') or 3)}"] if opts.get("toc") else []
            if fmt == "html":
                args = common + ["--to", "html5", "--standalone", "--css", "cpdeval.css",
                                 "--wrap", "none", *toc, "--output", "out.html"]
            elif fmt == "docx":
                from .docx import reference_docx

                ref = reference_docx(build / "reference.docx")   # A4, tables a point smaller than the text
                args = common + ["--to", "docx", "--reference-doc", str(ref), *toc, "--output", "out.docx"]
            else:
                raise RenderError(f"unsupported output format {fmt!r} (builtin renders html and docx)")
            _pandoc(args, build, str(doc.path))
            if fmt == "html":
                embed_resources(build / "out.html", [build / d for d in resource_path], str(doc.path))
            target = out / f"{doc.path.stem}.{fmt}"
            os.replace(build / f"out.{fmt}", target)
            written.append(target)
        return written
    finally:
        if keep_intermediate:
            dest = out / f"{doc.path.stem}_build"
            shutil.rmtree(dest, ignore_errors=True)
            os.replace(build, dest)
        else:
            shutil.rmtree(build, ignore_errors=True)
