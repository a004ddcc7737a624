"""Parsing Quarto ``.qmd`` files for the built-in renderer, and the checks that
refuse what it does not support.

A document is parsed into an ordered list of pieces:

* :class:`Text`  -- markdown that the renderer processes (inline expressions,
  callouts, headings, images, cross-references);
* :class:`Verbatim` -- static fenced code blocks (```` ```python ````,
  ```` ```{.python} ````, raw ```` ```{=html} ````), passed through untouched;
* :class:`Cell` -- an executable ```` ```{python} ```` cell with its ``#|`` options.

Every piece knows the 1-based line of the ``.qmd`` file it starts on, so
errors can name file and line.  Anything Quarto-specific outside the
supported list raises :class:`UnsupportedFeature` (see ``docs/rendering.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml
from ..config import safe_yaml

from cpdeval.errors import CpdevalError

__all__ = [
    "RenderError", "UnsupportedFeature", "CellError", "CrossRefError",
    "Text", "Verbatim", "Cell", "Document", "parse_qmd", "parse_qmd_text",
    "CELL_OPTIONS", "FRONT_MATTER_KEYS", "CALLOUT_TYPES", "check_markdown", "mask_code",
    "parse_div_attrs", "DivAttrs",
]

_INSTALL_HINT = ("The built-in renderer supports only the features listed in docs/rendering.md; "
                 "install Quarto (https://quarto.org, or use the conda environment, which includes it) "
                 "and set render.engine to 'quarto' or 'auto' to render this document.")


class RenderError(CpdevalError):
    """A document could not be rendered; the message names the file (and line)."""


class UnsupportedFeature(RenderError):
    """The document uses a Quarto feature the built-in renderer does not implement."""

    def __init__(self, feature: str, file: str | Path, line: int | None = None):
        self.feature = feature
        self.file = str(file)
        self.line = line
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: unsupported Quarto feature: {feature}. {_INSTALL_HINT}")


class CellError(RenderError):
    """Python code in a cell (or an inline expression) failed."""

    def __init__(self, message: str, *, file: str | Path, label: str | None, index: int | None,
                 line: int | None):
        self.file = str(file)
        self.label = label
        self.index = index
        self.line = line
        super().__init__(message)


class CrossRefError(RenderError):
    """A cross-reference names a label the document does not define."""

    def __init__(self, label: str, file: str | Path, line: int | None, known: list[str]):
        self.label = label
        self.file = str(file)
        self.line = line
        kind = {"fig": "figure", "tbl": "table", "sec": "section"}.get(label.split("-", 1)[0], "label")
        hint = f" (labels defined: {', '.join(known)})" if known else " (the document defines no such labels)"
        super().__init__(f"{self.file}:{line}: unknown cross-reference @{label}: "
                         f"no {kind} is labelled {label!r}{hint}")


# --------------------------------------------------------------------------- pieces

@dataclass
class Text:
    text: str
    line: int


@dataclass
class Verbatim:
    text: str
    line: int


@dataclass
class Cell:
    index: int                 # 1-based position among the document's cells
    line: int                  # line of the opening ```{python} fence
    source: str                # code, including the #| option lines (kept as comments)
    options: dict[str, Any]
    option_lines: dict[str, int] = field(default_factory=dict)

    @property
    def code_line(self) -> int:
        """Line of the first line of code (just after the fence)."""
        return self.line + 1

    @property
    def label(self) -> str | None:
        return self.options.get("label")

    @property
    def name(self) -> str:
        """How errors refer to the cell: its label, or its position."""
        return f"'{self.label}'" if self.label else f"#{self.index}"


@dataclass
class Document:
    path: Path
    meta: dict[str, Any]
    pieces: list[Text | Verbatim | Cell]
    body_line: int  # first line after the front matter

    @property
    def cells(self) -> list[Cell]:
        return [p for p in self.pieces if isinstance(p, Cell)]


# --------------------------------------------------------------------------- option tables

#: Cell options the built-in renderer understands, with the values it accepts.
CELL_OPTIONS = {
    "label": "identifier (fig-..., tbl-..., or any other name)",
    "fig-cap": "text",
    "fig-alt": "text",
    "tbl-cap": "text",
    "echo": "true | false",
    "eval": "true | false",
    "include": "true | false",
    "output": "true | false | asis",
    "warning": "true | false",
    "tags": "list (the 'parameters' tag marks the parameters cell)",
}

#: Front-matter keys understood (others raise UnsupportedFeature).  ``jupyter``,
#: ``editor`` and ``engine: jupyter`` only concern Quarto and are ignored.
FRONT_MATTER_KEYS = {
    "title", "subtitle", "author", "date", "params", "toc", "toc-depth", "toc-title",
    "number-sections", "execute", "lang", "format", "jupyter", "editor", "engine",
}
_EXECUTE_KEYS = {"echo", "eval", "warning", "output", "include"}
_FORMAT_KEYS = {"embed-resources", "self-contained", "toc", "toc-depth", "toc-title", "number-sections"}

CALLOUT_TYPES = ("note", "warning", "important", "tip", "caution")
_CALLOUT_ATTRS = {"title"}

_LABEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*$")
_FENCE_RE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>.*?)\s*$")
_EXEC_INFO_RE = re.compile(r"^\{\s*(?P<lang>[A-Za-z_][\w-]*)(?P<rest>[^}]*)\}$")


# --------------------------------------------------------------------------- masking

# a code span cannot cross a blank line (a paragraph break)
_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)((?:(?!\n[ \t]*\n).)+?)(?<!`)\1(?!`)", re.S)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
MASK_CHAR = "\ue000"


def mask_code(text: str) -> str:
    """``text`` with inline code spans and HTML comments blanked (same length, newlines kept).

    Regexes run on the masked copy; their match positions are valid in ``text``.
    """
    chars = list(text)
    for rx in (_INLINE_CODE, _HTML_COMMENT):
        for m in rx.finditer("".join(chars)):
            for i in range(m.start(), m.end()):
                if chars[i] != "\n":
                    chars[i] = MASK_CHAR
    return "".join(chars)


def line_at(text: str, pos: int, first_line: int) -> int:
    return first_line + text.count("\n", 0, pos)


# --------------------------------------------------------------------------- divs

@dataclass
class DivAttrs:
    id: str | None
    classes: list[str]
    kv: dict[str, str]


_ATTR_TOKEN = re.compile(r"""#(?P<id>[^\s}]+)|\.(?P<cls>[^\s}]+)|(?P<key>[\w-]+)=(?P<val>"[^"]*"|'[^']*'|[^\s}]+)|(?P<other>\S+)""")
DIV_OPEN_RE = re.compile(r"^(?P<colons>:{3,})\s*(?P<attrs>\{.*\}|[^\s:{}][^\s{}]*)\s*:*\s*$")
DIV_CLOSE_RE = re.compile(r"^:{3,}\s*$")


