"""Benchmark the whole pipeline on a synthetic year: wall time, CPU and peak memory, per stage and in all.

    .venv/bin/python benchmarks/run_pipeline.py --size national            # the scale target
    .venv/bin/python benchmarks/run_pipeline.py --size national --dirty    # with bad rows planted (quarantine)
    .venv/bin/python benchmarks/run_pipeline.py --size small
    .venv/bin/python benchmarks/run_pipeline.py --size national_x4         # four times the national volume

It copies the project to a temporary folder, sets the synthetic size and generates the year (timed on its
own), optionally plants bad rows in the booking exports (one row in ``--every``, each with one broken cell the
contracts must quarantine), then runs ``snakemake --cores N`` from the generated raw files to every derived
table and rendered report, then a no-op re-run and ``snakemake -n``.

Everything is measured here, not read from Snakemake's ``benchmark:`` files (their CPU time misses the jobs'
threads and their peak memory varies run to run): each job records its own wall time, CPU and peak memory
(``src/cpdeval/runner.py`` writes ``logs/<year>/usage/``), and this script samples the whole process tree
every 0.1 s for the run's peak memory (the largest process, and all processes together). Results go to
``benchmarks/results/<size>[-dirty].json`` and a table on stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cpdeval.workspace import copy_project  # noqa: E402

PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / 2**20

#: (column of the booking export, bad value): each breaks one rule of schemas/bookings.yaml. None copies the
#: previous row's booking reference (a duplicate key).
BREAKAGES = [
    ("Booking Status", "Pending?"), ("Activity Type", "Podcast"), ("Job Role", "Governor"),
    ("Organisation URN", "URN-1"), ("Organisation URN", "42"), ("Sessions", "none"), ("Sessions", "-2"),
    ("CPD Units", "lots"), ("CPD Units", "-3"), ("CPD Units", "400"), ("Fee", "free?"), ("Bursary", "perhaps"),
    ("Start Date", "31/02/2016"), ("Start Date", "1890-01-01"), ("Start Date", ""), ("Contact ID", ""),
    ("Booking Reference", ""), ("Booking Reference", None), ("Organisation Name", "=cmd|'/c calc'!A1"),
    ("Activity Title", "Electricity\x07circuits"), ("Activity Title", "B" * 1500), ("Partnership ID", "Q7"),
]


class TreeSampler(threading.Thread):
    """Peak resident memory of a process and all its descendants, sampled from /proc."""

    def __init__(self, pid: int, every: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_total = self.peak_single = 0.0
        self.done = threading.Event()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    ppid = int(Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        tree, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            tree.append(p)
            todo.extend(children.get(p, []))
        return tree

    def run(self) -> None:
        while not self.done.is_set():
            sizes = []
            for p in self._tree():
                try:
                    sizes.append(int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE_MIB)
                except (OSError, IndexError, ValueError):
                    pass
            if sizes:
                self.peak_total = max(self.peak_total, sum(sizes))
                self.peak_single = max(self.peak_single, max(sizes))
            self.done.wait(self.every)


def snakemake(project: Path, cores: int, *args: str) -> dict:
    """Run Snakemake in the project; wall seconds and the sampled peak memory of its process tree."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", str(cores), *args], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    sampler.done.set()
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed:\n{err[-4000:]}")
    return {"wall_s": round(wall, 2), "peak_process_mib": round(sampler.peak_single),
            "peak_all_processes_mib": round(sampler.peak_total)}


def plant_bad_rows(raw: Path, every: int, seed: int) -> int:
    """Break one cell in about one row in ``every`` of each booking export; the number of rows broken."""
    rng = random.Random(seed)
    broken = 0
    for path in sorted((raw / "bookings").glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        col = {h: i for i, h in enumerate(rows[0])}
        for r in range(2, len(rows)):
            if rng.randrange(every):
                continue
            break_row(rows, col, r, rng.choice(BREAKAGES))
            broken += 1
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh, lineterminator="\r\n").writerows(rows)
    return broken


def break_row(rows: list[list[str]], col: dict[str, int], r: int, breakage: tuple[str, str | None]) -> None:
    """Break one cell of row ``r`` (after the header and a first row) as ``breakage`` says."""
    name, value = breakage
    rows[r][col[name]] = rows[r - 1][col["Booking Reference"]] if value is None else value


def job_usage(project: Path) -> list[dict]:
    """What each job recorded about itself (logs/<year>/usage/*.json)."""
    rows = []
    for path in sorted(project.glob("logs/*/usage/*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        rows.append({"job": path.stem, "wall_s": rec["wall_s"], "cpu_s": rec["cpu_s"],
                     "peak_rss_mib": rec["peak_rss_mib"]})
    return rows


