"""Benchmark the whole pipeline on a synthetic year: per-stage wall time and peak memory.

    .venv/bin/python benchmarks/run_pipeline.py --size national        # the scale target
    .venv/bin/python benchmarks/run_pipeline.py --size small

It copies the project to a temporary folder, sets the synthetic size, runs `snakemake --cores N` once
from nothing (the generator included), then a no-op re-run, then a forced re-render of every chapter.
Per-stage figures come from Snakemake's `benchmark:` files (wall seconds, peak RSS); the whole-run peak
is the largest process. Results go to benchmarks/results/<size>.json and a short table on stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cpdeval.workspace import copy_project  # noqa: E402


def snakemake(project: Path, cores: int, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), *args], cwd=project,
                         capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if res.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed:\n{res.stderr[-4000:]}")
    return elapsed, res


def stage_table(project: Path) -> list[dict]:
    rows = []
    for tsv in sorted((project / "logs").glob("*/benchmarks/*.tsv")):
        with tsv.open() as fh:
            rec = next(csv.DictReader(fh, delimiter="\t"))
        rows.append({"stage": tsv.stem, "seconds": round(float(rec["s"]), 2),
                     "peak_rss_mb": round(float(rec["max_rss"]), 1) if rec["max_rss"] not in ("NA", "-") else None})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=["small", "national"], default="national")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--out", default=None, help="JSON output (default benchmarks/results/<size>.json)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cpdeval-bench-") as tmp:
        project = copy_project(Path(tmp) / "project")
        cfg = project / "config" / "config.yaml"
        cfg.write_text(cfg.read_text().replace("size: small ", f"size: {args.size} "))
        print(f"running the {args.size} synthetic year with --cores {args.cores} in {project} ...", flush=True)
        full, _ = snakemake(project, args.cores)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        stages = stage_table(project)
        noop, _ = snakemake(project, args.cores)
        render, _ = snakemake(project, args.cores, "--forcerun", "render_chapter")
        render_stages = [s for s in stage_table(project) if s["stage"].startswith("render_")]
    synth = sum(s["seconds"] for s in stages if s["stage"] == "synthesise")
    result = {"size": args.size, "cores": args.cores, "full_run_s": round(full, 1),
              "full_run_without_synthesis_s": round(full - synth, 1),
              "render_stages_s": round(sum(s["seconds"] for s in stages if s["stage"].startswith("render_")), 1),
              "peak_process_rss_mb": round(peak, 0), "noop_rerun_s": round(noop, 2),
              "rerender_all_chapters_s": round(render, 1), "stages": stages, "rerender_stages": render_stages}
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"{args.size}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{'stage':32} {'seconds':>8} {'peak MB':>8}")
    for s in stages:
        print(f"{s['stage']:32} {s['seconds']:>8.2f} {s['peak_rss_mb'] or 0:>8.0f}")
    print(f"\nfull run {full:.1f} s (without synthesis {full - synth:.1f} s), peak process {peak:.0f} MB; "
          f"no-op re-run {noop:.2f} s; re-render all chapters {render:.1f} s\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
