"""Pieces of the assembled report on small hand-made inputs: sections left out for missing inputs, chapters
joined with working links and lettered appendices, Word tables that never split a word, and key findings that
state a difference only when the interval excludes zero (issue #15)."""

from __future__ import annotations

import re

import polars as pl
import pytest

from cpdeval.attainment_groups import inputs_lacking, parse_group_rules
from cpdeval.display import in_sentence, join_words
from cpdeval.findings import Finding, attainment_findings, difference_sentence
from cpdeval.render import render_document
from cpdeval.render.builtin import OMIT_SECTION
from cpdeval.render.docx import CELL_PADDING, CHAR_WIDTH, fit_tables
from cpdeval.report import Part, ReportSettings, build, chapter_body


# --------------------------------------------------------------------------- words

def test_in_sentence_keeps_names_and_acronyms():
    assert in_sentence("No programme CPD") == "no programme CPD"
    assert in_sentence("EBacc two sciences") == "EBacc two sciences"
    assert in_sentence("DiD, two-way fixed effects") == "DiD, two-way fixed effects"
    assert in_sentence("STEM support") == "STEM support"
    # DfE's measure names keep their capital in running text ("Attainment 8", "Progress 8"), as does a band "Q3"
    assert in_sentence("Attainment 8") == "Attainment 8"
    assert in_sentence("Progress 8 (score)") == "Progress 8 (score)"
    assert in_sentence("Q3") == "Q3" and in_sentence("Q1 (fewest attendances)") == "Q1 (fewest attendances)"
    assert in_sentence("Four or more courses") == "four or more courses"
    assert in_sentence("Science value added (score)") == "science value added (score)"


def test_join_words():
    assert join_words([]) == "" and join_words(["a"]) == "a"
    assert join_words(["a", "b"]) == "a and b"
    assert join_words(["a", "b", "c"], "or") == "a, b or c"


@pytest.mark.parametrize("est, low, high, kind, words", [
    (3.84, 1.81, 5.71, "difference", "3.8 points higher than"),
    (-2.0, -3.5, -0.5, "difference", "2.0 points lower than"),
    (0.094, 0.041, 0.152, "difference", "0.09 points higher than"),      # narrow interval: two decimals
    (-0.23, -0.95, 0.49, "similar", "much the same as"),
    (1.2, 0.0, 2.4, "similar", "much the same as"),                     # touching zero is not excluding it
    (1.2, 0.03, 2.4, "difference", "1.20 points higher than"),          # excludes zero: never "0.0 to"
])
def test_a_difference_is_stated_only_when_its_interval_excludes_zero(est, low, high, kind, words):
    text, got = difference_sentence("Results", est, low, high, " points", comparison="others")
    assert got == kind and words in text
    if kind == "similar":
        assert "higher" not in text and "lower" not in text
    else:
        assert "0.0 to" not in text and "to 0.0" not in text


def test_finding_reference_goes_before_the_full_stop():
    f = Finding("attainment", "Users were similar.", "tbl-estimates")
    assert f.markdown() == "Users were similar (@tbl-attainment-estimates)."
    assert f.markdown(link=False) == "Users were similar."
    both = Finding("delivery", "70 staff took part, from 9 schools.", "tbl-participants tbl-schools")
    assert both.markdown() == "70 staff took part, from 9 schools (@tbl-delivery-participants, @tbl-delivery-schools)."


def test_attainment_findings_use_the_headline_and_skip_small_groups(tmp_path):
    est = pl.DataFrame({"measure": ["pct_5em", "pct_5em", "att8"], "method_key": ["did_twfe", "regression", "did_twfe"],
                        "method": ["DiD, two-way fixed effects", "Regression", "DiD, two-way fixed effects"],
                        "estimate": [2.2, 9.0, 1.0], "ci_low": [0.6, 8.0, -0.5], "ci_high": [3.8, 10.0, 2.5],
                        "n_treated": [80, 80, 4], "n_control": [500, 500, 500]})
    est.write_parquet(tmp_path / "e.parquet")
    (tmp_path / "s.json").write_text('{"measures": ["pct_5em", "att8"]}')
    found = attainment_findings({"attainment_estimates": tmp_path / "e.parquet",
                                 "attainment_summary": tmp_path / "s.json"}, 5, "did_twfe")
    assert len(found) == 1                                   # att8 rests on 4 user schools: not stated
    assert "2.2 percentage points higher" in found[0].text and "DiD" in found[0].text
    assert "9.0" not in found[0].text                        # not the regression
    # a difference-in-differences compares changes, not levels with similar schools
    assert "the change in" in found[0].text and "similar schools" not in found[0].text
    reg = attainment_findings({"attainment_estimates": tmp_path / "e.parquet",
                               "attainment_summary": tmp_path / "s.json"}, 5, "regression")
    assert "9.0 percentage points higher than in similar schools that did not" in reg[0].text
    from cpdeval.findings import limitations

    said = " ".join(limitations(found, {}, ["attainment"], headline="did_twfe"))
    assert "would otherwise have moved alike" in said and "like each other" not in said
    assert "like each other" in " ".join(limitations(reg, {}, ["attainment"], headline="regression"))


