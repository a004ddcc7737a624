"""Survey analysis (cpdeval.surveys): known-answer tests on tiny hand-made response sets, and reproduction tests
whose response sets have the counts behind the published tables of seeds 000, 001 and 002."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from types import SimpleNamespace as NS

import polars as pl
import pytest
import yaml

from conftest import ROOT
from cpdeval import surveys as S
from cpdeval import surveys_figures as SF
from cpdeval import surveys_publish as SP
from cpdeval.contracts import load_contract
from cpdeval.display import fmt_pct, round_half_away
from cpdeval.errors import ConfigError, InputError
from cpdeval.stages.impact import impact_analysis
from cpdeval.stats import counts_giving, rounds_to, wilson_interval
from cpdeval.tables import find_disclosure_breaches

INSTRUMENTS = ROOT / "schemas" / "instruments"
CODEBOOK = ROOT / "config" / "codebooks" / "feedback_reasons.yaml"
BENCHMARKS = ROOT / "config" / "benchmarks.yaml"
SCHEMA = load_contract("survey_responses").polars_schema


# --------------------------------------------------------------------------------------------- builders

@pytest.fixture(scope="module")
def inst():
    return S.load_instruments()


def respondent_rows(instrument, rid, answers, instruments, *, role="Teacher", urn=None, activity=None,
                    submitted=dt.date(2016, 1, 15)):
    """Long rows for one respondent: ``answers`` maps item id -> label, or multi-select question id -> ticked
    option ids (every option of an answered question gets a row, as the reader writes them)."""
    definition = instruments[instrument]
    multi = {q["id"]: q for q in definition.multi_select}
    rows = []
    for item_id, answer in answers.items():
        if answer is None:
            continue
        if item_id in multi:
            for opt in multi[item_id]["options"]:
                t = opt["id"] in answer
                rows.append((instrument, rid, submitted, role, urn, activity, f"{item_id}:{opt['id']}",
                             "1" if t else "0", "ticked" if t else "not_ticked"))
        else:
            item = next(i for i in definition.items if i["id"] == item_id)
            ns = definition.scale(item).get("not_substantive") or []
            rows.append((instrument, rid, submitted, role, urn, activity, item_id, answer,
                         "not_substantive" if answer in ns else "substantive"))
    return rows


def build(instrument, per_item, instruments, *, attrs=None, prefix="r"):
    """Responses where item i's answers are ``{label: count}`` given by respondents r0000, r0001, ... in
    order (so respondents answer different numbers of items, and blanks are simply absent).
    ``attrs(j)`` gives respondent j's role / urn / activity / submitted."""
    answers: dict[int, dict] = {}
    for item_id, spec in per_item.items():
        labels = spec if isinstance(spec, list) else [lab for lab, c in spec.items() for _ in range(c)]
        for j, lab in enumerate(labels):
            answers.setdefault(j, {})[item_id] = lab
    rows = []
    for j in sorted(answers):
        rows += respondent_rows(instrument, f"{prefix}{j:04d}", answers[j], instruments, **((attrs or (lambda j: {}))(j)))
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def summarise(responses, instruments, **kw):
    prepared = S.prepare_responses(responses, **kw)
    return prepared, S.summarise_items(prepared, instruments), S.level_distribution(prepared, instruments)


def overall(summary, item):
    return summary.filter((pl.col("subgroup") == "all") & (pl.col("item_id") == item)).row(0, named=True)


def shown(pct):
    return fmt_pct(pct)


# --------------------------------------------------------------------------------------------- catalogue

def test_catalogue_and_labels_come_from_the_definitions(inst):
    cat = S.item_catalogue(inst)
    pi = cat.filter(pl.col("instrument") == "participant_impact")
    assert pi["item_id"].to_list()[0] == "overall_impact" and pi.height == 13
    pl_ = cat.filter((pl.col("instrument") == "practitioner_leader") & (pl.col("kind") == "multi"))
    assert set(pl_["question_id"]) == {"delivered_where"} and pl_.height == 5
    lab = S.response_labels(inst)
    agree = lab.filter((pl.col("instrument") == "participant_impact") & (pl.col("item_id") == "career"))
    assert agree.filter(pl.col("positive"))["response"].to_list() == ["Strongly agree", "Agree"]
    assert agree.filter(pl.col("top"))["response"].to_list() == ["Strongly agree"]
    assert agree.filter(~pl.col("substantive"))["response"].to_list() == ["Cannot say"]
    assert agree.sort("level_order")["response"].to_list()[-1] == "Cannot say"


def test_a_new_instrument_needs_only_its_definition(tmp_path):
    shutil.copy(INSTRUMENTS / "scales.yaml", tmp_path / "scales.yaml")
    (tmp_path / "pulse.yaml").write_text(yaml.safe_dump({
        "name": "pulse", "title": "Pulse survey", "respondent": {"id": "ID", "submitted": "Date", "role": "Role"},
        "items": [{"id": "useful", "column": "Q1", "scale": "agree4", "block": "main", "text": "It was useful"},
                  {"id": "rating", "column": "Q2", "scale": "satisfaction5", "block": "main", "text": "Rating"}]}))
    instruments = S.load_instruments(["pulse"], tmp_path)
    resp = build("pulse", {"useful": {"Strongly agree": 4, "Disagree": 1, "Cannot say": 1},
                           "rating": {"Excellent": 2, "Good": 2, "Poor": 1}}, instruments)
    _, summary, _ = summarise(resp, instruments)
    u = overall(summary, "useful")
    assert (u["respondents"], u["n_substantive"], u["n_positive"]) == (6, 5, 4)
    r = overall(summary, "rating")
    assert r["pct_positive"] == pytest.approx(80.0) and r["pct_top"] == pytest.approx(40.0)
    specs = SF.plan_figures(summary, instruments, threshold=1)
    assert {s.kind for s in specs if s.subgroup == "all"} == {"levels"}   # two scales, one item each


# --------------------------------------------------------------------------------------------- summaries

def test_percentages_denominators_and_intervals(inst):
    resp = build("participant_impact", {
        "fulfilled_aims": {"Strongly agree": 3, "Agree": 2, "Disagree": 1, "Cannot say": 2},
        "career": {"Agree": 1, "Cannot say": 1},
    }, inst)
    _, summary, levels = summarise(resp, inst)
    r = overall(summary, "fulfilled_aims")
    assert (r["respondents"], r["n_substantive"], r["n_positive"], r["n_top"], r["n_not_substantive"]) == (8, 6, 5, 3, 2)
    assert r["pct_positive"] == pytest.approx(100 * 5 / 6)           # cannot say excluded from the base
    assert r["pct_top"] == pytest.approx(50.0)
    assert r["pct_not_substantive"] == pytest.approx(25.0)           # over everyone who answered the item
    lo, hi = wilson_interval(5, 6)
    assert (r["pct_positive_lower"], r["pct_positive_upper"]) == (pytest.approx(100 * lo), pytest.approx(100 * hi))
    lo, hi = wilson_interval(2, 8)
    assert r["pct_not_substantive_lower"] == pytest.approx(100 * lo)
    # an item nobody answered still has a row, with no percentage
    z = overall(summary, "pupil_progress")
    assert z["respondents"] == 0 and z["pct_positive"] is None and z["pct_positive_lower"] is None
    # every level, including those nobody chose, is in the distribution
    fa = levels.filter((pl.col("item_id") == "fulfilled_aims") & (pl.col("subgroup") == "all"))
    assert fa["response"].to_list() == ["Strongly agree", "Agree", "Disagree", "Strongly disagree", "Cannot say"]
    assert fa["count"].to_list() == [3, 2, 1, 0, 2]
    assert fa.filter(pl.col("substantive"))["pct_of_substantive"].sum() == pytest.approx(100.0)
    assert fa.filter(~pl.col("substantive"))["pct_of_substantive"].to_list() == [None]
    load_contract("survey_item_summary").pandera_schema().validate(summary)