def parse_div_attrs(spec: str) -> DivAttrs:
    spec = spec.strip()
    if not spec.startswith("{"):
        return DivAttrs(None, [spec], {})
    ident, classes, kv = None, [], {}
    for m in _ATTR_TOKEN.finditer(spec[1:-1]):
        if m.group("id"):
            ident = m.group("id")
        elif m.group("cls"):
            classes.append(m.group("cls"))
        elif m.group("key"):
            v = m.group("val")
            kv[m.group("key")] = v[1:-1] if v[:1] in "\"'" else v
        elif m.group("other") == "-":
            classes.append("unnumbered")
    return DivAttrs(ident, classes, kv)


def _div_problem(a: DivAttrs) -> str | None:
    """Why a fenced div is unsupported, or None."""
    callouts = [c for c in a.classes if c.startswith("callout")]
    for c in a.classes:
        if c.startswith("callout-") and c[len("callout-"):] not in CALLOUT_TYPES:
            return f"callout type '.{c}' (supported: {', '.join('.callout-' + t for t in CALLOUT_TYPES)})"
        if c.startswith(("panel-", "column-", "content-", "layout")) or c in ("aside", "page-columns"):
            return f"'::: {{.{c}}}' div"
    if callouts:
        extra = sorted(set(a.kv) - _CALLOUT_ATTRS)
        if extra:
            return f"callout attribute '{extra[0]}' (supported: title)"
    for k in a.kv:
        if k.startswith("layout") or k in ("when-format", "unless-format", "when-meta", "unless-meta",
                                           "when-profile", "unless-profile"):
            return f"div attribute '{k}'"
    if a.id and a.id.startswith("tbl-") and "cpdeval-table" in a.classes:
        return None  # a table published by cpdeval.tables in a labelled cell
    if a.id and re.match(r"^(fig|tbl|lst|eq|thm|lem)-", a.id):
        return f"cross-referenceable div '#{a.id}' (label figures in a cell with '#| label: fig-...', " \
               "or on a markdown image '![caption](file.png){#fig-...}')"
    return None


