"""The assembled report of the synthetic year as a reader meets it (issue #15): in a browser at desktop and
phone widths, in Word, in words a reader understands, and with key findings that tell the truth the synthetic
year was built with."""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

import polars as pl
import pytest
import yaml

from cpdeval.attainment import MEASURE_LABEL
from cpdeval.display import fmt_count, fmt_number, in_sentence
from cpdeval.wording import docx_text, published_tokens, visible_text
from test_reports import CHROMIUM_FLAGS, chapters, chromium

pytestmark = pytest.mark.e2e

#: File names of the attainment rule's tables, where they differ from the output's name.
TABLE_FILES = {"panel": "school_panel", "groups": "user_groups", "membership": "group_membership"}

LAYOUT_SCRIPT = """
<script>
window.addEventListener('load', () => {
  const W = window.innerWidth;
  const scrolls = el => { for (let a = el.parentElement; a; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX; if (o === 'auto' || o === 'scroll') return true; } return false; };
  const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const overflow = [], small = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.right > W + 1 && !scrolls(el)) overflow.push(el.tagName + ' ' + (el.textContent || el.alt || '').trim().slice(0, 60));
    const text = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (text && px < 12) small.push(el.tagName + ' ' + px + 'px ' + el.textContent.trim().slice(0, 40));
  }
  const ids = new Set([...document.querySelectorAll('[id]')].map(e => e.id));
  const caps = el => el.querySelector('caption, figcaption');
  const r = {
    width: W, scrollWidth: document.documentElement.scrollWidth,
    overflow: overflow.slice(0, 20), small: small.slice(0, 20),
    broken: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length,
    deadLinks: [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href').slice(1))
                 .filter(h => h && !ids.has(decodeURIComponent(h))),
    tables: [...document.querySelectorAll('table')].map(t => (caps(t) ? caps(t).textContent.trim() : '')),
    figures: [...document.querySelectorAll('figure')].map(f => (caps(f) ? caps(f).textContent.trim() : '')),
    unresolved: (document.body.innerText.match(/\\?@[\\w-]+|@(fig|tbl|sec)-[\\w-]+/g) || []),
  };
  window.parent.postMessage(JSON.stringify(r), '*');
});
</script>
"""


def reports_dir(project):
    return project / "reports" / "synthetic"


def published_files(project):
    """Everything a reader is sent: the report, its Word version, the landing page and the chapters (not the
    analysts' quality report)."""
    out = reports_dir(project)
    return [out / "report.html", out / "report.docx", out / "index.html",
            *[out / f"{c}.html" for c in chapters(project) if c != "qa"]]


def layout(html_path, tmp_path, width: int) -> dict:
    """What the layout script finds in ``html_path`` shown ``width`` px wide. Headless Chromium will not make a
    window narrower than 500 px, so the page is shown in a frame of that width, which posts its findings to the
    page around it."""
    probe = tmp_path / "probe.html"
    probe.write_text(html_path.read_text(encoding="utf-8").replace("</body>", LAYOUT_SCRIPT + "</body>"),
                     encoding="utf-8")
    frame = tmp_path / f"frame-{width}.html"
    frame.write_text(
        f'<!DOCTYPE html><html><body style="margin:0"><iframe src="{probe.name}" style="border:0;width:{width}px;'
        'height:1800px"></iframe><script>window.addEventListener("message", e => { const p = '
        'document.createElement("pre"); p.id = "cpdeval-layout"; p.textContent = e.data; '
        'document.body.appendChild(p); });</script></body></html>', encoding="utf-8")
    out = subprocess.run([chromium(), *CHROMIUM_FLAGS, "--window-size=1400,2000",
                          f"--user-data-dir={tmp_path / f'profile-{width}'}", frame.as_uri()],
                         capture_output=True, text=True, timeout=180)
    m = re.search(r'<pre id="cpdeval-layout">(.*?)</pre>', out.stdout, re.S)
    assert m, f"the layout check did not run\n{out.stderr[-2000:]}"
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                      .replace("&gt;", ">"))


def test_report_word_version_and_landing_page_are_built(synthetic_run):
    out = reports_dir(synthetic_run)
    index = (out / "index.html").read_text(encoding="utf-8")
    for name in ["report.html", "report.docx", *[f"{c}.html" for c in chapters(synthetic_run) if c != "qa"]]:
        assert (out / name).exists(), name
        assert f'href="{name}"' in index, f"index.html does not link {name}"
    assert "qa.html" not in index, "the analysts' quality report must not be linked from the landing page"
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "qa.html" not in report
    for heading in ("Executive summary", "Key findings", "Introduction", "Conclusions and limitations",
                    "Appendix A"):
        assert heading in report, heading