def test_multi_select_is_over_respondents_to_the_question(inst):
    ticks = [["own_school"], ["own_school", "network"], ["intend_not_yet"], ["own_school", "other_partnerships"]]
    resp = build("practitioner_leader", {"delivered_where": ticks, "delivered_any": ["Yes", "Yes", "No", "Yes"]}, inst)
    _, summary, levels = summarise(resp, inst)
    own = overall(summary, "delivered_where:own_school")
    assert (own["respondents"], own["n_substantive"], own["n_positive"]) == (4, 4, 3)
    opts = summary.filter((pl.col("subgroup") == "all") & (pl.col("question_id") == "delivered_where"))
    assert opts["n_positive"].sum() == 6 and opts["pct_positive"].sum() > 100     # not forced to add to 100
    assert levels.filter(pl.col("item_id").str.contains(":")).height == 0         # options have no levels table


def test_subgroups_role_phase_provider_year(inst):
    schools = pl.DataFrame({"urn": [100001, 100002], "phase_group": ["primary", "secondary"]})
    bookings = pl.DataFrame({"activity_id": ["A1", "A1", "A1", "A2"], "provider": ["national", "national", "regional", "regional"]})
    attrs = [dict(role="Teacher", urn=100001, activity="A1", submitted=dt.date(2016, 3, 31)),
             dict(role="Technician", urn=100002, activity="A2", submitted=dt.date(2016, 4, 1)),
             dict(role=None, urn=999999, activity=None, submitted=dt.date(2016, 5, 1)),
             dict(role="  ", urn=None, activity="A9", submitted=None)]
    resp = build("participant_impact", {"overall_impact": ["Very high", "High", "Low", "Medium"]}, inst,
                 attrs=lambda j: attrs[j])
    prepared, summary, _ = summarise(resp, inst, schools=schools, activities=bookings)
    assert prepared["role"].to_list() == ["Teacher", "Technician", "Not known", "Not known"]
    assert prepared["phase"].to_list() == ["Primary", "Secondary", "Not known", "Not known"]
    assert prepared["provider"].to_list() == ["National centre", "Regional partnership", "Not known", "Not known"]
    assert prepared["year"].to_list() == ["2015-16", "2016-17", "2016-17", "Not known"]
    oi = summary.filter(pl.col("item_id") == "overall_impact")
    for sub in S.SUBGROUPS:
        part = oi.filter(pl.col("subgroup") == sub)
        assert part["respondents"].sum() == 4, sub                   # groups partition the respondents
        assert part.sort("group_order")["group"].to_list()[-1] == "Not known"
    prim = oi.filter((pl.col("subgroup") == "phase") & (pl.col("group") == "Primary")).row(0, named=True)
    assert (prim["n_positive"], prim["n_substantive"]) == (1, 1)
    # every item appears for every group of the instrument's respondents
    n_items = S.item_catalogue({"participant_impact": inst["participant_impact"]}).height
    assert summary.filter((pl.col("subgroup") == "role") & (pl.col("group") == "Technician")).height == n_items


def test_answers_outside_the_scale_and_unknown_instruments_are_errors(inst):
    resp = build("participant_impact", {"career": ["Agree"]}, inst).with_columns(pl.lit("Agreed").alias("response"))
    with pytest.raises(InputError, match="not labels of their item's scale"):
        summarise(resp, inst)
    resp = build("participant_impact", {"career": ["Agree"]}, inst).with_columns(pl.lit("mystery").alias("instrument"))
    with pytest.raises(InputError, match="no definition"):
        summarise(resp, inst)


def test_ranks_are_competition_ranks_of_the_rounded_percentage(inst):
    # % strongly agree 75, 60.4 (rounds to 60), 59.6 (rounds to 60), 50: ties on what a reader sees
    resp = build("participant_impact", {
        "fulfilled_aims": {"Strongly agree": 3, "Agree": 1},
        "confidence": {"Strongly agree": 302, "Agree": 198},
        "knowledge_skills": {"Strongly agree": 298, "Agree": 202},
        "practice": {"Strongly agree": 1, "Agree": 1},
    }, inst)
    _, summary, _ = summarise(resp, inst)
    part = summary.filter((pl.col("subgroup") == "all") & (pl.col("block") == "participants")).sort("item_order")
    assert part["rank_top_label"].to_list()[:4] == ["1st", "2nd=", "2nd=", "4th"]
    assert part["rank_top"].to_list()[4] is None                    # career: nobody answered


def test_respondent_profile(inst):
    resp = build("event_feedback", {"satisfaction": ["Good"] * 6}, inst,
                 attrs=lambda j: {"role": ["Teacher", "Teacher", "Technician", None, "Teacher", "Other"][j]})
    prof = S.respondent_profile(S.prepare_responses(resp), inst)
    role = prof.filter(pl.col("subgroup") == "role").sort("group_order")
    assert role["group"].to_list() == ["Teacher", "Technician", "Other", "Not known"]   # instrument's role order
    assert role["respondents"].to_list() == [3, 1, 1, 1]
    assert role["pct"].to_list()[:3] == [pytest.approx(60.0), pytest.approx(20.0), pytest.approx(20.0)]
    assert role["pct"].to_list()[3] is None and set(role["known"]) == {5}


def test_response_rates_from_invited_counts(inst):
    """12 event-feedback respondents and 7 subject leaders (a profile is all the table needs). Invited: 40 and 5
    (fewer than answered: a wrong count, so no rate), participant impact 90 with no response, and no row for the
    practitioner-leader survey."""
    profile = pl.DataFrame({"instrument": ["event_feedback", "subject_leader"], "all_respondents": [12, 7]})
    invited = pl.DataFrame({"instrument": ["event_feedback", "subject_leader", "participant_impact"],
                            "invited": [40, 5, 90]})
    t = SP.publish_instruments(profile, inst, threshold=5, invited=invited)
    rows = {r[0]: r for r in t.data.select("Survey", "Respondents this year", "Invited", "Response rate").rows()}
    title = {name: i.title for name, i in inst.items()}
    assert rows[title["event_feedback"]][1:] == ("12", "40", "30%")
    assert rows[title["subject_leader"]][1:] == ("7", "5", "x")
    assert rows[title["participant_impact"]][1:] == ("0", "90", "0%")
    assert rows[title["practitioner_leader"]][1:] == ("0", "x", "x")
    assert any("more respondents than invited" in n for n in t.notes)
    assert any(n.startswith("No invited count for") for n in t.notes)
    plain = SP.publish_instruments(profile, inst, threshold=5)
    assert "Response rate" not in plain.data.columns
    with pytest.raises(ValueError, match="participant_impcat, not a survey of this year"):
        SP.publish_instruments(profile, inst, threshold=5,
                               invited=pl.DataFrame({"instrument": ["participant_impcat"], "invited": [9]}))


# --------------------------------------------------------------------------------------------- coding

def coded(rows):
    return pl.DataFrame(rows, schema={"response_id": pl.Utf8, "code": pl.Utf8, "codebook_version": pl.Utf8},
                        orient="row")


