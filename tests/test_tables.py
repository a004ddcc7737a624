"""Published tables: disclosure control, formatting, markup and the breach scanner."""

import polars as pl
import pytest

from cpdeval.tables import ColumnSpec, find_disclosure_breaches, publish_table


@pytest.fixture
def survey():
    return pl.DataFrame({
        "group": ["Teachers", "Technicians", "Leaders", "Trainees", "Governors"],
        "n": [12431, 4, 3, 20, None],
        "agree": [92.5, 50.0, 66.7, None, 80.0],
        "mean_score": [3.25, 2.0, 3.0, 2.85, None],
        "lo": [91.1, 20.0, 10.0, 60.0, None],
        "hi": [93.9, 80.0, 90.0, 85.0, None],
        "status": [None, None, None, "not applicable", None],
    })


COLUMNS = [
    ColumnSpec("group", "label", header="Group"),
    ColumnSpec("n", "count", header="Respondents"),
    ColumnSpec("agree", "percent", base="n", header="Agree", status="status"),
    ColumnSpec("mean_score", "number", base="n", decimals=1, header="Mean score"),
    ColumnSpec("ci", "ci", base="n", lower="lo", upper="hi", decimals=0, suffix="%", header="95% CI"),
]


def test_suppression_known_answers(survey):
    t = publish_table(survey, columns=COLUMNS, threshold=5)
    rows = t.data.rows()
    assert rows[0] == ("Teachers", "12,431", "93%", "3.3", "91% to 94%")
    # count 4 < 5 -> c, and everything built on it -> c
    assert rows[1] == ("Technicians", "c", "c", "c", "c")
    # a percentage whose base is 3 -> c
    assert t.cell(2, "Agree") == "c"
    # null percentage with a status saying not applicable -> z; otherwise null -> x
    assert t.cell(3, "Agree") == "z"
    assert t.cell(3, "Respondents") == "20"
    assert t.cell(3, "Mean score") == "2.9"  # 2.85 -> 2.9, half away from zero
    # null count -> x; a statistic on an unknown base cannot be checked -> c
    assert t.cell(4, "Respondents") == "x"
    assert t.cell(4, "Agree") == "c"
    assert t.cell(4, "Mean score") == "x"


def test_count_below_threshold_and_zeros_shown():
    """1 to threshold - 1 is suppressed; a zero is shown, as DfE shows zeros (cpdeval.disclosure)."""
    df = pl.DataFrame({"g": ["a", "b", "c", "d"], "n": [4, 5, 0, None]})
    t = publish_table(df, columns={"g": "label", "n": "count"}, threshold=5)
    assert t.data["n"].to_list() == ["c", "5", "0", "x"]


def test_status_column_forces_symbols():
    df = pl.DataFrame({"g": ["a", "b", "c"], "n": [50, 60, 70], "st": ["z", "suppressed", ""]})
    t = publish_table(df, columns=[ColumnSpec("g", "label"), ColumnSpec("n", "count", status="st")],
                      threshold=5)
    assert t.data["n"].to_list() == ["z", "c", "70"]
    with pytest.raises(ValueError, match="status column"):
        publish_table(df.with_columns(st=pl.lit("maybe")),
                      columns=[ColumnSpec("n", "count", status="st")], threshold=5)


def test_numerator_suppression_and_proportions():
    df = pl.DataFrame({"g": ["a", "b"], "n": [100, 100], "k": [3, 40], "p": [0.03, 0.40]})
    t = publish_table(df, columns=[ColumnSpec("g", "label"),
                                   ColumnSpec("p", "percent", base="n", numerator="k", proportion=True)],
                      threshold=5)
    assert t.data["p"].to_list() == ["c", "40%"]


def test_collapsed_intervals_and_tiny_p_values_read_as_readers_expect():
    df = pl.DataFrame({"g": ["a", "b"], "n": [14618, 200], "lo": [96.84, 0.2], "hi": [97.36, 5.4],
                       "p": [0.00004, 0.0312]})
    t = publish_table(df, columns=[ColumnSpec("g", "label"), ColumnSpec("n", "count"),
                                   ColumnSpec("ci", "ci", base="n", lower="lo", upper="hi", decimals=0, suffix="%"),
                                   ColumnSpec("p", "number", base="n", decimals=3, p_value=True)], threshold=5)
    assert t.data.rows() == [("a", "14,618", "96.8% to 97.4%", "<0.001"), ("b", "200", "0% to 5%", "0.031")]


def test_spec_validation():
    with pytest.raises(ValueError, match="needs base"):
        ColumnSpec("p", "percent")
    with pytest.raises(ValueError, match="kind"):
        ColumnSpec("p", "ratio")
    df = pl.DataFrame({"n": [10]})
    with pytest.raises(ValueError, match="not in the table"):
        publish_table(df, columns={"m": "count"}, threshold=5)
    with pytest.raises(ValueError, match="threshold"):
        publish_table(df, columns={"n": "count"}, threshold=-1)
    with pytest.raises(ValueError, match="numeric"):
        publish_table(pl.DataFrame({"n": ["10"]}), columns={"n": "count"}, threshold=5)


