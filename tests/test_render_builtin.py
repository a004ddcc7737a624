"""The built-in Quarto renderer (and the engine dispatcher) on small fixture documents."""

import re
import shutil
import time
import zipfile
from pathlib import Path

import pytest

import cpdeval.render as render
from cpdeval.render import (
    CellError,
    CrossRefError,
    RenderError,
    UnsupportedFeature,
    render_document,
    resolve_engine,
)
from cpdeval.render.quarto import quarto_command, render_quarto
from cpdeval.tables import find_disclosure_breaches

FIXTURES = Path(__file__).parent / "fixtures" / "qmd"
FULL = FIXTURES / "full.qmd"
DATE_LINE = re.compile(r'^<p class="date">.*</p>\n', re.M)


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """full.qmd rendered twice (html + docx, then html), with the render time of the first."""
    out1 = tmp_path_factory.mktemp("render1")
    t0 = time.perf_counter()
    files = render_document(FULL, out1, engine="builtin", formats=["html", "docx"])
    seconds = time.perf_counter() - t0
    out2 = tmp_path_factory.mktemp("render2")
    (again,) = render_document(FULL, out2, engine="builtin")
    return {"files": files, "html": files[0].read_text(encoding="utf-8"), "again": again.read_bytes(),
            "seconds": seconds, "first_bytes": files[0].read_bytes()}


def body(html: str) -> str:
    return html.split("<body>", 1)[1]


def strip_images(html: str) -> str:
    return re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,...", html)


# --------------------------------------------------------------------------- the full fixture

def test_outputs_written(full):
    html_path, docx_path = full["files"]
    assert html_path.name == "full.html" and docx_path.name == "full.docx"
    assert not list(html_path.parent.glob(".full-*")), "build directory left behind"


def test_title_block_and_toc(full):
    h = full["html"]
    assert "<title>Fixture chapter: every supported feature</title>" in h
    assert '<p class="subtitle">Built-in renderer test</p>' in h
    toc = re.search(r'<nav id="TOC".*?</nav>', h, re.S).group(0)
    assert '<a href="#sec-intro" id="toc-sec-intro"><span class="header-section-number">1</span> Introduction</a>' in toc
    assert '<span class="header-section-number">2.1</span> Data' in toc
    assert "Reading the tables" not in toc  # a callout title is not a section


def test_figures_numbered_with_captions_and_alt_text(full):
    h = body(full["html"])
    fig1 = re.search(r'<figure id="fig-bars">.*?</figure>', h, re.S).group(0)
    assert "<figcaption>Figure 1: Agreement by role (% agreeing)</figcaption>" in fig1
    assert 'alt="Bar chart: 93% of teachers and 68% of technicians agreed"' in fig1
    fig2 = re.search(r'<figure id="fig-static">.*?</figure>', h, re.S).group(0)
    assert "<figcaption>Figure 2: A static chart from the analysis stage</figcaption>" in fig2
    assert 'alt="Static chart: B is larger than A"' in fig2


def test_images_embedded_as_data_uris(full):
    srcs = re.findall(r'<img[^>]*\ssrc="([^"]+)"', full["html"])
    assert len(srcs) == 2
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "figures/" not in full["html"]


def test_tables_numbered_and_disclosure_controlled(full):
    h = body(full["html"])
    assert "<caption>Table 1: Agreement with the impact statement, by role</caption>" in h
    assert "<caption>Table 2: Published by the last expression</caption>" in h
    assert '<div id="tbl-agree" class="cpdeval-table"' in h
    row = re.search(r"<td[^>]*>Subject leader</td>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>", h).groups()
    assert row == ("c", "c")
    assert '<td style="text-align: right;">1,200</td>' in h
    assert '<td style="text-align: right;">93%</td>' in h
    assert find_disclosure_breaches(full["html"], 5) == []