def test_codebook_is_valid_and_covers_the_published_frame():
    cb = S.load_codebook(CODEBOOK)
    assert cb.version == "2019.1" and cb.instrument == "event_feedback"
    covered = sorted(r for c in cb.codes for r in c["seed002_table9"])
    assert covered == list(range(1, 25))                            # each listed reason exactly once
    from cpdeval.synthetic import lookups
    assert set(lookups.FEEDBACK_CODES) <= set(cb.ids) and lookups.CODEBOOK_VERSION == cb.version


@pytest.mark.parametrize("text,message", [
    ("title: x\ncodes: [{id: a, description: d}]\n", "no 'version'"),
    ("version: '1'\ncodes: []\n", "no codes"),
    ("version: '1'\ncodes: [{id: a, description: d}, {id: a, description: e}]\n", "listed twice"),
    ("version: '1'\ncodes: [{id: Bad Code, description: d}]\n", "lower_snake_case"),
    ("version: '1'\ncodes: [{id: a}]\n", "no description"),
])
def test_codebook_errors_are_named(tmp_path, text, message):
    p = tmp_path / "cb.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=message):
        S.load_codebook(p)


def test_coding_issues_and_frequencies(inst):
    cb = S.load_codebook(CODEBOOK)
    resp = build("event_feedback", {"satisfaction": ["Good"] * 4}, inst, prefix="f",
                 attrs=lambda j: {"role": ["Teacher", "Teacher", "Technician", "Teacher"][j]})
    prepared = S.prepare_responses(resp)
    c = coded([("f0000", "practical_ideas", "2019.1"), ("f0000", "resources", "2019.1"),
               ("f0001", "practical_ideas", "2019.1"), ("f0002", "confidence", "2019.1"),
               ("f0003", "made_up", "2019.1"),                     # unknown code: not counted
               ("f0003", "practical_ideas", "2018.2"),             # other version: not counted
               ("x9999", "careers", "2019.1")])                    # no survey answers: counted, subgroups unknown
    issues = S.check_coding(c, cb, prepared["respondent_id"].unique().to_list())
    assert issues["issue"].to_list() == ["unknown_code", "unknown_response", "version_mismatch"]
    assert issues.filter(pl.col("issue") == "version_mismatch")["detail"][0].count("2018.2") == 1
    assert "made_up" in issues.filter(pl.col("issue") == "unknown_code")["detail"][0]
    freq = S.code_frequencies(c, cb, prepared, instruments=inst)
    allf = freq.filter(pl.col("subgroup") == "all")
    assert allf.height == len(cb.codes) and set(allf["base"]) == {4}      # f0000, f0001, f0002, x9999
    got = dict(zip(allf["code"], allf["comments"]))
    assert got["practical_ideas"] == 2 and got["resources"] == 1 and got["careers"] == 1 and got["networking"] == 0
    assert allf.filter(pl.col("code") == "practical_ideas")["pct"][0] == pytest.approx(50.0)
    assert allf.sort("rank")["rank_label"][0] == "1st"
    teachers = freq.filter((pl.col("subgroup") == "role") & (pl.col("group") == "Teacher"))
    assert set(teachers["base"]) == {2}
    assert freq.filter((pl.col("subgroup") == "role") & (pl.col("group") == "Not known"))["base"][0] == 1
    assert S.check_coding(coded([("f0000", "resources", "2019.1")]), cb).height == 0


# --------------------------------------------------------------------------------------------- benchmarks

def test_benchmarks_are_a_separate_validated_reference(inst, tmp_path):
    ref = S.load_benchmarks(BENCHMARKS, inst)
    b = ref["benchmarks"]
    assert b.height >= 10 and b["id"].n_unique() == b.height
    assert {"TALIS 2013 (England)", "Impact Toolkit", "Super-users evaluation"} <= set(b["source_short"])
    assert b.filter(pl.col("id") == "impact_toolkit_overall")["value"][0] == 88
    for col in ("source", "period", "item", "measure", "scale", "respondents", "citation", "published"):
        assert b[col].null_count() == 0, col
    talis = b.filter(pl.col("source_short") == "TALIS 2013 (England)").row(0, named=True)
    assert talis["citation"].startswith("OECD (2014), TALIS 2013 Results") and talis["published"] == 2014


@pytest.mark.parametrize("edit, message", [
    (lambda h, r: r[0].__setitem__(h.index("compare_item"), "nonexistent"), "unknown item"),
    (lambda h, r: r[0].__setitem__(h.index("value"), "188"), "row 2, column value: maximum 100"),
    (lambda h, r: r[1].__setitem__(h.index("source_id"), "talis_2031"), "source_id talis_2031 not in"),
    (lambda h, r: r[1].__setitem__(h.index("id"), r[0][h.index("id")]), "row 3, column id: duplicate key"),
])
def test_a_bad_comparator_row_stops_naming_file_row_and_rule(inst, tmp_path, edit, message):
    import csv

    src = ROOT / "config" / "comparators" / "benchmarks.csv"
    rows = list(csv.reader(src.open(encoding="utf-8")))
    header, body = rows[0], rows[1:]
    edit(header, body)
    bad = tmp_path / "benchmarks.csv"
    with bad.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *body])
    with pytest.raises(ConfigError, match=message) as e:
        S.load_benchmarks(BENCHMARKS, inst, {"benchmarks": bad})
    assert str(bad) in str(e.value)


def test_benchmarks_sit_beside_never_inside_this_surveys_results(inst):
    resp = build("participant_impact", {"overall_impact": {"Very high": 9, "High": 1, "Low": 10}}, inst)
    _, summary, _ = summarise(resp, inst)
    ref = S.load_benchmarks(BENCHMARKS, inst)
    comp = SP.benchmark_comparison(summary, ref["benchmarks"], inst, "participant_impact")
    row = comp.filter(pl.col("bench_source") == "Impact Toolkit").row(0, named=True)
    assert row["this_low"] == pytest.approx(50.0) and row["bench_value"] == 88     # own columns, not pooled
    assert overall(summary, "overall_impact")["pct_positive"] == pytest.approx(50.0)  # summary untouched
    t = SP.publish_benchmark_comparison(comp, threshold=5)
    assert [h for h in t.headers if h.startswith("This survey")] and [h for h in t.headers if h.startswith("Benchmark")]


# --------------------------------------------------------------------------------------------- published checks

def test_published_figure_checks_match_independent_verdicts():
    ref = S.load_benchmarks(BENCHMARKS)
    checks = S.check_published(ref["published"])
    bad = set(checks.filter(~pl.col("consistent"))["statement"])
    assert bad == {"Being trained to lead CPD improved my confidence, skills and teaching",
                   "Received communications after the training",
                   "Made a commitment to deliver CPD within the network",
                   "Satisfaction: Good"}
    for r in checks.iter_rows(named=True):                          # recompute each verdict from scratch
        ks = [k for k in range(r["n"] + 1) if round_half_away(100 * k / r["n"]) == r["pct"]]
        expected = (round_half_away(100 * r["k"] / r["n"]) == r["pct"]) if r["k"] is not None else bool(ks)
        assert r["consistent"] == expected, r["statement"]
    row = checks.filter(pl.col("statement") == "Satisfaction: Good").row(0, named=True)
    assert "110/1,366 = 8.1%" in row["finding"] and "403 to 416" in row["finding"]
    sums = S.check_sums(ref["sums"])
    assert set(sums.filter(~pl.col("consistent"))["source"]) == {"Seed 002, Table 6", "Seed 002, Table 8",
                                                                  "Seed 002, §3.6", "Seed 001, item A"}