# --------------------------------------------------------------------------- markdown checks

_SHORTCODE_RE = re.compile(r"\{\{<\s*([\w.-]+)")
_INLINE_EXPR_RE = re.compile(r"`\{(?P<lang>[A-Za-z_][\w-]*)\}\s+(?P<expr>[^`]*)`")
_XREF_TYPES_UNSUPPORTED = ("eq", "lst", "thm", "lem", "cor", "prp", "cnj", "def", "exm", "exr", "sol", "rem")
_XREF_UNSUPPORTED_RE = re.compile(r"(?<![\w\\@])@(?P<kind>" + "|".join(_XREF_TYPES_UNSUPPORTED) + r")-[A-Za-z0-9_]")
_XREF_GROUP_RE = re.compile(r"\[[^\]\n]*@(?:fig|tbl|sec)-[^\]\n]*;[^\]\n]*\]")
_TABLE_LABEL_RE = re.compile(r"^:\s.*\{[^}]*#tbl-", re.M)
_EQ_LABEL_RE = re.compile(r"\$\$\s*\{#eq-")
_HEADING_ATTRS_RE = re.compile(r"^#{1,6}\s.*\{(?P<attrs>[^}]*)\}\s*$", re.M)


def check_markdown(text: str, file: str | Path, first_line: int) -> None:
    """Raise :class:`UnsupportedFeature` for Quarto-specific markdown the builtin cannot render."""
    masked = mask_code(text)

    def fail(feature: str, pos: int):
        raise UnsupportedFeature(feature, file, line_at(text, pos, first_line))

    m = _SHORTCODE_RE.search(text)  # shortcodes are processed even inside code spans by Quarto
    if m:
        fail(f"shortcode '{{{{< {m.group(1)} >}}}}'", m.start())
    for m in _INLINE_EXPR_RE.finditer(text):
        if m.group("lang") != "python":
            fail(f"inline `{{{m.group('lang')}}}` expression (only `{{python}} ...` is supported)", m.start())
    m = _XREF_UNSUPPORTED_RE.search(masked)
    if m:
        fail(f"cross-reference type '@{m.group('kind')}-' (supported: @fig-, @tbl-, @sec-)", m.start())
    m = _XREF_GROUP_RE.search(masked)
    if m:
        fail("grouped cross-references '[@a; @b]'", m.start())
    m = _TABLE_LABEL_RE.search(masked)
    if m:
        fail("labelled markdown table ('{#tbl-...}' on a table caption); publish tables from a code cell "
             "with '#| label: tbl-...' and cpdeval.tables.publish_table", m.start())
    m = _EQ_LABEL_RE.search(masked)
    if m:
        fail("labelled equation '{#eq-...}'", m.start())
    pos = 0
    for ln in masked.split("\n"):
        dm = DIV_OPEN_RE.match(ln.strip())
        if dm:
            problem = _div_problem(parse_div_attrs(dm.group("attrs")))
            if problem:
                fail(problem, pos)
        pos += len(ln) + 1
    for m in _HEADING_ATTRS_RE.finditer(masked):
        a = parse_div_attrs("{" + m.group("attrs") + "}")
        if a.id and re.match(r"^(fig|tbl)-", a.id):
            fail(f"heading labelled '#{a.id}' (fig-/tbl- labels belong to figures and tables)", m.start())
    for m in re.finditer(r"!\[[^\]]*\]\([^)]*\)\{(?P<attrs>[^}]*)\}", masked):
        a = parse_div_attrs("{" + m.group("attrs") + "}")
        bad = [k for k in a.kv if k.startswith("layout") or k in ("fig-align", "fig-env", "fig-pos")]
        if bad:
            fail(f"image attribute '{bad[0]}'", m.start())
        if a.id and not a.id.startswith("fig-") and re.match(r"^(tbl|sec)-", a.id):
            fail(f"image labelled '#{a.id}' (images take fig- labels)", m.start())


# --------------------------------------------------------------------------- front matter