@pytest.mark.browser
@pytest.mark.parametrize("width", [1280, 390])
def test_report_reads_in_a_browser(synthetic_run, tmp_path, width):
    r = layout(reports_dir(synthetic_run) / "report.html", tmp_path, width)
    assert r["width"] == width, f"the window is {r['width']} px wide, not {width}"
    assert r["scrollWidth"] <= width + 1, f"the page scrolls sideways at {width} px: {r['overflow']}"
    assert r["overflow"] == [], f"content past the right edge at {width} px outside a scrolling box: {r['overflow']}"
    assert r["small"] == [], f"text under 9 pt (12 px) at {width} px: {r['small']}"
    assert r["broken"] == 0
    assert r["deadLinks"] == [], f"links to nothing: {r['deadLinks'][:10]}"
    assert r["unresolved"] == [], r["unresolved"]
    # numbering runs across the whole report
    for kind, caps in (("Table", r["tables"]), ("Figure", r["figures"])):
        numbers = [int(m.group(1)) for c in caps if (m := re.match(rf"{kind} (\d+):", c))]
        assert len(numbers) == len(caps), f"{kind.lower()}s without a numbered caption: {caps}"
        assert numbers == list(range(1, len(numbers) + 1)), f"{kind.lower()}s numbered {numbers}"


def test_no_internal_words_in_anything_published(synthetic_run):
    problems = [f"{f.name}: {t}" for f in published_files(synthetic_run) for t in published_tokens(f)]
    assert problems == [], "\n".join(problems[:30])


def test_the_report_speaks_to_readers_not_in_the_pipelines_words(synthetic_run):
    from cpdeval.wording import PIPELINE_VOCABULARY

    out = reports_dir(synthetic_run)
    for name in ["report.html", *[f"{c}.html" for c in chapters(synthetic_run) if c != "qa"]]:
        text = " ".join(visible_text((out / name).read_text(encoding="utf-8")).split())
        found = [text[max(0, m.start() - 50):m.end() + 30] for m in PIPELINE_VOCABULARY.finditer(text)]
        assert found == [], f"{name}: {found[:10]}"
    assert PIPELINE_VOCABULARY.search("rows quarantined at ingest, as configured in the groups file")
    assert not PIPELINE_VOCABULARY.search("pupils at the end of the key stage; the configuration is recorded")


def test_every_table_and_figure_of_the_report_is_referred_to(synthetic_run):
    from cpdeval.wording import uncited_tables_and_figures

    page = (reports_dir(synthetic_run) / "report.html").read_text(encoding="utf-8")
    assert uncited_tables_and_figures(page) == []
    assert uncited_tables_and_figures('<p>See Table 1.</p><table><caption>Table 1: A</caption></table>'
                                      '<figure><figcaption>Figure 1: B, beside Table 1</figcaption></figure>'
                                      '<table><caption>Table 12: C (not Table 1)</caption></table>') \
        == ["Figure 1", "Table 12"]


def test_the_internal_word_check_can_fail(tmp_path):
    page = tmp_path / "p.html"
    page.write_text("<html><body><p>As in seed 000, see config/benchmarks.yaml; pct_ebacc_2sci was None, "
                    "units_national &gt;= 1.</p><img alt='nan'></body></html>", encoding="utf-8")
    kinds = {t.kind for t in published_tokens(page)}
    assert kinds == {"internal name of a source report", "file path", "file name", "column name, config key or code",
                     "rule syntax", "software null"}


def _findings(project) -> str:
    """The visible text of the key findings."""
    page = (reports_dir(project) / "report.html").read_text(encoding="utf-8")
    section = page[page.index('id="sec-summary"'):page.index('id="sec-introduction"')]
    return " ".join(visible_text(section[section.index("Key findings"):]).split())


def test_key_findings_tell_the_planted_truth(synthetic_run):
    truth = json.loads((synthetic_run / "data" / "raw" / "synthetic" / "truth.json").read_text())
    cfg = yaml.safe_load((synthetic_run / "config" / "config.yaml").read_text())
    findings = _findings(synthetic_run)
    sentences = {m: s for s in findings.split("After adjustment")[1:] for m in cfg["attainment"]["measures"]
                 if f"{in_sentence(MEASURE_LABEL[m])} in schools" in s}
    assert set(sentences) == set(cfg["attainment"]["measures"]), findings
    for measure, sentence in sentences.items():
        planted = truth["effects"]["ks4"][measure]
        if planted > 0:
            assert " higher than " in sentence, f"{measure}: planted +{planted}, but: {sentence}"
        else:
            assert "much the same as" in sentence and "higher" not in sentence and "lower" not in sentence, \
                f"{measure}: nothing planted, but: {sentence}"
    delivered = next(a for a in truth["delivery_actuals"] if a["financial_year"] == truth["years"]["reporting"])
    assert f"delivered {fmt_number(delivered['units'], 0)} CPD units" in findings, findings
    assert f"{fmt_count(delivered['participants'])} teachers, technicians" in findings, findings