# --------------------------------------------------------------------------------------------- publishing

def test_published_tables_apply_disclosure_control(inst):
    resp = build("participant_impact", {"career": {"Agree": 3, "Cannot say": 1},
                                        "fulfilled_aims": {"Agree": 40, "Disagree": 2}}, inst)
    _, summary, levels = summarise(resp, inst)
    t = SP.publish_items(summary, inst, "participant_impact", block="participants", threshold=5)
    body = dict(zip(t.data["Item"], t.data.iter_rows()))
    career = body["The CPD has helped my career development and progression"]
    assert set(career[1:]) == {"c"}
    aims = body["The CPD met the aims I had for it"]
    assert aims[1] == "42" and aims[3] == fmt_pct(100 * 40 / 42)
    none = body["The CPD increased my confidence"]                 # nobody answered: 0 shown, no percentage
    assert none[1:3] == ("0", "0") and set(none[3:]) == {"x"}
    assert find_disclosure_breaches(t.to_html(), 5) == []
    lv = SP.publish_levels(levels, inst, "participant_impact", "fulfilled_aims", threshold=5)
    assert lv.data["%"].to_list()[2] == "c"                        # 2 disagree: count and % suppressed
    assert SP.publish_items(summary, inst, "subject_leader", threshold=5).data.columns == ["Note"]


def test_trained_leaders_commitment_of_all_who_answered(inst):
    """Seed 000's split of all who answered: committed 40%, not 55%, cannot say 5% (here 40, 55 and 5 of 100).
    As a usual frequency table yes and no are % of the 95 substantive answers instead."""
    resp = build("practitioner_leader", {"committed_to_deliver": {"Yes": 40, "No": 55, "Cannot say": 5},
                                         "heard_via": {"A partnership": 15, "National marketing": 7,
                                                       "A colleague": 6, "Other": 2, "Cannot remember": 3},
                                         "follow_up": {"Yes": 11, "No": 19}}, inst)
    _, summary, levels = summarise(resp, inst)
    t = SP.publish_levels(levels, inst, "practitioner_leader", "committed_to_deliver", threshold=5, of_all=True)
    assert t.data.select("Answer", "No.", "%").rows() == [("Yes", "40", "40%"), ("No", "55", "55%"),
                                                          ("Cannot say", "5", "5%"), ("Total (N)", "100", "100%")]
    usual = SP.publish_levels(levels, inst, "practitioner_leader", "committed_to_deliver", threshold=5)
    assert usual.data.select("Answer", "%").rows() == [("Yes", fmt_pct(100 * 40 / 95)),
                                                       ("No", fmt_pct(100 * 55 / 95)), ("Total (N)", "100%"),
                                                       ("Cannot say", "5%")]
    # the total under the answers it adds up, then the answer outside it, saying what its % is of
    assert usual.data["Answer"].to_list() == ["Yes", "No", "Total (N)", "Cannot say"]
    assert usual.data["No."].to_list()[2] == "95"
    assert usual.notes[-1] == "Cannot say: not in the total; % of everyone who answered the question."
    com = SP.item_row(summary, "practitioner_leader", "committed_to_deliver", "all", None)
    assert SP.say(com, "positive_of_all", threshold=5).endswith("(40%)")
    assert SP.say(com, "negative_of_all", threshold=5).endswith("(55%)")
    assert SP.say(com, threshold=5).endswith(f"({fmt_pct(100 * 40 / 95)})")
    assert SP.shown_levels(t) == {"Yes": "40%", "No": "55%", "Cannot say": "5%"}
    # two cannot-say answers: hidden, and the yes hidden with them (else 40 - 22 - 16 gives them away); the
    # chapter's words quote only what is shown
    small = build("practitioner_leader", {"committed_to_deliver": {"Yes": 16, "No": 22, "Cannot say": 2}}, inst)
    _, _, small_levels = summarise(small, inst)
    hidden = SP.publish_levels(small_levels, inst, "practitioner_leader", "committed_to_deliver", threshold=5,
                               of_all=True)
    assert SP.shown_levels(hidden) == {"No": "55%"}
    heard = SP.item_row(summary, "practitioner_leader", "heard_via", "all", None)
    assert (heard["n_positive"], heard["n_substantive"], heard["n_not_substantive"]) == (22, 30, 3)
    assert SP.say(heard, threshold=5).endswith("(73%)")             # seed 000: 73% via partnerships or marketing


# --------------------------------------------------------------------------------------------- figures

def test_figures_are_planned_drawn_and_reproducible(inst, tmp_path):
    resp = build("participant_impact", {
        "overall_impact": {"Very high": 30, "High": 20, "Medium": 5},
        "fulfilled_aims": {"Strongly agree": 20, "Agree": 30, "Disagree": 5, "Cannot say": 3},
        "confidence": {"Strongly agree": 25, "Agree": 30},
        "career": {"Agree": 3},
    }, inst, attrs=lambda j: {"role": "Teacher" if j % 2 else "Technician"})
    _, summary, levels = summarise(resp, inst)
    specs = SF.plan_figures(summary, inst, subgroups=["role"], threshold=5)
    keys = {s.key: s.kind for s in specs}
    assert keys["participant_impact.overall_impact"] == "levels"
    assert keys["participant_impact.participants.agree4"] == "diverging"
    assert keys["participant_impact.participants.agree4.by_role"] == "multiples"
    assert not any(k.startswith("participant_impact.pupils") for k in keys)     # nobody answered that block
    chosen = [s for s in specs if s.key in ("participant_impact.overall_impact",
                                            "participant_impact.participants.agree4")]
    m1 = SF.draw_figures(chosen, summary, levels, inst, tmp_path / "a", threshold=5, year="2015-16")
    m2 = SF.draw_figures(chosen, summary, levels, inst, tmp_path / "b", threshold=5, year="2015-16")
    for a, b in zip(m1, m2):
        assert (tmp_path / "a" / a["file"]).read_bytes() == (tmp_path / "b" / b["file"]).read_bytes()
        side = json.loads((tmp_path / "a" / (a["file"] + ".json")).read_text())
        assert side["alt_text"] and "2015-16" in side["source"]
    div = next(m for m in m1 if m["kind"] == "diverging")
    assert "The CPD has helped my career development and progression: suppressed" in div["alt_text"]
    assert "The CPD met the aims I had for it: 91%" in div["alt_text"]
    side = json.loads((tmp_path / "a" / (div["file"] + ".json")).read_text())
    assert side["n"]["career"] == "c" and side["n"]["fulfilled_aims"] == 55   # n below the threshold not given
    lev = next(m for m in m1 if m["kind"] == "levels")
    assert lev["title"] == "Nine in 10 (91%) answered very high or high"      # 50 of 55


# --------------------------------------------------------------------------------------------- stage and chapter

def write_inputs(tmp_path, inst, responses, coded_rows):
    d = tmp_path / "in"
    d.mkdir()
    responses.write_parquet(d / "responses.parquet")
    coded(coded_rows).with_columns(pl.lit(1).alias("source_row")).write_parquet(d / "coded.parquet")
    pl.DataFrame({"urn": [100001, 100002], "phase_group": ["primary", "secondary"]}).write_parquet(d / "schools.parquet")
    pl.DataFrame({"activity_id": ["A1"], "provider": ["regional"]}).write_parquet(d / "bookings.parquet")
    return d


