"""The pipeline benchmark (benchmarks/run_pipeline.py): every bad row it plants is one the contracts quarantine,
and it measures what it says it measures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BOOKING_HEADER, GOOD_BOOKING, ROOT, write_csv

sys.path.insert(0, str(ROOT / "benchmarks"))
import run_pipeline as B  # noqa: E402

KEY = b"cpdeval-tests-only-key-0123456789abcdef"


@pytest.mark.parametrize("breakage", B.BREAKAGES, ids=lambda b: f"{b[0]}={str(b[1])[:12]}")
def test_every_planted_breakage_is_quarantined_once(tmp_path, breakage):
    import csv

    from cpdeval.ingest.bookings import read_bookings

    path = write_csv(tmp_path / "bookings.csv", BOOKING_HEADER, [GOOD_BOOKING.format(n=n) for n in (1, 2, 3)])
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    B.break_row(rows, {h: i for i, h in enumerate(rows[0])}, 2, breakage)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    result = read_bookings([str(path)], KEY)
    assert result.accepted.height == 2
    assert result.quarantine["source_row"].unique().to_list() == [3]      # the broken row (header is line 1)


def test_plant_bad_rows_breaks_about_one_row_in_every(tmp_path):
    (tmp_path / "bookings").mkdir()
    write_csv(tmp_path / "bookings" / "a.csv", BOOKING_HEADER, [GOOD_BOOKING.format(n=n) for n in range(2000)])
    before = (tmp_path / "bookings" / "a.csv").read_bytes()
    broken = B.plant_bad_rows(tmp_path, every=50, seed=1)
    assert 20 <= broken <= 60
    after = (tmp_path / "bookings" / "a.csv").read_bytes()
    assert after.startswith(b"\xef\xbb\xbf") and after.count(b"\r\n") == before.count(b"\r\n")
    assert B.plant_bad_rows(tmp_path, every=10**9, seed=1) == 0


def test_the_tree_sampler_sees_memory_a_child_holds():
    code = "import time; b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(1.0)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    sampler = B.TreeSampler(proc.pid, every=0.05)
    sampler.start()
    proc.wait()
    time.sleep(0.1)
    sampler.done.set()
    sampler.join()
    assert 300 <= sampler.peak_single <= sampler.peak_total < 1000


@pytest.mark.slow
def test_the_benchmark_runs_and_accounts_for_every_row(tmp_path):
    out = tmp_path / "small-dirty.json"
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_pipeline.py"), "--size", "small",
                          "--dirty", "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    r = json.loads(out.read_text())
    bookings = r["rows"]["bookings"]
    assert r["bad_rows_planted"] > 50 and bookings["rows_quarantined"] == r["bad_rows_planted"]
    for t in r["rows"].values():
        assert t["rows_in"] == t["rows_accepted"] + t["rows_quarantined"] + t["rows_set_aside"]
    jobs = {j["job"] for j in r["jobs"]}
    assert {"ingest_bookings", "link", "engagement", "render_delivery", "report"} <= jobs
    assert r["full_run"]["wall_s"] > 0 and r["full_run"]["peak_process_mib"] > 100
    assert r["full_run"]["peak_all_processes_mib"] >= r["full_run"]["peak_process_mib"]
    shown = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_pipeline.py"), "--show", str(out)],
                           capture_output=True, text=True, cwd=ROOT)
    assert shown.returncode == 0, shown.stderr
    assert f"{r['bad_rows_planted']:,} bad rows planted" in shown.stdout and "ingest_bookings" in shown.stdout
    assert f"{r['full_run']['wall_s']:.1f} s wall" in shown.stdout
    keep = os.environ.get("CPDEVAL_KEEP_BENCHMARK")   # CI keeps the measurement (.ci/run prints it)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(out, Path(keep) / out.name)
