"""Rendering Quarto chapter documents to self-contained HTML (and Word).

:func:`render_document` is the entry point.  ``engine="auto"`` uses the
``quarto`` CLI when it is on PATH and the built-in renderer otherwise
(:mod:`cpdeval.render.builtin`: in-process execution of ``{python}`` cells plus
pandoc from the ``pypandoc-binary`` wheel).  See ``docs/rendering.md`` for the
exact feature list of the built-in renderer.

Reports display tables and markdown with :func:`display` (and :class:`Markdown`),
which behave the same under both engines::

    from cpdeval.render import display, Markdown
    display(published_table)            # a cpdeval.tables.PublishedTable
    display("**Bold** markdown text")    # a str is markdown

Importing this package is cheap: no matplotlib, polars or pandoc.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from cpdeval.render.qmd import (
    CellError,
    CrossRefError,
    RenderError,
    UnsupportedFeature,
)

__all__ = [
    "render_document", "resolve_engine", "engine_from_config", "ENGINES", "FORMATS",
    "display", "Markdown",
    "RenderError", "UnsupportedFeature", "CellError", "CrossRefError",
]

ENGINES = ("auto", "quarto", "builtin")
FORMATS = ("html", "docx")


class Markdown:
    """Markdown text to be shown as formatted output (like ``IPython.display.Markdown``)."""

    def __init__(self, text: str):
        self.text = str(text)

    def _repr_markdown_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Markdown({self.text!r})"


# The built-in renderer installs a callback here while it executes a document.
_capture: Callable[[Any], None] | None = None


def _set_capture(fn: Callable[[Any], None] | None) -> None:
    global _capture
    _capture = fn


def _ipython_shell():
    import sys

    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython
    except Exception:  # pragma: no cover
        return None
    return get_ipython()


def display(*objs: Any) -> None:
    """Show objects in the rendered document: tables, markdown, figures.

    A ``str`` is treated as markdown.  Under the built-in renderer the objects
    go straight into the document; under Quarto (a Jupyter kernel) they are
    passed to ``IPython.display.display``; elsewhere their markdown is printed.
    """
    for obj in objs:
        if isinstance(obj, str):
            obj = Markdown(obj)
        if _capture is not None:
            _capture(obj)
            continue
        if _ipython_shell() is not None:
            from IPython.display import display as ipy_display

            ipy_display(obj)
            continue
        md = getattr(obj, "_repr_markdown_", None)
        print(md() if md else obj)


# --------------------------------------------------------------------------- dispatch

def resolve_engine(engine: str = "auto", *, which: Callable[[str], str | None] | None = None) -> str:
    """``quarto`` or ``builtin``: ``auto`` picks quarto when ``which("quarto")`` finds it."""
    which = which or shutil.which
    if engine not in ENGINES:
        raise RenderError(f"unknown render engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if engine == "auto":
        return "quarto" if which("quarto") else "builtin"
    if engine == "quarto" and not which("quarto"):
        raise RenderError("render.engine is 'quarto' but the quarto command is not on PATH; install "
                          "Quarto (the conda environment includes it) or set render.engine to "
                          "'auto' or 'builtin'")
    return engine


def engine_from_config(config: Mapping[str, Any]) -> str:
    """The ``render.engine`` setting of a loaded config (default ``auto``)."""
    return (config.get("render") or {}).get("engine", "auto")


def render_document(qmd: str | Path, out_dir: str | Path, *, params: Mapping[str, Any] | None = None,
                    engine: str = "auto", formats: Sequence[str] = ("html",),
                    resource_dirs: Iterable[str | Path] | None = None, part: str | Path | None = None) -> list[Path]:
    """Render one ``.qmd`` document into ``out_dir``; returns the files written.

    ``params`` override the document's parameters (Quarto's ``-P``); ``formats``
    is any of ``html`` (one self-contained file) and ``docx``; ``resource_dirs``
    are extra directories where images referenced by the document are found.
    ``part`` keeps the executed markdown there for the assembled report (with Quarto the chapter is executed a
    second time, by the built-in executor, to make it).
    """
    formats = list(formats)
    if not formats:
        raise RenderError("no output format requested")
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise RenderError(f"unsupported output format(s) {bad}; expected some of {list(FORMATS)}")
    chosen = resolve_engine(engine)
    if chosen == "quarto":
        from cpdeval.render.quarto import render_quarto

        written = render_quarto(qmd, out_dir, params=params, formats=formats, resource_dirs=resource_dirs)
        if part is not None:
            import tempfile

            from cpdeval.render.builtin import build_markdown, save_part
            from cpdeval.render.qmd import parse_qmd

            with tempfile.TemporaryDirectory() as build:
                built = build_markdown(parse_qmd(qmd), params=params, build_dir=Path(build), resource_dirs=resource_dirs)
                save_part(built, Path(build), Path(part), root=Path.cwd())
        return written
    from cpdeval.render.builtin import render_builtin

    return render_builtin(qmd, out_dir, params=params, formats=formats, resource_dirs=resource_dirs, part=part)