def run_stage(tmp_path, d):
    out = tmp_path / "out"
    out.mkdir()
    names = ["summary", "levels", "profile", "codes", "coding_issues", "benchmarks", "published"]
    job = NS(input=NS(responses=d / "responses.parquet", coded=d / "coded.parquet", schools=d / "schools.parquet",
                      bookings=d / "bookings.parquet", codebook=CODEBOOK, benchmarks=BENCHMARKS),
             output=NS(**{n: str(out / f"{n}.parquet") for n in names}, figures=str(out / "figures")),
             params=NS(disclosure_min_count=5, fy_start_month=4, year="2015-16"),
             log=None, logger=logging.getLogger("test_surveys"))
    impact_analysis(job)
    return out


def render_chapter(tmp_path, out):
    from cpdeval.render import render_document

    inputs = {"survey_summary": "summary", "survey_levels": "levels", "survey_respondents": "profile",
              "feedback_codes": "codes", "feedback_coding_issues": "coding_issues",
              "survey_benchmarks": "benchmarks", "published_checks": "published"}
    # no invited counts this year: the ingest stage writes an empty table, as for every optional input
    pl.DataFrame(schema=load_contract("survey_invited").polars_schema).write_parquet(out / "invited.parquet")
    inputs["survey_invited"] = "invited"
    params = {"year": "2015-16", "title": "Test year", "disclosure_min_count": 5,
              "inputs": {**{k: str(out / f"{v}.parquet") for k, v in inputs.items()},
                         "survey_figures": str(out / "figures"), "codebook": str(CODEBOOK),
                         "scales": str(INSTRUMENTS / "scales.yaml")}}
    shutil.copy(ROOT / "reports" / "impact.qmd", tmp_path / "impact.qmd")
    if (ROOT / "reports" / "_quarto.yml").exists():
        shutil.copy(ROOT / "reports" / "_quarto.yml", tmp_path / "_quarto.yml")
    [html] = render_document(tmp_path / "impact.qmd", tmp_path / "html", params=params, engine="builtin")
    return html.read_text(encoding="utf-8")


def test_stage_and_chapter_on_a_year_with_two_surveys(inst, tmp_path):
    """A year like config/2015-16.yaml: participant and practitioner-leader surveys only, nothing coded."""
    resp = pl.concat([
        build("participant_impact", {"overall_impact": {"Very high": 40, "High": 48, "Medium": 7},
                                     "career": {"Strongly agree": 20, "Agree": 48, "Disagree": 21, "Cannot say": 11}},
              inst, attrs=lambda j: {"urn": 100001 if j % 3 else 100002}),
        build("practitioner_leader", {"leader_career": {"Agree": 39, "Disagree": 4}}, inst, prefix="L"),
    ])
    out = run_stage(tmp_path, write_inputs(tmp_path, inst, resp, []))
    summary = pl.read_parquet(out / "summary.parquet")
    load_contract("survey_item_summary").pandera_schema().validate(summary)
    manifest = json.loads((out / "figures" / "manifest.json").read_text())
    assert {m["key"] for m in manifest} >= {"participant_impact.overall_impact",
                                             "participant_impact.participants.agree4",
                                             "participant_impact.participants.agree4.by_phase"}
    assert all((out / "figures" / m["file"]).exists() for m in manifest)
    # only the figures the chapter shows are drawn (the answers also allow e.g. the overall rating by phase)
    assert {m["key"] for m in manifest} <= set(SF.CHAPTER_FIGURES)
    assert sorted(p.name for p in (out / "figures").glob("*.png")) == sorted(m["file"] for m in manifest)
    html = render_chapter(tmp_path, out)
    assert find_disclosure_breaches(html, 5) == []
    assert "93%" in html and "over nine in 10 (93%)" in html               # 88 of 95, seed 000 Figure 4
    assert "no post-event feedback" in html and "no responses in this year" in html.lower()
    # checks of the source reports' own figures are for analysts (qa.html), never in the published chapter
    assert "no count of 45 gives 95%" not in html


def test_stage_reports_coding_problems_in_the_chapter(inst, tmp_path):
    resp = build("event_feedback", {"satisfaction": {"Excellent": 6, "Good": 6}, "quality": {"Very good": 12}},
                 inst, prefix="F", attrs=lambda j: {"activity": "A1"})
    rows = [(f"F{j:04d}", "practical_ideas", "2019.1") for j in range(8)] + [("F0009", "wizardry", "2019.1"),
                                                                            ("F0010", "resources", "2017.0")]
    out = run_stage(tmp_path, write_inputs(tmp_path, inst, resp, rows))
    issues = pl.read_parquet(out / "coding_issues.parquet")
    assert set(issues["issue"]) == {"unknown_code", "version_mismatch"}
    codes = pl.read_parquet(out / "codes.parquet")
    assert codes.filter((pl.col("subgroup") == "all") & (pl.col("code") == "practical_ideas"))["comments"][0] == 8
    prov = codes.filter(pl.col("subgroup") == "provider")["group"].unique().to_list()
    assert prov == ["Regional partnership"]
    html = render_chapter(tmp_path, out)
    assert "Coding problems" in html and "wizardry" in html and "2017.0" in html
    assert find_disclosure_breaches(html, 5) == []


# ============================================================================================= reproduction
# Response sets whose counts match the published figures; the pipeline must print the published percentages.

def printed(summary, item, what="positive"):
    return fmt_pct(overall(summary, item)[f"pct_{what}"])


def test_reproduces_seed_000_participant_survey(inst):
    """Figs 4, 6, 7, 8: 93% of 95; 97%, 98%, 98% (n 98-100, 4-5 in 10 strongly agree); 76% with 11% cannot say;
    93%, 90% (18%), 63% (30%), 66% (27%); 91% (21%), 92% (30%), eight in 10 (38%)."""
    per_item = {
        "overall_impact": {"Very high": 45, "High": 43, "Medium": 6, "Low": 1},                       # 88/95
        "fulfilled_aims": {"Strongly agree": 45, "Agree": 51, "Disagree": 3, "Cannot say": 1},        # 96/99
        "confidence": {"Strongly agree": 48, "Agree": 50, "Disagree": 2},                              # 98/100
        "practice": {"Strongly agree": 44, "Agree": 53, "Disagree": 2, "Cannot say": 1},              # 97/99
        "career": {"Strongly agree": 20, "Agree": 48, "Disagree": 21, "Cannot say": 11},              # 68/89
        "shared_learning": {"Strongly agree": 40, "Agree": 49, "Disagree": 7, "Cannot say": 4},       # 89/96
        "colleagues_practice": {"Strongly agree": 25, "Agree": 49, "Disagree": 8, "Cannot say": 18},  # 74/82
        "subject_priorities": {"Strongly agree": 10, "Agree": 34, "Disagree": 26, "Cannot say": 30},  # 44/70
        "evaluating_practice": {"Strongly agree": 12, "Agree": 36, "Disagree": 25, "Cannot say": 27}, # 48/73
        "pupil_engagement": {"Strongly agree": 26, "Agree": 46, "Disagree": 7, "Cannot say": 21},     # 72/79
        "pupil_progress": {"Strongly agree": 23, "Agree": 42, "Disagree": 6, "Cannot say": 30},       # 65/71
        "pupil_further_study": {"Strongly agree": 15, "Agree": 32, "Disagree": 12, "Cannot say": 36}, # 47/59
    }
    resp = build("participant_impact", per_item, inst)
    _, summary, _ = summarise(resp, inst)
    assert overall(summary, "overall_impact")["n_substantive"] == 95
    published = {"overall_impact": "93%", "fulfilled_aims": "97%", "confidence": "98%", "practice": "98%",
                 "career": "76%", "shared_learning": "93%", "colleagues_practice": "90%", "subject_priorities": "63%",
                 "evaluating_practice": "66%", "pupil_engagement": "91%", "pupil_progress": "92%",
                 "pupil_further_study": "80%"}
    for item, pct in published.items():
        assert printed(summary, item) == pct, item
    cannot_say = {"career": "11%", "colleagues_practice": "18%", "subject_priorities": "30%",
                  "evaluating_practice": "27%", "pupil_engagement": "21%", "pupil_progress": "30%",
                  "pupil_further_study": "38%"}
    for item, pct in cannot_say.items():
        assert printed(summary, item, "not_substantive") == pct, item
    for item in ("fulfilled_aims", "confidence", "practice"):
        assert 98 <= overall(summary, item)["respondents"] <= 100
        assert 40 <= overall(summary, item)["pct_top"] <= 50          # "between 4 and 5 in 10 strongly agreed"
    # the narrative words, from the same numbers
    row = overall(summary, "overall_impact")
    assert SP.say(row, threshold=5) == "over nine in 10 (93%)"
    assert SP.say(overall(summary, "career"), threshold=5) == "three quarters (76%)"
    assert SP.say(overall(summary, "pupil_further_study"), threshold=5) == "eight in 10 (80%)"
    assert SP.say(overall(summary, "pupil_further_study"), "top", threshold=5) == "one quarter (25%)"
    assert SP.say(overall(summary, "pupil_engagement"), "top", threshold=5) == "one third (33%)"
    t = SP.publish_items(summary, inst, "participant_impact", block="pupils", threshold=5)
    assert t.data["% Strongly agree or Agree"].to_list() == ["91%", "92%", "80%"]
    assert t.data["% Cannot say (of respondents)"].to_list() == ["21%", "30%", "38%"]


