"""Run the bad-input corpus and count how each case ended, per raw input kind.

    python benchmarks/bad_inputs.py [--keep DIR] [--out benchmarks/results/bad_inputs.json]

Builds the corpus (``tests/bad_inputs/make_corpus.py``: broken copies of every configured raw input, from a
freshly generated small synthetic year) in a temporary folder, reads every case through its input's real
reader (``cpdeval.ingest.kinds.read_input``, as ``cpdeval validate`` does) and prints one line per kind:
cases tried, ended in quarantine (the planted record quarantined with the expected rule, reconciliation
balanced), ended in a clear stop (an InputError naming the file and the row or column), read as clean (a
harmless format variant read exactly as the unbroken file) and other: a traceback, an unclear message or
the wrong outcome. Other must be 0; the script exits 1 otherwise, listing those cases.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

COLUMNS = ("quarantine", "stop", "clean", "other")


def run(out_dir: Path) -> dict:
    from bad_inputs.judge import judge
    from bad_inputs.make_corpus import build_corpus

    t0 = time.perf_counter()
    cases = build_corpus(out_dir)
    built = time.perf_counter() - t0
    counts: dict[str, Counter] = defaultdict(Counter)
    seconds: Counter = Counter()
    ends: dict[str, dict[str, str]] = defaultdict(dict)
    failures = []
    for case in cases:
        outcome = judge(case)
        ended = outcome.ended if outcome.ok else "other"
        counts[case.kind][ended] += 1
        ends[case.kind][case.variant] = ended
        seconds[case.kind] += outcome.seconds
        if not outcome.ok:
            failures.append(outcome.describe())
    per_kind = {kind: {"cases": sum(c.values()), **{k: c[k] for k in COLUMNS}, "read_seconds": round(seconds[kind], 2),
                       "variants": ends[kind]}
                for kind, c in counts.items()}
    total = Counter()
    for c in counts.values():
        total.update(c)
    return {"cases": len(cases), **{k: total[k] for k in COLUMNS}, "build_seconds": round(built, 2),
            "read_seconds": round(sum(seconds.values()), 2), "per_kind": per_kind, "failures": failures}


def table(result: dict) -> str:
    head = ("input kind", "cases tried", "quarantine", "clear stop", "read as clean", "other (must be 0)")
    rows = [(k, v["cases"], v["quarantine"], v["stop"], v["clean"], v["other"]) for k, v in result["per_kind"].items()]
    rows.append(("all", result["cases"], result["quarantine"], result["stop"], result["clean"], result["other"]))
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w)  # noqa: E731
                                       for i, (x, w) in enumerate(zip(r, widths))) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(head), sep, *map(line, rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", help="build the corpus in this folder and keep it")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "bad_inputs.json"))
    args = parser.parse_args(argv)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cpdeval-bad-inputs-"))
    try:
        result = run(folder)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(table(result))
    print(f"\ncorpus built in {result['build_seconds']} s; every case read in {result['read_seconds']} s")
    for f in result["failures"]:
        print("OTHER:", f)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 1 if result["other"] else 0


if __name__ == "__main__":
    sys.exit(main())
