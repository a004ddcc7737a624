"""Figure house style: one look for every chart, and reproducible PNG files.

* :func:`apply_house_style` sets matplotlib rcParams: DejaVu Sans (shipped with
  matplotlib, so text renders identically everywhere), sizes readable at the
  16 cm report width, no top/right spines, a light grid behind the data, the
  Okabe-Ito colour-blind-safe palette as the colour cycle.
* :func:`new_figure` makes a figure of a given kind and size in centimetres.
* :func:`save_figure` writes a 200 dpi PNG with no date or software version in
  its metadata (same inputs -> same bytes) and a sidecar JSON
  (``<name>.png.json``) holding caption, alt text, source and n.
* Titles state the finding ("Schools using both strands had the highest
  attainment"), never the variable; :func:`finding_title` places them.

matplotlib (and pyplot, which costs about a second to import) is imported
inside the functions that draw, so importing this module is cheap.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from cpdeval import display

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "BLACK", "ORANGE", "SKY_BLUE", "BLUISH_GREEN", "YELLOW", "BLUE", "VERMILLION", "REDDISH_PURPLE",
    "PALETTE", "GREY", "LIGHT_GREY", "DPI", "REPORT_WIDTH_CM", "FIGURE_KINDS",
    "house_style_rcparams", "apply_house_style", "new_figure", "save_figure", "finding_title",
    "label_bars",
]

# Okabe & Ito (2008) colour-blind-safe palette
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
#: Colour cycle order: strongest contrasts on white first, yellow (weak on white) late.
PALETTE = (BLUE, ORANGE, BLUISH_GREEN, VERMILLION, SKY_BLUE, REDDISH_PURPLE, YELLOW, BLACK)
#: For context series (national average, non-users) and grid lines.
GREY = "#6F6F6F"
LIGHT_GREY = "#DDDDDD"

#: PNG resolution of saved figures.
DPI = 200
#: zlib level of the PNGs. Level 3 draws the same pixels as the default 6 into files no larger (the 42 survey
#: figures of the national year: 5.93 against 5.98 MB) in two thirds of the encoding time (1.0 against 1.5 s).
PNG_COMPRESS_LEVEL = 3
#: Text width of the reports; figures are drawn at this width so fonts keep their size.
REPORT_WIDTH_CM = 16.0
CM = 1 / 2.54

#: Smallest text in a figure, in points at the report width (figures are drawn at that width, so a point in
#: the figure is a point on the page; HTML shows them no smaller on a desktop screen).
MIN_FONT_PT = 9.0

#: Kinds understood by :func:`new_figure`, with the grid axis each uses.
FIGURE_KINDS = {"bar": "y", "barh": "x", "line": "y", "scatter": "both", "dot": "x"}


def house_style_rcparams() -> dict[str, Any]:
    """The rcParams the house style sets (without touching matplotlib)."""
    return {
        "font.family": "DejaVu Sans",
        "font.size": 9.5,
        "axes.titlesize": 11,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.titlepad": 10,
        "axes.labelsize": 9.5,
        "axes.labelcolor": "#222222",
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "legend.fontsize": 9,
        "legend.frameon": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#444444",
        "axes.linewidth": 0.8,
        "axes.grid": True,
        "axes.axisbelow": True,
        "grid.color": LIGHT_GREY,
        "grid.linewidth": 0.6,
        "grid.linestyle": "-",
        "lines.linewidth": 2.0,
        "figure.dpi": 100,
        "figure.facecolor": "white",
        "savefig.dpi": DPI,
        "savefig.facecolor": "white",
        "savefig.bbox": "tight",
        "savefig.pad_inches": 0.05,
        "svg.hashsalt": "cpdeval",
        "axes.formatter.use_locale": False,
    }


def apply_house_style() -> None:
    """Set the house style on matplotlib's rcParams (idempotent)."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(house_style_rcparams())
    mpl.rcParams["axes.prop_cycle"] = cycler(color=list(PALETTE))


def new_figure(kind: str = "bar", width_cm: float = REPORT_WIDTH_CM, height_cm: float = 9.0
               ) -> tuple["Figure", "Axes"]:
    """A figure and axes in house style, ``width_cm`` x ``height_cm``.

    ``kind`` picks the grid: ``bar`` and ``line`` horizontal grid lines only,
    ``barh`` and ``dot`` vertical only, ``scatter`` both.  The figure is made
    through pyplot so that a report renderer can capture it.
    """
    if kind not in FIGURE_KINDS:
        raise ValueError(f"unknown figure kind {kind!r}; expected one of {sorted(FIGURE_KINDS)}")
    if width_cm <= 0 or height_cm <= 0:
        raise ValueError("figure width and height must be positive")
    apply_house_style()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width_cm * CM, height_cm * CM))
    grid = FIGURE_KINDS[kind]
    if grid == "y":
        ax.grid(False, axis="x")
    elif grid == "x":
        ax.grid(False, axis="y")
    if kind in ("barh", "dot"):
        ax.tick_params(axis="y", length=0)
    return fig, ax