def test_word_version_is_a4_with_contents_headings_and_captions(synthetic_run):
    docx = reports_dir(synthetic_run) / "report.docx"
    with zipfile.ZipFile(docx) as z:
        document = z.read("word/document.xml").decode("utf-8")
        styles = z.read("word/styles.xml").decode("utf-8")
    size = re.search(r"<w:pgSz [^>]*>", document)
    assert size, "no page size"
    pg = dict(re.findall(r'w:(\w+)="(\d+)"', size.group(0)))
    assert (int(pg["w"]), int(pg["h"])) == (11906, 16838), f"pages are not A4: {size.group(0)}"
    text = docx_text(docx)
    assert "Contents" in text and "Executive summary" in text and "Appendix A" in text
    # as pandoc reads the file back: the report's headings are headings, and captions are numbered
    from cpdeval.render.builtin import pandoc_path

    back = subprocess.run([pandoc_path(), str(docx), "--to", "markdown", "--wrap", "none"], capture_output=True,
                          text=True, check=True).stdout
    for heading in ("Executive summary", "Introduction", "Conclusions and limitations"):
        assert re.search(rf"^#+ .*{heading}", back, re.M), f"'{heading}' is not a heading when the file is read"
    assert re.search(r"^#+ .*Appendix A.*Methods", back, re.M)
    assert re.search(r"Table 1: ", back) and re.search(r"Figure 1: ", back)
    headings = re.findall(r'<w:pStyle w:val="Heading1"', document)
    assert len(headings) >= len(chapters(synthetic_run)), "chapters are not Word headings"
    captions = re.findall(r"\b(Table|Figure) (\d+):", text)
    assert captions, "no numbered captions in the Word version"
    assert sorted({int(n) for k, n in captions if k == "Table"})[:3] == [1, 2, 3]
    # the contents is a list of links to the headings, there when the file is opened (not an empty field)
    assert "TOC \\" not in document and document.count("<w:hyperlink w:anchor=") >= len(chapters(synthetic_run))
    # tables are set a point smaller than the text, and no column is narrower than the longest word in it
    # (a table too wide for a portrait page is on a landscape page: the section that holds it says which)
    assert '<w:sz w:val="18" />' in styles
    landscape = 0
    for m in re.finditer(r"<w:tbl>.*?</w:tbl>", document, re.S):
        table = m.group(0)
        section = re.search(r"<w:pgSz [^>]*>", document[m.end():]).group(0)
        page_w = int(re.search(r'w:w="(\d+)"', section).group(1)) - 2 * 1134
        landscape += "landscape" in section
        grid = [int(w) for w in re.findall(r'<w:gridCol w:w="(\d+)"', table)]
        rows = [re.findall(r"<w:tc>.*?</w:tc>", r, re.S) for r in re.findall(r"<w:tr>.*?</w:tr>", table, re.S)]
        if not grid or any(len(r) != len(grid) for r in rows):
            continue
        for j, width in enumerate(grid):
            words = [w for r in rows for w in " ".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", r[j])).split()]
            longest = max(words, key=len, default="")
            room = width * page_w / sum(grid)
            assert room >= len(longest) * 100 + 230 - 1, \
                f"'{longest}' does not fit its column ({room:.0f} of {page_w} twentieths of a point)"
    assert landscape, "no table needed a landscape page: the check above did not see a wide table"


@pytest.mark.browser
def test_chapters_read_on_a_phone(synthetic_run, tmp_path):
    """Every published chapter at 390 px: wide tables scroll inside their own box, no text under 9 pt."""
    for chapter in chapters(synthetic_run):
        r = layout(reports_dir(synthetic_run) / f"{chapter}.html", tmp_path, 390)
        assert r["scrollWidth"] <= 391 and r["overflow"] == [], f"{chapter}: {r['overflow'][:5]}"
        assert r["small"] == [], f"{chapter}: text under 9 pt: {r['small'][:5]}"


def test_sections_of_missing_inputs_are_left_out_and_named_once(synthetic_run, tmp_path):
    """A year without the resource-library registrations, the trained-leader list and the subject-leader survey:
    their sections go (not "every school: not registered"), and the methods appendix says what was missing."""
    import shutil

    from conftest import run_snakemake

    proj = tmp_path / "less"
    shutil.copytree(synthetic_run, proj, symlinks=True)
    cfg = proj / "config" / "config.yaml"
    text = cfg.read_text(encoding="utf-8")
    for line in ("    subject_leader: data/raw/synthetic/surveys/subject_leader.csv\n",
                 "  trained_leaders: data/raw/synthetic/reference/trained_leaders.csv\n",
                 "  resource_registrations: data/raw/synthetic/reference/resource_registrations.csv\n"):
        assert line in text, line
        text = text.replace(line, "")
    cfg.write_text(text, encoding="utf-8")
    result = run_snakemake(proj)
    assert result.returncode == 0, result.stderr[-4000:]
    out = reports_dir(proj)
    attainment = visible_text((out / "attainment.html").read_text(encoding="utf-8"))
    impact = visible_text((out / "impact.html").read_text(encoding="utf-8"))
    methods = " ".join(visible_text((out / "methods.html").read_text(encoding="utf-8")).split())
    report = visible_text((out / "report.html").read_text(encoding="utf-8"))
    for gone in ("CPD and the resource library", "Resources only", "Schools with staff trained to lead CPD"):
        assert gone not in attainment and gone not in report, gone
    assert "Subject leaders" not in impact and "Partnership lead schools" in attainment
    assert ("Not supplied this year: the list of staff trained to lead CPD, registrations with the resource "
            "library and responses to the subject-leader survey.") in methods
    assert report.count("Not supplied this year") == 1


def test_attainment_chapter_says_why_when_nothing_can_be_estimated(synthetic_run, tmp_path):
    """No comparison schools (every school used the programme): the chapter renders, with the comparisons as
    published and a sentence saying why the adjusted estimates are not made, instead of failing."""
    import shutil

    from cpdeval.attainment import ESTIMATES_SCHEMA
    from cpdeval.render import render_document

    derived = synthetic_run / "data" / "derived" / "synthetic"
    src = derived / "attainment"
    dst = tmp_path / "attainment"
    shutil.copytree(src, dst)
    pl.DataFrame(schema=ESTIMATES_SCHEMA).write_parquet(dst / "estimates.parquet")
    for name in ("dose_response", "balance", "evalues", "confounding", "event_study"):
        pl.read_parquet(dst / f"{name}.parquet").clear().write_parquet(dst / f"{name}.parquet")
    summary = json.loads((dst / "summary.json").read_text())
    summary.update(first_measure=None, pretrend_p=None, sensitivity_method=None, not_estimated=[],
                   adjusted_reason="every school with results used the programme, so there are no comparison schools")
    (dst / "summary.json").write_text(json.dumps(summary))
    # the chapter's inputs as the attainment rule names its outputs (rules/attainment.smk), in the emptied copy
    inputs = {"provenance": str(derived / "audit" / "provenance.json"),
              "sources": str(synthetic_run / "config" / "sources.yaml")}
    from cpdeval.attainment import OUTPUT_TABLES

    for name in OUTPUT_TABLES:
        inputs[name] = str(dst / f"{TABLE_FILES.get(name, name)}.parquet")
        assert Path(inputs[name]).exists(), inputs[name]
    inputs["summary"] = str(dst / "summary.json")
    for png in (dst / "figures").glob("*.png"):
        inputs[f"fig_{png.stem}"] = str(png)
    (html,) = render_document(synthetic_run / "reports" / "attainment.qmd", tmp_path / "out", engine="builtin",
                              formats=["html"], params={"year": "synthetic", "title": "Synthetic",
                                                        "disclosure_min_count": 5, "inputs": inputs})
    text = " ".join(visible_text(html.read_text(encoding="utf-8")).split())
    assert ("The adjusted estimates that usually follow the comparisons are not made this year: every school with "
            "results used the programme, so there are no comparison schools.") in text
    assert "Comparisons as published" in text and "Adjusted estimates" not in text


def test_every_figure_is_readable(synthetic_run):
    """Every figure of the run, as its sidecar records after the house-style check: no text under 9 pt and no
    category labels running into each other."""
    sidecars = sorted((synthetic_run / "data" / "derived" / "synthetic").rglob("*.png.json"))
    assert len(sidecars) > 20
    for path in sidecars:
        meta = json.loads(path.read_text(encoding="utf-8"))
        assert meta["min_font_pt"] >= 9, f"{path.name}: text at {meta['min_font_pt']} pt"
        assert meta["overlapping_labels"] == 0, f"{path.name}: {meta['overlapping_labels']} overlapping labels"