ROW_COUNTS = ("rows_in", "rows_accepted", "rows_quarantined", "rows_set_aside")


def reconciliation(project: Path) -> dict:
    """Rows in, accepted, quarantined and set aside, per ingested table and over all of them."""
    tables = {}
    for path in sorted(project.glob("data/derived/*/reconciliation/*.json")):
        records = json.loads(path.read_text(encoding="utf-8"))
        counts = dict.fromkeys(ROW_COUNTS, 0)
        for rec in records if isinstance(records, list) else []:
            for k in ROW_COUNTS:
                counts[k] += int(rec.get(k) or 0)
        tables[path.stem] = counts
    return {"all": {k: sum(t[k] for t in tables.values()) for k in ROW_COUNTS}, **tables}


def summary(result: dict) -> str:
    """The table a run prints: each job's wall time, CPU and peak memory, then the whole run and its rows."""
    full, jobs = result["full_run"], result["jobs"]
    lines = [f"{'job':34} {'wall s':>7} {'cpu s':>7} {'peak MiB':>9}"]
    lines += [f"{j['job']:34} {j['wall_s']:>7.2f} {j['cpu_s']:>7.2f} {j['peak_rss_mib']:>9.0f}" for j in jobs]
    every = result["rows"]["all"]
    bookings = result["rows"].get("bookings", dict.fromkeys(ROW_COUNTS, 0))
    return "\n".join(lines) + (
        f"\n\n{result['size']} synthetic year{', with bad rows' if result['dirty'] else ''}, {result['cores']} cores:"
        f"\nraw -> every derived table and report: {full['wall_s']:.1f} s wall, {result['jobs_cpu_s']:.1f} s CPU in "
        f"jobs; peak {full['peak_process_mib']:,} MiB in one process, {full['peak_all_processes_mib']:,} MiB "
        f"all together\nrows in {every['rows_in']:,}: accepted {every['rows_accepted']:,}, quarantined "
        f"{every['rows_quarantined']:,} (bookings {bookings['rows_quarantined']:,}; "
        f"{result['bad_rows_planted']:,} bad rows planted), set aside {every['rows_set_aside']:,}"
        f"\ngenerating the year {result['generate']['wall_s']:.1f} s; no-op re-run {result['noop_rerun_s']:.2f} s; "
        f"snakemake -n {result['dry_run_s']:.2f} s")


def main(argv=None) -> int:
    from cpdeval.synthetic.lookups import SIZES

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=list(SIZES), default="national")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--dirty", action="store_true", help="plant bad rows in the booking exports")
    ap.add_argument("--every", type=int, default=250, help="with --dirty: one row in EVERY is broken")
    ap.add_argument("--out", default=None, help="JSON output (default benchmarks/results/<size>[-dirty].json)")
    ap.add_argument("--show", type=Path, default=None, metavar="JSON",
                    help="print the table of a result written earlier (CI prints its own run's) and stop")
    args = ap.parse_args(argv)
    if args.show:
        print(summary(json.loads(args.show.read_text(encoding="utf-8"))))
        return 0
    name = args.size + ("-dirty" if args.dirty else "")
    with tempfile.TemporaryDirectory(prefix="cpdeval-bench-") as tmp:
        project = copy_project(Path(tmp) / "project")
        cfg = project / "config" / "config.yaml"
        cfg.write_text(cfg.read_text().replace("size: small ", f"size: {args.size} "))
        print(f"generating the {args.size} synthetic year in {project} ...", flush=True)
        generate = snakemake(project, args.cores, "synthesise")
        raw = next(project.glob("data/raw/*/bookings")).parent
        planted = plant_bad_rows(raw, args.every, seed=1) if args.dirty else 0
        if planted:
            print(f"planted {planted:,} bad rows in the booking exports", flush=True)
        print(f"running the pipeline with --cores {args.cores} ...", flush=True)
        full = snakemake(project, args.cores)
        jobs = [j for j in job_usage(project) if j["job"] != "synthesise"]
        rows = reconciliation(project)
        noop = snakemake(project, args.cores)
        dry = snakemake(project, args.cores, "-n")
    result = {"size": args.size, "dirty": args.dirty, "bad_rows_planted": planted, "cores": args.cores,
              "machine": f"{os.cpu_count()} cores", "generate": generate, "full_run": full,
              "noop_rerun_s": noop["wall_s"], "dry_run_s": dry["wall_s"],
              "jobs_cpu_s": round(sum(j["cpu_s"] for j in jobs), 1), "rows": rows, "jobs": jobs}
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(summary(result) + f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