def test_reproduces_seed_000_practitioner_leaders_and_records_the_impossible_figure(inst):
    """Fig 10: 91% of 43, 97% of 35 reproduce; 95% of 45 cannot arise from any count of 45.
    Fig 14 (n = 56): 68%, 16%, 20%, 46%, 30%."""
    per_item = {"leader_career": {"Strongly agree": 18, "Agree": 21, "Disagree": 4},        # 39/43
                "leader_recipients": {"Strongly agree": 20, "Agree": 14, "Disagree": 1}}     # 34/35
    ticks = [["own_school"]] * 26 + [["network"]] * 11 + [["other_partnerships"]] * 10 \
        + [["other_partnerships", "intend_not_yet"]] * 7 + [["intend_not_yet"]] * 2
    assert len(ticks) == 56
    resp = build("practitioner_leader", {**per_item, "delivered_any": {"Yes": 38, "No": 18},
                                         "delivered_where": ticks}, inst)
    _, summary, _ = summarise(resp, inst)
    assert printed(summary, "leader_career") == "91%" and overall(summary, "leader_career")["n_substantive"] == 43
    assert printed(summary, "leader_recipients") == "97%" and overall(summary, "leader_recipients")["n_substantive"] == 35
    assert printed(summary, "delivered_any") == "68%"
    for opt, pct in {"intend_not_yet": "16%", "network": "20%", "own_school": "46%", "other_partnerships": "30%"}.items():
        r = overall(summary, f"delivered_where:{opt}")
        assert r["respondents"] == 56 and fmt_pct(r["pct_positive"]) == pct, opt
    # 95% of 45: no whole count gives it with half-away rounding (42/45 = 93.3%, 43/45 = 95.6%) ...
    assert counts_giving(95, 45) == []
    assert [fmt_pct(100 * k / 45) for k in (42, 43)] == ["93%", "96%"]
    # ... but it arises if the stated n includes the 7-17 "cannot say" answers that the % excludes
    assert any(counts_giving(95, 45 - c) for c in range(7, 18))
    # and the other questions said to have n = 56 had another base
    assert counts_giving(37, 56) == [] and counts_giving(40, 56) == []


def test_reproduces_seed_001_subject_leader_survey_by_phase(inst):
    """Annex A (1-4 + N/A): F 37% very high + 51% high = 88%; G 64 of 102 = 63%, primary 83% vs secondary 54%
    (N/A excluded from the denominator, phase from the register)."""
    schools = pl.DataFrame({"urn": [200001, 200002], "phase_group": ["primary", "secondary"]})
    g = ["1"] * 10 + ["2"] * 15 + ["3"] * 5 + ["N/A"] * 2 \
        + ["1"] * 12 + ["2"] * 27 + ["3"] * 23 + ["4"] * 10           # 32 primary then 72 secondary
    f = ["1"] * 37 + ["2"] * 51 + ["3"] * 10 + ["4"] * 2 + ["N/A"] * 4
    resp = build("subject_leader", {"impact_colleagues": g, "impact_participants": f}, inst,
                 attrs=lambda j: {"urn": 200001 if j < 32 else 200002, "role": "Subject Leader"})
    _, summary, _ = summarise(resp, inst, schools=schools)
    F = overall(summary, "impact_participants")
    assert (fmt_pct(F["pct_top"]), fmt_pct(F["pct_positive"])) == ("37%", "88%")
    G = overall(summary, "impact_colleagues")
    assert (G["n_positive"], G["n_substantive"], G["respondents"]) == (64, 102, 104)
    assert fmt_pct(G["pct_positive"]) == "63%"
    by = {r["group"]: fmt_pct(r["pct_positive"]) for r in summary.filter(
        (pl.col("item_id") == "impact_colleagues") & (pl.col("subgroup") == "phase")).iter_rows(named=True)}
    assert by == {"Primary": "83%", "Secondary": "54%"}
    t = SP.publish_by_group(summary, inst, "subject_leader", "phase", items=["impact_colleagues"], threshold=5)
    assert t.data["% 1 or 2"].to_list() == ["83%", "54%"] and t.data["n"].to_list() == ["30", "72"]


# -- seed 002: the D3 post-event feedback form, defined as a new instrument with the report's wording

TABLE5 = [("Teacher", 812, "66%"), ("Senior leader (Head Teacher)", 120, "10%"), ("Middle leader", 139, "11%"),
          ("Teaching assistant", 58, "5%"), ("Technician", 20, "2%"), ("Other", 29, "2%"), ("Senior leader", 26, "2%"),
          ("Subject leader", 18, "1%"), ("Nursery Nurse", 1, "0%"), ("Trainee", 1, "0%")]
TABLE8 = [  # statement, DS, D, A, AS (published %), base, rank
    ("The CPD was well organised and planned", (0, 0, 32, 68), 1513, "1st"),
    ("The CPD was relevant and useful", (0, 0, 33, 66), 1516, "2nd"),
    ("Learning outcomes for this CPD were met", (0, 0, 35, 65), 1509, "3rd"),
    ("The CPD will have impact on my future practice", (0, 1, 39, 60), 1509, "4th="),
    ("The CPD will have impact on the students I teach", (0, 1, 39, 60), 1496, "4th="),
    ("I will share this learning with other colleagues (in our school, school grouping or in other schools)",
     (0, 1, 40, 59), 1493, "6th"),
    ("It has improved my subject knowledge and skills", (0, 2, 42, 56), 1507, "7th"),
]