def test_markdown_rendering(survey):
    t = publish_table(survey, columns=COLUMNS, threshold=5, caption="Agreement", notes=["Source: survey."])
    md = t.to_markdown()
    lines = md.splitlines()
    assert lines[0].startswith("::: {.cpdeval-table data-cpdeval-table=")
    assert 'data-cpdeval-columns="label,count,percent@1,number@1,ci@1"' in lines[0]
    assert "| Group | Respondents | Agree | Mean score | 95% CI |" in lines
    # numbers right-aligned; each column's dashes as wide as its header's longest word and its cells, which is
    # how pandoc sizes the columns of a wide table (no word broken in a header)
    assert "|:----------|----------:|----:|----:|---------:|" in lines
    assert "| Teachers | 12,431 | 93% | 3.3 | 91% to 94% |" in lines
    assert ": Agreement" in lines
    assert "Source: survey." in lines
    md2 = t.to_markdown(caption="Table 3: Agreement", id="tbl-agree")
    assert lines[0].replace("::: {", "::: {#tbl-agree ") == md2.splitlines()[0]
    assert ": Table 3: Agreement" in md2


def test_markdown_escapes_labels():
    df = pl.DataFrame({"g": ["A*-C | pass", "5+ A*-C"], "n": [10, 20]})
    md = publish_table(df, columns={"g": "label", "n": "count"}, threshold=5).to_markdown()
    assert "| A\\*-C \\| pass | 10 |" in md
    assert find_disclosure_breaches(md, 5) == []


def test_html_rendering(survey):
    t = publish_table(survey, columns=COLUMNS, threshold=5, caption="Agree <all>")
    h = t.to_html(id="tbl-x")
    assert h.startswith('<div id="tbl-x" class="cpdeval-table" data-cpdeval-table="1"')
    assert "<caption>Agree &lt;all&gt;</caption>" in h
    assert '<td style="text-align: right;">12,431</td>' in h
    assert '<td style="text-align: left;">Teachers</td>' in h
    assert t._repr_html_() == t.to_html()
    assert t._repr_markdown_() == t.to_markdown()


# --------------------------------------------------------------------------- scanner

def test_scanner_passes_clean_tables(survey):
    t = publish_table(survey, columns=COLUMNS, threshold=5, caption="Agreement")
    assert find_disclosure_breaches(t.to_markdown(), 5) == []
    assert find_disclosure_breaches(t.to_html(), 5) == []


def test_scanner_finds_planted_count_breach(survey):
    t = publish_table(survey, columns=COLUMNS, threshold=5, caption="Agreement")
    planted = t.to_html().replace('<td style="text-align: right;">c</td>', '<td style="text-align: right;">4</td>', 1)
    breaches = find_disclosure_breaches(planted, 5)
    assert len(breaches) == 1
    b = breaches[0]
    assert (b.table, b.row, b.column, b.value) == (1, 2, "Respondents", "4")
    assert "below the disclosure threshold" in str(b)
    md = t.to_markdown().replace("| Technicians | c |", "| Technicians | 4 |")
    assert [(x.row, x.column) for x in find_disclosure_breaches(md, 5)] == [(2, "Respondents")]


def test_scanner_finds_percentage_on_small_base(survey):
    t = publish_table(survey, columns=COLUMNS, threshold=5)
    planted = t.to_markdown().replace("| Technicians | c | c |", "| Technicians | c | 50% |")
    breaches = find_disclosure_breaches(planted, 5)
    assert [(b.row, b.column) for b in breaches] == [(2, "Agree")]
    assert "base" in breaches[0].reason


def test_scanner_flags_tables_that_bypassed_the_helper_and_low_thresholds():
    raw = "<table><tr><th>Group</th><th>n</th></tr><tr><td>A</td><td>30</td></tr></table>"
    breaches = find_disclosure_breaches(raw, 5)
    assert len(breaches) == 1 and "publish_table" in breaches[0].reason
    assert find_disclosure_breaches(raw, 5, allow_unmanaged=True) == []
    raw_md = "| Group | n |\n|---|---:|\n| A | 3 |\n"
    assert len(find_disclosure_breaches(raw_md, 5)) == 1
    df = pl.DataFrame({"g": ["a"], "n": [3]})
    lax = publish_table(df, columns={"g": "label", "n": "count"}, threshold=2).to_html()
    reasons = [b.reason for b in find_disclosure_breaches(lax, 5)]
    assert any("threshold 2" in r for r in reasons) and any("below the disclosure" in r for r in reasons)