def _check_front_matter(meta: dict, file: Path, line_of) -> None:
    for key in meta:
        if key not in FRONT_MATTER_KEYS:
            raise UnsupportedFeature(f"front-matter key '{key}'", file, line_of(key))
    if "engine" in meta and meta["engine"] not in ("jupyter", "python"):
        raise UnsupportedFeature(f"engine: {meta['engine']}", file, line_of("engine"))
    ex = meta.get("execute") or {}
    if not isinstance(ex, dict):
        raise RenderError(f"{file}:{line_of('execute')}: 'execute' must be a mapping")
    for k, v in ex.items():
        if k not in _EXECUTE_KEYS:
            raise UnsupportedFeature(f"execute option '{k}'", file, line_of("execute"))
        _check_option_value(k, v, file, line_of("execute"))
    fmt = meta.get("format")
    if fmt is not None:
        items = {fmt: "default"} if isinstance(fmt, str) else fmt
        if not isinstance(items, dict):
            raise RenderError(f"{file}:{line_of('format')}: 'format' must be a name or a mapping")
        for name, opts in items.items():
            if name not in ("html", "docx"):
                raise UnsupportedFeature(f"format '{name}' (supported: html, docx)", file, line_of("format"))
            if opts in (None, "default"):
                continue
            if not isinstance(opts, dict):
                raise RenderError(f"{file}:{line_of('format')}: options of format '{name}' must be a mapping")
            for k in opts:
                if k not in _FORMAT_KEYS:
                    raise UnsupportedFeature(f"format option '{name}: {k}'", file, line_of("format"))
    params = meta.get("params")
    if params is not None and not isinstance(params, dict):
        raise RenderError(f"{file}:{line_of('params')}: 'params' must be a mapping of names to defaults")


def _check_option_value(key: str, value, file, line) -> None:
    ok = True
    if key in ("echo", "eval", "include", "warning"):
        ok = isinstance(value, bool)
        if not ok and key == "echo" and value == "fenced":
            raise UnsupportedFeature("echo: fenced", file, line)
        if not ok and key == "eval" and isinstance(value, list):
            raise UnsupportedFeature("eval with a list of lines", file, line)
    elif key == "output":
        ok = isinstance(value, bool) or value == "asis"
    elif key in ("fig-cap", "fig-alt", "tbl-cap"):
        if isinstance(value, list):
            raise UnsupportedFeature(f"{key} as a list (sub-figures / sub-tables)", file, line)
        ok = isinstance(value, str)
    elif key == "label":
        ok = isinstance(value, str) and bool(_LABEL_RE.match(value))
    elif key == "tags":
        ok = isinstance(value, list) and all(isinstance(t, str) for t in value)
    if not ok:
        raise RenderError(f"{file}:{line}: invalid value for option '{key}': {value!r} "
                          f"(expected {CELL_OPTIONS.get(key, 'true | false')})")


# --------------------------------------------------------------------------- parser

def _parse_cell_options(lines: list[str], fence_line: int, file: Path, index: int
                        ) -> tuple[dict[str, Any], dict[str, int]]:
    opt_lines: list[str] = []
    where: dict[str, int] = {}
    for i, ln in enumerate(lines):
        if not ln.startswith("#|"):
            break
        body = ln[2:]
        opt_lines.append(body[1:] if body.startswith(" ") else body)
        m = re.match(r"\s*([\w-]+)\s*:", body)
        if m:
            where[m.group(1)] = fence_line + 1 + i
    if not opt_lines:
        return {}, {}
    try:
        opts = safe_yaml("\n".join(opt_lines)) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = fence_line + 1 + (mark.line if mark else 0)
        raise RenderError(f"{file}:{line}: cell #{index} has invalid '#|' options: {e}") from None
    if not isinstance(opts, dict):
        raise RenderError(f"{file}:{fence_line + 1}: cell #{index}: '#|' lines must be 'key: value' options")
    for k, v in opts.items():
        line = where.get(k, fence_line + 1)
        if k not in CELL_OPTIONS:
            raise UnsupportedFeature(f"cell option '{k}'", file, line)
        _check_option_value(k, v, file, line)
    return opts, where


def _split_front_matter(lines: list[str], file: Path) -> tuple[dict, int]:
    if not lines or lines[0].rstrip() != "---":
        return {}, 1
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            raw = "\n".join(lines[1:i])
            try:
                meta = safe_yaml(raw) or {}
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                line = 2 + (mark.line if mark else 0)
                raise RenderError(f"{file}:{line}: invalid YAML front matter: {e}") from None
            if not isinstance(meta, dict):
                raise RenderError(f"{file}:2: front matter must be a YAML mapping")

            def line_of(key, _lines=lines[1:i]):
                for j, ln in enumerate(_lines):
                    if re.match(rf"^{re.escape(str(key))}\s*:", ln):
                        return j + 2
                return 1
            _check_front_matter(meta, file, line_of)
            return meta, i + 2
    raise RenderError(f"{file}:1: front matter opened with '---' is never closed")