def test_cross_references_resolved(full):
    h = body(full["html"])
    assert '<a href="#fig-bars">Figure 1</a> shows agreement by role' in h
    assert '<a href="#tbl-agree">Table 1</a> gives the numbers' in h
    assert '<a href="#sec-method">Section 2</a> describes the data' in h
    assert '(see also <a href="#fig-static">Figure 2</a>)' in h
    assert 'number <a href="#tbl-agree">1</a>.' in h                       # [-@tbl-agree]
    assert '<a href="#tbl-last">Table 2</a> repeats two rows' in h          # @Tbl-last
    assert '<a href="#sec-data">Section 2.1</a> is a subsection of <a href="#sec-method">Section 2</a>' in h
    assert "see <a href=\"#tbl-agree\">Table 1</a>." in h                    # inside a callout
    assert "@fig-" not in re.sub(r"<code.*?</code>", "", h, flags=re.S)
    assert "@fig-nowhere" in h  # static code is left alone


def test_inline_expressions_and_parameters(full):
    h = body(full["html"])
    assert "This chapter covers the year 2014-15." in h
    assert "Over all respondents, over nine in 10 (93%) said" in h
    assert "The disclosure threshold is 5." in h


def test_callouts(full):
    h = body(full["html"])
    note = re.search(r'<div class="callout callout-note">.*?</div>\s*</div>', h, re.S).group(0)
    assert '<div class="callout-title">\n<p>Reading the tables</p>' in note
    assert '<div class="callout callout-warning">' in h
    assert "<p>Provisional figures</p>" in h
    assert "<strong>asis in a callout</strong>" in h
    assert '<div class="callout callout-tip">' in h and "<p>Tip</p>" in h
    assert '<h2 id="reading-the-tables"' not in h


def test_cell_options(full):
    h = body(full["html"])
    assert "<li>asis <strong>bold item</strong></li>" in h               # output: asis
    assert "answer <span class=\"op\">=</span>" in h                     # echo: true shows code
    assert "The answer is 42" in h                                       # stdout
    assert "import polars" not in h and "new_figure" not in h            # echo defaults to false
    assert "INCLUDE-FALSE-OUTPUT" not in h and "should not appear" not in h  # include: false
    assert "EVAL-FALSE-RAN" not in h                                     # eval: false
    assert "<em>emphasised text</em>" in h                               # display() markdown
    assert "VISIBLE-WARNING" in h and "HIDDEN-WARNING" not in h          # warning option
    assert '<h2 class="unnumbered" id="annex">Annex</h2>' in h


def test_render_is_deterministic_apart_from_the_date(full):
    first = DATE_LINE.sub("", full["first_bytes"].decode())
    second = DATE_LINE.sub("", full["again"].decode())
    assert DATE_LINE.search(full["html"]), "expected a date line (date: today)"
    assert first == second


def test_docx_produced(full):
    with zipfile.ZipFile(full["files"][1]) as z:
        xml = z.read("word/document.xml").decode()
        media = [n for n in z.namelist() if n.startswith("word/media/")]
    assert "Figure 1: Agreement by role" in xml
    assert "Table 1: Agreement with the impact statement" in xml
    assert len(media) == 2


def test_render_time(full):
    assert full["seconds"] < 15


def test_params_override(tmp_path):
    (html,) = render_document(FULL, tmp_path, engine="builtin", params={"year": "2016-17", "threshold": 10})
    h = html.read_text()
    assert "This chapter covers the year 2016-17." in h
    assert "The disclosure threshold is 10." in h
    assert find_disclosure_breaches(h, 10) == []


def test_undeclared_parameters_are_injected_like_quarto(tmp_path):
    qmd = tmp_path / "p.qmd"
    qmd.write_text("---\nparams:\n  a: 1\n---\n\n```{python}\n#| tags: [parameters]\nb = 2\n```\n\n"
                   "a=`{python} params['a']` b=`{python} b` c=`{python} c` p=`{python} ','.join(sorted(params))`\n")
    (html,) = render_document(qmd, tmp_path, engine="builtin", params={"b": 20, "c": "x"})
    assert "a=1 b=20 c=x p=a,b,c" in html.read_text()