def test_conclusions_add_up_the_estimates_without_repeating_them():
    from cpdeval.findings import conclusions

    def f(about, kind, sign=0):
        return Finding("attainment", f"{about} sentence.", "tbl-estimates", kind, about=about, sign=sign)

    found = [Finding("delivery", "Units.", "tbl-units"), f("EBacc", "difference", 1), f("5+ good GCSEs", "difference", 1),
             f("value added", "difference", -1), f("Attainment 8", "similar")]
    (said,) = conclusions(found, headline="did_twfe")
    assert said.startswith("On two of the four attainment measures (EBacc and 5+ good GCSEs), results rose more after "
                           "schools began to use the programme than over the same years in schools that did not; on "
                           "one of the four attainment measures (value added), results rose less")
    assert "on one of the four attainment measures (Attainment 8), results changed much as they did" in said
    assert "not proof that the programme caused them" in said and "sentence" not in said   # no finding repeated
    (same,) = conclusions([f("EBacc", "similar"), f("Attainment 8", "similar")], headline="regression")
    assert same == ("On every attainment measure (EBacc and Attainment 8), results were much the same as in similar "
                    "schools that did not.")
    assert conclusions(found[:1], headline="did_twfe") == []


# --------------------------------------------------------------------------- sections left out

def test_a_section_whose_input_is_missing_is_left_out(tmp_path):
    qmd = tmp_path / "c.qmd"
    qmd.write_text("---\ntitle: T\nnumber-sections: true\n---\n\n# Kept {#sec-a}\n\nBefore.\n\n"
                   "# Resources {#sec-b}\n\nIntro text of the section.\n\n```{python}\n#| output: asis\n"
                   f"print({OMIT_SECTION!r})\n```\n\n## A subsection {{#sec-b1}}\n\nMore.\n\n"
                   "# Also kept {#sec-c}\n\nAfter (@sec-c).\n", encoding="utf-8")
    (html,) = render_document(qmd, tmp_path / "out", engine="builtin")
    text = html.read_text(encoding="utf-8")
    assert "Kept" in text and "Also kept" in text and "After" in text
    assert "Resources" not in text and "Intro text" not in text and "A subsection" not in text
    assert "cpdeval:omit-section" not in text
    assert re.search(r"2</span>\s*Also kept", text), "numbering closes the gap"


def test_groups_resting_on_a_missing_input_are_found():
    rules = parse_group_rules({
        "users": {"label": "Users", "where": {"courses": {"min": 1}}},
        "res": {"label": "CPD and resources", "where": {"courses": {"min": 1}, "resource_user": True}},
        "q1": {"label": "Q1", "quartile": 1, "of": "attendances", "among": "res"}})
    assert inputs_lacking(["users"], rules, {"resource_registrations"}) == []
    assert inputs_lacking(["res"], rules, {"resource_registrations"}) == ["resource_registrations"]
    assert inputs_lacking(["q1"], rules, {"resource_registrations"}) == ["resource_registrations"]
    assert inputs_lacking(["res"], rules, set()) == []


# --------------------------------------------------------------------------- assembling

def _part(name, title, md):
    return Part(name, title, f"What {name} covers", md)


def test_chapters_join_with_prefixed_labels_working_links_and_lettered_appendices(tmp_path):
    delivery = _part("delivery", "Delivery", "# Volume {#sec-volume}\n\nSee @tbl-units and the "
                     "[Operations chapter](operations.html#sec-funnel), and the [Impact chapter](impact.html).\n\n"
                     "::: {#tbl-units .cpdeval-table}\n\n| A | B |\n|:--|--:|\n| x | 1 |\n\n: Units\n\n:::\n")
    operations = _part("operations", "Operations", "# Funnel {#sec-funnel}\n\nAs @tbl-units shows.\n\n"
                       "::: {#tbl-units .cpdeval-table}\n\n"
                       "| A | B |\n|:--|--:|\n| y | 2 |\n\n: Bookings\n\n:::\n")
    methods = _part("methods", "Methods", "# Inputs {#sec-inputs}\n\nRows.\n")
    body = chapter_body(delivery, chapters={"delivery", "operations"})
    assert "#tbl-delivery-units" in body and "@tbl-delivery-units" in body
    assert "](#sec-operations-funnel)" in body                  # a link to another chapter points inside
    assert "impact.html" not in body and "the Impact chapter" in body   # no such chapter: words only
    settings = ReportSettings(title="R", year="y", reporting_year="2018-19", organisation="Team", version="1.0",
                              appendices=["methods"])
    md = build([delivery, operations, methods], settings,
               [Finding("delivery", "Units were delivered.", "tbl-units")], ["A limitation."],
               root=tmp_path)
    # numbering runs across chapters; the key finding links its table
    assert md.count("[Table 1](#tbl-delivery-units)") == 2 and "As [Table 2](#tbl-operations-units)" in md
    assert "Units were delivered ([Table 1](#tbl-delivery-units))." in md
    assert re.search(r"\[Appendix A\]\{\.header-section-number\} Methods", md)
    assert re.search(r"\[A\.1\]\{\.header-section-number\} Inputs", md)
    assert re.search(r"\[1\]\{\.header-section-number\} Introduction", md)