def finding_title(ax: "Axes", text: str) -> None:
    """Put the finding the chart shows as its title (left-aligned, bold)."""
    if not text or not text.strip():
        raise ValueError("a figure title must state the finding; got an empty title")
    ax.set_title(text.strip(), loc="left", fontweight="bold")


def label_bars(ax: "Axes", container, values: Sequence[Any] | None = None,
               fmt: Callable[[Any], str] = display.fmt_pct, **kwargs) -> None:
    """Write each bar's value on it, formatted by the display rules (default: whole %)."""
    vals = values if values is not None else container.datavalues
    labels = [display.SUPPRESSED if v is None else fmt(v) for v in vals]
    ax.bar_label(container, labels=labels, padding=2, fontsize=8.5, **kwargs)


def _tight_bbox(fig: "Figure"):
    """The area ``savefig(bbox_inches="tight")`` crops to, measured without its extra draw.

    Given ``"tight"``, matplotlib draws the whole figure once without output before measuring it, then
    draws it again for real; measuring the figure directly at the output resolution gives the same box
    (checked byte for byte on every survey figure) for a tenth less drawing time. Figures with a layout
    engine, which needs that first draw, figures not on a plain Agg canvas (a GUI window), and a style
    without ``savefig.bbox: tight`` keep matplotlib's own handling (the rcParam is returned as is).
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    bbox, pad = mpl.rcParams["savefig.bbox"], mpl.rcParams["savefig.pad_inches"]
    if (bbox != "tight" or not isinstance(pad, (int, float)) or fig.get_layout_engine() is not None
            or type(fig.canvas) is not FigureCanvasAgg or fig.canvas.device_pixel_ratio != 1):
        return bbox
    dpi = fig.dpi
    fig.set_dpi(DPI)  # text is measured as it will be drawn
    try:
        box = fig.get_tightbbox(fig.canvas.get_renderer())
    finally:
        fig.set_dpi(dpi)
    return box.padded(pad)


def _texts(fig: "Figure"):
    """Every visible text of a figure (titles, labels, tick labels, annotations, legends)."""
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def _data_boxes(ax, renderer):
    """Display-space boxes of what an axes plots: bars and patches, line points, scatter points."""
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import Bbox

    boxes = []
    for a in ax.get_children():
        if isinstance(a, Rectangle) and a is not ax.patch and a.get_visible() and a.get_width() and a.get_height():
            boxes.append(a.get_window_extent(renderer))
        elif isinstance(a, Line2D) and a.get_visible() and len(a.get_xydata()):
            for x, y in ax.transData.transform(a.get_xydata()):
                boxes.append(Bbox.from_bounds(x - 2, y - 2, 4, 4))
        elif isinstance(a, Collection) and a.get_visible() and len(a.get_offsets()):
            for x, y in a.get_offset_transform().transform(a.get_offsets()):
                boxes.append(Bbox.from_bounds(x - 2, y - 2, 4, 4))
    return boxes


def readability(fig: "Figure") -> dict:
    """Check and mend what makes a chart hard to read, before it is saved:

    * text smaller than :data:`MIN_FONT_PT` is enlarged to it;
    * a legend drawn over the data is moved below the axes;
    * tick labels that overlap one another are counted.

    Returns ``{"min_font_pt", "legends_moved", "overlapping_labels"}`` for the sidecar (tests read it)."""
    for ax in fig.axes:     # tick labels are re-made at each draw from the axis' own size: raise that too
        for which in ("x", "y"):
            labels = ax.get_xticklabels() if which == "x" else ax.get_yticklabels()
            if labels and min(t.get_fontsize() for t in labels) < MIN_FONT_PT:
                ax.tick_params(axis=which, labelsize=MIN_FONT_PT)
    texts = _texts(fig)
    for t in texts:
        if t.get_fontsize() < MIN_FONT_PT:
            t.set_fontsize(MIN_FONT_PT)
    # No draw is needed to measure what is checked: tick labels are placed when they are asked for, a legend
    # places itself when measured, and text sizes come from the renderer. Laying out the whole figure first
    # (draw_without_rendering) measured every other text too, for a fifth of the figures' drawing time.
    renderer = fig.canvas.get_renderer()
    moved = 0
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is None or not leg.get_visible():
            continue
        lb = leg.get_window_extent(renderer)
        if any(lb.overlaps(b) for b in _data_boxes(ax, renderer)):
            leg.set_loc("upper left")
            leg.set_bbox_to_anchor((0, -0.14), transform=ax.transAxes)
            moved += 1

    def overlapping(axes_of) -> int:
        n = 0
        for ax in fig.axes:
            boxes = [t.get_window_extent(renderer) for t in axes_of(ax).get_ticklabels()
                     if t.get_visible() and t.get_text().strip()]
            n += sum(boxes[i].overlaps(boxes[j]) for i in range(len(boxes)) for j in range(i + 1, len(boxes)))
        return n

    # category labels on the y axis that run into each other (long labels wrapped over several lines): the
    # figure is made taller until they fit, at most twice its height
    height = fig.get_figheight()
    y_overlaps = overlapping(lambda a: a.yaxis)   # (counted once per height, and that count reported)
    while y_overlaps and fig.get_figheight() < 2 * height:
        fig.set_figheight(fig.get_figheight() * 1.15)
        renderer = fig.canvas.get_renderer()
        y_overlaps = overlapping(lambda a: a.yaxis)
    overlaps = overlapping(lambda a: a.xaxis) + y_overlaps
    return {"min_font_pt": min((t.get_fontsize() for t in _texts(fig)), default=MIN_FONT_PT),
            "legends_moved": moved, "overlapping_labels": int(overlaps)}


@contextmanager
def _text_metrics_by_dpi():
    """While a figure is checked and saved, measure each text once per resolution, however many renderers ask.

    matplotlib caches a text's size per renderer, and a renderer lasts only as long as the canvas keeps its
    size: saving a figure measures every label at 100 dpi for :func:`readability` (again each time the figure
    is made taller), at 200 dpi for the crop box, and once more for the cropped canvas of the real draw. The
    size of a string depends only on the renderer's kind and resolution, the font and the hinting settings
    (``RendererAgg.get_text_width_height_descent``), not on the canvas, so one cache keyed on those gives the
    same numbers (the same PNG bytes) with less measuring (national synthetic year: 970 measures instead of
    1,486 in the attainment job, 317 instead of 713 in operations, about 0.4 s of CPU each). matplotlib's own
    helper is put back on exit (the swap is process-wide: figures are not drawn from several threads here);
    if a matplotlib version lacks it, nothing is changed."""
    import matplotlib as mpl
    import matplotlib.text as mtext

    measure = getattr(mtext, "_get_text_metrics_with_cache", None)
    if measure is None:
        yield
        return
    hinting = (mpl.rcParams["text.hinting"], mpl.rcParams["text.hinting_factor"])
    sizes: dict = {}    # (renderer class, dpi, hinting, text, font, math) -> (width, height, descent)

    def cached(renderer, text, fontprop, ismath, dpi):
        key = (type(renderer), getattr(renderer, "dpi", None), dpi, hinting, text, fontprop.copy(), ismath)
        if key not in sizes:
            sizes[key] = measure(renderer, text, fontprop, ismath, dpi)
        return sizes[key]

    mtext._get_text_metrics_with_cache = cached
    try:
        yield
    finally:
        mtext._get_text_metrics_with_cache = measure


def save_figure(fig: "Figure", path: str | Path, *, alt_text: str, caption: str, source: str,
                n: int | str | dict | None, close: bool = True) -> Path:
    """Write ``fig`` as a reproducible 200 dpi PNG and a sidecar ``<path>.json``.

    The PNG carries no Software/date metadata, so the same figure gives the
    same bytes.  The sidecar (sorted keys) holds ``caption``, ``alt_text``,
    ``source``, ``n`` (an int, a text such as "c", or a dict of group sizes),
    the file name and what :func:`readability` found and mended (smallest text,
    legends moved off the data, overlapping tick labels).  The figure is closed
    afterwards unless ``close=False``.
    """
    for name, value in (("alt_text", alt_text), ("caption", caption), ("source", source)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"save_figure needs a non-empty {name}")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"save_figure writes PNG; give a .png path, not {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with _text_metrics_by_dpi():
        checks = readability(fig)
        fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches=_tight_bbox(fig),
                    pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    sidecar = path.with_name(path.name + ".json")
    meta = {"file": path.name, "caption": caption.strip(), "alt_text": alt_text.strip(),
            "source": source.strip(), "n": n, "dpi": DPI, **checks}
    sidecar.write_text(json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    if close:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return path