# --------------------------------------------------------------------------- failures

def test_bad_reference_names_label_and_line(tmp_path):
    with pytest.raises(CrossRefError) as e:
        render_document(FIXTURES / "bad_ref.qmd", tmp_path, engine="builtin")
    assert e.value.label == "fig-missing" and e.value.line == 13
    assert "bad_ref.qmd:13" in str(e.value) and "@fig-missing" in str(e.value)
    assert not list(tmp_path.iterdir())


def test_failing_cell_names_label_line_and_exception(tmp_path):
    with pytest.raises(CellError) as e:
        render_document(FIXTURES / "failing_cell.qmd", tmp_path, engine="builtin")
    msg = str(e.value)
    assert e.value.label == "compute-rates" and e.value.index == 2
    assert "failing_cell.qmd" in msg and "'compute-rates'" in msg
    assert "ZeroDivisionError: division by zero" in msg
    assert "line 17: rates = [rate(1, 2), rate(3, 0)]" in msg
    assert "builtin.py" not in msg  # only the user's code in the traceback


def test_unsupported_r_cell_fixture(tmp_path):
    with pytest.raises(UnsupportedFeature) as e:
        render_document(FIXTURES / "unsupported_r_cell.qmd", tmp_path, engine="builtin")
    assert e.value.feature.startswith("{r} code cell") and e.value.line == 7
    assert "unsupported_r_cell.qmd:7" in str(e.value) and "install Quarto" in str(e.value)


HEAD = "---\ntitle: T\n---\n\n"


@pytest.mark.parametrize("source, feature, line", [
    ("```{python}\n#| layout-ncol: 2\nx = 1\n```\n", "cell option 'layout-ncol'", 6),
    ("```{python}\n#| column: margin\nx = 1\n```\n", "cell option 'column'", 6),
    ("```{python}\n#| label: a\n#| cache: true\nx = 1\n```\n", "cell option 'cache'", 7),
    ("Intro\n\n{{< include _part.qmd >}}\n", "shortcode '{{< include >}}'", 7),
    ("::: {.panel-tabset}\n## A\n:::\n", "'::: {.panel-tabset}' div", 5),
    ("::: {.callout-danger}\nx\n:::\n", "callout type '.callout-danger'", 5),
    ("::: {.callout-note collapse=\"true\"}\nx\n:::\n", "callout attribute 'collapse'", 5),
    ("Value `{r} 1 + 1` here.\n", "inline `{r}` expression", 5),
    ("See @eq-energy.\n", "cross-reference type '@eq-'", 5),
    ("```{python}\n#| echo: fenced\nx = 1\n```\n", "echo: fenced", 6),
    ("```{python}\n#| label: fig-a\n#| fig-cap: [a, b]\nx = 1\n```\n", "fig-cap as a list", 7),
    ("```{ojs}\nx = 1\n```\n", "{ojs} code cell", 5),
    ("::: {#fig-grid}\n![a](a.png)\n:::\n", "cross-referenceable div '#fig-grid'", 5),
])
def test_unsupported_features_are_named(tmp_path, source, feature, line):
    qmd = tmp_path / "doc.qmd"
    qmd.write_text(HEAD + source)
    with pytest.raises(UnsupportedFeature) as e:
        render_document(qmd, tmp_path / "out", engine="builtin")
    assert e.value.feature.startswith(feature)
    assert e.value.line == line
    assert f"doc.qmd:{line}" in str(e.value)


def test_unsupported_front_matter(tmp_path):
    qmd = tmp_path / "doc.qmd"
    qmd.write_text("---\ntitle: T\nbibliography: refs.bib\n---\n\nText.\n")
    with pytest.raises(UnsupportedFeature, match="front-matter key 'bibliography'") as e:
        render_document(qmd, tmp_path, engine="builtin")
    assert e.value.line == 3


