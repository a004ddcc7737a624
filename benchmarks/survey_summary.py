"""Time the survey summaries at national scale: 15,000 responses x 30 items, every subgroup.

    python benchmarks/survey_summary.py [--respondents 15000] [--items 30] [--repeat 5]

Builds a synthetic long response table (as ingest/survey_responses.parquet holds it) for a 30-item instrument
written as a YAML definition in a temporary folder, with roles, school URNs (phase from a register table),
activities (provider from a booking table) and submission dates over two financial years, then times what the
survey stage computes before drawing figures: subgroup columns, the tally, the item summary (n, % positive,
% top, % cannot say, Wilson intervals, ranks) for overall + role + phase + provider + year, the answer
distributions and the respondent profile. Target: under 3 seconds. Prints one line per repeat and the median.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def make_data(n_resp: int, n_items: int, folder: Path, seed: int = 1):
    import numpy as np
    import polars as pl
    import yaml

    from cpdeval import surveys as S

    shutil.copy(ROOT / "schemas" / "instruments" / "scales.yaml", folder / "scales.yaml")
    items = [{"id": f"q{i:02d}", "column": f"Q{i}", "scale": "agree4", "block": f"block{i % 3}",
              "text": f"Statement {i}"} for i in range(n_items)]
    roles = ["Teacher", "Technician", "Subject Leader", "Teaching Assistant", "Other"]
    (folder / "bench.yaml").write_text(yaml.safe_dump({
        "name": "bench", "title": "Benchmark survey", "roles": roles,
        "respondent": {"id": "ID", "submitted": "Date", "role": "Role", "urn": "URN"}, "items": items}))
    instruments = S.load_instruments(["bench"], folder)

    rng = np.random.default_rng(seed)
    labels = np.array(["Strongly agree", "Agree", "Disagree", "Strongly disagree", "Cannot say"])
    probs = np.array([0.42, 0.43, 0.06, 0.02, 0.07])
    urns = 100000 + np.arange(3000)
    schools = pl.DataFrame({"urn": urns, "phase_group": rng.choice(
        ["primary", "secondary", "all_through", "special", "post16"], size=urns.size, p=[0.55, 0.3, 0.05, 0.05, 0.05])})
    acts = np.array([f"A{i:04d}" for i in range(600)])
    bookings = pl.DataFrame({"activity_id": acts, "provider": rng.choice(["national", "regional", "other"], acts.size)})
    resp_role = rng.choice(roles + [None], n_resp, p=[0.6, 0.1, 0.15, 0.05, 0.05, 0.05])
    resp_urn = np.where(rng.random(n_resp) < 0.9, rng.choice(urns, n_resp), -1)
    resp_act = rng.choice(acts, n_resp)
    day0 = np.datetime64("2018-04-01")
    resp_day = day0 + rng.integers(0, 500, n_resp).astype("timedelta64[D]")
    answered = rng.random((n_resp, n_items)) > 0.03                 # 3% of items left blank
    answers = rng.choice(labels, size=(n_resp, n_items), p=probs)
    r_idx, i_idx = np.nonzero(answered)
    resp = answers[r_idx, i_idx]
    long = pl.DataFrame({
        "instrument": np.full(r_idx.size, "bench"),
        "respondent_id": np.char.add("R", r_idx.astype(str)),
        "submitted": resp_day[r_idx],
        "role": resp_role[r_idx],
        "urn": resp_urn[r_idx],
        "activity_id": resp_act[r_idx],
        "item_id": np.array([it["id"] for it in items])[i_idx],
        "response": resp,
        "response_kind": np.where(resp == "Cannot say", "not_substantive", "substantive"),
    }).with_columns(pl.col("submitted").cast(pl.Date),
                    pl.when(pl.col("urn") > 0).then(pl.col("urn")).otherwise(None).cast(pl.Int64).alias("urn"))
    return long, instruments, schools, bookings


def run_once(long, instruments, schools, bookings):
    from cpdeval import surveys as S

    t0 = time.perf_counter()
    prepared = S.prepare_responses(long, schools=schools, activities=bookings)
    counts = S.tally(prepared)
    summary = S.summarise_items(prepared, instruments, counts=counts)
    levels = S.level_distribution(prepared, instruments, counts=counts)
    profile = S.respondent_profile(prepared, instruments)
    return time.perf_counter() - t0, summary, levels, profile


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--respondents", type=int, default=15_000)
    ap.add_argument("--items", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    t_import = time.perf_counter()
    import polars  # noqa: F401  (imported before timing: every stage pays it once)

    from cpdeval import surveys  # noqa: F401
    t_import = time.perf_counter() - t_import
    with tempfile.TemporaryDirectory() as tmp:
        long, instruments, schools, bookings = make_data(args.respondents, args.items, Path(tmp))
        print(f"{args.respondents:,} respondents x {args.items} items = {long.height:,} answers "
              f"(imports {t_import:.2f} s, not timed)")
        times = []
        for i in range(args.repeat):
            secs, summary, levels, profile = run_once(long, instruments, schools, bookings)
            times.append(secs)
            print(f"  run {i + 1}: {secs:.3f} s  ({summary.height:,} summary rows, {levels.height:,} level rows, "
                  f"{profile.height} profile rows)")
    med = statistics.median(times)
    print(f"median {med:.3f} s over {args.repeat} runs (target < 3 s): {'OK' if med < 3 else 'TOO SLOW'}")
    return 0 if med < 3 else 1


if __name__ == "__main__":
    sys.exit(main())