def parse_qmd_text(text: str, path: str | Path = "<string>") -> Document:
    """Parse ``.qmd`` source; ``path`` is used in messages (and as the document's location)."""
    path = Path(path)
    lines = text.split("\n")
    meta, body_line = _split_front_matter(lines, path)
    pieces: list[Text | Verbatim | Cell] = []
    buf: list[str] = []
    buf_line = body_line
    i = body_line - 1
    n_cells = 0
    labels: dict[str, int] = {}

    def flush(next_line: int):
        nonlocal buf, buf_line
        if buf:
            t = "\n".join(buf)
            check_markdown(t, path, buf_line)
            pieces.append(Text(t, buf_line))
        buf = []
        buf_line = next_line

    while i < len(lines):
        ln = lines[i]
        m = _FENCE_RE.match(ln)
        if not m:
            buf.append(ln)
            i += 1
            continue
        fence, info = m.group("fence"), m.group("info")
        # find the closing fence
        j = i + 1
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        if j >= len(lines):
            raise RenderError(f"{path}:{i + 1}: code block opened here is never closed")
        em = _EXEC_INFO_RE.match(info)
        exec_lang = em.group("lang") if em else None
        if exec_lang is None:
            flush(j + 2)
            pieces.append(Verbatim("\n".join(lines[i:j + 1]), i + 1))
            i = j + 1
            continue
        if exec_lang != "python":
            raise UnsupportedFeature(f"{{{exec_lang}}} code cell (only {{python}} cells are supported)", path, i + 1)
        if em.group("rest").strip():
            raise UnsupportedFeature(f"options on the cell fence line '{info}' (use '#|' option lines)", path, i + 1)
        flush(j + 2)
        n_cells += 1
        body = lines[i + 1:j]
        opts, where = _parse_cell_options(body, i + 1, path, n_cells)
        label = opts.get("label")
        if label:
            if label in labels:
                raise RenderError(f"{path}:{where.get('label', i + 2)}: duplicate label {label!r} "
                                  f"(first used on line {labels[label]})")
            labels[label] = where.get("label", i + 2)
        pieces.append(Cell(n_cells, i + 1, "\n".join(body), opts, where))
        i = j + 1
    flush(len(lines) + 1)
    return Document(path=path, meta=meta, pieces=pieces, body_line=body_line)


#: Keys of a project's ``_quarto.yml`` the built-in renderer applies (as defaults under each document's
#: front matter); ``project`` is accepted and ignored (output paths come from the pipeline).
PROJECT_KEYS = ("project", "execute", "format", "toc", "toc-depth", "toc-title", "number-sections", "lang")


def _deep_merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for k, v in override.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def project_defaults(folder: str | Path) -> dict:
    """Settings from ``_quarto.yml`` in ``folder`` (empty if there is none)."""
    cfg = Path(folder) / "_quarto.yml"
    if not cfg.exists():
        return {}
    data = safe_yaml(cfg.read_text(encoding="utf-8")) or {}
    for key in data:
        if key not in PROJECT_KEYS:
            raise UnsupportedFeature(f"_quarto.yml key '{key}'", cfg, None)
    return {k: v for k, v in data.items() if k != "project"}


def parse_qmd(path: str | Path) -> Document:
    """Read and parse a ``.qmd`` file (see :func:`parse_qmd_text`), with its folder's ``_quarto.yml``
    settings as defaults under the document's own front matter (as Quarto merges them)."""
    path = Path(path).resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RenderError(f"{path}: document not found") from None
    except UnicodeDecodeError as e:
        raise RenderError(f"{path}: not UTF-8 text ({e})") from None
    doc = parse_qmd_text(text.replace("\r\n", "\n"), path)
    defaults = project_defaults(path.parent)
    if defaults:
        doc.meta = _deep_merge(defaults, doc.meta)
    return doc


def iter_lines(text: str, first_line: int) -> Iterator[tuple[int, str]]:
    for k, ln in enumerate(text.split("\n")):
        yield first_line + k, ln