@pytest.mark.parametrize("source, message", [
    ("```{python}\nimport polars as pl\npl.DataFrame({'n': [3]})\n```\n", "publish_table"),
    ("```{python}\n#| label: fig-none\nx = 1\n```\n", "draws no figure"),
    ("```{python}\n#| label: tbl-none\nx = 1\n```\n", "displays no table"),
    ("![missing](nowhere.png)\n", "image 'nowhere.png' not found"),
    ("```{python}\n#| label: a\nx = 1\n```\n\n```{python}\n#| label: a\ny = 2\n```\n", "duplicate label 'a'"),
    ("```{python}\nx = (1,\n```\n", "syntax error in cell #1"),
    ("Value: `{python} undefined_name`.\n", "inline expression"),
])
def test_other_errors_are_clear(tmp_path, source, message):
    qmd = tmp_path / "doc.qmd"
    qmd.write_text(HEAD + source)
    with pytest.raises(RenderError, match=re.escape(message)):
        render_document(qmd, tmp_path / "out", engine="builtin")


def test_minimal_document_without_front_matter(tmp_path):
    qmd = tmp_path / "plain.qmd"
    qmd.write_text("# Hello\n\n```{python}\nprint('hi')\n```\n\nDone `{python} 2 + 2`.\n")
    (html,) = render_document(qmd, tmp_path, engine="builtin")
    h = html.read_text()
    assert "<title>plain</title>" in h and "<pre><code>hi</code></pre>" in h and "Done 4." in h
    assert 'id="TOC"' not in h


# --------------------------------------------------------------------------- dispatcher and quarto path

def test_resolve_engine():
    assert resolve_engine("auto", which=lambda _: None) == "builtin"
    assert resolve_engine("auto", which=lambda _: "/usr/bin/quarto") == "quarto"
    assert resolve_engine("builtin", which=lambda _: "/usr/bin/quarto") == "builtin"
    with pytest.raises(RenderError, match="not on PATH"):
        resolve_engine("quarto", which=lambda _: None)
    with pytest.raises(RenderError, match="unknown render engine"):
        resolve_engine("pandoc")
    assert render.engine_from_config({"render": {"engine": "builtin"}}) == "builtin"
    assert render.engine_from_config({}) == "auto"