# --------------------------------------------------------------------------- Word tables

def _dash_widths(md: str) -> list[list[int]]:
    return [[len(c) for c in line.strip("|").split("|")] for line in md.splitlines()
            if re.fullmatch(r"\|(:?-+:?\|)+", line)]


def test_word_tables_give_every_word_its_room_and_go_landscape_when_they_must():
    narrow = "::: {#tbl-a .cpdeval-table}\n\n| Partnership | Name |\n|:-|:-|\n| P01 | Woodby Science Learning Partnership |\n\n: A\n\n:::"
    wide_cols = " | ".join(f"Standardised{i}" for i in range(12))
    wide = ("::: {#tbl-b .cpdeval-table}\n\n| " + wide_cols + " |\n|" + "--:|" * 12 + "\n| " + " | ".join(["1"] * 12)
            + " |\n\n: B\n\n::: {.table-notes}\nNote.\n:::\n\n:::")
    out = fit_tables(narrow + "\n\nText between.\n\n" + wide + "\n\nAfter.")
    (a, b) = _dash_widths(out)
    assert a[0] >= len("Partnership") and b == [len(f"Standardised{i}") + -(-CELL_PADDING // CHAR_WIDTH) for i in range(12)]
    assert out.count('w:orient="landscape"') == 1
    # the landscape section holds the whole table div (caption and notes) and nothing after it
    start, end = out.index("{=openxml}"), out.rindex("{=openxml}")
    assert out.index("#tbl-b") > start and out.index("Note.") < end < out.index("After.")
    assert out.index("#tbl-a") < start                           # the narrow table stays portrait


def test_prose_written_by_people_is_placed_where_the_config_says(tmp_path):
    (tmp_path / "fore.md").write_text("We thank the schools.\n", encoding="utf-8")
    (tmp_path / "interviews.md").write_text("Heads valued the networks.\n", encoding="utf-8")
    settings = ReportSettings(title="R", year="y", reporting_year="2018-19", organisation="Team", version="1.0", prose=[
        {"file": "fore.md", "at": "foreword"},
        {"file": "interviews.md", "at": "after:delivery", "title": "What schools told us"}])
    parts = [_part("delivery", "Delivery", "# Volume {#sec-volume}\n\nText.\n"),
             _part("impact", "Impact", "# Surveys {#sec-surveys}\n\nMore.\n")]
    md = build(parts, settings, [], [], root=tmp_path)
    assert md.index("We thank the schools.") < md.index("Executive summary")
    assert md.index("Volume") < md.index("What schools told us") < md.index("Heads valued") < md.index("Surveys")
    assert "No finding can be published for this year." in md


def _png(width: int = 240, height: int = 120) -> bytes:
    """A valid grey-striped PNG whose pixel data is stored uncompressed (zlib level 0), so a zip can deflate it."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + bytes((x * 7 + y) % 256 for x in range(width)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b""))


def test_the_word_report_is_dated_to_the_build_day_and_its_figures_stay_compressed(tmp_path, monkeypatch):
    """Every zip entry and the core properties of ``report.docx`` carry midnight (UTC) of the build day, which
    ``SOURCE_DATE_EPOCH`` fixes here at mid-afternoon of 14 March 2020: two builds give the same bytes, and a
    build without the fixed day would carry today's time. The figure is deflated in the file (the national
    report's PNGs, written at zlib level 3, take about a sixth less room deflated) and reads back unchanged."""
    import datetime as dt
    import zipfile

    from cpdeval import report as report_module

    image = _png()
    (tmp_path / "figure.png").write_bytes(image)
    markdown = "# Results\n\nText of the report.\n\n![A figure](figure.png)\n"
    afternoon = dt.datetime(2020, 3, 14, 15, 9, 26, tzinfo=dt.timezone.utc)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(afternoon.timestamp())))
    built = []
    for name in ("a", "b"):
        (path,) = report_module.write(markdown, tmp_path / name, formats=["docx"], root=tmp_path)
        built.append(path.read_bytes())
    assert built[0] == built[1]
    with zipfile.ZipFile(tmp_path / "a" / "report.docx") as z:
        assert {i.date_time for i in z.infolist()} == {(2020, 3, 14, 0, 0, 0)}
        assert z.read("docProps/core.xml").count(b"2020-03-14T00:00:00Z") == 2
        (media,) = [i for i in z.infolist() if i.filename.startswith("word/media/")]
        assert z.read(media) == image
        assert media.compress_type == zipfile.ZIP_DEFLATED and media.compress_size < media.file_size
