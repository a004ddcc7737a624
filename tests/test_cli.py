"""The analyst command line: validate one export, describe a config's inputs, generate a year."""

from cpdeval.cli import main

from conftest import GOOD_BOOKING, ROOT


def test_validate_reports_what_would_be_quarantined(booking_file, capsys):
    bad = GOOD_BOOKING.format(n=2).replace("1.5,Attended", "-1,Attended")
    path = booking_file([GOOD_BOOKING.format(n=1), bad])
    assert main(["validate", str(path), "--as", "bookings"]) == 1
    out = capsys.readouterr().out
    assert "2 rows in, 1 would be accepted, 1 quarantined" in out and "minimum 0" in out and "row 3" in out


def test_validate_clean_file(booking_file, capsys):
    assert main(["validate", str(booking_file([GOOD_BOOKING.format(n=1)])), "--as", "bookings"]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_validate_unusable_file_is_one_message(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert main(["validate", str(empty), "--as", "bookings"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cpdeval: ") and "empty.csv" in err and "Traceback" not in err


def test_describe_lists_inputs_relative_to_the_working_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["describe", "--configfile", str(ROOT / "config" / "config.yaml")]) == 0  # synthetic: generated
    out = capsys.readouterr().out
    assert "[missing] data/raw/synthetic/bookings/booking_export_FY2018-19.csv" in out


def test_synth_writes_a_year(tmp_path, capsys):
    assert main(["synth", "--size", "small", str(tmp_path / "y")]) == 0
    assert (tmp_path / "y" / "manifest.json").exists()