@pytest.fixture(scope="module")
def d3(tmp_path_factory):
    """Seed 002's feedback form as an instrument definition: no code, only YAML."""
    folder = tmp_path_factory.mktemp("d3")
    shutil.copy(INSTRUMENTS / "scales.yaml", folder / "scales.yaml")
    items = [{"id": "satisfaction", "column": "Sat", "scale": "satisfaction5", "block": "ratings",
              "text": "How satisfied have you been with the CPD provided by STEM Learning?"},
             {"id": "quality", "column": "Qual", "scale": "quality4", "block": "ratings",
              "text": "How would you rate the overall quality of CPD you have received?"}]
    items += [{"id": f"s{i}", "column": f"S{i}", "scale": "agree4_feedback", "block": "statements", "text": text}
              for i, (text, *_rest) in enumerate(TABLE8, start=1)]
    (folder / "d3_feedback.yaml").write_text(yaml.safe_dump({
        "name": "d3_feedback", "title": "D3 CPD feedback form", "respondent": {"id": "ID", "submitted": "Date", "role": "Role"},
        "roles": [r for r, *_ in TABLE5], "items": items}))
    return S.load_instruments(["d3_feedback"], folder)


def counts_for(pcts, n):
    """Whole counts that print as the published percentages of n and add up to n (or None if there are none)."""
    options = [counts_giving(p, n) for p in pcts]
    if not all(options):
        return None
    ks = [o[0] for o in options]
    spare = n - sum(ks)
    for i, o in enumerate(options):
        step = min(spare, o[-1] - ks[i])
        ks[i] += step
        spare -= step
    return ks if spare == 0 else None


def test_reproduces_seed_002_table_5_roles(d3):
    roles = [r for r, c, _ in TABLE5 for _ in range(c)] + [None] * 293   # 1,224 gave a role of 1,517
    resp = build("d3_feedback", {"satisfaction": ["Good"] * len(roles)}, d3, attrs=lambda j: {"role": roles[j]})
    prof = S.respondent_profile(S.prepare_responses(resp), d3)
    t = SP.publish_profile(prof, "d3_feedback", "role", threshold=0)          # as published: no suppression
    got = dict(zip(t.data["Role"], zip(t.data["No."], t.data["%"])))
    for role, count, pct in TABLE5:
        assert got[role] == (f"{count:,}", pct), role
    assert got["Total (role known)"] == ("1,224", "100%") and got["Not known"][0] == "293"
    t5 = SP.publish_profile(prof, "d3_feedback", "role", threshold=5)         # with disclosure control
    assert dict(zip(t5.data["Role"], t5.data["%"]))["Trainee"] == "c"


def test_reproduces_seed_002_tables_6_and_7_and_records_the_typo(d3):
    # Table 6 as printed (0, 14, 110, 519, 423; N = 1,366) cannot be: 110 is 8%, the counts add up to 1,066
    assert not rounds_to(110, 1366, 30) and 0 + 14 + 110 + 519 + 423 == 1066
    assert counts_for([0, 1, 30, 38, 31], 1366) is not None and 1366 - (14 + 519 + 423) == 410 and rounds_to(410, 1366, 30)
    sat = {"Poor": 0, "Fair": 14, "Good": 410, "Very good": 519, "Excellent": 423}
    qual = {"Poor": 0, "Satisfactory": 21, "Good": 429, "Very good": 989}
    resp = build("d3_feedback", {"satisfaction": sat, "quality": qual}, d3)
    _, summary, levels = summarise(resp, d3)
    t6 = SP.publish_levels(levels, d3, "d3_feedback", "satisfaction", threshold=0)
    assert dict(zip(t6.data["Answer"], t6.data["%"])) == {"Excellent": "31%", "Very good": "38%", "Good": "30%",
                                                         "Fair": "1%", "Poor": "0%", "Total (N)": "100%"}
    assert t6.data["No."].to_list()[-1] == "1,366"
    t7 = SP.publish_levels(levels, d3, "d3_feedback", "quality", threshold=0)
    assert dict(zip(t7.data["Answer"], t7.data["%"])) == {"Very good": "69%", "Good": "30%", "Satisfactory": "1%",
                                                         "Poor": "0%", "Total (N)": "100%"}
    assert t7.data["No."].to_list()[-1] == "1,439"
    assert printed(summary, "quality") == "99%"                        # good or very good, as the text says
    t7c = SP.publish_levels(levels, d3, "d3_feedback", "quality", threshold=5)
    assert dict(zip(t7c.data["Answer"], t7c.data["%"]))["Poor"] == "0%"     # a zero is shown, as DfE shows it


def test_reproduces_seed_002_quality_by_role(d3):
    roles = ["Senior leader (Head Teacher)"] * 120 + ["Middle leader"] * 139
    answers = ["Good"] * 82 + ["Very good"] * 35 + ["Satisfactory"] * 3 + ["Good"] * 26 + ["Very good"] * 106 \
        + ["Satisfactory"] * 7
    resp = build("d3_feedback", {"quality": answers}, d3, attrs=lambda j: {"role": roles[j]})
    _, summary, levels = summarise(resp, d3)
    t = SP.publish_level_matrix(levels, summary, d3, "d3_feedback", subgroup="role", by_group_item="quality",
                               threshold=5, worst_first=False)
    rows = {r[0]: r for r in t.data.iter_rows()}
    head, middle = rows["Senior leader (Head Teacher)"], rows["Middle leader"]
    col = {h: i for i, h in enumerate(t.headers)}
    assert (head[col["Good"]], head[col["Very good"]], head[col["Base"]]) == ("68%", "29%", "120")
    assert (middle[col["Good"]], middle[col["Very good"]], middle[col["Base"]]) == ("19%", "76%", "139")


def test_feedback_bases_by_role_hide_the_same_roles_in_both_chapters(d3):
    """The Impact chapter's quality-by-role table and the targeted chapter's feedback table show the number
    answering the quality question by role; the second also its total and "Not known". Published apart (each
    chapter in its own process), a reader's review found the 4 nursery nurses given back: 98 answers, less the
    roles the first table showed (Trainee 6 among them), less "Not known" 28 in the second. Now the first has the
    total and "Not known" rows itself, the second replays it, and a reader with both finds no hidden count."""
    from cpdeval import targeted_publish as TP
    from cpdeval.disclosure import Problem, attack
    from cpdeval.tables import _parse_number, separate_links

    roles = ["Teacher"] * 60 + ["Trainee"] * 6 + ["Nursery Nurse"] * 4 + [None] * 28
    answers = (["Good", "Very good"] * 49)[:98]
    resp = build("d3_feedback", {"quality": answers, "satisfaction": ["Good"] * 98}, d3,
                 attrs=lambda j: {"role": roles[j]})
    _, summary, levels = summarise(resp, d3)
    with separate_links():    # the Impact chapter
        impact = SP.publish_level_matrix(levels, summary, d3, "d3_feedback", subgroup="role", by_group_item="quality",
                                         threshold=5, worst_first=False, link=SP.FEEDBACK_ROLE_LINK)
    with separate_links():    # the targeted chapter, in another process
        targeted = TP.publish_feedback_role(summary.with_columns(instrument=pl.lit("event_feedback")), threshold=5)
    base = dict(zip(impact.data["Group"], impact.data["Base"]))
    assert list(base) == ["All respondents", "Teacher", "Nursery Nurse", "Trainee", "Not known"]
    assert base["All respondents"] == "98" and base["Nursery Nurse"] == "c"
    quality = dict(zip(targeted.data["Role"], targeted.data["Quality: respondents"]))
    assert {g for g, v in base.items() if v == "c"} <= {g for g, v in quality.items() if v == "c"}
    problem = Problem()
    for shown in (base, quality):
        for group, text in shown.items():
            if text == "c":
                problem.suppressed.add(group)
            else:
                problem.published[group] = _parse_number(text)
    problem.suppressed -= set(problem.published)
    problem.equations.append(("All respondents", tuple(g for g in base if g != "All respondents")))
    assert attack(problem, 5) == []