def test_auto_uses_builtin_without_quarto(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    qmd = tmp_path / "a.qmd"
    qmd.write_text("Hello.\n")
    (html,) = render_document(qmd, tmp_path / "out")
    assert html.suffix == ".html" and "Hello." in html.read_text()
    with pytest.raises(RenderError, match="format"):
        render_document(qmd, tmp_path / "out", formats=["pdf"])


def test_quarto_command_line(tmp_path):
    cmd = quarto_command(tmp_path / "chapter.qmd", tmp_path / "out", fmt="html",
                         params={"year": "2015-16", "threshold": 5, "label": "2018", "flag": True})
    assert cmd[:5] == ["quarto", "render", str(tmp_path / "chapter.qmd"), "--to", "html"]
    assert cmd[5:13] == ["-P", "year:2015-16", "-P", "threshold:5", "-P", 'label:"2018"', "-P", "flag:true"]
    assert cmd[13:] == ["--output-dir", str((tmp_path / "out").resolve()), "-M", "embed-resources:true"]
    docx = quarto_command("c.qmd", tmp_path, fmt="docx", resource_dirs=[tmp_path])
    assert "embed-resources:true" not in docx and docx[-2] == "--resource-path"


def test_render_quarto_runs_one_command_per_format(tmp_path, monkeypatch):
    calls = []

    class Done:
        returncode, stdout, stderr = 0, "", ""

    def fake_run(cmd, cwd, capture_output, text):
        calls.append(cmd)
        out = Path(cmd[cmd.index("--output-dir") + 1])
        (out / f"chapter.{cmd[cmd.index('--to') + 1]}").write_text("x")
        return Done()

    monkeypatch.setattr("cpdeval.render.quarto.subprocess.run", fake_run)
    qmd = tmp_path / "chapter.qmd"
    qmd.write_text("x")
    files = render_quarto(qmd, tmp_path / "out", params={"year": "2015-16"}, formats=["html", "docx"],
                          quarto="/opt/quarto/bin/quarto")
    assert [f.name for f in files] == ["chapter.html", "chapter.docx"]
    assert [c[4] for c in calls] == ["html", "docx"] and calls[0][0] == "/opt/quarto/bin/quarto"


# --------------------------------------------------------------------------- figure files

def test_save_figure_is_reproducible_and_writes_sidecar(tmp_path):
    import json

    import matplotlib

    matplotlib.use("Agg")
    from cpdeval.figures import finding_title, new_figure, save_figure

    paths = []
    for name in ("a.png", "b.png"):
        fig, ax = new_figure("barh", width_cm=12, height_cm=6)
        ax.barh(["Primary", "Secondary"], [2671, 2108])
        finding_title(ax, "More primary than secondary schools were reached")
        paths.append(save_figure(fig, tmp_path / name, alt_text="Bar chart: primary 2,671, secondary 2,108",
                                 caption="Schools reached by phase", source="Booking export", n=4779))
    a, b = (p.read_bytes() for p in paths)
    assert a == b and a.startswith(b"\x89PNG")
    assert b"Matplotlib" not in a and b"Software" not in a
    meta = json.loads((tmp_path / "a.png.json").read_text())
    assert meta == {"file": "a.png", "caption": "Schools reached by phase", "dpi": 200, "n": 4779,
                    "alt_text": "Bar chart: primary 2,671, secondary 2,108", "source": "Booking export",
                    "min_font_pt": 9.0, "legends_moved": 0, "overlapping_labels": 0}   # readability checks
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []  # closed after saving
    fig, ax = new_figure()
    with pytest.raises(ValueError, match="alt_text"):
        save_figure(fig, tmp_path / "c.png", alt_text=" ", caption="c", source="s", n=1)
    with pytest.raises(ValueError, match="finding"):
        finding_title(ax, "")
    plt.close(fig)


def test_the_faster_png_compression_keeps_every_pixel(tmp_path, monkeypatch):
    """PNG_COMPRESS_LEVEL changes how the file is packed, never what it shows: the image decodes to the pixels
    matplotlib's default level gives."""
    import numpy as np
    from PIL import Image

    import cpdeval.figures as figures

    def draw(name):
        fig, ax = figures.new_figure("barh", width_cm=12, height_cm=6)
        ax.barh(["Primary", "Secondary"], [2671, 2108])
        figures.finding_title(ax, "More primary than secondary schools were reached")
        return figures.save_figure(fig, tmp_path / name, alt_text="a", caption="c", source="s", n=1)

    fast = draw("fast.png")
    monkeypatch.setattr(figures, "PNG_COMPRESS_LEVEL", 6)
    default = draw("default.png")
    assert fast.read_bytes() != default.read_bytes()      # (so the level is applied)
    assert np.array_equal(np.asarray(Image.open(fast)), np.asarray(Image.open(default)))


def test_text_measured_once_per_resolution_gives_the_same_png(tmp_path, monkeypatch):
    """save_figure measures each text once per dpi across renderers (a figure made taller, the crop box, the
    cropped canvas); the PNG and sidecar are the bytes matplotlib's per-renderer measuring gives."""
    import contextlib

    import matplotlib.text as mtext

    import cpdeval.figures as figures

    def draw(name):
        fig, ax = figures.new_figure("barh", height_cm=6)   # long wrapped labels: the figure is made taller
        ax.barh(range(6), range(1, 7))
        ax.set_yticks(range(6), [f"a category label\nwrapped over\nthree lines {i}" for i in range(6)], fontsize=7)
        figures.finding_title(ax, "Every label fits once the chart is taller")
        figures.save_figure(fig, tmp_path / name, alt_text="a", caption="c", source="s", n=8)
        return (tmp_path / name).read_bytes(), (tmp_path / f"{name}.json").read_text().replace(name, "x.png")

    helper = mtext._get_text_metrics_with_cache
    calls = []

    def counted(renderer, text, fontprop, ismath, dpi):     # what reaches matplotlib's own measuring
        calls.append(text)
        return helper(renderer, text, fontprop, ismath=ismath, dpi=dpi)

    monkeypatch.setattr(mtext, "_get_text_metrics_with_cache", counted)
    shared = draw("shared.png")
    n_shared = len(calls)
    assert mtext._get_text_metrics_with_cache is counted and calls     # put back after saving
    monkeypatch.setattr(figures, "_text_metrics_by_dpi", contextlib.nullcontext)
    calls.clear()
    own = draw("own.png")
    assert shared == own
    assert n_shared < len(calls)


def test_readability_enlarges_small_text_and_moves_a_legend_off_the_data(tmp_path):
    """Charts are readable at the report width: no text under 9 pt, no legend over the data (issue #15)."""
    from cpdeval.figures import MIN_FONT_PT, new_figure, readability

    fig, ax = new_figure("line")
    ax.plot([0, 1, 2, 3], [0, 1, 2, 3], label="rising")           # the data fill the upper left corner too
    ax.plot([0, 1, 2, 3], [3, 2.5, 2, 1.5], label="falling")
    ax.text(1, 1, "tiny note", fontsize=5)
    ax.legend(loc="upper left")
    checks = readability(fig)
    assert checks["min_font_pt"] == MIN_FONT_PT and min(t.get_fontsize() for t in fig.findobj(
        __import__("matplotlib").text.Text) if t.get_text().strip()) >= MIN_FONT_PT
    assert checks["legends_moved"] == 1
    fig2, ax2 = new_figure("bar")
    ax2.bar(range(12), range(12))
    ax2.set_xticks(range(12), [f"a long label {i}" for i in range(12)])
    assert readability(fig2)["overlapping_labels"] > 0                   # counted, so a test can catch it
    fig4, ax4 = new_figure("barh", height_cm=6)    # wrapped category labels that collide: made taller to fit
    ax4.barh(range(5), range(5))
    ax4.set_yticks(range(5), [f"a category label\nwrapped over\nthree lines {i}" for i in range(5)])
    before = fig4.get_figheight()
    assert readability(fig4)["overlapping_labels"] == 0 and fig4.get_figheight() > before
    fig3, ax3 = new_figure("barh")                 # tick labels set small through tick_params are re-made at
    ax3.barh(["a", "b"], [1, 2])                   # each draw from the axis' size: that size is raised too
    ax3.tick_params(axis="y", labelsize=7.5)
    assert readability(fig3)["min_font_pt"] == MIN_FONT_PT
    fig3.canvas.draw()
    assert min(t.get_fontsize() for t in ax3.get_yticklabels()) == MIN_FONT_PT


# -- self-contained HTML without pandoc's --embed-resources ---------------------------------------------

PNG_1x1 = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def _page_items(text: str) -> list:
    """Tags (attributes as a set), and text without white space or CSS comments: what a reader's browser gets."""
    from html.parser import HTMLParser

    items = []

    class Page(HTMLParser):
        def handle_starttag(self, tag, attrs):
            items.append((tag, tuple(sorted((k, v or "") for k, v in attrs))))

        def handle_endtag(self, tag):
            items.append(("/" + tag,))

        def handle_data(self, data):
            data = re.sub(r"\s+", "", re.sub(r"/\*.*?\*/", "", data, flags=re.S))
            if data:
                items.append(("text", data))

    Page().feed(text)
    return items


def test_embedded_pages_are_what_pandoc_embed_resources_writes(tmp_path):
    # the known answer is pandoc's own --embed-resources on the same page: an image found in the second folder
    # of the resource path, one with a caption, a style sheet, a table of contents
    from cpdeval.render.builtin import _pandoc, embed_resources

    (tmp_path / "figs").mkdir()
    (tmp_path / "figs" / "a b.png").write_bytes(PNG_1x1)
    (tmp_path / "c.png").write_bytes(PNG_1x1[:-1] + b"\x83")
    (tmp_path / "style.css").write_text("body { color: #0b0c0c; } /* ours */\n", encoding="utf-8")
    (tmp_path / "doc.md").write_text("# One\n\n![A chart of units by year: 2014-15 \"low\" & <high>](a%20b.png)\n\n"
                                     "Text with a figure inline ![](c.png) here.\n\n## Two\n\n| a | b |\n|---|---|\n"
                                     "| 1 | 2 |\n", encoding="utf-8")
    common = ["doc.md", "--from", "markdown", "--resource-path", f".:{tmp_path / 'figs'}", "--to", "html5",
              "--standalone", "--css", "style.css", "--toc", "--metadata", "title=T"]
    _pandoc(common + ["--embed-resources", "--output", "pandoc.html"], tmp_path, "test")
    _pandoc(common + ["--output", "ours.html"], tmp_path, "test")
    embed_resources(tmp_path / "ours.html", [tmp_path, tmp_path / "figs"], "test")
    ours, theirs = ((tmp_path / f).read_text(encoding="utf-8") for f in ("ours.html", "pandoc.html"))
    assert _page_items(ours) == _page_items(theirs)
    assert ours.count("data:image/png;base64,") == 2 and 'role="img" aria-label="A chart' in ours
    assert "<link" not in ours and "color: #0b0c0c" in ours


def test_embedding_keeps_labels_quotes_and_data_uris(tmp_path):
    from cpdeval.render.builtin import embed_resources

    (tmp_path / "f.png").write_bytes(PNG_1x1)
    page = tmp_path / "p.html"
    page.write_text("<img src='f.png' alt=\"x\" aria-label=\"own label\">"
                    '<img src="data:image/png;base64,AAAA" alt="y"><img alt="z" src="f.png">', encoding="utf-8")
    embed_resources(page, [tmp_path], "p")
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<img role=\"img\" src='data:image/png;base64,iVBOR")
    assert text.count("aria-label") == 2 and 'aria-label="own label"' in text   # its own label kept, not doubled
    assert '<img src="data:image/png;base64,AAAA" alt="y">' in text            # already embedded: untouched
    assert '<img role="img" aria-label="z" alt="z" src="data:image/png;base64,iVBOR' in text


@pytest.mark.parametrize("page, files, match", [
    ('<img src="gone.png" alt="">', {}, r"p: the image gone.png was not found \(looked in "),
    ('<img src="https://example.org/x.png">', {}, r"image https://example.org/x.png is not a local file"),
    ('<img src="f.tiff">', {"f.tiff": b"II*"}, r"image f.tiff is not a PNG, JPEG, GIF or SVG file"),
    ('<link rel="stylesheet" href="gone.css" />', {}, r"the style sheet gone.css was not found"),
    ('<script src="https://cdn.example.org/mathjax.js"></script>', {}, r"would fetch a file when opened"),
])
def test_a_page_that_cannot_be_made_self_contained_stops(tmp_path, page, files, match):
    from cpdeval.render.builtin import embed_resources

    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "p.html").write_text(page, encoding="utf-8")
    with pytest.raises(RenderError, match=match):
        embed_resources(tmp_path / "p.html", [tmp_path], "p")
