"""Survey exports: instrument definitions drive the wide -> long reshaping and the validation."""

import polars as pl
import pytest

from cpdeval.ingest.surveys import list_instruments, load_instrument, read_survey, wide_contract

from conftest import write_csv


def participant_file(tmp_path, rows):
    inst = load_instrument("participant_impact")
    header = ["Response ID", "Completed", "Role", "School URN"] + [i["column"] for i in inst.items]
    lines = []
    for r in rows:
        cells = [r.get(h, "") for h in header]
        lines.append(",".join(cells))
    return write_csv(tmp_path / "participant_impact.csv", ",".join(header), lines, bom=False, crlf=False)


def test_every_instrument_builds_a_contract():
    names = list_instruments()
    assert {"participant_impact", "practitioner_leader", "subject_leader", "event_feedback"} <= set(names)
    for name in names:
        inst = load_instrument(name)
        c = wide_contract(inst)
        assert c.key == ("respondent_id",)
        c.pandera_schema()


def test_wide_to_long_with_cannot_say_and_skips(tmp_path):
    path = participant_file(tmp_path, [
        {"Response ID": "R1", "Completed": "03/03/2019 10:15", "Role": "Teacher", "School URN": "100001",
         "Q1": "Very high", "Q2_1": "Strongly agree", "Q4_3": "Cannot say"},
        {"Response ID": "R2", "Completed": "04/03/2019 11:00", "Role": "Technician", "Q1": "Low", "Q2_1": "Agree"},
    ])
    result, long = read_survey(str(path), "participant_impact")
    assert result.accepted.height == 2 and result.quarantine.height == 0
    assert long.height == 5  # blanks are skipped items, not answers
    r1 = long.filter(pl.col("respondent_id") == "R1")
    assert dict(zip(r1["item_id"], r1["response_kind"])) == {
        "overall_impact": "substantive", "fulfilled_aims": "substantive", "pupil_further_study": "not_substantive"}
    assert str(r1["submitted"][0]) == "2019-03-03"
    assert long.filter(pl.col("respondent_id") == "R2")["urn"].null_count() == 2


def test_answer_outside_the_scale_quarantines_the_respondent(tmp_path):
    path = participant_file(tmp_path, [
        {"Response ID": "R1", "Role": "Teacher", "Q1": "Very high"},
        {"Response ID": "R2", "Role": "Teacher", "Q1": "Stupendous"},
        {"Response ID": "R1", "Role": "Teacher", "Q1": "High"},
    ])
    result, long = read_survey(str(path), "participant_impact")
    assert result.accepted["respondent_id"].to_list() == ["R1"]
    q = result.quarantine
    assert set(zip(q["source_row"], q["column"])) == {(3, "item__overall_impact"), (4, "respondent_id")}
    assert result.reconciliation[0].balanced and result.reconciliation[0].rows_quarantined == 2
    assert set(long["respondent_id"]) == {"R1"}


def test_multi_select_keeps_unticked_options_of_respondents_who_answered(tmp_path):
    inst = load_instrument("practitioner_leader")
    opts = [o["column"] for o in inst.multi_select[0]["options"]]
    items = [i["column"] for i in inst.items]
    header = ["Response ID", "Completed", "Role", "School URN"] + items + opts
    blank_items = "," * len(items)
    rows = ["R1,,Teacher,," + blank_items + ",".join("1" if i in (0, 2) else "" for i in range(len(opts))),
            "R2,,Teacher,," + blank_items + ",".join("" for _ in opts)]
    path = write_csv(tmp_path / "pl.csv", ",".join(header), rows, bom=False)
    result, long = read_survey(str(path), inst)
    assert set(long["respondent_id"]) == {"R1"}  # R2 did not answer the question
    ticked = long.filter(pl.col("response_kind") == "ticked")["item_id"].to_list()
    assert ticked == ["delivered_where:own_school", "delivered_where:other_partnerships"]
    assert long.height == len(opts)


def test_unknown_instrument_names_the_known_ones():
    with pytest.raises(KeyError, match="participant_impact"):
        load_instrument("no_such_survey")