def test_reproduces_seed_002_table_8_with_ranks(d3):
    per_item = {}
    for i, (text, pcts, base, _rank) in enumerate(TABLE8, start=1):
        ks = counts_for(list(pcts), base)
        assert ks is not None, text                                    # every row can arise from whole counts
        per_item[f"s{i}"] = dict(zip(["Disagree strongly", "Disagree", "Agree", "Agree strongly"], ks))
    # "relevant and useful" (0, 0, 33, 66 of 1,516): with 7 disagreeing (0.5%, printed 0%) it still prints as
    # published, and agreement (1,509 of 1,516) rounds to the 100% the executive summary quotes
    per_item["s2"] = {"Disagree strongly": 0, "Disagree": 7, "Agree": 507, "Agree strongly": 1002}
    resp = build("d3_feedback", per_item, d3)
    _, summary, levels = summarise(resp, d3)
    t = SP.publish_level_matrix(levels, summary, d3, "d3_feedback", block="statements", threshold=5, rank="top")
    assert t.headers == ["Statement", "Disagree strongly", "Disagree", "Agree", "Agree strongly", "Base", "Rank"]
    by_text = {r[0]: r for r in t.data.iter_rows()}
    for text, pcts, base, rank in TABLE8:
        r = by_text[text]
        assert [x for x, p in zip(r[1:5], pcts) if p >= 1] == [f"{p}%" for p in pcts if p >= 1], text
        assert r[5] == f"{base:,}" and r[6] == rank, text
    t0 = SP.publish_level_matrix(levels, summary, d3, "d3_feedback", block="statements", threshold=0, rank="top")
    for (text, pcts, base, rank), r in zip(TABLE8, t0.data.iter_rows()):
        assert list(r[1:5]) == [f"{p}%" for p in pcts], text           # as published, zeros included
    assert printed(summary, "s2") == "100%"                           # though the row adds up to 99%


def test_reproduces_seed_002_table_9_order_with_a_versioned_codebook(tmp_path):
    reasons = ["Practical ideas", "Assessment information", "Ideas for class and outdoors", "Sharing practice",
               "Inexpensive resources", "Thought processes", "Working scientifically", "Stimulating pupils",
               "Engagement and planning", "Vocabulary", "Clear targets", "Sharing resources", "Cross-curricular",
               "Leadership strategies", "Reviewing concepts", "Investigations", "Relatable practice",
               "Help for NQTs and non-specialists", "Challenging attitudes", "Lesson structure", "Empathy",
               "Approaches to CPD", "Applying science skills", "STEM Ambassadors"]
    ids = [f"reason_{i:02d}" for i in range(1, 25)]
    (tmp_path / "t9.yaml").write_text(yaml.safe_dump({
        "version": "2020.1", "title": "Seed 002 Table 9 frame",
        "codes": [{"id": c, "label": r, "description": r} for c, r in zip(ids, reasons)]}))
    cb = S.load_codebook(tmp_path / "t9.yaml")
    # reason i is given in 100 - 4 i comments (96 down to 4): 1,200 codes on 1,094 comments, 106 with two codes
    applications = [ids[i] for i in range(24) for _ in range(100 - 4 * (i + 1))]
    rows = [(f"c{t % 1094:04d}", code, "2020.1") for t, code in enumerate(applications)]
    freq = S.code_frequencies(coded(rows), cb)
    allf = freq.filter(pl.col("subgroup") == "all").sort(["rank", "code_order"])
    assert set(allf["base"]) == {1094}
    assert allf["label"].to_list() == reasons                         # ranked by frequency: Table 9's order
    assert allf["comments"].to_list() == [100 - 4 * i for i in range(1, 25)]
    t = SP.publish_codes(freq, threshold=5)
    assert t.data["Comments"].to_list()[-1] == "1,094"
    assert t.data["% of coded comments"].to_list()[0] == fmt_pct(100 * 96 / 1094) == "9%"
    assert t.data["Comments"].to_list()[23] == "c"                    # 4 comments: below the threshold
    assert allf["rank_label"].to_list()[0] == "1st"


def test_chapter_sentence_helpers_know_their_answers():
    profile = pl.DataFrame({"instrument": ["a", "a", "b"], "all_respondents": [40, 40, 3]})
    assert SP.respondents(profile, "a") == 40 and SP.respondents(profile, "b") == 3
    assert SP.respondents(profile, "missing") == 0
    summary = pl.DataFrame({
        "instrument": ["x"] * 5, "subgroup": ["all", "all", "all", "role", "all"],
        "block": ["b1", "b1", "b1", "b1", "b2"], "kind": ["single", "single", "multi", "single", "single"],
        "item_order": [2, 1, 3, 0, 0], "item_id": ["i2", "i1", "i3", "i0", "j0"],
        "n_substantive": [50, 4, 50, 50, 50], "pct_positive": [92.5, 10.0, 50.0, 20.0, 30.0],
        "pct_top": [40.4, 1.0, 1.0, 1.0, 1.0]})
    rows = SP.block_rows(summary, "x", "b1")
    assert rows["item_id"].to_list() == ["i1", "i2"]                       # overall, single answers, in order
    assert SP.pct_span(rows, 5) == "93%"                                   # i1's base of 4 is not published
    assert SP.pct_span(rows, 3) == "from 10% to 93%"
    assert SP.pct_span(rows, 3, "pct_top") == "from 1% to 40%"
    assert SP.pct_span(rows, 60) == "too few answers to report"
    # as a verb phrase: never "ranged 93%"
    assert (SP.pct_range(rows, 3), SP.pct_range(rows, 5), SP.pct_range(rows, 60)) == (
        "ranged from 10% to 93%", "was 93% for each", "could not be reported (too few answers)")
    assert SP.n_text(rows.row(1, named=True), 5) == "50" and SP.n_text(None, 5) == "none"
    assert SP.n_text(rows.row(0, named=True), 5) == "fewer than 5"


def test_the_figures_drawn_are_the_figures_the_chapter_shows():
    """The survey stage draws CHAPTER_FIGURES alone: a figure the chapter asks for must be in it, and one the
    chapter no longer shows must leave it (it would be drawn for nobody)."""
    import re

    shown = re.findall(r'^figure\("([^"]+)"', (ROOT / "reports" / "impact.qmd").read_text(encoding="utf-8"), re.M)
    assert shown and sorted(shown) == sorted(SF.CHAPTER_FIGURES)


def test_a_figure_the_stage_does_not_draw_stops_the_chapter(tmp_path):
    from cpdeval.surveys_publish import figure_markdown

    (tmp_path / "manifest.json").write_text("[]", encoding="utf-8")
    assert figure_markdown(tmp_path, "participant_impact.overall_impact", "fig-x") is None   # no answers this year
    with pytest.raises(ValueError, match="does not draw the figure 'participant_impact.overall_impact.by_role'"):
        figure_markdown(tmp_path, "participant_impact.overall_impact.by_role", "fig-x")
