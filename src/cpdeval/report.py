"""The assembled report of a reporting year: one document a team can send, in HTML and Word.

It is built from the chapters' executed markdown (kept by the render rule, so no cell runs twice), with:

* a title page (title, organisation, reporting year, date, version: ``report`` in the config);
* an executive summary and key findings drawn from the derived tables (:mod:`cpdeval.findings`), each a
  sentence with its number and a link to the table or figure behind it;
* an introduction, the chapters, conclusions and limitations from the same facts, and appendices (the chapters
  named in ``report.appendices``, methods by default);
* text written by people (a foreword, interview findings, case boxes) from Markdown files named in
  ``report.prose``, placed where each says, so next year's analyst writes prose in one place.

Numbering runs across the whole report (figures and tables 1, 2, 3 ...; sections by chapter), and every
reference between chapters is a working link: a chapter links another with ``[text](operations.html)`` (or
``operations.html#sec-funnel``), which in the assembled report points inside it. Labels are prefixed with their
chapter (``tbl-units`` in delivery becomes ``tbl-delivery-units``) so that two chapters may use the same label.

:func:`landing_page` writes ``index.html``, which links the report, its Word version and the chapters (never the
analysts' quality report).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import yaml

from .render.builtin import (CSS, _pandoc_together, embed_resources, format_date, number_and_resolve,
                             segments_from_raw)
from .display import in_sentence, join_words
from .render.qmd import mask_code

_LABEL = re.compile(r"(?<=[#@\ue010])(fig|tbl|sec)-([A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*)")
_HEADING = re.compile(r"^(#{1,5})(?=[ \t])", re.M)
_CHAPTER_LINK = re.compile(r"\]\((?P<chapter>[a-z_]+)\.html(?:#(?P<anchor>sec-[A-Za-z0-9_-]+))?\)")


@dataclass
class Part:
    """A chapter as the render rule kept it: its name, title, subtitle and executed markdown."""

    name: str
    title: str
    subtitle: str
    markdown: str

    @classmethod
    def read(cls, name: str, md: str | Path) -> "Part":
        md = Path(md)
        meta = json.loads(md.with_suffix(".json").read_text(encoding="utf-8"))
        return cls(name, meta.get("title") or name.capitalize(), meta.get("subtitle") or "",
                   md.read_text(encoding="utf-8"))


@dataclass
class ReportSettings:
    title: str
    year: str
    reporting_year: str
    organisation: str
    version: str
    authors: list[str] = field(default_factory=list)
    date: str | None = None
    subtitle: str = ""
    appendices: list[str] = field(default_factory=list)
    prose: list[dict] = field(default_factory=list)

    @classmethod
    def from_config(cls, cfg: Mapping) -> "ReportSettings":
        from .config import section_defaults

        r = {**section_defaults("report"), **(cfg.get("report") or {})}
        return cls(title=r.get("title") or cfg.get("title") or f"Evaluation report {cfg['year']}",
                   year=cfg["year"], reporting_year=cfg["years"]["reporting"],
                   organisation=r["organisation"], authors=list(r["authors"]),
                   version=str(r["version"]), date=r.get("date"), subtitle=r.get("subtitle") or "",
                   appendices=list(r["appendices"]), prose=list(r["prose"]))


def chapter_body(part: Part, *, appendix: bool = False, chapters: set[str] | None = None) -> str:
    """A chapter's markdown made part of the report: labels prefixed, headings one level down, links to other
    chapters pointed inside the report, under a heading of its own (lettered when it is an appendix)."""
    def inside(m: re.Match) -> str:     # links to other chapters first, marked so labels leave them alone
        return (f"](\ue011sec-{m.group('chapter')}" + (f"-{m.group('anchor')[4:]}" if m.group("anchor") else "")
                + ")")

    text = _CHAPTER_LINK.sub(inside, part.markdown)
    masked = mask_code(text)
    # prefix labels (outside code) with the chapter's name
    spans = [(m.start(), m.end(), f"{m.group(1)}-{part.name}-{m.group(2)}") for m in _LABEL.finditer(masked)]
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    masked = mask_code(text)
    spans = [(m.start(), m.end(), m.group(1) + "#") for m in _HEADING.finditer(masked)]
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    text = text.replace("](\ue011", "](#")
    if chapters is not None:      # a link to a chapter this year does not have becomes its words
        text = re.sub(r"\[([^\]]*)\]\(#sec-(?P<chapter>[a-z_]+)[^)]*\)",
                      lambda m: m.group(0) if m.group("chapter") in chapters else m.group(1), text)
    head = (f"# {part.title} {{#sec-{part.name}{' .appendix' if appendix else ''}}}\n\n"
            + (f"*{part.subtitle}*\n\n" if part.subtitle else ""))
    return head + text


def _prose(settings: ReportSettings, at: str, root: Path) -> str:
    out = []
    for p in settings.prose:
        if p["at"] == at:
            text = (root / p["file"]).read_text(encoding="utf-8").strip()
            title = p.get("title")
            out.append((f"# {title} {{.unnumbered}}\n\n" if title else "") + text)
    return "\n\n".join(out)


def build(parts: Sequence[Part], settings: ReportSettings, findings: list, limitations: list[str],
          *, root: Path, conclusions: Sequence[str] = ()) -> str:
    """The assembled report's markdown (with a YAML header), numbered and with references resolved.
    ``conclusions`` are the paragraphs that open the conclusions, before the ``limitations``."""
    from .findings import Finding

    body_chapters = [p for p in parts if p.name not in settings.appendices]
    appendix_parts = [p for p in parts if p.name in settings.appendices]
    names = {p.name for p in parts}
    links = {p.name: f"[{p.title}](#sec-{p.name})" for p in parts}
    sections = []
    foreword = _prose(settings, "foreword", root)
    if foreword:
        sections.append("# Foreword {.unnumbered}\n\n" + foreword)
    summary = [f"- {f.markdown(link=f.chapter in names)}" for f in findings if isinstance(f, Finding)]
    sections.append("# Executive summary {#sec-summary .unnumbered}\n\n"
                    f"This report evaluates the programme's continuing professional development (CPD) for teachers "
                    f"and technicians in the financial year {settings.reporting_year}. It covers "
                    + join_words([f"[{in_sentence(p.title)}](#sec-{p.name})" for p in body_chapters])
                    + ". Every figure in it is computed from the year's data by a reproducible pipeline; the "
                    "appendices describe the data and methods.\n\n"
                    "## Key findings {.unnumbered}\n\n" + ("\n".join(summary) if summary else
                                                           "No finding can be published for this year.") + "\n")
    intro = ("# Introduction {#sec-introduction}\n\n"
             "The chapters follow the evaluation's questions: " + "; ".join(
                 f"{links[p.name]} ({in_sentence(p.subtitle) if p.subtitle else in_sentence(p.title)})"
                 for p in body_chapters) + ". "
             "Delivery is counted by financial year (April to March) and school results by academic year. Counts "
             "too small to publish are shown as c, figures not applicable as z, figures not available as x and changes "
             "across a break in a measure's series (not computed) as b.")
    extra = _prose(settings, "introduction", root)
    sections.append(intro + ("\n\n" + extra if extra else ""))
    for p in body_chapters:
        before, after = _prose(settings, f"before:{p.name}", root), _prose(settings, f"after:{p.name}", root)
        sections += [s for s in (before, chapter_body(p, chapters=names), after) if s]
    ending = ("# Conclusions and limitations {#sec-conclusions}\n\n"
              + "".join(f"{text}\n\n" for text in conclusions)
              + "\n".join(f"- {text}" for text in limitations))
    extra = _prose(settings, "conclusions", root)
    sections.append(ending + ("\n\n" + extra if extra else ""))
    for p in appendix_parts:
        sections.append(chapter_body(p, appendix=True, chapters=names))
    extra = _prose(settings, "appendix", root)
    if extra:
        sections.append(extra)
    markdown = "\n\n".join(sections)
    segs = segments_from_raw(markdown)
    number_and_resolve(segs, "report", number_sections=True, search=[root])
    body = "\n\n".join(s.text.strip("\n") for s in segs if s.text.strip())
    meta = {"title": settings.title, "subtitle": settings.subtitle or f"Reporting year {settings.reporting_year}",
            "author": [settings.organisation, *settings.authors] if settings.organisation else settings.authors,
            "date": settings.date or format_date("today"), "lang": "en-GB", "toc-title": "Contents",
            "version": settings.version}
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=True) + "---\n\n" + body + "\n"


#: Extra style of the assembled report: a title page (wide tables scroll inside their own box, as in the chapters).
REPORT_CSS = CSS + """
header#title-block-header { padding: 3em 0 2em; }
header#title-block-header .title { font-size: 2.2em; }
"""


def write(markdown: str, out_dir: Path, *, formats: Sequence[str], root: Path) -> list[Path]:
    """``report.html`` (self-contained, with a contents list) and ``report.docx`` (A4, with a real contents)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        build_dir = Path(tmp)
        (build_dir / "report.md").write_text(markdown, encoding="utf-8")
        (build_dir / "report.css").write_text(REPORT_CSS, encoding="utf-8")
        common = ["report.md", "--from", "markdown", "--resource-path", f".:{root}"]
        runs = []
        if "html" in formats:
            runs.append(common + ["--to", "html5", "--standalone", "--css", "report.css",
                                  "--wrap", "none", "--toc", "--toc-depth=2", "--output", "report.html"])
        if "docx" in formats:
            from .render.docx import fit_tables, reference_docx, static_contents

            ref = reference_docx(build_dir / "reference.docx")
            (build_dir / "report_docx.md").write_text(fit_tables(static_contents(markdown)), encoding="utf-8")
            runs.append(["report_docx.md", "--from", "markdown", "--resource-path", f".:{root}", "--to", "docx",
                         "--reference-doc", str(ref), "--output", "report.docx"])
        _pandoc_together(runs, build_dir, "report")
        if "html" in formats:
            embed_resources(build_dir / "report.html", [build_dir, build_dir / root], "report")   # as pandoc looks
            shutil.move(build_dir / "report.html", out_dir / "report.html")
            written.append(out_dir / "report.html")
        if "docx" in formats:
            shutil.move(build_dir / "report.docx", out_dir / "report.docx")
            written.append(out_dir / "report.docx")   # dated to the build day by pandoc (pandoc_env)
    return written


def landing_page(out_dir: Path, settings: ReportSettings, chapters: Sequence[tuple[str, str]],
                 formats: Sequence[str]) -> Path:
    """``index.html``: the report, its Word version and each chapter (not the analysts' quality report)."""
    items = ['<li><a href="report.html">The full report</a> (one page, for reading on screen)</li>']
    if "docx" in formats:
        items.append('<li><a href="report.docx">The full report in Word</a> (A4)</li>')
    items += [f'<li><a href="{html.escape(n)}.html">{html.escape(t)}</a></li>' for n, t in chapters]
    page = (f'<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(settings.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(settings.title)}</h1>\n"
            f"<p>Reporting year {html.escape(settings.reporting_year)}"
            + (f" · {html.escape(settings.organisation)}" if settings.organisation else "")
            + f" · version {html.escape(settings.version)}</p>\n<ul>\n" + "\n".join(items) + "\n</ul>\n</body>\n</html>\n")
    path = out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
